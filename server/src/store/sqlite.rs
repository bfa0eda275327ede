//! The embedded evidence store: one SQLite file in the data folder, WAL mode, `synchronous=FULL`
//! so an acknowledged push survives a power cut. Writes go through a single connection (SQLite
//! has one writer anyway, and queueing in the pool beats spinning on `SQLITE_BUSY`); reads use a
//! separate pool so HQ queries and pulls never wait behind a push.
//!
//! The SQL is shared with PostgreSQL ([`super::records`] and the other store modules); what is
//! SQLite's own is opening the file and the three dialect functions at the end.

use std::{collections::HashSet, path::Path, str::FromStr, time::Duration};

use sqlx::{
    Sqlite, SqliteConnection, SqlitePool, Transaction,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use super::{
    StoreError,
    records::{RecordRow, bind_projection, upsert_sql},
    rows::marks,
};
use crate::projection::Projection;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/server-sqlite");

/// Readers map the first 256 MiB of the database file instead of copying each page they visit
/// out of the OS cache into their own small page cache: HQ's lists and exports walk indexes and
/// look rows up by key, and a copied page per b-tree step cost about a third of an export's CPU.
/// The mapping is the kernel's page cache (shared, reclaimable), not heap; it shows in RSS as
/// file-backed pages.
const READER_MMAP_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(super) writer: SqlitePool,
    pub(super) reader: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) `evidence.db` in `data_dir` and runs the migrations.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.display().to_string(),
            source,
        })?;
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(data_dir.join("evidence.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(
                options
                    .read_only(true)
                    .pragma("mmap_size", READER_MMAP_BYTES.to_string()),
            )
            .await?;
        Ok(Self { writer, reader })
    }
}

/// The dialect functions (see [`super::records`]).
impl SqliteStore {
    /// A write transaction no other writer runs beside. SQLite has one writer per file, so the
    /// lock key is moot: `IMMEDIATE` takes the file's write lock before anything is read, so
    /// another process's write cannot slip in between a read and the write that depends on it.
    pub(super) async fn begin_serialised(
        &self,
        _lock: i64,
    ) -> Result<Transaction<'static, Sqlite>, StoreError> {
        Ok(self.writer.begin_with("begin immediate").await?)
    }

    /// Upserts each record row and, where it was written, its document, one statement each
    /// (in-process, so a statement costs microseconds); returns the ids written.
    pub(super) async fn upsert_records(
        tx: &mut SqliteConnection,
        rows: &[RecordRow<'_>],
        now: i64,
    ) -> Result<HashSet<String>, StoreError> {
        let sql = upsert_sql(&format!("values ({}, $19, $19)", marks(1, 18)));
        let mut written = HashSet::new();
        for r in rows {
            let q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(&r.id);
            let won = bind_projection!(q, r.write.projection, &r.heads)
                .bind(r.version)
                .bind(r.feed_seq)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            if won.is_none() {
                continue;
            }
            sqlx::query(
                "insert into record_doc (record_id, doc) values ($1, $2) \
                 on conflict (record_id) do update set doc = excluded.doc",
            )
            .bind(&r.id)
            .bind(&r.write.doc)
            .execute(&mut *tx)
            .await?;
            written.insert(r.id.clone());
        }
        Ok(written)
    }

    /// Replaces the LKE, photo and search rows of each written record.
    pub(super) async fn replace_derived(
        tx: &mut SqliteConnection,
        written: &[(&str, &Projection)],
    ) -> Result<(), StoreError> {
        for &(id, p) in written {
            sqlx::query("delete from record_lke where record_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            for (code, area) in &p.lke {
                sqlx::query("insert into record_lke (record_id, code, area) values ($1, $2, $3)")
                    .bind(id)
                    .bind(code)
                    .bind(area)
                    .execute(&mut *tx)
                    .await?;
            }
            super::photos::write_sqlite(tx, id, &p.photos).await?;
            super::search::write_sqlite(tx, id, p).await?;
            super::flags::write_sqlite(tx, id, &p.flags).await?;
        }
        Ok(())
    }
}
