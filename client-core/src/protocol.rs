//! The sync protocol's wire types, shared by the device and the server. `docs/protocol.md`
//! describes the exchange; this module is its single source of truth for shapes and limits.
//!
//! Bodies are JSON; Automerge bytes travel base64-encoded. Every request carries
//! [`PROTOCOL_HEADER`]; a server that cannot speak the device's version answers 426 with
//! [`ErrorBody::code`] `protocol_version`.

use serde::{Deserialize, Serialize};

use crate::{RecordId, record::Problem};

/// Version of this protocol. Bumped only for changes an older peer cannot ignore.
pub const PROTOCOL_VERSION: u32 = 1;
/// Request header carrying [`PROTOCOL_VERSION`].
pub const PROTOCOL_HEADER: &str = "bukti-protocol";

/// Most records in one push batch.
pub const MAX_PUSH_RECORDS: usize = 500;
/// Largest request body the server reads (after decompression).
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// Most records in one pull page.
pub const MAX_PULL_LIMIT: u32 = 1000;
/// Pull page size when the device does not ask for one.
pub const DEFAULT_PULL_LIMIT: u32 = 500;

/// `POST /api/v1/sync/push`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushRequest {
    pub records: Vec<PushRecord>,
    /// The device's signature over the batch ([`crate::evidence::push`]). Required from every
    /// enrolled device; the server refuses a batch without it, or whose signature does not match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<PushSignature>,
}

/// What a device adds to a push batch to sign it: the fields of the signed message that are
/// not in the batch itself, and the signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushSignature {
    /// The server's public key (hex) the batch is meant for (`GET /api/v1/evidence/key`).
    pub server_key: String,
    /// The device's clock when it signed, Unix milliseconds.
    pub time_ms: i64,
    /// Ed25519 signature of the `bukti-push/1` message, 128 hex digits.
    pub signature: String,
}

/// The changes one record has that the server lacks, as far as the device knows.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushRecord {
    pub id: RecordId,
    /// Raw (uncompressed) Automerge change chunks, each base64-encoded.
    #[serde(with = "b64_list")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub changes: Vec<Vec<u8>>,
}

/// `POST /api/v1/records/{id}/changes`: one record's changes, its id in the URL, signed as a
/// push batch of that one record.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordChanges {
    #[serde(with = "b64_list")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub changes: Vec<Vec<u8>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<PushSignature>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushResponse {
    /// One result per pushed record, in request order.
    pub results: Vec<PushResult>,
    /// The server's signed receipt for the records it holds (accepted or already held).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<crate::evidence::receipt::Receipt>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushResult {
    pub id: RecordId,
    #[serde(flatten)]
    pub outcome: PushOutcome,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PushOutcome {
    /// The record is durable on the server with these heads. `changed` is false for a replay.
    Accepted { heads: Vec<String>, changed: bool },
    /// Nothing of this record was stored; the reason says why and what to do.
    Rejected {
        code: RejectCode,
        reason: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        problems: Vec<Problem>,
    },
}

/// Why a pushed record was refused. Devices act on the code; people read the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    /// The bytes are not Automerge changes. Retrying the same bytes will not help.
    CorruptChanges,
    /// The changes build on history the server lacks: resend the record's full history.
    MissingDependencies,
    /// The document's `id` field is not the id it was pushed under.
    IdMismatch,
    /// The merged document fails validation; `problems` lists each field.
    Invalid,
    /// The record belongs to a unit outside the pusher's scope.
    OutOfScope,
    /// The record or one of its changes is over a size limit.
    TooLarge,
    /// The same record appears twice in one batch.
    Duplicate,
    /// The changes touch what this pusher may not change: another actor's changes, the
    /// record's officer or capture time, or HQ's review section.
    Forbidden,
}

impl RejectCode {
    /// Whether the device should keep the record queued and try again later (after resending
    /// history) rather than wait for a person to fix it.
    pub fn is_retryable(self) -> bool {
        matches!(self, RejectCode::MissingDependencies)
    }
}

/// `GET /api/v1/sync/pull?since=<cursor>&limit=<n>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullResponse {
    pub records: Vec<PulledRecord>,
    /// Pass as `since` next time. Never goes backwards.
    pub cursor: i64,
    /// True when more records are waiting beyond this page.
    pub more: bool,
    /// The evidence log's head, signed now: a device keeps the newest it has seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_head: Option<crate::evidence::log::SignedHead>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PulledRecord {
    pub id: RecordId,
    /// Position in the change feed.
    pub seq: i64,
    pub heads: Vec<String>,
    /// The whole document (compacted), base64.
    #[serde(with = "b64")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Byte))]
    pub doc: Vec<u8>,
}

/// `POST /api/v1/enroll`: a phone redeems a one-time enrollment code. It sends the Automerge
/// actor it will write with and a fresh Ed25519 public key, and signs
/// [`crate::enrollment::signing_message`] with that key to prove it holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollRequest {
    pub code: String,
    pub device_name: String,
    /// The Automerge actor id (hex) the device will write with.
    pub actor_id: String,
    /// Ed25519 public key, 32 bytes as hex.
    pub public_key: String,
    /// Ed25519 signature of the signing message, 64 bytes as hex.
    pub signature: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollResponse {
    pub device_id: uuid::Uuid,
    /// Bearer token for every later request. Shown once.
    pub token: String,
    pub unit: String,
    /// The officer's NRP: the device captures in this name only.
    pub officer: String,
    pub officer_name: String,
    /// The device pulls only its officer's own records.
    pub own_records_only: bool,
    /// The server's public key (hex): the device trusts receipts and log heads signed with it.
    #[serde(default)]
    pub server_key: Option<String>,
}

