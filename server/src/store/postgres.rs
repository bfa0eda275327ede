//! The evidence store on PostgreSQL, for several stateless server processes over one database.
//!
//! A batch is written with a handful of array statements (`unnest`) rather than one round trip
//! per record. Feed positions are assigned under a transaction-scoped advisory lock, so they are
//! handed out in commit order: a reader that has seen position N never later finds a record
//! committed at a position below N (plain sequences do not promise that under concurrency).
//!
//! The SQL is shared with SQLite ([`super::records`] and the other store modules); what is
//! PostgreSQL's own is connecting and the three dialect functions at the end.

use std::collections::HashSet;

use sqlx::{PgConnection, PgPool, Postgres, Transaction, postgres::PgPoolOptions};

use super::{
    StoreError,
    records::{RecordRow, upsert_sql},
};
use crate::projection::Projection;

/// `migrations/server-postgres`, embedded by `build.rs`.
pub static MIGRATOR: std::sync::LazyLock<sqlx::migrate::Migrator> =
    std::sync::LazyLock::new(|| {
        sqlx::migrate::Migrator::with_migrations(include!(concat!(
            env!("OUT_DIR"),
            "/migrations_postgres.rs"
        )))
    });

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
struct Columns<'a> {
    id: Vec<&'a str>,
    unit: Vec<&'a str>,
    officer: Vec<&'a str>,
    kind: Vec<&'a str>,
    title: Vec<&'a str>,
    status: Vec<&'a str>,
    verdict: Vec<Option<&'a str>>,
    state: Vec<&'a str>,
    started_at: Vec<Option<i64>>,
    ended_at: Vec<Option<i64>>,
    captured_at: Vec<i64>,
    activity_at: Vec<i64>,
    lat: Vec<Option<f64>>,
    lon: Vec<Option<f64>>,
    place: Vec<&'a str>,
    heads: Vec<&'a str>,
    version: Vec<i64>,
    feed_seq: Vec<i64>,
}

impl<'a> Columns<'a> {
    fn of(rows: &'a [RecordRow<'a>]) -> Self {
        let mut c = Columns::default();
        for r in rows {
            let p = &r.write.projection;
            c.id.push(&r.id);
            c.unit.push(&p.unit);
            c.officer.push(&p.officer);
            c.kind.push(&p.kind);
            c.title.push(&p.title);
            c.status.push(p.status);
            c.verdict.push(p.verdict);
            c.state.push(p.state);
            c.started_at.push(p.started_at);
            c.ended_at.push(p.ended_at);
            c.captured_at.push(p.captured_at);
            c.activity_at.push(p.activity_at);
            c.lat.push(p.lat);
            c.lon.push(p.lon);
            c.place.push(&p.place);
            c.heads.push(&r.heads);
            c.version.push(r.version);
            c.feed_seq.push(r.feed_seq);
        }
        c
    }
}

/// The dialect functions (see [`super::records`]).
impl PgStore {
    /// A write transaction that holds `lock` (a transaction-scoped advisory lock) until it ends,
    /// so writers of the same kind run one after another across every server process.
    pub(super) async fn begin_serialised(
        &self,
        lock: i64,
    ) -> Result<Transaction<'static, Postgres>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("select pg_advisory_xact_lock($1)")
            .bind(lock)
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// Upserts the record rows in one array statement and the documents of those written in
    /// another; returns the ids written (rows that lost the version race are not returned).
    pub(super) async fn upsert_records(
        tx: &mut PgConnection,
        rows: &[RecordRow<'_>],
        now: i64,
    ) -> Result<HashSet<String>, StoreError> {
        let c = Columns::of(rows);
        let sql = upsert_sql(
            "select *, $19, $19 from unnest($1::text[], $2::text[], $3::text[], $4::text[], \
             $5::text[], $6::text[], $7::text[], $8::text[], $9::int8[], $10::int8[], \
             $11::int8[], $12::int8[], $13::float8[], $14::float8[], $15::text[], $16::text[], \
             $17::int8[], $18::int8[])",
        );
        let written: HashSet<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(&c.id)
            .bind(&c.unit)
            .bind(&c.officer)
            .bind(&c.kind)
            .bind(&c.title)
            .bind(&c.status)
            .bind(&c.verdict)
            .bind(&c.state)
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
            .bind(now)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
        let (ids, docs): (Vec<&str>, Vec<&[u8]>) = rows
            .iter()
            .filter(|r| written.contains(&r.id))
            .map(|r| (r.id.as_str(), r.write.doc.as_slice()))
            .unzip();
        sqlx::query(
            "insert into record_doc (record_id, doc) select * from unnest($1::text[], $2::bytea[]) \
             on conflict (record_id) do update set doc = excluded.doc",
        )
        .bind(&ids)
        .bind(&docs)
        .execute(&mut *tx)
        .await?;
        Ok(written)
    }

    /// Replaces the LKE, photo and search rows of the written records, a few array statements
    /// for the whole batch.
    pub(super) async fn replace_derived(
        tx: &mut PgConnection,
        written: &[(&str, &Projection)],
    ) -> Result<(), StoreError> {
        let ids: Vec<&str> = written.iter().map(|(id, _)| *id).collect();
        let (mut lke_ids, mut codes, mut areas) = (Vec::new(), Vec::new(), Vec::new());
        for (id, p) in written {
            for (code, area) in &p.lke {
                lke_ids.push(*id);
                codes.push(code.as_str());
                areas.push(area.as_str());
            }
        }
        sqlx::query("delete from record_lke where record_id = any($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "insert into record_lke (record_id, code, area) \
             select * from unnest($1::text[], $2::text[], $3::text[])",
        )
        .bind(&lke_ids)
        .bind(&codes)
        .bind(&areas)
        .execute(&mut *tx)
        .await?;
        super::photos::write_pg(tx, written).await?;
        super::search::write_pg(tx, written).await?;
        super::flags::write_pg(tx, written).await?;
        Ok(())
    }
}
