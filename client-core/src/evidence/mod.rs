//! What is signed, byte for byte, so that tampering with evidence shows to anyone holding the
//! public keys, offline and years later.
//!
//! - [`push`]: a device signs each push batch (its actor, the server it is meant for, its clock,
//!   every record and the hashes of the Automerge changes it carries) with its Ed25519 key.
//! - [`receipt`]: the server answers with a receipt signed by its own key: which heads of which
//!   records it stored, when, and where its evidence log stood afterwards.
//! - [`flags`]: the anomalies a reviewer is asked to look at (a reused or edited photo, a place
//!   outside the unit's area, a device clock that was off), with their plain explanations.
//! - [`log`]: the server's append-only evidence log, hash-chained entry by entry, and the signed
//!   log head every syncing device keeps, so a truncated or rewritten log is caught.
//!
//! Every signed message is plain UTF-8 text, one `key value` field per line, so a client in any
//! language can build it and a person can read it; `docs/protocol.md` specifies each one.

pub mod flags;
pub mod log;
pub mod pack;
pub mod push;
pub mod receipt;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

/// Why a signed message did not check out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the {what} is not {expected}")]
    Malformed {
        what: &'static str,
        expected: &'static str,
    },
    #[error("the signature does not match the {0}: it was altered or signed with another key")]
    Mismatch(&'static str),
    #[error("signed by server key {found}, but this device trusts server key {trusted}")]
    OtherServer { found: String, trusted: String },
}

/// SHA-256 of `bytes`, as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The hash Automerge gives a raw (uncompressed) change chunk: SHA-256 of everything after the
/// 4 magic and 4 checksum bytes (of nothing, for bytes too short to be a change, so that a
/// batch holding one is still signed and that record alone refused).
pub fn change_hash(raw_change: &[u8]) -> String {
    sha256_hex(raw_change.get(8..).unwrap_or_default())
}

/// Signs `message`; the signature as 128 hex digits.
pub fn sign(key: &SigningKey, message: &str) -> String {
    hex::encode(key.sign(message.as_bytes()).to_bytes())
}

/// An Ed25519 public key from 64 hex digits.
pub fn public_key(hex_key: &str) -> Result<VerifyingKey, SignatureError> {
    let malformed = SignatureError::Malformed {
        what: "public key",
        expected: "an Ed25519 key as 64 hex digits",
    };
    let bytes: [u8; 32] = hex::decode(hex_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(malformed.clone())?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| malformed)
}

/// Checks a hex `signature` of `message` under `key`; `what` names the message in errors.
pub fn verify(
    key: &VerifyingKey,
    message: &str,
    signature: &str,
    what: &'static str,
) -> Result<(), SignatureError> {
    let bytes: [u8; 64] = hex::decode(signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(SignatureError::Malformed {
            what: "signature",
            expected: "an Ed25519 signature as 128 hex digits",
        })?;
    key.verify(message.as_bytes(), &Signature::from_bytes(&bytes))
        .map_err(|_| SignatureError::Mismatch(what))
}

/// Reads a `key value` line of a signed message.
fn field<'a>(line: Option<&'a str>, key: &'static str) -> Result<&'a str, SignatureError> {
    line.and_then(|l| l.strip_prefix(key))
        .and_then(|rest| rest.strip_prefix(' '))
        .ok_or(SignatureError::Malformed {
            what: "signed text",
            expected: "in the documented layout",
        })
}

#[cfg(test)]
mod tests;
