//! The eight EXIF orientations. A phone held upright usually stores the sensor's landscape
//! pixels and tags them "rotate 90° clockwise to view" (6); renditions carry no EXIF, so the
//! rotation must be baked into their pixels. The pipeline resizes first and orients the small
//! image, which is the same picture for a fraction of the work (rotating 12 megapixels costs more
//! than the whole resize).

use image::{RgbImage, imageops};

/// The size an image of `(width, height)` stored pixels shows at once `orientation` is applied.
pub fn displayed_size(orientation: u8, (width, height): (u32, u32)) -> (u32, u32) {
    if swaps_axes(orientation) {
        (height, width)
    } else {
        (width, height)
    }
}

/// Orientations 5–8 turn the image by a quarter, swapping width and height.
pub fn swaps_axes(orientation: u8) -> bool {
    (5..=8).contains(&orientation)
}

/// Applies an EXIF orientation (1–8) to stored pixels so they display upright. Values outside
/// 1–8 leave the image as it is.
pub fn apply(image: RgbImage, orientation: u8) -> RgbImage {
    match orientation {
        2 => imageops::flip_horizontal(&image),
        3 => imageops::rotate180(&image),
        4 => imageops::flip_vertical(&image),
        // Transpose: mirror across the top-left to bottom-right diagonal.
        5 => imageops::flip_horizontal(&imageops::rotate90(&image)),
        6 => imageops::rotate90(&image),
        // Transverse: mirror across the other diagonal.
        7 => imageops::flip_horizontal(&imageops::rotate270(&image)),
        8 => imageops::rotate270(&image),
        _ => image,
    }
}

#[cfg(test)]
mod tests {
    use image::Rgb;

    use super::*;

    const RED: Rgb<u8> = Rgb([255, 0, 0]);

    /// A 3 × 2 image, black except a red top-left pixel as stored.
    fn marked() -> RgbImage {
        let mut image = RgbImage::new(3, 2);
        image.put_pixel(0, 0, RED);
        image
    }

    /// Where the stored top-left pixel must appear once each orientation is applied (from the
    /// EXIF specification's table: row 0 / column 0 are at …).
    #[test]
    fn every_orientation_moves_the_corner_where_exif_says() {
        let expected = [
            (1, (3, 2), (0, 0)),
            (2, (3, 2), (2, 0)),
            (3, (3, 2), (2, 1)),
            (4, (3, 2), (0, 1)),
            (5, (2, 3), (0, 0)),
            (6, (2, 3), (1, 0)),
            (7, (2, 3), (1, 2)),
            (8, (2, 3), (0, 2)),
        ];
        for (orientation, size, (x, y)) in expected {
            let out = apply(marked(), orientation);
            assert_eq!(out.dimensions(), size, "orientation {orientation}");
            assert_eq!(displayed_size(orientation, (3, 2)), size);
            assert_eq!(*out.get_pixel(x, y), RED, "orientation {orientation}");
        }
    }

    #[test]
    fn unknown_orientations_change_nothing() {
        assert_eq!(apply(marked(), 0), marked());
        assert_eq!(apply(marked(), 9), marked());
    }
}
