//! Attacks on identity, over real HTTP on both stores: enrollment codes reused, expired, guessed
//! or presented with a forged key proof; brute force on sign-in and enrollment; revoked devices;
//! sessions without their CSRF token, forged or signed out; oversized headers.

use bukti_core::device::NoProgress;
use bukti_tests::{
    Backend, TestServer, both_stores, enroll_request, patrol, people::PASSWORD, status_json,
};
use serde_json::json;

const SAWAN: &str = "bali/buleleng/sawan";
const GEROKGAK: &str = "bali/buleleng/gerokgak";

fn enroll_body(code: &str) -> serde_json::Value {
    enroll_request(code, &automerge::ActorId::random().to_hex_string())
}

async fn enrollment_codes_work_once_and_expire(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.officer(SAWAN, "87010001").await;
    let admin = server.hq(&server.admin_token);
    let (s, issued) = admin
        .post("/enrollments", &json!({"officer": "87010001"}))
        .await;
    assert_eq!(s, 201, "{issued}");
    assert!(
        issued["qr_svg"]
            .as_str()
            .is_some_and(|q| q.contains("<svg"))
    );
    assert!(
        issued["qr_text"]
            .as_str()
            .is_some_and(|q| q.starts_with("bukti:enroll?server="))
    );
    let code = issued["code"].as_str().expect("code");

    let (s, enrolled) = server.device_post("", "/enroll", &enroll_body(code)).await;
    assert_eq!(s, 201, "{enrolled}");
    assert_eq!(enrolled["officer"], "87010001");
    assert_eq!(enrolled["unit"], SAWAN);
    let token = enrolled["token"].as_str().expect("token");
    let (s, _) = server.hq(token).get("/sync/pull?since=0").await;
    assert_eq!(s, 200, "the new credential works");

    // Used once: refused the second time, with a message saying so.
    let (s, b) = server.device_post("", "/enroll", &enroll_body(code)).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (403, Some("enrollment_refused")),
        "{b}"
    );
    assert!(
        b["message"]
            .as_str()
            .is_some_and(|m| m.contains("already been used")),
        "{b}"
    );

    // Expired before use.
    let code = server.enrollment_code(SAWAN, "87010001").await;
    server
        .execute_sql("update enrollment set expires_at = 1 where used_at is null")
        .await
        .expect("age the code");
    let (s, b) = server.device_post("", "/enroll", &enroll_body(&code)).await;
    assert_eq!(s, 403, "{b}");
    assert!(
        b["message"].as_str().is_some_and(|m| m.contains("expired")),
        "{b}"
    );

    // A code nobody issued, and one that is not a code at all.
    let (s, b) = server
        .device_post("", "/enroll", &enroll_body("ZZZZ-ZZZZ-ZZZZ"))
        .await;
    assert_eq!(s, 403, "{b}");
    assert!(
        b["message"]
            .as_str()
            .is_some_and(|m| m.contains("no such code")),
        "{b}"
    );
    let (s, b) = server.device_post("", "/enroll", &enroll_body("abc")).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("bad_request")), "{b}");

    // A key proof that does not match: refused without spending the code.
    let code = server.enrollment_code(SAWAN, "87010001").await;
    let mut forged = enroll_body(&code);
    forged["public_key"] = enroll_body(&code)["public_key"].clone();
    let (s, b) = server.device_post("", "/enroll", &forged).await;
    assert_eq!(s, 400, "{b}");
    assert!(
        b["message"]
            .as_str()
            .is_some_and(|m| m.contains("signature")),
        "{b}"
    );
    let mut other_actor = enroll_body(&code);
    other_actor["actor_id"] = json!(automerge::ActorId::random().to_hex_string());
    let (s, _) = server.device_post("", "/enroll", &other_actor).await;
    assert_eq!(s, 400, "the signature binds the actor id");
    let (s, b) = server.device_post("", "/enroll", &enroll_body(&code)).await;
    assert_eq!(s, 201, "the code survived the forged attempts: {b}");

    // Codes only for officers, only in the issuer's subtree.
    server.person(SAWAN, "87050001", &["approver"]).await;
    server.person(GEROKGAK, "87060001", &["officer"]).await;
    let kapolsek = server.web("87050001").await;
    let (s, b) = kapolsek
        .post("/enrollments", &json!({"officer": "87050001"}))
        .await;
    assert_eq!(s, 400, "an approver is not an officer: {b}");
    let (s, b) = kapolsek
        .post("/enrollments", &json!({"officer": "87060001"}))
        .await;
    assert_eq!(
        s, 404,
        "another Polsek's officer does not exist for Sawan: {b}"
    );
    let (s, b) = kapolsek
        .post("/enrollments", &json!({"officer": "87010001"}))
        .await;
    assert_eq!(s, 201, "{b}");
    server.finish().await;
}
both_stores!(enrollment_codes_work_once_and_expire);

