//! The record store's SQL, written once for both databases: loading documents, the batch write
//! that lands each document beside its projection, the change feed, and HQ's list and record.
//! [`impl_evidence_store!`] instantiates it for SQLite (reads on its reader pool, writes on its
//! single writer) and PostgreSQL; both take `$n` placeholders.
//!
//! What really differs between the databases stays in three small dialect functions that each
//! store defines beside its connection code ([`super::sqlite`], [`super::postgres`]):
//! `begin_serialised` (how a writer keeps others out: SQLite's `BEGIN IMMEDIATE`, PostgreSQL's
//! transaction-scoped advisory lock), `upsert_records` (record rows and documents: one statement
//! per row on SQLite, in-process and cheap; array statements on PostgreSQL, one round trip per
//! table) and `replace_derived` (LKE tags, photos and FTS5 or `tsvector` search text).

use std::collections::{HashMap, HashSet};

use bukti_core::{RecordId, unit::UnitPath};
use tokio::sync::mpsc;

use super::{
    EvidenceStore, FeedItem, ListFilter, Page, RecordSummary, RecordWrite, StoreError, StoredDoc,
    WriteChunk, WriteOutcome, heads_json,
    postgres::PgStore,
    query::{self, Dialect},
    rows::{self, bind_all, marks},
    sqlite::SqliteStore,
};
use crate::projection::Projection;

/// The `record` columns a projection sets, in bind order (see [`bind_projection!`]).
pub(super) const PROJECTION_COLUMNS: [&str; 15] = [
    "unit",
    "officer",
    "kind",
    "title",
    "status",
    "verdict",
    "state",
    "started_at",
    "ended_at",
    "captured_at",
    "activity_at",
    "lat",
    "lon",
    "place",
    "heads",
];

/// Serialises the writers of feed positions on PostgreSQL ("bukti" in ASCII): pushes and
/// projection rewrites both take it, so they never lock the same rows in opposite orders.
pub(super) const FEED_LOCK: i64 = 0x62_756b_7469;

/// Ids bound per `in (…)` list: far below both databases' bound-parameter limits.
const IDS_PER_QUERY: usize = 500;

/// Binds a projection's [`PROJECTION_COLUMNS`] in order, `heads` (JSON) last.
macro_rules! bind_projection {
    ($q:expr, $p:expr, $heads:expr) => {{
        let p = &$p;
        $q.bind(&p.unit)
            .bind(&p.officer)
            .bind(&p.kind)
            .bind(&p.title)
            .bind(p.status)
            .bind(p.verdict)
            .bind(p.state)
            .bind(p.started_at)
            .bind(p.ended_at)
            .bind(p.captured_at)
            .bind(p.activity_at)
            .bind(p.lat)
            .bind(p.lon)
            .bind(&p.place)
            .bind($heads)
    }};
}
pub(super) use bind_projection;

/// One record of a batch with the version and feed position the batch gives it.
pub(super) struct RecordRow<'a> {
    pub id: String,
    pub version: i64,
    pub feed_seq: i64,
    pub heads: String,
    pub write: &'a RecordWrite,
}

/// The rows of a batch written after feed position `last`, in order.
fn batch_rows(writes: &[RecordWrite], last: i64) -> Vec<RecordRow<'_>> {
    (1..)
        .zip(writes)
        .map(|(i, w)| RecordRow {
            id: w.id.to_string(),
            version: w.expected_version.map_or(1, |v| v + 1),
            feed_seq: last + i,
            heads: heads_json(&w.heads),
            write: w,
        })
        .collect()
}

/// The upsert of record rows from `source`, which yields per row the id, the
/// [`PROJECTION_COLUMNS`], the version, the feed position and the time twice. A new record
/// inserts; an existing one is replaced only while it still has the version its writer merged
/// into, and only the rows written come back.
pub(super) fn upsert_sql(source: &str) -> String {
    let set: Vec<String> = PROJECTION_COLUMNS
        .iter()
        .chain(&["version", "feed_seq", "updated_at"])
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    format!(
        "insert into record (record_id, {}, version, feed_seq, created_at, updated_at) {source} \
         on conflict (record_id) do update set {} \
         where record.version = excluded.version - 1 returning record_id",
        PROJECTION_COLUMNS.join(", "),
        set.join(", ")
    )
}

/// A projection rewrite: the [`PROJECTION_COLUMNS`] of one record, only at the version its
/// document was read at (`$16` the id, `$17` the version).
pub(super) fn rewrite_sql() -> String {
    let set: Vec<String> = (1..)
        .zip(PROJECTION_COLUMNS)
        .map(|(i, col)| format!("{col} = ${i}"))
        .collect();
    format!(
        "update record set {} where record_id = $16 and version = $17",
        set.join(", ")
    )
}

/// The derived rows to replace: the records of `rows` that were written.
fn derived<'a>(
    rows: &'a [RecordRow<'a>],
    written: &HashSet<String>,
) -> Vec<(&'a str, &'a Projection)> {
    rows.iter()
        .filter(|r| written.contains(&r.id))
        .map(|r| (r.id.as_str(), &r.write.projection))
        .collect()
}

