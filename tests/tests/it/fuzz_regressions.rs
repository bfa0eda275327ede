//! The fuzzing corpora as regression tests: every file under `fuzz/corpus/<target>/` (the
//! minimised corpus, seeds included) and `fuzz/artifacts/<target>/` (crashers kept after a fix)
//! goes through the same entry point the cargo-fuzz target calls (`fuzz/src/entries.rs`), so a
//! finding stays fixed under the test command without a nightly toolchain.
//!
//! The seeds come from real fixtures and real protocol bodies made here; after changing the
//! protocol, `BUKTI_WRITE_FUZZ_SEEDS=1 cargo nextest run -p bukti-tests fuzz_regressions::`
//! writes them again (docs/testing.md).

#[allow(dead_code)] // `base_doc` is the fuzz crate's public helper.
#[path = "../../../fuzz/src/entries.rs"]
mod entries;

use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::json;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// Every file of a target's corpus and kept artifacts, except open findings (`open-*`), which
/// have their own failing test below until fixed where they live.
fn inputs(target: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["corpus", "artifacts"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir().join(dir).join(target)) else {
            continue;
        };
        files.extend(entries.flatten().map(|e| e.path()).filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("open-"))
        }));
    }
    files.sort();
    files
}

/// Feeds every input of `target` to `entry`; a panic names the file.
fn replay(target: &str, entry: fn(&[u8])) {
    let files = inputs(target);
    assert!(
        !files.is_empty(),
        "no corpus for {target}: see docs/testing.md"
    );
    for file in &files {
        let bytes = std::fs::read(file).expect("read a corpus file");
        let outcome = std::panic::catch_unwind(|| entry(&bytes));
        assert!(outcome.is_ok(), "{target} panics on {}", file.display());
    }
    eprintln!("{target}: {} inputs replayed", files.len());
}

#[test]
fn sync_messages() {
    replay("sync_messages", entries::sync_messages);
}

#[test]
fn ingest_changes() {
    replay("ingest_changes", entries::ingest_changes);
}

#[test]
fn ingest_document() {
    replay("ingest_document", entries::ingest_document);
}

#[test]
fn photo() {
    replay("photo", entries::photo);
}

#[test]
fn upload_chunk() {
    replay("upload_chunk", entries::upload_chunk);
}

#[test]
fn credentials() {
    replay("credentials", entries::credentials);
}

#[test]
fn enrollment() {
    replay("enrollment", entries::enrollment);
}

/// Valid inputs for each target, built from the real code: what a device really sends.
fn seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut doc = entries::base_doc();
    let created = doc.changes_since(&[]);
    let before_edit = doc.heads();
    doc.edit("87010001", |r| {
        r.narrative = "Sambang ke rumah kepala desa".into();
    })
    .expect("edit the seed record");
    let edit = doc.changes_since(&before_edit);
    let saved = doc.save();
    let record = doc.read().expect("the seed record reads");
    let id = record.id;
    let heads: Vec<String> = doc.heads().iter().map(ToString::to_string).collect();
    let hash = "a".repeat(64);
    let json = |v: serde_json::Value| serde_json::to_vec(&v).expect("JSON");
    let all_changes: Vec<String> = created.iter().chain(&edit).map(|c| b64(c)).collect();
    let mut number_bytes = hash.clone().into_bytes();
    for n in [4096u64, 34_131, 8192] {
        number_bytes.extend(n.to_be_bytes());
    }
    vec![
        (
            "sync_messages",
            "push",
            json(json!({ "records": [{ "id": id, "changes": all_changes }] })),
        ),
        (
            "sync_messages",
            "pull",
            json(json!({
                "records": [{ "id": id, "heads": heads, "doc": b64(&saved), "seq": 7 }],
                "cursor": 7, "more": false,
            })),
        ),
        (
            "sync_messages",
            "push-answer",
            json(
                json!({ "results": [{ "id": id, "status": "accepted", "heads": heads, "changed": true }] }),
            ),
        ),
        (
            "sync_messages",
            "missing",
            json(json!({ "hashes": [hash] })),
        ),
        (
            "sync_messages",
            "upload-answer",
            json(json!({ "hash": hash, "offset": 4096, "complete": false })),
        ),
        (
            "sync_messages",
            "error",
            json(json!({ "code": "unauthorized", "message": "unknown token" })),
        ),
        ("ingest_changes", "created", created.concat()),
        (
            "ingest_changes",
            "created-and-edited",
            created.iter().chain(&edit).flatten().copied().collect(),
        ),
        ("ingest_changes", "edit-alone", edit.concat()),
        ("ingest_document", "saved", saved),
        ("upload_chunk", "middle-chunk", number_bytes),
        ("upload_chunk", "bad-hash", b"../../etc/passwd".to_vec()),
        ("enrollment", "typed", b"7k3q 9xmd-2pva".to_vec()),
        (
            "enrollment",
            "qr",
            b"bukti:enroll?server=https://polres-buleleng.example&code=7K3Q-9XMD-2PVA".to_vec(),
        ),
        (
            "enrollment",
            "request",
            json(json!({
                "code": "7K3Q-9XMD-2PVA", "device_name": "HP Made", "actor_id": "07".repeat(16),
                "public_key": "ab".repeat(32), "signature": "cd".repeat(64),
            })),
        ),
        (
            "credentials",
            "bearer",
            b"Bearer bkt_dev_0123456789abcdef".to_vec(),
        ),
        (
            "credentials",
            "cookie",
            b"theme=dark; bukti_session=bks_0123456789abcdef".to_vec(),
        ),
    ]
}

