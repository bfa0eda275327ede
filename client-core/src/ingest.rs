//! Applying Automerge bytes that came from elsewhere, without trusting them.
//!
//! Automerge returns errors for most malformed input but has panicked on hostile input before,
//! silently ignores a truncated tail when loading into an empty document, and happily inflates a
//! compressed chunk to any size. So: every change is decoded strictly on its own, compressed
//! change chunks are refused (the transport compresses instead, under a body limit), sizes are
//! capped before decoding, and every call into Automerge runs under `catch_unwind`; a document
//! that saw a panic is thrown away.

use std::{
    collections::BTreeSet,
    panic::{AssertUnwindSafe, catch_unwind},
};

use automerge::{
    ActorId, AutoCommit, Change, ChangeHash, ExpandedChange, LoadOptions, OnPartialLoad,
    VerificationMode,
};
pub use shape::ShapeError;

pub mod shape;

/// Largest single change accepted.
pub const MAX_CHANGE_BYTES: usize = 512 * 1024;
/// Largest document (saved, compressed) accepted or produced.
pub const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;

/// Chunk type byte of a deflated change (after 4 magic and 4 checksum bytes).
const COMPRESSED_CHANGE_CHUNK: u8 = 2;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IngestError {
    #[error("no changes were sent")]
    Empty,
    #[error("change #{index} is {size} bytes; the limit is {MAX_CHANGE_BYTES}")]
    ChangeTooLarge { index: usize, size: usize },
    #[error("change #{index} is not a valid Automerge change: {reason}")]
    CorruptChange { index: usize, reason: String },
    #[error("the document is not a valid Automerge document: {0}")]
    CorruptDocument(String),
    #[error("the changes depend on {} change(s) this side does not have; resend the record's full history", .0.len())]
    MissingDependencies(Vec<ChangeHash>),
    #[error("the document would be {0} bytes; the limit is {MAX_DOCUMENT_BYTES}")]
    DocumentTooLarge(usize),
    #[error("the Automerge library failed on these bytes ({0}); they were discarded")]
    Panicked(&'static str),
    #[error("the record's document is over a shape limit: {0}")]
    Shape(#[from] ShapeError),
}

/// Runs `f`, turning a panic inside Automerge into an error.
fn guarded<T>(stage: &'static str, f: impl FnOnce() -> T) -> Result<T, IngestError> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|_| {
        tracing::error!(stage, "automerge panicked on untrusted input");
        IngestError::Panicked(stage)
    })
}

/// Decodes changes one by one, refusing oversized, compressed or malformed ones.
pub fn decode_changes(changes: &[Vec<u8>]) -> Result<Vec<Change>, IngestError> {
    if changes.is_empty() {
        return Err(IngestError::Empty);
    }
    let mut out = Vec::with_capacity(changes.len());
    for (index, bytes) in changes.iter().enumerate() {
        if bytes.len() > MAX_CHANGE_BYTES {
            return Err(IngestError::ChangeTooLarge {
                index,
                size: bytes.len(),
            });
        }
        if bytes.get(8) == Some(&COMPRESSED_CHANGE_CHUNK) {
            return Err(IngestError::CorruptChange {
                index,
                reason: "compressed change chunks are not accepted; send raw changes".into(),
            });
        }
        let change =
            guarded("decode change", || Change::try_from(bytes.as_slice()))?.map_err(|e| {
                IngestError::CorruptChange {
                    index,
                    reason: e.to_string(),
                }
            })?;
        verify_checksum(index, bytes, &change)?;
        out.push(change);
    }
    Ok(out)
}

/// Automerge 0.12 parses a change without comparing the checksum in its header with the hash of
/// its contents, so a change with a flipped byte (in the checksum, or in a value, which changes
/// what is stored) would be accepted under a hash that names other bytes.
fn verify_checksum(index: usize, bytes: &[u8], change: &Change) -> Result<(), IngestError> {
    let hash = change.hash();
    if bytes.get(4..8) == Some(&hash.0[..4]) {
        return Ok(());
    }
    Err(IngestError::CorruptChange {
        index,
        reason: "its checksum does not match its contents (the bytes were altered)".into(),
    })
}

