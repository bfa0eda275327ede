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
    pub id: RecordId,
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
    let mut by_officer: HashMap<&str, Vec<(RecordId, i64)>> = HashMap::new();
    for e in records {
        if flags::is_backdated(ms(e.captured_at), ms(e.activity_at)) {
            by_officer
                .entry(&e.officer)
                .or_default()
                .push((e.id, e.captured_at));
        }
    }
    let window = flags::BURST_WINDOW.as_millis() as i64;
    for (officer, new) in by_officer {
        let around = store.backdated_around(officer, &new, window).await?;
        raised.extend(burst_flags(new, around));
    }
    if !raised.is_empty() {
        store
            .raise_flags(&raised, Timestamp::now().as_millisecond())
            .await?;
    }
    Ok(())
}

/// The burst flags a push's back-dated records `new` raise, given `around`: the officer's
/// back-dated records nearest each of them ([`crate::store::flags::AROUND`] a side, the new
/// ones among them). Reading no more is enough: five records within the hour that include one
/// just written are all within four places of it in entry order, so every record the push
/// brings into a burst, new or earlier, is found; one already in a burst without the push was
/// flagged when it got there. The amount is how many of the records looked at are in bursts.
fn burst_flags(new: Vec<(RecordId, i64)>, around: Vec<(RecordId, i64)>) -> Vec<(RecordId, Flag)> {
    let mut points = new;
    points.extend(around);
    points.sort_unstable();
    points.dedup();
    let times: Vec<Timestamp> = points.iter().map(|(_, at)| ms(*at)).collect();
    let burst = flags::bursts(&times);
    let flag = Flag {
        code: FlagCode::BackdatedBurst,
        photo: None,
        amount: Some(burst.len() as f64),
        note: String::new(),
    };
    burst
        .into_iter()
        .map(|i| (points[i].0, flag.clone()))
        .collect()
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;
    use crate::store::flags::AROUND;

    /// What `backdated_around` reads, over records held in memory: the [`AROUND`] nearest on
    /// each side of each point in (entry time, id) order, within `window`.
    fn around(
        all: &[(RecordId, i64)],
        points: &[(RecordId, i64)],
        window: i64,
    ) -> Vec<(RecordId, i64)> {
        let mut sorted: Vec<(i64, RecordId)> = all.iter().map(|&(id, at)| (at, id)).collect();
        sorted.sort_unstable();
        let mut out = Vec::new();
        for &(id, at) in points {
            let pos = sorted.partition_point(|&p| p < (at, id));
            let before = sorted[..pos]
                .iter()
                .rev()
                .take_while(|p| p.0 >= at - window);
            let after = sorted[pos + 1..].iter().take_while(|p| p.0 <= at + window);
            out.extend(
                before
                    .take(AROUND)
                    .chain(after.take(AROUND))
                    .map(|&(t, i)| (i, t)),
            );
        }
        out
    }

    fn in_burst(points: &[(RecordId, i64)]) -> HashSet<RecordId> {
        let times: Vec<Timestamp> = points.iter().map(|(_, at)| ms(*at)).collect();
        flags::bursts(&times)
            .into_iter()
            .map(|i| points[i].0)
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Reading only the neighbours flags exactly what reading everything would newly flag
        /// (and nothing outside a burst), whatever the spread of earlier and new records.
        #[test]
        fn neighbours_find_every_record_a_push_brings_into_a_burst(
            entries in proptest::collection::vec((0i64..150, proptest::bool::weighted(0.3)), 0..16),
        ) {
            let window = flags::BURST_WINDOW.as_millis() as i64;
            let base = 1_780_000_000_000;
            let all: Vec<(RecordId, i64, bool)> = entries
                .iter()
                .map(|&(min, new)| (RecordId::new(), base + min * 60_000, new))
                .collect();
            let old: Vec<(RecordId, i64)> = all.iter().filter(|e| !e.2).map(|e| (e.0, e.1)).collect();
            let new: Vec<(RecordId, i64)> = all.iter().filter(|e| e.2).map(|e| (e.0, e.1)).collect();
            let every: Vec<(RecordId, i64)> = all.iter().map(|e| (e.0, e.1)).collect();
            let (before, after) = (in_burst(&old), in_burst(&every));
            let read = around(&every, &new, window);
            let flagged: HashSet<RecordId> =
                burst_flags(new, read).into_iter().map(|(id, _)| id).collect();
            prop_assert!(flagged.is_subset(&after));
            for id in after.difference(&before) {
                prop_assert!(flagged.contains(id), "{id:?} joined a burst but was not flagged");
            }
        }
    }
}
