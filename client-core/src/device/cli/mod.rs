//! The `bukti` command line: what an officer (or a field technician) types on a laptop, and what
//! a phone app's shell calls. Parsing is clap's; every command is a thin call into [`Device`].
//! This is the binary's edge, so errors are `anyhow` here and nowhere else in the library.

mod fields;
mod render;

use std::{io::IsTerminal, path::PathBuf, time::Duration};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use self::fields::FieldArgs;
use crate::{
    RecordId,
    device::{Device, DeviceError, Phase, PhotoInput, Progress},
    record::Problem,
};

const LONG_ABOUT: &str = "\
Bukti captures police activity records on this device, offline, and syncs them with a Bukti
server when a connection is available. Every capture is saved to the device before the command
returns; `bukti sync` sends what the server has not seen and brings back reviews and teammates'
records.

First use:
  bukti register --server http://bukti.polres-buleleng.local:8080 --token HQ_TOKEN \\
      --officer 87010123 --unit bali/buleleng/sawan

Capture, check, sync:
  bukti capture --kind sambang --title \"Sambang Desa Sudaji\" --start now \\
      --lat -8.1204 --lon 115.1720 --place \"Balai Desa Sudaji\" --people-served 25 --submit
  bukti list
  bukti sync

Photos: `--photo FILE` (repeatable; JPEG or PNG) on `capture` or `edit`, `--gallery` when they
were imported rather than taken in the app. Only reduced copies are uploaded; originals stay on
the device until HQ asks for them (`bukti sync --originals` sends them all, e.g. on Wi-Fi).

`bukti kinds` lists activity kinds, service types and LKE codes.
Set RUST_LOG=debug to see what happens underneath.";

#[derive(Debug, Parser)]
#[command(name = "bukti", version, about = "Capture police activity evidence offline and sync it", long_about = LONG_ABOUT)]
pub struct Cli {
    /// Directory holding this device's store. Defaults to $HOME/.bukti (./.bukti without HOME).
    #[arg(long, env = "BUKTI_HOME", global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Register this device with a server (once per device).
    Register {
        /// Server address, e.g. http://10.20.0.5:8080.
        #[arg(long)]
        server: String,
        /// HQ token authorising the registration (from `bukti-server token create`).
        #[arg(long, env = "BUKTI_HQ_TOKEN", hide_env_values = true)]
        token: String,
        /// The officer's NRP (8 digits).
        #[arg(long)]
        officer: String,
        /// The officer's unit path, e.g. bali/buleleng/sawan.
        #[arg(long)]
        unit: String,
        /// A name HQ will recognise the device by [default: the host name].
        #[arg(long)]
        device_name: Option<String>,
        /// Replace an existing registration; every record is sent again on the next sync.
        #[arg(long)]
        force: bool,
    },
    /// Capture a new activity record; prints its id.
    Capture(CaptureArgs),
    /// Change fields of a record (only the flags given change).
    Edit(EditArgs),
    /// List the records on this device, most recent activity first.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one record: every field, HQ's review and its sync state.
    Show {
        id: RecordId,
        #[arg(long)]
        json: bool,
    },
    /// Send local changes and photos to the server and receive reviews and teammates' records.
    Sync {
        /// Also upload every original photo (use on Wi-Fi); otherwise only those HQ asked for.
        #[arg(long)]
        originals: bool,
    },
    /// Photo files on this device: retention and pruning.
    Photos {
        /// Keep originals this many days after capture (saved for later runs).
        #[arg(long, value_name = "DAYS")]
        retention_days: Option<u32>,
        /// Delete originals past retention, derivatives the server has, and leftovers.
        #[arg(long)]
        prune: bool,
    },
    /// Show the registration and what has not reached the server yet.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// List activity kinds, service types and LKE sub-indicator codes.
    Kinds,
}

