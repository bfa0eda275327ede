//! Blobs in a local folder, the default. Complete blobs live at `<root>/ab/cd/<hash>` (sharded
//! so no directory grows huge); an upload in progress is `<root>/partial/<hash>.<uploader>`,
//! whose length is the resume offset. Every append is fsynced before it is acknowledged;
//! publishing is a rename of the verified partial (atomic on one filesystem) followed by an fsync
//! of the folder, so a crash leaves either the partial or the complete blob, never half of one
//! visible. A verified partial of a blob that is already published is deleted instead: it only
//! proved that its uploader holds the bytes.
//!
//! Several server processes may share one folder (a network filesystem, or processes on one
//! machine behind a balancer). Every append and finish of an upload holds an exclusive lock on
//! `<root>/partial/<hash>.<uploader>.lock` (`flock`, released by the kernel if the process dies),
//! so two processes never interleave the bytes of one upload nor publish while the other
//! appends; a waiting process then finds the offset moved (or the partial gone) and answers with
//! it.
//!
//! Folders are created on demand, so a missing or unwritable folder fails the upload with a
//! clear error while the rest of the server keeps serving.

use std::{
    collections::HashMap,
    io::Read,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use futures::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::{BlobError, BlobHash, BlobStore, ByteStream, ChunkStream, Uploader};

/// Bytes gathered before one write to the file: large enough that a fast upload costs few
/// system calls, small enough that many concurrent uploads stay cheap in memory.
const WRITE_BUFFER: usize = 256 * 1024;
/// Read size when hashing and serving.
const READ_BUFFER: usize = 256 * 1024;

#[derive(Debug)]
pub struct LocalBlobs {
    root: PathBuf,
    locks: HashLocks,
}

/// One lock per upload being written (a hash and its uploader), so two requests of one upload at
/// once never interleave their appends (within one process; [`FolderLock`] keeps processes
/// apart). Entries are dropped when nobody holds them.
#[derive(Debug, Default)]
pub(super) struct HashLocks(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl LocalBlobs {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            locks: HashLocks::default(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn complete_path(&self, hash: &BlobHash) -> PathBuf {
        let h = hash.as_str();
        self.root.join(&h[0..2]).join(&h[2..4]).join(h)
    }

    fn partial_path(&self, hash: &BlobHash, uploader: &Uploader) -> PathBuf {
        self.root.join("partial").join(format!("{hash}.{uploader}"))
    }

    fn lock_path(&self, hash: &BlobHash, uploader: &Uploader) -> PathBuf {
        self.root
            .join("partial")
            .join(format!("{hash}.{uploader}.lock"))
    }

    /// Both locks of an upload: this process's first, so only one task per process polls the
    /// file.
    async fn lock(
        &self,
        hash: &BlobHash,
        uploader: &Uploader,
    ) -> Result<(HashLock<'_>, FolderLock), BlobError> {
        let local = self.locks.lock(&format!("{hash}.{uploader}")).await;
        let folder = FolderLock::acquire(self.lock_path(hash, uploader)).await?;
        Ok((local, folder))
    }
}

/// An exclusive `flock` on a hash's lock file, shared by every process over the folder.
#[derive(Debug)]
struct FolderLock {
    _file: std::fs::File,
}

impl FolderLock {
    /// Polls rather than blocks, so a wait for another process's long chunk holds no thread.
    async fn acquire(path: PathBuf) -> Result<FolderLock, BlobError> {
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(BlobError::from_io)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(BlobError::from_io)?;
        let mut pause = Duration::from_millis(2);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(FolderLock { _file: file }),
                Err(std::fs::TryLockError::WouldBlock) => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(BlobError::from_io(e)),
            }
        }
    }
}

impl HashLocks {
    pub(super) async fn lock(&self, key: &str) -> HashLock<'_> {
        let lock = {
            let mut locks = self.0.lock().unwrap_or_else(|p| p.into_inner());
            locks.entry(key.to_owned()).or_default().clone()
        };
        let guard = lock.clone().lock_owned().await;
        HashLock {
            locks: self,
            key: key.to_owned(),
            lock,
            _guard: guard,
        }
    }
}

/// Holds a hash's lock; forgets the map entry when the last holder lets go.
pub(super) struct HashLock<'a> {
    locks: &'a HashLocks,
    key: String,
    lock: Arc<tokio::sync::Mutex<()>>,
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

impl Drop for HashLock<'_> {
    fn drop(&mut self) {
        let mut locks = self.locks.0.lock().unwrap_or_else(|p| p.into_inner());
        // Ours, the map's and the guard's: nobody else is waiting.
        if Arc::strong_count(&self.lock) <= 3 {
            locks.remove(&self.key);
        }
    }
}

