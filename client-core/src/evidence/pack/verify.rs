//! Checking an evidence pack offline: the manifest's signature under the server key, every
//! file's size and SHA-256, nothing missing or added, and each record's copies: the document's
//! heads those the manifest signs, `record.json` what the document reads as, its photos the
//! record's own, its evidence-log entries hashed and ending at the document's heads, every
//! change of the document logged, and each signed push verifying under its device's key and
//! carrying the changes its entries name. Stops at the first failure and names it.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::{
    EntryInfo, Limits, MANIFEST, Manifest, ManifestRecord, PackFiles, PackPush, SIGNATURE,
};
use crate::{
    RecordId,
    evidence::{self, log::LogEntry, push::SignedPush, receipt::Receipt},
    ingest, record,
};

/// Where the key the manifest was checked under came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    /// Given by the person verifying (`--server-key`): the pack is the server's.
    Given,
    /// Read from the pack itself: the pack is consistent, but anyone could have made it.
    Pack,
}

/// What a pack that checks out holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackReport {
    pub server_key: String,
    pub key_source: KeySource,
    pub unit: String,
    pub records: usize,
    pub files: usize,
    pub bytes: u64,
    pub photos: usize,
    pub log_entries: usize,
    pub signed_pushes: usize,
    /// Signed pushes whose server receipt is in the pack and checks out.
    pub receipts: usize,
    pub log_head_seq: i64,
}

/// Why a pack does not check out; the first failure found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackError {
    #[error("the pack has {count} entries, more than the {max} a pack may hold")]
    TooManyEntries { count: usize, max: usize },
    #[error("entry {name:?} {why}: refused")]
    UnsafeName { name: String, why: &'static str },
    #[error("entry {0:?} appears twice in the zip: refused")]
    DuplicateName(String),
    #[error("entry {name:?} unpacks to {size} bytes, more than the {max} allowed: refused")]
    EntryTooLarge { name: String, size: u64, max: u64 },
    #[error(
        "entry {name:?} unpacks to {size} bytes from {compressed}: a compression ratio that suggests a zip bomb; refused"
    )]
    ZipBomb {
        name: String,
        size: u64,
        compressed: u64,
    },
    #[error("cannot read entry {name:?}: {why}")]
    Unreadable { name: String, why: String },
    #[error("the manifest is not a bukti-pack/1 manifest: {0}")]
    BadManifest(String),
    #[error(
        "the manifest's signature does not verify under server key {key} ({source}): the pack was altered or made by someone else"
    )]
    BadSignature {
        key: String,
        source: evidence::SignatureError,
    },
    #[error("file {0} is in the manifest but missing from the pack")]
    Missing(String),
    #[error("file {0} is in the pack but not in the manifest (added after the pack was signed)")]
    Added(String),
    #[error("file {path} is {found} bytes, but the manifest says {expected}: it was altered")]
    WrongSize {
        path: String,
        found: u64,
        expected: u64,
    },
    #[error("file {0}'s SHA-256 does not match the manifest: it was altered")]
    WrongHash(String),
    #[error("the evidence log's signed head does not check out: {0}")]
    BadHead(String),
    #[error("record {id} ({folder}): {what}")]
    Record {
        id: String,
        folder: String,
        what: String,
    },
}

