//! The committed reuse test set (`tests/data/reuse/`, openly licensed photos, see LICENSES.md
//! there) and the transformations that turn each source into the copies a cheat would offer,
//! deterministically, so every run measures the same set.

use std::path::PathBuf;

use image::{ImageFormat, Rgb, RgbImage, imageops};

/// One way of reusing a photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Transform {
    Resized,
    Recompressed,
    Crop30,
    Crop15Resized,
    Mirrored,
    RotatedPlus5,
    RotatedMinus3,
    BrightnessContrast,
    Captioned,
    Screenshot,
    MirroredCroppedCaptioned,
}

impl Transform {
    pub const ALL: [Transform; 11] = [
        Transform::Resized,
        Transform::Recompressed,
        Transform::Crop30,
        Transform::Crop15Resized,
        Transform::Mirrored,
        Transform::RotatedPlus5,
        Transform::RotatedMinus3,
        Transform::BrightnessContrast,
        Transform::Captioned,
        Transform::Screenshot,
        Transform::MirroredCroppedCaptioned,
    ];

    /// The copy of `source` (number `seed` in the set), as the JPEG bytes the server would get.
    pub fn apply(self, source: &RgbImage, seed: u32) -> Vec<u8> {
        let (w, h) = source.dimensions();
        let image = match self {
            Transform::Resized => scale(source, 0.55),
            Transform::Recompressed => return jpeg(source, 30),
            // A third of the width and a tenth of the height cut away, on a side that varies.
            Transform::Crop30 => {
                let x = if seed.is_multiple_of(2) {
                    0
                } else {
                    w * 30 / 100
                };
                crop(source, x, h / 10, w * 70 / 100, h * 80 / 100)
            }
            Transform::Crop15Resized => scale(
                &crop(source, w * 8 / 100, h * 7 / 100, w * 85 / 100, h * 85 / 100),
                0.8,
            ),
            Transform::Mirrored => imageops::flip_horizontal(source),
            Transform::RotatedPlus5 => straighten(source, 5.0),
            Transform::RotatedMinus3 => straighten(source, -3.0),
            Transform::BrightnessContrast => adjust(source, 1.3, 30.0),
            Transform::Captioned => caption(source, seed),
            Transform::Screenshot => screenshot(source, seed),
            Transform::MirroredCroppedCaptioned => caption(
                &imageops::flip_horizontal(&crop(source, w / 10, 0, w * 80 / 100, h * 90 / 100)),
                seed + 7,
            ),
        };
        jpeg(&image, 80)
    }
}

/// The set's photos, by file name, in name order.
pub fn sources() -> Vec<(String, RgbImage)> {
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/reuse");
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .expect("tests/data/reuse")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".jpg"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let bytes = std::fs::read(folder.join(&name)).expect("read a source");
            (name, decode(&bytes))
        })
        .collect()
}

pub fn decode(jpeg: &[u8]) -> RgbImage {
    image::load_from_memory_with_format(jpeg, ImageFormat::Jpeg)
        .expect("decode")
        .into_rgb8()
}

pub fn jpeg(image: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(image)
        .expect("encode");
    out
}

pub fn crop(image: &RgbImage, x: u32, y: u32, w: u32, h: u32) -> RgbImage {
    imageops::crop_imm(image, x, y, w, h).to_image()
}

fn scale(image: &RgbImage, factor: f32) -> RgbImage {
    let (w, h) = image.dimensions();
    let size = |v: u32| ((v as f32 * factor).round() as u32).max(1);
    imageops::resize(image, size(w), size(h), imageops::FilterType::Triangle)
}

