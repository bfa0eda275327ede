//! The traits the machine runs over, and the small loop that runs it.
//!
//! A [`SyncStore`] reads and writes what the machine asks, a [`Transport`] sends its requests,
//! a [`Clock`] tells the time and waits. The device implements them with SQLite, reqwest and
//! tokio; the tests with memory and simulated time. No runtime is assumed: the loop is an
//! `async fn` any executor can poll.

use std::{
    future::{Future, poll_fn},
    pin::pin,
    task::Poll,
    time::Duration,
};

use super::{
    Failure, Progress, SyncReport, Time,
    io::{Answer, Load, Loaded, Outgoing, Request, Write, Written},
    machine::{Input, Machine, Step, Stop},
};

/// Where the records, the outbox, the cursor and the photo files live.
pub trait SyncStore {
    type Error: std::error::Error + Send + Sync + 'static;

    fn load(&mut self, load: Load) -> impl Future<Output = Result<Loaded, Self::Error>> + Send;

    /// Carries out `write` in one transaction: all of it or nothing.
    fn write(&mut self, write: Write) -> impl Future<Output = Result<Written, Self::Error>> + Send;
}

/// How requests reach the server.
pub trait Transport {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Sends `request` and returns the server's answer, giving up after `within` (and after
    /// `stall` of silence, where the transport can tell). Does not retry: the machine does.
    fn send(
        &self,
        request: &Request,
        within: Duration,
        stall: Duration,
    ) -> impl Future<Output = Result<Answer, Self::Error>> + Send;

    /// What kind of failure `error` is, for the machine to decide whether to retry.
    fn classify(error: &Self::Error) -> Failure;
}

/// The time, from an origin of the clock's choosing, and waiting.
pub trait Clock {
    fn now(&self) -> Time;

    fn sleep_until(&self, time: Time) -> impl Future<Output = ()> + Send;
}

/// Why [`run`] failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError<S: std::error::Error + 'static, T: std::error::Error + 'static> {
    #[error(transparent)]
    Store(S),
    /// The transport's last error, after the machine gave up on it.
    #[error(transparent)]
    Transport(T),
    /// The transport failed in a way it did not report as an error.
    #[error("the transport failed: {0:?}")]
    Failed(Failure),
    #[error("{0}")]
    Protocol(String),
    #[error("{0}")]
    Local(String),
}

/// Runs `machine` to its end over `store`, `transport` and `clock`, passing its progress on.
pub async fn run<S, T, C>(
    mut machine: Machine,
    store: &mut S,
    transport: &T,
    clock: &C,
    progress: &dyn Progress,
) -> Result<SyncReport, SyncError<S::Error, T::Error>>
where
    S: SyncStore,
    T: Transport,
    C: Clock,
{
    let mut input = Input::Start;
    // The transport's error behind the failure the machine last saw, to report if it ends there.
    let mut last_error = None;
    loop {
        let step = machine.step(input, clock.now());
        for (phase, done, total) in machine.take_progress() {
            progress.update(phase, done, total);
        }
        input = match step {
            Step::Load(load) => Input::Loaded(store.load(load).await.map_err(SyncError::Store)?),
            Step::Write(write) => {
                Input::Written(store.write(write).await.map_err(SyncError::Store)?)
            }
            Step::Send(out) => Input::Answer(send(transport, clock, &out, &mut last_error).await),
            Step::WriteAndSend(write, out) => {
                // The request first: it is on its way before the write's work begins.
                let (answer, written) = both(
                    send(transport, clock, &out, &mut last_error),
                    store.write(write),
                )
                .await;
                Input::WrittenAndAnswered(written.map_err(SyncError::Store)?, answer)
            }
            Step::Wait(until) => {
                clock.sleep_until(until).await;
                Input::Woke
            }
            Step::Done(Ok(report)) => return Ok(report),
            Step::Done(Err(Stop::Failed(failure))) => {
                return Err(match last_error {
                    Some((seen, error)) if seen == failure => SyncError::Transport(error),
                    _ => SyncError::Failed(failure),
                });
            }
            Step::Done(Err(Stop::Protocol(message))) => return Err(SyncError::Protocol(message)),
            Step::Done(Err(Stop::Local(message))) => return Err(SyncError::Local(message)),
        };
    }
}

/// Sends `out` and classifies a failure, keeping the transport's error for the report.
async fn send<T: Transport, C: Clock>(
    transport: &T,
    clock: &C,
    out: &Outgoing,
    last_error: &mut Option<(Failure, T::Error)>,
) -> Result<Answer, Failure> {
    let within = out.deadline.saturating_sub(clock.now());
    match transport.send(&out.request, within, out.stall).await {
        Ok(answer) => {
            *last_error = None;
            Ok(answer)
        }
        Err(error) => {
            let failure = T::classify(&error);
            *last_error = Some((failure.clone(), error));
            Err(failure)
        }
    }
}

/// Runs `a` and `b` side by side on the caller's task (no runtime assumed), `a` polled first.
async fn both<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut ra, mut rb) = (None, None);
    poll_fn(|cx| {
        if ra.is_none()
            && let Poll::Ready(v) = a.as_mut().poll(cx)
        {
            ra = Some(v);
        }
        if rb.is_none()
            && let Poll::Ready(v) = b.as_mut().poll(cx)
        {
            rb = Some(v);
        }
        match (ra.take(), rb.take()) {
            (Some(a), Some(b)) => Poll::Ready((a, b)),
            (a, b) => {
                (ra, rb) = (a, b);
                Poll::Pending
            }
        }
    })
    .await
}
