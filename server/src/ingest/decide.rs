//! The pure half of a push: one pushed record's changes merged into its stored document, the
//! result checked (scope, officer, authorization, validation, the contract, the signature's
//! hashes), and a write or a rejection decided. No I/O and no clock: `now` is passed in.

use std::sync::Arc;

use automerge::{ActorId, AutoCommit};
use bukti_core::{
    Record,
    catalogue::Catalogue,
    evidence::{flags, log::Draft},
    ingest::{self, IngestError, MAX_DOCUMENT_BYTES},
    protocol::{PushOutcome, PushRecord, RejectCode},
    record::{self, Problem, contract, workflow},
    unit::UnitPath,
};
use jiff::Timestamp;

use crate::{
    authz::{self, Pusher},
    directory::Principal,
    evidence::PushProof,
    flags::UnitAreas,
    projection::Projection,
    store::{RecordWrite, StoredDoc, evidence::LogWrite},
};

/// What to do with one pushed record.
#[derive(Debug)]
pub enum Decision {
    /// Answer now without writing (a replay or a rejection).
    Answer(PushOutcome),
    Write(Box<RecordWrite>),
}

fn reject(code: RejectCode, reason: impl Into<String>) -> Decision {
    Decision::Answer(PushOutcome::Rejected {
        code,
        reason: reason.into(),
        problems: Vec::new(),
    })
}

fn invalid(reason: &str, problems: Vec<Problem>) -> Decision {
    Decision::Answer(PushOutcome::Rejected {
        code: RejectCode::Invalid,
        reason: format!("{reason}: {}", Problem::join(&problems)),
        problems,
    })
}

/// The pusher as the pipeline sees it: where it may write, and as whom.
#[derive(Debug, Clone)]
pub struct PushContext {
    pub unit: UnitPath,
    pub pusher: Pusher,
    /// For a device enrolled for its officer's own records: that officer.
    pub own_officer: Option<String>,
    /// The batch's checked signature: every change written enters the evidence log under it.
    pub proof: Option<Arc<PushProof>>,
    /// The units' areas, for the anomaly flags of the records written.
    pub areas: Arc<UnitAreas>,
}

impl PushContext {
    pub fn of(principal: &Principal) -> Self {
        let actor = principal
            .actor_id
            .as_deref()
            .and_then(|hex| hex::decode(hex).ok())
            .map(ActorId::from);
        Self {
            unit: principal.unit.clone(),
            pusher: Pusher {
                actor,
                officer: principal.officer.clone(),
            },
            own_officer: principal.own_officer().map(str::to_owned),
            proof: None,
            areas: Arc::default(),
        }
    }
}

