//! "Photo reused": the detector lives in the `bukti-reuse` crate (pure pixel code, the one part of
//! the core optimised in test builds; its documentation says why the method is what it is). Here
//! it is reached as before, with its errors as the photo pipeline's.

pub use bukti_reuse::{
    Comparison, Fingerprint, FingerprintError, NORMALISED_EDGE, Verdict, compare, index,
};

use super::PhotoError;

/// Fingerprints packed RGB pixels (`width × height × 3` bytes), as the photo pipeline decodes them.
pub fn fingerprint_rgb(rgb: &[u8], width: u32, height: u32) -> Result<Fingerprint, PhotoError> {
    Ok(bukti_reuse::fingerprint_rgb(rgb, width, height)?)
}
