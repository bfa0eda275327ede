//! Verifiable evidence on the server (issue 11; the formats are `bukti_core::evidence`): the
//! server's signing key, the check of a device's push signature before anything of the batch
//! is applied, the receipt a push is answered with, and the signed head of the evidence log.
//!
//! The log itself is written by ingest's one write path, in the same transaction as the records
//! it describes ([`crate::store::RecordWrite::log`]), so an acknowledged change is always in the
//! log and the log never names a change that was not stored. [`verify`] walks log, documents
//! and projection afterwards and names the first thing that does not match.
//!
//! Records stored before the log existed are adopted into it once, when the store is opened
//! ([`adopt`]).
//!
//! [`verify`]: crate::ops::verify

pub mod adopt;

use std::{collections::HashMap, sync::Arc};

use bukti_core::{
    RecordId,
    evidence::{
        self, SignatureError,
        log::{LogHead, SignedHead},
        push::SignedPush,
        receipt::{Receipt, ReceiptRecord},
    },
    protocol::{PushRecord, PushSignature},
};
use ed25519_dalek::SigningKey;

use crate::{
    directory::Principal,
    store::{DynStore, StoreError, evidence::SignedPushRow},
};

/// The server's Ed25519 key. Made on first start and kept in the database, so every process
/// serving one database signs with the same key.
#[derive(Clone)]
pub struct ServerKey {
    key: Arc<SigningKey>,
    public: Arc<str>,
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl ServerKey {
    /// The stored key, or a new one stored now (the first process to store it wins).
    pub async fn load_or_create(store: &DynStore) -> Result<Self, StoreError> {
        let fresh = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
        let secret = store.server_key(&fresh.to_bytes()).await?;
        let bytes: [u8; 32] = secret
            .as_slice()
            .try_into()
            .map_err(|_| StoreError::Corrupt("the stored server key is not 32 bytes".into()))?;
        Ok(Self::from_secret(&bytes))
    }

    pub fn from_secret(secret: &[u8; 32]) -> Self {
        let key = SigningKey::from_bytes(secret);
        let public = hex::encode(key.verifying_key().to_bytes());
        Self {
            key: Arc::new(key),
            public: public.into(),
        }
    }

    /// The public key as 64 hex digits: what devices and evaluators trust.
    pub fn public_hex(&self) -> &str {
        &self.public
    }

    /// Signs `message` (an evidence pack's manifest); 128 hex digits.
    pub fn sign(&self, message: &str) -> String {
        evidence::sign(&self.key, message)
    }

    pub fn sign_head(&self, head: &LogHead) -> SignedHead {
        SignedHead::new(&self.key, head, jiff::Timestamp::now().as_millisecond())
    }

    /// A receipt for the signed push `push` (the SHA-256 of its message).
    pub fn receipt(
        &self,
        device: &str,
        push: &str,
        log: LogHead,
        records: Vec<ReceiptRecord>,
    ) -> Receipt {
        Receipt::issue(
            &self.key,
            jiff::Timestamp::now().as_millisecond(),
            device,
            push,
            log,
            records,
        )
    }
}

/// A push batch's signature, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushProof {
    /// The signed message and signature, as kept beside the changes they cover.
    pub row: Arc<SignedPushRow>,
    /// The device's actor id (hex).
    pub device: String,
    /// The device's clock when it signed.
    pub time_ms: i64,
    /// Each record's change hashes as signed.
    pub changes: HashMap<RecordId, Vec<String>>,
}

/// Why a push batch's signature was refused; nothing of the batch was applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushSignatureError {
    #[error(
        "this push is not signed: a device signs every push with its key (update the app, or enroll the device again)"
    )]
    Unsigned,
    #[error(
        "this device has no signing key on record: enroll it again with a new code to sign its pushes"
    )]
    NoDeviceKey,
    #[error(
        "this push was signed for another server (key {found}); this server's key is {ours}: sync with the server the device enrolled with, or enroll it here"
    )]
    OtherServer { found: String, ours: String },
    #[error("the push signature does not check out: {0}")]
    Signature(#[from] SignatureError),
}

/// Checks `signature` over `records` as sent by `device`, whose credential holds
/// `device_key`, for this server's `key`. Pure.
pub fn verify_push(
    key: &ServerKey,
    device: &Principal,
    device_key: Option<&[u8]>,
    records: &[PushRecord],
    signature: Option<&PushSignature>,
) -> Result<PushProof, PushSignatureError> {
    let sig = signature.ok_or(PushSignatureError::Unsigned)?;
    let public = device_key.ok_or(PushSignatureError::NoDeviceKey)?;
    if !sig.server_key.eq_ignore_ascii_case(key.public_hex()) {
        return Err(PushSignatureError::OtherServer {
            found: sig.server_key.clone(),
            ours: key.public_hex().to_owned(),
        });
    }
    let mut signed = SignedPush {
        server_key: key.public_hex().to_owned(),
        device: device.actor_id.clone().unwrap_or_default().to_lowercase(),
        time_ms: sig.time_ms,
        records: Vec::with_capacity(records.len()),
    };
    for r in records {
        let hashes = r.changes.iter().map(|c| evidence::change_hash(c)).collect();
        signed.records.push((r.id, hashes));
    }
    let message = signed.message();
    let public = evidence::public_key(&hex::encode(public))?;
    evidence::verify(&public, &message, &sig.signature, "push")?;
    Ok(PushProof {
        row: Arc::new(SignedPushRow {
            hash: evidence::sha256_hex(message.as_bytes()),
            device: signed.device.clone(),
            message,
            signature: sig.signature.to_lowercase(),
        }),
        device: signed.device,
        time_ms: sig.time_ms,
        changes: signed.records.into_iter().collect(),
    })
}
