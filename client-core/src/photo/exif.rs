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
    let lat = exif.get_field(Tag::GPSLatitude, In::PRIMARY)?;
    let lon = exif.get_field(Tag::GPSLongitude, In::PRIMARY)?;
    let read = |axis: Axis, value: &Value, reference: Tag| {
        coordinate(axis, value, ascii(exif, reference))
            .map_err(|why| format!("EXIF GPS ignored: {} {why}", axis.name()))
    };
    let position = read(Axis::Latitude, &lat.value, Tag::GPSLatitudeRef).and_then(|lat| {
        read(Axis::Longitude, &lon.value, Tag::GPSLongitudeRef).map(|lon| (lat, lon))
    });
    let (lat, lon) = match position {
        Ok(p) => p,
        Err(why) => {
            warnings.push(why);
            return None;
        }
    };
    if lat == 0.0 && lon == 0.0 {
        // What many cameras write when they had no fix.
        warnings.push("EXIF GPS ignored: 0, 0 means the camera had no fix".to_owned());
        return None;
    }
    Some(PhotoGps { lat, lon })
}

/// Which coordinate a GPS field holds, with its limits and hemisphere letters.
#[derive(Debug, Clone, Copy)]
enum Axis {
    Latitude,
    Longitude,
}

impl Axis {
    fn name(self) -> &'static str {
        match self {
            Axis::Latitude => "latitude",
            Axis::Longitude => "longitude",
        }
    }

    fn max_degrees(self) -> f64 {
        match self {
            Axis::Latitude => 90.0,
            Axis::Longitude => 180.0,
        }
    }

    /// The reference letters for the positive and the negative hemisphere.
    fn references(self) -> [u8; 2] {
        match self {
            Axis::Latitude => [b'N', b'S'],
            Axis::Longitude => [b'E', b'W'],
        }
    }
}

/// Degrees, minutes, seconds and a hemisphere letter → signed decimal degrees, or why the
/// values cannot be a position: EXIF is written by anyone, so minutes of 75 or a hemisphere of
/// `X` are refused rather than turned into a plausible-looking place.
fn coordinate(axis: Axis, value: &Value, reference: Option<&[u8]>) -> Result<f64, String> {
    let Value::Rational(parts) = value else {
        return Err("is not stored as unsigned degrees, minutes and seconds".to_owned());
    };
    let [d, m, s] = parts.as_slice() else {
        return Err(format!(
            "has {} parts; degrees, minutes and seconds are 3",
            parts.len()
        ));
    };
    let mut dms = [0.0; 3];
    for ((out, r), what) in dms
        .iter_mut()
        .zip([d, m, s])
        .zip(["degrees", "minutes", "seconds"])
    {
        if r.denom == 0 {
            return Err(format!("{what} divide by zero"));
        }
        *out = r.to_f64();
    }
    let [degrees, minutes, seconds] = dms;
    if degrees > axis.max_degrees() {
        return Err(format!(
            "degrees {degrees} (at most {})",
            axis.max_degrees()
        ));
    }
    if minutes >= 60.0 {
        return Err(format!("minutes {minutes} (must be under 60)"));
    }
    if seconds >= 60.0 {
        return Err(format!("seconds {seconds} (must be under 60)"));
    }
    let value = degrees + minutes / 60.0 + seconds / 3600.0;
    if value > axis.max_degrees() {
        return Err(format!("{value} degrees (at most {})", axis.max_degrees()));
    }
    let [positive, negative] = axis.references();
    match reference {
        Some([r]) if *r == positive => Ok(value),
        Some([r]) if *r == negative => Ok(-value),
        Some(other) => Err(format!(
            "reference {:?} (must be {} or {})",
            String::from_utf8_lossy(other),
            positive as char,
            negative as char
        )),
        None => Err(format!(
            "has no {}/{} reference, so its hemisphere is unknown",
            positive as char, negative as char
        )),
    }
}

#[cfg(test)]
mod tests;
