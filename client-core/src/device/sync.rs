//! The sync engine: push the outbox in batches, then pull the server's feed page by page.
//!
//! Every step leaves the store consistent on its own: a batch's results are applied in one
//! transaction, a pull page and its cursor in another. A sync that dies half way (network,
//! power) just leaves some records queued and the cursor where the last page left it, and the
//! next sync resumes; re-sending changes the server already has is harmless.

use automerge::{ActorId, AutoCommit, ChangeHash};
use serde::Serialize;

use super::{
    DeviceError,
    client::SyncClient,
    plan::{self, Rejection, SendDecision, Sent, Update},
    progress::{Phase, Progress},
    store::{DeviceStore, PushRow, WriteTx, key},
};
use crate::{
    RecordDoc, RecordId, ingest,
    protocol::{PulledRecord, PushRecord, PushRequest, RejectCode},
};

/// What one push, pull or sync did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncReport {
    /// Records the server accepted with new changes.
    pub pushed: u64,
    /// Records the server already had in full (replays, stale queue entries).
    pub unchanged: u64,
    /// Records the server refused; held ones wait for an edit, the others are retried.
    pub rejected: Vec<Rejection>,
    /// Records received from the server.
    pub pulled: u64,
    /// Pulled records this device did not have yet.
    pub new: u64,
    /// Pulled records whose changes were merged into this device's copy.
    pub merged: u64,
    /// Pulled records that could not be merged, with why; the server keeps them.
    pub skipped: Vec<(RecordId, String)>,
    /// Photo files (renditions, requested originals) the server now has in full.
    pub photos_uploaded: u64,
    /// Photo bytes sent in this sync (a resumed upload counts only the rest).
    pub photo_bytes_sent: u64,
    /// Photo files the server did not take, with why; they stay queued.
    pub photo_problems: Vec<super::PhotoProblem>,
}

pub(crate) struct Engine<'a> {
    pub store: &'a DeviceStore,
    pub client: SyncClient,
    pub actor: ActorId,
    pub batch_size: usize,
    pub pull_limit: u32,
}

