//! Server settings and the store they select: SQLite in the data folder unless a PostgreSQL
//! URL is given.

use std::{fmt, path::PathBuf, sync::Arc};

pub use crate::blob::s3::S3Settings;
use crate::{
    blob::{BlobError, DynBlobs, local::LocalBlobs, s3::S3Blobs, upload::Blobs},
    store::{DynStore, StoreError, postgres::PgStore, sqlite::SqliteStore},
};

#[derive(Clone)]
pub struct Settings {
    /// Folder for the embedded database (and, later, photos).
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL instead of the embedded SQLite.
    pub database_url: Option<String>,
    /// Where photo bytes go.
    pub blobs: BlobSettings,
}

/// Where photo bytes are stored and how large one may be.
#[derive(Debug, Clone)]
pub struct BlobSettings {
    /// Local folder; `<data>/blobs` when unset. Ignored when `s3` is set.
    pub dir: Option<PathBuf>,
    /// S3-compatible object storage instead of the local folder.
    pub s3: Option<S3Settings>,
    /// Largest blob accepted, in bytes.
    pub max_bytes: u64,
}

impl Default for BlobSettings {
    fn default() -> Self {
        Self {
            dir: None,
            s3: None,
            max_bytes: bukti_core::protocol::DEFAULT_MAX_BLOB_BYTES,
        }
    }
}

// Hand-written so a password in the database URL never reaches a log.
impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.database_url.as_deref().map(redact);
        f.debug_struct("Settings")
            .field("data_dir", &self.data_dir)
            .field("database_url", &url)
            .field("blobs", &self.blobs)
            .finish()
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl Settings {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            database_url: None,
            blobs: BlobSettings::default(),
        }
    }

    /// Opens the configured blob store: S3 when configured, else the local folder.
    pub fn open_blobs(&self) -> Result<Blobs, BlobError> {
        let store: DynBlobs = match &self.blobs.s3 {
            Some(s3) => Arc::new(S3Blobs::open(s3)?),
            None => {
                let dir = self
                    .blobs
                    .dir
                    .clone()
                    .unwrap_or_else(|| self.data_dir.join("blobs"));
                Arc::new(LocalBlobs::new(dir))
            }
        };
        Ok(Blobs {
            store,
            max_bytes: self.blobs.max_bytes,
        })
    }

    /// Opens the configured store and brings its schema up to date, and its evidence log: the
    /// first open after the upgrade adopts the records stored before the log existed.
    pub async fn open_store(&self) -> Result<DynStore, StoreError> {
        let store: DynStore = match &self.database_url {
            Some(url) => Arc::new(PgStore::connect(url).await?),
            None => Arc::new(SqliteStore::open(&self.data_dir).await?),
        };
        crate::evidence::adopt::adopt_unlogged(&store).await?;
        Ok(store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_the_logs() {
        assert_eq!(
            redact("postgres://bukti:s3cret@db:5432/bukti"),
            "postgres://bukti:***@db:5432/bukti"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
        let s = Settings {
            data_dir: "d".into(),
            database_url: Some("postgres://a:b@h/d".into()),
            blobs: BlobSettings {
                s3: Some(S3Settings {
                    secret_key: Some("hunter2".into()),
                    ..S3Settings::default()
                }),
                ..BlobSettings::default()
            },
        };
        assert!(!format!("{s:?}").contains(":b@"));
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
