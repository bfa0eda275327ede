//! Photo evidence on the device: from a camera file to the bytes and the [`PhotoRef`] a record
//! keeps (feature `photo`, which `device` enables; the server never decodes photos).
//!
//! [`process`] is pure and synchronous: original bytes in, a [`ProcessedPhoto`] out. In order:
//! hash the original (before anything can touch it), sniff the format from its magic bytes (never
//! the file name), read EXIF without trusting it ([`exif`]), decode under [`image::Limits`] so a
//! decompression bomb is refused before its pixels are allocated, shrink to the display
//! derivative and the thumbnail, apply the EXIF orientation to the small images only ([`orient`]),
//! encode both as JPEG without any metadata (citizens' privacy: no GPS leaves in a rendition),
//! and take a perceptual hash of the derivative ([`phash`]).
//!
//! It is CPU-bound (tens of milliseconds for a 12-megapixel photo): async callers run it on the
//! device's bounded photo pool, never on the async runtime's threads.

pub mod exif;
pub mod orient;
pub mod phash;
mod pipeline;
pub mod reuse;
mod sniff;

use jiff::Timestamp;

pub use pipeline::{PipelineOptions, decode_rgb, process};
pub use sniff::{Format, sniff};

use crate::record::{PhotoGps, PhotoRef, Rendition};

/// Where a photo came from: the app's own camera, or imported from the phone's gallery (weaker
/// evidence: it may predate the activity or come from someone else).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoSource {
    #[default]
    Camera,
    Gallery,
}

impl PhotoSource {
    pub fn as_str(self) -> &'static str {
        match self {
            PhotoSource::Camera => "camera",
            PhotoSource::Gallery => "gallery",
        }
    }
}

/// Why a photo could not be processed. Nothing is stored when any of these is returned.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("the file is empty; choose the photo again")]
    Empty,
    #[error(
        "the file is {size} bytes, over the {limit}-byte limit for one photo; take the photo \
         again at a lower resolution"
    )]
    TooLarge { size: u64, limit: u64 },
    #[error(
        "this is a {0} file, which Bukti cannot read; set the camera to save JPEG \
         (\"Most compatible\" on iPhones, switch off HEIF on Android) or export the photo as JPEG"
    )]
    Unsupported(&'static str),
    #[error("the file is not a JPEG or PNG image (whatever its name says); choose a photo file")]
    NotAnImage,
    #[error(
        "the JPEG file is cut short (an interrupted copy or transfer?); copy the photo again \
         from the camera"
    )]
    Truncated,
    #[error(
        "the image claims {width} × {height} pixels, over the {limit}-pixel limit; \
         it is either damaged or not a camera photo"
    )]
    TooManyPixels { width: u32, height: u32, limit: u64 },
    #[error("the image cannot be decoded: {0}; the file is damaged, choose another photo")]
    Decode(String),
    #[error("the reduced copy of the photo could not be made: {0}")]
    Render(String),
}

impl From<bukti_reuse::RenderError> for PhotoError {
    fn from(e: bukti_reuse::RenderError) -> Self {
        Self::Render(e.to_string())
    }
}

/// One rendition's bytes and description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub rendition: Rendition,
}

/// Everything the pipeline learned and made from one original.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessedPhoto {
    /// SHA-256 of the original bytes, 64 lowercase hex digits: the photo's key in the record.
    pub original_hash: String,
    pub original_size: u64,
    /// `image/jpeg` or `image/png`.
    pub content_type: &'static str,
    pub taken_at: Option<Timestamp>,
    pub gps: Option<PhotoGps>,
    /// EXIF make and model joined by a space, empty when absent.
    pub camera: String,
    pub software: String,
    /// EXIF orientation 1–8 as recorded (1 when absent); already applied to the renditions.
    pub orientation: u8,
    pub derivative: Encoded,
    pub thumbnail: Encoded,
    /// 16 hex digits.
    pub phash: String,
    /// EXIF values that were present but ignored as implausible, for the log.
    pub warnings: Vec<String>,
}

impl ProcessedPhoto {
    /// The reference a record keeps for this photo.
    pub fn photo_ref(&self, source: PhotoSource) -> PhotoRef {
        PhotoRef {
            size: self.original_size,
            content_type: self.content_type.to_owned(),
            source: source.as_str().to_owned(),
            taken_at: self.taken_at,
            gps: self.gps.clone(),
            camera: self.camera.clone(),
            software: self.software.clone(),
            derivative: Some(self.derivative.rendition.clone()),
            thumbnail: Some(self.thumbnail.rendition.clone()),
            phash: self.phash.clone(),
        }
    }
}

/// SHA-256 of `bytes` as 64 lowercase hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
