//! The embedded evidence store: one SQLite file in the data folder, WAL mode, `synchronous=FULL`
//! so an acknowledged push survives a power cut. Writes go through a single connection (SQLite
//! has one writer anyway, and queueing in the pool beats spinning on `SQLITE_BUSY`); reads use a
//! separate pool so HQ queries and pulls never wait behind a push.

use std::{collections::HashMap, path::Path, str::FromStr, time::Duration};

use async_trait::async_trait;
use bukti_core::{RecordId, unit::UnitPath};
use sqlx::{
    SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use super::{
    EvidenceStore, FeedItem, ListFilter, Page, RecordSummary, RecordWrite, StoreError, StoredDoc,
    WriteOutcome, heads_json,
    query::{self, Dialect},
    rows::{self, bind_all},
};

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

#[async_trait]
impl EvidenceStore for SqliteStore {
    async fn health(&self) -> Result<(), StoreError> {
        sqlx::query("select 1").execute(&self.reader).await?;
        Ok(())
    }

    async fn load_documents(
        &self,
        ids: &[RecordId],
    ) -> Result<HashMap<RecordId, StoredDoc>, StoreError> {
        let mut out = HashMap::with_capacity(ids.len());
        // Chunked to stay under SQLite's bound-parameter limit.
        for chunk in ids.chunks(500) {
            let placeholders = vec!["?"; chunk.len()].join(",");
            let sql = format!(
                "select r.record_id, r.version, r.unit, d.doc from record r \
                 join record_doc d on d.record_id = r.record_id where r.record_id in ({placeholders})"
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(id.to_string());
            }
            for row in q.fetch_all(&self.writer).await? {
                let (id, doc) = rows::stored_doc(&row)?;
                out.insert(id, doc);
            }
        }
        Ok(out)
    }

    async fn write_records(&self, writes: &[RecordWrite]) -> Result<Vec<WriteOutcome>, StoreError> {
        let mut tx = self.writer.begin_with("begin immediate").await?;
        let mut seq: i64 = sqlx::query_scalar("select coalesce(max(feed_seq), 0) from record")
            .fetch_one(&mut *tx)
            .await?;
        let now = jiff::Timestamp::now().as_millisecond();
        let mut outcomes = Vec::with_capacity(writes.len());
        for w in writes {
            seq += 1;
            let p = &w.projection;
            let id = w.id.to_string();
            let version = w.expected_version.map_or(1, |v| v + 1);
            // One upsert for both cases: a new record inserts; an existing one is replaced only
            // when it still has the version this writer merged into.
            let written = sqlx::query(
                "insert into record (record_id, unit, officer, kind, title, status, verdict, state, started_at, \
                 ended_at, captured_at, activity_at, lat, lon, place, heads, version, feed_seq, created_at, updated_at) \
                 values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 on conflict (record_id) do update set unit = excluded.unit, officer = excluded.officer, \
                 kind = excluded.kind, title = excluded.title, status = excluded.status, verdict = excluded.verdict, \
                 state = excluded.state, \
                 started_at = excluded.started_at, ended_at = excluded.ended_at, captured_at = excluded.captured_at, \
                 activity_at = excluded.activity_at, lat = excluded.lat, lon = excluded.lon, place = excluded.place, \
                 heads = excluded.heads, version = excluded.version, feed_seq = excluded.feed_seq, \
                 updated_at = excluded.updated_at \
                 where record.version = excluded.version - 1",
            )
            .bind(&id)
            .bind(&p.unit)
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
            .bind(heads_json(&w.heads))
            .bind(version)
            .bind(seq)
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !written {
                outcomes.push(WriteOutcome::Conflict);
                continue;
            }
            sqlx::query("insert into record_doc (record_id, doc) values (?, ?) on conflict (record_id) do update set doc = excluded.doc")
                .bind(&id)
                .bind(&w.doc)
                .execute(&mut *tx)
                .await?;
            sqlx::query("delete from record_lke where record_id = ?")
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            for (code, area) in &p.lke {
                sqlx::query("insert into record_lke (record_id, code, area) values (?, ?, ?)")
                    .bind(&id)
                    .bind(code)
                    .bind(area)
                    .execute(&mut *tx)
                    .await?;
            }
            super::photos::write_sqlite(&mut tx, &id, &p.photos).await?;
            super::search::write_sqlite(&mut tx, &id, p).await?;
            outcomes.push(WriteOutcome::Written);
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    async fn feed(
        &self,
        scope: &UnitPath,
        officer: Option<&str>,
        since: i64,
        limit: u32,
    ) -> Result<Vec<FeedItem>, StoreError> {
        let sql = query::feed(Dialect::Sqlite, scope, officer, since, limit);
        bind_all(&sql)
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(rows::feed_item)
            .collect()
    }

    async fn list(&self, scope: &UnitPath, filter: &ListFilter) -> Result<Page, StoreError> {
        let Some(sql) = query::list(Dialect::Sqlite, scope, filter)? else {
            return Ok(Page {
                records: Vec::new(),
                next_cursor: None,
            });
        };
        let rows = bind_all(&sql).fetch_all(&self.reader).await?;
        rows::page(&rows, filter)
    }

    async fn get(
        &self,
        scope: &UnitPath,
        id: RecordId,
    ) -> Result<Option<(RecordSummary, StoredDoc)>, StoreError> {
        let sql = query::get(Dialect::Sqlite, scope, &id.to_string());
        let Some(row) = bind_all(&sql).fetch_optional(&self.reader).await? else {
            return Ok(None);
        };
        rows::summary_and_doc(&row).map(Some)
    }
}
