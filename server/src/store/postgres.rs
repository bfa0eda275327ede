//! The evidence store on PostgreSQL, for several stateless server processes over one database.
//!
//! A batch is written with a handful of array statements (`unnest`) rather than one round trip
//! per record. Feed positions are assigned under a transaction-scoped advisory lock, so they are
//! handed out in commit order: a reader that has seen position N never later finds a record
//! committed at a position below N (plain sequences do not promise that under concurrency).

use std::collections::HashMap;

use async_trait::async_trait;
use bukti_core::{RecordId, unit::UnitPath};
use sqlx::{PgPool, postgres::PgPoolOptions};

use super::{
    EvidenceStore, FeedItem, ListFilter, Page, RecordSummary, RecordWrite, StoreError, StoredDoc,
    WriteOutcome, heads_json,
    query::{self, Dialect},
    rows::{self, bind_all},
};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/server-postgres");

/// Advisory lock key serialising feed position assignment ("bukti" in ASCII).
const FEED_LOCK: i64 = 0x62_756b_7469;

#[derive(Debug, Clone)]
pub struct PgStore {
    pub(super) pool: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }
}

/// The columns of a batch, one array per column, for `unnest`.
#[derive(Default)]
struct Columns {
    id: Vec<String>,
    unit: Vec<String>,
    officer: Vec<String>,
    kind: Vec<String>,
    title: Vec<String>,
    status: Vec<String>,
    verdict: Vec<Option<String>>,
    state: Vec<String>,
    started_at: Vec<Option<i64>>,
    ended_at: Vec<Option<i64>>,
    captured_at: Vec<i64>,
    activity_at: Vec<i64>,
    lat: Vec<Option<f64>>,
    lon: Vec<Option<f64>>,
    place: Vec<String>,
    heads: Vec<String>,
    version: Vec<i64>,
    feed_seq: Vec<i64>,
}

#[async_trait]
impl EvidenceStore for PgStore {
    async fn health(&self) -> Result<(), StoreError> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn load_documents(
        &self,
        ids: &[RecordId],
    ) -> Result<HashMap<RecordId, StoredDoc>, StoreError> {
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let found = sqlx::query(
            "select r.record_id, r.version, r.unit, d.doc from record r \
             join record_doc d on d.record_id = r.record_id where r.record_id = any($1)",
        )
        .bind(&ids)
        .fetch_all(&self.pool)
        .await?;
        found.iter().map(rows::stored_doc).collect()
    }