impl Engine<'_> {
    pub(crate) async fn push(
        &self,
        progress: &dyn Progress,
        report: &mut SyncReport,
    ) -> Result<(), DeviceError> {
        let queued = self.store.outbox_ready().await?;
        let total = queued.len() as u64;
        progress.update(Phase::Push, 0, Some(total));
        let mut resend = Vec::new();
        let mut done = 0;
        for chunk in queued.chunks(self.batch_size.max(1)) {
            resend.extend(self.push_split(chunk, report).await?);
            done += chunk.len() as u64;
            progress.update(Phase::Push, done, Some(total));
        }
        // Records whose server heads proved stale go once more, now with their whole history;
        // a second refusal is recorded and left for the next sync.
        for chunk in resend.chunks(self.batch_size.max(1)) {
            self.push_split(chunk, report).await?;
        }
        Ok(())
    }

    /// Pushes `ids`, halving the batch while the server finds the request too large, so a few
    /// records with long histories cannot stall the whole outbox. A single record that is still
    /// too large is held with the server's reason.
    async fn push_split(
        &self,
        ids: &[RecordId],
        report: &mut SyncReport,
    ) -> Result<Vec<RecordId>, DeviceError> {
        let mut resend = Vec::new();
        let mut pending = vec![ids.to_vec()];
        while let Some(batch) = pending.pop() {
            match self.push_batch(&batch, report).await {
                Ok(more) => resend.extend(more),
                Err(DeviceError::Server {
                    status: 413,
                    code,
                    message,
                }) => {
                    if let [id] = batch[..] {
                        self.hold_oversized(id, &code, &message, report).await?;
                    } else {
                        let (first, second) = batch.split_at(batch.len() / 2);
                        pending.push(second.to_vec());
                        pending.push(first.to_vec());
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(resend)
    }

    async fn hold_oversized(
        &self,
        id: RecordId,
        code: &str,
        message: &str,
        report: &mut SyncReport,
    ) -> Result<(), DeviceError> {
        let mut tx = self.store.begin().await?;
        tx.note_failure(id, code, message, true).await?;
        tx.commit().await?;
        report.rejected.push(Rejection {
            id,
            code: RejectCode::TooLarge,
            reason: message.to_owned(),
            problems: Vec::new(),
        });
        Ok(())
    }

    /// Pushes one batch and applies the results; returns the records to resend in full.
    async fn push_batch(
        &self,
        ids: &[RecordId],
        report: &mut SyncReport,
    ) -> Result<Vec<RecordId>, DeviceError> {
        let mut records = Vec::with_capacity(ids.len());
        let mut sent = Vec::with_capacity(ids.len());
        let mut stale = Vec::new();
        for &id in ids {
            // The row may have left the outbox since the list was read (a concurrent sync).
            let Some(row) = self.store.push_row(id).await? else {
                continue;
            };
            match self.prepare(id, row)? {
                Prepared::Skip => {}
                Prepared::Stale(heads) => stale.push((id, heads)),
                Prepared::Send(record, s) => {
                    records.push(record);
                    sent.push(s);
                }
            }
        }
        let updates = if records.is_empty() {
            Vec::new()
        } else {
            let response = self.client.push(&PushRequest { records }).await?;
            plan::apply_results(&sent, &response.results).map_err(|e| {
                DeviceError::Protocol(format!("the server's push answer is inconsistent: {e}"))
            })?
        };

        let mut tx = self.store.begin().await?;
        for (id, heads) in stale {
            tx.dequeue_if_heads(id, &heads).await?;
            report.unchanged += 1;
        }
        let mut resend = Vec::new();
        for update in updates {
            apply_update(&mut tx, &update, report).await?;
            if let Update::ResendFull { id, .. } = update {
                resend.push(id);
            }
        }
        tx.commit().await?;
        Ok(resend)
    }

    fn prepare(&self, id: RecordId, row: PushRow) -> Result<Prepared, DeviceError> {
        let local = parse_heads(&row.local_heads)?;
        let mut doc = RecordDoc::load(&row.doc, self.actor.clone())?;
        let server = match &row.server_heads {
            Some(heads) => Some(known_heads(doc.automerge(), &parse_heads(heads)?)),
            None => None,
        };
        let since = match plan::decide_send(&local, server.as_deref(), row.held) {
            SendDecision::Hold => return Ok(Prepared::Skip),
            SendDecision::NothingNew => return Ok(Prepared::Stale(row.local_heads)),
            SendDecision::Changes { since } => since,
        };
        let changes = doc.changes_since(&since);
        if changes.is_empty() {
            return Ok(Prepared::Stale(row.local_heads));
        }
        let sent = Sent {
            id,
            local_heads: row.local_heads,
            full_history: since.is_empty(),
        };
        Ok(Prepared::Send(PushRecord { id, changes }, sent))
    }

    pub(crate) async fn pull(
        &self,
        progress: &dyn Progress,
        report: &mut SyncReport,
    ) -> Result<(), DeviceError> {
        let mut cursor = self.store.pull_cursor().await?;
        let mut done = 0;
        progress.update(Phase::Pull, 0, None);
        loop {
            let page = self.client.pull(cursor, self.pull_limit).await?;
            if page.more && page.cursor <= cursor {
                return Err(DeviceError::Protocol(format!(
                    "the pull cursor did not advance past {cursor}"
                )));
            }
            let mut tx = self.store.begin().await?;
            for pulled in &page.records {
                self.merge_pulled(&mut tx, pulled, report).await?;
            }
            tx.set_meta(key::PULL_CURSOR, &page.cursor.to_string())
                .await?;
            tx.commit().await?;
            cursor = page.cursor;
            done += page.records.len() as u64;
            report.pulled += page.records.len() as u64;
            progress.update(Phase::Pull, done, (!page.more).then_some(done));
            if !page.more {
                return Ok(());
            }
        }
    }

    /// Merges one pulled record into the store inside the page's transaction.
    pub(super) async fn merge_pulled(
        &self,
        tx: &mut WriteTx,
        pulled: &PulledRecord,
        report: &mut SyncReport,
    ) -> Result<(), DeviceError> {
        // Most of a pull is this device's own records coming back after its push: when the
        // heads already match there is nothing to merge, and the documents need not be loaded.
        let local_heads = tx.local_heads(pulled.id).await?;
        if let Some(heads) = &local_heads
            && plan::same_heads(heads, &pulled.heads)
        {
            tx.set_server_heads(pulled.id, Some(&pulled.heads)).await?;
            tx.dequeue(pulled.id).await?;
            return Ok(());
        }
        // A record this device has never held needs no lookup of a local document.
        let is_new = local_heads.is_none();
        let existing = if is_new {
            None
        } else {
            tx.doc(pulled.id).await?
        };
        let merged = match merge(existing, pulled, &self.actor) {
            Ok(merged) => merged,
            Err(reason) => {
                tracing::warn!(id = %pulled.id, %reason, "skipping a pulled record");
                report.skipped.push((pulled.id, reason));
                return Ok(());
            }
        };
        if let Some((bytes, projection)) = &merged.write {
            tx.put_record(pulled.id, bytes, projection, &merged.local_heads)
                .await?;
        }
        tx.set_server_heads(pulled.id, Some(&pulled.heads)).await?;
        if is_new {
            // Nothing of a record first seen in this pull can be queued on this device.
            report.new += 1;
            return Ok(());
        }
        if plan::same_heads(&merged.local_heads, &pulled.heads) {
            tx.dequeue(pulled.id).await?;
        } else {
            // Local changes the server has not seen yet (made offline since the last push).
            tx.ensure_queued(pulled.id).await?;
        }
        if merged.write.is_some() {
            report.merged += 1;
        }
        Ok(())
    }
}

enum Prepared {
    Skip,
    /// Nothing to send; dequeue if the local heads are still these.
    Stale(Vec<String>),
    Send(PushRecord, Sent),
}

async fn apply_update(
    tx: &mut WriteTx,
    update: &Update,
    report: &mut SyncReport,
) -> Result<(), DeviceError> {
    match update {
        Update::Acknowledge {
            id,
            server_heads,
            local_heads,
            changed,
        } => {
            tx.set_server_heads(*id, Some(server_heads)).await?;
            tx.dequeue_if_heads(*id, local_heads).await?;
            if *changed {
                report.pushed += 1;
            } else {
                report.unchanged += 1;
            }
        }
        Update::ResendFull { id, reason } => {
            tx.set_server_heads(*id, None).await?;
            tx.note_failure(*id, "missing_dependencies", reason, false)
                .await?;
        }
        Update::Retry(r) | Update::Hold(r) => {
            let code = serde_json::to_value(r.code)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let hold = matches!(update, Update::Hold(_));
            tx.note_failure(r.id, &code, &r.reason, hold).await?;
            report.rejected.push(r.clone());
        }
    }
    Ok(())
}

/// A pulled record merged with the local copy: what to write (`None` when the local document
/// already had everything) and the resulting heads.
struct Merged {
    write: Option<(Vec<u8>, super::store::Projection)>,
    local_heads: Vec<String>,
}

fn merge(local: Option<Vec<u8>>, pulled: &PulledRecord, actor: &ActorId) -> Result<Merged, String> {
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
    let local_heads = ingest::heads_to_strings(&doc.heads());
    if !changed {
        return Ok(Merged {
            write: None,
            local_heads,
        });
    }
    let record = doc.read().map_err(|p| {
        format!(
            "not a readable record: {}",
            crate::record::Problem::join(&p)
        )
    })?;
    if record.id != pulled.id {
        return Err(format!("the document's id is {}", record.id));
    }
    let state = crate::record::workflow::derive(doc.automerge()).state;
    let projection = super::store::Projection::of(&record, state);
    // A record new to this device is exactly the server's compacted document: keep its bytes
    // rather than compacting it again.
    let bytes = if is_new {
        pulled.doc.clone()
    } else {
        doc.save()
    };
    Ok(Merged {
        write: Some((bytes, projection)),
        local_heads,
    })
}

fn parse_heads(heads: &[String]) -> Result<Vec<ChangeHash>, DeviceError> {
    ingest::parse_heads(heads).map_err(DeviceError::Corrupt)
}

/// The subset of `heads` present in `doc`.
fn known_heads(doc: &mut AutoCommit, heads: &[ChangeHash]) -> Vec<ChangeHash> {
    let missing = doc.get_missing_deps(heads);
    heads
        .iter()
        .filter(|h| !missing.contains(h))
        .copied()
        .collect()
}
