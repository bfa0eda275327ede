//! The store's write side: one `IMMEDIATE` transaction and every statement that changes the
//! store, so that each multi-row write (a capture, an edit, a push batch's results, a pull page)
//! commits or rolls back as a whole.

use sqlx::{Sqlite, Transaction};

use super::{Projection, heads_json, now_ms, parse_heads};
use crate::{RecordId, device::DeviceError};

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

    /// A record's heads as stored, read under this transaction's write lock.
    pub(crate) async fn local_heads(
        &mut self,
        id: RecordId,
    ) -> Result<Option<Vec<String>>, DeviceError> {
        let json =
            sqlx::query_scalar::<_, String>("SELECT local_heads FROM record WHERE record_id = ?")
                .bind(id.to_string())
                .fetch_optional(&mut *self.tx)
                .await?;
        json.as_deref().map(parse_heads).transpose()
    }

    /// Inserts or replaces a record's document and projection; `server_heads` is left as it was
    /// (NULL for a new record).
    pub(crate) async fn put_record(
        &mut self,
        id: RecordId,
        doc: &[u8],
        projection: &Projection,
        local_heads: &[String],
    ) -> Result<(), DeviceError> {
        let p = projection;
        sqlx::query(
            "INSERT INTO record (record_id, doc, unit, officer, kind, title, status, verdict,
                                 state, started_at, captured_at, updated_at, local_heads)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (record_id) DO UPDATE SET
                doc = excluded.doc, unit = excluded.unit, officer = excluded.officer,
                kind = excluded.kind, title = excluded.title, status = excluded.status,
                verdict = excluded.verdict, state = excluded.state,
                started_at = excluded.started_at,
                captured_at = excluded.captured_at, updated_at = excluded.updated_at,
                local_heads = excluded.local_heads",
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
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub(crate) async fn set_server_heads(
        &mut self,
        id: RecordId,
        heads: Option<&[String]>,
    ) -> Result<(), DeviceError> {
        sqlx::query("UPDATE record SET server_heads = ? WHERE record_id = ?")
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
