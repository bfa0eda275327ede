//! Test harness for Bukti's end-to-end tests: a real server on 127.0.0.1:0 over a fresh store
//! (SQLite in a temporary folder, or a freshly created PostgreSQL database), real devices built
//! from `bukti-core`, and helpers to talk to the HQ API over real HTTP.
//!
//! PostgreSQL comes from `BUKTI_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/postgres`).
//! When it is unreachable the PostgreSQL variant of a test prints `SKIPPED` and passes, unless
//! `BUKTI_REQUIRE_POSTGRES=1` (CI sets it), which makes it fail instead.

use std::{net::SocketAddr, path::PathBuf};

use bukti_core::device::{Device, NoProgress, SyncReport};
use bukti_server::{
    Settings, admin,
    directory::{DirectoryError, service},
    store::DynStore,
};
use sqlx::{Connection, Executor, PgConnection};
use tempfile::TempDir;
use tokio::{sync::oneshot, task::JoinHandle};

pub use bukti_core;
pub use bukti_server;
pub use fixtures::{fixture, patrol, sample_record, visit};
pub use hq::{Hq, metrics_text, status_json};
pub use raw::{
    RawDevice, changes_b64, enroll_request, enroll_request_with, issue_code_over_http, push_entry,
};

pub mod browser;
mod fixtures;
mod hq;
pub mod people;
pub mod proxy;
mod raw;
pub mod s3;
pub mod signing;

/// Which evidence store a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn admin_url() -> String {
    std::env::var("BUKTI_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_PG.to_owned())
}

/// Whether PostgreSQL tests can run; panics when they must but cannot.
pub async fn postgres_available() -> bool {
    let ok = PgConnection::connect(&admin_url()).await.is_ok();
    if !ok {
        assert!(
            std::env::var("BUKTI_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "PostgreSQL at {} is unreachable and BUKTI_REQUIRE_POSTGRES=1",
            admin_url()
        );
        eprintln!("SKIPPED: PostgreSQL at {} is unreachable", admin_url());
    }
    ok
}

/// Creates an empty database and returns its URL.
pub async fn fresh_postgres_database() -> String {
    let name = format!("bukti_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&admin_url())
        .await
        .expect("connect to PostgreSQL");
    admin
        .execute(sqlx::AssertSqlSafe(format!("create database {name}")))
        .await
        .expect("create a test database");
    let base = admin_url();
    let prefix = base.rsplit_once('/').map_or(base.as_str(), |(p, _)| p);
    format!("{prefix}/{name}")
}

async fn drop_postgres_database(url: &str) {
    let Some((_, name)) = url.rsplit_once('/') else {
        return;
    };
    if let Ok(mut admin) = PgConnection::connect(&admin_url()).await {
        let _ = admin
            .execute(sqlx::AssertSqlSafe(format!(
                "drop database if exists {name} with (force)"
            )))
            .await;
    }
}

/// Runs an async test body once per backend: `both_stores!(my_test);` expects
/// `async fn my_test(backend: Backend)` and makes `my_test::sqlite` and `my_test::postgres`.
#[macro_export]
macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::postgres_available().await {
                    super::$name($crate::Backend::Postgres).await;
                }
            }
        }
    )*};
}

