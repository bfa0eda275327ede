//! SQL for HQ's list and the change feed, built once for both databases. Pure: it returns the
//! text and the values to bind, so the filter logic is tested without a database and user input
//! only ever reaches SQL as bound values. Placeholders are `$n`, which both databases take; the
//! [`Dialect`] only picks the full-text search syntax and SQLite's planner hints.

use bukti_core::{evidence::flags::FlagCode, record::workflow::State, unit::UnitPath};
use serde::Deserialize;

mod sort;

use sort::parse_cursor;
pub use sort::{Sort, SortKey, cursor_for, page_limit};

/// HQ's list filters, as they arrive in the query string.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListFilter {
    pub unit: Option<String>,
    pub kind: Option<String>,
    pub status: Option<String>,
    pub verdict: Option<String>,
    /// The review workflow's state, e.g. `forwarded` (see
    /// [`bukti_core::record::workflow::State`]).
    pub state: Option<String>,
    pub officer: Option<String>,
    /// One LKE sub-indicator code, e.g. `PW.P3`.
    pub lke: Option<String>,
    /// One LKE area code, e.g. `PW`.
    pub lke_area: Option<String>,
    /// Activity time bounds as RFC 3339, as sent.
    pub from: Option<String>,
    pub to: Option<String>,
    /// The same bounds in unix milliseconds, filled in by the API layer.
    #[serde(skip)]
    pub from_ms: Option<i64>,
    #[serde(skip)]
    pub to_ms: Option<i64>,
    /// Full-text search over title, place and narrative: every word must occur, the last as a
    /// prefix (see [`super::search`]).
    pub q: Option<String>,
    /// `with` or `without` photos.
    pub photos: Option<String>,
    /// Records with an anomaly flag: `any`, or one flag code such as `photo_reused` (see
    /// [`bukti_core::evidence::flags::FlagCode`]).
    pub flag: Option<String>,
    /// The order: `started_at`, `captured_at`, `title` or `updated`, descending with a leading
    /// `-`; newest activity first (`-started_at`) when absent. See [`Sort`].
    pub sort: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

pub const DEFAULT_LIST_LIMIT: u32 = 50;
pub const MAX_LIST_LIMIT: u32 = 500;

/// Where HQ's list must be written differently for each database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Text(String),
    Int(i64),
    /// A nullable float (a flag's amount).
    Real(Option<f64>),
}

#[derive(Debug)]
pub struct Sql {
    pub text: String,
    pub binds: Vec<Bind>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilterError {
    #[error("{0}")]
    Unit(#[from] bukti_core::unit::InvalidUnitPath),
    #[error("cursor {0:?} is not one this server gave out; start again without a cursor")]
    Cursor(String),
    #[error(
        "state {0:?} is not a review state; use captured, ready, forwarded, verified, \
         needs_revision, revised or rejected"
    )]
    State(String),
    #[error(
        "sort {0:?} is not a sort order; use started_at, captured_at, title or updated, with a \
         leading - for descending (e.g. sort=-started_at)"
    )]
    Sort(String),
    #[error("this cursor belongs to another sort order; start again without a cursor")]
    CursorSort,
    #[error("photos {0:?}: use photos=with or photos=without")]
    Photos(String),
    #[error(
        "flag {0:?} is not a flag; use flag=any or a flag code such as photo_reused or outside_area"
    )]
    Flag(String),
    #[error(transparent)]
    Search(#[from] super::search::QueryError),
}

#[derive(Default)]
struct Builder {
    text: String,
    binds: Vec<Bind>,
}