/// Checks the pack whose zip entries are `entries`, read through `files`, under `trusted` (a
/// server public key in hex) or else the key the pack names.
pub fn verify(
    entries: &[EntryInfo],
    files: &mut dyn PackFiles,
    trusted: Option<&str>,
    limits: &Limits,
) -> Result<PackReport, PackError> {
    super::check_entries(entries, limits)?;
    let read = |files: &mut dyn PackFiles, name: &str| {
        files
            .read(name, limits.max_entry_bytes)
            .map_err(|why| PackError::Unreadable {
                name: name.to_owned(),
                why,
            })
    };
    let names: HashSet<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    for name in [MANIFEST, SIGNATURE] {
        if !names.contains(name) {
            return Err(PackError::Missing(name.to_owned()));
        }
    }
    let manifest_bytes = read(files, MANIFEST)?;
    let signature = read(files, SIGNATURE)?;
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| PackError::BadManifest(e.to_string()))?;
    if manifest.format != super::FORMAT {
        return Err(PackError::BadManifest(format!(
            "its format is {:?}",
            manifest.format
        )));
    }
    let (key, key_source) = match trusted {
        Some(k) => (k.trim().to_lowercase(), KeySource::Given),
        None => (manifest.server_key.clone(), KeySource::Pack),
    };
    let text = String::from_utf8(manifest_bytes)
        .map_err(|_| PackError::BadManifest("it is not UTF-8".into()))?;
    let sig = String::from_utf8_lossy(&signature);
    evidence::public_key(&key)
        .and_then(|k| evidence::verify(&k, &text, sig.trim(), "manifest"))
        .map_err(|source| PackError::BadSignature {
            key: key.clone(),
            source,
        })?;

    // Every file present, none added, each as the manifest says.
    let listed: HashMap<&str, &super::ManifestFile> = manifest
        .files
        .iter()
        .map(|f| (f.path.as_str(), f))
        .collect();
    if let Some(f) = manifest
        .files
        .iter()
        .find(|f| !names.contains(f.path.as_str()))
    {
        return Err(PackError::Missing(f.path.clone()));
    }
    if let Some(e) = entries.iter().find(|e| {
        !listed.contains_key(e.name.as_str())
            && e.name != MANIFEST
            && e.name != SIGNATURE
            && !(e.name.ends_with('/') && e.size == 0)
    }) {
        return Err(PackError::Added(e.name.clone()));
    }
    let mut bytes = 0;
    for f in &manifest.files {
        let data = read(files, &f.path)?;
        if data.len() as u64 != f.size {
            return Err(PackError::WrongSize {
                path: f.path.clone(),
                found: data.len() as u64,
                expected: f.size,
            });
        }
        if evidence::sha256_hex(&data) != f.sha256 {
            return Err(PackError::WrongHash(f.path.clone()));
        }
        bytes += f.size;
    }

    let head = &manifest.log_head;
    head.verify()
        .map_err(|e| PackError::BadHead(e.to_string()))?;
    if head.server_key != key {
        return Err(PackError::BadHead(format!(
            "it is signed by server key {}, not {key}",
            head.server_key
        )));
    }

    let mut report = PackReport {
        server_key: key,
        key_source,
        unit: manifest.unit.clone(),
        records: manifest.records.len(),
        files: manifest.files.len(),
        bytes,
        photos: 0,
        log_entries: 0,
        signed_pushes: 0,
        receipts: 0,
        log_head_seq: head.seq,
    };
    for r in &manifest.records {
        for folder in &r.folders {
            check_record(r, folder, &listed, files, limits, &mut report).map_err(|what| {
                PackError::Record {
                    id: r.id.to_string(),
                    folder: folder.clone(),
                    what,
                }
            })?;
        }
    }
    Ok(report)
}

/// One copy of a record, its files already checked against the manifest.
fn check_record(
    r: &ManifestRecord,
    folder: &str,
    listed: &HashMap<&str, &super::ManifestFile>,
    files: &mut dyn PackFiles,
    limits: &Limits,
    report: &mut PackReport,
) -> Result<(), String> {
    let mut read = |name: &str| -> Result<Vec<u8>, String> {
        let path = format!("{folder}/{name}");
        if !listed.contains_key(path.as_str()) {
            return Err(format!("{name} is not in the pack"));
        }
        files.read(&path, limits.max_entry_bytes)
    };
    let doc_bytes = read("record.automerge")?;
    let json = read("record.json")?;
    let entries: Vec<LogEntry> = serde_json::from_slice(&read("log.json")?)
        .map_err(|e| format!("log.json is unreadable: {e}"))?;
    let pushes: Vec<PackPush> = serde_json::from_slice(&read("pushes.json")?)
        .map_err(|e| format!("pushes.json is unreadable: {e}"))?;

    let mut doc = ingest::load_document(&doc_bytes)
        .map_err(|e| format!("record.automerge is not a readable document: {e}"))?;
    let mut heads = ingest::heads_to_strings(&doc.get_heads());
    let mut signed_heads = r.heads.clone();
    heads.sort();
    signed_heads.sort();
    if heads != signed_heads {
        return Err(format!(
            "record.automerge has heads {}, but the manifest signs heads {}",
            heads.join(","),
            signed_heads.join(",")
        ));
    }
    let rec = record::doc::read(&doc).map_err(|p| {
        format!(
            "record.automerge does not read as a record: {}",
            record::Problem::join(&p)
        )
    })?;
    if rec.id != r.id {
        return Err(format!("record.automerge is record {}", rec.id));
    }
    if super::record_json(&rec) != json {
        return Err("record.json is not what record.automerge reads as".into());
    }

    // Photos: each file named by its bytes' SHA-256, and a photo (or rendition) of this record.
    let ours: HashSet<&str> = rec
        .photos
        .iter()
        .flat_map(|(hash, p)| {
            [
                Some(hash.as_str()),
                p.derivative.as_ref().map(|d| d.hash.as_str()),
                p.thumbnail.as_ref().map(|t| t.hash.as_str()),
            ]
        })
        .flatten()
        .collect();
    let prefix = format!("{folder}/photos/");
    for (path, f) in listed.iter().filter(|(p, _)| p.starts_with(&prefix)) {
        let stem = path[prefix.len()..].split('.').next().unwrap_or_default();
        if stem != f.sha256 {
            return Err(format!(
                "photo {path} holds other bytes than its name says (a swapped photo)"
            ));
        }
        if !ours.contains(stem) {
            return Err(format!("photo {path} is not one of this record's photos"));
        }
        report.photos += 1;
    }

    // The log: each entry hashed as written, about this record, within the signed head; every
    // change of the document logged, nothing logged missing; the document where the log left it.
    let changes: HashSet<String> = doc
        .get_changes(&[])
        .into_iter()
        .map(|c| c.hash().to_string())
        .collect();
    let mut logged = HashSet::new();
    let by_hash: HashMap<&str, &PackPush> = pushes.iter().map(|p| (p.hash.as_str(), p)).collect();
    let mut checked = HashSet::new();
    // Receipts are checked last: a forged document is better named by the change no log entry
    // records than by the receipt of another server that a forger re-signing the pack brings.
    let mut receipted = Vec::new();
    for e in &entries {
        if e.computed_hash() != e.hash {
            return Err(format!(
                "evidence-log entry {} was edited after it was written",
                e.seq
            ));
        }
        if e.record != r.id || e.seq > report.log_head_seq {
            return Err(format!(
                "evidence-log entry {} is not this record's or lies past the signed log head",
                e.seq
            ));
        }
        for c in &e.changes {
            if !changes.contains(c) {
                return Err(format!(
                    "evidence-log entry {} names change {c}, which record.automerge lacks",
                    e.seq
                ));
            }
            logged.insert(c.clone());
        }
        let Some(hash) = &e.push else { continue };
        let push = by_hash.get(hash.as_str()).ok_or_else(|| {
            format!(
                "the signed push {hash} of evidence-log entry {} is not in the pack",
                e.seq
            )
        })?;
        let signed = check_push(push, &e.by)?;
        if let Some(receipt) = &push.receipt {
            receipted.push((receipt, *push, &e.heads));
        }
        if checked.insert(hash.clone()) {
            report.signed_pushes += 1;
            report.receipts += usize::from(push.receipt.is_some());
        }
        let carried: HashSet<&String> = signed
            .records
            .iter()
            .filter(|(id, _)| *id == r.id)
            .flat_map(|(_, h)| h)
            .collect();
        if let Some(c) = e.changes.iter().find(|c| !carried.contains(c)) {
            return Err(format!(
                "evidence-log entry {} names change {c}, which its signed push does not carry",
                e.seq
            ));
        }
    }
    report.log_entries += entries.len();
    if let Some(c) = changes.iter().find(|c| !logged.contains(*c)) {
        return Err(format!(
            "record.automerge holds change {c}, which no evidence-log entry records (it was forged after the server stored the record)"
        ));
    }
    let mut last: Vec<String> = entries.last().map(|e| e.heads.clone()).unwrap_or_default();
    last.sort();
    if last != heads {
        return Err("record.automerge's heads are not those the evidence log last recorded".into());
    }
    for (receipt, push, heads) in receipted {
        check_receipt(receipt, push, &report.server_key, r.id, heads)?;
    }
    Ok(())
}

