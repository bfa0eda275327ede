//! What an export writes, row by row, pure: CSV (RFC 4180, UTF-8 with a byte order mark so
//! spreadsheet programs read Indonesian text right) and GeoJSON. The export handlers stream
//! pages of rows from the store through these.
//!
//! CSV cells that a spreadsheet would run as a formula (text starting with `=`, `+`, `-`, `@`, a
//! tab or a carriage return) get a leading apostrophe. Only text cells are touched: numbers and
//! times are written by the server and a negative latitude stays a number.

use std::io::Write;

use bukti_core::unit::{IndonesianZone, UnitPath};
use jiff::Timestamp;

use crate::store::RecordSummary;

/// The byte order mark that makes Excel and LibreOffice read a CSV as UTF-8.
pub const BOM: &str = "\u{feff}";

/// The CSV's columns. Local times are in the record's unit's zone (`time_zone`: WIB, WITA or
/// WIT), written so a spreadsheet reads them as times; the `_utc` columns are RFC 3339.
pub const CSV_COLUMNS: [&str; 21] = [
    "id",
    "unit",
    "officer",
    "kind",
    "title",
    "place",
    "status",
    "state",
    "verdict",
    "lke",
    "photos",
    "lat",
    "lon",
    "time_zone",
    "started_local",
    "ended_local",
    "captured_local",
    "started_utc",
    "ended_utc",
    "captured_utc",
    "updated_utc",
];

