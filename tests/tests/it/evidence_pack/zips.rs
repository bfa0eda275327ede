//! Reading, rewriting and re-signing packs the way a forger would.

use std::{
    io::{Read, Write},
    path::Path,
};

use bukti_core::evidence::pack::{MANIFEST, Manifest, SIGNATURE};

/// The zip's entries, in order, as (name, bytes).
pub fn entries(path: &Path) -> Vec<(String, Vec<u8>)> {
    let file = std::fs::File::open(path).expect("the pack");
    let mut zip = zip::ZipArchive::new(file).expect("a zip");
    (0..zip.len())
        .map(|i| {
            let mut e = zip.by_index(i).expect("an entry");
            let mut bytes = Vec::new();
            e.read_to_end(&mut bytes).expect("entry bytes");
            (String::from_utf8_lossy(e.name_raw()).into_owned(), bytes)
        })
        .collect()
}

/// Writes `entries` as a zip at `path`.
pub fn write(path: &Path, entries: &[(String, Vec<u8>)]) {
    let file = std::fs::File::create(path).expect("create");
    let mut zip = zip::ZipWriter::new(file);
    for (name, bytes) in entries {
        zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .expect("start");
        zip.write_all(bytes).expect("write");
    }
    zip.finish().expect("finish");
}

/// `hay` with every `from` replaced by `to` (same length).
pub fn replace_all(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = hay.to_vec();
    let mut i = 0;
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to);
            i += from.len();
        } else {
            i += 1;
        }
    }
    out
}

/// `e` with its manifest brought in line with the forged `doc_name` and signed by a forger's key.
pub fn resign(e: &[(String, Vec<u8>)], doc_name: &str, with_json: bool) -> Vec<(String, Vec<u8>)> {
    let forger = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
    let folder = doc_name.trim_end_matches("/record.automerge");
    let json_name = format!("{folder}/record.json");
    let mut e = e.to_vec();
    if with_json {
        let doc = &e.iter().find(|(n, _)| n == doc_name).expect("doc").1;
        let loaded = automerge::AutoCommit::load(doc).expect("doc");
        let rec = bukti_core::record::doc::read(&loaded).expect("a record");
        let json = bukti_core::evidence::pack::record_json(&rec);
        for (n, b) in &mut e {
            if *n == json_name {
                *b = json.clone();
            }
        }
    }
    let manifest = &e.iter().find(|(n, _)| n == MANIFEST).expect("manifest").1;
    let mut m: Manifest = serde_json::from_slice(manifest).expect("a manifest");
    let doc = &e.iter().find(|(n, _)| n == doc_name).expect("doc").1;
    for f in &mut m.files {
        if let Some((_, b)) = e.iter().find(|(n, _)| *n == f.path) {
            f.sha256 = bukti_core::evidence::sha256_hex(b);
            f.size = b.len() as u64;
        }
    }
    let mut loaded = automerge::AutoCommit::load(doc).expect("doc");
    let heads = bukti_core::ingest::heads_to_strings(&loaded.get_heads());
    for r in &mut m.records {
        if r.folders.iter().any(|f| f == folder) {
            r.heads = heads.clone();
        }
    }
    m.server_key = hex::encode(forger.verifying_key().to_bytes());
    m.log_head =
        bukti_core::evidence::log::SignedHead::new(&forger, &m.log_head.head(), m.log_head.time_ms);
    let text = serde_json::to_string_pretty(&m).expect("json");
    let sig = bukti_core::evidence::sign(&forger, &text);
    e.iter()
        .map(|(n, b)| match n.as_str() {
            MANIFEST => (n.clone(), text.clone().into_bytes()),
            SIGNATURE => (n.clone(), sig.clone().into_bytes()),
            _ => (n.clone(), b.clone()),
        })
        .collect()
}
