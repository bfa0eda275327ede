//! The `bukti-server` child process: finding it, starting it over a store, HQ tokens, health,
//! graceful restarts, and what the bench reads from outside (RSS, CPU time, `/metrics`).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use sqlx::{Connection, Executor, PgConnection};

/// Which evidence store the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Sqlite,
    Postgres,
}

impl Store {
    pub fn name(self) -> &'static str {
        match self {
            Store::Sqlite => "sqlite",
            Store::Postgres => "postgres",
        }
    }
}

/// The `bukti-server` program this bench runs: the package's `test-bukti-server` target (the
/// shipped binary's own source, see tests/Cargo.toml), which the same `cargo bench` invocation
/// builds in the bench profile before the bench starts. A separate `cargo build --release -p
/// bukti-server` here used to compile the server and its dependencies a second time (other
/// features, so no artifact was shared): minutes before the first record moved on every
/// change. `BENCH_SERVER_EXE` names another build instead (to compare two versions).
pub fn build_server() -> PathBuf {
    let server = std::env::var_os("BENCH_SERVER_EXE").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_test-bukti-server")),
        PathBuf::from,
    );
    assert!(server.exists(), "{} was not built", server.display());
    server
}

/// A command running `exe`, under the profiler `BENCH_SERVER_WRAP` names if set (its words
/// go before the server's path, e.g. `valgrind --tool=callgrind` or `heaptrack -o /tmp/h`).
fn wrapped(exe: &Path) -> Command {
    let wrap = std::env::var("BENCH_SERVER_WRAP").unwrap_or_default();
    let mut words = wrap.split_whitespace();
    match words.next() {
        None => Command::new(exe),
        Some(first) => {
            let mut cmd = Command::new(first);
            cmd.args(words).arg(exe);
            cmd
        }
    }
}

/// A store the server processes of one round share: a data folder or a fresh PostgreSQL database.
#[derive(Debug)]
pub struct StoreSpec {
    pub data: tempfile::TempDir,
    pub database_url: Option<String>,
}

const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn pg_admin() -> String {
    std::env::var("BUKTI_TEST_POSTGRES").unwrap_or_else(|_| PG_ADMIN.to_owned())
}

impl StoreSpec {
    pub async fn fresh(store: Store) -> StoreSpec {
        let database_url = match store {
            Store::Sqlite => None,
            Store::Postgres => {
                let name = format!("bukti_bench_{}", uuid::Uuid::new_v4().simple());
                let mut admin = PgConnection::connect(&pg_admin())
                    .await
                    .expect("connect to PostgreSQL (BUKTI_TEST_POSTGRES)");
                admin
                    .execute(sqlx::AssertSqlSafe(format!("create database {name}")))
                    .await
                    .expect("create the bench database");
                let base = pg_admin();
                let prefix = base.rsplit_once('/').map_or(base.as_str(), |(p, _)| p);
                Some(format!("{prefix}/{name}"))
            }
        };
        StoreSpec {
            data: tempfile::tempdir().expect("server data folder"),
            database_url,
        }
    }

    fn args(&self) -> Vec<String> {
        let mut args = vec!["--data".to_owned(), self.data.path().display().to_string()];
        if let Some(url) = &self.database_url {
            args.extend(["--database-url".to_owned(), url.clone()]);
        }
        args
    }

    /// [`Self::finish`], unless `BUKTI_BENCH_KEEP` is set: then the store stays, to study query
    /// plans, and `bench` says where it is.
    #[allow(dead_code)] // The sync bench, whose module this file is, never keeps its stores.
    pub async fn finish_or_keep(self, bench: &str) {
        if std::env::var_os("BUKTI_BENCH_KEEP").is_none() {
            return self.finish().await;
        }
        eprintln!(
            "{bench}: kept the store: {} {}",
            self.data.path().display(),
            self.database_url.as_deref().unwrap_or("")
        );
        std::mem::forget(self);
    }

    /// On PostgreSQL, vacuums and analyses the database, as autovacuum would within a minute of
    /// a large load: this machine's PostgreSQL runs with autovacuum off, and a preloaded store
    /// with no statistics had the backends spend 30-40 % more CPU per pushed record than one
    /// with them. Nothing to do on SQLite, whose planner needs no statistics for these queries.
    pub async fn settle(&self) {
        let Some(url) = &self.database_url else {
            return;
        };
        let mut db = PgConnection::connect(url)
            .await
            .expect("connect to the bench database");
        db.execute("vacuum analyze")
            .await
            .expect("vacuum and analyse the preloaded database");
    }

