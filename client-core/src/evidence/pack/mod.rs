//! The evidence pack (`bukti-server pack`, checked offline by `bukti verify`): a zip laid out
//! like the LKE worksheet, a folder per area and sub-indicator (`MP/MP.P1/<record id>/`, records
//! without tags under `untagged/<record id>/`), each record folder holding
//!
//! - `record.json`: the typed record as its document reads ([`record_json`]),
//! - `record.automerge`: the stored Automerge document, byte for byte,
//! - `record.html`: a printable page,
//! - `log.json`: the record's evidence-log entries, `pushes.json`: the device-signed pushes
//!   those entries name, with the device's public keys ([`PackPush`]),
//! - `photos/<sha256>.<ext>`: its photos the server holds,
//!
//! plus `index.html`, `records.csv`, and `manifest.json` ([`Manifest`]: every file's SHA-256 and
//! size, each record's heads, the evidence log's head signed by the server), signed by the
//! server key in `manifest.sig` (128 hex digits over the manifest's bytes).
//!
//! [`verify`] checks a pack with no network and no I/O of its own: the caller hands it the zip's
//! entry list and a [`PackFiles`] to read entries by name. [`check_entries`] refuses, before
//! anything is read, what a hostile zip could do to the reader (path traversal, duplicate names,
//! huge entries, zip bombs, too many entries).

mod verify;

use serde::{Deserialize, Serialize};

use super::{log::SignedHead, receipt::Receipt};
use crate::{Record, RecordId};

pub use verify::{KeySource, PackError, PackReport, verify};

/// `format` of a manifest this build writes and reads.
pub const FORMAT: &str = "bukti-pack/1";
/// The manifest's name in the zip.
pub const MANIFEST: &str = "manifest.json";
/// The manifest's signature's name in the zip.
pub const SIGNATURE: &str = "manifest.sig";

/// What the server signs: every file of the pack and every record's heads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    /// The server's public key (hex); the one `manifest.sig` verifies under.
    pub server_key: String,
    pub created_ms: i64,
    /// The unit whose subtree the pack covers.
    pub unit: String,
    pub from: Option<String>,
    pub to: Option<String>,
    /// LKE areas the pack is limited to; empty for all.
    pub areas: Vec<String>,
    /// The evidence log's head when the pack was made, signed by the server.
    pub log_head: SignedHead,
    pub records: Vec<ManifestRecord>,
    pub files: Vec<ManifestFile>,
}

/// One record of the pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestRecord {
    pub id: RecordId,
    /// The document's Automerge heads.
    pub heads: Vec<String>,
    /// The folders holding a copy of the record (one per LKE tag, or `untagged/<id>`).
    pub folders: Vec<String>,
}

/// One file of the pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub path: String,
    pub sha256: String,
    pub size: u64,
}

/// A device's signed push as a pack carries it, with every public key the device was enrolled
/// with (a revoked device's key still verifies what it signed before).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackPush {
    /// SHA-256 of `message`; what log entries name.
    pub hash: String,
    pub device: String,
    pub message: String,
    pub signature: String,
    pub device_keys: Vec<String>,
    /// The receipt the server signed for this push, when it kept one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
}

/// The bytes of `record.json`: the typed record, pretty JSON.
pub fn record_json(record: &Record) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(record).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// A path segment made of an LKE code: letters, digits, `.`, `-` and `_` only, never `.` or `..`.
pub fn folder_name(code: &str) -> String {
    let clean: String = code
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.chars().all(|c| c == '.') {
        format!("_{clean}")
    } else {
        clean
    }
}

/// The LKE area of a sub-indicator code (`MP.P1` → `MP`).
pub fn area_of(code: &str) -> &str {
    code.split('.').next().unwrap_or(code)
}

/// The folder of a record filed under LKE sub-indicator `code`, or `untagged`.
pub fn record_folder(code: Option<&str>, id: RecordId) -> String {
    match code {
        Some(c) => format!("{}/{}/{id}", folder_name(area_of(c)), folder_name(c)),
        None => format!("untagged/{id}"),
    }
}

/// One entry of a zip as its central directory describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryInfo {
    pub name: String,
    /// Uncompressed size.
    pub size: u64,
    pub compressed: u64,
}

/// What a reader of a pack accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_entries: usize,
    pub max_entry_bytes: u64,
    /// Uncompressed over compressed size above which an entry (of more than 1 MiB) is refused
    /// as a zip bomb.
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_entries: 500_000,
            max_entry_bytes: 256 * 1024 * 1024,
            max_ratio: 200,
        }
    }
}

/// Reads the pack's entries by name (the zip, a folder, a map in tests).
pub trait PackFiles {
    /// The whole entry `name`, at most `max` bytes.
    fn read(&mut self, name: &str, max: u64) -> Result<Vec<u8>, String>;
}

/// Whether `name` stays inside the folder a pack is unpacked into.
fn unsafe_name(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("is empty");
    }
    if name.starts_with('/') || name.starts_with('\\') || name.get(1..2) == Some(":") {
        return Some("is an absolute path");
    }
    if name.contains('\\') || name.contains('\0') {
        return Some("holds a backslash or NUL");
    }
    if name.split('/').any(|s| s == "..") {
        return Some("climbs out of the pack with `..`");
    }
    None
}

/// Refuses entries a hostile zip could harm a reader with, before any is read.
pub fn check_entries(entries: &[EntryInfo], limits: &Limits) -> Result<(), PackError> {
    if entries.len() > limits.max_entries {
        return Err(PackError::TooManyEntries {
            count: entries.len(),
            max: limits.max_entries,
        });
    }
    let mut seen = std::collections::HashSet::with_capacity(entries.len());
    for e in entries {
        if let Some(why) = unsafe_name(&e.name) {
            return Err(PackError::UnsafeName {
                name: e.name.clone(),
                why,
            });
        }
        if !seen.insert(e.name.as_str()) {
            return Err(PackError::DuplicateName(e.name.clone()));
        }
        if e.size > limits.max_entry_bytes {
            return Err(PackError::EntryTooLarge {
                name: e.name.clone(),
                size: e.size,
                max: limits.max_entry_bytes,
            });
        }
        if e.size > 1024 * 1024 && e.size / e.compressed.max(1) > limits.max_ratio {
            return Err(PackError::ZipBomb {
                name: e.name.clone(),
                size: e.size,
                compressed: e.compressed,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
