//! The sync progress bar the `sync` command draws on stderr.

use std::{io::IsTerminal, time::Duration};

use indicatif::{ProgressBar, ProgressStyle};

use super::render;
use crate::device::{Phase, Progress};

/// The sync progress bar on stderr; hidden when quiet or not on a terminal.
pub(super) struct Bar(pub(super) ProgressBar);

pub(super) fn progress_bar(quiet: bool) -> Bar {
    if quiet || !std::io::stderr().is_terminal() {
        return Bar(ProgressBar::hidden());
    }
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template("{prefix:>6} [{bar:30}] {msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    Bar(bar)
}

impl Progress for Bar {
    fn update(&self, phase: Phase, done: u64, total: Option<u64>) {
        self.0.set_prefix(phase.as_str());
        self.0.set_length(total.unwrap_or(done.max(1)));
        self.0.set_position(done);
        let of = total.map_or(String::new(), |t| match phase {
            Phase::Photos => format!(" of {}", render::bytes(t)),
            _ => format!("/{t}"),
        });
        self.0.set_message(match phase {
            Phase::Photos => format!("{}{of}", render::bytes(done)),
            _ => format!("{done}{of} records"),
        });
    }
}
