//! The pipeline against the committed fixtures (`tests/fixtures/make-photos.sh` made them with
//! ImageMagick and ExifTool), good and bad.

use image::{GenericImageView, Rgba};

use super::*;
use crate::photo::PhotoSource;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../tests/fixtures/photos/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn options() -> PipelineOptions {
    PipelineOptions {
        local_tz: TimeZone::UTC,
        ..PipelineOptions::default()
    }
}

fn run(name: &str) -> Result<crate::photo::ProcessedPhoto, PhotoError> {
    process(&fixture(name), &options())
}

#[test]
fn a_phone_photo_keeps_its_facts_and_loses_its_metadata() {
    let bytes = fixture("scene.jpg");
    let photo = process(&bytes, &options()).expect("process");
    assert_eq!(photo.original_hash, sha256_hex(&bytes));
    assert_eq!(photo.original_size, bytes.len() as u64);
    assert_eq!(photo.content_type, "image/jpeg");
    // 09:30:15 at +08:00 (WITA).
    assert_eq!(
        photo.taken_at,
        Some("2026-03-14T01:30:15Z".parse().expect("time"))
    );
    let gps = photo.gps.clone().expect("gps");
    assert!((gps.lat + 8.1204).abs() < 1e-6 && (gps.lon - 115.172).abs() < 1e-6);
    assert_eq!(photo.camera, "samsung SM-A045F");
    assert_eq!(photo.software, "A045FXXU3CWK1");
    assert!(photo.warnings.is_empty(), "{:?}", photo.warnings);

    // Never enlarged: a 640 × 480 original keeps its size; the thumbnail fits 320.
    let (d, t) = (&photo.derivative, &photo.thumbnail);
    assert_eq!((d.rendition.width, d.rendition.height), (640, 480));
    assert_eq!((t.rendition.width, t.rendition.height), (320, 240));
    for rendition in [d, t] {
        assert_eq!(rendition.rendition.hash, sha256_hex(&rendition.bytes));
        assert_eq!(rendition.rendition.size, rendition.bytes.len() as u64);
        // No EXIF (no GPS of the citizens photographed) in what leaves the device by default.
        assert!(
            exif::read(&rendition.bytes, &TimeZone::UTC, Timestamp::now()) == exif_none(),
            "a rendition carries EXIF"
        );
        assert!(!rendition.bytes.windows(4).any(|w| w == b"Exif"));
        let decoded = image::load_from_memory(&rendition.bytes).expect("renditions decode");
        assert_eq!(
            decoded.dimensions(),
            (rendition.rendition.width, rendition.rendition.height)
        );
    }
    assert_eq!(photo.phash.len(), 16);

    let reference = photo.photo_ref(PhotoSource::Gallery);
    assert_eq!(reference.source, "gallery");
    assert_eq!(reference.derivative.as_ref(), Some(&d.rendition));
    // Deterministic: the same file makes the same renditions, byte for byte.
    let again = process(&bytes, &options()).expect("again");
    assert_eq!(again.derivative.rendition, d.rendition);
    assert_eq!(again.phash, photo.phash);
}

fn exif_none() -> exif::ExifInfo {
    exif::ExifInfo {
        orientation: 1,
        ..exif::ExifInfo::default()
    }
}

#[test]
fn sizes_are_configurable_and_keep_the_aspect_ratio() {
    let options = PipelineOptions {
        max_edge: 200,
        thumb_edge: 50,
        ..options()
    };
    let photo = process(&fixture("scene.jpg"), &options).expect("process");
    let d = &photo.derivative.rendition;
    let t = &photo.thumbnail.rendition;
    assert_eq!((d.width, d.height), (200, 150));
    assert_eq!((t.width, t.height), (50, 38));
}

#[test]
fn all_eight_orientations_display_upright() {
    for n in 1..=8u8 {
        let photo = run(&format!("orient-{n}.jpg")).expect("process");
        assert_eq!(photo.orientation, n);
        let image = image::load_from_memory(&photo.derivative.bytes).expect("decode");
        assert_eq!(image.dimensions(), (64, 48), "orientation {n}");
        let near =
            |p: Rgba<u8>, rgb: [u8; 3]| p.0.iter().zip(rgb).all(|(&a, b)| a.abs_diff(b) < 60);
        // The upright picture: red top-left, blue top-right, black bottom-left, white elsewhere.
        assert!(
            near(image.get_pixel(5, 5), [255, 0, 0]),
            "orientation {n}: top-left"
        );
        assert!(
            near(image.get_pixel(58, 5), [0, 0, 255]),
            "orientation {n}: top-right"
        );
        assert!(
            near(image.get_pixel(5, 42), [0, 0, 0]),
            "orientation {n}: bottom-left"
        );
        assert!(
            near(image.get_pixel(58, 42), [255, 255, 255]),
            "orientation {n}"
        );
    }
}

#[test]
fn a_png_is_read_too() {
    let photo = run("photo.png").expect("process");
    assert_eq!(photo.content_type, "image/png");
    assert_eq!(
        (
            photo.derivative.rendition.width,
            photo.derivative.rendition.height
        ),
        (120, 90)
    );
    assert_eq!(photo.taken_at, None);
}

#[test]
fn bad_files_get_clear_errors() {
    let err = run("iphone.heic").expect_err("heic");
    assert!(matches!(err, PhotoError::Unsupported("HEIC/HEIF")), "{err}");
    assert!(
        err.to_string().contains("JPEG"),
        "the message says what to do: {err}"
    );

    let err = run("not-an-image.jpg").expect_err("text");
    assert!(matches!(err, PhotoError::NotAnImage), "{err}");

    let err = run("truncated.jpg").expect_err("truncated");
    assert!(matches!(err, PhotoError::Truncated), "{err}");

    // Refused from the header: the 30 GB of pixels are never allocated.
    let err = run("bomb.png").expect_err("bomb");
    assert!(
        matches!(
            err,
            PhotoError::TooManyPixels {
                width: 100_000,
                height: 100_000,
                ..
            }
        ),
        "{err}"
    );

    let err = process(&[], &options()).expect_err("empty");
    assert!(matches!(err, PhotoError::Empty));
    let small = PipelineOptions {
        max_input_bytes: 1000,
        ..options()
    };
    let err = process(&fixture("scene.jpg"), &small).expect_err("too large");
    assert!(
        matches!(err, PhotoError::TooLarge { limit: 1000, .. }),
        "{err}"
    );
}

#[test]
fn a_jpeg_whose_scan_is_garbage_fails_to_decode() {
    // Complete structure, nonsense inside: the decoder's own error, not a crash.
    let mut bytes = fixture("orient-1.jpg");
    let len = bytes.len();
    for b in &mut bytes[len / 2..len - 2] {
        *b = 0xFF;
    }
    assert!(process(&bytes, &options()).is_err());
}

#[test]
fn absurd_exif_is_ignored_not_believed() {
    let photo = run("absurd-exif.jpg").expect("the photo itself is fine");
    assert_eq!(photo.taken_at, None, "year 9999");
    assert_eq!(photo.gps, None, "latitude 500");
    assert_eq!(photo.orientation, 1, "orientation 42");
    assert!(photo.camera.chars().count() <= exif::MAX_TEXT_CHARS + 2);
    assert!(photo.warnings.len() >= 4, "{:?}", photo.warnings);
}
