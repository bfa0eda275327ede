//! The console bench's data: `n` records spread over the ten Polsek of Polres Buleleng, with
//! kinds, places, words, LKE tags, photos and review states drawn from a fixed seed, written
//! straight through the store's write path.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use bukti_core::{
    Record, RecordDoc, ingest,
    record::{Location, PhotoRef, Status, Verdict, workflow},
};
use bukti_server::{
    projection::Projection,
    store::{DynStore, RecordWrite, WriteOutcome},
};

const BATCH: usize = 500;

const UNITS: [&str; 10] = [
    "bali/buleleng/sawan",
    "bali/buleleng/kubutambahan",
    "bali/buleleng/tejakula",
    "bali/buleleng/gerokgak",
    "bali/buleleng/seririt",
    "bali/buleleng/busungbiu",
    "bali/buleleng/busungbiu/tegal-asih",
    "bali/buleleng/banjar",
    "bali/buleleng/celukan-bawang",
    "bali/buleleng/spkt",
];

const KINDS: [(&str, &str); 6] = [
    ("sambang", "Sambang"),
    ("patroli", "Patroli dialogis"),
    ("pelayanan-skck", "Pelayanan SKCK"),
    ("pengaduan-masyarakat", "Penerimaan pengaduan"),
    ("penyuluhan", "Penyuluhan"),
    ("sosialisasi-antikorupsi", "Sosialisasi anti korupsi"),
];

const PLACES: [&str; 12] = [
    "Desa Sudaji",
    "Balai Banjar Bungkulan",
    "Pasar Anyar",
    "SD Negeri 1 Sawan",
    "Kantor Desa Bebetin",
    "Pantai Pemuteran",
    "Pura Desa Jagaraga",
    "Terminal Seririt",
    "Pelabuhan Celukan Bawang",
    "Puskesmas Kubutambahan",
    "Lapangan Tejakula",
    "Mapolsek",
];

const WORDS: [&str; 40] = [
    "warga",
    "masyarakat",
    "menyampaikan",
    "keluhan",
    "tentang",
    "keamanan",
    "lingkungan",
    "petugas",
    "memberikan",
    "himbauan",
    "kamtibmas",
    "bersama",
    "babinsa",
    "dan",
    "perangkat",
    "desa",
    "kegiatan",
    "berjalan",
    "lancar",
    "tertib",
    "pelayanan",
    "pemohon",
    "menerima",
    "surat",
    "keterangan",
    "anak-anak",
    "sekolah",
    "narkoba",
    "bahaya",
    "lalu",
    "lintas",
    "pengendara",
    "helm",
    "pasar",
    "malam",
    "pedagang",
    "ronda",
    "siskamling",
    "pecalang",
    "gotong-royong",
];

const LKE: [&str; 6] = ["PW.P3", "PP.P2", "MP.P1", "PW.P1", "PP.P5", "MP.P4"];

/// A small deterministic generator (xorshift), so every run seeds the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

fn officer(unit: usize, n: usize) -> String {
    format!("8{unit}0{:05}", n % 20)
}

/// Record `i` of the seed, its document and projection, as a write.
fn seed_write(i: usize) -> RecordWrite {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (i as u64).wrapping_mul(0x2545_f491_4f6c_dd1d) | 1);
    let u = rng.below(UNITS.len());
    let (kind, kind_title) = KINDS[rng.below(KINDS.len())];
    let place = rng.pick(&PLACES);
    let title = format!("{kind_title} {place}");
    let mut r = Record::new(UNITS[u], &officer(u, rng.below(1000)), kind, &title);
    r.place = place.to_owned();
    let words = 20 + rng.below(25);
    r.narrative = (0..words)
        .map(|_| rng.pick(&WORDS))
        .collect::<Vec<_>>()
        .join(" ");
    let year_start: jiff::Timestamp = "2026-01-01T00:00:00+08:00".parse().expect("time");
    let start = year_start + jiff::SignedDuration::from_mins(rng.below(365 * 24 * 60) as i64);
    r.captured_at = start + jiff::SignedDuration::from_mins(rng.below(600) as i64);
    if rng.below(10) != 0 {
        r.started_at = Some(start);
        r.ended_at = Some(start + jiff::SignedDuration::from_mins(30 + rng.below(180) as i64));
    }
    if rng.below(10) != 0 {
        r.location = Some(Location {
            lat: -8.0 - rng.below(30_000) as f64 / 100_000.0,
            lon: 114.5 + rng.below(80_000) as f64 / 100_000.0,
            accuracy_m: Some(5.0 + rng.below(20) as f64),
            source: "gps".into(),
        });
    }
    for _ in 0..rng.below(3) {
        r.lke.insert(rng.pick(&LKE).to_owned());
    }
    if rng.below(5) < 2 {
        for p in 0..1 + rng.below(3) {
            let key = format!("{:016x}{:016x}{:016x}{:016x}", i, p, rng.next(), rng.next());
            r.photos.insert(
                key,
                PhotoRef {
                    size: 200_000,
                    content_type: "image/jpeg".into(),
                    source: "camera".into(),
                    ..Default::default()
                },
            );
        }
    }
    r.status = Status::Submitted;
    if rng.below(10) == 0 {
        r.review.verdict = Some(Verdict::Valid);
    }
    let mut doc = RecordDoc::create(&r, automerge::ActorId::random(), "officer:bench");
    let state = workflow::derive(doc.automerge()).state;
    RecordWrite {
        id: r.id,
        expected_version: None,
        heads: ingest::heads_to_strings(&doc.heads()),
        doc: doc.save(),
        projection: Projection::of(&r, state),
        log: None,
    }
}

/// Seeds `n` records: two threads make the documents, the store writes batches of 500.
pub async fn seed(store: &DynStore, n: usize) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<RecordWrite>>(4);
    let batches = n.div_ceil(BATCH);
    let next = Arc::new(AtomicU64::new(0));
    let makers: Vec<_> = (0..2)
        .map(|_| {
            let (tx, next) = (tx.clone(), next.clone());
            std::thread::spawn(move || {
                loop {
                    let b = next.fetch_add(1, Ordering::Relaxed) as usize;
                    if b >= batches {
                        break;
                    }
                    let writes = (b * BATCH..((b + 1) * BATCH).min(n))
                        .map(seed_write)
                        .collect();
                    if tx.blocking_send(writes).is_err() {
                        break;
                    }
                }
            })
        })
        .collect();
    drop(tx);
    let started = Instant::now();
    let mut written = 0;
    while let Some(writes) = rx.recv().await {
        let count = writes.len();
        let outcomes = store.write_records(writes).await.expect("seed write");
        assert!(outcomes.iter().all(|o| *o == WriteOutcome::Written));
        written += count;
        if written % 10_000 < BATCH {
            eprintln!(
                "console: seeded {written}/{n} ({:.0} records/s)",
                written as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    for m in makers {
        m.join().expect("document maker");
    }
}
