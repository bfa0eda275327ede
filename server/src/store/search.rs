//! Full-text search over each record's title, place and narrative, kept in step with the
//! projection: every write of a record's projection rewrites its search row in the same
//! transaction (pushes, reviews and `bukti-server rebuild-projection` alike).
//!
//! SQLite indexes with FTS5 (`record_fts`, tokenizer `unicode61 remove_diacritics 2`, no prefix
//! indexes: they cost every push a tenth of its rate and searches nothing measurable);
//! PostgreSQL with a generated `tsvector` under the `simple` configuration and a GIN index
//! (`record_search`). Neither database ships an Indonesian stemmer (PostgreSQL's snowball set
//! has none), so words match as written, case and common Latin diacritics folded, and the last
//! word of a query matches as a prefix ("pata" finds "patroli"). Indonesian affixes are not
//! stripped: "layanan" does not find "pelayanan".
//!
//! The query text is user input and never reaches either query language as syntax: it is cut
//! into words of letters and digits, everything else (quotes, operators, brackets, `*`, NUL) is
//! a separator, and each word is quoted. `AND`, `OR`, `NOT` and `NEAR` are therefore ordinary
//! words.

use std::collections::HashMap;

use async_trait::async_trait;
use bukti_core::unit::UnitPath;
use sqlx::{SqliteConnection, postgres::PgConnection};

use super::{
    ListFilter, StoreError,
    query::{self, Bind, Dialect},
    rows::{ROWS_PER_STATEMENT, StoreRow, anonymous, anonymous_tuples, bind_all},
};
use crate::projection::Projection;

/// The longest `q` accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 500;
/// The most words a `q` may hold.
pub const MAX_QUERY_WORDS: usize = 20;

/// Why a `q` was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueryError {
    #[error("q is {0} characters long; search with at most {MAX_QUERY_CHARS}")]
    TooLong(usize),
    #[error("q has {0} words; search with at most {MAX_QUERY_WORDS}")]
    TooManyWords(usize),
}

/// Accented Latin letters and the plain letters they fold to, pairwise. PostgreSQL folds with
/// `translate` over exactly these two strings (in `0017_search_ascii_fold.sql`, checked by a
/// test); SQLite's `remove_diacritics 2` folds the same letters (and more) by itself. Only
/// letters whose Unicode decomposition is a base letter and a diacritic are listed, as those are
/// what SQLite folds.
pub const FOLD_FROM: &str = "àáâãäåāăąçćĉċčďèéêëēĕėęěĝğġģĥìíîïĩīĭįĵķĺļľñńņňòóôõöōŏőŕŗřśŝşšţťùúûüũūŭůűųŵýÿŷźżžÀÁÂÃÄÅĀĂĄÇĆĈĊČĎÈÉÊËĒĔĖĘĚĜĞĠĢĤÌÍÎÏĨĪĬĮĴĶĹĻĽÑŃŅŇÒÓÔÕÖŌŎŐŔŖŘŚŜŞŠŢŤÙÚÛÜŨŪŬŮŰŲŴÝŸŶŹŻŽ";
pub const FOLD_TO: &str = "aaaaaaaaacccccdeeeeeeeeegggghiiiiiiiijklllnnnnoooooooorrrssssttuuuuuuuuuuwyyyzzzaaaaaaaaacccccdeeeeeeeeegggghiiiiiiiijklllnnnnoooooooorrrssssttuuuuuuuuuuwyyyzzz";

/// `c` lowercased with its diacritic removed, when it is one of [`FOLD_FROM`].
fn fold_char(c: char) -> char {
    FOLD_FROM
        .chars()
        .position(|f| f == c)
        .and_then(|i| FOLD_TO.chars().nth(i))
        .unwrap_or(c)
}

/// The words of a search, lowercased and folded, in order; the last matches as a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchWords(Vec<String>);

