//! The anomaly flags of records (`record_flag`) and the units' areas they are judged against
//! (`unit.area`). Document flags are replaced with the record's projection, inside its write
//! transaction ([`write_sqlite`], [`write_pg`]); arrival flags are raised once and kept
//! ([`FlagStore::raise_flags`], and across records in the batch's own write: [`super::across`]). The rules themselves are pure, in
//! [`bukti_core::evidence::flags`].

use async_trait::async_trait;
use bukti_core::{
    RecordId,
    evidence::flags::{Flag, FlagCode, Moment},
};
use sqlx::{SqliteConnection, postgres::PgConnection};

use super::{StoreError, parse_id, query::Bind, rows::StoreRow};
use crate::projection::Projection;

/// A flag as stored: which record, and when it was first raised (Unix milliseconds).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFlag {
    pub record: RecordId,
    pub flag: Flag,
    pub raised_at: i64,
}

#[async_trait]
pub trait FlagStore: Send + Sync {
    /// The flags of one record, serious ones first.
    async fn record_flags(&self, record: RecordId) -> Result<Vec<StoredFlag>, StoreError>;

    /// Raises arrival flags; one already raised (same record, code, photo and note) stays as it was.
    async fn raise_flags(&self, flags: &[(RecordId, Flag)], now: i64) -> Result<(), StoreError>;

    /// Every unit's area, as `(unit path, GeoJSON geometry)`.
    async fn unit_areas(&self) -> Result<Vec<(String, String)>, StoreError>;

    /// Sets (or with `None` clears) a unit's area; false when there is no such unit.
    async fn set_unit_area(&self, unit: &str, geojson: Option<&str>) -> Result<bool, StoreError>;
}

/// Back-dated, in SQL: entered more than [`bukti_core::evidence::flags::BACKDATE_AFTER`] after
/// the activity began. Written out, not bound, so the planners match it to the partial index
/// `record_backdated` (migrations), whose predicate is this text.
pub(crate) const BACKDATED: &str = "captured_at - activity_at > 86400000";

fn moment(code: FlagCode) -> &'static str {
    match code.moment() {
        Moment::Document => "document",
        Moment::Arrival => "arrival",
    }
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// Flags to insert, each with the id of its record.
type FlagRows<'a> = [(&'a str, &'a Flag)];

/// The document and push flags of `written`, as rows.
fn of_projections<'a>(written: &[(&'a str, &'a Projection)]) -> Vec<(&'a str, &'a Flag)> {
    written
        .iter()
        .flat_map(|(id, p)| p.flags.iter().map(move |f| (*id, f)))
        .collect()
}

/// Replaces the written records' document flags and adds their new arrival flags (SQLite).
pub(super) async fn write_sqlite(
    tx: &mut SqliteConnection,
    written: &[(&str, &Projection)],
) -> Result<(), StoreError> {
    let ids: Vec<&str> = written.iter().map(|(id, _)| *id).collect();
    super::batch::delete_of_where(tx, "record_flag", "moment = 'document'", &ids).await?;
    insert_sqlite(tx, &of_projections(written), now_ms()).await
}

/// Inserts flag rows (SQLite), one already raised staying as it was: a multi-row insert per
/// [`super::rows::ROWS_PER_STATEMENT`] rows ([`super::batch`]), not a statement per flag.
async fn insert_sqlite(
    tx: &mut SqliteConnection,
    flags: &FlagRows<'_>,
    now: i64,
) -> Result<(), StoreError> {
    let rows = flags
        .iter()
        .map(|(id, f)| {
            vec![
                Bind::Text((*id).to_owned()),
                Bind::Text(f.code.as_str().to_owned()),
                Bind::Text(f.photo.clone().unwrap_or_default()),
                Bind::Real(f.amount),
                Bind::Text(f.note.clone()),
                Bind::Text(moment(f.code).to_owned()),
                Bind::Int(now),
            ]
        })
        .collect();
    let columns = [
        "record_id",
        "code",
        "photo",
        "amount",
        "note",
        "moment",
        "raised_at",
    ];
    super::batch::insert_rows(tx, "record_flag", &columns, rows, "on conflict do nothing").await
}

/// The same for a whole batch on PostgreSQL, in two array statements.
pub(super) async fn write_pg(
    tx: &mut PgConnection,
    written: &[(&str, &Projection)],
) -> Result<(), StoreError> {
    let ids: Vec<&str> = written.iter().map(|(id, _)| *id).collect();
    sqlx::query("delete from record_flag where record_id = any($1) and moment = 'document'")
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
    insert_pg(tx, &of_projections(written), now_ms()).await
}

