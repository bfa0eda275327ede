//! The dashboard of a unit subtree over a period: evidence per LKE area month by month, records
//! per workflow state, the units below side by side (with their records that carry anomaly
//! flags), and where the activities took place.
//! Counting happens in the database ([`crate::store::dashboard`]); this groups days into the
//! unit's calendar months and records into the child units.

use std::collections::BTreeMap;

use bukti_core::{catalogue::Catalogue, record::workflow::State, unit::UnitPath};
use jiff::civil::Date;
use serde::Serialize;

use crate::{
    directory::{Permission, Principal},
    service::ServiceError,
    store::{DynStore, dashboard::Point},
};

/// Activity locations drawn on the map at most.
pub const MAX_POINTS: u32 = 2_000;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MonthRow {
    /// `2026-03`.
    pub month: String,
    /// Tagged records per area, in the order of [`DashboardView::areas`].
    pub per_area: Vec<u64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UnitRow {
    pub path: String,
    pub name: String,
    /// Records per state, in the order of [`DashboardView::states`].
    pub per_state: Vec<u64>,
    pub total: u64,
    /// Records with at least one anomaly flag (the record list's `flag=any`).
    pub flagged: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DashboardView {
    pub unit: String,
    pub from: String,
    pub to: String,
    pub zone: &'static str,
    #[schema(value_type = Vec<Vec<String>>)]
    pub areas: Vec<(String, String)>,
    pub months: Vec<MonthRow>,
    pub states: Vec<String>,
    pub state_totals: Vec<u64>,
    pub units: Vec<UnitRow>,
    pub total: u64,
    /// Records with at least one anomaly flag, over every unit.
    pub flagged: u64,
    pub points: Vec<Point>,
}

/// The period's first and last day as given, else 1 January of this year up to today.
fn period(from: Option<&str>, to: Option<&str>, today: Date) -> Result<(Date, Date), ServiceError> {
    let parse = |name: &str, v: &str| {
        v.parse::<Date>()
            .map_err(|_| ServiceError::Invalid(format!("{name} must be a date such as 2026-11-30")))
    };
    let from = match from.filter(|s| !s.is_empty()) {
        Some(f) => parse("from", f)?,
        None => jiff::civil::date(today.year(), 1, 1),
    };
    let to = match to.filter(|s| !s.is_empty()) {
        Some(t) => parse("to", t)?,
        None => today,
    };
    if to < from {
        return Err(ServiceError::Invalid("to is before from".into()));
    }
    Ok((from, to))
}

pub async fn view(
    store: &DynStore,
    principal: &Principal,
    unit: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<DashboardView, ServiceError> {
    principal.require(Permission::ReadRecords, "reading records")?;
    let unit = match unit.filter(|u| !u.is_empty()) {
        Some(u) => UnitPath::parse(u).map_err(|_| ServiceError::NotFound)?,
        None => principal.unit.clone(),
    };
    if !principal.unit.contains(&unit) {
        return Err(ServiceError::NotFound);
    }
    let zone = unit.time_zone();
    let tz = zone.time_zone();
    let today = jiff::Timestamp::now().to_zoned(tz.clone()).date();
    let (first, last) = period(from, to, today)?;
    let ms = |d: Date| -> Result<i64, ServiceError> {
        d.to_zoned(tz.clone())
            .map(|z| z.timestamp().as_millisecond())
            .map_err(|_| ServiceError::Invalid("the period is out of range".into()))
    };
    let next = last
        .tomorrow()
        .map_err(|_| ServiceError::Invalid("the period is out of range".into()))?;
    let (from_ms, to_ms) = (ms(first)?, ms(next)?);
    let offset_ms = i64::from(zone.utc_offset_hours()) * 3_600_000;
    // Independent reads: on separate connections they run at once, one core each.
    let (area_days, unit_states, points, children) = tokio::try_join!(
        store.area_days(&unit, from_ms, to_ms, offset_ms),
        store.unit_states(&unit, from_ms, to_ms),
        store.points(&unit, from_ms, to_ms, MAX_POINTS),
        store.units(&unit),
    )?;

    let areas: Vec<(String, String)> = Catalogue::builtin()
        .lke_areas
        .iter()
        .map(|a| (a.code.clone(), a.name.clone()))
        .collect();
    let mut months: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut month = jiff::civil::date(first.year(), first.month(), 1);
    while month <= last {
        months.insert(month.strftime("%Y-%m").to_string(), vec![0; areas.len()]);
        month = month
            .checked_add(jiff::Span::new().months(1))
            .map_err(|_| ServiceError::Invalid("the period is out of range".into()))?;
    }
    let epoch = jiff::civil::date(1970, 1, 1);
    for d in area_days {
        let Ok(date) = epoch.checked_add(jiff::Span::new().days(d.day)) else {
            continue;
        };
        let key = date.strftime("%Y-%m").to_string();
        if let (Some(row), Some(i)) = (
            months.get_mut(&key),
            areas.iter().position(|(code, _)| *code == d.area),
        ) {
            row[i] += d.count;
        }
    }

    let states: Vec<String> = State::ALL.iter().map(|s| s.as_str().to_owned()).collect();
    // The units directly below the chosen one, side by side; records of the unit itself count
    // under its own row.
    let direct: Vec<(String, String)> = children
        .iter()
        .filter(|u| u.parent.as_ref() == Some(&unit) || u.path == unit)
        .map(|u| (u.path.to_string(), u.name.clone()))
        .collect();
    let mut units: Vec<UnitRow> = direct
        .iter()
        .map(|(path, name)| UnitRow {
            path: path.clone(),
            name: name.clone(),
            per_state: vec![0; states.len()],
            total: 0,
            flagged: 0,
        })
        .collect();
    let mut state_totals = vec![0; states.len()];
    let mut flagged_total = 0;
    for us in unit_states {
        let Some(si) = states.iter().position(|s| *s == us.state) else {
            continue;
        };
        state_totals[si] += us.count;
        flagged_total += us.flagged;
        if let Some(i) = owner_row(&units, &unit, &us.unit) {
            units[i].per_state[si] += us.count;
            units[i].total += us.count;
            units[i].flagged += us.flagged;
        }
    }
    Ok(DashboardView {
        unit: unit.to_string(),
        from: first.to_string(),
        to: last.to_string(),
        zone: zone.abbreviation(),
        areas,
        months: months
            .into_iter()
            .map(|(month, per_area)| MonthRow { month, per_area })
            .collect(),
        states,
        total: state_totals.iter().sum(),
        state_totals,
        units,
        flagged: flagged_total,
        points,
    })
}

/// The row a record of unit `recorded` counts under: the child unit whose subtree holds it,
/// else the chosen unit's own row.
fn owner_row(units: &[UnitRow], chosen: &UnitPath, recorded: &str) -> Option<usize> {
    let recorded = UnitPath::parse(recorded).ok()?;
    units
        .iter()
        .position(|row| {
            row.path != chosen.as_str()
                && UnitPath::parse(&row.path).is_ok_and(|p| p.contains(&recorded))
        })
        .or_else(|| units.iter().position(|row| row.path == chosen.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_period_defaults_to_this_year_and_refuses_nonsense() {
        let today = jiff::civil::date(2026, 11, 30);
        assert_eq!(
            period(None, None, today).ok(),
            Some((jiff::civil::date(2026, 1, 1), today))
        );
        assert!(period(Some("2026-12-01"), Some("2026-11-01"), today).is_err());
        assert!(period(Some("tomorrow"), None, today).is_err());
    }
}
