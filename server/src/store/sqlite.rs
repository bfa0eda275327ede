//! The embedded evidence store: one SQLite file in the data folder, WAL mode, `synchronous=FULL`
//! so an acknowledged push survives a power cut. Writes go through a single connection (SQLite
//! has one writer anyway, and queueing in the pool beats spinning on `SQLITE_BUSY`); reads use a
//! separate pool so HQ queries and pulls never wait behind a push.
//!
//! The SQL is shared with PostgreSQL ([`super::records`] and the other store modules); what is
//! SQLite's own is opening the file and the three dialect functions at the end.

use std::{collections::HashSet, path::Path, str::FromStr, sync::Arc, time::Duration};

use sqlx::{
    Sqlite, SqliteConnection, SqlitePool, Transaction,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use super::{
    StoreError,
    query::Bind,
    records::{RecordRow, bind_projection, upsert_sql},
    rows::{ROWS_PER_STATEMENT, anonymous_tuples},
};
use crate::projection::Projection;

/// `migrations/server-sqlite`, embedded by `build.rs`.
pub static MIGRATOR: std::sync::LazyLock<sqlx::migrate::Migrator> =
    std::sync::LazyLock::new(|| {
        sqlx::migrate::Migrator::with_migrations(include!(concat!(
            env!("OUT_DIR"),
            "/migrations_sqlite.rs"
        )))
    });

/// Readers map the first 256 MiB of the database file instead of copying each page they visit
/// out of the OS cache into their own small page cache: HQ's lists and exports walk indexes and
/// look rows up by key, and a copied page per b-tree step cost about a third of an export's CPU.
/// The mapping is the kernel's page cache (shared, reclaimable), not heap; it shows in RSS as
/// file-backed pages.
const READER_MMAP_BYTES: u64 = 256 * 1024 * 1024;

/// The writer's page cache (SQLite's default is 2 MB). A 500-record push touches more pages than
/// that, and with the default SQLite spilled dirty pages to the WAL in the middle of the batch's
/// transaction and read evicted ones back from the file (`pagerStress`, `pread`): a tenth of
/// the server's CPU in a push. 16 MiB holds a whole batch; it is part of the server's memory
/// budget (README, Benchmark).
const WRITER_CACHE_KIB: i64 = 16 * 1024;

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(super) writer: SqlitePool,
    pub(super) reader: SqlitePool,
    _checkpointer: Arc<Checkpointer>,
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
            .connect_with(
                options
                    .clone()
                    .pragma("cache_size", (-WRITER_CACHE_KIB).to_string())
                    // Statement journals (kept for every multi-row statement, to undo it alone
                    // if it fails) in memory rather than in a temporary file.
                    .pragma("temp_store", "memory")
                    // Checkpoints run beside the writer (`Checkpointer`); the writer's own
                    // only bounds the WAL (see `WAL_PAGES`).
                    .pragma("wal_autocheckpoint", WAL_PAGES.to_string()),
            )
            .await?;
        MIGRATOR.run(&writer).await?;
        let checkpointer = Arc::new(Checkpointer::start(options.clone()).await?);
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(
                options
                    .read_only(true)
                    .pragma("mmap_size", READER_MMAP_BYTES.to_string()),
            )
            .await?;
        Ok(Self {
            writer,
            reader,
            _checkpointer: checkpointer,
        })
    }
}

/// Pages the WAL may hold before the writer checkpoints it itself, in a commit. Under a steady
/// stream of pushes the background checkpoint copies frames back but never finishes while new
/// ones arrive, and SQLite only starts the WAL over after a checkpoint that did: with this at 0
/// the WAL of a million-record preload reached 6.4 GB. The writer's checkpoint has little left
/// to copy (the background one did most of it) and lets the next transaction restart the WAL,
/// so it stays near 16 MiB.
const WAL_PAGES: u32 = 4096;

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Copies the WAL back into the database file from its own connection, in the background.
/// SQLite's default runs that checkpoint inside whichever commit crosses 1,000 WAL pages, so
/// every few pushes one waited for it (6 % of the server's CPU in a push, all on the writer's
/// path); here most of the copying runs beside the next batch's merge instead, and the writer's
/// own checkpoint at [`WAL_PAGES`] finds little left to do. `PASSIVE` never blocks the writer or
/// readers; durability does not depend on it (each commit is synced to the WAL). The task ends
/// when the last clone of the store is dropped.
#[derive(Debug)]
struct Checkpointer(tokio::task::JoinHandle<()>);

impl Checkpointer {
    async fn start(options: SqliteConnectOptions) -> Result<Self, StoreError> {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        Ok(Self(tokio::spawn(async move {
            let mut every = tokio::time::interval(CHECKPOINT_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                if let Err(e) = sqlx::query("pragma wal_checkpoint(passive)")
                    .execute(&pool)
                    .await
                {
                    tracing::warn!(error = %e, "WAL checkpoint failed; retrying in a second");
                }
            }
        })))
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.abort();
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

    /// Upserts the record rows, then the documents of those written, in multi-row statements
    /// of [`ROWS_PER_STATEMENT`] records with anonymous placeholders (a statement per row cost
    /// a round trip to SQLite's worker thread each); returns the ids written.
    pub(super) async fn upsert_records(
        tx: &mut SqliteConnection,
        rows: &[RecordRow<'_>],
        now: i64,
    ) -> Result<HashSet<String>, StoreError> {
        let mut written = HashSet::new();
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let values = anonymous_tuples(chunk.len(), 20);
            let sql = upsert_sql(&format!("values {values}"));
            let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.as_str()));
            for r in chunk {
                q = bind_projection!(q.bind(&r.id), r.write.projection, &r.heads)
                    .bind(r.version)
                    .bind(r.feed_seq)
                    .bind(now)
                    .bind(now);
            }
            written.extend(q.fetch_all(&mut *tx).await?);
            let docs: Vec<&RecordRow<'_>> =
                chunk.iter().filter(|r| written.contains(&r.id)).collect();
            if docs.is_empty() {
                continue;
            }
            let sql = format!(
                "insert into record_doc (record_id, doc) values {} \
                 on conflict (record_id) do update set doc = excluded.doc",
                anonymous_tuples(docs.len(), 2)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for r in docs {
                q = q.bind(&r.id).bind(&r.write.doc);
            }
            q.execute(&mut *tx).await?;
        }
        Ok(written)
    }

    /// Replaces the LKE, photo and search rows of the written records, a few multi-row
    /// statements for the whole batch ([`super::batch`]).
    pub(super) async fn replace_derived(
        tx: &mut SqliteConnection,
        written: &[(&str, &Projection)],
    ) -> Result<(), StoreError> {
        let ids: Vec<&str> = written.iter().map(|(id, _)| *id).collect();
        super::batch::delete_of(tx, "record_lke", &ids).await?;
        let lke = written
            .iter()
            .flat_map(|(id, p)| {
                p.lke.iter().map(|(code, area)| {
                    vec![
                        Bind::Text((*id).to_owned()),
                        Bind::Text(code.clone()),
                        Bind::Text(area.clone()),
                    ]
                })
            })
            .collect();
        let columns = ["record_id", "code", "area"];
        super::batch::insert_rows(tx, "record_lke", &columns, lke, "").await?;
        super::photos::write_sqlite(tx, written).await?;
        super::flags::write_sqlite(tx, written).await?;
        // Last: see `search::write_sqlite`.
        super::search::write_sqlite(tx, written).await
    }
}
