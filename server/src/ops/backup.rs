//! `bukti-server backup --to DIR`: a consistent copy of the evidence store, taken while the
//! server runs. The database first (SQLite: `VACUUM INTO` a snapshot; PostgreSQL: `pg_dump` in
//! its custom format, itself one snapshot), then the photo bytes, each hashed against its name
//! as it is copied. Blobs are immutable and recorded in the database only after they are whole,
//! so every blob the database copy knows of is already in the folder when it is copied after;
//! a few newer blobs may come along too, which is harmless. `manifest.json` is written last:
//! a folder without one is an interrupted backup.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use serde::{Deserialize, Serialize};

use super::{OpsError, blobs, blocking, io_error};
use crate::{Settings, store::sqlite::SqliteStore};

/// Name of the manifest in a backup folder.
pub const MANIFEST: &str = "manifest.json";
/// The SQLite database's file in a backup folder.
pub const SQLITE_FILE: &str = "evidence.db";
/// The `pg_dump --format=custom` archive in a backup folder.
pub const PG_DUMP_FILE: &str = "evidence.pgdump";
/// The blob folder inside a backup folder.
pub const BLOB_DIR: &str = "blobs";
const FORMAT: u32 = 1;

/// Which database a backup holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

impl DatabaseKind {
    pub fn of(settings: &Settings) -> Self {
        if settings.database_url.is_some() {
            DatabaseKind::Postgres
        } else {
            DatabaseKind::Sqlite
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DatabaseKind::Sqlite => "sqlite",
            DatabaseKind::Postgres => "postgres",
        }
    }
}

/// What a backup folder holds; also the backup command's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub database: DatabaseKind,
    /// When the backup started (RFC 3339); the database copy is of about this moment.
    pub started_at: String,
    pub blobs: u64,
    pub blob_bytes: u64,
    /// False when the photo bytes live in S3: back the bucket up with its own tools.
    pub blobs_included: bool,
}

/// The manifest and the blobs left out because their bytes did not match their names.
#[derive(Debug, Clone)]
pub struct BackupReport {
    pub manifest: Manifest,
    pub corrupt_blobs: Vec<PathBuf>,
}

/// The local blob folder the settings name, or `None` when blobs live in S3.
pub fn local_blob_dir(settings: &Settings) -> Option<PathBuf> {
    if settings.blobs.s3.is_some() {
        return None;
    }
    Some(
        settings
            .blobs
            .dir
            .clone()
            .unwrap_or_else(|| settings.data_dir.join("blobs")),
    )
}

/// Backs the store the settings name up into `to`, which must be missing or empty.
pub async fn backup(settings: &Settings, to: &Path) -> Result<BackupReport, OpsError> {
    if !blobs::is_empty_dir(to)? {
        return Err(OpsError::NotEmpty {
            path: to.to_owned(),
            what: "it has files in it".into(),
            hint: "back up into a new folder",
        });
    }
    fs::create_dir_all(to).map_err(io_error(to))?;
    let started_at = jiff::Timestamp::now().to_string();
    let database = DatabaseKind::of(settings);
    match &settings.database_url {
        None => snapshot_sqlite(&settings.data_dir, &to.join(SQLITE_FILE)).await?,
        Some(url) => {
            let (url, file) = (url.clone(), to.join(PG_DUMP_FILE));
            blocking(move || pg_dump(&url, &file)).await?;
        }
    }
    let copy = match local_blob_dir(settings) {
        Some(from) => {
            let dest = to.join(BLOB_DIR);
            Some(blocking(move || blobs::copy_verified(&from, &dest)).await?)
        }
        None => {
            tracing::warn!(
                "photo bytes are in S3 and are not copied: back the bucket up with its own tools"
            );
            None
        }
    };
    let manifest = Manifest {
        format: FORMAT,
        database,
        started_at,
        blobs: copy.as_ref().map_or(0, |c| c.blobs),
        blob_bytes: copy.as_ref().map_or(0, |c| c.bytes),
        blobs_included: copy.is_some(),
    };
    write_manifest(to, &manifest)?;
    Ok(BackupReport {
        manifest,
        corrupt_blobs: copy.map(|c| c.corrupt).unwrap_or_default(),
    })
}

async fn snapshot_sqlite(data_dir: &Path, file: &Path) -> Result<(), OpsError> {
    let db = data_dir.join(SQLITE_FILE);
    if !db.exists() {
        return Err(OpsError::NoDatabase { path: db });
    }
    let store = SqliteStore::open(data_dir).await?;
    store.snapshot_into(file).await?;
    fs::File::open(file)
        .and_then(|f| f.sync_all())
        .map_err(io_error(file))
}

/// Runs an operator tool (`pg_dump`, `pg_restore`) and turns a failure into its stderr.
pub(super) fn run_tool(tool: &'static str, cmd: &mut Command) -> Result<(), OpsError> {
    let out = cmd.output().map_err(|e| OpsError::Tool {
        tool,
        detail: format!("cannot run it ({e}); is the PostgreSQL client installed and on PATH?"),
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(OpsError::Tool {
            tool,
            detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

fn pg_dump(url: &str, file: &Path) -> Result<(), OpsError> {
    run_tool(
        "pg_dump",
        Command::new("pg_dump")
            .args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
            .arg(file)
            .arg("--dbname")
            .arg(url),
    )
}

fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<(), OpsError> {
    let path = dir.join(MANIFEST);
    let json = serde_json::to_vec_pretty(manifest).expect("a manifest serialises");
    let tmp = dir.join(format!("{MANIFEST}.tmp"));
    fs::write(&tmp, json)
        .and_then(|()| fs::File::open(&tmp)?.sync_all())
        .map_err(io_error(&tmp))?;
    fs::rename(&tmp, &path).map_err(io_error(&path))?;
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

/// Reads a backup folder's manifest; a folder without one is not a complete backup.
pub fn read_manifest(dir: &Path) -> Result<Manifest, OpsError> {
    let path = dir.join(MANIFEST);
    let not_backup = |reason: String| OpsError::NotABackup {
        path: dir.to_owned(),
        reason,
    };
    let bytes = fs::read(&path).map_err(|e| {
        not_backup(format!(
            "cannot read {MANIFEST} ({e}); was the backup interrupted?"
        ))
    })?;
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| not_backup(format!("{MANIFEST}: {e}")))?;
    if manifest.format != FORMAT {
        return Err(not_backup(format!(
            "format {} is not {FORMAT}; use the bukti-server that made it",
            manifest.format
        )));
    }
    Ok(manifest)
}