/// Loads a whole document strictly: empty or truncated input is an error, not an empty document.
pub fn load_document(bytes: &[u8]) -> Result<AutoCommit, IngestError> {
    if bytes.is_empty() {
        return Err(IngestError::CorruptDocument("empty".into()));
    }
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(IngestError::DocumentTooLarge(bytes.len()));
    }
    let options = LoadOptions::new()
        .on_partial_load(OnPartialLoad::Error)
        .verification_mode(VerificationMode::Check);
    guarded("load document", || {
        AutoCommit::load_with_options(bytes, options)
    })?
    .map_err(|e| IngestError::CorruptDocument(e.to_string()))
}

/// The result of merging changes into a document.
#[derive(Debug)]
pub struct Merged {
    pub doc: AutoCommit,
    pub heads: Vec<ChangeHash>,
    /// False when every change was already present (a replay).
    pub changed: bool,
    /// Actors that wrote the changes the document did not have yet: whom the merge must be
    /// attributed to, and what the server checks against the pusher's own actor.
    pub new_actors: BTreeSet<ActorId>,
    /// The changes the document did not have yet.
    pub new: Vec<NewChange>,
}

/// A change the document did not have yet, with its operations expanded once for the checks
/// that read them ([`shape`], [`crate::record::contract`]): expanding allocates every operation,
/// and each check expanding its own copy was 5 % of the server's CPU in a push.
#[derive(Debug, Clone)]
pub struct NewChange {
    /// Its index in the pushed list.
    pub index: usize,
    pub change: Change,
    pub expanded: ExpandedChange,
}

impl NewChange {
    pub fn of(index: usize, change: Change) -> Self {
        let expanded = change.decode();
        Self {
            index,
            change,
            expanded,
        }
    }
}

/// Merges `changes` into `doc` (a fresh document when `None`). Fails, leaving nothing behind,
/// when a change is malformed or depends on changes the document lacks.
pub fn merge_changes(doc: Option<AutoCommit>, changes: &[Vec<u8>]) -> Result<Merged, IngestError> {
    let decoded = decode_changes(changes)?;
    let mut doc = doc.unwrap_or_default();
    let before = doc.get_heads();
    let mut fresh = std::collections::HashSet::new();
    let new: Vec<(usize, Change)> = decoded
        .iter()
        .enumerate()
        .filter(|(_, c)| doc.get_change_by_hash(&c.hash()).is_none() && fresh.insert(c.hash()))
        .map(|(i, c)| (i, c.clone()))
        .collect();
    let new_actors = new.iter().map(|(_, c)| c.actor_id().clone()).collect();
    guarded("apply changes", || doc.apply_changes(decoded))?.map_err(|e| {
        IngestError::CorruptChange {
            index: 0,
            reason: e.to_string(),
        }
    })?;
    let missing = guarded("missing deps", || doc.get_missing_deps(&[]))?;
    if !missing.is_empty() {
        return Err(IngestError::MissingDependencies(missing));
    }
    // Automerge 0.12 can accept changes whose history it then fails to read back (a fuzzed
    // push did this; history and sync would panic on the stored document later). Reading the
    // new changes back here refuses such a push before anything is stored.
    guarded("read back changes", || doc.get_changes(&before).len())?;
    let new: Vec<NewChange> = guarded("expand changes", || {
        new.into_iter().map(|(i, c)| NewChange::of(i, c)).collect()
    })?;
    guarded("check shape", || shape::check(&doc, &new))??;
    let heads = doc.get_heads();
    let changed = heads != before;
    Ok(Merged {
        doc,
        heads,
        changed,
        new_actors,
        new,
    })
}

/// Merges a whole document received from a peer into `doc`.
pub fn merge_document(doc: &mut AutoCommit, bytes: &[u8]) -> Result<bool, IngestError> {
    let mut theirs = load_document(bytes)?;
    let before = doc.get_heads();
    guarded("merge document", || doc.merge(&mut theirs))?
        .map_err(|e| IngestError::CorruptDocument(e.to_string()))?;
    Ok(doc.get_heads() != before)
}

