//! Push signatures for tests that speak the protocol by hand (`docs/evidence.md`): raw devices
//! enrolled by [`crate::TestServer::raw_device`] register their key here, and every push sent
//! through [`crate::Hq`] is signed for them, as a real device signs, unless the body already
//! says what its `signature` is (a test of unsigned or forged pushes sets it itself).

use std::{
    collections::HashMap,
    sync::{LazyLock, Mutex},
};

use bukti_core::{evidence, evidence::push::SignedPush, protocol::PushSignature};
use ed25519_dalek::SigningKey;

/// A device's key and the actor (hex) it writes as.
#[derive(Debug, Clone)]
pub struct DeviceKey {
    pub key: SigningKey,
    pub actor: String,
}

static KEYS: LazyLock<Mutex<HashMap<String, DeviceKey>>> = LazyLock::new(Default::default);
static SERVER_KEYS: LazyLock<Mutex<HashMap<String, String>>> = LazyLock::new(Default::default);

/// Remembers which key signs the pushes sent with `token`.
pub fn register(token: &str, key: DeviceKey) {
    KEYS.lock().expect("keys").insert(token.to_owned(), key);
}

/// The key registered for `token`.
pub fn key_of(token: &str) -> Option<DeviceKey> {
    KEYS.lock().expect("keys").get(token).cloned()
}

/// The server key at `api` (`…/api/v1`), fetched once per server.
pub async fn server_key(http: &reqwest::Client, api: &str) -> String {
    if let Some(k) = SERVER_KEYS.lock().expect("server keys").get(api) {
        return k.clone();
    }
    let body: serde_json::Value = http
        .get(format!("{api}/evidence/key"))
        .send()
        .await
        .expect("GET /evidence/key")
        .json()
        .await
        .expect("the server key as JSON");
    let key = body["server_key"].as_str().expect("server_key").to_owned();
    SERVER_KEYS
        .lock()
        .expect("server keys")
        .insert(api.to_owned(), key.clone());
    key
}

/// The signature of a push body (`{"records": [{"id", "changes": [base64…]}]}`) by `device`
/// for the server holding `server_key`, at the device's clock `time_ms`.
pub fn sign(
    body: &serde_json::Value,
    device: &DeviceKey,
    server_key: &str,
    time_ms: i64,
) -> PushSignature {
    use base64::Engine;
    let records = body["records"]
        .as_array()
        .map(|records| {
            records
                .iter()
                .filter_map(|r| {
                    let id = r["id"].as_str()?.parse().ok()?;
                    let hashes = r["changes"]
                        .as_array()?
                        .iter()
                        .map(|c| {
                            let bytes = base64::engine::general_purpose::STANDARD
                                .decode(c.as_str().unwrap_or_default())
                                .unwrap_or_default();
                            evidence::change_hash(&bytes)
                        })
                        .collect();
                    Some((id, hashes))
                })
                .collect()
        })
        .unwrap_or_default();
    let message = SignedPush {
        server_key: server_key.to_owned(),
        device: device.actor.clone(),
        time_ms,
        records,
    }
    .message();
    PushSignature {
        server_key: server_key.to_owned(),
        time_ms,
        signature: evidence::sign(&device.key, &message),
    }
}

/// A push body (`/sync/push`) or one record's changes (`/records/{id}/changes`, signed as a
/// batch of that record) signed for the device holding `token`, as [`signed_for`] does.
pub async fn signed_request(
    http: &reqwest::Client,
    api: &str,
    path: &str,
    token: &str,
    body: &serde_json::Value,
) -> serde_json::Value {
    if path == "/sync/push" {
        return signed_for(http, api, token, body).await;
    }
    let one_record = path
        .strip_prefix("/records/")
        .and_then(|rest| rest.strip_suffix("/changes"));
    let Some(id) = one_record else {
        return body.clone();
    };
    let batch = serde_json::json!({"records": [{"id": id, "changes": body["changes"]}]});
    let signed = signed_for(http, api, token, &batch).await;
    let mut body = body.clone();
    if let (Some(sig), None) = (signed.get("signature"), body.get("signature")) {
        body["signature"] = sig.clone();
    }
    body
}

/// `body` signed for the device holding `token`, if it is a registered raw device and the body
/// does not already carry a `signature` field.
pub async fn signed_for(
    http: &reqwest::Client,
    api: &str,
    token: &str,
    body: &serde_json::Value,
) -> serde_json::Value {
    let Some(device) = key_of(token) else {
        return body.clone();
    };
    if body.get("signature").is_some() || !body.is_object() {
        return body.clone();
    }
    let server = server_key(http, api).await;
    let signature = sign(
        body,
        &device,
        &server,
        jiff::Timestamp::now().as_millisecond(),
    );
    let mut signed = body.clone();
    signed["signature"] = serde_json::to_value(signature).expect("a signature serialises");
    signed
}
