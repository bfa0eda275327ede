//! The load generator shared by the load bench (`tests/benches/load.rs`, five minutes against a
//! release server) and its short CI version (`tests/tests/it/load.rs`): many enrolled devices at
//! once, each looping over what a phone does on a sync (push a new record, push an edit to its
//! latest record, pull its unit's feed) against a real server over loopback, with every
//! request's latency and every error recorded.
//!
//! The simulated devices keep their Automerge documents in memory and speak the wire protocol
//! directly, without a device store, so the generator's own cost stays small beside the server's.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use automerge::{ActorId, ChangeHash};
use bukti_core::{
    RecordDoc, RecordId,
    protocol::{PROTOCOL_HEADER, PROTOCOL_VERSION, PullResponse, PushOutcome, PushResponse},
};
use bukti_tests::{enroll_request_with, issue_code_over_http, sample_record};
use serde_json::json;

/// The ten Polsek of Polres Buleleng the devices are spread over.
const POLSEK: [&str; 10] = [
    "bali/buleleng/sawan",
    "bali/buleleng/gerokgak",
    "bali/buleleng/seririt",
    "bali/buleleng/busungbiu",
    "bali/buleleng/banjar",
    "bali/buleleng/sukasada",
    "bali/buleleng/kota-singaraja",
    "bali/buleleng/kubutambahan",
    "bali/buleleng/tejakula",
    "bali/buleleng/celukan-bawang",
];

/// The requests a device makes, measured apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    PushNew,
    PushEdit,
    Pull,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::PushNew => "push new record",
            Kind::PushEdit => "push edit",
            Kind::Pull => "pull page",
        }
    }
}

/// How hard and how long to push.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub devices: usize,
    pub duration: Duration,
    /// Mean pause of a device between two requests (each pause is drawn from half to one and a
    /// half times this, so devices drift apart as real ones do).
    pub pause: Duration,
}

/// What a run measured.
#[derive(Debug, Default)]
pub struct Tally {
    pub latencies: BTreeMap<Kind, Vec<Duration>>,
    pub errors: u64,
    /// The first few errors in full, for the report.
    pub first_errors: Vec<String>,
}

impl Tally {
    fn record(&mut self, kind: Kind, took: Duration, outcome: Result<(), String>) {
        match outcome {
            Ok(()) => self.latencies.entry(kind).or_default().push(took),
            Err(e) => {
                self.errors += 1;
                if self.first_errors.len() < 10 {
                    self.first_errors.push(format!("{}: {e}", kind.name()));
                }
            }
        }
    }

    pub fn requests(&self) -> usize {
        self.latencies.values().map(Vec::len).sum()
    }

    /// The `q` quantile (0–1) of `kind`'s latencies, nearest rank.
    pub fn quantile(&self, kind: Kind, q: f64) -> Option<Duration> {
        let mut all = self.latencies.get(&kind)?.clone();
        if all.is_empty() {
            return None;
        }
        all.sort();
        let rank = ((all.len() as f64 * q).ceil() as usize).clamp(1, all.len());
        Some(all[rank - 1])
    }
}

/// One simulated device: its credential, its latest record and its pull cursor.
#[derive(Debug)]
pub struct SimDevice {
    token: String,
    actor: ActorId,
    unit: String,
    officer: String,
    /// The latest record and the heads the server acknowledged for it.
    latest: Option<(RecordId, RecordDoc, Vec<ChangeHash>)>,
    cursor: i64,
    seed: u64,
}

/// Enrolls `n` devices over HTTP with an admin token, spread over the ten Polsek.
pub async fn enroll(url: &str, admin_token: &str, n: usize) -> Vec<SimDevice> {
    let http = reqwest::Client::new();
    let mut devices = Vec::with_capacity(n);
    for i in 0..n {
        let unit = POLSEK[i % POLSEK.len()];
        let officer = format!("8709{i:04}");
        let code = issue_code_over_http(url, admin_token, unit, &officer).await;
        let actor = ActorId::random();
        let key = ed25519_dalek::SigningKey::from_bytes(&rand::random::<[u8; 32]>());
        let resp = http
            .post(format!("{url}/api/v1/enroll"))
            .json(&enroll_request_with(&key, &code, &actor.to_hex_string()))
            .send()
            .await
            .expect("enroll a load device");
        assert_eq!(resp.status().as_u16(), 201, "enroll {officer}");
        let body: serde_json::Value = resp.json().await.expect("enrollment answer");
        let token = body["token"].as_str().expect("token");
        bukti_tests::signing::register(
            token,
            bukti_tests::signing::DeviceKey {
                key,
                actor: actor.to_hex_string(),
            },
        );
        devices.push(SimDevice {
            token: token.to_owned(),
            actor,
            unit: unit.to_owned(),
            officer,
            latest: None,
            cursor: 0,
            seed: i as u64 + 1,
        });
    }
    devices
}

