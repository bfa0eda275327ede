//! Verifiable evidence (`docs/evidence.md`): signed pushes, receipts, the evidence log with its
//! signed head, and `bukti-server verify` naming each kind of tampering, on both stores.

use bukti_core::{
    RecordDoc,
    evidence::{log::SignedHead, receipt::Receipt},
};
use bukti_tests::{
    Backend, RawDevice, TestServer, both_stores, changes_b64, patrol, push_entry,
    signing::{self, DeviceKey},
};
use serde_json::{Value, json};

both_stores!(
    a_signed_push_is_receipted_logged_and_its_head_signed,
    a_device_keeps_receipts_and_catches_a_cut_or_rewritten_log,
    unsigned_forged_and_misdirected_pushes_are_refused_whole,
    verify_names_each_kind_of_tampering,
);

const SAWAN: &str = "bali/buleleng/sawan";

async fn server_key(server: &TestServer) -> String {
    let (status, body) = server.hq("").get("/evidence/key").await;
    assert_eq!(status, 200, "{body}");
    body["server_key"].as_str().expect("server_key").to_owned()
}

/// A push body of `doc`'s changes since `heads`.
fn body_of(doc: &mut RecordDoc, heads: &[automerge::ChangeHash]) -> Value {
    let id = doc.read().expect("record").id;
    json!({"records": [{"id": id.to_string(), "changes": changes_b64(doc, heads)}]})
}

/// `body` signed by `device`'s key, as sent once and replayed after.
async fn signed(server: &TestServer, device: &RawDevice, body: &Value) -> Value {
    let http = reqwest::Client::new();
    signing::signed_for(
        &http,
        &format!("{}/api/v1", server.url),
        &device.token,
        body,
    )
    .await
}

async fn a_signed_push_is_receipted_logged_and_its_head_signed(backend: Backend) {
    let server = TestServer::start(backend).await;
    let key = server_key(&server).await;
    let dev = server.raw_device(SAWAN, "80000001").await;
    let mut doc = dev.record_doc("Sambang Desa Sudaji");
    let first = signed(&server, &dev, &json!({"records": [push_entry(&mut doc)]})).await;

    let (status, answer) = server.device_post(&dev.token, "/sync/push", &first).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["results"][0]["status"], "accepted", "{answer}");
    let receipt: Receipt = serde_json::from_value(answer["receipt"].clone()).expect("a receipt");
    receipt
        .verify(&key)
        .expect("the receipt checks out under the server key");
    assert_eq!(receipt.device, dev.actor.to_hex_string());
    assert_eq!(receipt.log.seq, 1);
    let heads: Vec<String> =
        serde_json::from_value(answer["results"][0]["heads"].clone()).expect("heads");
    assert_eq!(receipt.records[0].heads, heads);
    let stranger = hex::encode(
        ed25519_dalek::SigningKey::from_bytes(&[9; 32])
            .verifying_key()
            .to_bytes(),
    );
    assert!(
        receipt.verify(&stranger).is_err(),
        "a receipt from another server is refused"
    );

    // Sent again as it was: harmless, and nothing new enters the log.
    let (_, again) = server.device_post(&dev.token, "/sync/push", &first).await;
    assert_eq!(again["results"][0]["status"], "accepted", "{again}");
    assert_eq!(again["results"][0]["changed"], false, "{again}");
    assert_eq!(again["receipt"]["log"]["seq"], 1, "{again}");

    // An edit is a second entry; HQ's two steps (ready, forward) are two more.
    let before = doc.heads();
    doc.edit("officer:80000001", |r| {
        r.title = "Sambang Desa Sudaji (revisi)".into();
    })
    .expect("edit");
    let (_, edited) = server
        .device_post(&dev.token, "/sync/push", &body_of(&mut doc, &before))
        .await;
    assert_eq!(edited["receipt"]["log"]["seq"], 2, "{edited}");
    let id = doc.read().expect("record").id;
    server.forward(id).await;

    let (status, page) = server.hq(&dev.token).get("/sync/pull?since=0").await;
    assert_eq!(status, 200, "{page}");
    let head: SignedHead = serde_json::from_value(page["log_head"].clone()).expect("a signed head");
    head.verify().expect("the head's signature checks out");
    assert_eq!(head.server_key, key);
    assert_eq!(head.seq, 4, "two pushes and two review steps");
    let (status, entry) = server.hq(&dev.token).get("/evidence/log/4").await;
    assert_eq!(status, 200, "{entry}");
    assert_eq!(entry["hash"], head.hash);
    assert_eq!(server.hq(&dev.token).get("/evidence/log/5").await.0, 404);
    assert_eq!(server.hq(&dev.token).get("/evidence/log/0").await.0, 400);

    let report = bukti_server::ops::verify::verify(&server.store)
        .await
        .expect("verify");
    assert_eq!(report.mismatch, None, "{report:?}");
    assert_eq!(
        (report.log_entries, report.signed_pushes, report.records),
        (4, 2, 1)
    );
    // The log stays append-only through its migrations (SQLite's copies the table).
    for sql in [
        "update evidence_log set at_ms = at_ms + 1 where seq = 1",
        "delete from evidence_log where seq = 4",
    ] {
        let refused = server.execute_sql(sql).await.expect_err("refused");
        assert!(refused.contains("append-only"), "{refused}");
    }
    server.finish().await;
}

