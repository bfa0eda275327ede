//! Upgraded stores reach a whole search index: the migration that added it indexes the records
//! stored before it, and after SQLite's index was rebuilt without prefix indexes (0020) the
//! server indexes every record from its document in the background as it starts, never over
//! what a push wrote meanwhile.

use serde_json::json;

use super::*;

both_stores!(
    the_migration_indexes_existing_records,
    indexing_leaves_a_record_a_push_indexed_as_the_push_wrote_it,
);

/// One value from the SQLite store of `server`, read over a connection of the test's own.
async fn sqlite_scalar<T>(server: &TestServer, sql: &str) -> T
where
    T: Send + Unpin + for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    use sqlx::Connection;
    let file = server.settings.data_dir.join("evidence.db");
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display()))
        .await
        .expect("sqlite");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&mut c)
        .await
        .expect(sql)
}

/// SQLite's migration 0020 rebuilds the search index without its prefix indexes, and empty (the
/// index keeps no text to copy). A server started on a store so upgraded serves at once and
/// indexes every record from its document in the background, in batches; searches then find
/// each by title, place and narrative, the last word still matching as a prefix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgraded_store_is_indexed_again_from_the_documents_as_the_server_starts() {
    let mut server = TestServer::start(Backend::Sqlite).await;
    let device = server.raw_device(SAWAN, "87010001").await;
    let n = 1_100;
    for part in (0..n).collect::<Vec<_>>().chunks(300) {
        let records: Vec<_> = part
            .iter()
            .map(|i| {
                let mut r = record(
                    SAWAN,
                    "87010001",
                    "sambang",
                    &format!("Sambang judul{i:04}"),
                    &format!("Banjar tempat{i:04}"),
                    &format!("Warga cerita{i:04}"),
                );
                r.started_at = Some(r.captured_at);
                let mut doc = RecordDoc::create(&r, device.actor.clone(), "officer:87010001");
                bukti_tests::push_entry(&mut doc)
            })
            .collect();
        let (_, answer) = server
            .device_post(&device.token, "/sync/push", &json!({"records": records}))
            .await;
        let results = answer["results"].as_array().expect("results");
        assert!(
            results.iter().all(|r| r["status"] == "accepted"),
            "{answer}"
        );
    }
    assert_eq!(
        sqlite_scalar::<i64>(&server, "select count(*) from record_search").await,
        n
    );

    // As the migration finds a store from before it: run it again on one holding records.
    server
        .execute_sql("delete from _sqlx_migrations where version = 20")
        .await
        .expect("forget 0020");
    server.restart().await;
    let definition: String = sqlite_scalar(
        &server,
        "select sql from sqlite_master where name = 'record_fts'",
    )
    .await;
    assert!(!definition.contains("prefix"), "{definition}");
    let ran = "select count(*) from _sqlx_migrations where version = 20 and success";
    assert_eq!(
        sqlite_scalar::<i64>(&server, ran).await,
        1,
        "0020 ran on the store"
    );

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while sqlite_scalar::<i64>(&server, "select count(*) from record_search").await < n {
        assert!(
            std::time::Instant::now() < deadline,
            "the server did not index the upgraded store"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let admin = server.admin_token.clone();
    let found = async |q: String| ids(&server, &admin, &[("q", &q)]).await.len();
    for i in [0, 499, 500, 777, n - 1] {
        for word in ["judul", "tempat", "cerita"] {
            assert_eq!(found(format!("{word}{i:04}")).await, 1, "{word}{i:04}");
        }
    }
    assert_eq!(
        found("sambang judul109".into()).await,
        10,
        "judul1090..1099: the last word a prefix"
    );
    assert_eq!(found("cerita10".into()).await, 100);
    server
        .execute_sql("insert into record_fts(record_fts) values('integrity-check')")
        .await
        .expect("FTS5 integrity");
    // Done, the task is struck off: later starts do not look for records to index.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while sqlite_scalar::<i64>(&server, "select count(*) from pending_task").await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the task stayed pending"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    server.finish().await;
}

/// The background indexing writes only records still without a search row: one a push indexed
/// after the indexing read its document keeps what the push wrote.
async fn indexing_leaves_a_record_a_push_indexed_as_the_push_wrote_it(backend: Backend) {
    let server = TestServer::start(backend).await;
    let device = server.raw_device(SAWAN, "87010001").await;
    let mut doc = device.record_doc("Sambang terbaru");
    let (_, answer) = server
        .device_post(
            &device.token,
            "/sync/push",
            &json!({"records": [bukti_tests::push_entry(&mut doc)]}),
        )
        .await;
    assert_eq!(answer["results"][0]["status"], "accepted", "{answer}");
    let rows = server
        .store
        .documents_after(None, 10)
        .await
        .expect("documents");
    let areas = bukti_server::flags::UnitAreas::load(&server.store)
        .await
        .expect("areas");
    let mut stale = bukti_server::ops::rebuild::derive(&rows[0], &areas).expect("derive");
    stale.projection.title = "Sambang basi".into();
    let written = server
        .store
        .index_for_search(&[stale])
        .await
        .expect("index");
    assert_eq!(written, 0);
    let admin = server.admin_token.clone();
    assert_eq!(ids(&server, &admin, &[("q", "basi")]).await.len(), 0);
    assert_eq!(ids(&server, &admin, &[("q", "terbaru")]).await.len(), 1);
    server.finish().await;
}

/// Records stored before the search migration, in the tables as they were ([`old_docs`] holds
/// their documents).
const OLD_ROWS: &str = "
insert into record (record_id, unit, officer, kind, title, status, captured_at, activity_at,
    place, heads, version, feed_seq, created_at, updated_at) values
  ('0193a000-0000-7000-8000-000000000001', 'bali/buleleng/sawan', '87010001', 'sambang',
   'Sambang Desa Sudaji', 'submitted', 1, 1, 'Balai Banjar', '[]', 1, 1, 1, 1),
  ('0193a000-0000-7000-8000-000000000002', 'bali/buleleng/sawan', '87010001', 'patroli',
   'Patroli malam', 'submitted', 2, 2, 'Pasar Sawan', '[]', 1, 2, 1, 1);
";

/// The documents of [`OLD_ROWS`]: the narrative lives only there.
fn old_docs() -> Vec<(String, Vec<u8>)> {
    [
        (
            "1",
            "Sambang Desa Sudaji",
            "Balai Banjar",
            "Warga membahas ronda",
        ),
        ("2", "Patroli malam", "Pasar Sawan", "Lampu jalan padam"),
    ]
    .into_iter()
    .map(|(n, title, place, narrative)| {
        let mut r = record(SAWAN, "87010001", "sambang", title, place, narrative);
        r.id = format!("0193a000-0000-7000-8000-00000000000{n}")
            .parse()
            .expect("id");
        let mut doc = RecordDoc::create(&r, automerge::ActorId::random(), "officer:87010001");
        (r.id.to_string(), doc.save())
    })
    .collect()
}

/// Migrates the connection `$c` up to `$version`, the last before the search migration, and
/// stores [`OLD_ROWS`] with their documents.
macro_rules! store_before_search {
    ($c:expr, $migrator:expr, $version:expr) => {{
        let mut c = $c;
        $migrator
            .run_to($version, &mut c)
            .await
            .expect("schema before search");
        c.execute(OLD_ROWS).await.expect("old rows");
        for (id, doc) in old_docs() {
            let q = sqlx::query("insert into record_doc (record_id, doc) values ($1, $2)");
            q.bind(id)
                .bind(doc)
                .execute(&mut c)
                .await
                .expect("old documents");
        }
        c.close().await.expect("close");
    }};
}

async fn the_migration_indexes_existing_records(backend: Backend) {
    use bukti_server::store::{self, ListFilter};
    use sqlx::{Connection, Executor};
    let data = tempfile::tempdir().expect("data folder");
    let (opened, url): (store::DynStore, Option<String>) = match backend {
        Backend::Sqlite => {
            let file = data.path().join("evidence.db");
            let url = format!("sqlite://{}?mode=rwc", file.display());
            let c = sqlx::SqliteConnection::connect(&url).await.expect("sqlite");
            store_before_search!(c, store::sqlite::MIGRATOR, 7);
            let s = store::sqlite::SqliteStore::open(data.path())
                .await
                .expect("open and migrate");
            (std::sync::Arc::new(s), None)
        }
        Backend::Postgres => {
            let url = bukti_tests::fresh_postgres_database().await;
            let c = sqlx::PgConnection::connect(&url).await.expect("postgres");
            store_before_search!(c, store::postgres::MIGRATOR, 8);
            let s = store::postgres::PgStore::connect(&url)
                .await
                .expect("open and migrate");
            (std::sync::Arc::new(s), Some(url))
        }
    };
    // SQLite's index was rebuilt empty (0020) and the server indexes the records from their
    // documents as it starts; PostgreSQL's migration indexed their title and place at once.
    let report = bukti_server::ops::search_index::index_missing(&opened, 1)
        .await
        .expect("index");
    let sqlite = backend == Backend::Sqlite;
    assert_eq!(report.indexed, if sqlite { 2 } else { 0 });
    assert_eq!(report.unreadable, 0);
    let again = bukti_server::ops::search_index::index_missing(&opened, 1)
        .await
        .expect("index again");
    assert_eq!(again.indexed, 0, "nothing left to index");
    let scope = bukti_core::unit::UnitPath::parse("bali").expect("unit");
    for (q, n) in [
        ("ronda", usize::from(sqlite)),
        ("padam", usize::from(sqlite)),
        ("sudaji", 1),
        ("pasar", 1),
        ("sawan", 1),
        ("balai", 1),
        ("pat", 1),
        ("desa malam", 0),
    ] {
        let filter = ListFilter {
            q: Some(q.into()),
            ..Default::default()
        };
        let page = opened.list(&scope, &filter).await.expect("list");
        assert_eq!(page.records.len(), n, "{q}");
    }
    let by_title = ListFilter {
        sort: Some("title".into()),
        ..Default::default()
    };
    let titles: Vec<String> = opened
        .list(&scope, &by_title)
        .await
        .expect("list")
        .records
        .into_iter()
        .map(|r| r.title)
        .collect();
    assert_eq!(titles, ["Patroli malam", "Sambang Desa Sudaji"]);
    drop(opened);
    if let Some(url) = url {
        let admin = std::env::var("BUKTI_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        if let (Ok(mut c), Some((_, name))) = (
            sqlx::PgConnection::connect(&admin).await,
            url.rsplit_once('/'),
        ) {
            let _ = c
                .execute(sqlx::AssertSqlSafe(format!(
                    "drop database if exists {name} with (force)"
                )))
                .await;
        }
    }
}