impl Builder {
    fn sql(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    fn bind(&mut self, b: Bind) -> &mut Self {
        self.binds.push(b);
        self.text.push('$');
        self.text.push_str(&self.binds.len().to_string());
        self
    }

    fn text(&mut self, s: &str) -> &mut Self {
        self.bind(Bind::Text(s.to_owned()))
    }

    fn int(&mut self, n: i64) -> &mut Self {
        self.bind(Bind::Int(n))
    }

    /// `r.unit` lies in the subtree of `scope`; an index range scan in both databases.
    fn scope(&mut self, scope: &UnitPath) -> &mut Self {
        let (lo, hi) = scope.descendant_range();
        self.sql("(r.unit = ").text(scope.as_str());
        self.sql(" or (r.unit >= ")
            .text(&lo)
            .sql(" and r.unit < ")
            .text(&hi)
            .sql("))")
    }

    /// The same test written so SQLite cannot drive the query by `record_unit` (`+` hides the
    /// column from its planner). A list walks a sort order's index and stops after one page;
    /// SQLite keeps no statistics on how much of the table a subtree holds and would otherwise
    /// fetch the whole subtree by unit and sort it, even when it is every record.
    fn scope_walked(&mut self, dialect: Dialect, scope: &UnitPath) -> &mut Self {
        if dialect == Dialect::Postgres {
            return self.scope(scope);
        }
        let (lo, hi) = scope.descendant_range();
        self.sql("(+r.unit = ").text(scope.as_str());
        self.sql(" or (+r.unit >= ")
            .text(&lo)
            .sql(" and +r.unit < ")
            .text(&hi)
            .sql("))")
    }

    fn finish(self) -> Sql {
        Sql {
            text: self.text,
            binds: self.binds,
        }
    }
}

/// `record_state`'s predicate (migrations 0019 SQLite, 0020 PostgreSQL): the work queues leave
/// out the records every push adds, which nobody has curated yet.
const NOT_CAPTURED: &str = "r.state <> 'captured'";

/// The columns [`super::RecordSummary`] is read from, in order (`string_agg` with an order is
/// SQLite's too since 3.44; the bundled SQLite is newer).
const SUMMARY_COLUMNS: &str = "r.record_id, r.unit, r.officer, r.kind, r.title, r.status, r.verdict, \
     r.state, r.started_at, r.ended_at, r.captured_at, r.lat, r.lon, r.place, r.feed_seq, r.updated_at, \
     (select string_agg(code, ',' order by code) from record_lke l where l.record_id = r.record_id) as lke, \
     (select count(distinct p.photo) from record_photo p where p.record_id = r.record_id) as photo_count, \
     (select string_agg(g.code, ',' order by g.code) from record_flag g where g.record_id = r.record_id) as flags, \
     r.activity_at";

/// The list query, or `None` when the filter asks for a unit outside `scope` (an empty page,
/// exactly as if no such records existed). Pages are keyset pages: the cursor holds the last
/// row's sort key and id, so a record written meanwhile neither repeats nor hides a row.
pub fn list(
    dialect: Dialect,
    scope: &UnitPath,
    f: &ListFilter,
) -> Result<Option<Sql>, FilterError> {
    let Some(mut b) = filtered(dialect, scope, f, "r.*", true)? else {
        return Ok(None);
    };
    let sort = Sort::of(f)?;
    let (op, dir) = if sort.descending {
        ("<", " desc")
    } else {
        (">", " asc")
    };
    let column = sort.key.column();
    if let Some(cursor) = &f.cursor {
        let (key, id) = parse_cursor(sort, cursor)?;
        b.sql(" and (r.").sql(column).sql(", r.record_id) ").sql(op);
        b.sql(" (").bind(key).sql(", ").text(&id).sql(")");
    }
    let order = format!(" order by r.{column}{dir}, r.record_id{dir}");
    b.sql(&order).sql(" limit ");
    b.int(i64::from(page_limit(f)) + 1);
    // The page is chosen first; only its rows then gather their LKE codes and photo counts
    // (a sort would otherwise compute them for every row it sorts).
    b.text = format!("select {SUMMARY_COLUMNS} from ({}) r{order}", b.text);
    Ok(Some(b.finish()))
}

/// How many records the filter selects, and how many of those have no usable location (an
/// export's row count and the GeoJSON's skipped features); `None` as for [`list`].
pub fn count(
    dialect: Dialect,
    scope: &UnitPath,
    f: &ListFilter,
) -> Result<Option<Sql>, FilterError> {
    const COLUMNS: &str = "count(*) as records, coalesce(sum(case when r.lat is null or r.lon is null \
         or not (r.lat between -90 and 90) or not (r.lon between -180 and 180) then 1 else 0 end), 0) \
         as unlocated";
    Ok(filtered(dialect, scope, f, COLUMNS, false)?.map(Builder::finish))
}

/// `select {columns} from record r where …` with every filter but the cursor; `walked` for a
/// query that walks a sort order (see [`Builder::scope_walked`]).
fn filtered(
    dialect: Dialect,
    scope: &UnitPath,
    f: &ListFilter,
    columns: &str,
    walked: bool,
) -> Result<Option<Builder>, FilterError> {
    let scope = match f.unit.as_deref().map(UnitPath::parse).transpose()? {
        Some(unit) if scope.contains(&unit) => unit,
        Some(unit) if unit.contains(scope) => scope.clone(),
        Some(_) => return Ok(None),
        None => scope.clone(),
    };
    if let Some(state) = &f.state
        && State::parse(state).is_none()
    {
        return Err(FilterError::State(state.clone()));
    }
    let sort = Sort::of(f)?;
    let photos = match f.photos.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("with") => Some(" and exists"),
        Some("without") => Some(" and not exists"),
        Some(other) => return Err(FilterError::Photos(other.to_owned())),
    };
    let flag = match f.flag.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("any") => Some(None),
        Some(code) => Some(Some(
            FlagCode::parse(code).ok_or_else(|| FilterError::Flag(code.to_owned()))?,
        )),
    };
    let words =
        f.q.as_deref()
            .map(super::search::SearchWords::parse)
            .transpose()?
            .flatten();
    let mut b = Builder::default();
    b.sql("select ").sql(columns).sql(" from record r where ");
    if walked {
        b.scope_walked(dialect, &scope);
    } else {
        b.scope(&scope);
    }
    if let Some(exists) = photos {
        b.sql(exists)
            .sql(" (select 1 from record_photo p where p.record_id = r.record_id)");
    }
    if let Some(code) = flag {
        b.sql(" and exists (select 1 from record_flag g where g.record_id = r.record_id");
        if let Some(code) = code {
            b.sql(" and g.code = ").text(code.as_str());
        }
        b.sql(")");
    }
    if let Some(words) = words {
        match dialect {
            Dialect::Sqlite => b
                .sql(
                    " and r.record_id in (select s.record_id from record_search s where s.search_id in \
                     (select rowid from record_fts where record_fts match ",
                )
                .text(&words.fts5())
                .sql("))"),
            Dialect::Postgres => b
                .sql(
                    " and r.record_id in (select s.record_id from record_search s \
                     where s.document @@ to_tsquery('simple', ",
                )
                .text(&words.tsquery())
                .sql("))"),
        };
    }
    // `record_state` is in activity order: under another sort SQLite would fetch a whole state
    // (most records are `captured`) and sort it, rather than walk the sort's index.
    let state_column = if walked && dialect == Dialect::Sqlite && sort.key != SortKey::StartedAt {
        "+r.state"
    } else {
        "r.state"
    };
    for (column, value) in [
        ("r.kind", &f.kind),
        ("r.status", &f.status),
        ("r.verdict", &f.verdict),
        (state_column, &f.state),
        ("r.officer", &f.officer),
    ] {
        if let Some(v) = value {
            b.sql(" and ").sql(column).sql(" = ").text(v);
        }
    }
    // SQLite uses a partial index only for a query that states its predicate: a bound state
    // does not imply it.
    if state_column == "r.state"
        && f.state
            .as_deref()
            .and_then(State::parse)
            .is_some_and(|s| s != State::Captured)
    {
        b.sql(" and ").sql(NOT_CAPTURED);
    }
    if let Some(code) = &f.lke {
        b.sql(
            " and exists (select 1 from record_lke l where l.record_id = r.record_id and l.code = ",
        )
        .text(code)
        .sql(")");
    }
    if let Some(area) = &f.lke_area {
        b.sql(
            " and exists (select 1 from record_lke l where l.record_id = r.record_id and l.area = ",
        )
        .text(area)
        .sql(")");
    }
    if let Some(from) = f.from_ms {
        b.sql(" and r.activity_at >= ").int(from);
    }
    if let Some(to) = f.to_ms {
        b.sql(" and r.activity_at < ").int(to);
    }
    Ok(Some(b))
}

/// The change feed query: documents of `scope` after `since`, oldest first.
pub fn feed(scope: &UnitPath, officer: Option<&str>, since: i64, limit: u32) -> Sql {
    let mut b = Builder::default();
    b.sql(
        "select r.record_id, r.feed_seq, r.heads, d.doc from record r \
           join record_doc d on d.record_id = r.record_id where r.feed_seq > ",
    )
    .int(since)
    .sql(" and ")
    .scope(scope);
    if let Some(officer) = officer {
        b.sql(" and r.officer = ").text(officer);
    }
    b.sql(" order by r.feed_seq limit ").int(i64::from(limit));
    b.finish()
}

/// One record within `scope`, with its document.
pub fn get(scope: &UnitPath, id: &str) -> Sql {
    let mut b = Builder::default();
    b.sql("select ")
        .sql(SUMMARY_COLUMNS)
        .sql(", d.doc, r.version from record r join record_doc d on d.record_id = r.record_id where r.record_id = ")
        .text(id)
        .sql(" and ")
        .scope(scope);
    b.finish()
}

#[cfg(test)]
mod tests;
