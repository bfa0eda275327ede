//! The blob rules between the API and the stores: who may upload or read which hash, when an
//! upload is complete, and keeping the database's list of complete blobs in step with the blob
//! store. Handlers in [`crate::api::blobs`] only parse and answer.

use std::collections::{HashMap, HashSet};

use bukti_core::{
    RecordId,
    protocol::{MAX_CHUNK_BYTES, MissingBlob, MissingBlobsResponse, UploadResponse},
    record::PhotoRef,
    unit::UnitPath,
};
use serde::Serialize;

use super::{BlobError, BlobHash, BlobState, ByteStream, ChunkStream, DynBlobs};
use crate::{
    error::ApiError,
    store::{DynStore, photos::BlobMeta},
};

/// The blob store and its limits, as every handler sees them.
#[derive(Debug, Clone)]
pub struct Blobs {
    pub store: DynBlobs,
    /// Largest blob accepted, in bytes.
    pub max_bytes: u64,
}

/// One `PATCH` chunk as the handler parsed it.
#[derive(Debug)]
pub struct Chunk {
    pub offset: u64,
    pub length: u64,
    /// The request's `content-length`, when it sent one.
    pub declared: Option<u64>,
}

/// Where an upload stands: the stored offset, or complete with its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Partial(u64),
    Complete(u64),
}

/// What the records in `scope` say about `hash`; not found when none refers to it.
async fn referenced(
    store: &DynStore,
    scope: &UnitPath,
    hash: &BlobHash,
) -> Result<BlobMeta, ApiError> {
    store
        .referenced(scope, &[hash.as_str().to_owned()])
        .await?
        .remove(hash.as_str())
        .ok_or(ApiError::NotFound)
}

/// Whether `hash` is complete, repairing the database when the blob store finished it but the
/// server stopped before recording that.
async fn progress(
    store: &DynStore,
    blobs: &Blobs,
    hash: &BlobHash,
    meta: &BlobMeta,
) -> Result<Option<Progress>, ApiError> {
    if store
        .complete_blobs(&[hash.as_str().to_owned()])
        .await?
        .contains(hash.as_str())
    {
        return Ok(Some(Progress::Complete(meta.size)));
    }
    Ok(match blobs.store.state(hash).await? {
        BlobState::Complete(n) => {
            store
                .insert_blob(
                    hash.as_str(),
                    &BlobMeta {
                        size: n,
                        ..meta.clone()
                    },
                )
                .await?;
            Some(Progress::Complete(n))
        }
        BlobState::Partial(n) => Some(Progress::Partial(n)),
        BlobState::Absent => None,
    })
}

/// `POST /blobs/missing`: which of `hashes` the device should upload, and from where.
pub async fn missing(
    store: &DynStore,
    blobs: &Blobs,
    scope: &UnitPath,
    hashes: &[String],
) -> Result<MissingBlobsResponse, ApiError> {
    let mut seen = HashSet::new();
    let mut asked = Vec::new();
    for h in hashes {
        let hash = BlobHash::parse(h)?;
        if seen.insert(hash.clone()) {
            asked.push(hash);
        }
    }
    let names: Vec<String> = asked.iter().map(|h| h.as_str().to_owned()).collect();
    let known: HashMap<String, BlobMeta> = store.referenced(scope, &names).await?;
    let complete = store.complete_blobs(&names).await?;
    let mut out = MissingBlobsResponse::default();
    for hash in asked {
        let Some(meta) = known.get(hash.as_str()) else {
            out.unknown.push(hash.as_str().to_owned());
            continue;
        };
        if complete.contains(hash.as_str()) {
            continue;
        }
        match progress(store, blobs, &hash, meta).await? {
            Some(Progress::Complete(_)) => {}
            Some(Progress::Partial(offset)) => out.missing.push(MissingBlob {
                hash: hash.as_str().to_owned(),
                offset,
            }),
            None => out.missing.push(MissingBlob {
                hash: hash.as_str().to_owned(),
                offset: 0,
            }),
        }
    }
    Ok(out)
}

/// `HEAD /blobs/{hash}`: the stored offset of an upload the device may make.
pub async fn head(
    store: &DynStore,
    blobs: &Blobs,
    scope: &UnitPath,
    hash: &BlobHash,
) -> Result<Progress, ApiError> {
    let meta = referenced(store, scope, hash).await?;
    progress(store, blobs, hash, &meta)
        .await?
        .ok_or(ApiError::NotFound)
}

/// Refuses a blob longer than the server accepts, before anything is looked up.
pub fn check_length(chunk: &Chunk, max_bytes: u64) -> Result<(), ApiError> {
    if chunk.length > max_bytes {
        return Err(ApiError::BlobTooLarge { limit: max_bytes });
    }
    Ok(())
}

