//! The photo side of the evidence store: which blobs records refer to (`record_photo`, written
//! with the record's projection), which blobs arrived whole (`blob`), which officers proved they
//! hold them (`blob_holder`) and which originals HQ asked for (`original_request`). A separate
//! trait so the record store stays readable; every [`super::EvidenceStore`] implements it.
//!
//! A record *legitimately holds* a blob when its `record_photo` rows name the hash and the
//! record's officer holds the bytes. Every read of photo bytes, and every "arrived" flag, goes
//! through that rule, so naming someone else's hash in a record reaches nothing.
//!
//! The queries are written once: both databases take `$n` placeholders, and
//! [`impl_photo_index!`] instantiates them for SQLite (its single writer for writes) and
//! PostgreSQL. Lists of hashes become `in ($k, …)` in slices, within both databases' limits.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use bukti_core::{RecordId, unit::UnitPath};
use sqlx::{SqliteConnection, postgres::PgConnection};

use super::{
    StoreError,
    directory::subtree,
    query::Bind,
    rows::{StoreRow, marks},
};
use crate::projection::Projection;

/// What the records in a scope say about one blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobMeta {
    pub size: u64,
    pub content_type: String,
}

/// The records a caller may go through: a unit subtree and, for a device enrolled for its
/// officer's own records, only that officer's records.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub unit: &'a UnitPath,
    pub officer: Option<&'a str>,
}

/// Hashes bound per statement: far below SQLite's and PostgreSQL's bound-parameter limits.
const HASHES_PER_QUERY: usize = 400;

#[async_trait]
pub trait PhotoIndex: Send + Sync {
    /// Those of `hashes` that a record in `scope` refers to, with the size and type it declares.
    /// Says who may upload a hash, not who may read it.
    async fn referenced(
        &self,
        scope: Scope<'_>,
        hashes: &[String],
    ) -> Result<HashMap<String, BlobMeta>, StoreError>;

    /// Those of `hashes` whose bytes arrived whole and verified, from anyone: what the blob
    /// store holds, not what anyone may read.
    async fn complete_blobs(&self, hashes: &[String]) -> Result<HashSet<String>, StoreError>;

    /// Those of `hashes` whose bytes `officer` uploaded and the server verified.
    async fn held(&self, officer: &str, hashes: &[String]) -> Result<HashSet<String>, StoreError>;

    /// A blob that a record in `scope` legitimately holds (it names the hash and its officer
    /// holds the bytes), with what those records declare about it; `None` otherwise.
    async fn readable_blob(
        &self,
        scope: Scope<'_>,
        hash: &str,
    ) -> Result<Option<BlobMeta>, StoreError>;

    /// Those of `hashes` whose bytes the officer of `record` holds: the photos that arrived.
    async fn held_for_record(
        &self,
        record: RecordId,
        hashes: &[String],
    ) -> Result<HashSet<String>, StoreError>;

    /// Records that `officer` uploaded the verified blob `hash`, and the blob itself when it is
    /// new. Idempotent: a blob is stored once, a holder once per officer.
    async fn insert_held_blob(
        &self,
        hash: &str,
        meta: &BlobMeta,
        officer: &str,
    ) -> Result<(), StoreError>;

    /// HQ asks for a photo's original; true when the request is new.
    async fn request_original(
        &self,
        record: RecordId,
        hash: &str,
        by: &str,
    ) -> Result<bool, StoreError>;

    /// The photos of `record` whose original HQ asked for.
    async fn original_requests(&self, record: RecordId) -> Result<HashSet<String>, StoreError>;

    /// Originals asked for on records in `scope` whose officer does not hold them yet (at most
    /// 1000).
    async fn requested_blobs(&self, scope: Scope<'_>) -> Result<Vec<String>, StoreError>;
}

fn ms_now() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn meta(r: &impl StoreRow) -> Result<BlobMeta, StoreError> {
    Ok(BlobMeta {
        size: u64::try_from(r.int("size")?).unwrap_or(0),
        content_type: r.text("content_type")?,
    })
}

fn size_i64(size: u64) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX)
}

