//! The EXIF fields a record keeps, read without trusting them: EXIF is whatever the camera (or
//! anyone with an editor) wrote. Missing or unreadable EXIF is normal (screenshots, messaging
//! apps strip it); implausible values (latitude 500, year 9999, a megabyte of "camera model") are
//! dropped with a warning rather than stored as evidence or allowed to fail the capture.

use std::io::Cursor;

use exif::{Exif, In, Tag, Value};
use jiff::{Timestamp, civil, tz::TimeZone};

use crate::record::PhotoGps;

/// Longest make, model or software string kept; real ones are a few dozen characters.
pub const MAX_TEXT_CHARS: usize = 64;
/// Photos claiming to be older than this are not believed (digital cameras with EXIF dates).
const EARLIEST_YEAR: i16 = 1990;

/// What the record keeps from a photo's EXIF.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExifInfo {
    pub taken_at: Option<Timestamp>,
    pub gps: Option<PhotoGps>,
    /// Make and model joined by a space.
    pub camera: String,
    pub software: String,
    /// 1–8; 1 when absent or out of range.
    pub orientation: u8,
    pub warnings: Vec<String>,
}

/// Reads EXIF from a JPEG or PNG. A time without an offset is read in `local` (the device's zone:
/// the phone that took it was most likely where the officer is). `now` bounds plausible times.
pub fn read(bytes: &[u8], local: &TimeZone, now: Timestamp) -> ExifInfo {
    let mut info = ExifInfo {
        orientation: 1,
        ..ExifInfo::default()
    };
    let exif = match exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) {
        Ok(exif) => exif,
        Err(exif::Error::NotFound(_)) => return info,
        Err(e) => {
            info.warnings.push(format!("EXIF ignored: {e}"));
            return info;
        }
    };
    info.orientation = match uint(&exif, Tag::Orientation) {
        None => 1,
        Some(o @ 1..=8) => o as u8,
        Some(o) => {
            info.warnings.push(format!(
                "EXIF orientation {o} ignored (valid values are 1–8)"
            ));
            1
        }
    };
    info.taken_at = taken_at(&exif, local, now, &mut info.warnings);
    info.gps = gps(&exif, &mut info.warnings);
    let make = text(&exif, Tag::Make, &mut info.warnings);
    let model = text(&exif, Tag::Model, &mut info.warnings);
    // Many phones repeat the make in the model ("samsung" + "samsung SM-A045F").
    info.camera = if model.to_lowercase().starts_with(&make.to_lowercase()) {
        model
    } else {
        format!("{make} {model}").trim().to_owned()
    };
    info.software = text(&exif, Tag::Software, &mut info.warnings);
    info
}

fn uint(exif: &Exif, tag: Tag) -> Option<u32> {
    exif.get_field(tag, In::PRIMARY)?.value.get_uint(0)
}

fn ascii(exif: &Exif, tag: Tag) -> Option<&[u8]> {
    match &exif.get_field(tag, In::PRIMARY)?.value {
        Value::Ascii(values) => values.first().map(Vec::as_slice),
        _ => None,
    }
}

/// A printable, bounded string: control characters dropped, at most [`MAX_TEXT_CHARS`].
fn text(exif: &Exif, tag: Tag, warnings: &mut Vec<String>) -> String {
    let Some(raw) = ascii(exif, tag) else {
        return String::new();
    };
    let clean: String = String::from_utf8_lossy(raw)
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let clean = clean.trim();
    if clean.chars().count() > MAX_TEXT_CHARS {
        warnings.push(format!(
            "EXIF {tag} is {} characters long; kept the first {MAX_TEXT_CHARS}",
            clean.chars().count()
        ));
        return clean.chars().take(MAX_TEXT_CHARS).collect();
    }
    clean.to_owned()
}