async fn brute_force_is_slowed_down(backend: Backend) {
    let server = TestServer::start(backend).await;
    let http = reqwest::Client::new();
    let enroll = format!("{}/api/v1/enroll", server.url);
    for i in 0..10 {
        let resp = http
            .post(&enroll)
            .json(&enroll_body(&format!("ZZZZ-ZZZZ-ZZ{i:02}")))
            .send()
            .await
            .expect("guess");
        assert_eq!(resp.status(), 403, "guess {i}");
    }
    let good = server.enrollment_code(SAWAN, "87010001").await;
    let resp = http
        .post(&enroll)
        .json(&enroll_body(&good))
        .send()
        .await
        .expect("enroll");
    assert_eq!(
        resp.status(),
        429,
        "after ten wrong codes the address must wait"
    );
    let wait: u64 = resp.headers()["retry-after"]
        .to_str()
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=30).contains(&wait), "{wait}");
    let (_, b) = status_json(resp).await;
    assert!(
        b["message"].as_str().is_some_and(|m| m.contains("wait")),
        "{b}"
    );

    server.person(SAWAN, "87050001", &["approver"]).await;
    server.person(SAWAN, "87050002", &["reviewer"]).await;
    let (s, unknown) = {
        let (s, b, _) = server.sign_in("99999999", "whatever-it-is").await;
        (s, b)
    };
    let (s2, wrong, _) = server.sign_in("87050001", "not-the-password").await;
    assert_eq!((s, s2), (401, 401));
    assert_eq!(
        unknown["message"], wrong["message"],
        "no hint whether the NRP exists"
    );
    for _ in 0..4 {
        let (s, _, _) = server.sign_in("87050001", "still-not-it").await;
        assert_eq!(s, 401);
    }
    let (s, b, web) = server.sign_in("87050001", PASSWORD).await;
    assert_eq!(
        s, 429,
        "five wrong passwords lock the account for a while: {b}"
    );
    assert!(web.is_none());
    let (s, _, _) = server.sign_in("87050002", PASSWORD).await;
    assert_eq!(
        s, 200,
        "another account from the same address is not locked"
    );
    server.finish().await;
}
both_stores!(brute_force_is_slowed_down);

async fn revoked_devices_are_cut_off_and_keep_what_they_sent(backend: Backend) {
    let server = TestServer::start(backend).await;
    let phone = server.device(SAWAN, "87010001").await;
    let id = phone
        .device
        .capture(patrol("Patroli malam"))
        .await
        .expect("capture");
    phone.sync().await;
    let device_id = phone
        .device
        .registration()
        .await
        .expect("read")
        .expect("enrolled")
        .device_id;

    server.person(GEROKGAK, "87060001", &["approver"]).await;
    server.person(SAWAN, "87050001", &["approver"]).await;
    let other = server.web("87060001").await;
    let (s, _) = other
        .post(&format!("/devices/{device_id}/revoke"), &json!({}))
        .await;
    assert_eq!(
        s, 404,
        "another Polsek's device does not exist for Gerokgak"
    );
    let (s, devices) = other.get("/devices").await;
    assert_eq!(
        (s, devices.as_array().map(Vec::len)),
        (200, Some(0)),
        "{devices}"
    );

    let kapolsek = server.web("87050001").await;
    let (s, devices) = kapolsek.get("/devices").await;
    assert_eq!(s, 200);
    assert_eq!(devices[0]["id"], device_id.to_string(), "{devices}");
    let (s, revoked) = kapolsek
        .post(&format!("/devices/{device_id}/revoke"), &json!({}))
        .await;
    assert_eq!(s, 200, "{revoked}");
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    assert_eq!(revoked["revoked_by"], "Person 87050001");

    let err = phone.device.sync(&NoProgress).await.expect_err("revoked");
    assert!(err.to_string().contains("revoked"), "{err}");
    let (s, record) = server
        .hq(&server.admin_token)
        .get(&format!("/records/{id}"))
        .await;
    assert_eq!(s, 200, "what the device sent before stays: {record}");

    // A new code brings the same phone back.
    let code = server.enrollment_code(SAWAN, "87010001").await;
    phone
        .device
        .enroll_again(&server.url, &code, "HP baru")
        .await
        .expect("enroll again");
    phone.sync().await;
    server.finish().await;
}
both_stores!(revoked_devices_are_cut_off_and_keep_what_they_sent);

