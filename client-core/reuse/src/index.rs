//! Finding the stored photos worth comparing with a new one, among a million, without a scan.
//!
//! Two ways in, each an inverted list from a short key to photo ids:
//!
//! - **Global bands** (multi-index hashing): the 64-bit pHash cut into four 16-bit bands; a stored
//!   photo is a candidate when one band of the new photo's hash (or of its mirror's) equals its
//!   band and the whole hashes are within [`GLOBAL_CANDIDATE_DISTANCE`] bits. Any two hashes at
//!   most 3 bits apart share a band; most copies that survive globally (resized, recompressed,
//!   brightened, captioned, mirrored) are found this way.
//! - **Local anchors** (locality-sensitive hashing): for each stored photo, 16 strong corners of
//!   the middle pyramid levels ([`super::Fingerprint::index_keys`]); each is filed under two keys
//!   of [`KEY_BITS`] sampled descriptor bits. The new photo looks up the distinct keys of every
//!   descriptor it has, plain and mirrored; a key that too many photos share is skipped as a stop
//!   word (smooth gradients and straight edges describe alike everywhere), and the
//!   [`MAX_LOCAL_CANDIDATES`] photos hit by the most keys, at least [`MIN_VOTES`], are
//!   candidates. This finds the crops and screenshots that move the global hash; the cap keeps
//!   the full comparisons per lookup bounded at any size.
//!
//! Candidates then get the full [`super::compare`], with fingerprints loaded by id.
//!
//! In SQL the server keeps the same lists as tables (`server/src/store/reuse.rs`):
//! `photo_fingerprint(id, hash, global, fingerprint)`, and `photo_band(key, photo)` and
//! `photo_anchor(key, photo)` keyed by [`stored_keys`]; a lookup is one `key IN (…)` query per
//! list ([`query_keys`]), the anchors' `GROUP BY photo HAVING count(*) >= 2 ORDER BY count(*)
//! DESC LIMIT 16` (no stop words there yet). `tests/benches/reuse_sql.rs` measures it at a
//! million photos on both databases.
//! This module is the in-memory form of the same structure, measured by `benches/reuse_index.rs`:
//! at 1,000,000 synthetic photos on the project's 2-core machine, built in 2.1 s, 329 MiB of
//! arrays, a lookup 1.3 ms median and 4.0 ms p99 with 10 candidates, 984 of 1,000 near-copies
//! found.

use std::collections::HashMap;

/// Descriptor bits per local key.
pub const KEY_BITS: u32 = 22;
/// Local keys per anchor, from disjoint sets of descriptor bits.
const TABLES: usize = 2;
/// Local votes that make a candidate.
pub const MIN_VOTES: u32 = 2;
/// Most candidates the local way in proposes, best voted first.
pub const MAX_LOCAL_CANDIDATES: usize = 16;
/// Global hashes this close (plain or mirrored) make a candidate.
pub const GLOBAL_CANDIDATE_DISTANCE: u32 = 12;
const BANDS: usize = 4;
/// Marks the end of a posting chain.
const END: u32 = u32::MAX;

/// What the index keeps of a stored photo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexKeys {
    pub global: u64,
    pub anchors: Vec<[u64; 4]>,
}

/// What a lookup takes from a new photo: both global hashes and every descriptor, plain and
/// mirrored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryKeys {
    pub global: [u64; 2],
    pub descriptors: Vec<[u64; 4]>,
}

/// Stored photo ids, in the order they were inserted (0, 1, 2, …).
pub type PhotoId = u32;

/// Inverted lists as chains in one array each: a head per key, a (photo, next) per posting, so a
/// million photos cost 8 bytes a posting and no allocation per key.
#[derive(Debug)]
pub struct ReuseIndex {
    globals: Vec<u64>,
    band_heads: Vec<u32>,
    band_postings: Vec<(PhotoId, u32)>,
    local_heads: Vec<u32>,
    local_postings: Vec<(PhotoId, u32)>,
}

impl Default for ReuseIndex {
    fn default() -> Self {
        Self {
            globals: Vec::new(),
            band_heads: vec![END; BANDS << 16],
            band_postings: Vec::new(),
            local_heads: vec![END; TABLES << KEY_BITS],
            local_postings: Vec::new(),
        }
    }
}

