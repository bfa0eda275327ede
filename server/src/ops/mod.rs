//! Operator maintenance run from `bukti-server`'s command line against the store the server
//! uses, safe while it serves: [`backup`] copies the database (an online SQLite snapshot or
//! `pg_dump`) and the photo bytes, verified, to a folder; [`restore`] puts such a folder back
//! into an empty data folder or database; [`rebuild`] derives the relational projection afresh
//! from the stored documents; [`search_index`] indexes for search the records the index lacks
//! (the server runs it as it starts); [`verify`] checks the evidence log, documents and projection
//! against each other (`docs/evidence.md`). `docs/operations.md` is the operator's guide.

pub mod backup;
mod blobs;
pub mod pack;
pub mod rebuild;
pub mod restore;
pub mod search_index;
pub mod verify;

use std::path::{Path, PathBuf};

use crate::store::StoreError;

pub use backup::{BackupReport, Manifest, backup};
pub use rebuild::{RebuildReport, rebuild_projection};
pub use restore::{RestoreReport, restore};

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not empty ({what}); {hint}", path.display())]
    NotEmpty {
        path: PathBuf,
        what: String,
        hint: &'static str,
    },
    #[error("{tool} failed: {detail}")]
    Tool { tool: &'static str, detail: String },
    #[error("{} is not a complete backup: {reason}", path.display())]
    NotABackup { path: PathBuf, reason: String },
    #[error(
        "this backup holds a {backup} database but the server is configured for {target}; restore into a {backup} store"
    )]
    WrongDatabase {
        backup: &'static str,
        target: &'static str,
    },
    #[error("no evidence database at {}: is --data right?", path.display())]
    NoDatabase { path: PathBuf },
    #[error("a background task failed: {0}")]
    Task(String),
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> OpsError + '_ {
    move |source| OpsError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Runs blocking file work off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, OpsError> + Send + 'static,
) -> Result<T, OpsError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| OpsError::Task(e.to_string()))?
}
