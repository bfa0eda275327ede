//! Photo sync: after the records are pushed, ask the server which photo files it lacks and send
//! each in chunks from the server's offset.
//!
//! The server's offset is the only truth about what arrived: it comes back from `missing`, from
//! every chunk's answer and from a `409 offset_mismatch`. The device records it after every chunk,
//! so a broken connection or a restart of either side resumes where the server's durable bytes
//! end and nothing already stored is sent again. A network error stops the photo phase (and the
//! sync) with everything so far recorded.

use std::collections::{HashMap, HashSet};

use super::PhotoFiles;
use crate::{
    device::{
        DeviceError, Phase, Progress, SyncReport,
        client::{ChunkOutcome, SyncClient},
        store::{BlobRow, DeviceStore},
    },
    protocol::{MAX_CHUNK_BYTES, MAX_MISSING_QUERY},
};

/// Default bytes per upload request: small enough to finish over a weak rural link before a
/// timeout, large enough that the per-request overhead does not matter.
pub const DEFAULT_CHUNK_BYTES: usize = 1024 * 1024;

/// A photo file the server did not take, and why; it stays queued.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PhotoProblem {
    pub hash: String,
    pub reason: String,
}

pub(crate) struct Uploader<'a> {
    pub store: &'a DeviceStore,
    pub client: &'a SyncClient,
    pub files: &'a PhotoFiles,
    pub chunk_bytes: usize,
    /// Send every original too (the device is on Wi-Fi and told to).
    pub all_originals: bool,
}

impl Uploader<'_> {
    pub(crate) async fn run(
        &self,
        progress: &dyn Progress,
        report: &mut SyncReport,
    ) -> Result<(), DeviceError> {
        self.learn_requests().await?;
        let rows = self.store.blobs_to_upload(self.all_originals).await?;
        if rows.is_empty() {
            return Ok(());
        }
        let mut todo = Vec::new();
        for batch in rows.chunks(MAX_MISSING_QUERY) {
            let hashes = batch.iter().map(|r| r.hash.clone()).collect();
            let answer = self.client.missing_blobs(hashes).await?;
            let missing: HashMap<_, _> = answer
                .missing
                .into_iter()
                .map(|m| (m.hash, m.offset))
                .collect();
            let unknown: HashSet<_> = answer.unknown.into_iter().collect();
            let mut tx = self.store.begin().await?;
            for row in batch {
                if let Some(&offset) = missing.get(&row.hash) {
                    todo.push(BlobRow {
                        server_offset: offset.min(row.size),
                        ..row.clone()
                    });
                } else if unknown.contains(&row.hash) {
                    let reason = "the server knows no record with this photo yet; it is sent \
                                  once the record is accepted";
                    tx.note_blob_error(&row.hash, reason).await?;
                    report.photo_problems.push(PhotoProblem {
                        hash: row.hash.clone(),
                        reason: reason.to_owned(),
                    });
                } else {
                    // Already stored on the server (another device, or an earlier sync whose
                    // last answer was lost).
                    tx.confirm_blob(&row.hash).await?;
                }
            }
            tx.commit().await?;
        }

        let total: u64 = todo.iter().map(|r| r.size - r.server_offset).sum();
        let mut sent = 0;
        progress.update(Phase::Photos, 0, Some(total));
        for row in todo {
            self.upload(&row, &mut sent, total, progress, report)
                .await?;
        }
        Ok(())
    }

    /// Marks the originals HQ asked for, so they join the upload.
    async fn learn_requests(&self) -> Result<(), DeviceError> {
        let requested = self.client.requested_blobs().await?;
        if requested.hashes.is_empty() {
            return Ok(());
        }
        let mut tx = self.store.begin().await?;
        for hash in &requested.hashes {
            tx.mark_requested(hash).await?;
        }
        tx.commit().await
    }

    async fn upload(
        &self,
        row: &BlobRow,
        sent: &mut u64,
        total: u64,
        progress: &dyn Progress,
        report: &mut SyncReport,
    ) -> Result<(), DeviceError> {
        let chunk_bytes = self.chunk_bytes.clamp(1, MAX_CHUNK_BYTES) as u64;
        let mut offset = row.server_offset;
        // A server that keeps answering with offsets that do not advance would loop forever.
        let mut stalls = 0;
        loop {
            let len = (row.size - offset).min(chunk_bytes);
            let chunk = self.files.read_range(&row.hash, offset, len as usize)?;
            let outcome = self
                .client
                .upload_chunk(&row.hash, offset, row.size, chunk)
                .await;
            let mut tx = self.store.begin().await?;
            let next = match outcome {
                Ok(ChunkOutcome::Stored(answer)) if answer.complete => {
                    tx.confirm_blob(&row.hash).await?;
                    tx.commit().await?;
                    *sent += row.size - offset;
                    report.photos_uploaded += 1;
                    report.photo_bytes_sent += len;
                    progress.update(Phase::Photos, (*sent).min(total), Some(total));
                    return Ok(());
                }
                Ok(ChunkOutcome::Stored(answer)) => {
                    report.photo_bytes_sent += len;
                    answer.offset
                }
                Ok(ChunkOutcome::Mismatch(server)) => server,
                Err(DeviceError::Server {
                    status: 404 | 413 | 422,
                    code,
                    message,
                }) => {
                    // Retrying now cannot help; the file stays queued with the reason.
                    let reason = format!("{code}: {message}");
                    tx.note_blob_error(&row.hash, &reason).await?;
                    tx.commit().await?;
                    report.photo_problems.push(PhotoProblem {
                        hash: row.hash.clone(),
                        reason,
                    });
                    return Ok(());
                }
                Err(e) => return Err(e),
            };
            if next > row.size {
                return Err(DeviceError::Protocol(format!(
                    "the server claims {next} bytes of a {}-byte photo file",
                    row.size
                )));
            }
            tx.set_blob_offset(&row.hash, next).await?;
            tx.commit().await?;
            stalls = if next > offset { 0 } else { stalls + 1 };
            if stalls > 3 {
                return Err(DeviceError::Protocol(format!(
                    "the server does not accept photo {} past byte {next}",
                    row.hash
                )));
            }
            *sent += next.saturating_sub(offset);
            progress.update(Phase::Photos, (*sent).min(total), Some(total));
            offset = next;
        }
    }
}
