//! The sync machine driven over the in-memory harness (`mem_store`, `mem_net`) with simulated
//! time: backoff schedules, timeouts, resuming after a cut, held rejections, halved batches, paged
//! pulls and resumable photo uploads. Nothing here sleeps: waiting moves the simulated clock.

mod mem_net;
mod mem_store;
mod progress;
mod pull_overlap;

use std::{sync::Arc, time::Duration};

use mem_net::{Fault, MemNet, NetError, SimClock};
use mem_store::{MemError, MemStore, UNIT};

use crate::{
    Record, RecordId,
    protocol::RejectCode,
    sync::{Clock, Config, Machine, NoProgress, SyncError, SyncReport, run},
};

struct Sim {
    clock: Arc<SimClock>,
    net: MemNet,
    store: MemStore,
}

type Outcome = Result<SyncReport, SyncError<MemError, NetError>>;

impl Sim {
    fn new() -> Self {
        let clock = Arc::new(SimClock::default());
        Self {
            net: MemNet::new(clock.clone()),
            clock,
            store: MemStore::new(),
        }
    }

    async fn run(&mut self, config: Config) -> Outcome {
        let machine = Machine::new(config);
        run(
            machine,
            &mut self.store,
            &self.net,
            &*self.clock,
            &NoProgress,
        )
        .await
    }

    async fn sync(&mut self) -> Outcome {
        self.run(Config::sync(42)).await
    }

    async fn push(&mut self) -> Outcome {
        self.run(Config {
            photos: false,
            pull: false,
            ..Config::sync(42)
        })
        .await
    }

    /// When each request went out, and what it was.
    fn requests(&self) -> Vec<(Duration, String)> {
        self.net.log().into_iter().map(|s| (s.at, s.what)).collect()
    }

    /// The server holds exactly the device's records, at the same heads.
    fn assert_server_matches(&self) {
        let mut server = self.net.server();
        assert_eq!(
            server.docs.keys().collect::<Vec<_>>(),
            self.store.records.keys().collect::<Vec<_>>()
        );
        for (id, doc) in &mut server.docs {
            let mut heads = crate::ingest::heads_to_strings(&doc.get_heads());
            let mut local = self.store.records[id].local_heads.clone();
            heads.sort();
            local.sort();
            assert_eq!(heads, local, "{id}");
        }
    }
}

#[tokio::test]
async fn a_healthy_sync_pushes_uploads_and_pulls_without_waiting() {
    let mut sim = Sim::new();
    let ids: Vec<RecordId> = (0..3)
        .map(|i| sim.store.capture(&format!("Sambang {i}")))
        .collect();
    sim.store.add_blob("aa", b"photo bytes", false);
    sim.net.server().expect_blob("aa", 11);
    let teammate = Record::new(UNIT, "87010002", "patroli", "Patroli malam");
    sim.net.server().add(&teammate);

    let report = sim.sync().await.expect("sync");
    assert_eq!(report.pushed, 3);
    assert_eq!((report.photos_uploaded, report.photo_bytes_sent), (1, 11));
    assert_eq!((report.pulled, report.new, report.merged), (4, 1, 0));
    assert!(report.rejected.is_empty() && report.skipped.is_empty());
    assert!(sim.store.outbox.is_empty());
    assert!(sim.store.blobs["aa"].confirmed);
    assert_eq!(sim.net.server().blobs["aa"].1, b"photo bytes");
    assert!(ids.iter().all(|id| sim.store.records.contains_key(id)));
    sim.assert_server_matches();
    assert!(sim.clock.waits().is_empty());
    assert_eq!(sim.clock.now(), Duration::ZERO);
}

#[tokio::test]
async fn refused_connections_are_retried_on_the_backoff_schedule() {
    let mut sim = Sim::new();
    sim.store.capture("Sambang");
    sim.net.script([Fault::Refuse; 3]);
    let report = sim.push().await.expect("the fourth attempt gets through");
    assert_eq!(report.pushed, 1);

    let waits: Vec<Duration> = sim.clock.waits().iter().map(|(a, b)| *b - *a).collect();
    assert_eq!(waits.len(), 3);
    // Equal jitter: each wait is between half its ceiling and the ceiling, ceilings doubling.
    for (wait, ceiling_ms) in waits.iter().zip([250, 500, 1000]) {
        let ceiling = Duration::from_millis(ceiling_ms);
        assert!(
            *wait >= ceiling / 2 && *wait <= ceiling,
            "{wait:?} for {ceiling:?}"
        );
    }
    // Each attempt went out when the wait before it ended.
    let at: Vec<Duration> = sim.requests().iter().map(|(at, _)| *at).collect();
    let ends: Vec<Duration> = sim.clock.waits().iter().map(|(_, until)| *until).collect();
    assert_eq!(at[1..], ends[..]);

    // The same seed draws the same schedule.
    let mut again = Sim::new();
    again.store.capture("Sambang");
    again.net.script([Fault::Refuse; 3]);
    again.push().await.expect("push");
    assert_eq!(again.clock.waits(), sim.clock.waits());
}

