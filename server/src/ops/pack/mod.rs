//! `bukti-server pack`: the evidence pack of a unit's subtree for a period and optionally some
//! LKE areas (layout in `bukti_core::evidence::pack`), checked offline by `bukti verify`.
//!
//! Streamed: the store is walked page by page in id order, each record's files are written to
//! the zip as they are made, photos are copied chunk by chunk from the blob store, and the index
//! page and the CSV grow in temporary files copied in at the end; only the manifest's list of
//! files and records (a path, a hash and a size each) stays in memory. The evidence log's head is
//! read and signed last, so every entry in the pack lies within it.

mod render;
mod zipout;

use std::{collections::BTreeSet, path::PathBuf};

use bukti_core::{
    Record,
    evidence::pack::{self, Manifest, ManifestRecord, PackPush},
    ingest, record,
    unit::UnitPath,
};
use futures::StreamExt;
use jiff::Timestamp;
use serde::Serialize;

use self::zipout::ZipOut;
use super::OpsError;
use crate::{
    blob::{BlobHash, DynBlobs},
    evidence::ServerKey,
    store::{DynStore, maintenance::DocRow},
};

const PAGE: u32 = 200;

/// What to pack.
#[derive(Debug, Clone)]
pub struct PackOptions {
    pub unit: UnitPath,
    /// Records whose activity started (or, without a start, was captured) at or after this.
    pub from: Option<Timestamp>,
    /// … and before this.
    pub to: Option<Timestamp>,
    /// LKE area codes (`MP`, `PW`, …); empty for every area and untagged records.
    pub areas: Vec<String>,
    pub out: PathBuf,
}

impl PackOptions {
    /// Options from the command line: `from` and `to` are days (`2026-03-01`) in the unit's
    /// time zone, both included.
    pub fn parse(
        unit: &str,
        from: Option<&str>,
        to: Option<&str>,
        areas: Vec<String>,
        out: PathBuf,
    ) -> Result<Self, String> {
        let unit = UnitPath::parse(unit).map_err(|e| format!("--unit {unit:?}: {e}"))?;
        let zone = unit.time_zone().time_zone();
        let day = |flag: &str, s: &str, next: bool| -> Result<Timestamp, String> {
            let d: jiff::civil::Date = s
                .parse()
                .map_err(|e| format!("{flag} {s:?} is not a day like 2026-03-01: {e}"))?;
            let d = if next {
                d.tomorrow().map_err(|e| e.to_string())?
            } else {
                d
            };
            d.to_zoned(zone.clone())
                .map(|z| z.timestamp())
                .map_err(|e| e.to_string())
        };
        Ok(Self {
            from: from.map(|s| day("--from", s, false)).transpose()?,
            to: to.map(|s| day("--to", s, true)).transpose()?,
            unit,
            areas: areas.iter().map(|a| a.trim().to_uppercase()).collect(),
            out,
        })
    }
}

/// What a pack holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PackSummary {
    pub records: u64,
    pub files: u64,
    pub bytes: u64,
    pub photos: u64,
    /// Photos the records name whose bytes the server does not hold (never uploaded).
    pub photos_missing: u64,
    pub log_head_seq: i64,
    pub server_key: String,
}

/// How far a pack has got: what the command line prints and the console's export page shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PackProgress {
    /// Records of the store read so far: the pack walks the whole store in id order and keeps
    /// those the options select, so this is what moves steadily towards `total`.
    pub read: u64,
    /// Records in the store when the pack began (or `read`, when more arrived meanwhile).
    pub total: u64,
    /// Records written into the pack so far.
    pub records: u64,
    /// Bytes of the pack's files written so far, before compression.
    pub bytes: u64,
}

/// Writes the pack to `opts.out`; `progress` after each record written and each page of the
/// store read (the command line and the console's export jobs both watch this one path).
pub async fn pack(
    store: &DynStore,
    blobs: &DynBlobs,
    key: &ServerKey,
    opts: &PackOptions,
    progress: &mut (dyn FnMut(PackProgress) + Send),
) -> Result<PackSummary, OpsError> {
    let total = store.record_count().await?;
    let mut out = ZipOut::create(&opts.out)?;
    let mut summary = PackSummary {
        server_key: key.public_hex().to_owned(),
        ..PackSummary::default()
    };
    let mut records = Vec::new();
    let mut side = render::SideFiles::new().map_err(|e| out.io(e))?;
    let (mut after, mut done) = (None, 0);
    let at = |read: u64, summary: &PackSummary, out: &ZipOut| PackProgress {
        read,
        total: total.max(read),
        records: summary.records,
        bytes: out.bytes,
    };
    loop {
        let rows = store.documents_after(after, PAGE).await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.id);
        done += rows.len() as u64;
        for row in rows {
            let Some((rec, heads, folders)) = select(&row, opts) else {
                continue;
            };
            write_record(
                store,
                blobs,
                &mut out,
                &row,
                &rec,
                (&heads, &folders),
                &mut summary,
            )
            .await?;
            side.add(&rec, &folders).map_err(|e| out.io(e))?;
            summary.records += 1;
            records.push(ManifestRecord {
                id: rec.id,
                heads,
                folders,
            });
            progress(at(done, &summary, &out));
        }
        progress(at(done, &summary, &out));
    }
    side.finish(&mut out, opts)?;

    let head = store.log_head().await?;
    let manifest = Manifest {
        format: pack::FORMAT.to_owned(),
        server_key: key.public_hex().to_owned(),
        created_ms: Timestamp::now().as_millisecond(),
        unit: opts.unit.as_str().to_owned(),
        from: opts.from.map(|t| t.to_string()),
        to: opts.to.map(|t| t.to_string()),
        areas: opts.areas.clone(),
        log_head: key.sign_head(&head),
        records,
        files: Vec::new(),
    };
    summary.log_head_seq = head.seq;
    let (files, bytes) = (out.files.len() as u64, out.bytes);
    summary.files = files;
    summary.bytes = bytes;
    let manifest = Manifest {
        files: std::mem::take(&mut out.files),
        ..manifest
    };
    let text = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    out.raw(pack::MANIFEST, text.as_bytes())?;
    out.raw(pack::SIGNATURE, format!("{}\n", key.sign(&text)).as_bytes())?;
    out.finish()?;
    Ok(summary)
}