impl ReuseIndex {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.globals.len()
    }

    pub fn is_empty(&self) -> bool {
        self.globals.is_empty()
    }

    /// Files a stored photo and returns its id.
    ///
    /// # Panics
    ///
    /// Past four thousand million photos (ids are 32-bit).
    pub fn insert(&mut self, keys: &IndexKeys) -> PhotoId {
        let id = PhotoId::try_from(self.globals.len()).expect("fewer than 2^32 photos");
        self.globals.push(keys.global);
        for band in 0..BANDS {
            push(
                &mut self.band_heads,
                &mut self.band_postings,
                band_key(keys.global, band),
                id,
            );
        }
        for anchor in &keys.anchors {
            for table in 0..TABLES {
                push(
                    &mut self.local_heads,
                    &mut self.local_postings,
                    local_key(anchor, table),
                    id,
                );
            }
        }
        id
    }

    /// Stored photos worth a full comparison with the new one, each once, in id order.
    pub fn candidates(&self, query: &QueryKeys) -> Vec<PhotoId> {
        let mut found: Vec<PhotoId> = Vec::new();
        for hash in query.global {
            for band in 0..BANDS {
                let mut at = self.band_heads[band_key(hash, band)];
                while at != END {
                    let (id, next) = self.band_postings[at as usize];
                    let stored = self.globals[id as usize];
                    if (stored ^ hash).count_ones() <= GLOBAL_CANDIDATE_DISTANCE {
                        found.push(id);
                    }
                    at = next;
                }
            }
        }
        // Each distinct key once: a stored anchor that many of the new photo's corners resemble
        // (smooth gradients all describe alike) is one piece of evidence, not many.
        let mut keys: Vec<usize> = query
            .descriptors
            .iter()
            .flat_map(|d| (0..TABLES).map(move |table| local_key(d, table)))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let mut votes: HashMap<PhotoId, u32> = HashMap::new();
        let common = self.common_chain();
        let mut hits: Vec<PhotoId> = Vec::with_capacity(common);
        for key in keys {
            hits.clear();
            let mut at = self.local_heads[key];
            while at != END && hits.len() <= common {
                let (id, next) = self.local_postings[at as usize];
                hits.push(id);
                at = next;
            }
            if hits.len() > common {
                continue;
            }
            for &id in &hits {
                *votes.entry(id).or_default() += 1;
            }
        }
        // The photos sharing the most anchors, a bounded number: the full comparisons a lookup
        // costs stay the same at a hundred photos and at a million.
        let mut ranked: Vec<(u32, PhotoId)> = votes
            .into_iter()
            .filter(|&(_, v)| v >= MIN_VOTES)
            .map(|(id, v)| (v, id))
            .collect();
        ranked.sort_unstable_by(|a, b| b.cmp(a));
        found.extend(ranked.iter().take(MAX_LOCAL_CANDIDATES).map(|&(_, id)| id));
        found.sort_unstable();
        found.dedup();
        found
    }

    /// A key filed under by more photos than this says little (a stop word): smooth gradients
    /// and straight edges describe alike in every photo. Scaled to the keys' mean load, so it
    /// holds at a hundred photos and at a million.
    fn common_chain(&self) -> usize {
        8 + 4 * self.local_postings.len() / self.local_heads.len()
    }

    /// Bytes held by the index's arrays.
    pub fn memory_bytes(&self) -> usize {
        self.globals.capacity() * 8
            + (self.band_heads.capacity() + self.local_heads.capacity()) * 4
            + (self.band_postings.capacity() + self.local_postings.capacity()) * 8
    }
}

fn push(heads: &mut [u32], postings: &mut Vec<(PhotoId, u32)>, key: usize, id: PhotoId) {
    // Postings stay below 2^32 - 1 while ids do: a photo files at most 4 + 2·16 of them.
    let at = postings.len() as u32;
    postings.push((id, heads[key]));
    heads[key] = at;
}

/// The keys of the same lists for an index kept in a database: a stored photo's band keys (one
/// per band of its global hash) and local keys (two per anchor), each list without repeats.
pub fn stored_keys(keys: &IndexKeys) -> (Vec<i64>, Vec<i64>) {
    let bands = (0..BANDS)
        .map(|b| band_key(keys.global, b) as i64)
        .collect();
    let mut local: Vec<i64> = keys
        .anchors
        .iter()
        .flat_map(|a| (0..TABLES).map(move |t| local_key(a, t) as i64))
        .collect();
    local.sort_unstable();
    local.dedup();
    (bands, local)
}

/// The keys a new photo looks up in a database's lists: the band keys of both its global hashes
/// and the distinct local keys of all its descriptors, plain and mirrored.
pub fn query_keys(query: &QueryKeys) -> (Vec<i64>, Vec<i64>) {
    let bands = query
        .global
        .iter()
        .flat_map(|&h| (0..BANDS).map(move |b| band_key(h, b) as i64))
        .collect();
    let mut local: Vec<i64> = query
        .descriptors
        .iter()
        .flat_map(|d| (0..TABLES).map(move |t| local_key(d, t) as i64))
        .collect();
    local.sort_unstable();
    local.dedup();
    (bands, local)
}

/// Whether a stored global hash is close enough to either of the new photo's to compare them.
pub fn global_candidate(query: &QueryKeys, stored: u64) -> bool {
    query
        .global
        .iter()
        .any(|h| (h ^ stored).count_ones() <= GLOBAL_CANDIDATE_DISTANCE)
}

fn band_key(hash: u64, band: usize) -> usize {
    (band << 16) | ((hash >> (16 * band)) & 0xFFFF) as usize
}

/// `KEY_BITS` bits of the descriptor, table `t` taking every `TABLES`-th of a spread-out set, so
/// the tables sample disjoint bits and neither leans on neighbouring (correlated) pairs.
fn local_key(d: &[u64; 4], table: usize) -> usize {
    let mut key = 0usize;
    for i in 0..KEY_BITS as usize {
        // Stride 11 is coprime with 256: the positions never repeat across keys and tables.
        let bit = ((i * TABLES + table) * 11) % 256;
        key = (key << 1) | ((d[bit / 64] >> (bit % 64)) & 1) as usize;
    }
    (table << KEY_BITS) | key
}
