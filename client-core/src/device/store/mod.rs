//! The device's SQLite store: every record's full Automerge document with a projection for
//! listing, the outbox of records the server has not acknowledged, and the device's settings.
//!
//! All SQL of the device lives here. Writes that must be atomic go through [`WriteTx`], an
//! `IMMEDIATE` transaction: it takes SQLite's write lock up front, so a read-modify-write (an
//! edit, a pull merge) cannot interleave with another writer, in this process or another `bukti`.
//! `synchronous=FULL` makes a committed capture survive a power cut.

use std::{path::Path, str::FromStr, time::Duration};

mod photos;
mod receipts;
mod write;

pub(crate) use photos::{KeptFile, NewBlob, Role};
use sqlx::{
    Row, SqlitePool,
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
    },
};
pub(crate) use write::{NewRecord, SavedDoc, WriteTx};

use super::{
    DeviceError,
    model::{HeldRecord, RecordSummary, SyncState},
};
use crate::{
    RecordId, ingest,
    record::{
        Record, Verdict,
        workflow::{self, State},
    },
    sync::{PushRow, PushSource},
};

/// Meta keys.
pub(crate) mod key {
    pub const SERVER_URL: &str = "server_url";
    pub const DEVICE_TOKEN: &str = "device_token";
    pub const DEVICE_ID: &str = "device_id";
    pub const DEVICE_NAME: &str = "device_name";
    pub const ACTOR_ID: &str = "actor_id";
    pub const OFFICER: &str = "officer";
    pub const UNIT: &str = "unit";
    /// The Ed25519 secret key made at enrollment (hex); its public half is on the server.
    pub const SIGNING_KEY: &str = "signing_key";
    /// The server's public key (hex), pinned at enrollment: receipts and log heads must be
    /// signed with it.
    pub const SERVER_KEY: &str = "server_key";
    /// The newest signed head of the server's evidence log this device has seen (JSON).
    pub const LOG_HEAD: &str = "log_head";
    pub const PULL_CURSOR: &str = "pull_cursor";
    pub const LAST_SYNC_AT: &str = "last_sync_at";
    /// Days an original photo stays on the device after capture (unless HQ asked for it).
    pub const PHOTO_RETENTION_DAYS: &str = "photo_retention_days";
    /// When every original is uploaded, not only those HQ asks for (`OriginalsPolicy`).
    pub const PHOTO_ORIGINALS: &str = "photo_originals";
}

/// The listing columns of a record, derived from its document on every write.
#[derive(Debug, Clone)]
pub(crate) struct Projection {
    unit: String,
    officer: String,
    kind: String,
    title: String,
    status: &'static str,
    verdict: Option<&'static str>,
    state: &'static str,
    started_at: Option<i64>,
    captured_at: i64,
}

