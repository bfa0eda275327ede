//! The directory's `bukti-server` commands: the unit tree, people, enrollment codes and devices,
//! run by the operator at the server (who may do anything; everything else goes through the API
//! with its scope checks).

use std::{io::BufRead, path::PathBuf};

use bukti_core::{evidence::flags::Area, unit::UnitPath};
use clap::Subcommand;
use uuid::Uuid;

use super::{
    DirectoryError, qr,
    service::{self, PersonInput},
};
use crate::{
    audit::{self, Action, Actor, AuditEvent},
    store::DynStore,
};

#[derive(Debug, Subcommand)]
pub enum UnitCommand {
    /// Load the demo organisation: Polda Bali → Polres Buleleng → its ten Polsek and sections.
    Demo,
    /// Add a unit under an existing parent.
    Add {
        /// e.g. bali/buleleng/sawan; the parent (bali/buleleng) must exist.
        #[arg(long)]
        path: String,
        /// e.g. "Polsek Sawan".
        #[arg(long)]
        name: String,
        /// polda, polres, polsek, polsubsektor or section.
        #[arg(long)]
        kind: String,
    },
    /// Change a unit's display name (its path, and its records, stay).
    Rename {
        #[arg(long)]
        path: String,
        #[arg(long)]
        name: String,
    },
    /// Move a unit and its subtree under another parent. People and devices follow; records
    /// keep the unit path they were captured in.
    Move {
        #[arg(long)]
        path: String,
        /// The new parent, e.g. bali/jembrana.
        #[arg(long)]
        to: String,
    },
    /// Set the area a unit answers for (its wilayah hukum). Records and photos placed outside
    /// it are flagged for reviewers; a unit without its own area uses its parent's.
    /// Example: bukti-server unit area --path bali/buleleng/sawan --geojson sawan.geojson
    Area {
        #[arg(long)]
        path: String,
        /// A GeoJSON file with a Polygon or MultiPolygon (or a Feature of one), as map tools
        /// export boundaries (longitude first).
        #[arg(long, conflicts_with_all = ["bbox", "clear"])]
        geojson: Option<PathBuf>,
        /// A rectangle instead: south,west,north,east in degrees, e.g. -8.20,115.10,-8.05,115.25.
        #[arg(long, conflicts_with = "clear", allow_hyphen_values = true)]
        bbox: Option<String>,
        /// Remove the unit's own area (its parent's applies again).
        #[arg(long)]
        clear: bool,
    },
    /// List the tree.
    List {
        /// The subtree to list, e.g. bali or bali/buleleng.
        #[arg(long)]
        under: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PersonCommand {
    /// Add a person with roles over their unit's subtree.
    Add {
        /// NRP (8 digits) or NIP (18 digits).
        #[arg(long)]
        nrp: String,
        #[arg(long)]
        name: String,
        /// e.g. Bripka, AKP, Kompol.
        #[arg(long)]
        rank: String,
        #[arg(long)]
        unit: String,
        /// officer, operator, approver, reviewer, viewer or admin; repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Last moment of access (YYYY-MM-DD means its start, UTC), e.g. for assessors.
        #[arg(long)]
        until: Option<String>,
        /// Read a web sign-in password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a person's web sign-in password from the first line of standard input.
    Password {
        #[arg(long)]
        nrp: String,
    },
    /// List the people of a subtree.
    List {
        /// The subtree to list, e.g. bali or bali/buleleng.
        #[arg(long)]
        under: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum EnrollCommand {
    /// Issue a one-time code for an officer's device; prints the code, optionally writes a QR.
    Issue {
        /// The officer's NRP.
        #[arg(long)]
        officer: String,
        /// The device will see only this officer's own records.
        #[arg(long)]
        own_records_only: bool,
        /// Minutes the code stays good.
        #[arg(long, default_value_t = service::DEFAULT_CODE_TTL_MINUTES)]
        ttl_minutes: i64,
        /// The address phones reach this server at (goes into the QR code).
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        server_url: String,
        /// Write the QR code to this file: .png or .svg.
        #[arg(long)]
        qr: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// List enrolled devices.
    List {
        /// The subtree to list, e.g. bali or bali/buleleng.
        #[arg(long)]
        under: String,
    },
    /// Cut a device off: its next request is refused; what it sent stays.
    Revoke {
        /// The device id (from `device list`).
        id: Uuid,
        /// Who revokes it, for the record.
        #[arg(long, default_value = "operator")]
        by: String,
    },
}

/// The person at the server's command line, as the audit log names them.
fn operator() -> Actor {
    Actor {
        kind: "operator".into(),
        id: String::new(),
        name: std::env::var("USER").unwrap_or_else(|_| "operator".into()),
    }
}

/// Largest area file read: a detailed Polsek boundary is tens of kilobytes.
const MAX_AREA_FILE_BYTES: u64 = 4 * 1024 * 1024;

fn read_area_file(file: &std::path::Path) -> Result<String, DirectoryError> {
    use std::io::Read;
    let cannot =
        |e: std::io::Error| DirectoryError::Invalid(format!("cannot read {}: {e}", file.display()));
    let mut text = String::new();
    std::fs::File::open(file)
        .map_err(cannot)?
        .take(MAX_AREA_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(cannot)?;
    if text.len() as u64 > MAX_AREA_FILE_BYTES {
        return Err(DirectoryError::Invalid(format!(
            "{} is larger than {MAX_AREA_FILE_BYTES} bytes; simplify the boundary",
            file.display()
        )));
    }
    Ok(text)
}

fn first_line_of_stdin() -> Result<String, DirectoryError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| DirectoryError::Invalid(format!("cannot read the password: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

pub async fn unit(store: &DynStore, cmd: UnitCommand) -> Result<(), DirectoryError> {
    match cmd {
        UnitCommand::Demo => {
            let added = service::load_demo(store).await?;
            println!(
                "Demo organisation loaded: {added} new units (Polda Bali → Polres Buleleng → 10 Polsek)."
            );
        }
        UnitCommand::Add { path, name, kind } => {
            let u = service::add_unit(store, None, &path, &name, &kind).await?;
            println!("Added {} ({}) at {}.", u.name, u.kind.as_str(), u.path);
        }
        UnitCommand::Rename { path, name } => {
            let u = service::rename_unit(store, None, &path, &name).await?;
            println!("{} is now called {}.", u.path, u.name);
        }
        UnitCommand::Move { path, to } => {
            let u = service::move_unit(store, None, &path, &to).await?;
            println!(
                "Moved {path} to {}; its people and devices moved with it.",
                u.path
            );
        }
        UnitCommand::Area {
            path,
            geojson,
            bbox,
            clear,
        } => {
            let area = match (geojson, bbox) {
                (Some(file), _) => Some(Area::from_geojson(&read_area_file(&file)?)),
                (None, Some(b)) => Some(Area::from_box(&b)),
                (None, None) if clear => None,
                (None, None) => {
                    return Err(DirectoryError::Invalid(
                        "say which area: --geojson FILE, --bbox S,W,N,E or --clear".into(),
                    ));
                }
            }
            .transpose()
            .map_err(|e| DirectoryError::Invalid(e.to_string()))?;
            let u = service::set_unit_area(store, None, &path, area.as_ref()).await?;
            match area {
                Some(_) => println!("{} ({}) now has its own area.", u.name, u.path),
                None => println!("{} ({}) now uses its parent's area.", u.name, u.path),
            }
        }
        UnitCommand::List { under } => {
            for u in store.units(&UnitPath::parse(&under)?).await? {
                println!("{:<45} {:<13} {}", u.path.as_str(), u.kind.as_str(), u.name);
            }
        }
    }
    Ok(())
}

pub async fn person(store: &DynStore, cmd: PersonCommand) -> Result<(), DirectoryError> {
    match cmd {
        PersonCommand::Add {
            nrp,
            name,
            rank,
            unit,
            roles,
            until,
            password_stdin,
        } => {
            let password = password_stdin.then(first_line_of_stdin).transpose()?;
            let input = PersonInput {
                nrp,
                name,
                rank,
                unit,
                roles,
                access_until: until,
                password,
            };
            let p = service::add_person(store, None, input).await?;
            println!(
                "Added {} {} ({}) in {} as {}.",
                p.rank, p.name, p.nrp, p.unit, p.roles
            );
        }
        PersonCommand::Password { nrp } => {
            service::set_password(store, None, &nrp, &first_line_of_stdin()?).await?;
            println!("Password set for {nrp}.");
        }
        PersonCommand::List { under } => {
            for p in store.people(&UnitPath::parse(&under)?).await? {
                println!(
                    "{:<19} {:<30} {:<35} {}",
                    p.nrp,
                    format!("{} {}", p.rank, p.name),
                    p.unit.as_str(),
                    p.roles
                );
            }
        }
    }
    Ok(())
}

pub async fn enroll(store: &DynStore, cmd: EnrollCommand) -> Result<(), DirectoryError> {
    let EnrollCommand::Issue {
        officer,
        own_records_only,
        ttl_minutes,
        server_url,
        qr: qr_file,
    } = cmd;
    let issued = service::issue_enrollment(
        store,
        None,
        "operator",
        &officer,
        own_records_only,
        Some(ttl_minutes),
    )
    .await?;
    let event = AuditEvent::new(
        operator(),
        Action::EnrollmentIssued,
        format!("officer:{}", issued.officer),
    )
    .in_unit(issued.unit.as_str());
    audit::append(store, &[event]).await?;
    println!("{}", issued.code);
    if let Some(path) = qr_file {
        let text = issued.qr_text(&server_url);
        let bytes = match path.extension().and_then(|e| e.to_str()) {
            Some("svg") => qr::svg(&text)?.into_bytes(),
            Some("png") => qr::png(&text)?,
            _ => {
                return Err(DirectoryError::Invalid(
                    "the QR file must end in .png or .svg".into(),
                ));
            }
        };
        std::fs::write(&path, bytes).map_err(|e| {
            DirectoryError::Invalid(format!("cannot write {}: {e}", path.display()))
        })?;
        eprintln!("QR code written to {}.", path.display());
    }
    let until = jiff::Timestamp::from_millisecond(issued.expires_at)
        .map(|t| t.to_string())
        .unwrap_or_default();
    eprintln!(
        "Enrollment code for {} ({}) in {}, good once until {until}. On the phone: bukti enroll --server {server_url} --code {}",
        issued.officer_name, issued.officer, issued.unit, issued.code
    );
    Ok(())
}

pub async fn device(store: &DynStore, cmd: DeviceCommand) -> Result<(), DirectoryError> {
    match cmd {
        DeviceCommand::List { under } => {
            for d in store.devices(&UnitPath::parse(&under)?).await? {
                let state = if d.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!(
                    "{}  {:<8} {:<35} {:<10} {}",
                    d.id,
                    state,
                    d.unit,
                    d.officer.unwrap_or_default(),
                    d.name
                );
            }
        }
        DeviceCommand::Revoke { id, by } => {
            let device = store
                .device(id)
                .await?
                .ok_or_else(|| DirectoryError::Invalid(format!("no device {id}")))?;
            let now = jiff::Timestamp::now().as_millisecond();
            store
                .revoke_device(id, &UnitPath::parse(&device.unit)?, &by, now)
                .await?;
            let event = AuditEvent::new(operator(), Action::DeviceRevoked, format!("device:{id}"))
                .in_unit(device.unit.as_str());
            audit::append(store, &[event]).await?;
            println!("Device {id} revoked; its next request will be refused.");
        }
    }
    Ok(())
}
