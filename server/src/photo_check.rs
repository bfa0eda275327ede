//! What the server checks when a photo's bytes arrive whole: that they are what the record
//! claimed at capture (photo binding), and whether the picture was already offered as evidence
//! in another record (photo reuse). The device's own claims can be forged, so the server reads
//! the bytes itself: an original's EXIF (from its first bytes only), a display copy's pixels
//! (decoded under the pipeline's limits) for its size, perceptual hash and reuse fingerprint.
//!
//! Findings are anomaly flags ([`bukti_core::evidence::flags`]), advice for reviewers: a check
//! that fails is logged and never fails the upload that triggered it.

use std::collections::{BTreeSet, HashMap};

use bukti_core::{
    Record, RecordId,
    evidence::flags::{self, Flag, FlagCode, Observed},
    ingest,
    photo::{
        self, PipelineOptions, exif, phash,
        reuse::{self, Fingerprint, Verdict, index},
    },
    record::{self, PhotoRef},
    unit::UnitPath,
};
use futures::StreamExt;
use jiff::Timestamp;

use crate::{
    blob::{BlobHash, upload::Blobs},
    service::ServiceError,
    store::{DynStore, reuse::Claim},
};

/// EXIF sits in a JPEG's first segments (at most 64 KiB each); this much of an original is read.
const EXIF_PREFIX_BYTES: usize = 256 * 1024;
/// A display copy is at most 1600 px on its long edge: a few hundred kilobytes. More is read as
/// "not a display copy" rather than decoded.
const MAX_DISPLAY_BYTES: usize = 8 * 1024 * 1024;
/// Records looked at per blob: a hash named by more is itself the anomaly.
const MAX_CLAIMS: i64 = 100;
/// Full comparisons per new photo, whatever the index proposes.
const MAX_COMPARED: usize = 32;

/// Checks the blob `hash`, complete and verified, against every record naming it, and raises
/// what it finds.
pub async fn on_arrival(store: &DynStore, blobs: &Blobs, hash: &BlobHash) {
    if let Err(e) = check(store, blobs, hash).await {
        tracing::warn!(%hash, error = %e, "photo check failed; no flags raised for it");
    }
}

async fn check(store: &DynStore, blobs: &Blobs, hash: &BlobHash) -> Result<(), ServiceError> {
    let claims = store.claims(hash.as_str(), MAX_CLAIMS).await?;
    if claims.is_empty() {
        return Ok(());
    }
    let records = load(store, &claims).await?;
    let mut raised = flags::exact_copies(claims.iter().map(|c| (c.record, c.photo.as_str())));
    let originals: Vec<&Claim> = claims.iter().filter(|c| c.role == "original").collect();
    if !originals.is_empty() {
        let bytes = read(blobs, hash, EXIF_PREFIX_BYTES).await?;
        for c in originals {
            let Some((record, claim)) = claimed(&records, c) else {
                continue;
            };
            let zone = UnitPath::parse(&record.unit).map(|u| u.time_zone().time_zone());
            let info = exif::read(
                &bytes,
                &zone.unwrap_or(jiff::tz::TimeZone::UTC),
                Timestamp::now(),
            );
            let seen = Observed {
                taken_at: info.taken_at,
                gps: info.gps.map(|g| (g.lat, g.lon)),
                camera: info.camera,
                software: info.software,
            };
            for note in flags::original_mismatches(claim, &seen) {
                raised.push((
                    c.record,
                    Flag::photo(FlagCode::PhotoMismatch, &c.photo, None, note),
                ));
            }
        }
    }
    let displays: Vec<&Claim> = claims.iter().filter(|c| c.role == "derivative").collect();
    if !displays.is_empty() {
        raised.extend(check_display(store, blobs, hash, &records, &displays).await?);
    }
    if !raised.is_empty() {
        store
            .raise_flags(&raised, Timestamp::now().as_millisecond())
            .await?;
    }
    Ok(())
}

async fn check_display(
    store: &DynStore,
    blobs: &Blobs,
    hash: &BlobHash,
    records: &HashMap<RecordId, Record>,
    displays: &[&Claim],
) -> Result<Vec<(RecordId, Flag)>, ServiceError> {
    let mut out = Vec::new();
    let bytes = read(blobs, hash, MAX_DISPLAY_BYTES + 1).await?;
    let looked = tokio::task::spawn_blocking(move || -> Result<_, photo::PhotoError> {
        let options = PipelineOptions {
            max_input_bytes: MAX_DISPLAY_BYTES as u64,
            max_pixels: 4096 * 4096,
            max_alloc: 64 * 1024 * 1024,
            ..PipelineOptions::default()
        };
        let rgb = photo::decode_rgb(&bytes, &options)?;
        let (w, h) = rgb.dimensions();
        let phash = phash::of_rgb(rgb.as_raw(), w, h)?;
        Ok(((w, h), phash, reuse::fingerprint_rgb(rgb.as_raw(), w, h)?))
    })
    .await
    .map_err(|e| ServiceError::corrupt(format!("photo check task failed: {e}")))?;
    let (size, phash, print) = match looked {
        Ok(seen) => seen,
        Err(e) => {
            for c in displays {
                let note = format!("display copy unreadable: {e}");
                out.push((
                    c.record,
                    Flag::photo(FlagCode::PhotoMismatch, &c.photo, None, &note),
                ));
            }
            return Ok(out);
        }
    };
    for c in displays {
        let Some((_, claim)) = claimed(records, c) else {
            continue;
        };
        let Some(rendition) = &claim.derivative else {
            continue;
        };
        let claimed_phash = u64::from_str_radix(&claim.phash, 16).ok();
        for note in flags::display_mismatches(rendition, claimed_phash, size, phash) {
            out.push((
                c.record,
                Flag::photo(FlagCode::PhotoMismatch, &c.photo, None, note),
            ));
        }
    }
    out.extend(reused(store, hash, displays, &print).await?);
    let (bands, anchors) = index::stored_keys(&print.index_keys());
    store
        .file_fingerprint(
            hash.as_str(),
            print.global_hash() as i64,
            &print.to_bytes(),
            &bands,
            &anchors,
        )
        .await?;
    Ok(out)
}

