//! The audit log's pure part: what an entry says, how it is hashed into the chain, and how a
//! chain is checked. Storage is [`crate::store::audit`]; how to write entries from a handler is
//! [`append`] (the request fails when the entry cannot be written: reads of personal data) and
//! [`append_or_log`] (the action already took effect: the failure is logged and counted).
//!
//! Each entry's hash is SHA-256 over the previous entry's hash and a length-prefixed encoding of
//! every other field, so no two different entries encode alike and changing, removing or
//! reordering any entry breaks the chain from that entry on. `docs/audit.md` has the details.

use bukti_core::{
    RecordId,
    protocol::{PushOutcome, PushRecord},
    record::workflow::Step,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::directory::Principal;
pub use crate::store::audit::{append, append_or_log};

/// The `prev_hash` of the first entry.
pub const GENESIS: [u8; 32] = [0; 32];

/// Domain separation: a hash made for anything else never matches an audit entry's.
const DOMAIN: &[u8] = b"bukti-audit-v1";

/// Who did it: an authenticated principal, or an unauthenticated client named by its address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Actor {
    /// `device`, `hq`, … as the principal's kind; `anonymous` for a failed login; `operator` for
    /// the command line.
    pub kind: String,
    /// The principal's id; empty for anonymous and operator actors.
    pub id: String,
    /// The principal's name, the anonymous client's address, or the operator's account.
    pub name: String,
}

impl Actor {
    pub fn principal(p: &Principal) -> Self {
        Self {
            kind: p.kind.as_str().to_owned(),
            id: p.id.to_string(),
            name: p.name.clone(),
        }
    }

    /// A client that did not authenticate (e.g. a failed login), known only by its address.
    pub fn anonymous(address: impl Into<String>) -> Self {
        Self {
            kind: "anonymous".into(),
            id: String::new(),
            name: address.into(),
        }
    }
}

/// What happened. Stored as its snake_case name; new actions are added here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Login,
    LoginFailed,
    EnrollmentIssued,
    EnrollmentUsed,
    DeviceRevoked,
    /// The Polsek operator retagged a record or marked it ready.
    Curate,
    /// The Kapolsek forwarded a record to the Polres.
    Forward,
    Verdict,
    Comment,
    Export,
    PushRejected,
    RecordViewed,
    PhotoViewed,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Login => "login",
            Action::LoginFailed => "login_failed",
            Action::EnrollmentIssued => "enrollment_issued",
            Action::EnrollmentUsed => "enrollment_used",
            Action::DeviceRevoked => "device_revoked",
            Action::Curate => "curate",
            Action::Forward => "forward",
            Action::Verdict => "verdict",
            Action::Comment => "comment",
            Action::Export => "export",
            Action::PushRejected => "push_rejected",
            Action::RecordViewed => "record_viewed",
            Action::PhotoViewed => "photo_viewed",
        }
    }
}

/// An entry before the log gives it a place: everything but `seq`, time and hashes.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub actor: Actor,
    pub action: Action,
    /// What it was done to, as `kind:id`: `record:<uuid>`, `photo:<sha256>`, `device:<uuid>`,
    /// `unit:<path>`, `enrollment:<id>`.
    pub subject: String,
    /// The unit the entry concerns; admins see entries of their subtree. `None` for entries no
    /// unit owns (a failed login), which only admins of a top-level unit see.
    pub unit: Option<String>,
    /// A small JSON object with the particulars. Never personal data beyond ids: the log cannot
    /// be edited to forget it.
    pub detail: serde_json::Value,
}

