//! The photo side of the store: which photo files the device holds, what the server has of them,
//! and which may be deleted. The files themselves are in `device::photos`.

use super::{DeviceStore, WriteTx, now_ms};
use crate::{RecordId, device::DeviceError, device::PhotoStatus, sync::BlobToSend};

/// What a photo file is to its photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Original,
    Derivative,
    Thumbnail,
}

impl Role {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Role::Original => "original",
            Role::Derivative => "derivative",
            Role::Thumbnail => "thumbnail",
        }
    }

    fn parse(s: &str) -> Result<Self, DeviceError> {
        match s {
            "original" => Ok(Role::Original),
            "derivative" => Ok(Role::Derivative),
            "thumbnail" => Ok(Role::Thumbnail),
            other => Err(DeviceError::Corrupt(format!("photo file role {other:?}"))),
        }
    }
}

/// A photo file just written, to be recorded with its record.
#[derive(Debug, Clone)]
pub(crate) struct NewBlob {
    pub hash: String,
    pub role: Role,
    pub photo_hash: String,
    pub record_id: RecordId,
    pub size: u64,
    pub content_type: &'static str,
}

/// A photo file on the device, as pruning sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeptFile {
    pub hash: String,
    pub role: Role,
    pub created_at_ms: i64,
    /// The server said it holds the whole file.
    pub confirmed: bool,
    /// HQ asked for this original.
    pub requested: bool,
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl WriteTx {
    /// Records a photo file. The same bytes attached again (or re-captured after pruning) keep
    /// their upload state; only the file's presence is renewed.
    pub(crate) async fn insert_blob(&mut self, blob: &NewBlob) -> Result<(), DeviceError> {
        sqlx::query(
            "INSERT INTO photo_blob (hash, role, photo_hash, record_id, size, content_type,
                                     created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (hash) DO UPDATE SET pruned_at = NULL",
        )
        .bind(&blob.hash)
        .bind(blob.role.as_str())
        .bind(&blob.photo_hash)
        .bind(blob.record_id.to_string())
        .bind(to_i64(blob.size))
        .bind(blob.content_type)
        .bind(now_ms())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// The server holds `offset` bytes of `hash` durably.
    pub(crate) async fn set_blob_offset(
        &mut self,
        hash: &str,
        offset: u64,
    ) -> Result<(), DeviceError> {
        sqlx::query("UPDATE photo_blob SET server_offset = ?, last_error = NULL WHERE hash = ?")
            .bind(to_i64(offset))
            .bind(hash)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// The server has the whole of `hash`.
    pub(crate) async fn confirm_blob(&mut self, hash: &str) -> Result<(), DeviceError> {
        sqlx::query(
            "UPDATE photo_blob SET confirmed_at = coalesce(confirmed_at, ?),
                                   server_offset = size, last_error = NULL
             WHERE hash = ?",
        )
        .bind(now_ms())
        .bind(hash)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub(crate) async fn note_blob_error(
        &mut self,
        hash: &str,
        reason: &str,
    ) -> Result<(), DeviceError> {
        sqlx::query("UPDATE photo_blob SET last_error = ? WHERE hash = ?")
            .bind(reason)
            .bind(hash)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// HQ asked for these originals; hashes this device does not hold are ignored.
    pub(crate) async fn mark_requested(&mut self, hash: &str) -> Result<bool, DeviceError> {
        let done =
            sqlx::query("UPDATE photo_blob SET requested = 1 WHERE hash = ? AND role = 'original'")
                .bind(hash)
                .execute(&mut *self.tx)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    pub(crate) async fn mark_pruned(&mut self, hash: &str) -> Result<(), DeviceError> {
        sqlx::query("UPDATE photo_blob SET pruned_at = ? WHERE hash = ?")
            .bind(now_ms())
            .bind(hash)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}

impl DeviceStore {
    /// Files the server may lack: every unconfirmed rendition, plus originals HQ asked for (or
    /// every original when `all_originals`, i.e. the device was told to send them on Wi-Fi).
    /// Thumbnails first: they are what HQ's list shows.
    pub(crate) async fn blobs_to_upload(
        &self,
        all_originals: bool,
    ) -> Result<Vec<BlobToSend>, DeviceError> {
        let rows = sqlx::query_as::<_, (String, i64, i64)>(
            "SELECT hash, size, server_offset FROM photo_blob
             WHERE confirmed_at IS NULL AND pruned_at IS NULL
               AND (role <> 'original' OR requested = 1 OR ?)
             ORDER BY CASE role WHEN 'thumbnail' THEN 0 WHEN 'derivative' THEN 1 ELSE 2 END,
                      created_at, hash",
        )
        .bind(all_originals)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(hash, size, offset)| BlobToSend {
                hash,
                size: size.unsigned_abs(),
                server_offset: offset.unsigned_abs(),
            })
            .collect())
    }

    /// Counts and bytes of what is waiting, for `bukti status`.
    pub(crate) async fn photo_status(&self) -> Result<PhotoStatus, DeviceError> {
        let (rf, rb, of, ob, kf, kb, err) =
            sqlx::query_as::<_, (i64, i64, i64, i64, i64, i64, i64)>(
                "SELECT
                count(*) FILTER (WHERE role <> 'original' AND confirmed_at IS NULL),
                coalesce(sum(size) FILTER (WHERE role <> 'original' AND confirmed_at IS NULL), 0),
                count(*) FILTER (WHERE role = 'original' AND requested = 1
                                   AND confirmed_at IS NULL AND pruned_at IS NULL),
                coalesce(sum(size) FILTER (WHERE role = 'original' AND requested = 1
                                   AND confirmed_at IS NULL AND pruned_at IS NULL), 0),
                count(*) FILTER (WHERE role = 'original' AND pruned_at IS NULL),
                coalesce(sum(size) FILTER (WHERE role = 'original' AND pruned_at IS NULL), 0),
                count(*) FILTER (WHERE confirmed_at IS NULL AND last_error IS NOT NULL)
             FROM photo_blob",
            )
            .fetch_one(&self.pool)
            .await?;
        let n = i64::unsigned_abs;
        Ok(PhotoStatus {
            renditions_waiting: n(rf),
            rendition_bytes_waiting: n(rb),
            originals_requested: n(of),
            original_bytes_requested: n(ob),
            originals_kept: n(kf),
            original_bytes_kept: n(kb),
            with_errors: n(err),
        })
    }

    /// Every photo file still on the device with what decides whether it may go (see
    /// `device::photos::retention`).
    pub(crate) async fn kept_files(&self) -> Result<Vec<KeptFile>, DeviceError> {
        let rows = sqlx::query_as::<_, (String, String, i64, bool, bool)>(
            "SELECT hash, role, created_at, confirmed_at IS NOT NULL, requested = 1
             FROM photo_blob WHERE pruned_at IS NULL ORDER BY created_at, hash",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(hash, role, created_at_ms, confirmed, requested)| {
                Ok(KeptFile {
                    hash,
                    role: Role::parse(&role)?,
                    created_at_ms,
                    confirmed,
                    requested,
                })
            })
            .collect()
    }

    /// Every hash with a row, pruned or not: files on disk outside this set are leftovers of an
    /// interrupted capture.
    pub(crate) async fn known_blob_hashes(
        &self,
    ) -> Result<std::collections::HashSet<String>, DeviceError> {
        let rows =
            sqlx::query_scalar::<_, String>("SELECT hash FROM photo_blob WHERE pruned_at IS NULL")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().collect())
    }
}
