//! Reading rows into store types, written once for both databases: [`StoreRow`] is the handful
//! of typed getters the mappings need, implemented for SQLite and PostgreSQL rows alike.

use bukti_core::RecordId;
use uuid::Uuid;

use super::{
    FeedItem, Page, RecordSummary, StoreError, StoredDoc, parse_heads, parse_id,
    query::{self, Bind, Sql},
    split_codes,
};
use crate::directory::{Principal, PrincipalKind, Roles};

pub trait StoreRow {
    fn text(&self, col: &str) -> Result<String, sqlx::Error>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error>;
    fn int(&self, col: &str) -> Result<i64, sqlx::Error>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error>;
    fn opt_float(&self, col: &str) -> Result<Option<f64>, sqlx::Error>;
    fn bytes(&self, col: &str) -> Result<Vec<u8>, sqlx::Error>;
}

macro_rules! impl_store_row {
    ($row:ty) => {
        impl StoreRow for $row {
            fn text(&self, col: &str) -> Result<String, sqlx::Error> {
                sqlx::Row::try_get(self, col)
            }
            fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error> {
                sqlx::Row::try_get(self, col)
            }
            fn int(&self, col: &str) -> Result<i64, sqlx::Error> {
                sqlx::Row::try_get(self, col)
            }
            fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error> {
                sqlx::Row::try_get(self, col)
            }
            fn opt_float(&self, col: &str) -> Result<Option<f64>, sqlx::Error> {
                sqlx::Row::try_get(self, col)
            }
            fn bytes(&self, col: &str) -> Result<Vec<u8>, sqlx::Error> {
                sqlx::Row::try_get(self, col)
            }
        }
    };
}

impl_store_row!(sqlx::sqlite::SqliteRow);
impl_store_row!(sqlx::postgres::PgRow);

/// `$from, $from+1, …`: `n` placeholders, for an `in (…)` list.
pub fn marks(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Rows per multi-row statement of a batch write on SQLite: a statement costs a round trip to
/// SQLite's worker thread whatever its size, and 100 rows of the widest table (`record`, 18
/// values) stay far below its bound-parameter limit (32,766).
pub const ROWS_PER_STATEMENT: usize = 100;

/// Values per multi-row statement written once for both databases, whose placeholders must be
/// numbered (`$n`, PostgreSQL's syntax): the SQLite driver looks each `$n` up by name, in a
/// scan of all of them, so a statement's binding grows with the square of its values.
pub const NUMBERED_VALUES_PER_STATEMENT: usize = 256;

/// `($from, …), (…), …`: `rows` tuples of `width` placeholders numbered on from `$from`, for a
/// multi-row `values` list (the same text on SQLite and PostgreSQL).
pub fn tuples(from: usize, rows: usize, width: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", marks(from + r * width, width)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `?, ?, …`: `n` anonymous placeholders, for SQLite's own statements. SQLite binds them by
/// position; numbered ones cost the driver a scan of all names per value.
pub fn anonymous(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// `(?, …), (…), …`: `rows` tuples of `width` anonymous placeholders (SQLite).
pub fn anonymous_tuples(rows: usize, width: usize) -> String {
    vec![format!("({})", anonymous(width)); rows].join(", ")
}

/// Binds a built query's values in order.
pub fn bind_all<'q, DB>(sql: &'q Sql) -> sqlx::query::Query<'q, DB, DB::Arguments>
where
    DB: sqlx::Database,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<f64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.text.as_str()));
    for b in &sql.binds {
        q = match b {
            Bind::Text(s) => q.bind(s.as_str()),
            Bind::Int(n) => q.bind(*n),
            Bind::Real(x) => q.bind(*x),
        };
    }
    q
}

