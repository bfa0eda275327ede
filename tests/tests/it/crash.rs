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

#[derive(Debug, Clone, Copy)]
enum Work {
    Push,
    Edit,
    Pull,
    Photos,
}

async fn acknowledged_work_survives_kill_9(backend: Backend) {
    let mut rng = Rng::seeded(&format!("kill -9 during sync ({backend:?})"));
    let began = Instant::now();
    let mut harness = TestServer::start(backend).await;
    let unit = "bali/buleleng/sawan";
    let TestDevice {
        device: mut main,
        home: _main_home,
    } = harness.device(unit, "87070001").await;
    let TestDevice {
        device: mut reader,
        home: _reader_home,
    } = harness.device(unit, "87070002").await;
    let TestDevice {
        device: mut camera,
        home: _camera_home,
    } = harness.device(unit, "87070003").await;
    // Small batches, pages and chunks: many requests, so kills land inside the work.
    main.set_push_batch_size(5);
    reader.set_pull_limit(7);
    camera.set_photo_chunk_bytes(16 * 1024);
    camera.set_send_originals(true);
    harness.stop().await;
    let work = tempfile::tempdir().expect("work folder");
    let log = work.path().join("server.log");
    let (settings, addr) = (harness.settings.clone(), harness.addr);
    let blob_dir = settings.data_dir.join("blobs");
    let mut server = restart(&settings, addr, &log).await;

    let mut own: Vec<RecordId> = Vec::new();
    let mut captured = 0_u64;
    let (mut kills, mut mid_request) = (0_u64, 0_u64);
    for round in 0..loops(CI_KILLS) {
        let job = [Work::Push, Work::Edit, Work::Pull, Work::Photos][rng.below(4) as usize];
        let device = match job {
            Work::Push | Work::Edit => &main,
            Work::Pull => &reader,
            Work::Photos => &camera,
        };
        match job {
            Work::Push => {
                for n in 0..30 {
                    own.push(
                        main.capture(visit(format!("Sambang {round}-{n}")))
                            .await
                            .expect("capture"),
                    );
                }
                captured += 30;
            }
            Work::Edit if own.is_empty() => {}
            Work::Edit => {
                for n in 0..20 {
                    let id = own[rng.below(own.len() as u64) as usize];
                    main.edit(id, |r| r.narrative = format!("Koreksi {round}-{n}"))
                        .await
                        .expect("edit");
                }
            }
            Work::Pull => {}
            Work::Photos => {
                let photos = (0..2)
                    .map(|_| PhotoInput::camera(unique_photo(&mut rng, work.path(), 192 * 1024)))
                    .collect();
                camera
                    .capture_with_photos(visit(format!("Foto {round}")), photos)
                    .await
                    .expect("capture with photos");
                captured += 1;
            }
        }
        // Roughly the length of each job's sync on a loaded 2-core machine, so most kills land
        // inside it and some just before or after.
        let span = if matches!(job, Work::Photos) {
            900
        } else {
            150
        };
        let delay = Duration::from_millis(rng.below(span));
        let done = AtomicBool::new(false);
        let (_, (acked, was_busy, restarted)) = tokio::join!(
            async {
                let outcome = device.sync(&NoProgress).await;
                done.store(true, Ordering::SeqCst);
                outcome
            },
            async {
                tokio::time::sleep(delay).await;
                let was_busy = !done.load(Ordering::SeqCst);
                server.kill9();
                // Nothing can be acknowledged while the server is down: this is the set that
                // must have survived.
                let acked = acknowledged(device).await;
                (acked, was_busy, restart(&settings, addr, &log).await)
            }
        );
        server = restarted;
        kills += 1;
        mid_request += u64::from(was_busy);
        let when = format!("round {round} ({job:?}, kill after {delay:?})");
        assert_durable(&harness.store, &acked, &when).await;
        if matches!(job, Work::Photos) {
            assert_blobs_whole(&harness.store, &blob_dir, &photo_hashes(&camera).await).await;
        }
        sync_until_done(device, &when).await;
    }

    // Everyone syncs to the end: the same records everywhere, each once, every photo whole.
    for (device, who) in [(&main, "main"), (&camera, "camera"), (&reader, "reader")] {
        sync_until_done(device, who).await;
    }
    sync_until_done(&main, "main").await;
    assert_eq!(
        harness.store.record_count().await.expect("count"),
        captured,
        "no duplicates, none lost"
    );
    for (device, who) in [(&main, "main"), (&camera, "camera"), (&reader, "reader")] {
        let list = device.list().await.expect("list");
        assert_eq!(list.len() as u64, captured, "{who} holds every record once");
        let acked = acknowledged(device).await;
        assert_eq!(acked.len(), list.len(), "{who}: everything synced");
        let ids: Vec<RecordId> = acked.iter().map(|(id, _)| *id).collect();
        let stored = harness.store.load_documents(&ids).await.expect("load");
        for (id, heads) in &acked {
            let mut doc = AutoCommit::load(&stored[id].doc).expect("load");
            let server_heads: BTreeSet<ChangeHash> = doc.get_heads().into_iter().collect();
            let device_heads: BTreeSet<ChangeHash> = heads.iter().copied().collect();
            assert_eq!(server_heads, device_heads, "{who}: record {id} converged");
        }
    }
    let wanted = photo_hashes(&camera).await;
    let whole = assert_blobs_whole(&harness.store, &blob_dir, &wanted).await;
    assert_eq!(
        whole, wanted,
        "every photo, original and renditions, arrived whole"
    );
    eprintln!(
        "kill -9 ({backend:?}): survived {kills} kills, {mid_request} in the middle of a sync; \
         {captured} records, {} blobs; {:?}",
        whole.len(),
        began.elapsed()
    );
    server.kill9();
    harness.finish().await;
}