/// How many body bytes `chunk` may carry: no further than the blob's end and no more than one
/// chunk. Pure, so the upload protocol's arithmetic can be fuzzed on its own.
pub fn chunk_room(chunk: &Chunk) -> Result<u64, ApiError> {
    let room = chunk.length.saturating_sub(chunk.offset);
    if chunk.declared.is_some_and(|n| n > room) || chunk.offset > chunk.length {
        return Err(BlobError::ChunkTooLong {
            length: chunk.length,
        }
        .into());
    }
    let max = room.min(MAX_CHUNK_BYTES as u64);
    if chunk.declared.is_some_and(|n| n > max) {
        return Err(ApiError::BodyTooLarge);
    }
    Ok(max)
}

/// `PATCH /blobs/{hash}`: stores one chunk and, after the last, verifies and publishes the blob.
pub async fn append(
    store: &DynStore,
    blobs: &Blobs,
    scope: &UnitPath,
    hash: &BlobHash,
    chunk: Chunk,
    body: ChunkStream,
) -> Result<UploadResponse, ApiError> {
    check_length(&chunk, blobs.max_bytes)?;
    let meta = referenced(store, scope, hash).await?;
    let answer = |offset, complete| UploadResponse {
        hash: hash.as_str().to_owned(),
        offset,
        complete,
    };
    if let Some(Progress::Complete(n)) = progress(store, blobs, hash, &meta).await? {
        // Content-addressed: whoever uploaded these bytes before, they are the same bytes.
        return Ok(answer(n, true));
    }
    let max = chunk_room(&chunk)?;
    let offset = blobs.store.append(hash, chunk.offset, body, max).await?;
    metrics::counter!("bukti_blob_bytes_uploaded_total").increment(offset - chunk.offset);
    if offset < chunk.length {
        return Ok(answer(offset, false));
    }
    match blobs.store.finish(hash, chunk.length).await {
        Ok(()) => {}
        Err(BlobError::HashMismatch) => {
            metrics::counter!("bukti_blob_hash_mismatches_total").increment(1);
            tracing::warn!(%hash, "uploaded bytes do not match their hash; discarded");
            return Err(BlobError::HashMismatch.into());
        }
        Err(e) => return Err(e.into()),
    }
    store
        .insert_blob(
            hash.as_str(),
            &BlobMeta {
                size: chunk.length,
                ..meta
            },
        )
        .await?;
    metrics::counter!("bukti_blobs_completed_total").increment(1);
    tracing::info!(%hash, bytes = chunk.length, "blob complete");
    Ok(answer(chunk.length, true))
}

/// `GET /blobs/{hash}`: a complete blob that a record in `scope` refers to.
pub async fn open(
    store: &DynStore,
    blobs: &Blobs,
    scope: &UnitPath,
    hash: &BlobHash,
) -> Result<(BlobMeta, ByteStream), ApiError> {
    let meta = referenced(store, scope, hash).await?;
    if !store
        .complete_blobs(&[hash.as_str().to_owned()])
        .await?
        .contains(hash.as_str())
    {
        return Err(ApiError::NotFound);
    }
    let bytes = blobs.store.get(hash).await?.ok_or_else(|| {
        tracing::error!(%hash, "blob recorded as complete is missing from the blob store");
        ApiError::NotFound
    })?;
    Ok((meta, bytes))
}

/// A photo of a record as HQ sees it: its metadata and whether each rendition's bytes arrived.
#[derive(Debug, Clone, Serialize)]
pub struct PhotoView {
    pub hash: String,
    #[serde(flatten)]
    pub photo: PhotoRef,
    pub original_arrived: bool,
    pub derivative_arrived: bool,
    pub thumbnail_arrived: bool,
    pub original_requested: bool,
}

/// The photos of a record with their arrival flags; a photo whose bytes have not arrived is
/// listed as waiting, never left out.
pub async fn photo_views(
    store: &DynStore,
    id: RecordId,
    photos: &std::collections::BTreeMap<String, PhotoRef>,
) -> Result<Vec<PhotoView>, ApiError> {
    if photos.is_empty() {
        return Ok(Vec::new());
    }
    let mut hashes: Vec<String> = Vec::new();
    for (key, p) in photos {
        hashes.push(key.clone());
        hashes.extend(
            p.derivative
                .iter()
                .chain(&p.thumbnail)
                .map(|r| r.hash.clone()),
        );
    }
    let arrived = store.complete_blobs(&hashes).await?;
    let requested = store.original_requests(id).await?;
    let has = |r: &Option<bukti_core::record::Rendition>| {
        r.as_ref().is_some_and(|r| arrived.contains(&r.hash))
    };
    Ok(photos
        .iter()
        .map(|(key, p)| PhotoView {
            hash: key.clone(),
            original_arrived: arrived.contains(key),
            derivative_arrived: has(&p.derivative),
            thumbnail_arrived: has(&p.thumbnail),
            original_requested: requested.contains(key),
            photo: p.clone(),
        })
        .collect())
}
