//! The workload: realistic activity records from the ten Polsek of Polres Buleleng, real devices
//! that capture them, and the untimed preload of records in other Polres over the HTTP API.

use std::{collections::BTreeMap, sync::Arc, time::Instant};

use automerge::ActorId;
use bukti_core::{
    Record, RecordDoc,
    catalogue::Catalogue,
    device::{Capture, Device},
    evidence::{self, push::SignedPush},
    protocol::{PushRecord, PushResponse, PushResult},
    record::Location,
};
use bukti_tests::{enroll_request_with, issue_code_over_http};
use jiff::{SignedDuration, Timestamp};
use tempfile::TempDir;

pub const POLRES: &str = "bali/buleleng";
pub const POLSEK: [&str; 10] = [
    "sawan",
    "gerokgak",
    "seririt",
    "busungbiu",
    "banjar",
    "sukasada",
    "kota-singaraja",
    "kubutambahan",
    "tejakula",
    "celukan-bawang",
];
/// Where preloaded records live: the other Polres of Polda Bali, so the Buleleng feed a fresh
/// device pulls stays the workload's own while the tables grow.
const OTHER_POLRES: [&str; 8] = [
    "tabanan",
    "badung",
    "gianyar",
    "klungkung",
    "bangli",
    "karangasem",
    "jembrana",
    "denpasar",
];

/// (kind, title stem, service with its usual count range, people served)
const KINDS: [(&str, &str, Option<&str>); 10] = [
    ("pelayanan-skck", "Pelayanan SKCK", Some("skck")),
    ("pelayanan-sim", "Pelayanan perpanjangan SIM", Some("sim-c")),
    (
        "pelayanan-laporan-kehilangan",
        "Laporan kehilangan",
        Some("laporan-kehilangan"),
    ),
    ("sambang", "Sambang desa", None),
    ("patroli", "Patroli dialogis", None),
    (
        "pengaduan-masyarakat",
        "Penerimaan pengaduan",
        Some("pengaduan"),
    ),
    ("sosialisasi", "Sosialisasi kamtibmas", None),
    (
        "pengaturan-lalu-lintas",
        "Pengaturan lalu lintas pagi",
        None,
    ),
    (
        "pelayanan-keliling",
        "Pelayanan SIM keliling",
        Some("sim-a"),
    ),
    ("survei-kepuasan", "Survei kepuasan masyarakat", None),
];

const VILLAGES: [&str; 8] = [
    "Desa Sangsit",
    "Desa Pemuteran",
    "Desa Lovina",
    "Desa Tamblang",
    "Desa Pancasari",
    "Desa Julah",
    "Desa Kalibukbuk",
    "Desa Penglatan",
];