impl SearchWords {
    /// The words of `q`: runs of letters and digits. `None` when there are none (an empty or
    /// punctuation-only `q` does not filter).
    pub fn parse(q: &str) -> Result<Option<Self>, QueryError> {
        let chars = q.chars().count();
        if chars > MAX_QUERY_CHARS {
            return Err(QueryError::TooLong(chars));
        }
        let words: Vec<String> = q
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| {
                w.chars()
                    .flat_map(char::to_lowercase)
                    .map(fold_char)
                    .collect()
            })
            .collect();
        if words.len() > MAX_QUERY_WORDS {
            return Err(QueryError::TooManyWords(words.len()));
        }
        Ok((!words.is_empty()).then_some(Self(words)))
    }

    pub fn words(&self) -> &[String] {
        &self.0
    }

    /// An FTS5 query: every word a quoted string (a word holds only letters and digits, so no
    /// quote to escape), all required, the last one a prefix: `"sambang" "desa"*`.
    pub fn fts5(&self) -> String {
        let mut out = String::new();
        for (i, w) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push('"');
            out.push_str(&w.replace('"', "\"\""));
            out.push('"');
        }
        out.push('*');
        out
    }

    /// A PostgreSQL `to_tsquery` text: every word a quoted lexeme, all required, the last a
    /// prefix: `'sambang' & 'desa':*`.
    pub fn tsquery(&self) -> String {
        let quoted: Vec<String> = self
            .0
            .iter()
            .map(|w| format!("'{}'", w.replace('\\', "\\\\").replace('\'', "''")))
            .collect();
        format!("{}:*", quoted.join(" & "))
    }
}

/// FTS rows per insert into `record_fts`: four values each, far below SQLite's bound-parameter
/// limit (32,766), and more than a push batch holds, so a batch is one statement.
const FTS_ROWS_PER_STATEMENT: usize = 1000;

