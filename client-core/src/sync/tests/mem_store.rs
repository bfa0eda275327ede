//! A device's store in memory for the sync machine's tests, written by the same rules as the
//! SQLite one (`device::sync`): the outbox with held records, server heads, the pull cursor
//! (pulled pages merged with `sync::merge`) and photo files with the server's offsets.

use std::collections::BTreeMap;

use automerge::ActorId;

use crate::{
    Record, RecordDoc, RecordId, ingest,
    protocol::PulledRecord,
    sync::{
        BlobToSend, Load, Loaded, PageReport, PushRow, PushSource, SyncStore, UpdateOp, Write,
        Written,
        merge::{self, QueueChange, Settled},
        same_heads,
    },
};

/// The unit every test record belongs to.
pub(super) const UNIT: &str = "bali/buleleng/sawan";

#[derive(Debug, Clone)]
pub(super) struct MemRecord {
    pub doc: Vec<u8>,
    pub local_heads: Vec<String>,
    pub server_heads: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Queued {
    pub order: u64,
    pub held: bool,
    pub attempts: u32,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone)]
pub(super) struct MemBlob {
    pub bytes: Vec<u8>,
    pub original: bool,
    pub requested: bool,
    pub server_offset: u64,
    pub confirmed: bool,
    pub error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("memory store: {0}")]
pub(super) struct MemError(String);

/// A device's store in memory, written by the same rules as the SQLite one.
#[derive(Debug)]
pub(super) struct MemStore {
    pub actor: ActorId,
    pub records: BTreeMap<RecordId, MemRecord>,
    pub outbox: BTreeMap<RecordId, Queued>,
    pub cursor: i64,
    pub blobs: BTreeMap<String, MemBlob>,
    next_order: u64,
}

impl MemStore {
    pub(super) fn new() -> Self {
        Self {
            actor: ActorId::random(),
            records: BTreeMap::new(),
            outbox: BTreeMap::new(),
            cursor: 0,
            blobs: BTreeMap::new(),
            next_order: 0,
        }
    }

    /// Captures a new record, queued.
    pub(super) fn capture(&mut self, title: &str) -> RecordId {
        let record = Record::new(UNIT, "87010001", "sambang", title);
        let mut doc = RecordDoc::create(&record, self.actor.clone(), "officer:87010001");
        self.put(record.id, &mut doc);
        record.id
    }

    /// Edits a record, which queues it again and releases it if it was held.
    pub(super) fn edit(&mut self, id: RecordId, title: &str) {
        let bytes = &self.records[&id].doc;
        let mut doc = RecordDoc::load(bytes, self.actor.clone()).expect("stored document");
        doc.edit("officer:87010001", |r| r.title = title.to_owned())
            .expect("edit");
        self.put(id, &mut doc);
    }

    fn put(&mut self, id: RecordId, doc: &mut RecordDoc) {
        let server_heads = self.records.get(&id).and_then(|r| r.server_heads.clone());
        let record = MemRecord {
            doc: doc.save(),
            local_heads: ingest::heads_to_strings(&doc.heads()),
            server_heads,
        };
        self.records.insert(id, record);
        self.next_order += 1;
        let order = self.next_order;
        let queued = self.outbox.entry(id).or_default();
        *queued = Queued {
            order,
            ..Queued::default()
        };
    }

    pub(super) fn add_blob(&mut self, hash: &str, bytes: &[u8], original: bool) {
        let blob = MemBlob {
            bytes: bytes.to_vec(),
            original,
            requested: false,
            server_offset: 0,
            confirmed: false,
            error: None,
        };
        self.blobs.insert(hash.to_owned(), blob);
    }

    pub(super) fn waiting(&self) -> Vec<RecordId> {
        let mut ready: Vec<_> = self.outbox.iter().filter(|(_, q)| !q.held).collect();
        ready.sort_by_key(|(id, q)| (q.order, **id));
        ready.into_iter().map(|(id, _)| *id).collect()
    }

    fn dequeue_if_heads(&mut self, id: RecordId, heads: &[String]) {
        if self
            .records
            .get(&id)
            .is_some_and(|r| same_heads(&r.local_heads, heads))
        {
            self.outbox.remove(&id);
        }
    }

    fn note_failure(&mut self, id: RecordId, code: &str, reason: &str, hold: bool) {
        if let Some(q) = self.outbox.get_mut(&id) {
            q.attempts += 1;
            q.last_error = Some(format!("{code}: {reason}"));
            q.held |= hold;
        }
    }

