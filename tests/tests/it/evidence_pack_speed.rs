//! Evidence pack speed (issue 11: pack 1,000 records with 2,000 photos at ≥ 50 MB/s, verify at
//! ≥ 100 MB/s). Ignored in the normal run (it writes about 300 MB); run it with
//! `cargo nextest run -p bukti-tests --run-ignored only evidence_pack_speed::`.

use std::time::Instant;

use bukti_core::record::PhotoRef;
use bukti_tests::{Backend, TestServer, push_entry, signing};
use serde_json::{Value, json};

use crate::bins::{bukti, server_command};

const SAWAN: &str = "bali/buleleng/sawan";
const RECORDS: usize = 1000;
const PHOTO_BYTES: usize = 150_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes ~300 MB; run on purpose"]
async fn pack_and_verify_throughput() {
    let server = TestServer::start(Backend::Sqlite).await;
    let dev = server.raw_device(SAWAN, "87080001").await;
    let blobs = server.settings.data_dir.join("blobs");
    let http = reqwest::Client::new();
    let mut batch: Vec<Value> = Vec::new();
    let mut seed = 1u64;
    for n in 0..RECORDS {
        let mut record = bukti_tests::sample_record(SAWAN, "87080001", &format!("Sambang {n}"));
        for _ in 0..2 {
            // Bytes that do not compress, like a JPEG's.
            let bytes: Vec<u8> = (0..PHOTO_BYTES)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            let hash = bukti_core::evidence::sha256_hex(&bytes);
            let dir = blobs.join(&hash[0..2]).join(&hash[2..4]);
            std::fs::create_dir_all(&dir).expect("blob dir");
            std::fs::write(dir.join(&hash), &bytes).expect("blob");
            record.photos.insert(
                hash,
                PhotoRef {
                    size: PHOTO_BYTES as u64,
                    content_type: "image/jpeg".into(),
                    source: "camera".into(),
                    ..PhotoRef::default()
                },
            );
        }
        let mut doc = bukti_core::RecordDoc::create(
            &record,
            dev.actor.clone(),
            &format!("officer:{}", dev.officer),
        );
        batch.push(push_entry(&mut doc));
        if batch.len() == 100 || n + 1 == RECORDS {
            let body = json!({"records": std::mem::take(&mut batch)});
            let body =
                signing::signed_for(&http, &format!("{}/api/v1", server.url), &dev.token, &body)
                    .await;
            let (status, answer) = server.device_post(&dev.token, "/sync/push", &body).await;
            assert_eq!(status, 200, "{answer}");
        }
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let pack = dir.path().join("speed.zip");
    let started = Instant::now();
    let out = server_command(&server)
        .args(["pack", "--unit", SAWAN, "--out"])
        .arg(&pack)
        .output()
        .expect("run bukti-server pack");
    let packing = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).expect("summary");
    assert_eq!(summary["records"], RECORDS, "{summary}");
    assert_eq!(summary["photos"], 2 * RECORDS, "{summary}");
    let bytes = std::fs::metadata(&pack).expect("pack").len() as f64;

    let started = Instant::now();
    let out = bukti()
        .arg("verify")
        .arg(&pack)
        .output()
        .expect("run bukti verify");
    let verifying = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let mb = bytes / 1e6;
    println!(
        "pack of {RECORDS} records, {} photos, {mb:.0} MB: written in {:.2} s ({:.0} MB/s), verified in {:.2} s ({:.0} MB/s)",
        2 * RECORDS,
        packing.as_secs_f64(),
        mb / packing.as_secs_f64(),
        verifying.as_secs_f64(),
        mb / verifying.as_secs_f64()
    );
    server.finish().await;
}
