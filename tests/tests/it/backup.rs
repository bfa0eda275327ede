//! Backup and restore: real devices fill a server with records and photos; a backup is taken
//! while another device keeps pushing; the backup is restored into a fresh data folder or
//! PostgreSQL database, and a server over it serves every record (same heads) and every photo
//! (bytes hashing to their name). Restoring over existing data, or backing up into a folder
//! that is not empty, is refused.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use bukti_core::{
    RecordId,
    device::{NoProgress, PhotoInput},
};
use bukti_server::{
    Settings,
    ops::{self, OpsError},
};
use bukti_tests::{Backend, TestServer, both_stores, fixture, fresh_postgres_database, visit};
use sha2::{Digest, Sha256};
use sqlx::{Connection, Executor, PgConnection};
use tokio::sync::oneshot;

/// A server over restored settings, as `bukti-server` would run on them.
struct Restored {
    url: String,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Restored {
    async fn start(settings: &Settings) -> Restored {
        let store = settings
            .open_store()
            .await
            .expect("open the restored store");
        let blobs = settings.open_blobs().expect("open the restored blobs");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(bukti_server::serve(store, blobs, listener, async move {
            let _ = rx.await;
        }));
        Restored { url, stop, task }
    }

    async fn finish(self) {
        let _ = self.stop.send(());
        self.task.await.expect("task").expect("stopped cleanly");
    }
}

async fn drop_database(url: &str) {
    let admin = std::env::var("BUKTI_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = url.rsplit_once('/').map(|(_, n)| n).expect("database name");
    let mut conn = PgConnection::connect(&admin).await.expect("connect");
    conn.execute(sqlx::AssertSqlSafe(format!(
        "drop database if exists {name} with (force)"
    )))
    .await
    .expect("drop the restored database");
}

async fn get_bytes(url: &str, token: &str) -> (u16, Vec<u8>) {
    let resp = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("GET");
    let status = resp.status().as_u16();
    (status, resp.bytes().await.expect("body").to_vec())
}

async fn a_backup_taken_while_serving_restores_every_record_and_photo(backend: Backend) {
    let server = TestServer::start(backend).await;
    let sawan = server.device("bali/buleleng/sawan", "87060001").await;
    let banjar = server.device("bali/buleleng/banjar", "87060002").await;
    let mut ids: Vec<RecordId> = Vec::new();
    for (i, (dev, photo)) in [(&sawan, "scene.jpg"), (&banjar, "photo.png")]
        .into_iter()
        .enumerate()
    {
        for n in 0..8 {
            ids.push(
                dev.device
                    .capture(visit(format!("Sambang {i}-{n}")))
                    .await
                    .expect("capture"),
            );
        }
        let with_photo = dev
            .device
            .capture_with_photos(
                visit(format!("Sambang berfoto {i}")),
                vec![PhotoInput::camera(fixture(photo))],
            )
            .await
            .expect("capture with a photo");
        ids.push(with_photo);
        let report = dev.sync().await;
        assert!(report.photo_problems.is_empty(), "{report:?}");
    }

    // Another device keeps pushing through the whole backup.
    let busy = server.device("bali/buleleng/seririt", "87060003").await;
    let stop = Arc::new(AtomicBool::new(false));
    let pusher = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                busy.device
                    .capture(visit(format!("Patroli {n}")))
                    .await
                    .expect("capture");
                busy.device.sync(&NoProgress).await.expect("sync");
                n += 1;
            }
            n
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let backups = tempfile::tempdir().expect("backup folder");
    let dir = backups.path().join("malam-ini");
    let report = ops::backup(&server.settings, &dir).await.expect("backup");
    stop.store(true, Ordering::Relaxed);
    let pushed_meanwhile = pusher.await.expect("pusher");
    assert!(pushed_meanwhile > 0, "the backup ran beside pushes");
    assert!(report.corrupt_blobs.is_empty());
    assert!(report.manifest.blobs_included);

    let err = ops::backup(&server.settings, &dir)
        .await
        .expect_err("not empty");
    assert!(matches!(err, OpsError::NotEmpty { .. }), "{err}");

    // Restore into a fresh store.
    let fresh = tempfile::tempdir().expect("fresh data folder");
    let settings = Settings {
        database_url: match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(fresh_postgres_database().await),
        },
        ..Settings::new(fresh.path().join("bukti-data"))
    };
    let restored = ops::restore(&settings, &dir).await.expect("restore");
    assert!(restored.records > ids.len() as u64, "{restored:?}");
    assert_eq!(restored.blobs, report.manifest.blobs);
    let again = ops::restore(&settings, &dir).await.expect_err("refused");
    assert!(
        matches!(again, OpsError::NotEmpty { .. }),
        "restoring over data is refused: {again}"
    );

    let original = server.hq(&server.admin_token);
    let copy = Restored::start(&settings).await;
    let mut photos = BTreeMap::new();
    for id in &ids {
        let (status, there) = original.get(&format!("/records/{id}")).await;
        assert_eq!(status, 200);
        let resp = reqwest::Client::new()
            .get(format!("{}/api/v1/records/{id}", copy.url))
            .bearer_auth(&server.admin_token)
            .send()
            .await
            .expect("GET");
        let (status, here) = bukti_tests::status_json(resp).await;
        assert_eq!(
            status, 200,
            "record {id} is served after the restore: {here}"
        );
        assert_eq!(here["heads"], there["heads"], "record {id}");
        assert_eq!(here["record"], there["record"], "record {id}");
        for photo in here["photos"].as_array().into_iter().flatten() {
            for role in ["derivative", "thumbnail"] {
                if let Some(hash) = photo[role]["hash"].as_str() {
                    photos.insert(hash.to_owned(), *id);
                }
            }
        }
    }
    // The photos' display copies and thumbnails (originals stay on the devices).
    assert!(photos.len() >= 3, "{photos:?}");
    assert_eq!(
        report.manifest.blobs,
        photos.len() as u64,
        "{:?}",
        report.manifest
    );
    for hash in photos.keys() {
        let (status, bytes) = get_bytes(
            &format!("{}/api/v1/blobs/{hash}", copy.url),
            &server.admin_token,
        )
        .await;
        assert_eq!(status, 200, "blob {hash}");
        assert_eq!(
            &hex::encode(Sha256::digest(&bytes)),
            hash,
            "blob {hash} is intact"
        );
    }
    copy.finish().await;
    if let Some(url) = &settings.database_url {
        drop_database(url).await;
    }
    server.finish().await;
}

async fn a_folder_without_a_manifest_is_not_restored(backend: Backend) {
    let server = TestServer::start(backend).await;
    let backups = tempfile::tempdir().expect("backup folder");
    let dir = backups.path().join("b");
    ops::backup(&server.settings, &dir).await.expect("backup");
    std::fs::remove_file(dir.join(ops::backup::MANIFEST)).expect("remove the manifest");
    let fresh = tempfile::tempdir().expect("fresh");
    let settings = Settings {
        database_url: server.settings.database_url.clone(),
        ..Settings::new(fresh.path())
    };
    let err = ops::restore(&settings, &dir).await.expect_err("refused");
    assert!(matches!(err, OpsError::NotABackup { .. }), "{err}");
    assert!(err.to_string().contains("interrupted"), "{err}");
    server.finish().await;
}

both_stores!(
    a_backup_taken_while_serving_restores_every_record_and_photo,
    a_folder_without_a_manifest_is_not_restored
);
