//! Several server processes over one database, and a graceful stop in the middle of a request:
//! no state lives only in one process, and no acknowledged or in-flight write is lost.

use std::time::Duration;

use bukti_core::{
    device::{Capture, NoProgress},
    record,
};
use bukti_tests::{Backend, TestServer, both_stores, changes_b64, sample_record};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn capture(title: String) -> Capture {
    Capture {
        kind: "patroli".into(),
        title,
        place: "Jalan Raya Seririt".into(),
        ..Capture::default()
    }
}

async fn two_processes_share_one_store(backend: Backend) {
    let a = TestServer::start(backend).await;
    let b = a.second_process().await;
    // Each device syncs through a different process; registration on A is honoured by B.
    let d1 = a.device("bali/buleleng/seririt", "87030001").await;
    let d2 = a.device("bali/buleleng/seririt", "87030002").await;
    for i in 0..30 {
        d1.device
            .capture(capture(format!("Patroli A{i}")))
            .await
            .expect("capture");
        d2.device
            .capture(capture(format!("Patroli B{i}")))
            .await
            .expect("capture");
    }
    let shared = d1
        .device
        .capture(capture("Patroli bersama".into()))
        .await
        .expect("capture");
    d1.sync().await;
    let d2_via_b = bukti_core::device::Device::open(d2.home.path())
        .await
        .expect("reopen");
    let code = b.enrollment_code("bali/buleleng/seririt", "87030002").await;
    d2_via_b
        .enroll_again(&b.url, &code, "HP B")
        .await
        .expect("enroll with B");
    d2_via_b.sync(&NoProgress).await.expect("sync via B");

    // Both edit the same record over and over, pushing through different processes at once.
    for i in 0..15_u64 {
        d1.device
            .edit(shared, |r| {
                r.counts.services.insert("pengaduan".into(), i);
            })
            .await
            .expect("edit");
        d2_via_b
            .edit(shared, |r| r.narrative = format!("Catatan ke-{i}"))
            .await
            .expect("edit");
        let (r1, r2) = tokio::join!(d1.device.sync(&NoProgress), d2_via_b.sync(&NoProgress));
        assert!(r1.expect("sync via A").rejected.is_empty());
        assert!(r2.expect("sync via B").rejected.is_empty());
    }
    d1.sync().await;
    d2_via_b.sync(&NoProgress).await.expect("sync");

    let on_a = a
        .hq(&a.admin_token)
        .get(&format!("/records/{shared}"))
        .await
        .1;
    let on_b = b
        .hq(&b.admin_token)
        .get(&format!("/records/{shared}"))
        .await
        .1;
    assert_eq!(
        on_a["heads"], on_b["heads"],
        "both processes serve the same document"
    );
    let merged: record::Record = serde_json::from_value(on_a["record"].clone()).expect("record");
    assert_eq!(
        merged.counts.services.get("pengaduan"),
        Some(&14),
        "no edit lost"
    );
    assert_eq!(merged.narrative, "Catatan ke-14", "no edit lost");
    assert_eq!(
        d1.device.record(shared).await.expect("read"),
        Some(merged.clone())
    );
    assert_eq!(d2_via_b.record(shared).await.expect("read"), Some(merged));

    // The feed is one sequence for every process: a fresh device on B sees all 61 records once.
    let fresh = b.device("bali/buleleng/seririt", "87030003").await;
    assert_eq!(fresh.sync().await.new, 61);
    let (_, page) = b.hq(&b.admin_token).get("/records?limit=500").await;
    let mut seqs: Vec<i64> = page["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["feed_seq"].as_i64().expect("seq"))
        .collect();
    let n = seqs.len();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(
        (n, seqs.len()),
        (61, 61),
        "every record has its own feed position"
    );
    b.finish().await;
    a.finish().await;
}

async fn a_graceful_stop_finishes_the_request_in_flight(backend: Backend) {
    let mut server = TestServer::start(backend).await;
    let dev = server.raw_device("bali/buleleng/banjar", "87040001").await;
    let mut doc = bukti_core::RecordDoc::create(
        &sample_record(&dev.unit, &dev.officer, "Dalam perjalanan"),
        dev.actor.clone(),
        "officer:87040001",
    );
    let id = doc.read().expect("record").id;
    let body = serde_json::json!({"records": [{"id": id.to_string(), "changes": changes_b64(&mut doc, &[])}]});
    let api = format!("{}/api/v1", server.url);
    let body = bukti_tests::signing::signed_for(&reqwest::Client::new(), &api, &dev.token, &body)
        .await
        .to_string();

    // Send the headers and half the body, ask the server to stop, then send the rest.
    let mut conn = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let head = format!(
        "POST /api/v1/sync/push HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        server.addr,
        dev.token,
        body.len()
    );
    let (first, rest) = body.as_bytes().split_at(body.len() / 2);
    conn.write_all(head.as_bytes()).await.expect("write head");
    conn.write_all(first).await.expect("write first half");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopping = tokio::spawn(async move {
        server.stop().await;
        server
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    conn.write_all(rest).await.expect("write second half");
    let mut response = String::new();
    conn.read_to_string(&mut response)
        .await
        .expect("read response");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"accepted\""), "{response}");

    // After the stop the record is there.
    let mut server = stopping.await.expect("stopped");
    server.restart().await;
    let (status, _) = server
        .hq(&server.admin_token)
        .get(&format!("/records/{id}"))
        .await;
    assert_eq!(status, 200);
    server.finish().await;
}

both_stores!(
    two_processes_share_one_store,
    a_graceful_stop_finishes_the_request_in_flight
);
