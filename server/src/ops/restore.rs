//! `bukti-server restore --from DIR`: puts a backup made by [`super::backup`] into a fresh,
//! empty data folder or PostgreSQL database, and never over anything: a data folder with a
//! database, a database with tables, or a blob folder with files is refused with the reason.
//! Blobs are verified against their names again on the way in (a backup may have rotted on its
//! disk), then the database is put in place and opened, which brings its schema up to date.

use std::{fs, path::Path, process::Command};

use sqlx::{Connection, PgConnection};

use super::{
    OpsError,
    backup::{
        BLOB_DIR, DatabaseKind, Manifest, PG_DUMP_FILE, SQLITE_FILE, local_blob_dir, read_manifest,
        run_tool,
    },
    blobs, blocking, io_error,
};
use crate::Settings;

/// What a restore put back.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    pub manifest: Manifest,
    pub records: u64,
    pub blobs: u64,
    /// Blobs in the backup whose bytes did not match their names, not restored.
    pub corrupt_blobs: Vec<std::path::PathBuf>,
}

const FRESH: &str = "restore only into a fresh, empty data folder or database";

/// Restores the backup in `from` into the store the settings name, which must be empty.
pub async fn restore(settings: &Settings, from: &Path) -> Result<RestoreReport, OpsError> {
    let manifest = read_manifest(from)?;
    let target = DatabaseKind::of(settings);
    if manifest.database != target {
        return Err(OpsError::WrongDatabase {
            backup: manifest.database.as_str(),
            target: target.as_str(),
        });
    }
    refuse_unless_empty(settings).await?;
    let copy = match local_blob_dir(settings) {
        Some(dest) if manifest.blobs_included => {
            let src = from.join(BLOB_DIR);
            Some(blocking(move || blobs::copy_verified(&src, &dest)).await?)
        }
        _ => None,
    };
    match &settings.database_url {
        None => {
            let (src, data) = (from.join(SQLITE_FILE), settings.data_dir.clone());
            blocking(move || put_sqlite(&src, &data)).await?;
        }
        Some(url) => {
            let (url, file) = (url.clone(), from.join(PG_DUMP_FILE));
            blocking(move || pg_restore(&url, &file)).await?;
        }
    }
    let store = settings.open_store().await?;
    Ok(RestoreReport {
        manifest,
        records: store.record_count().await?,
        blobs: copy.as_ref().map_or(0, |c| c.blobs),
        corrupt_blobs: copy.map(|c| c.corrupt).unwrap_or_default(),
    })
}

async fn refuse_unless_empty(settings: &Settings) -> Result<(), OpsError> {
    match &settings.database_url {
        None => {
            let db = settings.data_dir.join(SQLITE_FILE);
            if db.exists() {
                return Err(OpsError::NotEmpty {
                    path: settings.data_dir.clone(),
                    what: format!("it already holds {SQLITE_FILE}"),
                    hint: FRESH,
                });
            }
        }
        Some(url) => {
            let mut conn = PgConnection::connect(url)
                .await
                .map_err(crate::store::StoreError::from)?;
            let tables: i64 = sqlx::query_scalar(
                "select count(*) from information_schema.tables where table_schema = 'public'",
            )
            .fetch_one(&mut conn)
            .await
            .map_err(crate::store::StoreError::from)?;
            if tables > 0 {
                return Err(OpsError::NotEmpty {
                    path: crate::config::redact(url).into(),
                    what: format!("the database already has {tables} tables"),
                    hint: FRESH,
                });
            }
        }
    }
    if let Some(dir) = local_blob_dir(settings)
        && !blobs::is_empty_dir(&dir)?
    {
        return Err(OpsError::NotEmpty {
            path: dir,
            what: "the blob folder has files in it".into(),
            hint: FRESH,
        });
    }
    Ok(())
}

/// Copies the backed-up database in under a temporary name, syncs it, then renames it into
/// place, so a restore cut short never leaves a half-copied database where the server looks.
fn put_sqlite(src: &Path, data_dir: &Path) -> Result<(), OpsError> {
    fs::create_dir_all(data_dir).map_err(io_error(data_dir))?;
    let tmp = data_dir.join(format!("{SQLITE_FILE}.restoring"));
    fs::copy(src, &tmp).map_err(io_error(src))?;
    fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(io_error(&tmp))?;
    let dest = data_dir.join(SQLITE_FILE);
    fs::rename(&tmp, &dest).map_err(io_error(&dest))?;
    fs::File::open(data_dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(data_dir))
}

fn pg_restore(url: &str, file: &Path) -> Result<(), OpsError> {
    run_tool(
        "pg_restore",
        Command::new("pg_restore")
            .args([
                "--exit-on-error",
                "--single-transaction",
                "--no-owner",
                "--no-privileges",
                "--dbname",
            ])
            .arg(url)
            .arg(file),
    )
}