/// Runs every device concurrently until `plan.duration` has passed.
pub async fn run(url: &str, devices: Vec<SimDevice>, plan: Plan) -> Tally {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("HTTP client");
    let tally = Arc::new(Mutex::new(Tally::default()));
    let deadline = Instant::now() + plan.duration;
    let mut tasks = Vec::with_capacity(devices.len());
    for mut device in devices.into_iter().take(plan.devices) {
        let (http, url, tally) = (http.clone(), url.to_owned(), tally.clone());
        tasks.push(tokio::spawn(async move {
            let mut step = 0u64;
            while Instant::now() < deadline {
                tokio::time::sleep(device.pause(plan.pause)).await;
                let kind = match (step % 3, &device.latest) {
                    (1, Some(_)) => Kind::PushEdit,
                    (2, _) => Kind::Pull,
                    _ => Kind::PushNew,
                };
                let started = Instant::now();
                let outcome = match kind {
                    Kind::PushNew => device.push_new(&http, &url, step).await,
                    Kind::PushEdit => device.push_edit(&http, &url, step).await,
                    Kind::Pull => device.pull(&http, &url).await,
                };
                let took = started.elapsed();
                tally.lock().expect("tally").record(kind, took, outcome);
                step += 1;
            }
        }));
    }
    for task in tasks {
        if let Err(e) = task.await {
            tally.lock().expect("tally").record(
                Kind::PushNew,
                Duration::ZERO,
                Err(format!("device task failed: {e}")),
            );
        }
    }
    Arc::try_unwrap(tally)
        .expect("every device finished")
        .into_inner()
        .expect("tally")
}

impl SimDevice {
    /// A pause around `mean`, from a per-device xorshift so runs differ only by scheduling.
    fn pause(&mut self, mean: Duration) -> Duration {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let unit = (self.seed % 1000) as f64 / 1000.0;
        mean.mul_f64(0.5 + unit)
    }

    async fn push_new(
        &mut self,
        http: &reqwest::Client,
        url: &str,
        step: u64,
    ) -> Result<(), String> {
        let record = sample_record(&self.unit, &self.officer, &format!("Pelayanan SKCK {step}"));
        let id = record.id;
        let doc = RecordDoc::create(&record, self.actor.clone(), &self.officer);
        self.latest = Some((id, doc, Vec::new()));
        self.push_latest(http, url).await
    }

    async fn push_edit(
        &mut self,
        http: &reqwest::Client,
        url: &str,
        step: u64,
    ) -> Result<(), String> {
        let Some((_, doc, _)) = &mut self.latest else {
            return Err("no record to edit".into());
        };
        doc.edit(&self.officer, |r| {
            r.counts.services.insert("skck".into(), step);
        })
        .map_err(|e| format!("edit: {e}"))?;
        self.push_latest(http, url).await
    }

    /// Pushes what the server lacks of the latest record and remembers the new server heads.
    async fn push_latest(&mut self, http: &reqwest::Client, url: &str) -> Result<(), String> {
        use base64::Engine;
        let Some((id, doc, server_heads)) = &mut self.latest else {
            return Err("no record to push".into());
        };
        let changes: Vec<String> = doc
            .changes_since(server_heads)
            .iter()
            .map(|c| base64::engine::general_purpose::STANDARD.encode(c))
            .collect();
        let body = json!({ "records": [{ "id": id, "changes": changes }] });
        let api = format!("{url}/api/v1");
        let body = bukti_tests::signing::signed_for(http, &api, &self.token, &body).await;
        let resp = http
            .post(format!("{url}/api/v1/sync/push"))
            .bearer_auth(&self.token)
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("push: {e}"))?;
        let answer: PushResponse = serde_json::from_slice(&ok_body(resp).await?)
            .map_err(|e| format!("push answer: {e}"))?;
        match answer.results.first().map(|r| &r.outcome) {
            Some(PushOutcome::Accepted { .. }) => {
                *server_heads = doc.heads();
                Ok(())
            }
            other => Err(format!("push refused: {other:?}")),
        }
    }

    /// Pulls the unit's feed from the cursor until the server says there is no more.
    async fn pull(&mut self, http: &reqwest::Client, url: &str) -> Result<(), String> {
        loop {
            let resp = http
                .get(format!("{url}/api/v1/sync/pull"))
                .query(&[("since", self.cursor.to_string()), ("limit", "500".into())])
                .bearer_auth(&self.token)
                .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
                .send()
                .await
                .map_err(|e| format!("pull: {e}"))?;
            let page: PullResponse = serde_json::from_slice(&ok_body(resp).await?)
                .map_err(|e| format!("pull page: {e}"))?;
            self.cursor = page.cursor;
            if !page.more {
                return Ok(());
            }
        }
    }
}

/// The body of a successful answer; any other status is an error with the server's words.
async fn ok_body(resp: reqwest::Response) -> Result<Vec<u8>, String> {
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| format!("body: {e}"))?;
    if !status.is_success() {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&body)));
    }
    Ok(body.to_vec())
}

/// The resident memory of process `pid` (`self` for this one) in MB, from `/proc`.
pub fn rss_mb(pid: &str) -> f64 {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return 0.0;
    };
    text.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Samples `pid`'s RSS every `every` until the returned flag is set; the samples come back from
/// the join handle as (seconds since start, MB).
pub fn sample_rss(
    pid: String,
    every: Duration,
) -> (
    Arc<std::sync::atomic::AtomicBool>,
    std::thread::JoinHandle<Vec<(f64, f64)>>,
) {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let handle = std::thread::spawn(move || {
        let started = Instant::now();
        let mut samples = Vec::new();
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            samples.push((started.elapsed().as_secs_f64(), rss_mb(&pid)));
            std::thread::sleep(every);
        }
        samples
    });
    (stop, handle)
}

/// Mean RSS over the first and the last `window` seconds of a run's samples.
pub fn first_and_last(samples: &[(f64, f64)], window: f64) -> (f64, f64) {
    let end = samples.last().map_or(0.0, |s| s.0);
    let mean = |keep: &dyn Fn(f64) -> bool| {
        let picked: Vec<f64> = samples.iter().filter(|s| keep(s.0)).map(|s| s.1).collect();
        picked.iter().sum::<f64>() / picked.len().max(1) as f64
    };
    (mean(&|t| t <= window), mean(&|t| t >= end - window))
}
