//! Everything that can go wrong on a device, each message saying what went wrong and what to do
//! about it in words any front end can show. Advice naming a `bukti` command belongs to the CLI
//! (`device::cli`), which adds it; a phone app gives its own.

use std::path::PathBuf;

use crate::{
    RecordId,
    record::{DocError, Problem},
};

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error(
        "this device is not enrolled: enroll it first with the code from your Kapolsek or \
         administrator"
    )]
    NotRegistered,
    #[error(
        "this device is already enrolled with {server} (officer {officer}, unit {unit}); \
         enrolling again replaces that enrollment"
    )]
    AlreadyRegistered {
        server: String,
        officer: String,
        unit: String,
    },
    /// The record would be invalid; nothing was written.
    #[error("the record is not valid, nothing was saved: {}", Problem::join(.0))]
    Invalid(Vec<Problem>),
    #[error("there is no record {0} on this device")]
    NotFound(RecordId),
    #[error("{0}")]
    Usage(String),
    #[error(
        "could not reach the server at {server} (check the network connection and the server \
         address, then try again; nothing was lost)"
    )]
    Network {
        server: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The server answered with an error body.
    #[error(
        "the server refused the request ({code}): {message}{}",
        server_hint(code)
    )]
    Server {
        status: u16,
        code: String,
        message: String,
    },
    #[error("{0}; try again later, and report it if it persists")]
    Protocol(String),
    #[error("the local store is damaged: {0}")]
    Corrupt(String),
    #[error("a stored record document cannot be used: {0}")]
    Doc(#[from] DocError),
    #[error("local database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("could not prepare the local database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A photo the pipeline refused; nothing was saved.
    #[error("photo {}: {source}; nothing was saved", path.display())]
    Photo {
        path: PathBuf,
        #[source]
        source: crate::photo::PhotoError,
    },
    #[error("cannot read the photo {}: {source}; check the path and try again", path.display())]
    PhotoFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "could not save a photo file at {}: {source}; free space on the device or fix the \
         folder's permissions, then capture again (nothing was saved)",
        path.display()
    )]
    PhotoStore {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot use the device directory {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn server_hint(code: &str) -> &'static str {
    match code {
        "unauthorized" => {
            " (the device credential is unknown: enroll this device again with a new code)"
        }
        "revoked" => " (enroll this device again with a new code)",
        "protocol_version" => " (update the app)",
        _ => "",
    }
}
