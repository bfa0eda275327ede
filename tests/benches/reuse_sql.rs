//! The server's photo-reuse index (the `photo_fingerprint`, `photo_band` and `photo_anchor`
//! tables) at a million stored photos, on SQLite and PostgreSQL: how long the preload takes, and
//! the lookup a display copy's arrival runs (`bukti_server::photo_check::lookup`: the band and
//! anchor queries, then the candidates' fingerprints) for near-copies of stored photos and for
//! new photos: median, p99, candidates compared, near-copies found.
//!
//! ```sh
//! cargo bench -p bukti-tests --bench reuse_sql                      # 1,000,000 photos, both stores
//! BUKTI_BENCH_PHOTOS=20000 cargo bench -p bukti-tests --bench reuse_sql -- --store sqlite
//! ```
//!
//! The photos and lookups are the core bench's (`client-core/benches/reuse/synthetic.rs`), so
//! the figures compare with the in-memory index's. Each stored fingerprint is
//! `BUKTI_BENCH_PRINT_BYTES` random bytes (default 8,192: a real one is 37 bytes a keypoint, at
//! most 295 of them). The preload writes the tables directly, in multi-row statements and large
//! transactions, index rows in key order; the timed lookups go through the store as ingest's do.
//! PostgreSQL comes from `BUKTI_TEST_POSTGRES` and is vacuumed and analysed after the preload,
//! as autovacuum would within a minute. `BUKTI_BENCH_KEEP=1` keeps the filled store (to study
//! query plans). Progress goes to stderr, then a table and one `RESULT {json}` line per store.

// The command-line helpers; each bench uses some of them.
#[allow(dead_code)]
#[path = "sync/cli.rs"]
mod cli;
// Shared with the sync, load and console benches, which use the parts this one does not.
#[allow(dead_code)]
#[path = "sync/server.rs"]
mod server;
#[path = "../../client-core/benches/reuse/synthetic.rs"]
mod synthetic;

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use bukti_core::photo::reuse::index::{self, IndexKeys, QueryKeys};
use bukti_server::{Settings, photo_check, store::DynStore};
use serde_json::json;
use server::{Store, StoreSpec};
use sqlx::{Connection, SqliteConnection, postgres::PgConnection, sqlite::SqliteConnectOptions};
use synthetic::{SEED, SplitMix, lookup, stored};

/// Near-copy lookups, and as many new photos.
const LOOKUPS: usize = 1000;
/// Untimed lookups first, so the timed ones meet the caches a serving server has.
const WARM_UP: usize = 200;
/// Rows per statement: far below both databases' bound-value limits (4 values a row at most).
const ROWS_PER_STATEMENT: usize = 5_000;
/// Rows per transaction of the preload.
const ROWS_PER_TRANSACTION: usize = 1_000_000;

/// The display copy's SHA-256 the bench files photo `i` under: random-looking, in `i` order.
fn hash_of(i: usize) -> String {
    let mut r = SplitMix(i as u64 ^ 0xB10B);
    format!(
        "{i:016x}{:016x}{:016x}{:016x}",
        r.next(),
        r.next(),
        r.next()
    )
}

/// The id photo `i` is stored under (ids from 1, as the database gives them).
fn id_of(i: usize) -> i64 {
    i as i64 + 1
}

/// An index row packed for sorting: the key (24 bits at most) above the photo's number.
fn posting(key: i64, i: usize) -> u64 {
    ((key as u64) << 40) | i as u64
}

fn unpack(p: u64) -> (i64, usize) {
    ((p >> 40) as i64, (p & ((1 << 40) - 1)) as usize)
}

/// What the preload made: the stored photos the near-copies copy, and how long it took.
struct Preloaded {
    originals: Vec<(usize, IndexKeys)>,
    secs: f64,
    rows: usize,
}

/// Placeholders of a multi-row `values` list: SQLite's anonymous `?` (its driver looks each
/// numbered one up in a scan of all names), PostgreSQL's `$n`.
fn sqlite_tuples(rows: usize, width: usize) -> String {
    vec![format!("({})", vec!["?"; width].join(", ")); rows].join(", ")
}

