//! SQL for HQ's list and the change feed, built once for both databases. Pure: it returns the
//! text and the values to bind, so the filter logic is tested without a database and user input
//! only ever reaches SQL as bound values.

use bukti_core::{record::workflow::State, unit::UnitPath};
use serde::Deserialize;

/// HQ's list filters, as they arrive in the query string.
#[derive(Debug, Clone, Default, Deserialize)]
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
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

pub const DEFAULT_LIST_LIMIT: u32 = 50;
pub const MAX_LIST_LIMIT: u32 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Text(String),
    Int(i64),
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
}

struct Builder {
    dialect: Dialect,
    text: String,
    binds: Vec<Bind>,
}

impl Builder {
    fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            text: String::new(),
            binds: Vec::new(),
        }
    }

    fn sql(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    fn bind(&mut self, b: Bind) -> &mut Self {
        self.binds.push(b);
        match self.dialect {
            Dialect::Sqlite => self.text.push('?'),
            Dialect::Postgres => {
                self.text.push('$');
                self.text.push_str(&self.binds.len().to_string());
            }
        }
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

    fn finish(self) -> Sql {
        Sql {
            text: self.text,
            binds: self.binds,
        }
    }
}

/// The columns [`super::RecordSummary`] is read from, in order.
fn summary_columns(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => {
            "r.record_id, r.unit, r.officer, r.kind, r.title, r.status, r.verdict, r.state, r.started_at, \
             r.ended_at, r.captured_at, r.lat, r.lon, r.place, r.feed_seq, r.updated_at, \
             (select group_concat(code, ',') from record_lke l where l.record_id = r.record_id) as lke, \
             r.activity_at"
        }
        Dialect::Postgres => {
            "r.record_id, r.unit, r.officer, r.kind, r.title, r.status, r.verdict, r.state, r.started_at, \
             r.ended_at, r.captured_at, r.lat, r.lon, r.place, r.feed_seq, r.updated_at, \
             (select string_agg(code, ',' order by code) from record_lke l where l.record_id = r.record_id) as lke, \
             r.activity_at"
        }
    }
}

/// The list query, or `None` when the filter asks for a unit outside `scope` (an empty page,
/// exactly as if no such records existed).
pub fn list(
    dialect: Dialect,
    scope: &UnitPath,
    f: &ListFilter,
) -> Result<Option<Sql>, FilterError> {
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
    let mut b = Builder::new(dialect);
    b.sql("select ")
        .sql(summary_columns(dialect))
        .sql(" from record r where ")
        .scope(&scope);
    for (column, value) in [
        ("r.kind", &f.kind),
        ("r.status", &f.status),
        ("r.verdict", &f.verdict),
        ("r.state", &f.state),
        ("r.officer", &f.officer),
    ] {
        if let Some(v) = value {
            b.sql(" and ").sql(column).sql(" = ").text(v);
        }
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
    if let Some(cursor) = &f.cursor {
        let (at, id) = parse_cursor(cursor)?;
        b.sql(" and (r.activity_at < ").int(at);
        b.sql(" or (r.activity_at = ")
            .int(at)
            .sql(" and r.record_id < ")
            .text(&id)
            .sql("))");
    }
    b.sql(" order by r.activity_at desc, r.record_id desc limit ")
        .int(i64::from(page_limit(f)) + 1);
    Ok(Some(b.finish()))
}

pub fn page_limit(f: &ListFilter) -> u32 {
    f.limit
        .unwrap_or(DEFAULT_LIST_LIMIT)
        .clamp(1, MAX_LIST_LIMIT)
}

pub fn cursor_for(activity_at: i64, id: &str) -> String {
    format!("{activity_at}_{id}")
}

fn parse_cursor(cursor: &str) -> Result<(i64, String), FilterError> {
    let bad = || FilterError::Cursor(cursor.to_owned());
    let (at, id) = cursor.split_once('_').ok_or_else(bad)?;
    let at = at.parse().map_err(|_| bad())?;
    let id: bukti_core::RecordId = id.parse().map_err(|_| bad())?;
    Ok((at, id.to_string()))
}

/// The change feed query: documents of `scope` after `since`, oldest first.
pub fn feed(
    dialect: Dialect,
    scope: &UnitPath,
    officer: Option<&str>,
    since: i64,
    limit: u32,
) -> Sql {
    let mut b = Builder::new(dialect);
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
pub fn get(dialect: Dialect, scope: &UnitPath, id: &str) -> Sql {
    let mut b = Builder::new(dialect);
    b.sql("select ")
        .sql(summary_columns(dialect))
        .sql(", d.doc, r.version from record r join record_doc d on d.record_id = r.record_id where r.record_id = ")
        .text(id)
        .sql(" and ")
        .scope(scope);
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(s: &str) -> UnitPath {
        UnitPath::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn filters_become_bound_values_never_sql_text() {
        let f = ListFilter {
            kind: Some("x' or '1'='1".into()),
            lke_area: Some("PW".into()),
            from_ms: Some(10),
            ..Default::default()
        };
        let sql = list(Dialect::Postgres, &unit("bali/buleleng"), &f)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("in scope"));
        assert!(!sql.text.contains("or '1'"), "{}", sql.text);
        assert!(sql.binds.contains(&Bind::Text("x' or '1'='1".into())));
        assert!(
            sql.text.contains("$6"),
            "placeholders are numbered: {}",
            sql.text
        );
    }

    #[test]
    fn a_unit_outside_scope_is_an_empty_page_and_a_wider_one_is_the_scope() {
        let scope = unit("bali/buleleng/sawan");
        let other = ListFilter {
            unit: Some("bali/buleleng/gerokgak".into()),
            ..Default::default()
        };
        assert!(
            list(Dialect::Sqlite, &scope, &other)
                .unwrap_or_else(|e| panic!("{e}"))
                .is_none()
        );
        let wider = ListFilter {
            unit: Some("bali".into()),
            ..Default::default()
        };
        let sql = list(Dialect::Sqlite, &scope, &wider)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("in scope"));
        assert_eq!(sql.binds[0], Bind::Text("bali/buleleng/sawan".into()));
        let junk = ListFilter {
            unit: Some("../etc".into()),
            ..Default::default()
        };
        assert!(list(Dialect::Sqlite, &scope, &junk).is_err());
    }

    #[test]
    fn the_review_state_is_a_bound_filter_and_unknown_states_are_refused() {
        let scope = unit("bali/buleleng");
        let f = ListFilter {
            state: Some("forwarded".into()),
            ..Default::default()
        };
        let sql = list(Dialect::Sqlite, &scope, &f)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("in scope"));
        assert!(sql.text.contains("r.state = ?"), "{}", sql.text);
        assert!(sql.binds.contains(&Bind::Text("forwarded".into())));
        let bogus = ListFilter {
            state: Some("approved".into()),
            ..Default::default()
        };
        let e = list(Dialect::Postgres, &scope, &bogus).expect_err("unknown state");
        assert!(e.to_string().contains("forwarded"), "{e}");
    }

    #[test]
    fn cursors_round_trip_and_forgeries_are_refused() {
        let id = bukti_core::RecordId::new().to_string();
        let c = cursor_for(1_700_000_000_000, &id);
        assert_eq!(parse_cursor(&c), Ok((1_700_000_000_000, id)));
        for bad in ["", "x_y", "12_not-a-uuid", "12"] {
            assert!(parse_cursor(bad).is_err(), "{bad}");
        }
    }
}
