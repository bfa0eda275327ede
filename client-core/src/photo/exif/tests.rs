//! GPS values no camera can mean, written into real JPEGs with a real EXIF writer: each is
//! refused with a reason, the photo kept, and only plausible positions believed.

use exif::{Field, In, Rational, Tag, Value, experimental::Writer};
use jiff::{Timestamp, tz::TimeZone};

use super::read;

/// A small real JPEG carrying `fields` in its APP1 EXIF segment.
fn jpeg_with(fields: &[Field]) -> Vec<u8> {
    let mut tiff = std::io::Cursor::new(Vec::new());
    let mut writer = Writer::new();
    for f in fields {
        writer.push_field(f);
    }
    writer
        .write(&mut tiff, false)
        .unwrap_or_else(|e| panic!("{e}"));
    let tiff = tiff.into_inner();
    let mut pixels = Vec::new();
    jpeg_encoder::Encoder::new(&mut pixels, 80)
        .encode(&[128u8; 16 * 16 * 3], 16, 16, jpeg_encoder::ColorType::Rgb)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff);
    let len = u16::try_from(app1.len() + 2).unwrap_or_else(|e| panic!("{e}"));
    let mut out = pixels[..2].to_vec(); // SOI
    out.extend([0xFF, 0xE1]);
    out.extend(len.to_be_bytes());
    out.extend(app1);
    out.extend(&pixels[2..]);
    out
}

fn r(num: u32, denom: u32) -> Rational {
    Rational { num, denom }
}

fn dms(d: u32, m: u32, s: u32) -> Value {
    Value::Rational(vec![r(d, 1), r(m, 1), r(s, 1)])
}

fn field(tag: Tag, value: Value) -> Field {
    Field {
        tag,
        ifd_num: In::PRIMARY,
        value,
    }
}

fn ascii(s: &str) -> Value {
    Value::Ascii(vec![s.as_bytes().to_vec()])
}

/// Sudaji, Buleleng: 8° 7' 13" S, 115° 10' 19" E, with what the test changes.
fn position(lat: Value, lat_ref: Option<&str>, lon: Value, lon_ref: Option<&str>) -> Vec<Field> {
    let mut fields = vec![field(Tag::GPSLatitude, lat), field(Tag::GPSLongitude, lon)];
    fields.extend(lat_ref.map(|r| field(Tag::GPSLatitudeRef, ascii(r))));
    fields.extend(lon_ref.map(|r| field(Tag::GPSLongitudeRef, ascii(r))));
    fields
}

fn gps_of(fields: &[Field]) -> (Option<(f64, f64)>, Vec<String>) {
    let info = read(&jpeg_with(fields), &TimeZone::UTC, Timestamp::now());
    (info.gps.map(|g| (g.lat, g.lon)), info.warnings)
}

