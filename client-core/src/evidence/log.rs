//! The evidence log: every change set the server accepts (a device's push of a record, a
//! reviewer's step) becomes one entry, hash-chained to the one before, so no entry can be edited,
//! removed or inserted without changing every hash after it. The server signs the head (the last
//! entry's sequence number and hash) and every syncing device keeps the newest head it has seen:
//! a log later cut short, or rewritten from some entry on, no longer contains that head, and the
//! device (or an evaluator holding an evidence pack) catches it.
//!
//! An entry's hash is the SHA-256 of its text:
//!
//! ```text
//! bukti-log/1
//! seq <n, from 1>
//! prev <hash of entry n-1; 64 zeros for entry 1>
//! time <server clock, Unix milliseconds>
//! record <record id>
//! by <actor id of the changes, hex; adopted for an adopted record>
//! push <SHA-256 of the signed push message, hex; - for a reviewer's step or an adoption>
//! changes <change hash>,<change hash>,...
//! heads <head>,<head>,...
//! ```
//!
//! A signed head is the signature of:
//!
//! ```text
//! bukti-log-head/1
//! server <server public key, hex>
//! seq <n>
//! hash <hash of entry n>
//! time <server clock, Unix milliseconds>
//! ```

use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use super::{SignatureError, public_key, sha256_hex, sign, verify};
use crate::RecordId;

/// The `prev` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The `by` of an *adopted* entry: the server logged, once, the changes of a record it stored
/// before the log existed, at the heads it held then. No device signed them (`push` is `-`),
/// so the entry vouches only that from its time on the record was held at those heads.
pub const ADOPTED: &str = "adopted";

/// One accepted change set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogEntry {
    pub seq: i64,
    pub prev: String,
    pub time_ms: i64,
    pub record: RecordId,
    pub by: String,
    /// SHA-256 of the signed push message that carried the changes; `None` for HQ's steps.
    pub push: Option<String>,
    pub changes: Vec<String>,
    pub heads: Vec<String>,
    pub hash: String,
}

/// An entry before it is placed in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub record: RecordId,
    pub by: String,
    pub push: Option<String>,
    pub changes: Vec<String>,
    pub heads: Vec<String>,
}

impl Draft {
    /// The entry this draft becomes at `seq`, after the entry hashed `prev`.
    pub fn chain(self, seq: i64, prev: &str, time_ms: i64) -> LogEntry {
        let mut entry = LogEntry {
            seq,
            prev: prev.to_owned(),
            time_ms,
            record: self.record,
            by: self.by,
            push: self.push,
            changes: self.changes,
            heads: self.heads,
            hash: String::new(),
        };
        entry.hash = entry.computed_hash();
        entry
    }
}

impl LogEntry {
    /// Whether the server wrote this entry adopting a record older than the log ([`ADOPTED`]).
    pub fn is_adopted(&self) -> bool {
        self.by == ADOPTED && self.push.is_none()
    }

    /// The hash this entry's fields give (equal to `hash` unless someone edited it).
    pub fn computed_hash(&self) -> String {
        sha256_hex(
            format!(
                "bukti-log/1\nseq {}\nprev {}\ntime {}\nrecord {}\nby {}\npush {}\nchanges {}\nheads {}\n",
                self.seq,
                self.prev,
                self.time_ms,
                self.record,
                self.by,
                self.push.as_deref().unwrap_or("-"),
                self.changes.join(","),
                self.heads.join(",")
            )
            .as_bytes(),
        )
    }
}

/// Where the log stands: its last entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogHead {
    pub seq: i64,
    pub hash: String,
}

impl LogHead {
    /// The head of an empty log.
    pub fn empty() -> Self {
        Self {
            seq: 0,
            hash: GENESIS.to_owned(),
        }
    }
}

/// A head as the server signed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedHead {
    pub server_key: String,
    pub seq: i64,
    pub hash: String,
    pub time_ms: i64,
    pub signature: String,
}

impl SignedHead {
    pub fn new(key: &SigningKey, head: &LogHead, time_ms: i64) -> Self {
        let mut signed = Self {
            server_key: hex::encode(key.verifying_key().to_bytes()),
            seq: head.seq,
            hash: head.hash.clone(),
            time_ms,
            signature: String::new(),
        };
        signed.signature = sign(key, &signed.message());
        signed
    }

    pub fn message(&self) -> String {
        format!(
            "bukti-log-head/1\nserver {}\nseq {}\nhash {}\ntime {}\n",
            self.server_key, self.seq, self.hash, self.time_ms
        )
    }

    /// Checks the signature under the key the head names.
    pub fn verify(&self) -> Result<(), SignatureError> {
        verify(
            &public_key(&self.server_key)?,
            &self.message(),
            &self.signature,
            "log head",
        )
    }

    pub fn head(&self) -> LogHead {
        LogHead {
            seq: self.seq,
            hash: self.hash.clone(),
        }
    }
}

/// How a newly offered head relates to one seen before.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeadConflict {
    #[error(
        "the server's evidence log now ends at entry {now}, but this device saw it reach entry {seen}: entries were removed"
    )]
    Truncated { seen: i64, now: i64 },
    #[error(
        "the server's evidence log entry {seq} is not the one this device saw: the log was rewritten"
    )]
    Rewritten { seq: i64 },
}

/// Whether `now` can be the same log as `seen`, later. `entry_at_seen` is the hash the server
/// now gives for entry `seen.seq`, when the device asked for it.
pub fn check_head(
    seen: &LogHead,
    now: &LogHead,
    entry_at_seen: Option<&str>,
) -> Result<(), HeadConflict> {
    if now.seq < seen.seq {
        return Err(HeadConflict::Truncated {
            seen: seen.seq,
            now: now.seq,
        });
    }
    let same = if now.seq == seen.seq {
        now.hash == seen.hash
    } else {
        entry_at_seen.is_none_or(|h| h == seen.hash)
    };
    if same {
        Ok(())
    } else {
        Err(HeadConflict::Rewritten { seq: seen.seq })
    }
}

/// Checks that `entries` (consecutive, oldest first) chain onto `prev` and each hashes to what it
/// says; the first broken entry's sequence number and what is wrong with it.
pub fn check_chain<'a>(
    prev: &LogHead,
    entries: impl IntoIterator<Item = &'a LogEntry>,
) -> Result<LogHead, (i64, &'static str)> {
    let mut head = prev.clone();
    for e in entries {
        if e.seq != head.seq + 1 {
            return Err((head.seq + 1, "is missing"));
        }
        if e.prev != head.hash {
            return Err((e.seq, "does not follow the entry before it"));
        }
        if e.computed_hash() != e.hash {
            return Err((e.seq, "was edited after it was written"));
        }
        head = LogHead {
            seq: e.seq,
            hash: e.hash.clone(),
        };
    }
    Ok(head)
}
