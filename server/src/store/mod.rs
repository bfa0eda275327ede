//! The central evidence store: one trait, two implementations (SQLite, the embedded default, and
//! PostgreSQL, for many server processes over one database).
//!
//! The SQL is written once for both: every statement takes `$n` placeholders, each module's
//! `impl_…!` macro instantiates one body for both stores, and where the databases really differ
//! (full-text search, array statements, how writers exclude each other) a small dialect
//! function says so ([`records`] lists them; [`query::Dialect`] for HQ's list).
//!
//! The store keeps each record's compacted Automerge document beside its relational projection
//! and writes both in one transaction. It holds no state in process memory: the change feed's
//! sequence, optimistic-locking versions and principals all live in the database, so several
//! processes can serve one PostgreSQL database.

mod across;
pub mod audit;
mod batch;
pub mod credentials;
pub mod dashboard;
pub mod directory;
pub mod evidence;
pub mod flags;
pub mod lke;
pub mod maintenance;
pub mod photos;
pub mod postgres;
pub mod query;
mod records;
pub mod reuse;
mod rows;
pub mod search;
pub mod sqlite;

use std::{collections::HashMap, sync::Arc};

use async_trait::async_trait;
use bukti_core::{RecordId, unit::UnitPath};
use serde::Serialize;
use tokio::sync::mpsc;

pub use query::ListFilter;
pub use rows::bind_all;

use crate::projection::Projection;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Filter(#[from] query::FilterError),
    #[error("the batch was abandoned before it was whole; nothing of it was written")]
    Abandoned,
    #[error("cannot open the data folder {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
}

/// A record's document as stored, with the version a write must name to replace it.
#[derive(Debug, Clone)]
pub struct StoredDoc {
    pub doc: Vec<u8>,
    pub version: i64,
    pub unit: String,
}

/// One record to write: a new one (`expected_version` `None`) or a newer document replacing the
/// version the writer read.
#[derive(Debug, Clone)]
pub struct RecordWrite {
    pub id: RecordId,
    pub expected_version: Option<i64>,
    pub doc: Vec<u8>,
    pub heads: Vec<String>,
    pub projection: Projection,
    /// The evidence-log entry this write makes, in the same transaction.
    pub log: Option<evidence::LogWrite>,
}

/// A piece of a batch on its way to [`EvidenceStore::write_stream`].
#[derive(Debug)]
pub enum WriteChunk {
    /// The next writes of the batch, in order.
    Writes(Vec<RecordWrite>),
    /// The batch is whole: commit it.
    Done,
}

/// What happened to each [`RecordWrite`] of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Written,
    /// Someone else wrote the record since it was read: merge again and retry.
    Conflict,
}

/// One entry of the change feed.
#[derive(Debug, Clone)]
pub struct FeedItem {
    pub id: RecordId,
    pub seq: i64,
    pub heads: Vec<String>,
    pub doc: Vec<u8>,
}

/// What HQ sees of a record in lists.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct RecordSummary {
    pub id: RecordId,
    pub unit: String,
    pub officer: String,
    pub kind: String,
    pub title: String,
    pub status: String,
    pub verdict: Option<String>,
    /// The review workflow's state: `captured`, `ready`, `forwarded`, `verified`,
    /// `needs_revision`, `revised` or `rejected`.
    pub state: String,
    #[serde(with = "bukti_core::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<i64>,
    #[serde(with = "bukti_core::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ended_at: Option<i64>,
    #[serde(with = "bukti_core::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub captured_at: i64,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub place: String,
    pub lke: Vec<String>,
    /// How many photos the record holds.
    pub photos: u32,
    /// The codes of its anomaly flags, if any (see [`flags`]).
    pub flags: Vec<String>,
    pub feed_seq: i64,
    #[serde(with = "bukti_core::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
}

/// A page of summaries and the cursor of the next page.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page {
    pub records: Vec<RecordSummary>,
    pub next_cursor: Option<String>,
}

#[async_trait]
pub trait EvidenceStore:
    photos::PhotoIndex
    + directory::Directory
    + credentials::Credentials
    + lke::LkeStore
    + dashboard::Dashboard
    + maintenance::Maintenance
    + audit::AuditLog
    + evidence::EvidenceLog
    + flags::FlagStore
    + reuse::PhotoPrints
    + search::Search
    + Send
    + Sync
    + std::fmt::Debug
    + 'static
{
    /// Answers when the database does.
    async fn health(&self) -> Result<(), StoreError>;

    /// The stored documents of those `ids` that exist.
    async fn load_documents(
        &self,
        ids: &[RecordId],
    ) -> Result<HashMap<RecordId, StoredDoc>, StoreError>;

    /// Writes a batch in one transaction as its chunks arrive, in order, so the database writes
    /// one chunk while the next is merged; each write either lands whole or reports a conflict,
    /// answered in arrival order. [`WriteChunk::Done`] commits; a stream whose sender goes away
    /// without it is rolled back whole ([`StoreError::Abandoned`]). The writers' lock is taken
    /// with the first chunk: a batch with nothing to write holds nothing.
    async fn write_stream(
        &self,
        chunks: mpsc::Receiver<WriteChunk>,
    ) -> Result<Vec<WriteOutcome>, StoreError>;

    /// Writes a batch whose writes are all at hand: [`Self::write_stream`] with one chunk.
    async fn write_records(
        &self,
        writes: Vec<RecordWrite>,
    ) -> Result<Vec<WriteOutcome>, StoreError> {
        let (send, chunks) = mpsc::channel(2);
        for chunk in [WriteChunk::Writes(writes), WriteChunk::Done] {
            send.try_send(chunk).expect("the channel holds both chunks");
        }
        self.write_stream(chunks).await
    }

    /// Records in `scope` (and of `officer`, when given) whose feed position is after `since`,
    /// oldest first, at most `limit`.
    async fn feed(
        &self,
        scope: &UnitPath,
        officer: Option<&str>,
        since: i64,
        limit: u32,
    ) -> Result<Vec<FeedItem>, StoreError>;

    /// HQ's filtered, paginated list.
    async fn list(&self, scope: &UnitPath, filter: &ListFilter) -> Result<Page, StoreError>;

    /// One record's summary and document, if it exists within `scope`.
    async fn get(
        &self,
        scope: &UnitPath,
        id: RecordId,
    ) -> Result<Option<(RecordSummary, StoredDoc)>, StoreError>;
}

pub type DynStore = Arc<dyn EvidenceStore>;

fn parse_id(s: &str) -> Result<RecordId, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("record id {s:?} is not a UUID")))
}

fn parse_heads(s: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("heads {s:?}: {e}")))
}

fn heads_json(heads: &[String]) -> String {
    serde_json::to_string(heads).expect("a list of strings serialises")
}

fn split_codes(s: Option<String>) -> Vec<String> {
    s.map(|s| {
        s.split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}