/// Rewrites the search rows of a batch's written records in the write's transaction (SQLite).
/// Runs last in the transaction: FTS5 writes its pending terms out as a new index segment at
/// every savepoint, and SQLite opens one for each multi-row statement after the table's first
/// write. Written in statements of 100 with other tables' statements between, one batch became
/// five or more small segments for FTS5 to merge (6 % of the server's CPU in a push); written
/// last, in one statement, it is one segment at commit. A record new to the store has no FTS row
/// to delete (`contentless_delete` would still write a tombstone for it). The FTS row is keyed by
/// `record_search.search_id`, an explicit integer key that VACUUM keeps (it may renumber the
/// implicit rowids of `record`).
pub(super) async fn write_sqlite(
    tx: &mut SqliteConnection,
    written: &[(&str, &Projection)],
) -> Result<(), StoreError> {
    let mut existing: HashMap<String, i64> = HashMap::new();
    for chunk in written.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "select record_id, search_id from record_search where record_id in ({})",
            anonymous(chunk.len())
        );
        let mut q = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql));
        for (id, _) in chunk {
            q = q.bind(*id);
        }
        existing.extend(q.fetch_all(&mut *tx).await?);
    }
    let stale: Vec<i64> = existing.values().copied().collect();
    let new: Vec<&str> = written
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| !existing.contains_key(*id))
        .collect();
    let mut keys = existing;
    for chunk in new.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "insert into record_search (record_id) values {} returning record_id, search_id",
            anonymous_tuples(chunk.len(), 1)
        );
        let mut q = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        keys.extend(q.fetch_all(&mut *tx).await?);
    }
    for chunk in stale.chunks(FTS_ROWS_PER_STATEMENT) {
        let sql = format!(
            "delete from record_fts where rowid in ({})",
            anonymous(chunk.len())
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for key in chunk {
            q = q.bind(key);
        }
        q.execute(&mut *tx).await?;
    }
    let rows = written
        .iter()
        .map(|(id, p)| {
            let key = keys
                .get(*id)
                .copied()
                .ok_or_else(|| StoreError::Corrupt(format!("no search row for record {id}")))?;
            Ok(vec![
                Bind::Int(key),
                Bind::Text(p.title.clone()),
                Bind::Text(p.place.clone()),
                Bind::Text(p.narrative.clone()),
            ])
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let columns = ["rowid", "title", "place", "narrative"];
    super::batch::insert_rows_by(
        tx,
        "record_fts",
        &columns,
        &rows,
        "",
        FTS_ROWS_PER_STATEMENT,
    )
    .await?;
    Ok(())
}

/// Rewrites the search rows of a batch's written records in one statement (PostgreSQL); the
/// `tsvector` is a generated column.
pub(super) async fn write_pg(
    tx: &mut PgConnection,
    written: &[(&str, &Projection)],
) -> Result<(), StoreError> {
    let (mut ids, mut titles, mut places, mut narratives) = (vec![], vec![], vec![], vec![]);
    for (id, p) in written {
        ids.push(*id);
        titles.push(p.title.as_str());
        places.push(p.place.as_str());
        narratives.push(p.narrative.as_str());
    }
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "insert into record_search (record_id, title, place, narrative) \
         select * from unnest($1::text[], $2::text[], $3::text[], $4::text[]) \
         on conflict (record_id) do update set title = excluded.title, \
         place = excluded.place, narrative = excluded.narrative",
    )
    .bind(&ids)
    .bind(&titles)
    .bind(&places)
    .bind(&narratives)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// How many records a filter selects, counted before an export streams them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FilterCount {
    pub records: u64,
    /// Of those, records without a usable location (none, or outside the globe's ranges).
    pub unlocated: u64,
}

#[async_trait]
pub trait Search {
    /// Counts the records `filter` selects within `scope` (its cursor and limit ignored).
    async fn count(&self, scope: &UnitPath, filter: &ListFilter)
    -> Result<FilterCount, StoreError>;
}

fn filter_count(r: &impl StoreRow) -> Result<FilterCount, StoreError> {
    let n = |col| r.int(col).map(|v| u64::try_from(v).unwrap_or(0));
    Ok(FilterCount {
        records: n("records")?,
        unlocated: n("unlocated")?,
    })
}

macro_rules! impl_search {
    ($store:ty, $dialect:expr, $read:ident) => {
        #[async_trait]
        impl Search for $store {
            async fn count(
                &self,
                scope: &UnitPath,
                filter: &ListFilter,
            ) -> Result<FilterCount, StoreError> {
                let Some(sql) = query::count($dialect, scope, filter)? else {
                    return Ok(FilterCount::default());
                };
                let row = bind_all(&sql).fetch_one(&self.$read).await?;
                filter_count(&row)
            }
        }
    };
}

impl_search!(super::sqlite::SqliteStore, Dialect::Sqlite, reader);
impl_search!(super::postgres::PgStore, Dialect::Postgres, pool);

#[cfg(test)]
mod tests {
    use super::*;

    fn words(q: &str) -> Option<SearchWords> {
        SearchWords::parse(q).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn words_are_letters_and_digits_lowercased_and_folded() {
        let w = words("Sambang  DÉSA-Sudaji, \"RT 05\"").unwrap_or_else(|| panic!("words"));
        assert_eq!(w.words(), ["sambang", "desa", "sudaji", "rt", "05"]);
        assert_eq!(w.fts5(), r#""sambang" "desa" "sudaji" "rt" "05"*"#);
        assert_eq!(w.tsquery(), "'sambang' & 'desa' & 'sudaji' & 'rt' & '05':*");
    }

    #[test]
    fn syntax_never_passes_through() {
        for q in ["\"", "*", ")(", "''", "\\", ":*", "&|!", "\0", "  "] {
            assert_eq!(words(q), None, "{q:?}");
        }
        let w = words("AND OR NOT NEAR(a b)").unwrap_or_else(|| panic!("words"));
        assert_eq!(w.fts5(), r#""and" "or" "not" "near" "a" "b"*"#);
        let w = words("x\"y'z*").unwrap_or_else(|| panic!("words"));
        assert_eq!(w.words(), ["x", "y", "z"]);
    }

    #[test]
    fn long_queries_are_refused_clearly() {
        let long = "a".repeat(MAX_QUERY_CHARS + 1);
        assert_eq!(
            SearchWords::parse(&long),
            Err(QueryError::TooLong(MAX_QUERY_CHARS + 1))
        );
        let many = vec!["kata"; MAX_QUERY_WORDS + 1].join(" ");
        assert!(matches!(
            SearchWords::parse(&many),
            Err(QueryError::TooManyWords(_))
        ));
    }

    #[test]
    fn the_fold_table_is_pairwise_and_postgres_uses_the_same() {
        assert_eq!(FOLD_FROM.chars().count(), FOLD_TO.chars().count());
        assert!(FOLD_TO.chars().all(|c| c.is_ascii_lowercase()));
        let migration =
            include_str!("../../../migrations/server-postgres/0017_search_ascii_fold.sql");
        assert!(
            migration.contains(&format!("'{FOLD_FROM}'"))
                && migration.contains(&format!("'{FOLD_TO}'")),
            "0017_search_ascii_fold.sql folds with FOLD_FROM and FOLD_TO"
        );
    }
}