/// Other records' display copies that this one copies (or may: a second camera), each pair
/// flagged on both records, pointing at the other.
async fn reused(
    store: &DynStore,
    hash: &BlobHash,
    displays: &[&Claim],
    print: &Fingerprint,
) -> Result<Vec<(RecordId, Flag)>, ServiceError> {
    let mut out = Vec::new();
    for (other, bytes) in lookup(store, &print.query_keys(), hash.as_str()).await? {
        let Ok(stored) = Fingerprint::from_bytes(&bytes) else {
            tracing::error!(hash = %other, "stored fingerprint unreadable");
            continue;
        };
        let comparison = reuse::compare(print, &stored);
        let code = match comparison.verdict {
            Verdict::Reused => FlagCode::PhotoReused,
            Verdict::NeedsReview => FlagCode::PhotoSimilar,
            Verdict::Different => continue,
        };
        let score = Some(comparison.inliers as f64);
        for theirs in store.claims(&other, MAX_CLAIMS).await? {
            for ours in displays.iter().filter(|c| c.record != theirs.record) {
                let (a, b) = (ours.record.to_string(), theirs.record.to_string());
                out.push((ours.record, Flag::photo(code, &ours.photo, score, &b)));
                out.push((theirs.record, Flag::photo(code, &theirs.photo, score, &a)));
            }
        }
    }
    Ok(out)
}

/// The stored fingerprints worth a full comparison with a new photo's (`query`, its keys):
/// those filed under one of its global bands and globally close, and those sharing the most
/// local keys; never `itself`, at most [`MAX_COMPARED`]. Only the key indexes are read, a
/// bounded number of rows at any number of stored photos (`tests/benches/reuse_sql.rs` times it).
pub async fn lookup(
    store: &DynStore,
    query: &index::QueryKeys,
    itself: &str,
) -> Result<Vec<(String, Vec<u8>)>, ServiceError> {
    let (bands, anchors) = index::query_keys(query);
    let mut candidates: BTreeSet<String> = store
        .band_matches(&bands)
        .await?
        .into_iter()
        .filter(|(_, global)| index::global_candidate(query, *global as u64))
        .map(|(h, _)| h)
        .collect();
    candidates.extend(store.anchor_matches(&anchors).await?);
    candidates.remove(itself);
    let candidates: Vec<String> = candidates.into_iter().take(MAX_COMPARED).collect();
    Ok(store.fingerprints(&candidates).await?)
}

fn claimed<'a>(
    records: &'a HashMap<RecordId, Record>,
    c: &Claim,
) -> Option<(&'a Record, &'a PhotoRef)> {
    let record = records.get(&c.record)?;
    Some((record, record.photos.get(&c.photo)?))
}

/// The records claiming the blob, read from their documents.
async fn load(
    store: &DynStore,
    claims: &[Claim],
) -> Result<HashMap<RecordId, Record>, ServiceError> {
    let ids: Vec<RecordId> = claims
        .iter()
        .map(|c| c.record)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let docs = store.load_documents(&ids).await?;
    tokio::task::spawn_blocking(move || {
        docs.into_iter()
            .filter_map(|(id, stored)| {
                let doc = ingest::load_document(&stored.doc).ok()?;
                Some((id, record::doc::read(&doc).ok()?))
            })
            .collect()
    })
    .await
    .map_err(|e| ServiceError::corrupt(format!("photo check task failed: {e}")))
}

/// At most the first `limit` bytes of a published blob.
async fn read(blobs: &Blobs, hash: &BlobHash, limit: usize) -> Result<Vec<u8>, ServiceError> {
    let Some(mut stream) = blobs.store.get(hash).await? else {
        return Err(ServiceError::NotFound);
    };
    let mut bytes = Vec::new();
    while bytes.len() < limit {
        let Some(chunk) = stream.next().await else {
            break;
        };
        let chunk =
            chunk.map_err(|e| ServiceError::corrupt(format!("reading blob {hash}: {e}")))?;
        let room = limit - bytes.len();
        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    Ok(bytes)
}