async fn sessions_need_their_csrf_token_and_end(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.person(SAWAN, "87050002", &["reviewer"]).await;
    let web = server.web("87050002").await;
    assert!(
        web.cookie.starts_with("__Host-bukti_session="),
        "{}",
        web.cookie
    );
    let (s, me) = web.get("/me").await;
    assert_eq!(
        (s, me["roles"].as_str(), me["unit"].as_str()),
        (200, Some("reviewer"), Some(SAWAN))
    );

    let body = json!({"name": "rekap mingguan"});
    let (s, _) = web.post_with_csrf("/tokens", &body, None).await;
    assert_eq!(s, 403, "a cookie alone cannot change anything");
    let (s, _) = web.post_with_csrf("/tokens", &body, Some("0123")).await;
    assert_eq!(s, 403, "nor with a wrong CSRF token");
    let (s, created) = web.post("/tokens", &body).await;
    assert_eq!(s, 201, "{created}");
    let script = server.hq(created["token"].as_str().expect("token"));
    let (s, _) = script.get("/records").await;
    assert_eq!(s, 200, "the API token reads like its person");
    let (s, _) = script.post("/people", &json!({})).await;
    assert_eq!(s, 403, "and has no more rights than its person");

    let mut forged = web.clone();
    forged.cookie = "__Host-bukti_session=bks_00".into();
    let (s, _) = forged.get("/me").await;
    assert_eq!(s, 401);
    assert_eq!(web.sign_out().await, 204);
    let (s, b) = web.get("/me").await;
    assert_eq!(s, 401, "signed out: {b}");

    // Assessors' access ends on its date.
    server.person(SAWAN, "87070001", &["viewer"]).await;
    let assessor = server.web("87070001").await;
    server
        .execute_sql("update person set access_until = 1 where nrp = '87070001'")
        .await
        .expect("end access");
    let (s, b) = assessor.get("/records").await;
    assert_eq!(s, 401, "{b}");
    assert!(
        b["message"]
            .as_str()
            .is_some_and(|m| m.contains("access ended")),
        "{b}"
    );
    let (s, _, _) = server.sign_in("87070001", PASSWORD).await;
    assert_eq!(s, 401, "nor can they sign in again");
    server.finish().await;
}
both_stores!(sessions_need_their_csrf_token_and_end);

async fn forged_tokens_and_oversized_headers_are_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (s, b) = server.hq("bkt_0000").get("/records").await;
    assert_eq!((s, b["code"].as_str()), (401, Some("unauthorized")), "{b}");
    let http = reqwest::Client::new();
    let resp = http
        .get(format!("{}/api/v1/records", server.url))
        .header("authorization", format!("Bearer {}", "a".repeat(1 << 20)))
        .send()
        .await;
    match resp {
        Ok(r) => assert_eq!(r.status(), 431, "a 1 MiB header is refused"),
        // Hyper may also close the connection on a head that large; either way nothing runs.
        Err(e) => assert!(e.is_request() || e.is_connect() || e.is_body(), "{e}"),
    }
    let (s, _) = server.hq(&server.admin_token).get("/records").await;
    assert_eq!(s, 200, "and the server carries on");
    server.finish().await;
}
both_stores!(forged_tokens_and_oversized_headers_are_refused);
