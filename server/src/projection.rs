//! The relational projection of a record: the columns HQ filters and sorts by, derived from the
//! document alone so it can always be rebuilt from the documents.

use bukti_core::{Record, catalogue::lke_area_of};

#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    pub unit: String,
    pub officer: String,
    pub kind: String,
    pub title: String,
    pub status: &'static str,
    pub verdict: Option<&'static str>,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub captured_at: i64,
    pub activity_at: i64,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub place: String,
    /// `(code, area)` for each LKE tag.
    pub lke: Vec<(String, String)>,
}

impl Projection {
    pub fn of(record: &Record) -> Self {
        let started_at = record.started_at.map(|t| t.as_millisecond());
        let captured_at = record.captured_at.as_millisecond();
        Self {
            unit: record.unit.clone(),
            officer: record.officer.clone(),
            kind: record.kind.clone(),
            title: record.title.clone(),
            status: record.status.as_str(),
            verdict: record.review.verdict.map(|v| v.as_str()),
            started_at,
            ended_at: record.ended_at.map(|t| t.as_millisecond()),
            captured_at,
            activity_at: started_at.unwrap_or(captured_at),
            lat: record.location.as_ref().map(|l| l.lat),
            lon: record.location.as_ref().map(|l| l.lon),
            place: record.place.clone(),
            lke: record
                .lke
                .iter()
                .map(|code| (code.clone(), lke_area_of(code).to_owned()))
                .collect(),
        }
    }
}
