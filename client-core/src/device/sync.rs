//! The device side of the sync machine (`crate::sync`): the SQLite store and the photo files as
//! its [`SyncStore`], tokio's timer as its [`Clock`] (the reqwest transport is in `client`).
//!
//! Every write the machine asks for is one `IMMEDIATE` transaction: a batch's results, a pull
//! page with its cursor, a chunk's offset. A sync that dies half way (network, power) leaves some
//! records queued and the cursor where the last page left it, and the next sync resumes;
//! re-sending changes the server already has is harmless.

use automerge::ActorId;

use super::{
    DeviceError,
    photos::PhotoFiles,
    store::{DeviceStore, NewRecord, Projection, WriteTx, key},
};
use crate::sync::{
    Clock, Load, Loaded, PageReport, SyncStore, Time, Update, UpdateOp, Write, Written,
    merge::{self, QueueChange, Settled},
};

/// The device's store and photo files, as the sync machine reads and writes them.
#[derive(Debug)]
pub(crate) struct DeviceSide<'a> {
    pub store: &'a DeviceStore,
    pub files: &'a PhotoFiles,
    /// The device's own actor, which merged documents keep writing with.
    pub actor: ActorId,
}

impl SyncStore for DeviceSide<'_> {
    type Error = DeviceError;

    async fn load(&mut self, load: Load) -> Result<Loaded, DeviceError> {
        Ok(match load {
            Load::Outbox => Loaded::Outbox(self.store.outbox_ready().await?),
            Load::PushRows(ids) => Loaded::PushRows(self.store.push_rows(&ids).await?),
            Load::PullCursor => Loaded::PullCursor(self.store.pull_cursor().await?),
            Load::BlobsToUpload { all_originals } => {
                Loaded::Blobs(self.store.blobs_to_upload(all_originals).await?)
            }
            Load::Chunk { hash, offset, len } => {
                let len = usize::try_from(len).map_err(|_| {
                    DeviceError::Corrupt(format!("a chunk of {len} bytes of photo {hash}"))
                })?;
                Loaded::Chunk(self.files.read_range(&hash, offset, len)?)
            }
        })
    }

    async fn write(&mut self, write: Write) -> Result<Written, DeviceError> {
        let mut tx = self.store.begin().await?;
        let written = match write {
            Write::PushResults { stale, updates } => {
                for (id, heads) in stale {
                    tx.dequeue_if_heads(id, &heads).await?;
                }
                // Acknowledgements (nearly every result) go to the store together.
                let mut acks = Vec::with_capacity(updates.len());
                for update in &updates {
                    match update {
                        Update::Acknowledge {
                            id,
                            server_heads,
                            local_heads,
                            ..
                        } => acks.push((*id, server_heads.as_slice(), local_heads.as_slice())),
                        other => apply_update(&mut tx, other).await?,
                    }
                }
                tx.acknowledge(&acks).await?;
                Written::Done
            }
            Write::PullPage { records, cursor } => {
                let mut page = PageReport::default();
                let ids: Vec<_> = records.iter().map(|r| r.id).collect();
                let local = tx.local_heads_of(&ids).await?;
                // Records new to the device (most of a first pull) are inserted together.
                let mut new = Vec::new();
                for pulled in &records {
                    let heads = local.get(&pulled.id).map(Vec::as_slice);
                    let doc = if merge::needs_local_doc(heads, pulled) {
                        tx.doc(pulled.id).await?
                    } else {
                        None
                    };
                    let settled = merge::settle(heads, doc, pulled, &self.actor);
                    page.count(pulled.id, &settled);
                    match settled {
                        Settled::Apply(apply) if heads.is_none() && apply.write.is_some() => {
                            new.push((pulled.id, apply));
                        }
                        settled => apply_settled(&mut tx, pulled.id, settled).await?,
                    }
                }
                let rows: Vec<NewRecord<'_>> = new
                    .iter()
                    .filter_map(|(id, apply)| {
                        let doc = apply.write.as_deref()?;
                        Some(NewRecord {
                            id: *id,
                            doc: &doc.bytes,
                            projection: Projection::of(&doc.record, doc.state),
                            local_heads: &doc.heads,
                            server_heads: &apply.server_heads,
                        })
                    })
                    .collect();
                tx.insert_new(&rows).await?;
                tx.set_meta(key::PULL_CURSOR, &cursor.to_string()).await?;
                Written::Page(page)
            }
            Write::MarkRequested(hashes) => {
                for hash in &hashes {
                    tx.mark_requested(hash).await?;
                }
                Written::Done
            }
            Write::BlobChecks {
                confirmed,
                problems,
            } => {
                for hash in &confirmed {
                    tx.confirm_blob(hash).await?;
                }
                for problem in &problems {
                    tx.note_blob_error(&problem.hash, &problem.reason).await?;
                }
                Written::Done
            }
            Write::BlobOffset { hash, offset } => {
                tx.set_blob_offset(&hash, offset).await?;
                Written::Done
            }
        };
        tx.commit().await?;
        Ok(written)
    }
}

async fn apply_update(tx: &mut WriteTx, update: &Update) -> Result<(), DeviceError> {
    for op in update.ops() {
        match op {
            UpdateOp::ServerHeads(id, heads) => tx.set_server_heads(id, heads).await?,
            UpdateOp::DequeueIfHeads(id, heads) => tx.dequeue_if_heads(id, heads).await?,
            UpdateOp::NoteFailure {
                id,
                code,
                reason,
                hold,
            } => tx.note_failure(id, &code, reason, hold).await?,
        }
    }
    Ok(())
}

async fn apply_settled(
    tx: &mut WriteTx,
    id: crate::RecordId,
    settled: Settled,
) -> Result<(), DeviceError> {
    let apply = match settled {
        Settled::Skipped(reason) => {
            tracing::warn!(%id, %reason, "skipping a pulled record");
            return Ok(());
        }
        Settled::Apply(apply) => apply,
    };
    if let Some(doc) = &apply.write {
        let projection = Projection::of(&doc.record, doc.state);
        tx.put_record(id, &doc.bytes, &projection, &doc.heads, None)
            .await?;
    }
    tx.set_server_heads(id, Some(&apply.server_heads)).await?;
    match apply.queue {
        QueueChange::Dequeue => tx.dequeue(id).await,
        QueueChange::EnsureQueued => tx.ensure_queued(id).await,
        QueueChange::Untouched => Ok(()),
    }
}

/// Tokio's monotonic clock, from when the sync began.
#[derive(Debug)]
pub(crate) struct TokioClock(tokio::time::Instant);

impl TokioClock {
    pub(crate) fn start() -> Self {
        Self(tokio::time::Instant::now())
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Time {
        self.0.elapsed()
    }

    async fn sleep_until(&self, time: Time) {
        tokio::time::sleep_until(self.0 + time).await;
    }
}
