//! Evidence packs made by the running server (issue 11, part 6's export page), over real HTTP
//! on both stores: a Polres reviewer starts one from the console's form, watches its page
//! reload itself while it runs, downloads the zip and `bukti verify` passes it; a script does
//! the same over the JSON API for one LKE area. Refused: another unit's scope, an officer, a
//! form without the CSRF token, a third pack while two are being made, someone else's pack,
//! an unknown id, and a download before the pack is finished. A restart forgets the jobs.

use std::time::Duration;

use bukti_core::device::PhotoInput;
use bukti_tests::{Backend, TestServer, both_stores, fixture, people::Web, visit};
use reqwest::{Client, redirect::Policy};
use serde_json::{Value, json};

use crate::evidence_pack::{verify, zips::entries};

both_stores!(a_reviewer_exports_a_pack_from_the_console_and_it_verifies);
both_stores!(pack_exports_refuse_what_they_must);

const SAWAN: &str = "bali/buleleng/sawan";
const POLRES: &str = "bali/buleleng";

fn client() -> Client {
    Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client")
}

/// A console page for the session `web`: status and HTML.
async fn page(server: &TestServer, web: &Web, path: &str) -> (u16, String) {
    let resp = client()
        .get(format!("{}{path}", server.url))
        .header("cookie", &web.cookie)
        .send()
        .await
        .expect("page");
    (resp.status().as_u16(), resp.text().await.expect("html"))
}

/// Posts the export form; the status and where it redirects to.
async fn post_form(server: &TestServer, web: &Web, fields: &[(&str, &str)]) -> (u16, String) {
    let resp = client()
        .post(format!("{}/packs", server.url))
        .header("cookie", &web.cookie)
        .form(fields)
        .send()
        .await
        .expect("post the export form");
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (resp.status().as_u16(), location)
}

/// Today in WITA (Bali's zone), shifted by `days`.
fn wita_day(days: i64) -> String {
    let zone = jiff::tz::TimeZone::fixed(jiff::tz::offset(8));
    let today = jiff::Timestamp::now().to_zoned(zone).date();
    today
        .checked_add(jiff::Span::new().days(days))
        .expect("a day")
        .to_string()
}

