//! Evidence pack speed (issue 11: a pack of 1,000 records with 2,000 photos written at
//! ≥ 50 MB/s, and `bukti verify` of it at ≥ 100 MB/s). Seeds a SQLite server with the records
//! (pushed and signed as devices push them; 150 kB photos of bytes that do not compress, like a
//! JPEG's) once, then times the release `bukti-server pack` and `bukti verify` as an operator
//! runs them, each over several rounds, and prints the medians.
//!
//! ```sh
//! cargo bench -p bukti-tests --bench pack
//! BUKTI_BENCH_ROUNDS=5 cargo bench -p bukti-tests --bench pack
//! ```

use std::{
    process::Command,
    time::{Duration, Instant},
};

use bukti_core::record::PhotoRef;
use bukti_tests::{Backend, TestServer, push_entry, signing};
use serde_json::{Value, json};

const SAWAN: &str = "bali/buleleng/sawan";
const RECORDS: usize = 1000;
const PHOTO_BYTES: usize = 150_000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rounds: usize = std::env::var("BUKTI_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    eprintln!("seeding {RECORDS} records with {} photos", 2 * RECORDS);
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

    eprintln!("seeded; {rounds} rounds of pack and verify");
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut packing, mut verifying, mut megabytes) = (Vec::new(), Vec::new(), 0.0);
    for round in 0..rounds {
        let pack = dir.path().join(format!("round-{round}.zip"));
        let started = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_test-bukti-server"))
            .env_remove("DATABASE_URL")
            .env_remove("BUKTI_DATA")
            .arg("--data")
            .arg(&server.settings.data_dir)
            .args(["pack", "--unit", SAWAN, "--out"])
            .arg(&pack)
            .output()
            .expect("run bukti-server pack");
        packing.push(started.elapsed());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let summary: Value = serde_json::from_slice(&out.stdout).expect("summary");
        assert_eq!(summary["records"], RECORDS, "{summary}");
        assert_eq!(summary["photos"], 2 * RECORDS, "{summary}");
        megabytes = std::fs::metadata(&pack).expect("pack").len() as f64 / 1e6;

        let started = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_test-bukti"))
            .arg("verify")
            .arg(&pack)
            .output()
            .expect("run bukti verify");
        verifying.push(started.elapsed());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        std::fs::remove_file(&pack).expect("remove the round's pack");
        eprintln!(
            "round {}: pack {:.2} s, verify {:.2} s",
            round + 1,
            packing[round].as_secs_f64(),
            verifying[round].as_secs_f64()
        );
    }
    let (pack, verify) = (median(&mut packing), median(&mut verifying));
    println!(
        "pack of {RECORDS} records, {} photos, {megabytes:.0} MB (median of {rounds}): written in {:.2} s ({:.0} MB/s; target >= 50), verified in {:.2} s ({:.0} MB/s; target >= 100)",
        2 * RECORDS,
        pack.as_secs_f64(),
        megabytes / pack.as_secs_f64(),
        verify.as_secs_f64(),
        megabytes / verify.as_secs_f64()
    );
    println!(
        "RESULT {}",
        json!({"records": RECORDS, "photos": 2 * RECORDS, "megabytes": megabytes,
               "pack_mb_s": megabytes / pack.as_secs_f64(), "verify_mb_s": megabytes / verify.as_secs_f64()})
    );
    server.finish().await;
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort_unstable();
    times[times.len() / 2]
}
