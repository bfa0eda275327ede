//! Load, short version for CI: 200 devices at once push new records, push edits and pull their
//! unit's feed against a real server on loopback for 15 s. Every request must succeed, and the
//! process's memory over the last seconds must not have grown far past the first seconds (a leak
//! per request would show at this rate). Latencies are printed, never asserted: speed is measured
//! by the five-minute bench (`cargo bench -p bukti-tests --bench load`, docs/testing.md).
//!
//! `BUKTI_LOAD_SECS` lengthens the run (the devices and checks stay the same).

#[path = "../../benches/load/driver.rs"]
mod driver;

use std::time::Duration;

use bukti_tests::{Backend, TestServer, both_stores};
use driver::{Kind, Plan};

const DEVICES: usize = 200;

/// The two store variants would otherwise share the process's memory and cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn seconds() -> u64 {
    std::env::var("BUKTI_LOAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15)
}

async fn two_hundred_devices_without_errors_or_growing_memory(backend: Backend) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start(backend).await;
    let devices = driver::enroll(&server.url, &server.admin_token, DEVICES).await;
    let secs = seconds();
    let plan = Plan {
        devices: DEVICES,
        duration: Duration::from_secs(secs),
        pause: Duration::from_millis(500),
    };
    let (stop, sampler) = driver::sample_rss("self".into(), Duration::from_millis(250));
    let tally = driver::run(&server.url, devices, plan).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let samples = sampler.join().expect("RSS sampler");

    for kind in [Kind::PushNew, Kind::PushEdit, Kind::Pull] {
        let q = |q| tally.quantile(kind, q).unwrap_or_default();
        eprintln!(
            "{backend:?} {}: {} requests, p50 {:?}, p99 {:?}",
            kind.name(),
            tally.latencies.get(&kind).map_or(0, Vec::len),
            q(0.5),
            q(0.99),
        );
    }
    assert_eq!(tally.errors, 0, "{:#?}", tally.first_errors);
    // Every device got through several rounds of all three kinds.
    assert!(
        tally.requests() >= DEVICES * 3,
        "{} requests",
        tally.requests()
    );
    for kind in [Kind::PushNew, Kind::PushEdit, Kind::Pull] {
        assert!(tally.latencies.contains_key(&kind), "no {}", kind.name());
    }
    let window = (secs as f64 / 4.0).max(2.0);
    let (first, last) = driver::first_and_last(&samples, window);
    eprintln!(
        "{backend:?} RSS: first {window:.0} s {first:.0} MB, last {window:.0} s {last:.0} MB"
    );
    // Generous: caches and connection pools still warm up in a short run; a leak per request
    // (thousands of them) grows far beyond this.
    assert!(
        last <= first * 1.5 + 64.0,
        "memory grew from {first:.0} MB to {last:.0} MB"
    );

    server.finish().await;
}

both_stores!(two_hundred_devices_without_errors_or_growing_memory);
