//! The protocol as a contract, from the outside: a client written with the reference JavaScript
//! Automerge library (`tests/js/client.mjs`, following only `docs/protocol.md`) enrolls, captures
//! a record, edits it concurrently with a Rust device, receives HQ's verdict after a pull,
//! revises it, and is refused, with the documented code and a reason that says what to fix, for
//! each rule of the contract. Also: the schema and catalogue endpoints, and the contract's
//! refusals over raw Rust pushes (so they are checked where Node is missing too).
//!
//! Needs `node` and `npm ci --prefix tests/js`; without them the JavaScript test prints
//! `SKIPPED`, unless `BUKTI_REQUIRE_NODE=1` (CI sets it), which makes it fail instead.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use automerge::{ObjType, ROOT, transaction::Transactable};
use base64::{Engine, engine::general_purpose::STANDARD};
use bukti_core::{RecordDoc, ingest};
use bukti_tests::{Backend, TestServer, both_stores, changes_b64, push_entry, sample_record};
use serde_json::{Value, json};

both_stores!(
    a_javascript_client_keeps_the_contract,
    the_contract_is_served_without_credentials,
    raw_pushes_that_break_the_contract_are_refused,
);

const SAWAN: &str = "bali/buleleng/sawan";

fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("js")
}

/// Whether the JavaScript client can run; panics when it must but cannot.
fn node_available() -> bool {
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let library = js_dir().join("node_modules/@automerge/automerge/package.json");
    let ok = node && library.exists();
    if !ok {
        assert!(
            std::env::var("BUKTI_REQUIRE_NODE").as_deref() != Ok("1"),
            "node or @automerge/automerge is missing and BUKTI_REQUIRE_NODE=1 \
             (install Node 20 and run npm ci --prefix tests/js)"
        );
        eprintln!("SKIPPED: node or tests/js/node_modules is missing (npm ci --prefix tests/js)");
    }
    ok
}

/// One step of the JavaScript client; its one line of JSON output.
async fn js(state: &Path, args: &[&str]) -> Value {
    let mut cmd = Command::new("node");
    cmd.arg(js_dir().join("client.mjs")).arg(state).args(args);
    let what = args.join(" ");
    let output = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "node client.mjs {what}: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{what}: {e}: {stdout}"))
}

/// The record `id` from a device's pull feed, as a Rust document written by `actor`.
async fn pull_doc(
    server: &TestServer,
    token: &str,
    id: &str,
    actor: &automerge::ActorId,
) -> RecordDoc {
    let (status, page) = server.hq(token).get("/sync/pull?since=0&limit=1000").await;
    assert_eq!(status, 200, "{page}");
    let rec = page["records"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["id"] == id))
        .unwrap_or_else(|| panic!("{id} not in the feed: {page}"));
    let bytes = STANDARD
        .decode(rec["doc"].as_str().expect("doc"))
        .expect("base64");
    let doc = ingest::load_document(&bytes).expect("load");
    RecordDoc::from_automerge(doc.with_actor(actor.clone()))
}