/// Polls the JSON status of pack `id` until it is no longer running.
async fn finished(get: impl AsyncFn(&str) -> (u16, Value), id: &str) -> Value {
    for _ in 0..600 {
        let (status, job) = get(&format!("/evidence/packs/{id}")).await;
        assert_eq!(status, 200, "{job}");
        if job["state"] != "running" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("pack {id} still running after a minute");
}

/// Writes `bytes` to a file and runs `bukti verify` on it with the server's key.
fn verified(bytes: &[u8], key: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pack.zip");
    std::fs::write(&path, bytes).expect("write the pack");
    let (ok, text) = verify(&path, Some(key));
    assert!(ok && text.contains("VERIFIED"), "{text}");
    (dir, path)
}

/// Sawan's two records (one tagged PP.P2, one with a photo) and Banjar's one, synced.
async fn field_records(server: &TestServer) {
    let sawan = server.device(SAWAN, "87080001").await;
    let mut tagged = visit("Sosialisasi anti korupsi".into());
    tagged.lke.insert("PP.P2".into());
    sawan.device.capture(tagged).await.expect("capture");
    sawan
        .device
        .capture_with_photos(
            visit("Sambang berfoto".into()),
            vec![PhotoInput::camera(fixture("scene.jpg"))],
        )
        .await
        .expect("capture with a photo");
    let report = sawan.sync().await;
    assert!(report.photo_problems.is_empty(), "{report:?}");
    let banjar = server.device("bali/buleleng/banjar", "87080002").await;
    banjar
        .device
        .capture(visit("Patroli Banjar".into()))
        .await
        .expect("capture");
    banjar.sync().await;
}

async fn a_reviewer_exports_a_pack_from_the_console_and_it_verifies(backend: Backend) {
    let mut server = TestServer::start(backend).await;
    let gate = server.gate_exports().await;
    field_records(&server).await;
    let (_, key) = server.hq("").get("/evidence/key").await;
    let key = key["server_key"].as_str().expect("server key").to_owned();
    server.person(POLRES, "85080001", &["reviewer"]).await;
    let web = server.web("85080001").await;

    let (status, html) = page(&server, &web, "/packs").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Ekspor paket bukti"), "Indonesian first");
    assert!(html.contains("name=\"area\" value=\"PP\""), "{html}");
    assert!(
        html.contains(SAWAN) && !html.contains("bali/tabanan"),
        "{html}"
    );
    let (_, english) = page(&server, &web, "/packs?lang=en").await;
    assert!(english.contains("Export an evidence pack"));

    let (from, to) = (wita_day(-1), wita_day(1));
    let (status, location) = post_form(
        &server,
        &web,
        &[
            ("csrf", web.csrf.as_str()),
            ("unit", SAWAN),
            ("from", &from),
            ("to", &to),
        ],
    )
    .await;
    assert_eq!(status, 303, "{location}");
    let id = location
        .strip_prefix("/packs/")
        .expect("the pack's page")
        .to_owned();

    // Held at the gate: the page says it is being made and reloads itself.
    let (status, html) = page(&server, &web, &location).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("data-state=\"running\""), "{html}");
    assert!(html.contains("<meta http-equiv=\"refresh\""), "{html}");
    assert!(!html.contains("/download"), "no download before it is done");
    let (_, listed) = page(&server, &web, "/packs").await;
    assert!(listed.contains(&format!("/packs/{id}")), "{listed}");

    gate.add_permits(1);
    let job = finished(async |p: &str| web.get(p).await, &id).await;
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["records"], 2, "Sawan's two, not Banjar's: {job}");
    assert_eq!(job["photos"], 1, "{job}");
    assert_eq!(job["read"], 3, "the whole store was read: {job}");
    assert_eq!(job["total"], 3, "{job}");
    assert!(job["bytes"].as_u64().is_some_and(|b| b > 0), "{job}");
    assert_eq!(job["from"], from.as_str());

    let (_, html) = page(&server, &web, &location).await;
    assert!(html.contains("data-state=\"done\""), "{html}");
    assert!(
        !html.contains("http-equiv=\"refresh\""),
        "a finished page stays put"
    );
    assert!(html.contains(&key), "the key to verify with: {html}");
    assert!(
        html.contains(" WITA</dd>"),
        "times in the unit's zone: {html}"
    );
    let resp = client()
        .get(format!("{}/packs/{id}/download", server.url))
        .header("cookie", &web.cookie)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("download");
    assert_eq!(resp.status().as_u16(), 200);
    // A zip is not gzipped again: the browser sees its length and its progress.
    assert!(resp.headers().get("content-encoding").is_none());
    assert_eq!(resp.content_length(), job["zip_bytes"].as_u64());
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/zip")
    );
    let bytes = resp.bytes().await.expect("the zip");
    assert_eq!(bytes.len() as u64, job["zip_bytes"].as_u64().unwrap_or(0));
    let (_dir, path) = verified(&bytes, &key);
    let names: Vec<String> = entries(&path).into_iter().map(|(n, _)| n).collect();
    assert!(
        names.iter().any(|n| n.starts_with("PP/PP.P2/")),
        "{names:?}"
    );

    // A script does the same over the JSON API, for one LKE area.
    let token = server.hq_token(POLRES, "Skrip Polres", "reviewer").await;
    let hq = server.hq(&token);
    let (status, started) = hq
        .post("/evidence/packs", &json!({"unit": SAWAN, "areas": ["pp"]}))
        .await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["areas"], json!(["PP"]));
    let api_id = started["id"].as_str().expect("an id").to_owned();
    let job = finished(async |p: &str| hq.get(p).await, &api_id).await;
    assert_eq!(job["records"], 1, "only the PP record: {job}");
    let resp = hq
        .http
        .get(format!("{}/evidence/packs/{api_id}/download", hq.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("download");
    assert_eq!(resp.status().as_u16(), 200);
    verified(&resp.bytes().await.expect("the zip"), &key);
    let (_, mine) = hq.get("/evidence/packs").await;
    assert_eq!(
        mine.as_array().map(Vec::len),
        Some(1),
        "the script's own: {mine}"
    );

    // Each start is in the audit log.
    let (_, audit) = server.hq(&server.admin_token).get("/audit?limit=200").await;
    let text = audit.to_string();
    assert!(
        text.contains(&format!("pack:{id}")) && text.contains(&format!("pack:{api_id}")),
        "{text}"
    );
    server.finish().await;
}

async fn pack_exports_refuse_what_they_must(backend: Backend) {
    let mut server = TestServer::start(backend).await;
    let gate = server.gate_exports().await;
    server.person(SAWAN, "85080011", &["reviewer"]).await;
    server.person(SAWAN, "85080012", &["reviewer"]).await;
    server.person(SAWAN, "87080013", &["officer"]).await;
    let sawan = server.web("85080011").await;
    let colleague = server.web("85080012").await;
    let officer = server.web("87080013").await;

    // Another unit's scope, from a Polsek reviewer: the form and the API.
    let (status, _) = post_form(
        &server,
        &sawan,
        &[
            ("csrf", sawan.csrf.as_str()),
            ("unit", "bali/buleleng/banjar"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    let (status, body) = sawan
        .post("/evidence/packs", &json!({"unit": POLRES}))
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("outside your scope"),
        "{body}"
    );

    // An officer exports nothing: no page, no start, on the console or with a token.
    let (status, _) = page(&server, &officer, "/packs").await;
    assert_eq!(status, 403);
    let (status, _) = post_form(
        &server,
        &officer,
        &[("csrf", officer.csrf.as_str()), ("unit", SAWAN)],
    )
    .await;
    assert_eq!(status, 403);
    let phone = server.hq_token(SAWAN, "HP", "officer").await;
    let (status, body) = server
        .hq(&phone)
        .post("/evidence/packs", &json!({"unit": SAWAN}))
        .await;
    assert_eq!(status, 403, "{body}");

    // A form without this session's token (another site's form) starts nothing.
    let (status, _) = post_form(&server, &sawan, &[("unit", SAWAN)]).await;
    assert_eq!(status, 403);
    let (status, _) = post_form(&server, &sawan, &[("csrf", "forged"), ("unit", SAWAN)]).await;
    assert_eq!(status, 403);
    let (status, body) = sawan
        .post_with_csrf("/evidence/packs", &json!({"unit": SAWAN}), None)
        .await;
    assert_eq!(status, 403, "{body}");
    let (_, none) = sawan.get("/evidence/packs").await;
    assert_eq!(none, json!([]), "nothing was started");

    // Nonsense is refused with what to fix.
    let (status, body) = sawan
        .post(
            "/evidence/packs",
            &json!({"unit": SAWAN, "from": "kemarin"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = sawan
        .post("/evidence/packs", &json!({"unit": SAWAN, "areas": ["XX"]}))
        .await;
    assert_eq!(status, 400, "{body}");

    // Two at once; a third waits for one of them to finish.
    let (status, first) = post_form(
        &server,
        &sawan,
        &[("csrf", sawan.csrf.as_str()), ("unit", SAWAN)],
    )
    .await;
    assert_eq!(status, 303, "{first}");
    let first = first.trim_start_matches("/packs/").to_owned();
    let (status, second) = colleague
        .post("/evidence/packs", &json!({"unit": SAWAN}))
        .await;
    assert_eq!(status, 202, "{second}");
    let (status, third) = sawan.post("/evidence/packs", &json!({"unit": SAWAN})).await;
    assert_eq!(status, 503, "{third}");
    assert_eq!(third["code"], "too_many_exports", "{third}");
    let (status, _) = post_form(
        &server,
        &colleague,
        &[("csrf", colleague.csrf.as_str()), ("unit", SAWAN)],
    )
    .await;
    assert_eq!(status, 503, "the form is refused alike");

    // Not finished: no download yet.
    let (status, body) = sawan
        .get(&format!("/evidence/packs/{first}/download"))
        .await;
    assert_eq!(status, 409, "{body}");

    // Someone else's pack, even in the same unit, does not exist for them; nor does an unknown id.
    for path in [
        format!("/evidence/packs/{first}"),
        format!("/evidence/packs/{first}/download"),
    ] {
        let (status, body) = colleague.get(&path).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    let (status, _) = page(&server, &colleague, &format!("/packs/{first}")).await;
    assert_eq!(status, 404);
    let (status, _) = page(&server, &colleague, &format!("/packs/{first}/download")).await;
    assert_eq!(status, 404);
    for id in [uuid::Uuid::now_v7().to_string(), "not-an-id".to_owned()] {
        let (status, _) = sawan.get(&format!("/evidence/packs/{id}")).await;
        assert_eq!(status, 404, "{id}");
    }

    // Once they finish, the slots are free again.
    gate.add_permits(1);
    let job = finished(async |p: &str| sawan.get(p).await, &first).await;
    assert_eq!(job["state"], "done", "{job}");
    let second = second["id"].as_str().expect("an id").to_owned();
    finished(async |p: &str| colleague.get(p).await, &second).await;
    let (status, body) = sawan.post("/evidence/packs", &json!({"unit": SAWAN})).await;
    assert_eq!(status, 202, "{body}");
    let last = body["id"].as_str().expect("an id").to_owned();
    finished(async |p: &str| sawan.get(p).await, &last).await;

    // A restart forgets the jobs, as the export page warns; the evidence is untouched.
    server.restart().await;
    let (status, _) = sawan.get(&format!("/evidence/packs/{first}")).await;
    assert_eq!(status, 404);
    let (_, html) = page(&server, &sawan, "/packs").await;
    assert!(html.contains("hilang bila server dimulai ulang"), "{html}");
    assert!(html.contains("id=\"no-packs\""), "{html}");
    server.finish().await;
}
