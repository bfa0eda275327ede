//! The 64-bit perceptual hash of a display copy (the `bukti-reuse` crate's, with its errors as the
//! photo pipeline's).

pub use bukti_reuse::phash::{SAME_PICTURE_DISTANCE, distance, to_hex};

use super::PhotoError;

/// The pHash of packed RGB pixels (`width × height × 3` bytes).
pub fn of_rgb(rgb: &[u8], width: u32, height: u32) -> Result<u64, PhotoError> {
    Ok(bukti_reuse::phash::of_rgb(rgb, width, height)?)
}
