//! The foundation end to end: several devices capture offline, sync through a real server, and
//! HQ finds the merged evidence, on SQLite and on PostgreSQL.

use std::collections::HashSet;

use bukti_core::{
    device::Capture,
    record::{Location, Status},
};
use bukti_tests::{Backend, TestServer, both_stores};
use jiff::Timestamp;

fn capture(kind: &str, title: &str, served: u64) -> Capture {
    let start: Timestamp = "2026-11-20T09:00:00+08:00".parse().expect("time");
    Capture {
        kind: kind.into(),
        title: title.into(),
        narrative: format!("{title}: kegiatan berjalan lancar"),
        started_at: Some(start),
        ended_at: Some(start + jiff::SignedDuration::from_hours(2)),
        location: Some(Location {
            lat: -8.15,
            lon: 115.25,
            accuracy_m: Some(7.5),
            source: "gps".into(),
        }),
        place: "Desa Sudaji".into(),
        people_served: Some(served),
        submit: true,
        ..Capture::default()
    }
}

async fn offline_capture_sync_and_hq_query(backend: Backend) {
    let mut server = TestServer::start(backend).await;
    let made = server.device("bali/buleleng/sawan", "87010001").await;
    let ketut = server.device("bali/buleleng/sawan", "87010002").await;
    let putu = server.device("bali/buleleng/gerokgak", "87010003").await;

    // No network: the server is down while the officers work.
    server.stop().await;
    let mut made_ids = Vec::new();
    for i in 0..3 {
        made_ids.push(
            made.device
                .capture(capture("sambang", &format!("Sambang {i}"), 10 + i))
                .await
                .expect("capture"),
        );
    }
    let mut dumas = capture("pengaduan-masyarakat", "Penerimaan Dumas", 1);
    dumas.services.insert("pengaduan".into(), 2);
    let dumas_id = ketut.device.capture(dumas).await.expect("capture");
    ketut
        .device
        .capture(capture("patroli", "Patroli dialogis", 4))
        .await
        .expect("capture");
    putu.device
        .capture(capture("pelayanan-skck", "SKCK keliling", 9))
        .await
        .expect("capture");
    assert_eq!(
        made.device.status().await.expect("status").waiting,
        3,
        "captured offline, waiting"
    );
    assert!(
        made.device
            .sync(&bukti_core::device::NoProgress)
            .await
            .is_err(),
        "no server: sync fails cleanly"
    );
    assert_eq!(
        made.device.status().await.expect("status").waiting,
        3,
        "a failed sync loses nothing"
    );

    // Back online.
    server.restart().await;
    for d in [&made, &ketut, &putu] {
        let report = d.sync().await;
        assert!(report.rejected.is_empty(), "{report:?}");
    }
    let report = made.sync().await;
    assert_eq!(report.pushed, 0, "nothing left to push: {report:?}");
    assert_eq!(
        report.pulled, 2,
        "Made receives Ketut's two records of the same Polsek: {report:?}"
    );
    assert_eq!(made.device.list().await.expect("list").len(), 5);
    assert_eq!(
        putu.sync().await.pulled,
        0,
        "Gerokgak sees nothing of Sawan"
    );
    assert_eq!(putu.device.list().await.expect("list").len(), 1);
    assert_eq!(made.device.status().await.expect("status").waiting, 0);

    // HQ at the Polres sees all six; the Polsek's own view only its five.
    let polres = server.hq(&server
        .hq_token("bali/buleleng", "Kabag Ops", "reviewer")
        .await);
    let (status, page) = polres.get("/records").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["records"].as_array().expect("records").len(), 6);
    let sawan_view = server.hq(&server
        .hq_token("bali/buleleng/sawan", "Kapolsek Sawan", "viewer")
        .await);
    let (_, page) = sawan_view.get("/records").await;
    assert_eq!(page["records"].as_array().expect("records").len(), 5);

    for (query, expected) in [
        ("?unit=bali/buleleng/sawan", 5),
        ("?unit=bali/buleleng/gerokgak", 1),
        ("?kind=sambang", 3),
        ("?lke_area=PW", 1),
        ("?lke=PP.P2", 1),
        ("?officer=87010002", 2),
        ("?status=submitted", 6),
        ("?status=draft", 0),
        (
            "?from=2026-11-20T00:00:00%2B08:00&to=2026-11-21T00:00:00%2B08:00",
            6,
        ),
        ("?from=2026-11-21T00:00:00%2B08:00", 0),
    ] {
        let (status, page) = polres.get(&format!("/records{query}")).await;
        assert_eq!(status, 200, "{query}: {page}");
        assert_eq!(
            page["records"].as_array().expect("records").len(),
            expected,
            "{query}"
        );
    }
    let (_, page) = sawan_view.get("/records?unit=bali/buleleng/gerokgak").await;
    assert_eq!(
        page["records"].as_array().expect("records").len(),
        0,
        "another Polsek's filter shows nothing"
    );

    // Cursor pagination walks every record once.
    let mut seen = HashSet::new();
    let mut path = "/records?limit=4".to_owned();
    loop {
        let (status, page) = polres.get(&path).await;
        assert_eq!(status, 200, "{page}");
        for r in page["records"].as_array().expect("records") {
            assert!(
                seen.insert(r["id"].as_str().expect("id").to_owned()),
                "duplicate across pages"
            );
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/records?limit=4&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6);

    // One record with its history.
    let (status, view) = polres.get(&format!("/records/{dumas_id}")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["record"]["title"], "Penerimaan Dumas");
    assert_eq!(view["record"]["counts"]["services"]["pengaduan"], 2);
    assert_eq!(view["summary"]["unit"], "bali/buleleng/sawan");
    assert_eq!(view["history"][0]["author"], "officer:87010002");
    assert!(
        view["history"][0]["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .any(|f| f == "title")
    );
    let (status, _) = sawan_view.get(&format!("/records/{}", made_ids[0])).await;
    assert_eq!(status, 200);
    let putu_id = putu.device.list().await.expect("list")[0].id;
    let (status, body) = sawan_view.get(&format!("/records/{putu_id}")).await;
    assert_eq!(
        status, 404,
        "another Polsek's record looks like no record: {body}"
    );

    // An officer's record is merged into the right typed view on the server.
    let local = made
        .device
        .record(made_ids[1])
        .await
        .expect("read")
        .expect("exists");
    let (_, view) = polres.get(&format!("/records/{}", made_ids[1])).await;
    assert_eq!(view["record"]["narrative"], local.narrative);
    assert_eq!(local.status, Status::Submitted);
    server.finish().await;
}

both_stores!(offline_capture_sync_and_hq_query);

/// Edits made offline before the first push all travel with it (the push sends the history kept
/// at the last edit, never an older one), and an edit after the acknowledgement sends only what
/// is new.
async fn offline_edits_before_the_first_push_all_arrive(backend: Backend) {
    let server = TestServer::start(backend).await;
    let made = server.device("bali/buleleng/sawan", "87010001").await;
    let id = made
        .device
        .capture(capture("sambang", "Sambang Desa", 3))
        .await
        .expect("capture");
    for edit in [
        |r: &mut bukti_core::Record| r.narrative = "Narasi diperbaiki".into(),
        |r: &mut bukti_core::Record| r.place = "Balai Desa Sudaji".into(),
    ] {
        assert!(made.device.edit(id, edit).await.expect("edit"));
    }
    let report = made.sync().await;
    assert_eq!((report.pushed, report.rejected.len()), (1, 0), "{report:?}");
    assert_eq!(made.device.status().await.expect("status").waiting, 0);

    let polres = server.hq(&server
        .hq_token("bali/buleleng", "Kabag Ops", "reviewer")
        .await);
    let (status, view) = polres.get(&format!("/records/{id}")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["record"]["narrative"], "Narasi diperbaiki");
    assert_eq!(view["record"]["place"], "Balai Desa Sudaji");
    assert_eq!(view["history"].as_array().expect("history").len(), 3);

    made.device
        .edit(id, |r| r.title = "Sambang Desa Sudaji".into())
        .await
        .expect("edit");
    let report = made.sync().await;
    assert_eq!(report.pushed, 1, "{report:?}");
    let (_, view) = polres.get(&format!("/records/{id}")).await;
    assert_eq!(view["record"]["title"], "Sambang Desa Sudaji");
    assert_eq!(view["record"]["place"], "Balai Desa Sudaji");
    assert_eq!(view["history"].as_array().expect("history").len(), 4);
    server.finish().await;
}

both_stores!(offline_edits_before_the_first_push_all_arrive);
