//! The console's pages under attack, over plain HTTP on both stores: forms without the session's
//! CSRF token change nothing, the sign-in form refuses a forged post and never redirects away
//! from the server, pages carry the security headers, text an officer typed is escaped, and
//! scope holds page by page.

use bukti_tests::{Backend, TestServer, both_stores, people::PASSWORD, push_entry};
use reqwest::{Client, Response, redirect::Policy};
use serde_json::json;

both_stores!(console_forms_and_pages_resist_forgery);

const SAWAN: &str = "bali/buleleng/sawan";
const XSS: &str = "<img src=x onerror=alert(1)>\"'&";

fn client() -> Client {
    Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client")
}

/// `name=value` of each `Set-Cookie` of `resp`.
fn cookies(resp: &Response) -> Vec<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .map(str::to_owned)
        .collect()
}

/// The value of the hidden input `name` in `html`.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .map(|i| i + marker.len())
        .unwrap_or_else(|| panic!("no hidden {name}"));
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Signs in through the form; the session cookie and a page's CSRF token.
async fn sign_in(server: &TestServer, nrp: &str, next: &str) -> (String, Response) {
    let http = client();
    let form = http
        .get(format!("{}/login?next={next}", server.url))
        .send()
        .await
        .expect("login page");
    let login_cookie = cookies(&form).join("; ");
    let csrf = hidden(&form.text().await.expect("html"), "csrf");
    let resp = http
        .post(format!("{}/login", server.url))
        .header("cookie", login_cookie)
        .form(&[
            ("nrp", nrp),
            ("password", PASSWORD),
            ("csrf", &csrf),
            ("next", next),
        ])
        .send()
        .await
        .expect("sign in");
    let session = cookies(&resp)
        .into_iter()
        .find(|c| c.starts_with("__Host-bukti_session="))
        .unwrap_or_default();
    (session, resp)
}

async fn page(server: &TestServer, session: &str, path: &str) -> (u16, String) {
    let resp = client()
        .get(format!("{}{path}", server.url))
        .header("cookie", session)
        .send()
        .await
        .expect("page");
    (resp.status().as_u16(), resp.text().await.expect("html"))
}

async fn post(server: &TestServer, session: &str, path: &str, form: &[(&str, &str)]) -> u16 {
    client()
        .post(format!("{}{path}", server.url))
        .header("cookie", session)
        .form(form)
        .send()
        .await
        .expect("post")
        .status()
        .as_u16()
}

