//! The evidence log's storage (`docs/evidence.md`): the server's key, the devices' signed pushes
//! and the hash-chained `evidence_log`, on both databases with one body of SQL.
//!
//! Entries are appended by [`append_log!`] inside the record batch's own transaction
//! (`write_stream`), after the writers' lock is taken, so the log's order is the order in which
//! records were written and no two processes can fork the chain. Triggers refuse UPDATE and
//! DELETE; `bukti-server verify` catches edits made by someone who dropped them. Records stored
//! before the log existed are adopted into it once ([`EvidenceLog::adopt`]).

use async_trait::async_trait;
use bukti_core::{
    RecordId,
    evidence::log::{Draft, LogEntry, LogHead},
};

use std::collections::{HashMap, HashSet};

use bukti_core::evidence::log::ADOPTED;

use super::{
    StoreError, parse_heads,
    postgres::PgStore,
    rows::{StoreRow, marks},
    sqlite::SqliteStore,
};

/// A device's signature over one push batch, as kept beside the entries it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPushRow {
    /// SHA-256 of `message`.
    pub hash: String,
    pub device: String,
    pub message: String,
    pub signature: String,
}

/// What a record write adds to the evidence log.
#[derive(Debug, Clone)]
pub struct LogWrite {
    pub draft: Draft,
    pub push: Option<std::sync::Arc<SignedPushRow>>,
}

#[async_trait]
pub trait EvidenceLog: Send + Sync {
    /// The server's secret key: the stored one, or `fresh` once stored (the first caller wins).
    async fn server_key(&self, fresh: &[u8; 32]) -> Result<Vec<u8>, StoreError>;

    /// The last entry's sequence number and hash ([`LogHead::empty`] for an empty log).
    async fn log_head(&self) -> Result<LogHead, StoreError>;

    /// Entries after `after`, oldest first, at most `limit`.
    async fn log_since(&self, after: i64, limit: u32) -> Result<Vec<LogEntry>, StoreError>;

    /// One record's entries, oldest first.
    async fn log_of_record(&self, id: RecordId) -> Result<Vec<LogEntry>, StoreError>;

    /// A signed push by the SHA-256 of its message.
    async fn signed_push(&self, hash: &str) -> Result<Option<SignedPushRow>, StoreError>;

    /// The public key of the credential `id`, if it has one: what its pushes are signed with.
    async fn credential_key(&self, id: uuid::Uuid) -> Result<Option<Vec<u8>>, StoreError>;

    /// Every public key a device writing as `actor` (hex) was ever enrolled with, revoked or not:
    /// a device keeps its actor when it enrolls again, with a fresh key.
    async fn device_keys(&self, actor: &str) -> Result<Vec<Vec<u8>>, StoreError>;

    /// Keeps the receipt (JSON) answered to the signed push `push`; the first one stays.
    async fn keep_receipt(&self, push: &str, receipt: &str) -> Result<(), StoreError>;

    /// The receipt kept for the signed push `push`.
    async fn receipt_of(&self, push: &str) -> Result<Option<String>, StoreError>;

    /// Whether the records stored before the log existed were adopted into it (once per
    /// database; see `crate::evidence::adopt`).
    async fn adoption_done(&self) -> Result<bool, StoreError>;

    /// Appends the adopted entry `draft` of each record still at the draft's heads and not yet
    /// adopted, in one transaction under the writers' lock; returns the records it adopted.
    async fn adopt(&self, drafts: &[Draft]) -> Result<Vec<RecordId>, StoreError>;

    /// Notes that the adoption is done, having adopted `records`; a second note changes nothing.
    async fn finish_adoption(&self, records: u64) -> Result<(), StoreError>;
}

/// Records whose heads and entries one statement of an adoption reads.
const ADOPT_CHUNK: usize = 400;

fn sorted(mut heads: Vec<String>) -> Vec<String> {
    heads.sort();
    heads
}

const ENTRY_COLUMNS: &str = "seq, prev, at_ms, record_id, by_actor, push, changes, heads, hash";

fn split(list: String) -> Vec<String> {
    if list.is_empty() {
        Vec::new()
    } else {
        list.split(',').map(str::to_owned).collect()
    }
}

fn entry(row: &impl StoreRow) -> Result<LogEntry, StoreError> {
    let record = row.text("record_id")?;
    Ok(LogEntry {
        seq: row.int("seq")?,
        prev: row.text("prev")?,
        time_ms: row.int("at_ms")?,
        record: record
            .parse::<RecordId>()
            .map_err(|_| StoreError::Corrupt(format!("log entry names record {record:?}")))?,
        by: row.text("by_actor")?,
        push: row.opt_text("push")?,
        changes: split(row.text("changes")?),
        heads: split(row.text("heads")?),
        hash: row.text("hash")?,
    })
}

