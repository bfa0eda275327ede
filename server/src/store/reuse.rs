//! The photo-reuse index as tables (`photo_fingerprint`, `photo_band`, `photo_anchor`; see
//! [`bukti_core::photo::reuse::index`] for the lists they hold), and which records claim a blob.
//! Lookups go through the key indexes only, so they read a bounded number of rows at any size
//! (their time still grows with the index's pages: `docs/evidence.md` has the figures at a
//! million photos); the comparisons themselves run in [`crate::photo_check`].

use async_trait::async_trait;
use bukti_core::RecordId;

use super::{
    StoreError, parse_id,
    rows::{StoreRow, anonymous, marks},
};

/// Most candidates the local keys propose, best voted first (as the in-memory index).
const MAX_LOCAL_CANDIDATES: i64 = 16;
/// Local keys that make a candidate.
const MIN_VOTES: i64 = 2;
/// Most keys bound in one statement: far below both databases' limits. A fingerprint has at
/// most a few hundred corners, so a real lookup never reaches it.
const MAX_KEYS: usize = 4_000;

/// A record naming a blob: which record, which photo of it, as which rendition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub record: RecordId,
    pub photo: String,
    pub role: String,
}

#[async_trait]
pub trait PhotoPrints: Send + Sync {
    /// The records (of any unit) whose photos name `hash`, at most `limit`.
    async fn claims(&self, hash: &str, limit: i64) -> Result<Vec<Claim>, StoreError>;

    /// Files a display copy's fingerprint under its keys; a hash filed already stays as it is.
    async fn file_fingerprint(
        &self,
        hash: &str,
        global: i64,
        fingerprint: &[u8],
        bands: &[i64],
        anchors: &[i64],
    ) -> Result<(), StoreError>;

    /// Stored photos sharing a band key, with their global hash.
    async fn band_matches(&self, bands: &[i64]) -> Result<Vec<(String, i64)>, StoreError>;

    /// Stored photos sharing at least two local keys, most shared first, a bounded number.
    async fn anchor_matches(&self, anchors: &[i64]) -> Result<Vec<String>, StoreError>;

    /// The stored fingerprints of `hashes`.
    async fn fingerprints(&self, hashes: &[String]) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
}

/// `n` anonymous placeholders: a lookup binds about 1,200 keys, and SQLite's driver looks each
/// numbered one up in a scan of all their names (see [`super::rows::anonymous`]).
fn sqlite_marks(_from: usize, n: usize) -> String {
    anonymous(n)
}

/// Implements [`PhotoPrints`] for a store whose reads go to `$read` and writes to `$write`, with
/// `$marks(from, n)` the placeholders of a long key list.
macro_rules! impl_photo_prints {
    ($store:ty, $read:ident, $write:ident, $marks:ident) => {
        #[async_trait]
        impl PhotoPrints for $store {
            async fn claims(&self, hash: &str, limit: i64) -> Result<Vec<Claim>, StoreError> {
                let rows = sqlx::query(
                    "select record_id, photo, role from record_photo where hash = $1 \
                     order by record_id limit $2",
                )
                .bind(hash)
                .bind(limit)
                .fetch_all(&self.$read)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(Claim {
                            record: parse_id(&r.text("record_id")?)?,
                            photo: r.text("photo")?,
                            role: r.text("role")?,
                        })
                    })
                    .collect()
            }

            async fn file_fingerprint(
                &self,
                hash: &str,
                global: i64,
                fingerprint: &[u8],
                bands: &[i64],
                anchors: &[i64],
            ) -> Result<(), StoreError> {
                let mut tx = self.$write.begin().await?;
                let id: Option<i64> = sqlx::query_scalar(
                    "insert into photo_fingerprint (hash, global, fingerprint) values ($1, $2, $3) \
                     on conflict do nothing returning id",
                )
                .bind(hash)
                .bind(global)
                .bind(fingerprint)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(id) = id {
                    for (table, keys) in [("photo_band", bands), ("photo_anchor", anchors)] {
                        for chunk in keys.chunks(400) {
                            let values: Vec<String> = (0..chunk.len())
                                .map(|i| format!("(${}, $1)", i + 2))
                                .collect();
                            let sql = format!(
                                "insert into {table} (key, photo) values {} on conflict do nothing",
                                values.join(", ")
                            );
                            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id);
                            for k in chunk {
                                q = q.bind(*k);
                            }
                            q.execute(&mut *tx).await?;
                        }
                    }
                }
                tx.commit().await?;
                Ok(())
            }

            async fn band_matches(&self, bands: &[i64]) -> Result<Vec<(String, i64)>, StoreError> {
                if bands.is_empty() {
                    return Ok(Vec::new());
                }
                let sql = format!(
                    "select distinct f.hash, f.global from photo_band b \
                     join photo_fingerprint f on f.id = b.photo where b.key in ({})",
                    $marks(1, bands.len().min(MAX_KEYS))
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for k in &bands[..bands.len().min(MAX_KEYS)] {
                    q = q.bind(*k);
                }
                let rows = q.fetch_all(&self.$read).await?;
                rows.iter()
                    .map(|r| Ok((r.text("hash")?, r.int("global")?)))
                    .collect()
            }

            async fn anchor_matches(&self, anchors: &[i64]) -> Result<Vec<String>, StoreError> {
                let keys = &anchors[..anchors.len().min(MAX_KEYS)];
                if keys.is_empty() {
                    return Ok(Vec::new());
                }
                let sql = format!(
                    "select f.hash from (select photo, count(*) as votes from photo_anchor \
                     where key in ({}) group by photo having count(*) >= {MIN_VOTES} \
                     order by votes desc, photo limit {MAX_LOCAL_CANDIDATES}) a \
                     join photo_fingerprint f on f.id = a.photo",
                    $marks(1, keys.len())
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for k in keys {
                    q = q.bind(*k);
                }
                let rows = q.fetch_all(&self.$read).await?;
                rows.iter().map(|r| Ok(r.text("hash")?)).collect()
            }

            async fn fingerprints(
                &self,
                hashes: &[String],
            ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
                let mut out = Vec::new();
                for chunk in hashes.chunks(400) {
                    let sql = format!(
                        "select hash, fingerprint from photo_fingerprint where hash in ({})",
                        marks(1, chunk.len())
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for h in chunk {
                        q = q.bind(h);
                    }
                    for r in q.fetch_all(&self.$read).await? {
                        out.push((r.text("hash")?, r.bytes("fingerprint")?));
                    }
                }
                Ok(out)
            }
        }
    };
}

impl_photo_prints!(super::sqlite::SqliteStore, reader, writer, sqlite_marks);
impl_photo_prints!(super::postgres::PgStore, pool, pool, marks);
