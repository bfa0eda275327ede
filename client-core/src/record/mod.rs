//! The activity record: what an officer captured (who, what, when, where, how many, which LKE
//! indicators it evidences, which photos) plus the review section HQ fills in.
//!
//! The Automerge document is the truth; [`Record`] is the typed view of it. [`doc`] reads the
//! view out of a document and writes edits back as the smallest change that expresses them, so
//! that concurrent edits of different fields merge and fields this version does not know survive.
//! [`validate`] checks a view and reports every problem with its path.
//!
//! Field types were chosen for how they merge and what they cost: the narrative is a plain string
//! (last writer wins on concurrent rewrites) rather than Automerge `Text`, because `Text` costs
//! about five times as much to receive and save (≈190 µs against ≈40 µs per record) and a record's
//! narrative is written by one officer; counts are per-key registers so that one device's
//! correction of a count never doubles another's; LKE tags and photos are maps keyed by code and
//! hash so concurrent additions are a set union.

pub mod contract;
pub mod doc;
mod read;
pub mod schema;
pub mod validate;
pub mod workflow;
mod write;

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::RecordId;

pub use doc::{DocError, RecordDoc};
pub use validate::{Problem, is_sha256_hex, validate};

/// The schema version this build writes. Readers accept documents from newer writers: fields they
/// do not know are left untouched.
pub const SCHEMA_VERSION: u64 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Record {
    pub id: RecordId,
    pub schema: u64,
    /// Unit path of the unit the record was captured in, e.g. `bali/buleleng/sawan`.
    pub unit: String,
    /// NRP of the officer who captured it.
    pub officer: String,
    /// Activity kind code from the catalogue.
    pub kind: String,
    pub title: String,
    pub narrative: String,
    pub started_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    /// When the device created the record, by the device clock.
    pub captured_at: Timestamp,
    pub location: Option<Location>,
    pub place: String,
    pub counts: Counts,
    /// LKE sub-indicator codes this activity evidences (`PW.P3`, …).
    pub lke: BTreeSet<String>,
    /// Photos by SHA-256 of the original bytes (hex).
    pub photos: BTreeMap<String, PhotoRef>,
    pub status: Status,
    pub review: Review,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy radius in metres, as the positioning source reported it.
    pub accuracy_m: Option<f64>,
    /// `gps`, `network` or `manual`.
    pub source: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Counts {
    pub people_served: Option<u64>,
    pub participants: Option<u64>,
    /// Services delivered, by service type code (`skck` → 3).
    pub services: BTreeMap<String, u64>,
}

/// A photo referred to by the SHA-256 of its original bytes (the key in [`Record::photos`]);
/// the bytes travel separately. Written once at capture: it binds the photo's content, its
/// camera metadata and its smaller renditions to the record, so tampering with any shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhotoRef {
    /// Size of the original in bytes.
    pub size: u64,
    /// `image/jpeg` or `image/png`.
    pub content_type: String,
    /// `camera` (taken in the app) or `gallery` (imported; weaker evidence).
    pub source: String,
    /// EXIF time the photo was taken (with its offset when the camera recorded one).
    pub taken_at: Option<Timestamp>,
    /// EXIF GPS position, when the camera recorded one.
    pub gps: Option<PhotoGps>,
    /// EXIF make and model, e.g. `samsung SM-A045F`; empty when absent.
    pub camera: String,
    /// EXIF software tag; editing software here is worth a reviewer's look.
    pub software: String,
    /// The display JPEG (long edge ≤ 1600 px, no EXIF) HQ sees.
    pub derivative: Option<Rendition>,
    /// The list thumbnail (≤ 320 px, no EXIF).
    pub thumbnail: Option<Rendition>,
    /// 64-bit perceptual hash of the derivative (16 hex digits), to spot one photo reused as
    /// evidence of different activities.
    pub phash: String,
}

/// A smaller rendition of a photo, itself content-addressed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rendition {
    pub hash: String,
    pub size: u64,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhotoGps {
    pub lat: f64,
    pub lon: f64,
}

// Coordinates are finite by validation, so equality is an equivalence in practice.
impl Eq for PhotoGps {}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Draft,
    Submitted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Submitted => "submitted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(Status::Draft),
            "submitted" => Some(Status::Submitted),
            _ => None,
        }
    }
}

/// The part of a record only HQ writes: the two-level review (the Polsek curates and forwards,
/// the Polres gives the verdict) and the comment thread. Each step is a person's own change;
/// a field that is absent means the step was never taken, so documents written before the
/// curation steps existed read as not yet curated. [`workflow`] derives the record's state from
/// these fields and the document's history.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Review {
    pub verdict: Option<Verdict>,
    pub verdict_by: Option<String>,
    pub verdict_at: Option<Timestamp>,
    /// Why the record needs revision or was rejected (required for those two verdicts).
    pub verdict_reason: Option<String>,
    /// The Polsek operator who marked the record ready for the Kapolsek, and when.
    pub ready_by: Option<String>,
    pub ready_at: Option<Timestamp>,
    /// The Kapolsek (approver) who forwarded the record to the Polres, and when.
    pub forwarded_by: Option<String>,
    pub forwarded_at: Option<Timestamp>,
    pub comments: Vec<Comment>,
}

/// A reviewer's verdict on a record, mirroring the TPI desk evaluation (valid / perlu revisi /
/// ditolak). Documents keep `valid` (what every app version reads); the API also accepts
/// `verified`, the name of the state it leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    #[serde(alias = "verified")]
    Valid,
    NeedsRevision,
    Rejected,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::NeedsRevision => "needs_revision",
            Verdict::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "valid" => Some(Verdict::Valid),
            "needs_revision" => Some(Verdict::NeedsRevision),
            "rejected" => Some(Verdict::Rejected),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Comment {
    pub id: String,
    pub author: String,
    pub at: Timestamp,
    pub text: String,
}

/// Now, truncated to the millisecond precision documents store, so a value survives a round
/// trip through a document unchanged.
pub fn now_ms() -> Timestamp {
    Timestamp::from_millisecond(Timestamp::now().as_millisecond())
        .expect("the current time is within jiff's range")
}

impl Record {
    /// A new draft captured now by `officer` in `unit`.
    pub fn new(unit: &str, officer: &str, kind: &str, title: &str) -> Self {
        Self {
            id: RecordId::new(),
            schema: SCHEMA_VERSION,
            unit: unit.to_owned(),
            officer: officer.to_owned(),
            kind: kind.to_owned(),
            title: title.to_owned(),
            narrative: String::new(),
            started_at: None,
            ended_at: None,
            captured_at: now_ms(),
            location: None,
            place: String::new(),
            counts: Counts::default(),
            lke: BTreeSet::new(),
            photos: BTreeMap::new(),
            status: Status::Draft,
            review: Review::default(),
        }
    }
}
