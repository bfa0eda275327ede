//! A 64-bit perceptual hash (the DCT "pHash"): the image shrunk to 32 × 32 grey levels, its
//! lowest 8 × 8 cosine frequencies, one bit per frequency for "above the median". Re-encoding,
//! resizing or a small brightness change flips few bits; a different scene flips about half.
//! HQ compares hashes (Hamming distance) to spot one photo offered as evidence of two activities.

use fast_image_resize::{
    PixelType, ResizeAlg, ResizeOptions, Resizer,
    images::{Image, ImageRef},
};

use super::RenderError;

const SIDE: usize = 32;
const LOW: usize = 8;

/// Hashes of two photos this many bits apart or fewer are very likely the same picture.
pub const SAME_PICTURE_DISTANCE: u32 = 10;

/// The hash of packed RGB pixels (`width × height × 3` bytes).
pub fn of_rgb(rgb: &[u8], width: u32, height: u32) -> Result<u64, RenderError> {
    let src = ImageRef::new(width, height, rgb, PixelType::U8x3)
        .map_err(|e| RenderError(e.to_string()))?;
    let mut small = Image::new(SIDE as u32, SIDE as u32, PixelType::U8x3);
    // Box averaging is what the hash wants: every source pixel counts once.
    Resizer::new()
        .resize(
            &src,
            &mut small,
            &ResizeOptions::new()
                .resize_alg(ResizeAlg::Convolution(fast_image_resize::FilterType::Box)),
        )
        .map_err(|e| RenderError(e.to_string()))?;
    let grey: Vec<f64> = small
        .buffer()
        .chunks_exact(3)
        .map(|p| 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]))
        .collect();
    Ok(of_grey32(&grey))
}

/// The hash of a 32 × 32 grey image, row by row.
pub(super) fn of_grey32(grey: &[f64]) -> u64 {
    // cos((2x + 1) u π / 64) for the 8 lowest frequencies u.
    let mut cos = [[0.0f64; SIDE]; LOW];
    for (u, row) in cos.iter_mut().enumerate() {
        for (x, c) in row.iter_mut().enumerate() {
            *c = (((2 * x + 1) * u) as f64 * std::f64::consts::PI / (2 * SIDE) as f64).cos();
        }
    }
    // Separable DCT-II, keeping only the low 8 × 8 block: rows first, then columns.
    let mut rows = [[0.0f64; SIDE]; LOW]; // rows[u][y]
    for (u, out) in rows.iter_mut().enumerate() {
        for (y, value) in out.iter_mut().enumerate() {
            *value = (0..SIDE).map(|x| grey[y * SIDE + x] * cos[u][x]).sum();
        }
    }
    let mut coefficients = [0.0f64; LOW * LOW];
    for v in 0..LOW {
        for u in 0..LOW {
            coefficients[v * LOW + u] = (0..SIDE).map(|y| rows[u][y] * cos[v][y]).sum();
        }
    }
    // The median of the AC coefficients: the DC term (overall brightness) would skew it.
    let mut ac: Vec<f64> = coefficients[1..].to_vec();
    ac.sort_by(f64::total_cmp);
    let median = ac[ac.len() / 2];
    coefficients
        .iter()
        .enumerate()
        .fold(0u64, |hash, (i, &c)| hash | (u64::from(c > median) << i))
}

/// The hash as 16 lowercase hex digits, as records store it.
pub fn to_hex(hash: u64) -> String {
    format!("{hash:016x}")
}

/// Bits that differ between two hashes.
pub fn distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth "scene" with structure at several scales, seeded by `k`.
    fn scene(k: f64, width: u32, height: u32, brightness: f64) -> Vec<u8> {
        let mut rgb = Vec::with_capacity((width * height * 3) as usize);
        for y in 0..height {
            for x in 0..width {
                let (fx, fy) = (
                    f64::from(x) / f64::from(width),
                    f64::from(y) / f64::from(height),
                );
                let v = 128.0
                    + 60.0 * (k * 3.0 * fx + 1.7 * k * fy).sin()
                    + 40.0 * (5.0 * fy - k * 2.0 * fx).cos()
                    + brightness;
                let v = v.clamp(0.0, 255.0) as u8;
                rgb.extend_from_slice(&[v, v.saturating_sub(20), v / 2]);
            }
        }
        rgb
    }

    fn hash(k: f64, w: u32, h: u32, brightness: f64) -> u64 {
        of_rgb(&scene(k, w, h, brightness), w, h).expect("hash")
    }

    #[test]
    fn the_same_picture_resized_or_brightened_hashes_close() {
        let base = hash(2.0, 400, 300, 0.0);
        assert!(distance(base, hash(2.0, 160, 120, 0.0)) <= SAME_PICTURE_DISTANCE);
        assert!(distance(base, hash(2.0, 400, 300, 12.0)) <= SAME_PICTURE_DISTANCE);
    }

    #[test]
    fn different_pictures_hash_far_apart() {
        let a = hash(2.0, 400, 300, 0.0);
        let b = hash(5.0, 400, 300, 0.0);
        assert!(distance(a, b) > SAME_PICTURE_DISTANCE, "{}", distance(a, b));
    }

    #[test]
    fn hex_has_sixteen_digits() {
        assert_eq!(to_hex(0xAB), "00000000000000ab");
        assert_eq!(to_hex(u64::MAX).len(), 16);
    }
}
