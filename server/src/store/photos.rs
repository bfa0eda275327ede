//! The photo side of the evidence store: which blobs records refer to (`record_photo`, written
//! with the record's projection), which blobs arrived whole (`blob`) and which originals HQ asked
//! for (`original_request`). A separate trait so the record store stays readable; every
//! [`super::EvidenceStore`] implements it.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use bukti_core::{RecordId, unit::UnitPath};
use sqlx::{Row, SqliteConnection, postgres::PgConnection};

use super::{StoreError, postgres::PgStore, sqlite::SqliteStore};
use crate::projection::PhotoBlob;

/// What the records in a scope say about one blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobMeta {
    pub size: u64,
    pub content_type: String,
}

/// SQLite's bound-parameter limit is generous but finite: ask in slices.
const SQLITE_CHUNK: usize = 400;

#[async_trait]
pub trait PhotoIndex: Send + Sync {
    /// Those of `hashes` that a record in `scope` refers to, with the size and type it declares.
    async fn referenced(
        &self,
        scope: &UnitPath,
        hashes: &[String],
    ) -> Result<HashMap<String, BlobMeta>, StoreError>;

    /// Those of `hashes` whose bytes arrived whole and verified.
    async fn complete_blobs(&self, hashes: &[String]) -> Result<HashSet<String>, StoreError>;

    /// Marks a verified blob visible. Idempotent: the same hash is stored once.
    async fn insert_blob(&self, hash: &str, meta: &BlobMeta) -> Result<(), StoreError>;

    /// HQ asks for a photo's original; true when the request is new.
    async fn request_original(
        &self,
        record: RecordId,
        hash: &str,
        by: &str,
    ) -> Result<bool, StoreError>;

    /// The photos of `record` whose original HQ asked for.
    async fn original_requests(&self, record: RecordId) -> Result<HashSet<String>, StoreError>;

    /// Originals asked for on records in `scope` that have not arrived yet (at most 1000).
    async fn requested_blobs(&self, scope: &UnitPath) -> Result<Vec<String>, StoreError>;
}

fn ms_now() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn meta(size: i64, content_type: String) -> BlobMeta {
    BlobMeta {
        size: u64::try_from(size).unwrap_or(0),
        content_type,
    }
}

fn size_i64(size: u64) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX)
}

