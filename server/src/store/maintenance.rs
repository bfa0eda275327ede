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
//!
//! One body of SQL serves both databases ([`impl_maintenance!`]).

use std::path::Path;

use async_trait::async_trait;
use bukti_core::RecordId;

use super::{
    StoreError, heads_json, parse_id,
    postgres::PgStore,
    records::{FEED_LOCK, bind_projection, rewrite_sql},
    rows::{NUMBERED_VALUES_PER_STATEMENT, marks},
    sqlite::SqliteStore,
};
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

    /// Up to `limit` documents of records the search index does not hold (no `record_search`
    /// row), whose id sorts after `after`, in id order.
    async fn unindexed_documents_after(
        &self,
        after: Option<RecordId>,
        limit: u32,
    ) -> Result<Vec<DocRow>, StoreError>;

    /// Whether a migration left `task` for the server to finish (`pending_task`).
    async fn is_pending(&self, task: &str) -> Result<bool, StoreError>;

    /// Strikes `task` off.
    async fn finish_task(&self, task: &str) -> Result<(), StoreError>;

    /// Writes the search rows of those of `rewrites` still stored and still unindexed, in one
    /// transaction; returns how many. A record a push indexed meanwhile is left as that push
    /// wrote it (its projection may be newer than the document read here).
    async fn index_for_search(&self, rewrites: &[ProjectionRewrite]) -> Result<u64, StoreError>;
}

const SELECT_DOCS: &str = "select r.record_id, r.version, d.doc from record r \
     join record_doc d on d.record_id = r.record_id";

const UNINDEXED: &str =
    "not exists (select 1 from record_search s where s.record_id = r.record_id)";

fn doc_row(id: &str, version: i64, doc: Vec<u8>) -> Result<DocRow, StoreError> {
    Ok(DocRow {
        id: parse_id(id)?,
        version,
        doc,
    })
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
        sqlx::query("vacuum into $1")
            .bind(path)
            .execute(&self.reader)
            .await?;
        Ok(())
    }
}

/// Implements [`Maintenance`] for a store whose reads go to `$read` and whose search rows
/// `$write_search` writes.
macro_rules! impl_maintenance {
    ($store:ty, $read:ident, $write_search:path) => {
        #[async_trait]
        impl Maintenance for $store {
            async fn record_count(&self) -> Result<u64, StoreError> {
                let n: i64 = sqlx::query_scalar("select count(*) from record")
                    .fetch_one(&self.$read)
                    .await?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            async fn documents_after(
                &self,
                after: Option<RecordId>,
                limit: u32,
            ) -> Result<Vec<DocRow>, StoreError> {
                self.documents_where(after, limit, "true").await
            }

            async fn unindexed_documents_after(
                &self,
                after: Option<RecordId>,
                limit: u32,
            ) -> Result<Vec<DocRow>, StoreError> {
                self.documents_where(after, limit, UNINDEXED).await
            }

            async fn is_pending(&self, task: &str) -> Result<bool, StoreError> {
                let n: i64 = sqlx::query_scalar("select count(*) from pending_task where task = $1")
                    .bind(task)
                    .fetch_one(&self.$read)
                    .await?;
                Ok(n > 0)
            }

            async fn finish_task(&self, task: &str) -> Result<(), StoreError> {
                let mut tx = self.begin_serialised(FEED_LOCK).await?;
                sqlx::query("delete from pending_task where task = $1")
                    .bind(task)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn index_for_search(
                &self,
                rewrites: &[ProjectionRewrite],
            ) -> Result<u64, StoreError> {
                let mut tx = self.begin_serialised(FEED_LOCK).await?;
                let mut unindexed = std::collections::HashSet::new();
                for chunk in rewrites.chunks(NUMBERED_VALUES_PER_STATEMENT) {
                    let sql = format!(
                        "select r.record_id from record r where r.record_id in ({}) and {UNINDEXED}",
                        marks(1, chunk.len())
                    );
                    let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
                    for w in chunk {
                        q = q.bind(w.id.to_string());
                    }
                    unindexed.extend(q.fetch_all(&mut *tx).await?);
                }
                let ids: Vec<String> = rewrites.iter().map(|w| w.id.to_string()).collect();
                let written: Vec<(&str, &Projection)> = ids
                    .iter()
                    .zip(rewrites)
                    .filter(|(id, _)| unindexed.contains(*id))
                    .map(|(id, w)| (id.as_str(), &w.projection))
                    .collect();
                $write_search(&mut tx, &written).await?;
                tx.commit().await?;
                Ok(written.len() as u64)
            }

            async fn rewrite_projections(
                &self,
                rewrites: &[ProjectionRewrite],
            ) -> Result<u64, StoreError> {
                let sql = rewrite_sql();
                // Under the pushes' own lock: a rewrite and a push never lock the same rows in
                // opposite orders (a deadlock PostgreSQL would abort one of).
                let mut tx = self.begin_serialised(FEED_LOCK).await?;
                let mut landed = Vec::new();
                for w in rewrites {
                    let q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
                    let done = bind_projection!(q, w.projection, heads_json(&w.heads))
                        .bind(w.id.to_string())
                        .bind(w.version)
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() == 1 {
                        landed.push((w.id.to_string(), &w.projection));
                    }
                }
                let derived: Vec<(&str, &Projection)> =
                    landed.iter().map(|(id, p)| (id.as_str(), *p)).collect();
                <$store>::replace_derived(&mut tx, &derived).await?;
                tx.commit().await?;
                Ok(landed.len() as u64)
            }
        }

        impl $store {
            async fn documents_where(
                &self,
                after: Option<RecordId>,
                limit: u32,
                filter: &str,
            ) -> Result<Vec<DocRow>, StoreError> {
                let sql = format!(
                    "{SELECT_DOCS} where r.record_id > $1 and {filter} \
                     order by r.record_id limit $2"
                );
                let rows: Vec<(String, i64, Vec<u8>)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(after.map(|id| id.to_string()).unwrap_or_default())
                    .bind(i64::from(limit))
                    .fetch_all(&self.$read)
                    .await?;
                rows.into_iter()
                    .map(|(id, version, doc)| doc_row(&id, version, doc))
                    .collect()
            }
        }
    };
}

impl_maintenance!(SqliteStore, reader, super::search::write_sqlite);
impl_maintenance!(PgStore, pool, super::search::write_pg);
