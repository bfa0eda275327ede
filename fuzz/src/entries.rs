//! One function per fuzz target, each taking arbitrary bytes the way hostile input reaches Bukti
//! and calling the real code on them. None may panic; where the code promises more (the upload
//! arithmetic stays inside the blob, a parsed credential is what the header said), that is
//! asserted too.
//!
//! Shared verbatim by the cargo-fuzz targets (`fuzz/`) and the regression test in `bukti-tests`
//! (`tests/tests/it/fuzz_regressions.rs`), so it may use only crates both have.

use automerge::{ActorId, AutoCommit};
use bukti_core::{
    RecordDoc, RecordId,
    catalogue::Catalogue,
    enrollment, ingest,
    photo::{self, PipelineOptions},
    protocol::{
        EnrollRequest, ErrorBody, MAX_CHUNK_BYTES, MissingBlobsRequest, MissingBlobsResponse,
        OffsetMismatch, PullResponse, PushRecord, PushRequest, PushResponse, RequestedBlobs,
        UploadResponse,
    },
    record,
    unit::UnitPath,
};
use bukti_server::{
    auth,
    authz::Pusher,
    blob::{
        BlobHash,
        upload::{Chunk, check_length, chunk_room},
    },
    ingest::{PushContext, decide},
    store::StoredDoc,
};

/// Where the device that "sends" the fuzzed input is registered.
const UNIT: &str = "bali/buleleng/sawan";
const OFFICER: &str = "87010001";
/// The first bytes of every Automerge chunk (change or document).
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// The JSON bodies of the sync protocol, decoded as the server (push, blob queries) and the
/// device (push answers, pull pages, blob answers, errors) decode them, and whatever decodes is
/// taken further down the path the real receiver takes.
pub fn sync_messages(data: &[u8]) {
    if let Ok(push) = serde_json::from_slice::<PushRequest>(data) {
        for record in &push.records {
            server_ingest(record);
        }
    }
    if let Ok(page) = serde_json::from_slice::<PullResponse>(data) {
        for pulled in &page.records {
            let _ = ingest::parse_heads(&pulled.heads);
            if let Ok(doc) = ingest::load_document(&pulled.doc) {
                read_record(doc);
            }
        }
    }
    let _ = serde_json::from_slice::<PushResponse>(data);
    let _ = serde_json::from_slice::<MissingBlobsRequest>(data);
    let _ = serde_json::from_slice::<MissingBlobsResponse>(data);
    let _ = serde_json::from_slice::<UploadResponse>(data);
    let _ = serde_json::from_slice::<OffsetMismatch>(data);
    let _ = serde_json::from_slice::<RequestedBlobs>(data);
    let _ = serde_json::from_slice::<ErrorBody>(data);
}

/// Automerge changes as a device pushes them: `data` is split before every Automerge magic
/// number (so concatenated real changes come apart as they were sent) and goes through the
/// server's whole pure ingest decision, for a new record and onto an existing one, and through
/// the device's merge.
pub fn ingest_changes(data: &[u8]) {
    let record = PushRecord {
        id: base_id(),
        changes: split_chunks(data),
    };
    server_ingest(&record);
    if let Ok(merged) = ingest::merge_changes(None, &record.changes) {
        read_record(merged.doc);
    }
}

/// A whole saved document as a pull page carries it to a device: loaded on its own, and merged
/// into an existing record as the device does.
pub fn ingest_document(data: &[u8]) {
    if let Ok(doc) = ingest::load_document(data) {
        read_record(doc);
    }
    let mut doc = base_doc();
    if ingest::merge_document(doc.automerge(), data).is_ok() {
        read_record(doc.automerge().clone());
    }
}

/// The photo pipeline on arbitrary bytes as a camera or gallery might hand them over, with the
/// production limits except a smaller pixel budget so a run explores more inputs per second.
pub fn photo(data: &[u8]) {
    let options = PipelineOptions {
        max_pixels: 4_000_000,
        max_alloc: 128 * 1024 * 1024,
        local_tz: jiff::tz::TimeZone::UTC,
        ..PipelineOptions::default()
    };
    if let Ok(processed) = photo::process(data, &options) {
        assert_eq!(processed.original_hash, photo::sha256_hex(data));
    }
}

