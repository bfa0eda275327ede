//! Grandfathering by the `blob_holder` migration: a store made before it, with photos already
//! uploaded, keeps every photo its records could show. Each officer whose record named a complete
//! blob holds it afterwards; a blob that never arrived is held by nobody. On SQLite and
//! PostgreSQL, from the schema just before the migration.

use bukti_tests::{Backend, both_stores, bukti_server::store};
use sqlx::{Connection, Executor};

both_stores!(complete_blobs_named_by_records_are_held_by_their_officers);

const HELD: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const WAITING: &str = "2222222222222222222222222222222222222222222222222222222222222222";

/// Two records of two officers naming the same complete blob, and one naming a blob that never
/// arrived, in the tables as they were before `blob_holder`.
const OLD_ROWS: &str = "
insert into record (record_id, unit, officer, kind, title, status, captured_at, activity_at,
    place, heads, version, feed_seq, created_at, updated_at) values
  ('r1', 'bali/buleleng/sawan', '87010001', 'sambang', 'A', 'submitted', 1, 1, '', '[]', 1, 1, 1, 1),
  ('r2', 'bali/buleleng/gerokgak', '87020002', 'sambang', 'B', 'submitted', 1, 1, '', '[]', 1, 2, 1, 1);
insert into record_photo (record_id, photo, role, hash, size, content_type) values
  ('r1', '1111111111111111111111111111111111111111111111111111111111111111', 'original',
   '1111111111111111111111111111111111111111111111111111111111111111', 5, 'image/jpeg'),
  ('r2', '1111111111111111111111111111111111111111111111111111111111111111', 'original',
   '1111111111111111111111111111111111111111111111111111111111111111', 5, 'image/jpeg'),
  ('r2', '2222222222222222222222222222222222222222222222222222222222222222', 'original',
   '2222222222222222222222222222222222222222222222222222222222222222', 5, 'image/jpeg');
insert into blob (hash, size, content_type, stored_at) values
  ('1111111111111111111111111111111111111111111111111111111111111111', 5, 'image/jpeg', 7);
";

async fn complete_blobs_named_by_records_are_held_by_their_officers(backend: Backend) {
    let data = tempfile::tempdir().expect("data folder");
    let opened: store::DynStore = match backend {
        Backend::Sqlite => {
            let file = data.path().join("evidence.db");
            let url = format!("sqlite://{}?mode=rwc", file.display());
            let mut c = sqlx::SqliteConnection::connect(&url).await.expect("sqlite");
            store::sqlite::MIGRATOR
                .run_to(4, &mut c)
                .await
                .expect("schema before blob_holder");
            c.execute(OLD_ROWS).await.expect("old rows");
            c.close().await.expect("close");
            std::sync::Arc::new(
                store::sqlite::SqliteStore::open(data.path())
                    .await
                    .expect("open and migrate"),
            )
        }
        Backend::Postgres => {
            let url = bukti_tests::fresh_postgres_database().await;
            let mut c = sqlx::PgConnection::connect(&url).await.expect("postgres");
            store::postgres::MIGRATOR
                .run_to(5, &mut c)
                .await
                .expect("schema before blob_holder");
            c.execute(OLD_ROWS).await.expect("old rows");
            c.close().await.expect("close");
            let pg = store::postgres::PgStore::connect(&url)
                .await
                .expect("open and migrate");
            check(&pg).await;
            drop(pg);
            drop_database(&url).await;
            return;
        }
    };
    check(opened.as_ref()).await;
}

async fn check(store: &dyn store::EvidenceStore) {
    let asked = [HELD.to_owned(), WAITING.to_owned()];
    for officer in ["87010001", "87020002"] {
        let held = store.held(officer, &asked).await.expect("held");
        assert_eq!(held, [HELD.to_owned()].into(), "{officer}");
    }
    let nobody = store.held("87010003", &asked).await.expect("held");
    assert!(nobody.is_empty(), "{nobody:?}");
}

async fn drop_database(url: &str) {
    let Some((server, name)) = url.rsplit_once('/') else {
        return;
    };
    let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres"))
        .await
        .expect("postgres admin");
    let sql = format!("drop database if exists {name} with (force)");
    admin
        .execute(sqlx::AssertSqlSafe(sql))
        .await
        .expect("drop test database");
}
