//! Capturing and editing records with photos, and pruning photo files: the [`Device`] methods
//! that touch both the photo files and the store.

use super::{DEFAULT_RETENTION_DAYS, PhotoInput, PhotoStatus, Prepared};
use crate::{
    RecordDoc, RecordId,
    catalogue::Catalogue,
    device::{
        Capture, Device, DeviceError, edit_doc,
        store::{NewBlob, Role, SavedDoc, WriteTx, key},
    },
    photo::ProcessedPhoto,
    record::{self, Record},
};

impl Device {
    /// Like [`Device::capture`], with photos. Every photo is processed first (on the photo
    /// pool); any bad photo refuses the whole capture. The files are then stored, and the record
    /// with its photo rows is committed in one transaction: after a crash the capture is either
    /// entirely there or not at all.
    pub async fn capture_with_photos(
        &self,
        capture: Capture,
        photos: Vec<PhotoInput>,
    ) -> Result<RecordId, DeviceError> {
        let creds = self.registered().await?;
        let reg = &creds.registration;
        let catalogue = Catalogue::builtin();
        let mut record = capture.into_record(&reg.unit, &reg.officer, catalogue);
        let prepared = self.process_photos(&photos).await?;
        attach(&mut record, &photos, prepared.iter().map(|p| &p.photo));
        let problems = record::validate(&record, catalogue, record::now_ms());
        if !problems.is_empty() {
            return Err(DeviceError::Invalid(problems));
        }
        let author = format!("officer:{}", reg.officer);
        let saved = SavedDoc::of(
            &mut RecordDoc::create(&record, creds.actor, &author),
            &record,
        );
        let processed = self.store_files(prepared).await?;
        let mut tx = self.store.begin().await?;
        tx.put_saved(record.id, &saved).await?;
        insert_blobs(&mut tx, record.id, &processed).await?;
        tx.enqueue(record.id).await?;
        self.commit_capture(tx).await?;
        Ok(record.id)
    }

    /// Like [`Device::edit`], also attaching `photos` (processed first; a bad photo refuses the
    /// edit and nothing is written).
    pub async fn edit_with_photos(
        &self,
        id: RecordId,
        photos: Vec<PhotoInput>,
        edit: impl FnOnce(&mut Record) + Send,
    ) -> Result<bool, DeviceError> {
        let creds = self.registered().await?;
        let author = format!("officer:{}", creds.registration.officer);
        let prepared = self.process_photos(&photos).await?;
        let processed = self.store_files(prepared).await?;
        let mut tx = self.store.begin().await?;
        let existing = tx.doc(id).await?.ok_or(DeviceError::NotFound(id))?;
        let edited = edit_doc(&existing, creds.actor, &author, id, |r| {
            edit(r);
            attach(r, &photos, &processed);
        })?;
        let Some(saved) = edited else {
            return Ok(false);
        };
        tx.put_saved(id, &saved).await?;
        insert_blobs(&mut tx, id, &processed).await?;
        tx.enqueue(id).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn process_photos(&self, photos: &[PhotoInput]) -> Result<Vec<Prepared>, DeviceError> {
        let mut out = Vec::with_capacity(photos.len());
        for input in photos {
            out.push(self.pool.process(input, &self.photo_options).await?);
        }
        Ok(out)
    }

    /// Writes every file of each photo durably (fsync and rename) on a blocking thread. The
    /// original written is the very buffer that was hashed, so a file changed on disk since
    /// cannot slip in under the recorded hash.
    async fn store_files(
        &self,
        prepared: Vec<Prepared>,
    ) -> Result<Vec<ProcessedPhoto>, DeviceError> {
        let files = self.files.clone();
        tokio::task::spawn_blocking(move || {
            prepared
                .into_iter()
                .map(|Prepared { original, photo }| {
                    files.write(&photo.original_hash, &original)?;
                    files.write(&photo.derivative.rendition.hash, &photo.derivative.bytes)?;
                    files.write(&photo.thumbnail.rendition.hash, &photo.thumbnail.bytes)?;
                    Ok(photo)
                })
                .collect()
        })
        .await
        .map_err(|e| DeviceError::Protocol(format!("storing photo files stopped: {e}")))?
    }

    async fn commit_capture(&self, tx: WriteTx) -> Result<(), DeviceError> {
        #[cfg(test)]
        if self.fail_before_commit {
            drop(tx);
            return Err(DeviceError::Protocol(
                "simulated crash before commit".into(),
            ));
        }
        tx.commit().await
    }

    /// Days originals are kept after capture.
    pub async fn photo_retention_days(&self) -> Result<u32, DeviceError> {
        Ok(self
            .store
            .meta(key::PHOTO_RETENTION_DAYS)
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_RETENTION_DAYS))
    }

    pub async fn set_photo_retention_days(&self, days: u32) -> Result<(), DeviceError> {
        let mut tx = self.store.begin().await?;
        tx.set_meta(key::PHOTO_RETENTION_DAYS, &days.to_string())
            .await?;
        tx.commit().await
    }

    /// What photo bytes wait for the server.
    pub async fn photo_status(&self) -> Result<PhotoStatus, DeviceError> {
        self.store.photo_status().await
    }
}

/// Adds each processed photo's reference to the record (keyed by the original's hash).
fn attach<'a>(
    record: &mut Record,
    inputs: &[PhotoInput],
    photos: impl IntoIterator<Item = &'a ProcessedPhoto>,
) {
    for (input, photo) in inputs.iter().zip(photos) {
        record
            .photos
            .insert(photo.original_hash.clone(), photo.photo_ref(input.source));
    }
}

async fn insert_blobs(
    tx: &mut WriteTx,
    record_id: RecordId,
    processed: &[ProcessedPhoto],
) -> Result<(), DeviceError> {
    for p in processed {
        // Thumbnail before derivative: a small photo's two renditions can be the same bytes
        // (one file, one row), and that row must then count as the thumbnail pruning keeps.
        let blobs = [
            (
                p.original_hash.clone(),
                Role::Original,
                p.original_size,
                p.content_type,
            ),
            (
                p.thumbnail.rendition.hash.clone(),
                Role::Thumbnail,
                p.thumbnail.rendition.size,
                "image/jpeg",
            ),
            (
                p.derivative.rendition.hash.clone(),
                Role::Derivative,
                p.derivative.rendition.size,
                "image/jpeg",
            ),
        ];
        for (hash, role, size, content_type) in blobs {
            tx.insert_blob(&NewBlob {
                hash,
                role,
                photo_hash: p.original_hash.clone(),
                record_id,
                size,
                content_type,
            })
            .await?;
        }
    }
    Ok(())
}
