//! Anomaly flags on the server: the units' areas the rules judge places against, the flags that
//! need more than one record (bursts of back-dated records), and reading a record's flags for
//! reviewers. The rules are pure ([`bukti_core::evidence::flags`]); document and push flags are
//! written with the record's projection by ingest's one write path.

use std::collections::HashMap;

use bukti_core::{
    RecordId,
    evidence::flags::{self, Area, Flag, FlagCode},
};
use jiff::Timestamp;
use serde::Serialize;

use crate::{
    service::ServiceError,
    store::{DynStore, StoreError, flags::StoredFlag, reuse::Claim},
};

/// Every unit's area, by unit path. A unit without one is judged by its nearest ancestor's.
#[derive(Debug, Clone, Default)]
pub struct UnitAreas(HashMap<String, Area>);

impl UnitAreas {
    pub async fn load(store: &DynStore) -> Result<Self, StoreError> {
        let mut out = HashMap::new();
        for (unit, geojson) in store.unit_areas().await? {
            // Areas are checked when set; one that no longer parses is skipped, not fatal to
            // every push of its unit.
            match Area::from_geojson(&geojson) {
                Ok(area) => {
                    out.insert(unit, area);
                }
                Err(e) => tracing::error!(%unit, error = %e, "stored unit area unreadable"),
            }
        }
        Ok(Self(out))
    }

    /// The area `unit` answers for: its own, or its nearest ancestor's.
    pub fn of(&self, unit: &str) -> Option<&Area> {
        let mut path = unit;
        loop {
            if let Some(area) = self.0.get(path) {
                return Some(area);
            }
            path = &path[..path.rfind('/')?];
        }
    }
}

/// What a push wrote of one record, for the checks across records.
#[derive(Debug, Clone)]
pub struct Entered {
    pub officer: String,
    /// When it was entered and when the activity began (Unix ms).
    pub captured_at: i64,
    pub activity_at: i64,
    /// The SHA-256 of each of its photos' originals.
    pub originals: Vec<String>,
}

/// After a push wrote `records`, raises what only shows across records: a photo whose original
/// another record names too (the same picture offered twice, which the upload never sees when
/// one officer reuses a photo he already sent), and, on every back-dated record of an officer
/// that is now part of a burst, the burst. Runs after the write: the flags are advice, so a
/// crash between the two loses only advice the officer's next push raises again.
pub async fn after_push(store: &DynStore, records: &[Entered]) -> Result<(), ServiceError> {
    let mut raised = shared_originals(store, records).await?;
    let window = flags::BURST_WINDOW.as_millis() as i64;
    let mut by_officer: HashMap<&str, (i64, i64)> = HashMap::new();
    for e in records {
        let (captured, c, a) = (e.captured_at, ms(e.captured_at), ms(e.activity_at));
        if flags::is_backdated(c, a) {
            let span = by_officer.entry(&e.officer).or_insert((captured, captured));
            *span = (span.0.min(captured), span.1.max(captured));
        }
    }
    let min_delay = flags::BACKDATE_AFTER.as_millis() as i64;
    for (officer, (first, last)) in by_officer {
        let around = store
            .backdated(officer, first - window, last + window, min_delay)
            .await?;
        let times: Vec<Timestamp> = around.iter().map(|(_, at)| ms(*at)).collect();
        let burst = flags::bursts(&times);
        for &i in &burst {
            let flag = Flag {
                code: FlagCode::BackdatedBurst,
                photo: None,
                amount: Some(burst.len() as f64),
                note: String::new(),
            };
            raised.push((around[i].0, flag));
        }
    }
    if !raised.is_empty() {
        store
            .raise_flags(&raised, Timestamp::now().as_millisecond())
            .await?;
    }
    Ok(())
}

/// Photos of the written records whose original another record names too.
async fn shared_originals(
    store: &DynStore,
    records: &[Entered],
) -> Result<Vec<(RecordId, Flag)>, ServiceError> {
    let hashes: Vec<String> = records.iter().flat_map(|e| e.originals.clone()).collect();
    if hashes.is_empty() {
        return Ok(Vec::new());
    }
    let mut by_hash: HashMap<String, Vec<Claim>> = HashMap::new();
    for (hash, claim) in store.originals_named(&hashes).await? {
        by_hash.entry(hash).or_default().push(claim);
    }
    Ok(by_hash.values().flat_map(|c| exact_copies(c)).collect())
}

/// One picture, the same bytes, named by photos of two records: reused as it is. Each record
/// is flagged, pointing at the other.
pub fn exact_copies(claims: &[Claim]) -> Vec<(RecordId, Flag)> {
    let mut out = Vec::new();
    for a in claims {
        for b in claims.iter().filter(|b| b.record != a.record) {
            let note = b.record.to_string();
            out.push((
                a.record,
                Flag::photo(FlagCode::PhotoReused, &a.photo, None, &note),
            ));
        }
    }
    out
}

fn ms(at: i64) -> Timestamp {
    Timestamp::from_millisecond(at).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// One flag as reviewers and API clients see it: what, about which photo, since when, and why
/// in plain words.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FlagView {
    /// The flag code, e.g. `photo_reused` (the list's `flag` filter takes it).
    pub code: String,
    /// A strong sign of fabrication rather than a reason to look.
    pub serious: bool,
    /// The photo (SHA-256 of its original) it is about; absent for the record as a whole.
    pub photo: Option<String>,
    pub amount: Option<f64>,
    pub note: String,
    #[serde(with = "bukti_core::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub raised_at: i64,
    pub label: String,
    pub label_en: String,
    /// The explanation in Bahasa Indonesia.
    pub explanation: String,
    pub explanation_en: String,
}

impl FlagView {
    fn of(stored: StoredFlag) -> Self {
        let f = stored.flag;
        Self {
            code: f.code.as_str().to_owned(),
            serious: f.code.is_serious(),
            label: f.code.label(false).to_owned(),
            label_en: f.code.label(true).to_owned(),
            explanation: f.explain(false),
            explanation_en: f.explain(true),
            photo: f.photo,
            amount: f.amount,
            note: f.note,
            raised_at: stored.raised_at,
        }
    }
}

/// A record's flags for its reviewers, serious ones first.
pub async fn of_record(store: &DynStore, id: RecordId) -> Result<Vec<FlagView>, ServiceError> {
    Ok(store
        .record_flags(id)
        .await?
        .into_iter()
        .map(FlagView::of)
        .collect())
}