#[tokio::test]
async fn a_dead_network_ends_the_sync_after_bounded_retries_keeping_everything_queued() {
    let mut sim = Sim::new();
    for i in 0..3 {
        sim.store.capture(&format!("Sambang {i}"));
    }
    sim.net.script([Fault::Refuse; 20]);
    let failed = sim.sync().await;
    assert!(
        matches!(failed, Err(SyncError::Transport(NetError::Refused))),
        "{failed:?}"
    );
    // One attempt and six retries, with the waits between them taken in simulated time.
    assert_eq!(sim.requests().len(), 7);
    let waited = sim.clock.now();
    assert!(
        waited >= Duration::from_millis(7_875) && waited <= Duration::from_millis(15_750),
        "{waited:?}"
    );
    assert_eq!(sim.store.waiting().len(), 3);

    // The network comes back: the next sync sends everything once.
    sim.net.heal();
    let report = sim.sync().await.expect("sync");
    assert_eq!(report.pushed, 3);
    sim.assert_server_matches();
}

#[tokio::test]
async fn a_stalled_connection_times_out_at_the_stall_timeout_and_is_retried() {
    let mut sim = Sim::new();
    sim.store.capture("Sambang");
    sim.net.script([Fault::Stall]);
    let report = sim.push().await.expect("the retry gets through");
    assert_eq!(report.pushed, 1);
    let requests = sim.requests();
    assert_eq!(requests.len(), 2);
    // The stall took 30 s of simulated time, then one backoff wait.
    let retry_at = requests[1].0;
    assert!(
        retry_at >= Duration::from_millis(30_125) && retry_at <= Duration::from_millis(30_250),
        "{retry_at:?}"
    );
}

#[tokio::test]
async fn an_answer_after_the_deadline_counts_as_lost_and_the_retry_duplicates_nothing() {
    let mut sim = Sim::new();
    let id = sim.store.capture("Sambang");
    // The server stores the record but answers after the 120 s request timeout.
    sim.net.script([Fault::Slow(Duration::from_secs(121))]);
    let report = sim.push().await.expect("push");
    assert_eq!(sim.requests().len(), 2, "the late answer was not trusted");
    // The retry is a replay: acknowledged, not stored twice.
    assert_eq!((report.pushed, report.unchanged), (0, 1));
    assert_eq!(sim.net.server().feed.len(), 1);
    assert!(!sim.store.outbox.contains_key(&id));
    sim.assert_server_matches();
}

#[tokio::test]
async fn answers_cut_after_the_server_acted_are_retried_harmlessly() {
    let mut sim = Sim::new();
    sim.store.capture("Sambang 1");
    sim.store.capture("Sambang 2");
    sim.net.script([Fault::Cut, Fault::Cut]);
    let report = sim.push().await.expect("push");
    assert_eq!(report.unchanged, 2, "{report:?}");
    assert!(sim.store.outbox.is_empty());
    sim.assert_server_matches();
}

#[tokio::test]
async fn overload_is_retried_but_other_refusals_end_the_sync_at_once() {
    let mut sim = Sim::new();
    sim.store.capture("Sambang");
    sim.net.script([Fault::Status(503), Fault::Status(429)]);
    sim.push().await.expect("retried through overload");
    assert_eq!(sim.requests().len(), 3);

    let mut sim = Sim::new();
    sim.store.capture("Sambang");
    sim.net.script([Fault::Status(401)]);
    let failed = sim.push().await;
    assert!(matches!(
        failed,
        Err(SyncError::Transport(NetError::Status(401)))
    ));
    assert_eq!(sim.requests().len(), 1);
    assert!(sim.clock.waits().is_empty());
}

#[tokio::test]
async fn a_partial_answer_is_refused_and_nothing_of_it_applied() {
    let mut sim = Sim::new();
    sim.store.capture("Sambang 1");
    sim.store.capture("Sambang 2");
    sim.net.script([Fault::Partial]);
    let failed = sim.push().await;
    assert!(
        matches!(&failed, Err(SyncError::Protocol(m)) if m.contains("inconsistent")),
        "{failed:?}"
    );
    assert_eq!(sim.store.waiting().len(), 2, "nothing acknowledged");
    // The next sync replays both; the server stored them once.
    sim.push().await.expect("push");
    assert!(sim.store.outbox.is_empty());
    sim.assert_server_matches();
}

#[tokio::test]
async fn rejected_records_are_held_until_edited_and_the_rest_lands() {
    let mut sim = Sim::new();
    let bad = sim.store.capture("Ditolak");
    let good = sim.store.capture("Diterima");
    sim.net.server().refuse.insert(bad, RejectCode::Invalid);
    let report = sim.push().await.expect("push");
    assert_eq!(report.pushed, 1);
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(
        (report.rejected[0].id, report.rejected[0].code),
        (bad, RejectCode::Invalid)
    );
    let held = &sim.store.outbox[&bad];
    assert!(held.held);
    assert_eq!(held.attempts, 1);
    assert_eq!(
        held.last_error.as_deref(),
        Some("invalid: refused by the test")
    );
    assert!(!sim.store.outbox.contains_key(&good));

    // A held record is not sent again…
    let before = sim.requests().len();
    let report = sim.push().await.expect("push");
    assert_eq!(report, SyncReport::default());
    assert_eq!(sim.requests().len(), before, "nothing to send");

    // …until the officer edits it.
    sim.net.server().refuse.clear();
    sim.store.edit(bad, "Diperbaiki");
    let report = sim.push().await.expect("push");
    assert_eq!(report.pushed, 1);
    sim.assert_server_matches();
}

