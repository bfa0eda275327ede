//! Sync benchmark: the real `bukti-server` binary in a child process on loopback, real devices.
//!
//! Per store (SQLite, PostgreSQL) and per round, over a fresh store:
//! 1. optionally preload `--preload N` records (in other Polres of Polda Bali, untimed);
//! 2. wave 1: `--devices` devices across the ten Polsek of Polres Buleleng, each holding
//!    `--records` captured records, push one after another (records accepted / wall time);
//! 3. wave 2 (the burst): a second set of as many devices with fresh records push all at once;
//! 4. the server is restarted (SIGTERM, new process on the same store) and a fresh device
//!    registered at `bali/buleleng` pulls everything (both waves); the pull time is also given
//!    per 10,000 records.
//!
//! It reports the medians over `--rounds`, the server's peak RSS (VmHWM and sampled VmRSS) while
//! it takes both waves, with its RssAnon share, and the restarted server's through the pull, and
//! where the time goes: server and bench CPU seconds per wave and the server's
//! own time in the push/pull handlers (from `/metrics`).
//!
//! ```sh
//! cargo bench -p bukti-tests --bench sync -- [--store sqlite|postgres|both] [--devices 20]
//!     [--records 500] [--preload 0] [--preload-days 0] [--preload-cache DIR] [--rounds 3]
//! ```
//!
//! The preload's activity times fall in the same fortnight as the timed records' (the worst
//! case for the indexes in activity order: every new record lands among stored ones), unless
//! `--preload-days D` spreads them over the last D days, as a store that grew over D days of
//! field work holds them (each captured within hours of its activity). On PostgreSQL the
//! preloaded database is then vacuumed and analysed, as autovacuum would (`StoreSpec::settle`).
//!
//! `--preload-cache DIR` keeps the first preloaded store of each kind in `DIR` (the SQLite data
//! folder copied, a template database on PostgreSQL) and starts later rounds and runs from a
//! copy of it: a million records take minutes to load and seconds to copy. A server with newer
//! migrations applies them to the copy as it starts, before anything is timed (to time one,
//! run `bukti-server` on a copy yourself). Empty `DIR` after a change to what the preload
//! writes (or to how it is settled: caches kept before session 17 hold PostgreSQL preloads never
//! analysed).
//!
//! The server is the `test-bukti-server` binary the same `cargo bench` builds (one compile). PostgreSQL comes from `BUKTI_TEST_POSTGRES`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`); a database is created per round and
//! dropped after. Progress goes to stderr, then a table and one `RESULT {json}` line.

#[path = "sync/cache.rs"]
mod cache;
// The command-line helpers; each bench uses some of them.
#[allow(dead_code)]
#[path = "sync/cli.rs"]
mod cli;
#[path = "sync/options.rs"]
mod options;
#[path = "sync/server.rs"]
mod server;
#[path = "sync/workload.rs"]
mod workload;

use std::{collections::BTreeMap, path::Path, sync::Arc, time::Instant};

use bukti_core::device::NoProgress;
use options::{Options, options};
use serde_json::json;
use server::{Server, Store, StoreSpec, cpu_seconds, database_cpu_seconds};
use workload::Preload;

/// A push's stages in the order they run (`server/src/ingest`): the signature check, waiting
/// for an ingest slot, loading the stored documents, the merge with the writes streaming beside
/// it, the writes, checks across records and commit left after it, the refused records' audit
/// entries, the receipt.
const STAGES: [&str; 7] = [
    "verify", "queue", "load", "merge", "tail", "audit", "receipt",
];

