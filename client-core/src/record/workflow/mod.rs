//! The review workflow, two levels. The Polsek curates: its operator retags a record and marks it
//! ready, and the Kapolsek (the approver) forwards it. The Polres gives the verdict: verified,
//! needs revision or rejected, the last two with a reason. Anyone who may comment adds to the
//! record's thread. Every step is a field of the record's `review` section written as the
//! person's own Automerge change, so it syncs to the officer's device like any other edit.
//!
//! ```text
//!   captured ──ready──▶ ready ──forward──▶ forwarded ──verdict──▶ verified
//!      ▲                  ▲                                      needs_revision ──edit──▶ revised
//!      └ (new record)     └──ready (operator, after a revision)  rejected
//! ```
//!
//! The state is derived, never stored as one last-writer-wins string (two people racing would
//! leave a state that matches neither's fields):
//!
//! - Which step came last is read from causality, not clocks: Automerge's operation counters are
//!   Lamport clocks, so a step written by someone who had seen an earlier step always carries a
//!   larger counter. The state is the step whose current value has the largest counter.
//! - "Revised" and "edited after the verdict" are the record fields (outside `review`) changed by
//!   changes the verdict's writer had not seen: every change that is not in the verdict change's
//!   causal past. An officer's offline edit made before the verdict but synced after it counts
//!   too, since the reviewer never saw it; device clocks play no part.
//!
//! [`check`] says whether a step may be taken from a state, [`apply`] writes it into the typed
//! view; which role may take which step is the server's permission matrix. Pure: no I/O, no
//! clock (`now` is passed in).

use std::{collections::BTreeSet, fmt};

use automerge::{ActorId, AutoCommit, ObjId, ObjType, ROOT, ReadDoc, Value};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Comment, Record, Status, Verdict, validate::MAX_COMMENT};
use crate::history::{HistoryEntry, history};

/// Where a record stands in the review workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Captured by the officer; the Polsek has not curated it yet.
    Captured,
    /// The Polsek operator marked it ready for the Kapolsek.
    Ready,
    /// The Kapolsek forwarded it to the Polres.
    Forwarded,
    /// The Polres verified it.
    Verified,
    /// The Polres asked the officer to revise it.
    NeedsRevision,
    /// The record changed after the Polres asked for a revision.
    Revised,
    /// The Polres rejected it.
    Rejected,
}

