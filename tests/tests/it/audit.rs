//! The audit log end to end: views, verdicts and refused pushes are logged with the right actor;
//! `bukti-server audit verify`, run as the real binary, finds the chain intact and names the
//! first entry someone altered or deleted (after dropping the triggers that refuse both); two
//! server processes appending at once keep one valid chain; only admins read the log, and only
//! their subtree's entries.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Output, Stdio},
};

use bukti_core::{RecordDoc, record::Verdict};
use bukti_tests::{Backend, TestServer, both_stores, changes_b64, sample_record};
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection, SqliteConnection};

const SAWAN: &str = "bali/buleleng/sawan";

fn audit_verify(server: &TestServer) -> Output {
    crate::bins::server_command(server)
        .args(["audit", "verify"])
        .output()
        .expect("run bukti-server audit verify")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_intact(server: &TestServer, entries: usize) {
    let out = audit_verify(server);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.starts_with(&format!("audit log intact: {entries} entries, head ")),
        "{stdout}"
    );
}

fn assert_broken(server: &TestServer, named: &str) {
    let out = audit_verify(server);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(named), "expected {named:?} in: {stderr}");
}

/// A record pushed by a fresh device of Sawan; returns its id and the device's token.
async fn pushed_record(server: &TestServer) -> (String, String, RecordDoc) {
    let device = server.raw_device(SAWAN, "87010001").await;
    let mut doc = RecordDoc::create(
        &sample_record(SAWAN, &device.officer, "Pelayanan SKCK"),
        device.actor.clone(),
        "officer:87010001",
    );
    let id = doc.read().expect("record").id.to_string();
    let body = json!({"records": [{"id": id, "changes": changes_b64(&mut doc, &[])}]});
    let (status, answer) = server.device_post(&device.token, "/sync/push", &body).await;
    assert_eq!(
        answer["results"][0]["status"], "accepted",
        "{status} {answer}"
    );
    (id, device.token, doc)
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

async fn audit_entries(server: &TestServer, token: &str) -> Vec<Value> {
    let (status, page) = server.hq(token).get("/audit?limit=1000").await;
    assert_eq!(status, 200, "{page}");
    page["entries"].as_array().expect("entries").clone()
}

async fn views_reviews_and_refused_pushes_are_logged(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (id, device_token, mut doc) = pushed_record(&server).await;
    server.forward(&id).await;
    let reviewer = server.hq(&server
        .hq_token("bali/buleleng", "Kasat Binmas", "reviewer")
        .await);

    let (status, _) = reviewer.get(&format!("/records/{id}")).await;
    assert_eq!(status, 200);
    // The device gives its own record a verdict: refused, and logged.
    let before = doc.heads();
    doc.edit("officer:87010001", |r| {
        r.review.verdict = Some(Verdict::Valid);
    })
    .expect("edit");
    let push = json!({"records": [{"id": id, "changes": changes_b64(&mut doc, &before)}]});
    let (_, answer) = server.device_post(&device_token, "/sync/push", &push).await;
    assert_eq!(answer["results"][0]["status"], "rejected", "{answer}");

    let review = json!({"verdict": "valid", "comment": "Lengkap"});
    let (status, body) = reviewer
        .post(&format!("/records/{id}/review"), &review)
        .await;
    assert_eq!(status, 200, "{body}");

    let all = audit_entries(&server, &server.admin_token).await;
    let subject = format!("record:{id}");
    let entries: Vec<Value> = all
        .iter()
        .filter(|e| e["subject"] == subject.as_str())
        .cloned()
        .collect();
    let seen: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|e| {
            (
                str_of(&e["action"]),
                str_of(&e["actor"]["kind"]),
                str_of(&e["actor"]["name"]),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("verdict", "hq", "Kasat Binmas"),
            ("push_rejected", "device", "raw"),
            ("record_viewed", "hq", "Kasat Binmas"),
            ("forward", "hq", "Admin Polda"),
            ("curate", "hq", "Admin Polda"),
        ],
        "newest first: {entries:#?}"
    );
    assert_eq!(entries[1]["unit"], SAWAN);
    assert_eq!(entries[1]["detail"]["code"], "forbidden");
    assert_eq!(
        entries[0]["detail"],
        json!({"verdict": "valid", "reason": false, "comment": true})
    );
    assert_eq!(
        entries[4]["detail"],
        json!({"ready": true, "comment": false})
    );
    assert_eq!(entries[2]["unit"], SAWAN);
    assert_eq!(entries[1]["prev_hash"], entries[2]["hash"]);

    // Another sector's admin sees none of Sawan's entries; a viewer may not read the log.
    let kubutambahan = server
        .hq_token("bali/buleleng/kubutambahan", "Admin Kubutambahan", "admin")
        .await;
    let theirs = audit_entries(&server, &kubutambahan).await;
    assert!(theirs.iter().all(|e| e["unit"] != SAWAN), "{theirs:#?}");
    let viewer = server.hq_token("bali", "Asesor", "viewer").await;
    let (status, body) = server.hq(&viewer).get("/audit").await;
    assert_eq!(status, 403, "{body}");
    assert_intact(&server, all.len());
    server.finish().await;
}

/// Raw SQL on the test server's database, as someone with database access would run it.
enum Database {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl Database {
    async fn open(server: &TestServer) -> Database {
        match &server.settings.database_url {
            Some(url) => Database::Postgres(PgConnection::connect(url).await.expect("connect")),
            None => {
                let file = server.settings.data_dir.join("evidence.db");
                let url = format!("sqlite://{}", file.display());
                Database::Sqlite(SqliteConnection::connect(&url).await.expect("open"))
            }
        }
    }

    async fn run(&mut self, sql: &str) -> Result<u64, String> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        let done = match self {
            Database::Sqlite(c) => c.execute(sql).await.map(|r| r.rows_affected()),
            Database::Postgres(c) => c.execute(sql).await.map(|r| r.rows_affected()),
        };
        done.map_err(|e| e.to_string())
    }

    async fn drop_triggers(&mut self) {
        let sql = match self {
            Database::Sqlite(_) => {
                "drop trigger audit_entry_no_update; drop trigger audit_entry_no_delete"
            }
            Database::Postgres(_) => "drop trigger audit_entry_no_update_or_delete on audit_entry",
        };
        self.run(sql).await.expect("drop the triggers");
    }
}

async fn tampering_is_refused_and_caught(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (id, _, _) = pushed_record(&server).await;
    let admin = server.hq(&server.admin_token);
    for _ in 0..3 {
        assert_eq!(admin.get(&format!("/records/{id}")).await.0, 200);
    }
    // Enrollment may have logged entries before the views: aim at the last two views.
    let n = audit_entries(&server, &server.admin_token).await.len();
    let (second, third) = (n - 1, n);
    assert_intact(&server, n);

    let mut db = Database::open(&server).await;
    let rename = format!("update audit_entry set actor_name = 'Orang lain' where seq = {second}");
    let delete = format!("delete from audit_entry where seq = {second}");
    for sql in [&rename, &delete] {
        let refused = db.run(sql).await.expect_err("the triggers refuse it");
        assert!(refused.contains("append-only"), "{refused}");
    }
    assert_intact(&server, n);

    db.drop_triggers().await;
    assert_eq!(db.run(&rename).await, Ok(1));
    assert_broken(
        &server,
        &format!("audit log broken at entry {second}: entry {second}'s contents do not match"),
    );
    let undo = format!("update audit_entry set actor_name = 'Admin Polda' where seq = {second}");
    assert_eq!(db.run(&undo).await, Ok(1));
    assert_intact(&server, n);

    let unfile = format!("update audit_entry set unit = null where seq = {third}");
    assert_eq!(db.run(&unfile).await, Ok(1));
    assert_broken(&server, &format!("audit log broken at entry {third}"));
    let undo = format!("update audit_entry set unit = '{SAWAN}' where seq = {third}");
    assert_eq!(db.run(&undo).await, Ok(1));

    assert_eq!(db.run(&delete).await, Ok(1));
    assert_broken(
        &server,
        &format!("audit log broken at entry {second}: entry {second} is missing"),
    );
    server.finish().await;
}

/// A real `bukti-server` process serving the test server's database on a port of its own.
struct ServerProcess {
    child: Child,
    url: String,
}

impl ServerProcess {
    fn start(server: &TestServer) -> ServerProcess {
        let mut child = crate::bins::server_command(server)
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start bukti-server");
        // tracing writes the server's log to stderr.
        let mut log = BufReader::new(child.stderr.take().expect("stderr"));
        let mut line = String::new();
        let addr = loop {
            line.clear();
            let read = log.read_line(&mut line).expect("read the server's log");
            assert!(read > 0, "bukti-server exited before listening");
            if let Some(at) = line.find("listening addr=") {
                let rest = &line[at + "listening addr=".len()..];
                break rest.split_whitespace().next().expect("address").to_owned();
            }
        };
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut log, &mut std::io::sink()));
        ServerProcess {
            child,
            url: format!("http://{addr}"),
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn two_processes_extend_one_chain(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (id, _, _) = pushed_record(&server).await;
    let other = ServerProcess::start(&server);
    let http = reqwest::Client::new();
    let per_process = 40;
    let views = [server.url.clone(), other.url.clone()]
        .into_iter()
        .flat_map(|base| std::iter::repeat_n(base, per_process))
        .map(|base| {
            let request = http
                .get(format!("{base}/api/v1/records/{id}"))
                .bearer_auth(&server.admin_token);
            tokio::spawn(async move { request.send().await.map(|r| r.status().as_u16()) })
        })
        .collect::<Vec<_>>();
    for view in views {
        assert_eq!(view.await.expect("task").expect("GET"), 200);
    }
    drop(other);
    let entries = audit_entries(&server, &server.admin_token).await;
    let seqs: Vec<i64> = entries.iter().filter_map(|e| e["seq"].as_i64()).collect();
    let expected: Vec<i64> = (1..=entries.len() as i64).rev().collect();
    assert_eq!(seqs, expected, "one chain, no gaps, no forks");
    let views = entries
        .iter()
        .filter(|e| e["action"] == "record_viewed")
        .count();
    assert_eq!(views, 2 * per_process);
    assert_intact(&server, entries.len());
    server.finish().await;
}

both_stores!(
    views_reviews_and_refused_pushes_are_logged,
    tampering_is_refused_and_caught,
    two_processes_extend_one_chain,
);
