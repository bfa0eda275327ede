//! What a pulled record does to the local copy, decided without I/O: merge the server's
//! document into the device's, and say what the store must write, whether the record stays
//! queued, and how the report counts it.
//!
//! A store applies a pull page inside one write transaction, reading each record's heads (and
//! its document only when [`needs_local_doc`] says so) under the same lock it writes with, so an
//! edit made on the device at the same moment cannot be overwritten by the merge. That
//! read-modify-write is why merging is a store effect and not a step of the machine.

use automerge::ActorId;

use super::plan::same_heads;
use crate::{
    Record, RecordDoc, RecordId, ingest,
    protocol::PulledRecord,
    record::{Problem, workflow},
};

/// What settling one pulled record asks of the store.
#[derive(Debug)]
pub enum Settled {
    /// The record cannot be merged (why); nothing changes locally and the server keeps it.
    Skipped(String),
    Apply(Apply),
}

/// The writes for one pulled record.
#[derive(Debug)]
pub struct Apply {
    /// The merged document to store; `None` when the local copy already had everything.
    /// Boxed: a whole record is large next to the rest.
    pub write: Option<Box<MergedDoc>>,
    /// The server's heads for the record, to remember as acknowledged.
    pub server_heads: Vec<String>,
    pub queue: QueueChange,
    pub counted: Counted,
}

/// A merged document with what the store derives from it.
#[derive(Debug)]
pub struct MergedDoc {
    pub bytes: Vec<u8>,
    pub record: Record,
    pub state: workflow::State,
    pub heads: Vec<String>,
}

/// What becomes of the record's outbox entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueChange {
    /// The server has everything this device has.
    Dequeue,
    /// The device has changes the server has not seen (made offline since the last push).
    EnsureQueued,
    /// A record new to this device: nothing of it can be queued here.
    Untouched,
}

/// How the sync report counts the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    New,
    Merged,
    /// Already known at these heads (typically the device's own record coming back).
    Nothing,
}

/// What one pull page did, as a store reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageReport {
    pub new: u64,
    pub merged: u64,
    pub skipped: Vec<(RecordId, String)>,
}

impl PageReport {
    /// Counts one settled record.
    pub fn count(&mut self, id: RecordId, settled: &Settled) {
        match settled {
            Settled::Skipped(reason) => self.skipped.push((id, reason.clone())),
            Settled::Apply(apply) => match apply.counted {
                Counted::New => self.new += 1,
                Counted::Merged => self.merged += 1,
                Counted::Nothing => {}
            },
        }
    }
}

/// Whether settling `pulled` needs the local document: only when the device holds the record
/// at other heads. Most of a pull is the device's own records coming back after its push, with
/// the same heads, and those need no document loaded.
pub fn needs_local_doc(local_heads: Option<&[String]>, pulled: &PulledRecord) -> bool {
    local_heads.is_some_and(|heads| !same_heads(heads, &pulled.heads))
}

/// Settles `pulled` against the local copy: its heads (`None` when the device does not hold the
/// record) and, when [`needs_local_doc`], its document. `actor` is the device's own actor, which
/// a merged document keeps writing with.
pub fn settle(
    local_heads: Option<&[String]>,
    local_doc: Option<Vec<u8>>,
    pulled: &PulledRecord,
    actor: &ActorId,
) -> Settled {
    if local_heads.is_some() && !needs_local_doc(local_heads, pulled) {
        return Settled::Apply(Apply {
            write: None,
            server_heads: pulled.heads.clone(),
            queue: QueueChange::Dequeue,
            counted: Counted::Nothing,
        });
    }
    let is_new = local_heads.is_none();
    let merged = match (is_new, local_doc) {
        (true, _) => merge(None, pulled, actor),
        (false, Some(doc)) => merge(Some(doc), pulled, actor),
        (false, None) => Err("the local copy's document is missing".to_owned()),
    };
    let (write, heads) = match merged {
        Ok(merged) => merged,
        Err(reason) => return Settled::Skipped(reason),
    };
    let (queue, counted) = if is_new {
        (QueueChange::Untouched, Counted::New)
    } else {
        let queue = if same_heads(&heads, &pulled.heads) {
            QueueChange::Dequeue
        } else {
            QueueChange::EnsureQueued
        };
        let counted = if write.is_some() {
            Counted::Merged
        } else {
            Counted::Nothing
        };
        (queue, counted)
    };
    Settled::Apply(Apply {
        write,
        server_heads: pulled.heads.clone(),
        queue,
        counted,
    })
}

/// The pulled record merged with the local copy: the document to write (`None` when the local
/// document already had everything) and the resulting heads.
fn merge(
    local: Option<Vec<u8>>,
    pulled: &PulledRecord,
    actor: &ActorId,
) -> Result<(Option<Box<MergedDoc>>, Vec<String>), String> {
    let is_new = local.is_none();
    let (mut doc, changed) = match local {
        Some(bytes) => {
            let mut doc = RecordDoc::load(&bytes, actor.clone())
                .map_err(|e| format!("the local copy cannot be read: {e}"))?;
            let changed =
                ingest::merge_document(doc.automerge(), &pulled.doc).map_err(|e| e.to_string())?;
            (doc, changed)
        }
        None => {
            let doc = ingest::load_document(&pulled.doc).map_err(|e| e.to_string())?;
            (
                RecordDoc::from_automerge(doc.with_actor(actor.clone())),
                true,
            )
        }
    };
    let heads = ingest::heads_to_strings(&doc.heads());
    if !changed {
        return Ok((None, heads));
    }
    let record = doc
        .read()
        .map_err(|p| format!("not a readable record: {}", Problem::join(&p)))?;
    if record.id != pulled.id {
        return Err(format!("the document's id is {}", record.id));
    }
    let state = workflow::derive(doc.automerge()).state;
    // A record new to this device is exactly the server's compacted document: keep its bytes
    // rather than compacting it again.
    let bytes = if is_new {
        pulled.doc.clone()
    } else {
        doc.save()
    };
    let merged = MergedDoc {
        bytes,
        record,
        state,
        heads: heads.clone(),
    };
    Ok((Some(Box::new(merged)), heads))
}
