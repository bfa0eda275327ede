//! The signed texts: exact layout, round trips, and every alteration refused.

use ed25519_dalek::SigningKey;

use super::{
    SignatureError,
    log::{Draft, GENESIS, HeadConflict, LogHead, SignedHead, check_chain, check_head},
    public_key,
    push::SignedPush,
    receipt::{Receipt, ReceiptRecord},
    sign, verify,
};
use crate::RecordId;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn push() -> SignedPush {
    SignedPush {
        server_key: "ab".repeat(32),
        device: "0123456789abcdef".into(),
        time_ms: 1_780_000_000_123,
        records: vec![
            (RecordId::new(), vec!["11".repeat(32), "22".repeat(32)]),
            (RecordId::new(), vec!["33".repeat(32)]),
        ],
    }
}

#[test]
fn a_push_message_has_the_documented_layout_and_reads_back() {
    let p = push();
    let m = p.message();
    let lines: Vec<&str> = m.lines().collect();
    assert_eq!(lines[0], "bukti-push/1");
    assert_eq!(lines[1], format!("server {}", "ab".repeat(32)));
    assert_eq!(lines[3], "time 1780000000123");
    assert_eq!(
        lines[4],
        format!(
            "record {} {},{}",
            p.records[0].0,
            "11".repeat(32),
            "22".repeat(32)
        )
    );
    assert!(m.ends_with('\n'));
    assert_eq!(SignedPush::parse(&m).expect("ok"), p);
    // Anything but the canonical text is refused: a trailing space, a missing newline.
    assert!(SignedPush::parse(&m.replace("time ", "time  ")).is_err());
    assert!(SignedPush::parse(m.trim_end()).is_err());
}

#[test]
fn a_signature_fails_for_any_other_message_or_key() {
    let (k, m) = (key(1), push().message());
    let sig = sign(&k, &m);
    let vk = k.verifying_key();
    verify(&vk, &m, &sig, "push").expect("ok");
    let mut other = push();
    other.time_ms += 1;
    assert_eq!(
        verify(&vk, &other.message(), &sig, "push"),
        Err(SignatureError::Mismatch("push"))
    );
    assert_eq!(
        verify(&key(2).verifying_key(), &m, &sig, "push"),
        Err(SignatureError::Mismatch("push"))
    );
    assert!(matches!(
        verify(&vk, &m, "zz", "push"),
        Err(SignatureError::Malformed { .. })
    ));
    assert!(public_key("00").is_err());
}

fn receipt() -> Receipt {
    Receipt::issue(
        &key(7),
        1_780_000_000_999,
        "0123456789abcdef",
        &"44".repeat(32),
        LogHead {
            seq: 12,
            hash: "55".repeat(32),
        },
        vec![ReceiptRecord {
            id: RecordId::new(),
            heads: vec!["66".repeat(32)],
        }],
    )
}

#[test]
fn a_receipt_checks_out_only_under_its_servers_key_and_unaltered() {
    let r = receipt();
    let server = hex::encode(key(7).verifying_key().to_bytes());
    r.verify(&server).expect("ok");
    let stranger = hex::encode(key(8).verifying_key().to_bytes());
    assert!(matches!(
        r.verify(&stranger),
        Err(SignatureError::OtherServer { .. })
    ));
    let mut forged = r.clone();
    forged.records[0].heads = vec!["77".repeat(32)];
    assert_eq!(
        forged.verify(&server),
        Err(SignatureError::Mismatch("receipt"))
    );
    let mut moved = r.clone();
    moved.log.seq = 11;
    assert!(moved.verify(&server).is_err());
    assert_eq!(r.heads_of(r.records[0].id), Some(&r.records[0].heads[..]));
}

fn chain(n: usize) -> Vec<super::log::LogEntry> {
    let mut prev = GENESIS.to_owned();
    (1..=n as i64)
        .map(|seq| {
            let e = Draft {
                record: RecordId::new(),
                by: "ab".into(),
                push: (seq % 2 == 0).then(|| "cd".repeat(32)),
                changes: vec![format!("{seq:064}")],
                heads: vec![format!("{seq:064}")],
            }
            .chain(seq, &prev, 1000 + seq);
            prev = e.hash.clone();
            e
        })
        .collect()
}

#[test]
fn the_chain_names_the_first_edited_missing_or_reordered_entry() {
    let entries = chain(5);
    let head = check_chain(&LogHead::empty(), &entries).expect("ok");
    assert_eq!(head.seq, 5);
    assert_eq!(head.hash, entries[4].hash);

    let mut edited = entries.clone();
    edited[2].changes.push("ff".repeat(32));
    assert_eq!(
        check_chain(&LogHead::empty(), &edited),
        Err((3, "was edited after it was written"))
    );
    let mut gap = entries.clone();
    gap.remove(1);
    assert_eq!(check_chain(&LogHead::empty(), &gap), Err((2, "is missing")));
    // Re-hashing an edited entry does not help: the next one no longer follows it.
    let mut rehashed = entries;
    rehashed[1].time_ms += 1;
    rehashed[1].hash = rehashed[1].computed_hash();
    assert_eq!(
        check_chain(&LogHead::empty(), &rehashed),
        Err((3, "does not follow the entry before it"))
    );
}

#[test]
fn a_device_catches_a_cut_or_rewritten_log_from_the_head_it_kept() {
    let seen = LogHead {
        seq: 10,
        hash: "aa".repeat(32),
    };
    let later = LogHead {
        seq: 12,
        hash: "bb".repeat(32),
    };
    assert_eq!(check_head(&seen, &later, Some(&"aa".repeat(32))), Ok(()));
    assert_eq!(
        check_head(
            &seen,
            &LogHead {
                seq: 9,
                ..later.clone()
            },
            None
        ),
        Err(HeadConflict::Truncated { seen: 10, now: 9 })
    );
    assert_eq!(
        check_head(&seen, &later, Some(&"cc".repeat(32))),
        Err(HeadConflict::Rewritten { seq: 10 })
    );
    assert_eq!(
        check_head(
            &seen,
            &LogHead {
                seq: 10,
                hash: "dd".repeat(32)
            },
            None
        ),
        Err(HeadConflict::Rewritten { seq: 10 })
    );
}

#[test]
fn a_signed_head_verifies_and_refuses_a_moved_head() {
    let h = SignedHead::new(
        &key(3),
        &LogHead {
            seq: 4,
            hash: "ee".repeat(32),
        },
        99,
    );
    h.verify().expect("ok");
    let mut moved = h;
    moved.seq = 3;
    assert_eq!(moved.verify(), Err(SignatureError::Mismatch("log head")));
}

#[test]
fn a_change_hash_is_automerges_own_hash_of_the_raw_chunk() {
    use automerge::transaction::Transactable;
    let mut doc = automerge::AutoCommit::new();
    doc.put(automerge::ROOT, "title", "Sambang").expect("put");
    let change = doc.get_last_local_change().expect("a change");
    assert_eq!(
        super::change_hash(change.raw_bytes()),
        change.hash().to_string()
    );
    // Too short to be a change: still hashed, so the batch can be signed.
    assert_eq!(super::change_hash(b"abc"), super::sha256_hex(b""));
}