/// A deterministic mixer, so every run captures the same kinds of records.
fn mix(i: u64) -> u64 {
    let mut x = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The `i`-th realistic capture: kind, title, a few sentences of narrative, start and end,
/// GPS location, place, people served, participants, services, LKE tags, submitted.
pub fn capture(i: u64) -> Capture {
    let r = mix(i);
    let (kind, stem, service) = KINDS[(r % KINDS.len() as u64) as usize];
    let village = VILLAGES[((r >> 8) % VILLAGES.len() as u64) as usize];
    let served = 1 + (r >> 16) % 40;
    let participants = 2 + (r >> 24) % 6;
    let start = Timestamp::now() - SignedDuration::from_mins(60 + ((r >> 32) % 20_000) as i64);
    let mut services = BTreeMap::new();
    if let Some(s) = service {
        services.insert(s.to_owned(), served);
    }
    let lke = Catalogue::builtin()
        .activity_kind(kind)
        .map(|k| k.default_lke.iter().cloned().collect())
        .unwrap_or_default();
    Capture {
        kind: kind.to_owned(),
        title: format!("{stem} di {village} #{i}"),
        narrative: format!(
            "Kegiatan {stem} dilaksanakan di {village} bersama perangkat desa dan tokoh masyarakat. \
             Petugas melayani {served} warga dan mencatat keluhan terkait pelayanan, keamanan \
             lingkungan dan ketertiban lalu lintas di sekitar balai banjar. Seluruh kegiatan \
             berjalan aman dan tertib; dokumentasi foto disimpan pada perangkat petugas."
        ),
        started_at: Some(start),
        ended_at: Some(start + SignedDuration::from_mins(30 + ((r >> 40) % 120) as i64)),
        location: Some(Location {
            lat: -8.1 - ((r >> 44) % 1000) as f64 / 10_000.0,
            lon: 114.9 + ((r >> 50) % 4000) as f64 / 10_000.0,
            accuracy_m: Some(3.0 + ((r >> 12) % 20) as f64),
            source: "gps".into(),
        }),
        place: format!("Balai banjar, {village}"),
        people_served: Some(served),
        participants: Some(participants),
        services,
        lke,
        submit: true,
    }
}

/// Moves `record`'s activity `mins_ago` minutes (and six hours) back, keeping its length, and
/// dates its capture within three hours of the activity's end, as an officer enters it.
fn spread(record: &mut Record, now: Timestamp, mins_ago: i64) {
    let start = now - SignedDuration::from_mins(mins_ago + 360);
    let length = match (record.started_at, record.ended_at) {
        (Some(s), Some(e)) => e.duration_since(s),
        _ => SignedDuration::from_mins(60),
    };
    record.started_at = Some(start);
    record.ended_at = Some(start + length);
    let entered = mix(mins_ago as u64) % 180;
    record.captured_at = start + length + SignedDuration::from_mins(entered as i64);
}

/// A registered device in its own temporary home.
#[derive(Debug)]
pub struct BenchDevice {
    pub device: Arc<Device>,
    pub unit: String,
    _home: TempDir,
}

/// `n` devices across the ten Polsek, each registered and holding `records` captures (captured
/// concurrently, before any timing). `first` numbers records and officers across sets.
pub async fn devices(
    url: &str,
    token: &str,
    n: usize,
    records: usize,
    first: u64,
) -> Vec<BenchDevice> {
    let mut set = tokio::task::JoinSet::new();
    for d in 0..n {
        let (url, token) = (url.to_owned(), token.to_owned());
        set.spawn(async move {
            let home = tempfile::tempdir().expect("device home");
            let device = Device::open(home.path()).await.expect("open device");
            let unit = format!("{POLRES}/{}", POLSEK[d % POLSEK.len()]);
            let officer = format!("8{:07}", first + d as u64);
            let name = format!("HP {officer}");
            let code = issue_code_over_http(&url, &token, &unit, &officer).await;
            device
                .enroll(&url, &code, &name)
                .await
                .expect("enroll device");
            let base = (first + d as u64) * 1_000_000;
            for i in 0..records as u64 {
                device.capture(capture(base + i)).await.expect("capture");
            }
            (
                d,
                BenchDevice {
                    device: Arc::new(device),
                    unit,
                    _home: home,
                },
            )
        });
    }
    let mut out: Vec<(usize, BenchDevice)> = set.join_all().await;
    out.sort_by_key(|(d, _)| *d);
    out.into_iter().map(|(_, d)| d).collect()
}

/// A fresh device registered at the Polres, whose scope covers every Polsek.
pub async fn polres_device(url: &str, token: &str) -> (Device, TempDir) {
    let home = tempfile::tempdir().expect("device home");
    let device = Device::open(home.path()).await.expect("open device");
    let code = issue_code_over_http(url, token, POLRES, "87999999").await;
    device
        .enroll(url, &code, "HP Kasat Binmas")
        .await
        .expect("enroll the pulling device");
    (device, home)
}

/// Pre-serialised push bodies for the preload, made once and replayed into every fresh store.
#[derive(Debug)]
pub struct Preload {
    actors: Vec<(ActorId, String, String)>,
    batches: Vec<Batch>,
    pub records: usize,
}

/// One push body of the preload: its records as JSON, and what the signature covers (signed at
/// push time, for the server key of the store being loaded).
#[derive(Debug)]
struct Batch {
    owner: usize,
    records: Vec<u8>,
    signed: Vec<(bukti_core::RecordId, Vec<String>)>,
}

impl Preload {
    /// Builds `n` records spread over the other Polres, 500 per push body; with `days`, their
    /// activity times are spread evenly over that many days back, oldest first.
    pub fn build(n: usize, days: usize) -> Preload {
        let now = Timestamp::now();
        let actors: Vec<(ActorId, String, String)> = OTHER_POLRES
            .iter()
            .enumerate()
            .map(|(i, p)| {
                (
                    ActorId::random(),
                    format!("bali/{p}"),
                    format!("8{:07}", 900 + i),
                )
            })
            .collect();
        let per = bukti_core::protocol::MAX_PUSH_RECORDS;
        let chunks: Vec<(usize, usize)> = (0..n.div_ceil(per))
            .map(|b| (b * per, ((b + 1) * per).min(n)))
            .collect();
        let build = |(lo, hi): (usize, usize)| {
            let owner = (lo / per) % actors.len();
            let (actor, unit, officer) = &actors[owner];
            let records = (lo..hi)
                .map(|i| {
                    let mut record = capture(9_000_000_000 + i as u64).into_record(
                        unit,
                        officer,
                        Catalogue::builtin(),
                    );
                    if days > 0 {
                        spread(&mut record, now, (days * (n - i) * 1440 / n) as i64);
                    }
                    let mut doc =
                        RecordDoc::create(&record, actor.clone(), &format!("officer:{officer}"));
                    PushRecord {
                        id: record.id,
                        changes: doc.changes_since(&[]),
                    }
                })
                .collect();
            let records: Vec<PushRecord> = records;
            let signed = records
                .iter()
                .map(|r| {
                    (
                        r.id,
                        r.changes.iter().map(|c| evidence::change_hash(c)).collect(),
                    )
                })
                .collect();
            let body = serde_json::to_vec(&records).expect("serialise a push body");
            Batch {
                owner,
                records: body,
                signed,
            }
        };
        let half = chunks.len() / 2;
        let batches = std::thread::scope(|s| {
            let second = s.spawn(|| {
                chunks[half..]
                    .iter()
                    .copied()
                    .map(build)
                    .collect::<Vec<_>>()
            });
            let mut first: Vec<_> = chunks[..half].iter().copied().map(build).collect();
            first.extend(second.join().expect("preload builder thread"));
            first
        });
        Preload {
            actors,
            batches,
            records: n,
        }
    }

    /// Registers the preload devices with `bali_token` and pushes every body, four at a time.
    /// Returns the records/s it ran at (untimed in the results).
    pub async fn push(self: &Arc<Self>, url: &str, bali_token: &str) -> f64 {
        let http = reqwest::Client::new();
        let mut devices = Vec::new();
        for (actor, unit, officer) in &self.actors {
            let polres = serde_json::json!({
                "path": unit, "name": format!("Polres {unit}"), "kind": "polres",
            });
            let added = http
                .post(format!("{url}/api/v1/units"))
                .bearer_auth(bali_token)
                .json(&polres)
                .send()
                .await
                .expect("add a preload Polres");
            assert!(matches!(added.status().as_u16(), 201 | 409), "{added:?}");
            let code = issue_code_over_http(url, bali_token, unit, officer).await;
            let key = ed25519_dalek::SigningKey::from_bytes(&rand::random::<[u8; 32]>());
            let resp = http
                .post(format!("{url}/api/v1/enroll"))
                .json(&enroll_request_with(&key, &code, &actor.to_hex_string()))
                .send()
                .await
                .expect("enroll a preload device");
            let v: serde_json::Value = resp.json().await.expect("registration answer");
            let token = v["token"].as_str().expect("device token").to_owned();
            let server_key = v["server_key"].as_str().expect("server key").to_owned();
            devices.push((token, key, actor.to_hex_string(), server_key));
        }
        let tokens = Arc::new(devices);
        let start = Instant::now();
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..4 {
            let (me, tokens, next, http, url) = (
                self.clone(),
                tokens.clone(),
                next.clone(),
                http.clone(),
                url.to_owned(),
            );
            set.spawn(async move {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(batch) = me.batches.get(i) else {
                        return;
                    };
                    let (token, key, actor, server_key) = &tokens[batch.owner];
                    let time_ms = Timestamp::now().as_millisecond();
                    let message = SignedPush {
                        server_key: server_key.clone(),
                        device: actor.clone(),
                        time_ms,
                        records: batch.signed.clone(),
                    }
                    .message();
                    let signature = serde_json::json!({
                        "server_key": server_key, "time_ms": time_ms,
                        "signature": evidence::sign(key, &message),
                    });
                    let mut body = br#"{"records":"#.to_vec();
                    body.extend_from_slice(&batch.records);
                    body.extend_from_slice(format!(r#","signature":{signature}}}"#).as_bytes());
                    let resp = http
                        .post(format!("{url}/api/v1/sync/push"))
                        .bearer_auth(token)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .expect("preload push");
                    assert!(
                        resp.status().is_success(),
                        "preload push: {}",
                        resp.status()
                    );
                    let answer: PushResponse = resp.json().await.expect("push answer");
                    let accepted = answer.results.iter().filter(|r| accepted(r)).count();
                    assert_eq!(accepted, answer.results.len(), "preload records refused");
                }
            });
        }
        set.join_all().await;
        self.records as f64 / start.elapsed().as_secs_f64()
    }
}

fn accepted(r: &PushResult) -> bool {
    matches!(
        r.outcome,
        bukti_core::protocol::PushOutcome::Accepted { .. }
    )
}
