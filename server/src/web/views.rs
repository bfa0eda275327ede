//! What the templates show, made ready: the list's filter form and its rows, and one record
//! with its photos, history and comments, every time in the unit's zone (WITA for Bali).

use bukti_core::{catalogue::Catalogue, evidence::flags::FlagCode, unit::IndonesianZone};
use jiff::{Timestamp, civil::Date};
use serde::Deserialize;

use super::{encode_query_value, i18n::Texts};
use crate::{
    api::records::RecordView,
    error::ApiError,
    flags::FlagView,
    store::{ListFilter, RecordSummary},
};

/// The list page's filters as the form sends them (empty means "any").
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FilterForm {
    pub unit: String,
    pub kind: String,
    pub status: String,
    pub verdict: String,
    /// The review stage (`captured`, `ready`, `forwarded`, …).
    pub state: String,
    pub officer: String,
    pub lke_area: String,
    /// Dates (`YYYY-MM-DD`) in the unit's zone, both days included.
    pub from: String,
    pub to: String,
    /// Words to find in the title, place and narrative.
    pub q: String,
    /// `with` or `without` photos.
    pub photos: String,
    /// `any` anomaly flag, or one flag code.
    pub flag: String,
    /// `-started_at` (the default), `captured_at`, `title`, … (see the list's `sort`).
    pub sort: String,
    pub cursor: String,
}