async fn a_javascript_client_keeps_the_contract(backend: Backend) {
    if !node_available() {
        return;
    }
    let server = TestServer::start(backend).await;
    let folder = tempfile::tempdir().expect("state folder");
    let state = folder.path().join("js-device.json");

    // 1. Enrollment, signed by the JS client per the contract.
    let code = server.enrollment_code(SAWAN, "87010001").await;
    let enrolled = js(&state, &["enroll", &server.url, &code]).await;
    assert_eq!(enrolled["status"], 201, "{enrolled}");
    assert_eq!(enrolled["unit"], SAWAN);

    // 2. A record made with @automerge/automerge, pushed as raw change chunks.
    let created = js(&state, &["create"]).await;
    assert_eq!(created["result"]["status"], "accepted", "{created}");
    // Signed per docs/evidence.md from JavaScript; the receipt checks out there with the key
    // the enrollment pinned.
    assert_eq!(created["result"]["receipt_verified"], true, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    let admin = server.hq(&server.admin_token);
    let (status, view) = admin.get(&format!("/records/{id}")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["record"]["title"], "Sambang Desa Sudaji (JS)");
    assert_eq!(view["record"]["counts"]["people_served"], 25);
    assert_eq!(view["record"]["lke"], json!(["MP.R3"]));
    let history = view["history"].as_array().expect("history");
    assert_eq!(history[0]["author"], "officer:87010001", "{view}");

    // 3. A colleague's Rust device and the JS client edit at the same time, both into the
    //    services map the JS client's first change created.
    let ketut = server.raw_device(SAWAN, "87010002").await;
    let mut rust_doc = pull_doc(&server, &ketut.token, &id, &ketut.actor).await;
    let heads = rust_doc.heads();
    rust_doc
        .edit("officer:87010002", |r| {
            r.counts.services.insert("sim-c".into(), 4);
            r.counts.participants = Some(12);
        })
        .expect("edit");
    let (_, body) = server
        .device_post(
            &ketut.token,
            "/sync/push",
            &json!({"records": [{"id": id, "changes": changes_b64(&mut rust_doc, &heads)}]}),
        )
        .await;
    assert_eq!(body["results"][0]["status"], "accepted", "{body}");
    let edited = js(
        &state,
        &[
            "edit",
            r#"{"narrative": "Warga 25 orang, 3 SIM A", "services": {"sim-a": 3}}"#,
        ],
    )
    .await;
    assert!(edited["heads"].is_array(), "{edited}");
    let pushed = js(&state, &["push"]).await;
    assert_eq!(pushed["result"]["status"], "accepted", "{pushed}");
    assert_eq!(pushed["sent"], 1, "only the new change: {pushed}");

    let (_, view) = admin.get(&format!("/records/{id}")).await;
    let record = &view["record"];
    assert_eq!(
        record["counts"]["services"],
        json!({"skck": 1, "sim-a": 3, "sim-c": 4}),
        "both sides' services survive: {view}"
    );
    assert_eq!(record["counts"]["participants"], 12);
    assert_eq!(record["narrative"], "Warga 25 orang, 3 SIM A");
    // The Rust device merges the JS client's edit into its own copy.
    let mut merged = pull_doc(&server, &ketut.token, &id, &ketut.actor).await;
    let theirs = merged.save();
    ingest::merge_document(rust_doc.automerge(), &theirs).expect("merge");
    let r = rust_doc.read().expect("record");
    assert_eq!(r.counts.services.len(), 3, "{r:?}");
    assert_eq!(r.narrative, "Warga 25 orang, 3 SIM A");

    // 4. HQ takes it through the review: the Polsek curates and forwards, the Polres asks for
    //    a revision with a reason.
    let operator = server.hq_token(SAWAN, "Bripka Sari", "operator").await;
    let approver = server.hq_token(SAWAN, "Kapolsek Sawan", "approver").await;
    let reviewer = server
        .hq_token("bali/buleleng", "Kasat Binmas", "reviewer")
        .await;
    let reason = "Lengkapi daftar hadir";
    for (token, step, body) in [
        (&operator, "curate", json!({"ready": true})),
        (&approver, "forward", json!({})),
        (
            &reviewer,
            "review",
            json!({"verdict": "needs_revision", "reason": reason}),
        ),
    ] {
        let (status, answer) = server
            .hq(token)
            .post(&format!("/records/{id}/{step}"), &body)
            .await;
        assert_eq!(status, 200, "{step}: {answer}");
    }

    // 5. The JS client pulls and reads the verdict, with the colleague's edit merged in.
    let pulled = js(&state, &["pull"]).await;
    let record = &pulled["record"];
    assert_eq!(record["review"]["verdict"], "needs_revision", "{pulled}");
    assert_eq!(record["review"]["verdict_reason"], reason);
    assert_eq!(record["review"]["ready_by"], "Bripka Sari");
    assert_eq!(record["counts"]["services"]["sim-c"], 4, "{pulled}");
    assert_eq!(record["counts"]["participants"], 12);

    // 6. It revises; the record is back with the Polres as revised.
    let revised = js(&state, &["edit", r#"{"participants": 31}"#]).await;
    assert!(revised["heads"].is_array(), "{revised}");
    let pushed = js(&state, &["push"]).await;
    assert_eq!(pushed["result"]["status"], "accepted", "{pushed}");
    let (_, view) = admin.get(&format!("/records/{id}")).await;
    assert_eq!(view["workflow"]["state"], "revised", "{view}");
    assert_eq!(view["record"]["counts"]["participants"], 31);

    // 7. Each rule of the contract, broken once: the documented code and what to fix.
    let refused = js(&state, &["refusals"]).await;
    let cases = refused["cases"].as_array().expect("cases");
    let expected: [(&str, &str, &[&str]); 9] = [
        (
            "text_instead_of_string",
            "invalid",
            &["title", "Automerge Text", "ImmutableString"],
        ),
        (
            "missing_containers",
            "invalid",
            &["counts.services", "first change", "review"],
        ),
        (
            "uint_wrapper_in_literal",
            "invalid",
            &["counts.people_served", "found a map", "assign"],
        ),
        (
            "seconds_instead_of_ms",
            "invalid",
            &["changes[0].time", "seconds", "Date.now()"],
        ),
        ("timestamp_in_seconds", "invalid", &["captured_at", "2000"]),
        (
            "unknown_kind",
            "invalid",
            &["kind", "unknown activity kind"],
        ),
        ("another_unit", "out_of_scope", &["gerokgak"]),
        ("forged_review", "forbidden", &["review"]),
        (
            "replaced_container",
            "invalid",
            &["counts.services", "existing map"],
        ),
    ];
    assert_eq!(cases.len(), expected.len(), "{refused}");
    for (case, (name, code, words)) in cases.iter().zip(expected) {
        assert_eq!(case["case"], name, "{refused}");
        assert_eq!(
            (case["status"].as_str(), case["code"].as_str()),
            (Some("rejected"), Some(code)),
            "{name}: {case}"
        );
        let reason = case["reason"].as_str().unwrap_or_default();
        for word in words {
            assert!(reason.contains(word), "{name}: {word:?} not in {reason:?}");
        }
    }
    let (_, page) = admin.get("/records").await;
    assert_eq!(
        page["records"].as_array().map(Vec::len),
        Some(1),
        "no refused record was stored: {page}"
    );
    let (_, view) = admin.get(&format!("/records/{id}")).await;
    assert_eq!(
        view["record"]["counts"]["services"]["sim-c"], 4,
        "the refused container replacement changed nothing"
    );
    server.finish().await;
}

async fn the_contract_is_served_without_credentials(backend: Backend) {
    let server = TestServer::start(backend).await;
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{}/api/v1{path}", server.url)).send();
    let resp = get("/schema").await.expect("schema");
    let (status, schema) = bukti_tests::status_json(resp).await;
    assert_eq!(status, 200, "{schema}");
    assert_eq!(schema["properties"]["title"]["x-automerge"], "str");
    assert_eq!(
        schema["properties"]["captured_at"]["x-automerge"],
        "timestamp"
    );
    assert_eq!(
        schema["x-changes"]["first_change_creates"],
        json!(["counts", "counts.services", "lke", "photos", "review"])
    );
    assert!(
        schema["required"]
            .as_array()
            .is_some_and(|r| r.contains(&json!("officer")))
    );
    let resp = get("/catalogue").await.expect("catalogue");
    let (status, catalogue) = bukti_tests::status_json(resp).await;
    assert_eq!(status, 200, "{catalogue}");
    let has = |list: &str, code: &str| {
        catalogue[list]
            .as_array()
            .is_some_and(|l| l.iter().any(|e| e["code"] == code))
    };
    assert!(has("activity_kinds", "sambang") && has("service_types", "skck"));
    assert!(has("lke_areas", "MP"), "{catalogue}");
    assert!(
        catalogue["lke_areas"][0]["sub_indicators"][0]["code"].is_string(),
        "{catalogue}"
    );
    server.finish().await;
}

/// The same rules over raw pushes made with the Rust library.
async fn raw_pushes_that_break_the_contract_are_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let dev = server.raw_device(SAWAN, "87010001").await;
    let record = sample_record(SAWAN, &dev.officer, "Kontrak");
    let time_ms = jiff::Timestamp::now().as_millisecond();
    let commit = |doc: &mut automerge::AutoCommit, time: i64| {
        doc.commit_with(
            automerge::transaction::CommitOptions::default()
                .with_message("officer:87010001")
                .with_time(time),
        );
    };

    // A first change without `photos` and `review` (a second change adds them).
    let mut first = automerge::AutoCommit::new().with_actor(dev.actor.clone());
    let first_id = record.id.to_string();
    for (key, value) in [
        ("id", first_id.as_str()),
        ("unit", SAWAN),
        ("officer", "87010001"),
        ("kind", "patroli"),
        ("title", "Tanpa wadah"),
        ("status", "draft"),
    ] {
        first.put(ROOT, key, value).expect("put");
    }
    first.put(ROOT, "schema", 1_u64).expect("put");
    first
        .put(
            ROOT,
            "captured_at",
            automerge::ScalarValue::Timestamp(time_ms),
        )
        .expect("put");
    let counts = first
        .put_object(ROOT, "counts", ObjType::Map)
        .expect("counts");
    first
        .put_object(&counts, "services", ObjType::Map)
        .expect("services");
    first.put_object(ROOT, "lke", ObjType::Map).expect("lke");
    commit(&mut first, time_ms);
    first
        .put_object(ROOT, "photos", ObjType::Map)
        .expect("photos");
    first
        .put_object(ROOT, "review", ObjType::Map)
        .expect("review");
    commit(&mut first, time_ms);

    // A second change timed in seconds.
    let mut seconds = dev.record_doc("Detik");
    seconds
        .automerge()
        .put(ROOT, "place", "Pos Polisi")
        .expect("put");
    commit(seconds.automerge(), time_ms / 1000);
    let seconds_entry = push_entry(&mut seconds);

    // A title stored as Text.
    let mut text = dev.record_doc("Teks");
    let text_id = text.read().expect("record").id.to_string();
    {
        let am = text.automerge();
        let t = am.put_object(ROOT, "title", ObjType::Text).expect("text");
        am.splice_text(&t, 0, 0, "Judul").expect("splice");
    }
    commit(text.automerge(), time_ms);

    let (status, body) = server
        .device_post(
            &dev.token,
            "/sync/push",
            &json!({"records": [
                {"id": first_id, "changes": first.get_changes(&[]).iter()
                    .map(|c| STANDARD.encode(c.raw_bytes())).collect::<Vec<_>>()},
                seconds_entry,
                {"id": text_id, "changes": changes_b64(&mut text, &[])},
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let expected: [(&str, &[&str]); 3] = [
        (
            "missing containers",
            &["photos: missing from the record's first change", "review:"],
        ),
        ("seconds", &["changes[1].time", "looks like seconds"]),
        (
            "text",
            &["title: stored as Automerge Text", "ImmutableString"],
        ),
    ];
    for (i, (what, words)) in expected.iter().enumerate() {
        let r = &body["results"][i];
        assert_eq!(
            (r["status"].as_str(), r["code"].as_str()),
            (Some("rejected"), Some("invalid")),
            "{what}: {body}"
        );
        let reason = r["reason"].as_str().unwrap_or_default();
        for word in *words {
            assert!(reason.contains(word), "{what}: {word:?} not in {reason:?}");
        }
    }
    server.finish().await;
}
