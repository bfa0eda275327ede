//! What the dashboard counts, grouped in the database so that a Polres with a hundred thousand
//! records answers with a few thousand rows: evidence per LKE area and day, records per unit
//! and workflow state (and how many carry anomaly flags), and a bounded sample of activity
//! locations. One body of SQL serves both databases ([`impl_dashboard!`]).

use async_trait::async_trait;
use bukti_core::unit::UnitPath;

use super::{StoreError, rows::StoreRow};

/// Records of one LKE area on one day (days counted from the epoch in the caller's zone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaDay {
    pub area: String,
    pub day: i64,
    pub count: u64,
}

/// Records of one unit in one workflow state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitState {
    pub unit: String,
    pub state: String,
    pub count: u64,
    /// Of those, the records that carry at least one anomaly flag (`record_flag`).
    pub flagged: u64,
}

/// Where one activity took place.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
    pub unit: String,
    pub state: String,
}

#[async_trait]
pub trait Dashboard: Send + Sync {
    /// Tagged records per LKE area and local day, for records of `scope` active in
    /// `[from_ms, to_ms)`; `offset_ms` shifts UTC to the unit's zone before days are cut.
    async fn area_days(
        &self,
        scope: &UnitPath,
        from_ms: i64,
        to_ms: i64,
        offset_ms: i64,
    ) -> Result<Vec<AreaDay>, StoreError>;

    /// Records per unit and workflow state, and how many of them carry an anomaly flag.
    async fn unit_states(
        &self,
        scope: &UnitPath,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<UnitState>, StoreError>;

    /// Up to `limit` activity locations, the newest first.
    async fn points(
        &self,
        scope: &UnitPath,
        from_ms: i64,
        to_ms: i64,
        limit: u32,
    ) -> Result<Vec<Point>, StoreError>;
}

fn count(r: &impl StoreRow) -> Result<u64, StoreError> {
    Ok(u64::try_from(r.int("n")?).unwrap_or(0))
}

/// The subtree test as one index range, `[unit, unit0)`, narrowed to the unit and its
/// descendants (`unit/…`) by a test on each index entry: a range with an `or` of two ranges
/// makes SQLite fetch every row to merge them, which for a whole Polres costs more than the
/// counting (`record_unit_period` then answers from the index alone).
pub(super) const SUBTREE: &str = "(r.unit >= $1 and r.unit < $3 and (r.unit = $1 or r.unit >= $2))";

/// A query over the records of a unit subtree active in a period: `$sql` names the subtree test
/// `{scope}` (on `r.unit`, placeholders $1–$3) and the period `$4`–`$5`, which are bound here;
/// later placeholders are the caller's to bind.
macro_rules! scoped_period {
    ($sql:literal, $scope:expr, $from:expr, $to:expr) => {{
        let (lo, hi) = $scope.descendant_range();
        let sql = format!($sql, scope = $crate::store::dashboard::SUBTREE);
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind($scope.as_str())
            .bind(lo)
            .bind(hi)
            .bind($from)
            .bind($to)
    }};
}
pub(super) use scoped_period;

/// Implements [`Dashboard`] for a store whose reads go to `$read`.
macro_rules! impl_dashboard {
    ($store:ty, $read:ident) => {
        #[async_trait]
        impl Dashboard for $store {
            async fn area_days(
                &self,
                scope: &UnitPath,
                from_ms: i64,
                to_ms: i64,
                offset_ms: i64,
            ) -> Result<Vec<AreaDay>, StoreError> {
                let rows = scoped_period!(
                    "select l.area, (r.activity_at + $6) / 86400000 as day, count(*) as n \
                     from record_lke l join record r on r.record_id = l.record_id \
                     where {scope} and r.activity_at >= $4 and r.activity_at < $5 \
                     group by l.area, day order by day, l.area",
                    scope,
                    from_ms,
                    to_ms
                )
                .bind(offset_ms)
                .fetch_all(&self.$read)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(AreaDay {
                            area: r.text("area")?,
                            day: r.int("day")?,
                            count: count(r)?,
                        })
                    })
                    .collect()
            }

            async fn unit_states(
                &self,
                scope: &UnitPath,
                from_ms: i64,
                to_ms: i64,
            ) -> Result<Vec<UnitState>, StoreError> {
                let rows = scoped_period!(
                    "select r.unit, r.state, count(*) as n, \
                     sum(case when exists (select 1 from record_flag g \
                     where g.record_id = r.record_id) then 1 else 0 end) as flagged \
                     from record r \
                     where {scope} and r.activity_at >= $4 and r.activity_at < $5 \
                     group by r.unit, r.state order by r.unit, r.state",
                    scope,
                    from_ms,
                    to_ms
                )
                .fetch_all(&self.$read)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(UnitState {
                            unit: r.text("unit")?,
                            state: r.text("state")?,
                            count: count(r)?,
                            flagged: u64::try_from(r.int("flagged")?).unwrap_or(0),
                        })
                    })
                    .collect()
            }

            async fn points(
                &self,
                scope: &UnitPath,
                from_ms: i64,
                to_ms: i64,
                limit: u32,
            ) -> Result<Vec<Point>, StoreError> {
                let rows = scoped_period!(
                    "select r.lat, r.lon, r.unit, r.state from record r \
                     where {scope} and r.activity_at >= $4 and r.activity_at < $5 \
                     and r.lat is not null and r.lon is not null \
                     order by r.activity_at desc limit $6",
                    scope,
                    from_ms,
                    to_ms
                )
                .bind(i64::from(limit))
                .fetch_all(&self.$read)
                .await?;
                rows.iter()
                    .filter_map(|r| {
                        let lat = r.opt_float("lat").ok().flatten()?;
                        let lon = r.opt_float("lon").ok().flatten()?;
                        Some((r, lat, lon))
                    })
                    .map(|(r, lat, lon)| {
                        Ok(Point {
                            lat,
                            lon,
                            unit: r.text("unit")?,
                            state: r.text("state")?,
                        })
                    })
                    .collect()
            }
        }
    };
}

impl_dashboard!(super::sqlite::SqliteStore, reader);
impl_dashboard!(super::postgres::PgStore, pool);
