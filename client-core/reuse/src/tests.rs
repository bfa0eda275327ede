//! Edge inputs and the basic relations on synthetic pictures; the measured evaluation on real
//! photos is `tests/reuse.rs` (in this crate).

use super::*;

/// A picture with corners everywhere: random rectangles of random grey levels, seeded.
fn rectangles(seed: u64, width: u32, height: u32) -> Vec<u8> {
    let mut state = seed;
    let mut next = move |n: u32| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) % u64::from(n.max(1))) as u32
    };
    let mut grey = vec![128u8; (width * height) as usize];
    for _ in 0..120 {
        let (x0, y0) = (next(width), next(height));
        let (w, h) = (next(width / 4) + 4, next(height / 4) + 4);
        let level = next(256) as u8;
        for y in y0..(y0 + h).min(height) {
            for x in x0..(x0 + w).min(width) {
                grey[(y * width + x) as usize] = level;
            }
        }
    }
    grey.iter().flat_map(|&v| [v, v, v]).collect()
}

fn crop(rgb: &[u8], width: u32, (x0, y0, w, h): (u32, u32, u32, u32)) -> Vec<u8> {
    (y0..y0 + h)
        .flat_map(|y| {
            let start = ((y * width + x0) * 3) as usize;
            rgb[start..start + (w * 3) as usize].to_vec()
        })
        .collect()
}

fn fp(rgb: &[u8], width: u32, height: u32) -> Fingerprint {
    fingerprint_rgb(rgb, width, height).expect("fingerprint")
}

#[test]
fn the_same_picture_and_its_mirror_are_reused() {
    let rgb = rectangles(1, 480, 360);
    let original = fp(&rgb, 480, 360);
    assert!(
        original.keypoint_count() > 100,
        "{}",
        original.keypoint_count()
    );
    assert_eq!(compare(&original, &original).verdict, Verdict::Reused);
    let mirrored: Vec<u8> = rgb
        .chunks_exact(480 * 3)
        .flat_map(|row| {
            row.chunks_exact(3)
                .rev()
                .flatten()
                .copied()
                .collect::<Vec<_>>()
        })
        .collect();
    let result = compare(&fp(&mirrored, 480, 360), &original);
    assert_eq!(result.verdict, Verdict::Reused, "{result:?}");
    assert!(result.mirrored);
}

#[test]
fn a_crop_is_reused_but_a_shifted_frame_is_not() {
    let rgb = rectangles(2, 600, 450);
    let left = fp(&crop(&rgb, 600, (0, 0, 480, 360)), 480, 360);
    let inner = fp(&crop(&rgb, 600, (60, 40, 360, 270)), 360, 270);
    let shifted = fp(&crop(&rgb, 600, (72, 54, 480, 360)), 480, 360);
    let result = compare(&inner, &left);
    assert_eq!(result.verdict, Verdict::Reused, "{result:?}");
    assert!(result.contained);
    // Same content, but each frame shows what the other does not: a second camera's view.
    let result = compare(&shifted, &left);
    assert_eq!(result.verdict, Verdict::NeedsReview, "{result:?}");
    assert!(!result.contained);
}

#[test]
fn different_pictures_are_different() {
    let a = fp(&rectangles(3, 480, 360), 480, 360);
    let b = fp(&rectangles(4, 480, 360), 480, 360);
    assert_eq!(compare(&a, &b).verdict, Verdict::Different);
}

#[test]
fn flat_and_black_images_prove_nothing() {
    let grey = fp(&vec![128u8; 640 * 480 * 3], 640, 480);
    let black = fp(&vec![0u8; 640 * 480 * 3], 640, 480);
    assert_eq!(grey.keypoint_count(), 0);
    assert_eq!(black.keypoint_count(), 0);
    // Two lens caps are not one photo offered twice.
    assert_eq!(compare(&grey, &grey).verdict, Verdict::Different);
    assert_eq!(compare(&black, &black).verdict, Verdict::Different);
    let textured = fp(&rectangles(5, 480, 360), 480, 360);
    assert_eq!(compare(&black, &textured).verdict, Verdict::Different);
}

#[test]
fn tiny_and_extreme_sizes_fingerprint_within_bounds() {
    for (w, h) in [
        (1, 1),
        (2, 3),
        (31, 17),
        (20_000, 3),
        (3, 20_000),
        (4_000, 40),
    ] {
        let f = fp(&rectangles(6, w, h), w, h);
        assert!(f.width <= NORMALISED_EDGE as u16 && f.height <= NORMALISED_EDGE as u16);
        assert!(f.width >= 1 && f.height >= 1);
        assert!(f.keypoint_count() <= features::MAX_KEYPOINTS);
        // Comparing with itself or a normal photo never fails, whatever it finds.
        let _ = compare(&f, &f);
        let _ = compare(&f, &fp(&rectangles(7, 480, 360), 480, 360));
    }
    assert!(fingerprint_rgb(&[], 0, 0).is_err());
    assert!(
        fingerprint_rgb(&[0; 5], 2, 2).is_err(),
        "a buffer shorter than its size"
    );
}

#[test]
fn bytes_round_trip_and_malformed_bytes_are_refused() {
    let f = fp(&rectangles(8, 480, 360), 480, 360);
    let bytes = f.to_bytes();
    let back = Fingerprint::from_bytes(&bytes).expect("round trip");
    assert_eq!(back.keypoint_count(), f.keypoint_count());
    assert_eq!(compare(&back, &f).verdict, Verdict::Reused);
    assert_eq!(
        Fingerprint::from_bytes(&bytes[..bytes.len() - 1]),
        Err(FingerprintError::Length)
    );
    assert_eq!(
        Fingerprint::from_bytes(b"JPEG"),
        Err(FingerprintError::Format)
    );
    let mut huge = bytes;
    huge[4..6].copy_from_slice(&4000u16.to_le_bytes());
    assert!(matches!(
        Fingerprint::from_bytes(&huge),
        Err(FingerprintError::Value(_))
    ));
}

#[test]
fn the_index_finds_the_original_of_a_crop() {
    let rgb = rectangles(9, 600, 450);
    let mut index = index::ReuseIndex::new();
    let stranger = fp(&rectangles(10, 600, 450), 600, 450);
    index.insert(&stranger.index_keys());
    let original = index.insert(&fp(&rgb, 600, 450).index_keys());
    let query = fp(&crop(&rgb, 600, (100, 50, 420, 320)), 420, 320);
    let found = index.candidates(&query.query_keys());
    assert!(found.contains(&original), "{found:?}");
    // A candidate is only worth comparing: the comparison tells the stranger apart.
    assert_eq!(compare(&query, &stranger).verdict, Verdict::Different);
}