/// The figures of one round.
#[derive(Debug, Clone, Default)]
struct Round {
    wave1_rps: f64,
    burst_rps: f64,
    pull_s: f64,
    pull_records: u64,
    pull_s_per_10k: f64,
    /// The pushing server's peak RSS (both waves) and its RssAnon share.
    peak_rss_mb: f64,
    peak_anon_mb: f64,
    /// The restarted server's peak RSS through the pull.
    pull_rss_mb: f64,
    preload_rps: f64,
    /// Per phase: (wall s, server CPU s, bench CPU s, server handler s, requests, server
    /// bytes written).
    profile: Vec<(&'static str, [f64; 7])>,
    /// Per push phase: the mean milliseconds of each stage of a push, from `/metrics`.
    stages: Vec<(&'static str, BTreeMap<String, f64>)>,
}

/// Wall time, CPU of both processes and handler time around one timed phase.
struct Phase {
    start: Instant,
    server_cpu: f64,
    bench_cpu: f64,
    database_cpu: f64,
    written: f64,
    handler: (f64, f64),
    stages: BTreeMap<String, (f64, f64)>,
    route: &'static str,
}

impl Phase {
    async fn begin(server: &Server, route: &'static str) -> Phase {
        let metrics = server.metrics().await;
        Phase {
            handler: metrics.route_time(route),
            stages: metrics.stage_times(),
            server_cpu: server.cpu_seconds(),
            bench_cpu: cpu_seconds("self"),
            database_cpu: database_cpu_seconds(),
            written: server.bytes_written(),
            route,
            start: Instant::now(),
        }
    }

    /// Wall, server CPU, bench CPU, handler time, requests, bytes written, PostgreSQL's CPU;
    /// and the mean milliseconds of each push stage that ran since [`Phase::begin`].
    async fn end(self, server: &Server) -> ([f64; 7], BTreeMap<String, f64>) {
        let wall = self.start.elapsed().as_secs_f64();
        let (server_cpu, bench_cpu) = (server.cpu_seconds(), cpu_seconds("self"));
        let metrics = server.metrics().await;
        let (sum, count) = metrics.route_time(self.route);
        let mut stages = BTreeMap::new();
        for (stage, (sum, count)) in metrics.stage_times() {
            let (sum0, count0) = self.stages.get(&stage).copied().unwrap_or_default();
            if count > count0 {
                stages.insert(stage, (sum - sum0) * 1e3 / (count - count0));
            }
        }
        let figures = [
            wall,
            server_cpu - self.server_cpu,
            bench_cpu - self.bench_cpu,
            sum - self.handler.0,
            count - self.handler.1,
            server.bytes_written() - self.written,
            database_cpu_seconds() - self.database_cpu,
        ];
        (figures, stages)
    }
}

/// A fresh store for a round: empty, preloaded from the cache, or preloaded now over HTTP (and
/// then kept in the cache, if there is one). Returns the store, its running server and the
/// preload's records/s (0 when none was pushed).
async fn preloaded_store(
    exe: &Path,
    store: Store,
    o: &Options,
    preload: &dyn Fn() -> Arc<Preload>,
    tag: &str,
) -> (StoreSpec, Server, f64) {
    let cache = o.preload_cache.as_deref().filter(|_| o.preload > 0);
    if let Some(cache) = cache {
        let started = Instant::now();
        if let Some(spec) = StoreSpec::from_cache(cache, store, &o.preload_label()).await {
            eprintln!(
                "{tag} {} preloaded records copied from {} in {:.1} s",
                o.preload,
                cache.display(),
                started.elapsed().as_secs_f64()
            );
            let server = Server::start(exe, &spec, None).await;
            return (spec, server, 0.0);
        }
    }
    let spec = StoreSpec::fresh(store).await;
    let mut server = Server::start(exe, &spec, None).await;
    if o.preload == 0 {
        return (spec, server, 0.0);
    }
    eprintln!("{tag} preloading {} records", o.preload);
    let rps = preload().push(&server.url, &spec.token(exe, "bali")).await;
    spec.settle().await;
    eprintln!(
        "{tag} preloaded at {rps:.0} records/s; {}",
        server.rss_now()
    );
    if let Some(cache) = cache {
        let port = server.port();
        server.stop();
        spec.save_to_cache(cache, store, &o.preload_label()).await;
        eprintln!("{tag} kept the preloaded store in {}", cache.display());
        server = Server::start(exe, &spec, Some(port)).await;
    }
    (spec, server, rps)
}

async fn round(
    exe: &Path,
    store: Store,
    o: &Options,
    preload: &dyn Fn() -> Arc<Preload>,
    n: usize,
) -> Round {
    let tag = format!("[{} round {}]", store.name(), n + 1);
    let (spec, mut server, preload_rps) = preloaded_store(exe, store, o, preload, &tag).await;
    let token = spec.token(exe, workload::POLRES);
    let mut out = Round {
        preload_rps,
        ..Round::default()
    };
    eprintln!(
        "{tag} capturing {} x {} records on 2 x {} devices",
        o.records, 2, o.devices
    );
    let base = 1000 + 100 * n as u64;
    let wave1 = workload::devices(&server.url, &token, o.devices, o.records, base).await;
    let wave2 = workload::devices(&server.url, &token, o.devices, o.records, base + 50).await;

    eprintln!("{tag} wave 1 pushing");
    let phase = Phase::begin(&server, "/api/v1/sync/push").await;
    let mut pushed = 0;
    for d in &wave1 {
        let report = d.device.push(&NoProgress).await.expect("wave 1 push");
        assert!(
            report.rejected.is_empty(),
            "{} refused: {:?}",
            d.unit,
            report.rejected
        );
        pushed += report.pushed;
    }
    let (p, stages) = phase.end(&server).await;
    out.stages.push(("wave 1 push", stages));
    out.wave1_rps = pushed as f64 / p[0];
    out.profile.push(("wave 1 push", p));
    eprintln!(
        "{tag} wave 1: {pushed} records in {:.2} s = {:.0} records/s, server CPU {:.0} µs, \
         PostgreSQL CPU {:.0} µs and {:.0} bytes written per record; {}",
        p[0],
        out.wave1_rps,
        p[1] * 1e6 / pushed as f64,
        p[6] * 1e6 / pushed as f64,
        p[5] / pushed as f64,
        server.rss_now()
    );

    let phase = Phase::begin(&server, "/api/v1/sync/push").await;
    let mut set = tokio::task::JoinSet::new();
    for d in &wave2 {
        let device = d.device.clone();
        set.spawn(async move { device.push(&NoProgress).await.expect("burst push") });
    }
    let pushed: u64 = set.join_all().await.iter().map(|r| r.pushed).sum();
    let (p, stages) = phase.end(&server).await;
    out.stages.push(("burst push", stages));
    out.burst_rps = pushed as f64 / p[0];
    out.profile.push(("burst push", p));
    eprintln!(
        "{tag} burst: {pushed} records in {:.2} s = {:.0} records/s, server CPU {:.0} µs, \
         PostgreSQL CPU {:.0} µs and {:.0} bytes written per record; {}",
        p[0],
        out.burst_rps,
        p[1] * 1e6 / pushed as f64,
        p[6] * 1e6 / pushed as f64,
        p[5] / pushed as f64,
        server.rss_now()
    );

    let (restarted, peak, anon) = server.restart(exe, &spec).await;
    (server, out.peak_rss_mb, out.peak_anon_mb) = (restarted, peak, anon);
    eprintln!("{tag} pushing server's peak RSS {peak:.0} MB (RssAnon {anon:.0} MB)");
    let (reader, _home) = workload::polres_device(&server.url, &token).await;
    let phase = Phase::begin(&server, "/api/v1/sync/pull").await;
    let report = reader.pull(&NoProgress).await.expect("pull");
    let (p, _) = phase.end(&server).await;
    out.pull_s = p[0];
    out.pull_records = report.pulled;
    out.pull_s_per_10k = p[0] * 10_000.0 / report.pulled.max(1) as f64;
    out.profile.push(("pull", p));
    eprintln!(
        "{tag} pull after restart: {} records in {:.2} s ({:.2} s per 10k); {}",
        report.pulled,
        p[0],
        out.pull_s_per_10k,
        server.rss_now()
    );
    assert_eq!(
        report.pulled as usize,
        2 * o.devices * o.records,
        "pulled everything"
    );

    out.pull_rss_mb = server.stop();
    eprintln!("{tag} pulling server's peak RSS {:.0} MB", out.pull_rss_mb);
    reader.close().await;
    for d in wave1.into_iter().chain(wave2) {
        if let Ok(device) = Arc::try_unwrap(d.device) {
            device.close().await;
        }
    }
    spec.finish().await;
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let o = options();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let exe = server::build_server();
    // Built on first use: not at all when every round's preload comes from the cache.
    let built = std::sync::OnceLock::new();
    let preload = || {
        built
            .get_or_init(|| {
                eprintln!("bench: building {} preload records", o.preload);
                Arc::new(Preload::build(o.preload, o.preload_days))
            })
            .clone()
    };
    let mut results = Vec::new();
    let mut rows = Vec::new();
    for &store in &o.stores {
        let rounds: Vec<Round> = (0..o.rounds)
            .map(|n| rt.block_on(round(&exe, store, &o, &preload, n)))
            .collect();
        let m = |f: fn(&Round) -> f64| median(rounds.iter().map(f).collect());
        let row = format!(
            "{:<9} {:>8} {:>12.0} {:>12.0} {:>10.2} {:>12.2} {:>10.0} {:>10.0} {:>10.0}",
            store.name(),
            o.preload,
            m(|r| r.wave1_rps),
            m(|r| r.burst_rps),
            m(|r| r.pull_s),
            m(|r| r.pull_s_per_10k),
            m(|r| r.peak_rss_mb),
            m(|r| r.peak_anon_mb),
            m(|r| r.pull_rss_mb)
        );
        rows.push(row);
        let mut profile = serde_json::Map::new();
        for (i, (name, _)) in rounds[0].profile.iter().enumerate() {
            let f = |k: usize| median(rounds.iter().map(|r| r.profile[i].1[k]).collect());
            eprintln!(
                "{} {name}: wall {:.2} s, server CPU {:.2} s, bench (devices) CPU {:.2} s, \
                 server handler time {:.2} s over {} requests, server wrote {:.0} MB, \
                 PostgreSQL CPU {:.2} s",
                store.name(),
                f(0),
                f(1),
                f(2),
                f(3),
                f(4),
                f(5) / 1e6,
                f(6)
            );
            profile.insert(
                (*name).to_owned(),
                json!({"wall_s": f(0), "server_cpu_s": f(1), "bench_cpu_s": f(2),
                       "handler_s": f(3), "requests": f(4), "server_written_bytes": f(5),
                       "database_cpu_s": f(6)}),
            );
        }
        let mut stages = serde_json::Map::new();
        for (i, (name, _)) in rounds[0].stages.iter().enumerate() {
            let mut medians = serde_json::Map::new();
            let mut line = Vec::new();
            for stage in STAGES {
                let ms: Vec<f64> = rounds
                    .iter()
                    .filter_map(|r| r.stages[i].1.get(stage).copied())
                    .collect();
                if !ms.is_empty() {
                    let ms = median(ms);
                    line.push(format!("{stage} {ms:.1}"));
                    medians.insert(stage.to_owned(), json!(ms));
                }
            }
            eprintln!(
                "{} {name}, ms per push in each stage: {}",
                store.name(),
                line.join(", ")
            );
            stages.insert((*name).to_owned(), medians.into());
        }
        results.push(json!({
            "stages_ms": stages,
            "store": store.name(), "preload": o.preload, "devices": o.devices,
            "records_per_device": o.records, "rounds": o.rounds,
            "wave1_push_rps": m(|r| r.wave1_rps), "burst_push_rps": m(|r| r.burst_rps),
            "pull_s": m(|r| r.pull_s), "pull_records": rounds[0].pull_records,
            "pull_s_per_10k": m(|r| r.pull_s_per_10k), "peak_rss_mb": m(|r| r.peak_rss_mb),
            "peak_anon_mb": m(|r| r.peak_anon_mb), "pull_rss_mb": m(|r| r.pull_rss_mb),
            "preload_rps": m(|r| r.preload_rps), "profile": profile,
            "all_rounds": rounds.iter().map(|r| json!([r.wave1_rps, r.burst_rps, r.pull_s, r.peak_rss_mb])).collect::<Vec<_>>(),
        }));
    }
    println!(
        "\n{:<9} {:>8} {:>12} {:>12} {:>10} {:>12} {:>10} {:>10} {:>10}",
        "store",
        "preload",
        "wave1 rec/s",
        "burst rec/s",
        "pull s",
        "pull s/10k",
        "push MB",
        "push anon",
        "pull MB"
    );
    for row in rows {
        println!("{row}");
    }
    println!("RESULT {}", json!({ "bench": "sync", "results": results }));
}
