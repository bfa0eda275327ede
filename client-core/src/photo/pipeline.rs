//! The capture pipeline proper: bytes of a camera file in, renditions and facts out.
//!
//! Speed matters (an officer photographs a queue of SKCK applicants; the benchmark holds this to
//! libvips' speed): decoding is zune-jpeg through `image`, the resize is `fast_image_resize`
//! (SIMD convolution, ~15× the `image` crate's own), encoding is `jpeg-encoder` (~3× `image`'s),
//! and the orientation is applied after the resize, to 2.5 megapixels instead of 12.

use std::io::Cursor;

use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer, images};
use image::{
    DynamicImage, ImageDecoder, ImageError, Limits, RgbImage,
    codecs::{jpeg::JpegDecoder, png::PngDecoder},
    error::LimitErrorKind,
};
use jiff::{Timestamp, tz::TimeZone};

use super::{
    Encoded, PhotoError, ProcessedPhoto, exif, orient, phash, sha256_hex,
    sniff::{self, Format},
};
use crate::record::Rendition;

/// How renditions are made and how much an input may cost.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// Longest edge of the display derivative, in pixels.
    pub max_edge: u32,
    /// Longest edge of the thumbnail, in pixels.
    pub thumb_edge: u32,
    /// JPEG quality (1–100) of both renditions.
    pub quality: u8,
    /// Largest original accepted, in bytes (the server's default blob limit: an original must be
    /// uploadable when HQ asks for it).
    pub max_input_bytes: u64,
    /// Largest image accepted, in pixels; checked from the header, before any pixel is decoded.
    pub max_pixels: u64,
    /// Most memory one decode may allocate (`image::Limits::max_alloc`).
    pub max_alloc: u64,
    /// Zone for an EXIF time recorded without an offset.
    pub local_tz: TimeZone,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        Self {
            max_edge: 1600,
            thumb_edge: 320,
            quality: 80,
            max_input_bytes: 25 * 1024 * 1024,
            // 100 MP is beyond any phone camera (the largest are 50 MP binned to 12).
            max_pixels: 100_000_000,
            max_alloc: 512 * 1024 * 1024,
            local_tz: TimeZone::system(),
        }
    }
}

/// Processes one original photo. Pure: nothing is written anywhere.
pub fn process(bytes: &[u8], options: &PipelineOptions) -> Result<ProcessedPhoto, PhotoError> {
    let size = bytes.len() as u64;
    if size > options.max_input_bytes {
        return Err(PhotoError::TooLarge {
            size,
            limit: options.max_input_bytes,
        });
    }
    // First, before anything could alter what we look at: the hash that binds the record to
    // exactly these bytes.
    let original_hash = sha256_hex(bytes);
    let format = sniff::sniff(bytes)?;
    if format == Format::Jpeg && !sniff::jpeg_is_complete(bytes) {
        return Err(PhotoError::Truncated);
    }
    let exif = exif::read(bytes, &options.local_tz, Timestamp::now());
    for warning in &exif.warnings {
        tracing::warn!(photo = %original_hash, "{warning}");
    }
    let pixels = decode(bytes, format, options)?;

    // Resize the stored pixels, then orient the small result (same picture, far less work).
    let stored = pixels.dimensions();
    let (dw, dh) = fit(stored, options.max_edge);
    let derivative = orient::apply(resize(&pixels, dw, dh)?, exif.orientation);
    drop(pixels);
    let (tw, th) = fit(derivative.dimensions(), options.thumb_edge);
    let thumbnail = resize(&derivative, tw, th)?;

    let phash = phash::of_rgb(derivative.as_raw(), derivative.width(), derivative.height())?;
    Ok(ProcessedPhoto {
        original_hash,
        original_size: size,
        content_type: format.content_type(),
        taken_at: exif.taken_at,
        gps: exif.gps,
        camera: exif.camera,
        software: exif.software,
        orientation: exif.orientation,
        derivative: encode(&derivative, options.quality)?,
        thumbnail: encode(&thumbnail, options.quality)?,
        phash: phash::to_hex(phash),
        warnings: exif.warnings,
    })
}

