//! The "photo reused" index at a million stored photos: build time, memory, and the time of one
//! lookup (median and p99), without a scan.
//!
//! ```sh
//! cargo bench -p bukti-core --features photo --bench reuse_index            # 1,000,000 photos
//! BUKTI_BENCH_PHOTOS=100000 cargo bench -p bukti-core --features photo --bench reuse_index
//! ```
//!
//! The fingerprints are synthetic (`benches/reuse/synthetic.rs`, shared with the server's SQL
//! bench `tests/benches/reuse_sql.rs`): a thousand lookups are near-copies of stored photos and
//! a thousand are new photos. Each lookup returns the candidates the server would then compare
//! in full; the bench checks that every near-copy found its original.

#[path = "reuse/synthetic.rs"]
mod synthetic;

use std::time::{Duration, Instant};

use bukti_core::photo::reuse::index::{IndexKeys, QueryKeys, ReuseIndex};
use synthetic::{SEED, SplitMix, lookup, stored};

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let photos: usize = std::env::var("BUKTI_BENCH_PHOTOS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let mut rng = SplitMix(SEED);
    let keys: Vec<IndexKeys> = (0..photos).map(|_| stored(&mut rng)).collect();
    let before = rss_kib("VmRSS:");

    let started = Instant::now();
    let mut index = ReuseIndex::new();
    for k in &keys {
        index.insert(k);
    }
    let build = started.elapsed();
    let after = rss_kib("VmRSS:");

    // Half near-copies of a stored photo, half new photos (see `synthetic`).
    let mut queries: Vec<(Option<u32>, QueryKeys)> = Vec::new();
    for q in 0..2000u64 {
        let target = (rng.next() % photos as u64) as usize;
        let copy = q % 2 == 0;
        let query = lookup(&mut rng, copy.then(|| &keys[target]));
        queries.push((copy.then_some(target as u32), query));
    }
    let mut times: Vec<Duration> = Vec::with_capacity(queries.len());
    let (mut found, mut copies, mut candidates) = (0usize, 0usize, 0usize);
    for (target, query) in &queries {
        let started = Instant::now();
        let hits = index.candidates(query);
        times.push(started.elapsed());
        candidates += hits.len();
        if let Some(t) = target {
            copies += 1;
            found += usize::from(hits.contains(t));
        }
    }
    times.sort();
    let pick = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    println!("photos stored          {photos}");
    println!(
        "build                  {:.2} s ({:.2} µs a photo)",
        build.as_secs_f64(),
        build.as_secs_f64() * 1e6 / photos as f64
    );
    println!(
        "index arrays           {:.0} MiB",
        index.memory_bytes() as f64 / (1 << 20) as f64
    );
    println!(
        "RSS growth             {:.0} MiB (peak RSS {:.0} MiB)",
        after.saturating_sub(before) as f64 / 1024.0,
        rss_kib("VmHWM:") as f64 / 1024.0
    );
    println!(
        "lookup median          {:.0} µs",
        pick(0.5).as_secs_f64() * 1e6
    );
    println!(
        "lookup p99             {:.0} µs",
        pick(0.99).as_secs_f64() * 1e6
    );
    println!(
        "candidates per lookup  {:.2}",
        candidates as f64 / queries.len() as f64
    );
    println!("near-copies found      {found} of {copies}");
}