/// Parses heads sent as hex strings.
pub fn parse_heads(heads: &[String]) -> Result<Vec<ChangeHash>, String> {
    heads
        .iter()
        .map(|h| {
            h.parse::<ChangeHash>()
                .map_err(|_| format!("{h:?} is not a change hash"))
        })
        .collect()
}

/// Heads as hex strings, for the wire and the database.
pub fn heads_to_strings(heads: &[ChangeHash]) -> Vec<String> {
    heads.iter().map(ToString::to_string).collect()
}

#[cfg(test)]
mod tests {
    use automerge::{ROOT, transaction::Transactable};

    use super::*;

    fn doc_with_changes(n: usize) -> (AutoCommit, Vec<Vec<u8>>) {
        let mut doc = AutoCommit::new();
        for i in 0..n {
            doc.put(ROOT, "n", i as u64)
                .unwrap_or_else(|e| panic!("{e}"));
            doc.commit();
        }
        let changes = doc
            .get_changes(&[])
            .iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect();
        (doc, changes)
    }

    #[test]
    fn replaying_changes_changes_nothing() {
        let (_, changes) = doc_with_changes(3);
        let first = merge_changes(None, &changes).unwrap_or_else(|e| panic!("{e}"));
        assert!(first.changed);
        let again = merge_changes(Some(first.doc), &changes).unwrap_or_else(|e| panic!("{e}"));
        assert!(!again.changed);
        assert_eq!(first.new_actors.len(), 1, "one writer");
        assert!(again.new_actors.is_empty(), "a replay brings no new writer");
        assert_eq!(again.heads, first.heads);
    }

    #[test]
    fn hostile_bytes_are_errors_not_panics() {
        let (_, changes) = doc_with_changes(2);
        let mut truncated = changes[0].clone();
        truncated.truncate(truncated.len() - 3);
        let cases: Vec<Vec<Vec<u8>>> = vec![
            vec![],
            vec![vec![]],
            vec![b"not automerge at all".to_vec()],
            vec![truncated],
            vec![vec![
                0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x0f,
            ]],
            vec![vec![0u8; MAX_CHANGE_BYTES + 1]],
        ];
        for case in cases {
            assert!(merge_changes(None, &case).is_err(), "{case:?} was accepted");
        }
        assert!(load_document(&[]).is_err());
        assert!(load_document(b"\x85\x6f\x4a\x83garbage").is_err());
    }

    #[test]
    fn every_single_byte_flip_of_a_change_is_refused() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "title", "Sambang Desa Sudaji")
            .unwrap_or_else(|e| panic!("{e}"));
        doc.put(ROOT, "people_served", 25_u64)
            .unwrap_or_else(|e| panic!("{e}"));
        doc.commit();
        let change = doc.get_changes(&[])[0].raw_bytes().to_vec();
        assert!(merge_changes(None, std::slice::from_ref(&change)).is_ok());
        // The checksum sits in bytes 4..8, the title's letters further in: a flip anywhere,
        // header, checksum or content, must be caught.
        for i in 0..change.len() {
            for mask in [0x01, 0x80, 0xff] {
                let mut bad = change.clone();
                bad[i] ^= mask;
                assert!(
                    merge_changes(None, &[bad]).is_err(),
                    "byte {i} of {} flipped with {mask:#x} was accepted",
                    change.len()
                );
            }
        }
    }

    #[test]
    fn a_change_without_its_dependencies_is_refused() {
        let (_, changes) = doc_with_changes(2);
        let err = merge_changes(None, &changes[1..]).expect_err("missing first change");
        assert!(
            matches!(err, IngestError::MissingDependencies(ref m) if m.len() == 1),
            "{err}"
        );
    }

    #[test]
    fn a_truncated_document_is_refused_not_partially_loaded() {
        let (mut doc, _) = doc_with_changes(20);
        let bytes = doc.save_nocompress();
        for cut in [1, 10, bytes.len() / 2] {
            assert!(
                load_document(&bytes[..bytes.len() - cut]).is_err(),
                "cut {cut}"
            );
        }
    }
}
