//! The receipt a server gives for a push: signed with the server's key, it says which heads of
//! which records the server stored, when, for which signed push, and where the evidence log stood
//! once they were in. A device keeps its receipts; anyone holding the server's public key checks
//! one offline.
//!
//! ```text
//! bukti-receipt/1
//! server <server public key, hex>
//! time <server clock, Unix milliseconds>
//! device <actor id, hex>
//! push <SHA-256 of the signed push message, hex>
//! log <seq> <hash>
//! record <record id> <head>,<head>,...
//! ```
//!
//! One `record` line per record the server stored or already held, in request order.

use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use super::{SignatureError, log::LogHead, public_key, sign, verify};
use crate::RecordId;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceiptRecord {
    pub id: RecordId,
    pub heads: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Receipt {
    pub server_key: String,
    pub time_ms: i64,
    pub device: String,
    pub push: String,
    pub log: LogHead,
    pub records: Vec<ReceiptRecord>,
    pub signature: String,
}

impl Receipt {
    /// A receipt signed with the server's `key`.
    pub fn issue(
        key: &SigningKey,
        time_ms: i64,
        device: &str,
        push: &str,
        log: LogHead,
        records: Vec<ReceiptRecord>,
    ) -> Self {
        let mut receipt = Self {
            server_key: hex::encode(key.verifying_key().to_bytes()),
            time_ms,
            device: device.to_owned(),
            push: push.to_owned(),
            log,
            records,
            signature: String::new(),
        };
        receipt.signature = sign(key, &receipt.message());
        receipt
    }

    /// The exact text the server signs.
    pub fn message(&self) -> String {
        let mut m = format!(
            "bukti-receipt/1\nserver {}\ntime {}\ndevice {}\npush {}\nlog {} {}\n",
            self.server_key, self.time_ms, self.device, self.push, self.log.seq, self.log.hash
        );
        for r in &self.records {
            m.push_str(&format!("record {} {}\n", r.id, r.heads.join(",")));
        }
        m
    }

    /// Checks the receipt against the server key the checker trusts (hex).
    pub fn verify(&self, trusted_server_key: &str) -> Result<(), SignatureError> {
        if !self.server_key.eq_ignore_ascii_case(trusted_server_key) {
            return Err(SignatureError::OtherServer {
                found: self.server_key.clone(),
                trusted: trusted_server_key.to_owned(),
            });
        }
        verify(
            &public_key(trusted_server_key)?,
            &self.message(),
            &self.signature,
            "receipt",
        )
    }

    /// The heads this receipt vouches for `id`, if it names it.
    pub fn heads_of(&self, id: RecordId) -> Option<&[String]> {
        self.records
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.heads.as_slice())
    }
}
