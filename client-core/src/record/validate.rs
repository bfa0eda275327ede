//! Validation of a record's typed view: every problem, each with the path of the field it is
//! about, so a device can show them next to the fields and the server can return them all at once.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::{Record, SCHEMA_VERSION, Status};
use crate::{catalogue::Catalogue, unit::UnitPath};

/// One thing wrong with a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// Dotted path of the field, e.g. `counts.services.skck` or `location.lat`.
    pub path: String,
    pub message: String,
}

impl Problem {
    pub fn new(path: &str, message: &str) -> Self {
        Self {
            path: path.to_owned(),
            message: message.to_owned(),
        }
    }

    /// `path: message; path: message` for one-line error messages.
    pub fn join(problems: &[Problem]) -> String {
        problems
            .iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

pub const MAX_TITLE: usize = 200;
pub const MAX_NARRATIVE: usize = 20_000;
pub const MAX_PLACE: usize = 200;
pub const MAX_COUNT: u64 = 1_000_000;
pub const MAX_COMMENT: usize = 5_000;
/// Camera, software and perceptual hash of a photo: a few dozen characters when honest.
pub const MAX_PHOTO_TEXT: usize = 200;
/// Device clocks drift and time zones get mis-set; a day of slack catches real mistakes without
/// refusing honest records.
const CLOCK_SLACK: SignedDuration = SignedDuration::from_hours(24);

/// Checks `record` against the catalogue; `now` is the checker's clock, used to refuse records
/// that claim to come from the future.
pub fn validate(record: &Record, catalogue: &Catalogue, now: Timestamp) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut bad = |path: &str, message: &str| out.push(Problem::new(path, message));

    if record.schema == 0 || record.schema > SCHEMA_VERSION * 1000 {
        bad("schema", "missing or unknown schema version");
    }
    if let Err(e) = UnitPath::parse(&record.unit) {
        bad("unit", &e.to_string());
    }
    let nrp_ok = (8..=18).contains(&record.officer.len())
        && record.officer.bytes().all(|b| b.is_ascii_digit());
    if !nrp_ok {
        bad(
            "officer",
            "expected the officer's NRP (8 digits) or NIP (18 digits)",
        );
    }
    if catalogue.activity_kind(&record.kind).is_none() {
        bad(
            "kind",
            "unknown activity kind; `bukti kinds` or GET /api/v1/catalogue lists them",
        );
    }
    if record.title.trim().is_empty() {
        bad("title", "required");
    } else if record.title.chars().count() > MAX_TITLE {
        bad("title", &format!("longer than {MAX_TITLE} characters"));
    }
    if record.narrative.chars().count() > MAX_NARRATIVE {
        bad(
            "narrative",
            &format!("longer than {MAX_NARRATIVE} characters"),
        );
    }
    if record.place.chars().count() > MAX_PLACE {
        bad("place", &format!("longer than {MAX_PLACE} characters"));
    }
    for (path, text, multiline) in [
        ("title", &record.title, false),
        ("narrative", &record.narrative, true),
        ("place", &record.place, false),
    ] {
        if let Some(why) = text_problem(text, multiline) {
            bad(path, why);
        }
    }
    let latest = now + CLOCK_SLACK;
    for (path, t) in [
        ("captured_at", Some(record.captured_at)),
        ("started_at", record.started_at),
        ("ended_at", record.ended_at),
    ] {
        if t.is_some_and(|t| t > latest) {
            bad(path, "lies in the future; check the device clock");
        }
        if t.is_some_and(|t| t.as_millisecond() < super::contract::EARLIEST_TIME_MS) {
            bad(
                path,
                "lies before 2000-01-01: times are milliseconds since 1970-01-01 UTC, not \
                 seconds (in JavaScript a Date object, or Date.now())",
            );
        }
    }
    if let (Some(s), Some(e)) = (record.started_at, record.ended_at)
        && e < s
    {
        bad("ended_at", "before started_at");
    }
    if let Some(loc) = &record.location {
        if !(-90.0..=90.0).contains(&loc.lat) {
            bad("location.lat", "must be between -90 and 90");
        }
        if !(-180.0..=180.0).contains(&loc.lon) {
            bad("location.lon", "must be between -180 and 180");
        }
        if loc
            .accuracy_m
            .is_some_and(|a| !(0.0..=100_000.0).contains(&a))
        {
            bad("location.accuracy_m", "must be between 0 and 100000 metres");
        }
        if !["gps", "network", "manual"].contains(&loc.source.as_str()) {
            bad("location.source", "expected gps, network or manual");
        }
    }
    for (path, n) in [
        ("counts.people_served", record.counts.people_served),
        ("counts.participants", record.counts.participants),
    ] {
        if n.is_some_and(|n| n > MAX_COUNT) {
            bad(path, "implausibly large");
        }
    }
    for (code, n) in &record.counts.services {
        let path = format!("counts.services.{code}");
        if catalogue.service_type(code).is_none() {
            bad(
                &path,
                "unknown service type; `bukti kinds` or GET /api/v1/catalogue lists them",
            );
        }
        if *n > MAX_COUNT {
            bad(&path, "implausibly large");
        }
    }
    for code in &record.lke {
        if catalogue.sub_indicator(code).is_none() {
            bad(
                &format!("lke.{code}"),
                "unknown LKE sub-indicator code; GET /api/v1/catalogue lists them",
            );
        }
    }
    for (hash, photo) in &record.photos {
        let path = format!("photos.{hash}");
        if !is_sha256_hex(hash) {
            bad(
                &path,
                "key must be the SHA-256 of the photo in lowercase hex",
            );
        }
        for (key, text) in [
            ("camera", &photo.camera),
            ("software", &photo.software),
            ("phash", &photo.phash),
        ] {
            if text.chars().count() > MAX_PHOTO_TEXT {
                bad(
                    &format!("{path}.{key}"),
                    &format!("longer than {MAX_PHOTO_TEXT} characters"),
                );
            } else if let Some(why) = text_problem(text, false) {
                bad(&format!("{path}.{key}"), why);
            }
        }
        if !["camera", "gallery"].contains(&photo.source.as_str()) {
            bad(&format!("{path}.source"), "expected camera or gallery");
        }
        if !["image/jpeg", "image/png"].contains(&photo.content_type.as_str()) {
            bad(
                &format!("{path}.content_type"),
                "expected image/jpeg or image/png",
            );
        }
        if photo
            .gps
            .as_ref()
            .is_some_and(|g| !(-90.0..=90.0).contains(&g.lat) || !(-180.0..=180.0).contains(&g.lon))
        {
            bad(&format!("{path}.gps"), "coordinates out of range");
        }
        for (key, rendition) in [
            ("derivative", &photo.derivative),
            ("thumbnail", &photo.thumbnail),
        ] {
            if rendition
                .as_ref()
                .is_some_and(|r| !is_sha256_hex(&r.hash) || r.width == 0 || r.height == 0)
            {
                bad(
                    &format!("{path}.{key}"),
                    "needs a lowercase SHA-256 hash and non-zero dimensions",
                );
            }
        }
    }
    if record.status == Status::Submitted {
        if record.started_at.is_none() {
            bad("started_at", "required before submitting");
        }
        if record.location.is_none() && record.place.trim().is_empty() {
            bad(
                "location",
                "a location or a place name is required before submitting",
            );
        }
    }
    for (i, c) in record.review.comments.iter().enumerate() {
        let path = format!("review.comments[{i}]");
        if c.text.trim().is_empty() || c.author.is_empty() || c.id.is_empty() {
            bad(&path, "a comment needs an id, an author and text");
        }
        if c.text.chars().count() > MAX_COMMENT {
            bad(&path, &format!("longer than {MAX_COMMENT} characters"));
        }
        for (text, multiline) in [(&c.text, true), (&c.author, false), (&c.id, false)] {
            if let Some(why) = text_problem(text, multiline) {
                bad(&path, why);
            }
        }
    }
    let rv = &record.review;
    for (path, text) in [
        ("review.verdict_by", &rv.verdict_by),
        ("review.ready_by", &rv.ready_by),
        ("review.forwarded_by", &rv.forwarded_by),
    ] {
        if let Some(why) = text.as_deref().and_then(|t| text_problem(t, false)) {
            bad(path, why);
        }
    }
    if let Some(reason) = &rv.verdict_reason {
        if reason.chars().count() > MAX_COMMENT {
            bad(
                "review.verdict_reason",
                &format!("longer than {MAX_COMMENT} characters"),
            );
        } else if let Some(why) = text_problem(reason, true) {
            bad("review.verdict_reason", why);
        }
    }
    out
}

/// Why `text` cannot be stored as evidence text, if it cannot: a NUL character (PostgreSQL
/// refuses it, and it cuts strings short in many readers) or other control characters (which
/// hide text on screens and in exports). Line breaks and tabs are fine where text is multi-line.
pub fn text_problem(text: &str, multiline: bool) -> Option<&'static str> {
    if text.contains('\0') {
        return Some("contains a NUL character (U+0000), which cannot be stored; remove it");
    }
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    text.chars()
        .any(|c| c.is_control() && !allowed(c))
        .then_some("contains control characters; remove them")
}