#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// Activity kind code (see `bukti kinds`).
    #[arg(long)]
    pub kind: String,
    /// Short title, e.g. "Sambang Desa Sudaji".
    #[arg(long)]
    pub title: String,
    #[command(flatten)]
    pub fields: FieldArgs,
    #[command(flatten)]
    pub photos: PhotoArgs,
}

/// Photos to attach to a record.
#[derive(Debug, Args)]
pub struct PhotoArgs {
    /// Attach a photo (JPEG or PNG); repeat for more.
    #[arg(long, value_name = "FILE")]
    pub photo: Vec<PathBuf>,
    /// The photos were imported from the gallery, not taken in the app (weaker evidence).
    #[arg(long)]
    pub gallery: bool,
}

impl PhotoArgs {
    fn inputs(&self) -> Vec<PhotoInput> {
        self.photo
            .iter()
            .map(|p| {
                if self.gallery {
                    PhotoInput::gallery(p)
                } else {
                    PhotoInput::camera(p)
                }
            })
            .collect()
    }
}

#[derive(Debug, Args)]
pub struct EditArgs {
    /// The record's id (from `bukti list`).
    pub id: RecordId,
    /// New activity kind code.
    #[arg(long)]
    pub kind: Option<String>,
    /// New title.
    #[arg(long)]
    pub title: Option<String>,
    #[command(flatten)]
    pub fields: FieldArgs,
    /// Remove a service type's count; repeat for more.
    #[arg(long, value_name = "TYPE")]
    pub remove_service: Vec<String>,
    /// Remove an LKE code; repeat for more.
    #[arg(long, value_name = "CODE")]
    pub remove_lke: Vec<String>,
    #[command(flatten)]
    pub photos: PhotoArgs,
}

impl Cli {
    fn home(&self) -> PathBuf {
        self.home.clone().unwrap_or_else(|| {
            std::env::var_os("HOME")
                .map_or_else(|| PathBuf::from("."), PathBuf::from)
                .join(".bukti")
        })
    }
}

/// Runs one command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let home = cli.home();
    let mut device = Device::open(&home)
        .await
        .with_context(|| format!("cannot open the device store in {}", home.display()))?;
    if let Command::Sync { originals: true } = cli.command {
        device.set_send_originals(true);
    }
    let result = dispatch(&device, cli).await;
    device.close().await;
    result.map_err(explain)
}

async fn dispatch(device: &Device, cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Register {
            server,
            token,
            officer,
            unit,
            device_name,
            force,
        } => {
            let name = device_name.unwrap_or_else(host_name);
            let reg = if force {
                device
                    .register_again(&server, &token, &officer, &unit, &name)
                    .await?
            } else {
                device
                    .register(&server, &token, &officer, &unit, &name)
                    .await?
            };
            println!(
                "Registered device {} ({}) for officer {} in {} with {}.",
                reg.device_id, reg.device_name, reg.officer, reg.unit, reg.server_url
            );
        }
        Command::Capture(args) => {
            let photos = args.photos.inputs();
            let capture = args.fields.into_capture(args.kind, args.title)?;
            println!("{}", device.capture_with_photos(capture, photos).await?);
        }
        Command::Edit(args) => edit(device, args).await?,
        Command::List { json } => {
            let list = device.list().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                print!("{}", render::list(&list));
            }
        }
        Command::Show { id, json } => {
            let record = device.record(id).await?.ok_or(DeviceError::NotFound(id))?;
            let summary = device.list().await?.into_iter().find(|s| s.id == id);
            let sync = summary.map(|s| s.sync);
            if json {
                let value = serde_json::json!({ "record": record, "sync": sync });
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                print!("{}", render::record(&record, sync.as_ref()));
            }
        }
        Command::Photos {
            retention_days,
            prune,
        } => {
            if let Some(days) = retention_days {
                device.set_photo_retention_days(days).await?;
            }
            if prune {
                println!("Removed {} photo file(s).", device.prune_photos().await?);
            }
            let status = device.photo_status().await?;
            println!(
                "Originals are kept {} day(s); {} kept ({}); {} photo file(s) ({}) wait to upload.",
                device.photo_retention_days().await?,
                status.originals_kept,
                render::bytes(status.original_bytes_kept),
                status.renditions_waiting + status.originals_requested,
                render::bytes(status.rendition_bytes_waiting + status.original_bytes_requested),
            );
        }
        Command::Sync { .. } => {
            let bar = progress_bar(cli.quiet);
            let report = device.sync(&bar).await;
            bar.0.finish_and_clear();
            print!("{}", render::report(&report?));
        }
        Command::Status { json } => {
            let status = device.status().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print!("{}", render::status(&status));
            }
        }
        Command::Kinds => print!("{}", render::kinds()),
    }
    Ok(())
}