    fn settle(&mut self, pulled: &PulledRecord) -> Settled {
        let heads = self.records.get(&pulled.id).map(|r| r.local_heads.clone());
        let doc = if merge::needs_local_doc(heads.as_deref(), pulled) {
            self.records.get(&pulled.id).map(|r| r.doc.clone())
        } else {
            None
        };
        let settled = merge::settle(heads.as_deref(), doc, pulled, &self.actor);
        if let Settled::Apply(apply) = &settled {
            let server_heads = Some(apply.server_heads.clone());
            match &apply.write {
                Some(doc) => {
                    let record = MemRecord {
                        doc: doc.bytes.clone(),
                        local_heads: doc.heads.clone(),
                        server_heads,
                    };
                    self.records.insert(pulled.id, record);
                }
                None => {
                    if let Some(r) = self.records.get_mut(&pulled.id) {
                        r.server_heads = server_heads;
                    }
                }
            }
            match apply.queue {
                QueueChange::Dequeue => {
                    self.outbox.remove(&pulled.id);
                }
                QueueChange::EnsureQueued => {
                    self.outbox.entry(pulled.id).or_default();
                }
                QueueChange::Untouched => {}
            }
        }
        settled
    }
}

impl SyncStore for MemStore {
    type Error = MemError;

    async fn load(&mut self, load: Load) -> Result<Loaded, MemError> {
        Ok(match load {
            Load::Outbox => Loaded::Outbox(self.waiting()),
            Load::PushRows(ids) => Loaded::PushRows(
                ids.into_iter()
                    .filter_map(|id| {
                        let queued = self.outbox.get(&id)?;
                        let r = self.records.get(&id)?;
                        Some(PushRow {
                            id,
                            source: PushSource::Doc(r.doc.clone()),
                            local_heads: r.local_heads.clone(),
                            server_heads: r.server_heads.clone(),
                            held: queued.held,
                        })
                    })
                    .collect(),
            ),
            Load::PullCursor => Loaded::PullCursor(self.cursor),
            Load::BlobsToUpload { all_originals } => Loaded::Blobs(
                self.blobs
                    .iter()
                    .filter(|(_, b)| !b.confirmed && (!b.original || b.requested || all_originals))
                    .map(|(hash, b)| BlobToSend {
                        hash: hash.clone(),
                        size: b.bytes.len() as u64,
                        server_offset: b.server_offset,
                    })
                    .collect(),
            ),
            Load::Chunk { hash, offset, len } => {
                let blob = self.blobs.get(&hash).ok_or(MemError(hash))?;
                let (from, to) = (offset as usize, (offset + len) as usize);
                Loaded::Chunk(blob.bytes[from..to].to_vec())
            }
        })
    }

    async fn write(&mut self, write: Write) -> Result<Written, MemError> {
        Ok(match write {
            Write::PushResults { stale, updates } => {
                for (id, heads) in stale {
                    self.dequeue_if_heads(id, &heads);
                }
                for update in &updates {
                    for op in update.ops() {
                        match op {
                            UpdateOp::ServerHeads(id, heads) => {
                                if let Some(r) = self.records.get_mut(&id) {
                                    r.server_heads = heads.map(<[String]>::to_vec);
                                }
                            }
                            UpdateOp::DequeueIfHeads(id, heads) => self.dequeue_if_heads(id, heads),
                            UpdateOp::NoteFailure {
                                id,
                                code,
                                reason,
                                hold,
                            } => self.note_failure(id, &code, reason, hold),
                        }
                    }
                }
                Written::Done
            }
            Write::PullPage { records, cursor } => {
                let mut page = PageReport::default();
                for pulled in &records {
                    let settled = self.settle(pulled);
                    page.count(pulled.id, &settled);
                }
                self.cursor = cursor;
                Written::Page(page)
            }
            Write::MarkRequested(hashes) => {
                for hash in hashes {
                    if let Some(b) = self.blobs.get_mut(&hash).filter(|b| b.original) {
                        b.requested = true;
                    }
                }
                Written::Done
            }
            Write::BlobChecks {
                confirmed,
                problems,
            } => {
                for hash in confirmed {
                    if let Some(b) = self.blobs.get_mut(&hash) {
                        b.confirmed = true;
                        b.server_offset = b.bytes.len() as u64;
                    }
                }
                for p in problems {
                    if let Some(b) = self.blobs.get_mut(&p.hash) {
                        b.error = Some(p.reason);
                    }
                }
                Written::Done
            }
            Write::BlobOffset { hash, offset } => {
                if let Some(b) = self.blobs.get_mut(&hash) {
                    b.server_offset = offset;
                }
                Written::Done
            }
        })
    }
}
