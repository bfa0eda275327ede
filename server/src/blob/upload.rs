//! The blob rules between the API and the stores: who may upload or read which hash, when an
//! upload is complete, and keeping the database's list of complete blobs and their holders in
//! step with the blob store. The API's blob handlers only parse the request and answer.
//!
//! Content addressing is not a capability. A device may upload any hash a record in its scope
//! names, but an upload counts as complete for it only once its own officer's devices sent those
//! bytes and they verified; until then it is asked for them like for any new photo (a possession
//! upload, in its own partial, even when the blob is already stored). Reads go through records
//! that legitimately hold the blob: records naming the hash whose officer holds the bytes.

use std::collections::{HashMap, HashSet};

use bukti_core::{
    RecordId,
    protocol::{MAX_CHUNK_BYTES, MissingBlob, MissingBlobsResponse, UploadResponse},
    record::PhotoRef,
};
use serde::Serialize;

use super::{BlobError, BlobHash, ByteStream, ChunkStream, DynBlobs, Uploader};
use crate::{
    directory::Principal,
    service::ServiceError,
    store::{
        DynStore,
        photos::{BlobMeta, Scope},
    },
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

/// The records `caller` may go through: its unit subtree and, for a device enrolled for its
/// officer's own records, only that officer's (none at all if such a device had no officer).
pub fn scope_of(caller: &Principal) -> Scope<'_> {
    Scope {
        unit: &caller.unit,
        officer: caller
            .own_records_only
            .then(|| caller.officer.as_deref().unwrap_or_default()),
    }
}

/// The officer a device uploads for: the one who will hold what it sends.
fn officer_of(device: &Principal) -> Result<&str, ServiceError> {
    device.officer.as_deref().ok_or_else(|| {
        ServiceError::NotAllowed(
            "this device is not enrolled for an officer; enroll it again".into(),
        )
    })
}

/// What the records in the device's scope say about `hash`; not found when none refers to it.
async fn referenced(
    store: &DynStore,
    device: &Principal,
    hash: &BlobHash,
) -> Result<BlobMeta, ServiceError> {
    store
        .referenced(scope_of(device), &[hash.as_str().to_owned()])
        .await?
        .remove(hash.as_str())
        .ok_or(ServiceError::NotFound)
}

/// Whether `officer` holds `hash`.
async fn holds(store: &DynStore, officer: &str, hash: &BlobHash) -> Result<bool, ServiceError> {
    Ok(store
        .held(officer, &[hash.as_str().to_owned()])
        .await?
        .contains(hash.as_str()))
}

/// `POST /blobs/missing`: which of `hashes` the device should upload, and from where. A hash
/// stored from someone else's upload is missing for this device too, from the offset of its own
/// upload, exactly as if the server had never seen the bytes.
pub async fn missing(
    store: &DynStore,
    blobs: &Blobs,
    device: &Principal,
    hashes: &[String],
) -> Result<MissingBlobsResponse, ServiceError> {
    let officer = officer_of(device)?;
    let uploader = Uploader::officer(officer);
    let mut seen = HashSet::new();
    let mut asked = Vec::new();
    for h in hashes {
        let hash = BlobHash::parse(h)?;
        if seen.insert(hash.clone()) {
            asked.push(hash);
        }
    }
    let names: Vec<String> = asked.iter().map(|h| h.as_str().to_owned()).collect();
    let known: HashMap<String, BlobMeta> = store.referenced(scope_of(device), &names).await?;
    let held = store.held(officer, &names).await?;
    let mut out = MissingBlobsResponse::default();
    for hash in asked {
        if !known.contains_key(hash.as_str()) {
            out.unknown.push(hash.as_str().to_owned());
        } else if !held.contains(hash.as_str()) {
            out.missing.push(MissingBlob {
                hash: hash.as_str().to_owned(),
                offset: blobs.store.progress(&hash, &uploader).await?,
            });
        }
    }
    Ok(out)
}

/// `HEAD /blobs/{hash}`: where the device's upload of `hash` stands (0 before its first byte).
pub async fn head(
    store: &DynStore,
    blobs: &Blobs,
    device: &Principal,
    hash: &BlobHash,
) -> Result<Progress, ServiceError> {
    let officer = officer_of(device)?;
    let meta = referenced(store, device, hash).await?;
    if holds(store, officer, hash).await? {
        return Ok(Progress::Complete(meta.size));
    }
    let offset = blobs
        .store
        .progress(hash, &Uploader::officer(officer))
        .await?;
    Ok(Progress::Partial(offset))
}

