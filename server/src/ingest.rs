//! The push pipeline: merge each pushed record's changes into the stored document, check the
//! result, and write every accepted record of the batch in one transaction.
//!
//! [`decide`] is the pure part (bytes in, a write or a rejection out) and runs on the blocking
//! pool because Automerge work is CPU-bound. [`push`] does the I/O around it through
//! [`write_merged`], the one path by which any record is written (pushes here, review steps in
//! [`crate::review`]): it loads the stored documents, merges on the blocking pool, writes with
//! optimistic versions and merges again on top of whoever won a race, so no change is ever lost
//! when several processes or requests change the same record at once.

use std::{collections::HashSet, sync::Arc};

use automerge::{ActorId, AutoCommit};
use bukti_core::{
    Record, RecordId,
    catalogue::Catalogue,
    evidence::{flags, log::Draft, receipt::ReceiptRecord},
    ingest::{self, IngestError, MAX_DOCUMENT_BYTES},
    protocol::{PushOutcome, PushRecord, PushResponse, PushResult, PushSignature, RejectCode},
    record::{self, Problem, contract, workflow},
    unit::UnitPath,
};
use jiff::Timestamp;

use crate::{
    authz::{self, Pusher},
    directory::Principal,
    evidence::{self, PushProof, ServerKey},
    flags::{Entered, UnitAreas},
    projection::{PhotoRole, Projection},
    service::ServiceError,
    store::{DynStore, RecordWrite, StoredDoc, WriteOutcome, evidence::LogWrite},
};

/// How often a batch is re-merged after losing races to other writers before giving up.
const MAX_ATTEMPTS: usize = 8;

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
        .map(|(_, c)| c.hash().to_string())
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

/// Applies a device's signed push batch: checks the signature before anything else (a batch
/// that fails it is refused whole), then answers one result per record, in order, and a receipt
/// signed with the server's key for the records the server holds.
pub async fn push(
    store: &DynStore,
    key: &ServerKey,
    pusher: &Principal,
    records: Vec<PushRecord>,
    signature: Option<&PushSignature>,
) -> Result<PushResponse, ServiceError> {
    let device_key = store.credential_key(pusher.id).await?;
    let (server_key, device, signature) = (key.clone(), pusher.clone(), signature.cloned());
    // Hashing every change is CPU work: off the runtime's threads. The batch moves there and
    // back rather than being copied.
    let (checked, records) = tokio::task::spawn_blocking(move || {
        let device_key = device_key.as_deref();
        let checked = evidence::verify_push(
            &server_key,
            &device,
            device_key,
            &records,
            signature.as_ref(),
        );
        (checked, records)
    })
    .await
    .map_err(|e| ServiceError::corrupt(format!("signature check failed: {e}")))?;
    let proof = Arc::new(checked?);
    let results = apply(store, pusher, records, proof.clone()).await?;
    let held: Vec<ReceiptRecord> = results
        .iter()
        .filter_map(|r| match &r.outcome {
            PushOutcome::Accepted { heads, .. } => Some(ReceiptRecord {
                id: r.id,
                heads: heads.clone(),
            }),
            PushOutcome::Rejected { .. } => None,
        })
        .collect();
    let receipt = if held.is_empty() {
        None
    } else {
        let head = store.log_head().await?;
        let receipt = key.receipt(&proof.device, &proof.row.hash, head, held);
        // Kept before it is answered, so every receipt a device holds is in the evidence packs.
        let json = serde_json::to_string(&receipt).expect("a receipt serialises");
        store.keep_receipt(&proof.row.hash, &json).await?;
        Some(receipt)
    };
    Ok(PushResponse { results, receipt })
}

async fn apply(
    store: &DynStore,
    pusher: &Principal,
    records: Vec<PushRecord>,
    proof: Arc<PushProof>,
) -> Result<Vec<PushResult>, ServiceError> {
    let mut outcomes: Vec<Option<PushOutcome>> = vec![None; records.len()];
    let mut seen = HashSet::new();
    let mut unique = Vec::new();
    for (i, r) in records.iter().enumerate() {
        if seen.insert(r.id) {
            unique.push(i);
        } else {
            outcomes[i] = Some(PushOutcome::Rejected {
                code: RejectCode::Duplicate,
                reason: "the record appears more than once in this batch; send it once".into(),
                problems: Vec::new(),
            });
        }
    }
    let records = Arc::new(records);
    let ids: Vec<RecordId> = unique.iter().map(|&i| records[i].id).collect();
    let plan = {
        let mut ctx = PushContext::of(pusher);
        ctx.proof = Some(proof);
        ctx.areas = Arc::new(UnitAreas::load(store).await?);
        let (records, unique) = (records.clone(), unique.clone());
        move |k: usize, stored: Option<&StoredDoc>| match decide(
            stored,
            &records[unique[k]],
            &ctx,
            Timestamp::now(),
        ) {
            Decision::Answer(outcome) => Planned::Answer((outcome, None)),
            Decision::Write(w) => {
                let accepted = PushOutcome::Accepted {
                    heads: w.heads.clone(),
                    changed: true,
                };
                let p = &w.projection;
                let entered = Entered {
                    officer: p.officer.clone(),
                    captured_at: p.captured_at,
                    activity_at: p.activity_at,
                    originals: p
                        .photos
                        .iter()
                        .filter(|b| b.role == PhotoRole::Original)
                        .map(|b| b.hash.clone())
                        .collect(),
                };
                Planned::Write(w, (accepted, Some(entered)))
            }
        }
    };
    let mut entered = Vec::new();
    for (i, (outcome, written)) in unique
        .into_iter()
        .zip(write_merged(store, ids, plan).await?)
    {
        outcomes[i] = Some(outcome);
        entered.extend(written);
    }
    // The records are stored and will be answered as such; a flag that cannot be raised now is
    // raised by the officer's next push.
    if let Err(e) = crate::flags::after_push(store, &entered).await {
        tracing::warn!(error = %e, "checks across records failed; no flags raised for them");
    }
    record_metrics(&outcomes);
    let refused = crate::audit::rejected_pushes(pusher, &records, &outcomes);
    crate::audit::append_or_log(store, &refused).await;
    Ok(records
        .iter()
        .zip(outcomes)
        .map(|(r, o)| PushResult {
            id: r.id,
            outcome: o.expect("every record was answered"),
        })
        .collect())
}

