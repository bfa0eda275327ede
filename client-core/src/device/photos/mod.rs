//! Photos on the device: running the capture pipeline off the async runtime and keeping the
//! files. Sending them to the server is the photo phase of the sync machine (`crate::sync`),
//! which reads chunks of these files through the device's store side (`device::sync`).
//!
//! Files are content-addressed under `<home>/photos/<2 hex>/<sha256>`, written to a temporary
//! file, fsynced and renamed into place, so a file under its hash name is always whole. A capture
//! writes every file first and the record with its photo rows in one transaction afterwards: a
//! crash in between leaves only unreferenced files (removed by `bukti photos prune`), never a
//! record pointing at a missing or torn photo.
//!
//! Retention (`retention`): display derivatives and thumbnails are kept until the server confirms
//! it has them; the prune after every sync then deletes the derivatives (thumbnails stay, they
//! are small and the device lists need them) and confirmed originals past the retention period
//! (default 90 days, meta `photo_retention_days`). Which originals upload at all is the
//! `originals` policy, applied to the network of the moment (`network`).

mod attach;
pub mod network;
pub mod originals;
mod retention;
#[cfg(test)]
mod tests;

use std::{
    io::Write,
    path::{Path, PathBuf},
    sync::Arc,
};

use serde::Serialize;
use tokio::sync::Semaphore;

use super::DeviceError;
use crate::photo::{self, PhotoSource, PipelineOptions, ProcessedPhoto};

/// Originals are kept this many days after capture unless configured otherwise.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;

/// A photo to attach: a file from the camera or the gallery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoInput {
    pub path: PathBuf,
    pub source: PhotoSource,
}

impl PhotoInput {
    pub fn camera(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            source: PhotoSource::Camera,
        }
    }

    pub fn gallery(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            source: PhotoSource::Gallery,
        }
    }
}

/// What photo bytes the device holds that the server does not (for `bukti status`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PhotoStatus {
    /// Display derivatives and thumbnails the server has not confirmed.
    pub renditions_waiting: u64,
    pub rendition_bytes_waiting: u64,
    /// Originals HQ asked for that have not reached the server.
    pub originals_requested: u64,
    pub original_bytes_requested: u64,
    /// Originals still on the device.
    pub originals_kept: u64,
    pub original_bytes_kept: u64,
    /// Waiting files whose last upload attempt failed (see `bukti sync`'s report).
    pub with_errors: u64,
}

/// A processed photo with the exact original bytes that were hashed.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub original: Vec<u8>,
    pub photo: ProcessedPhoto,
}

/// The bounded pool photo work runs on: a few blocking threads at most, so that processing a
/// burst of photos never takes the threads sync and the UI need.
#[derive(Debug, Clone)]
pub(crate) struct PhotoPool {
    permits: Arc<Semaphore>,
}

impl PhotoPool {
    pub(crate) fn new(workers: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(workers.max(1))),
        }
    }

    /// Reads and processes one photo file on the pool.
    pub(crate) async fn process(
        &self,
        input: &PhotoInput,
        options: &PipelineOptions,
    ) -> Result<Prepared, DeviceError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| DeviceError::Protocol("the photo pool was shut down".to_owned()))?;
        let path = input.path.clone();
        let options = options.clone();
        tokio::task::spawn_blocking(move || {
            let original = read_limited(&path, options.max_input_bytes)?;
            let photo = photo::process(&original, &options)
                .map_err(|source| DeviceError::Photo { path, source })?;
            Ok(Prepared { original, photo })
        })
        .await
        .map_err(|e| DeviceError::Protocol(format!("photo processing stopped: {e}")))?
    }
}

/// The file's bytes, refusing (from its size, before reading) one over `limit`.
fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, DeviceError> {
    let io = |source| DeviceError::PhotoFile {
        path: path.to_owned(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > limit {
        return Err(DeviceError::Photo {
            path: path.to_owned(),
            source: photo::PhotoError::TooLarge { size, limit },
        });
    }
    std::fs::read(path).map_err(io)
}

/// The content-addressed photo files of one device.
#[derive(Debug, Clone)]
pub(crate) struct PhotoFiles {
    root: PathBuf,
}

impl PhotoFiles {
    pub(crate) fn new(home: &Path) -> Self {
        Self {
            root: home.join("photos"),
        }
    }

    /// Where the file of `hash` lives; `hash` is 64 hex digits, so it is a safe file name.
    pub(crate) fn path(&self, hash: &str) -> PathBuf {
        self.root.join(hash.get(..2).unwrap_or("00")).join(hash)
    }

    /// Stores `bytes` under `hash` durably; an existing file (same hash, same bytes) is kept.
    pub(crate) fn write(&self, hash: &str, bytes: &[u8]) -> Result<(), DeviceError> {
        let target = self.path(hash);
        if target.exists() {
            return Ok(());
        }
        let dir = target.parent().unwrap_or(&self.root).to_owned();
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| DeviceError::PhotoStore { path, source }
        };
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        // A temporary name in the same directory, so the rename is atomic; the process id keeps
        // two `bukti` processes writing the same photo apart.
        let tmp = dir.join(format!(".partial-{hash}-{}", std::process::id()));
        let written = std::fs::File::create(&tmp).and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        });
        if let Err(source) = written.and_then(|()| std::fs::rename(&tmp, &target)) {
            // A full disk leaves a partial file behind: remove it, the photo was not stored.
            let _ = std::fs::remove_file(&tmp);
            return Err(DeviceError::PhotoStore {
                path: target,
                source,
            });
        }
        // The rename itself must survive a power cut too.
        std::fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&dir))?;
        Ok(())
    }

    pub(crate) fn remove(&self, hash: &str) -> Result<(), DeviceError> {
        match std::fs::remove_file(self.path(hash)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(DeviceError::PhotoStore {
                path: self.path(hash),
                source: e,
            }),
            _ => Ok(()),
        }
    }

    /// `len` bytes of `hash` from `offset`.
    pub(crate) fn read_range(
        &self,
        hash: &str,
        offset: u64,
        len: usize,
    ) -> Result<Vec<u8>, DeviceError> {
        use std::io::{Read, Seek, SeekFrom};
        let path = self.path(hash);
        let io = |source| DeviceError::PhotoFile {
            path: path.clone(),
            source,
        };
        let mut file = std::fs::File::open(&path).map_err(io)?;
        file.seek(SeekFrom::Start(offset)).map_err(io)?;
        let mut buf = vec![0; len];
        file.read_exact(&mut buf).map_err(io)?;
        Ok(buf)
    }

    /// Hashes of every stored file and leftover temporary files, for pruning.
    pub(crate) fn list(&self) -> Vec<(String, PathBuf)> {
        let Ok(shards) = std::fs::read_dir(&self.root) else {
            return Vec::new();
        };
        shards
            .flatten()
            .filter_map(|shard| std::fs::read_dir(shard.path()).ok())
            .flat_map(|files| files.flatten())
            .map(|f| (f.file_name().to_string_lossy().into_owned(), f.path()))
            .collect()
    }
}
