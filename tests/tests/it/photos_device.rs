//! Photo sync, device side, against the real server: capture with real JPEGs offline, sync,
//! HQ reads the derivative; HQ asks for an original and the next sync sends it; an upload cut
//! mid-way (a loopback proxy drops the connection after some bytes) resumes, from a copy of the
//! device's store taken at the cut, sending only the rest.

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
};

use bukti_core::{
    Record,
    device::{Capture, Device, NoProgress, PhotoInput},
};
use bukti_tests::{Backend, TestServer, both_stores};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

const UNIT: &str = "bali/buleleng/sawan";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fixtures/photos/{name}"))
}

fn capture() -> Capture {
    Capture {
        kind: "sambang".into(),
        title: "Sambang Desa Sudaji".into(),
        place: "Balai Desa Sudaji".into(),
        ..Capture::default()
    }
}

async fn blob(server: &TestServer, hash: &str) -> (u16, Vec<u8>) {
    let resp = reqwest::Client::new()
        .get(format!("{}/api/v1/blobs/{hash}", server.url))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .expect("GET blob");
    let status = resp.status().as_u16();
    (status, resp.bytes().await.expect("body").to_vec())
}

fn the_photo(record: &Record) -> (String, bukti_core::record::PhotoRef) {
    let (hash, photo) = record.photos.iter().next().expect("a photo");
    (hash.clone(), photo.clone())
}

async fn capture_sync_and_hq_reads_the_photo(backend: Backend) {
    let server = TestServer::start(backend).await;
    let dev = server.device(UNIT, "87010123").await;
    let id = dev
        .device
        .capture_with_photos(capture(), vec![PhotoInput::camera(fixture("scene.jpg"))])
        .await
        .expect("capture offline");
    let record = dev.device.record(id).await.expect("read").expect("stored");
    let (hash, photo) = the_photo(&record);
    let derivative = photo.derivative.clone().expect("derivative");
    assert_eq!(
        dev.device
            .status()
            .await
            .expect("status")
            .photos
            .renditions_waiting,
        2
    );

    let report = dev.sync().await;
    assert_eq!(report.pushed, 1);
    assert_eq!(report.photos_uploaded, 2, "{report:?}");
    assert!(report.photo_problems.is_empty(), "{report:?}");
    let status = dev.device.status().await.expect("status").photos;
    assert_eq!(status.renditions_waiting, 0);

    let (code, bytes) = blob(&server, &derivative.hash).await;
    assert_eq!(code, 200);
    assert_eq!(bytes.len() as u64, derivative.size);
    assert_eq!(bukti_core::photo::sha256_hex(&bytes), derivative.hash);
    // The original stays on the device until HQ asks for it.
    assert_eq!(blob(&server, &hash).await.0, 404);
    assert_eq!(dev.sync().await.photos_uploaded, 0, "nothing sent twice");

    let hq = server.hq(&server.admin_token);
    let (code, body) = hq
        .post(
            &format!("/records/{id}/photos/{hash}/original"),
            &serde_json::json!({}),
        )
        .await;
    assert!(code < 300, "{code} {body}");
    let report = dev.sync().await;
    assert_eq!(report.photos_uploaded, 1, "{report:?}");
    let (code, bytes) = blob(&server, &hash).await;
    assert_eq!(code, 200);
    assert_eq!(
        bytes,
        std::fs::read(fixture("scene.jpg")).expect("fixture"),
        "the original arrives byte for byte"
    );
    server.finish().await;
}

/// A loopback TCP proxy that forwards to `target` and, while armed, cuts every connection once
/// `budget` bytes from clients have gone through.
struct CutProxy {
    url: String,
    budget: Arc<AtomicI64>,
}