/// A push's receipt: signed by the pack's server key, for this push by its device, naming the
/// record with the heads its log entry recorded.
fn check_receipt(
    receipt: &Receipt,
    push: &PackPush,
    server_key: &str,
    record: RecordId,
    heads: &[String],
) -> Result<(), String> {
    let what = format!("the receipt of signed push {}", push.hash);
    if !receipt.server_key.eq_ignore_ascii_case(server_key) {
        return Err(format!(
            "{what} is signed by server key {}, not the pack's {server_key}",
            receipt.server_key
        ));
    }
    receipt
        .verify(server_key)
        .map_err(|e| format!("{what}: {e}"))?;
    if receipt.push != push.hash || !receipt.device.eq_ignore_ascii_case(&push.device) {
        return Err(format!("{what} acknowledges another push"));
    }
    let mut want = heads.to_vec();
    want.sort();
    let named = receipt.records.iter().any(|r| {
        let mut h = r.heads.clone();
        h.sort();
        r.id == record && h == want
    });
    if named {
        Ok(())
    } else {
        Err(format!(
            "{what} does not acknowledge record {record} at the heads its log entry recorded"
        ))
    }
}

/// A signed push: unaltered, by device `by`, signed by one of the device's keys.
fn check_push(push: &PackPush, by: &str) -> Result<SignedPush, String> {
    if evidence::sha256_hex(push.message.as_bytes()) != push.hash {
        return Err(format!("signed push {} was altered", push.hash));
    }
    let signed =
        SignedPush::parse(&push.message).map_err(|e| format!("signed push {}: {e}", push.hash))?;
    if !signed.device.eq_ignore_ascii_case(by) || !push.device.eq_ignore_ascii_case(by) {
        return Err(format!(
            "signed push {} was signed by device {}, not by {by}",
            push.hash, signed.device
        ));
    }
    let ok = push.device_keys.iter().any(|k| {
        evidence::public_key(k)
            .and_then(|k| evidence::verify(&k, &push.message, &push.signature, "push"))
            .is_ok()
    });
    if ok {
        Ok(signed)
    } else {
        Err(format!(
            "signed push {}'s signature does not verify under any key of device {by}",
            push.hash
        ))
    }
}