/// Merges `push` into `stored` on behalf of the pusher and decides the outcome. Pure.
pub fn decide(
    stored: Option<&StoredDoc>,
    push: &PushRecord,
    ctx: &PushContext,
    now: Timestamp,
) -> Decision {
    let pusher = &ctx.unit;
    if let Some(s) = stored {
        let inside = UnitPath::parse(&s.unit).is_ok_and(|u| pusher.contains(&u));
        if !inside {
            return decide_unseen(push, ctx, now);
        }
    }
    let base: Option<AutoCommit> = match stored.map(|s| ingest::load_document(&s.doc)).transpose() {
        Ok(doc) => doc,
        Err(e) => {
            tracing::error!(record = %push.id, error = %e, "stored document unreadable");
            return reject(
                RejectCode::Invalid,
                "the server's copy of this record is unreadable; an administrator must restore it",
            );
        }
    };
    let before = match base.as_ref().map(record::doc::read).transpose() {
        Ok(before) => before,
        Err(problems) => {
            return invalid("the server's copy of this record is not a record", problems);
        }
    };
    if let (Some(own), Some(before)) = (&ctx.own_officer, &before)
        && before.officer != *own
    {
        return decide_unseen(push, ctx, now);
    }
    let existing = base.as_ref().map(contract::Existing::of);
    let mut merged = match ingest::merge_changes(base, &push.changes) {
        Ok(m) => m,
        Err(e) => {
            let code = match e {
                IngestError::MissingDependencies(_) => RejectCode::MissingDependencies,
                IngestError::ChangeTooLarge { .. }
                | IngestError::DocumentTooLarge(_)
                | IngestError::Shape(_) => RejectCode::TooLarge,
                _ => RejectCode::CorruptChanges,
            };
            return reject(code, e.to_string());
        }
    };
    let heads = ingest::heads_to_strings(&merged.heads);
    if !merged.changed && stored.is_some() {
        return Decision::Answer(PushOutcome::Accepted {
            heads,
            changed: false,
        });
    }
    let record = match record::doc::read(&merged.doc) {
        Ok(r) => r,
        Err(problems) => return invalid("the document is not a record", problems),
    };
    if record.id != push.id {
        return reject(
            RejectCode::IdMismatch,
            format!(
                "the document's id is {} but it was pushed as {}",
                record.id, push.id
            ),
        );
    }
    match UnitPath::parse(&record.unit) {
        Ok(unit) if pusher.contains(&unit) => {}
        _ => {
            return reject(
                RejectCode::OutOfScope,
                format!("unit {:?} is outside your unit {pusher}", record.unit),
            );
        }
    }
    if stored.is_some_and(|s| s.unit != record.unit) {
        return reject(
            RejectCode::OutOfScope,
            "a record cannot move to another unit",
        );
    }
    if let Err(reason) =
        authz::check_device_change(&ctx.pusher, &merged.new_actors, before.as_ref(), &record)
    {
        return reject(RejectCode::Forbidden, reason);
    }
    let mut problems = record::validate(&record, Catalogue::builtin(), now);
    problems.extend(contract::check(existing.as_ref(), &merged.doc, &merged.new));
    if !problems.is_empty() {
        return invalid("the record is invalid", problems);
    }
    // Uncompressed: Automerge deflates each column over 256 bytes with a fresh compressor, and
    // setting one up (zeroing its window and tables) was 9 % of the server's CPU in a push, for
    // a few hundred bytes saved per record; the HTTP layer compresses pull pages anyway.
    let doc = merged.doc.save_nocompress();
    if doc.len() > MAX_DOCUMENT_BYTES {
        return reject(
            RejectCode::TooLarge,
            format!(
                "the document would be {} bytes; the limit is {MAX_DOCUMENT_BYTES}",
                doc.len()
            ),
        );
    }
    let changes: Vec<String> = merged
        .new
        .iter()
        .map(|n| n.change.hash().to_string())
        .collect();
    let log = match &ctx.proof {
        Some(proof) => {
            // The signature covers the hash of each change's bytes; Automerge names the change
            // it parsed by its own hash. They agree for every honest change chunk.
            let signed = proof.changes.get(&push.id);
            if changes
                .iter()
                .any(|h| !signed.is_some_and(|s| s.contains(h)))
            {
                return reject(
                    RejectCode::CorruptChanges,
                    "a change's bytes do not match the change they encode; send raw change chunks unaltered",
                );
            }
            Some(LogWrite {
                draft: Draft {
                    record: push.id,
                    by: proof.device.clone(),
                    push: Some(proof.row.hash.clone()),
                    changes,
                    heads: heads.clone(),
                },
                push: Some(proof.row.clone()),
            })
        }
        None => None,
    };
    Decision::Write(Box::new(RecordWrite {
        id: push.id,
        expected_version: stored.map(|s| s.version),
        doc,
        heads,
        projection: projection(&record, &mut merged.doc, ctx, now),
        log,
    }))
}

/// The projection of a pushed record, with the flags its arrival raises (its device's clock
/// against the server's, photos dated after now).
fn projection(
    record: &Record,
    doc: &mut AutoCommit,
    ctx: &PushContext,
    now: Timestamp,
) -> Projection {
    let state = workflow::derive(doc).state;
    let mut projection = Projection::in_area(record, state, ctx.areas.of(&record.unit));
    let device_time = ctx
        .proof
        .as_ref()
        .and_then(|p| Timestamp::from_millisecond(p.time_ms).ok());
    projection
        .flags
        .extend(flags::on_arrival(record, now, device_time));
    projection
}

/// A push under the id of a record the pusher may not see is judged exactly as if no record
/// had that id, so the answer never reveals that one exists. Only a complete new record under
/// an id that is taken cannot be judged so (it cannot be stored): that is refused as forbidden,
/// which only a client already holding the id (a random UUIDv7) can ever provoke.
fn decide_unseen(push: &PushRecord, ctx: &PushContext, now: Timestamp) -> Decision {
    match decide(None, push, ctx, now) {
        Decision::Write(_) => reject(
            RejectCode::Forbidden,
            "this record id is already in use; capture the activity as a new record",
        ),
        answer => answer,
    }
}
