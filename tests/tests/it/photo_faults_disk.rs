//! A full disk under the blob folder: the folder is a 2 MB tmpfs (mounted by the test, which
//! needs root; it says so and skips otherwise), partly filled with a ballast file, so an upload
//! hits ENOSPC for real. The server answers 507 with a clear message, leaves no partial photo
//! visible and no torn bytes counted, keeps serving everything else, and the upload completes
//! from where it stopped once space is freed. Runs on SQLite and PostgreSQL.

use crate::photos_common as common;

use std::{path::Path, process::Command};

use bukti_tests::{Backend, TestServer, both_stores};
use common::{Photo, get_blob, head, missing, patch, push_record, sha, upload};
use tempfile::TempDir;

/// A tmpfs mounted for the test's life, unmounted when dropped (also when the test panics).
struct Tmpfs(TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().expect("mount point");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        mounted.then_some(Tmpfs(dir))
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy, so a file the server still holds open cannot keep the mount alive.
        let _ = Command::new("umount").arg("-l").arg(self.0.path()).status();
    }
}

const CHUNK: usize = 256 * 1024;

async fn a_full_disk_says_507_and_the_upload_resumes_once_space_is_freed(backend: Backend) {
    let Some(disk) = Tmpfs::mount("2m") else {
        eprintln!(
            "SKIPPED: cannot mount a tmpfs here (needs root); the full-disk test did not run"
        );
        return;
    };
    let mut server = TestServer::start(backend).await;
    server.settings.blobs.dir = Some(disk.path().join("blobs"));
    server.restart().await;
    let dev = server.raw_device("bali/buleleng/sawan", "87010001").await;
    let small = Photo::new(31, 20_000);
    let big = Photo::new(32, 1_000_000);
    push_record(&server, &dev, &[&small]).await;
    push_record(&server, &dev, &[&big]).await;
    upload(&server, &dev.token, &small.derivative, CHUNK).await;
    let ballast = disk.path().join("ballast");
    std::fs::write(&ballast, vec![7u8; 1_300_000]).expect("ballast");

    let (d, total) = (sha(&big.derivative), big.derivative.len() as u64);
    let mut acknowledged = 0u64;
    let refusal = loop {
        let end = (acknowledged as usize + CHUNK).min(big.derivative.len());
        let chunk = &big.derivative[acknowledged as usize..end];
        let (status, body) = patch(&server, &dev.token, &d, acknowledged, total, chunk).await;
        if status != 200 {
            break (status, body);
        }
        acknowledged = end as u64;
    };
    let (status, body) = refusal;
    assert_eq!(status, 507, "{body}");
    assert_eq!(body["code"], "storage_full", "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains("full"), "{message}");

    // Nothing torn counts, nothing partial is visible, everything else still works.
    assert_eq!(
        head(&server, &dev.token, &d).await,
        (200, Some(acknowledged))
    );
    assert_eq!(
        get_blob(&server, &server.admin_token, &d).await.status(),
        404
    );
    let served = get_blob(&server, &server.admin_token, &sha(&small.derivative)).await;
    assert_eq!(served.status(), 200);
    assert_eq!(
        served.bytes().await.expect("blob").as_ref(),
        small.derivative.as_slice()
    );
    let (status, body) = missing(&server, &dev.token, std::slice::from_ref(&d)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["missing"][0]["offset"], acknowledged, "{body}");
    push_record(&server, &dev, &[&Photo::new(33, 1_000)]).await;

    std::fs::remove_file(&ballast).expect("free space");
    let mut offset = acknowledged as usize;
    while offset < big.derivative.len() {
        let end = (offset + CHUNK).min(big.derivative.len());
        let chunk = &big.derivative[offset..end];
        let (status, body) = patch(&server, &dev.token, &d, offset as u64, total, chunk).await;
        let expected = if end == big.derivative.len() {
            201
        } else {
            200
        };
        assert_eq!(status, expected, "{body}");
        offset = end;
    }
    let resp = get_blob(&server, &server.admin_token, &d).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(sha(&resp.bytes().await.expect("blob")), d);
    server.finish().await;
    drop(disk);
}

both_stores!(a_full_disk_says_507_and_the_upload_resumes_once_space_is_freed);
