//! The `bukti` command line: what an officer (or a field technician) types on a laptop, and what
//! a phone app's shell calls. Parsing is clap's; every command is a thin call into [`Device`].
//! This is the binary's edge, so errors are `anyhow` here and nowhere else in the library.

mod enroll;
mod fields;
mod photos;
mod progress;
mod records;
mod render;
mod sync;
mod verify;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use self::{
    enroll::EnrollArgs,
    photos::PhotosArgs,
    records::{CaptureArgs, EditArgs, edit},
    sync::SyncArgs,
};
use crate::{
    RecordId,
    device::{Device, DeviceError},
    record::Problem,
};

const LONG_ABOUT: &str = "\
Bukti captures police activity records on this device, offline, and syncs them with a Bukti
server when a connection is available. Every capture is saved to the device before the command
returns; `bukti sync` sends what the server has not seen and brings back reviews and teammates'
records.

First use:
  bukti enroll --server http://bukti.polres-buleleng.local:8080 --code 7K3Q-9XMD-2PVA
      (the code, or its QR code via --qr, comes from your Kapolsek or administrator)

Capture, check, sync:
  bukti capture --kind sambang --title \"Sambang Desa Sudaji\" --start now \\
      --lat -8.1204 --lon 115.1720 --place \"Balai Desa Sudaji\" --people-served 25 --submit
  bukti list
  bukti sync

Photos: `--photo FILE` (repeatable; JPEG or PNG) on `capture` or `edit`, `--gallery` when they
were imported rather than taken in the app. Only reduced copies are uploaded; originals stay on
the device until HQ asks for them, or until Wi-Fi with `bukti photos --send-originals wifi`
(`bukti sync --originals` sends them all once). After each sync the device deletes the display
copies, and the originals past retention, that the server confirmed it holds.

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
    /// Enroll this device with a server using a one-time code (once per device).
    Enroll(EnrollArgs),
    /// Capture a new activity record; prints its id.
    Capture(CaptureArgs),
    /// Change fields of a record (only the flags given change).
    Edit(EditArgs),
    /// List the records on this device, most recent activity first, with each one's review
    /// state and verdict.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one record: every field, its review (state, verdict and reason, who curated and
    /// forwarded it, what changed after the verdict, the comments) and its sync state.
    Show {
        id: RecordId,
        #[arg(long)]
        json: bool,
    },
    /// Send local changes and photos to the server and receive reviews and teammates' records.
    Sync(SyncArgs),
    /// Photo files on this device: retention, when originals upload, and pruning.
    Photos(PhotosArgs),
    /// Show the registration and what has not reached the server yet.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// List activity kinds, service types and LKE sub-indicator codes.
    Kinds,
    /// Check an evidence pack offline (no network, no enrollment needed): the manifest's
    /// signature, every file's hash, each record's document, JSON, photos, evidence-log entries
    /// and device signatures. Exits 1 naming the first failure.
    Verify(verify::VerifyArgs),
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
    if let Command::Verify(args) = &cli.command {
        return verify::run(args);
    }
    let home = cli.home();
    let mut device = Device::open(&home)
        .await
        .with_context(|| format!("cannot open the device store in {}", home.display()))?;
    if let Command::Sync(args) = &cli.command {
        sync::prepare(&mut device, args).await?;
    }
    let result = dispatch(&device, cli).await;
    device.close().await;
    result.map_err(explain)
}

async fn dispatch(device: &Device, cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Enroll(args) => enroll::run(device, args).await?,
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
            let workflow = device.workflow(id).await?;
            let summary = device.list().await?.into_iter().find(|s| s.id == id);
            let sync = summary.map(|s| s.sync);
            let receipt = device.receipt(id).await?;
            if json {
                let value = serde_json::json!({
                    "record": record, "workflow": workflow, "sync": sync, "receipt": receipt,
                });
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                print!(
                    "{}",
                    render::record(&record, sync.as_ref(), workflow.as_ref())
                );
                println!("{}", render::receipt(&record.unit, receipt.as_ref()));
            }
        }
        Command::Photos(args) => photos::run(device, args).await?,
        Command::Sync(_) => sync::run(device, cli.quiet).await?,
        Command::Status { json } => {
            let status = device.status().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print!("{}", render::status(&status));
            }
        }
        Command::Kinds => print!("{}", render::kinds()),
        Command::Verify(args) => verify::run(&args)?,
    }
    Ok(())
}

/// Turns a validation failure into one line per problem, so the officer sees every field, and
/// adds the `bukti` command that helps where the device's error only says what to do.
fn explain(err: anyhow::Error) -> anyhow::Error {
    let Some(device_error) = err.downcast_ref::<DeviceError>() else {
        return err;
    };
    if let DeviceError::Invalid(problems) = device_error {
        let lines: Vec<String> = problems.iter().map(problem_line).collect();
        return anyhow::anyhow!(
            "the record is not valid, nothing was saved:\n{}\nfix these fields and run the command again",
            lines.join("\n")
        );
    }
    match command_hint(device_error) {
        Some(hint) => anyhow::anyhow!("{err:#}\n{hint}"),
        None => err,
    }
}

/// The command an officer runs next after `err`, if one helps.
fn command_hint(err: &DeviceError) -> Option<&'static str> {
    match err {
        DeviceError::NotRegistered => Some(
            "run `bukti enroll --server URL --code CODE` with the code from your Kapolsek or \
             administrator",
        ),
        DeviceError::AlreadyRegistered { .. } => {
            Some("add --force to `bukti enroll` to replace that enrollment")
        }
        DeviceError::NotFound(_) => Some("`bukti list` shows the records this device holds"),
        DeviceError::Server { code, .. } if code == "unauthorized" || code == "revoked" => {
            Some("enroll again with a new code: `bukti enroll --force --server URL --code CODE`")
        }
        DeviceError::Network { .. } | DeviceError::Protocol(_) => {
            Some("nothing was lost: run `bukti sync` again later")
        }
        _ => None,
    }
}

fn problem_line(p: &Problem) -> String {
    format!("  - {}: {}", p.path, p.message)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_cli_adds_the_command_that_helps() {
        let not_enrolled = explain(DeviceError::NotRegistered.into()).to_string();
        assert!(not_enrolled.contains("not enrolled"), "{not_enrolled}");
        assert!(
            not_enrolled.contains("bukti enroll --server"),
            "{not_enrolled}"
        );
        let missing = explain(DeviceError::NotFound(RecordId::new()).into()).to_string();
        assert!(missing.contains("`bukti list`"), "{missing}");
        let usage = explain(DeviceError::Usage("no".into()).into()).to_string();
        assert_eq!(usage, "no");
    }

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
