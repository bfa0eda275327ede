//! Measures the "photo reused" detection on the committed set, the way the server uses it: every
//! source is stored in a [`ReuseIndex`]; every copy of a source (each [`Transform`]) is looked up
//! and compared with each candidate; a source's own copy must come out `reused`, any other
//! candidate must not. Hard negatives are compared directly: each source against the others (via
//! the index), photos of similar scenes by the same photographer, and "second camera" pairs cut
//! from one photo with a small offset (and a slight turn), which must never come out `reused`.
//!
//! Prints precision, recall and the confusion per transformation (`cargo test -p bukti-reuse --test
//! reuse -- --nocapture`) and asserts precision ≥ 0.95 and recall ≥ 0.90.

mod reuse_set;

use std::collections::BTreeMap;

use bukti_reuse::{Fingerprint, Verdict, compare, fingerprint_rgb, index::ReuseIndex};
use image::RgbImage;
use reuse_set::{Transform, crop, decode, jpeg, sources, turned};

fn fingerprint(image: &RgbImage) -> Fingerprint {
    fingerprint_rgb(image.as_raw(), image.width(), image.height()).expect("fingerprint")
}

/// Counts of the three verdicts.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    reused: usize,
    review: usize,
    different: usize,
}

impl Tally {
    fn add(&mut self, verdict: Verdict) {
        match verdict {
            Verdict::Reused => self.reused += 1,
            Verdict::NeedsReview => self.review += 1,
            Verdict::Different => self.different += 1,
        }
    }
}

/// Pairs of different photos of similar scenes in the set (same photographer, same subject).
const SIMILAR_SCENES: &[(&str, &str)] = &[
    (
        "lomiri-aitzgorri_by_aitzol_berasategi.jpg",
        "lomiri-picosdeeuropa_by_aitzol_berasategi.jpg",
    ),
    (
        "lomiri-sunset_by_aitzol_berasategi.jpg",
        "lomiri-aitzgorri_by_aitzol_berasategi.jpg",
    ),
    (
        "lomiri-picture_0b_by_freespace.jpg",
        "lomiri-picture_1a_by_freespace.jpg",
    ),
    (
        "lomiri-seeding_by_clements_engelhardt.jpg",
        "mate-twowings.jpg",
    ),
    ("lomiri-life_by_aitzol_berasategi.jpg", "plasma-path.jpg"),
    ("mate-greenmeadow.jpg", "mate-blinds.jpg"),
    ("mate-raindrops.jpg", "mate-blinds.jpg"),
    ("mate-freshflower.jpg", "mate-garden.jpg"),
    ("mate-yellowflower.jpg", "mate-garden.jpg"),
    ("mate-storm.jpg", "plasma-darkesthour.jpg"),
    ("plasma-autumn.jpg", "plasma-fallenleaf.jpg"),
    ("plasma-coldripple.jpg", "plasma-bythewater.jpg"),
    ("plasma-darkesthour.jpg", "plasma-summer_1am.jpg"),
    ("plasma-path.jpg", "plasma-onestandsout.jpg"),
];

