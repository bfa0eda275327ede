//! The network and server side of the sync machine's tests: a server in memory, reached through
//! a transport whose faults are scripted one per request (refuse, cut after the server acted,
//! stall, slow, error status, partial answer), and a simulated clock that jumps instead of
//! sleeping.

use std::{
    collections::{BTreeMap, HashMap, HashSet, VecDeque},
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use automerge::{ActorId, AutoCommit};

use crate::{
    Record, RecordDoc, RecordId, ingest,
    protocol::{
        MissingBlob, MissingBlobsResponse, PullResponse, PulledRecord, PushOutcome, PushRequest,
        PushResponse, PushResult, RejectCode, RequestedBlobs, UploadResponse,
    },
    sync::{Answer, Chunk, ChunkOutcome, Clock, Failure, Request, Time, Transport},
};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Simulated time: waiting jumps to the time waited for, and every wait is remembered.
#[derive(Debug, Default)]
pub(super) struct SimClock {
    now: Mutex<Time>,
    waits: Mutex<Vec<(Time, Time)>>,
}

impl SimClock {
    pub(super) fn advance(&self, by: Duration) {
        *lock(&self.now) += by;
    }

    /// Every wait as (from, until).
    pub(super) fn waits(&self) -> Vec<(Time, Time)> {
        lock(&self.waits).clone()
    }
}

impl Clock for SimClock {
    fn now(&self) -> Time {
        *lock(&self.now)
    }

    async fn sleep_until(&self, time: Time) {
        let mut now = lock(&self.now);
        lock(&self.waits).push((*now, time));
        *now = (*now).max(time);
    }
}

/// What happens to one request on its way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fault {
    /// Nothing: the server answers.
    Pass,
    /// The connection is refused; the server sees nothing.
    Refuse,
    /// The server acts, then the connection is cut before the answer arrives.
    Cut,
    /// The connection goes silent: nothing comes back until the stall timeout.
    Stall,
    /// The server acts and answers this late.
    Slow(Duration),
    /// The server (or a proxy) answers with this error status.
    Status(u16),
    /// The server acts and answers a push with its last result missing.
    Partial,
}

#[derive(Debug, thiserror::Error)]
pub(super) enum NetError {
    #[error("connection refused")]
    Refused,
    #[error("connection cut")]
    Cut,
    #[error("no byte for the stall timeout")]
    Stalled,
    #[error("status {0}")]
    Status(u16),
}

/// The server's side, in memory.
#[derive(Debug, Default)]
pub(super) struct MemServer {
    pub docs: BTreeMap<RecordId, AutoCommit>,
    /// Each record's latest position in the change feed.
    pub feed: BTreeMap<RecordId, i64>,
    pub seq: i64,
    /// Records refused with this code whenever pushed.
    pub refuse: HashMap<RecordId, RejectCode>,
    /// Records that make any push holding them too large (413).
    pub too_large: HashSet<RecordId>,
    /// Photo files records refer to: size, and the bytes received so far.
    pub blobs: HashMap<String, (u64, Vec<u8>)>,
    pub requested: Vec<String>,
}

impl MemServer {
    /// Stores a record made elsewhere (a teammate's), in the feed.
    pub(super) fn add(&mut self, record: &Record) {
        let mut doc = RecordDoc::create(record, ActorId::random(), "officer:87010002");
        let bytes = doc.save();
        self.docs
            .insert(record.id, ingest::load_document(&bytes).expect("document"));
        self.seq += 1;
        self.feed.insert(record.id, self.seq);
    }

    pub(super) fn expect_blob(&mut self, hash: &str, size: u64) {
        self.blobs.insert(hash.to_owned(), (size, Vec::new()));
    }

    fn push(&mut self, request: &PushRequest) -> Result<PushResponse, NetError> {
        if request
            .records
            .iter()
            .any(|r| self.too_large.contains(&r.id))
        {
            return Err(NetError::Status(413));
        }
        let mut results = Vec::new();
        for record in &request.records {
            let outcome = if let Some(code) = self.refuse.get(&record.id) {
                PushOutcome::Rejected {
                    code: *code,
                    reason: "refused by the test".into(),
                    problems: Vec::new(),
                }
            } else {
                match ingest::merge_changes(self.docs.get(&record.id).cloned(), &record.changes) {
                    Ok(merged) => {
                        if merged.changed {
                            self.seq += 1;
                            self.feed.insert(record.id, self.seq);
                        }
                        let heads = ingest::heads_to_strings(&merged.heads);
                        self.docs.insert(record.id, merged.doc);
                        PushOutcome::Accepted {
                            heads,
                            changed: merged.changed,
                        }
                    }
                    Err(e) => PushOutcome::Rejected {
                        code: match e {
                            ingest::IngestError::MissingDependencies(_) => {
                                RejectCode::MissingDependencies
                            }
                            _ => RejectCode::CorruptChanges,
                        },
                        reason: e.to_string(),
                        problems: Vec::new(),
                    },
                }
            };
            results.push(PushResult {
                id: record.id,
                outcome,
            });
        }
        Ok(PushResponse {
            results,
            receipt: None,
        })
    }

