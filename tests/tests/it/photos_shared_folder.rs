//! Two server processes over one blob store (one local folder, or one S3 bucket) receiving the
//! same photo at the same time, as behind a load balancer when a device's retry lands on the
//! other process: the bytes are never appended twice, the blob is published once and only after
//! its SHA-256 verifies, and both processes then serve the exact bytes.

use crate::{photo_scenarios, photos_common as common};

use std::time::Duration;

use bukti_tests::{Backend, TestServer};
use common::{Blobs, Photo, env, get_blob, head, push_record, sha, slow_patch};
use serde_json::Value;

/// Each chunk trickles in over about half a second, so the two uploads overlap.
const PIECES: usize = 10;
const PAUSE: Duration = Duration::from_millis(50);

/// A chunk's answer when another process raced it: stored, or told where the upload stands.
fn stored_or_told(answer: &(u16, Value), stored: u16, offset: u64) {
    let (status, body) = answer;
    let ok = (*status == stored && body["offset"] == offset) || *status == 409;
    assert!(ok, "{status} {body}");
}

async fn two_processes_receive_one_photo_at_once(backend: Backend, blobs: Blobs) {
    let env = env(backend, blobs).await;
    let a = &env.server;
    let b = a.second_process().await;
    let dev = a.raw_device("bali/buleleng/sawan", "87010001").await;
    let photo = Photo::new(21, 300_000);
    push_record(a, &dev, &[&photo]).await;
    let (d, total) = (sha(&photo.derivative), photo.derivative.len() as u64);
    let half = 150_000;
    let send = |server: &TestServer, offset: u64, chunk: &[u8]| {
        let (url, token, hash) = (server.url.clone(), dev.token.clone(), d.clone());
        let chunk = chunk.to_vec();
        async move { slow_patch(&url, &token, &hash, (offset, total), &chunk, PIECES, PAUSE).await }
    };
    let derivative = &photo.derivative;

    let (ra, rb) = tokio::join!(
        send(a, 0, &derivative[..half]),
        send(&b, 0, &derivative[..half])
    );
    stored_or_told(&ra, 200, half as u64);
    stored_or_told(&rb, 200, half as u64);
    assert!(
        ra.0 == 200 || rb.0 == 200,
        "one of them stored it: {ra:?} {rb:?}"
    );
    // The first half is held once, not appended by both processes.
    assert_eq!(head(a, &dev.token, &d).await, (200, Some(half as u64)));
    assert_eq!(head(&b, &dev.token, &d).await, (200, Some(half as u64)));

    let (ra, rb) = tokio::join!(
        send(a, half as u64, &derivative[half..]),
        send(&b, half as u64, &derivative[half..])
    );
    stored_or_told(&ra, 201, total);
    stored_or_told(&rb, 201, total);
    assert!(
        ra.0 == 201 || rb.0 == 201,
        "one of them published: {ra:?} {rb:?}"
    );
    for server in [a, &b] {
        let resp = get_blob(server, &a.admin_token, &d).await;
        assert_eq!(resp.status(), 200);
        let bytes = resp.bytes().await.expect("blob");
        assert_eq!(sha(&bytes), d, "the published bytes are the photo's");
    }
    if env.s3.is_none() {
        let partial = a.settings.data_dir.join("blobs").join("partial");
        let left: Vec<_> = std::fs::read_dir(&partial)
            .map(|dir| dir.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(
            left.is_empty(),
            "nothing of the upload is left over: {left:?}"
        );
    }
    b.finish().await;
    env.server.finish().await;
}

photo_scenarios!(two_processes_receive_one_photo_at_once);
