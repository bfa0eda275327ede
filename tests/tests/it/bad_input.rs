//! Hostile and broken input: each gets a clear 4xx JSON error (or a per-record rejection), the
//! rest of the batch lands, nothing else is touched, and the server keeps serving.

use base64::{Engine, engine::general_purpose::STANDARD};
use bukti_core::RecordDoc;
use bukti_tests::{Backend, TestServer, both_stores, changes_b64, push_entry, sample_record};
use serde_json::{Value, json};

fn status_of(body: &Value, i: usize) -> (&str, &str) {
    let r = &body["results"][i];
    (
        r["status"].as_str().unwrap_or("?"),
        r["code"].as_str().unwrap_or(""),
    )
}

async fn each_bad_record_is_rejected_alone(backend: Backend) {
    let server = TestServer::start(backend).await;
    let dev = server.raw_device("bali/buleleng/sawan", "87010001").await;
    let mut good = dev.record_doc("Yang baik");
    let good_entry = push_entry(&mut good);

    let mut changes_only = dev.record_doc("Dua perubahan");
    let heads = changes_only.heads();
    changes_only
        .edit("officer:87010001", |r| r.title = "Diubah".into())
        .expect("edit");
    let second_only = changes_b64(&mut changes_only, &heads);

    let mut invalid = dev.record_doc("Koordinat salah");
    invalid
        .edit("x", |r| r.location.as_mut().expect("location").lat = 91.0)
        .expect("edit");

    let mut other_unit = {
        let record = sample_record("bali/buleleng/gerokgak", &dev.officer, "Bukan unit saya");
        RecordDoc::create(&record, dev.actor.clone(), "officer:87010001")
    };
    let mut mismatched = dev.record_doc("Id lain");
    let truncated = {
        let mut c = STANDARD
            .decode(changes_b64(&mut dev.record_doc("Terpotong"), &[])[0].as_bytes())
            .expect("b64");
        c.truncate(c.len() - 5);
        STANDARD.encode(c)
    };
    let compressed = {
        let mut d = dev.record_doc("Dikompresi");
        d.edit("x", |r| r.narrative = "panjang ".repeat(400))
            .expect("edit");
        d.automerge()
            .get_changes(&[])
            .into_iter()
            .map(|mut c| STANDARD.encode(c.bytes()))
            .collect::<Vec<_>>()
    };
    let fake_id = bukti_core::RecordId::new().to_string();
    let batch = json!({"records": [
        json!({"id": fake_id, "changes": [STANDARD.encode(b"not automerge")]}),
        json!({"id": bukti_core::RecordId::new().to_string(), "changes": [truncated]}),
        json!({"id": bukti_core::RecordId::new().to_string(), "changes": []}),
        json!({"id": bukti_core::RecordId::new().to_string(), "changes": [""]}),
        json!({"id": changes_only.read().expect("record").id.to_string(), "changes": second_only}),
        push_entry(&mut invalid),
        push_entry(&mut other_unit),
        json!({"id": bukti_core::RecordId::new().to_string(), "changes": changes_b64(&mut mismatched, &[])}),
        json!({"id": bukti_core::RecordId::new().to_string(), "changes": compressed}),
        good_entry.clone(),
        good_entry.clone(),
    ]});
    let (status, body) = server.device_post(&dev.token, "/sync/push", &batch).await;
    assert_eq!(status, 200, "{body}");
    let expected = [
        ("rejected", "corrupt_changes"),
        ("rejected", "corrupt_changes"),
        ("rejected", "corrupt_changes"),
        ("rejected", "corrupt_changes"),
        ("rejected", "missing_dependencies"),
        ("rejected", "invalid"),
        ("rejected", "out_of_scope"),
        ("rejected", "id_mismatch"),
        ("rejected", "corrupt_changes"),
        ("accepted", ""),
        ("rejected", "duplicate"),
    ];
    for (i, want) in expected.iter().enumerate() {
        assert_eq!(
            status_of(&body, i),
            *want,
            "record #{i}: {}",
            body["results"][i]
        );
        if want.0 == "rejected" {
            assert!(
                !body["results"][i]["reason"]
                    .as_str()
                    .unwrap_or("")
                    .is_empty(),
                "a reason for #{i}"
            );
        }
    }
    let problems = body["results"][5]["problems"].as_array().expect("problems");
    assert!(
        problems.iter().any(|p| p["path"] == "location.lat"),
        "{problems:?}"
    );

    // Only the good record exists; replaying the whole batch changes nothing.
    let admin = server.hq(&server.admin_token);
    let (_, page) = admin.get("/records").await;
    assert_eq!(page["records"].as_array().expect("records").len(), 1);
    let seq_before = page["records"][0]["feed_seq"].clone();
    let (_, again) = server.device_post(&dev.token, "/sync/push", &batch).await;
    assert_eq!(status_of(&again, 9), ("accepted", ""));
    assert_eq!(
        again["results"][9]["changed"], false,
        "a replay is acknowledged as unchanged"
    );
    let (_, page) = admin.get("/records").await;
    assert_eq!(page["records"].as_array().expect("records").len(), 1);
    assert_eq!(
        page["records"][0]["feed_seq"], seq_before,
        "a replay does not move the feed"
    );

    // The single-record endpoint checks the URL against the document.
    let url_id = bukti_core::RecordId::new();
    let (status, body) = server
        .device_post(
            &dev.token,
            &format!("/records/{url_id}/changes"),
            &json!({"changes": changes_b64(&mut dev.record_doc("URL"), &[])}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "id_mismatch");
    let (status, body) = server
        .device_post(
            &dev.token,
            &format!("/records/{}/changes", changes_only.read().expect("r").id),
            &json!({"changes": second_only}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = server
        .device_post(
            &dev.token,
            "/records/not-a-uuid/changes",
            &json!({"changes": []}),
        )
        .await;
    assert_eq!(status, 404, "{body}");

    let health = reqwest::get(format!("{}/healthz", server.url))
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200, "the server is still healthy");
    server.finish().await;
}

async fn bad_requests_get_clear_errors(backend: Backend) {
    let server = TestServer::start(backend).await;
    let dev = server.raw_device("bali/buleleng/sawan", "87010001").await;
    let http = reqwest::Client::new();
    let push_url = format!("{}/api/v1/sync/push", server.url);

    let check = |status: u16, body: &Value, want_status: u16, want_code: &str| {
        assert_eq!(status, want_status, "{body}");
        assert_eq!(body["code"], want_code, "{body}");
        assert!(
            body["message"].as_str().is_some_and(|m| m.len() > 10),
            "a message that explains: {body}"
        );
    };

    // Oversized body.
    let huge = vec![b'a'; bukti_core::protocol::MAX_BODY_BYTES + 1024];
    let resp = http
        .post(&push_url)
        .bearer_auth(&dev.token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("send");
    let (s, b) = bukti_tests::status_json(resp).await;
    check(s, &b, 413, "body_too_large");

    // Too many records in one batch.
    let many: Vec<Value> = (0..=bukti_core::protocol::MAX_PUSH_RECORDS)
        .map(|_| json!({"id": bukti_core::RecordId::new().to_string(), "changes": []}))
        .collect();
    let (s, b) = server
        .device_post(&dev.token, "/sync/push", &json!({"records": many}))
        .await;
    check(s, &b, 413, "batch_too_large");

    // Not JSON; wrong shape; not base64.
    let resp = http
        .post(&push_url)
        .bearer_auth(&dev.token)
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .expect("send");
    let (s, b) = bukti_tests::status_json(resp).await;
    check(s, &b, 400, "invalid_json");
    let (s, b) = server
        .device_post(&dev.token, "/sync/push", &json!({"records": [{"id": "x"}]}))
        .await;
    check(s, &b, 400, "invalid_json");
    let (s, b) = server.device_post(&dev.token, "/sync/push", &json!({"records": [{"id": bukti_core::RecordId::new().to_string(), "changes": ["***"]}]})).await;
    check(s, &b, 400, "invalid_json");

    // Who is asking.
    let resp = http
        .post(&push_url)
        .json(&json!({"records": []}))
        .send()
        .await
        .expect("send");
    let (s, b) = bukti_tests::status_json(resp).await;
    check(s, &b, 401, "unauthorized");
    let (s, b) = server
        .device_post("bkt_forged", "/sync/push", &json!({"records": []}))
        .await;
    check(s, &b, 401, "unauthorized");
    let (s, b) = server
        .device_post(&server.admin_token, "/sync/push", &json!({"records": []}))
        .await;
    check(s, &b, 403, "forbidden");
    let as_device = server.hq(&dev.token);
    let (s, b) = as_device.get("/records").await;
    check(s, &b, 403, "forbidden");
    let viewer = server.hq(&server
        .hq_token("bali/buleleng/sawan", "Asesor", "viewer")
        .await);
    let (s, b) = viewer
        .post("/enrollments", &json!({"officer": "87010009"}))
        .await;
    check(s, &b, 403, "forbidden");
    let sawan_reviewer = server.hq(&server
        .hq_token("bali/buleleng/sawan", "Kanit", "reviewer")
        .await);
    let (s, b) = sawan_reviewer
        .post("/enrollments", &json!({"officer": "87010009"}))
        .await;
    check(s, &b, 403, "forbidden");

    // Protocol version from the future.
    let resp = http
        .post(&push_url)
        .bearer_auth(&dev.token)
        .header("bukti-protocol", "99")
        .json(&json!({"records": []}))
        .send()
        .await
        .expect("send");
    let (s, b) = bukti_tests::status_json(resp).await;
    check(s, &b, 426, "protocol_version");

    // Unknown and malformed ids, filters and cursors.
    let admin = server.hq(&server.admin_token);
    let (s, b) = admin
        .get(&format!("/records/{}", bukti_core::RecordId::new()))
        .await;
    check(s, &b, 404, "not_found");
    let (s, b) = admin.get("/records/%2e%2e%2fetc").await;
    check(s, &b, 404, "not_found");
    let (s, b) = admin.get("/records?cursor=1_x").await;
    check(s, &b, 400, "bad_request");
    let (s, b) = admin.get("/records?unit=Bali%20Utara").await;
    check(s, &b, 400, "bad_request");
    let (s, b) = admin.get("/records?from=yesterday").await;
    check(s, &b, 400, "bad_request");
    let (s, b) = admin.get("/records?kind=x%27%20or%20%271%27%3D%271").await;
    assert_eq!(
        s, 200,
        "an injection attempt is just a kind that matches nothing: {b}"
    );
    assert_eq!(b["records"].as_array().expect("records").len(), 0);
    let (s, b) = admin
        .post(
            &format!("/records/{}/review", bukti_core::RecordId::new()),
            &json!({"verdict": "valid"}),
        )
        .await;
    check(s, &b, 404, "not_found");
    let (s, b) = admin
        .post(
            &format!("/records/{}/review", bukti_core::RecordId::new()),
            &json!({"verdict": "perfect"}),
        )
        .await;
    check(s, &b, 400, "invalid_json");
    let pull = server.hq(&dev.token);
    let (s, b) = pull.get("/sync/pull?since=-5").await;
    check(s, &b, 400, "bad_request");
    let (s, b) = pull.get("/sync/pull?since=abc").await;
    check(s, &b, 400, "bad_request");
    let (s, b) = admin.get("/no/such/route").await;
    check(s, &b, 404, "not_found");

    let health = reqwest::get(format!("{}/healthz", server.url))
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    server.finish().await;
}

both_stores!(
    each_bad_record_is_rejected_alone,
    bad_requests_get_clear_errors
);
