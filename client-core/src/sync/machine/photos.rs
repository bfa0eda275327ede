//! The photo phase: learn which originals HQ asked for, ask the server which photo files it
//! lacks, and send each in chunks from the server's offset.
//!
//! The server's offset is the only truth about what arrived: it comes back from `missing`, from
//! every chunk's answer and from a `409 offset_mismatch`. The machine has the store record it
//! after every chunk, so a broken connection or a restart of either side resumes where the
//! server's durable bytes end, and nothing already stored is sent again.

use std::collections::{HashMap, HashSet, VecDeque};

use super::{Machine, Stage as MachineStage, Step, Stop, Time, unexpected};
use crate::{
    protocol::{MAX_CHUNK_BYTES, MAX_MISSING_QUERY, MissingBlobsRequest},
    sync::{
        Failure, Phase, PhotoProblem,
        io::{Answer, BlobToSend, Chunk, ChunkOutcome, Load, Loaded, Request, Write},
    },
};

/// A server that keeps answering with offsets that do not advance would loop forever: after
/// this many answers in a row without progress the sync stops.
const MAX_STALLS: u32 = 3;

#[derive(Debug, Default)]
pub(super) struct State {
    /// Files still to ask the server about, in batches.
    to_check: VecDeque<Vec<BlobToSend>>,
    /// Files the server lacks, with its offset.
    to_send: VecDeque<BlobToSend>,
    /// The file being sent, `server_offset` moving as the server answers.
    current: Option<BlobToSend>,
    /// Answers in a row that did not advance the current file.
    stalls: u32,
    sent: u64,
    total: u64,
}

#[derive(Debug)]
pub(super) enum Stage {
    Requested,
    Marked,
    Blobs,
    Checking(Vec<BlobToSend>),
    Checked,
    Reading {
        len: u64,
    },
    Sending {
        len: u64,
    },
    /// The chunk's outcome is written; `finished` when the file is done with.
    Recorded {
        finished: bool,
    },
}

impl Machine {
    pub(super) fn start_photos(&mut self, now: Time) -> Step {
        self.stage = MachineStage::Photos(Stage::Requested);
        self.send(Request::RequestedBlobs, now)
    }

    pub(super) fn photos_loaded(&mut self, stage: Stage, loaded: Loaded, now: Time) -> Step {
        match (stage, loaded) {
            (Stage::Blobs, Loaded::Blobs(rows)) if rows.is_empty() => self.after_phase(now, 2),
            (Stage::Blobs, Loaded::Blobs(rows)) => {
                self.photos.to_check = rows.chunks(MAX_MISSING_QUERY).map(<[_]>::to_vec).collect();
                self.next_check(now)
            }
            (Stage::Reading { len }, Loaded::Chunk(bytes)) => {
                let Some(file) = &self.photos.current else {
                    return super::out_of_turn("a photo chunk");
                };
                let chunk = Chunk {
                    hash: file.hash.clone(),
                    offset: file.server_offset,
                    total: file.size,
                    bytes,
                };
                self.stage = MachineStage::Photos(Stage::Sending { len });
                self.send(Request::UploadChunk(chunk), now)
            }
            _ => super::out_of_turn("a store read"),
        }
    }

    pub(super) fn photos_answered(
        &mut self,
        stage: Stage,
        result: Result<Answer, Failure>,
    ) -> Step {
        match (stage, result) {
            (Stage::Requested, Ok(Answer::RequestedBlobs(requested))) => {
                if requested.hashes.is_empty() {
                    return self.load_blobs();
                }
                self.stage = MachineStage::Photos(Stage::Marked);
                Step::Write(Write::MarkRequested(requested.hashes))
            }
            (Stage::Checking(batch), Ok(Answer::MissingBlobs(answer))) => {
                let missing: HashMap<_, _> = answer
                    .missing
                    .into_iter()
                    .map(|m| (m.hash, m.offset))
                    .collect();
                let unknown: HashSet<_> = answer.unknown.into_iter().collect();
                let (mut confirmed, mut problems) = (Vec::new(), Vec::new());
                for file in batch {
                    if let Some(&offset) = missing.get(&file.hash) {
                        let server_offset = offset.min(file.size);
                        self.photos.to_send.push_back(BlobToSend {
                            server_offset,
                            ..file
                        });
                    } else if unknown.contains(&file.hash) {
                        problems.push(PhotoProblem {
                            hash: file.hash,
                            reason: "the server knows no record with this photo yet; it is \
                                     sent once the record is accepted"
                                .to_owned(),
                        });
                    } else {
                        // Already stored on the server (another device, or an earlier sync
                        // whose last answer was lost).
                        confirmed.push(file.hash);
                    }
                }
                self.report.photo_problems.extend(problems.iter().cloned());
                self.stage = MachineStage::Photos(Stage::Checked);
                Step::Write(Write::BlobChecks {
                    confirmed,
                    problems,
                })
            }
            (Stage::Sending { len }, Ok(Answer::Chunk(outcome))) => self.chunk_done(outcome, len),
            (
                Stage::Sending { .. },
                Err(Failure::Server {
                    status: 404 | 413 | 422,
                    code,
                    message,
                }),
            ) => {
                // Retrying now cannot help; the file stays queued with the reason.
                let Some(file) = self.photos.current.take() else {
                    return super::out_of_turn("an answer");
                };
                let problem = PhotoProblem {
                    hash: file.hash,
                    reason: format!("{code}: {message}"),
                };
                self.report.photo_problems.push(problem.clone());
                self.stage = MachineStage::Photos(Stage::Recorded { finished: true });
                Step::Write(Write::BlobChecks {
                    confirmed: Vec::new(),
                    problems: vec![problem],
                })
            }
            (Stage::Requested, other) => unexpected(other, "requested photos"),
            (Stage::Checking(_), other) => unexpected(other, "missing photos"),
            (Stage::Sending { .. }, other) => unexpected(other, "photo upload"),
            _ => super::out_of_turn("an answer"),
        }
    }

