//! Photo sync, HQ and hostile input: hash strings that are not hashes (path traversal) are
//! refused before storage is touched, an unwritable blob folder fails uploads clearly while the
//! server keeps serving, and HQ's request for an original reaches the right unit's devices only.

use crate::{photo_scenarios, photos_common as common};

use bukti_tests::{Backend, TestServer, both_stores};
use common::{Blobs, Photo, env, get_blob, head, missing, patch, push_record, sha};
use serde_json::json;

async fn non_hashes_are_refused(backend: Backend, blobs: Blobs) {
    let env = env(backend, blobs).await;
    let server = &env.server;
    let dev = server.raw_device("bali/buleleng/sawan", "87010001").await;
    let photo = Photo::new(7, 10_000);
    push_record(server, &dev, &[&photo]).await;
    let good = sha(&photo.derivative);
    let bad = [
        "..%2F..%2Fetc%2Fpasswd".to_owned(),
        "..%2F..%2F..%2F..%2Ftmp%2Fx".to_owned(),
        good.to_uppercase(),
        good[..63].to_owned(),
        format!("{good}0"),
        format!("{}g", &good[..63]),
    ];
    for hash in &bad {
        let (status, body) = patch(server, &dev.token, hash, 0, 5, b"hello").await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("bad_hash")),
            "{hash}: {body}"
        );
        assert_eq!(head(server, &dev.token, hash).await.0, 400, "{hash}");
        let resp = get_blob(server, &server.admin_token, hash).await;
        assert_eq!(resp.status(), 400, "{hash}");
    }
    let (status, body) = missing(server, &dev.token, &["../../etc/passwd".to_owned()]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("bad_hash")),
        "{body}"
    );
    if blobs == Blobs::Local {
        // Nothing was written anywhere for the refused names.
        let dir = server.settings.data_dir.join("blobs");
        assert!(!dir.exists() || std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0) == 0);
    }
    env.server.finish().await;
}

async fn request_original_reaches_the_unit(backend: Backend, blobs: Blobs) {
    let env = env(backend, blobs).await;
    let server = &env.server;
    let dev = server.raw_device("bali/buleleng/sawan", "87010001").await;
    let other = server
        .raw_device("bali/buleleng/gerokgak", "87010009")
        .await;
    let photo = Photo::new(8, 10_000);
    let id = push_record(server, &dev, &[&photo]).await;
    let reviewer = server.hq_token("bali/buleleng", "Kasat", "reviewer").await;
    let viewer = server.hq_token("bali/buleleng", "Pengamat", "viewer").await;
    let key = photo.key();
    let path = format!("/records/{id}/photos/{key}/original");
    let (status, _) = server.hq(&viewer).post(&path, &json!({})).await;
    assert_eq!(status, 403);
    let (status, body) = server.hq(&reviewer).post(&path, &json!({})).await;
    assert_eq!(status, 202, "{body}");
    let (status, _) = server
        .hq(&reviewer)
        .post(
            &format!("/records/{id}/photos/{}/original", sha(b"x")),
            &json!({}),
        )
        .await;
    assert_eq!(status, 404);
    let requested = |token: String| async move {
        let resp = common::http()
            .get(format!("{}/api/v1/blobs/requested", server.url))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET requested");
        bukti_tests::status_json(resp).await
    };
    let (status, body) = requested(dev.token.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(body["hashes"], json!([key]), "{body}");
    let (_, body) = requested(other.token.clone()).await;
    assert_eq!(body["hashes"], json!([]), "{body}");
    let (_, view) = server.hq(&reviewer).get(&format!("/records/{id}")).await;
    assert_eq!(view["photos"][0]["original_requested"], true, "{view}");

    // The device uploads the original; the request is then answered.
    common::upload(server, &dev.token, &photo.original, 8 * 1024).await;
    let (_, body) = requested(dev.token.clone()).await;
    assert_eq!(body["hashes"], json!([]), "{body}");
    let (_, view) = server.hq(&reviewer).get(&format!("/records/{id}")).await;
    assert_eq!(view["photos"][0]["original_arrived"], true, "{view}");
    env.server.finish().await;
}

photo_scenarios!(non_hashes_are_refused, request_original_reaches_the_unit);

/// The blob folder cannot be written (here: a file stands where a folder must be created, which
/// stops even root): uploads fail with a clear 5xx and nothing else is affected.
async fn unwritable_blob_folder(backend: Backend) {
    let server = TestServer::start(backend).await;
    let dev = server.raw_device("bali/buleleng/sawan", "87010001").await;
    let photo = Photo::new(9, 10_000);
    push_record(&server, &dev, &[&photo]).await;
    let blobs = server.settings.data_dir.join("blobs");
    std::fs::create_dir_all(&blobs).expect("blob folder");
    std::fs::write(blobs.join("partial"), b"in the way").expect("block the partial folder");
    let d = sha(&photo.derivative);
    let (status, body) = patch(&server, &dev.token, &d, 0, 10_000, &photo.derivative).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (500, Some("blob_storage")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .contains("could not store"),
        "{body}"
    );
    // The server keeps serving: health, records, and a later retry once the folder is fixed.
    let health = common::http()
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    push_record(&server, &dev, &[]).await;
    std::fs::remove_file(blobs.join("partial")).expect("unblock");
    common::upload(&server, &dev.token, &photo.derivative, 4096).await;
    server.finish().await;
}

both_stores!(unwritable_blob_folder);