/// [`insert_sqlite`] on PostgreSQL: one array statement, one round trip however many flags (a
/// burst flags every record of a push, and the insert runs under the writers' lock).
async fn insert_pg(
    tx: &mut PgConnection,
    flags: &FlagRows<'_>,
    now: i64,
) -> Result<(), StoreError> {
    let (mut rid, mut code, mut photo, mut amount, mut note, mut when) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for (id, f) in flags {
        rid.push(*id);
        code.push(f.code.as_str());
        photo.push(f.photo.as_deref().unwrap_or_default());
        amount.push(f.amount);
        note.push(f.note.as_str());
        when.push(moment(f.code));
    }
    sqlx::query(
        "insert into record_flag (record_id, code, photo, amount, note, moment, raised_at) \
         select r, c, p, a, n, m, $7 from unnest($1::text[], $2::text[], $3::text[], \
         $4::float8[], $5::text[], $6::text[]) as t(r, c, p, a, n, m) on conflict do nothing",
    )
    .bind(&rid)
    .bind(&code)
    .bind(&photo)
    .bind(&amount)
    .bind(&note)
    .bind(&when)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

fn stored(row: &impl StoreRow) -> Result<StoredFlag, StoreError> {
    let code = row.text("code")?;
    let photo = row.text("photo")?;
    Ok(StoredFlag {
        record: parse_id(&row.text("record_id")?)?,
        flag: Flag {
            code: FlagCode::parse(&code)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown flag code {code:?}")))?,
            photo: (!photo.is_empty()).then_some(photo),
            amount: row.opt_float("amount")?,
            note: row.text("note")?,
        },
        raised_at: row.int("raised_at")?,
    })
}

/// Implements [`FlagStore`] for a store whose reads go to `$read` and writes to `$write`.
macro_rules! impl_flag_store {
    ($store:ty, $read:ident, $write:ident) => {
        #[async_trait]
        impl FlagStore for $store {
            async fn record_flags(&self, record: RecordId) -> Result<Vec<StoredFlag>, StoreError> {
                let rows = sqlx::query(
                    "select record_id, code, photo, amount, note, raised_at from record_flag \
                     where record_id = $1 order by code, photo",
                )
                .bind(record.to_string())
                .fetch_all(&self.$read)
                .await?;
                let mut flags = rows.iter().map(stored).collect::<Result<Vec<_>, _>>()?;
                flags.sort_by_key(|f| !f.flag.code.is_serious());
                Ok(flags)
            }

            async fn raise_flags(
                &self,
                flags: &[(RecordId, Flag)],
                now: i64,
            ) -> Result<(), StoreError> {
                let mut tx = self.$write.begin().await?;
                <$store>::insert_flags(&mut tx, flags, now).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn unit_areas(&self) -> Result<Vec<(String, String)>, StoreError> {
                let rows = sqlx::query("select path, area from unit where area is not null")
                    .fetch_all(&self.$read)
                    .await?;
                rows.iter()
                    .map(|r| Ok((r.text("path")?, r.text("area")?)))
                    .collect()
            }

            async fn set_unit_area(
                &self,
                unit: &str,
                geojson: Option<&str>,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query("update unit set area = $1 where path = $2")
                    .bind(geojson)
                    .bind(unit)
                    .execute(&self.$write)
                    .await?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

impl_flag_store!(super::sqlite::SqliteStore, reader, writer);
impl_flag_store!(super::postgres::PgStore, pool, pool);

/// Implements the arrival flags' insert for a store whose transactions run on `$conn`, with
/// `$insert` its dialect's insert.
macro_rules! impl_insert_flags {
    ($store:ty, $conn:ty, $insert:ident) => {
        impl $store {
            /// Inserts arrival `flags` in `tx`; one already raised stays as it was.
            pub(super) async fn insert_flags(
                tx: &mut $conn,
                flags: &[(RecordId, Flag)],
                now: i64,
            ) -> Result<(), StoreError> {
                let ids: Vec<String> = flags.iter().map(|(r, _)| r.to_string()).collect();
                let rows: Vec<(&str, &Flag)> = ids
                    .iter()
                    .zip(flags)
                    .map(|(id, (_, f))| (id.as_str(), f))
                    .collect();
                $insert(tx, &rows, now).await
            }
        }
    };
}

impl_insert_flags!(super::sqlite::SqliteStore, SqliteConnection, insert_sqlite);
impl_insert_flags!(super::postgres::PgStore, PgConnection, insert_pg);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backdated_predicate_is_the_rule_and_the_index() {
        let ms = bukti_core::evidence::flags::BACKDATE_AFTER.as_millis();
        assert_eq!(BACKDATED, format!("captured_at - activity_at > {ms}"));
        for sql in [
            include_str!("../../../migrations/server-sqlite/0016_backdated_index.sql"),
            include_str!("../../../migrations/server-postgres/0018_backdated_index.sql"),
        ] {
            assert!(sql.contains("create index record_backdated"), "{sql}");
            assert!(sql.contains(&format!("where {BACKDATED};")), "{sql}");
        }
    }
}