async fn unsigned_forged_and_misdirected_pushes_are_refused_whole(backend: Backend) {
    let server = TestServer::start(backend).await;
    let key = server_key(&server).await;
    let dev = server.raw_device(SAWAN, "80000001").await;
    let other = server.raw_device(SAWAN, "80000002").await;
    let mut doc = dev.record_doc("Patroli malam");
    let mut decoy = dev.record_doc("Patroli pagi");
    let body = json!({"records": [push_entry(&mut doc)]});
    let good = signed(&server, &dev, &body).await;

    let mut unsigned = body.clone();
    unsigned["signature"] = Value::Null;
    let mut later = good.clone();
    later["signature"]["time_ms"] = json!(good["signature"]["time_ms"].as_i64().expect("time") + 1);
    let mut swapped = good.clone();
    swapped["records"] = json!([push_entry(&mut decoy)]);
    let stranger = hex::encode(
        ed25519_dalek::SigningKey::from_bytes(&[9; 32])
            .verifying_key()
            .to_bytes(),
    );
    let device = signing::key_of(&dev.token).expect("registered");
    let mut elsewhere = body.clone();
    elsewhere["signature"] =
        serde_json::to_value(signing::sign(&body, &device, &stranger, 1_780_000_000_000))
            .expect("json");
    let mut impostor_key = body.clone();
    let impostor = DeviceKey {
        key: ed25519_dalek::SigningKey::from_bytes(&[7; 32]),
        actor: device.actor.clone(),
    };
    impostor_key["signature"] =
        serde_json::to_value(signing::sign(&body, &impostor, &key, 1_780_000_000_000))
            .expect("json");

    for (case, token, push, code) in [
        ("unsigned", &dev.token, &unsigned, "push_unsigned"),
        (
            "time altered after signing",
            &dev.token,
            &later,
            "push_bad_signature",
        ),
        (
            "records swapped after signing",
            &dev.token,
            &swapped,
            "push_bad_signature",
        ),
        (
            "signed for another server",
            &dev.token,
            &elsewhere,
            "push_other_server",
        ),
        (
            "signed with another key",
            &dev.token,
            &impostor_key,
            "push_bad_signature",
        ),
        (
            "another device's batch",
            &other.token,
            &good,
            "push_bad_signature",
        ),
    ] {
        let (status, answer) = server.device_post(token, "/sync/push", push).await;
        assert_eq!(status, 400, "{case}: {answer}");
        assert_eq!(answer["code"], code, "{case}: {answer}");
        assert!(
            answer["message"].as_str().is_some_and(|m| m.len() > 20),
            "{case}: {answer}"
        );
    }
    let admin = server.hq(&server.admin_token);
    for d in [&mut doc, &mut decoy] {
        let id = d.read().expect("record").id;
        assert_eq!(
            admin.get(&format!("/records/{id}")).await.0,
            404,
            "nothing was stored"
        );
    }
    let report = bukti_server::ops::verify::verify(&server.store)
        .await
        .expect("verify");
    assert_eq!((report.log_entries, report.records), (0, 0), "{report:?}");

    // The genuine batch still goes through afterwards.
    let (status, answer) = server.device_post(&dev.token, "/sync/push", &good).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["results"][0]["status"], "accepted", "{answer}");
    server.finish().await;
}

