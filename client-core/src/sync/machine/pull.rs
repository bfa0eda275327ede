//! The pull phase: the server's change feed page by page from the stored cursor. Each page and
//! its cursor are written together, so a pull cut anywhere resumes after the last whole page.
//!
//! The next page is asked for while this one is written ([`Step::WriteAndSend`]): its cursor is
//! in the page's answer, so the request need not wait for the write. Page after page, the
//! server reads and sends while the device merges, instead of each waiting for the other.

use std::sync::Arc;

use super::{Machine, Stage as MachineStage, Step, Stop, Time, unexpected};
use crate::sync::{
    Failure, Phase,
    io::{Answer, Load, Loaded, Request, Write, Written},
};

#[derive(Debug, Default)]
pub(super) struct State {
    cursor: i64,
    done: u64,
}

#[derive(Debug)]
pub(super) enum Stage {
    Cursor,
    Pulling,
    /// A page of `records` is written; the feed goes on to `cursor` and beyond when `more`.
    Written {
        records: u64,
        cursor: i64,
        more: bool,
    },
}

impl Machine {
    pub(super) fn start_pull(&mut self) -> Step {
        self.note(Phase::Pull, 0, None);
        self.stage = MachineStage::Pull(Stage::Cursor);
        Step::Load(Load::PullCursor)
    }

    pub(super) fn pull_loaded(&mut self, stage: Stage, loaded: Loaded, now: Time) -> Step {
        match (stage, loaded) {
            (Stage::Cursor, Loaded::PullCursor(cursor)) => {
                self.pull.cursor = cursor;
                self.next_page(now)
            }
            _ => super::out_of_turn("a store read"),
        }
    }

    pub(super) fn pull_answered(
        &mut self,
        stage: Stage,
        result: Result<Answer, Failure>,
        now: Time,
    ) -> Step {
        let Stage::Pulling = stage else {
            return super::out_of_turn("an answer");
        };
        let page = match result {
            Ok(Answer::Pull(page)) => page,
            other => return unexpected(other, "pull"),
        };
        let since = self.pull.cursor;
        if page.more && page.cursor <= since {
            return Step::Done(Err(Stop::Protocol(format!(
                "the pull cursor did not advance past {since}"
            ))));
        }
        self.stage = MachineStage::Pull(Stage::Written {
            records: page.records.len() as u64,
            cursor: page.cursor,
            more: page.more,
        });
        let write = Write::PullPage {
            records: page.records,
            cursor: page.cursor,
        };
        if !page.more {
            return Step::Write(write);
        }
        let next = Request::Pull {
            since: page.cursor,
            limit: self.config.pull_limit,
        };
        Step::WriteAndSend(write, self.outgoing(Arc::new(next), 0, now))
    }

    /// The last page written: the sync goes on to the next phase.
    pub(super) fn pull_written(&mut self, stage: Stage, written: Written, now: Time) -> Step {
        match self.pull_page_written(stage, written) {
            Some(false) => self.after_phase(now, 3),
            // A page with more after it was sent with the next request and comes back with its
            // answer.
            Some(true) | None => super::out_of_turn("a store write"),
        }
    }

    /// A page written with the next page asked for: its answer is the next input.
    pub(super) fn pull_written_and_answered(
        &mut self,
        stage: Stage,
        written: Written,
        answer: Result<Answer, Failure>,
        now: Time,
    ) -> Step {
        match self.pull_page_written(stage, written) {
            Some(true) => self.answered(answer, now),
            Some(false) | None => super::out_of_turn("a store write and an answer"),
        }
    }

    /// Counts a written page and moves the cursor past it, leaving the phase waiting for the
    /// next page's answer. Whether more pages follow; `None` when the write was not the page's.
    fn pull_page_written(&mut self, stage: Stage, written: Written) -> Option<bool> {
        let (
            Stage::Written {
                records,
                cursor,
                more,
            },
            Written::Page(page),
        ) = (stage, written)
        else {
            return None;
        };
        self.report.new += page.new;
        self.report.merged += page.merged;
        self.report.skipped.extend(page.skipped);
        self.report.pulled += records;
        self.pull.done += records;
        self.pull.cursor = cursor;
        self.note(
            Phase::Pull,
            self.pull.done,
            (!more).then_some(self.pull.done),
        );
        self.stage = MachineStage::Pull(Stage::Pulling);
        Some(more)
    }

    fn next_page(&mut self, now: Time) -> Step {
        self.stage = MachineStage::Pull(Stage::Pulling);
        let request = Request::Pull {
            since: self.pull.cursor,
            limit: self.config.pull_limit,
        };
        self.send(request, now)
    }
}
