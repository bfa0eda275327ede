//! Times in the JSON API are RFC 3339 everywhere (list summaries once gave Unix milliseconds
//! while record views gave RFC 3339): every time field of the answers HQ and devices read, on
//! both stores, is an RFC 3339 string, and the only integer times are the `time_ms` of signed
//! messages (the number the signature covers).

use bukti_tests::{Backend, TestServer, both_stores, visit};
use serde_json::{Value, json};

const SAWAN: &str = "bali/buleleng/sawan";

/// Every time field in `body` (at any depth), with where it is; fails on an integer time.
fn times(what: &str, body: &Value, found: &mut Vec<String>) {
    match body {
        Value::Object(map) => {
            for (key, value) in map {
                let timeish = key == "at" || key.ends_with("_at") || key.ends_with("_until");
                if timeish && !value.is_null() {
                    let text = value.as_str().unwrap_or_else(|| {
                        panic!("{what}: {key} is {value}, not an RFC 3339 string")
                    });
                    text.parse::<jiff::Timestamp>().unwrap_or_else(|e| {
                        panic!("{what}: {key} = {text:?} is not RFC 3339: {e}")
                    });
                    found.push(format!("{what}.{key}"));
                }
                assert!(
                    !key.ends_with("_ms") || key == "time_ms",
                    "{what}: {key} is an integer time"
                );
                times(what, value, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| times(what, v, found)),
        _ => {}
    }
}

async fn every_time_is_rfc3339(backend: Backend) {
    let server = TestServer::start(backend).await;
    let putu = server.device(SAWAN, "87010123").await;
    let id = putu
        .device
        .capture(visit("Sambang Desa Sudaji".into()))
        .await
        .expect("capture");
    putu.sync().await;
    let admin = server.hq(&server.admin_token);
    let mut found = Vec::new();

    let (s, issued) = admin
        .post("/enrollments", &json!({"officer": "87010123"}))
        .await;
    assert_eq!(s, 201, "{issued}");
    times("enrollment", &issued, &mut found);
    let (s, devices) = admin.get("/devices").await;
    assert_eq!(s, 200, "{devices}");
    times("devices", &devices, &mut found);
    let device_id = devices[0]["id"].as_str().expect("device id").to_owned();
    let (s, revoked) = admin
        .post(&format!("/devices/{device_id}/revoke"), &json!({}))
        .await;
    assert_eq!(s, 200, "{revoked}");
    times("revoked device", &revoked, &mut found);

    let (s, person) = admin
        .post(
            "/people",
            &json!({"nrp": "85030001", "name": "Kasat", "rank": "AKP", "unit": "bali/buleleng",
                    "roles": ["reviewer"], "access_until": "2030-01-01T00:00:00+08:00"}),
        )
        .await;
    assert_eq!(s, 201, "{person}");
    assert_eq!(person["access_until"], "2029-12-31T16:00:00Z", "{person}");
    times("person", &person, &mut found);
    for path in [
        "/people",
        "/me",
        "/records",
        &format!("/records/{id}"),
        "/audit",
    ] {
        let (s, body) = admin.get(path).await;
        assert_eq!(s, 200, "{path}: {body}");
        times(path, &body, &mut found);
    }

    for expected in [
        "enrollment.expires_at",
        "devices.created_at",
        "revoked device.revoked_at",
        "person.access_until",
        "/records.captured_at",
        "/records.started_at",
        "/records.updated_at",
        &format!("/records/{id}.at"),
        &format!("/records/{id}.captured_at"),
        "/audit.at",
    ] {
        assert!(
            found.iter().any(|f| f == expected),
            "no {expected} checked; found {found:?}"
        );
    }
    server.finish().await;
}

both_stores!(every_time_is_rfc3339);
