//! Store tests that need no server: capture durability, validation, edits, the outbox
//! bookkeeping and merging pulled documents through the sync machine's store side.

use automerge::ActorId;
use tempfile::TempDir;

use super::*;
use crate::{
    protocol::PulledRecord,
    record::{Location, Status, Verdict},
    sync::{PageReport, SyncStore, Write, Written},
};

const OFFICER: &str = "87010123";
const UNIT: &str = "bali/buleleng/sawan";

/// A registered device without a server: writes the credential a registration would store.
pub(super) async fn device(home: &TempDir) -> Device {
    let device = Device::open(home.path())
        .await
        .unwrap_or_else(|e| panic!("open: {e}"));
    let mut tx = device.store.begin().await.expect("begin");
    for (k, v) in [
        (key::SERVER_URL, "http://127.0.0.1:9"),
        (key::DEVICE_TOKEN, "test-token"),
        (key::DEVICE_ID, "0193a6b2-0000-7000-8000-000000000001"),
        (key::ACTOR_ID, &ActorId::random().to_hex_string()),
        (key::OFFICER, OFFICER),
        (key::UNIT, UNIT),
    ] {
        tx.set_meta(k, v).await.expect("meta");
    }
    tx.commit().await.expect("commit");
    device
}

fn capture() -> Capture {
    Capture {
        kind: "sambang".into(),
        title: "Sambang Desa Sudaji".into(),
        narrative: "Sambang ke rumah kepala desa".into(),
        started_at: Some(record::now_ms()),
        location: Some(Location {
            lat: -8.12,
            lon: 115.2,
            accuracy_m: Some(8.0),
            source: "gps".into(),
        }),
        people_served: Some(12),
        services: [("skck".to_owned(), 2)].into(),
        submit: true,
        ..Capture::default()
    }
}

#[tokio::test]
async fn a_capture_survives_closing_and_reopening_the_store() {
    let home = TempDir::new().expect("tempdir");
    let d = device(&home).await;
    let id = d.capture(capture()).await.expect("capture");
    let before = d.record(id).await.expect("read").expect("stored");
    d.close().await;

    let d = Device::open(home.path()).await.expect("reopen");
    let after = d.record(id).await.expect("read").expect("still stored");
    assert_eq!(after, before);
    assert_eq!(after.status, Status::Submitted);
    assert_eq!(after.officer, OFFICER);
    assert_eq!(after.unit, UNIT);
    let list = d.list().await.expect("list");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, id);
    assert_eq!(list[0].sync, SyncState::Waiting { last_error: None });
    let status = d.status().await.expect("status");
    assert_eq!((status.records_total, status.waiting), (1, 1));
}

#[tokio::test]
async fn an_empty_lke_takes_the_kinds_usual_indicators() {
    let home = TempDir::new().expect("tempdir");
    let d = device(&home).await;
    let id = d.capture(capture()).await.expect("capture");
    let record = d.record(id).await.expect("read").expect("stored");
    let usual = &Catalogue::builtin()
        .activity_kind("sambang")
        .expect("sambang is in the catalogue")
        .default_lke;
    assert_eq!(record.lke, usual.iter().cloned().collect());
}

#[tokio::test]
async fn an_invalid_capture_is_refused_with_every_problem() {
    let home = TempDir::new().expect("tempdir");
    let d = device(&home).await;
    let mut bad = capture();
    bad.kind = "karaoke".into();
    bad.location = bad.location.map(|l| Location { lat: 91.0, ..l });
    let err = d.capture(bad).await.expect_err("invalid");
    let DeviceError::Invalid(problems) = err else {
        panic!("expected Invalid, got {err}");
    };
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert!(paths.contains(&"kind"), "{paths:?}");
    assert!(paths.contains(&"location.lat"), "{paths:?}");
    assert!(d.list().await.expect("list").is_empty());
}

#[tokio::test]
async fn capturing_needs_a_registration() {
    let home = TempDir::new().expect("tempdir");
    let d = Device::open(home.path()).await.expect("open");
    let err = d.capture(capture()).await.expect_err("unregistered");
    assert!(matches!(err, DeviceError::NotRegistered), "{err}");
    // The device says what is wrong without naming a command; the CLI adds `bukti enroll`.
    assert!(err.to_string().contains("not enrolled"), "{err}");
    assert!(!err.to_string().contains("bukti"), "{err}");
}

