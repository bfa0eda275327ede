//! The server's receipts as the device keeps them: per record, the newest receipt naming it
//! (a later receipt vouches for a later state of the record).

use super::{DeviceStore, WriteTx};
use crate::{RecordId, device::DeviceError, evidence::receipt::Receipt};

impl WriteTx {
    /// Keeps `receipt` for every record it names.
    pub(crate) async fn put_receipt(&mut self, receipt: &Receipt) -> Result<(), DeviceError> {
        let json = serde_json::to_string(receipt)
            .map_err(|e| DeviceError::Corrupt(format!("a receipt does not serialise: {e}")))?;
        for r in &receipt.records {
            let heads = serde_json::to_string(&r.heads).unwrap_or_default();
            sqlx::query(
                "INSERT INTO receipt (record_id, heads, receipt, received_at) VALUES (?, ?, ?, ?)
                 ON CONFLICT (record_id) DO UPDATE SET heads = excluded.heads,
                 receipt = excluded.receipt, received_at = excluded.received_at
                 WHERE excluded.received_at >= receipt.received_at",
            )
            .bind(r.id.to_string())
            .bind(heads)
            .bind(&json)
            .bind(receipt.time_ms)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }
}

impl DeviceStore {
    /// The newest receipt naming `id`.
    pub(crate) async fn receipt(&self, id: RecordId) -> Result<Option<Receipt>, DeviceError> {
        let json: Option<String> =
            sqlx::query_scalar("SELECT receipt FROM receipt WHERE record_id = ?")
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
