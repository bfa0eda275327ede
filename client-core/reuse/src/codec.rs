//! A fingerprint as bytes, for the server's table of stored fingerprints (about 37 bytes a
//! keypoint, 11 KB a photo at most), and back, refusing anything malformed.
//!
//! Layout, little-endian: `b"BRF1"`, width u16, height u16, flags u8 (bit 0: flat), global u64,
//! mirror u64, count u16, then per keypoint x and y in 1/16 pixel (u16 each), level u8 and the
//! descriptor as four u64.

use super::{
    Fingerprint, NORMALISED_EDGE,
    features::{Keypoint, LEVELS, MAX_KEYPOINTS},
};

const MAGIC: &[u8; 4] = b"BRF1";
const HEADER: usize = 4 + 2 + 2 + 1 + 8 + 8 + 2;
const KEYPOINT: usize = 2 + 2 + 1 + 32;
const SUBPIXEL: f32 = 16.0;

/// Why stored bytes are not a fingerprint.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FingerprintError {
    #[error("not a photo fingerprint (unknown format or version)")]
    Format,
    #[error("the photo fingerprint is cut short or has trailing bytes")]
    Length,
    #[error("the photo fingerprint holds impossible values: {0}")]
    Value(&'static str),
}

impl Fingerprint {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER + KEYPOINT * self.keypoints.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.width.to_le_bytes());
        out.extend_from_slice(&self.height.to_le_bytes());
        out.push(u8::from(self.flat));
        out.extend_from_slice(&self.global.to_le_bytes());
        out.extend_from_slice(&self.global_mirror.to_le_bytes());
        // At most MAX_KEYPOINTS, far below u16::MAX.
        out.extend_from_slice(&(self.keypoints.len() as u16).to_le_bytes());
        for k in &self.keypoints {
            // Coordinates lie within the normalised frame, so 1/16 pixel fits 16 bits.
            out.extend_from_slice(&((k.x.max(0.0) * SUBPIXEL).round() as u16).to_le_bytes());
            out.extend_from_slice(&((k.y.max(0.0) * SUBPIXEL).round() as u16).to_le_bytes());
            out.push(k.level);
            for word in k.descriptor {
                out.extend_from_slice(&word.to_le_bytes());
            }
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FingerprintError> {
        let mut r = Reader(bytes);
        if r.take(4)? != MAGIC {
            return Err(FingerprintError::Format);
        }
        let width = r.u16()?;
        let height = r.u16()?;
        let edge = NORMALISED_EDGE as u16;
        if width == 0 || height == 0 || width > edge || height > edge {
            return Err(FingerprintError::Value("frame size"));
        }
        let flags = r.take(1)?[0];
        if flags > 1 {
            return Err(FingerprintError::Value("flags"));
        }
        let global = r.u64()?;
        let global_mirror = r.u64()?;
        let count = usize::from(r.u16()?);
        if count > MAX_KEYPOINTS {
            return Err(FingerprintError::Value("keypoint count"));
        }
        if r.0.len() != count * KEYPOINT {
            return Err(FingerprintError::Length);
        }
        let mut keypoints = Vec::with_capacity(count);
        for _ in 0..count {
            let x = f32::from(r.u16()?) / SUBPIXEL;
            let y = f32::from(r.u16()?) / SUBPIXEL;
            let level = r.take(1)?[0];
            if x > f32::from(width) || y > f32::from(height) || usize::from(level) >= LEVELS {
                return Err(FingerprintError::Value("keypoint"));
            }
            let descriptor = [r.u64()?, r.u64()?, r.u64()?, r.u64()?];
            keypoints.push(Keypoint {
                x,
                y,
                level,
                descriptor,
            });
        }
        Ok(Self {
            width,
            height,
            global,
            global_mirror,
            flat: flags == 1,
            keypoints,
        })
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FingerprintError> {
        if self.0.len() < n {
            return Err(FingerprintError::Length);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u16(&mut self) -> Result<u16, FingerprintError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u64(&mut self) -> Result<u64, FingerprintError> {
        let mut word = [0u8; 8];
        word.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(word))
    }
}