impl State {
    pub const ALL: [State; 7] = [
        State::Captured,
        State::Ready,
        State::Forwarded,
        State::Verified,
        State::NeedsRevision,
        State::Revised,
        State::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Captured => "captured",
            State::Ready => "ready",
            State::Forwarded => "forwarded",
            State::Verified => "verified",
            State::NeedsRevision => "needs_revision",
            State::Revised => "revised",
            State::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a document says about its review steps: the Lamport position (Automerge operation
/// counter) of each step's current value, and what changed that the verdict's writer had not
/// seen. Read with [`facts`]; everything else here is computed from it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub ready: Option<u64>,
    pub forwarded: Option<u64>,
    pub verdict: Option<(Verdict, u64)>,
    /// Record fields outside `review` changed by changes not in the verdict's causal past.
    pub edited_after_verdict: Vec<String>,
}

impl Facts {
    /// The state: the step written last in causal order decides.
    pub fn state(&self) -> State {
        let mut latest: Option<(u64, State)> = None;
        let mut consider = |at: Option<u64>, state: State| {
            if let Some(at) = at
                && latest.is_none_or(|(l, _)| at > l)
            {
                latest = Some((at, state));
            }
        };
        consider(self.ready, State::Ready);
        consider(self.forwarded, State::Forwarded);
        if let Some((verdict, at)) = self.verdict {
            let state = match verdict {
                Verdict::Valid => State::Verified,
                Verdict::Rejected => State::Rejected,
                Verdict::NeedsRevision if self.edited_after_verdict.is_empty() => {
                    State::NeedsRevision
                }
                Verdict::NeedsRevision => State::Revised,
            };
            consider(Some(at), state);
        }
        latest.map_or(State::Captured, |(_, s)| s)
    }

    pub fn workflow(self) -> Workflow {
        Workflow {
            state: self.state(),
            edited_after_verdict: self.edited_after_verdict,
        }
    }
}

/// The derived workflow view of a record, as HQ and the device show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Workflow {
    pub state: State,
    /// Fields changed after the current verdict was given, by changes its reviewer had not
    /// seen (e.g. `narrative`, `counts.people_served`); empty when none or no verdict.
    pub edited_after_verdict: Vec<String>,
}

/// The workflow of a record document. Reads the history only when the record has a verdict.
pub fn derive(doc: &mut AutoCommit) -> Workflow {
    facts(doc, None).workflow()
}

/// Reads the [`Facts`] of a record document; `history` saves reading it again when the caller
/// already has it.
pub fn facts(doc: &mut AutoCommit, history_read: Option<&[HistoryEntry]>) -> Facts {
    let Ok(Some((Value::Object(ObjType::Map), review))) = doc.get(ROOT, "review") else {
        return Facts::default();
    };
    // One walk of the review map for its three steps: a `get` each seeks the map from its start,
    // and this runs for every pushed record.
    let (mut ready, mut forwarded, mut verdict) = (None, None, None);
    for item in doc.map_range(&review, ..) {
        let step = match item.key.as_ref() {
            "ready_at" => &mut ready,
            "forwarded_at" => &mut forwarded,
            "verdict" => &mut verdict,
            _ => continue,
        };
        let id = item.id();
        let value = item.value.into_value();
        if let (Value::Scalar(v), ObjId::Id(counter, actor, _)) = (&value, id)
            && !v.is_null()
        {
            *step = Some((value.as_str().and_then(Verdict::parse), counter, actor));
        }
    }
    let (verdict, edited_after_verdict) = match verdict {
        Some((Some(v), at, actor)) => {
            let edited = unseen_fields(doc, at, &actor, history_read);
            (Some((v, at)), edited)
        }
        _ => (None, Vec::new()),
    };
    Facts {
        ready: ready.map(|(_, at, _)| at),
        forwarded: forwarded.map(|(_, at, _)| at),
        verdict,
        edited_after_verdict,
    }
}

/// Fields outside `review` touched by changes not in the causal past of the change holding
/// operation (`counter`, `actor`).
fn unseen_fields(
    doc: &mut AutoCommit,
    counter: u64,
    actor: &ActorId,
    history_read: Option<&[HistoryEntry]>,
) -> Vec<String> {
    let Some(verdict_change) = doc
        .get_changes_meta(&[])
        .into_iter()
        .find(|c| c.actor.as_ref() == actor && c.start_op <= counter && counter <= c.max_op)
        .map(|c| c.hash)
    else {
        return Vec::new();
    };
    let unseen: BTreeSet<String> = doc
        .get_changes_meta(&[verdict_change])
        .into_iter()
        .map(|c| c.hash.to_string())
        .collect();
    if unseen.is_empty() {
        return Vec::new();
    }
    let owned;
    let entries = match history_read {
        Some(h) => h,
        None => {
            owned = history(doc);
            &owned
        }
    };
    let fields: BTreeSet<&String> = entries
        .iter()
        .filter(|e| unseen.contains(&e.hash))
        .flat_map(|e| &e.fields)
        .filter(|f| *f != "review" && !f.starts_with("review."))
        .collect();
    fields.into_iter().cloned().collect()
}

/// A step someone takes on a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The Polsek operator: replace the LKE tags, mark the record ready, or both.
    Curate {
        lke: Option<BTreeSet<String>>,
        ready: bool,
    },
    /// The Kapolsek: forward a ready record to the Polres.
    Forward,
    /// The Polres: the verdict, with the reason the officer acts on (required for
    /// `needs_revision` and `rejected`).
    Verdict {
        verdict: Verdict,
        reason: Option<String>,
    },
    /// A comment in the record's thread; `id` is unique (the server makes a UUIDv7).
    Comment { id: String, text: String },
}

impl Step {
    pub fn name(&self) -> &'static str {
        match self {
            Step::Curate { .. } => "curate",
            Step::Forward => "forward",
            Step::Verdict { .. } => "verdict",
            Step::Comment { .. } => "comment",
        }
    }
}

/// Why a step cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The step itself is incomplete or malformed.
    #[error("{0}")]
    Invalid(String),
    /// The record is not in a state this step can be taken from.
    #[error("the record is {state}: {why}")]
    WrongState { state: State, why: &'static str },
}

fn text_of(s: Option<&String>) -> Option<&str> {
    s.map(|s| s.trim()).filter(|s| !s.is_empty())
}

fn check_text(what: &str, text: &str) -> Result<(), Refusal> {
    let n = text.trim().chars().count();
    if n == 0 || n > MAX_COMMENT {
        return Err(Refusal::Invalid(format!(
            "{what} must be 1 to {MAX_COMMENT} characters"
        )));
    }
    Ok(())
}

