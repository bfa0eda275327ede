//! Crashes with real processes. The real `bukti-server` binary is killed with SIGKILL at random
//! moments (seeded; the seed is printed) while devices push new records, push edits of existing
//! records (every push merges and re-saves the compacted document), pull, and upload photos in
//! small chunks. After each restart every record a device had marked synced is on the server
//! with its changes, every blob the server lists is whole, and the devices' retries complete
//! without duplicates. SIGTERM under concurrent pushes finishes the requests in flight. The
//! `bukti` CLI killed during capture leaves each record whole or absent, never torn.
//!
//! CI runs a short loop. `BUKTI_CRASH_LOOPS=200` runs 200 kills per store (and per capture
//! test); `BUKTI_CRASH_SEED=<n>` replays a printed seed.

use std::{
    collections::BTreeSet,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

use automerge::{AutoCommit, ChangeHash};
use bukti_core::{
    RecordId,
    catalogue::Catalogue,
    device::{Device, NoProgress, PhotoInput, SyncReport, SyncState},
    record,
};
use bukti_server::{Settings, store::DynStore};
use bukti_tests::{
    Backend, TestDevice, TestServer, both_stores, changes_b64, sample_record, visit,
};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod capture;
mod kill9;
mod sigterm;

/// Server kills per store in CI, and `bukti capture` kills; `BUKTI_CRASH_LOOPS` overrides both.
const CI_KILLS: u64 = 10;
const CI_CAPTURE_KILLS: u64 = 8;

fn loops(ci: u64) -> u64 {
    std::env::var("BUKTI_CRASH_LOOPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ci)
}

/// SplitMix64: enough randomness for kill timings, and replayable from its seed.
struct Rng(u64);

impl Rng {
    fn seeded(test: &str) -> Rng {
        let seed = std::env::var("BUKTI_CRASH_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(7, |d| d.as_nanos() as u64)
            });
        eprintln!("{test}: seed {seed} (replay with BUKTI_CRASH_SEED={seed})");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/photos")
        .join(name)
}

/// The `bukti-server` binary over a test server's store, on its address.
struct ServerProcess {
    child: Child,
}

impl ServerProcess {
    fn start(settings: &Settings, addr: SocketAddr, log: &Path) -> ServerProcess {
        let mut cmd = crate::bins::bukti_server();
        cmd.arg("--data")
            .arg(&settings.data_dir)
            .arg("--listen")
            .arg(addr.to_string())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(log)
                    .expect("server log"),
            );
        if let Some(url) = &settings.database_url {
            cmd.arg("--database-url").arg(url);
        }
        let mut child = cmd.spawn().expect("start bukti-server");
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(addr).is_err() {
            if let Ok(Some(exit)) = child.try_wait() {
                panic!(
                    "bukti-server exited with {exit}: {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "bukti-server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        ServerProcess { child }
    }

    fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
    }

    /// Waits for the process to exit without holding up the async threads.
    async fn exited(&mut self) -> ExitStatus {
        loop {
            if let Some(status) = self.child.try_wait().expect("poll bukti-server") {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary off the async threads (it polls until the server listens).
async fn restart(settings: &Settings, addr: SocketAddr, log: &Path) -> ServerProcess {
    let (settings, log) = (settings.clone(), log.to_owned());
    tokio::task::spawn_blocking(move || ServerProcess::start(&settings, addr, &log))
        .await
        .expect("start task")
}

/// A JPEG no other test has: the fixture with random bytes after its end marker, which
/// decoders ignore, so the original's hash (and upload) is new every time.
fn unique_photo(rng: &mut Rng, dir: &Path, tail: usize) -> PathBuf {
    let mut bytes = std::fs::read(fixture("scene.jpg")).expect("fixture");
    bytes.extend(rng.bytes(tail));
    let path = dir.join(format!("IMG_{:016x}.jpg", rng.next()));
    std::fs::write(&path, bytes).expect("write photo");
    path
}

/// The records a device has marked synced, with the heads the server acknowledged.
async fn acknowledged(device: &Device) -> Vec<(RecordId, Vec<ChangeHash>)> {
    let mut out = Vec::new();
    for s in device.list().await.expect("list") {
        if s.sync == SyncState::Synced {
            out.push((
                s.id,
                device.heads(s.id).await.expect("heads").expect("held"),
            ));
        }
    }
    out
}

/// Every acknowledged record is on the server, loads, is a record, and holds those changes.
async fn assert_durable(store: &DynStore, acked: &[(RecordId, Vec<ChangeHash>)], when: &str) {
    let ids: Vec<RecordId> = acked.iter().map(|(id, _)| *id).collect();
    let stored = store.load_documents(&ids).await.expect("load");
    for (id, heads) in acked {
        let doc = stored
            .get(id)
            .unwrap_or_else(|| panic!("{when}: acknowledged record {id} is missing"));
        let mut doc = AutoCommit::load(&doc.doc)
            .unwrap_or_else(|e| panic!("{when}: record {id} does not load: {e}"));
        for h in heads {
            assert!(
                doc.get_change_by_hash(h).is_some(),
                "{when}: record {id} lost acknowledged change {h}"
            );
        }
        record::doc::read(&doc).unwrap_or_else(|p| panic!("{when}: record {id} torn: {p:?}"));
    }
}

/// Every blob hash a device's records name (originals, display copies, thumbnails).
async fn photo_hashes(device: &Device) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for s in device.list().await.expect("list") {
        let rec = device.record(s.id).await.expect("read").expect("held");
        for (key, p) in rec.photos {
            out.insert(key);
            out.extend(p.derivative.map(|r| r.hash));
            out.extend(p.thumbnail.map(|r| r.hash));
        }
    }
    out
}

/// Every blob the server lists as complete is in its folder, hashing to its name; returns them.
async fn assert_blobs_whole(
    store: &DynStore,
    blob_dir: &Path,
    hashes: &BTreeSet<String>,
) -> BTreeSet<String> {
    let wanted: Vec<String> = hashes.iter().cloned().collect();
    let complete = store.complete_blobs(&wanted).await.expect("blobs");
    for h in &complete {
        let path = blob_dir.join(&h[0..2]).join(&h[2..4]).join(h);
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("blob {h} is listed but unreadable: {e}"));
        assert_eq!(&hex::encode(Sha256::digest(&bytes)), h, "blob {h} torn");
    }
    complete.into_iter().collect()
}

/// Syncs until a sync completes with nothing refused or left behind (the server may still be
/// coming back up).
async fn sync_until_done(device: &Device, who: &str) -> SyncReport {
    let mut last = String::new();
    for _ in 0..40 {
        match device.sync(&NoProgress).await {
            Ok(r) if r.rejected.is_empty() && r.photo_problems.is_empty() => return r,
            Ok(r) => last = format!("{r:?}"),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{who}: sync never completed after the restart: {last}");
}
