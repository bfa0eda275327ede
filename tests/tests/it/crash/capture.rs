//! The `bukti` CLI killed during capture leaves each record whole or absent, never torn.

use super::*;

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
