//! Classes of hostile input an outside attacker run found, each tested broadly on both stores:
//! NUL and control characters in every text that reaches a store, Automerge changes altered
//! after they were made, documents shaped to make every later reader slow, and error answers
//! that must carry a JSON body whatever produced them.

use base64::{Engine, engine::general_purpose::STANDARD};
use bukti_core::{
    RecordDoc,
    ingest::shape::{MAX_DEPTH, MAX_LIST_LEN, MAX_MAP_KEYS},
};
use bukti_tests::{
    Backend, RawDevice, TestServer, both_stores, changes_b64, push_entry, sample_record,
};
use serde_json::{Value, json};

both_stores!(
    nul_and_control_characters_get_the_same_clear_400,
    altered_changes_are_refused_as_corrupt,
    document_shape_is_bounded_for_the_whole_document,
    the_worst_accepted_document_is_read_in_bounded_memory,
);

const SAWAN: &str = "bali/buleleng/sawan";

/// A change to a record's typed view.
type Edit = fn(&mut bukti_core::Record);

async fn push(server: &TestServer, dev: &RawDevice, records: Vec<Value>) -> (u16, Value) {
    server
        .device_post(&dev.token, "/sync/push", &json!({ "records": records }))
        .await
}

fn outcome(body: &Value, i: usize) -> (String, String, String) {
    let r = &body["results"][i];
    let s = |k: &str| r[k].as_str().unwrap_or("").to_owned();
    (s("status"), s("code"), s("reason"))
}

async fn get(server: &TestServer, token: &str, path: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(format!("{}/api/v1{path}", server.url))
        .bearer_auth(token)
        .timeout(std::time::Duration::from_secs(60))
        .send()
        .await
        .expect("request");
    bukti_tests::status_json(resp).await
}

fn assert_json_error(status: u16, body: &Value, expected: u16, what: &str) {
    assert_eq!(status, expected, "{what}: {body}");
    assert!(
        body["code"].is_string() && body["message"].is_string(),
        "{what}: no JSON error body: {body}"
    );
}

async fn nul_and_control_characters_get_the_same_clear_400(backend: Backend) {
    let server = TestServer::start(backend).await;
    let dev = server.raw_device(SAWAN, "87010001").await;

    // Pushed records: each bad text is that record's own rejection; the batch and its good
    // record land (PostgreSQL used to fail the whole batch with a 500).
    let mut good = dev.record_doc("Pelayanan SKCK");
    let mut records = vec![push_entry(&mut good)];
    let bad_texts: [(&str, Edit); 6] = [
        ("title", |r| r.title = "SKCK\0malam".into()),
        ("place", |r| r.place = "Balai\0Desa".into()),
        ("narrative", |r| r.narrative = "Warga\0datang".into()),
        ("title", |r| r.title = "Escape \u{1b}[2J".into()),
        ("place", |r| r.place = "Baris\nbaru".into()),
        ("narrative", |r| r.narrative = "Bel \u{7}".into()),
    ];
    for (_, change) in &bad_texts {
        let mut record = sample_record(SAWAN, &dev.officer, "x");
        change(&mut record);
        let mut doc = RecordDoc::create(&record, dev.actor.clone(), "officer:87010001");
        records.push(push_entry(&mut doc));
    }
    let (status, body) = push(&server, &dev, records).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(outcome(&body, 0).0, "accepted", "{body}");
    for (i, (field, _)) in bad_texts.iter().enumerate() {
        let (status, code, reason) = outcome(&body, i + 1);
        assert_eq!(
            (status.as_str(), code.as_str()),
            ("rejected", "invalid"),
            "{body}"
        );
        assert!(reason.contains(field), "#{i} names {field}: {reason}");
    }
    // A multi-line narrative is fine.
    let mut record = sample_record(SAWAN, &dev.officer, "Sambang");
    record.narrative = "Baris satu\nBaris dua\tdengan tab".into();
    let mut doc = RecordDoc::create(&record, dev.actor.clone(), "officer:87010001");
    let (_, body) = push(&server, &dev, vec![push_entry(&mut doc)]).await;
    assert_eq!(outcome(&body, 0).0, "accepted", "{body}");

    // Every filter, path segment and JSON text.
    let admin = server.admin_token.clone();
    for filter in [
        "kind=patroli%00",
        "officer=8701%000001",
        "lke=PP.P2%00",
        "lke_area=P%00P",
        "unit=bali%00",
        "status=submitted%00",
        "verdict=%00",
        "from=2026%00",
        "cursor=%00",
    ] {
        let (status, body) = get(&server, &admin, &format!("/records?{filter}")).await;
        assert_json_error(status, &body, 400, filter);
        assert!(
            body["message"].as_str().unwrap_or("").contains("NUL"),
            "{body}"
        );
    }
    for path in [
        "/records/0190%00",
        "/audit?limit=1%00",
        "/blobs/ab%00",
        "/units?x=%00",
    ] {
        let (status, body) = get(&server, &admin, path).await;
        assert_json_error(status, &body, 400, path);
    }
    let posts: [(&str, Value); 6] = [
        ("/session", json!({"nrp": "8503\u{0}0001", "password": "x"})),
        ("/enrollments", json!({"officer": "8701\u{0}0001"})),
        (
            "/enroll",
            json!({"code": "ABCD\u{0}", "device_name": "x", "actor_id": "00", "public_key": "00", "signature": "00"}),
        ),
        (
            "/people",
            json!({"nrp": "87019999", "name": "Putu\u{0}", "rank": "Bripka", "unit": SAWAN, "roles": ["officer"]}),
        ),
        (
            "/units",
            json!({"path": "bali/buleleng/baru", "name": "Baru\u{0}", "kind": "polsek"}),
        ),
        ("/tokens", json!({"name": "skrip\u{0}"})),
    ];
    for (path, body) in posts {
        let (status, answer) = server.device_post(&admin, path, &body).await;
        assert_json_error(status, &answer, 400, path);
        assert!(
            answer["message"].as_str().unwrap_or("").contains("NUL"),
            "{path}: {answer}"
        );
    }
    let id = good.read().expect("record").id;
    let (status, answer) = server
        .device_post(
            &admin,
            &format!("/records/{id}/review"),
            &json!({"comment": "Lengkapi\u{0}"}),
        )
        .await;
    assert_json_error(status, &answer, 400, "review comment");
    // A form body with %00 is refused the same way.
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/session", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("nrp=8503%000001&password=x")
        .send()
        .await
        .expect("form post");
    let (status, answer) = bukti_tests::status_json(resp).await;
    assert_json_error(status, &answer, 400, "form body");

    // Nothing of it reached the store; the server is healthy.
    let (status, page) = get(&server, &admin, "/records").await;
    assert_eq!(status, 200);
    assert_eq!(page["records"].as_array().map(Vec::len), Some(2), "{page}");
    server.finish().await;
}

