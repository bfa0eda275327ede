//! Multi-row statements for a batch write on SQLite: replacing the rows a batch of records
//! derives (LKE tags, photos, search text) with one delete and one insert per
//! [`ROWS_PER_STATEMENT`] records instead of a statement or three per record. Each statement
//! is a round trip to SQLite's worker thread whatever its size; in a 500-record push that
//! overhead was most of the server's SQL time. Placeholders are SQLite's anonymous `?`
//! ([`anonymous`]).

use sqlx::SqliteConnection;

use super::{
    StoreError,
    query::{Bind, Sql},
    rows::{ROWS_PER_STATEMENT, anonymous, anonymous_tuples, bind_all},
};

/// Deletes the rows of `table` whose `record_id` is one of `ids`.
pub(super) async fn delete_of(
    tx: &mut SqliteConnection,
    table: &str,
    ids: &[&str],
) -> Result<(), StoreError> {
    delete_of_where(tx, table, "true", ids).await
}

/// Deletes the rows of `table` whose `record_id` is one of `ids` and that match `filter`.
pub(super) async fn delete_of_where(
    tx: &mut SqliteConnection,
    table: &str,
    filter: &str,
    ids: &[&str],
) -> Result<(), StoreError> {
    // The ids are bound values; `table` and `filter` are this module's callers' constants.
    for chunk in ids.chunks(5 * ROWS_PER_STATEMENT) {
        let sql = Sql {
            text: format!(
                "delete from {table} where record_id in ({}) and {filter}",
                anonymous(chunk.len())
            ),
            binds: chunk
                .iter()
                .map(|id| Bind::Text((*id).to_owned()))
                .collect(),
        };
        bind_all(&sql).execute(&mut *tx).await?;
    }
    Ok(())
}

/// Inserts `rows` into `table` (`columns`, one value each per row), `tail` after the values
/// (e.g. `on conflict do nothing`), [`ROWS_PER_STATEMENT`] rows per statement.
pub(super) async fn insert_rows(
    tx: &mut SqliteConnection,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Bind>>,
    tail: &str,
) -> Result<(), StoreError> {
    insert_rows_by(tx, table, columns, &rows, tail, ROWS_PER_STATEMENT).await
}

/// [`insert_rows`] with `per_statement` rows per statement.
pub(super) async fn insert_rows_by(
    tx: &mut SqliteConnection,
    table: &str,
    columns: &[&str],
    rows: &[Vec<Bind>],
    tail: &str,
    per_statement: usize,
) -> Result<(), StoreError> {
    for chunk in rows.chunks(per_statement) {
        let sql = Sql {
            text: format!(
                "insert into {table} ({}) values {} {tail}",
                columns.join(", "),
                anonymous_tuples(chunk.len(), columns.len())
            ),
            binds: chunk.iter().flatten().cloned().collect(),
        };
        bind_all(&sql).execute(&mut *tx).await?;
    }
    Ok(())
}