    /// Drops the PostgreSQL database, if any (the data folder goes with the `TempDir`).
    pub async fn finish(self) {
        let Some(url) = &self.database_url else {
            return;
        };
        let Some((_, name)) = url.rsplit_once('/') else {
            return;
        };
        if let Ok(mut admin) = PgConnection::connect(&pg_admin()).await {
            let sql = format!("drop database if exists {name} with (force)");
            let _ = admin.execute(sqlx::AssertSqlSafe(sql)).await;
        }
    }

    /// `bukti-server token create` over this store; returns the printed token.
    pub fn token(&self, exe: &Path, unit: &str) -> String {
        let demo = Command::new(exe)
            .args(["unit", "demo"])
            .args(self.args())
            .env("RUST_LOG", "warn")
            .stderr(Stdio::null())
            .output()
            .expect("run bukti-server unit demo");
        assert!(demo.status.success(), "unit demo failed: {demo:?}");
        let out = Command::new(exe)
            .args([
                "token", "create", "--unit", unit, "--name", "bench", "--role", "admin",
            ])
            .args(self.args())
            .env("RUST_LOG", "warn")
            .stderr(Stdio::null())
            .output()
            .expect("run bukti-server token create");
        assert!(out.status.success(), "token create failed: {out:?}");
        // The line with the token: older server builds (compared with BENCH_SERVER_EXE) logged
        // to stdout too, and on a large store a slow-statement warning came before it.
        let stdout = String::from_utf8(out.stdout).expect("token is UTF-8");
        stdout
            .lines()
            .find(|l| l.starts_with("bkt_"))
            .unwrap_or_else(|| panic!("no token in {stdout:?}"))
            .to_owned()
    }
}

/// One running server process and the sampler watching its memory.
#[derive(Debug)]
pub struct Server {
    child: Child,
    pub url: String,
    port: u16,
    peak_rss_kb: Arc<AtomicU64>,
    /// The sampled peak of RssAnon (heap and stacks, without the mapped database file).
    peak_anon_kb: Arc<AtomicU64>,
    stop_sampler: Arc<AtomicBool>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A `/proc/<pid>/status` field in kB.
fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// User + system CPU seconds of a process (`self` or a pid), from `/proc/<pid>/stat`.
pub fn cpu_seconds(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU seconds of every PostgreSQL process on the machine (the postmaster, its backends and
/// background workers), which the server's own figure leaves out. On this machine, quiet while
/// the bench runs, that is the work the server's queries cause. A backend that exits within a
/// phase takes its CPU with it; the server's pool keeps its connections through a wave.
pub fn database_cpu_seconds() -> f64 {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    procs
        .flatten()
        .filter_map(|p| p.file_name().to_str().map(str::to_owned))
        .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.starts_with("postgres"))
        })
        .map(|pid| cpu_seconds(&pid))
        .sum()
}

