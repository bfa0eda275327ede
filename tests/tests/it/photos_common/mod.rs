//! Shared helpers for the photo (blob) tests: records with photos, raw chunked uploads, and a
//! macro running each scenario on SQLite and PostgreSQL with a local folder and with S3.

#![allow(dead_code)]

pub mod png;

use std::time::Duration;

use bukti_core::{
    RecordDoc,
    record::{PhotoRef, Rendition},
};
use bukti_tests::{Backend, RawDevice, TestServer, changes_b64, s3::S3Server, sample_record};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Where a scenario's blobs go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blobs {
    Local,
    S3,
}

/// A server for a scenario; keeps the S3 server alive as long as the test runs.
pub struct Env {
    pub server: TestServer,
    pub s3: Option<S3Server>,
}

pub async fn env(backend: Backend, blobs: Blobs) -> Env {
    match blobs {
        Blobs::Local => Env {
            server: TestServer::start(backend).await,
            s3: None,
        },
        Blobs::S3 => {
            let (server, s3) = TestServer::start_s3(backend).await;
            Env {
                server,
                s3: Some(s3),
            }
        }
    }
}

/// `photo_scenarios!(name, …)`: each `async fn name(backend, blobs)` runs four ways.
#[macro_export]
macro_rules! photo_scenarios {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::common::Blobs;
            use bukti_tests::Backend;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite_local() { super::$name(Backend::Sqlite, Blobs::Local).await; }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite_s3() { super::$name(Backend::Sqlite, Blobs::S3).await; }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_local() {
                if bukti_tests::postgres_available().await {
                    super::$name(Backend::Postgres, Blobs::Local).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_s3() {
                if bukti_tests::postgres_available().await {
                    super::$name(Backend::Postgres, Blobs::S3).await;
                }
            }
        }
    )*};
}

pub fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Deterministic pseudo-random bytes (incompressible enough, different per seed).
pub fn bytes(seed: u8, len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9 ^ u32::from(seed);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x & 0xff) as u8
        })
        .collect()
}

/// A photo's three renditions.
pub struct Photo {
    pub original: Vec<u8>,
    pub derivative: Vec<u8>,
    pub thumbnail: Vec<u8>,
}

impl Photo {
    pub fn new(seed: u8, derivative_len: usize) -> Photo {
        Photo {
            original: bytes(seed, derivative_len * 2),
            derivative: bytes(seed.wrapping_add(100), derivative_len),
            thumbnail: bytes(seed.wrapping_add(200), 2000),
        }
    }

    pub fn key(&self) -> String {
        sha(&self.original)
    }

    pub fn photo_ref(&self) -> PhotoRef {
        let rendition = |b: &[u8]| Rendition {
            hash: sha(b),
            size: b.len() as u64,
            width: 800,
            height: 600,
        };
        PhotoRef {
            size: self.original.len() as u64,
            content_type: "image/jpeg".into(),
            source: "camera".into(),
            derivative: Some(rendition(&self.derivative)),
            thumbnail: Some(rendition(&self.thumbnail)),
            phash: "0123456789abcdef".into(),
            ..PhotoRef::default()
        }
    }
}

/// Pushes a new record with `photos` for `device`; returns its id.
pub async fn push_record(server: &TestServer, device: &RawDevice, photos: &[&Photo]) -> String {
    let mut record = sample_record(&device.unit, &device.officer, "Sambang dengan foto");
    for p in photos {
        record.photos.insert(p.key(), p.photo_ref());
    }
    let mut doc = RecordDoc::create(&record, device.actor.clone(), "officer:test");
    let id = record.id.to_string();
    let (status, body) = server
        .device_post(
            &device.token,
            "/sync/push",
            &json!({"records": [{"id": id, "changes": changes_b64(&mut doc, &[])}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["status"], "accepted", "{body}");
    id
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

/// One `PATCH` chunk; returns status and JSON.
pub async fn patch(
    server: &TestServer,
    token: &str,
    hash: &str,
    offset: u64,
    length: u64,
    chunk: &[u8],
) -> (u16, Value) {
    let resp = http()
        .patch(format!("{}/api/v1/blobs/{hash}", server.url))
        .bearer_auth(token)
        .header("upload-offset", offset)
        .header("upload-length", length)
        .header("content-type", "application/offset+octet-stream")
        .body(chunk.to_vec())
        .send()
        .await
        .expect("PATCH");
    bukti_tests::status_json(resp).await
}

/// Uploads `bytes` in chunks of `chunk`; asserts each answer and returns the last.
pub async fn upload(server: &TestServer, token: &str, bytes: &[u8], chunk: usize) -> Value {
    let hash = sha(bytes);
    let mut offset = 0;
    loop {
        let end = (offset + chunk).min(bytes.len());
        let (status, body) = patch(
            server,
            token,
            &hash,
            offset as u64,
            bytes.len() as u64,
            &bytes[offset..end],
        )
        .await;
        if end == bytes.len() {
            assert_eq!(status, 201, "{body}");
            assert_eq!(body["complete"], true, "{body}");
            return body;
        }
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["offset"], end as u64, "{body}");
        offset = end;
    }
}

/// `HEAD /blobs/{hash}`: status and the `upload-offset` header.
pub async fn head(server: &TestServer, token: &str, hash: &str) -> (u16, Option<u64>) {
    let resp = http()
        .head(format!("{}/api/v1/blobs/{hash}", server.url))
        .bearer_auth(token)
        .send()
        .await
        .expect("HEAD");
    let offset = resp
        .headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (resp.status().as_u16(), offset)
}

/// `GET /blobs/{hash}` with `token`: the response itself.
pub async fn get_blob(server: &TestServer, token: &str, hash: &str) -> reqwest::Response {
    http()
        .get(format!("{}/api/v1/blobs/{hash}", server.url))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET blob")
}

pub async fn missing(server: &TestServer, token: &str, hashes: &[String]) -> (u16, Value) {
    server
        .device_post(token, "/blobs/missing", &json!({"hashes": hashes}))
        .await
}

/// One `PATCH` chunk over raw HTTP/1.1 whose body trickles in `pieces` parts `pause` apart, so
/// the server is mid-chunk for a while (two uploads of one photo overlap for sure). Returns the
/// status and JSON of the answer.
pub async fn slow_patch(
    url: &str,
    token: &str,
    hash: &str,
    (offset, total): (u64, u64),
    chunk: &[u8],
    pieces: usize,
    pause: Duration,
) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "PATCH /api/v1/blobs/{hash} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
         upload-offset: {offset}\r\nupload-length: {total}\r\n\
         content-type: application/offset+octet-stream\r\nconnection: close\r\n\
         content-length: {}\r\n\r\n",
        chunk.len()
    );
    tcp.write_all(head.as_bytes()).await.expect("headers");
    for piece in chunk.chunks(chunk.len().div_ceil(pieces.max(1)).max(1)) {
        tcp.write_all(piece).await.expect("body");
        tcp.flush().await.expect("flush");
        tokio::time::sleep(pause).await;
    }
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer).await.expect("answer");
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}
