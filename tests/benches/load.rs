//! Load benchmark: the release `bukti-server` in a child process on loopback and 200 devices at
//! once for five minutes, each pushing new records, pushing edits and pulling its Polsek's feed
//! with a short pause between requests (see `load/driver.rs`). Reports the errors (there must be
//! none), p50 and p99 latency per request kind, and the server's RSS sampled every second: the
//! mean over the first and the last minute (flat memory means no leak) and the peak.
//!
//! ```sh
//! cargo bench -p bukti-tests --bench load -- [--store sqlite|postgres] [--devices 200]
//!     [--secs 300] [--pause-ms 500]
//! ```
//!
//! PostgreSQL comes from `BUKTI_TEST_POSTGRES` as for the sync bench. Progress goes to stderr,
//! then a table and one `RESULT {json}` line. Exits non-zero when any request failed.

#[path = "load/driver.rs"]
mod driver;
// The command-line helpers; each bench uses some of them.
#[allow(dead_code)]
#[path = "sync/cli.rs"]
mod cli;
// Shared with the sync bench, which uses the parts this one does not.
#[allow(dead_code)]
#[path = "sync/server.rs"]
mod server;

use std::time::{Duration, Instant};

use driver::{Kind, Plan};
use serde_json::json;
use server::{Server, Store, StoreSpec};

#[derive(Debug, Clone, Copy)]
struct Options {
    store: Store,
    devices: usize,
    secs: u64,
    pause_ms: u64,
}

const USAGE: &str = "\
Load benchmark: 200 devices at once against the release server for five minutes, pushing new
records, pushing edits and pulling their Polsek's feed. Reports errors (there must be none),
p50/p99 latency per request kind and the server's RSS over time.

usage: cargo bench -p bukti-tests --bench load -- [options]

  --store sqlite|postgres   the evidence store (default sqlite)
  --devices N               devices at once (default 200)
  --secs N                  how long (default 300)
  --pause-ms N              each device's pause between requests (default 500)

environment: BUKTI_TEST_POSTGRES (the PostgreSQL server). More in the doc comment of
tests/benches/load.rs.";

fn options() -> Options {
    let mut o = Options {
        store: Store::Sqlite,
        devices: 200,
        secs: 300,
        pause_ms: 500,
    };
    let mut args = cli::Args::new(USAGE);
    while let Some(flag) = args.next_flag() {
        match flag.as_str() {
            "--store" => o.store = args.stores(&flag, false)[0],
            "--devices" => o.devices = args.number(&flag),
            "--secs" => o.secs = args.number(&flag),
            "--pause-ms" => o.pause_ms = args.number(&flag),
            other => args.unknown(other),
        }
    }
    o
}

fn ms(d: Option<Duration>) -> f64 {
    d.map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let o = options();
    let exe = server::build_server();
    let spec = StoreSpec::fresh(o.store).await;
    let token = spec.token(&exe, "bali");
    let server = Server::start(&exe, &spec, None).await;
    eprintln!("load: enrolling {} devices", o.devices);
    let devices = driver::enroll(&server.url, &token, o.devices).await;
    let plan = Plan {
        devices: o.devices,
        duration: Duration::from_secs(o.secs),
        pause: Duration::from_millis(o.pause_ms),
    };
    eprintln!(
        "load: {} devices for {} s on {} ({}), pause {} ms",
        o.devices,
        o.secs,
        o.store.name(),
        server.rss_now(),
        o.pause_ms
    );
    let (stop, sampler) = driver::sample_rss(server.pid().to_string(), Duration::from_secs(1));
    let cpu_before = server.cpu_seconds();
    let started = Instant::now();
    let tally = driver::run(&server.url, devices, plan).await;
    let wall = started.elapsed().as_secs_f64();
    let cpu = server.cpu_seconds() - cpu_before;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let samples = sampler.join().expect("RSS sampler");
    let window = (o.secs as f64 / 5.0).min(60.0);
    let (first, last) = driver::first_and_last(&samples, window);
    let peak = server.stop();
    spec.finish().await;

    println!(
        "\n{} devices, {:.0} s, {}: {} requests ({:.0}/s), {} errors; server CPU {:.0} s",
        o.devices,
        wall,
        o.store.name(),
        tally.requests(),
        tally.requests() as f64 / wall,
        tally.errors,
        cpu
    );
    println!(
        "{:<18} {:>9} {:>9} {:>9} {:>9}",
        "request", "count", "p50 ms", "p99 ms", "max ms"
    );
    let mut kinds = Vec::new();
    for kind in [Kind::PushNew, Kind::PushEdit, Kind::Pull] {
        let count = tally.latencies.get(&kind).map_or(0, Vec::len);
        let (p50, p99, max) = (
            ms(tally.quantile(kind, 0.5)),
            ms(tally.quantile(kind, 0.99)),
            ms(tally.quantile(kind, 1.0)),
        );
        println!(
            "{:<18} {count:>9} {p50:>9.1} {p99:>9.1} {max:>9.1}",
            kind.name()
        );
        kinds.push(json!({ "kind": kind.name(), "count": count, "p50_ms": p50, "p99_ms": p99, "max_ms": max }));
    }
    println!(
        "server RSS: first {window:.0} s {first:.0} MB, last {window:.0} s {last:.0} MB, peak {peak:.0} MB"
    );
    for e in &tally.first_errors {
        println!("error: {e}");
    }
    println!(
        "RESULT {}",
        json!({
            "store": o.store.name(), "devices": o.devices, "secs": wall, "errors": tally.errors,
            "requests": tally.requests(), "server_cpu_s": cpu, "kinds": kinds,
            "rss_first_mb": first, "rss_last_mb": last, "rss_peak_mb": peak,
        })
    );
    if tally.errors > 0 {
        std::process::exit(1);
    }
}
