//! The relational projection of a record: the columns HQ filters and sorts by, derived from the
//! document alone so it can always be rebuilt from the documents.

use bukti_core::{
    Record,
    catalogue::lke_area_of,
    evidence::flags::{self, Area, Flag},
    record::workflow::State,
};

#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    pub unit: String,
    pub officer: String,
    pub kind: String,
    pub title: String,
    /// Not a column of `record`: only the full-text index holds it ([`crate::store::search`]).
    pub narrative: String,
    pub status: &'static str,
    pub verdict: Option<&'static str>,
    /// The review workflow's state, derived from the document with its history
    /// ([`bukti_core::record::workflow`]).
    pub state: &'static str,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub captured_at: i64,
    pub activity_at: i64,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub place: String,
    /// `(code, area)` for each LKE tag.
    pub lke: Vec<(String, String)>,
    /// Every blob the record's photos refer to: original, derivative and thumbnail.
    pub photos: Vec<PhotoBlob>,
    /// Anomaly flags: the document's own, recomputed with each version, plus any the write
    /// that carries it raised on arrival ([`flags::on_arrival`]).
    pub flags: Vec<Flag>,
}

/// One rendition of one photo, as the `record_photo` table holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoBlob {
    /// The photo's key in the record (SHA-256 of the original).
    pub photo: String,
    pub role: PhotoRole,
    /// SHA-256 of this rendition's bytes.
    pub hash: String,
    pub size: u64,
    pub content_type: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoRole {
    Original,
    Derivative,
    Thumbnail,
}

impl PhotoRole {
    pub fn as_str(self) -> &'static str {
        match self {
            PhotoRole::Original => "original",
            PhotoRole::Derivative => "derivative",
            PhotoRole::Thumbnail => "thumbnail",
        }
    }
}

/// Derivatives and thumbnails are always JPEG (see [`bukti_core::record::PhotoRef`]).
const RENDITION_TYPE: &str = "image/jpeg";

fn photo_blobs(record: &Record) -> Vec<PhotoBlob> {
    let mut out = Vec::new();
    for (key, photo) in &record.photos {
        out.push(PhotoBlob {
            photo: key.clone(),
            role: PhotoRole::Original,
            hash: key.clone(),
            size: photo.size,
            content_type: photo.content_type.clone(),
        });
        let renditions = [
            (PhotoRole::Derivative, &photo.derivative),
            (PhotoRole::Thumbnail, &photo.thumbnail),
        ];
        for (role, rendition) in renditions {
            if let Some(r) = rendition {
                out.push(PhotoBlob {
                    photo: key.clone(),
                    role,
                    hash: r.hash.clone(),
                    size: r.size,
                    content_type: RENDITION_TYPE.to_owned(),
                });
            }
        }
    }
    out
}

impl Projection {
    /// The projection of `record`, whose document is in workflow `state`
    /// (`bukti_core::record::workflow::derive`), for a unit with no area set up.
    pub fn of(record: &Record, state: State) -> Self {
        Self::in_area(record, state, None)
    }

    /// The projection of `record` in a unit whose area is `area`: what every write stores.
    pub fn in_area(record: &Record, state: State, area: Option<&Area>) -> Self {
        let started_at = record.started_at.map(|t| t.as_millisecond());
        let captured_at = record.captured_at.as_millisecond();
        Self {
            unit: record.unit.clone(),
            officer: record.officer.clone(),
            kind: record.kind.clone(),
            title: record.title.clone(),
            narrative: record.narrative.clone(),
            status: record.status.as_str(),
            verdict: record.review.verdict.map(|v| v.as_str()),
            state: state.as_str(),
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
            photos: photo_blobs(record),
            flags: flags::document(record, area),
        }
    }
}
