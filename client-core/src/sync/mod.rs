//! Sync as a state machine, free of I/O like the record and validation code.
//!
//! The outbox, the server's heads, the pull cursor and the server's answers go in; requests to
//! send and store effects (acknowledge, hold a rejected record, merge a pulled page and move the
//! cursor, record a photo upload's offset) come out. The machine decides retries, backoff and
//! timeouts against the time it is given; it never reads a clock or sleeps. Anything that can
//! read and write a store, send a request and wait drives it with [`run`]: the `bukti` CLI over
//! SQLite and reqwest (`crate::device`), the tests over memory with simulated time, and later a
//! Polsek server syncing upward like a device.
//!
//! - `machine`: [`Machine`], one sync step by step (push, photos, pull);
//! - `io`: the values crossing its edge ([`Request`], [`Answer`], [`Load`], [`Write`], …);
//! - `plan`: what a queued record sends and what each push result means;
//! - `packed`: a never-acknowledged record's history as the store keeps it for the push;
//! - `merge`: what a pulled record does to the local copy (run by stores, inside their write
//!   transaction);
//! - `backoff`: which failures are retried, and the wait before each retry;
//! - `driver`: the [`SyncStore`], [`Transport`] and [`Clock`] traits and [`run`];
//! - `report`: the [`SyncReport`] and progress updates.

mod backoff;
mod driver;
mod io;
mod machine;
pub mod merge;
pub mod packed;
mod plan;
mod report;
#[cfg(test)]
mod tests;

pub use backoff::{Backoff, Failure};
pub use driver::{Clock, SyncError, SyncStore, Transport, run};
pub use io::{
    Answer, BlobToSend, Chunk, ChunkOutcome, Load, Loaded, Outgoing, Request, Write, Written,
};
pub use machine::{Config, DEFAULT_CHUNK_BYTES, Input, Machine, Step, Stop};
pub use merge::PageReport;
pub use plan::{PushRow, PushSource, Update, UpdateOp, same_heads};
pub use report::{NoProgress, Phase, PhotoProblem, Progress, Rejection, SyncReport};

/// A point in time as the machine sees it: the time since an origin the driver chooses (the
/// start of the process, of a test). The machine only adds to it and compares it.
pub type Time = std::time::Duration;
