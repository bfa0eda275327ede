//! Synthetic photo fingerprints for the photo-reuse benches: the core's in-memory index
//! (`client-core/benches/reuse_index.rs`) and the server's SQL tables
//! (`tests/benches/reuse_sql.rs`) measure the same photos and the same lookups, so their figures
//! compare. Included by path from both (a bench cannot depend on another crate's bench).
//!
//! Stored photos are random hashes and anchor descriptors, which spread over the index's keys as
//! real ones roughly do. A near-copy lookup has a global hash 6 bits off its original's and 12
//! of the original's anchors among its descriptors, each 20 bits off (what a recompressed copy
//! shows); a new photo's lookup is unrelated to everything stored.

use bukti_core::photo::reuse::index::{IndexKeys, QueryKeys};

/// A fixed generator: every run measures the same photos.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn descriptor(&mut self) -> [u64; 4] {
        [self.next(), self.next(), self.next(), self.next()]
    }

    /// `words` with `bits` random bits flipped.
    pub fn flip(&mut self, words: &mut [u64], bits: u32) {
        let total = words.len() as u64 * 64;
        for _ in 0..bits {
            let bit = self.next() % total;
            words[(bit / 64) as usize] ^= 1 << (bit % 64);
        }
    }
}

/// The seed both benches start from.
pub const SEED: u64 = 0x5EED;
/// Anchors a stored photo is filed under (as `Fingerprint::index_keys` gives at most).
pub const ANCHORS: usize = 16;
/// Descriptors of a new photo (plain and mirrored), as `Fingerprint::query_keys` gives.
pub const QUERY_DESCRIPTORS: usize = 590;

/// The next stored photo's index keys.
pub fn stored(rng: &mut SplitMix) -> IndexKeys {
    IndexKeys {
        global: rng.next(),
        anchors: (0..ANCHORS).map(|_| rng.descriptor()).collect(),
    }
}

/// A lookup: a near-copy of `original` when given, else a new photo.
pub fn lookup(rng: &mut SplitMix, original: Option<&IndexKeys>) -> QueryKeys {
    let mut descriptors: Vec<[u64; 4]> = (0..QUERY_DESCRIPTORS).map(|_| rng.descriptor()).collect();
    let mut global = [rng.next(), rng.next()];
    if let Some(original) = original {
        let mut g = [original.global];
        rng.flip(&mut g, 6);
        global[0] = g[0];
        for (slot, anchor) in descriptors.iter_mut().zip(original.anchors.iter().take(12)) {
            *slot = *anchor;
            rng.flip(slot, 20);
        }
    }
    QueryKeys {
        global,
        descriptors,
    }
}
