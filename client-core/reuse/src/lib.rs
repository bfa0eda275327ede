//! "Photo reused": is this photo a copy of one already offered as evidence in another record?
//!
//! The server fingerprints the display copy of every photo it receives (a device's own claims can
//! be forged) and compares it with the fingerprints of other records' photos that the [`index`]
//! proposes. Pure code: pixels in, a [`Fingerprint`] out; two fingerprints in, a [`Verdict`] out.
//!
//! ## Why this method
//!
//! A 64-bit DCT pHash of the whole frame survives resizing, recompression, brightness and a burnt-in
//! caption, but a mirror flips half its bits, a 30 % crop or a screenshot (the photo shown smaller
//! inside a phone's bars) moves every frequency, and two cameras a hand-width apart at the same
//! moment hash as close as a copy. So a fingerprint has two parts:
//!
//! - **global**: the pHash of the frame and of its mirror image. Cheap, and the index's first way
//!   in (multi-index hashing over its 16-bit bands).
//! - **local**: up to [`features::MAX_KEYPOINTS`] Harris corners over a five-level pyramid (so a
//!   photo shown at half size still meets its own corners), each with a 256-bit BRIEF descriptor.
//!   The BRIEF pattern is built of mirror-image pairs, so the descriptor of a mirrored corner is
//!   the same bits pairwise swapped: a mirrored copy is matched without a second extraction.
//!
//! [`compare`] matches descriptors (ratio test), then fits a similarity transform (scale, small
//! rotation, shift) by exhaustive two-point RANSAC over the best matches, once as is and once
//! mirrored ([`geometry`]). The fitted transform is what tells a copy from a second camera: a
//! crop's whole frame lies inside the original's, and an original lies inside a screenshot of it,
//! with the corners agreeing to a pixel or two, whereas a second camera sees a shifted frame with
//! content the first never had, and parallax that no similarity explains. Hence three verdicts:
//! [`Verdict::Reused`] when one frame lies inside the other with many spread, exact inliers;
//! [`Verdict::NeedsReview`] when much of the content matches but not that way; otherwise
//! [`Verdict::Different`]. A second camera with a different zoom from the same spot would still
//! look like a crop: a reviewer reads the explanation.
//!
//! Time and memory are bounded whatever the input: the pixels are shrunk first to at most
//! [`NORMALISED_EDGE`] on the long edge (by the SIMD resizer), and everything after works on
//! that, with a fixed keypoint budget. Measured figures are in the test `tests/reuse.rs`.
//!
//! The [`phash`] of a display copy, which the device computes at capture, is here too: it is the
//! fingerprint's global part.

mod codec;
mod features;
mod geometry;
pub mod index;
pub mod phash;
#[cfg(test)]
mod tests;

use fast_image_resize::{
    FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer,
    images::{Image, ImageRef},
};

pub use codec::FingerprintError;
pub use geometry::{Comparison, Verdict};

/// The pixels could not be shrunk to the size a fingerprint is taken at (an empty or
/// inconsistent buffer); the photo pipeline reports it as a render error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RenderError(String);

/// Longest edge, in pixels, of the grey image every fingerprint is taken from.
pub const NORMALISED_EDGE: u32 = 400;

/// A photo's fingerprint: what the server stores per photo and compares.
#[derive(Debug, Clone, PartialEq)]
pub struct Fingerprint {
    /// Size of the normalised grey image the keypoints refer to.
    width: u16,
    height: u16,
    /// pHash of the frame and of its mirror image.
    global: u64,
    global_mirror: u64,
    /// True when the image has (almost) no structure: nothing in it can prove reuse.
    flat: bool,
    /// Ordered by pyramid level, then by corner strength, strongest first.
    keypoints: Vec<features::Keypoint>,
}

impl Fingerprint {
    /// The global pHash (16 hex digits with [`phash::to_hex`]).
    pub fn global_hash(&self) -> u64 {
        self.global
    }

    /// The global pHash of the mirror image.
    pub fn global_mirror_hash(&self) -> u64 {
        self.global_mirror
    }

    pub fn keypoint_count(&self) -> usize {
        self.keypoints.len()
    }

    /// What the [`index`] keeps of this fingerprint.
    pub fn index_keys(&self) -> index::IndexKeys {
        index::IndexKeys {
            global: self.global,
            anchors: features::anchors(&self.keypoints),
        }
    }