/// Replaces a record's `record_photo` rows inside the caller's write transaction (SQLite).
pub(super) async fn write_sqlite(
    tx: &mut SqliteConnection,
    record_id: &str,
    photos: &[PhotoBlob],
) -> Result<(), StoreError> {
    sqlx::query("delete from record_photo where record_id = ?")
        .bind(record_id)
        .execute(&mut *tx)
        .await?;
    for p in photos {
        sqlx::query(
            "insert into record_photo (record_id, photo, role, hash, size, content_type) \
             values (?, ?, ?, ?, ?, ?) on conflict do nothing",
        )
        .bind(record_id)
        .bind(&p.photo)
        .bind(p.role.as_str())
        .bind(&p.hash)
        .bind(size_i64(p.size))
        .bind(&p.content_type)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Replaces the `record_photo` rows of the written records inside the caller's write
/// transaction (PostgreSQL), with two array statements for the whole batch.
pub(super) async fn write_pg<'a>(
    tx: &mut PgConnection,
    written: impl Iterator<Item = (&'a String, &'a [PhotoBlob])>,
) -> Result<(), StoreError> {
    let mut ids = Vec::new();
    let (mut rid, mut photo, mut role, mut hash, mut size, mut ctype) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for (id, photos) in written {
        ids.push(id.clone());
        for p in photos {
            rid.push(id.clone());
            photo.push(p.photo.clone());
            role.push(p.role.as_str().to_owned());
            hash.push(p.hash.clone());
            size.push(size_i64(p.size));
            ctype.push(p.content_type.clone());
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

/// `r.unit` within `scope`, as in the record queries (an index range scan).
const SCOPE_SQLITE: &str = "(r.unit = ? or (r.unit >= ? and r.unit < ?))";
const SCOPE_PG: &str = "(r.unit = $1 or (r.unit >= $2 and r.unit < $3))";

fn scope_binds(scope: &UnitPath) -> (String, String, String) {
    let (lo, hi) = scope.descendant_range();
    (scope.as_str().to_owned(), lo, hi)
}

#[async_trait]
impl PhotoIndex for SqliteStore {
    async fn referenced(
        &self,
        scope: &UnitPath,
        hashes: &[String],
    ) -> Result<HashMap<String, BlobMeta>, StoreError> {
        let (unit, lo, hi) = scope_binds(scope);
        let mut out = HashMap::new();
        for chunk in hashes.chunks(SQLITE_CHUNK) {
            let marks = vec!["?"; chunk.len()].join(",");
            let sql = format!(
                "select p.hash, max(p.size) as size, max(p.content_type) as content_type \
                 from record_photo p join record r on r.record_id = p.record_id \
                 where {SCOPE_SQLITE} and p.hash in ({marks}) group by p.hash"
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&unit)
                .bind(&lo)
                .bind(&hi);
            for h in chunk {
                q = q.bind(h);
            }
            for row in q.fetch_all(&self.reader).await? {
                out.insert(
                    row.try_get("hash")?,
                    meta(row.try_get("size")?, row.try_get("content_type")?),
                );
            }
        }
        Ok(out)
    }

    async fn complete_blobs(&self, hashes: &[String]) -> Result<HashSet<String>, StoreError> {
        let mut out = HashSet::new();
        for chunk in hashes.chunks(SQLITE_CHUNK) {
            let marks = vec!["?"; chunk.len()].join(",");
            let sql = format!("select hash from blob where hash in ({marks})");
            let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
            for h in chunk {
                q = q.bind(h);
            }
            out.extend(q.fetch_all(&self.reader).await?);
        }
        Ok(out)
    }

    async fn insert_blob(&self, hash: &str, meta: &BlobMeta) -> Result<(), StoreError> {
        sqlx::query("insert into blob (hash, size, content_type, stored_at) values (?, ?, ?, ?) on conflict do nothing")
            .bind(hash)
            .bind(size_i64(meta.size))
            .bind(&meta.content_type)
            .bind(ms_now())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn request_original(
        &self,
        record: RecordId,
        hash: &str,
        by: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("insert into original_request (hash, record_id, requested_by, requested_at) values (?, ?, ?, ?) on conflict do nothing")
            .bind(hash)
            .bind(record.to_string())
            .bind(by)
            .bind(ms_now())
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn original_requests(&self, record: RecordId) -> Result<HashSet<String>, StoreError> {
        let rows = sqlx::query_scalar::<_, String>(
            "select hash from original_request where record_id = ?",
        )
        .bind(record.to_string())
        .fetch_all(&self.reader)
        .await?;
        Ok(rows.into_iter().collect())
    }

    async fn requested_blobs(&self, scope: &UnitPath) -> Result<Vec<String>, StoreError> {
        let (unit, lo, hi) = scope_binds(scope);
        let sql = format!(
            "select distinct o.hash from original_request o join record r on r.record_id = o.record_id \
             where {SCOPE_SQLITE} and not exists (select 1 from blob b where b.hash = o.hash) \
             order by o.hash limit 1000"
        );
        Ok(sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql))
            .bind(unit)
            .bind(lo)
            .bind(hi)
            .fetch_all(&self.reader)
            .await?)
    }
}

#[async_trait]
impl PhotoIndex for PgStore {
    async fn referenced(
        &self,
        scope: &UnitPath,
        hashes: &[String],
    ) -> Result<HashMap<String, BlobMeta>, StoreError> {
        let (unit, lo, hi) = scope_binds(scope);
        let sql = format!(
            "select p.hash, max(p.size) as size, max(p.content_type) as content_type \
             from record_photo p join record r on r.record_id = p.record_id \
             where {SCOPE_PG} and p.hash = any($4) group by p.hash"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(unit)
            .bind(lo)
            .bind(hi)
            .bind(hashes)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("hash")?,
                    meta(row.try_get("size")?, row.try_get("content_type")?),
                ))
            })
            .collect()
    }

    async fn complete_blobs(&self, hashes: &[String]) -> Result<HashSet<String>, StoreError> {
        let rows = sqlx::query_scalar::<_, String>("select hash from blob where hash = any($1)")
            .bind(hashes)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().collect())
    }

    async fn insert_blob(&self, hash: &str, meta: &BlobMeta) -> Result<(), StoreError> {
        sqlx::query("insert into blob (hash, size, content_type, stored_at) values ($1, $2, $3, $4) on conflict do nothing")
            .bind(hash)
            .bind(size_i64(meta.size))
            .bind(&meta.content_type)
            .bind(ms_now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn request_original(
        &self,
        record: RecordId,
        hash: &str,
        by: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("insert into original_request (hash, record_id, requested_by, requested_at) values ($1, $2, $3, $4) on conflict do nothing")
            .bind(hash)
            .bind(record.to_string())
            .bind(by)
            .bind(ms_now())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn original_requests(&self, record: RecordId) -> Result<HashSet<String>, StoreError> {
        let rows = sqlx::query_scalar::<_, String>(
            "select hash from original_request where record_id = $1",
        )
        .bind(record.to_string())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().collect())
    }

    async fn requested_blobs(&self, scope: &UnitPath) -> Result<Vec<String>, StoreError> {
        let (unit, lo, hi) = scope_binds(scope);
        let sql = format!(
            "select distinct o.hash from original_request o join record r on r.record_id = o.record_id \
             where {SCOPE_PG} and not exists (select 1 from blob b where b.hash = o.hash) \
             order by o.hash limit 1000"
        );
        Ok(sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql))
            .bind(unit)
            .bind(lo)
            .bind(hi)
            .fetch_all(&self.pool)
            .await?)
    }
}
