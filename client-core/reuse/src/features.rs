//! The local part of a fingerprint: Harris corners over a small pyramid, each described by 256
//! BRIEF bits taken from a mirror-symmetric pattern.
//!
//! Harris rather than FAST because a copy has been resampled and recompressed, which blurs: the
//! structure tensor over a 5 × 5 window keeps finding the same corners where FAST's ring test
//! flickers. BRIEF rather than an oriented descriptor because reuse means rotations of a few
//! degrees at most (a hand-held re-shot or a straightened copy), which BRIEF tolerates, and an
//! unoriented descriptor keeps the exact mirror relation (see [`mirror_descriptor`]).

use fast_image_resize::{FilterType, PixelType};

use super::{RenderError, resize};

/// Pyramid levels, each 1/√2 of the one before: a photo shown at a quarter of the size still
/// meets its own corners two levels down.
pub(super) const LEVELS: usize = 5;
/// Corners kept per level, finest first; the coarse levels matter most to screenshots.
const BUDGET: [usize; LEVELS] = [100, 70, 55, 40, 30];
/// The most keypoints a fingerprint holds.
pub const MAX_KEYPOINTS: usize = 295;
/// Test points lie within this radius; the 5 × 5 box around each needs two pixels more.
const PATCH: i32 = 13;
/// Corners this close to the edge have no full patch.
const BORDER: usize = PATCH as usize + 3;
/// Harris' k.
const HARRIS_K: f64 = 0.04;
/// A corner must be at least this strong (an ideal corner of about 8 grey levels' contrast), so
/// that a JPEG's block noise in a dark or flat area is not taken for structure. No threshold
/// relative to the strongest corner: a burnt-in caption's white-on-black corners would then
/// silence the photo's own.
const MIN_RESPONSE: f64 = 1.0e5;
/// The pyramid's grid for spreading corners: at most a few per cell.
const GRID: usize = 8;

/// One corner: where it is in the normalised image, at which level, and its BRIEF bits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Keypoint {
    pub x: f32,
    pub y: f32,
    pub level: u8,
    pub descriptor: [u64; 4],
}

/// The descriptor the same corner has in the mirror image: each bit pair swapped, since bit
/// `2i + 1` tests the mirror image of bit `2i`'s pair of points.
pub(super) fn mirror_descriptor(d: [u64; 4]) -> [u64; 4] {
    const EVEN: u64 = 0x5555_5555_5555_5555;
    d.map(|w| ((w & EVEN) << 1) | ((w >> 1) & EVEN))
}

/// Bits that differ between two descriptors.
pub(super) fn distance(a: &[u64; 4], b: &[u64; 4]) -> u32 {
    (a[0] ^ b[0]).count_ones()
        + (a[1] ^ b[1]).count_ones()
        + (a[2] ^ b[2]).count_ones()
        + (a[3] ^ b[3]).count_ones()
}

/// A descriptor within this many bits of a slope's (or its opposite's) says only "brightness
/// rises this way": see [`is_slope`].
const SLOPE_BITS: u32 = 48;

/// Whether a descriptor is what a plain slope gives (one brightness gradient, no real corner):
/// every test then only asks which of its two points lies further along the slope. Such
/// descriptors are alike in every photo (a sky, a blurred background, a straight edge), so the
/// index neither files nor looks them up: they would vote for every smooth photo.
pub(super) fn is_slope(d: &[u64; 4]) -> bool {
    static MASKS: std::sync::OnceLock<Vec<[u64; 4]>> = std::sync::OnceLock::new();
    let masks = MASKS.get_or_init(|| {
        let pattern = pattern();
        // Sixteen directions over half a turn; the other half are the complements.
        (0..16)
            .map(|step| {
                let (sin, cos) = (f64::from(step) * std::f64::consts::PI / 16.0).sin_cos();
                let mut mask = [0u64; 4];
                for (bit, &(p, q)) in pattern.iter().enumerate() {
                    let along = f64::from(q.0 - p.0) * cos + f64::from(q.1 - p.1) * sin;
                    if along > 0.0 {
                        mask[bit / 64] |= 1 << (bit % 64);
                    }
                }
                mask
            })
            .collect()
    });
    masks.iter().any(|m| {
        let bits = distance(d, m);
        !(SLOPE_BITS..=256 - SLOPE_BITS).contains(&bits)
    })
}

