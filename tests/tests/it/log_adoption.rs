//! Records stored before the evidence log existed are adopted into it once, when the store is
//! opened after the upgrade (`bukti_server::evidence::adopt`), on both stores: `verify` then
//! passes and counts them apart from device-signed pushes, a second start adopts nothing, and a
//! change written behind the server's back, after the adoption or built on a logged change
//! before it, is still named.
//!
//! A database from before the log is made the way such a server wrote records: through the
//! store's write path with no log entry (`RecordWrite::log` `None`), and without the note that
//! the adoption ran (the table that keeps it is newer than the records).

use bukti_core::{RecordDoc, RecordId, evidence::log::ADOPTED, ingest, record::workflow};
use bukti_server::{
    evidence::adopt::adopt_unlogged,
    ops::verify::{VerifyReport, verify},
    projection::Projection,
    store::{RecordWrite, WriteOutcome},
};
use bukti_tests::{Backend, TestServer, both_stores, push_entry, signing};
use serde_json::json;

use crate::record_queries::{record, store_records};

both_stores!(
    records_older_than_the_log_are_adopted_once,
    a_change_built_on_a_logged_one_is_never_adopted,
);

const SAWAN: &str = "bali/buleleng/sawan";

async fn verified(server: &TestServer) -> VerifyReport {
    verify(&server.store).await.expect("verify runs")
}

/// What an upgraded database looks like before its first start: no note of an adoption.
async fn forget_adoption(server: &TestServer) {
    server
        .execute_sql("delete from log_adoption")
        .await
        .expect("delete the adoption note");
}

/// A device's signed push of a new record; its id.
async fn signed_record(server: &TestServer, title: &str) -> RecordId {
    let dev = server.raw_device(SAWAN, "80000001").await;
    let mut doc = dev.record_doc(title);
    let body = json!({"records": [push_entry(&mut doc)]});
    let body = signing::signed_for(
        &reqwest::Client::new(),
        &format!("{}/api/v1", server.url),
        &dev.token,
        &body,
    )
    .await;
    let (status, answer) = server.device_post(&dev.token, "/sync/push", &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["results"][0]["status"], "accepted", "{answer}");
    doc.read().expect("record").id
}

/// Changes record `id`'s title with a new change written straight through the store, with no
/// log entry: what someone with database access could do behind the server's back.
async fn write_behind_the_back(server: &TestServer, id: RecordId, title: &str) {
    let stored = server
        .store
        .load_documents(&[id])
        .await
        .expect("load")
        .remove(&id)
        .expect("the record is stored");
    let mut doc = RecordDoc::load(&stored.doc, automerge::ActorId::random()).expect("a record");
    doc.edit("officer:80000001", |r| r.title = title.into())
        .expect("edit")
        .expect("a new change");
    let read = doc.read().expect("record");
    let state = workflow::derive(doc.automerge()).state;
    let write = RecordWrite {
        id,
        expected_version: Some(stored.version),
        heads: ingest::heads_to_strings(&doc.heads()),
        doc: doc.save(),
        projection: Projection::of(&read, state),
        log: None,
    };
    let outcome = server
        .store
        .write_records(vec![write])
        .await
        .expect("write");
    assert_eq!(outcome, vec![WriteOutcome::Written]);
}

async fn records_older_than_the_log_are_adopted_once(backend: Backend) {
    let mut server = TestServer::start(backend).await;
    signed_record(&server, "Sambang Desa Sudaji").await;
    let mut reviewed = record(SAWAN, "80000002", "patroli", "Patroli", "Pasar", "aman");
    reviewed.started_at = Some(reviewed.captured_at);
    reviewed.ended_at = Some(reviewed.captured_at);
    let old = store_records(
        &server,
        &[
            reviewed,
            record(SAWAN, "80000002", "sambang", "Sambang", "Banjar", "lancar"),
            record(
                SAWAN,
                "80000003",
                "penyuluhan",
                "Penyuluhan",
                "SD",
                "narkoba",
            ),
        ],
    )
    .await;
    // A record older than the log and reviewed since: its newer changes are logged.
    server.forward(old[0]).await;
    forget_adoption(&server).await;
    let before = verified(&server).await;
    let mismatch = before.mismatch.expect("unlogged records are named");
    assert!(
        mismatch.contains("no evidence-log entry records"),
        "{mismatch}"
    );

    server.restart().await;
    let after = verified(&server).await;
    assert_eq!(after.mismatch, None, "{after:?}");
    assert_eq!((after.adopted, after.records), (3, 4), "{after:?}");
    assert!(after.signed_pushes >= 1, "{after:?}");
    for id in &old {
        let entries = server.store.log_of_record(*id).await.expect("entries");
        let adopted = entries.last().expect("an entry");
        assert!(adopted.is_adopted(), "{adopted:?}");
        assert_eq!((adopted.by.as_str(), &adopted.push), (ADOPTED, &None));
    }

    // Adopting again adds nothing: not at the next start, nor when the note is lost.
    let head = server.store.log_head().await.expect("head");
    server.restart().await;
    forget_adoption(&server).await;
    assert_eq!(adopt_unlogged(&server.store).await.expect("adopt"), 0);
    assert_eq!(server.store.log_head().await.expect("head"), head);
    assert_eq!(verified(&server).await.adopted, 3);

    // An edit behind the server's back after the adoption is named, and stays named.
    write_behind_the_back(&server, old[1], "Sambang banjar (diubah)").await;
    server.restart().await;
    let edited = verified(&server).await;
    let mismatch = edited.mismatch.expect("the edit is named");
    assert!(mismatch.contains(&old[1].to_string()), "{mismatch}");
    assert!(
        mismatch.contains("no evidence-log entry records"),
        "{mismatch}"
    );
    assert_eq!(server.store.log_head().await.expect("head"), head);
    server.finish().await;
}

async fn a_change_built_on_a_logged_one_is_never_adopted(backend: Backend) {
    let mut server = TestServer::start(backend).await;
    let id = signed_record(&server, "Patroli malam").await;
    write_behind_the_back(&server, id, "Patroli siang").await;
    forget_adoption(&server).await;
    server.restart().await;
    let report = verified(&server).await;
    assert_eq!(report.adopted, 0, "{report:?}");
    let mismatch = report.mismatch.expect("the change is named");
    assert!(mismatch.contains(&id.to_string()), "{mismatch}");
    assert!(
        mismatch.contains("no evidence-log entry records"),
        "{mismatch}"
    );
    server.finish().await;
}