/// What the merge of one record came to: an answer without writing, or a write and the answer
/// to give once it has landed.
#[derive(Debug)]
pub enum Planned<A> {
    Answer(A),
    Write(Box<RecordWrite>, A),
}

/// The one write path for records. For each of `ids` (distinct), `plan` is given the stored
/// document (or `None`) and merges into it on the blocking pool (Automerge work is CPU-bound);
/// the writes of one round go to the store in one transaction, and a record another writer
/// changed since it was loaded is loaded and planned again on top of theirs. Answers come back
/// in the order of `ids`; [`ServiceError::Busy`] when records still lose after [`MAX_ATTEMPTS`].
pub async fn write_merged<A, F>(
    store: &DynStore,
    ids: Vec<RecordId>,
    plan: F,
) -> Result<Vec<A>, ServiceError>
where
    A: Send + 'static,
    F: Fn(usize, Option<&StoredDoc>) -> Planned<A> + Send + Sync + 'static,
{
    let (ids, plan) = (Arc::new(ids), Arc::new(plan));
    let mut answers: Vec<Option<A>> = std::iter::repeat_with(|| None).take(ids.len()).collect();
    let mut pending: Vec<usize> = (0..ids.len()).collect();
    // At most one batch per CPU is merged and written at a time: more cannot go faster (the
    // merge is CPU-bound and SQLite has one writer), and every batch in flight holds tens of MB
    // of Automerge state, so a burst of devices would otherwise multiply the server's memory.
    let _permit = ingest_slots()
        .acquire()
        .await
        .map_err(|_| ServiceError::Busy)?;
    for _ in 0..MAX_ATTEMPTS {
        if pending.is_empty() {
            break;
        }
        let want: Vec<RecordId> = pending.iter().map(|&i| ids[i]).collect();
        let stored = store.load_documents(&want).await?;
        let (todo, ids, plan) = (pending.clone(), ids.clone(), plan.clone());
        let planned = tokio::task::spawn_blocking(move || {
            todo.iter()
                .map(|&i| plan(i, stored.get(&ids[i])))
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| ServiceError::corrupt(format!("ingest task failed: {e}")))?;
        let mut writes = Vec::new();
        let mut waiting = Vec::new();
        for (i, p) in pending.iter().zip(planned) {
            match p {
                Planned::Answer(a) => answers[*i] = Some(a),
                Planned::Write(w, a) => {
                    writes.push(*w);
                    waiting.push((*i, a));
                }
            }
        }
        let written = if writes.is_empty() {
            Vec::new()
        } else {
            store.write_records(&writes).await?
        };
        pending.clear();
        for ((i, answer), outcome) in waiting.into_iter().zip(written) {
            match outcome {
                WriteOutcome::Written => answers[i] = Some(answer),
                WriteOutcome::Conflict => pending.push(i),
            }
        }
    }
    if !pending.is_empty() {
        return Err(ServiceError::Busy);
    }
    Ok(answers
        .into_iter()
        .map(|a| a.expect("every record was answered"))
        .collect())
}

fn ingest_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| {
        let cpus = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        tokio::sync::Semaphore::new(cpus)
    })
}

fn record_metrics(outcomes: &[Option<PushOutcome>]) {
    for outcome in outcomes.iter().flatten() {
        match outcome {
            PushOutcome::Accepted { changed, .. } => {
                let label = if *changed { "accepted" } else { "unchanged" };
                metrics::counter!("bukti_push_records_total", "outcome" => label).increment(1);
            }
            PushOutcome::Rejected { code, .. } => {
                let code = serde_json::to_value(code)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                metrics::counter!("bukti_push_records_total", "outcome" => "rejected", "code" => code).increment(1);
            }
        }
    }
}