impl Projection {
    /// The listing columns of `record`, whose document is in workflow `state`.
    pub(crate) fn of(record: &Record, state: State) -> Self {
        Self {
            unit: record.unit.clone(),
            officer: record.officer.clone(),
            kind: record.kind.clone(),
            title: record.title.clone(),
            status: record.status.as_str(),
            verdict: record.review.verdict.map(Verdict::as_str),
            state: state.as_str(),
            started_at: record.started_at.map(|t| t.as_millisecond()),
            captured_at: record.captured_at.as_millisecond(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct DeviceStore {
    pool: SqlitePool,
}

/// Ids bound per `IN (…)` list: far below SQLite's bound-parameter limit (32,766).
const IDS_PER_QUERY: usize = 500;

/// `sql` followed by ` (?, ?, …)` with `ids` bound: the end of a `… IN` query.
fn with_ids(sql: &str, ids: &[RecordId]) -> sqlx::QueryBuilder<sqlx::Sqlite> {
    let mut q = sqlx::QueryBuilder::new(sql);
    q.push(" (");
    let mut list = q.separated(", ");
    for id in ids {
        list.push_bind(id.to_string());
    }
    q.push(")");
    q
}

fn heads_json(heads: &[String]) -> String {
    let mut sorted = heads.to_vec();
    sorted.sort();
    // Serialising strings to JSON cannot fail.
    serde_json::to_string(&sorted).unwrap_or_default()
}

fn parse_heads(json: &str) -> Result<Vec<String>, DeviceError> {
    serde_json::from_str(json)
        .map_err(|e| DeviceError::Corrupt(format!("stored heads {json:?} are not a list: {e}")))
}

fn parse_id(s: &str) -> Result<RecordId, DeviceError> {
    RecordId::from_str(s).map_err(|e| DeviceError::Corrupt(format!("stored id {s:?}: {e}")))
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

impl DeviceStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub(crate) async fn open(path: &Path) -> Result<Self, DeviceError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        // `migrations/device`, embedded by `build.rs`.
        sqlx::migrate::Migrator::with_migrations(include!(concat!(
            env!("OUT_DIR"),
            "/migrations_device.rs"
        )))
        .run(&pool)
        .await?;
        Ok(Self { pool })
    }

    pub(crate) async fn begin(&self) -> Result<WriteTx, DeviceError> {
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(WriteTx::new(tx))
    }

    pub(crate) async fn meta(&self, key: &str) -> Result<Option<String>, DeviceError> {
        Ok(
            sqlx::query_scalar::<_, String>("SELECT value FROM meta WHERE key = ?")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Every setting, for reading the registration in one query.
    pub(crate) async fn meta_all(
        &self,
    ) -> Result<std::collections::HashMap<String, String>, DeviceError> {
        let rows = sqlx::query_as::<_, (String, String)>("SELECT key, value FROM meta")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().collect())
    }

    pub(crate) async fn pull_cursor(&self) -> Result<i64, DeviceError> {
        match self.meta(key::PULL_CURSOR).await? {
            None => Ok(0),
            Some(v) => v
                .parse()
                .map_err(|_| DeviceError::Corrupt(format!("stored pull cursor {v:?}"))),
        }
    }

    pub(crate) async fn doc(&self, id: RecordId) -> Result<Option<Vec<u8>>, DeviceError> {
        Ok(
            sqlx::query_scalar::<_, Vec<u8>>("SELECT doc FROM record WHERE record_id = ?")
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub(crate) async fn local_heads(
        &self,
        id: RecordId,
    ) -> Result<Option<Vec<String>>, DeviceError> {
        let json =
            sqlx::query_scalar::<_, String>("SELECT local_heads FROM record WHERE record_id = ?")
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        json.as_deref().map(parse_heads).transpose()
    }

    /// Ids of queued, not held records, oldest first.
    pub(crate) async fn outbox_ready(&self) -> Result<Vec<RecordId>, DeviceError> {
        let ids = sqlx::query_scalar::<_, String>(
            "SELECT record_id FROM outbox WHERE held = 0 ORDER BY enqueued_at, record_id",
        )
        .fetch_all(&self.pool)
        .await?;
        ids.iter().map(|s| parse_id(s)).collect()
    }

    /// The kept histories (or documents) and sync state of queued records, in the order of
    /// `ids`, one query per [`IDS_PER_QUERY`] ids (a statement per record cost as much as
    /// preparing the batch); a record that left the outbox since its id was listed (a
    /// concurrent sync) is left out.
    pub(crate) async fn push_rows(&self, ids: &[RecordId]) -> Result<Vec<PushRow>, DeviceError> {
        let mut found = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_QUERY) {
            // The kept history when there is one: the document is then not read at all.
            let rows = with_ids(
                "SELECT r.record_id, r.unsent,
                        CASE WHEN r.unsent IS NULL THEN r.doc END,
                        r.local_heads, r.server_heads, o.held
                 FROM record r JOIN outbox o ON o.record_id = r.record_id
                 WHERE r.record_id IN",
                chunk,
            )
            .build_query_as::<PushRowColumns>()
            .fetch_all(&self.pool)
            .await?;
            for (id, unsent, doc, local, server, held) in rows {
                let source = match (unsent, doc) {
                    (Some(history), _) => PushSource::History(history),
                    (None, Some(doc)) => PushSource::Doc(doc),
                    (None, None) => {
                        return Err(DeviceError::Corrupt(format!("record {id} has no document")));
                    }
                };
                found.insert(parse_id(&id)?, (source, local, server, held));
            }
        }
        ids.iter()
            .filter_map(|id| found.remove(id).map(|row| (*id, row)))
            .map(|(id, (source, local, server, held))| {
                Ok(PushRow {
                    id,
                    source,
                    local_heads: parse_heads(&local)?,
                    server_heads: server.as_deref().map(parse_heads).transpose()?,
                    held,
                })
            })
            .collect()
    }

    /// Every record's summary, most recent activity first.
    pub(crate) async fn list(&self) -> Result<Vec<RecordSummary>, DeviceError> {
        let rows = sqlx::query(
            "SELECT r.record_id, r.unit, r.officer, r.kind, r.title, r.status, r.verdict,
                    r.state, CASE WHEN r.state IS NULL THEN r.doc END AS doc_without_state,
                    r.started_at, r.captured_at, r.updated_at, o.held, o.last_error_code,
                    o.last_error
             FROM record r LEFT JOIN outbox o ON o.record_id = r.record_id
             ORDER BY coalesce(r.started_at, r.captured_at) DESC, r.record_id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(summary_of).collect()
    }

    /// (records, queued and not held).
    pub(crate) async fn counts(&self) -> Result<(u64, u64), DeviceError> {
        let (total, waiting) = sqlx::query_as::<_, (i64, i64)>(
            "SELECT (SELECT count(*) FROM record), (SELECT count(*) FROM outbox WHERE held = 0)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((total.unsigned_abs(), waiting.unsigned_abs()))
    }

    pub(crate) async fn held(&self) -> Result<Vec<HeldRecord>, DeviceError> {
        let rows = sqlx::query_as::<_, (String, String, Option<String>, Option<String>)>(
            "SELECT r.record_id, r.title, o.last_error_code, o.last_error
             FROM outbox o JOIN record r ON r.record_id = o.record_id
             WHERE o.held = 1 ORDER BY o.enqueued_at",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, title, code, reason)| {
                Ok(HeldRecord {
                    id: parse_id(&id)?,
                    title,
                    code: code.unwrap_or_default(),
                    reason: reason.unwrap_or_default(),
                })
            })
            .collect()
    }

    #[cfg(test)]
    pub(crate) async fn outbox_row(
        &self,
        id: RecordId,
    ) -> Result<Option<(i64, bool, Option<String>)>, DeviceError> {
        Ok(
            sqlx::query_as(
                "SELECT attempts, held, last_error_code FROM outbox WHERE record_id = ?",
            )
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?,
        )
    }

    #[cfg(test)]
    pub(crate) async fn server_heads(
        &self,
        id: RecordId,
    ) -> Result<Option<Vec<String>>, DeviceError> {
        let json = sqlx::query_scalar::<_, Option<String>>(
            "SELECT server_heads FROM record WHERE record_id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?
        .flatten();
        json.as_deref().map(parse_heads).transpose()
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }
}

fn ms_to_ts(ms: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn summary_of(row: &SqliteRow) -> Result<RecordSummary, DeviceError> {
    let held: Option<bool> = row.try_get("held")?;
    let code: Option<String> = row.try_get("last_error_code")?;
    let error: Option<String> = row.try_get("last_error")?;
    let sync = match held {
        None => SyncState::Synced,
        Some(false) => SyncState::Waiting {
            last_error: code.map(|c| format!("{c}: {}", error.unwrap_or_default())),
        },
        Some(true) => SyncState::Held {
            code: code.unwrap_or_default(),
            reason: error.unwrap_or_default(),
        },
    };
    let started_at: Option<i64> = row.try_get("started_at")?;
    let state = match row.try_get::<Option<String>, _>("state")? {
        Some(state) => state,
        // Written before the column existed: derive it from the document.
        None => {
            let doc: Vec<u8> = row.try_get("doc_without_state")?;
            let mut doc = ingest::load_document(&doc)
                .map_err(|e| DeviceError::Corrupt(format!("stored document: {e}")))?;
            workflow::derive(&mut doc).state.as_str().to_owned()
        }
    };
    Ok(RecordSummary {
        id: parse_id(row.try_get("record_id")?)?,
        unit: row.try_get("unit")?,
        officer: row.try_get("officer")?,
        kind: row.try_get("kind")?,
        title: row.try_get("title")?,
        status: row.try_get("status")?,
        verdict: row.try_get("verdict")?,
        state,
        started_at: started_at.map(ms_to_ts),
        captured_at: ms_to_ts(row.try_get("captured_at")?),
        updated_at: ms_to_ts(row.try_get("updated_at")?),
        sync,
    })
}

/// A push row as read: id, kept history, document (read only without a history), local heads,
/// server heads, held.
type PushRowColumns = (
    String,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    String,
    Option<String>,
    bool,
);
