//! SIGTERM under concurrent pushes: the requests in flight finish and nothing is lost.

use super::*;

both_stores!(sigterm_during_concurrent_pushes_loses_nothing);

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