/// Waits for a batch's next writes and takes every chunk merged behind them as well, so each
/// round of statements writes all that is ready (on PostgreSQL each is a round trip). `false`
/// once the batch is whole; [`StoreError::Abandoned`] when its sender went away before that.
async fn take_ready(
    chunks: &mut mpsc::Receiver<WriteChunk>,
    into: &mut Vec<RecordWrite>,
) -> Result<bool, StoreError> {
    let mut chunk = chunks.recv().await;
    loop {
        match chunk {
            Some(WriteChunk::Writes(mut writes)) => into.append(&mut writes),
            Some(WriteChunk::Done) => return Ok(false),
            None => return Err(StoreError::Abandoned),
        }
        chunk = match chunks.try_recv() {
            Ok(next) => Some(next),
            Err(mpsc::error::TryRecvError::Empty) => return Ok(true),
            Err(mpsc::error::TryRecvError::Disconnected) => None,
        };
    }
}

fn outcomes(rows: &[RecordRow<'_>], written: &HashSet<String>) -> Vec<WriteOutcome> {
    rows.iter()
        .map(|r| {
            if written.contains(&r.id) {
                WriteOutcome::Written
            } else {
                WriteOutcome::Conflict
            }
        })
        .collect()
}

/// Implements [`super::EvidenceStore`] for a store whose reads go to `$read` and writes to
/// `$write`, with the query builder's `$dialect`.
macro_rules! impl_evidence_store {
    ($store:ty, $dialect:expr, $read:ident, $write:ident) => {
        #[async_trait::async_trait]
        impl EvidenceStore for $store {
            async fn health(&self) -> Result<(), StoreError> {
                sqlx::query("select 1").execute(&self.$read).await?;
                Ok(())
            }

            async fn load_documents(
                &self,
                ids: &[RecordId],
            ) -> Result<HashMap<RecordId, StoredDoc>, StoreError> {
                let mut out = HashMap::with_capacity(ids.len());
                for chunk in ids.chunks(IDS_PER_QUERY) {
                    let sql = format!(
                        "select r.record_id, r.version, r.unit, d.doc from record r \
                         join record_doc d on d.record_id = r.record_id \
                         where r.record_id in ({})",
                        marks(1, chunk.len())
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for id in chunk {
                        q = q.bind(id.to_string());
                    }
                    // From the readers, beside a batch that holds the writer while it streams:
                    // a document changed since it was read fails its write's version check
                    // and is merged again, so a stale read costs a retry, never a change.
                    for row in q.fetch_all(&self.$read).await? {
                        let (id, doc) = rows::stored_doc(&row)?;
                        out.insert(id, doc);
                    }
                }
                Ok(out)
            }

            async fn write_stream(
                &self,
                mut chunks: mpsc::Receiver<WriteChunk>,
            ) -> Result<Vec<WriteOutcome>, StoreError> {
                let mut next = Vec::new();
                let mut more = true;
                while next.is_empty() && more {
                    more = take_ready(&mut chunks, &mut next).await?;
                }
                if next.is_empty() {
                    return Ok(Vec::new());
                }
                let mut tx = self.begin_serialised(FEED_LOCK).await?;
                let last: i64 = sqlx::query_scalar("select coalesce(max(feed_seq), 0) from record")
                    .fetch_one(&mut *tx)
                    .await?;
                let now = jiff::Timestamp::now().as_millisecond();
                let (mut all, mut written, mut seq) = (Vec::new(), HashSet::new(), last);
                loop {
                    let from = all.len();
                    all.append(&mut next);
                    let rows = batch_rows(&all[from..], seq);
                    seq = rows.last().map_or(seq, |r| r.feed_seq);
                    if !rows.is_empty() {
                        let landed = <$store>::upsert_records(&mut tx, &rows, now).await?;
                        let logs = rows
                            .iter()
                            .filter(|r| landed.contains(&r.id))
                            .filter_map(|r| r.write.log.as_ref());
                        super::evidence::append_log!(tx, logs, now);
                        written.extend(landed);
                    }
                    if !more {
                        break;
                    }
                    // Dropping `tx` on an abandoned batch rolls all of it back.
                    more = take_ready(&mut chunks, &mut next).await?;
                }
                let rows = batch_rows(&all, last);
                let derived = derived(&rows, &written);
                // Ending with the search index (`search::write_sqlite` says why).
                <$store>::replace_derived(&mut tx, &derived).await?;
                // On the photo rows just written, and before the commit: the flags land with
                // the records.
                <$store>::raise_across(&mut tx, &derived, now).await?;
                tx.commit().await?;
                Ok(outcomes(&rows, &written))
            }

            async fn feed(
                &self,
                scope: &UnitPath,
                officer: Option<&str>,
                since: i64,
                limit: u32,
            ) -> Result<Vec<FeedItem>, StoreError> {
                let sql = query::feed(scope, officer, since, limit);
                bind_all(&sql)
                    .fetch_all(&self.$read)
                    .await?
                    .iter()
                    .map(rows::feed_item)
                    .collect()
            }

            async fn list(
                &self,
                scope: &UnitPath,
                filter: &ListFilter,
            ) -> Result<Page, StoreError> {
                let Some(sql) = query::list($dialect, scope, filter)? else {
                    return Ok(Page {
                        records: Vec::new(),
                        next_cursor: None,
                    });
                };
                let rows = bind_all(&sql).fetch_all(&self.$read).await?;
                rows::page(&rows, filter)
            }

            async fn get(
                &self,
                scope: &UnitPath,
                id: RecordId,
            ) -> Result<Option<(RecordSummary, StoredDoc)>, StoreError> {
                let sql = query::get(scope, &id.to_string());
                let Some(row) = bind_all(&sql).fetch_optional(&self.$read).await? else {
                    return Ok(None);
                };
                rows::summary_and_doc(&row).map(Some)
            }
        }
    };
}

impl_evidence_store!(SqliteStore, Dialect::Sqlite, reader, writer);
impl_evidence_store!(PgStore, Dialect::Postgres, pool, pool);
