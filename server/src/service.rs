//! What the record services (ingest's write path, review, the dashboard, blob uploads) refuse or
//! fail with, said in the domain's terms. The services never pick a status code: the HTTP layer
//! turns a [`ServiceError`] into its answer once, in [`crate::error`], so the command line, the
//! pages and the API all see the same refusals.

use bukti_core::record::workflow::Refusal;

use crate::{
    blob::BlobError, directory::NotAllowed, evidence::PushSignatureError, store::StoreError,
};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No such record or blob, or one outside the caller's scope: the two are told alike, so
    /// an answer never reveals what exists elsewhere.
    #[error("not found (or outside the caller's unit)")]
    NotFound,
    /// The caller's roles or credential do not allow the step; the message says why.
    #[error("{0}")]
    NotAllowed(String),
    /// The request asks for something impossible; the message says what to fix.
    #[error("{0}")]
    Invalid(String),
    /// Other writers kept winning the race for the same records; retrying later will do.
    #[error("the records kept changing under this write")]
    Busy,
    /// A review step the record's workflow state or the request does not allow.
    #[error(transparent)]
    Workflow(#[from] Refusal),
    /// A blob longer than the server accepts.
    #[error("a blob may be at most {limit} bytes")]
    BlobTooLarge { limit: u64 },
    /// A chunk declared longer than one chunk may be.
    #[error("the chunk is longer than one chunk may be")]
    ChunkTooLarge,
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// A push batch whose signature is missing or does not check out; nothing was applied.
    #[error(transparent)]
    PushSignature(#[from] PushSignatureError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<NotAllowed> for ServiceError {
    fn from(e: NotAllowed) -> Self {
        ServiceError::NotAllowed(e.0)
    }
}

impl ServiceError {
    /// Stored data the service could not read back, or a task of its that failed: a store
    /// failure as far as the caller is concerned.
    pub fn corrupt(why: String) -> Self {
        ServiceError::Store(StoreError::Corrupt(why))
    }
}
