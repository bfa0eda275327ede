//! The push pipeline: merge each pushed record's changes into the stored document, check the
//! result, and write every accepted record of the batch in one transaction.
//!
//! [`decide`] is the pure part (bytes in, a write or a rejection out) and runs on the blocking
//! pool because Automerge work is CPU-bound. [`push`] does the I/O around it through
//! [`write_merged`], the one path by which any record is written (pushes here, review steps in
//! [`crate::review`]): it loads the stored documents, merges on the blocking pool, writes with
//! optimistic versions and merges again on top of whoever won a race, so no change is ever lost
//! when several processes or requests change the same record at once.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::Arc,
    time::Instant,
};

use bukti_core::{
    RecordId,
    evidence::receipt::ReceiptRecord,
    protocol::{PushOutcome, PushRecord, PushResponse, PushResult, PushSignature, RejectCode},
};
use jiff::Timestamp;
use tokio::sync::mpsc;

use crate::{
    directory::Principal,
    evidence::{self, PushProof, ServerKey},
    flags::UnitAreas,
    service::ServiceError,
    store::{DynStore, RecordWrite, StoredDoc, WriteChunk, WriteOutcome},
};

mod decide;

pub use decide::{Decision, PushContext, decide};

/// How often a batch is re-merged after losing races to other writers before giving up.
const MAX_ATTEMPTS: usize = 8;

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
    let started = Instant::now();
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
    push_stage("verify", started);
    let results = apply(store, pusher, records, proof.clone()).await?;
    let answering = Instant::now();
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
    push_stage("receipt", answering);
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
            Decision::Answer(outcome) => Planned::Answer(outcome),
            Decision::Write(w) => {
                let accepted = PushOutcome::Accepted {
                    heads: w.heads.clone(),
                    changed: true,
                };
                Planned::Write(w, accepted)
            }
        }
    };
    for (i, outcome) in unique
        .into_iter()
        .zip(write_merged(store, ids, plan).await?)
    {
        outcomes[i] = Some(outcome);
    }
    let auditing = Instant::now();
    record_metrics(&outcomes);
    let refused = crate::audit::rejected_pushes(pusher, &records, &outcomes);
    crate::audit::append_or_log(store, &refused).await;
    push_stage("audit", auditing);
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
/// the writes of one round stream to the store in one transaction as they are merged, and a
/// record another writer changed since it was loaded is loaded and planned again on top of theirs. Answers come back
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
    let queued = Instant::now();
    let _permit = ingest_slots()
        .acquire()
        .await
        .map_err(|_| ServiceError::Busy)?;
    write_stage("queue", queued);
    for _ in 0..MAX_ATTEMPTS {
        if pending.is_empty() {
            break;
        }
        let loading = Instant::now();
        let want: Vec<RecordId> = pending.iter().map(|&i| ids[i]).collect();
        let stored = Arc::new(store.load_documents(&want).await?);
        write_stage("load", loading);
        let merging = Instant::now();
        // Room for the whole round: a batch waiting for the writers' lock behind another keeps
        // merging instead of idling a CPU until the lock is free. Bounded by the batch.
        let (send, chunks) = mpsc::channel(pending.len().div_ceil(RECORDS_PER_RUN) + 1);
        let (round, written) = tokio::join!(
            async {
                let round = plan_streamed(&pending, stored, &ids, &plan, send).await;
                write_stage("merge", merging);
                (round, Instant::now())
            },
            store.write_stream(chunks),
        );
        let (round, merged) = round;
        write_stage("tail", merged);
        let Round { answered, waiting } = round?;
        let written = written?;
        for (i, answer) in answered {
            answers[i] = Some(answer);
        }
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

/// Records a blocking task merges before its writes go to the store: few enough that the
/// database starts writing early and writes one run while the next merge (the write is about a
/// third of a push's CPU, on one thread), enough that a hand-off costs little beside the merges
/// (about 100 µs each).
const RECORDS_PER_RUN: usize = 50;

/// What one round's merges came to, by index into `ids`: the answers given without writing,
/// and the answers waiting on the writes sent to the store, in the order they were sent.
struct Round<A> {
    answered: Vec<(usize, A)>,
    waiting: Vec<(usize, A)>,
}

/// Plans `todo` (indexes into `ids`) on the blocking pool in runs of [`RECORDS_PER_RUN`], one run
/// per CPU at a time (while one device pushes alone its batch would otherwise keep one CPU busy
/// and leave the rest idle), and sends each run's writes to the store as soon as it and every
/// run before it are merged, then [`WriteChunk::Done`]. A failed merge returns before `Done`,
/// so the store abandons the batch; a store that stopped listening has its own error to give.
async fn plan_streamed<A, F>(
    todo: &[usize],
    stored: Arc<HashMap<RecordId, StoredDoc>>,
    ids: &Arc<Vec<RecordId>>,
    plan: &Arc<F>,
    send: mpsc::Sender<WriteChunk>,
) -> Result<Round<A>, ServiceError>
where
    A: Send + 'static,
    F: Fn(usize, Option<&StoredDoc>) -> Planned<A> + Send + Sync + 'static,
{
    let mut round = Round {
        answered: Vec::new(),
        waiting: Vec::new(),
    };
    let mut runs = todo.chunks(RECORDS_PER_RUN);
    let mut merging = VecDeque::new();
    loop {
        while merging.len() < cpus()
            && let Some(run) = runs.next()
        {
            let (run, stored, ids, plan) =
                (run.to_vec(), stored.clone(), ids.clone(), plan.clone());
            merging.push_back(tokio::task::spawn_blocking(move || {
                run.into_iter()
                    .map(|i| (i, plan(i, stored.get(&ids[i]))))
                    .collect::<Vec<_>>()
            }));
        }
        let Some(task) = merging.pop_front() else {
            break;
        };
        let planned = task
            .await
            .map_err(|e| ServiceError::corrupt(format!("ingest task failed: {e}")))?;
        let mut writes = Vec::new();
        for (i, p) in planned {
            match p {
                Planned::Answer(a) => round.answered.push((i, a)),
                Planned::Write(w, a) => {
                    writes.push(*w);
                    round.waiting.push((i, a));
                }
            }
        }
        if !writes.is_empty() && send.send(WriteChunk::Writes(writes)).await.is_err() {
            return Ok(round);
        }
    }
    // A store that already failed answers with its error.
    let _ = send.send(WriteChunk::Done).await;
    Ok(round)
}

fn ingest_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| tokio::sync::Semaphore::new(cpus()))
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
}

/// Times one stage of a push around the record writes: `verify` (the device's key and
/// signature), `audit` (the refused records' audit entries), `receipt` (signing and keeping
/// it). Together with [`write_stage`], where a push's time goes, from `/metrics`.
fn push_stage(stage: &'static str, since: Instant) {
    metrics::histogram!("bukti_push_stage_seconds", "stage" => stage)
        .record(since.elapsed().as_secs_f64());
}

/// Times one stage of [`write_merged`] (pushes and review steps): `queue` (waiting for an
/// ingest slot), `load` (the stored documents), `merge` (until the last run is merged, its
/// writes streaming beside it), `tail` (the writes still to do after the merge, the checks
/// across records and the commit: the store's writer alone).
fn write_stage(stage: &'static str, since: Instant) {
    metrics::histogram!("bukti_record_write_stage_seconds", "stage" => stage)
        .record(since.elapsed().as_secs_f64());
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