async fn edit(device: &Device, args: EditArgs) -> anyhow::Result<()> {
    let mut failed = None;
    let photos = args.photos.inputs();
    let changed = device
        .edit_with_photos(args.id, photos, |r| {
            // `apply` fails before touching the record, so a failed edit changes nothing.
            if let Err(e) = args.fields.apply(r) {
                failed = Some(e);
                return;
            }
            if let Some(kind) = &args.kind {
                r.kind.clone_from(kind);
            }
            if let Some(title) = &args.title {
                r.title.clone_from(title);
            }
            for code in &args.remove_service {
                r.counts.services.remove(code);
            }
            for code in &args.remove_lke {
                r.lke.remove(code);
            }
        })
        .await?;
    if let Some(e) = failed {
        return Err(e);
    }
    if changed {
        println!("Saved; the change goes to the server on the next `bukti sync`.");
    } else {
        println!("Nothing changed.");
    }
    Ok(())
}

/// Turns a validation failure into one line per problem, so the officer sees every field.
fn explain(err: anyhow::Error) -> anyhow::Error {
    match err.downcast_ref::<DeviceError>() {
        Some(DeviceError::Invalid(problems)) => {
            let lines: Vec<String> = problems.iter().map(problem_line).collect();
            anyhow::anyhow!(
                "the record is not valid, nothing was saved:\n{}\nfix these fields and run the command again",
                lines.join("\n")
            )
        }
        _ => err,
    }
}

fn problem_line(p: &Problem) -> String {
    format!("  - {}: {}", p.path, p.message)
}

fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "bukti device".to_owned())
}

/// The sync progress bar on stderr; hidden when quiet or not on a terminal.
struct Bar(ProgressBar);

fn progress_bar(quiet: bool) -> Bar {
    if quiet || !std::io::stderr().is_terminal() {
        return Bar(ProgressBar::hidden());
    }
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template("{prefix:>6} [{bar:30}] {msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    Bar(bar)
}

impl Progress for Bar {
    fn update(&self, phase: Phase, done: u64, total: Option<u64>) {
        self.0.set_prefix(phase.as_str());
        self.0.set_length(total.unwrap_or(done.max(1)));
        self.0.set_position(done);
        let of = total.map_or(String::new(), |t| match phase {
            Phase::Photos => format!(" of {}", render::bytes(t)),
            _ => format!("/{t}"),
        });
        self.0.set_message(match phase {
            Phase::Photos => format!("{}{of}", render::bytes(done)),
            _ => format!("{done}{of} records"),
        });
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn capture_flags_parse() {
        let cli = Cli::try_parse_from([
            "bukti",
            "capture",
            "--kind",
            "sambang",
            "--title",
            "T",
            "--lat",
            "-8.1",
            "--lon",
            "115.2",
            "--service",
            "skck=2",
            "--service",
            "sim-c=1",
            "--lke",
            "PP.P2",
            "--submit",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let Command::Capture(args) = cli.command else {
            panic!("not a capture");
        };
        let capture = args
            .fields
            .into_capture(args.kind, args.title)
            .expect("capture");
        assert_eq!(capture.services.len(), 2);
        assert!(capture.submit);
        assert_eq!(capture.location.map(|l| l.lat), Some(-8.1));
    }
}
