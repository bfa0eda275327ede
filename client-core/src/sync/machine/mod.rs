//! The sync state machine: one sync (push, photos, pull) as a sequence of steps, with no I/O,
//! no clock and no sleeping inside.
//!
//! The driver calls [`Machine::step`] with the result of the previous step and the current time;
//! the machine answers with the next thing to do: read or write the store, send a request, wait
//! until a time, or finish. Retries, backoff and timeouts are decided here against the time
//! passed in, so a phone, the CLI, a test with simulated time and a Polsek server syncing upward
//! all behave the same. The phases live in `push`, `photos` and `pull`.

mod photos;
mod pull;
mod push;

use std::{sync::Arc, time::Duration};

use super::{
    Failure, Phase, SyncReport, Time,
    backoff::{Backoff, Jitter},
    io::{Answer, Load, Loaded, Outgoing, Request, Write, Written},
};
use crate::protocol::{DEFAULT_PULL_LIMIT, MAX_PUSH_RECORDS};

/// Default bytes per photo upload request: small enough to finish over a weak rural link before
/// a timeout, large enough that the per-request overhead does not matter.
pub const DEFAULT_CHUNK_BYTES: usize = 1024 * 1024;

/// What one sync does and how patiently.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Send the outbox.
    pub push: bool,
    /// Upload the photo files the server lacks (after the push, so it knows their records).
    pub photos: bool,
    /// Receive the server's feed.
    pub pull: bool,
    /// Records per push request, at most [`MAX_PUSH_RECORDS`].
    pub batch_size: usize,
    /// Records per pull page.
    pub pull_limit: u32,
    /// Bytes per upload request.
    pub chunk_bytes: usize,
    /// Upload every original, not only those HQ asked for.
    pub all_originals: bool,
    pub backoff: Backoff,
    /// Longest a request may take in all. Generous: a 500-record push over a weak rural link
    /// can take a while.
    pub request_timeout: Duration,
    /// Longest silence on a connection; longer than the server takes to ingest a full batch.
    pub stall_timeout: Duration,
    /// Seed of the backoff jitter.
    pub seed: u64,
}

impl Config {
    /// A whole sync (push, photos, pull) with the defaults, jitter seeded with `seed`.
    pub fn sync(seed: u64) -> Self {
        Self {
            push: true,
            photos: true,
            pull: true,
            batch_size: MAX_PUSH_RECORDS,
            pull_limit: DEFAULT_PULL_LIMIT,
            chunk_bytes: DEFAULT_CHUNK_BYTES,
            all_originals: false,
            backoff: Backoff::DEFAULT,
            request_timeout: Duration::from_secs(120),
            stall_timeout: Duration::from_secs(30),
            seed,
        }
    }
}

/// What the driver hands the machine: how the previous step went.
#[derive(Debug)]
pub enum Input {
    /// The first call.
    Start,
    Loaded(Loaded),
    Written(Written),
    /// The transport's answer, or its failure as classified by the transport.
    Answer(Result<Answer, Failure>),
    /// Both halves of a [`Step::WriteAndSend`]: the write carried out, then the answer.
    WrittenAndAnswered(Written, Result<Answer, Failure>),
    /// The time of the last [`Step::Wait`] has come.
    Woke,
}

/// What the driver must do next.
#[derive(Debug)]
pub enum Step {
    Load(Load),
    Write(Write),
    Send(Outgoing),
    /// The write and the request side by side; both outcomes come back together in
    /// [`Input::WrittenAndAnswered`]. The request does not depend on the write: a pull asks for
    /// the next page while the device merges this one.
    WriteAndSend(Write, Outgoing),
    /// Wait until this time, then pass [`Input::Woke`].
    Wait(Time),
    /// The sync is over; the driver stops calling.
    Done(Result<SyncReport, Stop>),
}

/// Why a sync ended early. Everything done until then is in the store, and the next sync
/// resumes from there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The transport failed for good (after the retries, when retrying could help); the
    /// driver reports the transport's own error for it.
    Failed(Failure),
    /// The server's answer breaks the protocol.
    Protocol(String),
    /// The store holds something the machine cannot use, or the driver broke the sequence.
    Local(String),
}

/// A request being attempted.
#[derive(Debug)]
struct InFlight {
    request: Arc<Request>,
    /// Retries taken so far.
    retry: u32,
    deadline: Time,
}

/// Where the machine is, and so which input it expects.
#[derive(Debug)]
enum Stage {
    Idle,
    Push(push::Stage),
    Photos(photos::Stage),
    Pull(pull::Stage),
    Finished,
}

/// One sync in progress. Build one per sync with [`Machine::new`].
#[derive(Debug)]
pub struct Machine {
    config: Config,
    jitter: Jitter,
    report: SyncReport,
    progress: Vec<(Phase, u64, Option<u64>)>,
    stage: Stage,
    in_flight: Option<InFlight>,
    push: push::State,
    photos: photos::State,
    pull: pull::State,
}

impl Machine {
    pub fn new(config: Config) -> Self {
        Self {
            jitter: Jitter::new(config.seed),
            config,
            report: SyncReport::default(),
            progress: Vec::new(),
            stage: Stage::Idle,
            in_flight: None,
            push: push::State::default(),
            photos: photos::State::default(),
            pull: pull::State::default(),
        }
    }

