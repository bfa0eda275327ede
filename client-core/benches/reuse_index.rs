//! The "photo reused" index at a million stored photos: build time, memory, and the time of one
//! lookup (median and p99), without a scan.
//!
//! ```sh
//! cargo bench -p bukti-core --features photo --bench reuse_index            # 1,000,000 photos
//! BUKTI_BENCH_PHOTOS=100000 cargo bench -p bukti-core --features photo --bench reuse_index
//! ```
//!
//! The fingerprints are synthetic (random hashes and anchor descriptors, which spread over the
//! index's keys as real ones roughly do): a thousand lookups are near-copies of stored photos (a
//! few bits of the global hash and of a dozen descriptors flipped, as a recompressed copy shows)
//! and a thousand are new photos. Each lookup returns the candidates the server would then compare
//! in full; the bench checks that every near-copy found its original.

use std::time::{Duration, Instant};

use bukti_core::photo::reuse::index::{IndexKeys, QueryKeys, ReuseIndex};

/// A fixed generator: every run measures the same index.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn descriptor(&mut self) -> [u64; 4] {
        [self.next(), self.next(), self.next(), self.next()]
    }

    /// `word` with `bits` random bits flipped.
    fn flip(&mut self, words: &mut [u64], bits: u32) {
        let total = words.len() as u64 * 64;
        for _ in 0..bits {
            let bit = self.next() % total;
            words[(bit / 64) as usize] ^= 1 << (bit % 64);
        }
    }
}

const ANCHORS: usize = 16;
/// Descriptors of a new photo (plain and mirrored), as `Fingerprint::query_keys` gives.
const QUERY_DESCRIPTORS: usize = 590;

fn stored(rng: &mut SplitMix) -> IndexKeys {
    IndexKeys {
        global: rng.next(),
        anchors: (0..ANCHORS).map(|_| rng.descriptor()).collect(),
    }
}

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
    let mut rng = SplitMix(0x5EED);
    let keys: Vec<IndexKeys> = (0..photos).map(|_| stored(&mut rng)).collect();
    let before = rss_kib("VmRSS:");

    let started = Instant::now();
    let mut index = ReuseIndex::new();
    for k in &keys {
        index.insert(k);
    }
    let build = started.elapsed();
    let after = rss_kib("VmRSS:");

    // Near-copies: a global hash 6 bits off, and 12 of the original's anchors among the new
    // photo's descriptors, each 20 bits off; the rest of its descriptors are unrelated.
    let mut queries: Vec<(Option<u32>, QueryKeys)> = Vec::new();
    for q in 0..2000u64 {
        let target = (rng.next() % photos as u64) as usize;
        let mut descriptors: Vec<[u64; 4]> =
            (0..QUERY_DESCRIPTORS).map(|_| rng.descriptor()).collect();
        let mut global = [rng.next(), rng.next()];
        let copy = q % 2 == 0;
        if copy {
            let mut g = [keys[target].global];
            rng.flip(&mut g, 6);
            global[0] = g[0];
            for (slot, anchor) in descriptors
                .iter_mut()
                .zip(keys[target].anchors.iter().take(12))
            {
                *slot = *anchor;
                rng.flip(slot, 20);
            }
        }
        queries.push((
            copy.then_some(target as u32),
            QueryKeys {
                global,
                descriptors,
            },
        ));
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