    pub(super) fn photos_written(&mut self, stage: Stage, now: Time) -> Step {
        match stage {
            Stage::Marked => self.load_blobs(),
            Stage::Checked => self.next_check(now),
            Stage::Recorded { finished: true } => self.next_file(now),
            Stage::Recorded { finished: false } if self.photos.stalls > MAX_STALLS => {
                let (hash, offset) = self
                    .photos
                    .current
                    .as_ref()
                    .map(|f| (f.hash.clone(), f.server_offset))
                    .unwrap_or_default();
                Step::Done(Err(Stop::Protocol(format!(
                    "the server does not accept photo {hash} past byte {offset}"
                ))))
            }
            Stage::Recorded { finished: false } => self.read_chunk(),
            _ => super::out_of_turn("a store write"),
        }
    }

    fn load_blobs(&mut self) -> Step {
        self.stage = MachineStage::Photos(Stage::Blobs);
        Step::Load(Load::BlobsToUpload {
            all_originals: self.config.all_originals,
        })
    }

    /// Asks about the next batch of files, or starts sending once all are checked.
    fn next_check(&mut self, now: Time) -> Step {
        if let Some(batch) = self.photos.to_check.pop_front() {
            let hashes = batch.iter().map(|f| f.hash.clone()).collect();
            self.stage = MachineStage::Photos(Stage::Checking(batch));
            return self.send(Request::MissingBlobs(MissingBlobsRequest { hashes }), now);
        }
        self.photos.total = self
            .photos
            .to_send
            .iter()
            .map(|f| f.size - f.server_offset)
            .sum();
        self.note(Phase::Photos, 0, Some(self.photos.total));
        self.next_file(now)
    }

    fn next_file(&mut self, now: Time) -> Step {
        self.photos.current = self.photos.to_send.pop_front();
        self.photos.stalls = 0;
        if self.photos.current.is_none() {
            return self.after_phase(now, 2);
        }
        self.read_chunk()
    }

    fn read_chunk(&mut self) -> Step {
        let Some(file) = &self.photos.current else {
            return super::out_of_turn("a photo chunk");
        };
        let chunk_bytes = self.config.chunk_bytes.clamp(1, MAX_CHUNK_BYTES) as u64;
        let len = (file.size - file.server_offset).min(chunk_bytes);
        let load = Load::Chunk {
            hash: file.hash.clone(),
            offset: file.server_offset,
            len,
        };
        self.stage = MachineStage::Photos(Stage::Reading { len });
        Step::Load(load)
    }

    /// A chunk's answer: the file is complete, or the server's offset is where to go on.
    fn chunk_done(&mut self, outcome: ChunkOutcome, len: u64) -> Step {
        let Some(file) = self.photos.current.as_mut() else {
            return super::out_of_turn("an answer");
        };
        let offset = file.server_offset;
        let next = match outcome {
            ChunkOutcome::Stored(answer) if answer.complete => {
                self.photos.sent += file.size - offset;
                self.report.photos_uploaded += 1;
                self.report.photo_bytes_sent += len;
                let hash = file.hash.clone();
                self.photos.current = None;
                let (sent, total) = (self.photos.sent.min(self.photos.total), self.photos.total);
                self.note(Phase::Photos, sent, Some(total));
                self.stage = MachineStage::Photos(Stage::Recorded { finished: true });
                return Step::Write(Write::BlobChecks {
                    confirmed: vec![hash],
                    problems: Vec::new(),
                });
            }
            ChunkOutcome::Stored(answer) => {
                self.report.photo_bytes_sent += len;
                answer.offset
            }
            ChunkOutcome::Mismatch(server) => server,
        };
        if next > file.size {
            return Step::Done(Err(Stop::Protocol(format!(
                "the server claims {next} bytes of a {}-byte photo file",
                file.size
            ))));
        }
        file.server_offset = next;
        let hash = file.hash.clone();
        self.photos.stalls = if next > offset {
            0
        } else {
            self.photos.stalls + 1
        };
        self.photos.sent += next.saturating_sub(offset);
        let (sent, total) = (self.photos.sent.min(self.photos.total), self.photos.total);
        self.note(Phase::Photos, sent, Some(total));
        self.stage = MachineStage::Photos(Stage::Recorded { finished: false });
        Step::Write(Write::BlobOffset { hash, offset: next })
    }
}