fn taken_at(
    exif: &Exif,
    local: &TimeZone,
    now: Timestamp,
    warnings: &mut Vec<String>,
) -> Option<Timestamp> {
    let raw = ascii(exif, Tag::DateTimeOriginal).or_else(|| ascii(exif, Tag::DateTime))?;
    let ignore = |warnings: &mut Vec<String>, why: String| {
        warnings.push(format!("EXIF time ignored: {why}"));
        None
    };
    let mut dt = match exif::DateTime::from_ascii(raw) {
        Ok(dt) => dt,
        Err(exif::Error::BlankValue(_)) => return None,
        Err(e) => return ignore(warnings, format!("{e}")),
    };
    let offset = ascii(exif, Tag::OffsetTimeOriginal).or_else(|| ascii(exif, Tag::OffsetTime));
    if let Some(offset) = offset
        && dt.parse_offset(offset).is_err()
    {
        warnings.push("EXIF time offset ignored: not of the form +HH:MM".to_owned());
    }
    let Ok(year) = i16::try_from(dt.year) else {
        return ignore(warnings, format!("year {}", dt.year));
    };
    let civil = civil::DateTime::new(
        year,
        dt.month as i8,
        dt.day as i8,
        dt.hour as i8,
        dt.minute as i8,
        dt.second as i8,
        0,
    );
    let civil = match civil {
        Ok(c) => c,
        Err(e) => return ignore(warnings, e.to_string()),
    };
    let zoned = match dt.offset {
        Some(minutes) if minutes.abs() <= 18 * 60 => {
            jiff::tz::Offset::from_seconds(i32::from(minutes) * 60)
                .ok()
                .and_then(|o| civil.to_zoned(TimeZone::fixed(o)).ok())
        }
        Some(minutes) => return ignore(warnings, format!("offset of {minutes} minutes")),
        None => civil.to_zoned(local.clone()).ok(),
    };
    let Some(at) = zoned.map(|z| z.timestamp()) else {
        return ignore(
            warnings,
            format!("{civil} does not exist in the device's time zone"),
        );
    };
    // A day of slack for a camera clock set a little ahead.
    let latest = now.checked_add(jiff::SignedDuration::from_hours(24)).ok()?;
    if year < EARLIEST_YEAR || at > latest {
        return ignore(
            warnings,
            format!("{civil} is not a plausible time for a photo"),
        );
    }
    Timestamp::from_millisecond(at.as_millisecond()).ok()
}

fn gps(exif: &Exif, warnings: &mut Vec<String>) -> Option<PhotoGps> {
    let lat = coordinate(exif, Tag::GPSLatitude, Tag::GPSLatitudeRef, b'S')?;
    let lon = coordinate(exif, Tag::GPSLongitude, Tag::GPSLongitudeRef, b'W')?;
    if !(lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0) {
        warnings.push(format!(
            "EXIF GPS ignored: {lat}, {lon} is not a position on Earth"
        ));
        return None;
    }
    if lat == 0.0 && lon == 0.0 {
        // What many cameras write when they had no fix.
        warnings.push("EXIF GPS ignored: 0, 0 means the camera had no fix".to_owned());
        return None;
    }
    Some(PhotoGps { lat, lon })
}

/// Degrees, minutes, seconds → signed decimal degrees; `negative` is the reference letter for
/// south or west.
fn coordinate(exif: &Exif, tag: Tag, reference: Tag, negative: u8) -> Option<f64> {
    let Value::Rational(parts) = &exif.get_field(tag, In::PRIMARY)?.value else {
        return None;
    };
    let degrees = parts
        .iter()
        .take(3)
        .zip([1.0, 60.0, 3600.0])
        .map(|(r, scale)| r.to_f64() / scale)
        .sum::<f64>();
    let sign = match ascii(exif, reference).and_then(|r| r.first()) {
        Some(&r) if r.eq_ignore_ascii_case(&negative) => -1.0,
        _ => 1.0,
    };
    Some(sign * degrees)
}
