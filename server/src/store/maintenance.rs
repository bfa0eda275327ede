//! The operator's side of the evidence store: walking every stored document in id order and
//! rewriting the relational projection beside it (`bukti-server rebuild-projection`), and
//! SQLite's online snapshot (`bukti-server backup`). A separate trait so the record store stays
//! readable; every [`super::EvidenceStore`] implements it.
//!
//! A projection rewrite never touches `feed_seq`, `version`, `created_at` or `updated_at`: the
//! document did not change, so devices must not see the record again in their feed, and a push
//! racing the rebuild keeps its optimistic lock. A rewrite lands only while the record still has
//! the version its document was read at; otherwise the push that bumped it has already written a
//! fresher projection.

use std::path::Path;

use async_trait::async_trait;
use bukti_core::RecordId;
use sqlx::{SqliteConnection, postgres::PgConnection};

use super::{StoreError, heads_json, parse_id, postgres::PgStore, sqlite::SqliteStore};
use crate::projection::Projection;

/// One stored document as the rebuild reads it.
#[derive(Debug, Clone)]
pub struct DocRow {
    pub id: RecordId,
    pub version: i64,
    pub doc: Vec<u8>,
}

/// The projection derived afresh from a document read at `version`.
#[derive(Debug, Clone)]
pub struct ProjectionRewrite {
    pub id: RecordId,
    pub version: i64,
    pub heads: Vec<String>,
    pub projection: Projection,
}

#[async_trait]
pub trait Maintenance: Send + Sync {
    /// How many records are stored.
    async fn record_count(&self) -> Result<u64, StoreError>;

    /// Up to `limit` documents whose id sorts after `after` (from the first when `None`), in id
    /// order, so a walk over the whole store needs no snapshot and resumes anywhere.
    async fn documents_after(
        &self,
        after: Option<RecordId>,
        limit: u32,
    ) -> Result<Vec<DocRow>, StoreError>;

    /// Replaces the projection rows (`record` columns, `record_lke`, `record_photo`) of each
    /// record still at the rewrite's version, in one transaction. Returns how many landed.
    async fn rewrite_projections(&self, rewrites: &[ProjectionRewrite]) -> Result<u64, StoreError>;
}

/// The advisory lock key PostgreSQL pushes write under (`FEED_LOCK` in [`super::postgres`]; it
/// is private there, so the value is repeated: "bukti" in ASCII).
const PUSH_WRITE_LOCK: i64 = 0x62_756b_7469;

const SELECT_DOCS: &str = "select r.record_id, r.version, d.doc from record r \
     join record_doc d on d.record_id = r.record_id";

fn doc_row(id: &str, version: i64, doc: Vec<u8>) -> Result<DocRow, StoreError> {
    Ok(DocRow {
        id: parse_id(id)?,
        version,
        doc,
    })
}

/// The `record` columns a projection rewrite sets, in bind order; the id and version follow.
const PROJECTION_COLUMNS: [&str; 15] = [
    "unit",
    "officer",
    "kind",
    "title",
    "status",
    "verdict",
    "state",
    "started_at",
    "ended_at",
    "captured_at",
    "activity_at",
    "lat",
    "lon",
    "place",
    "heads",
];

/// The rewrite statement with `mark(n)` as the n-th placeholder (1-based).
fn rewrite_sql(mark: impl Fn(usize) -> String) -> String {
    let set: Vec<String> = PROJECTION_COLUMNS
        .iter()
        .enumerate()
        .map(|(i, col)| format!("{col} = {}", mark(i + 1)))
        .collect();
    let n = PROJECTION_COLUMNS.len();
    format!(
        "update record set {} where record_id = {} and version = {}",
        set.join(", "),
        mark(n + 1),
        mark(n + 2)
    )
}

macro_rules! bind_projection {
    ($q:expr, $w:expr) => {{
        let p = &$w.projection;
        $q.bind(&p.unit)
            .bind(&p.officer)
            .bind(&p.kind)
            .bind(&p.title)
            .bind(p.status)
            .bind(p.verdict)
            .bind(p.state)
            .bind(p.started_at)
            .bind(p.ended_at)
            .bind(p.captured_at)
            .bind(p.activity_at)
            .bind(p.lat)
            .bind(p.lon)
            .bind(&p.place)
            .bind(heads_json(&$w.heads))
            .bind($w.id.to_string())
            .bind($w.version)
    }};
}

