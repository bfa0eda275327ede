//! The checks across records, inside the transaction that writes a batch: the back-dated
//! records each new one's burst check needs and the records naming the same original photos,
//! read on the writer's own connection (it sees the batch), judged by the pure rules
//! ([`bukti_core::evidence::flags::burst_flags`], [`exact_copies`]), and the flags they raise
//! written before the commit. So the flags land with the records or not at all, and a push
//! waits for the writer once, not a second time to raise them.

use std::collections::HashMap;

use bukti_core::{
    RecordId,
    evidence::flags::{self, BURST_NEIGHBOURS, Flag, exact_copies},
};
use jiff::Timestamp;
use sqlx::{SqliteConnection, postgres::PgConnection};

use super::{
    StoreError,
    flags::BACKDATED,
    parse_id,
    rows::{StoreRow, marks},
};
use crate::projection::{PhotoRole, Projection};

/// Points per neighbours statement: on SQLite two `union` terms each, far below its 500; on
/// PostgreSQL, arrays of 500 points made the statement ten times slower per point in the burst
/// (70-115 ms against 9-16 for a push's 470 back-dated records), arrays of 50 did not.
const POINTS_PER_QUERY: usize = 50;
/// Hashes per originals statement: far below both databases' bound-parameter limits.
const HASHES_PER_QUERY: usize = 400;

/// The statement reading the neighbours of `n` points, after the officer as `$1`: each point
/// binds its entry time, its record id, and the earliest and latest entry times to look at.
/// The points of one push are mostly each other's neighbours, so each record comes back once
/// (`union`, not `union all`).
fn around_sql(n: usize) -> String {
    (0..n)
        .flat_map(|i| {
            let b = 2 + 4 * i;
            let (at, id, lo, hi) = (b, b + 1, b + 2, b + 3);
            let side = |cmp: &str, bound: String, dir: &str| {
                format!(
                    "select * from (select record_id, captured_at from record \
                     where officer = $1 and {BACKDATED} and {bound} \
                     and (captured_at, record_id) {cmp} (${at}, ${id}) \
                     order by captured_at {dir}, record_id {dir} limit {BURST_NEIGHBOURS}) \
                     as n{i}{dir}"
                )
            };
            [
                side("<", format!("captured_at >= ${lo}"), "desc"),
                side(">", format!("captured_at <= ${hi}"), "asc"),
            ]
        })
        .collect::<Vec<_>>()
        .join(" union ")
}

/// [`around_sql`] for PostgreSQL: the points as arrays (`$2` entry times, `$3` ids, `$4` and `$5`
/// the bounds), each side a lateral subquery.
static AROUND_PG: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let side = |cmp: &str, bound: &str, dir: &str| {
        format!(
            "(select record_id, captured_at from record \
             where officer = $1 and {BACKDATED} and {bound} \
             and (captured_at, record_id) {cmp} (p.at, p.id) \
             order by captured_at {dir}, record_id {dir} limit {BURST_NEIGHBOURS})"
        )
    };
    format!(
        "select distinct n.record_id, n.captured_at \
         from unnest($2::bigint[], $3::text[], $4::bigint[], $5::bigint[]) as p(at, id, lo, hi) \
         cross join lateral ({} union all {}) as n",
        side("<", "captured_at >= p.lo", "desc"),
        side(">", "captured_at <= p.hi", "asc"),
    )
});

/// The neighbours' statement is the one query here that differs by database: SQLite keeps a
/// prepared statement per text and plans it once, while PostgreSQL planned the `union all` of
/// 100 sides afresh at every call (a custom plan per bind, about 3 ms, more than its
/// execution), so there it is one small statement over arrays, planned once.
impl super::sqlite::SqliteStore {
    /// Around each of `points` (one officer's back-dated records, `(record, entered at)`): up to
    /// [`BURST_NEIGHBOURS`] of the officer's back-dated records entered just before it and as
    /// many just after, within `window_ms`. Index seeks only, however many records the officer
    /// has.
    async fn neighbours(
        tx: &mut SqliteConnection,
        officer: &str,
        points: &[(RecordId, i64)],
        window_ms: i64,
    ) -> Result<Vec<(RecordId, i64)>, StoreError> {
        // One row for the statement, not one per neighbour: each row crosses from SQLite's
        // thread to the runtime on its own, and a push of 500 back-dated records read about 540
        // of them, 10-17 ms of its answer.
        let sql = format!(
            "select json_group_array(json_array(record_id, captured_at)) from ({})",
            around_sql(points.len())
        );
        let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql)).bind(officer);
        for (id, at) in points {
            q = q
                .bind(*at)
                .bind(id.to_string())
                .bind(at.saturating_sub(window_ms))
                .bind(at.saturating_add(window_ms));
        }
        let json = q.fetch_one(&mut *tx).await?;
        let pairs: Vec<(String, i64)> = serde_json::from_str(&json)
            .map_err(|e| StoreError::Corrupt(format!("the neighbours' list: {e}")))?;
        pairs
            .into_iter()
            .map(|(id, at)| Ok((parse_id(&id)?, at)))
            .collect()
    }
}

