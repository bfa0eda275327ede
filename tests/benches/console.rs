//! HQ query benchmark: seeds N records (default 100,000) straight through the store's write path
//! (documents made with `bukti-core`, batches of 500), then starts the release `bukti-server`
//! over that store and measures over real HTTP on loopback, one request at a time:
//!
//! - a filtered list page of 50 rows (a mix of unit, kind, LKE, photos, state, officer, period and
//!   sort filters, and a page deep in a cursor walk): p50 and p95;
//! - a full-text query (Indonesian words, a prefix, with and without other filters): p50, p95;
//! - the Polres and Polsek dashboard, and the LKE worksheet of the Polres and of Polsek: p50, p95;
//! - the CSV export of every record: rows per second, and the server's RSS before and during
//!   the export (flat memory: the export streams pages, never the whole result).
//!
//! ```sh
//! cargo bench -p bukti-tests --bench console                      # 100,000, both stores
//! BUKTI_BENCH_RECORDS=20000 cargo bench -p bukti-tests --bench console -- --store sqlite
//! ```
//!
//! Targets (2 cores): list page p95 ≤ 100 ms, full-text p95 ≤ 150 ms, dashboard and worksheet
//! p95 ≤ 300 ms, CSV ≥ 50,000 rows/s.
//! PostgreSQL comes from `BUKTI_TEST_POSTGRES`. `BUKTI_BENCH_KEEP=1` keeps the seeded store,
//! `BUKTI_BENCH_SEED_ONLY=1` only seeds and keeps it (to study query plans). Progress goes to
//! stderr, then a table per store and one `RESULT {json}` line each.

// Shared with the sync and load benches, which use the parts this one does not.
#[path = "console/seed.rs"]
mod seed;
// The command-line helpers; each bench uses some of them.
#[allow(dead_code)]
#[path = "sync/cli.rs"]
mod cli;
#[allow(dead_code)]
#[path = "sync/server.rs"]
mod server;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bukti_server::Settings;
use seed::seed;
use serde_json::json;
use server::{Server, Store, StoreSpec};

fn quantile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// One timed GET whose JSON body is read whole; the page's next cursor.
async fn timed_get(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    params: &[(&str, String)],
) -> (Duration, Option<String>, usize) {
    let started = Instant::now();
    let resp = http
        .get(url)
        .bearer_auth(token)
        .query(params)
        .send()
        .await
        .expect("GET");
    let status = resp.status();
    let body: serde_json::Value = resp.json().await.expect("JSON");
    let took = started.elapsed();
    assert!(status.is_success(), "{params:?}: {status} {body}");
    let rows = body["records"].as_array().map_or(0, Vec::len);
    (took, body["next_cursor"].as_str().map(str::to_owned), rows)
}

struct Timings {
    all: Vec<Duration>,
    worst: Vec<(String, f64)>,
}

async fn measure(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    cases: &[Vec<(&str, String)>],
    rounds: usize,
) -> Timings {
    let mut all = Vec::new();
    let mut worst = Vec::new();
    for case in cases {
        // One untimed request warms the caches, as a console in use would have them.
        timed_get(http, url, token, case).await;
        let mut times = Vec::new();
        let mut rows = 0;
        for _ in 0..rounds {
            let (t, _, n) = timed_get(http, url, token, case).await;
            times.push(t);
            rows = n;
        }
        times.sort();
        let label: Vec<String> = case
            .iter()
            .filter(|(k, _)| *k != "cursor")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let rows = if rows > 0 {
            format!(" ({rows} rows)")
        } else {
            String::new()
        };
        worst.push((format!("{}{rows}", label.join("&")), quantile(&times, 0.95)));
        all.extend(times);
    }
    all.sort();
    Timings { all, worst }
}

/// A list query: the pairs and a page of 50 rows.
fn case(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut v = params(pairs);
    v.push(("limit", "50".to_owned()));
    v
}