pub fn principal(r: &impl StoreRow) -> Result<Principal, StoreError> {
    let id = r.text("principal_id")?;
    let kind = r.text("kind")?;
    let unit = r.text("unit")?;
    Ok(Principal {
        id: Uuid::parse_str(&id)
            .map_err(|_| StoreError::Corrupt(format!("principal id {id:?}")))?,
        kind: PrincipalKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("principal kind {kind:?}")))?,
        roles: Roles::parse(&r.text("role")?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        name: r.text("name")?,
        unit: bukti_core::unit::UnitPath::parse(&unit)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        officer: r.opt_text("officer")?,
        actor_id: r.opt_text("actor_id")?,
        revoked: r.opt_int("revoked_at")?.is_some(),
        person: r
            .opt_text("person_id")?
            .map(|p| Uuid::parse_str(&p).map_err(|_| StoreError::Corrupt(format!("person {p:?}"))))
            .transpose()?,
        own_records_only: r.int("own_records_only")? != 0,
        access_until: r.opt_int("access_until")?,
        disabled: r.opt_int("disabled_at")?.is_some(),
    })
}

pub fn stored_doc(r: &impl StoreRow) -> Result<(RecordId, StoredDoc), StoreError> {
    Ok((
        parse_id(&r.text("record_id")?)?,
        StoredDoc {
            doc: r.bytes("doc")?,
            version: r.int("version")?,
            unit: r.text("unit")?,
        },
    ))
}

pub fn feed_item(r: &impl StoreRow) -> Result<FeedItem, StoreError> {
    Ok(FeedItem {
        id: parse_id(&r.text("record_id")?)?,
        seq: r.int("feed_seq")?,
        heads: parse_heads(&r.text("heads")?)?,
        doc: r.bytes("doc")?,
    })
}

pub fn summary(r: &impl StoreRow) -> Result<RecordSummary, StoreError> {
    let mut lke = split_codes(r.opt_text("lke")?);
    lke.sort();
    Ok(RecordSummary {
        id: parse_id(&r.text("record_id")?)?,
        unit: r.text("unit")?,
        officer: r.text("officer")?,
        kind: r.text("kind")?,
        title: r.text("title")?,
        status: r.text("status")?,
        verdict: r.opt_text("verdict")?,
        state: r.text("state")?,
        started_at: r.opt_int("started_at")?,
        ended_at: r.opt_int("ended_at")?,
        captured_at: r.int("captured_at")?,
        lat: r.opt_float("lat")?,
        lon: r.opt_float("lon")?,
        place: r.text("place")?,
        lke,
        photos: u32::try_from(r.int("photo_count")?).unwrap_or(u32::MAX),
        flags: {
            // One row per flag and photo: a code can repeat.
            let mut codes = split_codes(r.opt_text("flags")?);
            codes.dedup();
            codes
        },
        feed_seq: r.int("feed_seq")?,
        updated_at: r.int("updated_at")?,
    })
}

pub fn summary_and_doc(r: &impl StoreRow) -> Result<(RecordSummary, StoredDoc), StoreError> {
    let summary = summary(r)?;
    let doc = StoredDoc {
        doc: r.bytes("doc")?,
        version: r.int("version")?,
        unit: summary.unit.clone(),
    };
    Ok((summary, doc))
}

/// A page from `limit + 1` rows of `filter`'s list query: the extra row only says that another
/// page exists; the cursor holds the last row's sort key and id.
pub fn page<R: StoreRow>(rows: &[R], filter: &super::ListFilter) -> Result<Page, StoreError> {
    let limit = query::page_limit(filter) as usize;
    let sort = query::Sort::of(filter)?;
    let more = rows.len() > limit;
    let records = rows[..rows.len().min(limit)]
        .iter()
        .map(summary)
        .collect::<Result<Vec<_>, _>>()?;
    let next_cursor = if more {
        let last = &rows[limit - 1];
        let column = sort.key.column();
        let key = if sort.key.is_text() {
            last.text(column)?
        } else {
            last.int(column)?.to_string()
        };
        records
            .last()
            .map(|s| query::cursor_for(sort, &key, &s.id.to_string()))
    } else {
        None
    };
    Ok(Page {
        records,
        next_cursor,
    })
}
