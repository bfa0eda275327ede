//! The server's receipts as the device keeps them: per record, the newest receipt naming it
//! (a later receipt vouches for a later state of the record). A receipt is stored once and
//! each record it names points at it.

use super::{DeviceStore, WriteTx};
use crate::{RecordId, device::DeviceError, evidence::receipt::Receipt};

/// Record rows per multi-row statement: four values each.
const ROWS_PER_INSERT: usize = 500;

impl WriteTx {
    /// Keeps `receipt` once and points every record it names at it, unless the record already
    /// has a newer receipt; then forgets receipts no record points at any more.
    pub(crate) async fn put_receipt(&mut self, receipt: &Receipt) -> Result<(), DeviceError> {
        let json = serde_json::to_string(receipt)
            .map_err(|e| DeviceError::Corrupt(format!("a receipt does not serialise: {e}")))?;
        let body: i64 =
            sqlx::query_scalar("INSERT INTO receipt_body (receipt) VALUES (?) RETURNING id")
                .bind(&json)
                .fetch_one(&mut *self.tx)
                .await?;
        for chunk in receipt.records.chunks(ROWS_PER_INSERT) {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO receipt (record_id, heads, receipt, received_at, body) ",
            );
            q.push_values(chunk, |mut b, r| {
                b.push_bind(r.id.to_string())
                    .push_bind(serde_json::to_string(&r.heads).unwrap_or_default())
                    .push_bind("")
                    .push_bind(receipt.time_ms)
                    .push_bind(body);
            });
            q.push(
                " ON CONFLICT (record_id) DO UPDATE SET heads = excluded.heads,
                 receipt = excluded.receipt, received_at = excluded.received_at,
                 body = excluded.body
                 WHERE excluded.received_at >= receipt.received_at",
            );
            q.build().execute(&mut *self.tx).await?;
        }
        sqlx::query(
            "DELETE FROM receipt_body
             WHERE NOT EXISTS (SELECT 1 FROM receipt WHERE receipt.body = receipt_body.id)",
        )
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}

impl DeviceStore {
    /// The newest receipt naming `id`.
    pub(crate) async fn receipt(&self, id: RecordId) -> Result<Option<Receipt>, DeviceError> {
        let json: Option<String> = sqlx::query_scalar(
            "SELECT coalesce(b.receipt, r.receipt) FROM receipt r
                 LEFT JOIN receipt_body b ON b.id = r.body WHERE r.record_id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        json.map(|j| {
            serde_json::from_str(&j)
                .map_err(|e| DeviceError::Corrupt(format!("stored receipt of {id}: {e}")))
        })
        .transpose()
    }
}
