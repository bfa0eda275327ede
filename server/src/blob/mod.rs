//! Photo bytes (blobs): content-addressed by SHA-256, uploaded in resumable chunks, verified
//! before they become visible, stored once per hash.
//!
//! [`BlobStore`] is the storage seam, with two implementations: [`local::LocalBlobs`] (a folder,
//! the default) and [`s3::S3Blobs`] (S3-compatible object storage). A store holds partial
//! uploads itself: the bytes it holds durably are the truth for where an upload resumes. The
//! database only learns of a blob once it is complete and verified (see
//! [`crate::store::photos`]). [`upload`] ties the two together for the API.
//!
//! Every upload in progress belongs to one [`Uploader`] (the officer whose device sends it):
//! each officer's bytes go to their own partial, verified on their own, also when the blob is
//! already published. That is how an officer proves holding a photo, and why nobody can finish,
//! spoil or ride on someone else's upload.

pub mod local;
pub mod s3;
pub mod upload;

use std::{fmt, pin::Pin, sync::Arc};

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;
use sha2::{Digest, Sha256};

/// A SHA-256 in 64 lowercase hex digits. The only way to name a blob, so a path or key built
/// from one can never escape the store's folder or prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobHash(String);

impl BlobHash {
    pub fn parse(s: &str) -> Result<Self, BlobError> {
        if bukti_core::record::is_sha256_hex(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(BlobError::BadHash)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whose upload a partial is: 32 hex digits of the SHA-256 of the officer's NRP, so a file name
/// or key built from it is safe whatever the NRP holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Uploader(String);

impl Uploader {
    pub fn officer(nrp: &str) -> Self {
        Self(hex::encode(&Sha256::digest(nrp.as_bytes())[..16]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Uploader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("a blob is named by its SHA-256: 64 lowercase hex digits")]
    BadHash,
    #[error("the upload is at byte {server}, not {client}: resume from {server}")]
    OffsetMismatch { server: u64, client: u64 },
    #[error(
        "the uploaded bytes do not hash to the blob's name; the upload was discarded: send it again from 0"
    )]
    HashMismatch,
    #[error("the chunk does not fit: it runs past the blob's length of {length} bytes")]
    ChunkTooLong { length: u64 },
    #[error("the connection broke during the chunk; {offset} bytes are stored: resume from there")]
    Interrupted { offset: u64 },
    #[error("blob storage is full")]
    Full(#[source] std::io::Error),
    #[error("blob storage failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("object storage failed: {0}")]
    Object(#[from] object_store::Error),
}

impl BlobError {
    /// I/O errors that mean "no space left" get their own variant, so the API can say 507.
    pub fn from_io(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(28) {
            BlobError::Full(e)
        } else {
            BlobError::Io(e)
        }
    }
}

/// A chunk's bytes as they arrive from the network; an `Err` item means the connection broke.
pub type ChunkStream = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static>>;

/// A stored blob's bytes, streamed.
pub type ByteStream = ChunkStream;

#[async_trait]
pub trait BlobStore: Send + Sync + fmt::Debug + 'static {
    /// How many bytes of `uploader`'s upload of `hash` are stored durably (0 when none).
    async fn progress(&self, hash: &BlobHash, uploader: &Uploader) -> Result<u64, BlobError>;

    /// Appends the bytes of `chunk` to `uploader`'s partial upload of `hash`, which must hold
    /// exactly `offset` bytes. At most `max` bytes are taken (more is
    /// [`BlobError::ChunkTooLong`]). Whatever arrived is durable before this returns, also when
    /// the stream breaks ([`BlobError::Interrupted`]), so a retry resumes after the last stored
    /// byte. Returns the new offset. A published blob of the same hash does not stop it: the
    /// uploader may be proving it holds those bytes.
    async fn append(
        &self,
        hash: &BlobHash,
        uploader: &Uploader,
        offset: u64,
        chunk: ChunkStream,
        max: u64,
    ) -> Result<u64, BlobError>;

    /// Verifies `uploader`'s partial upload (streamed through SHA-256, never whole in memory).
    /// When it is `length` bytes that hash to `hash`, publishes it atomically, or discards it
    /// when the blob is already published (the bytes are the same); either way `Ok` means this
    /// uploader sent exactly these bytes. Otherwise the partial is discarded and the answer is
    /// [`BlobError::HashMismatch`]; a partial that another process finished or dropped meanwhile
    /// is [`BlobError::OffsetMismatch`].
    async fn finish(
        &self,
        hash: &BlobHash,
        uploader: &Uploader,
        length: u64,
    ) -> Result<(), BlobError>;

    /// The bytes of a published blob.
    async fn get(&self, hash: &BlobHash) -> Result<Option<ByteStream>, BlobError>;
}

pub type DynBlobs = Arc<dyn BlobStore>;