/// `r` (a `record`) within `scope`, from placeholder `$1`, and the values to bind, in order.
fn scope_sql(scope: Scope<'_>) -> (String, Vec<String>) {
    let (lo, hi) = scope.unit.descendant_range();
    let mut sql = subtree("r.unit", 1);
    let mut binds = vec![scope.unit.as_str().to_owned(), lo, hi];
    if let Some(officer) = scope.officer {
        sql.push_str(" and r.officer = $4");
        binds.push(officer.to_owned());
    }
    (sql, binds)
}

/// Replaces the `record_photo` rows of the written records inside the caller's write
/// transaction (SQLite), with multi-row statements for the whole batch.
pub(super) async fn write_sqlite(
    tx: &mut SqliteConnection,
    written: &[(&str, &Projection)],
) -> Result<(), StoreError> {
    let ids: Vec<&str> = written.iter().map(|(id, _)| *id).collect();
    super::batch::delete_of(tx, "record_photo", &ids).await?;
    let rows = written
        .iter()
        .flat_map(|(id, p)| {
            p.photos.iter().map(|b| {
                vec![
                    Bind::Text((*id).to_owned()),
                    Bind::Text(b.photo.clone()),
                    Bind::Text(b.role.as_str().to_owned()),
                    Bind::Text(b.hash.clone()),
                    Bind::Int(size_i64(b.size)),
                    Bind::Text(b.content_type.clone()),
                ]
            })
        })
        .collect();
    let columns = ["record_id", "photo", "role", "hash", "size", "content_type"];
    super::batch::insert_rows(tx, "record_photo", &columns, rows, "on conflict do nothing").await
}

/// Replaces the `record_photo` rows of the written records inside the caller's write
/// transaction (PostgreSQL), with two array statements for the whole batch.
pub(super) async fn write_pg(
    tx: &mut PgConnection,
    written: &[(&str, &Projection)],
) -> Result<(), StoreError> {
    let ids: Vec<&str> = written.iter().map(|(id, _)| *id).collect();
    let (mut rid, mut photo, mut role, mut hash, mut size, mut ctype) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for (id, p) in written {
        for blob in &p.photos {
            rid.push(*id);
            photo.push(blob.photo.as_str());
            role.push(blob.role.as_str());
            hash.push(blob.hash.as_str());
            size.push(size_i64(blob.size));
            ctype.push(blob.content_type.as_str());
        }
    }
    sqlx::query("delete from record_photo where record_id = any($1)")
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "insert into record_photo (record_id, photo, role, hash, size, content_type) \
         select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::text[]) \
         on conflict do nothing",
    )
    .bind(&rid)
    .bind(&photo)
    .bind(&role)
    .bind(&hash)
    .bind(&size)
    .bind(&ctype)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Implements [`PhotoIndex`] for a store whose reads go to `$read` and writes to `$write`.