/// A store with one record pushed and then edited (two entries), the document as first pushed,
/// and one with a change the server never received.
async fn two_entries(server: &TestServer) -> (RecordDoc, Vec<u8>, Vec<u8>) {
    let dev = server.raw_device(SAWAN, "80000001").await;
    let mut doc = dev.record_doc("Penyuluhan narkoba");
    let (_, a) = server
        .device_post(
            &dev.token,
            "/sync/push",
            &json!({"records": [push_entry(&mut doc)]}),
        )
        .await;
    assert_eq!(a["results"][0]["status"], "accepted", "{a}");
    let first = doc.save();
    let before = doc.heads();
    doc.edit("officer:80000001", |r| r.place = "SD Negeri 1 Sawan".into())
        .expect("edit");
    let (_, b) = server
        .device_post(&dev.token, "/sync/push", &body_of(&mut doc, &before))
        .await;
    assert_eq!(b["results"][0]["status"], "accepted", "{b}");
    let mut extra = RecordDoc::load(&doc.save(), dev.actor.clone()).expect("load");
    extra
        .edit("officer:80000001", |r| {
            r.narrative = "Ditambah diam-diam".into();
        })
        .expect("edit");
    let unreceived = extra.save();
    (doc, first, unreceived)
}

fn blob(backend: Backend, bytes: &[u8]) -> String {
    match backend {
        Backend::Sqlite => format!("X'{}'", hex::encode(bytes)),
        Backend::Postgres => format!("decode('{}', 'hex')", hex::encode(bytes)),
    }
}

/// Drops the append-only triggers, as someone with database access would before editing.
fn untrigger(backend: Backend, table: &str) -> String {
    match backend {
        Backend::Sqlite => {
            format!("drop trigger {table}_no_update; drop trigger {table}_no_delete;")
        }
        Backend::Postgres => format!("alter table {table} disable trigger user;"),
    }
}

/// The SQL that tampers with a store: given the backend, the document as first pushed, one with
/// a change the server never received, and the record id.
type Tamper = fn(Backend, &[u8], &[u8], &str) -> String;