#[test]
fn reuse_detection_meets_its_precision_and_recall_on_the_committed_set() {
    let sources = sources();
    assert!(sources.len() >= 40, "the set has {} photos", sources.len());
    let stored: Vec<Fingerprint> = sources
        .iter()
        .map(|(_, image)| fingerprint(image))
        .collect();
    let mut index = ReuseIndex::new();
    for f in &stored {
        index.insert(&f.index_keys());
    }

    let mut positives: BTreeMap<String, Tally> = BTreeMap::new();
    let mut negatives: BTreeMap<&str, Tally> = BTreeMap::new();
    let (mut true_positives, mut false_negatives, mut false_positives) = (0usize, 0usize, 0usize);
    let mut index_misses = 0usize;

    for (seed, (name, source)) in sources.iter().enumerate() {
        for transform in Transform::ALL {
            let copy = fingerprint(&decode(&transform.apply(source, seed as u32)));
            let candidates = index.candidates(&copy.query_keys());
            let tally = positives.entry(format!("{transform:?}")).or_default();
            let own = u32::try_from(seed).expect("small set");
            if !candidates.contains(&own) {
                index_misses += 1;
            }
            let mut own_verdict = Verdict::Different;
            for &id in &candidates {
                let verdict = compare(&copy, &stored[id as usize]).verdict;
                if id == own {
                    own_verdict = verdict;
                } else if verdict == Verdict::Reused {
                    false_positives += 1;
                    println!(
                        "false positive: {transform:?} of {name} as {}",
                        sources[id as usize].0
                    );
                }
            }
            tally.add(own_verdict);
            if own_verdict == Verdict::Reused {
                true_positives += 1;
            } else {
                false_negatives += 1;
                println!("missed: {transform:?} of {name}: {own_verdict:?}");
            }
        }
    }

    // Each source against all the others, through the index as a new photo would go.
    for (i, (name, _)) in sources.iter().enumerate() {
        let tally = negatives.entry("other photos").or_default();
        for id in index.candidates(&stored[i].query_keys()) {
            if id as usize == i {
                continue;
            }
            let verdict = compare(&stored[i], &stored[id as usize]).verdict;
            tally.add(verdict);
            if verdict == Verdict::Reused {
                false_positives += 1;
                println!("false positive: {name} as {}", sources[id as usize].0);
            }
        }
    }
    for &(a, b) in SIMILAR_SCENES {
        let find = |n: &str| sources.iter().position(|(name, _)| name == n).expect(n);
        let verdict = compare(&stored[find(a)], &stored[find(b)]).verdict;
        negatives.entry("similar scenes").or_default().add(verdict);
        if verdict == Verdict::Reused {
            false_positives += 1;
            println!("false positive: similar scenes {a} and {b}");
        }
    }
    // Two cameras side by side: two frames cut from one photo, the second shifted by 4–10 % of
    // the width and 2–5 % of the height; the "turned" ones also see the scene at a slight angle.
    for (seed, (name, source)) in sources.iter().enumerate() {
        let (w, h) = source.dimensions();
        let (fw, fh) = (w * 82 / 100, h * 85 / 100);
        let (dx, dy) = (
            w * (4 + (seed as u32 % 7)) / 100,
            h * (2 + (seed as u32 % 4)) / 100,
        );
        let first = fingerprint(&decode(&jpeg(&crop(source, 0, 0, fw, fh), 85)));
        let second = crop(source, dx, dy, fw, fh);
        for (kind, image) in [
            ("second camera", second.clone()),
            ("second camera, turned", turned(&second, 0.04)),
        ] {
            let verdict = compare(&fingerprint(&decode(&jpeg(&image, 85))), &first).verdict;
            negatives.entry(kind).or_default().add(verdict);
            if verdict == Verdict::Reused {
                false_positives += 1;
                println!("false positive: {kind} of {name}");
            }
        }
    }

    println!("per transformation (own source): reused / needs review / different");
    for (name, t) in &positives {
        println!(
            "  {name:26} {:3} {:3} {:3}",
            t.reused, t.review, t.different
        );
    }
    println!("hard negatives: reused / needs review / different");
    for (name, t) in &negatives {
        println!(
            "  {name:26} {:3} {:3} {:3}",
            t.reused, t.review, t.different
        );
    }
    let precision = true_positives as f64 / (true_positives + false_positives).max(1) as f64;
    let recall = true_positives as f64 / (true_positives + false_negatives).max(1) as f64;
    println!(
        "{} sources, {} copies: precision {precision:.3}, recall {recall:.3} \
         (TP {true_positives}, FP {false_positives}, FN {false_negatives}; index missed {index_misses})",
        sources.len(),
        true_positives + false_negatives,
    );
    assert!(precision >= 0.95, "precision {precision:.3}");
    assert!(recall >= 0.90, "recall {recall:.3}");
}