/// How many anchors of each coarse level the index keeps per photo (see [`anchors`]).
const ANCHORS_PER_LEVEL: [usize; LEVELS] = [0, 6, 5, 5, 0];

/// The descriptors the index keeps for a stored photo: the strongest corners of the middle
/// levels, which survive both a crop (they are spread over the frame) and the downscaling of a
/// screenshot (a coarse corner is still there when the photo is shown at half size).
pub(super) fn anchors(keypoints: &[Keypoint]) -> Vec<[u64; 4]> {
    let mut taken = [0usize; LEVELS];
    keypoints
        .iter()
        .filter(|k| !is_slope(&k.descriptor))
        .filter(|k| {
            let level = usize::from(k.level);
            let keep = taken[level] < ANCHORS_PER_LEVEL[level];
            taken[level] += usize::from(keep);
            keep
        })
        .map(|k| k.descriptor)
        .collect()
}

/// Keypoints of a grey image (row by row), finest level first, strongest first within a level.
pub(super) fn extract(
    grey: &[u8],
    width: usize,
    height: usize,
) -> Result<Vec<Keypoint>, RenderError> {
    let pattern = pattern();
    let mut keypoints = Vec::with_capacity(MAX_KEYPOINTS);
    let mut level = grey.to_vec();
    let (mut w, mut h) = (width, height);
    for (index, &budget) in BUDGET.iter().enumerate() {
        if w < 2 * BORDER + 2 || h < 2 * BORDER + 2 {
            break;
        }
        let integral = Integral::new(&level, w, h);
        let scale_x = width as f32 / w as f32;
        let scale_y = height as f32 / h as f32;
        for (x, y) in corners(&level, w, h, budget) {
            keypoints.push(Keypoint {
                x: (x as f32 + 0.5) * scale_x - 0.5,
                y: (y as f32 + 0.5) * scale_y - 0.5,
                level: index as u8,
                descriptor: describe(&integral, x, y, &pattern),
            });
        }
        if index + 1 < LEVELS {
            let (nw, nh) = (
                (w as f32 / std::f32::consts::SQRT_2).round() as usize,
                (h as f32 / std::f32::consts::SQRT_2).round() as usize,
            );
            let (from, to) = ((w as u32, h as u32), (nw as u32, nh as u32));
            level = resize(&level, PixelType::U8, from, to, FilterType::Bilinear)?;
            (w, h) = (nw, nh);
        }
    }
    Ok(keypoints)
}

/// Summed-area table: the sum of any box in four lookups.
struct Integral {
    stride: usize,
    sums: Vec<i64>,
}

impl Integral {
    fn new(values: &[u8], w: usize, h: usize) -> Self {
        Self::from_fn(w, h, |i| i64::from(values[i]))
    }

    fn from_fn(w: usize, h: usize, value: impl Fn(usize) -> i64) -> Self {
        let stride = w + 1;
        let mut sums = vec![0i64; stride * (h + 1)];
        for y in 0..h {
            let mut row = 0i64;
            for x in 0..w {
                row += value(y * w + x);
                sums[(y + 1) * stride + x + 1] = sums[y * stride + x + 1] + row;
            }
        }
        Self { stride, sums }
    }

    /// Sum over the box of half-size `r` centred on (x, y), which must lie inside the image.
    fn box_sum(&self, x: usize, y: usize, r: usize) -> i64 {
        let (x0, y0, x1, y1) = (x - r, y - r, x + r + 1, y + r + 1);
        let s = self.stride;
        self.sums[y1 * s + x1] - self.sums[y0 * s + x1] - self.sums[y1 * s + x0]
            + self.sums[y0 * s + x0]
    }
}