impl super::postgres::PgStore {
    /// See [`super::sqlite::SqliteStore::neighbours`].
    async fn neighbours(
        tx: &mut PgConnection,
        officer: &str,
        points: &[(RecordId, i64)],
        window_ms: i64,
    ) -> Result<Vec<(RecordId, i64)>, StoreError> {
        let at: Vec<i64> = points.iter().map(|p| p.1).collect();
        let ids: Vec<String> = points.iter().map(|p| p.0.to_string()).collect();
        let lo: Vec<i64> = at.iter().map(|t| t.saturating_sub(window_ms)).collect();
        let hi: Vec<i64> = at.iter().map(|t| t.saturating_add(window_ms)).collect();
        sqlx::query(sqlx::AssertSqlSafe(AROUND_PG.as_str()))
            .bind(officer)
            .bind(&at)
            .bind(&ids)
            .bind(&lo)
            .bind(&hi)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| Ok((parse_id(&r.text("record_id")?)?, r.int("captured_at")?)))
            .collect()
    }
}

/// Records as the burst check sees them: `(record, entered at in Unix ms)`.
type Entries = Vec<(RecordId, i64)>;

/// The back-dated records of `written`, by officer.
fn backdated_by_officer<'a>(
    written: &[(&str, &'a Projection)],
) -> Result<HashMap<&'a str, Entries>, StoreError> {
    let at = |ms: i64| Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH);
    let mut out: HashMap<&str, Entries> = HashMap::new();
    for (id, p) in written {
        if flags::is_backdated(at(p.captured_at), at(p.activity_at)) {
            out.entry(p.officer.as_str())
                .or_default()
                .push((parse_id(id)?, p.captured_at));
        }
    }
    Ok(out)
}

/// The SHA-256 of every original photo of `written`.
fn originals(written: &[(&str, &Projection)]) -> Vec<String> {
    written
        .iter()
        .flat_map(|(_, p)| &p.photos)
        .filter(|b| b.role == PhotoRole::Original)
        .map(|b| b.hash.clone())
        .collect()
}

/// Implements the checks across records for a store whose write transactions run on `$conn`.
macro_rules! impl_across {
    ($store:ty, $conn:ty) => {
        impl $store {
            /// Raises what the `written` records (in this transaction) now show across records:
            /// on every back-dated record of an officer that is now part of a burst, the burst;
            /// and a photo whose original another record names too (the same picture offered
            /// twice, which the upload never sees when one officer reuses a photo he already
            /// sent). Runs after the batch's photo rows are written.
            pub(super) async fn raise_across(
                tx: &mut $conn,
                written: &[(&str, &Projection)],
                now: i64,
            ) -> Result<(), StoreError> {
                let mut raised = Self::shared_originals(tx, &originals(written)).await?;
                let window = flags::BURST_WINDOW.as_millis() as i64;
                for (officer, new) in backdated_by_officer(written)? {
                    let mut around = Vec::new();
                    for chunk in new.chunks(POINTS_PER_QUERY) {
                        around.extend(Self::neighbours(tx, officer, chunk, window).await?);
                    }
                    raised.extend(flags::burst_flags(new, around));
                }
                Self::insert_flags(tx, &raised, now).await
            }

            /// The flags of records whose photos name one of `hashes` as their original, among
            /// all stored records (this transaction's included).
            async fn shared_originals(
                tx: &mut $conn,
                hashes: &[String],
            ) -> Result<Vec<(RecordId, Flag)>, StoreError> {
                let mut by_hash: HashMap<String, Vec<(RecordId, String)>> = HashMap::new();
                for chunk in hashes.chunks(HASHES_PER_QUERY) {
                    let sql = format!(
                        "select hash, record_id, photo from record_photo \
                         where role = 'original' and hash in ({})",
                        marks(1, chunk.len())
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for h in chunk {
                        q = q.bind(h);
                    }
                    for r in q.fetch_all(&mut *tx).await? {
                        let claim = (parse_id(&r.text("record_id")?)?, r.text("photo")?);
                        by_hash.entry(r.text("hash")?).or_default().push(claim);
                    }
                }
                Ok(by_hash
                    .values()
                    .flat_map(|c| exact_copies(c.iter().map(|(r, p)| (*r, p.as_str()))))
                    .collect())
            }
        }
    };
}

impl_across!(super::sqlite::SqliteStore, SqliteConnection);
impl_across!(super::postgres::PgStore, PgConnection);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_point_reads_two_bounded_sides() {
        let sql = around_sql(2);
        assert_eq!(sql.matches(" union ").count(), 3);
        assert_eq!(sql.matches(&format!("limit {BURST_NEIGHBOURS}")).count(), 4);
        for part in [
            "captured_at >= $4 and (captured_at, record_id) < ($2, $3)",
            "captured_at <= $5 and (captured_at, record_id) > ($2, $3)",
            "captured_at >= $8 and (captured_at, record_id) < ($6, $7)",
            "captured_at <= $9 and (captured_at, record_id) > ($6, $7)",
        ] {
            assert!(sql.contains(part), "{part} not in {sql}");
        }
    }
}
