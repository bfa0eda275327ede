//! The decisions of a push, kept free of I/O so they can be tested exhaustively: what to send
//! for a queued record ([`prepare`]), and what the store must do with each result the server
//! returns ([`Update`]). The machine calls them; stores only carry out the updates.

use automerge::{ActorId, AutoCommit, ChangeHash};

use super::{packed, report::Rejection};
use crate::{
    RecordDoc, RecordId, ingest,
    protocol::{PushOutcome, PushRecord, PushResult, RejectCode},
};

/// What the push needs of one queued record, as the store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushRow {
    pub id: RecordId,
    pub source: PushSource,
    /// The document's heads as stored.
    pub local_heads: Vec<String>,
    /// The heads the server last acknowledged; `None` when it never did.
    pub server_heads: Option<Vec<String>>,
    /// Parked after a rejection until the officer edits the record.
    pub held: bool,
}

/// What a queued record's changes are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushSource {
    /// The record's saved Automerge document.
    Doc(Vec<u8>),
    /// The record's whole history at its local heads, as [`super::packed::pack`] packed it:
    /// what a store keeps for a record the server has acknowledged nothing of. Sending the
    /// whole history is correct whatever the server holds, so it goes as it is.
    History(Vec<u8>),
}

/// What becomes of one queued record in a batch.
#[derive(Debug)]
pub(crate) enum Prepared {
    Skip,
    /// Nothing to send; dequeue if the local heads are still these.
    Stale(Vec<String>),
    Send(PushRecord, Sent),
}

/// Decides what `row` sends: the changes after the heads the server acknowledged (those of them
/// this document knows), everything when the server acknowledged nothing. Fails when the stored
/// document or heads cannot be read.
pub(crate) fn prepare(row: PushRow) -> Result<Prepared, String> {
    let local = ingest::parse_heads(&row.local_heads)?;
    let bytes = match &row.source {
        PushSource::Doc(bytes) => bytes,
        PushSource::History(packed) => {
            if decide_send(&local, None, row.held) == SendDecision::Hold {
                return Ok(Prepared::Skip);
            }
            let changes = packed::unpack(packed).map_err(|e| format!("record {}: {e}", row.id))?;
            return Ok(send(row, changes, true));
        }
    };
    let mut doc =
        RecordDoc::load(bytes, ActorId::random()).map_err(|e| format!("record {}: {e}", row.id))?;
    let server = match &row.server_heads {
        Some(heads) => Some(known_heads(doc.automerge(), &ingest::parse_heads(heads)?)),
        None => None,
    };
    let since = match decide_send(&local, server.as_deref(), row.held) {
        SendDecision::Hold => return Ok(Prepared::Skip),
        SendDecision::NothingNew => return Ok(Prepared::Stale(row.local_heads)),
        SendDecision::Changes { since } => since,
    };
    let changes = doc.changes_since(&since);
    if changes.is_empty() {
        return Ok(Prepared::Stale(row.local_heads));
    }
    Ok(send(row, changes, since.is_empty()))
}

fn send(row: PushRow, changes: Vec<Vec<u8>>, full_history: bool) -> Prepared {
    let sent = Sent {
        id: row.id,
        local_heads: row.local_heads,
        full_history,
    };
    Prepared::Send(
        PushRecord {
            id: row.id,
            changes,
        },
        sent,
    )
}

/// The subset of `heads` present in `doc` (the server's heads may include a reviewer's change
/// this device has not pulled yet).
fn known_heads(doc: &mut AutoCommit, heads: &[ChangeHash]) -> Vec<ChangeHash> {
    let missing = doc.get_missing_deps(heads);
    heads
        .iter()
        .filter(|h| !missing.contains(h))
        .copied()
        .collect()
}

/// What to do with one queued record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SendDecision {
    /// Held after a rejection retrying cannot fix: wait for the officer's edit.
    Hold,
    /// The server already acknowledged these very heads: only the queue entry is stale.
    NothingNew,
    /// Send every change not reachable from `since`; empty `since` means the whole history.
    Changes { since: Vec<ChangeHash> },
}

/// `server_heads` must hold only hashes the local document knows; [`prepare`] filters them.
pub(crate) fn decide_send(
    local_heads: &[ChangeHash],
    server_heads: Option<&[ChangeHash]>,
    held: bool,
) -> SendDecision {
    if held {
        return SendDecision::Hold;
    }
    let since = server_heads.unwrap_or_default();
    if !since.is_empty() && same_heads(local_heads, since) {
        return SendDecision::NothingNew;
    }
    SendDecision::Changes {
        since: since.to_vec(),
    }
}

