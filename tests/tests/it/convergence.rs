//! Two officers edit the same record offline while HQ reviews it on the server: after syncing,
//! every replica holds the same document, nothing anyone wrote is lost, and the server's
//! projection says what the document says.

use automerge::AutoCommit;
use bukti_core::{
    RecordId,
    device::Capture,
    record::{self, Location, Verdict},
};
use bukti_tests::{Backend, TestDevice, TestServer, both_stores};

async fn document(device: &TestDevice, id: RecordId) -> AutoCommit {
    let bytes = device
        .device
        .document(id)
        .await
        .expect("read")
        .expect("record on device");
    AutoCommit::load(&bytes).expect("device document loads")
}

async fn concurrent_offline_edits_converge(backend: Backend) {
    let mut server = TestServer::start(backend).await;
    let a = server.device("bali/buleleng/sawan", "87010001").await;
    let b = server.device("bali/buleleng/sawan", "87010002").await;
    let id = a
        .device
        .capture(Capture {
            kind: "sosialisasi".into(),
            title: "Sosialisasi anti gratifikasi".into(),
            narrative: "Narasi awal dengan salah ketik".into(),
            started_at: Some(jiff::Timestamp::now()),
            location: Some(Location {
                lat: -8.1,
                lon: 115.3,
                accuracy_m: None,
                source: "network".into(),
            }),
            people_served: Some(20),
            submit: true,
            ..Capture::default()
        })
        .await
        .expect("capture");
    a.sync().await;
    assert_eq!(b.sync().await.new, 1, "B receives the record");

    // Both go offline and edit different parts of the same record.
    server.stop().await;
    a.device
        .edit(id, |r| {
            r.counts.people_served = Some(45);
            r.counts.participants = Some(12);
            r.counts.services.insert("pengaduan".into(), 2);
        })
        .await
        .expect("edit A");
    b.device
        .edit(id, |r| r.narrative = "Narasi yang sudah diperbaiki".into())
        .await
        .expect("edit B");
    server.restart().await;

    // Meanwhile the Polsek forwards the record and the Polres gives a verdict and a comment on
    // the server's copy.
    server.forward(id).await;
    let reviewer = server.hq(&server
        .hq_token("bali/buleleng", "Kasat Binmas", "reviewer")
        .await);
    let (status, body) = reviewer
        .post(
            &format!("/records/{id}/review"),
            &serde_json::json!({"verdict": "needs_revision", "comment": "Lengkapi daftar hadir"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    a.sync().await;
    b.sync().await;
    a.sync().await;

    let mut docs = vec![document(&a, id).await, document(&b, id).await];
    let (_, view) = reviewer.get(&format!("/records/{id}")).await;
    let server_heads: Vec<String> = serde_json::from_value(view["heads"].clone()).expect("heads");
    for doc in &mut docs {
        let mut heads: Vec<String> = doc.get_heads().iter().map(ToString::to_string).collect();
        heads.sort();
        let mut expected = server_heads.clone();
        expected.sort();
        assert_eq!(heads, expected, "every replica has the same history");
    }
    let on_a = record::doc::read(&docs[0]).expect("record");
    assert_eq!(on_a, record::doc::read(&docs[1]).expect("record"));
    assert_eq!(on_a.counts.people_served, Some(45));
    assert_eq!(on_a.counts.participants, Some(12));
    assert_eq!(on_a.counts.services.get("pengaduan"), Some(&2));
    assert_eq!(on_a.narrative, "Narasi yang sudah diperbaiki");
    assert_eq!(on_a.review.verdict, Some(Verdict::NeedsRevision));
    assert_eq!(on_a.review.comments.len(), 1);
    assert_eq!(on_a.review.comments[0].text, "Lengkapi daftar hadir");

    // The server's typed view and projection agree with the converged document.
    let on_server: record::Record = serde_json::from_value(view["record"].clone()).expect("record");
    assert_eq!(on_server, on_a);
    let summary = &view["summary"];
    assert_eq!(summary["title"], on_a.title);
    assert_eq!(summary["verdict"], "needs_revision");
    assert_eq!(summary["status"], on_a.status.as_str());
    assert_eq!(summary["officer"], on_a.officer);
    assert_eq!(
        summary["lat"],
        on_a.location.as_ref().map(|l| l.lat).expect("location")
    );
    let lke: Vec<String> = serde_json::from_value(summary["lke"].clone()).expect("lke");
    assert_eq!(lke, on_a.lke.iter().cloned().collect::<Vec<_>>());
    let (_, page) = reviewer.get("/records?verdict=needs_revision").await;
    assert_eq!(page["records"].as_array().expect("records").len(), 1);

    // History attributes each change to its author.
    let authors: Vec<&str> = view["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["author"].as_str())
        .collect();
    for who in [
        "officer:87010001",
        "officer:87010002",
        "reviewer:Kasat Binmas",
    ] {
        assert!(authors.contains(&who), "{who} missing from {authors:?}");
    }
    server.finish().await;
}

async fn restart_loses_nothing(backend: Backend) {
    let mut server = TestServer::start(backend).await;
    let a = server
        .device("bali/buleleng/kubutambahan", "87020001")
        .await;
    let mut ids = Vec::new();
    for i in 0..40 {
        let c = Capture {
            kind: "patroli".into(),
            title: format!("Patroli {i}"),
            place: "Pantai".into(),
            ..Capture::default()
        };
        ids.push(a.device.capture(c).await.expect("capture"));
    }
    assert_eq!(a.sync().await.pushed, 40);
    server.restart().await;

    let fresh = server
        .device("bali/buleleng/kubutambahan", "87020002")
        .await;
    assert_eq!(
        fresh.sync().await.new,
        40,
        "a fresh device pulls everything after the restart"
    );
    for id in &ids {
        let mine = record::doc::read(&document(&a, *id).await).expect("record");
        let theirs = record::doc::read(&document(&fresh, *id).await).expect("record");
        assert_eq!(mine, theirs);
    }
    // And the restarted server keeps accepting changes to the same records.
    a.device
        .edit(ids[0], |r| r.title = "Patroli pagi".into())
        .await
        .expect("edit");
    assert_eq!(a.sync().await.pushed, 1);
    assert_eq!(fresh.sync().await.merged, 1);
    let merged = fresh
        .device
        .record(ids[0])
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(merged.title, "Patroli pagi");
    server.finish().await;
}

both_stores!(concurrent_offline_edits_converge, restart_loses_nothing);