    async fn write_records(&self, writes: &[RecordWrite]) -> Result<Vec<WriteOutcome>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("select pg_advisory_xact_lock($1)")
            .bind(FEED_LOCK)
            .execute(&mut *tx)
            .await?;
        let last: i64 = sqlx::query_scalar("select coalesce(max(feed_seq), 0) from record")
            .fetch_one(&mut *tx)
            .await?;
        let now = jiff::Timestamp::now().as_millisecond();
        let mut c = Columns::default();
        for (i, w) in writes.iter().enumerate() {
            let p = &w.projection;
            c.id.push(w.id.to_string());
            c.unit.push(p.unit.clone());
            c.officer.push(p.officer.clone());
            c.kind.push(p.kind.clone());
            c.title.push(p.title.clone());
            c.status.push(p.status.to_owned());
            c.verdict.push(p.verdict.map(str::to_owned));
            c.state.push(p.state.to_owned());
            c.started_at.push(p.started_at);
            c.ended_at.push(p.ended_at);
            c.captured_at.push(p.captured_at);
            c.activity_at.push(p.activity_at);
            c.lat.push(p.lat);
            c.lon.push(p.lon);
            c.place.push(p.place.clone());
            c.heads.push(heads_json(&w.heads));
            c.version.push(w.expected_version.map_or(1, |v| v + 1));
            c.feed_seq.push(last + 1 + i as i64);
        }
        // New records insert; existing ones are replaced only at the version the writer merged
        // into. Rows that lost that race are simply not returned.
        let written: Vec<String> = sqlx::query_scalar(
            "insert into record (record_id, unit, officer, kind, title, status, verdict, started_at, ended_at, \
             captured_at, activity_at, lat, lon, place, heads, version, feed_seq, state, created_at, updated_at) \
             select *, $19, $19 from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
             $7::text[], $8::int8[], $9::int8[], $10::int8[], $11::int8[], $12::float8[], $13::float8[], $14::text[], \
             $15::text[], $16::int8[], $17::int8[], $18::text[]) \
             on conflict (record_id) do update set unit = excluded.unit, officer = excluded.officer, \
             kind = excluded.kind, title = excluded.title, status = excluded.status, verdict = excluded.verdict, \
             state = excluded.state, \
             started_at = excluded.started_at, ended_at = excluded.ended_at, captured_at = excluded.captured_at, \
             activity_at = excluded.activity_at, lat = excluded.lat, lon = excluded.lon, place = excluded.place, \
             heads = excluded.heads, version = excluded.version, feed_seq = excluded.feed_seq, \
             updated_at = excluded.updated_at \
             where record.version = excluded.version - 1 \
             returning record_id",
        )
        .bind(&c.id)
        .bind(&c.unit)
        .bind(&c.officer)
        .bind(&c.kind)
        .bind(&c.title)
        .bind(&c.status)
        .bind(&c.verdict)
        .bind(&c.started_at)
        .bind(&c.ended_at)
        .bind(&c.captured_at)
        .bind(&c.activity_at)
        .bind(&c.lat)
        .bind(&c.lon)
        .bind(&c.place)
        .bind(&c.heads)
        .bind(&c.version)
        .bind(&c.feed_seq)
        .bind(&c.state)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let written: std::collections::HashSet<&str> = written.iter().map(String::as_str).collect();
        let mut doc_ids = Vec::new();
        let mut docs = Vec::new();
        let (mut lke_ids, mut lke_codes, mut lke_areas) = (Vec::new(), Vec::new(), Vec::new());
        let outcomes = writes
            .iter()
            .zip(&c.id)
            .map(|(w, id)| {
                if !written.contains(id.as_str()) {
                    return WriteOutcome::Conflict;
                }
                doc_ids.push(id.clone());
                docs.push(w.doc.clone());
                for (code, area) in &w.projection.lke {
                    lke_ids.push(id.clone());
                    lke_codes.push(code.clone());
                    lke_areas.push(area.clone());
                }
                WriteOutcome::Written
            })
            .collect();
        sqlx::query(
            "insert into record_doc (record_id, doc) select * from unnest($1::text[], $2::bytea[]) \
             on conflict (record_id) do update set doc = excluded.doc",
        )
        .bind(&doc_ids)
        .bind(&docs)
        .execute(&mut *tx)
        .await?;
        sqlx::query("delete from record_lke where record_id = any($1)")
            .bind(&doc_ids)
            .execute(&mut *tx)
            .await?;
        sqlx::query("insert into record_lke (record_id, code, area) select * from unnest($1::text[], $2::text[], $3::text[])")
            .bind(&lke_ids)
            .bind(&lke_codes)
            .bind(&lke_areas)
            .execute(&mut *tx)
            .await?;
        let written_photos = writes
            .iter()
            .zip(&c.id)
            .filter(|(_, id)| written.contains(id.as_str()))
            .map(|(w, id)| (id, w.projection.photos.as_slice()));
        super::photos::write_pg(&mut tx, written_photos).await?;
        let written_text = writes
            .iter()
            .zip(&c.id)
            .filter(|(_, id)| written.contains(id.as_str()))
            .map(|(w, id)| (id, &w.projection));
        super::search::write_pg(&mut tx, written_text).await?;
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
        let sql = query::feed(Dialect::Postgres, scope, officer, since, limit);
        bind_all(&sql)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(rows::feed_item)
            .collect()
    }

    async fn list(&self, scope: &UnitPath, filter: &ListFilter) -> Result<Page, StoreError> {
        let Some(sql) = query::list(Dialect::Postgres, scope, filter)? else {
            return Ok(Page {
                records: Vec::new(),
                next_cursor: None,
            });
        };
        let rows = bind_all(&sql).fetch_all(&self.pool).await?;
        rows::page(&rows, filter)
    }

    async fn get(
        &self,
        scope: &UnitPath,
        id: RecordId,
    ) -> Result<Option<(RecordSummary, StoredDoc)>, StoreError> {
        let sql = query::get(Dialect::Postgres, scope, &id.to_string());
        let Some(row) = bind_all(&sql).fetch_optional(&self.pool).await? else {
            return Ok(None);
        };
        rows::summary_and_doc(&row).map(Some)
    }
}