/// Whether `step` may be taken on `record`, which is in `state`.
pub fn check(state: State, record: &Record, step: &Step) -> Result<(), Refusal> {
    use State as S;
    let wrong = |why| Err(Refusal::WrongState { state, why });
    match step {
        Step::Curate { lke, ready } => {
            if lke.is_none() && !ready {
                return Err(Refusal::Invalid(
                    "send the record's new LKE tags (\"lke\"), \"ready\": true, or both".into(),
                ));
            }
            if !matches!(
                state,
                S::Captured | S::Ready | S::NeedsRevision | S::Revised
            ) {
                return wrong(
                    "the Polsek curates a record until its Kapolsek forwards it, and again once \
                     the Polres asks for a revision",
                );
            }
            if *ready && state == S::Ready {
                return wrong("it is already marked ready; the Kapolsek forwards it next");
            }
            if *ready && record.status != Status::Submitted {
                return Err(Refusal::Invalid(
                    "the officer has not submitted this record yet; a draft cannot be marked ready"
                        .into(),
                ));
            }
            Ok(())
        }
        Step::Forward => match state {
            S::Ready => Ok(()),
            S::Forwarded => wrong("it was already forwarded to the Polres"),
            S::Verified | S::Rejected => wrong("the Polres has already given its verdict"),
            S::Captured | S::NeedsRevision | S::Revised => wrong(
                "only a record the Polsek operator marked ready can be forwarded; mark it ready first",
            ),
        },
        Step::Verdict { verdict, reason } => {
            let needs_reason = matches!(verdict, Verdict::NeedsRevision | Verdict::Rejected);
            match text_of(reason.as_ref()) {
                None if needs_reason => {
                    return Err(Refusal::Invalid(format!(
                        "a {} verdict needs a reason the officer can act on: send \"reason\"",
                        verdict.as_str()
                    )));
                }
                Some(text) => check_text("a reason", text)?,
                None => {}
            }
            match state {
                S::Captured | S::Ready => {
                    wrong("the Polres gives its verdict on records the Kapolsek has forwarded")
                }
                _ => Ok(()),
            }
        }
        Step::Comment { id, text } => {
            if id.is_empty() {
                return Err(Refusal::Invalid("a comment needs an id".into()));
            }
            check_text("a comment", text)
        }
    }
}

/// Writes `step` into the typed view as taken by `by` at `now`. Call [`check`] first.
pub fn apply(record: &mut Record, step: &Step, by: &str, now: Timestamp) {
    let review = &mut record.review;
    match step {
        Step::Curate { lke, ready } => {
            if let Some(lke) = lke {
                record.lke.clone_from(lke);
            }
            if *ready {
                review.ready_by = Some(by.to_owned());
                review.ready_at = Some(now);
            }
        }
        Step::Forward => {
            review.forwarded_by = Some(by.to_owned());
            review.forwarded_at = Some(now);
        }
        Step::Verdict { verdict, reason } => {
            review.verdict = Some(*verdict);
            review.verdict_by = Some(by.to_owned());
            review.verdict_at = Some(now);
            review.verdict_reason = text_of(reason.as_ref()).map(str::to_owned);
        }
        Step::Comment { id, text } => review.comments.push(Comment {
            id: id.clone(),
            author: by.to_owned(),
            at: now,
            text: text.trim().to_owned(),
        }),
    }
}

/// Checks every step against the record's state before any is taken, then takes them all (one
/// request, one change: e.g. a verdict with a comment).
///
/// A step's time is kept later than every earlier step's (a server whose clock runs behind
/// another's still writes a newer time), which also makes sure a repeated step (marking ready
/// again after a revision, verifying again) always writes a new value: the step is a new
/// operation in the document, so it is the latest in causal order.
pub fn take(
    record: &mut Record,
    state: State,
    steps: &[Step],
    by: &str,
    now: Timestamp,
) -> Result<(), Refusal> {
    if steps.is_empty() {
        return Err(Refusal::Invalid("nothing to do: send a step".into()));
    }
    for step in steps {
        check(state, record, step)?;
    }
    let rv = &record.review;
    let last = [rv.ready_at, rv.forwarded_at, rv.verdict_at]
        .into_iter()
        .flatten()
        .max();
    let now = match last {
        Some(last) if now <= last => last + jiff::SignedDuration::from_millis(1),
        _ => now,
    };
    for step in steps {
        apply(record, step, by, now);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