/// Whether `s` is a SHA-256 digest written as 64 lowercase hex digits: the only form a content
/// address takes anywhere in Bukti (it also keeps such strings safe to use in paths).
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Location;

    fn valid() -> Record {
        let mut r = Record::new(
            "bali/buleleng/sawan",
            "87010123",
            "pelayanan-skck",
            "Pelayanan SKCK keliling",
        );
        r.started_at = Some(r.captured_at);
        r.location = Some(Location {
            lat: -8.1,
            lon: 115.1,
            accuracy_m: Some(5.0),
            source: "gps".into(),
        });
        r.counts.services.insert("skck".into(), 4);
        r.lke.insert("PP.P2".into());
        r.status = Status::Submitted;
        r
    }

    #[test]
    fn a_complete_record_is_valid() {
        assert_eq!(
            validate(&valid(), Catalogue::builtin(), Timestamp::now()),
            vec![]
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let mut r = valid();
        r.unit = "Polsek Sawan".into();
        r.officer = "abc".into();
        r.kind = "karaoke".into();
        r.title = " ".into();
        r.started_at = None;
        r.location = Some(Location {
            lat: 91.0,
            lon: 0.0,
            accuracy_m: None,
            source: "guess".into(),
        });
        r.counts.services.insert("pizza".into(), 1);
        r.lke.insert("XX.P9".into());
        let paths: Vec<String> = validate(&r, Catalogue::builtin(), Timestamp::now())
            .into_iter()
            .map(|p| p.path)
            .collect();
        for expected in [
            "unit",
            "officer",
            "kind",
            "title",
            "started_at",
            "location.lat",
            "location.source",
            "counts.services.pizza",
            "lke.XX.P9",
        ] {
            assert!(
                paths.iter().any(|p| p == expected),
                "missing {expected} in {paths:?}"
            );
        }
    }

    #[test]
    fn records_from_the_future_are_refused() {
        let mut r = valid();
        r.captured_at = Timestamp::now() + SignedDuration::from_hours(72);
        let problems = validate(&r, Catalogue::builtin(), Timestamp::now());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].path, "captured_at");
    }
}