    fn pull(&mut self, since: i64, limit: u32) -> PullResponse {
        let mut after: Vec<(i64, RecordId)> = self
            .feed
            .iter()
            .filter(|(_, seq)| **seq > since)
            .map(|(id, seq)| (*seq, *id))
            .collect();
        after.sort();
        let more = after.len() > limit as usize;
        after.truncate(limit as usize);
        let cursor = after.last().map_or(since.max(self.seq), |(seq, _)| *seq);
        let records = after
            .into_iter()
            .map(|(seq, id)| {
                let doc = self.docs.get_mut(&id).expect("fed record");
                PulledRecord {
                    id,
                    seq,
                    heads: ingest::heads_to_strings(&doc.get_heads()),
                    doc: doc.save(),
                }
            })
            .collect();
        PullResponse {
            records,
            cursor,
            more,
            log_head: None,
        }
    }

    fn missing(&self, hashes: &[String]) -> MissingBlobsResponse {
        let mut answer = MissingBlobsResponse::default();
        for hash in hashes {
            match self.blobs.get(hash) {
                Some((size, got)) if got.len() as u64 == *size => {}
                Some((_, got)) => answer.missing.push(MissingBlob {
                    hash: hash.clone(),
                    offset: got.len() as u64,
                }),
                None => answer.unknown.push(hash.clone()),
            }
        }
        answer
    }

    fn upload(&mut self, chunk: &Chunk) -> Result<ChunkOutcome, NetError> {
        let (size, got) = self
            .blobs
            .get_mut(&chunk.hash)
            .ok_or(NetError::Status(404))?;
        if chunk.offset != got.len() as u64 {
            return Ok(ChunkOutcome::Mismatch(got.len() as u64));
        }
        got.extend_from_slice(&chunk.bytes);
        Ok(ChunkOutcome::Stored(UploadResponse {
            hash: chunk.hash.clone(),
            offset: got.len() as u64,
            complete: got.len() as u64 == *size,
        }))
    }

    fn answer(&mut self, request: &Request) -> Result<Answer, NetError> {
        Ok(match request {
            Request::Push(push) => Answer::Push(self.push(push)?),
            Request::Pull { since, limit } => Answer::Pull(self.pull(*since, *limit)),
            Request::RequestedBlobs => Answer::RequestedBlobs(RequestedBlobs {
                hashes: self.requested.clone(),
            }),
            Request::MissingBlobs(m) => Answer::MissingBlobs(self.missing(&m.hashes)),
            Request::UploadChunk(chunk) => Answer::Chunk(self.upload(chunk)?),
        })
    }
}

/// One request as the transport saw it: when, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Sent {
    pub at: Time,
    pub what: String,
}

/// The transport to the in-memory server, faults taken from a script one per request.
#[derive(Debug)]
pub(super) struct MemNet {
    server: Mutex<MemServer>,
    script: Mutex<VecDeque<Fault>>,
    log: Mutex<Vec<Sent>>,
    clock: Arc<SimClock>,
}

impl MemNet {
    pub(super) fn new(clock: Arc<SimClock>) -> Self {
        Self {
            server: Mutex::new(MemServer::default()),
            script: Mutex::new(VecDeque::new()),
            log: Mutex::new(Vec::new()),
            clock,
        }
    }

    pub(super) fn script(&self, faults: impl IntoIterator<Item = Fault>) {
        lock(&self.script).extend(faults);
    }

    /// No more faults.
    pub(super) fn heal(&self) {
        lock(&self.script).clear();
    }

    pub(super) fn server(&self) -> MutexGuard<'_, MemServer> {
        lock(&self.server)
    }

    pub(super) fn log(&self) -> Vec<Sent> {
        lock(&self.log).clone()
    }
}

fn describe(request: &Request) -> String {
    match request {
        Request::Push(p) => format!("push {}", p.records.len()),
        Request::Pull { since, limit } => format!("pull since {since} limit {limit}"),
        Request::RequestedBlobs => "requested".to_owned(),
        Request::MissingBlobs(m) => format!("missing {}", m.hashes.len()),
        Request::UploadChunk(c) => format!("chunk {} at {}", c.hash, c.offset),
    }
}

impl Transport for MemNet {
    type Error = NetError;

    async fn send(
        &self,
        request: &Request,
        within: Duration,
        stall: Duration,
    ) -> Result<Answer, NetError> {
        let fault = lock(&self.script).pop_front().unwrap_or(Fault::Pass);
        lock(&self.log).push(Sent {
            at: self.clock.now(),
            what: describe(request),
        });
        match fault {
            Fault::Pass => self.server().answer(request),
            Fault::Refuse => Err(NetError::Refused),
            Fault::Cut => {
                self.server().answer(request)?;
                Err(NetError::Cut)
            }
            Fault::Stall => {
                self.clock.advance(stall.min(within));
                Err(NetError::Stalled)
            }
            Fault::Slow(by) => {
                let answer = self.server().answer(request);
                self.clock.advance(by);
                answer
            }
            Fault::Status(status) => Err(NetError::Status(status)),
            Fault::Partial => match self.server().answer(request)? {
                Answer::Push(mut push) => {
                    push.results.pop();
                    Ok(Answer::Push(push))
                }
                other => Ok(other),
            },
        }
    }

    fn classify(error: &NetError) -> Failure {
        match error {
            NetError::Refused | NetError::Cut | NetError::Stalled => Failure::Network,
            NetError::Status(status) => Failure::Server {
                status: *status,
                code: "test".into(),
                message: format!("status {status}"),
            },
        }
    }
}
