//! `bukti-server rebuild-projection`: damage the relational projection with SQL (wrong columns,
//! missing and bogus LKE rows, lost photo references), rebuild it from the stored documents, and
//! check it is again exactly what ingest wrote from those documents, feed positions and versions
//! included, so devices pull nothing again.

use bukti_core::{
    device::{Capture, PhotoInput},
    record::Location,
};
use bukti_server::ops::rebuild_projection;
use bukti_tests::{Backend, TestServer, both_stores, fixture};
use serde_json::json;
use sqlx::{PgPool, SqlitePool, sqlite::SqliteConnectOptions};

/// The projection tables as text, one line per row, in the same SQL for both databases.
const SNAPSHOT: [&str; 3] = [
    "select record_id || '|' || unit || '|' || officer || '|' || kind || '|' || title || '|' || status \
     || '|' || coalesce(verdict, '-') || '|' || state || '|' || coalesce(cast(started_at as text), '-') \
     || '|' || coalesce(cast(ended_at as text), '-') || '|' || cast(captured_at as text) \
     || '|' || cast(activity_at as text) || '|' || coalesce(cast(lat as text), '-') \
     || '|' || coalesce(cast(lon as text), '-') || '|' || place || '|' || heads \
     || '|' || cast(version as text) || '|' || cast(feed_seq as text) \
     || '|' || cast(created_at as text) || '|' || cast(updated_at as text) from record order by 1",
    "select record_id || '|' || code || '|' || area from record_lke order by 1",
    "select record_id || '|' || photo || '|' || role || '|' || hash || '|' || cast(size as text) \
     || '|' || content_type from record_photo order by 1",
];

/// A direct connection to the server's database, for what no API may do: damage it.
enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Db {
    async fn open(server: &TestServer) -> Db {
        match &server.settings.database_url {
            Some(url) => Db::Postgres(PgPool::connect(url).await.expect("connect")),
            None => {
                let file = server.settings.data_dir.join("evidence.db");
                let options = SqliteConnectOptions::new().filename(file);
                Db::Sqlite(SqlitePool::connect_with(options).await.expect("open"))
            }
        }
    }

    async fn execute(&self, sql: &str) -> u64 {
        match self {
            Db::Sqlite(p) => sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(p)
                .await
                .expect(sql)
                .rows_affected(),
            Db::Postgres(p) => sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(p)
                .await
                .expect(sql)
                .rows_affected(),
        }
    }

    async fn lines(&self, sql: &str) -> Vec<String> {
        match self {
            Db::Sqlite(p) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_all(p)
                .await
                .expect(sql),
            Db::Postgres(p) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_all(p)
                .await
                .expect(sql),
        }
    }

    async fn snapshot(&self) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        for sql in SNAPSHOT {
            out.push(self.lines(sql).await);
        }
        out
    }
}

fn patrol(i: usize) -> Capture {
    Capture {
        kind: "sambang".into(),
        title: format!("Sambang Desa {i}"),
        place: format!("Balai Desa {i}"),
        started_at: Some(jiff::Timestamp::now()),
        location: Some(Location {
            lat: -8.12,
            lon: 115.17,
            accuracy_m: Some(8.0),
            source: "gps".into(),
        }),
        submit: true,
        ..Capture::default()
    }
}