/// The strongest Harris corners of one level, spread over a grid, strongest first.
fn corners(grey: &[u8], w: usize, h: usize, budget: usize) -> Vec<(usize, usize)> {
    // Central-difference gradients (zero on the outer ring) and their products.
    let mut gx = vec![0i64; w * h];
    let mut gy = vec![0i64; w * h];
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let i = y * w + x;
            gx[i] = i64::from(grey[i + 1]) - i64::from(grey[i - 1]);
            gy[i] = i64::from(grey[i + w]) - i64::from(grey[i - w]);
        }
    }
    let xx = Integral::from_fn(w, h, |i| gx[i] * gx[i]);
    let yy = Integral::from_fn(w, h, |i| gy[i] * gy[i]);
    let xy = Integral::from_fn(w, h, |i| gx[i] * gy[i]);
    let mut response = vec![0f64; w * h];
    for y in BORDER..h - BORDER {
        for x in BORDER..w - BORDER {
            let (a, b, c) = (
                xx.box_sum(x, y, 2) as f64,
                yy.box_sum(x, y, 2) as f64,
                xy.box_sum(x, y, 2) as f64,
            );
            let r = a * b - c * c - HARRIS_K * (a + b) * (a + b);
            response[y * w + x] = r;
        }
    }
    let mut found: Vec<(f64, usize, usize)> = Vec::new();
    for y in BORDER..h - BORDER {
        for x in BORDER..w - BORDER {
            let r = response[y * w + x];
            if r <= MIN_RESPONSE {
                continue;
            }
            // A local maximum over its 3 × 3 neighbourhood; ties go to the first in raster order.
            let is_max = [
                (-1i64, -1i64),
                (0, -1),
                (1, -1),
                (-1, 0),
                (1, 0),
                (-1, 1),
                (0, 1),
                (1, 1),
            ]
            .iter()
            .all(|&(dx, dy)| {
                let j = ((y as i64 + dy) * w as i64 + x as i64 + dx) as usize;
                let other = response[j];
                other < r || (other == r && (dy, dx) > (0, 0))
            });
            if is_max {
                found.push((r, x, y));
            }
        }
    }
    found.sort_by(|a, b| b.0.total_cmp(&a.0).then((a.2, a.1).cmp(&(b.2, b.1))));
    // At most a few per cell, so a caption or a textured corner does not take the whole budget.
    let per_cell = (budget * 3).div_ceil(GRID * GRID).max(1);
    let mut cells = [0usize; GRID * GRID];
    let mut kept = Vec::with_capacity(budget);
    for (_, x, y) in found {
        let cell = (y * GRID / h) * GRID + x * GRID / w;
        if cells[cell] < per_cell {
            cells[cell] += 1;
            kept.push((x, y));
            if kept.len() == budget {
                break;
            }
        }
    }
    kept
}

/// A test point's offset from the corner.
type Point = (i32, i32);

/// 128 pairs of test points and their mirror images: bit `2i` compares pair `i`, bit `2i + 1`
/// the same pair reflected about the vertical axis through the corner.
fn pattern() -> [(Point, Point); 256] {
    // A fixed generator, so every fingerprint ever stored uses the same pattern.
    let mut state = 0x6275_6b74_6931_u64;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    // Roughly Gaussian around the corner (BRIEF's best layout), σ ≈ 5 pixels.
    let mut coordinate = move || {
        let sum: f64 = (0..4)
            .map(|_| (next() >> 11) as f64 / (1u64 << 53) as f64)
            .sum();
        (((sum - 2.0) * 8.5).round() as i32).clamp(-PATCH, PATCH)
    };
    let mut pairs = [((0, 0), (0, 0)); 256];
    let mut i = 0;
    while i < 128 {
        let p = (coordinate(), coordinate());
        let q = (coordinate(), coordinate());
        // A pair on the axis is its own mirror image: it would spend two bits on one test.
        if p == q || (p.0 == 0 && q.0 == 0) {
            continue;
        }
        pairs[2 * i] = (p, q);
        pairs[2 * i + 1] = ((-p.0, p.1), (-q.0, q.1));
        i += 1;
    }
    pairs
}

/// BRIEF bits of the corner at (x, y): for each pair, is the 5 × 5 mean at the first point darker
/// than at the second?
fn describe(integral: &Integral, x: usize, y: usize, pattern: &[(Point, Point); 256]) -> [u64; 4] {
    let at =
        |(dx, dy): Point| integral.box_sum((x as i32 + dx) as usize, (y as i32 + dy) as usize, 2);
    let mut d = [0u64; 4];
    for (bit, &(p, q)) in pattern.iter().enumerate() {
        if at(p) < at(q) {
            d[bit / 64] |= 1 << (bit % 64);
        }
    }
    d
}