/// The byte order mark and the header line.
pub fn csv_header(out: &mut Vec<u8>) {
    out.extend_from_slice(BOM.as_bytes());
    for (i, name) in CSV_COLUMNS.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(name.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// Text a spreadsheet would evaluate when it starts the cell.
fn is_formula(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// One text cell: quoted when it holds a comma, a quote or a line break (quotes doubled), and
/// neutralised when it would be a formula.
fn text_cell(out: &mut Vec<u8>, text: &str) {
    let prefix = if is_formula(text) { "'" } else { "" };
    if text.contains([',', '"', '\n', '\r']) {
        out.push(b'"');
        out.extend_from_slice(prefix.as_bytes());
        out.extend_from_slice(text.replace('"', "\"\"").as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(prefix.as_bytes());
        out.extend_from_slice(text.as_bytes());
    }
}

fn zone_of(unit: &str) -> IndonesianZone {
    UnitPath::parse(unit).map_or(IndonesianZone::Wib, |u| u.time_zone())
}

fn timestamp(ms: Option<i64>) -> Option<Timestamp> {
    ms.and_then(|ms| Timestamp::from_millisecond(ms).ok())
}

/// `,` and the local time in `tz` as a spreadsheet reads it (`2026-11-20 09:00:00`), or nothing.
fn local(out: &mut Vec<u8>, tz: &jiff::tz::TimeZone, t: Option<Timestamp>) {
    out.push(b',');
    if let Some(t) = t {
        let d = tz.to_datetime(t);
        let _ = write!(
            out,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            d.year(),
            d.month(),
            d.day(),
            d.hour(),
            d.minute(),
            d.second()
        );
    }
}

/// `,` and the time in RFC 3339 UTC, or nothing.
fn utc(out: &mut Vec<u8>, t: Option<Timestamp>) {
    out.push(b',');
    if let Some(t) = t {
        let _ = write!(out, "{t}");
    }
}

/// `,` and the number, or nothing.
fn number(out: &mut Vec<u8>, v: Option<f64>) {
    out.push(b',');
    if let Some(v) = v {
        let _ = write!(out, "{v}");
    }
}

/// One record as a CSV line.
pub fn csv_row(out: &mut Vec<u8>, s: &RecordSummary) {
    let zone = zone_of(&s.unit);
    let tz = zone.time_zone();
    let (started, ended, captured, updated) = (
        timestamp(s.started_at),
        timestamp(s.ended_at),
        timestamp(Some(s.captured_at)),
        timestamp(Some(s.updated_at)),
    );
    let _ = write!(out, "{}", s.id);
    for text in [
        &s.unit,
        &s.officer,
        &s.kind,
        &s.title,
        &s.place,
        &s.status,
        &s.state,
        s.verdict.as_deref().unwrap_or_default(),
    ] {
        out.push(b',');
        text_cell(out, text);
    }
    out.push(b',');
    text_cell(out, &s.lke.join(" "));
    let _ = write!(out, ",{}", s.photos);
    number(out, s.lat);
    number(out, s.lon);
    out.push(b',');
    out.extend_from_slice(zone.abbreviation().as_bytes());
    for t in [started, ended, captured] {
        local(out, &tz, t);
    }
    for t in [started, ended, captured, updated] {
        utc(out, t);
    }
    out.extend_from_slice(b"\r\n");
}

/// The start of the GeoJSON document, up to the first feature.
pub const GEOJSON_HEAD: &str = "{\"type\":\"FeatureCollection\",\"features\":[\n";

/// The end of the GeoJSON document: the features' array closed and how many records had no
/// usable location (a foreign member; GeoJSON readers ignore it).
pub fn geojson_tail(skipped: u64) -> String {
    format!("\n],\"skipped\":{skipped}}}\n")
}

/// A location GeoJSON can hold: finite and within the globe's ranges.
pub fn point(s: &RecordSummary) -> Option<(f64, f64)> {
    let (lat, lon) = (s.lat?, s.lon?);
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then_some((lon, lat))
}

/// One record as a GeoJSON Feature (a Point, longitude first), or `None` without a location.
/// `first` says whether a separating comma is needed.
pub fn geojson_feature(out: &mut Vec<u8>, s: &RecordSummary, first: bool) -> bool {
    let Some((lon, lat)) = point(s) else {
        return false;
    };
    let zone = zone_of(&s.unit);
    let activity = timestamp(s.started_at.or(Some(s.captured_at)));
    let feature = serde_json::json!({
        "type": "Feature",
        "id": s.id.to_string(),
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "unit": s.unit,
            "officer": s.officer,
            "kind": s.kind,
            "title": s.title,
            "place": s.place,
            "status": s.status,
            "state": s.state,
            "verdict": s.verdict,
            "lke": s.lke,
            "photos": s.photos,
            "activity_local": activity.map(|t| zone.format(t)),
            "started_utc": timestamp(s.started_at).map(|t| t.to_string()),
            "ended_utc": timestamp(s.ended_at).map(|t| t.to_string()),
            "captured_utc": timestamp(Some(s.captured_at)).map(|t| t.to_string()),
            "updated_utc": timestamp(Some(s.updated_at)).map(|t| t.to_string()),
        },
    });
    if !first {
        out.extend_from_slice(b",\n");
    }
    let _ = serde_json::to_writer(&mut *out, &feature);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(title: &str) -> RecordSummary {
        RecordSummary {
            id: bukti_core::RecordId::new(),
            unit: "bali/buleleng/sawan".into(),
            officer: "87010001".into(),
            kind: "sambang".into(),
            title: title.into(),
            status: "submitted".into(),
            verdict: None,
            state: "captured".into(),
            // 2026-11-20 09:00 WITA
            started_at: Some(1_795_136_400_000),
            ended_at: None,
            captured_at: 1_795_136_400_000,
            lat: Some(-8.15),
            lon: Some(115.25),
            place: "Desa Sudaji".into(),
            lke: vec!["PP.P2".into(), "PW.P3".into()],
            photos: 2,
            flags: Vec::new(),
            feed_seq: 1,
            updated_at: 1_795_136_400_000,
        }
    }

    fn row(title: &str) -> String {
        let mut out = Vec::new();
        csv_row(&mut out, &summary(title));
        String::from_utf8(out).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn csv_quotes_per_rfc_4180_and_keeps_numbers_numbers() {
        let line = row("Sambang \"Kamtibmas\", desa\nSudaji");
        assert!(
            line.contains(",\"Sambang \"\"Kamtibmas\"\", desa\nSudaji\","),
            "{line}"
        );
        assert!(line.contains(",2,-8.15,115.25,WITA,2026-11-20 09:00:00,,2026-11-20 09:00:00,2026-11-20T01:00:00Z,,"), "{line}");
        assert!(line.ends_with("\r\n"));
        assert!(line.contains(",PP.P2 PW.P3,"));
    }

    #[test]
    fn csv_neutralises_formulas() {
        for evil in ["=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\tx"] {
            let line = row(evil);
            assert!(
                line.contains(&format!(",'{evil},")) || line.contains(",\"'"),
                "{evil:?}: {line}"
            );
        }
        assert!(row("Patroli = aman").contains(",Patroli = aman,"));
    }

    #[test]
    fn the_header_starts_with_the_bom_and_names_every_column() {
        let mut out = Vec::new();
        csv_header(&mut out);
        let text = String::from_utf8(out).unwrap_or_else(|e| panic!("{e}"));
        assert!(text.starts_with('\u{feff}'));
        assert_eq!(text.trim_end().split(',').count(), CSV_COLUMNS.len());
        let line = row("x");
        assert_eq!(line.trim_end().split(',').count(), CSV_COLUMNS.len());
    }

    #[test]
    fn geojson_is_lon_lat_and_skips_records_without_a_place() {
        let mut out = GEOJSON_HEAD.as_bytes().to_vec();
        assert!(geojson_feature(&mut out, &summary("a"), true));
        let mut nowhere = summary("b");
        nowhere.lat = None;
        assert!(!geojson_feature(&mut out, &nowhere, false));
        let mut bogus = summary("c");
        bogus.lat = Some(f64::NAN);
        assert!(!geojson_feature(&mut out, &bogus, false));
        assert!(geojson_feature(&mut out, &summary("d"), false));
        out.extend_from_slice(geojson_tail(2).as_bytes());
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{e}"));
        let features = doc["features"]
            .as_array()
            .unwrap_or_else(|| panic!("features"));
        assert_eq!(features.len(), 2);
        assert_eq!(
            features[0]["geometry"]["coordinates"],
            serde_json::json!([115.25, -8.15])
        );
        assert_eq!(
            features[0]["properties"]["activity_local"],
            "2026-11-20 09:00 WITA"
        );
        assert_eq!(doc["skipped"], 2);
    }
}