macro_rules! impl_photo_index {
    ($store:ty, $read:ident, $write:ident) => {
        #[async_trait]
        impl PhotoIndex for $store {
            async fn referenced(
                &self,
                scope: Scope<'_>,
                hashes: &[String],
            ) -> Result<HashMap<String, BlobMeta>, StoreError> {
                let (within, binds) = scope_sql(scope);
                let mut out = HashMap::new();
                for chunk in hashes.chunks(HASHES_PER_QUERY) {
                    let sql = format!(
                        "select p.hash, max(p.size) as size, max(p.content_type) as content_type \
                         from record_photo p join record r on r.record_id = p.record_id \
                         where {within} and p.hash in ({}) group by p.hash",
                        marks(binds.len() + 1, chunk.len())
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for b in binds.iter().chain(chunk) {
                        q = q.bind(b);
                    }
                    for row in q.fetch_all(&self.$read).await? {
                        out.insert(row.text("hash")?, meta(&row)?);
                    }
                }
                Ok(out)
            }

            async fn complete_blobs(
                &self,
                hashes: &[String],
            ) -> Result<HashSet<String>, StoreError> {
                let mut out = HashSet::new();
                for chunk in hashes.chunks(HASHES_PER_QUERY) {
                    let sql = format!(
                        "select hash from blob where hash in ({})",
                        marks(1, chunk.len())
                    );
                    let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
                    for h in chunk {
                        q = q.bind(h);
                    }
                    out.extend(q.fetch_all(&self.$read).await?);
                }
                Ok(out)
            }

            async fn held(
                &self,
                officer: &str,
                hashes: &[String],
            ) -> Result<HashSet<String>, StoreError> {
                let mut out = HashSet::new();
                for chunk in hashes.chunks(HASHES_PER_QUERY) {
                    let sql = format!(
                        "select hash from blob_holder where officer = $1 and hash in ({})",
                        marks(2, chunk.len())
                    );
                    let mut q =
                        sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql)).bind(officer);
                    for h in chunk {
                        q = q.bind(h);
                    }
                    out.extend(q.fetch_all(&self.$read).await?);
                }
                Ok(out)
            }

            async fn readable_blob(
                &self,
                scope: Scope<'_>,
                hash: &str,
            ) -> Result<Option<BlobMeta>, StoreError> {
                let (within, binds) = scope_sql(scope);
                // Only what legitimate records declare counts: a claiming record's content type
                // must not decide how the bytes are served.
                let sql = format!(
                    "select max(p.size) as size, max(p.content_type) as content_type \
                     from record_photo p join record r on r.record_id = p.record_id \
                     join blob_holder h on h.hash = p.hash and h.officer = r.officer \
                     where {within} and p.hash = ${} group by p.hash",
                    binds.len() + 1
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for b in &binds {
                    q = q.bind(b);
                }
                let row = q.bind(hash).fetch_optional(&self.$read).await?;
                row.map(|r| meta(&r)).transpose()
            }

            async fn held_for_record(
                &self,
                record: RecordId,
                hashes: &[String],
            ) -> Result<HashSet<String>, StoreError> {
                let mut out = HashSet::new();
                for chunk in hashes.chunks(HASHES_PER_QUERY) {
                    let sql = format!(
                        "select h.hash from record r join blob_holder h on h.officer = r.officer \
                         where r.record_id = $1 and h.hash in ({})",
                        marks(2, chunk.len())
                    );
                    let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql))
                        .bind(record.to_string());
                    for h in chunk {
                        q = q.bind(h);
                    }
                    out.extend(q.fetch_all(&self.$read).await?);
                }
                Ok(out)
            }

            async fn insert_held_blob(
                &self,
                hash: &str,
                meta: &BlobMeta,
                officer: &str,
            ) -> Result<(), StoreError> {
                let now = ms_now();
                let mut tx = self.$write.begin().await?;
                sqlx::query(
                    "insert into blob (hash, size, content_type, stored_at) \
                     values ($1, $2, $3, $4) on conflict do nothing",
                )
                .bind(hash)
                .bind(size_i64(meta.size))
                .bind(&meta.content_type)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "insert into blob_holder (hash, officer, at_ms) values ($1, $2, $3) \
                     on conflict do nothing",
                )
                .bind(hash)
                .bind(officer)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn request_original(
                &self,
                record: RecordId,
                hash: &str,
                by: &str,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "insert into original_request (hash, record_id, requested_by, requested_at) \
                     values ($1, $2, $3, $4) on conflict do nothing",
                )
                .bind(hash)
                .bind(record.to_string())
                .bind(by)
                .bind(ms_now())
                .execute(&self.$write)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn original_requests(
                &self,
                record: RecordId,
            ) -> Result<HashSet<String>, StoreError> {
                let rows = sqlx::query_scalar::<_, String>(
                    "select hash from original_request where record_id = $1",
                )
                .bind(record.to_string())
                .fetch_all(&self.$read)
                .await?;
                Ok(rows.into_iter().collect())
            }

            async fn requested_blobs(&self, scope: Scope<'_>) -> Result<Vec<String>, StoreError> {
                let (within, binds) = scope_sql(scope);
                let sql = format!(
                    "select distinct o.hash from original_request o \
                     join record r on r.record_id = o.record_id \
                     where {within} and not exists (select 1 from blob_holder h \
                     where h.hash = o.hash and h.officer = r.officer) \
                     order by o.hash limit 1000"
                );
                let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
                for b in &binds {
                    q = q.bind(b);
                }
                Ok(q.fetch_all(&self.$read).await?)
            }
        }
    };
}

impl_photo_index!(super::sqlite::SqliteStore, reader, writer);
impl_photo_index!(super::postgres::PgStore, pool, pool);