/// The next place in the chain after `head`.
pub(super) fn head_of(row: Option<(i64, String)>) -> LogHead {
    row.map_or_else(LogHead::empty, |(seq, hash)| LogHead { seq, hash })
}

pub(super) const HEAD_SQL: &str = "select seq, hash from evidence_log order by seq desc limit 1";

/// Appends the log entries of the written records of a batch, in batch order, inside the
/// batch's transaction `$tx` (which holds the writers' lock). `$logs` yields
/// `&LogWrite` for each record written. The chain is computed here, entry after entry; the
/// batch's signed push (once, not per record) and its entries then go in as multi-row
/// statements, the same text on both databases.
macro_rules! append_log {
    ($tx:expr, $logs:expr, $now:expr) => {{
        let head: Option<(i64, String)> = sqlx::query_as($crate::store::evidence::HEAD_SQL)
            .fetch_optional(&mut *$tx)
            .await?;
        let mut head = $crate::store::evidence::head_of(head);
        let mut pushes: Vec<&$crate::store::evidence::SignedPushRow> = Vec::new();
        let mut entries = Vec::new();
        for log in $logs {
            let log: &$crate::store::evidence::LogWrite = log;
            if let Some(push) = &log.push
                && !pushes.iter().any(|p| p.hash == push.hash)
            {
                pushes.push(push);
            }
            let e = log.draft.clone().chain(head.seq + 1, &head.hash, $now);
            head = bukti_core::evidence::log::LogHead {
                seq: e.seq,
                hash: e.hash.clone(),
            };
            entries.push(e);
        }
        for push in pushes {
            sqlx::query(
                "insert into signed_push (hash, device, message, signature, received_at) \
                 values ($1, $2, $3, $4, $5) on conflict (hash) do nothing",
            )
            .bind(&push.hash)
            .bind(&push.device)
            .bind(&push.message)
            .bind(&push.signature)
            .bind($now)
            .execute(&mut *$tx)
            .await?;
        }
        let rows = $crate::store::rows::NUMBERED_VALUES_PER_STATEMENT / 9;
        for chunk in entries.chunks(rows) {
            let sql = format!(
                "insert into evidence_log (seq, prev, at_ms, record_id, by_actor, push, changes, \
                 heads, hash) values {}",
                $crate::store::rows::tuples(1, chunk.len(), 9)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for e in chunk {
                q = q
                    .bind(e.seq)
                    .bind(&e.prev)
                    .bind(e.time_ms)
                    .bind(e.record.to_string())
                    .bind(&e.by)
                    .bind(&e.push)
                    .bind(e.changes.join(","))
                    .bind(e.heads.join(","))
                    .bind(&e.hash);
            }
            q.execute(&mut *$tx).await?;
        }
    }};
}
pub(super) use append_log;

macro_rules! impl_evidence_log {
    ($store:ty, $read:ident, $write:ident) => {
        #[async_trait]
        impl EvidenceLog for $store {
            async fn server_key(&self, fresh: &[u8; 32]) -> Result<Vec<u8>, StoreError> {
                let public = ed25519_dalek::SigningKey::from_bytes(fresh).verifying_key();
                sqlx::query(
                    "insert into server_key (id, secret_key, public_key, created_at) \
                     values (1, $1, $2, $3) on conflict (id) do nothing",
                )
                .bind(fresh.as_slice())
                .bind(hex::encode(public.to_bytes()))
                .bind(jiff::Timestamp::now().as_millisecond())
                .execute(&self.$write)
                .await?;
                Ok(
                    sqlx::query_scalar("select secret_key from server_key where id = 1")
                        .fetch_one(&self.$write)
                        .await?,
                )
            }

            async fn log_head(&self) -> Result<LogHead, StoreError> {
                let row: Option<(i64, String)> =
                    sqlx::query_as(HEAD_SQL).fetch_optional(&self.$read).await?;
                Ok(head_of(row))
            }

            async fn log_since(&self, after: i64, limit: u32) -> Result<Vec<LogEntry>, StoreError> {
                let sql = format!(
                    "select {ENTRY_COLUMNS} from evidence_log where seq > $1 order by seq limit $2"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(&self.$read)
                    .await?
                    .iter()
                    .map(entry)
                    .collect()
            }

            async fn log_of_record(&self, id: RecordId) -> Result<Vec<LogEntry>, StoreError> {
                let sql = format!(
                    "select {ENTRY_COLUMNS} from evidence_log where record_id = $1 order by seq"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id.to_string())
                    .fetch_all(&self.$read)
                    .await?
                    .iter()
                    .map(entry)
                    .collect()
            }

            async fn credential_key(&self, id: uuid::Uuid) -> Result<Option<Vec<u8>>, StoreError> {
                let key: Option<Option<Vec<u8>>> =
                    sqlx::query_scalar("select public_key from principal where principal_id = $1")
                        .bind(id.to_string())
                        .fetch_optional(&self.$read)
                        .await?;
                Ok(key.flatten())
            }

            async fn device_keys(&self, actor: &str) -> Result<Vec<Vec<u8>>, StoreError> {
                Ok(sqlx::query_scalar(
                    "select public_key from principal where lower(actor_id) = lower($1) \
                     and public_key is not null",
                )
                .bind(actor)
                .fetch_all(&self.$read)
                .await?)
            }

            async fn keep_receipt(&self, push: &str, receipt: &str) -> Result<(), StoreError> {
                sqlx::query(
                    "insert into push_receipt (push, receipt) values ($1, $2) \
                     on conflict do nothing",
                )
                .bind(push)
                .bind(receipt)
                .execute(&self.$write)
                .await?;
                Ok(())
            }

            async fn receipt_of(&self, push: &str) -> Result<Option<String>, StoreError> {
                Ok(
                    sqlx::query_scalar("select receipt from push_receipt where push = $1")
                        .bind(push)
                        .fetch_optional(&self.$read)
                        .await?,
                )
            }

            async fn adoption_done(&self) -> Result<bool, StoreError> {
                let n: i64 = sqlx::query_scalar("select count(*) from log_adoption")
                    .fetch_one(&self.$write)
                    .await?;
                Ok(n > 0)
            }

            async fn adopt(&self, drafts: &[Draft]) -> Result<Vec<RecordId>, StoreError> {
                // The pushes' lock: the chain grows in one order, and no push lands on a record
                // between the check of its heads below and its entry.
                let mut tx = self.begin_serialised(super::records::FEED_LOCK).await?;
                let (mut heads, mut adopted) = (HashMap::new(), HashSet::new());
                for chunk in drafts.chunks(ADOPT_CHUNK) {
                    let ids: Vec<String> = chunk.iter().map(|d| d.record.to_string()).collect();
                    let sql = format!(
                        "select record_id, heads from record where record_id in ({})",
                        marks(1, ids.len())
                    );
                    let mut q = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql));
                    for id in &ids {
                        q = q.bind(id);
                    }
                    for (id, json) in q.fetch_all(&mut *tx).await? {
                        heads.insert(id, sorted(parse_heads(&json)?));
                    }
                    let sql = format!(
                        "select distinct record_id from evidence_log \
                         where by_actor = $1 and record_id in ({})",
                        marks(2, ids.len())
                    );
                    let mut q =
                        sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql)).bind(ADOPTED);
                    for id in &ids {
                        q = q.bind(id);
                    }
                    adopted.extend(q.fetch_all(&mut *tx).await?);
                }
                let logs: Vec<LogWrite> = drafts
                    .iter()
                    .filter(|d| {
                        let id = d.record.to_string();
                        !adopted.contains(&id) && heads.get(&id) == Some(&sorted(d.heads.clone()))
                    })
                    .map(|d| LogWrite {
                        draft: d.clone(),
                        push: None,
                    })
                    .collect();
                let now = jiff::Timestamp::now().as_millisecond();
                append_log!(tx, logs.iter(), now);
                tx.commit().await?;
                Ok(logs.iter().map(|l| l.draft.record).collect())
            }

            async fn finish_adoption(&self, records: u64) -> Result<(), StoreError> {
                sqlx::query(
                    "insert into log_adoption (id, done_at, records) values (1, $1, $2) \
                     on conflict (id) do nothing",
                )
                .bind(jiff::Timestamp::now().as_millisecond())
                .bind(i64::try_from(records).unwrap_or(i64::MAX))
                .execute(&self.$write)
                .await?;
                Ok(())
            }

            async fn signed_push(&self, hash: &str) -> Result<Option<SignedPushRow>, StoreError> {
                let row: Option<(String, String, String, String)> = sqlx::query_as(
                    "select hash, device, message, signature from signed_push where hash = $1",
                )
                .bind(hash)
                .fetch_optional(&self.$read)
                .await?;
                Ok(row.map(|(hash, device, message, signature)| SignedPushRow {
                    hash,
                    device,
                    message,
                    signature,
                }))
            }
        }
    };
}

impl_evidence_log!(SqliteStore, reader, writer);
impl_evidence_log!(PgStore, pool, pool);