impl AuditEvent {
    pub fn new(actor: Actor, action: Action, subject: impl Into<String>) -> Self {
        Self {
            actor,
            action,
            subject: subject.into(),
            unit: None,
            detail: serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    pub fn in_unit(mut self, unit: impl Into<String>) -> Self {
        self.unit = Some(unit.into());
        self
    }

    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }

    /// `principal` read a record of `unit`.
    pub fn record_viewed(principal: &Principal, id: RecordId, unit: &str) -> Self {
        Self::new(
            Actor::principal(principal),
            Action::RecordViewed,
            format!("record:{id}"),
        )
        .in_unit(unit)
    }

    /// `principal` downloaded a photo. The photo may belong to several records, so the entry
    /// is filed under the unit the principal viewed it from.
    pub fn photo_viewed(principal: &Principal, hash: &str) -> Self {
        Self::new(
            Actor::principal(principal),
            Action::PhotoViewed,
            format!("photo:{hash}"),
        )
        .in_unit(principal.unit.as_str())
    }

    /// One request's review steps on a record of `unit`: filed as its main step (a verdict over
    /// a forward over a curation over a comment). Texts (reasons, comments) stay in the record;
    /// the entry only says there was one.
    pub fn review(reviewer: &Principal, id: RecordId, unit: &str, steps: &[Step]) -> Self {
        let mut action = Action::Comment;
        let mut detail = serde_json::Map::new();
        let mut note = |key: &str, value: serde_json::Value| {
            detail.insert(key.to_owned(), value);
        };
        note("comment", false.into());
        for step in steps {
            match step {
                Step::Verdict { verdict, reason } => {
                    action = Action::Verdict;
                    note("verdict", verdict.as_str().into());
                    note("reason", reason.is_some().into());
                }
                Step::Forward => {
                    if action != Action::Verdict {
                        action = Action::Forward;
                    }
                }
                Step::Curate { lke, ready } => {
                    if action == Action::Comment {
                        action = Action::Curate;
                    }
                    note("ready", (*ready).into());
                    if let Some(lke) = lke {
                        note("lke", serde_json::json!(lke));
                    }
                }
                Step::Comment { .. } => note("comment", true.into()),
            }
        }
        Self::new(Actor::principal(reviewer), action, format!("record:{id}"))
            .in_unit(unit)
            .with_detail(serde_json::Value::Object(detail))
    }
}

/// One entry per record of a push that was refused for good (retryable refusals such as missing
/// history are part of normal sync and not logged). Filed under the pusher's unit, which is
/// where the attempt came from.
pub fn rejected_pushes(
    pusher: &Principal,
    records: &[PushRecord],
    outcomes: &[Option<PushOutcome>],
) -> Vec<AuditEvent> {
    records
        .iter()
        .zip(outcomes)
        .filter_map(|(record, outcome)| match outcome {
            Some(PushOutcome::Rejected { code, reason, .. }) if !code.is_retryable() => Some(
                AuditEvent::new(
                    Actor::principal(pusher),
                    Action::PushRejected,
                    format!("record:{}", record.id),
                )
                .in_unit(pusher.unit.as_str())
                .with_detail(serde_json::json!({ "code": code, "reason": reason })),
            ),
            _ => None,
        })
        .collect()
}

/// An entry as stored: the event's fields flattened to text, with its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    /// When the entry was written; the chain's hash covers it as Unix milliseconds.
    #[serde(with = "bukti_core::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: i64,
    pub actor: Actor,
    pub action: String,
    pub subject: String,
    pub unit: Option<String>,
    /// Canonical JSON text (sorted keys, no spaces), exactly the bytes that were hashed; sent
    /// to clients as the JSON it holds.
    #[serde(serialize_with = "detail_as_json")]
    #[schema(value_type = Object)]
    pub detail: String,
    /// Lowercase hex of 32 bytes.
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    /// Places `event` after the entry `seq - 1` whose hash is `prev_hash`, at time `at`.
    pub fn chain(event: &AuditEvent, seq: i64, at: i64, prev_hash: &[u8; 32]) -> Self {
        let mut entry = Self {
            seq,
            at,
            actor: event.actor.clone(),
            action: event.action.as_str().to_owned(),
            subject: event.subject.clone(),
            unit: event.unit.clone(),
            detail: canonical_json(&event.detail),
            prev_hash: hex::encode(prev_hash),
            hash: String::new(),
        };
        entry.hash = hex::encode(entry.compute_hash(prev_hash));
        entry
    }

