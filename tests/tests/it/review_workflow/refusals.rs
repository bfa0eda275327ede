//! Every review step refused to the wrong role, scope or state, with a reason, and forged
//! review fields in a device's push refused.

use super::*;

both_stores!(each_step_is_refused_to_the_wrong_role_scope_or_state,);

async fn each_step_is_refused_to_the_wrong_role_scope_or_state(backend: Backend) {
    let server = TestServer::start(backend).await;
    let putu = server.device(SAWAN, "87010123").await;
    let id = putu
        .device
        .capture(visit("Sambang".into()))
        .await
        .expect("capture");
    let draft = putu
        .device
        .capture(bukti_tests::patrol("Patroli (draf)"))
        .await
        .expect("capture");
    putu.sync().await;
    let (id, draft) = (id.to_string(), draft.to_string());
    let token = |unit: &'static str, name: &'static str, role: &'static str| {
        let server = &server;
        async move { server.hq(&server.hq_token(unit, name, role).await) }
    };
    let operator = token(SAWAN, "Operator", "operator").await;
    let kapolsek = token(SAWAN, "Kapolsek", "approver").await;
    let kasat = token(POLRES, "Kasat", "reviewer").await;
    let viewer = token(POLRES, "Asesor", "viewer").await;
    let elsewhere = token(GEROKGAK, "Kasi Gerokgak", "reviewer,operator").await;

    let post = |hq: &Hq, what: &str, body: Value| {
        let (hq, path) = (hq.clone(), format!("/records/{id}/{what}"));
        async move { hq.post(&path, &body).await }
    };
    let valid = json!({"verdict": "valid"});
    let ready = json!({"ready": true});
    // Roles: each step belongs to one role.
    for (who, hq, what, body) in [
        ("operator", &operator, "review", valid.clone()),
        ("operator", &operator, "forward", json!({})),
        ("approver", &kapolsek, "curate", ready.clone()),
        ("approver", &kapolsek, "review", valid.clone()),
        ("reviewer", &kasat, "curate", ready.clone()),
        ("reviewer", &kasat, "forward", json!({})),
        ("viewer", &viewer, "review", json!({"comment": "Catatan"})),
    ] {
        let (status, answer) = post(hq, what, body).await;
        assert_eq!(status, 403, "{who} {what}: {answer}");
        assert_eq!(answer["code"], "forbidden");
    }
    // Scope: another Polsek's people find no such record.
    let (s_other, other) = post(&elsewhere, "curate", ready.clone()).await;
    let (s_none, none) = elsewhere
        .post(&format!("/records/{}/curate", uuid::Uuid::now_v7()), &ready)
        .await;
    assert_eq!((s_other, &other), (s_none, &none));
    assert_eq!(s_other, 404);
    let (status, _) = post(&elsewhere, "review", valid.clone()).await;
    assert_eq!(status, 404, "a reviewer of another unit");

    // State: nothing is forwarded before it is ready, nor judged before it is forwarded.
    let (status, answer) = post(&kapolsek, "forward", json!({})).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (409, Some("wrong_state"))
    );
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("captured") && m.contains("mark it ready")),
        "{answer}"
    );
    let (status, answer) = post(&kasat, "review", valid.clone()).await;
    assert_eq!(status, 409, "{answer}");
    let (status, answer) = operator
        .post(&format!("/records/{draft}/curate"), &ready)
        .await;
    assert_eq!(status, 400, "a draft is not ready: {answer}");
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("draft"))
    );
    let (status, answer) = post(&operator, "curate", json!({"lke": ["XX.P9"]})).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("lke.XX.P9"))
    );
    let (status, answer) = post(&operator, "curate", json!({"redy": true})).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (400, Some("invalid_json"))
    );
    let (status, answer) = kasat.get("/records?state=approved").await;
    assert_eq!(status, 400, "{answer}");

    step(&operator, &id, "curate", ready.clone()).await;
    let (status, answer) = post(&operator, "curate", ready.clone()).await;
    assert_eq!(status, 409, "already ready: {answer}");
    step(
        &kapolsek,
        &id,
        "forward",
        json!({"comment": "Mohon diperiksa"}),
    )
    .await;
    let (status, _) = post(&operator, "curate", json!({"lke": ["PW.P3"]})).await;
    assert_eq!(
        status, 409,
        "the Polsek no longer curates a forwarded record"
    );

    // A needs-revision or rejected verdict needs a reason.
    for body in [
        json!({"verdict": "needs_revision"}),
        json!({"verdict": "rejected", "reason": "   "}),
    ] {
        let (status, answer) = post(&kasat, "review", body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["code"], "bad_request");
        assert!(
            answer["message"]
                .as_str()
                .is_some_and(|m| m.contains("needs a reason") && m.contains("\"reason\"")),
            "{answer}"
        );
    }
    // Earlier clients sent the reason as the comment: still accepted.
    let legacy = step(
        &kasat,
        &id,
        "review",
        json!({"verdict": "rejected", "comment": "Bukan kegiatan sambang"}),
    )
    .await;
    assert_eq!(legacy["workflow"]["state"], "rejected");
    assert_eq!(legacy["review"]["verdict_reason"], "Bukan kegiatan sambang");
    assert_eq!(
        legacy["review"]["comments"][1]["text"],
        "Bukan kegiatan sambang"
    );
    let (status, _) = post(&kapolsek, "forward", json!({})).await;
    assert_eq!(status, 409, "a judged record is not forwarded again");

    // A device cannot forge a review step, on a new record or an existing one.
    let raw = server.raw_device(SAWAN, "87010124").await;
    let mut doc = raw.record_doc("Pelayanan SKCK");
    let pushed = json!({"records": [bukti_tests::push_entry(&mut doc)]});
    let (_, answer) = server.device_post(&raw.token, "/sync/push", &pushed).await;
    assert_eq!(answer["results"][0]["status"], "accepted", "{answer}");
    let before = doc.heads();
    doc.edit("officer:87010124", |r| {
        r.review.ready_by = Some("87010124".into());
        r.review.ready_at = Some(r.captured_at);
        r.review.forwarded_by = Some("Kapolsek".into());
        r.review.forwarded_at = Some(r.captured_at);
    })
    .expect("forge");
    let forged_id = doc.read().expect("record").id;
    let forged = json!({"records": [{"id": forged_id, "changes": changes_b64(&mut doc, &before)}]});
    let (_, answer) = server.device_post(&raw.token, "/sync/push", &forged).await;
    assert_eq!(answer["results"][0]["status"], "rejected", "{answer}");
    assert_eq!(answer["results"][0]["code"], "forbidden");
    let mut fresh = raw.record_doc("Pelayanan SIM");
    let mut with_verdict = RecordDoc::from_automerge(fresh.automerge().fork());
    with_verdict
        .edit("officer:87010124", |r| {
            r.review.verdict = Some(Verdict::Valid);
            r.review.verdict_reason = Some("self-approved".into());
        })
        .expect("forge");
    let push = json!({"records": [bukti_tests::push_entry(&mut with_verdict)]});
    let (_, answer) = server.device_post(&raw.token, "/sync/push", &push).await;
    assert_eq!(answer["results"][0]["code"], "forbidden", "{answer}");
    let (_, view) = kasat.get(&format!("/records/{forged_id}")).await;
    assert_eq!(view["workflow"]["state"], "captured", "{view}");
    server.finish().await;
}
