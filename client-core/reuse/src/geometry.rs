//! Comparing two fingerprints: descriptor matches, the similarity transform that explains most of
//! them, and the verdict that transform supports.
//!
//! The transform is fitted by exhaustive two-point RANSAC over the best [`HYPOTHESIS_MATCHES`]
//! matches (deterministic, a few hundred hypotheses) and refined by least squares on its inliers.
//! Then: does one frame lie inside the other (a crop, a screenshot), are the inliers spread over
//! the contained frame (not a shared caption or a phone's status bar), and do they fit exactly
//! (a copy is a similarity to within a pixel or two; a second camera's parallax is not)?

use super::Fingerprint;
use super::features::{Keypoint, distance, mirror_descriptor};

/// The three answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Confidently the same picture: a copy, crop, mirror, screenshot or edit of it.
    Reused,
    /// Much of the same content, but not as a copy would show it: perhaps a second camera next to
    /// the first at the same moment. A person decides.
    NeedsReview,
    Different,
}

/// A verdict with the figures behind it, for the reviewer's explanation and the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub verdict: Verdict,
    /// Bits apart of the global hashes (the closer of plain and mirrored).
    pub global_distance: u32,
    /// Matches explained by the fitted transform.
    pub inliers: usize,
    /// Whether the new photo matched the stored one as its mirror image.
    pub mirrored: bool,
    /// Scale from the new photo's normalised frame to the stored one's.
    pub scale: f32,
    /// One frame lies inside the other (a crop, or a photo inside a screenshot).
    pub contained: bool,
    /// Share of the contained frame's occupied cells that hold an inlier, 0–1.
    pub spread: f32,
    /// Root-mean-square distance of the inliers from the transform, in the stored frame's pixels.
    pub residual: f32,
}

impl Comparison {
    fn nothing(global_distance: u32, mirrored: bool) -> Self {
        Self {
            verdict: Verdict::Different,
            global_distance,
            inliers: 0,
            mirrored,
            scale: 1.0,
            contained: false,
            spread: 0.0,
            residual: 0.0,
        }
    }
}

/// Matches farther apart than this (of 256 bits) are not the same corner.
const MAX_DISTANCE: u32 = 64;
/// Lowe's ratio test: the best match must be clearly better than the second best.
const RATIO: f32 = 0.8;
/// RANSAC hypotheses come from pairs among this many best matches.
const HYPOTHESIS_MATCHES: usize = 32;
/// Fewer inliers than this is no evidence of anything.
const MIN_INLIERS: usize = 10;
/// A copy's inliers, in the stored frame's pixels (times the scale when the new frame is larger).
const INLIER_TOLERANCE: f64 = 2.5;
/// How far a contained frame's corner may stick out, as a share of the container's side.
const CONTAIN_TOLERANCE: f64 = 0.012;
/// Spread below which the agreement is a shared detail, not a shared picture.
const MIN_SPREAD: f32 = 0.45;
/// Residual above which the inliers are a near miss (parallax), not a copy.
const MAX_RESIDUAL: f32 = 1.6;
/// With too few corners to compare locally, the global hashes this close ask for a person.
const GLOBAL_REVIEW_DISTANCE: u32 = 4;
/// Fewer keypoints than this and the local comparison has nothing to go on.
const MIN_KEYPOINTS: usize = 16;

pub(super) fn compare(new: &Fingerprint, stored: &Fingerprint) -> Comparison {
    let global_distance = (new.global ^ stored.global)
        .count_ones()
        .min((new.global_mirror ^ stored.global).count_ones());
    let mut best = Comparison::nothing(global_distance, false);
    if new.flat || stored.flat {
        return best;
    }
    if new.keypoints.len() < MIN_KEYPOINTS || stored.keypoints.len() < MIN_KEYPOINTS {
        if global_distance <= GLOBAL_REVIEW_DISTANCE {
            best.verdict = Verdict::NeedsReview;
        }
        return best;
    }
    for mirrored in [false, true] {
        let candidate = if mirrored {
            let flipped = mirror(new);
            local(&flipped, stored, true, global_distance)
        } else {
            local(new, stored, false, global_distance)
        };
        if rank(&candidate) > rank(&best) {
            best = candidate;
        }
        if best.verdict == Verdict::Reused {
            break;
        }
    }
    best
}

fn rank(c: &Comparison) -> (u8, usize) {
    let verdict = match c.verdict {
        Verdict::Reused => 2,
        Verdict::NeedsReview => 1,
        Verdict::Different => 0,
    };
    (verdict, c.inliers)
}

