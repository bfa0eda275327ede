//! The two-level review workflow end to end on both stores, over real HTTP with real devices:
//! the Polsek curates (operator retags and marks ready, Kapolsek forwards), the Polres gives its
//! verdict with a reason, the officer sees it on the next sync (device API and the real `bukti`
//! binary), revises offline, and the record is verified; an edit after that is named with its
//! fields. Then every refusal (role, scope, state, reason, forged review fields) and a verdict
//! racing an officer's edit.

mod refusals;

use bukti_core::{RecordDoc, record::Verdict};
use bukti_tests::{Backend, Hq, TestServer, both_stores, changes_b64, visit};
use serde_json::{Value, json};

const SAWAN: &str = "bali/buleleng/sawan";
const GEROKGAK: &str = "bali/buleleng/gerokgak";
const POLRES: &str = "bali/buleleng";

/// `bukti show <id>` (text) from the real binary, on the device store in `home`.
fn bukti_show(home: &std::path::Path, id: &str) -> String {
    let out = crate::bins::bukti()
        .arg("--home")
        .arg(home)
        .args(["--quiet", "show", id])
        .output()
        .expect("run bukti");
    assert!(
        out.status.success(),
        "bukti show: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ids(page: &Value) -> Vec<&str> {
    page["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect()
}

/// The ids in one state's queue, as the caller sees it.
async fn queue(hq: &Hq, state: &str) -> Vec<String> {
    let (status, page) = hq.get(&format!("/records?state={state}")).await;
    assert_eq!(status, 200, "{page}");
    ids(&page).into_iter().map(str::to_owned).collect()
}

async fn step(hq: &Hq, id: &str, what: &str, body: Value) -> Value {
    let (status, answer) = hq.post(&format!("/records/{id}/{what}"), &body).await;
    assert_eq!(status, 200, "{what} {body}: {answer}");
    answer
}

async fn the_two_level_review_reaches_the_officer_and_back(backend: Backend) {
    let mut server = TestServer::start(backend).await;
    let putu = server.device(SAWAN, "87010123").await;
    let id = putu
        .device
        .capture(visit("Sambang Desa Sudaji".into()))
        .await
        .expect("capture");
    putu.sync().await;
    let id = id.to_string();
    let operator = server.hq(&server.hq_token(SAWAN, "Bripka Sari", "operator").await);
    let kapolsek = server.hq(&server.hq_token(SAWAN, "Kapolsek Sawan", "approver").await);
    let kasat = server.hq(&server.hq_token(POLRES, "Kasat Binmas", "reviewer").await);

    // The Polsek: the operator retags and marks ready, the Kapolsek forwards.
    assert_eq!(queue(&operator, "captured").await, [id.as_str()]);
    let curated = step(
        &operator,
        &id,
        "curate",
        json!({"lke": ["MP.R3", "PW.P3"], "ready": true}),
    )
    .await;
    assert_eq!(curated["workflow"]["state"], "ready", "{curated}");
    assert_eq!(curated["lke"], json!(["MP.R3", "PW.P3"]));
    assert_eq!(curated["review"]["ready_by"], "Bripka Sari");
    assert_eq!(queue(&kapolsek, "ready").await, [id.as_str()]);
    let forwarded = step(&kapolsek, &id, "forward", json!({})).await;
    assert_eq!(forwarded["workflow"]["state"], "forwarded");

    // The Polres: its queue, then needs revision with a reason, and a comment.
    assert_eq!(queue(&kasat, "forwarded").await, [id.as_str()]);
    assert!(queue(&kasat, "ready").await.is_empty());
    let judged = step(
        &kasat,
        &id,
        "review",
        json!({"verdict": "needs_revision", "reason": "Lengkapi daftar hadir"}),
    )
    .await;
    assert_eq!(judged["workflow"]["state"], "needs_revision");
    step(
        &kasat,
        &id,
        "review",
        json!({"comment": "Foto peserta kurang jelas"}),
    )
    .await;

    // The officer's next sync brings it all.
    let report = putu.sync().await;
    assert_eq!(report.merged, 1, "{report:?}");
    let local = putu
        .device
        .record(id.parse().expect("id"))
        .await
        .expect("read")
        .expect("held");
    assert_eq!(local.review.verdict, Some(Verdict::NeedsRevision));
    assert_eq!(
        local.review.verdict_reason.as_deref(),
        Some("Lengkapi daftar hadir")
    );
    assert_eq!(local.review.ready_by.as_deref(), Some("Bripka Sari"));
    assert_eq!(local.review.forwarded_by.as_deref(), Some("Kapolsek Sawan"));
    assert_eq!(local.review.comments[0].text, "Foto peserta kurang jelas");
    assert!(local.lke.contains("PW.P3"), "the retag arrived");
    let listed = &putu.device.list().await.expect("list")[0];
    assert_eq!(
        (listed.state.as_str(), listed.verdict.as_deref()),
        ("needs_revision", Some("needs_revision"))
    );
    let shown = bukti_show(&putu.home_path(), &id);
    for expected in [
        "State           needs revision (edit the record, then sync)",
        "Ready           by Bripka Sari at ",
        "Forwarded       by Kapolsek Sawan at ",
        "Verdict         needs_revision by Kasat Binmas at ",
        "Reason          Lengkapi daftar hadir",
        "Kasat Binmas: Foto peserta kurang jelas",
        " WITA",
    ] {
        assert!(shown.contains(expected), "{expected:?} in\n{shown}");
    }

    // The officer revises offline; the device already knows it is revised.
    server.stop().await;
    let record_id = id.parse().expect("id");
    putu.device
        .edit(record_id, |r| {
            r.counts.participants = Some(31);
            r.narrative = "Daftar hadir dilampirkan".into();
        })
        .await
        .expect("revise offline");
    assert_eq!(putu.device.list().await.expect("list")[0].state, "revised");
    server.restart().await;
    let report = putu.sync().await;
    assert_eq!(report.pushed, 1, "the revision is accepted: {report:?}");
    let kasat = server.hq(&kasat.token);
    assert_eq!(queue(&kasat, "revised").await, [id.as_str()]);
    let (_, view) = kasat.get(&format!("/records/{id}")).await;
    assert_eq!(
        view["workflow"]["edited_after_verdict"],
        json!(["counts.participants", "narrative"]),
        "{view}"
    );

    // Verified; then the officer edits again, and the record says so with what changed.
    let verified = step(&kasat, &id, "review", json!({"verdict": "verified"})).await;
    assert_eq!(verified["workflow"]["state"], "verified");
    assert_eq!(verified["workflow"]["edited_after_verdict"], json!([]));
    assert_eq!(verified["review"]["verdict"], "valid");
    assert!(verified["review"]["verdict_reason"].is_null());
    putu.sync().await;
    putu.device
        .edit(record_id, |r| r.place = "Balai Banjar Dinas".into())
        .await
        .expect("edit after verification");
    putu.sync().await;
    let (status, view) = kasat.get(&format!("/records/{id}")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["workflow"]["state"], "verified");
    assert_eq!(view["workflow"]["edited_after_verdict"], json!(["place"]));
    assert_eq!(view["summary"]["state"], "verified");
    let authors: Vec<&str> = view["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["author"].as_str())
        .collect();
    for who in [
        "officer:87010123",
        "operator:Bripka Sari",
        "approver:Kapolsek Sawan",
        "reviewer:Kasat Binmas",
    ] {
        assert!(authors.contains(&who), "{who} in {authors:?}");
    }
    let shown = bukti_show(&putu.home_path(), &id);
    assert!(shown.contains("State           verified"), "{shown}");
    assert!(shown.contains("After verdict   edited: place"), "{shown}");

    // Every step is in the audit log, filed under the record's unit.
    let (_, audit) = server.hq(&server.admin_token).get("/audit?limit=100").await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["subject"] == format!("record:{id}").as_str())
        .filter_map(|e| e["action"].as_str())
        .filter(|a| *a != "record_viewed")
        .collect();
    assert_eq!(
        actions,
        ["verdict", "comment", "verdict", "forward", "curate"],
        "newest first"
    );
    server.finish().await;
}

async fn a_verdict_and_an_officer_edit_at_the_same_time_both_survive(backend: Backend) {
    let server = TestServer::start(backend).await;
    let putu = server.device(SAWAN, "87010123").await;
    let record = putu
        .device
        .capture(visit("Sambang".into()))
        .await
        .expect("capture");
    putu.sync().await;
    server.forward(record).await;
    putu.sync().await;
    let kasat = server.hq(&server.hq_token(POLRES, "Kasat", "reviewer").await);
    let id = record.to_string();

    // The officer edits a copy that has not seen the verdict; the verdict is given on a copy
    // that has not seen the edit.
    putu.device
        .edit(record, |r| r.counts.people_served = Some(40))
        .await
        .expect("edit");
    step(&kasat, &id, "review", json!({"verdict": "verified"})).await;
    let report = putu.sync().await;
    assert!(report.rejected.is_empty(), "{report:?}");
    let (_, view) = kasat.get(&format!("/records/{id}")).await;
    assert_eq!(view["record"]["review"]["verdict"], "valid", "{view}");
    assert_eq!(view["record"]["counts"]["people_served"], 40);
    assert_eq!(view["workflow"]["state"], "verified");
    assert_eq!(
        view["workflow"]["edited_after_verdict"],
        json!(["counts.people_served"]),
        "the reviewer never saw the edit"
    );

    // Truly at once: a second verdict and a second edit racing over HTTP both land.
    putu.device
        .edit(record, |r| r.narrative = "Ditambah keterangan".into())
        .await
        .expect("edit");
    let review = json!({"verdict": "rejected", "reason": "Foto tidak sesuai"});
    let path = format!("/records/{id}/review");
    let (verdict, report) = tokio::join!(kasat.post(&path, &review), putu.sync());
    assert_eq!(verdict.0, 200, "{}", verdict.1);
    assert!(report.rejected.is_empty(), "{report:?}");
    putu.sync().await;
    let (_, view) = kasat.get(&format!("/records/{id}")).await;
    assert_eq!(view["record"]["review"]["verdict"], "rejected");
    assert_eq!(view["record"]["narrative"], "Ditambah keterangan");
    assert_eq!(view["workflow"]["state"], "rejected");
    let local = putu
        .device
        .record(record)
        .await
        .expect("read")
        .expect("held");
    assert_eq!(local.review.verdict, Some(Verdict::Rejected));
    assert_eq!(local.narrative, "Ditambah keterangan");
    let mut heads: Vec<String> = putu
        .device
        .heads(record)
        .await
        .expect("heads")
        .expect("held")
        .iter()
        .map(ToString::to_string)
        .collect();
    heads.sort();
    let mut server_heads: Vec<String> =
        serde_json::from_value(view["heads"].clone()).expect("heads");
    server_heads.sort();
    assert_eq!(
        heads, server_heads,
        "device and server hold the same history"
    );
    server.finish().await;
}

both_stores!(
    the_two_level_review_reaches_the_officer_and_back,
    a_verdict_and_an_officer_edit_at_the_same_time_both_survive,
);