/// Sends a push's headers and half its body, so the request is in flight when the stop comes.
async fn half_sent_push(
    addr: SocketAddr,
    token: &str,
    body: &str,
) -> (tokio::net::TcpStream, Vec<u8>) {
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /api/v1/sync/push HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let (first, rest) = body.as_bytes().split_at(body.len() / 2);
    conn.write_all(head.as_bytes()).await.expect("head");
    conn.write_all(first).await.expect("first half");
    (conn, rest.to_vec())
}

async fn sigterm_during_concurrent_pushes_loses_nothing(backend: Backend) {
    let mut harness = TestServer::start(backend).await;
    let unit = "bali/buleleng/banjar";
    let mut slow = Vec::new();
    let mut pushed_ids = Vec::new();
    for n in 0..4 {
        let dev = harness.raw_device(unit, &format!("8708000{n}")).await;
        let mut records = Vec::new();
        for i in 0..25 {
            let mut doc = bukti_core::RecordDoc::create(
                &sample_record(unit, &dev.officer, &format!("Laporan {n}-{i}")),
                dev.actor.clone(),
                &format!("officer:{}", dev.officer),
            );
            let id = doc.read().expect("record").id;
            pushed_ids.push(id);
            records.push(
                serde_json::json!({"id": id.to_string(), "changes": changes_b64(&mut doc, &[])}),
            );
        }
        // Signed now, while the server that will receive it (same store, same key) answers.
        let body = bukti_tests::signing::signed_for(
            &reqwest::Client::new(),
            &format!("{}/api/v1", harness.url),
            &dev.token,
            &serde_json::json!({ "records": records }),
        )
        .await;
        slow.push((dev.token, body.to_string()));
    }
    let mut busy = Vec::new();
    for n in 0..3 {
        let TestDevice { mut device, home } = harness.device(unit, &format!("8708100{n}")).await;
        device.set_push_batch_size(4);
        for i in 0..40 {
            device
                .capture(visit(format!("Patroli {n}-{i}")))
                .await
                .expect("capture");
        }
        busy.push((device, home));
    }
    harness.stop().await;
    let work = tempfile::tempdir().expect("work folder");
    let log = work.path().join("server.log");
    let (settings, addr) = (harness.settings.clone(), harness.addr);
    let mut server = restart(&settings, addr, &log).await;

    let mut conns = Vec::new();
    for (token, body) in &slow {
        conns.push(half_sent_push(addr, token, body).await);
    }
    let stopping = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        server.sigterm();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut answers = Vec::new();
        for (mut conn, rest) in conns {
            conn.write_all(&rest).await.expect("second half");
            let mut response = String::new();
            conn.read_to_string(&mut response).await.expect("response");
            answers.push(response);
        }
        let exit = server.exited().await;
        // What the devices hold as acknowledged once the server is gone must all be stored.
        let mut acked = Vec::new();
        for (device, _) in &busy {
            acked.push(acknowledged(device).await);
        }
        // Back up at once, so the devices' retries finish instead of running out.
        let next = restart(&settings, addr, &log).await;
        (answers, exit, acked, next)
    };
    let syncing = async {
        let (a, b, c) = tokio::join!(
            busy[0].0.sync(&NoProgress),
            busy[1].0.sync(&NoProgress),
            busy[2].0.sync(&NoProgress)
        );
        [a.is_ok(), b.is_ok(), c.is_ok()]
    };
    let ((answers, exit, acked, next), finished) = tokio::join!(stopping, syncing);
    server = next;
    assert!(exit.success(), "a graceful stop exits 0, got {exit}");
    for response in &answers {
        assert!(
            response.starts_with("HTTP/1.1 200"),
            "in-flight push finished: {response}"
        );
        assert_eq!(response.matches("\"accepted\"").count(), 25, "{response}");
    }
    eprintln!("SIGTERM ({backend:?}): device syncs completed across the stop: {finished:?}");
    let acked_total: usize = acked.iter().map(Vec::len).sum();
    for a in &acked {
        assert_durable(&harness.store, a, "after SIGTERM").await;
    }
    assert_eq!(
        harness
            .store
            .load_documents(&pushed_ids)
            .await
            .expect("load")
            .len(),
        100,
        "every record of the pushes in flight at SIGTERM is stored"
    );
    for (device, _) in &busy {
        sync_until_done(device, "after SIGTERM").await;
        assert_durable(
            &harness.store,
            &acknowledged(device).await,
            "after the restart",
        )
        .await;
        assert_eq!(
            acknowledged(device).await.len() as u64,
            100 + 120,
            "pulled everything once"
        );
    }
    eprintln!("SIGTERM ({backend:?}): {acked_total} device records acknowledged before the stop");
    server.sigterm();
    assert!(server.exited().await.success());
    harness.finish().await;
}

