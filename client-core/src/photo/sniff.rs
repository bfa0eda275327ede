//! What a file really is, from its first bytes: a photo named `.jpg` may be anything. Also the
//! JPEG completeness check, because a decoder asked to read a cut-off JPEG happily paints the
//! missing part grey, and a half-grey photo must not become evidence.

use super::PhotoError;

/// The formats the pipeline reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
        }
    }
}

/// The format of `bytes` by magic number; HEIC, WebP, GIF and friends get a message naming them.
pub fn sniff(bytes: &[u8]) -> Result<Format, PhotoError> {
    if bytes.is_empty() {
        return Err(PhotoError::Empty);
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(Format::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(Format::Png);
    }
    // ISO base media files (HEIF, AVIF, also videos): `....ftyp<brand>`.
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        let brand = &bytes[8..12];
        return Err(PhotoError::Unsupported(match brand {
            b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" | b"mif1" | b"msf1" => {
                "HEIC/HEIF"
            }
            b"avif" | b"avis" => "AVIF",
            _ => "video or ISO media",
        }));
    }
    let other = if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        "WebP"
    } else if bytes.starts_with(b"GIF8") {
        "GIF"
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        "TIFF or camera RAW"
    } else if bytes.starts_with(b"BM") {
        "BMP"
    } else {
        return Err(PhotoError::NotAnImage);
    };
    Err(PhotoError::Unsupported(other))
}

/// Whether a JPEG runs to its end-of-image marker. Walks the marker segments (skipping APP
/// segments by their length, so an embedded EXIF thumbnail's own end marker does not count) and
/// the entropy-coded scans (where a real marker is `FF` followed by neither `00` nor a restart
/// marker) until `EOI`. Bytes after `EOI` (some phones append a video) are allowed.
pub(super) fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let mut i = 2; // after SOI
    loop {
        // Fill bytes (0xFF padding) may precede a marker.
        while bytes.get(i) == Some(&0xFF) && bytes.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (bytes.get(i), bytes.get(i + 1)) else {
            return false;
        };
        i += 2;
        match marker {
            0xD9 => return true,
            // Standalone markers without a length.
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let Some(len) = bytes
            .get(i..i + 2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        else {
            return false;
        };
        if len < 2 {
            return false;
        }
        i += len;
        if i > bytes.len() {
            return false;
        }
        if marker == 0xDA {
            // Entropy-coded data follows the scan header: find the next real marker.
            loop {
                match (bytes.get(i), bytes.get(i + 1)) {
                    (Some(&0xFF), Some(&next))
                        if next != 0x00 && !(0xD0..=0xD7).contains(&next) =>
                    {
                        break;
                    }
                    (Some(_), Some(_)) => i += 1,
                    _ => return false,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_come_from_magic_bytes() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest").ok(), Some(Format::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest").ok(), Some(Format::Png));
        assert!(matches!(
            sniff(b"\0\0\0\x18ftypheic\0\0\0\0"),
            Err(PhotoError::Unsupported("HEIC/HEIF"))
        ));
        assert!(matches!(
            sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Err(PhotoError::Unsupported("WebP"))
        ));
        assert!(matches!(
            sniff(b"<html>not a photo"),
            Err(PhotoError::NotAnImage)
        ));
        assert!(matches!(sniff(b""), Err(PhotoError::Empty)));
    }

    #[test]
    fn a_jpeg_without_its_end_marker_is_incomplete() {
        // SOI, APP0 (len 4), SOS (len 3) + entropy data with a stuffed FF00 and a restart, EOI.
        let whole =
            b"\xFF\xD8\xFF\xE0\x00\x04ab\xFF\xDA\x00\x03x\x12\xFF\x00\x34\xFF\xD0\x56\xFF\xD9";
        assert!(jpeg_is_complete(whole));
        for cut in 2..whole.len() - 1 {
            assert!(!jpeg_is_complete(&whole[..cut]), "cut at {cut}");
        }
        let mut trailer = whole.to_vec();
        trailer.extend_from_slice(b"appended video");
        assert!(jpeg_is_complete(&trailer));
    }
}
