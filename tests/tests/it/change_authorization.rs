//! Authorization on the changes themselves: a device pushes only its own edits, in its own
//! officer's name, and never writes HQ's review; a refused record is untouched and the rest of
//! the batch lands.

use automerge::ActorId;
use bukti_core::{RecordDoc, record::Verdict};
use bukti_tests::{Backend, TestServer, both_stores, changes_b64, sample_record};
use serde_json::json;

async fn devices_may_change_only_what_is_theirs(backend: Backend) {
    let server = TestServer::start(backend).await;
    let made = server.raw_device("bali/buleleng/sawan", "87010001").await;
    let ketut = server.raw_device("bali/buleleng/sawan", "87010002").await;
    let author = "officer:87010001";

    // A record Made captured and pushed.
    let mut doc = RecordDoc::create(
        &sample_record(&made.unit, &made.officer, "Asli"),
        made.actor.clone(),
        author,
    );
    let id = doc.read().expect("record").id;
    let (status, body) = server
        .device_post(
            &made.token,
            "/sync/push",
            &json!({"records": [{"id": id.to_string(), "changes": changes_b64(&mut doc, &[])}]}),
        )
        .await;
    assert_eq!(
        (status, body["results"][0]["status"].as_str()),
        (200, Some("accepted")),
        "{body}"
    );
    let pushed = doc.heads();

    // 1. Ketut's device pushes a change written with Made's actor id.
    let mut stolen =
        RecordDoc::from_automerge(doc.automerge().fork().with_actor(made.actor.clone()));
    stolen
        .edit(author, |r| r.title = "Diubah diam-diam".into())
        .expect("edit");
    // 2. Ketut's device approves the record itself.
    let mut self_review =
        RecordDoc::from_automerge(doc.automerge().fork().with_actor(ketut.actor.clone()));
    self_review
        .edit("officer:87010002", |r| {
            r.review.verdict = Some(Verdict::Valid);
        })
        .expect("edit");
    // 3. Ketut's device creates a record in Made's name.
    let mut forged = RecordDoc::create(
        &sample_record(&ketut.unit, &made.officer, "Atas nama orang lain"),
        ketut.actor.clone(),
        "officer:87010002",
    );
    // 4. Ketut's device makes an honest edit to a teammate's record: allowed.
    let mut honest =
        RecordDoc::from_automerge(doc.automerge().fork().with_actor(ketut.actor.clone()));
    honest
        .edit("officer:87010002", |r| r.counts.participants = Some(6))
        .expect("edit");
    // 5. A change from an actor nobody registered.
    let mut stranger =
        RecordDoc::from_automerge(doc.automerge().fork().with_actor(ActorId::random()));
    stranger
        .edit("stranger", |r| r.place = "Entah".into())
        .expect("edit");

    let forged_id = forged.read().expect("record").id.to_string();
    for (what, record_id, changes) in [
        (
            "another device's actor",
            id.to_string(),
            changes_b64(&mut stolen, &pushed),
        ),
        (
            "a self-given verdict",
            id.to_string(),
            changes_b64(&mut self_review, &pushed),
        ),
        (
            "another officer's name",
            forged_id,
            changes_b64(&mut forged, &[]),
        ),
        (
            "an unregistered actor",
            id.to_string(),
            changes_b64(&mut stranger, &pushed),
        ),
    ] {
        let batch = json!({"records": [{"id": record_id, "changes": changes}]});
        let (status, body) = server.device_post(&ketut.token, "/sync/push", &batch).await;
        assert_eq!(status, 200, "{what}: {body}");
        assert_eq!(body["results"][0]["code"], "forbidden", "{what}: {body}");
        assert!(
            body["results"][0]["reason"]
                .as_str()
                .is_some_and(|r| r.len() > 20),
            "{what}: {body}"
        );
    }

    // The stored record is untouched by all of that…
    let admin = server.hq(&server.admin_token);
    let (_, view) = admin.get(&format!("/records/{id}")).await;
    assert_eq!(view["record"]["title"], "Asli");
    assert!(view["record"]["review"]["verdict"].is_null());
    let (_, page) = admin.get("/records").await;
    assert_eq!(
        page["records"].as_array().expect("records").len(),
        1,
        "the forged record was not stored"
    );

    // …and the honest teammate edit lands.
    let (_, body) = server.device_post(&ketut.token, "/sync/push", &json!({"records": [{"id": id.to_string(), "changes": changes_b64(&mut honest, &pushed)}]})).await;
    assert_eq!(body["results"][0]["status"], "accepted", "{body}");
    let (_, view) = admin.get(&format!("/records/{id}")).await;
    assert_eq!(view["record"]["counts"]["participants"], 6);
    server.finish().await;
}

both_stores!(devices_may_change_only_what_is_theirs);