    /// SHA-256 over `prev_hash` and every field but `hash`, each length-prefixed.
    pub fn compute_hash(&self, prev_hash: &[u8; 32]) -> [u8; 32] {
        let mut h = Sha256::new();
        field(&mut h, DOMAIN);
        h.update(prev_hash);
        h.update(self.seq.to_be_bytes());
        h.update(self.at.to_be_bytes());
        for text in [
            &self.actor.kind,
            &self.actor.id,
            &self.actor.name,
            &self.action,
            &self.subject,
        ] {
            field(&mut h, text.as_bytes());
        }
        // A tag keeps "no unit" apart from an empty unit.
        match &self.unit {
            None => h.update([0]),
            Some(unit) => {
                h.update([1]);
                field(&mut h, unit.as_bytes());
            }
        }
        field(&mut h, self.detail.as_bytes());
        h.finalize().into()
    }
}

fn detail_as_json<S: serde::Serializer>(detail: &str, s: S) -> Result<S::Ok, S::Error> {
    match serde_json::from_str::<serde_json::Value>(detail) {
        Ok(json) => json.serialize(s),
        // Text that is not JSON was not written by this server: show it as it is.
        Err(_) => s.serialize_str(detail),
    }
}

fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

/// JSON with object keys sorted at every level and no insignificant whitespace, so the same
/// detail always hashes the same whatever map order serde_json was built with.
pub fn canonical_json(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let members: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical_json(&map[k])))
                .collect();
            format!("{{{}}}", members.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical_json).collect();
            format!("[{}]", items.join(","))
        }
        scalar => scalar.to_string(),
    }
}

/// Why the chain is broken at an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Breach {
    #[error("entry {expected} is missing (the next entry present is {found})")]
    Missing { expected: i64, found: i64 },
    #[error("entry {seq}'s prev_hash does not match the hash of the entry before it")]
    Unlinked { seq: i64 },
    #[error("entry {seq}'s contents do not match its hash: it was altered after it was written")]
    Altered { seq: i64 },
    #[error("entry {seq}'s {column} is not a 32-byte hex hash")]
    Malformed { seq: i64, column: &'static str },
}

impl Breach {
    /// The first entry that does not verify.
    pub fn seq(&self) -> i64 {
        match self {
            Breach::Missing { expected, .. } => *expected,
            Breach::Unlinked { seq } | Breach::Altered { seq } | Breach::Malformed { seq, .. } => {
                *seq
            }
        }
    }
}

/// Walks a chain entry by entry, oldest first, so a long log is checked page by page.
#[derive(Debug, Clone)]
pub struct ChainCheck {
    next_seq: i64,
    prev_hash: [u8; 32],
}

impl Default for ChainCheck {
    fn default() -> Self {
        Self {
            next_seq: 1,
            prev_hash: GENESIS,
        }
    }
}

impl ChainCheck {
    /// Checks the next entry; the first breach ends the walk.
    pub fn check(&mut self, entry: &AuditEntry) -> Result<(), Breach> {
        if entry.seq != self.next_seq {
            return Err(Breach::Missing {
                expected: self.next_seq,
                found: entry.seq,
            });
        }
        let seq = entry.seq;
        let prev = decode_hash(&entry.prev_hash).ok_or(Breach::Malformed {
            seq,
            column: "prev_hash",
        })?;
        let hash = decode_hash(&entry.hash).ok_or(Breach::Malformed {
            seq,
            column: "hash",
        })?;
        if prev != self.prev_hash {
            return Err(Breach::Unlinked { seq });
        }
        if entry.compute_hash(&prev) != hash {
            return Err(Breach::Altered { seq });
        }
        self.next_seq += 1;
        self.prev_hash = hash;
        Ok(())
    }

    /// How many entries verified, and the hash of the last (the genesis hash for none).
    pub fn head(&self) -> (i64, String) {
        (self.next_seq - 1, hex::encode(self.prev_hash))
    }
}

/// A stored hash back to bytes.
pub fn decode_hash(text: &str) -> Option<[u8; 32]> {
    hex::decode(text).ok()?.try_into().ok()
}

#[cfg(test)]
mod tests;
