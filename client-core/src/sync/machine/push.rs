//! The push phase: the outbox in batches, each batch's results written in one store
//! transaction. A batch the server finds too large is halved until it fits (a single record
//! still too large is held with the server's reason); records whose server heads proved stale go
//! once more at the end, with their whole history.

use super::{Machine, Stage as MachineStage, Step, Stop, Time, unexpected};
use crate::{
    RecordId,
    protocol::{PushRequest, RejectCode},
    sync::{
        Failure, Phase, Rejection, Update,
        io::{Answer, Load, Loaded, Request, Write},
        plan::{self, Prepared, Sent},
    },
};

#[derive(Debug, Default)]
pub(super) struct State {
    /// Batches still to send, the next one last.
    batches: Vec<Vec<RecordId>>,
    /// Records to send again with their whole history, after the first round.
    resend: Vec<RecordId>,
    second_round: bool,
    total: u64,
    done: u64,
}

#[derive(Debug)]
pub(super) enum Stage {
    Outbox,
    Rows(Vec<RecordId>),
    Sent {
        batch: Vec<RecordId>,
        sent: Vec<Sent>,
        stale: Vec<(RecordId, Vec<String>)>,
    },
    /// Results written for a batch of this many records.
    Written(usize),
}

impl Machine {
    pub(super) fn start_push(&mut self) -> Step {
        self.stage = MachineStage::Push(Stage::Outbox);
        Step::Load(Load::Outbox)
    }

    pub(super) fn push_loaded(&mut self, stage: Stage, loaded: Loaded, now: Time) -> Step {
        match (stage, loaded) {
            (Stage::Outbox, Loaded::Outbox(ids)) => {
                self.push.total = ids.len() as u64;
                self.note(Phase::Push, 0, Some(self.push.total));
                self.push.batches = batches(&ids, self.config.batch_size);
                self.next_batch(now)
            }
            (Stage::Rows(batch), Loaded::PushRows(rows)) => {
                let mut records = Vec::with_capacity(rows.len());
                let mut sent = Vec::with_capacity(rows.len());
                let mut stale = Vec::new();
                for row in rows {
                    let id = row.id;
                    match plan::prepare(row) {
                        Ok(Prepared::Skip) => {}
                        Ok(Prepared::Stale(heads)) => stale.push((id, heads)),
                        Ok(Prepared::Send(record, s)) => {
                            records.push(record);
                            sent.push(s);
                        }
                        Err(e) => {
                            return Step::Done(Err(Stop::Local(format!(
                                "queued record {id} cannot be read: {e}"
                            ))));
                        }
                    }
                }
                if records.is_empty() {
                    return self.write_results(batch.len(), stale, Vec::new());
                }
                self.stage = MachineStage::Push(Stage::Sent { batch, sent, stale });
                // The batch is final here: a signer signs this value, and retries resend it.
                let request = PushRequest {
                    records,
                    signature: None,
                };
                self.send(Request::Push(request), now)
            }
            _ => super::out_of_turn("a store read"),
        }
    }

    pub(super) fn push_answered(
        &mut self,
        stage: Stage,
        result: Result<Answer, Failure>,
        now: Time,
    ) -> Step {
        let Stage::Sent { batch, sent, stale } = stage else {
            return super::out_of_turn("an answer");
        };
        match result {
            Ok(Answer::Push(response)) => {
                let updates = match plan::apply_results(&sent, &response.results) {
                    Ok(updates) => updates,
                    Err(e) => {
                        return Step::Done(Err(Stop::Protocol(format!(
                            "the server's push answer is inconsistent: {e}"
                        ))));
                    }
                };
                self.write_results(batch.len(), stale, updates)
            }
            Err(Failure::Server {
                status: 413,
                message,
                ..
            }) => {
                if let [id] = batch[..] {
                    let hold = Update::Hold(Rejection {
                        id,
                        code: RejectCode::TooLarge,
                        reason: message,
                        problems: Vec::new(),
                    });
                    return self.write_results(1, Vec::new(), vec![hold]);
                }
                // Halve: so a few records with long histories cannot stall the whole outbox.
                let (first, second) = batch.split_at(batch.len() / 2);
                self.push.batches.push(second.to_vec());
                self.push.batches.push(first.to_vec());
                self.next_batch(now)
            }
            other => unexpected(other, "push"),
        }
    }

    pub(super) fn push_written(&mut self, stage: Stage, now: Time) -> Step {
        let Stage::Written(count) = stage else {
            return super::out_of_turn("a store write");
        };
        if !self.push.second_round {
            self.push.done += count as u64;
            self.note(Phase::Push, self.push.done, Some(self.push.total));
        }
        self.next_batch(now)
    }

    /// Counts a batch's outcome in the report and asks the store to write it.
    fn write_results(
        &mut self,
        count: usize,
        stale: Vec<(RecordId, Vec<String>)>,
        updates: Vec<Update>,
    ) -> Step {
        self.report.unchanged += stale.len() as u64;
        for update in &updates {
            match update {
                Update::Acknowledge { changed: true, .. } => self.report.pushed += 1,
                Update::Acknowledge { .. } => self.report.unchanged += 1,
                // A second refusal is recorded and left for the next sync.
                Update::ResendFull { id, .. } if !self.push.second_round => {
                    self.push.resend.push(*id);
                }
                Update::ResendFull { .. } => {}
                Update::Retry(r) | Update::Hold(r) => self.report.rejected.push(r.clone()),
            }
        }
        self.stage = MachineStage::Push(Stage::Written(count));
        Step::Write(Write::PushResults { stale, updates })
    }

    fn next_batch(&mut self, now: Time) -> Step {
        if let Some(batch) = self.push.batches.pop() {
            self.stage = MachineStage::Push(Stage::Rows(batch.clone()));
            return Step::Load(Load::PushRows(batch));
        }
        if !self.push.second_round && !self.push.resend.is_empty() {
            self.push.second_round = true;
            let resend = std::mem::take(&mut self.push.resend);
            self.push.batches = batches(&resend, self.config.batch_size);
            return self.next_batch(now);
        }
        self.after_phase(now, 1)
    }
}

/// `ids` in batches of `size`, as a stack whose last element goes first.
fn batches(ids: &[RecordId], size: usize) -> Vec<Vec<RecordId>> {
    let mut batches: Vec<Vec<RecordId>> = ids.chunks(size.max(1)).map(<[_]>::to_vec).collect();
    batches.reverse();
    batches
}
