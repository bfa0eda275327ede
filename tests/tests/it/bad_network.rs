//! Sync over a bad network: devices reach the real server through a loopback proxy
//! ([`bukti_tests::proxy`]) that refuses, stalls, cuts and truncates connections, or makes them
//! slow. Under each fault the sync retries with backoff and completes once the network allows,
//! never hangs, and afterwards the server holds exactly the devices' records (no duplicates, the
//! same heads) and every photo byte for byte.
//!
//! The devices behind the proxy wait as in the field, scaled down: the same retry schedule (six
//! retries, ceilings doubling to a cap) at a tenth of its length, and a stall timeout of 3 s
//! instead of 30 s, so a stall or a dead network costs each case a second or two.

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

use bukti_core::device::{Backoff, Capture, Device, DeviceError, NoProgress, PhotoInput};
use bukti_tests::{
    Backend, TestDevice, TestServer, both_stores,
    proxy::{Fault, Proxy},
};
use tempfile::TempDir;

const UNIT: &str = "bali/buleleng/sawan";

/// The field schedule (0.25 s doubling to 8 s, six retries) at a tenth of its length; also
/// for the other tests whose devices meet a network that fails for good.
pub(crate) const BACKOFF: Backoff = Backoff {
    first: Duration::from_millis(25),
    max: Duration::from_millis(800),
    retries: 6,
};
/// Silence after which a connection counts as lost (30 s in the field).
pub(crate) const STALL: Duration = Duration::from_secs(3);

fn capture(title: &str) -> Capture {
    Capture {
        kind: "sambang".into(),
        title: title.into(),
        place: "Balai Desa Sudaji".into(),
        ..Capture::default()
    }
}

fn scene() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/photos/scene.jpg")
}

/// A device whose every request goes through `proxy`.
async fn device_via(proxy: &Proxy, server: &TestServer, officer: &str) -> (Device, TempDir) {
    let home = tempfile::tempdir().expect("device home");
    let mut device = Device::open(home.path()).await.expect("open device");
    device.set_network_timing(BACKOFF, STALL);
    let code = server.enrollment_code(UNIT, officer).await;
    device
        .enroll(&proxy.url, &code, &format!("HP {officer}"))
        .await
        .expect("enroll while the network is fine");
    (device, home)
}

