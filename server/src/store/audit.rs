//! The audit log's storage: the append-only `audit_entry` table on both databases. A separate
//! trait, like [`super::photos::PhotoIndex`]; every [`super::EvidenceStore`] implements it.
//!
//! Appends are serialised across every process using the database (SQLite: `BEGIN IMMEDIATE`
//! takes the file's write lock before the head is read; PostgreSQL: a transaction-scoped advisory
//! lock), so concurrent servers extend one chain instead of forking it. Triggers refuse UPDATE
//! and DELETE; [`verify`] catches edits made by someone who dropped them. One body of SQL
//! serves both databases ([`impl_audit_log!`]).

use async_trait::async_trait;
use bukti_core::unit::UnitPath;

use super::{DynStore, StoreError, postgres::PgStore, rows::StoreRow, sqlite::SqliteStore};
use crate::audit::{Actor, AuditEntry, AuditEvent, Breach, ChainCheck, GENESIS, decode_hash};

/// Advisory lock key serialising audit appends ("audit" in ASCII), apart from the feed's.
const AUDIT_LOCK: i64 = 0x61_7564_6974;

/// How many entries [`verify`] reads per query.
const VERIFY_PAGE: u32 = 1000;

const COLUMNS: &str =
    "seq, at_ms, actor_kind, actor_id, actor_name, action, subject, unit, detail, prev_hash, hash";

#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends `events` in order, in one transaction, after the current head; returns the
    /// entries as written.
    async fn append_audit(&self, events: &[AuditEvent]) -> Result<Vec<AuditEntry>, StoreError>;

    /// Entries after `after`, oldest first, at most `limit`.
    async fn audit_since(&self, after: i64, limit: u32) -> Result<Vec<AuditEntry>, StoreError>;

    /// Entries before `before` filed under `scope`'s subtree (and, with `unitless`, those filed
    /// under no unit), newest first, at most `limit`.
    async fn audit_page(
        &self,
        scope: &UnitPath,
        unitless: bool,
        before: i64,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}

/// Writes `events` to the audit log. A failure is logged and counted here and returned, for
/// callers that must not go on without the entry (a read of personal data answers 500 rather
/// than unrecorded data).
pub async fn append(store: &DynStore, events: &[AuditEvent]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    store.append_audit(events).await.map(drop).inspect_err(|e| {
        let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
        tracing::error!(error = %e, ?actions, "audit entry not written");
        metrics::counter!("bukti_audit_failures_total").increment(1);
    })
}

/// Writes `events` for an action that has already taken effect (a committed verdict, a refused
/// push): failing the request now would only make the client repeat it, so a failure is logged
/// and counted by [`append`] and goes no further.
pub async fn append_or_log(store: &DynStore, events: &[AuditEvent]) {
    let _logged = append(store, events).await;
}

/// Walks the whole chain, oldest first: the entry count and head hash, or the first breach.
pub async fn verify(store: &DynStore) -> Result<Result<(i64, String), Breach>, StoreError> {
    let mut check = ChainCheck::default();
    let mut after = 0;
    loop {
        let page = store.audit_since(after, VERIFY_PAGE).await?;
        for entry in &page {
            if let Err(breach) = check.check(entry) {
                return Ok(Err(breach));
            }
        }
        match page.last() {
            Some(last) => after = last.seq,
            None => return Ok(Ok(check.head())),
        }
    }
}

fn entry(row: &impl StoreRow) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        seq: row.int("seq")?,
        at: row.int("at_ms")?,
        actor: Actor {
            kind: row.text("actor_kind")?,
            id: row.text("actor_id")?,
            name: row.text("actor_name")?,
        },
        action: row.text("action")?,
        subject: row.text("subject")?,
        unit: row.opt_text("unit")?,
        detail: row.text("detail")?,
        prev_hash: row.text("prev_hash")?,
        hash: row.text("hash")?,
    })
}

/// The next place in the chain after the head row (seq and hash), if any.
fn after_head(head: Option<(i64, String)>) -> Result<(i64, [u8; 32]), StoreError> {
    match head {
        None => Ok((1, GENESIS)),
        Some((seq, hash)) => decode_hash(&hash).map(|h| (seq + 1, h)).ok_or_else(|| {
            StoreError::Corrupt(format!("audit entry {seq}'s hash {hash:?} is not a hash"))
        }),
    }
}

/// The entries `events` become after the head, each linked to the one before.
fn link(events: &[AuditEvent], head: Option<(i64, String)>) -> Result<Vec<AuditEntry>, StoreError> {
    let (mut seq, mut prev) = after_head(head)?;
    let at = jiff::Timestamp::now().as_millisecond();
    let mut out = Vec::with_capacity(events.len());
    for event in events {
        let entry = AuditEntry::chain(event, seq, at, &prev);
        prev = decode_hash(&entry.hash).expect("a hash just computed");
        seq += 1;
        out.push(entry);
    }
    Ok(out)
}

const HEAD: &str = "select seq, hash from audit_entry order by seq desc limit 1";

const INSERT: &str = "insert into audit_entry (seq, at_ms, actor_kind, actor_id, actor_name, \
     action, subject, unit, detail, prev_hash, hash) \
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

/// Implements [`AuditLog`] for a store whose reads go to `$read`.
macro_rules! impl_audit_log {
    ($store:ty, $read:ident) => {
        #[async_trait]
        impl AuditLog for $store {
            async fn append_audit(
                &self,
                events: &[AuditEvent],
            ) -> Result<Vec<AuditEntry>, StoreError> {
                // Another process's append cannot slip in between reading the head and
                // writing after it.
                let mut tx = self.begin_serialised(AUDIT_LOCK).await?;
                let head = sqlx::query_as(HEAD).fetch_optional(&mut *tx).await?;
                let entries = link(events, head)?;
                for e in &entries {
                    sqlx::query(INSERT)
                        .bind(e.seq)
                        .bind(e.at)
                        .bind(&e.actor.kind)
                        .bind(&e.actor.id)
                        .bind(&e.actor.name)
                        .bind(&e.action)
                        .bind(&e.subject)
                        .bind(&e.unit)
                        .bind(&e.detail)
                        .bind(&e.prev_hash)
                        .bind(&e.hash)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(entries)
            }

            async fn audit_since(
                &self,
                after: i64,
                limit: u32,
            ) -> Result<Vec<AuditEntry>, StoreError> {
                let sql = format!(
                    "select {COLUMNS} from audit_entry where seq > $1 order by seq limit $2"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(&self.$read)
                    .await?;
                rows.iter().map(entry).collect()
            }

            async fn audit_page(
                &self,
                scope: &UnitPath,
                unitless: bool,
                before: i64,
                limit: u32,
            ) -> Result<Vec<AuditEntry>, StoreError> {
                let (lo, hi) = scope.descendant_range();
                let sql = format!(
                    "select {COLUMNS} from audit_entry where seq < $1 and \
                     (unit = $2 or (unit >= $3 and unit < $4) or ($5 and unit is null)) \
                     order by seq desc limit $6"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(before)
                    .bind(scope.as_str())
                    .bind(lo)
                    .bind(hi)
                    .bind(unitless)
                    .bind(i64::from(limit))
                    .fetch_all(&self.$read)
                    .await?;
                rows.iter().map(entry).collect()
            }
        }
    };
}

impl_audit_log!(SqliteStore, reader);
impl_audit_log!(PgStore, pool);
