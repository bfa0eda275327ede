//! The progress a sync reports along the way, as the CLI's bar and a phone's screen show it.

use std::sync::Mutex;

use super::Sim;
use crate::sync::{Config, Machine, Phase, Progress, run};

/// Every progress update, in order.
#[derive(Debug, Default)]
struct Recorded(Mutex<Vec<(Phase, u64, Option<u64>)>>);

impl Progress for Recorded {
    fn update(&self, phase: Phase, done: u64, total: Option<u64>) {
        self.0.lock().expect("progress").push((phase, done, total));
    }
}

#[tokio::test]
async fn progress_counts_records_pushed_photo_bytes_and_records_pulled() {
    let mut sim = Sim::new();
    for i in 0..3 {
        sim.store.capture(&format!("Sambang {i}"));
    }
    sim.store.add_blob("dd", b"0123456789", false);
    sim.net.server().expect_blob("dd", 10);
    let config = Config {
        batch_size: 2,
        chunk_bytes: 6,
        pull_limit: 2,
        ..Config::sync(42)
    };
    let progress = Recorded::default();
    run(
        Machine::new(config),
        &mut sim.store,
        &sim.net,
        &*sim.clock,
        &progress,
    )
    .await
    .expect("sync");
    let updates = progress.0.into_inner().expect("progress");
    assert_eq!(
        updates,
        [
            (Phase::Push, 0, Some(3)),
            (Phase::Push, 2, Some(3)),
            (Phase::Push, 3, Some(3)),
            (Phase::Photos, 0, Some(10)),
            (Phase::Photos, 6, Some(10)),
            (Phase::Photos, 10, Some(10)),
            (Phase::Pull, 0, None),
            (Phase::Pull, 2, None),
            (Phase::Pull, 3, Some(3)),
        ]
    );
}