impl Server {
    /// Starts the server on `port` (a free one when `None`) and waits for `/healthz`.
    pub async fn start(exe: &Path, spec: &StoreSpec, port: Option<u16>) -> Server {
        let port = port.unwrap_or_else(free_port);
        let child = wrapped(exe)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(spec.args())
            .env(
                "RUST_LOG",
                std::env::var("BENCH_SERVER_LOG").unwrap_or("warn".into()),
            )
            .stdout(Stdio::null())
            .spawn()
            .expect("start bukti-server");
        let pid = child.id();
        let peak_rss_kb = Arc::new(AtomicU64::new(0));
        let peak_anon_kb = Arc::new(AtomicU64::new(0));
        let stop_sampler = Arc::new(AtomicBool::new(false));
        let (peak, anon, stop) = (
            peak_rss_kb.clone(),
            peak_anon_kb.clone(),
            stop_sampler.clone(),
        );
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(kb) = status_kb(pid, "VmRSS:") {
                    peak.fetch_max(kb, Ordering::Relaxed);
                }
                if let Some(kb) = status_kb(pid, "RssAnon:") {
                    anon.fetch_max(kb, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let server = Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
            port,
            peak_rss_kb,
            peak_anon_kb,
            stop_sampler,
        };
        server.wait_healthy().await;
        server
    }

    async fn wait_healthy(&self) {
        let http = reqwest::Client::new();
        // Long enough for the migrations a server applies to a preload cache made before them.
        let deadline = Instant::now() + Duration::from_secs(300);
        while Instant::now() < deadline {
            if let Ok(r) = http.get(format!("{}/healthz", self.url)).send().await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "bukti-server at {} did not become healthy in 5 minutes",
            self.url
        );
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(&self.pid().to_string())
    }

    /// Bytes the process has handed to `write` and `pwrite` (`wchar` in `/proc/<pid>/io`): on
    /// SQLite, the WAL and the checkpoint copying it back into the database file. Sockets,
    /// written with `send`, do not count, so on PostgreSQL it is about 0.
    pub fn bytes_written(&self) -> f64 {
        let io = std::fs::read_to_string(format!("/proc/{}/io", self.pid())).unwrap_or_default();
        io.lines()
            .find_map(|l| l.strip_prefix("wchar:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    }

    /// Peak RSS in MB: the kernel's high-water mark, or the sampled maximum if larger.
    pub fn peak_rss_mb(&self) -> f64 {
        let hwm = status_kb(self.pid(), "VmHWM:").unwrap_or(0);
        hwm.max(self.peak_rss_kb.load(Ordering::Relaxed)) as f64 / 1024.0
    }

    /// The sampled peak of RssAnon in MB: the heap's share of the peak (the rest is mostly the
    /// database file the readers map, which the kernel may reclaim).
    pub fn peak_anon_mb(&self) -> f64 {
        self.peak_anon_kb.load(Ordering::Relaxed) as f64 / 1024.0
    }

    /// Current RSS and high-water mark in MB, for progress lines.
    pub fn rss_now(&self) -> String {
        let mb = |f| status_kb(self.pid(), f).unwrap_or(0) / 1024;
        format!("RSS {} MB (peak {} MB)", mb("VmRSS:"), mb("VmHWM:"))
    }

    /// What `/metrics` shows now (empty when it cannot be read).
    pub async fn metrics(&self) -> Metrics {
        Metrics(match reqwest::get(format!("{}/metrics", self.url)).await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        })
    }

    /// Stops gracefully with SIGTERM and waits; returns the peak RSS in MB.
    pub fn stop(mut self) -> f64 {
        let peak = self.peak_rss_mb();
        self.stop_sampler.store(true, Ordering::Relaxed);
        // A profiler wrapping the server (`BENCH_SERVER_WRAP`) may run it as its own child:
        // the server gets the signal too.
        let pid = self.pid();
        let children =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        for p in children
            .split_whitespace()
            .chain([pid.to_string().as_str()])
        {
            let _ = Command::new("kill").args(["-TERM", p]).status();
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return peak;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("bench: server did not stop within 30 s; killing it");
        let _ = self.child.kill();
        let _ = self.child.wait();
        peak
    }

    /// Stops the process and starts a new one on the same store and port; returns the new one
    /// and the old one's peak RSS and peak RssAnon in MB.
    pub async fn restart(self, exe: &Path, spec: &StoreSpec) -> (Server, f64, f64) {
        let port = self.port;
        let anon = self.peak_anon_mb();
        let peak = self.stop();
        (Server::start(exe, spec, Some(port)).await, peak, anon)
    }
}

/// One reading of the server's `/metrics`.
pub struct Metrics(String);

impl Metrics {
    /// Sum and count of `bukti_http_request_duration_seconds` for `route`, over all statuses.
    pub fn route_time(&self, route: &str) -> (f64, f64) {
        let needle = format!("route=\"{route}\"");
        let (mut sum, mut count) = (0.0, 0.0);
        for (name, line) in self.samples() {
            if line.contains(&needle) {
                match name {
                    "bukti_http_request_duration_seconds_sum" => sum += value(line),
                    "bukti_http_request_duration_seconds_count" => count += value(line),
                    _ => {}
                }
            }
        }
        (sum, count)
    }

    /// Sum and count of each stage of a push (`bukti_push_stage_seconds` and
    /// `bukti_record_write_stage_seconds`), by stage.
    pub fn stage_times(&self) -> BTreeMap<String, (f64, f64)> {
        let mut out: BTreeMap<String, (f64, f64)> = BTreeMap::new();
        for (name, line) in self.samples() {
            let Some(metric) = [
                "bukti_push_stage_seconds",
                "bukti_record_write_stage_seconds",
            ]
            .into_iter()
            .find(|m| name.starts_with(m)) else {
                continue;
            };
            let Some(stage) = line
                .split_once("stage=\"")
                .and_then(|(_, rest)| rest.split_once('"'))
                .map(|(stage, _)| stage.to_owned())
            else {
                continue;
            };
            let entry = out.entry(stage).or_default();
            match &name[metric.len()..] {
                "_sum" => entry.0 += value(line),
                "_count" => entry.1 += value(line),
                _ => {}
            }
        }
        out
    }

    /// The sample lines with their metric names.
    fn samples(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| (l.split(['{', ' ']).next().unwrap_or_default(), l))
    }
}

/// A sample line's value.
fn value(line: &str) -> f64 {
    line.rsplit_once(' ')
        .and_then(|(_, v)| v.parse::<f64>().ok())
        .unwrap_or(0.0)
}
