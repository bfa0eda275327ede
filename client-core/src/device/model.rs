//! The plain data the device façade takes and gives: what an officer captures, how records are
//! listed, and what the device reports about its registration and sync state.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::Serialize;

use crate::{
    RecordId,
    catalogue::Catalogue,
    record::{Location, Record, Status},
};

/// Everything an officer sets when capturing an activity. Unit, officer and capture time come
/// from the device.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Capture {
    /// Activity kind code (`bukti kinds` lists them).
    pub kind: String,
    pub title: String,
    pub narrative: String,
    pub started_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    pub location: Option<Location>,
    pub place: String,
    pub people_served: Option<u64>,
    pub participants: Option<u64>,
    /// Services delivered, by service type code.
    pub services: BTreeMap<String, u64>,
    /// LKE sub-indicator codes; empty means the kind's usual ones from the catalogue.
    pub lke: BTreeSet<String>,
    /// Submit for review now rather than keep as a draft.
    pub submit: bool,
}

impl Capture {
    /// The new record this capture describes, captured now by `officer` in `unit`.
    pub fn into_record(self, unit: &str, officer: &str, catalogue: &Catalogue) -> Record {
        let mut record = Record::new(unit, officer, &self.kind, &self.title);
        record.narrative = self.narrative;
        record.started_at = self.started_at;
        record.ended_at = self.ended_at;
        record.location = self.location;
        record.place = self.place;
        record.counts.people_served = self.people_served;
        record.counts.participants = self.participants;
        record.counts.services = self.services;
        record.lke = if self.lke.is_empty() {
            catalogue
                .activity_kind(&self.kind)
                .map(|k| k.default_lke.iter().cloned().collect())
                .unwrap_or_default()
        } else {
            self.lke
        };
        if self.submit {
            record.status = Status::Submitted;
        }
        record
    }
}

/// One line of the record list, read from the store's projection (no document is loaded).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordSummary {
    pub id: RecordId,
    pub unit: String,
    pub officer: String,
    pub kind: String,
    pub title: String,
    /// `draft` or `submitted`.
    pub status: String,
    /// HQ's verdict, once reviewed.
    pub verdict: Option<String>,
    /// Where the record stands in the review workflow: `captured`, `ready`, `forwarded`,
    /// `verified`, `needs_revision`, `revised` or `rejected`.
    pub state: String,
    pub started_at: Option<Timestamp>,
    pub captured_at: Timestamp,
    /// Last time this device wrote the record (capture, edit or merge).
    pub updated_at: Timestamp,
    pub sync: SyncState,
}

/// Whether the server has everything this device has of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SyncState {
    Synced,
    /// Queued for the next sync; `last_error` says why an earlier attempt did not finish.
    Waiting {
        last_error: Option<String>,
    },
    /// Refused by the server for a reason retrying cannot fix; held until the record is edited.
    Held {
        code: String,
        reason: String,
    },
}

/// A record the server refused, parked until the officer fixes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldRecord {
    pub id: RecordId,
    pub title: String,
    pub code: String,
    pub reason: String,
}

/// The credential a registration produced (the token stays in the store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Registration {
    pub server_url: String,
    pub device_id: uuid::Uuid,
    pub officer: String,
    pub unit: String,
    pub device_name: String,
    /// The Automerge actor id (hex) every change from this device carries.
    pub actor_id: String,
}

/// What a device holds and what it has not yet synced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceStatus {
    /// `None` until `bukti enroll`.
    pub registration: Option<Registration>,
    pub records_total: u64,
    /// Records with changes the server has not acknowledged (not counting held ones).
    pub waiting: u64,
    pub held: Vec<HeldRecord>,
    pub pull_cursor: i64,
    pub last_sync_at: Option<Timestamp>,
    /// Photo bytes the server does not have yet.
    pub photos: super::PhotoStatus,
}