/// Runs `bukti capture` with a photo and SIGKILLs it at a random moment (or lets it finish).
fn capture_process(home: &Path, title: &str, photo: &Path) -> Child {
    crate::bins::bukti()
        .arg("--home")
        .arg(home)
        .arg("--quiet")
        .args([
            "capture", "--kind", "sambang", "--title", title, "--start", "now",
        ])
        .args(["--lat", "-8.1204", "--lon", "115.1720", "--accuracy", "8"])
        .args([
            "--location-source",
            "gps",
            "--place",
            "Balai Desa",
            "--submit",
            "--photo",
        ])
        .arg(photo)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start bukti capture")
}

/// The device store opens; every record reads, validates and has its photo files, whole.
async fn assert_no_torn_records(home: &Path, when: &str) -> usize {
    let device = Device::open(home)
        .await
        .unwrap_or_else(|e| panic!("{when}: store: {e}"));
    let list = device.list().await.expect("list");
    for s in &list {
        let rec = device
            .record(s.id)
            .await
            .unwrap_or_else(|e| panic!("{when}: record {} unreadable: {e}", s.id))
            .expect("listed records are held");
        let problems = record::validate(&rec, Catalogue::builtin(), record::now_ms());
        assert!(
            problems.is_empty(),
            "{when}: record {} torn: {problems:?}",
            s.id
        );
        assert_eq!(
            rec.photos.len(),
            1,
            "{when}: record {} lost its photo",
            s.id
        );
        for (key, p) in &rec.photos {
            let renditions = [p.derivative.as_ref(), p.thumbnail.as_ref()];
            let hashes = std::iter::once(key.as_str())
                .chain(renditions.into_iter().flatten().map(|r| r.hash.as_str()));
            for h in hashes {
                let path = home.join("photos").join(&h[..2]).join(h);
                let bytes = std::fs::read(&path)
                    .unwrap_or_else(|e| panic!("{when}: photo file {h} of {}: {e}", s.id));
                assert_eq!(
                    &hex::encode(Sha256::digest(&bytes)),
                    h,
                    "{when}: photo {h} torn"
                );
            }
        }
    }
    let status = device.status().await.expect("status");
    assert_eq!(status.records_total as usize, list.len(), "{when}");
    device.close().await;
    list.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_killed_midway_leaves_the_record_whole_or_absent() {
    let mut rng = Rng::seeded("kill -9 during bukti capture");
    let began = Instant::now();
    let harness = TestServer::start(Backend::Sqlite).await;
    let TestDevice { device, home } = harness.device("bali/buleleng/sawan", "87090001").await;
    device.close().await;
    let work = tempfile::tempdir().expect("work folder");

    // One undisturbed capture tells how long a capture takes here.
    let started = Instant::now();
    let photo = unique_photo(&mut rng, work.path(), 1024);
    let exit = capture_process(home.path(), "Utuh", &photo)
        .wait()
        .expect("wait");
    assert!(exit.success(), "bukti capture failed: {exit}");
    let span = started.elapsed().as_millis() as u64;
    assert_eq!(
        assert_no_torn_records(home.path(), "the first capture").await,
        1
    );

    let (mut finished, mut killed_alive) = (1_usize, 0_u64);
    let attempts = loops(CI_CAPTURE_KILLS);
    for round in 0..attempts {
        let photo = unique_photo(&mut rng, work.path(), 64 * 1024);
        let mut child = capture_process(home.path(), &format!("Tangkap {round}"), &photo);
        std::thread::sleep(Duration::from_millis(rng.below(span + span / 5)));
        if child.try_wait().expect("poll").is_none() {
            killed_alive += 1;
        }
        child.kill().expect("SIGKILL");
        if child.wait().expect("reap").success() {
            finished += 1;
        }
        let held = assert_no_torn_records(home.path(), &format!("kill {round}")).await;
        assert!(
            held >= finished && held <= round as usize + 2,
            "kill {round}: {held} records after {finished} finished captures"
        );
    }
    eprintln!(
        "kill -9 during capture: {attempts} kills, {killed_alive} while capturing (one capture \
         takes ~{span} ms); no torn record; {:?}",
        began.elapsed()
    );
    harness.finish().await;
}

both_stores!(
    acknowledged_work_survives_kill_9,
    sigterm_during_concurrent_pushes_loses_nothing
);
