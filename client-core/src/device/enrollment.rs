//! Enrolling the device with a server (a one-time code from the officer's Kapolsek, a fresh
//! signing key, the device's lasting Automerge actor) and reading the credential back.

use automerge::ActorId;

use super::{Device, DeviceError, Registration, client::SyncClient, store::key};
use crate::{protocol::EnrollRequest, sync as machine};

/// What capturing and syncing need from the registration.
pub(super) struct Credentials {
    pub registration: Registration,
    pub token: String,
    pub actor: ActorId,
}

impl Device {
    /// Enrolls this device with a server using a one-time enrollment code from the officer's
    /// Kapolsek or administrator. Refuses when the device already holds a credential; see
    /// [`Device::enroll_again`].
    pub async fn enroll(
        &self,
        server_url: &str,
        code: &str,
        device_name: &str,
    ) -> Result<Registration, DeviceError> {
        if let Some(existing) = self.registration().await? {
            return Err(DeviceError::AlreadyRegistered {
                server: existing.server_url,
                officer: existing.officer,
                unit: existing.unit,
            });
        }
        self.enroll_again(server_url, code, device_name).await
    }

    /// Enrolls even if the device already holds a credential (a revoked one, a new server,
    /// another officer), keeping the device's Automerge actor. Every record is queued again,
    /// since the (new) server may lack them.
    pub async fn enroll_again(
        &self,
        server_url: &str,
        code: &str,
        device_name: &str,
    ) -> Result<Registration, DeviceError> {
        let code =
            crate::enrollment::normalize(code).map_err(|e| DeviceError::Usage(e.to_string()))?;
        let server_url = server_url.trim_end_matches('/');
        if !(server_url.starts_with("https://") || server_url.starts_with("http://")) {
            return Err(DeviceError::Usage(format!(
                "{server_url:?} is not a server address: use https://HOST[:PORT] \
                 (or http://HOST:PORT on a trusted local network)"
            )));
        }
        // A device keeps its actor across enrollments: edits made before enrolling again (and
        // not yet pushed) were written with it, and the server accepts only the enrolled
        // actor's changes.
        let actor = match self.store.meta(key::ACTOR_ID).await? {
            Some(hex) => ActorId::from(hex::decode(&hex).map_err(|_| {
                DeviceError::Corrupt(format!("stored actor id {hex:?} is not hex"))
            })?),
            None => ActorId::random(),
        };
        // A fresh key per enrollment: a revoked device's old key proves nothing any more.
        let key = ed25519_dalek::SigningKey::from_bytes(&rand::random::<[u8; 32]>());
        let public_key = hex::encode(key.verifying_key().to_bytes());
        let actor_id = actor.to_hex_string();
        let message = crate::enrollment::signing_message(&code, &actor_id, &public_key);
        let signature = ed25519_dalek::Signer::sign(&key, &message);
        let request = EnrollRequest {
            code,
            device_name: device_name.to_owned(),
            actor_id,
            public_key,
            signature: hex::encode(signature.to_bytes()),
        };
        let defaults = machine::Config::sync(0);
        let answer = SyncClient::new(server_url, "", defaults.stall_timeout)?
            .enroll(&request, defaults.request_timeout)
            .await?;
        let signing_key = hex::encode(key.to_bytes());
        let registration = Registration {
            server_url: server_url.to_owned(),
            device_id: answer.device_id,
            officer: answer.officer,
            unit: answer.unit,
            device_name: device_name.to_owned(),
            actor_id: actor.to_hex_string(),
        };
        let mut tx = self.store.begin().await?;
        let device_id = registration.device_id.to_string();
        for (k, v) in [
            (key::SERVER_URL, registration.server_url.as_str()),
            (key::DEVICE_TOKEN, answer.token.as_str()),
            (key::DEVICE_ID, device_id.as_str()),
            (key::DEVICE_NAME, registration.device_name.as_str()),
            (key::ACTOR_ID, registration.actor_id.as_str()),
            (key::OFFICER, registration.officer.as_str()),
            (key::UNIT, registration.unit.as_str()),
            (key::SIGNING_KEY, signing_key.as_str()),
            // Pinned now; an older server without one has it fetched at the first sync.
            (
                key::SERVER_KEY,
                answer.server_key.as_deref().unwrap_or_default(),
            ),
            // A head of another server's log (or of this one before) says nothing now.
            (key::LOG_HEAD, ""),
        ] {
            tx.set_meta(k, v).await?;
        }
        tx.reset_sync_state().await?;
        tx.commit().await?;
        Ok(registration)
    }

    /// The enrollment, or `None` before [`Device::enroll`].
    pub async fn registration(&self) -> Result<Option<Registration>, DeviceError> {
        Ok(self.credentials().await?.map(|c| c.registration))
    }

    pub(super) async fn credentials(&self) -> Result<Option<Credentials>, DeviceError> {
        let mut meta = self.store.meta_all().await?;
        let mut take = |k: &str| meta.remove(k).unwrap_or_default();
        let token = take(key::DEVICE_TOKEN);
        if token.is_empty() {
            return Ok(None);
        }
        let actor_id = take(key::ACTOR_ID);
        let actor = hex::decode(&actor_id)
            .map(ActorId::from)
            .map_err(|e| DeviceError::Corrupt(format!("stored actor id {actor_id:?}: {e}")))?;
        let device_id = take(key::DEVICE_ID);
        let device_id = device_id
            .parse()
            .map_err(|e| DeviceError::Corrupt(format!("stored device id {device_id:?}: {e}")))?;
        let registration = Registration {
            server_url: take(key::SERVER_URL),
            device_id,
            officer: take(key::OFFICER),
            unit: take(key::UNIT),
            device_name: take(key::DEVICE_NAME),
            actor_id,
        };
        Ok(Some(Credentials {
            registration,
            token,
            actor,
        }))
    }

    pub(super) async fn registered(&self) -> Result<Credentials, DeviceError> {
        self.credentials().await?.ok_or(DeviceError::NotRegistered)
    }
}
