//! SIGKILL at random moments while devices push, edit, pull and upload: nothing acknowledged
//! is lost, every listed blob is whole, and retries complete without duplicates.

use super::*;

both_stores!(acknowledged_work_survives_kill_9);

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
