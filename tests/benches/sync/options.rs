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
    let mut args = cli::Args::new(USAGE);
    while let Some(flag) = args.next_flag() {
        match flag.as_str() {
            "--store" => o.stores = args.stores(&flag, true),
            "--devices" => o.devices = args.number(&flag),
            "--records" => o.records = args.number(&flag),
            "--preload" => o.preload = args.number(&flag),
            "--preload-days" => o.preload_days = args.number(&flag),
            "--preload-cache" => o.preload_cache = Some(args.value(&flag).into()),
            "--rounds" => o.rounds = args.number::<usize>(&flag).max(1),
            other => args.unknown(other),
        }
    }
    o
}