impl CutProxy {
    async fn start(target: std::net::SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let budget = Arc::new(AtomicI64::new(i64::MAX));
        let shared = budget.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let budget = shared.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(target).await {
                        pipe(client, server, budget).await;
                    }
                });
            }
        });
        Self { url, budget }
    }

    fn cut_after(&self, bytes: i64) {
        self.budget.store(bytes, Ordering::SeqCst);
    }

    fn heal(&self) {
        self.budget.store(i64::MAX, Ordering::SeqCst);
    }
}

async fn pipe(client: TcpStream, server: TcpStream, budget: Arc<AtomicI64>) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let left = budget.fetch_sub(n as i64, Ordering::SeqCst);
            if left < n as i64 {
                // Forward what the budget allows, then drop the connection mid-request.
                let allowed = left.max(0) as usize;
                let _ = sw.write_all(&buf[..allowed]).await;
                return;
            }
            if sw.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    let down = async move {
        let _ = tokio::io::copy(&mut sr, &mut cw).await;
    };
    // Whichever side ends first ends both: the cut closes the client's socket too.
    tokio::select! {
        () = up => {}
        () = down => {}
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

async fn a_cut_upload_resumes_from_a_copy_of_the_store_sending_only_the_rest(backend: Backend) {
    let server = TestServer::start(backend).await;
    let proxy = CutProxy::start(server.addr).await;
    let home = tempfile::tempdir().expect("home");
    let mut device = Device::open(home.path()).await.expect("open");
    // The cut lasts until healed: the sync retries into it until its retries run out, on the
    // bad-network tests' shortened schedule rather than the field's 12 s.
    device.set_network_timing(crate::bad_network::BACKOFF, crate::bad_network::STALL);
    let code = server.enrollment_code(UNIT, "87010123").await;
    device
        .enroll(&proxy.url, &code, "HP cut")
        .await
        .expect("enroll through the proxy");
    device.set_photo_chunk_bytes(4096);
    let id = device
        .capture_with_photos(capture(), vec![PhotoInput::camera(fixture("scene.jpg"))])
        .await
        .expect("capture");
    device
        .push(&NoProgress)
        .await
        .expect("push the record first");
    let record = device.record(id).await.expect("read").expect("stored");
    let (_, photo) = the_photo(&record);
    let renditions = [
        photo.thumbnail.clone().expect("thumbnail"),
        photo.derivative.clone().expect("derivative"),
    ];
    let total: u64 = renditions.iter().map(|r| r.size).sum();

    // Cut the connection part way through the photo bytes.
    proxy.cut_after(i64::try_from(total * 6 / 10).expect("small"));
    let cut = device.sync(&NoProgress).await;
    assert!(cut.is_err(), "the sync notices the cut: {cut:?}");
    proxy.heal();
    let waiting = device.status().await.expect("status").photos;
    assert!(waiting.renditions_waiting >= 1, "{waiting:?}");

    // The device "crashes": its store and photo files are copied as they are, WAL included, and
    // the copy carries on.
    let copy = tempfile::tempdir().expect("copy");
    copy_dir(home.path(), copy.path());
    let resumed = Device::open(copy.path()).await.expect("the copy opens");
    let report = resumed.sync(&NoProgress).await.expect("resume");
    assert!(report.photo_problems.is_empty(), "{report:?}");
    assert!(
        report.photo_bytes_sent < total,
        "only the rest is sent: {} of {total} bytes",
        report.photo_bytes_sent
    );
    assert!(report.photo_bytes_sent > 0);
    for r in &renditions {
        let (code, bytes) = blob(&server, &r.hash).await;
        assert_eq!(code, 200, "{}", r.hash);
        assert_eq!(bukti_core::photo::sha256_hex(&bytes), r.hash, "not torn");
    }
    assert_eq!(
        resumed
            .status()
            .await
            .expect("status")
            .photos
            .renditions_waiting,
        0
    );
    device.close().await;
    resumed.close().await;
    server.finish().await;
}

both_stores!(
    capture_sync_and_hq_reads_the_photo,
    a_cut_upload_resumes_from_a_copy_of_the_store_sending_only_the_rest,
);
