//! Upload benchmark: server ingest of chunked photo uploads on loopback into the local folder.
//!
//! An in-process `bukti-server` (SQLite, local blob folder in a temporary directory) and, per
//! round, `--devices` concurrent devices each uploading one fresh 4 MiB blob in 1 MiB `PATCH`
//! chunks (each chunk fsynced, the whole verified by SHA-256 and published at the end). Records
//! referring to the blobs are pushed before the clock starts. Reports per concurrency level the
//! median MB/s over `--rounds` and the process's RSS growth per concurrent upload (peak VmRSS
//! sampled during the uploads minus VmRSS just before; the blobs the devices send are allocated
//! before the baseline and sent without copies, so the growth is the server's buffers, hyper's
//! and the client's in-flight requests).
//!
//! ```sh
//! cargo bench -p bukti-tests --bench upload -- [--devices 1,8,32] [--rounds 5]
//! ```

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bukti_core::{
    RecordDoc,
    record::{PhotoRef, Rendition},
};
use bukti_tests::{Backend, RawDevice, TestServer, changes_b64, sample_record};
use reqwest::Body;
use sha2::{Digest, Sha256};

const BLOB: usize = 4 * 1024 * 1024;
const CHUNK: usize = 1024 * 1024;

fn options() -> (Vec<usize>, usize) {
    let (mut devices, mut rounds) = (vec![1, 8, 32], 5);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--devices" => {
                devices = args
                    .next()
                    .map(|v| v.split(',').filter_map(|n| n.parse().ok()).collect())
                    .unwrap_or(devices);
            }
            "--rounds" => rounds = args.next().and_then(|v| v.parse().ok()).unwrap_or(rounds),
            _ => {} // cargo bench passes --bench
        }
    }
    (devices, rounds)
}

fn vm_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn blob(seed: u64) -> bytes::Bytes {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut v = Vec::with_capacity(BLOB);
    while v.len() < BLOB {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    bytes::Bytes::from(v)
}

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Pushes one record whose photo's derivative is `data`.
async fn push(server: &TestServer, dev: &RawDevice, data: &[u8]) {
    let mut record = sample_record(&dev.unit, &dev.officer, "Bench");
    let original = sha(&[data, b"original"].concat());
    record.photos.insert(
        original,
        PhotoRef {
            size: 1,
            content_type: "image/jpeg".into(),
            source: "camera".into(),
            derivative: Some(Rendition {
                hash: sha(data),
                size: data.len() as u64,
                width: 1600,
                height: 1200,
            }),
            ..PhotoRef::default()
        },
    );
    let mut doc = RecordDoc::create(&record, dev.actor.clone(), "officer:bench");
    let body = serde_json::json!({"records": [{"id": record.id.to_string(), "changes": changes_b64(&mut doc, &[])}]});
    let (status, answer) = server.device_post(&dev.token, "/sync/push", &body).await;
    assert!(
        status == 200 && answer["results"][0]["status"] == "accepted",
        "{answer}"
    );
}

async fn upload(http: reqwest::Client, url: String, token: String, data: bytes::Bytes) {
    let hash = sha(&data);
    let mut offset = 0;
    while offset < data.len() {
        let end = (offset + CHUNK).min(data.len());
        let resp = http
            .patch(format!("{url}/api/v1/blobs/{hash}"))
            .bearer_auth(&token)
            .header("upload-offset", offset)
            .header("upload-length", data.len())
            .header("content-type", "application/offset+octet-stream")
            .body(Body::from(data.slice(offset..end)))
            .send()
            .await
            .expect("PATCH");
        let status = resp.status().as_u16();
        assert!(
            status == 200 || status == 201,
            "{status}: {:?}",
            resp.text().await
        );
        offset = end;
    }
}

async fn round(server: &TestServer, devs: &[RawDevice], seed: u64) -> (f64, f64) {
    let blobs: Vec<bytes::Bytes> = (0..devs.len())
        .map(|i| blob(seed * 1000 + i as u64))
        .collect();
    for (dev, data) in devs.iter().zip(&blobs) {
        push(server, dev, data).await;
    }
    let http = reqwest::Client::new();
    let base = vm_rss_kib();
    let peak = Arc::new(AtomicU64::new(base));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(vm_rss_kib(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let start = Instant::now();
    let tasks: Vec<_> = devs
        .iter()
        .zip(&blobs)
        .map(|(dev, data)| {
            tokio::spawn(upload(
                http.clone(),
                server.url.clone(),
                dev.token.clone(),
                data.clone(),
            ))
        })
        .collect();
    for t in tasks {
        t.await.expect("upload task");
    }
    let secs = start.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    let _ = sampler.await;
    let mb = (devs.len() * BLOB) as f64 / 1e6;
    let growth_mib = peak.load(Ordering::Relaxed).saturating_sub(base) as f64 / 1024.0;
    (mb / secs, growth_mib / devs.len() as f64)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let (levels, rounds) = options();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let server = TestServer::start(Backend::Sqlite).await;
        println!("| devices | MB/s (median of {rounds}) | RSS growth per upload (MiB) |");
        println!("|---:|---:|---:|");
        let mut seed = 1;
        for &n in &levels {
            let mut devs = Vec::new();
            for i in 0..n {
                devs.push(
                    server
                        .raw_device("bali/buleleng/sawan", &format!("8701{i:04}"))
                        .await,
                );
            }
            let (mut speeds, mut mems) = (Vec::new(), Vec::new());
            for _ in 0..rounds {
                let (speed, mem) = round(&server, &devs, seed).await;
                seed += 1;
                eprintln!("  {n} devices: {speed:.0} MB/s, {mem:.2} MiB per upload");
                speeds.push(speed);
                mems.push(mem);
            }
            println!("| {n} | {:.0} | {:.2} |", median(speeds), median(mems));
        }
        server.finish().await;
    });
}
