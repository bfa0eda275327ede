//! Server settings and the store they select: SQLite in the data folder unless a PostgreSQL
//! URL is given.

use std::{fmt, path::PathBuf, sync::Arc};

use crate::store::{DynStore, StoreError, postgres::PgStore, sqlite::SqliteStore};

#[derive(Clone)]
pub struct Settings {
    /// Folder for the embedded database (and, later, photos).
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL instead of the embedded SQLite.
    pub database_url: Option<String>,
}

// Hand-written so a password in the database URL never reaches a log.
impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.database_url.as_deref().map(redact);
        f.debug_struct("Settings")
            .field("data_dir", &self.data_dir)
            .field("database_url", &url)
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
        }
    }

    /// Opens the configured store and brings its schema up to date.
    pub async fn open_store(&self) -> Result<DynStore, StoreError> {
        Ok(match &self.database_url {
            Some(url) => Arc::new(PgStore::connect(url).await?),
            None => Arc::new(SqliteStore::open(&self.data_dir).await?),
        })
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
        };
        assert!(!format!("{s:?}").contains(":b@"));
    }
}