#[tokio::test]
async fn edits_round_trip_and_a_no_op_writes_nothing() {
    let home = TempDir::new().expect("tempdir");
    let d = device(&home).await;
    let id = d.capture(capture()).await.expect("capture");
    let heads = d.heads(id).await.expect("heads").expect("stored");

    let changed = d
        .edit(id, |r| r.title = "Sambang Desa Sawan".into())
        .await
        .expect("edit");
    assert!(changed);
    let record = d.record(id).await.expect("read").expect("stored");
    assert_eq!(record.title, "Sambang Desa Sawan");
    assert_eq!(d.list().await.expect("list")[0].title, "Sambang Desa Sawan");
    let edited_heads = d.heads(id).await.expect("heads").expect("stored");
    assert_ne!(edited_heads, heads);

    assert!(!d.edit(id, |_| ()).await.expect("no-op edit"));
    assert_eq!(
        d.heads(id).await.expect("heads").expect("stored"),
        edited_heads
    );

    let err = d
        .edit(id, |r| r.title = "  ".into())
        .await
        .expect_err("invalid edit");
    assert!(
        matches!(&err, DeviceError::Invalid(p) if p[0].path == "title"),
        "{err}"
    );
    let unchanged = d.record(id).await.expect("read").expect("stored");
    assert_eq!(unchanged.title, "Sambang Desa Sawan");

    let missing = RecordId::new();
    let err = d.edit(missing, |_| ()).await.expect_err("no such record");
    assert!(matches!(err, DeviceError::NotFound(m) if m == missing));
}

#[tokio::test]
async fn a_held_record_is_released_by_an_edit() {
    let home = TempDir::new().expect("tempdir");
    let d = device(&home).await;
    let id = d.capture(capture()).await.expect("capture");
    assert_eq!(d.store.outbox_ready().await.expect("ready"), vec![id]);

    let mut tx = d.store.begin().await.expect("begin");
    tx.note_failure(id, "invalid", "people_served: implausible", true)
        .await
        .expect("hold");
    tx.commit().await.expect("commit");
    assert!(d.store.outbox_ready().await.expect("ready").is_empty());
    let status = d.status().await.expect("status");
    assert_eq!(status.waiting, 0);
    assert_eq!(status.held.len(), 1);
    assert_eq!(status.held[0].code, "invalid");
    assert!(matches!(
        &d.list().await.expect("list")[0].sync,
        SyncState::Held { code, .. } if code == "invalid"
    ));

    d.edit(id, |r| r.counts.people_served = Some(3))
        .await
        .expect("edit");
    assert_eq!(d.store.outbox_ready().await.expect("ready"), vec![id]);
    let (attempts, held, code) = d.store.outbox_row(id).await.expect("row").expect("queued");
    assert_eq!((attempts, held, code), (1, false, None));
}

#[tokio::test]
async fn an_acknowledgement_dequeues_only_the_heads_it_covers() {
    let home = TempDir::new().expect("tempdir");
    let d = device(&home).await;
    let id = d.capture(capture()).await.expect("capture");
    let sent = d
        .store
        .local_heads(id)
        .await
        .expect("heads")
        .expect("stored");
    // An edit lands while the push is in flight.
    d.edit(id, |r| r.place = "Balai desa".into())
        .await
        .expect("edit");

    let mut tx = d.store.begin().await.expect("begin");
    tx.set_server_heads(id, Some(&sent)).await.expect("ack");
    tx.dequeue_if_heads(id, &sent).await.expect("dequeue");
    tx.commit().await.expect("commit");
    assert_eq!(d.store.outbox_ready().await.expect("ready"), vec![id]);
    assert_eq!(d.store.server_heads(id).await.expect("heads"), Some(sent));

    let now = d
        .store
        .local_heads(id)
        .await
        .expect("heads")
        .expect("stored");
    let mut tx = d.store.begin().await.expect("begin");
    tx.dequeue_if_heads(id, &now).await.expect("dequeue");
    tx.commit().await.expect("commit");
    assert!(d.store.outbox_ready().await.expect("ready").is_empty());
    assert_eq!(d.list().await.expect("list")[0].sync, SyncState::Synced);
}

/// The server's copy of `id` with a reviewer's verdict added.
async fn reviewed_on_server(d: &Device, id: RecordId) -> PulledRecord {
    let bytes = d.document(id).await.expect("doc").expect("stored");
    let mut server = RecordDoc::load(&bytes, ActorId::random()).expect("load");
    server
        .edit("reviewer:hq", |r| r.review.verdict = Some(Verdict::Valid))
        .expect("review");
    PulledRecord {
        id,
        seq: 1,
        heads: ingest::heads_to_strings(&server.heads()),
        doc: server.save(),
    }
}

