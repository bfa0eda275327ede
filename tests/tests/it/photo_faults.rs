//! The real `bukti-server` binary killed with SIGKILL while a device uploads a large photo: the
//! device's retry resumes from the bytes the killed process had stored, the blob completes with
//! the right SHA-256, and no request ever gets part of it. Runs on SQLite and PostgreSQL.

use crate::photos_common as common;

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use bukti_core::device::{NoProgress, PhotoInput};
use bukti_tests::{Backend, TestServer, both_stores};
use common::{get_blob, png::noise_png, sha};

/// Small chunks, so the upload of a few megabytes takes many requests and the kill lands in it.
const CHUNK: usize = 64 * 1024;

/// `bukti-server` as its own OS process over the in-process test server's data and database.
struct RealServer(Child);

impl RealServer {
    fn start(server: &TestServer) -> RealServer {
        let mut cmd = crate::bins::bukti_server();
        cmd.arg("--data")
            .arg(&server.settings.data_dir)
            .args(["--listen", &server.addr.to_string()])
            .env_remove("DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(url) = &server.settings.database_url {
            cmd.args(["--database-url", url]);
        }
        let child = cmd.spawn().expect("start bukti-server");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(server.addr).is_err() {
            assert!(Instant::now() < deadline, "bukti-server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        RealServer(child)
    }

    fn kill_9(mut self) {
        let pid = self.0.id().to_string();
        let status = Command::new("kill").args(["-KILL", &pid]).status();
        assert!(status.expect("kill").success());
        let exit = self.0.wait().expect("wait");
        assert!(!exit.success(), "SIGKILL ends it: {exit}");
    }
}

impl Drop for RealServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Bytes of `hash` in the server's folder of uploads in progress (`<hash>.<uploader>`, one
/// partial per officer uploading it; lock files aside).
fn partial_len(server: &TestServer, hash: &str) -> u64 {
    let dir = server.settings.data_dir.join("blobs/partial");
    let prefix = format!("{hash}.");
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(&prefix) && !name.ends_with(".lock")
        })
        .map(|e| e.metadata().map_or(0, |m| m.len()))
        .sum()
}

async fn kill_9_mid_upload_then_the_retry_completes(backend: Backend) {
    let mut server = TestServer::start(backend).await;
    let mut phone = server.device("bali/buleleng/sawan", "87010001").await;
    phone.device.set_photo_chunk_bytes(CHUNK);
    phone.device.set_send_originals(true);
    let file = phone.home.path().join("big.png");
    let original = noise_png(1200, 900, 5);
    std::fs::write(&file, &original).expect("write photo");
    let capture = bukti_core::device::Capture {
        kind: "sambang".into(),
        title: "Sambang dengan foto besar".into(),
        ..Default::default()
    };
    phone
        .device
        .capture_with_photos(capture, vec![PhotoInput::camera(&file)])
        .await
        .expect("capture");
    let hash = sha(&original);
    let total = original.len() as u64;
    let renditions = phone
        .device
        .photo_status()
        .await
        .expect("status")
        .rendition_bytes_waiting;

    // From here on the server is the real binary, over the same data and database.
    server.stop().await;
    let real = RealServer::start(&server);
    let watch = async {
        let deadline = Instant::now() + Duration::from_secs(60);
        while partial_len(&server, &hash) < 4 * CHUNK as u64 {
            assert!(
                Instant::now() < deadline,
                "the original never started uploading"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        real.kill_9();
        let held = partial_len(&server, &hash);
        assert!(
            held > 0 && held < total,
            "killed mid-upload: {held} of {total}"
        );
        let restarted = RealServer::start(&server);
        // Until the retry completes it, the photo is absent, never partial.
        loop {
            let resp = get_blob(&server, &server.admin_token, &hash).await;
            match resp.status().as_u16() {
                404 => {}
                200 => {
                    let bytes = resp.bytes().await.expect("blob");
                    assert_eq!(
                        sha(&bytes),
                        hash,
                        "only the whole, verified photo is served"
                    );
                    break;
                }
                other => panic!("unexpected status {other}"),
            }
            assert!(Instant::now() < deadline, "the upload never completed");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        restarted
    };
    let (report, restarted) = tokio::join!(phone.device.sync(&NoProgress), watch);
    let report = report.expect("the sync's retries outlast the restart");
    assert!(report.photo_problems.is_empty(), "{report:?}");
    // Resumed, not restarted: every byte went once (a chunk cut by the kill is not counted, the
    // retry resent it); starting over would add the four chunks and more held at the kill.
    assert!(
        report.photo_bytes_sent < renditions + total + 4 * CHUNK as u64,
        "{report:?}"
    );
    assert_eq!(partial_len(&server, &hash), 0, "the partial was published");
    drop(restarted);
    server.finish().await;
}

both_stores!(kill_9_mid_upload_then_the_retry_completes);
