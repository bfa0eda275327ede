//! Blobs in S3-compatible object storage (through `object_store`). Objects cannot be appended
//! to, so each stored chunk is its own object `partial/<hash>/<offset>` (zero-padded, so they
//! list in order); the resume offset is the sum of the contiguous parts from 0. Finishing
//! streams the parts through SHA-256 into a multipart upload of `blobs/<hash>` and completes
//! that upload only when the hash matches (otherwise it is aborted): an object is either
//! absent or complete and verified. Then the parts are deleted.
//!
//! Processes sharing a bucket have no common lock: each only serialises its own appends. That is
//! safe because a part is one atomic `put` named by its offset (a racing duplicate replaces it
//! whole, and the chain of parts skips overlaps), and because the published object is exactly
//! the bytes that were hashed, completed in one atomic multipart commit only after they verify.
//!
//! A chunk is gathered in memory before its `put` (object stores take whole objects), so an
//! upload in progress costs at most one chunk ([`MAX_CHUNK_BYTES`]) of memory.

use std::sync::Arc;

use async_trait::async_trait;
use bukti_core::protocol::MAX_CHUNK_BYTES;
use futures::{StreamExt, TryStreamExt};
use object_store::{
    ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart, aws::AmazonS3Builder, path::Path,
};
use sha2::{Digest, Sha256};

use super::{BlobError, BlobHash, BlobState, BlobStore, ByteStream, ChunkStream, local::HashLocks};

/// Where and how to reach the bucket. Credentials come from the environment
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`) unless given here.
#[derive(Clone, Default)]
pub struct S3Settings {
    /// e.g. `http://127.0.0.1:9000`; `None` for AWS itself.
    pub endpoint: Option<String>,
    pub bucket: String,
    pub region: String,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
}

// Hand-written so the secret key never reaches a log.
impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key", &self.access_key)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "***"))
            .finish()
    }
}

#[derive(Debug)]
pub struct S3Blobs {
    store: Arc<dyn ObjectStore>,
    locks: HashLocks,
}

impl S3Blobs {
    pub fn open(s: &S3Settings) -> Result<Self, BlobError> {
        // HTTPS endpoints need a process-wide rustls provider; another may already be set.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(&s.bucket)
            .with_region(&s.region);
        if let Some(endpoint) = &s.endpoint {
            b = b
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(k) = &s.access_key {
            b = b.with_access_key_id(k);
        }
        if let Some(k) = &s.secret_key {
            b = b.with_secret_access_key(k);
        }
        Ok(Self::new(Arc::new(b.build()?)))
    }

    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self {
            store,
            locks: HashLocks::default(),
        }
    }

    fn complete(hash: &BlobHash) -> Path {
        Path::from(format!("blobs/{hash}"))
    }

    fn part(hash: &BlobHash, offset: u64) -> Path {
        Path::from(format!("partial/{hash}/{offset:020}"))
    }

    /// The contiguous parts from 0, in order, as `(path, size)`.
    async fn parts(&self, hash: &BlobHash) -> Result<Vec<(Path, u64)>, BlobError> {
        let prefix = Path::from(format!("partial/{hash}"));
        let mut found: Vec<(u64, Path, u64)> = self
            .store
            .list(Some(&prefix))
            .map_ok(|m| {
                let offset = m.location.filename().and_then(|f| f.parse().ok());
                (offset, m.location, m.size)
            })
            .try_filter_map(|(o, p, s)| async move { Ok(o.map(|o| (o, p, s))) })
            .try_collect()
            .await?;
        found.sort_by_key(|(o, _, _)| *o);
        let mut next = 0;
        let mut parts = Vec::new();
        for (offset, path, size) in found {
            // Two processes racing at one offset can leave a part that overlaps the next (the
            // slower put replaced a longer part with a shorter one): skip it, the chain goes on
            // from where the kept parts end. A part beyond a gap cannot be used.
            if offset < next {
                continue;
            }
            if offset > next {
                break;
            }
            next += size;
            parts.push((path, size));
        }
        Ok(parts)
    }

