//! The machine asks for the next pull page while the device writes this one, and keeps every
//! guarantee of a page-by-page pull: the cursor moves only with a written page, and a failed
//! prefetch is retried from there.

use std::time::Duration;

use crate::{
    protocol::PullResponse,
    sync::{
        Answer, Config, Failure, Input, Load, Loaded, Machine, PageReport, Request, Step, Write,
        Written,
    },
};

fn pull_only() -> Config {
    Config {
        push: false,
        photos: false,
        pull_limit: 2,
        ..Config::sync(7)
    }
}

fn page(cursor: i64, more: bool) -> Result<Answer, Failure> {
    Ok(Answer::Pull(PullResponse {
        records: Vec::new(),
        cursor,
        more,
        log_head: None,
    }))
}

fn pull_since(step: &Step) -> Option<i64> {
    let request = match step {
        Step::Send(out) | Step::WriteAndSend(_, out) => &out.request,
        _ => return None,
    };
    match **request {
        Request::Pull { since, .. } => Some(since),
        _ => None,
    }
}

fn written_cursor(step: &Step) -> Option<i64> {
    match step {
        Step::Write(Write::PullPage { cursor, .. })
        | Step::WriteAndSend(Write::PullPage { cursor, .. }, _) => Some(*cursor),
        _ => None,
    }
}

/// A machine that has asked for the first page from cursor 0.
fn asking_for_the_first_page() -> Machine {
    let mut m = Machine::new(pull_only());
    let now = Duration::ZERO;
    assert!(matches!(
        m.step(Input::Start, now),
        Step::Load(Load::PullCursor)
    ));
    let step = m.step(Input::Loaded(Loaded::PullCursor(0)), now);
    assert_eq!(pull_since(&step), Some(0), "{step:?}");
    m
}

#[test]
fn the_next_page_is_asked_for_while_this_one_is_written() {
    let mut m = asking_for_the_first_page();
    let now = Duration::ZERO;
    let step = m.step(Input::Answer(page(2, true)), now);
    assert!(matches!(step, Step::WriteAndSend(..)), "{step:?}");
    assert_eq!(written_cursor(&step), Some(2));
    assert_eq!(
        pull_since(&step),
        Some(2),
        "the next page starts at this one's cursor"
    );

    let both = Input::WrittenAndAnswered(Written::Page(PageReport::default()), page(4, true));
    let step = m.step(both, now);
    assert!(matches!(step, Step::WriteAndSend(..)), "{step:?}");
    assert_eq!(
        (written_cursor(&step), pull_since(&step)),
        (Some(4), Some(4))
    );

    // The last page is written alone, and the pull ends once it is.
    let both = Input::WrittenAndAnswered(Written::Page(PageReport::default()), page(5, false));
    let step = m.step(both, now);
    assert!(matches!(step, Step::Write(_)), "{step:?}");
    assert_eq!(written_cursor(&step), Some(5));
    let step = m.step(Input::Written(Written::Page(PageReport::default())), now);
    assert!(matches!(step, Step::Done(Ok(_))), "{step:?}");
}

#[test]
fn a_failed_prefetch_is_retried_from_the_written_page() {
    let mut m = asking_for_the_first_page();
    let step = m.step(Input::Answer(page(2, true)), Duration::ZERO);
    assert_eq!(pull_since(&step), Some(2));
    let cut =
        Input::WrittenAndAnswered(Written::Page(PageReport::default()), Err(Failure::Network));
    let Step::Wait(until) = m.step(cut, Duration::from_secs(1)) else {
        panic!("a network failure waits before the retry");
    };
    let step = m.step(Input::Woke, until);
    assert!(matches!(step, Step::Send(_)), "{step:?}");
    assert_eq!(pull_since(&step), Some(2));
}

#[test]
fn a_page_with_more_after_it_must_come_back_with_the_next_answer() {
    let mut m = asking_for_the_first_page();
    let _ = m.step(Input::Answer(page(2, true)), Duration::ZERO);
    // A driver that carried out only the write broke the sequence: the machine stops rather
    // than end the pull early.
    let step = m.step(
        Input::Written(Written::Page(PageReport::default())),
        Duration::ZERO,
    );
    assert!(matches!(step, Step::Done(Err(_))), "{step:?}");
}
