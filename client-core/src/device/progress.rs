//! How a sync reports progress (records pushed and pulled, photo bytes uploaded): the CLI draws a bar from it, tests ignore it.

/// Which half of a sync is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Sending local changes; `total` is the number of queued records.
    Push,
    /// Receiving the server's changes; the total is unknown until the last page.
    Pull,
    /// Uploading photo files; `done` and `total` are bytes.
    Photos,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Push => "push",
            Phase::Pull => "pull",
            Phase::Photos => "photos",
        }
    }
}

/// Receives progress updates. Called from the sync task; keep it cheap.
pub trait Progress: Send + Sync {
    /// `done` records of `total` (when known) have been handled in `phase`.
    fn update(&self, phase: Phase, done: u64, total: Option<u64>);
}

/// Progress nobody watches.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn update(&self, _: Phase, _: u64, _: Option<u64>) {}
}