async fn console_forms_and_pages_resist_forgery(backend: Backend) {
    let server = TestServer::start(backend).await;
    server
        .person("bali/buleleng", "85030001", &["reviewer", "operator"])
        .await;
    server
        .person("bali/buleleng/gerokgak", "85040001", &["reviewer"])
        .await;
    let dev = server.raw_device(SAWAN, "87010001").await;
    let mut doc = dev.record_doc(XSS);
    let id = doc.read().expect("record").id.to_string();
    let (_, body) = server
        .device_post(
            &dev.token,
            "/sync/push",
            &json!({"records": [push_entry(&mut doc)]}),
        )
        .await;
    assert_eq!(body["results"][0]["status"], "accepted", "{body}");

    // A sign-in form posted without the form's own token (another site's form) is refused.
    let forged = client()
        .post(format!("{}/login", server.url))
        .form(&[("nrp", "85030001"), ("password", PASSWORD), ("csrf", "x")])
        .send()
        .await
        .expect("forged sign-in");
    assert_eq!(forged.status().as_u16(), 403);
    assert!(
        cookies(&forged)
            .iter()
            .all(|c| !c.starts_with("__Host-bukti_session="))
    );

    // After sign-in the browser goes back only to a path on this server.
    for (next, expected) in [
        ("/records/".to_owned() + &id, format!("/records/{id}")),
        ("//evil.example/x".into(), "/records".into()),
        ("https://evil.example/".into(), "/records".into()),
        ("/\\evil.example".into(), "/records".into()),
    ] {
        let (session, resp) = sign_in(&server, "85030001", &next).await;
        assert!(!session.is_empty(), "signed in");
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert_eq!(location, expected, "next={next}");
    }
    let (session, _) = sign_in(&server, "85030001", "/records").await;

    // What the officer typed is text, never markup, on the list and on the record.
    for path in ["/records".to_owned(), format!("/records/{id}")] {
        let (status, html) = page(&server, &session, &path).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            !html.contains("<img src=x"),
            "{path} rendered the title as HTML"
        );
        let shown = html
            .find("onerror=alert(1)")
            .map(|i| html[i.saturating_sub(30)..i + 30].to_owned());
        assert!(
            html.contains("&#60;img src=x onerror=alert(1)&#62;"),
            "{path}: {shown:?}"
        );
    }

    // Every form of the console refuses a post without this session's CSRF token.
    let (_, html) = page(&server, &session, &format!("/records/{id}")).await;
    let token = hidden(&html, "csrf");
    let forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        (format!("/records/{id}/review"), vec![("comment", "palsu")]),
        (format!("/records/{id}/curate"), vec![("ready", "1")]),
        (format!("/records/{id}/forward"), vec![]),
        (
            "/worksheet/answer".into(),
            vec![
                ("unit", SAWAN),
                ("year", "2026"),
                ("area", "MP"),
                ("question", "MP.P1.1"),
                ("option", "ya"),
            ],
        ),
        (
            "/worksheet/figures".into(),
            vec![
                ("unit", SAWAN),
                ("year", "2026"),
                ("area", "MP"),
                ("ipak_survey", "4"),
            ],
        ),
        ("/logout".into(), vec![]),
    ];
    for (path, fields) in &forms {
        for csrf in ["", "wrong", &token[..token.len() - 1]] {
            let mut form = fields.clone();
            form.push(("csrf", csrf));
            assert_eq!(
                post(&server, &session, path, &form).await,
                403,
                "{path} csrf={csrf:?}"
            );
        }
    }
    // Nothing of it happened: no comment, still captured, no worksheet answer, still signed in.
    let (status, html) = page(&server, &session, &format!("/records/{id}")).await;
    assert_eq!(status, 200, "the session survived the forged sign-out");
    assert!(!html.contains("palsu"));
    assert!(html.contains("data-state=\"captured\""));
    let (_, worksheet) = server
        .hq(&server.admin_token)
        .get(&format!("/worksheets/2026?unit={SAWAN}"))
        .await;
    assert!(
        worksheet["questions"]
            .as_array()
            .is_some_and(|q| q.iter().all(|q| q["answer"].is_null()))
    );
    // With the token the same comment lands.
    let form = [("comment", "Sudah dicek"), ("csrf", token.as_str())];
    assert_eq!(
        post(&server, &session, &format!("/records/{id}/review"), &form).await,
        303
    );
    assert!(
        page(&server, &session, &format!("/records/{id}"))
            .await
            .1
            .contains("Sudah dicek")
    );

    // Another Polsek's reviewer: the record is not found, its list is empty of it.
    let (other, _) = sign_in(&server, "85040001", "/records").await;
    let (status, _) = page(&server, &other, &format!("/records/{id}")).await;
    assert_eq!(status, 404);
    assert_eq!(
        post(
            &server,
            &other,
            &format!("/records/{id}/review"),
            &[("comment", "x"), ("csrf", "x")]
        )
        .await,
        403,
        "the CSRF check comes first"
    );
    let (_, list) = page(&server, &other, "/records").await;
    assert!(!list.contains(&id));
    let (status, _) = page(&server, &other, &format!("/worksheet?unit={SAWAN}")).await;
    assert_eq!(status, 404, "another unit's worksheet");

    // Signed out, pages send the browser to sign in; every page carries the headers.
    let (status, _) = page(&server, "", "/records").await;
    assert_eq!(status, 303);
    for path in ["/login", "/records", "/dashboard", "/worksheet"] {
        let resp = client()
            .get(format!("{}{path}", server.url))
            .header("cookie", &session)
            .send()
            .await
            .expect("page");
        let h = resp.headers();
        let csp = h
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(
            csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert_eq!(
            h.get("x-frame-options").and_then(|v| v.to_str().ok()),
            Some("DENY"),
            "{path}"
        );
        assert_eq!(
            h.get("cache-control").and_then(|v| v.to_str().ok()),
            Some("no-store"),
            "{path}"
        );
    }
    server.finish().await;
}