/// The raw bytes of a record's one creation change.
fn creation_change(dev: &RawDevice, title: &str) -> (bukti_core::RecordId, Vec<u8>) {
    let mut doc = dev.record_doc(title);
    let id = doc.read().expect("record").id;
    let changes = doc.automerge().get_changes(&[]);
    assert_eq!(changes.len(), 1);
    (id, changes[0].raw_bytes().to_vec())
}

async fn altered_changes_are_refused_as_corrupt(backend: Backend) {
    let server = TestServer::start(backend).await;
    let dev = server.raw_device(SAWAN, "87010001").await;
    let title = "Sambang Desa Sudaji";
    let (_, original) = creation_change(&dev, title);
    let at = original
        .windows(title.len())
        .position(|w| w == title.as_bytes())
        .expect("the title is stored uncompressed in the change");
    let mut cases = Vec::new();
    for (what, index) in [
        ("checksum byte 4", 4),
        ("checksum byte 7", 7),
        ("a letter of the title", at + 3),
        ("the last byte", original.len() - 1),
    ] {
        let (id, mut bytes) = creation_change(&dev, title);
        bytes[index] ^= 0x01;
        cases.push((what, id, bytes));
    }
    let records: Vec<Value> = cases
        .iter()
        .map(|(_, id, bytes)| json!({"id": id.to_string(), "changes": [STANDARD.encode(bytes)]}))
        .collect();
    let (status, body) = push(&server, &dev, records).await;
    assert_eq!(status, 200, "{body}");
    for (i, (what, id, _)) in cases.iter().enumerate() {
        let (status, code, _) = outcome(&body, i);
        assert_eq!(
            (status.as_str(), code.as_str()),
            ("rejected", "corrupt_changes"),
            "{what}: {body}"
        );
        let (status, _) = get(&server, &dev.token, &format!("/records/{id}")).await;
        assert_eq!(status, 404, "{what}: nothing stored");
    }
    server.finish().await;
}

/// A valid record with extra, unknown structure written by `shape` (kept by the schema's rule
/// that unknown fields survive), all in the device's actor.
fn shaped(dev: &RawDevice, shape: impl FnOnce(&mut automerge::AutoCommit)) -> Value {
    let mut doc = dev.record_doc("Berbentuk aneh");
    shape(doc.automerge());
    commit_now(doc.automerge());
    push_entry(&mut doc)
}

/// Commits with the time in milliseconds, as the record contract wants every change.
fn commit_now(doc: &mut automerge::AutoCommit) {
    doc.commit_with(
        automerge::transaction::CommitOptions::default()
            .with_time(jiff::Timestamp::now().as_millisecond()),
    );
}

fn nest(doc: &mut automerge::AutoCommit, depth: usize) -> automerge::ObjId {
    use automerge::transaction::Transactable;
    let mut obj = automerge::ROOT;
    for _ in 0..depth {
        obj = doc
            .put_object(&obj, "x", automerge::ObjType::Map)
            .expect("nest");
    }
    obj
}

