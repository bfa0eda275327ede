//! Devices made over raw HTTP, for tests that craft their own requests: enrollment bodies,
//! signed credentials and push bodies built from a record's changes.

use crate::{Hq, TestServer, sample_record, signing, status_json};

/// A device credential made over raw HTTP, for tests that craft their own requests.
#[derive(Debug, Clone)]
pub struct RawDevice {
    pub token: String,
    pub actor: automerge::ActorId,
    pub unit: String,
    pub officer: String,
}

impl TestServer {
    /// Enrolls a device over HTTP and returns its token and actor, without a device store.
    pub async fn raw_device(&self, unit: &str, officer: &str) -> RawDevice {
        self.raw_device_for(unit, officer, false).await
    }

    /// [`Self::raw_device`], enrolled for its officer's own records when `own_records_only`.
    pub async fn raw_device_for(
        &self,
        unit: &str,
        officer: &str,
        own_records_only: bool,
    ) -> RawDevice {
        let code = self
            .enrollment_code_for(unit, officer, own_records_only)
            .await;
        let actor = automerge::ActorId::random();
        let key = ed25519_dalek::SigningKey::from_bytes(&rand::random::<[u8; 32]>());
        let (status, body) = self
            .device_post(
                "",
                "/enroll",
                &enroll_request_with(&key, &code, &actor.to_hex_string()),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let token = body["token"].as_str().expect("token");
        signing::register(
            token,
            signing::DeviceKey {
                key,
                actor: actor.to_hex_string(),
            },
        );
        RawDevice {
            token: body["token"].as_str().expect("token").to_owned(),
            actor,
            unit: unit.to_owned(),
            officer: officer.to_owned(),
        }
    }

    /// Sends `body` to a device endpoint with `token`; returns status and JSON.
    pub async fn device_post(
        &self,
        token: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let hq = Hq {
            base: format!("{}/api/v1", self.url),
            token: token.to_owned(),
            http: reqwest::Client::new(),
        };
        hq.post(path, body).await
    }
}

/// Over HTTP with an admin's token, as a script would: adds `nrp` as an officer of `unit`
/// (unless already there) and returns a fresh enrollment code for them.
pub async fn issue_code_over_http(url: &str, admin_token: &str, unit: &str, nrp: &str) -> String {
    let http = reqwest::Client::new();
    let person = serde_json::json!({
        "nrp": nrp, "name": format!("Officer {nrp}"), "rank": "Bripka", "unit": unit,
        "roles": ["officer"],
    });
    let resp = http
        .post(format!("{url}/api/v1/people"))
        .bearer_auth(admin_token)
        .json(&person)
        .send()
        .await
        .expect("add the officer");
    let status = resp.status().as_u16();
    assert!(
        status == 201 || status == 409,
        "add officer {nrp}: {status}"
    );
    let resp = http
        .post(format!("{url}/api/v1/enrollments"))
        .bearer_auth(admin_token)
        .json(&serde_json::json!({ "officer": nrp }))
        .send()
        .await
        .expect("issue an enrollment code");
    let (status, body) = status_json(resp).await;
    assert_eq!(status, 201, "{body}");
    body["code"].as_str().expect("code").to_owned()
}

/// A correctly signed `POST /api/v1/enroll` body for `code` and `actor_hex`, with a fresh key.
pub fn enroll_request(code: &str, actor_hex: &str) -> serde_json::Value {
    let key = ed25519_dalek::SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    enroll_request_with(&key, code, actor_hex)
}

/// [`enroll_request`] for the device key `key`.
pub fn enroll_request_with(
    key: &ed25519_dalek::SigningKey,
    code: &str,
    actor_hex: &str,
) -> serde_json::Value {
    use ed25519_dalek::Signer;
    let public_key = hex::encode(key.verifying_key().to_bytes());
    let normalised = bukti_core::enrollment::normalize(code).unwrap_or_else(|_| code.to_owned());
    let message = bukti_core::enrollment::signing_message(&normalised, actor_hex, &public_key);
    serde_json::json!({
        "code": code, "device_name": "raw", "actor_id": actor_hex,
        "public_key": public_key, "signature": hex::encode(key.sign(&message).to_bytes()),
    })
}

impl RawDevice {
    /// A valid record captured by this device (see [`sample_record`]), as its document.
    pub fn record_doc(&self, title: &str) -> bukti_core::RecordDoc {
        let record = sample_record(&self.unit, &self.officer, title);
        bukti_core::RecordDoc::create(
            &record,
            self.actor.clone(),
            &format!("officer:{}", self.officer),
        )
    }
}

/// One record of a push body: its id and all its changes.
pub fn push_entry(doc: &mut bukti_core::RecordDoc) -> serde_json::Value {
    let id = doc.read().expect("record").id;
    serde_json::json!({"id": id.to_string(), "changes": changes_b64(doc, &[])})
}

/// Base64 of each change of `doc` since `heads`, as a push body wants them.
pub fn changes_b64(
    doc: &mut bukti_core::RecordDoc,
    heads: &[automerge::ChangeHash],
) -> Vec<String> {
    use base64::Engine;
    doc.automerge()
        .get_changes(heads)
        .iter()
        .map(|c| base64::engine::general_purpose::STANDARD.encode(c.raw_bytes()))
        .collect()
}