/// A server running in this process on a loopback port, over its own fresh store.
#[derive(Debug)]
pub struct TestServer {
    pub backend: Backend,
    pub addr: SocketAddr,
    pub url: String,
    pub settings: Settings,
    /// An admin HQ token over the whole `bali` tree.
    pub admin_token: String,
    pub store: DynStore,
    /// Whether `finish` drops the PostgreSQL database (false for a second process on it).
    owns_database: bool,
    /// Header timeout and connections per address of the listener.
    limits: bukti_server::listen::ConnectionLimits,
    /// Holds evidence-pack jobs back until the test adds permits ([`TestServer::gate_exports`]).
    export_gate: Option<std::sync::Arc<tokio::sync::Semaphore>>,
    _data: TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        let data = tempfile::tempdir().expect("temporary data folder");
        let database_url = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(fresh_postgres_database().await),
        };
        let settings = Settings {
            database_url,
            ..Settings::new(data.path().join("bukti-data"))
        };
        TestServer::start_with(backend, data, settings).await
    }

    /// A server whose listener has `limits` (a short header timeout, few connections per
    /// address) instead of the defaults.
    pub async fn start_limited(
        backend: Backend,
        limits: bukti_server::listen::ConnectionLimits,
    ) -> TestServer {
        let mut server = TestServer::start(backend).await;
        server.stop().await;
        server.limits = limits;
        server.listen(server.addr).await;
        server
    }

    /// Serves again with evidence-pack jobs held before their first byte until the test adds
    /// a permit to the returned semaphore (which lets them through one at a time), to watch them
    /// running.
    pub async fn gate_exports(&mut self) -> std::sync::Arc<tokio::sync::Semaphore> {
        let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
        self.stop().await;
        self.export_gate = Some(gate.clone());
        self.listen(self.addr).await;
        gate
    }

    /// A server whose photo bytes go to a real S3-compatible server on loopback
    /// ([`s3::S3Server`], running in this process over a temporary folder).
    pub async fn start_s3(backend: Backend) -> (TestServer, s3::S3Server) {
        let data = tempfile::tempdir().expect("temporary data folder");
        let database_url = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(fresh_postgres_database().await),
        };
        let s3 = s3::S3Server::start().await;
        let mut settings = Settings {
            database_url,
            ..Settings::new(data.path().join("bukti-data"))
        };
        settings.blobs.s3 = Some(s3.settings());
        (TestServer::start_with(backend, data, settings).await, s3)
    }

    async fn start_with(backend: Backend, data: TempDir, settings: Settings) -> TestServer {
        let store = settings.open_store().await.expect("open the store");
        service::load_demo(&store).await.expect("demo organisation");
        let admin_token = admin::create_hq_token(&store, "bali", "Admin Polda", "admin")
            .await
            .expect("admin token");
        let mut server = TestServer {
            backend,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            url: String::new(),
            settings,
            admin_token,
            store,
            owns_database: true,
            limits: Default::default(),
            export_gate: None,
            _data: data,
            stop: None,
            task: None,
        };
        server.listen(SocketAddr::from(([127, 0, 0, 1], 0))).await;
        server
    }

    async fn listen(&mut self, addr: SocketAddr) {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("bind loopback");
        self.addr = listener.local_addr().expect("local address");
        self.url = format!("http://{}", self.addr);
        let (tx, rx) = oneshot::channel::<()>();
        let store = self.store.clone();
        let blobs = self.settings.open_blobs().expect("open the blob store");
        let packs = bukti_server::pack_jobs::PackJobsConfig {
            gate: self.export_gate.clone(),
            ..bukti_server::pack_jobs::PackJobsConfig::in_data_dir(&self.settings.data_dir)
        };
        self.task = Some(tokio::spawn(bukti_server::serve_with(
            store,
            blobs,
            listener,
            self.limits,
            packs,
            async move {
                let _ = rx.await;
            },
        )));
        self.stop = Some(tx);
    }

    /// Stops gracefully (in-flight requests finish).
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task")
                .expect("server stopped cleanly");
        }
    }

    /// Stops the server, reopens its store from scratch (as a new process would) and serves
    /// again on the same address.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.store = self.settings.open_store().await.expect("reopen the store");
        self.listen(self.addr).await;
    }

    /// Another server process over the same database (for SQLite: the same file through its
    /// own connection pools), listening on its own port.
    pub async fn second_process(&self) -> TestServer {
        let store = self
            .settings
            .open_store()
            .await
            .expect("open the shared store");
        let mut server = TestServer {
            backend: self.backend,
            addr: self.addr,
            url: String::new(),
            settings: self.settings.clone(),
            admin_token: self.admin_token.clone(),
            store,
            owns_database: false,
            limits: Default::default(),
            export_gate: None,
            _data: tempfile::tempdir().expect("placeholder folder"),
            stop: None,
            task: None,
        };
        server.listen(SocketAddr::from(([127, 0, 0, 1], 0))).await;
        server
    }

    /// Stops the server and drops its PostgreSQL database.
    pub async fn finish(mut self) {
        self.stop().await;
        if !self.owns_database {
            return;
        }
        if let Some(url) = &self.settings.database_url {
            drop_postgres_database(url).await;
        }
    }

    pub async fn hq_token(&self, unit: &str, name: &str, role: &str) -> String {
        admin::create_hq_token(&self.store, unit, name, role)
            .await
            .expect("HQ token")
    }

    /// A new device in a temporary home, enrolled for `officer` in `unit`.
    pub async fn device(&self, unit: &str, officer: &str) -> TestDevice {
        let home = tempfile::tempdir().expect("device home");
        let device = Device::open(home.path()).await.expect("open device");
        let code = self.enrollment_code(unit, officer).await;
        device
            .enroll(&self.url, &code, &format!("HP {officer}"))
            .await
            .expect("enroll device");
        TestDevice { device, home }
    }

    /// A one-time enrollment code for `officer` (added as an officer of `unit` if new), issued
    /// by the operator at the server.
    pub async fn enrollment_code(&self, unit: &str, officer: &str) -> String {
        self.enrollment_code_for(unit, officer, false).await
    }

    /// An enrollment code, for a device that sees only its officer's own records when
    /// `own_records_only`.
    pub async fn enrollment_code_for(
        &self,
        unit: &str,
        officer: &str,
        own_records_only: bool,
    ) -> String {
        self.officer(unit, officer).await;
        service::issue_enrollment(
            &self.store,
            None,
            "test operator",
            officer,
            own_records_only,
            None,
        )
        .await
        .expect("issue an enrollment code")
        .code
    }

    /// Adds `nrp` as an officer of `unit`, unless already there.
    pub async fn officer(&self, unit: &str, nrp: &str) {
        let input = service::PersonInput {
            nrp: nrp.to_owned(),
            name: format!("Officer {nrp}"),
            rank: "Bripka".into(),
            unit: unit.to_owned(),
            roles: vec!["officer".into()],
            ..Default::default()
        };
        match service::add_person(&self.store, None, input).await {
            Ok(_) | Err(DirectoryError::PersonExists(_)) => {}
            Err(e) => panic!("add officer {nrp}: {e}"),
        }
    }

    /// Runs raw SQL on this server's database, as someone with database access could; for tests
    /// that tamper with or age stored rows.
    pub async fn execute_sql(&self, sql: &str) -> Result<u64, String> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        let done = match &self.settings.database_url {
            Some(url) => {
                let mut c = PgConnection::connect(url)
                    .await
                    .map_err(|e| e.to_string())?;
                c.execute(sql).await.map(|r| r.rows_affected())
            }
            None => {
                let file = self.settings.data_dir.join("evidence.db");
                let url = format!("sqlite://{}", file.display());
                let mut c = sqlx::SqliteConnection::connect(&url)
                    .await
                    .map_err(|e| e.to_string())?;
                c.execute(sql).await.map(|r| r.rows_affected())
            }
        };
        done.map_err(|e| e.to_string())
    }

    /// Takes a submitted record through the Polsek's half of the review workflow as the admin
    /// (marks it ready, forwards it), so the Polres can give its verdict.
    pub async fn forward(&self, id: impl std::fmt::Display) {
        let admin = self.hq(&self.admin_token);
        let (status, body) = admin
            .post(
                &format!("/records/{id}/curate"),
                &serde_json::json!({"ready": true}),
            )
            .await;
        assert_eq!(status, 200, "mark ready: {body}");
        let (status, body) = admin
            .post(&format!("/records/{id}/forward"), &serde_json::json!({}))
            .await;
        assert_eq!(status, 200, "forward: {body}");
    }

    /// An HTTP client for the HQ API with `token`.
    pub fn hq(&self, token: &str) -> Hq {
        Hq {
            base: format!("{}/api/v1", self.url),
            token: token.to_owned(),
            http: reqwest::Client::new(),
        }
    }
}

/// A device with its own store in a temporary home.
#[derive(Debug)]
pub struct TestDevice {
    pub device: Device,
    pub home: TempDir,
}

impl TestDevice {
    pub async fn sync(&self) -> SyncReport {
        self.device.sync(&NoProgress).await.expect("sync")
    }

    pub fn home_path(&self) -> PathBuf {
        self.home.path().to_owned()
    }
}