/// Heads are sets; their order carries no meaning.
pub fn same_heads<T: Ord + Clone>(a: &[T], b: &[T]) -> bool {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort();
    b.sort();
    a == b
}

/// One record of a push batch as it was when the batch was built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sent {
    pub id: RecordId,
    /// The document's heads when its changes were collected.
    pub local_heads: Vec<String>,
    /// Whether the whole history was sent (no server heads to start from).
    pub full_history: bool,
}

/// What the store must do for one pushed record.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// The server has the record with `server_heads`. Dequeue it only if its local heads are
    /// still `local_heads`: an edit made while the push was in flight must go next time.
    Acknowledge {
        id: RecordId,
        server_heads: Vec<String>,
        local_heads: Vec<String>,
        changed: bool,
    },
    /// The server lacks history the device assumed it had: forget the server heads and send
    /// the whole history again, in this sync.
    ResendFull { id: RecordId, reason: String },
    /// Keep queued and retry on a later sync.
    Retry(Rejection),
    /// Park until the officer edits the record.
    Hold(Rejection),
}

/// One store operation of an [`Update`]; every store carries an update out as these, alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateOp<'a> {
    /// Remember `heads` as what the server has of the record (`None`: nothing known).
    ServerHeads(RecordId, Option<&'a [String]>),
    /// Dequeue the record if its local heads are still these.
    DequeueIfHeads(RecordId, &'a [String]),
    /// Count a failed attempt with its code and reason; `hold` parks the record until it is
    /// edited.
    NoteFailure {
        id: RecordId,
        code: String,
        reason: &'a str,
        hold: bool,
    },
}

impl Update {
    /// The store operations this update comes to, in order.
    pub fn ops(&self) -> Vec<UpdateOp<'_>> {
        match self {
            Update::Acknowledge {
                id,
                server_heads,
                local_heads,
                ..
            } => vec![
                UpdateOp::ServerHeads(*id, Some(server_heads.as_slice())),
                UpdateOp::DequeueIfHeads(*id, local_heads),
            ],
            Update::ResendFull { id, reason } => vec![
                UpdateOp::ServerHeads(*id, None),
                UpdateOp::NoteFailure {
                    id: *id,
                    code: "missing_dependencies".to_owned(),
                    reason,
                    hold: false,
                },
            ],
            Update::Retry(r) | Update::Hold(r) => vec![UpdateOp::NoteFailure {
                id: r.id,
                // The code as it travels on the wire (`invalid`, `too_large`, …).
                code: serde_json::to_value(r.code)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                reason: &r.reason,
                hold: matches!(self, Update::Hold(_)),
            }],
        }
    }
}

/// Pairs each sent record with its result. Fails when the server's answer does not match the
/// request (wrong count or order): then nothing of it is trusted and the batch is retried later.
pub(crate) fn apply_results(sent: &[Sent], results: &[PushResult]) -> Result<Vec<Update>, String> {
    if sent.len() != results.len() {
        return Err(format!(
            "sent {} records but got {} results",
            sent.len(),
            results.len()
        ));
    }
    sent.iter()
        .zip(results)
        .map(|(sent, result)| {
            if sent.id != result.id {
                return Err(format!(
                    "result for {} arrived where {} was expected",
                    result.id, sent.id
                ));
            }
            Ok(update_for(sent, &result.outcome))
        })
        .collect()
}

fn update_for(sent: &Sent, outcome: &PushOutcome) -> Update {
    let id = sent.id;
    match outcome {
        PushOutcome::Accepted { heads, changed } => Update::Acknowledge {
            id,
            server_heads: heads.clone(),
            local_heads: sent.local_heads.clone(),
            changed: *changed,
        },
        PushOutcome::Rejected {
            code,
            reason,
            problems,
        } => {
            let rejection = Rejection {
                id,
                code: *code,
                reason: reason.clone(),
                problems: problems.clone(),
            };
            match code {
                RejectCode::MissingDependencies if !sent.full_history => Update::ResendFull {
                    id,
                    reason: reason.clone(),
                },
                // The whole history was refused for missing history: a server-side problem,
                // so keep trying on later syncs rather than park the officer's record.
                RejectCode::MissingDependencies => Update::Retry(rejection),
                // Each record is sent once per batch, so a duplicate is a glitch, not the
                // record's fault.
                RejectCode::Duplicate => Update::Retry(rejection),
                _ => Update::Hold(rejection),
            }
        }
    }
}

#[cfg(test)]
mod tests;