fn pg_tuples(rows: usize, width: usize) -> String {
    (0..rows)
        .map(|r| {
            let marks: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
            format!("({})", marks.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Fills the three tables over `$conn` (either database's connection) with `$photos`
/// synthetic photos of `$bytes`-byte fingerprints, placeholders by `$tuples`; keeps the photos
/// named in `$originals`.
macro_rules! preload {
    ($conn:expr, $tuples:expr, $photos:expr, $bytes:expr, $originals:expr) => {{
        let started = Instant::now();
        let mut rng = SplitMix(SEED);
        let mut noise = SplitMix(!SEED);
        let mut kept = Vec::new();
        let (mut bands, mut anchors) = (Vec::new(), Vec::new());
        let mut tx = $conn.begin().await.expect("begin");
        let mut i = 0;
        while i < $photos {
            let n = ROWS_PER_STATEMENT.min($photos - i);
            let sql = format!(
                "insert into photo_fingerprint (id, hash, global, fingerprint) values {}",
                $tuples(n, 4)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for i in i..i + n {
                let keys = stored(&mut rng);
                let (b, a) = index::stored_keys(&keys);
                bands.extend(b.into_iter().map(|k| posting(k, i)));
                anchors.extend(a.into_iter().map(|k| posting(k, i)));
                let print: Vec<u8> = (0..$bytes.div_ceil(8))
                    .flat_map(|_| noise.next().to_le_bytes())
                    .take($bytes)
                    .collect();
                q = q
                    .bind(id_of(i))
                    .bind(hash_of(i))
                    .bind(keys.global as i64)
                    .bind(print);
                if $originals.contains_key(&i) {
                    kept.push((i, keys));
                }
            }
            q.execute(&mut *tx).await.expect("insert fingerprints");
            i += n;
            if i % 100_000 == 0 {
                tx.commit().await.expect("commit");
                tx = $conn.begin().await.expect("begin");
                eprintln!(
                    "reuse_sql: {i} fingerprints ({:.0} s)",
                    started.elapsed().as_secs_f64()
                );
            }
        }
        let mut rows = $photos;
        for (table, mut postings) in [("photo_band", bands), ("photo_anchor", anchors)] {
            // In key order, as the primary key sorts: each insert lands at the index's end.
            postings.sort_unstable();
            postings.dedup();
            for (c, chunk) in postings.chunks(ROWS_PER_STATEMENT).enumerate() {
                let sql = format!(
                    "insert into {table} (key, photo) values {}",
                    $tuples(chunk.len(), 2)
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for &p in chunk {
                    let (key, i) = unpack(p);
                    q = q.bind(key).bind(id_of(i));
                }
                q.execute(&mut *tx).await.expect("insert index rows");
                if (c + 1) * ROWS_PER_STATEMENT % ROWS_PER_TRANSACTION == 0 {
                    tx.commit().await.expect("commit");
                    tx = $conn.begin().await.expect("begin");
                    eprintln!(
                        "reuse_sql: {} {table} rows ({:.0} s)",
                        (c + 1) * ROWS_PER_STATEMENT,
                        started.elapsed().as_secs_f64()
                    );
                }
            }
            rows += postings.len();
        }
        tx.commit().await.expect("commit");
        (kept, rows, started)
    }};
}

async fn preload(
    store: Store,
    spec: &StoreSpec,
    photos: usize,
    bytes: usize,
    originals: &HashMap<usize, ()>,
) -> Preloaded {
    let (originals, rows, started) = match store {
        Store::Sqlite => {
            let options = SqliteConnectOptions::new()
                .filename(spec.data.path().join("evidence.db"))
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                // A bulk load: a power cut would only mean running the bench again.
                .synchronous(sqlx::sqlite::SqliteSynchronous::Off)
                .pragma("cache_size", "-262144");
            let mut conn = SqliteConnection::connect_with(&options)
                .await
                .expect("open the SQLite store");
            let out = preload!(conn, sqlite_tuples, photos, bytes, originals);
            sqlx::query("pragma wal_checkpoint(truncate)")
                .execute(&mut conn)
                .await
                .expect("checkpoint");
            out
        }
        Store::Postgres => {
            let url = spec.database_url.as_deref().expect("a PostgreSQL database");
            let mut conn = PgConnection::connect(url).await.expect("PostgreSQL");
            let out = preload!(conn, pg_tuples, photos, bytes, originals);
            sqlx::query("vacuum analyze photo_fingerprint, photo_band, photo_anchor")
                .execute(&mut conn)
                .await
                .expect("vacuum analyze");
            out
        }
    };
    Preloaded {
        originals,
        secs: started.elapsed().as_secs_f64(),
        rows,
    }
}

/// Timings of one kind of lookup.
#[derive(Default)]
struct Timed {
    times: Vec<Duration>,
    candidates: usize,
    found: usize,
}

impl Timed {
    fn ms(&mut self, q: f64) -> f64 {
        self.times.sort();
        let at = ((self.times.len() - 1) as f64 * q).round() as usize;
        self.times[at].as_secs_f64() * 1e3
    }

    fn mean_candidates(&self) -> f64 {
        self.candidates as f64 / self.times.len() as f64
    }
}

async fn run(store: Store, photos: usize, bytes: usize) -> serde_json::Value {
    let spec = StoreSpec::fresh(store).await;
    let settings = Settings {
        database_url: spec.database_url.clone(),
        ..Settings::new(spec.data.path())
    };
    let opened: DynStore = settings.open_store().await.expect("open the store");
    let mut pick = SplitMix(SEED ^ 1);
    let targets: Vec<usize> = (0..LOOKUPS + WARM_UP)
        .map(|_| (pick.next() % photos as u64) as usize)
        .collect();
    let wanted: HashMap<usize, ()> = targets.iter().map(|&t| (t, ())).collect();
    eprintln!("reuse_sql: preloading {photos} photos on {}", store.name());
    let loaded = preload(store, &spec, photos, bytes, &wanted).await;
    eprintln!(
        "reuse_sql: preloaded {} rows in {:.0} s",
        loaded.rows, loaded.secs
    );
    let originals: HashMap<usize, IndexKeys> = loaded.originals.into_iter().collect();
    let mut queries: Vec<(Option<String>, QueryKeys)> = Vec::new();
    for &t in &targets {
        queries.push((Some(hash_of(t)), lookup(&mut pick, Some(&originals[&t]))));
        queries.push((None, lookup(&mut pick, None)));
    }
    let (mut copies, mut fresh) = (Timed::default(), Timed::default());
    for (n, (original, query)) in queries.iter().enumerate() {
        let started = Instant::now();
        let found = photo_check::lookup(&opened, query, "")
            .await
            .expect("lookup");
        let took = started.elapsed();
        if n < 2 * WARM_UP {
            continue;
        }
        let timed = if original.is_some() {
            &mut copies
        } else {
            &mut fresh
        };
        timed.times.push(took);
        timed.candidates += found.len();
        timed.found += usize::from(found.iter().any(|(h, _)| Some(h) == original.as_ref()));
    }
    spec.finish_or_keep("reuse_sql").await;

    println!(
        "\n{photos} photos on {} ({bytes}-byte fingerprints): preload {:.0} s ({} rows, {:.0} rows/s)",
        store.name(),
        loaded.secs,
        loaded.rows,
        loaded.rows as f64 / loaded.secs
    );
    println!("lookup       median      p99   candidates   found");
    for (name, t) in [("near-copy", &mut copies), ("new photo", &mut fresh)] {
        println!(
            "{name:<10} {:6.2} ms {:6.2} ms {:10.1} {:5} of {}",
            t.ms(0.5),
            t.ms(0.99),
            t.mean_candidates(),
            t.found,
            t.times.len()
        );
    }
    json!({
        "store": store.name(), "photos": photos, "fingerprint_bytes": bytes,
        "preload_s": loaded.secs, "preload_rows": loaded.rows,
        "copy_median_ms": copies.ms(0.5), "copy_p99_ms": copies.ms(0.99),
        "copy_candidates": copies.mean_candidates(), "copies_found": copies.found,
        "new_median_ms": fresh.ms(0.5), "new_p99_ms": fresh.ms(0.99),
        "new_candidates": fresh.mean_candidates(), "lookups": copies.times.len(),
    })
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name} is a number")))
        .unwrap_or(default)
}

const USAGE: &str = "\
The photo-reuse index at BUKTI_BENCH_PHOTOS stored photos (default 1,000,000): preload time and
lookup latency (median, p99), candidates compared, near-copies found.

usage: cargo bench -p bukti-tests --bench reuse_sql -- [--store sqlite|postgres|both]

environment: BUKTI_BENCH_PHOTOS, BUKTI_BENCH_PRINT_BYTES (bytes per stored fingerprint),
BUKTI_BENCH_KEEP=1 (keep the filled store), BUKTI_TEST_POSTGRES (the PostgreSQL server).
More in the doc comment of tests/benches/reuse_sql.rs.";
#[tokio::main]
async fn main() {
    let photos = env_number("BUKTI_BENCH_PHOTOS", 1_000_000);
    let bytes = env_number("BUKTI_BENCH_PRINT_BYTES", 8_192);
    let stores = cli::stores_from_args(USAGE);
    for store in stores {
        let result = run(store, photos, bytes).await;
        println!("RESULT {result}");
    }
}
