//! What a pack request asks for, checked before a job starts: the caller's roles and scope, the
//! unit, the days (in the unit's time zone) and the LKE areas, turned into the options the pack
//! code takes ([`PackOptions`]).

use std::path::PathBuf;

use bukti_core::{catalogue::Catalogue, unit::UnitPath};
use serde::Deserialize;

use super::PackJobError;
use crate::{directory::Principal, ops::pack::PackOptions};

/// What to pack, as a form or a JSON body says it: days in the unit's time zone.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct PackRequest {
    /// Unit path whose subtree is packed, e.g. `bali/buleleng/sawan`; empty for the caller's own
    /// unit. It must lie inside the caller's scope.
    #[serde(default)]
    pub unit: String,
    /// First day, e.g. `2026-01-01` (empty or absent: from the first record).
    #[serde(default)]
    pub from: Option<String>,
    /// Last day, included.
    #[serde(default)]
    pub to: Option<String>,
    /// LKE area codes (`MP`, `PW`, …); empty for every area and untagged records.
    #[serde(default)]
    pub areas: Vec<String>,
}

/// An empty text is no value (a form's blank date field).
pub(super) fn given(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The pack options of a request, after the checks: roles, scope, days, areas.
pub(super) fn options(
    principal: &Principal,
    request: &PackRequest,
    out: PathBuf,
) -> Result<PackOptions, PackJobError> {
    let unit = request.unit.trim();
    let unit = if unit.is_empty() {
        principal.unit.as_str()
    } else {
        unit
    };
    let path =
        UnitPath::parse(unit).map_err(|e| PackJobError::Invalid(format!("unit {unit:?}: {e}")))?;
    if !principal.unit.contains(&path) {
        return Err(PackJobError::OutsideScope {
            unit: path.to_string(),
            yours: principal.unit.to_string(),
        });
    }
    let catalogue = Catalogue::builtin();
    let areas: Vec<String> = request
        .areas
        .iter()
        .map(|a| a.trim().to_uppercase())
        .filter(|a| !a.is_empty())
        .collect();
    if let Some(unknown) = areas
        .iter()
        .find(|a| !catalogue.lke_areas.iter().any(|k| &k.code == *a))
    {
        return Err(PackJobError::Invalid(format!(
            "{unknown:?} is not an LKE area; use codes such as MP or PW"
        )));
    }
    let opts = PackOptions::parse(unit, given(&request.from), given(&request.to), areas, out)
        .map_err(|e| PackJobError::Invalid(e.replace("--", "")))?;
    if let (Some(from), Some(to)) = (opts.from, opts.to)
        && to <= from
    {
        return Err(PackJobError::Invalid(
            "the last day is before the first".into(),
        ));
    }
    Ok(opts)
}