async fn document_shape_is_bounded_for_the_whole_document(backend: Backend) {
    use automerge::transaction::Transactable;
    let server = TestServer::start(backend).await;
    let dev = server.raw_device(SAWAN, "87010001").await;
    let records = vec![
        shaped(&dev, |d| {
            nest(d, MAX_DEPTH + 1);
        }),
        shaped(&dev, |d| {
            nest(d, 20_000);
        }),
        shaped(&dev, |d| {
            let m = d
                .put_object(automerge::ROOT, "m", automerge::ObjType::Map)
                .expect("map");
            for i in 0..=MAX_MAP_KEYS {
                d.put(&m, format!("k{i}"), 1_u64).expect("put");
            }
        }),
        shaped(&dev, |d| {
            let l = d
                .put_object(automerge::ROOT, "l", automerge::ObjType::List)
                .expect("list");
            for i in 0..=MAX_LIST_LEN {
                d.insert(&l, i, 1_u64).expect("insert");
            }
        }),
        // Deep, then deleted: what is gone from view still weighs on every reader of history.
        shaped(&dev, |d| {
            nest(d, MAX_DEPTH + 3);
            d.delete(automerge::ROOT, "x").expect("delete");
        }),
    ];
    let (status, body) = push(&server, &dev, records).await;
    assert_eq!(status, 200, "{body}");
    for i in 0..5 {
        let (status, code, reason) = outcome(&body, i);
        assert_eq!(
            (status.as_str(), code.as_str()),
            ("rejected", "too_large"),
            "#{i}: {body}"
        );
        assert!(reason.contains("shape limit"), "{reason}");
    }

    // The limit holds for the document, not each change: a record that grows past the number
    // of operations by small edits is refused on the push that crosses it.
    let mut doc = dev.record_doc("Tumbuh");
    let (_, first) = push(&server, &dev, vec![push_entry(&mut doc)]).await;
    assert_eq!(outcome(&first, 0).0, "accepted", "{first}");
    let mut refused = None;
    for round in 0..30_u64 {
        let heads = doc.heads();
        for i in 0..1_000_u64 {
            doc.automerge()
                .put(
                    automerge::ROOT,
                    format!("pad{}", i % 100),
                    round * 1_000 + i,
                )
                .expect("put");
        }
        commit_now(doc.automerge());
        let id = doc.read().expect("record").id;
        let changes = changes_b64(&mut doc, &heads);
        let (_, body) = push(
            &server,
            &dev,
            vec![json!({"id": id.to_string(), "changes": changes})],
        )
        .await;
        if outcome(&body, 0).0 == "rejected" {
            refused = Some((round, body));
            break;
        }
    }
    let (round, body) = refused.expect("the record grew without bound");
    assert_eq!(outcome(&body, 0).1, "too_large", "{body}");
    assert!(outcome(&body, 0).2.contains("operations"), "{body}");
    assert!((18..=21).contains(&round), "refused at round {round}");
    server.finish().await;
}

/// Resident memory of this process (the server runs in it), in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn the_worst_accepted_document_is_read_in_bounded_memory(backend: Backend) {
    use automerge::transaction::Transactable;
    let server = TestServer::start(backend).await;
    let dev = server.raw_device(SAWAN, "87010001").await;
    // At every limit at once: the deepest nesting with the widest map at its bottom, the
    // longest list, and history filled with small changes to near the operation and change
    // limits.
    let mut doc = dev.record_doc("Terburuk");
    {
        let d = doc.automerge();
        let bottom = nest(d, MAX_DEPTH);
        for i in 0..MAX_MAP_KEYS {
            d.put(&bottom, format!("k{i}"), i as u64).expect("put");
        }
        let l = d
            .put_object(automerge::ROOT, "l", automerge::ObjType::List)
            .expect("list");
        for i in 0..MAX_LIST_LEN {
            d.insert(&l, i, i as u64).expect("insert");
        }
        commit_now(d);
        for c in 0..1_900_u64 {
            for k in 0..7_u64 {
                d.put(&bottom, format!("k{k}"), c * 10 + k).expect("put");
            }
            commit_now(d);
        }
    }
    let id = doc.read().expect("record").id;
    let (status, body) = push(&server, &dev, vec![push_entry(&mut doc)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        outcome(&body, 0).0,
        "accepted",
        "the document is within every limit: {body}"
    );

    let reviewer = server.hq_token("bali/buleleng", "Kasat", "reviewer").await;
    let before = rss_kib();
    for token in [&dev.token, &reviewer, &dev.token] {
        let (status, view) = get(&server, token, &format!("/records/{id}")).await;
        assert_eq!(status, 200, "{view}");
        assert!(view["history"].as_array().map_or(0, Vec::len) > 1_900);
    }
    let (status, page) = get(&server, &dev.token, "/sync/pull?since=0").await;
    assert_eq!(status, 200, "{page}");
    let (status, _) = get(&server, &reviewer, "/records?unit=bali/buleleng").await;
    assert_eq!(status, 200);
    let grown_mib = rss_kib().saturating_sub(before) / 1024;
    println!("reading the worst accepted document grew RSS by {grown_mib} MiB");
    assert!(grown_mib < 200, "reading one record took {grown_mib} MiB");
    server.finish().await;
}