/// The server holds exactly `device`'s records, at the same heads.
async fn assert_server_matches(server: &TestServer, device: &Device) {
    let hq = server.hq(&server.admin_token);
    let (status, page) = hq.get("/records?limit=200").await;
    assert_eq!(status, 200, "{page}");
    let on_server: Vec<&str> = page["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["id"].as_str().expect("id"))
        .collect();
    let unique: HashSet<&str> = on_server.iter().copied().collect();
    assert_eq!(unique.len(), on_server.len(), "duplicates on the server");
    let local = device.list().await.expect("list");
    assert_eq!(local.len(), on_server.len(), "device and server disagree");
    for summary in &local {
        let id = summary.id;
        assert!(
            unique.contains(id.to_string().as_str()),
            "{id} not on the server"
        );
        let (status, view) = hq.get(&format!("/records/{id}")).await;
        assert_eq!(status, 200, "{view}");
        let mut server_heads: Vec<String> = view["heads"]
            .as_array()
            .expect("heads")
            .iter()
            .map(|h| h.as_str().expect("head").to_owned())
            .collect();
        let mut local_heads: Vec<String> = device
            .heads(id)
            .await
            .expect("heads")
            .expect("held")
            .iter()
            .map(ToString::to_string)
            .collect();
        server_heads.sort();
        local_heads.sort();
        assert_eq!(server_heads, local_heads, "record {id}");
    }
    assert_eq!(device.status().await.expect("status").waiting, 0);
}

/// Every photo file of `device`'s records is on the server, byte for byte.
async fn assert_photos_arrived(server: &TestServer, device: &Device) -> usize {
    let http = reqwest::Client::new();
    let mut checked = 0;
    for summary in device.list().await.expect("list") {
        let record = device
            .record(summary.id)
            .await
            .expect("read")
            .expect("held");
        for photo in record.photos.values() {
            for rendition in [&photo.derivative, &photo.thumbnail].into_iter().flatten() {
                let resp = http
                    .get(format!("{}/api/v1/blobs/{}", server.url, rendition.hash))
                    .bearer_auth(&server.admin_token)
                    .send()
                    .await
                    .expect("GET blob");
                assert_eq!(resp.status().as_u16(), 200, "{}", rendition.hash);
                let bytes = resp.bytes().await.expect("blob body");
                assert_eq!(bukti_core::photo::sha256_hex(&bytes), rendition.hash);
                checked += 1;
            }
        }
    }
    checked
}

/// Two devices sync at once through `fault`: one pushes records and a photo, the other pushes
/// and pulls a teammate's records in small pages. The network heals once `faults` connections
/// met the fault (with two devices, four means at least one retried); both syncs must then
/// complete, and the server and all devices agree.
async fn sync_survives(backend: Backend, fault: Fault, faults: u64) {
    let server = TestServer::start(backend).await;
    let teammate: TestDevice = server.device(UNIT, "87010009").await;
    for i in 0..5 {
        teammate
            .device
            .capture(capture(&format!("Patroli {i}")))
            .await
            .expect("capture");
    }
    teammate.sync().await;

    let proxy = Proxy::start(server.addr).await;
    let (mut made, _made_home) = device_via(&proxy, &server, "87010001").await;
    let (mut ketut, _ketut_home) = device_via(&proxy, &server, "87010002").await;
    made.set_photo_chunk_bytes(8 * 1024);
    ketut.set_pull_limit(2);
    for i in 0..3 {
        made.capture(capture(&format!("Sambang {i}")))
            .await
            .expect("capture");
    }
    made.capture_with_photos(
        capture("Sambang dengan foto"),
        vec![PhotoInput::camera(scene())],
    )
    .await
    .expect("capture with a photo");
    for i in 0..2 {
        ketut
            .capture(capture(&format!("Dumas {i}")))
            .await
            .expect("capture");
    }

    proxy.set(fault);
    let healed = AtomicBool::new(false);
    let heal = async {
        if faults > 0 {
            proxy.wait_faulted(faults).await;
            healed.store(true, Ordering::SeqCst);
            proxy.heal();
        }
    };
    let (made_report, ketut_report, ()) =
        tokio::join!(made.sync(&NoProgress), ketut.sync(&NoProgress), heal);
    let made_report = made_report.expect("the sync completes once the network allows");
    let ketut_report = ketut_report.expect("the sync completes once the network allows");
    assert!(
        faults == 0 || healed.load(Ordering::SeqCst),
        "nothing can pass through {fault:?}"
    );
    assert!(made_report.photo_problems.is_empty(), "{made_report:?}");
    assert!(ketut_report.skipped.is_empty(), "{ketut_report:?}");
    assert!(proxy.faulted() >= faults);

    // A healthy round so everyone has everyone's records.
    proxy.heal();
    made.sync(&NoProgress).await.expect("sync");
    ketut.sync(&NoProgress).await.expect("sync");
    teammate.sync().await;
    for device in [&made, &ketut, &teammate.device] {
        assert_eq!(device.list().await.expect("list").len(), 11);
        assert_server_matches(&server, device).await;
    }
    assert_eq!(assert_photos_arrived(&server, &made).await, 2);
    made.close().await;
    ketut.close().await;
    server.finish().await;
}

async fn refused_connections(backend: Backend) {
    sync_survives(backend, Fault::Refuse, 4).await;
}

async fn uploads_cut_in_their_headers(backend: Backend) {
    sync_survives(backend, Fault::CutUpload(100), 4).await;
}

/// The server applies the push, then its answer is lost: the retry must not duplicate anything.
async fn answers_cut_after_the_server_acted(backend: Backend) {
    sync_survives(backend, Fault::CutDownload(20), 4).await;
}

/// A success status with a body cut short is a network failure, not a protocol error.
async fn truncated_answers(backend: Backend) {
    sync_survives(backend, Fault::Truncate(3), 4).await;
}

async fn slow_links(backend: Backend) {
    sync_survives(backend, Fault::Delay(Duration::from_millis(40)), 0).await;
}

/// A connection that goes silent without closing must time out rather than hang the sync. The
/// network heals as soon as both devices' first requests are swallowed: those requests are lost
/// all the same, so each sync completes only by timing out and retrying.
async fn stalled_connections(backend: Backend) {
    sync_survives(backend, Fault::Stall, 2).await;
}

/// With every connection cut after a few kilobytes, the photo upload still advances chunk by
/// chunk on fresh connections, and the sync completes without the network ever healing.
async fn photo_upload_advances_under_a_lasting_cut(backend: Backend) {
    let server = TestServer::start(backend).await;
    let proxy = Proxy::start(server.addr).await;
    let (mut made, _home) = device_via(&proxy, &server, "87010001").await;
    made.set_photo_chunk_bytes(4 * 1024);
    made.capture_with_photos(capture("Sambang"), vec![PhotoInput::camera(scene())])
        .await
        .expect("capture");
    proxy.set(Fault::CutUpload(10 * 1024));
    let report = made
        .sync(&NoProgress)
        .await
        .expect("each retry gets further");
    assert!(proxy.faulted() >= 2, "connections were cut");
    assert_eq!(report.photos_uploaded, 2, "{report:?}");
    proxy.heal();
    assert_server_matches(&server, &made).await;
    assert_eq!(assert_photos_arrived(&server, &made).await, 2);
    made.close().await;
    server.finish().await;
}

/// A network that never comes back: the sync gives up after its bounded retries with a network
/// error (it does not hang, and it waits between attempts rather than hammering), keeps
/// everything queued, and the next sync after the network returns sends it all once.
async fn a_dead_network_fails_cleanly_after_bounded_retries(backend: Backend) {
    let server = TestServer::start(backend).await;
    let proxy = Proxy::start(server.addr).await;
    let (made, _home) = device_via(&proxy, &server, "87010001").await;
    for i in 0..3 {
        made.capture(capture(&format!("Sambang {i}")))
            .await
            .expect("capture");
    }
    proxy.set(Fault::Refuse);
    let started = Instant::now();
    let failed = made.sync(&NoProgress).await;
    let waited = started.elapsed();
    assert!(
        matches!(failed, Err(DeviceError::Network { .. })),
        "{failed:?}"
    );
    // One attempt and six retries: bounded, not a hot loop, and the waits between them were
    // taken (their lower bound is half of each backoff ceiling).
    let attempts = proxy.faulted();
    assert!((7..=8).contains(&attempts), "{attempts} attempts");
    let floor: Duration = (0..BACKOFF.retries).map(|r| BACKOFF.delay(r, 0.0)).sum();
    assert!(waited >= floor, "{waited:?}, at least {floor:?}");
    assert_eq!(made.status().await.expect("status").waiting, 3);

    proxy.heal();
    let report = made.sync(&NoProgress).await.expect("sync");
    assert_eq!(report.pushed, 3);
    assert_server_matches(&server, &made).await;
    made.close().await;
    server.finish().await;
}

both_stores!(
    refused_connections,
    uploads_cut_in_their_headers,
    answers_cut_after_the_server_acted,
    truncated_answers,
    slow_links,
    stalled_connections,
    photo_upload_advances_under_a_lasting_cut,
    a_dead_network_fails_cleanly_after_bounded_retries,
);