async fn a_damaged_projection_is_rebuilt_from_the_documents(backend: Backend) {
    let server = TestServer::start(backend).await;
    let unit = "bali/buleleng/sawan";
    let officer = server.device(unit, "87050001").await;
    let mut ids = Vec::new();
    for i in 0..23 {
        ids.push(officer.device.capture(patrol(i)).await.expect("capture"));
    }
    let photo = PhotoInput::camera(fixture("scene.jpg"));
    let with_photo = officer
        .device
        .capture_with_photos(patrol(99), vec![photo])
        .await
        .expect("capture with a photo");
    officer.sync().await;
    let reviewer = server.hq(&server.hq_token("bali/buleleng", "Kasat", "reviewer").await);
    server.forward(ids[3]).await;
    server.forward(ids[5]).await;
    let (status, body) = reviewer
        .post(
            &format!("/records/{}/review", ids[3]),
            &json!({"verdict": "needs_revision", "comment": "Lengkapi daftar hadir"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    officer.sync().await;
    // The officer revises: that state shows only in the document's history.
    officer
        .device
        .edit(ids[3], |r| r.counts.participants = Some(30))
        .await
        .expect("revise");
    officer.sync().await;
    let cursor = officer.device.status().await.expect("status").pull_cursor;

    let db = Db::open(&server).await;
    let good = db.snapshot().await;
    assert_eq!(good[0].len(), 24, "every record has its projection row");
    assert!(!good[1].is_empty() && !good[2].is_empty());
    assert!(
        good[0]
            .iter()
            .any(|l| l.contains("needs_revision|revised|"))
    );
    assert!(good[0].iter().any(|l| l.contains("|-|forwarded|")));

    let (a, b, c, d) = (ids[0], ids[3], ids[7], ids[5]);
    db.execute(&format!(
        "update record set title = 'RUSAK', status = 'draft', verdict = null, unit = 'bali/lain', \
         place = '', lat = 0, heads = '[]', state = 'captured' where record_id in ('{a}', '{b}', '{d}')"
    ))
    .await;
    db.execute(&format!("delete from record_lke where record_id = '{c}'"))
        .await;
    db.execute(&format!(
        "insert into record_lke (record_id, code, area) values ('{a}', 'ZZ.P9', 'ZZ')"
    ))
    .await;
    assert!(db.execute("delete from record_photo").await >= 2);
    let damaged = db.snapshot().await;
    assert_ne!(damaged, good, "the damage shows in the projection");
    // HQ sees the damage: the photo is no longer referenced, a record left the unit.
    let (status, _) = reviewer.get(&format!("/records/{b}")).await;
    assert_eq!(status, 404);

    // Small batches, so the walk crosses several of them.
    let report = rebuild_projection(&server.store, 5).await.expect("rebuild");
    assert_eq!(report.records, 24);
    assert_eq!(report.rewritten, 24);
    assert!(report.unreadable.is_empty(), "{:?}", report.unreadable);
    assert_eq!(
        db.snapshot().await,
        good,
        "the rebuilt projection is what ingest derived from the same documents, \
         feed positions, versions and times included"
    );

    let (status, body) = reviewer.get(&format!("/records/{b}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["record"]["review"]["verdict"], "needs_revision");
    let photos = officer
        .device
        .record(with_photo)
        .await
        .expect("read")
        .expect("held")
        .photos;
    let derivative = photos
        .values()
        .next()
        .and_then(|p| p.derivative.clone())
        .expect("a derivative");
    let resp = reqwest::Client::new()
        .get(format!("{}/api/v1/blobs/{}", server.url, derivative.hash))
        .bearer_auth(&reviewer.token)
        .send()
        .await
        .expect("GET blob");
    assert_eq!(resp.status(), 200, "the photo is referenced again");

    // Nothing moved in the feed: the device pulls nothing and keeps its cursor.
    let again = officer.sync().await;
    assert_eq!((again.pulled, again.pushed), (0, 0), "{again:?}");
    assert_eq!(
        officer.device.status().await.expect("status").pull_cursor,
        cursor
    );
    server.finish().await;
}

async fn a_rebuild_beside_pushes_loses_no_edit(backend: Backend) {
    let server = TestServer::start(backend).await;
    let officer = server.device("bali/buleleng/banjar", "87050002").await;
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(officer.device.capture(patrol(i)).await.expect("capture"));
    }
    officer.sync().await;
    for (n, id) in ids.iter().enumerate() {
        officer
            .device
            .edit(*id, |r| r.title = format!("Sambang Desa {n} (diperbaiki)"))
            .await
            .expect("edit");
    }
    let store = server.store.clone();
    let (report, pushed) = tokio::join!(
        rebuild_projection(&store, 3),
        officer.device.sync(&bukti_core::device::NoProgress)
    );
    let report = report.expect("rebuild");
    assert_eq!(pushed.expect("sync").pushed, 40);
    assert_eq!(report.records, 40);
    assert_eq!(report.rewritten + report.raced, 40);
    let db = Db::open(&server).await;
    let titles = db
        .lines("select title from record order by record_id")
        .await;
    assert!(
        titles.iter().all(|t| t.ends_with("(diperbaiki)")),
        "a rebuild racing a push never puts an older projection back: {titles:?}"
    );
    server.finish().await;
}

both_stores!(
    a_damaged_projection_is_rebuilt_from_the_documents,
    a_rebuild_beside_pushes_loses_no_edit
);
