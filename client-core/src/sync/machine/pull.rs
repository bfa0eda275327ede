//! The pull phase: the server's change feed page by page from the stored cursor. Each page and
//! its cursor are written together, so a pull cut anywhere resumes after the last whole page.

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

    pub(super) fn pull_answered(&mut self, stage: Stage, result: Result<Answer, Failure>) -> Step {
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
        Step::Write(Write::PullPage {
            records: page.records,
            cursor: page.cursor,
        })
    }

    pub(super) fn pull_written(&mut self, stage: Stage, written: Written, now: Time) -> Step {
        let (
            Stage::Written {
                records,
                cursor,
                more,
            },
            Written::Page(page),
        ) = (stage, written)
        else {
            return super::out_of_turn("a store write");
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
        if more {
            self.next_page(now)
        } else {
            self.after_phase(now, 3)
        }
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
