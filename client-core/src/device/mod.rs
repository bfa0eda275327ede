//! The device side of Bukti: an officer's phone or laptop that captures activity records
//! offline and syncs them with a server when it can.
//!
//! [`Device`] is the façade the `bukti` CLI (and the integration tests) use. Its syncs run the
//! sans-IO sync machine of [`crate::sync`] over the device's adapters. Underneath:
//! - `store`: the SQLite store (documents, listing projection, outbox, settings);
//! - `client`: the reqwest transport of the sync protocol;
//! - `enrollment`: enrolling with a server and the credential it leaves;
//! - `sync`: the store and clock the sync machine runs over;
//! - `photos`: photo capture on a bounded pool and the content-addressed photo files;
//! - `cli` (feature `cli`): the `bukti` command line.

#[cfg(feature = "cli")]
pub mod cli;
mod client;
mod enrollment;
mod error;
mod evidence;
mod model;
mod photos;
mod store;
mod sync;

use std::{path::Path, sync::Arc, time::Duration};

use automerge::{ActorId, ChangeHash};

pub use error::DeviceError;
pub use evidence::ReceiptStatus;
pub use model::{Capture, DeviceStatus, HeldRecord, RecordSummary, Registration, SyncState};
pub use photos::{
    DEFAULT_RETENTION_DAYS, PhotoInput, PhotoStatus,
    network::Network,
    originals::{OriginalsPolicy, send_all_originals},
};

pub use crate::sync::{
    Backoff, DEFAULT_CHUNK_BYTES, NoProgress, Phase, PhotoProblem, Progress, Rejection, SyncReport,
};
use client::SyncClient;
use photos::{PhotoFiles, PhotoPool};
use store::{DeviceStore, SavedDoc, key};
use sync::{DeviceSide, TokioClock};

use crate::{
    RecordDoc, RecordId,
    catalogue::Catalogue,
    ingest,
    photo::PipelineOptions,
    protocol::{DEFAULT_PULL_LIMIT, MAX_PULL_LIMIT, MAX_PUSH_RECORDS},
    record::{
        self, Problem, Record,
        workflow::{self, Workflow},
    },
    sync::{self as machine, Failure, SyncError},
};

/// File name of the store inside the device's home directory.
pub const DB_FILE: &str = "device.db";

/// One device: its store and its sync settings.
#[derive(Debug)]
pub struct Device {
    store: DeviceStore,
    push_batch_size: usize,
    pull_limit: u32,
    files: PhotoFiles,
    pool: PhotoPool,
    photo_options: PipelineOptions,
    chunk_bytes: usize,
    send_originals: bool,
    /// Retry schedule and silence allowed, see [`Device::set_network_timing`].
    backoff: Backoff,
    stall_timeout: Duration,
    /// Tests: fail a capture after its photo files are written, before the record commits.
    #[cfg(test)]
    fail_before_commit: bool,
}

impl Device {
    /// Opens the device whose data lives in `home`, creating the directory and store if needed.
    pub async fn open(home: &Path) -> Result<Device, DeviceError> {
        std::fs::create_dir_all(home).map_err(|source| DeviceError::Io {
            path: home.to_owned(),
            source,
        })?;
        let store = DeviceStore::open(&home.join(DB_FILE)).await?;
        Ok(Device {
            store,
            push_batch_size: MAX_PUSH_RECORDS,
            pull_limit: DEFAULT_PULL_LIMIT,
            files: PhotoFiles::new(home),
            // One photo at a time: a phone has few cores and sync and the UI need them.
            pool: PhotoPool::new(1),
            photo_options: PipelineOptions::default(),
            chunk_bytes: DEFAULT_CHUNK_BYTES,
            send_originals: false,
            backoff: machine::Config::sync(0).backoff,
            stall_timeout: machine::Config::sync(0).stall_timeout,
            #[cfg(test)]
            fail_before_commit: false,
        })
    }

    /// Sizes, quality and limits of the photo pipeline.
    pub fn set_photo_options(&mut self, options: PipelineOptions) {
        self.photo_options = options;
    }

    /// Bytes per photo upload request, at most [`crate::protocol::MAX_CHUNK_BYTES`].
    pub fn set_photo_chunk_bytes(&mut self, n: usize) {
        self.chunk_bytes = n.clamp(1, crate::protocol::MAX_CHUNK_BYTES);
    }

