//! The `bukti` binary's photo housekeeping against a real server: after each sync it deletes
//! the files the server confirmed (the display copy at once, an original once past retention)
//! and never one the server has not confirmed; with `--send-originals wifi`, originals wait
//! for Wi-Fi (here told with `BUKTI_NETWORK`, as a phone's shell does). Runs on SQLite and
//! PostgreSQL.

use std::{path::Path, process::Output};

use bukti_core::device::{Capture, PhotoInput};
use bukti_tests::{Backend, TestServer, both_stores};

/// Runs `bukti` on `home` on the given network; asserts it succeeded.
fn bukti(home: &Path, network: &str, args: &[&str]) -> Output {
    let out = crate::bins::bukti()
        .arg("--home")
        .arg(home)
        .arg("--quiet")
        .args(args)
        .env("BUKTI_NETWORK", network)
        .output()
        .expect("run bukti");
    assert!(
        out.status.success(),
        "bukti {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn on_device(home: &Path, hash: &str) -> bool {
    home.join("photos").join(&hash[..2]).join(hash).exists()
}

async fn sync_frees_confirmed_photos_and_originals_wait_for_wifi(backend: Backend) {
    let server = TestServer::start(backend).await;
    let phone = server.device("bali/buleleng/sawan", "87010001").await;
    let photo = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/photos/scene.jpg");
    let capture = Capture {
        kind: "sambang".into(),
        title: "Sambang dengan foto".into(),
        ..Capture::default()
    };
    let id = phone
        .device
        .capture_with_photos(capture, vec![PhotoInput::camera(photo)])
        .await
        .expect("capture");
    let record = phone
        .device
        .record(id)
        .await
        .expect("read")
        .expect("record");
    let (original, refs) = record.photos.iter().next().expect("a photo");
    let original = original.clone();
    let derivative = refs.derivative.as_ref().expect("derivative").hash.clone();
    let thumbnail = refs.thumbnail.as_ref().expect("thumbnail").hash.clone();
    let home = phone.home.path().to_owned();
    phone.device.close().await;
    let hq = server.hq(&server.admin_token);
    let arrived = |view: &serde_json::Value, which: &str| view["photos"][0][which] == true;

    let out = bukti(
        &home,
        "cellular",
        &[
            "photos",
            "--send-originals",
            "wifi",
            "--retention-days",
            "0",
        ],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("on Wi-Fi"));
    // On mobile data only the renditions go; the sync then frees the display copy the server
    // confirmed, but the original it has not got stays, though past retention.
    bukti(&home, "cellular", &["sync"]);
    let (_, view) = hq.get(&format!("/records/{id}")).await;
    assert!(arrived(&view, "derivative_arrived"), "{view}");
    assert!(!arrived(&view, "original_arrived"), "{view}");
    assert!(
        !on_device(&home, &derivative),
        "the confirmed display copy is freed"
    );
    assert!(
        on_device(&home, &thumbnail),
        "thumbnails stay for the device's lists"
    );
    assert!(
        on_device(&home, &original),
        "an unconfirmed original is never deleted"
    );

    // On Wi-Fi the original goes, and once the server confirms it, it is freed too.
    bukti(&home, "wifi", &["sync"]);
    let (_, view) = hq.get(&format!("/records/{id}")).await;
    assert!(arrived(&view, "original_arrived"), "{view}");
    assert!(
        !on_device(&home, &original),
        "the confirmed original past retention is freed"
    );
    assert!(on_device(&home, &thumbnail));
    server.finish().await;
}

both_stores!(sync_frees_confirmed_photos_and_originals_wait_for_wifi);