    async fn complete_len(&self, hash: &BlobHash) -> Result<Option<u64>, BlobError> {
        match self.store.head(&Self::complete(hash)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Streams `parts` through SHA-256 into a multipart upload of the blob and completes it
    /// only when the bytes are `length` long and hash to `hash`; otherwise aborts it (nothing
    /// becomes visible) and, on a mismatch, drops the parts so the upload starts over.
    async fn publish(
        &self,
        hash: &BlobHash,
        length: u64,
        parts: &[(Path, u64)],
    ) -> Result<(), BlobError> {
        let upload = self.store.put_multipart(&Self::complete(hash)).await?;
        let mut writer = WriteMultipart::new(upload);
        let mut hasher = Sha256::new();
        let mut total = 0u64;
        for (path, _) in parts {
            let mut stream = match self.store.get(path).await {
                Ok(got) => got.into_stream(),
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(e.into());
                }
            };
            while let Some(bytes) = stream.next().await {
                let bytes = match bytes {
                    Ok(b) => b,
                    Err(e) => {
                        let _ = writer.abort().await;
                        return Err(e.into());
                    }
                };
                hasher.update(&bytes);
                total += bytes.len() as u64;
                // Bounded memory: wait while too many parts are in flight.
                writer.wait_for_capacity(2).await?;
                writer.put(bytes);
            }
        }
        let digest: [u8; 32] = hasher.finalize().into();
        if total != length || hex::encode(digest) != hash.as_str() {
            let _ = writer.abort().await;
            self.delete_all_parts(hash).await;
            return Err(BlobError::HashMismatch);
        }
        writer.finish().await?;
        Ok(())
    }

    /// Every part of `hash`, also those a race left outside the chain: the blob is published.
    async fn delete_all_parts(&self, hash: &BlobHash) {
        let prefix = Path::from(format!("partial/{hash}"));
        let listed: Result<Vec<_>, _> = self
            .store
            .list(Some(&prefix))
            .map_ok(|m| (m.location, m.size))
            .try_collect()
            .await;
        match listed {
            Ok(parts) => self.delete_parts(&parts).await,
            Err(e) => tracing::warn!(%hash, error = %e, "could not list upload parts to delete"),
        }
    }

    async fn delete_parts(&self, parts: &[(Path, u64)]) {
        for (path, _) in parts {
            if let Err(e) = self.store.delete(path).await {
                tracing::warn!(%path, error = %e, "could not delete an upload part");
            }
        }
    }
}

#[async_trait]
impl BlobStore for S3Blobs {
    async fn state(&self, hash: &BlobHash) -> Result<BlobState, BlobError> {
        if let Some(n) = self.complete_len(hash).await? {
            return Ok(BlobState::Complete(n));
        }
        let parts = self.parts(hash).await?;
        Ok(if parts.is_empty() {
            BlobState::Absent
        } else {
            BlobState::Partial(parts.iter().map(|(_, s)| s).sum())
        })
    }

    async fn append(
        &self,
        hash: &BlobHash,
        offset: u64,
        mut chunk: ChunkStream,
        max: u64,
    ) -> Result<u64, BlobError> {
        let _lock = self.locks.lock(hash).await;
        let held = match self.state(hash).await? {
            BlobState::Absent => 0,
            BlobState::Partial(n) | BlobState::Complete(n) => n,
        };
        if held != offset || self.complete_len(hash).await?.is_some() {
            return Err(BlobError::OffsetMismatch {
                server: held,
                client: offset,
            });
        }
        let limit = usize::try_from(max)
            .unwrap_or(usize::MAX)
            .min(MAX_CHUNK_BYTES);
        let mut buf = Vec::new();
        let mut ending = None;
        while let Some(item) = chunk.next().await {
            let Ok(bytes) = item else {
                ending = Some(BlobError::Interrupted { offset: 0 });
                break;
            };
            let fits = bytes.len().min(limit - buf.len());
            buf.extend_from_slice(&bytes[..fits]);
            if fits < bytes.len() {
                ending = Some(BlobError::ChunkTooLong {
                    length: offset + max,
                });
                break;
            }
        }
        let now = offset + buf.len() as u64;
        if !buf.is_empty() {
            // What arrived is kept, also from a broken connection: the retry sends the rest.
            self.store
                .put(&Self::part(hash, offset), PutPayload::from(buf))
                .await?;
        }
        match ending {
            None => Ok(now),
            Some(BlobError::Interrupted { .. }) => Err(BlobError::Interrupted { offset: now }),
            Some(e) => Err(e),
        }
    }

    async fn finish(&self, hash: &BlobHash, length: u64) -> Result<(), BlobError> {
        let _lock = self.locks.lock(hash).await;
        if self.complete_len(hash).await?.is_some() {
            self.delete_all_parts(hash).await;
            return Ok(());
        }
        let parts = self.parts(hash).await?;
        match self.publish(hash, length, &parts).await {
            Ok(()) => {}
            // Another process sharing the bucket published the same bytes and deleted the parts
            // while this one read them: the blob is there, verified by that process.
            Err(e) if self.complete_len(hash).await?.is_some() => {
                tracing::debug!(%hash, error = %e, "another process published the blob first");
            }
            Err(e) => return Err(e),
        }
        self.delete_all_parts(hash).await;
        Ok(())
    }

    async fn get(&self, hash: &BlobHash) -> Result<Option<ByteStream>, BlobError> {
        match self.store.get(&Self::complete(hash)).await {
            Ok(got) => Ok(Some(Box::pin(
                got.into_stream().map_err(std::io::Error::other),
            ))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