    /// Also upload every original photo on the next syncs (the device is on Wi-Fi and set to
    /// send originals there); otherwise only the originals HQ asks for are sent.
    pub fn set_send_originals(&mut self, yes: bool) {
        self.send_originals = yes;
    }

    /// Records per push request, at most [`MAX_PUSH_RECORDS`].
    pub fn set_push_batch_size(&mut self, n: usize) {
        self.push_batch_size = n.clamp(1, MAX_PUSH_RECORDS);
    }

    /// Records per pull page, at most [`MAX_PULL_LIMIT`].
    pub fn set_pull_limit(&mut self, n: u32) {
        self.pull_limit = n.clamp(1, MAX_PULL_LIMIT);
    }

    /// How long syncs wait: `backoff` between retries after a network failure, and
    /// `stall_timeout`, the silence after which a connection counts as lost. The defaults suit
    /// field networks; the bad-network tests shorten both, so a stall or a dead network costs
    /// them a second instead of half a minute.
    pub fn set_network_timing(&mut self, backoff: Backoff, stall_timeout: Duration) {
        self.backoff = backoff;
        self.stall_timeout = stall_timeout;
    }

    /// Closes the store, waiting for its connections to finish.
    pub async fn close(self) {
        self.store.close().await;
    }

    /// Validates and stores a new record, queued for the next sync. The record is durable when
    /// this returns. See [`Device::capture_with_photos`] to attach photos.
    pub async fn capture(&self, capture: Capture) -> Result<RecordId, DeviceError> {
        self.capture_with_photos(capture, Vec::new()).await
    }

    /// Applies `edit` to a record and stores the difference as one change, queued for the next
    /// sync. Returns whether anything changed; an edit that leaves the record invalid is refused
    /// and nothing is written. Editing a record the server refused releases it for the next sync.
    pub async fn edit(
        &self,
        id: RecordId,
        edit: impl FnOnce(&mut Record) + Send,
    ) -> Result<bool, DeviceError> {
        self.edit_with_photos(id, Vec::new(), edit).await
    }

    /// The typed view of a record, or `None` if this device does not hold it.
    pub async fn record(&self, id: RecordId) -> Result<Option<Record>, DeviceError> {
        let Some(bytes) = self.store.doc(id).await? else {
            return Ok(None);
        };
        let doc = RecordDoc::load(&bytes, ActorId::random())?;
        doc.read()
            .map(Some)
            .map_err(|p| DeviceError::Corrupt(format!("record {id}: {}", Problem::join(&p))))
    }

    /// Where a record stands in the review workflow, and what changed after its verdict, or
    /// `None` if this device does not hold it.
    pub async fn workflow(&self, id: RecordId) -> Result<Option<Workflow>, DeviceError> {
        let Some(bytes) = self.store.doc(id).await? else {
            return Ok(None);
        };
        let mut doc = RecordDoc::load(&bytes, ActorId::random())?;
        Ok(Some(workflow::derive(doc.automerge())))
    }

    /// Every record on the device, most recent activity first.
    pub async fn list(&self) -> Result<Vec<RecordSummary>, DeviceError> {
        self.store.list().await
    }

    /// The saved Automerge document of a record.
    pub async fn document(&self, id: RecordId) -> Result<Option<Vec<u8>>, DeviceError> {
        self.store.doc(id).await
    }

    /// The heads of a record's document as stored.
    pub async fn heads(&self, id: RecordId) -> Result<Option<Vec<ChangeHash>>, DeviceError> {
        let Some(heads) = self.store.local_heads(id).await? else {
            return Ok(None);
        };
        ingest::parse_heads(&heads)
            .map(Some)
            .map_err(DeviceError::Corrupt)
    }

    /// The sync machine's configuration for the given phases, with this device's settings.
    fn sync_config(&self, push: bool, photos: bool, pull: bool) -> machine::Config {
        machine::Config {
            push,
            photos,
            pull,
            batch_size: self.push_batch_size,
            pull_limit: self.pull_limit,
            chunk_bytes: self.chunk_bytes,
            all_originals: self.send_originals,
            backoff: self.backoff,
            stall_timeout: self.stall_timeout,
            // Devices coming back at once after an outage must not share a retry schedule.
            ..machine::Config::sync(jitter_seed())
        }
    }