/// Decodes a JPEG or PNG under `options`' byte, pixel and memory limits, as it is stored (no
/// orientation applied): how the server looks at a display copy it received.
pub fn decode_rgb(bytes: &[u8], options: &PipelineOptions) -> Result<RgbImage, PhotoError> {
    if bytes.len() as u64 > options.max_input_bytes {
        return Err(PhotoError::TooLarge {
            size: bytes.len() as u64,
            limit: options.max_input_bytes,
        });
    }
    decode(bytes, sniff::sniff(bytes)?, options)
}

fn decode(bytes: &[u8], format: Format, options: &PipelineOptions) -> Result<RgbImage, PhotoError> {
    let mut limits = Limits::default();
    limits.max_alloc = Some(options.max_alloc);
    match format {
        Format::Jpeg => decode_with(JpegDecoder::new(Cursor::new(bytes)), limits, options),
        Format::Png => decode_with(
            PngDecoder::with_limits(Cursor::new(bytes), limits.clone()),
            limits,
            options,
        ),
    }
}

/// Checks the header's size against the pixel budget, then decodes under `limits`.
fn decode_with(
    decoder: Result<impl ImageDecoder, ImageError>,
    limits: Limits,
    options: &PipelineOptions,
) -> Result<RgbImage, PhotoError> {
    let mut decoder = decoder.map_err(decode_error)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > options.max_pixels || width == 0 || height == 0 {
        return Err(PhotoError::TooManyPixels {
            width,
            height,
            limit: options.max_pixels,
        });
    }
    decoder.set_limits(limits).map_err(decode_error)?;
    // `into_rgb8` is a move for the usual 8-bit RGB JPEG. PNG transparency is dropped: evidence
    // photos are opaque, and a rendition has no alpha channel.
    Ok(DynamicImage::from_decoder(decoder)
        .map_err(decode_error)?
        .into_rgb8())
}

fn decode_error(e: ImageError) -> PhotoError {
    match e {
        ImageError::Limits(l) if matches!(l.kind(), LimitErrorKind::InsufficientMemory) => {
            PhotoError::Decode(
                "decoding it would need more memory than a photo is allowed".to_owned(),
            )
        }
        other => PhotoError::Decode(other.to_string()),
    }
}

/// `size` scaled down (never up) so its longer edge is at most `edge`, at least 1 × 1.
fn fit((width, height): (u32, u32), edge: u32) -> (u32, u32) {
    // JPEG dimensions are 16-bit.
    let edge = edge.clamp(1, u32::from(u16::MAX));
    let long = width.max(height);
    if long <= edge {
        return (width, height);
    }
    let scale = f64::from(edge) / f64::from(long);
    let side = |v: u32| ((f64::from(v) * scale).round() as u32).clamp(1, edge);
    (side(width), side(height))
}

fn resize(src: &RgbImage, width: u32, height: u32) -> Result<RgbImage, PhotoError> {
    if src.dimensions() == (width, height) {
        return Ok(src.clone());
    }
    let render = |e: &dyn std::fmt::Display| PhotoError::Render(e.to_string());
    let view = images::ImageRef::new(src.width(), src.height(), src.as_raw(), PixelType::U8x3)
        .map_err(|e| render(&e))?;
    let mut dst = images::Image::new(width, height, PixelType::U8x3);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    Resizer::new()
        .resize(&view, &mut dst, &options)
        .map_err(|e| render(&e))?;
    RgbImage::from_raw(width, height, dst.into_vec())
        .ok_or_else(|| PhotoError::Render("resized buffer has the wrong size".to_owned()))
}

/// Baseline JPEG with no metadata segments at all: no EXIF, no GPS, no maker notes.
fn encode(image: &RgbImage, quality: u8) -> Result<Encoded, PhotoError> {
    let (width, height) = image.dimensions();
    let (Ok(w), Ok(h)) = (u16::try_from(width), u16::try_from(height)) else {
        return Err(PhotoError::Render(format!(
            "{width} × {height} is too large for JPEG"
        )));
    };
    let mut bytes = Vec::with_capacity(image.as_raw().len() / 8);
    jpeg_encoder::Encoder::new(&mut bytes, quality.clamp(1, 100))
        .encode(image.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| PhotoError::Render(e.to_string()))?;
    let rendition = Rendition {
        hash: sha256_hex(&bytes),
        size: bytes.len() as u64,
        width,
        height,
    };
    Ok(Encoded { bytes, rendition })
}

#[cfg(test)]
mod tests;