/// The seeds go through their entry points (so valid input takes the deep paths here too), and
/// `BUKTI_WRITE_FUZZ_SEEDS=1` writes them and the photo fixtures into the corpora.
#[test]
fn seeds_replay_and_can_be_written() {
    let write = std::env::var("BUKTI_WRITE_FUZZ_SEEDS").as_deref() == Ok("1");
    let entry = |target: &str| -> fn(&[u8]) {
        match target {
            "sync_messages" => entries::sync_messages,
            "ingest_changes" => entries::ingest_changes,
            "ingest_document" => entries::ingest_document,
            "upload_chunk" => entries::upload_chunk,
            "credentials" => entries::credentials,
            "enrollment" => entries::enrollment,
            other => panic!("no entry point {other}"),
        }
    };
    for (target, name, bytes) in seeds() {
        entry(target)(&bytes);
        if write {
            let dir = fuzz_dir().join("corpus").join(target);
            std::fs::create_dir_all(&dir).expect("corpus folder");
            std::fs::write(dir.join(format!("seed-{name}")), &bytes).expect("write a seed");
        }
    }
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/photos");
    for file in std::fs::read_dir(&fixtures)
        .expect("photo fixtures")
        .flatten()
    {
        let bytes = std::fs::read(file.path()).expect("a fixture");
        entries::photo(&bytes);
        if write {
            let dir = fuzz_dir().join("corpus/photo");
            std::fs::create_dir_all(&dir).expect("corpus folder");
            let name = format!("seed-{}", file.file_name().to_string_lossy());
            std::fs::write(dir.join(name), &bytes).expect("write a seed");
        }
    }
}

/// Found by the sync_messages target: a pushed change that makes Automerge 0.12 unwrap a `None`
/// (op_set2/change/batch.rs:1121) while applying it. `ingest` contains the panic, so the push is
/// refused as an error and the server carries on.
#[test]
fn a_change_that_panics_automerge_is_refused_not_fatal() {
    let bytes = std::fs::read(
        fuzz_dir().join("artifacts/sync_messages/contained-automerge-0.12-batch-1121-unwrap"),
    )
    .expect("the kept crasher");
    let push: bukti_core::protocol::PushRequest =
        serde_json::from_slice(&bytes).expect("a push body");
    let record = push.records.first().expect("one record");
    let merged = bukti_core::ingest::merge_changes(None, &record.changes);
    assert!(merged.is_err(), "{merged:?}");
}

/// Finding of the ingest_changes target. `ingest::merge_changes` accepted these changes,
/// reporting no missing dependency, yet Automerge 0.12's `get_changes` on the result unwrapped a
/// `MissingDep` error (op_set2/change/collector.rs:753), so `history::history` panicked. The
/// server runs `history`
/// when HQ opens a record (`GET /records/{id}`). Fixed in ingest, which reads the new changes
/// back under `catch_unwind` and refuses the push; since ingest verifies each change's checksum,
/// these fuzzed bytes are refused even earlier, as altered.
#[test]
fn history_of_changes_ingest_accepted_does_not_panic() {
    use bukti_core::ingest::IngestError;
    let bytes = std::fs::read(
        fuzz_dir().join("artifacts/ingest_changes/fixed-history-missing-dep-a3733e05"),
    )
    .expect("the kept crasher");
    let merged = bukti_core::ingest::merge_changes(None, &entries::split_chunks(&bytes));
    assert!(
        matches!(
            merged,
            Err(IngestError::Panicked(_) | IngestError::CorruptChange { .. })
        ),
        "ingest must refuse changes whose history Automerge cannot read back: {merged:?}"
    );
}