async fn rewrite_lke_sqlite(
    tx: &mut SqliteConnection,
    id: &str,
    projection: &Projection,
) -> Result<(), StoreError> {
    sqlx::query("delete from record_lke where record_id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    for (code, area) in &projection.lke {
        sqlx::query("insert into record_lke (record_id, code, area) values (?, ?, ?)")
            .bind(id)
            .bind(code)
            .bind(area)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

async fn rewrite_lke_pg(
    tx: &mut PgConnection,
    id: &str,
    projection: &Projection,
) -> Result<(), StoreError> {
    sqlx::query("delete from record_lke where record_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let (codes, areas): (Vec<&str>, Vec<&str>) = projection
        .lke
        .iter()
        .map(|(c, a)| (c.as_str(), a.as_str()))
        .unzip();
    sqlx::query(
        "insert into record_lke (record_id, code, area) \
         select $1, * from unnest($2::text[], $3::text[])",
    )
    .bind(id)
    .bind(&codes)
    .bind(&areas)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

impl SqliteStore {
    /// Writes a consistent copy of the whole database to `file` (which must not exist) while
    /// the server keeps serving: `VACUUM INTO` reads one snapshot on a reader connection, so
    /// pushes are not blocked and a push committing meanwhile is either wholly in or wholly out.
    pub async fn snapshot_into(&self, file: &Path) -> Result<(), StoreError> {
        let path = file.to_str().ok_or_else(|| StoreError::DataDir {
            path: file.display().to_string(),
            source: std::io::Error::other("the backup path is not UTF-8"),
        })?;
        sqlx::query("vacuum into ?")
            .bind(path)
            .execute(&self.reader)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl Maintenance for SqliteStore {
    async fn record_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("select count(*) from record")
            .fetch_one(&self.reader)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn documents_after(
        &self,
        after: Option<RecordId>,
        limit: u32,
    ) -> Result<Vec<DocRow>, StoreError> {
        let sql = format!("{SELECT_DOCS} where r.record_id > ? order by r.record_id limit ?");
        let rows: Vec<(String, i64, Vec<u8>)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(after.map(|id| id.to_string()).unwrap_or_default())
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await?;
        rows.into_iter()
            .map(|(id, version, doc)| doc_row(&id, version, doc))
            .collect()
    }

    async fn rewrite_projections(&self, rewrites: &[ProjectionRewrite]) -> Result<u64, StoreError> {
        let sql = rewrite_sql(|_| "?".to_owned());
        let mut tx = self.writer.begin_with("begin immediate").await?;
        let mut landed = 0;
        for w in rewrites {
            let q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
            if bind_projection!(q, w)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 0
            {
                continue;
            }
            let id = w.id.to_string();
            rewrite_lke_sqlite(&mut tx, &id, &w.projection).await?;
            super::photos::write_sqlite(&mut tx, &id, &w.projection.photos).await?;
            super::search::write_sqlite(&mut tx, &id, &w.projection).await?;
            landed += 1;
        }
        tx.commit().await?;
        Ok(landed)
    }
}

#[async_trait]
impl Maintenance for PgStore {
    async fn record_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("select count(*) from record")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn documents_after(
        &self,
        after: Option<RecordId>,
        limit: u32,
    ) -> Result<Vec<DocRow>, StoreError> {
        let sql = format!("{SELECT_DOCS} where r.record_id > $1 order by r.record_id limit $2");
        let rows: Vec<(String, i64, Vec<u8>)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(after.map(|id| id.to_string()).unwrap_or_default())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|(id, version, doc)| doc_row(&id, version, doc))
            .collect()
    }

    async fn rewrite_projections(&self, rewrites: &[ProjectionRewrite]) -> Result<u64, StoreError> {
        let sql = rewrite_sql(|n| format!("${n}"));
        let mut tx = self.pool.begin().await?;
        // Pushes hold this lock while they write; taking it too means a rewrite and a push never
        // lock the same rows in opposite orders (a deadlock PostgreSQL would abort one of).
        sqlx::query("select pg_advisory_xact_lock($1)")
            .bind(PUSH_WRITE_LOCK)
            .execute(&mut *tx)
            .await?;
        let mut landed = 0;
        for w in rewrites {
            let q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
            if bind_projection!(q, w)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 0
            {
                continue;
            }
            let id = w.id.to_string();
            rewrite_lke_pg(&mut tx, &id, &w.projection).await?;
            let photos = std::iter::once((&id, w.projection.photos.as_slice()));
            super::photos::write_pg(&mut tx, photos).await?;
            super::search::write_pg(&mut tx, std::iter::once((&id, &w.projection))).await?;
            landed += 1;
        }
        tx.commit().await?;
        Ok(landed)
    }
}
