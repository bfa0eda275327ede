//! Blobs in S3-compatible object storage (through `object_store`). Objects cannot be appended
//! to, so each stored chunk is its own object `partial/<hash>/<uploader>/<offset>` (zero-padded,
//! so they list in order); the resume offset is the sum of the contiguous parts from 0.
//! Finishing streams the parts through SHA-256 into a multipart upload of `blobs/<hash>` and
//! completes that upload only when the hash matches (otherwise it is aborted): an object is
//! either absent or complete and verified. When the blob is already published the parts are
//! only hashed: they prove that their uploader holds the bytes. Then the parts are deleted.
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

use super::{BlobError, BlobHash, BlobStore, ByteStream, ChunkStream, Uploader, local::HashLocks};

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

    /// Where `uploader`'s parts of `hash` live.
    fn parts_prefix(hash: &BlobHash, uploader: &Uploader) -> Path {
        Path::from(format!("partial/{hash}/{uploader}"))
    }

    fn part(hash: &BlobHash, uploader: &Uploader, offset: u64) -> Path {
        Path::from(format!("partial/{hash}/{uploader}/{offset:020}"))
    }

    /// The contiguous parts of an upload from 0, in order, as `(path, size)`.
    async fn parts(
        &self,
        hash: &BlobHash,
        uploader: &Uploader,
    ) -> Result<Vec<(Path, u64)>, BlobError> {
        let prefix = Self::parts_prefix(hash, uploader);
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

    /// Streams `parts` through SHA-256 and, when `publish`, into a multipart upload of the blob,
    /// completed only when the bytes are `length` long and hash to `hash`; otherwise aborted
    /// (nothing becomes visible). On a mismatch the parts are dropped so the upload starts over.
    async fn verify(
        &self,
        hash: &BlobHash,
        uploader: &Uploader,
        length: u64,
        parts: &[(Path, u64)],
        publish: bool,
    ) -> Result<(), BlobError> {
        let mut writer = if publish {
            let upload = self.store.put_multipart(&Self::complete(hash)).await?;
            Some(WriteMultipart::new(upload))
        } else {
            None
        };
        let mut hasher = Sha256::new();
        let mut total = 0u64;
        let read = async {
            for (path, _) in parts {
                let mut stream = self.store.get(path).await?.into_stream();
                while let Some(bytes) = stream.next().await {
                    let bytes = bytes?;
                    hasher.update(&bytes);
                    total += bytes.len() as u64;
                    if let Some(w) = writer.as_mut() {
                        // Bounded memory: wait while too many parts are in flight.
                        w.wait_for_capacity(2).await?;
                        w.put(bytes);
                    }
                }
            }
            Ok::<(), object_store::Error>(())
        };
        if let Err(e) = read.await {
            if let Some(w) = writer {
                let _ = w.abort().await;
            }
            return Err(match e {
                // Another process finished (or dropped) this very upload while this one read it.
                object_store::Error::NotFound { .. } => BlobError::OffsetMismatch {
                    server: 0,
                    client: length,
                },
                e => e.into(),
            });
        }
        let digest: [u8; 32] = hasher.finalize().into();
        if total != length || hex::encode(digest) != hash.as_str() {
            if let Some(w) = writer {
                let _ = w.abort().await;
            }
            self.delete_all_parts(hash, uploader).await;
            return Err(BlobError::HashMismatch);
        }
        if let Some(w) = writer {
            w.finish().await?;
        }
        Ok(())
    }

    /// Every part of an upload, also those a race left outside the chain: it is over.
    async fn delete_all_parts(&self, hash: &BlobHash, uploader: &Uploader) {
        let prefix = Self::parts_prefix(hash, uploader);
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
    async fn progress(&self, hash: &BlobHash, uploader: &Uploader) -> Result<u64, BlobError> {
        let parts = self.parts(hash, uploader).await?;
        Ok(parts.iter().map(|(_, s)| s).sum())
    }

    async fn append(
        &self,
        hash: &BlobHash,
        uploader: &Uploader,
        offset: u64,
        mut chunk: ChunkStream,
        max: u64,
    ) -> Result<u64, BlobError> {
        let _lock = self.locks.lock(&format!("{hash}/{uploader}")).await;
        let held = self.progress(hash, uploader).await?;
        if held != offset {
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
                .put(&Self::part(hash, uploader, offset), PutPayload::from(buf))
                .await?;
        }
        match ending {
            None => Ok(now),
            Some(BlobError::Interrupted { .. }) => Err(BlobError::Interrupted { offset: now }),
            Some(e) => Err(e),
        }
    }

    async fn finish(
        &self,
        hash: &BlobHash,
        uploader: &Uploader,
        length: u64,
    ) -> Result<(), BlobError> {
        let _lock = self.locks.lock(&format!("{hash}/{uploader}")).await;
        let parts = self.parts(hash, uploader).await?;
        let held: u64 = parts.iter().map(|(_, s)| s).sum();
        if held != length {
            // Another process finished (or dropped) this upload while this one waited.
            return Err(BlobError::OffsetMismatch {
                server: held,
                client: length,
            });
        }
        let publish = self.complete_len(hash).await?.is_none();
        self.verify(hash, uploader, length, &parts, publish).await?;
        self.delete_all_parts(hash, uploader).await;
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
