//! The sync bench's command line: its options, their defaults and its `--help`.

use std::path::PathBuf;

use super::{cli, server::Store};

/// What one run of the bench does.
#[derive(Debug, Clone)]
pub struct Options {
    pub stores: Vec<Store>,
    pub devices: usize,
    pub records: usize,
    pub preload: usize,
    /// Days the preload's activity times span back from now; 0 for the timed records' fortnight.
    pub preload_days: usize,
    pub preload_cache: Option<PathBuf>,
    pub rounds: usize,
}

impl Options {
    /// What names this preload in the cache: its size, and its span when not the default.
    pub fn preload_label(&self) -> String {
        match self.preload_days {
            0 => self.preload.to_string(),
            days => format!("{}-{days}d", self.preload),
        }
    }
}

const USAGE: &str = "\
Sync benchmark: the server in a child process on loopback and real devices. Wave 1: --devices
devices push --records records each, one after another; the burst: as many new devices push
all at once; then the server restarts and a fresh Polres device pulls everything.

usage: cargo bench -p bukti-tests --bench sync -- [options]

  --store sqlite|postgres|both   the evidence store (default both)
  --devices N                    devices per wave (default 20)
  --records N                    records per device (default 500)
  --rounds N                     rounds per store; medians are reported (default 3)
  --preload N                    records of other Polres stored first, untimed (default 0)
  --preload-days D               spread the preload's activity over D days (default: the
                                 timed records' fortnight, the indexes' worst case)
  --preload-cache DIR            keep the first preloaded store in DIR; later runs copy it

environment: BENCH_SERVER_EXE (another server build to run), BENCH_SERVER_WRAP (a profiler
to run it under, e.g. \"perf record -g --\"), BENCH_SERVER_LOG (its log filter, default warn),
BUKTI_TEST_POSTGRES (the PostgreSQL server). More in the doc comment of tests/benches/sync.rs.";

pub fn options() -> Options {
    let mut o = Options {
        stores: vec![Store::Sqlite, Store::Postgres],
        devices: 20,
        records: 500,
        preload: 0,
        preload_days: 0,
        preload_cache: None,
        rounds: 3,
    };
    fn fail(problem: String) -> ! {
        cli::exit_with_usage(Some(problem), USAGE)
    }
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| fail(format!("{name} needs a value")))
        };
        let number = |v: String| {
            v.parse::<usize>()
                .unwrap_or_else(|_| fail(format!("{v:?} is not a number")))
        };
        match a.as_str() {
            "--store" => {
                o.stores = match value("--store").as_str() {
                    "sqlite" => vec![Store::Sqlite],
                    "postgres" => vec![Store::Postgres],
                    "both" => vec![Store::Sqlite, Store::Postgres],
                    s => fail(format!("--store {s:?}: expected sqlite, postgres or both")),
                }
            }
            "--devices" => o.devices = number(value(&a)),
            "--records" => o.records = number(value(&a)),
            "--preload" => o.preload = number(value(&a)),
            "--preload-days" => o.preload_days = number(value(&a)),
            "--preload-cache" => o.preload_cache = Some(value(&a).into()),
            "--rounds" => o.rounds = number(value(&a)).max(1),
            "--help" | "-h" => cli::exit_with_usage(None, USAGE),
            // cargo bench passes --bench to harness = false targets.
            "--bench" => {}
            other => fail(format!("unknown option {other:?}")),
        }
    }
    o
}