async fn len_of(path: &Path) -> Result<Option<u64>, BlobError> {
    match tokio::fs::metadata(path).await {
        Ok(m) => Ok(Some(m.len())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(BlobError::from_io(e)),
    }
}

/// Makes a rename or create inside `dir` durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[async_trait]
impl BlobStore for LocalBlobs {
    async fn progress(&self, hash: &BlobHash, uploader: &Uploader) -> Result<u64, BlobError> {
        Ok(len_of(&self.partial_path(hash, uploader))
            .await?
            .unwrap_or(0))
    }

    async fn append(
        &self,
        hash: &BlobHash,
        uploader: &Uploader,
        offset: u64,
        mut chunk: ChunkStream,
        max: u64,
    ) -> Result<u64, BlobError> {
        let _locks = self.lock(hash, uploader).await?;
        let path = self.partial_path(hash, uploader);
        let dir = self.root.join("partial");
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(BlobError::from_io)?;
        // Only a chunk at 0 starts a partial: a chunk that waited while another process finished
        // this upload must not leave an empty one behind.
        let file = match tokio::fs::OpenOptions::new()
            .create(offset == 0)
            .append(true)
            .open(&path)
            .await
        {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && offset > 0 => {
                return Err(BlobError::OffsetMismatch {
                    server: 0,
                    client: offset,
                });
            }
            Err(e) => return Err(BlobError::from_io(e)),
        };
        let held = file.metadata().await.map_err(BlobError::from_io)?.len();
        if held != offset {
            return Err(BlobError::OffsetMismatch {
                server: held,
                client: offset,
            });
        }
        let mut out = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file);
        let mut taken: u64 = 0;
        let mut ending = None;
        while let Some(item) = chunk.next().await {
            let Ok(bytes) = item else {
                ending = Some(Ending::Interrupted);
                break;
            };
            let room = max - taken;
            let fits = bytes.len().min(usize::try_from(room).unwrap_or(usize::MAX));
            if let Err(e) = out.write_all(&bytes[..fits]).await {
                ending = Some(Ending::Failed(e));
                break;
            }
            taken += fits as u64;
            if fits < bytes.len() {
                ending = Some(Ending::TooLong);
                break;
            }
        }
        if let Some(Ending::Failed(e)) = ending {
            // A failed write (a full disk, a vanished folder) may leave a torn tail: drop
            // this chunk's bytes so the offset only ever counts bytes that were stored whole.
            let _ = out.get_ref().set_len(offset).await;
            return Err(BlobError::from_io(e));
        }
        let interrupted = matches!(ending, Some(Ending::Interrupted));
        let too_long = matches!(ending, Some(Ending::TooLong));
        // Whatever arrived is made durable before answering, also on a broken connection: the
        // retry then resumes after the last stored byte instead of starting over.
        let synced = match out.flush().await {
            Ok(()) => out.get_ref().sync_data().await,
            Err(e) => Err(e),
        };
        if let Err(e) = synced {
            // Bytes that may not be on disk must not count towards the offset.
            let _ = out.get_ref().set_len(offset).await;
            return Err(BlobError::from_io(e));
        }
        if offset == 0 {
            // The partial file's directory entry must survive a crash too.
            let _ = tokio::task::spawn_blocking(move || sync_dir(&dir)).await;
        }
        let now = offset + taken;
        if interrupted {
            Err(BlobError::Interrupted { offset: now })
        } else if too_long {
            Err(BlobError::ChunkTooLong {
                length: offset + max,
            })
        } else {
            Ok(now)
        }
    }

    async fn finish(
        &self,
        hash: &BlobHash,
        uploader: &Uploader,
        length: u64,
    ) -> Result<(), BlobError> {
        let _locks = self.lock(hash, uploader).await?;
        let partial = self.partial_path(hash, uploader);
        let complete = self.complete_path(hash);
        if len_of(&partial).await?.is_none() {
            // Another process finished (or dropped) this very upload while this one waited.
            return Err(BlobError::OffsetMismatch {
                server: 0,
                client: length,
            });
        }
        let expected = hash.as_str().to_owned();
        let verified = tokio::task::spawn_blocking(move || -> std::io::Result<bool> {
            let (len, digest) = hash_file(&partial)?;
            if len != length || hex::encode(digest) != expected {
                std::fs::remove_file(&partial)?;
                return Ok(false);
            }
            if complete.exists() {
                // Published already (by another uploader): these identical bytes only proved
                // that this uploader holds them.
                std::fs::remove_file(&partial)?;
                return Ok(true);
            }
            let Some(dir) = complete.parent() else {
                return Err(std::io::Error::other("blob path has no folder"));
            };
            std::fs::create_dir_all(dir)?;
            std::fs::rename(&partial, &complete)?;
            sync_dir(dir)?;
            Ok(true)
        })
        .await
        .map_err(|e| BlobError::Io(std::io::Error::other(e)))?
        .map_err(BlobError::from_io)?;
        if verified {
            // The upload is over: its uploader now holds the blob, so the API answers "complete"
            // without coming back here, and a waiter on the old lock file finds the partial gone.
            let _ = tokio::fs::remove_file(self.lock_path(hash, uploader)).await;
            Ok(())
        } else {
            Err(BlobError::HashMismatch)
        }
    }

    async fn get(&self, hash: &BlobHash) -> Result<Option<ByteStream>, BlobError> {
        match tokio::fs::File::open(self.complete_path(hash)).await {
            Ok(file) => Ok(Some(Box::pin(tokio_util::io::ReaderStream::with_capacity(
                file,
                READ_BUFFER,
            )))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(BlobError::from_io(e)),
        }
    }
}

enum Ending {
    Interrupted,
    TooLong,
    Failed(std::io::Error),
}

/// Length and SHA-256 of a file, read in bounded pieces.
pub(crate) fn hash_file(path: &Path) -> std::io::Result<(u64, [u8; 32])> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; READ_BUFFER];
    let mut len = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        len += n as u64;
    }
    Ok((len, hasher.finalize().into()))
}
