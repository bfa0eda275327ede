//! The store's write side: one `IMMEDIATE` transaction and every statement that changes the
//! store, so that each multi-row write (a capture, an edit, a push batch's results, a pull page)
//! commits or rolls back as a whole.

use std::collections::HashMap;

use sqlx::{Sqlite, Transaction};

use super::{IDS_PER_QUERY, Projection, heads_json, now_ms, parse_heads, parse_id, with_ids};
use crate::{
    Record, RecordDoc, RecordId, device::DeviceError, ingest, record::workflow, sync::packed,
};

/// Record rows per multi-row insert: 14 values each, far below SQLite's parameter limit.
const ROWS_PER_INSERT: usize = 100;

/// A record new to this device, as a pull brings it (see [`WriteTx::insert_new`]).
#[derive(Debug)]
pub(crate) struct NewRecord<'a> {
    pub id: RecordId,
    pub doc: &'a [u8],
    pub projection: Projection,
    pub local_heads: &'a [String],
    pub server_heads: &'a [String],
}

/// One `IMMEDIATE` write transaction. Dropping it without [`WriteTx::commit`] rolls back.
#[derive(Debug)]
pub(crate) struct WriteTx {
    pub(super) tx: Transaction<'static, Sqlite>,
}

impl WriteTx {
    pub(super) fn new(tx: Transaction<'static, Sqlite>) -> Self {
        Self { tx }
    }

    pub(crate) async fn commit(self) -> Result<(), DeviceError> {
        Ok(self.tx.commit().await?)
    }

    pub(crate) async fn set_meta(&mut self, key: &str, value: &str) -> Result<(), DeviceError> {
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES (?, ?)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// A record's document, read under this transaction's write lock.
    pub(crate) async fn doc(&mut self, id: RecordId) -> Result<Option<Vec<u8>>, DeviceError> {
        Ok(
            sqlx::query_scalar::<_, Vec<u8>>("SELECT doc FROM record WHERE record_id = ?")
                .bind(id.to_string())
                .fetch_optional(&mut *self.tx)
                .await?,
        )
    }

    /// Writes a captured or edited record, its history kept for the push.
    pub(crate) async fn put_saved(
        &mut self,
        id: RecordId,
        saved: &SavedDoc,
    ) -> Result<(), DeviceError> {
        self.put_record(
            id,
            &saved.bytes,
            &saved.projection,
            &saved.heads,
            Some(&saved.unsent),
        )
        .await
    }

    /// Inserts or replaces a record's document and projection; `server_heads` is left as it was
    /// (NULL for a new record). `unsent` is the document's whole history packed for the push
    /// (`sync::packed`), kept only while the server has acknowledged nothing of the record;
    /// `None` when the caller does not have it at hand.
    pub(crate) async fn put_record(
        &mut self,
        id: RecordId,
        doc: &[u8],
        projection: &Projection,
        local_heads: &[String],
        unsent: Option<&[u8]>,
    ) -> Result<(), DeviceError> {
        let p = projection;
        sqlx::query(
            "INSERT INTO record (record_id, doc, unit, officer, kind, title, status, verdict,
                                 state, started_at, captured_at, updated_at, local_heads, unsent)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (record_id) DO UPDATE SET
                doc = excluded.doc, unit = excluded.unit, officer = excluded.officer,
                kind = excluded.kind, title = excluded.title, status = excluded.status,
                verdict = excluded.verdict, state = excluded.state,
                started_at = excluded.started_at,
                captured_at = excluded.captured_at, updated_at = excluded.updated_at,
                local_heads = excluded.local_heads,
                unsent = CASE WHEN record.server_heads IS NULL THEN excluded.unsent END",
        )
        .bind(id.to_string())
        .bind(doc)
        .bind(&p.unit)
        .bind(&p.officer)
        .bind(&p.kind)
        .bind(&p.title)
        .bind(p.status)
        .bind(p.verdict)
        .bind(p.state)
        .bind(p.started_at)
        .bind(p.captured_at)
        .bind(now_ms())
        .bind(heads_json(local_heads))
        .bind(unsent)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// The stored heads of those of `ids` the device holds, read under this transaction's
    /// write lock: one query for a pull page instead of one per record.
    pub(crate) async fn local_heads_of(
        &mut self,
        ids: &[RecordId],
    ) -> Result<HashMap<RecordId, Vec<String>>, DeviceError> {
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let rows = with_ids(
                "SELECT record_id, local_heads FROM record WHERE record_id IN",
                chunk,
            )
            .build_query_as::<(String, String)>()
            .fetch_all(&mut *self.tx)
            .await?;
            for (id, heads) in rows {
                out.insert(parse_id(&id)?, parse_heads(&heads)?);
            }
        }
        Ok(out)
    }

