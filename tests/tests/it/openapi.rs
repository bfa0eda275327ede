//! The OpenAPI description (`server/src/openapi.rs`): the committed `docs/openapi.json` is what
//! the code generates, the server serves the same document, and every route the server answers
//! is in it with exactly the methods it answers (so a route added without its `#[utoipa::path]`
//! fails here, as does a description of a route that is not served).

use std::collections::BTreeSet;

use bukti_tests::{Backend, TestServer};
use serde_json::Value;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn committed_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json")
}

fn generated() -> Value {
    serde_json::from_str(&bukti_server::openapi::json()).expect("the generated document is JSON")
}

#[test]
fn committed_description_is_the_generated_one() {
    let fresh = bukti_server::openapi::json();
    let path = committed_path();
    if std::env::var_os("BUKTI_BLESS").is_some() {
        std::fs::write(&path, &fresh).expect("write docs/openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "docs/openapi.json differs from the API the code describes; refresh it with \
         `cargo run -p bukti-server -- openapi > docs/openapi.json` (or \
         `BUKTI_BLESS=1 cargo nextest run -E 'test(openapi::)'`) and commit it"
    );
}

/// Methods the description lists per path (axum answers HEAD wherever it answers GET).
fn described(spec: &Value) -> Vec<(String, BTreeSet<String>)> {
    let paths = spec["paths"].as_object().expect("paths");
    assert!(paths.len() > 30, "suspiciously few paths: {}", paths.len());
    paths
        .iter()
        .map(|(path, item)| {
            let mut methods: BTreeSet<String> = METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| m.to_uppercase())
                .collect();
            if methods.contains("GET") {
                methods.insert("HEAD".into());
            }
            (path.clone(), methods)
        })
        .collect()
}

/// A concrete URL path for a templated one: every `{parameter}` filled (with two segments for
/// the unit path, which takes slashes).
fn concrete(path: &str) -> String {
    path.replace("{path}", "bali/sawan")
        .split('/')
        .map(|seg| if seg.starts_with('{') { "x" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_described_and_every_description_is_served() {
    let server = TestServer::start(Backend::Sqlite).await;
    let http = reqwest::Client::new();

    let served: Value = http
        .get(format!("{}/api/v1/openapi.json", server.url))
        .send()
        .await
        .expect("GET openapi.json")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        served,
        generated(),
        "the served document is the generated one"
    );

    // A method a route does not take gets 405 with the methods it does take in `Allow`; a path
    // no route matches gets 404. So one request per described path shows that it is served,
    // and with exactly the described methods (a method added to a path without a description
    // shows up in `Allow`).
    for (path, methods) in described(&served) {
        let url = format!("{}{}", server.url, concrete(&path));
        let resp = http
            .request(reqwest::Method::TRACE, &url)
            .send()
            .await
            .expect("TRACE");
        assert_eq!(
            resp.status().as_u16(),
            405,
            "{path} is described but not served"
        );
        let allow: BTreeSet<String> = resp
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .split(',')
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty())
            .collect();
        assert_eq!(allow, methods, "{path}: methods served vs described");
    }
    server.finish().await;
}

/// The other half of "every route is described": the router is built from the described
/// handlers (`routes::documented`), and no code registers a route another way, except the HQ
/// console's HTML pages (`server/src/web`, not part of the API).
#[test]
fn routes_are_registered_only_through_their_descriptions() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/src");
    let mut offenders = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read server/src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                if path != src.join("web") {
                    stack.push(path);
                }
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for needle in [
                ".route(",
                ".route_service(",
                ".nest_service(",
                "Router::new()",
            ] {
                for (n, line) in text.lines().enumerate() {
                    // The one plain router: the documented routes, the console and the fallback.
                    let allowed = needle == "Router::new()"
                        && path.ends_with("routes.rs")
                        && text[..].contains(".merge(documented)");
                    if line.contains(needle) && !line.trim_start().starts_with("//") && !allowed {
                        offenders.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "routes registered outside `routes::documented` (give the handler a #[utoipa::path] \
         and add it with `routes!` there):\n{}",
        offenders.join("\n")
    );
}

/// Every time field of every body the description lists is an RFC 3339 string, and the only
/// integer times left are inside signed messages (`time_ms`, the number that was signed).
#[test]
fn times_are_described_as_rfc3339() {
    let spec = generated();
    let schemas = spec["components"]["schemas"].as_object().expect("schemas");
    let mut wrong = Vec::new();
    for (name, schema) in schemas {
        let mut stack = vec![schema];
        while let Some(s) = stack.pop() {
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                for (field, p) in props {
                    let timeish =
                        field == "at" || field.ends_with("_at") || field.ends_with("_until");
                    // An input that also takes a plain date (`2030-01-01`) is not a date-time.
                    let takes_dates = name == "PersonInput" && field == "access_until";
                    if timeish && !takes_dates && !is_date_time(p) {
                        wrong.push(format!("{name}.{field}: {p}"));
                    }
                    if field.ends_with("_ms") && field != "time_ms" {
                        wrong.push(format!("{name}.{field}: an integer time"));
                    }
                }
            }
            for key in ["allOf", "oneOf", "anyOf"] {
                if let Some(parts) = s.get(key).and_then(Value::as_array) {
                    stack.extend(parts);
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "times not RFC 3339:\n{}",
        wrong.join("\n")
    );
}

fn is_date_time(p: &Value) -> bool {
    let string =
        |t: &Value| t == "string" || t.as_array().is_some_and(|a| a.contains(&"string".into()));
    p["format"] == "date-time" && string(&p["type"])
        || p.get("oneOf")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(is_date_time))
}