#[tokio::test]
async fn history_the_server_lacks_is_resent_in_full_once() {
    let mut sim = Sim::new();
    let id = sim.store.capture("Sambang");
    sim.push().await.expect("push");
    sim.store.edit(id, "Sambang Desa Sudaji");
    // The server lost the record (restored from an old backup): the edit alone cannot apply.
    sim.net.server().docs.remove(&id);
    let report = sim.push().await.expect("push");
    assert_eq!(report.pushed, 1);
    assert!(report.rejected.is_empty());
    let pushes: Vec<String> = sim.requests().into_iter().map(|(_, what)| what).collect();
    assert_eq!(pushes, ["push 1", "push 1", "push 1"]);
    sim.assert_server_matches();
}

#[tokio::test]
async fn batches_too_large_are_halved_and_a_single_oversized_record_is_held() {
    let mut sim = Sim::new();
    let ids: Vec<RecordId> = (0..4)
        .map(|i| sim.store.capture(&format!("S {i}")))
        .collect();
    sim.net.server().too_large.insert(ids[0]);
    let report = sim.push().await.expect("push");
    assert_eq!(report.pushed, 3);
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].code, RejectCode::TooLarge);
    assert!(sim.store.outbox[&ids[0]].held);
    let pushes: Vec<String> = sim.requests().into_iter().map(|(_, what)| what).collect();
    assert_eq!(pushes, ["push 4", "push 2", "push 1", "push 1", "push 2"]);
}

#[tokio::test]
async fn a_pull_cut_mid_feed_resumes_after_the_last_whole_page() {
    let mut sim = Sim::new();
    for i in 0..5 {
        let record = Record::new(UNIT, "87010002", "patroli", &format!("Patroli {i}"));
        sim.net.server().add(&record);
    }
    let pull = Config {
        push: false,
        photos: false,
        pull_limit: 2,
        ..Config::sync(42)
    };
    // The first page arrives; then the network dies for good.
    sim.net.script([Fault::Pass]);
    sim.net.script([Fault::Refuse; 7]);
    let failed = sim.run(pull.clone()).await;
    assert!(failed.is_err());
    assert_eq!(sim.store.records.len(), 2);
    assert_eq!(sim.store.cursor, 2);

    let report = sim.run(pull).await.expect("pull");
    assert_eq!((report.pulled, report.new), (3, 3));
    assert_eq!(sim.store.records.len(), 5);
    let pulls: Vec<String> = sim.requests().into_iter().map(|(_, what)| what).collect();
    assert_eq!(
        pulls.last().map(String::as_str),
        Some("pull since 4 limit 2")
    );
    assert!(pulls.contains(&"pull since 2 limit 2".to_owned()));
}

#[tokio::test]
async fn a_photo_upload_resumes_from_the_servers_offset_after_a_cut() {
    let mut sim = Sim::new();
    let bytes = b"0123456789";
    sim.store.add_blob("bb", bytes, false);
    sim.net.server().expect_blob("bb", 10);
    let photos = Config {
        push: false,
        pull: false,
        chunk_bytes: 4,
        ..Config::sync(42)
    };
    // requested, missing, chunk 0..4, then the network dies for good.
    sim.net.script([Fault::Pass, Fault::Pass, Fault::Pass]);
    sim.net.script([Fault::Refuse; 7]);
    assert!(sim.run(photos.clone()).await.is_err());
    assert_eq!(sim.store.blobs["bb"].server_offset, 4);

    // Next time the chunk from 4 is cut after the server stored it: the retry learns the
    // server's offset (8) and goes on from there.
    sim.net.script([Fault::Pass, Fault::Pass, Fault::Cut]);
    let report = sim.run(photos).await.expect("upload");
    assert_eq!(report.photos_uploaded, 1);
    assert_eq!(sim.net.server().blobs["bb"].1, bytes);
    assert!(sim.store.blobs["bb"].confirmed);
    let chunks: Vec<String> = sim
        .requests()
        .into_iter()
        .map(|(_, what)| what)
        .filter(|w| w.starts_with("chunk"))
        .collect();
    assert_eq!(
        chunks[chunks.len() - 3..],
        ["chunk bb at 4", "chunk bb at 4", "chunk bb at 8"]
    );
}

#[tokio::test]
async fn photos_the_server_cannot_place_stay_queued_with_the_reason() {
    let mut sim = Sim::new();
    sim.store.add_blob("cc", b"orphan", false);
    let report = sim.sync().await.expect("sync");
    assert_eq!(report.photo_problems.len(), 1);
    assert!(!sim.store.blobs["cc"].confirmed);
    assert!(sim.store.blobs["cc"].error.is_some());
}