/// The record in `row`, its heads and its folders, when the options select it.
fn select(row: &DocRow, opts: &PackOptions) -> Option<(Record, Vec<String>, Vec<String>)> {
    let mut doc = match ingest::load_document(&row.doc) {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(record = %row.id, error = %e, "document unreadable; left out of the pack");
            return None;
        }
    };
    let rec = record::doc::read(&doc).ok()?;
    let unit = UnitPath::parse(&rec.unit).ok()?;
    if !opts.unit.contains(&unit) {
        return None;
    }
    let at = rec.started_at.unwrap_or(rec.captured_at);
    if opts.from.is_some_and(|f| at < f) || opts.to.is_some_and(|t| at >= t) {
        return None;
    }
    let tags: BTreeSet<&str> = rec
        .lke
        .iter()
        .map(String::as_str)
        .filter(|c| opts.areas.is_empty() || opts.areas.iter().any(|a| a == pack::area_of(c)))
        .collect();
    let folders: Vec<String> = if tags.is_empty() {
        if !opts.areas.is_empty() {
            return None;
        }
        vec![pack::record_folder(None, rec.id)]
    } else {
        tags.iter()
            .map(|c| pack::record_folder(Some(c), rec.id))
            .collect()
    };
    let heads = ingest::heads_to_strings(&doc.get_heads());
    Some((rec, heads, folders))
}

/// Writes one record's files into each of its folders.
async fn write_record(
    store: &DynStore,
    blobs: &DynBlobs,
    out: &mut ZipOut,
    row: &DocRow,
    rec: &Record,
    (record_heads, folders): (&[String], &[String]),
    summary: &mut PackSummary,
) -> Result<(), OpsError> {
    // The log may have moved on since the document was read (a push landed meanwhile): keep the
    // entries up to the one that left the document as read, so the pack agrees with itself.
    let mut entries = store.log_of_record(rec.id).await?;
    let mut heads = record_heads.to_vec();
    heads.sort();
    if let Some(at) = entries.iter().rposition(|e| {
        let mut h = e.heads.clone();
        h.sort();
        h == heads
    }) {
        entries.truncate(at + 1);
    }
    let mut pushes: Vec<PackPush> = Vec::new();
    for hash in entries.iter().filter_map(|e| e.push.as_deref()) {
        if pushes.iter().any(|p| p.hash == hash) {
            continue;
        }
        let Some(p) = store.signed_push(hash).await? else {
            continue;
        };
        let keys = store.device_keys(&p.device).await?;
        let receipt = match store.receipt_of(&p.hash).await? {
            Some(json) => Some(serde_json::from_str(&json).map_err(|e| {
                OpsError::Store(crate::store::StoreError::Corrupt(format!(
                    "the receipt of push {}: {e}",
                    p.hash
                )))
            })?),
            None => None,
        };
        pushes.push(PackPush {
            receipt,
            hash: p.hash,
            device: p.device,
            message: p.message,
            signature: p.signature,
            device_keys: keys.iter().map(hex::encode).collect(),
        });
    }
    let log = serde_json::to_vec_pretty(&entries).unwrap_or_default();
    let pushes = serde_json::to_vec_pretty(&pushes).unwrap_or_default();
    let json = pack::record_json(rec);
    let html = render::record_html(rec, &entries);
    for folder in folders {
        out.put(&format!("{folder}/record.json"), &json, true)?;
        out.put(&format!("{folder}/record.automerge"), &row.doc, false)?;
        out.put(&format!("{folder}/record.html"), html.as_bytes(), true)?;
        out.put(&format!("{folder}/log.json"), &log, true)?;
        out.put(&format!("{folder}/pushes.json"), &pushes, true)?;
        for (hash, photo) in &rec.photos {
            if write_photo(blobs, out, folder, hash, photo).await? {
                summary.photos += 1;
            } else {
                summary.photos_missing += 1;
            }
        }
    }
    Ok(())
}

/// Copies a photo's original (or, without it, its display copy) into `folder/photos/`; false
/// when the server holds neither.
async fn write_photo(
    blobs: &DynBlobs,
    out: &mut ZipOut,
    folder: &str,
    hash: &str,
    photo: &record::PhotoRef,
) -> Result<bool, OpsError> {
    let ext = if photo.content_type == "image/png" {
        "png"
    } else {
        "jpg"
    };
    let mut candidates = vec![(hash.to_owned(), ext)];
    if let Some(d) = &photo.derivative {
        candidates.push((d.hash.clone(), "jpg"));
    }
    for (name, ext) in candidates {
        let Ok(blob) = BlobHash::parse(&name) else {
            continue;
        };
        let Some(mut stream) = blobs.get(&blob).await.map_err(blob_error)? else {
            continue;
        };
        out.start(&format!("{folder}/photos/{name}.{ext}"), false)?;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| out.io(e))?;
            out.write(&chunk)?;
        }
        out.end()?;
        return Ok(true);
    }
    Ok(false)
}

fn blob_error(e: crate::blob::BlobError) -> OpsError {
    OpsError::Task(format!("reading a photo from the blob store: {e}"))
}
