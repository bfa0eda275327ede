//! # bukti-core
//!
//! The code a phone and the server share, so that both merge evidence with exactly the same rules.
//!
//! - [`record`]: one police activity record as one Automerge document: the typed view, how it is
//!   read from and written to the document, and its validation.
//! - [`catalogue`]: activity kinds, service types and the LKE (areas and sub-indicators) as data.
//! - [`ingest`]: applying untrusted Automerge bytes safely (size caps, strict decoding, panics
//!   contained), used by the server for pushes and by devices for pulls.
//! - [`lke`]: the full LKE (questions, answer scales, hasil, WBK/WBBM thresholds) of a regulation
//!   edition as validated data, and the worksheet scoring exactly as the LKE computes it.
//! - [`history`]: who changed which fields of a record, and when, read from the Automerge history.
//! - [`protocol`]: the sync wire format (push, pull, enrollment, errors) and its limits.
//! - [`sync`]: sync as a state machine free of I/O (push, photo upload, pull, with retries,
//!   backoff and timeouts against a time passed in), the store, transport and clock traits it
//!   runs over, and the loop that runs it.
//! - [`evidence`]: what devices and the server sign (pushes, receipts, the evidence log's head),
//!   byte for byte, and how anyone checks it offline.
//! - [`enrollment`]: one-time enrollment codes, their QR form and the message a phone signs.
//! - [`rfc3339`]: times in the JSON API (RFC 3339 over the stores' Unix milliseconds).
//! - [`unit`]: unit paths (`bali/buleleng/sawan`) and the subtree scope built on them.
//! - `photo` (feature `photo`, part of `device`): the photo capture pipeline (EXIF, orientation,
//!   display derivative, thumbnail, hashes).
//! - `device` (feature `device`): the device adapters (the SQLite store, the reqwest transport,
//!   network detection) and the `bukti` field CLI.

pub mod catalogue;
#[cfg(feature = "device")]
pub mod device;
pub mod enrollment;
pub mod evidence;
pub mod history;
pub mod id;
pub mod ingest;
pub mod lke;
#[cfg(feature = "photo")]
pub mod photo;
pub mod protocol;
pub mod record;
pub mod rfc3339;
pub mod sync;
pub mod unit;

pub use id::RecordId;
pub use record::{Record, RecordDoc};