    /// Runs the sync machine with `config` over this device's store and the server.
    async fn run_sync(
        &self,
        config: machine::Config,
        progress: &dyn Progress,
    ) -> Result<SyncReport, DeviceError> {
        let creds = self.registered().await?;
        let server = creds.registration.server_url;
        let transport = SyncClient::new(&server, &creds.token, config.stall_timeout)?;
        let evidence = Arc::new(self.evidence(&transport, config.request_timeout).await?);
        let transport = transport.with_evidence(evidence.clone());
        let mut side = DeviceSide {
            store: &self.store,
            files: &self.files,
            actor: creds.actor,
        };
        let clock = TokioClock::start();
        let within = config.request_timeout;
        let outcome = machine::run(
            machine::Machine::new(config),
            &mut side,
            &transport,
            &clock,
            progress,
        )
        .await;
        // Receipts of the batches that went through are kept even when a later step failed.
        let problems = self.keep_evidence(&evidence, &transport, within).await?;
        let mut report = outcome.map_err(|e| sync_error(e, &server))?;
        report.evidence_problems = problems;
        Ok(report)
    }

    /// Sends every queued record's new changes.
    pub async fn push(&self, progress: &dyn Progress) -> Result<SyncReport, DeviceError> {
        self.run_sync(self.sync_config(true, false, false), progress)
            .await
    }

    /// Receives and merges everything that changed on the server since the last pull.
    pub async fn pull(&self, progress: &dyn Progress) -> Result<SyncReport, DeviceError> {
        self.run_sync(self.sync_config(false, false, true), progress)
            .await
    }

    /// Push, then the photo files the server lacks (after the push, so the server knows the
    /// records that refer to them), then pull.
    pub async fn sync(&self, progress: &dyn Progress) -> Result<SyncReport, DeviceError> {
        let report = self
            .run_sync(self.sync_config(true, true, true), progress)
            .await?;
        let mut tx = self.store.begin().await?;
        tx.set_meta(
            key::LAST_SYNC_AT,
            &record::now_ms().as_millisecond().to_string(),
        )
        .await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Registration, counts and what has not reached the server.
    pub async fn status(&self) -> Result<DeviceStatus, DeviceError> {
        let registration = self.registration().await?;
        let (records_total, waiting) = self.store.counts().await?;
        let last_sync_at = self
            .store
            .meta(key::LAST_SYNC_AT)
            .await?
            .and_then(|v| v.parse().ok())
            .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok());
        Ok(DeviceStatus {
            registration,
            records_total,
            waiting,
            held: self.store.held().await?,
            pull_cursor: self.store.pull_cursor().await?,
            last_sync_at,
            photos: self.store.photo_status().await?,
        })
    }
}

/// A seed for the retry jitter from the operating system's randomness.
fn jitter_seed() -> u64 {
    let (high, low) = uuid::Uuid::new_v4().as_u64_pair();
    high ^ low
}

/// The device's error for a sync that ended early.
fn sync_error(error: SyncError<DeviceError, DeviceError>, server: &str) -> DeviceError {
    match error {
        SyncError::Store(e) | SyncError::Transport(e) => e,
        SyncError::Failed(Failure::Network) => DeviceError::Network {
            server: server.to_owned(),
            source: "no answer before the deadline".into(),
        },
        SyncError::Failed(Failure::Server {
            status,
            code,
            message,
        }) => DeviceError::Server {
            status,
            code,
            message,
        },
        SyncError::Failed(Failure::Protocol(message)) | SyncError::Protocol(message) => {
            DeviceError::Protocol(message)
        }
        SyncError::Local(message) => DeviceError::Corrupt(message),
    }
}

/// The edited document, or `None` when the edit changed nothing.
type Edited = Option<SavedDoc>;

pub(crate) fn edit_doc(
    bytes: &[u8],
    actor: ActorId,
    author: &str,
    id: RecordId,
    edit: impl FnOnce(&mut Record),
) -> Result<Edited, DeviceError> {
    let mut doc = RecordDoc::load(bytes, actor)?;
    if doc.edit(author, edit)?.is_none() {
        return Ok(None);
    }
    let record = doc.read().map_err(DeviceError::Invalid)?;
    let mut problems = record::validate(&record, Catalogue::builtin(), record::now_ms());
    if record.id != id {
        problems.push(Problem::new("id", "a record's id cannot be changed"));
    }
    if !problems.is_empty() {
        return Err(DeviceError::Invalid(problems));
    }
    Ok(Some(SavedDoc::of(&mut doc, &record)))
}

#[cfg(test)]
pub(crate) mod tests;