fn params(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

/// A `/proc/<pid>/status` field in MB: `VmRSS:` (everything resident, including the pages of
/// the SQLite file its readers map) or `RssAnon:` (the heap).
fn status_mb(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

struct Export {
    rows: usize,
    secs: f64,
    bytes: usize,
    /// Server CPU seconds (user and system) the export took.
    cpu: f64,
    /// Heap (RssAnon) before, at its peak during, and after the export.
    heap: [f64; 3],
    /// All resident memory (VmRSS) before, at its peak during, and after.
    rss: [f64; 3],
}

async fn export(http: &reqwest::Client, base: &str, token: &str, pid: u32, path: &str) -> Export {
    let (heap_before, rss_before) = (status_mb(pid, "RssAnon:"), status_mb(pid, "VmRSS:"));
    let peaks = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peaks, stop) = (peaks.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for (peak, field) in peaks.iter().zip(["RssAnon:", "VmRSS:"]) {
                    peak.fetch_max((status_mb(pid, field) * 1024.0) as u64, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let cpu_before = server::cpu_seconds(&pid.to_string());
    let started = Instant::now();
    let mut resp = http
        .get(format!("{base}/api/v1{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("export");
    assert!(resp.status().is_success(), "{}", resp.status());
    let (mut bytes, mut lines) = (0usize, 0usize);
    while let Some(chunk) = resp.chunk().await.expect("export chunk") {
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu = server::cpu_seconds(&pid.to_string()) - cpu_before;
    stop.store(true, Ordering::Relaxed);
    sampler.join().expect("RSS sampler");
    Export {
        rows: lines.saturating_sub(1),
        secs,
        bytes,
        cpu,
        heap: [
            heap_before,
            peaks[0].load(Ordering::Relaxed) as f64 / 1024.0,
            status_mb(pid, "RssAnon:"),
        ],
        rss: [
            rss_before,
            peaks[1].load(Ordering::Relaxed) as f64 / 1024.0,
            status_mb(pid, "VmRSS:"),
        ],
    }
}

async fn run(store: Store, n: usize) -> serde_json::Value {
    let exe = server::build_server();
    let spec = StoreSpec::fresh(store).await;
    let token = spec.token(&exe, "bali");
    {
        let settings = Settings {
            database_url: spec.database_url.clone(),
            ..Settings::new(spec.data.path())
        };
        let opened = settings.open_store().await.expect("open the store");
        eprintln!("console: seeding {n} records on {}", store.name());
        let started = Instant::now();
        seed(&opened, n).await;
        if let Some(url) = &spec.database_url {
            // What autovacuum does within a minute of a bulk load (PostgreSQL 13+ vacuums after
            // inserts too): statistics to plan by, and the visibility map index-only scans need.
            // (SQLite keeps no statistics: the server's SQL does not rely on them.)
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect(url).await.expect("PostgreSQL");
            sqlx::query("vacuum analyze")
                .execute(&mut c)
                .await
                .expect("vacuum analyze");
        }
        eprintln!(
            "console: seeded in {:.0} s",
            started.elapsed().as_secs_f64()
        );
    }
    if std::env::var_os("BUKTI_BENCH_SEED_ONLY").is_some() {
        eprintln!(
            "console: seeded store kept: {} {}",
            spec.data.path().display(),
            spec.database_url.as_deref().unwrap_or("")
        );
        std::mem::forget(spec);
        return json!({"store": store.name(), "records": n, "seeded_only": true});
    }
    let server = Server::start(&exe, &spec, None).await;
    let http = reqwest::Client::new();
    let list_url = format!("{}/api/v1/records", server.url);

    // A page deep in a cursor walk (the 40th of 50 rows under the Polres).
    let mut cursor = None;
    for _ in 0..40 {
        let mut params = case(&[("unit", "bali/buleleng")]);
        if let Some(c) = cursor {
            params.push(("cursor", c));
        }
        cursor = timed_get(&http, &list_url, &token, &params).await.1;
    }
    let deep = cursor.expect("40 pages");
    let mut deep_page = case(&[("unit", "bali/buleleng")]);
    deep_page.push(("cursor", deep));
    let sawan = "bali/buleleng/sawan";
    let lists = vec![
        case(&[]),
        case(&[("unit", sawan)]),
        case(&[("unit", sawan), ("kind", "sambang")]),
        case(&[("lke_area", "PW")]),
        case(&[("unit", "bali/buleleng/gerokgak"), ("lke", "PP.P2")]),
        case(&[("photos", "with")]),
        case(&[("unit", "bali/buleleng/seririt"), ("photos", "without")]),
        case(&[("state", "verified")]),
        case(&[("verdict", "valid"), ("unit", sawan)]),
        case(&[("officer", "80000007")]),
        case(&[
            ("from", "2026-03-01T00:00:00+08:00"),
            ("to", "2026-04-01T00:00:00+08:00"),
            ("unit", sawan),
        ]),
        case(&[("sort", "title")]),
        case(&[("sort", "-captured_at"), ("unit", "bali/buleleng/banjar")]),
        case(&[("sort", "updated"), ("kind", "penyuluhan")]),
        deep_page,
    ];
    eprintln!("console: timing {} list cases", lists.len());
    let list = measure(&http, &list_url, &token, &lists, 20).await;
    let searches = vec![
        case(&[("q", "patroli")]),
        case(&[("q", "sambang desa sudaji")]),
        case(&[("q", "pelayanan skck")]),
        case(&[("q", "sosialisasi anti korupsi")]),
        case(&[("q", "pen")]),
        case(&[("q", "siskamling pecalang")]),
        case(&[("q", "narkoba sekolah"), ("unit", sawan)]),
        case(&[("q", "pasar malam"), ("photos", "with")]),
        case(&[("q", "balai banjar"), ("sort", "title")]),
        case(&[
            ("q", "gotong-royong"),
            ("from", "2026-06-01T00:00:00+08:00"),
        ]),
    ];
    eprintln!("console: timing {} full-text cases", searches.len());
    let search = measure(&http, &list_url, &token, &searches, 20).await;
    let dashboards = vec![
        params(&[]),
        params(&[("unit", "bali/buleleng")]),
        params(&[
            ("unit", "bali/buleleng"),
            ("from", "2026-01-01T00:00:00+08:00"),
            ("to", "2027-01-01T00:00:00+08:00"),
        ]),
        params(&[("unit", sawan)]),
        params(&[
            ("unit", sawan),
            ("from", "2026-03-01T00:00:00+08:00"),
            ("to", "2026-04-01T00:00:00+08:00"),
        ]),
    ];
    eprintln!("console: timing {} dashboards", dashboards.len());
    let dashboard_url = format!("{}/api/v1/dashboard", server.url);
    let dashboard = measure(&http, &dashboard_url, &token, &dashboards, 10).await;
    let worksheets = vec![
        params(&[("unit", "bali/buleleng")]),
        params(&[("unit", sawan)]),
        params(&[("unit", "bali/buleleng/busungbiu")]),
    ];
    eprintln!("console: timing {} worksheets", worksheets.len());
    let worksheet_url = format!("{}/api/v1/worksheets/2026", server.url);
    let worksheet = measure(&http, &worksheet_url, &token, &worksheets, 10).await;
    eprintln!(
        "console: exporting {n} records as CSV ({})",
        server.rss_now()
    );
    let csv = export(
        &http,
        &server.url,
        &token,
        server.pid(),
        "/exports/records.csv",
    )
    .await;
    assert_eq!(csv.rows, n, "the CSV holds every record");
    // The first export reads pages no request had touched; a second shows the steady rate.
    let csv_again = export(
        &http,
        &server.url,
        &token,
        server.pid(),
        "/exports/records.csv",
    )
    .await;
    eprintln!("console: exporting GeoJSON");
    let geo = export(
        &http,
        &server.url,
        &token,
        server.pid(),
        "/exports/records.geojson",
    )
    .await;
    server.stop();
    spec.finish_or_keep("console").await;

    println!("\n{} records on {}", n, store.name());
    for (name, t) in [
        ("list page (50 rows)", &list),
        ("full-text query", &search),
        ("Polres dashboard", &dashboard),
        ("LKE worksheet", &worksheet),
    ] {
        println!(
            "{name}: p50 {:6.1} ms  p95 {:6.1} ms  max {:6.1} ms  ({} requests)",
            quantile(&t.all, 0.5),
            quantile(&t.all, 0.95),
            quantile(&t.all, 1.0),
            t.all.len()
        );
        for (label, p95) in &t.worst {
            println!("    p95 {p95:6.1} ms  {label}");
        }
    }
    for (name, e) in [("CSV", &csv), ("CSV again", &csv_again), ("GeoJSON", &geo)] {
        println!(
            "{name} export: {} rows, {:.1} MB in {:.2} s = {:.0} rows/s, server CPU {:.2} s; \
             server heap {:.0} MB before, {:.0} MB peak during, {:.0} MB after \
             (RSS with mapped file pages {:.0} / {:.0} / {:.0} MB)",
            e.rows,
            e.bytes as f64 / 1e6,
            e.secs,
            e.rows as f64 / e.secs,
            e.cpu,
            e.heap[0],
            e.heap[1],
            e.heap[2],
            e.rss[0],
            e.rss[1],
            e.rss[2],
        );
    }
    json!({
        "store": store.name(), "records": n,
        "list_p50_ms": quantile(&list.all, 0.5), "list_p95_ms": quantile(&list.all, 0.95),
        "search_p50_ms": quantile(&search.all, 0.5), "search_p95_ms": quantile(&search.all, 0.95),
        "dashboard_p50_ms": quantile(&dashboard.all, 0.5),
        "dashboard_p95_ms": quantile(&dashboard.all, 0.95),
        "worksheet_p50_ms": quantile(&worksheet.all, 0.5),
        "worksheet_p95_ms": quantile(&worksheet.all, 0.95),
        "csv_rows_per_s": csv.rows as f64 / csv.secs, "csv_server_cpu_s": csv.cpu,
        "csv_heap_mb": csv.heap, "csv_rss_mb": csv.rss,
        "csv_again_rows_per_s": csv_again.rows as f64 / csv_again.secs,
        "geojson_rows_per_s": geo.rows as f64 / geo.secs,
    })
}

const USAGE: &str = "\
HQ query benchmark: list pages, full-text search, dashboards, the LKE worksheet and the CSV
export over real HTTP, on a store seeded with BUKTI_BENCH_RECORDS records (default 100,000).

usage: cargo bench -p bukti-tests --bench console -- [--store sqlite|postgres|both]

environment: BUKTI_BENCH_RECORDS (records to seed), BUKTI_BENCH_KEEP=1 (keep the seeded store),
BUKTI_BENCH_SEED_ONLY=1 (only seed), BUKTI_TEST_POSTGRES (the PostgreSQL server).
More in the doc comment of tests/benches/console.rs.";
#[tokio::main]
async fn main() {
    let n: usize = std::env::var("BUKTI_BENCH_RECORDS")
        .ok()
        .map(|v| v.parse().expect("BUKTI_BENCH_RECORDS is a number"))
        .unwrap_or(100_000);
    let stores = cli::stores_from_args(USAGE);
    for store in stores {
        let result = run(store, n).await;
        println!("RESULT {result}");
    }
}