/// Writes a pull page of `pulled` through the device's store side, as the sync machine would.
async fn merge_pulled(d: &Device, pulled: &PulledRecord) -> PageReport {
    let creds = d.registered().await.expect("registered");
    let mut side = DeviceSide {
        store: &d.store,
        files: &d.files,
        actor: creds.actor,
    };
    let cursor = d.store.pull_cursor().await.expect("cursor") + 1;
    let write = Write::PullPage {
        records: vec![pulled.clone()],
        cursor,
    };
    match side.write(write).await.expect("merge") {
        Written::Page(page) => page,
        other => panic!("a pull page answered {other:?}"),
    }
}

#[tokio::test]
async fn a_pulled_review_merges_and_settles_the_outbox() {
    let home = TempDir::new().expect("tempdir");
    let d = device(&home).await;
    let id = d.capture(capture()).await.expect("capture");
    let pulled = reviewed_on_server(&d, id).await;

    let report = merge_pulled(&d, &pulled).await;
    assert_eq!((report.new, report.merged), (0, 1));
    let record = d.record(id).await.expect("read").expect("stored");
    assert_eq!(record.review.verdict, Some(Verdict::Valid));
    assert_eq!(
        d.list().await.expect("list")[0].verdict.as_deref(),
        Some("valid")
    );
    assert_eq!(d.list().await.expect("list")[0].state, "verified");
    // The server's copy holds every local change, so nothing is left to push.
    assert!(d.store.outbox_ready().await.expect("ready").is_empty());
    assert_eq!(
        d.store.server_heads(id).await.expect("heads"),
        Some(pulled.heads.clone())
    );

    // Pulling the same page again is harmless.
    let again = merge_pulled(&d, &pulled).await;
    assert_eq!((again.new, again.merged), (0, 0));
}

#[tokio::test]
async fn unsynced_local_edits_stay_queued_across_a_pull() {
    let home = TempDir::new().expect("tempdir");
    let d = device(&home).await;
    let id = d.capture(capture()).await.expect("capture");
    let pulled = reviewed_on_server(&d, id).await;
    d.edit(id, |r| r.narrative = "Narasi diperbaiki".into())
        .await
        .expect("edit");

    merge_pulled(&d, &pulled).await;
    let record = d.record(id).await.expect("read").expect("stored");
    assert_eq!(record.narrative, "Narasi diperbaiki");
    assert_eq!(record.review.verdict, Some(Verdict::Valid));
    assert_eq!(d.store.outbox_ready().await.expect("ready"), vec![id]);
    // The reviewer never saw the offline edit: it shows as made after the verdict.
    let workflow = d.workflow(id).await.expect("workflow").expect("stored");
    assert_eq!(workflow.edited_after_verdict, ["narrative"]);
    assert_eq!(d.list().await.expect("list")[0].state, "verified");
}

#[tokio::test]
async fn pulled_records_from_teammates_are_stored_and_garbage_is_skipped() {
    let home = TempDir::new().expect("tempdir");
    let d = device(&home).await;
    let mut teammate = capture().into_record(UNIT, "87010124", Catalogue::builtin());
    teammate.title = "Patroli malam".into();
    let mut doc = RecordDoc::create(&teammate, ActorId::random(), "officer:87010124");
    let pulled = PulledRecord {
        id: teammate.id,
        seq: 7,
        heads: ingest::heads_to_strings(&doc.heads()),
        doc: doc.save(),
    };
    let report = merge_pulled(&d, &pulled).await;
    assert_eq!(report.new, 1);
    assert_eq!(d.record(teammate.id).await.expect("read"), Some(teammate));
    assert!(d.store.outbox_ready().await.expect("ready").is_empty());

    let garbage = PulledRecord {
        id: RecordId::new(),
        seq: 8,
        heads: vec![],
        doc: b"\x85\x6f\x4a\x83garbage".to_vec(),
    };
    let report = merge_pulled(&d, &garbage).await;
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(d.list().await.expect("list").len(), 1);
}

#[tokio::test]
async fn an_own_record_coming_back_unchanged_just_settles_the_outbox() {
    let home = TempDir::new().expect("tempdir");
    let d = device(&home).await;
    let id = d.capture(capture()).await.expect("capture");
    let heads = d
        .store
        .local_heads(id)
        .await
        .expect("heads")
        .expect("stored");
    let pulled = PulledRecord {
        id,
        seq: 3,
        heads: heads.clone(),
        doc: d.document(id).await.expect("doc").expect("stored"),
    };
    let report = merge_pulled(&d, &pulled).await;
    assert_eq!((report.new, report.merged), (0, 0));
    assert!(d.store.outbox_ready().await.expect("ready").is_empty());
    assert_eq!(d.store.server_heads(id).await.expect("heads"), Some(heads));
}