    /// Inserts records new to this device with the server's heads as acknowledged, as
    /// [`WriteTx::put_record`] and [`WriteTx::set_server_heads`] would one by one, in a few
    /// multi-row statements (a pull page is mostly such records).
    pub(crate) async fn insert_new(&mut self, rows: &[NewRecord<'_>]) -> Result<(), DeviceError> {
        let now = now_ms();
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO record (record_id, doc, unit, officer, kind, title, status, verdict,
                                     state, started_at, captured_at, updated_at, local_heads,
                                     server_heads) ",
            );
            q.push_values(chunk, |mut b, r| {
                let p = &r.projection;
                b.push_bind(r.id.to_string())
                    .push_bind(r.doc)
                    .push_bind(p.unit.as_str())
                    .push_bind(p.officer.as_str())
                    .push_bind(p.kind.as_str())
                    .push_bind(p.title.as_str())
                    .push_bind(p.status)
                    .push_bind(p.verdict)
                    .push_bind(p.state)
                    .push_bind(p.started_at)
                    .push_bind(p.captured_at)
                    .push_bind(now)
                    .push_bind(heads_json(r.local_heads))
                    .push_bind(heads_json(r.server_heads));
            });
            // A page names a record once; should one come twice, the later (newer) row wins, as
            // it would statement by statement.
            q.push(
                " ON CONFLICT (record_id) DO UPDATE SET
                    doc = excluded.doc, unit = excluded.unit, officer = excluded.officer,
                    kind = excluded.kind, title = excluded.title, status = excluded.status,
                    verdict = excluded.verdict, state = excluded.state,
                    started_at = excluded.started_at, captured_at = excluded.captured_at,
                    updated_at = excluded.updated_at, local_heads = excluded.local_heads,
                    server_heads = excluded.server_heads, unsent = NULL",
            );
            q.build().execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// For each `(id, server heads, local heads)`: remembers the server heads and dequeues the
    /// record if its document still has those local heads, as [`WriteTx::set_server_heads`] and
    /// [`WriteTx::dequeue_if_heads`] would one by one; two statements per
    /// [`ROWS_PER_INSERT`] records of a push batch's results.
    pub(crate) async fn acknowledge(
        &mut self,
        acks: &[(RecordId, &[String], &[String])],
    ) -> Result<(), DeviceError> {
        let statements = [
            "UPDATE record SET server_heads = (SELECT server FROM v WHERE v.id = record.record_id),
                               unsent = NULL
             WHERE record_id IN (SELECT id FROM v)",
            "DELETE FROM outbox WHERE record_id IN
                (SELECT v.id FROM v JOIN record r ON r.record_id = v.id
                 WHERE r.local_heads = v.local)",
        ];
        for chunk in acks.chunks(ROWS_PER_INSERT) {
            for statement in statements {
                let mut q = sqlx::QueryBuilder::new("WITH v (id, server, local) AS (");
                q.push_values(chunk, |mut b, (id, server, local)| {
                    b.push_bind(id.to_string())
                        .push_bind(heads_json(server))
                        .push_bind(heads_json(local));
                });
                q.push(") ").push(statement);
                q.build().execute(&mut *self.tx).await?;
            }
        }
        Ok(())
    }

    pub(crate) async fn set_server_heads(
        &mut self,
        id: RecordId,
        heads: Option<&[String]>,
    ) -> Result<(), DeviceError> {
        // Whatever the server now holds, the kept history is no longer what the push sends.
        sqlx::query("UPDATE record SET server_heads = ?, unsent = NULL WHERE record_id = ?")
            .bind(heads.map(heads_json))
            .bind(id.to_string())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Queues a record after a local write, releasing it if it was held: the officer's edit may
    /// have fixed whatever the server refused.
    pub(crate) async fn enqueue(&mut self, id: RecordId) -> Result<(), DeviceError> {
        sqlx::query(
            "INSERT INTO outbox (record_id, enqueued_at) VALUES (?, ?)
             ON CONFLICT (record_id) DO UPDATE SET
                held = 0, last_error_code = NULL, last_error = NULL",
        )
        .bind(id.to_string())
        .bind(now_ms())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Queues a record unless it already is; a held record stays held.
    pub(crate) async fn ensure_queued(&mut self, id: RecordId) -> Result<(), DeviceError> {
        sqlx::query(
            "INSERT INTO outbox (record_id, enqueued_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(id.to_string())
        .bind(now_ms())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub(crate) async fn dequeue(&mut self, id: RecordId) -> Result<(), DeviceError> {
        sqlx::query("DELETE FROM outbox WHERE record_id = ?")
            .bind(id.to_string())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Dequeues a record only if its document still has `heads`: a write that landed while
    /// the push was in flight must still be sent.
    pub(crate) async fn dequeue_if_heads(
        &mut self,
        id: RecordId,
        heads: &[String],
    ) -> Result<(), DeviceError> {
        sqlx::query(
            "DELETE FROM outbox WHERE record_id = ?1
             AND (SELECT local_heads FROM record WHERE record_id = ?1) = ?2",
        )
        .bind(id.to_string())
        .bind(heads_json(heads))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Records a failed attempt; `hold` parks the record until it is edited again.
    pub(crate) async fn note_failure(
        &mut self,
        id: RecordId,
        code: &str,
        reason: &str,
        hold: bool,
    ) -> Result<(), DeviceError> {
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, last_error_code = ?, last_error = ?,
                               held = (held OR ?)
             WHERE record_id = ?",
        )
        .bind(code)
        .bind(reason)
        .bind(hold)
        .bind(id.to_string())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Forgets what any server acknowledged and queues every record: after registering with a
    /// (possibly different) server, everything is sent again; re-sending is harmless.
    pub(crate) async fn reset_sync_state(&mut self) -> Result<(), DeviceError> {
        sqlx::query("UPDATE record SET server_heads = NULL")
            .execute(&mut *self.tx)
            .await?;
        sqlx::query(
            "INSERT INTO outbox (record_id, enqueued_at) SELECT record_id, ? FROM record WHERE true
             ON CONFLICT (record_id) DO UPDATE SET held = 0, last_error_code = NULL,
                                                   last_error = NULL, attempts = 0",
        )
        .bind(now_ms())
        .execute(&mut *self.tx)
        .await?;
        sqlx::query("DELETE FROM meta WHERE key IN ('pull_cursor', 'last_sync_at')")
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}

/// A record's document as a capture or an edit writes it to the store.
#[derive(Debug)]
pub(crate) struct SavedDoc {
    pub bytes: Vec<u8>,
    pub projection: Projection,
    pub heads: Vec<String>,
    /// The whole history packed for the push (`sync::packed`): the store keeps it while the
    /// server has acknowledged nothing of the record, so the push need not load the document.
    pub unsent: Vec<u8>,
}

impl SavedDoc {
    pub(crate) fn of(doc: &mut RecordDoc, record: &Record) -> Self {
        let state = workflow::derive(doc.automerge()).state;
        Self {
            heads: ingest::heads_to_strings(&doc.heads()),
            unsent: packed::pack(&doc.changes_since(&[])),
            bytes: doc.save(),
            projection: Projection::of(record, state),
        }
    }
}