    /// Progress updates since the last call: (phase, done, total when known).
    pub fn take_progress(&mut self) -> Vec<(Phase, u64, Option<u64>)> {
        std::mem::take(&mut self.progress)
    }

    /// Takes the outcome of the previous step at time `now` and says what to do next.
    pub fn step(&mut self, input: Input, now: Time) -> Step {
        match input {
            Input::Start if matches!(self.stage, Stage::Idle) => self.after_phase(now, 0),
            Input::Answer(result) => self.answered(result, now),
            Input::Woke => self.resend(now),
            Input::Loaded(loaded) => match std::mem::replace(&mut self.stage, Stage::Idle) {
                Stage::Push(stage) => self.push_loaded(stage, loaded, now),
                Stage::Photos(stage) => self.photos_loaded(stage, loaded, now),
                Stage::Pull(stage) => self.pull_loaded(stage, loaded, now),
                _ => out_of_turn("a store read"),
            },
            Input::Written(written) => match std::mem::replace(&mut self.stage, Stage::Idle) {
                Stage::Push(stage) => self.push_written(stage, now),
                Stage::Photos(stage) => self.photos_written(stage, now),
                Stage::Pull(stage) => self.pull_written(stage, written, now),
                _ => out_of_turn("a store write"),
            },
            Input::WrittenAndAnswered(written, answer) => {
                match std::mem::replace(&mut self.stage, Stage::Idle) {
                    Stage::Pull(stage) => {
                        self.pull_written_and_answered(stage, written, answer, now)
                    }
                    _ => out_of_turn("a store write and an answer"),
                }
            }
            Input::Start => out_of_turn("a second start"),
        }
    }

    /// Starts the phase after `done` (0: none yet, 1: push, 2: photos, 3: pull).
    fn after_phase(&mut self, now: Time, done: u8) -> Step {
        if done < 1 && self.config.push {
            return self.start_push();
        }
        if done < 2 && self.config.photos {
            return self.start_photos(now);
        }
        if done < 3 && self.config.pull {
            return self.start_pull();
        }
        self.stage = Stage::Finished;
        Step::Done(Ok(std::mem::take(&mut self.report)))
    }

    /// Sends `request` for the first time.
    fn send(&mut self, request: Request, now: Time) -> Step {
        let request = Arc::new(request);
        self.attempt(request, 0, now)
    }

    fn attempt(&mut self, request: Arc<Request>, retry: u32, now: Time) -> Step {
        Step::Send(self.outgoing(request, retry, now))
    }

    /// `request` as the one in flight, sent at `now` after `retry` retries.
    fn outgoing(&mut self, request: Arc<Request>, retry: u32, now: Time) -> Outgoing {
        let deadline = now + self.config.request_timeout;
        self.in_flight = Some(InFlight {
            request: request.clone(),
            retry,
            deadline,
        });
        Outgoing {
            request,
            deadline,
            stall: self.config.stall_timeout,
        }
    }

    /// After a backoff wait: the same request again.
    fn resend(&mut self, now: Time) -> Step {
        match self.in_flight.take() {
            Some(flight) => self.attempt(flight.request, flight.retry, now),
            None => out_of_turn("a wake-up"),
        }
    }

    /// An answer (or failure) for the request in flight: retried after a backoff when the
    /// failure may pass, otherwise handed to the phase that sent it.
    fn answered(&mut self, result: Result<Answer, Failure>, now: Time) -> Step {
        let Some(flight) = self.in_flight.take() else {
            return out_of_turn("an answer");
        };
        // An answer after the deadline counts as lost, whatever the transport did.
        let result = if now > flight.deadline {
            Err(Failure::Network)
        } else {
            result
        };
        if let Err(failure) = &result
            && failure.is_transient()
            && flight.retry < self.config.backoff.retries
        {
            let wait = self.config.backoff.delay(flight.retry, self.jitter.draw());
            tracing::warn!(
                retry = flight.retry,
                ?wait,
                ?failure,
                "retrying after a transient failure"
            );
            self.in_flight = Some(InFlight {
                retry: flight.retry + 1,
                ..flight
            });
            return Step::Wait(now + wait);
        }
        match std::mem::replace(&mut self.stage, Stage::Idle) {
            Stage::Push(stage) => self.push_answered(stage, result, now),
            Stage::Photos(stage) => self.photos_answered(stage, result),
            Stage::Pull(stage) => self.pull_answered(stage, result, now),
            _ => out_of_turn("an answer"),
        }
    }

    fn note(&mut self, phase: Phase, done: u64, total: Option<u64>) {
        self.progress.push((phase, done, total));
    }
}

/// The end of a sync whose driver passed an input the machine did not ask for.
fn out_of_turn(what: &str) -> Step {
    Step::Done(Err(Stop::Local(format!(
        "the sync driver passed {what} out of turn"
    ))))
}

/// The end of a sync on `result`'s failure, or on an answer of the wrong kind.
fn unexpected(result: Result<Answer, Failure>, wanted: &str) -> Step {
    Step::Done(Err(match result {
        Err(failure) => Stop::Failed(failure),
        Ok(answer) => Stop::Protocol(format!(
            "the answer to a {wanted} request is a {} answer",
            answer.kind()
        )),
    }))
}
