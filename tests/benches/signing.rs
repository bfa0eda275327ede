//! What signing costs a push (issue 11: at most 10 % of push throughput). For batches of 500
//! records as devices send them, on one core, the median over rounds of:
//!
//! - the device signing the batch (hash every change, build the message, Ed25519 sign);
//! - the server checking it (the same hashes and message, Ed25519 verify);
//! - the server's pure merge of the same batch without a signature (`ingest::decide` for each
//!   record, the part of a push the signature adds to; the store write comes on top);
//!
//! as µs per record, and signing plus checking as a share of the merge.
//!
//! ```sh
//! cargo bench -p bukti-tests --bench signing
//! ```

use std::time::{Duration, Instant};

use bukti_core::{
    RecordDoc,
    evidence::{self, push::SignedPush},
    protocol::{PushRecord, PushSignature},
    unit::UnitPath,
};
use bukti_server::{
    directory::{Principal, PrincipalKind, Role, Roles},
    evidence::{ServerKey, verify_push},
    ingest::{PushContext, decide},
};
use bukti_tests::sample_record;

const UNIT: &str = "bali/buleleng/sawan";
const OFFICER: &str = "87010001";
const RECORDS: usize = 500;
const ROUNDS: usize = 15;

fn median(mut xs: Vec<Duration>) -> f64 {
    xs.sort();
    xs[xs.len() / 2].as_secs_f64() * 1e6 / RECORDS as f64
}

fn main() {
    let actor = automerge::ActorId::random();
    let batch: Vec<PushRecord> = (0..RECORDS)
        .map(|i| {
            let record = sample_record(UNIT, OFFICER, &format!("Pelayanan SKCK {i}"));
            let mut doc = RecordDoc::create(&record, actor.clone(), &format!("officer:{OFFICER}"));
            PushRecord {
                id: record.id,
                changes: doc.changes_since(&[]),
            }
        })
        .collect();
    let device_key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let server = ServerKey::from_secret(&[9; 32]);
    let device = Principal {
        id: uuid::Uuid::now_v7(),
        kind: PrincipalKind::Device,
        roles: Roles::new([Role::Officer]),
        name: "bench".into(),
        unit: UnitPath::parse(UNIT).expect("unit"),
        officer: Some(OFFICER.into()),
        actor_id: Some(actor.to_hex_string()),
        revoked: false,
        person: None,
        own_records_only: false,
        access_until: None,
        disabled: false,
    };
    let public = device_key.verifying_key().to_bytes();
    let ctx = PushContext::of(&device);
    let now = bukti_core::record::now_ms();

    let (mut sign, mut check, mut merge) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let message = SignedPush {
            server_key: server.public_hex().to_owned(),
            device: actor.to_hex_string(),
            time_ms: now.as_millisecond(),
            records: batch
                .iter()
                .map(|r| {
                    (
                        r.id,
                        r.changes.iter().map(|c| evidence::change_hash(c)).collect(),
                    )
                })
                .collect(),
        }
        .message();
        let signature = PushSignature {
            server_key: server.public_hex().to_owned(),
            time_ms: now.as_millisecond(),
            signature: evidence::sign(&device_key, &message),
        };
        sign.push(started.elapsed());

        let started = Instant::now();
        verify_push(&server, &device, Some(&public), &batch, Some(&signature))
            .expect("the batch checks out");
        check.push(started.elapsed());

        let started = Instant::now();
        for r in &batch {
            std::hint::black_box(decide(None, r, &ctx, now));
        }
        merge.push(started.elapsed());
    }
    let (sign, check, merge) = (median(sign), median(check), median(merge));
    println!("per record, median of {ROUNDS} batches of {RECORDS}:");
    println!("  device signs the batch      {sign:8.2} µs");
    println!("  server checks the signature {check:8.2} µs");
    println!("  server merges (no signature) {merge:7.2} µs");
    println!(
        "  signing + checking = {:.1} % of the merge",
        (sign + check) / merge * 100.0
    );
}
