//! The indexes SQLite picks for HQ's lists, read with `explain query plan` on a migrated store.
//! `record_state` is partial (migration 0019: it leaves out `captured`, the state every push
//! adds), so the work queues must state its predicate to walk it; a list of `captured` records
//! walks another index in activity order, never a sort of the whole table.

use bukti_core::unit::UnitPath;
use bukti_server::store::{
    ListFilter, bind_all,
    query::{self, Dialect},
    sqlite::MIGRATOR,
};
use sqlx::{Connection, Row, SqliteConnection};

async fn migrated() -> (SqliteConnection, tempfile::TempDir) {
    let data = tempfile::tempdir().expect("data folder");
    let url = format!(
        "sqlite://{}?mode=rwc",
        data.path().join("evidence.db").display()
    );
    let mut c = SqliteConnection::connect(&url).await.expect("sqlite");
    MIGRATOR.run(&mut c).await.expect("migrate");
    (c, data)
}

/// The plan's steps, one per line, for HQ's list under `scope` with `filter`.
async fn plan(c: &mut SqliteConnection, scope: &str, filter: &ListFilter) -> String {
    let scope = UnitPath::parse(scope).expect("unit");
    let sql = query::list(Dialect::Sqlite, &scope, filter)
        .expect("a valid filter")
        .expect("in scope");
    let explain = query::Sql {
        text: format!("explain query plan {}", sql.text),
        binds: sql.binds,
    };
    let rows = bind_all(&explain)
        .fetch_all(&mut *c)
        .await
        .expect("explain");
    rows.iter()
        .map(|r| r.get::<String, _>("detail"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn in_state(state: &str) -> ListFilter {
    ListFilter {
        state: Some(state.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn every_work_queue_walks_the_partial_state_index() {
    let (mut c, _data) = migrated().await;
    for state in [
        "ready",
        "forwarded",
        "verified",
        "needs_revision",
        "revised",
        "rejected",
    ] {
        for scope in ["bali", "bali/buleleng", "bali/buleleng/sawan"] {
            let plan = plan(&mut c, scope, &in_state(state)).await;
            assert!(
                plan.contains("USING INDEX record_state"),
                "the {state} queue under {scope} does not walk record_state:\n{plan}"
            );
            assert!(
                !plan.contains("TEMP B-TREE FOR ORDER BY"),
                "the {state} queue under {scope} sorts:\n{plan}"
            );
        }
    }
}

#[tokio::test]
async fn captured_records_are_listed_in_activity_order_without_the_state_index() {
    let (mut c, _data) = migrated().await;
    for scope in ["bali", "bali/buleleng/sawan"] {
        let plan = plan(&mut c, scope, &in_state("captured")).await;
        assert!(
            !plan.contains("record_state"),
            "the partial index holds no captured record:\n{plan}"
        );
        assert!(
            !plan.contains("TEMP B-TREE FOR ORDER BY"),
            "captured records under {scope} are sorted, not walked:\n{plan}"
        );
    }
}