/// The fingerprint of the mirror image, from the fingerprint alone.
fn mirror(f: &Fingerprint) -> Fingerprint {
    let width = f32::from(f.width);
    Fingerprint {
        width: f.width,
        height: f.height,
        flat: f.flat,
        global: f.global_mirror,
        global_mirror: f.global,
        keypoints: f
            .keypoints
            .iter()
            .map(|k| Keypoint {
                x: width - 1.0 - k.x,
                descriptor: mirror_descriptor(k.descriptor),
                ..*k
            })
            .collect(),
    }
}

/// A point of the new photo and the point of the stored one it matched, normalised pixels.
type PointPair = ((f64, f64), (f64, f64));

/// A similarity: (x, y) ↦ (a·x − b·y + tx, b·x + a·y + ty).
#[derive(Debug, Clone, Copy)]
struct Similarity {
    a: f64,
    b: f64,
    tx: f64,
    ty: f64,
}

impl Similarity {
    fn apply(&self, (x, y): (f64, f64)) -> (f64, f64) {
        (
            self.a * x - self.b * y + self.tx,
            self.b * x + self.a * y + self.ty,
        )
    }

    fn scale(&self) -> f64 {
        self.a.hypot(self.b)
    }

    fn inverse(&self) -> Self {
        let n = self.a * self.a + self.b * self.b;
        let (a, b) = (self.a / n, -self.b / n);
        Self {
            a,
            b,
            tx: -(a * self.tx - b * self.ty),
            ty: -(b * self.tx + a * self.ty),
        }
    }

    /// Plausible for a copy: a scale a screenshot or a crop can give, a rotation of a few degrees.
    fn plausible(&self) -> bool {
        let s = self.scale();
        (0.2..=5.0).contains(&s) && self.b.atan2(self.a).abs() < 0.2
    }

    /// Least squares over point pairs (the closed form for a similarity).
    fn fit(pairs: &[PointPair]) -> Option<Self> {
        let n = pairs.len() as f64;
        let (mut px, mut py, mut qx, mut qy) = (0.0, 0.0, 0.0, 0.0);
        for &((x, y), (u, v)) in pairs {
            (px, py, qx, qy) = (px + x, py + y, qx + u, qy + v);
        }
        (px, py, qx, qy) = (px / n, py / n, qx / n, qy / n);
        let (mut sa, mut sb, mut norm) = (0.0, 0.0, 0.0);
        for &((x, y), (u, v)) in pairs {
            let (x, y, u, v) = (x - px, y - py, u - qx, v - qy);
            sa += x * u + y * v;
            sb += x * v - y * u;
            norm += x * x + y * y;
        }
        if norm < 1e-9 {
            return None;
        }
        let (a, b) = (sa / norm, sb / norm);
        Some(Self {
            a,
            b,
            tx: qx - (a * px - b * py),
            ty: qy - (b * px + a * py),
        })
    }
}

struct Match {
    new: usize,
    stored: usize,
    distance: u32,
}

/// Nearest stored descriptor for each new one, kept when close and unambiguous.
fn matches(new: &[Keypoint], stored: &[Keypoint]) -> Vec<Match> {
    let mut found = Vec::new();
    for (i, k) in new.iter().enumerate() {
        let (mut best, mut second, mut at) = (u32::MAX, u32::MAX, 0);
        for (j, s) in stored.iter().enumerate() {
            let d = distance(&k.descriptor, &s.descriptor);
            if d < best {
                (second, best, at) = (best, d, j);
            } else if d < second {
                second = d;
            }
        }
        if best <= MAX_DISTANCE && (best as f32) < RATIO * second as f32 {
            found.push(Match {
                new: i,
                stored: at,
                distance: best,
            });
        }
    }
    found.sort_by_key(|m| (m.distance, m.new));
    found
}

