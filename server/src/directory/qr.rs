//! Enrollment codes as QR codes, for a phone to scan off a screen (SVG) or a printed slip (PNG).

use qrcode::{EcLevel, QrCode, render::svg};

use super::DirectoryError;

fn code(text: &str) -> Result<QrCode, DirectoryError> {
    // Medium error correction survives a smudged printout without making the code dense.
    QrCode::with_error_correction_level(text, EcLevel::M)
        .map_err(|e| DirectoryError::Invalid(format!("cannot make a QR code: {e}")))
}

pub fn svg(text: &str) -> Result<String, DirectoryError> {
    Ok(code(text)?
        .render::<svg::Color<'_>>()
        .min_dimensions(256, 256)
        .build())
}

pub fn png(text: &str) -> Result<Vec<u8>, DirectoryError> {
    let image = code(text)?
        .render::<image::Luma<u8>>()
        .min_dimensions(512, 512)
        .build();
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| DirectoryError::Invalid(format!("cannot encode the QR code: {e}")))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_are_real_images() {
        let text = bukti_core::enrollment::uri("https://bukti.example", "7K3Q9XMD2PVA");
        let svg = svg(&text).expect("svg");
        assert!(svg.contains("<svg") && svg.len() > 1000);
        let png = png(&text).expect("png");
        let decoded = image::load_from_memory(&png).expect("decodes");
        assert!(decoded.width() >= 512);
    }
}
