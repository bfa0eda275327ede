//! People and web sessions for tests: add a person with roles and a password straight into the
//! test server's directory (as the operator would), then sign in over HTTP and make requests the
//! way the web pages do, with the session cookie and the CSRF header.

use bukti_server::directory::service::{self, PersonInput};
use serde_json::Value;

use crate::{TestServer, status_json};

/// The password every test person gets.
pub const PASSWORD: &str = "sandi-uji-coba-2026";

impl TestServer {
    /// Adds a person in `unit` with `roles` and [`PASSWORD`].
    pub async fn person(&self, unit: &str, nrp: &str, roles: &[&str]) {
        let input = PersonInput {
            nrp: nrp.to_owned(),
            name: format!("Person {nrp}"),
            rank: "AKP".into(),
            unit: unit.to_owned(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            password: Some(PASSWORD.into()),
            ..Default::default()
        };
        service::add_person(&self.store, None, input)
            .await
            .unwrap_or_else(|e| panic!("add {nrp}: {e}"));
    }

    /// Signs in over HTTP; the answer's status and body, and the session when it worked.
    pub async fn sign_in(&self, nrp: &str, password: &str) -> (u16, Value, Option<Web>) {
        let http = reqwest::Client::new();
        let resp = http
            .post(format!("{}/api/v1/session", self.url))
            .json(&serde_json::json!({ "nrp": nrp, "password": password }))
            .send()
            .await
            .expect("sign in");
        let cookie = resp
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::to_owned);
        let (status, body) = status_json(resp).await;
        let web = cookie.filter(|_| status == 200).map(|cookie| Web {
            base: format!("{}/api/v1", self.url),
            csrf: body["csrf_token"].as_str().unwrap_or_default().to_owned(),
            cookie,
            http,
        });
        (status, body, web)
    }

    /// A signed-in session for `nrp` (with [`PASSWORD`]).
    pub async fn web(&self, nrp: &str) -> Web {
        let (status, body, web) = self.sign_in(nrp, PASSWORD).await;
        web.unwrap_or_else(|| panic!("sign in as {nrp}: {status} {body}"))
    }
}

/// A browser-like session: the cookie on every request, the CSRF token on changes.
#[derive(Debug, Clone)]
pub struct Web {
    pub base: String,
    pub cookie: String,
    pub csrf: String,
    pub http: reqwest::Client,
}

impl Web {
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .expect("GET");
        status_json(resp).await
    }

    /// POST with the CSRF header, as the pages send it.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_with_csrf(path, body, Some(&self.csrf)).await
    }

    pub async fn post_with_csrf(
        &self,
        path: &str,
        body: &Value,
        csrf: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .json(body);
        if let Some(csrf) = csrf {
            req = req.header("x-csrf-token", csrf);
        }
        status_json(req.send().await.expect("POST")).await
    }

    pub async fn sign_out(&self) -> u16 {
        self.http
            .delete(format!("{}/session", self.base))
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf)
            .send()
            .await
            .expect("DELETE session")
            .status()
            .as_u16()
    }
}