fn local(
    new: &Fingerprint,
    stored: &Fingerprint,
    mirrored: bool,
    global_distance: u32,
) -> Comparison {
    let mut result = Comparison::nothing(global_distance, mirrored);
    let found = matches(&new.keypoints, &stored.keypoints);
    if found.len() < MIN_INLIERS {
        return result;
    }
    let point = |k: &Keypoint| (f64::from(k.x), f64::from(k.y));
    let pairs: Vec<_> = found
        .iter()
        .map(|m| {
            (
                point(&new.keypoints[m.new]),
                point(&stored.keypoints[m.stored]),
            )
        })
        .collect();
    let inliers_of = |t: &Similarity| -> Vec<usize> {
        let tolerance = INLIER_TOLERANCE * t.scale().max(1.0);
        (0..pairs.len())
            .filter(|&i| {
                let (p, q) = pairs[i];
                let (u, v) = t.apply(p);
                (u - q.0).hypot(v - q.1) <= tolerance
            })
            .collect()
    };
    // Every pair among the best matches is a hypothesis; the one with most inliers wins.
    let top = pairs.len().min(HYPOTHESIS_MATCHES);
    let mut best: Option<(Similarity, Vec<usize>)> = None;
    for i in 0..top {
        for j in i + 1..top {
            let Some(t) = Similarity::fit(&[pairs[i], pairs[j]]) else {
                continue;
            };
            if !t.plausible() {
                continue;
            }
            let inliers = inliers_of(&t);
            if best.as_ref().is_none_or(|(_, b)| inliers.len() > b.len()) {
                best = Some((t, inliers));
            }
        }
    }
    let Some((mut model, mut inliers)) = best else {
        return result;
    };
    // Refine on the inliers, then once more with the refined model's own inliers.
    for _ in 0..2 {
        let chosen: Vec<_> = inliers.iter().map(|&i| pairs[i]).collect();
        match Similarity::fit(&chosen) {
            Some(t) if t.plausible() => {
                let again = inliers_of(&t);
                if again.len() < inliers.len() {
                    break;
                }
                (model, inliers) = (t, again);
            }
            _ => break,
        }
    }
    result.inliers = inliers.len();
    result.scale = model.scale() as f32;
    if inliers.len() < MIN_INLIERS {
        return result;
    }
    let squared: f64 = inliers
        .iter()
        .map(|&i| {
            let (p, q) = pairs[i];
            let (u, v) = model.apply(p);
            (u - q.0).powi(2) + (v - q.1).powi(2)
        })
        .sum();
    // In the stored frame's pixels, or the new frame's when that is the finer one.
    result.residual = ((squared / inliers.len() as f64).sqrt() / model.scale().max(1.0)) as f32;

    let new_size = (f64::from(new.width), f64::from(new.height));
    let stored_size = (f64::from(stored.width), f64::from(stored.height));
    let new_inside = inside(&model, new_size, stored_size);
    let stored_inside = inside(&model.inverse(), stored_size, new_size);
    result.contained = new_inside || stored_inside;
    result.spread = if new_inside {
        spread(new, inliers.iter().map(|&i| pairs[i].0))
    } else if stored_inside {
        spread(stored, inliers.iter().map(|&i| pairs[i].1))
    } else {
        0.0
    };
    result.verdict =
        if result.contained && result.spread >= MIN_SPREAD && result.residual <= MAX_RESIDUAL {
            Verdict::Reused
        } else {
            Verdict::NeedsReview
        };
    result
}

/// Whether the frame of `size`, mapped by `t`, lies inside the frame of `container`.
fn inside(t: &Similarity, (w, h): (f64, f64), (cw, ch): (f64, f64)) -> bool {
    let (mx, my) = (CONTAIN_TOLERANCE * cw + 1.0, CONTAIN_TOLERANCE * ch + 1.0);
    [
        (-0.5, -0.5),
        (w - 0.5, -0.5),
        (-0.5, h - 0.5),
        (w - 0.5, h - 0.5),
    ]
    .into_iter()
    .map(|c| t.apply(c))
    .all(|(x, y)| x >= -0.5 - mx && x <= cw - 0.5 + mx && y >= -0.5 - my && y <= ch - 0.5 + my)
}

/// Share of a 4 × 4 grid's cells holding any of `f`'s keypoints that also hold an inlier.
fn spread(f: &Fingerprint, inliers: impl Iterator<Item = (f64, f64)>) -> f32 {
    const CELLS: usize = 4;
    let cell = |x: f64, y: f64| {
        let cx = ((x / f64::from(f.width)) * CELLS as f64).clamp(0.0, (CELLS - 1) as f64) as usize;
        let cy = ((y / f64::from(f.height)) * CELLS as f64).clamp(0.0, (CELLS - 1) as f64) as usize;
        cy * CELLS + cx
    };
    let mut occupied = [false; CELLS * CELLS];
    for k in &f.keypoints {
        occupied[cell(f64::from(k.x), f64::from(k.y))] = true;
    }
    let mut hit = [false; CELLS * CELLS];
    for (x, y) in inliers {
        hit[cell(x, y)] = true;
    }
    let occupied_count = occupied.iter().filter(|&&o| o).count().max(1);
    hit.iter().filter(|&&h| h).count() as f32 / occupied_count as f32
}