fn adjust(image: &RgbImage, contrast: f32, brightness: f32) -> RgbImage {
    let mut out = image.clone();
    for p in out.pixels_mut() {
        for c in &mut p.0 {
            *c = ((f32::from(*c) - 128.0) * contrast + 128.0 + brightness).clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// Bilinear sample at (x, y), black outside.
fn sample(image: &RgbImage, x: f32, y: f32) -> Rgb<u8> {
    let (w, h) = image.dimensions();
    if x < 0.0 || y < 0.0 || x > (w - 1) as f32 || y > (h - 1) as f32 {
        return Rgb([0, 0, 0]);
    }
    let (x0, y0) = (x.floor() as u32, y.floor() as u32);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let mut out = [0u8; 3];
    for (c, value) in out.iter_mut().enumerate() {
        let at = |x, y| f32::from(image.get_pixel(x, y).0[c]);
        let top = at(x0, y0) * (1.0 - fx) + at(x1, y0) * fx;
        let bottom = at(x0, y1) * (1.0 - fx) + at(x1, y1) * fx;
        *value = (top * (1.0 - fy) + bottom * fy).round() as u8;
    }
    Rgb(out)
}

/// What a photo editor's "straighten" makes: rotated by `degrees` about the centre and cropped to
/// the largest centred rectangle of the same shape with no empty corner.
pub fn straighten(image: &RgbImage, degrees: f32) -> RgbImage {
    let (w, h) = image.dimensions();
    let (wf, hf) = (w as f32, h as f32);
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (sin, cos) = (sin.abs(), cos.abs());
    // The scale at which a w × h rectangle, rotated, still covers a w × h frame.
    let zoom = (cos + sin * hf / wf).max(cos + sin * wf / hf);
    let (s, c) = degrees.to_radians().sin_cos();
    RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = ((x as f32 - wf / 2.0) / zoom, (y as f32 - hf / 2.0) / zoom);
        sample(
            image,
            c * dx + s * dy + wf / 2.0,
            -s * dx + c * dy + hf / 2.0,
        )
    })
}

/// What a second camera a hand-width away might see: the frame shifted and slightly turned (a
/// keystone of `turn` of the width), as a perspective warp.
pub fn turned(image: &RgbImage, turn: f32) -> RgbImage {
    let (w, h) = image.dimensions();
    let (wf, hf) = (w as f32, h as f32);
    RgbImage::from_fn(w, h, |x, y| {
        let (u, v) = (x as f32 / wf, y as f32 / hf);
        // The right edge is shorter than the left by `2·turn` of the height.
        let squeeze = 1.0 - 2.0 * turn * u;
        let sy = (v - 0.5) * squeeze + 0.5;
        let sx = u * (1.0 - turn) + turn * u * u;
        sample(image, sx * wf, sy * hf)
    })
}

/// 3 × 5 bitmaps of the digits, then ':' and '/', row by row (bit 2 is the left column).
const GLYPHS: [[u8; 5]; 12] = [
    [7, 5, 5, 5, 7],
    [2, 6, 2, 2, 7],
    [7, 1, 7, 4, 7],
    [7, 1, 7, 1, 7],
    [5, 5, 7, 1, 1],
    [7, 4, 7, 1, 7],
    [7, 4, 7, 5, 7],
    [7, 1, 1, 1, 1],
    [7, 5, 7, 5, 7],
    [7, 5, 7, 1, 7],
    [0, 2, 0, 2, 0],
    [1, 1, 2, 4, 4],
];

/// Draws `text` (digits, ':' and '/') with `size`-pixel dots from (x, y).
fn draw_text(image: &mut RgbImage, text: &str, x: u32, y: u32, size: u32, colour: Rgb<u8>) {
    let (w, h) = image.dimensions();
    for (n, ch) in text.chars().enumerate() {
        let glyph = match ch {
            '0'..='9' => GLYPHS[ch as usize - '0' as usize],
            ':' => GLYPHS[10],
            '/' => GLYPHS[11],
            _ => continue,
        };
        let left = x + n as u32 * 4 * size;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..3 {
                if bits & (4 >> col) == 0 {
                    continue;
                }
                for py in 0..size {
                    for px in 0..size {
                        let (gx, gy) = (left + col * size + px, y + row as u32 * size + py);
                        if gx < w && gy < h {
                            image.put_pixel(gx, gy, colour);
                        }
                    }
                }
            }
        }
    }
}

fn fill(image: &mut RgbImage, x: u32, y: u32, w: u32, h: u32, colour: Rgb<u8>) {
    let (iw, ih) = image.dimensions();
    for py in y..(y + h).min(ih) {
        for px in x..(x + w).min(iw) {
            image.put_pixel(px, py, colour);
        }
    }
}

/// A timestamp burnt into the corner, as camera apps and "timestamp camera" apps do, and a
/// caption band along the bottom.
fn caption(image: &RgbImage, seed: u32) -> RgbImage {
    let mut out = image.clone();
    let (w, h) = out.dimensions();
    let stamp = format!(
        "{:02}/11/2026 {:02}:{:02}",
        1 + seed % 28,
        seed % 24,
        (seed * 7) % 60
    );
    draw_text(&mut out, &stamp, w / 2, h - h / 12, 3, Rgb([255, 200, 0]));
    fill(&mut out, 0, h * 88 / 100 - 30, w, 22, Rgb([20, 20, 20]));
    draw_text(
        &mut out,
        &format!("{seed:04} 08123"),
        8,
        h * 88 / 100 - 26,
        3,
        Rgb([250, 250, 250]),
    );
    out
}

/// The photo inside a portrait phone's gallery or chat screen, screenshotted: status bar, app
/// bar, the photo fitted to the width, a caption area and the navigation bar.
fn screenshot(image: &RgbImage, seed: u32) -> RgbImage {
    let (sw, sh) = (720u32, 1520u32);
    let mut screen = RgbImage::from_pixel(sw, sh, Rgb([245, 245, 245]));
    fill(&mut screen, 0, 0, sw, 48, Rgb([30, 30, 30]));
    draw_text(
        &mut screen,
        &format!("{:02}:{:02}", seed % 24, (seed * 13) % 60),
        20,
        14,
        4,
        Rgb([255; 3]),
    );
    fill(&mut screen, 600, 16, 80, 18, Rgb([200, 200, 200]));
    fill(&mut screen, 0, 48, sw, 110, Rgb([7, 94, 84]));
    fill(&mut screen, 24, 78, 50, 50, Rgb([220, 220, 220]));
    draw_text(&mut screen, "0812/3456", 100, 90, 5, Rgb([255; 3]));
    let (w, h) = image.dimensions();
    let ph = (h * sw / w).min(1100);
    let pw = w * ph / h;
    let photo = imageops::resize(image, pw, ph, imageops::FilterType::CatmullRom);
    let top = 200 + (seed % 5) * 20;
    imageops::replace(
        &mut screen,
        &photo,
        i64::from((sw - pw) / 2),
        i64::from(top),
    );
    draw_text(
        &mut screen,
        &format!("{seed:03} 2026/11/30"),
        24,
        top + ph + 30,
        5,
        Rgb([40; 3]),
    );
    fill(&mut screen, 0, sh - 96, sw, 96, Rgb([0, 0, 0]));
    fill(&mut screen, 340, sh - 60, 40, 40, Rgb([180; 3]));
    screen
}