async fn verify_names_each_kind_of_tampering(backend: Backend) {
    let cases: [(&str, Tamper, &str); 7] = [
        (
            "an edited log entry",
            |b, _, _, _| {
                format!(
                    "{} update evidence_log set at_ms = at_ms + 1 where seq = 1;",
                    untrigger(b, "evidence_log")
                )
            },
            "evidence-log entry 1 was edited after it was written",
        ),
        (
            "a removed last entry",
            |b, _, _, _| {
                format!(
                    "{} delete from evidence_log where seq = 2;",
                    untrigger(b, "evidence_log")
                )
            },
            "which no evidence-log entry records",
        ),
        (
            "a change written behind the server's back",
            |b, _, extra, id| {
                format!(
                    "update record_doc set doc = {} where record_id = '{id}';",
                    blob(b, extra)
                )
            },
            "which no evidence-log entry records",
        ),
        (
            "a document rolled back",
            |b, first, _, id| {
                format!(
                    "update record_doc set doc = {} where record_id = '{id}';",
                    blob(b, first)
                )
            },
            "which the document lacks",
        ),
        (
            "an edited projection row",
            |_, _, _, id| format!("update record set title = 'Palsu' where record_id = '{id}';"),
            "the projection's title is \"Palsu\"",
        ),
        (
            "an altered signed push",
            |b, _, _, _| {
                format!(
                    "{} update signed_push set message = replace(message, 'time ', 'time 9');",
                    untrigger(b, "signed_push")
                )
            },
            "was altered",
        ),
        (
            "a forged push signature",
            |b, _, _, _| {
                format!(
                    "{} update signed_push set signature = '{}';",
                    untrigger(b, "signed_push"),
                    "00".repeat(64)
                )
            },
            "does not check out under any key",
        ),
    ];
    for (case, tamper, expected) in cases {
        let server = TestServer::start(backend).await;
        let (doc, first, extra) = two_entries(&server).await;
        let id = doc.read().expect("record").id.to_string();
        let clean = bukti_server::ops::verify::verify(&server.store)
            .await
            .expect("verify");
        assert_eq!(clean.mismatch, None, "{case}: before tampering: {clean:?}");
        server
            .execute_sql(&tamper(backend, &first, &extra, &id))
            .await
            .unwrap_or_else(|e| panic!("{case}: tamper: {e}"));
        let report = bukti_server::ops::verify::verify(&server.store)
            .await
            .expect("verify");
        let found = report.mismatch.clone().unwrap_or_default();
        assert!(
            found.contains(expected),
            "{case}: expected {expected:?}, got {report:?}"
        );
        if case == "an edited projection row" {
            // The operator's command says the same and fails.
            let out = crate::bins::server_command(&server)
                .arg("verify")
                .output()
                .expect("bukti-server verify");
            assert!(!out.status.success(), "{case}: verify must exit non-zero");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains("the evidence does not match"), "{stderr}");
            assert!(stderr.contains("Palsu"), "{stderr}");
        }
        server.finish().await;
    }
}

async fn a_device_keeps_receipts_and_catches_a_cut_or_rewritten_log(backend: Backend) {
    let server = TestServer::start(backend).await;
    let phone = server.device(SAWAN, "80000001").await;
    let id = phone
        .device
        .capture(patrol("Patroli pasar"))
        .await
        .expect("capture");
    assert_eq!(phone.device.receipt(id).await.expect("receipt"), None);
    let report = phone.sync().await;
    assert!(report.evidence_problems.is_empty(), "{report:?}");
    let receipt = phone
        .device
        .receipt(id)
        .await
        .expect("receipt")
        .expect("a receipt");
    assert!(receipt.covers_local, "{receipt:?}");
    assert_eq!(receipt.server_key, server_key(&server).await);

    // An edit not yet synced: the receipt is for an earlier version, until the next sync.
    let edit = |r: &mut bukti_core::Record| r.place = "Pasar Anyar".into();
    phone.device.edit(id, edit).await.expect("edit");
    assert!(!covered(&phone, id).await);
    phone.sync().await;
    assert!(covered(&phone, id).await);

    // Someone with database access cuts the log's last entry: the phone saw it, and says so.
    let cut = format!(
        "{} delete from evidence_log where seq = 2;",
        untrigger(backend, "evidence_log")
    );
    server.execute_sql(&cut).await.expect("cut the log");
    assert_reported(&phone.sync().await, "entries were removed");
    // The log grows past where it was cut, but entry 2 is not the one the phone saw.
    phone
        .device
        .capture(patrol("Patroli malam"))
        .await
        .expect("capture");
    assert_reported(&phone.sync().await, "rewritten");
    server.finish().await;
}

async fn covered(phone: &bukti_tests::TestDevice, id: bukti_core::RecordId) -> bool {
    let receipt = phone.device.receipt(id).await.expect("receipt");
    receipt.expect("a receipt").covers_local
}

fn assert_reported(report: &bukti_core::device::SyncReport, what: &str) {
    let found = report.evidence_problems.iter().any(|p| p.contains(what));
    assert!(found, "expected a problem saying {what:?}: {report:?}");
}