/// Refuses a blob longer than the server accepts, before anything is looked up.
pub fn check_length(chunk: &Chunk, max_bytes: u64) -> Result<(), ServiceError> {
    if chunk.length > max_bytes {
        return Err(ServiceError::BlobTooLarge { limit: max_bytes });
    }
    Ok(())
}

/// How many body bytes `chunk` may carry: no further than the blob's end and no more than one
/// chunk. Pure, so the upload protocol's arithmetic can be fuzzed on its own.
pub fn chunk_room(chunk: &Chunk) -> Result<u64, ServiceError> {
    let room = chunk.length.saturating_sub(chunk.offset);
    if chunk.declared.is_some_and(|n| n > room) || chunk.offset > chunk.length {
        return Err(BlobError::ChunkTooLong {
            length: chunk.length,
        }
        .into());
    }
    let max = room.min(MAX_CHUNK_BYTES as u64);
    if chunk.declared.is_some_and(|n| n > max) {
        return Err(ServiceError::ChunkTooLarge);
    }
    Ok(max)
}

/// `PATCH /blobs/{hash}`: stores one chunk and, after the last, verifies the device's upload;
/// then its officer holds the blob (published now, unless it already was).
pub async fn append(
    store: &DynStore,
    blobs: &Blobs,
    device: &Principal,
    hash: &BlobHash,
    chunk: Chunk,
    body: ChunkStream,
) -> Result<UploadResponse, ServiceError> {
    check_length(&chunk, blobs.max_bytes)?;
    let officer = officer_of(device)?;
    let meta = referenced(store, device, hash).await?;
    let answer = |offset, complete| UploadResponse {
        hash: hash.as_str().to_owned(),
        offset,
        complete,
    };
    if holds(store, officer, hash).await? {
        // This officer's devices sent these bytes before: the same bytes, whatever the offset.
        return Ok(answer(meta.size, true));
    }
    let uploader = Uploader::officer(officer);
    let max = chunk_room(&chunk)?;
    let offset = blobs
        .store
        .append(hash, &uploader, chunk.offset, body, max)
        .await?;
    metrics::counter!("bukti_blob_bytes_uploaded_total").increment(offset - chunk.offset);
    if offset < chunk.length {
        return Ok(answer(offset, false));
    }
    match blobs.store.finish(hash, &uploader, chunk.length).await {
        Ok(()) => {}
        Err(BlobError::HashMismatch) => {
            metrics::counter!("bukti_blob_hash_mismatches_total").increment(1);
            tracing::warn!(%hash, "uploaded bytes do not match their hash; discarded");
            return Err(BlobError::HashMismatch.into());
        }
        Err(e) => return Err(e.into()),
    }
    let meta = BlobMeta {
        size: chunk.length,
        ..meta
    };
    store
        .insert_held_blob(hash.as_str(), &meta, officer)
        .await?;
    metrics::counter!("bukti_blobs_completed_total").increment(1);
    tracing::info!(%hash, bytes = chunk.length, officer, "blob complete");
    crate::photo_check::on_arrival(store, blobs, hash).await;
    Ok(answer(chunk.length, true))
}

/// `GET /blobs/{hash}`: a complete blob that a record `caller` may read legitimately holds.
/// Anything else is not found, exactly like a hash nobody ever uploaded.
pub async fn open(
    store: &DynStore,
    blobs: &Blobs,
    caller: &Principal,
    hash: &BlobHash,
) -> Result<(BlobMeta, ByteStream), ServiceError> {
    let meta = store
        .readable_blob(scope_of(caller), hash.as_str())
        .await?
        .ok_or(ServiceError::NotFound)?;
    let bytes = blobs.store.get(hash).await?.ok_or_else(|| {
        tracing::error!(%hash, "blob recorded as complete is missing from the blob store");
        ServiceError::NotFound
    })?;
    Ok((meta, bytes))
}

/// A photo of a record as HQ sees it: its metadata and whether each rendition's bytes arrived.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
/// listed as waiting, never left out. Bytes count as arrived only when the record's officer
/// holds them: a record naming someone else's photo shows it waiting.
pub async fn photo_views(
    store: &DynStore,
    id: RecordId,
    photos: &std::collections::BTreeMap<String, PhotoRef>,
) -> Result<Vec<PhotoView>, ServiceError> {
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
    let arrived = store.held_for_record(id, &hashes).await?;
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