/// The resumable upload's request: the hash in the path and the offset, length and body length
/// headers. Whatever the numbers, an accepted chunk never reaches past the blob's end or one
/// chunk's size.
pub fn upload_chunk(data: &[u8]) {
    let (hash, rest) = data.split_at(data.len().min(64));
    let _ = BlobHash::parse(&String::from_utf8_lossy(hash));
    let mut numbers = rest
        .chunks(8)
        .map(|c| c.iter().fold(0u64, |n, b| n << 8 | u64::from(*b)));
    let chunk = Chunk {
        offset: numbers.next().unwrap_or(0),
        length: numbers.next().unwrap_or(0),
        declared: numbers.next(),
    };
    let max_bytes = bukti_core::protocol::DEFAULT_MAX_BLOB_BYTES;
    if check_length(&chunk, max_bytes).is_err() {
        assert!(chunk.length > max_bytes);
        return;
    }
    if let Ok(room) = chunk_room(&chunk) {
        assert!(
            chunk
                .offset
                .checked_add(room)
                .is_some_and(|end| end <= chunk.length)
        );
        assert!(room <= MAX_CHUNK_BYTES as u64);
        assert!(chunk.declared.is_none_or(|n| n <= room));
    }
}

/// Credentials as they arrive in headers: the bearer token of `Authorization` and the session
/// cookie. What comes out is exactly what the header carried, never empty.
pub fn credentials(data: &[u8]) {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(token) = auth::bearer(header) {
        assert!(header.starts_with("Bearer "));
        assert!(!token.is_empty() && token.trim() == token);
        assert!(header.contains(token));
        assert_eq!(bukti_server::directory::hash_token(token).len(), 32);
    }
    if let Some(value) = auth::cookie(header, "bukti_session") {
        assert!(header.contains(value));
    }
}

/// Enrollment as a phone's input reaches it: a code typed from paper or read over the radio, a
/// scanned QR text, and the `POST /enroll` body. A code that normalises is canonical (12 symbols
/// of the alphabet, stable under display and QR round trips).
pub fn enrollment(data: &[u8]) {
    let _ = serde_json::from_slice::<EnrollRequest>(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(code) = enrollment::normalize(text) {
        assert_eq!(code.len(), enrollment::CODE_LEN);
        assert!(code.bytes().all(|b| enrollment::ALPHABET.contains(&b)));
        assert_eq!(
            enrollment::normalize(&enrollment::display(&code)),
            Ok(code.clone())
        );
        let qr = enrollment::uri("https://polres-buleleng.example", &code);
        assert_eq!(enrollment::parse_uri(&qr).map(|(_, c)| c), Ok(code));
    }
    if let Ok((_, code)) = enrollment::parse_uri(text) {
        assert_eq!(enrollment::normalize(&code), Ok(code.clone()));
    }
}

/// Splits `data` before every Automerge magic number after the first byte.
pub fn split_chunks(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut start = 0;
    for at in 1..data.len() {
        if data[at..].starts_with(&MAGIC) {
            out.push(data[start..at].to_vec());
            start = at;
        }
    }
    if start < data.len() || out.is_empty() {
        out.push(data[start..].to_vec());
    }
    out
}

/// The server's pure decision on one pushed record, for a new record and for the base record.
fn server_ingest(record: &PushRecord) {
    let ctx = PushContext {
        unit: UnitPath::parse(UNIT).expect("a valid unit"),
        pusher: Pusher {
            actor: Some(device_actor()),
            officer: Some(OFFICER.to_owned()),
        },
        own_officer: None,
        proof: None,
        areas: Default::default(),
    };
    let now = record::now_ms();
    let _ = decide(None, record, &ctx, now);
    let stored = StoredDoc {
        doc: base_doc().save(),
        version: 1,
        unit: UNIT.to_owned(),
    };
    let _ = decide(Some(&stored), record, &ctx, now);
}

/// Reads and validates a merged document the way both sides do after a merge.
fn read_record(doc: AutoCommit) {
    let mut doc = RecordDoc::from_automerge(doc);
    let _ = bukti_core::history::history(doc.automerge());
    if let Ok(record) = doc.read() {
        let _ = record::validate(&record, Catalogue::builtin(), record::now_ms());
    }
}

fn device_actor() -> ActorId {
    ActorId::from(&[7u8; 16][..])
}

fn base_id() -> RecordId {
    "0193a0f0-0000-7000-8000-000000000001"
        .parse()
        .expect("a valid record id")
}

/// A valid submitted record the fuzzed device wrote, with a fixed id and actor so runs repeat.
pub fn base_doc() -> RecordDoc {
    let mut r = bukti_core::Record::new(UNIT, OFFICER, "sambang", "Sambang Desa Sudaji");
    r.id = base_id();
    r.place = "Balai Desa Sudaji".into();
    RecordDoc::create(&r, device_actor(), OFFICER)
}
