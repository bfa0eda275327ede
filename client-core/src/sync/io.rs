//! The values that cross the sync machine's edge: what it asks the store to read ([`Load`]) and
//! to write ([`Write`]), what it asks the transport to send ([`Request`]), and what comes back
//! ([`Loaded`], [`Written`], [`Answer`]). Plain data: a driver carries them between the machine
//! and its store and transport, and a test can script every one of them.

use std::{sync::Arc, time::Duration};

use super::{PageReport, PhotoProblem, PushRow, Time, Update};
use crate::{
    RecordId,
    protocol::{
        MissingBlobsRequest, MissingBlobsResponse, PullResponse, PulledRecord, PushRequest,
        PushResponse, RequestedBlobs, UploadResponse,
    },
};

/// A request of the sync protocol, complete as it goes on the wire.
#[derive(Debug, Clone)]
pub enum Request {
    /// `POST /api/v1/sync/push`. This value is the batch as sent, final: a retry sends these
    /// same bytes again, so whatever must cover exactly what is sent (a signature) is computed
    /// from it.
    Push(PushRequest),
    /// `GET /api/v1/sync/pull?since=…&limit=…`.
    Pull { since: i64, limit: u32 },
    /// `GET /api/v1/blobs/requested`.
    RequestedBlobs,
    /// `POST /api/v1/blobs/missing`.
    MissingBlobs(MissingBlobsRequest),
    /// `PATCH /api/v1/blobs/{hash}`.
    UploadChunk(Chunk),
}

/// Bytes of one photo file from an offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub hash: String,
    pub offset: u64,
    /// The whole file's length.
    pub total: u64,
    pub bytes: Vec<u8>,
}

/// A request to send now, with the time it must be answered by.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Shared, because a retry sends the same value again.
    pub request: Arc<Request>,
    /// An answer after this is a timeout: the transport gives up by then, and the machine
    /// treats a later answer as lost.
    pub deadline: Time,
    /// Silence (no byte at all) this long means the connection is dead even though no one
    /// closed it; transports that can tell silence from slowness use it.
    pub stall: Duration,
}

/// A successful answer to a [`Request`] of the same kind.
#[derive(Debug, Clone)]
pub enum Answer {
    Push(PushResponse),
    Pull(PullResponse),
    RequestedBlobs(RequestedBlobs),
    MissingBlobs(MissingBlobsResponse),
    Chunk(ChunkOutcome),
}

impl Answer {
    /// The kind of request this answers, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Answer::Push(_) => "push",
            Answer::Pull(_) => "pull",
            Answer::RequestedBlobs(_) => "requested photos",
            Answer::MissingBlobs(_) => "missing photos",
            Answer::Chunk(_) => "photo upload",
        }
    }
}

/// What one upload chunk achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkOutcome {
    /// Stored durably (`complete` once the whole file arrived and hashed right).
    Stored(UploadResponse),
    /// The server holds a different number of bytes (`409 offset_mismatch`): resume there.
    Mismatch(u64),
}

/// A photo file the server may still need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobToSend {
    pub hash: String,
    pub size: u64,
    /// Bytes the server last said it holds.
    pub server_offset: u64,
}

/// What the machine needs read from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Load {
    /// Ids of queued, not held records, oldest first.
    Outbox,
    /// The rows of these records that are still queued.
    PushRows(Vec<RecordId>),
    /// Where the last pull stopped (0 before the first).
    PullCursor,
    /// Photo files the server has not confirmed: renditions and requested originals, and every
    /// original when `all_originals`.
    BlobsToUpload { all_originals: bool },
    /// `len` bytes of photo file `hash` from `offset`.
    Chunk { hash: String, offset: u64, len: u64 },
}

/// The store's answer to a [`Load`] of the same kind.
#[derive(Debug, Clone)]
pub enum Loaded {
    Outbox(Vec<RecordId>),
    PushRows(Vec<PushRow>),
    PullCursor(i64),
    Blobs(Vec<BlobToSend>),
    Chunk(Vec<u8>),
}

/// What the machine asks the store to write, each in one transaction.
#[derive(Debug, Clone)]
pub enum Write {
    /// A push batch's outcome: dequeue the `stale` entries whose heads are still these, and
    /// carry out each update.
    PushResults {
        stale: Vec<(RecordId, Vec<String>)>,
        updates: Vec<Update>,
    },
    /// Merge a pull page (see [`super::merge`]) and move the cursor to `cursor`, together.
    PullPage {
        records: Vec<PulledRecord>,
        cursor: i64,
    },
    /// HQ asked for these originals: upload them like renditions.
    MarkRequested(Vec<String>),
    /// The server holds these files in full; these others it did not take, with why.
    BlobChecks {
        confirmed: Vec<String>,
        problems: Vec<PhotoProblem>,
    },
    /// The server holds `offset` bytes of `hash`.
    BlobOffset { hash: String, offset: u64 },
}

/// The store's answer to a [`Write`].
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    Done,
    /// What a [`Write::PullPage`] did.
    Page(PageReport),
}