    /// Its descriptors, plain and mirrored, for an index lookup (all but plain slopes').
    pub fn query_keys(&self) -> index::QueryKeys {
        index::QueryKeys {
            global: [self.global, self.global_mirror],
            descriptors: self
                .keypoints
                .iter()
                .filter(|k| !features::is_slope(&k.descriptor))
                .flat_map(|k| [k.descriptor, features::mirror_descriptor(k.descriptor)])
                .collect(),
        }
    }
}

/// Fingerprints packed RGB pixels (`width × height × 3` bytes), as the photo pipeline decodes them.
pub fn fingerprint_rgb(rgb: &[u8], width: u32, height: u32) -> Result<Fingerprint, RenderError> {
    if width == 0 || height == 0 {
        return Err(RenderError("the image has no pixels".to_owned()));
    }
    let (w, h) = normalised_size(width, height);
    // Box averaging: a shrunk copy keeps each source pixel's weight, as the pHash expects, and
    // does not ring around the edges the corner detector looks at.
    let small = resize(
        rgb,
        PixelType::U8x3,
        (width, height),
        (w, h),
        FilterType::Box,
    )?;
    let grey: Vec<u8> = small
        .chunks_exact(3)
        .map(|p| ((77 * u32::from(p[0]) + 150 * u32::from(p[1]) + 29 * u32::from(p[2])) >> 8) as u8)
        .collect();
    fingerprint_grey(&grey, w, h)
}

/// Fingerprints a normalised grey image (row by row, at most [`NORMALISED_EDGE`] a side).
fn fingerprint_grey(grey: &[u8], width: u32, height: u32) -> Result<Fingerprint, RenderError> {
    let (global, global_mirror, flat) = global_hashes(grey, width, height)?;
    let keypoints = if flat {
        Vec::new()
    } else {
        features::extract(grey, width as usize, height as usize)?
    };
    Ok(Fingerprint {
        // Both sides are at most NORMALISED_EDGE.
        width: width as u16,
        height: height as u16,
        global,
        global_mirror,
        flat,
        keypoints,
    })
}

/// The input's size scaled down (never up) to [`NORMALISED_EDGE`] on the long edge, at least 1.
fn normalised_size(width: u32, height: u32) -> (u32, u32) {
    let long = width.max(height).max(1);
    if long <= NORMALISED_EDGE {
        return (width.max(1), height.max(1));
    }
    let side = |v: u32| {
        ((u64::from(v) * u64::from(NORMALISED_EDGE) + u64::from(long) / 2) / u64::from(long))
            .clamp(1, u64::from(NORMALISED_EDGE)) as u32
    };
    (side(width), side(height))
}

/// Below this standard deviation of the 32 × 32 grey levels an image is flat (a lens cap, a grey
/// card): its hashes are noise and it carries nothing to match.
const FLAT_STDDEV: f64 = 2.0;

/// pHash of the image and of its mirror, and whether the image is flat.
fn global_hashes(grey: &[u8], width: u32, height: u32) -> Result<(u64, u64, bool), RenderError> {
    const SIDE: u32 = 32;
    let small = resize(
        grey,
        PixelType::U8,
        (width, height),
        (SIDE, SIDE),
        FilterType::Box,
    )?;
    let plain: Vec<f64> = small.iter().map(|&v| f64::from(v)).collect();
    let mirror: Vec<f64> = plain
        .chunks_exact(SIDE as usize)
        .flat_map(|row| row.iter().rev().copied())
        .collect();
    let mean = plain.iter().sum::<f64>() / plain.len() as f64;
    let variance = plain.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / plain.len() as f64;
    let flat = variance.sqrt() < FLAT_STDDEV;
    Ok((phash::of_grey32(&plain), phash::of_grey32(&mirror), flat))
}

/// `pixels` of `kind`, `from` one size `to` another by the SIMD resizer.
fn resize(
    pixels: &[u8],
    kind: PixelType,
    from: (u32, u32),
    to: (u32, u32),
    filter: FilterType,
) -> Result<Vec<u8>, RenderError> {
    let render = |e: &dyn std::fmt::Display| RenderError(e.to_string());
    let src = ImageRef::new(from.0, from.1, pixels, kind).map_err(|e| render(&e))?;
    let mut dst = Image::new(to.0.max(1), to.1.max(1), kind);
    Resizer::new()
        .resize(
            &src,
            &mut dst,
            &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(filter)),
        )
        .map_err(|e| render(&e))?;
    Ok(dst.into_vec())
}

/// Compares a new photo's fingerprint with a stored one.
pub fn compare(new: &Fingerprint, stored: &Fingerprint) -> Comparison {
    geometry::compare(new, stored)
}
