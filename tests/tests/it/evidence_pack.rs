//! The evidence pack (issue 11, parts 6 and 7): `bukti-server pack` writes a unit's evidence as
//! a signed zip, `bukti verify` checks it offline, and every kind of tampering fails with its
//! exact reason, on both stores, with the real binaries.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use bukti_core::{
    device::PhotoInput,
    evidence::pack::{MANIFEST, SIGNATURE},
};
use bukti_tests::{Backend, TestServer, both_stores, fixture, visit};
use serde_json::Value;

use self::zips::{entries, replace_all, resign, write};
use crate::bins::{bukti, server_command};

pub(crate) mod zips;

both_stores!(a_pack_verifies_and_every_tampering_fails_with_its_reason);

const SAWAN: &str = "bali/buleleng/sawan";

/// `bukti verify` of `pack`: whether it passed, and what it printed.
pub(crate) fn verify(pack: &Path, key: Option<&str>) -> (bool, String) {
    let mut cmd = bukti();
    cmd.arg("verify").arg(pack);
    if let Some(k) = key {
        cmd.args(["--server-key", k]);
    }
    let out = cmd.output().expect("run bukti verify");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Asserts that the pack made from `good` by `edit` fails naming `reason`.
fn refused(dir: &Path, name: &str, tampered: &[(String, Vec<u8>)], key: &str, reason: &str) {
    let path = dir.join(format!("{name}.zip"));
    write(&path, tampered);
    let (ok, text) = verify(&path, Some(key));
    assert!(!ok, "{name}: the tampered pack passed: {text}");
    assert!(
        text.contains(reason),
        "{name}: expected {reason:?} in:\n{text}"
    );
}

fn find(e: &[(String, Vec<u8>)], what: impl Fn(&str) -> bool) -> &str {
    e.iter()
        .map(|(n, _)| n.as_str())
        .find(|n| what(n))
        .expect("an entry of that kind")
}

fn edited(
    e: &[(String, Vec<u8>)],
    name: &str,
    f: impl Fn(Vec<u8>) -> Vec<u8>,
) -> Vec<(String, Vec<u8>)> {
    e.iter()
        .map(|(n, b)| (n.clone(), if n == name { f(b.clone()) } else { b.clone() }))
        .collect()
}

async fn a_pack_verifies_and_every_tampering_fails_with_its_reason(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_, key) = server.hq("").get("/evidence/key").await;
    let key = key["server_key"].as_str().expect("server key").to_owned();
    let sawan = server.device(SAWAN, "87070001").await;
    let mut tagged = visit("Sosialisasi anti korupsi".into());
    tagged.lke.insert("PP.P2".into());
    let judged = sawan.device.capture(tagged).await.expect("capture");
    for (n, photo) in ["scene.jpg", "photo.png"].into_iter().enumerate() {
        sawan
            .device
            .capture_with_photos(
                visit(format!("Sambang berfoto {n}")),
                vec![PhotoInput::camera(fixture(photo))],
            )
            .await
            .expect("capture with a photo");
    }
    let report = sawan.sync().await;
    assert!(report.photo_problems.is_empty(), "{report:?}");
    // The Polres's verdict on one: a logged step of HQ's, with no device push.
    server.forward(judged).await;
    let kasat = server
        .hq_token("bali/buleleng", "Kasat Binmas", "reviewer")
        .await;
    let (status, body) = server
        .hq(&kasat)
        .post(
            &format!("/records/{judged}/review"),
            &serde_json::json!({"verdict": "verified"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // Another Polsek's record stays out of Sawan's pack.
    let banjar = server.device("bali/buleleng/banjar", "87070002").await;
    banjar
        .device
        .capture(visit("Patroli Banjar".into()))
        .await
        .expect("capture");
    banjar.sync().await;

    let dir = tempfile::tempdir().expect("tempdir");
    let good: PathBuf = dir.path().join("sawan.zip");
    let out = server_command(&server)
        .args(["pack", "--unit", SAWAN, "--out"])
        .arg(&good)
        .output()
        .expect("run bukti-server pack");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("packing: 4/4 records"), "{stderr}");
    let summary: Value = serde_json::from_slice(&out.stdout).expect("a JSON summary");
    assert_eq!(summary["records"], 3, "{summary}");
    assert_eq!(summary["photos"], 2, "{summary}");
    assert_eq!(summary["server_key"], key.as_str());

    let e = entries(&good);
    let names: Vec<&str> = e.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("PP/PP.P2/") && n.ends_with("/record.json")),
        "{names:?}"
    );
    // A sambang visit is filed under its kind's default sub-indicator, MP.R3.
    assert_eq!(
        names
            .iter()
            .filter(|n| n.starts_with("MP/MP.R3/") && n.ends_with("/record.automerge"))
            .count(),
        2,
        "{names:?}"
    );
    for n in ["index.html", "records.csv", MANIFEST, SIGNATURE] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }

    // One LKE area, and a period that ended before the records.
    let area = dir.path().join("pp.zip");
    let out = server_command(&server)
        .args(["pack", "--unit", SAWAN, "--area", "PP", "--out"])
        .arg(&area)
        .output()
        .expect("run bukti-server pack");
    let summary: Value = serde_json::from_slice(&out.stdout).expect("a JSON summary");
    assert_eq!(summary["records"], 1, "{summary}");
    assert!(verify(&area, Some(&key)).0);
    let past = dir.path().join("past.zip");
    let out = server_command(&server)
        .args([
            "pack",
            "--unit",
            SAWAN,
            "--from",
            "2020-01-01",
            "--to",
            "2020-12-31",
            "--out",
        ])
        .arg(&past)
        .output()
        .expect("run bukti-server pack");
    let summary: Value = serde_json::from_slice(&out.stdout).expect("a JSON summary");
    assert_eq!(summary["records"], 0, "{summary}");
    assert!(verify(&past, Some(&key)).0);

    let judged_json = e
        .iter()
        .find(|(n, _)| n.ends_with(&format!("{judged}/record.json")))
        .expect("the judged record");
    assert!(
        String::from_utf8_lossy(&judged_json.1).contains("\"verdict\": \"valid\""),
        "{}",
        String::from_utf8_lossy(&judged_json.1)
    );
    let (ok, text) = verify(&good, Some(&key));
    assert!(ok, "{text}");
    assert!(
        text.contains("VERIFIED") && text.contains("the key you gave"),
        "{text}"
    );
    // Every signed push travels with the receipt the server answered it with, checked.
    let counts: Vec<&str> = text
        .split(" device-signed pushes verified, ")
        .flat_map(|s| s.split_whitespace())
        .collect();
    let at = counts
        .iter()
        .position(|w| *w == "with")
        .expect("the receipts line");
    assert!(
        at >= 2 && counts[at - 1] == counts[at - 2] && counts[at - 1] != "0",
        "as many receipts as signed pushes: {text}"
    );
    let (ok, text) = verify(&good, None);
    assert!(ok, "{text}");
    assert!(text.contains("the key inside the pack"), "{text}");
    let stranger = hex::encode(
        ed25519_dalek::SigningKey::from_bytes(&[7; 32])
            .verifying_key()
            .to_bytes(),
    );
    let (ok, text) = verify(&good, Some(&stranger));
    assert!(
        !ok && text.contains("does not verify under server key"),
        "{text}"
    );

    let d = dir.path();
    let photos: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| n.contains("/photos/"))
        .collect();
    assert_eq!(photos.len(), 2, "{names:?}");
    let flip = |mut b: Vec<u8>| {
        let i = b.len() / 2;
        b[i] ^= 0x55;
        b
    };
    refused(
        d,
        "photo",
        &edited(&e, photos[0], flip),
        &key,
        &format!("file {}'s SHA-256 does not match the manifest", photos[0]),
    );
    let json = find(&e, |n| n.ends_with("/record.json"));
    let retitled = edited(&e, json, |b| {
        String::from_utf8(b)
            .expect("utf-8")
            .replacen("Sambang", "Sambung", 1)
            .replacen("Sosialisasi", "Sosialisasu", 1)
            .into_bytes()
    });
    refused(
        d,
        "json",
        &retitled,
        &key,
        &format!("file {json}'s SHA-256 does not match the manifest"),
    );
    let html = find(&e, |n| n.ends_with("/record.html"));
    let removed: Vec<_> = e.iter().filter(|(n, _)| n != html).cloned().collect();
    refused(
        d,
        "removed",
        &removed,
        &key,
        &format!("file {html} is in the manifest but missing from the pack"),
    );
    let mut added = e.clone();
    added.push(("PP/PP.P2/notes.txt".into(), b"added later".to_vec()));
    refused(
        d,
        "added",
        &added,
        &key,
        "file PP/PP.P2/notes.txt is in the pack but not in the manifest",
    );
    let swapped: Vec<_> = e
        .iter()
        .map(|(n, _)| {
            let other = if n == photos[0] {
                photos[1]
            } else if n == photos[1] {
                photos[0]
            } else {
                n
            };
            (
                n.clone(),
                e.iter().find(|(m, _)| m == other).expect("photo").1.clone(),
            )
        })
        .collect();
    refused(d, "swapped", &swapped, &key, &format!("file {}", photos[0]));

    // A forged verdict written into a record's document.
    let doc_name = find(&e, |n| n.ends_with("/record.automerge"));
    let forge = |b: Vec<u8>| {
        use automerge::{ReadDoc, transaction::Transactable};
        let mut doc = automerge::AutoCommit::load(&b).expect("a document");
        let review = match doc.get(automerge::ROOT, "review").expect("read") {
            Some((_, id)) => id,
            None => doc
                .put_object(automerge::ROOT, "review", automerge::ObjType::Map)
                .expect("review"),
        };
        doc.put(&review, "verdict", "rejected").expect("forge");
        doc.save()
    };
    let forged = edited(&e, doc_name, forge);
    refused(d, "forged", &forged, &key, &format!("file {doc_name}"));
    // … also when the forger rewrites the manifest and signs it with a key of their own.
    let resigned = resign(&forged, doc_name, false);
    refused(
        d,
        "resigned",
        &resigned,
        &key,
        &format!("does not verify under server key {key}"),
    );
    // Checked under the forger's key (found in the pack), the record's parts disagree …
    let path = d.join("resigned-own-key.zip");
    write(&path, &resigned);
    let (ok, text) = verify(&path, None);
    assert!(!ok, "{text}");
    assert!(
        text.contains("record.json is not what record.automerge reads as"),
        "{text}"
    );
    // … and with record.json rewritten too, the forged change is in no evidence-log entry.
    let path = d.join("resigned-json.zip");
    write(&path, &resign(&forged, doc_name, true));
    let (ok, text) = verify(&path, None);
    assert!(!ok, "{text}");
    assert!(
        text.contains("which no evidence-log entry records"),
        "{text}"
    );
    // A pack re-signed whole by another key keeps the real server's receipts, which say so.
    let path = d.join("resigned-whole.zip");
    write(&path, &resign(&e, doc_name, false));
    let (ok, text) = verify(&path, None);
    assert!(!ok, "{text}");
    assert!(
        text.contains("is signed by server key") && text.contains("not the pack's"),
        "{text}"
    );

    // Hostile zips.
    let mut climbing = e.clone();
    climbing.push(("../evil.txt".into(), b"x".to_vec()));
    refused(
        d,
        "climbing",
        &climbing,
        &key,
        "entry \"../evil.txt\" climbs out of the pack with `..`: refused",
    );
    let bomb = d.join("bomb.zip");
    {
        let file = std::fs::File::create(&bomb).expect("create");
        let mut zip = zip::ZipWriter::new(file);
        let deflated = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("zeros.bin", deflated).expect("start");
        zip.write_all(&vec![0; 8 << 20]).expect("write");
        zip.finish().expect("finish");
    }
    let (ok, text) = verify(&bomb, Some(&key));
    assert!(!ok, "{text}");
    assert!(
        text.contains("entry \"zeros.bin\" unpacks to 8388608 bytes from")
            && text.contains("suggests a zip bomb"),
        "{text}"
    );
    let mut twice = e.clone();
    twice.push(("dup-aaaa.txt".into(), b"one".to_vec()));
    twice.push(("dup-bbbb.txt".into(), b"two".to_vec()));
    let path = d.join("twice.zip");
    write(&path, &twice);
    let bytes = std::fs::read(&path).expect("read");
    let patched = replace_all(&bytes, b"dup-bbbb.txt", b"dup-aaaa.txt");
    std::fs::write(&path, patched).expect("write");
    let (ok, text) = verify(&path, Some(&key));
    assert!(!ok, "{text}");
    assert!(
        text.contains("dup-aaaa.txt") && text.contains("twice"),
        "{text}"
    );

    server.finish().await;
}
