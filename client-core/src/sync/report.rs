//! What a sync tells the people who started it: the report at the end (records pushed, held,
//! pulled, photo bytes sent) and progress along the way. Plain data, so a phone app, the CLI and
//! the tests read the same thing.

use serde::Serialize;

use crate::{RecordId, protocol::RejectCode, record::Problem};

/// What one push, pull or sync did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncReport {
    /// Records the server accepted with new changes.
    pub pushed: u64,
    /// Records the server already had in full (replays, stale queue entries).
    pub unchanged: u64,
    /// Records the server refused; held ones wait for an edit, the others are retried.
    pub rejected: Vec<Rejection>,
    /// Records received from the server.
    pub pulled: u64,
    /// Pulled records this device did not have yet.
    pub new: u64,
    /// Pulled records whose changes were merged into this device's copy.
    pub merged: u64,
    /// Pulled records that could not be merged, with why; the server keeps them.
    pub skipped: Vec<(RecordId, String)>,
    /// Photo files (renditions, requested originals) the server now has in full.
    pub photos_uploaded: u64,
    /// Photo bytes sent in this sync (a resumed upload counts only the rest).
    pub photo_bytes_sent: u64,
    /// Photo files the server did not take, with why; they stay queued.
    pub photo_problems: Vec<PhotoProblem>,
    /// Receipts or evidence-log heads that did not check out (a log cut short or rewritten
    /// since this device saw it, a signature under another key), said plainly.
    pub evidence_problems: Vec<String>,
}

/// A record the server refused, as the sync report shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejection {
    pub id: RecordId,
    pub code: RejectCode,
    pub reason: String,
    pub problems: Vec<Problem>,
}

/// A photo file the server did not take, and why; it stays queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhotoProblem {
    pub hash: String,
    pub reason: String,
}

/// Which part of a sync is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Sending local changes; `total` is the number of queued records.
    Push,
    /// Receiving the server's changes; the total is unknown until the last page.
    Pull,
    /// Uploading photo files; `done` and `total` are bytes.
    Photos,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Push => "push",
            Phase::Pull => "pull",
            Phase::Photos => "photos",
        }
    }
}

/// Receives progress updates. Called from the sync task; keep it cheap.
pub trait Progress: Send + Sync {
    /// `done` records of `total` (when known) have been handled in `phase`.
    fn update(&self, phase: Phase, done: u64, total: Option<u64>);
}

/// Progress nobody watches.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn update(&self, _: Phase, _: u64, _: Option<u64>) {}
}