/// `GET /api/v1/evidence/key`: the key this server signs receipts and log heads with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerKeyResponse {
    pub server_key: String,
}

/// `GET /api/v1/evidence/log/{seq}`: an evidence-log entry's hash, so a device can check that
/// the entry it saw as the head is still there, unchanged.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogEntryHash {
    pub seq: i64,
    pub hash: String,
}

/// Largest chunk one `PATCH /api/v1/blobs/{hash}` carries.
pub const MAX_CHUNK_BYTES: usize = 8 * 1024 * 1024;
/// Largest blob (photo rendition) a server accepts unless configured otherwise.
pub const DEFAULT_MAX_BLOB_BYTES: u64 = 25 * 1024 * 1024;
/// Most hashes in one `POST /api/v1/blobs/missing`.
pub const MAX_MISSING_QUERY: usize = 1000;
/// Request and response header: bytes of the blob the server holds (or the chunk starts at).
pub const UPLOAD_OFFSET_HEADER: &str = "upload-offset";
/// Request header: the blob's total length in bytes.
pub const UPLOAD_LENGTH_HEADER: &str = "upload-length";

/// `POST /api/v1/blobs/missing`: which of these hashes does the server still need?
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MissingBlobsRequest {
    /// SHA-256 hashes (64 lowercase hex digits), at most [`MAX_MISSING_QUERY`].
    pub hashes: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MissingBlobsResponse {
    /// Referred to by a record in the device's unit and not yet complete on the server.
    pub missing: Vec<MissingBlob>,
    /// No record in the device's unit refers to these: push the record first.
    pub unknown: Vec<String>,
}

/// A blob the server lacks and where to resume its upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MissingBlob {
    pub hash: String,
    /// Bytes of a partial upload the server already holds durably (0 when none).
    pub offset: u64,
}

/// `PATCH /api/v1/blobs/{hash}` answer: `200` with `complete: false`, `201` when complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadResponse {
    pub hash: String,
    /// Bytes the server now holds durably; the next chunk starts here.
    pub offset: u64,
    /// The whole blob arrived and hashed to `hash`; it is now visible.
    pub complete: bool,
}

/// Extra field of a `409 offset_mismatch` error body (next to `code` and `message`): the
/// server's durable offset; parse the error body as this to resume there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OffsetMismatch {
    pub offset: u64,
}

/// `GET /api/v1/blobs/requested`: originals HQ asked the device's unit to upload.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestedBlobs {
    pub hashes: Vec<String>,
}

/// The body of every error response.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `body_too_large`, `unauthorized`, `not_found`.
    pub code: String,
    /// What went wrong and what to do about it.
    pub message: String,
}

mod b64 {
    use base64::{Engine, engine::general_purpose::STANDARD};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD.decode(s.as_bytes()).map_err(D::Error::custom)
    }
}

mod b64_list {
    use base64::{Engine, engine::general_purpose::STANDARD};
    use serde::{Deserialize, Deserializer, Serializer, de::Error, ser::SerializeSeq};

    pub fn serialize<S: Serializer>(list: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(list.len()))?;
        for bytes in list {
            seq.serialize_element(&STANDARD.encode(bytes))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        let list = <Vec<std::borrow::Cow<'de, str>>>::deserialize(d)?;
        list.iter()
            .map(|s| STANDARD.decode(s.as_bytes()).map_err(D::Error::custom))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_have_a_stable_wire_shape() {
        let id: RecordId = "0193a6b2-0000-7000-8000-000000000001"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        let accepted = PushResult {
            id,
            outcome: PushOutcome::Accepted {
                heads: vec!["ab".into()],
                changed: true,
            },
        };
        let json = serde_json::to_value(&accepted).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            json,
            serde_json::json!({"id": id.to_string(), "status": "accepted", "heads": ["ab"], "changed": true})
        );
        let rejected: PushResult = serde_json::from_value(serde_json::json!({
            "id": id.to_string(), "status": "rejected", "code": "missing_dependencies", "reason": "x"
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            rejected.outcome,
            PushOutcome::Rejected {
                code: RejectCode::MissingDependencies,
                ..
            }
        ));
    }

    #[test]
    fn bytes_travel_as_base64() {
        let rec = PushRecord {
            id: RecordId::new(),
            changes: vec![vec![0, 1, 2, 255]],
        };
        let json = serde_json::to_string(&rec).unwrap_or_else(|e| panic!("{e}"));
        assert!(json.contains("\"AAEC/w==\""), "{json}");
        let back: PushRecord = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.changes, rec.changes);
        assert!(
            serde_json::from_str::<PushRecord>(
                r#"{"id":"0193a6b2-0000-7000-8000-000000000001","changes":["!!"]}"#
            )
            .is_err()
        );
    }
}
