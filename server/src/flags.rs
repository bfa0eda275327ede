//! Anomaly flags on the server: the units' areas the rules judge places against, and reading a
//! record's flags for reviewers. The rules are pure ([`bukti_core::evidence::flags`]); document
//! and push flags are written with the record's projection by ingest's one write path, and the
//! flags across records (bursts, one picture offered twice) in the same transaction
//! ([`crate::store::flags`]).

use std::collections::HashMap;

use bukti_core::{RecordId, evidence::flags::Area};
use serde::Serialize;

use crate::{
    service::ServiceError,
    store::{DynStore, StoreError, flags::StoredFlag},
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
