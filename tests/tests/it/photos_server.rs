//! Photo sync, server side: chunked upload and HQ download, one copy per hash, resuming after a
//! cut connection and after a server restart, and the refusals that keep a bad upload from ever
//! becoming visible. Every scenario runs on SQLite and PostgreSQL, with a local folder and S3.

use crate::{photo_scenarios, photos_common as common};

use std::time::Duration;

use bukti_tests::Backend;
use common::{Blobs, Photo, env, get_blob, head, missing, patch, push_record, sha, upload};
use tokio::io::AsyncWriteExt;

async fn chunked_upload_then_hq_download(backend: Backend, blobs: Blobs) {
    let env = env(backend, blobs).await;
    let server = &env.server;
    let dev = server.raw_device("bali/buleleng/sawan", "87010001").await;
    let photo = Photo::new(1, 300_000);
    let id = push_record(server, &dev, &[&photo]).await;
    let d = sha(&photo.derivative);
    let (status, body) = missing(server, &dev.token, &[d.clone(), sha(&photo.thumbnail)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["missing"].as_array().map(Vec::len), Some(2), "{body}");
    assert_eq!(body["missing"][0]["offset"], 0);

    // Waiting, never silently missing: the record lists the photo before its bytes arrive.
    let hq = server.hq(&server.admin_token);
    let (_, view) = hq.get(&format!("/records/{id}")).await;
    assert_eq!(view["photos"][0]["hash"], photo.key(), "{view}");
    assert_eq!(view["photos"][0]["derivative_arrived"], false);
    assert_eq!(
        get_blob(server, &server.admin_token, &d).await.status(),
        404
    );

    upload(server, &dev.token, &photo.derivative, 128 * 1024).await;
    let resp = get_blob(server, &server.admin_token, &d).await;
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert_eq!(h["content-type"], "image/jpeg");
    assert_eq!(h["etag"], format!("\"{d}\""));
    assert!(
        h["cache-control"]
            .to_str()
            .unwrap_or("")
            .contains("immutable")
    );
    assert_eq!(
        resp.bytes().await.expect("body").as_ref(),
        photo.derivative.as_slice()
    );
    let cached = common::http()
        .get(format!("{}/api/v1/blobs/{d}", server.url))
        .bearer_auth(&server.admin_token)
        .header("if-none-match", format!("\"{d}\""))
        .send()
        .await
        .expect("GET");
    assert_eq!(cached.status(), 304);

    let (_, view) = hq.get(&format!("/records/{id}")).await;
    let p = &view["photos"][0];
    assert_eq!(
        (
            p["derivative_arrived"].as_bool(),
            p["thumbnail_arrived"].as_bool(),
            p["original_arrived"].as_bool()
        ),
        (Some(true), Some(false), Some(false)),
        "{view}"
    );
    assert_eq!(p["content_type"], "image/jpeg");
    let (_, body) = missing(server, &dev.token, &[d.clone(), sha(&photo.thumbnail)]).await;
    assert_eq!(body["missing"].as_array().map(Vec::len), Some(1), "{body}");
    env.server.finish().await;
}

async fn one_copy_per_hash(backend: Backend, blobs: Blobs) {
    let env = env(backend, blobs).await;
    let server = &env.server;
    let a = server.raw_device("bali/buleleng/sawan", "87010001").await;
    let b = server.raw_device("bali/buleleng/sawan", "87010002").await;
    let photo = Photo::new(2, 50_000);
    push_record(server, &a, &[&photo]).await;
    push_record(server, &b, &[&photo]).await;
    let d = sha(&photo.derivative);
    upload(server, &a.token, &photo.derivative, 20_000).await;
    // The second officer's device is asked for the bytes all the same (holding a photo is
    // proved by sending it, see blob_scope.rs), and its upload leaves no second copy.
    let (_, body) = missing(server, &b.token, std::slice::from_ref(&d)).await;
    assert_eq!(body["missing"][0]["offset"], 0, "{body}");
    upload(server, &b.token, &photo.derivative, 20_000).await;
    let (_, body) = missing(server, &b.token, std::slice::from_ref(&d)).await;
    assert_eq!(body["missing"], serde_json::json!([]), "{body}");
    // From now on it is complete at once for that officer, whatever the offset.
    let (status, body) = patch(
        server,
        &b.token,
        &d,
        0,
        photo.derivative.len() as u64,
        &photo.derivative[..20_000],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["offset"], photo.derivative.len() as u64);
    if let Some(s3) = &env.s3 {
        // One object for the blob; every upload part is gone.
        assert_eq!(s3.object_count(), 1);
    } else {
        let dir = server.settings.data_dir.join("blobs");
        let copies = walk(&dir).into_iter().filter(|p| p.ends_with(&d)).count();
        assert_eq!(copies, 1);
    }
    env.server.finish().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Sends the headers of a chunk and half its bytes, then drops the connection.
async fn half_chunk_then_cut(
    url: &str,
    token: &str,
    hash: &str,
    offset: u64,
    total: u64,
    chunk: &[u8],
) {
    let addr = url.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "PATCH /api/v1/blobs/{hash} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
         upload-offset: {offset}\r\nupload-length: {total}\r\ncontent-type: application/offset+octet-stream\r\n\
         content-length: {}\r\n\r\n",
        chunk.len()
    );
    tcp.write_all(head.as_bytes()).await.expect("headers");
    tcp.write_all(&chunk[..chunk.len() / 2])
        .await
        .expect("half a chunk");
    tcp.flush().await.expect("flush");
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(tcp);
}

async fn resume_after_cut_connection(backend: Backend, blobs: Blobs) {
    let env = env(backend, blobs).await;
    let server = &env.server;
    let dev = server.raw_device("bali/buleleng/sawan", "87010001").await;
    let photo = Photo::new(3, 200_000);
    push_record(server, &dev, &[&photo]).await;
    let (d, total) = (sha(&photo.derivative), photo.derivative.len() as u64);
    let (status, _) = patch(
        server,
        &dev.token,
        &d,
        0,
        total,
        &photo.derivative[..50_000],
    )
    .await;
    assert_eq!(status, 200);
    half_chunk_then_cut(
        &server.url,
        &dev.token,
        &d,
        50_000,
        total,
        &photo.derivative[50_000..150_000],
    )
    .await;
    // The server stores what arrived before the cut; wait until it has noticed the cut.
    let mut offset = None;
    for _ in 0..50 {
        let (status, o) = head(server, &dev.token, &d).await;
        assert_eq!(status, 200);
        if o > Some(50_000) {
            offset = o;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let offset = offset.expect("the bytes before the cut are kept");
    assert!(offset <= 100_000, "{offset}");
    let (_, body) = missing(server, &dev.token, std::slice::from_ref(&d)).await;
    assert_eq!(body["missing"][0]["offset"], offset);
    // The retry sends only the rest.
    let (status, body) = patch(
        server,
        &dev.token,
        &d,
        offset,
        total,
        &photo.derivative[offset as usize..],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let got = get_blob(server, &server.admin_token, &d)
        .await
        .bytes()
        .await
        .expect("body");
    assert_eq!(got.as_ref(), photo.derivative.as_slice());
    env.server.finish().await;
}

async fn resume_after_server_restart(backend: Backend, blobs: Blobs) {
    let mut env = env(backend, blobs).await;
    let dev = env
        .server
        .raw_device("bali/buleleng/sawan", "87010001")
        .await;
    let photo = Photo::new(4, 300_000);
    push_record(&env.server, &dev, &[&photo]).await;
    let (d, total) = (sha(&photo.derivative), photo.derivative.len() as u64);
    let (status, _) = patch(
        &env.server,
        &dev.token,
        &d,
        0,
        total,
        &photo.derivative[..100_000],
    )
    .await;
    assert_eq!(status, 200);
    env.server.restart().await;
    let server = &env.server;
    assert_eq!(head(server, &dev.token, &d).await, (200, Some(100_000)));
    let (status, body) = patch(
        server,
        &dev.token,
        &d,
        100_000,
        total,
        &photo.derivative[100_000..],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        get_blob(server, &server.admin_token, &d).await.status(),
        200
    );
    env.server.finish().await;
}

async fn refusals_leave_nothing_visible(backend: Backend, blobs: Blobs) {
    let env = env(backend, blobs).await;
    let server = &env.server;
    let dev = server.raw_device("bali/buleleng/sawan", "87010001").await;
    let photo = Photo::new(5, 100_000);
    push_record(server, &dev, &[&photo]).await;
    let (d, total) = (sha(&photo.derivative), photo.derivative.len() as u64);

    // Wrong offset: 409 with the server's offset.
    let (status, body) = patch(
        server,
        &dev.token,
        &d,
        0,
        total,
        &photo.derivative[..40_000],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = patch(
        server,
        &dev.token,
        &d,
        10_000,
        total,
        &photo.derivative[10_000..20_000],
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("offset_mismatch")),
        "{body}"
    );
    assert_eq!(body["offset"], 40_000);

    // A chunk running past the declared length.
    let (status, body) = patch(
        server,
        &dev.token,
        &d,
        40_000,
        50_000,
        &photo.derivative[40_000..],
    )
    .await;
    assert_eq!(status, 400, "{body}");

    // Bytes that do not hash to the name: 422, discarded, still missing from 0.
    let mut wrong = photo.derivative.clone();
    wrong[99_999] ^= 1;
    let (status, body) = patch(server, &dev.token, &d, 40_000, total, &wrong[40_000..]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("hash_mismatch")),
        "{body}"
    );
    assert_eq!(
        get_blob(server, &server.admin_token, &d).await.status(),
        404
    );
    let (_, body) = missing(server, &dev.token, std::slice::from_ref(&d)).await;
    assert_eq!(body["missing"][0]["offset"], 0, "{body}");

    // Over the size limit.
    let (status, body) = patch(server, &dev.token, &d, 0, 26 * 1024 * 1024, b"x").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("blob_too_large")),
        "{body}"
    );

    // A hash no record in the unit refers to, and another unit's device.
    let stranger = sha(b"not referred to");
    let (status, _) = patch(server, &dev.token, &stranger, 0, 15, b"not referred to").await;
    assert_eq!(status, 404);
    let (_, body) = missing(server, &dev.token, std::slice::from_ref(&stranger)).await;
    assert_eq!(body["unknown"][0], stranger.as_str());
    let other = server
        .raw_device("bali/buleleng/gerokgak", "87010009")
        .await;
    let (status, _) = patch(server, &other.token, &d, 0, total, &photo.derivative).await;
    assert_eq!(status, 404);

    // Still uploadable afterwards, and then another unit still cannot read it.
    upload(server, &dev.token, &photo.derivative, 64 * 1024).await;
    assert_eq!(get_blob(server, &other.token, &d).await.status(), 404);
    assert_eq!(get_blob(server, &dev.token, &d).await.status(), 200);
    env.server.finish().await;
}

photo_scenarios!(
    chunked_upload_then_hq_download,
    one_copy_per_hash,
    resume_after_cut_connection,
    resume_after_server_restart,
    refusals_leave_nothing_visible,
);