#[test]
fn a_plausible_position_is_read_with_its_hemispheres() {
    let (gps, warnings) = gps_of(&position(
        dms(8, 7, 13),
        Some("S"),
        dms(115, 10, 19),
        Some("E"),
    ));
    let (lat, lon) = gps.unwrap_or_else(|| panic!("no position: {warnings:?}"));
    assert!(
        (lat + (8.0 + 7.0 / 60.0 + 13.0 / 3600.0)).abs() < 1e-9,
        "{lat}"
    );
    assert!(
        (lon - (115.0 + 10.0 / 60.0 + 19.0 / 3600.0)).abs() < 1e-9,
        "{lon}"
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    // Decimal minutes with zero seconds, as many phones write them.
    let decimal = Value::Rational(vec![r(8, 1), r(72_345, 10_000), r(0, 1)]);
    let (gps, _) = gps_of(&position(decimal, Some("S"), dms(115, 0, 0), Some("W")));
    let (lat, lon) = gps.unwrap_or_else(|| panic!("decimal minutes refused"));
    assert!((lat + 8.120_575).abs() < 1e-9 && (lon + 115.0).abs() < 1e-9);
}

#[test]
fn impossible_gps_values_are_dropped_with_a_reason() {
    let good_lat = || dms(8, 7, 13);
    let good_lon = || dms(115, 10, 19);
    let cases: Vec<(&str, Vec<Field>, &str)> = vec![
        (
            "minutes 75",
            position(dms(8, 75, 0), Some("S"), good_lon(), Some("E")),
            "minutes",
        ),
        (
            "seconds 90",
            position(good_lat(), Some("S"), dms(115, 10, 90), Some("E")),
            "seconds",
        ),
        (
            "minutes exactly 60",
            position(dms(8, 60, 0), Some("S"), good_lon(), Some("E")),
            "minutes",
        ),
        (
            "latitude 95",
            position(dms(95, 0, 0), Some("N"), good_lon(), Some("E")),
            "degrees",
        ),
        (
            "latitude 89° 59' 60\"",
            position(dms(89, 59, 60), Some("N"), good_lon(), Some("E")),
            "seconds",
        ),
        (
            "longitude 181",
            position(good_lat(), Some("S"), dms(181, 0, 0), Some("E")),
            "degrees",
        ),
        (
            "longitude 180° 30'",
            position(good_lat(), Some("S"), dms(180, 30, 0), Some("E")),
            "180",
        ),
        (
            "reference X",
            position(good_lat(), Some("X"), good_lon(), Some("E")),
            "reference",
        ),
        (
            "latitude reference E",
            position(good_lat(), Some("E"), good_lon(), Some("E")),
            "reference",
        ),
        (
            "longitude reference N",
            position(good_lat(), Some("S"), good_lon(), Some("N")),
            "reference",
        ),
        (
            "lower-case reference",
            position(good_lat(), Some("s"), good_lon(), Some("e")),
            "reference",
        ),
        (
            "two-letter reference",
            position(good_lat(), Some("SS"), good_lon(), Some("E")),
            "reference",
        ),
        (
            "no latitude reference",
            position(good_lat(), None, good_lon(), Some("E")),
            "hemisphere",
        ),
        (
            "no longitude reference",
            position(good_lat(), Some("S"), good_lon(), None),
            "hemisphere",
        ),
        (
            "two parts",
            position(
                Value::Rational(vec![r(8, 1), r(7, 1)]),
                Some("S"),
                good_lon(),
                Some("E"),
            ),
            "parts",
        ),
        (
            "four parts",
            position(
                Value::Rational(vec![r(8, 1), r(7, 1), r(1, 1), r(1, 1)]),
                Some("S"),
                good_lon(),
                Some("E"),
            ),
            "parts",
        ),
        (
            "zero denominator",
            position(
                Value::Rational(vec![r(8, 0), r(7, 1), r(1, 1)]),
                Some("S"),
                good_lon(),
                Some("E"),
            ),
            "divide by zero",
        ),
        (
            "0/0 seconds",
            position(
                Value::Rational(vec![r(8, 1), r(7, 1), r(0, 0)]),
                Some("S"),
                good_lon(),
                Some("E"),
            ),
            "divide by zero",
        ),
        (
            "signed rationals",
            position(
                Value::SRational(vec![
                    exif::SRational { num: -8, denom: 1 },
                    exif::SRational { num: 7, denom: 1 },
                    exif::SRational { num: 1, denom: 1 },
                ]),
                Some("S"),
                good_lon(),
                Some("E"),
            ),
            "unsigned",
        ),
        (
            "text instead of numbers",
            position(ascii("8 7 13"), Some("S"), good_lon(), Some("E")),
            "unsigned",
        ),
    ];
    for (name, fields, why) in cases {
        let (gps, warnings) = gps_of(&fields);
        assert_eq!(gps, None, "{name}: an impossible position was believed");
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with("EXIF GPS ignored") && w.contains(why)),
            "{name}: expected a warning naming {why:?}, got {warnings:?}"
        );
    }
}