fn some(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

impl FilterForm {
    /// The store's filter: dates become the first and last millisecond of those days in `zone`.
    pub fn to_list_filter(&self, zone: IndonesianZone) -> Result<ListFilter, ApiError> {
        let day_start = |name: &str, value: &str, days: i64| -> Result<Option<i64>, ApiError> {
            let Some(v) = some(value) else {
                return Ok(None);
            };
            let date: Date = v.parse().map_err(|_| {
                ApiError::BadRequest(format!("{name} must be a date such as 2026-11-30"))
            })?;
            let start = date
                .checked_add(jiff::Span::new().days(days))
                .and_then(|d| d.to_zoned(zone.time_zone()))
                .map_err(|_| ApiError::BadRequest(format!("{name} is out of range")))?;
            Ok(Some(start.timestamp().as_millisecond()))
        };
        Ok(ListFilter {
            unit: some(&self.unit),
            kind: some(&self.kind),
            status: some(&self.status),
            verdict: some(&self.verdict),
            state: some(&self.state),
            officer: some(&self.officer),
            lke_area: some(&self.lke_area),
            from_ms: day_start("from", &self.from, 0)?,
            to_ms: day_start("to", &self.to, 1)?.map(|end| end - 1),
            q: some(&self.q),
            photos: some(&self.photos),
            flag: some(&self.flag),
            sort: some(&self.sort),
            cursor: some(&self.cursor),
            ..ListFilter::default()
        })
    }

    /// The filters other than the period, as query pairs.
    fn pairs(&self) -> Vec<(&'static str, String)> {
        [
            ("unit", &self.unit),
            ("kind", &self.kind),
            ("status", &self.status),
            ("verdict", &self.verdict),
            ("state", &self.state),
            ("officer", &self.officer),
            ("lke_area", &self.lke_area),
            ("q", &self.q),
            ("photos", &self.photos),
            ("flag", &self.flag),
            ("sort", &self.sort),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k, v.trim().to_owned()))
        .collect()
    }

    fn query(pairs: &[(&str, String)]) -> String {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", encode_query_value(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// This page's URL with `cursor` for the next page.
    pub fn with_cursor(&self, cursor: &str) -> String {
        let mut pairs = self.pairs();
        pairs.extend([("from", self.from.clone()), ("to", self.to.clone())]);
        pairs.retain(|(_, v)| !v.is_empty());
        pairs.push(("cursor", cursor.to_owned()));
        format!("/records?{}", Self::query(&pairs))
    }

    /// The export of these filters in `format` (`csv` or `geojson`): the API takes the period
    /// as RFC 3339 instants, so the dates become the unit's local midnights.
    pub fn export_url(&self, format: &str, zone: IndonesianZone) -> Result<String, ApiError> {
        let filter = self.to_list_filter(zone)?;
        let mut pairs = self.pairs();
        let instant = |ms: i64| Timestamp::from_millisecond(ms).map(|t| t.to_string()).ok();
        pairs.extend(filter.from_ms.and_then(instant).map(|t| ("from", t)));
        pairs.extend(filter.to_ms.and_then(instant).map(|t| ("to", t)));
        Ok(format!(
            "/api/v1/exports/records.{format}?{}",
            Self::query(&pairs)
        ))
    }
}

fn local(zone: IndonesianZone, ms: i64) -> String {
    Timestamp::from_millisecond(ms).map_or_else(|_| "?".to_owned(), |t| zone.format(t))
}

fn kind_name(code: &str) -> String {
    Catalogue::builtin()
        .activity_kind(code)
        .map_or_else(|| code.to_owned(), |k| k.name.clone())
}

/// One line of the record list.
#[derive(Debug)]
pub struct RecordRow {
    pub id: String,
    pub title: String,
    pub kind: String,
    pub unit: String,
    pub officer: String,
    pub verdict: String,
    pub verdict_code: String,
    pub captured: String,
    /// Short names of its anomaly flags.
    pub flags: Vec<&'static str>,
}

impl RecordRow {
    pub fn of(s: &RecordSummary, zone: IndonesianZone, t: &Texts) -> Self {
        let verdict_code = s.verdict.clone().unwrap_or_default();
        RecordRow {
            id: s.id.to_string(),
            title: s.title.clone(),
            kind: kind_name(&s.kind),
            unit: s.unit.clone(),
            officer: s.officer.clone(),
            verdict: t.verdict_label(&verdict_code).to_owned(),
            verdict_code,
            captured: local(zone, s.captured_at),
            flags: s
                .flags
                .iter()
                .filter_map(|c| FlagCode::parse(c))
                .map(|c| c.label(t.english))
                .collect(),
        }
    }
}

/// A photo on the record page: its thumbnail or display copy when the bytes arrived.
#[derive(Debug)]
pub struct PhotoItem {
    pub src: Option<String>,
    pub full: Option<String>,
    pub taken: String,
    pub camera: String,
}

#[derive(Debug)]
pub struct HistoryItem {
    pub when: String,
    pub who: String,
    pub actor: String,
    pub fields: String,
}

#[derive(Debug)]
pub struct CommentItem {
    pub who: String,
    pub when: String,
    pub text: String,
}

/// One record as its page shows it.
#[derive(Debug)]
pub struct RecordDetail {
    pub id: String,
    pub title: String,
    pub kind: String,
    pub unit: String,
    pub officer: String,
    pub status: String,
    pub state: String,
    pub state_code: String,
    pub edited_after_verdict: Vec<String>,
    pub lke_codes: String,
    pub verdict: String,
    pub verdict_code: String,
    pub started: String,
    pub captured: String,
    pub place: String,
    pub location: Option<String>,
    pub narrative: String,
    pub lke: Vec<String>,
    pub services: Vec<String>,
    pub people_served: Option<u64>,
    pub photos: Vec<PhotoItem>,
    pub history: Vec<HistoryItem>,
    pub comments: Vec<CommentItem>,
    pub flags: Vec<FlagItem>,
}

/// An anomaly flag on the record page.
#[derive(Debug)]
pub struct FlagItem {
    pub code: String,
    pub serious: bool,
    pub label: String,
    pub explanation: String,
    /// The first digits of the photo's hash, to find it among the photos.
    pub photo: String,
}

impl FlagItem {
    fn of(f: &FlagView, english: bool) -> Self {
        let pick = |id: &String, en: &String| if english { en.clone() } else { id.clone() };
        Self {
            code: f.code.clone(),
            serious: f.serious,
            label: pick(&f.label, &f.label_en),
            explanation: pick(&f.explanation, &f.explanation_en),
            photo: f
                .photo
                .as_deref()
                .map(|p| p[..p.len().min(12)].to_owned())
                .unwrap_or_default(),
        }
    }
}

impl RecordDetail {
    pub fn of(view: &RecordView, zone: IndonesianZone, t: &Texts) -> Self {
        let r = &view.record;
        let verdict_code = r
            .review
            .verdict
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default();
        let blob = |hash: &str| format!("/api/v1/blobs/{hash}");
        RecordDetail {
            id: r.id.to_string(),
            title: r.title.clone(),
            kind: kind_name(&r.kind),
            unit: r.unit.clone(),
            officer: r.officer.clone(),
            status: r.status.as_str().to_owned(),
            state: t.state_label(view.workflow.state.as_str()).to_owned(),
            state_code: view.workflow.state.as_str().to_owned(),
            edited_after_verdict: view.workflow.edited_after_verdict.clone(),
            lke_codes: r.lke.iter().cloned().collect::<Vec<_>>().join(" "),
            verdict: t.verdict_label(&verdict_code).to_owned(),
            verdict_code,
            started: r.started_at.map(|s| zone.format(s)).unwrap_or_default(),
            captured: zone.format(r.captured_at),
            place: r.place.clone(),
            location: r.location.as_ref().map(|l| {
                let accuracy = l
                    .accuracy_m
                    .map(|a| format!(" ± {a:.0} m"))
                    .unwrap_or_default();
                format!("{:.5}, {:.5}{accuracy} ({})", l.lat, l.lon, l.source)
            }),
            narrative: r.narrative.clone(),
            lke: r.lke.iter().cloned().collect(),
            services: r
                .counts
                .services
                .iter()
                .map(|(code, n)| format!("{code}: {n}"))
                .collect(),
            people_served: r.counts.people_served,
            photos: view
                .photos
                .iter()
                .map(|p| PhotoItem {
                    src: p
                        .photo
                        .thumbnail
                        .as_ref()
                        .filter(|_| p.thumbnail_arrived)
                        .map(|r| blob(&r.hash)),
                    full: p
                        .photo
                        .derivative
                        .as_ref()
                        .filter(|_| p.derivative_arrived)
                        .map(|r| blob(&r.hash)),
                    taken: p
                        .photo
                        .taken_at
                        .map(|at| zone.format(at))
                        .unwrap_or_default(),
                    camera: p.photo.camera.clone(),
                })
                .collect(),
            history: view
                .history
                .iter()
                .map(|h| HistoryItem {
                    when: local(zone, h.at_ms),
                    who: h.author.clone().unwrap_or_default(),
                    actor: h.actor.chars().take(12).collect(),
                    fields: h.fields.join(", "),
                })
                .collect(),
            comments: r
                .review
                .comments
                .iter()
                .map(|c| CommentItem {
                    who: c.author.clone(),
                    when: zone.format(c.at),
                    text: c.text.clone(),
                })
                .collect(),
            flags: view
                .flags
                .iter()
                .map(|f| FlagItem::of(f, t.english))
                .collect(),
        }
    }
}
