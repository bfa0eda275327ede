//! The chain's pure logic without a database: encoding, hashing and what verification names.

use serde_json::json;

use super::*;

fn event(name: &str, action: Action, subject: &str) -> AuditEvent {
    AuditEvent::new(
        Actor {
            kind: "hq".into(),
            id: "0190-aaaa".into(),
            name: name.into(),
        },
        action,
        subject,
    )
    .in_unit("bali/buleleng")
    .with_detail(json!({"verdict": "valid", "comment": false}))
}

fn chain(events: &[AuditEvent]) -> Vec<AuditEntry> {
    let mut prev = GENESIS;
    events
        .iter()
        .zip(1..)
        .map(|(e, seq)| {
            let entry = AuditEntry::chain(e, seq, 1_780_000_000_000 + seq, &prev);
            prev = decode_hash(&entry.hash).expect("hash");
            entry
        })
        .collect()
}

fn three() -> Vec<AuditEntry> {
    chain(&[
        event("Kasat Binmas", Action::RecordViewed, "record:1"),
        event("Kasat Binmas", Action::Verdict, "record:1"),
        event("Wakapolres", Action::PhotoViewed, "photo:ab"),
    ])
}

fn walk(entries: &[AuditEntry]) -> Result<(i64, String), Breach> {
    let mut check = ChainCheck::default();
    for e in entries {
        check.check(e)?;
    }
    Ok(check.head())
}

#[test]
fn an_untouched_chain_verifies_to_its_last_hash() {
    let entries = three();
    assert_eq!(walk(&entries), Ok((3, entries[2].hash.clone())));
    assert_eq!(entries[0].prev_hash, hex::encode(GENESIS));
    assert_eq!(entries[1].prev_hash, entries[0].hash);
    assert_eq!(walk(&[]), Ok((0, hex::encode(GENESIS))));
}

#[test]
fn editing_any_field_is_named_at_that_entry() {
    let edits: [fn(&mut AuditEntry); 9] = [
        |e| e.at += 1,
        |e| e.actor.kind = "device".into(),
        |e| e.actor.id = "0190-bbbb".into(),
        |e| e.actor.name = "Someone else".into(),
        |e| e.action = "record_viewed".into(),
        |e| e.subject = "record:2".into(),
        |e| e.unit = Some("bali/buleleng/sawan".into()),
        |e| e.unit = None,
        |e| e.detail = r#"{"comment":false,"verdict":"invalid"}"#.into(),
    ];
    for edit in edits {
        let mut entries = three();
        edit(&mut entries[1]);
        assert_eq!(walk(&entries), Err(Breach::Altered { seq: 2 }));
    }
}

#[test]
fn a_deleted_entry_is_named_as_missing() {
    let mut entries = three();
    entries.remove(1);
    let breach = walk(&entries).expect_err("a gap");
    assert_eq!(
        breach,
        Breach::Missing {
            expected: 2,
            found: 3
        }
    );
    assert_eq!(breach.seq(), 2);
    assert_eq!(
        breach.to_string(),
        "entry 2 is missing (the next entry present is 3)"
    );
}

#[test]
fn a_rehashed_edit_breaks_the_link_to_the_next_entry() {
    let mut entries = three();
    entries[1].actor.name = "Someone else".into();
    let prev = decode_hash(&entries[1].prev_hash).expect("hash");
    entries[1].hash = hex::encode(entries[1].compute_hash(&prev));
    assert_eq!(walk(&entries), Err(Breach::Unlinked { seq: 3 }));
}

#[test]
fn renumbering_after_a_deletion_is_caught() {
    let mut entries = three();
    entries.remove(1);
    entries[1].seq = 2;
    assert_eq!(walk(&entries), Err(Breach::Unlinked { seq: 2 }));
}

#[test]
fn a_hash_that_is_not_hex_is_named() {
    let mut entries = three();
    entries[0].hash = "not a hash".into();
    assert_eq!(
        walk(&entries),
        Err(Breach::Malformed {
            seq: 1,
            column: "hash"
        })
    );
}

#[test]
fn the_encoding_keeps_field_boundaries() {
    let base = AuditEntry::chain(&event("ab", Action::Login, "c"), 1, 5, &GENESIS);
    let mut shifted = base.clone();
    shifted.actor.name = "a".into();
    shifted.action = "blogin".into();
    assert_ne!(base.compute_hash(&GENESIS), shifted.compute_hash(&GENESIS));
    let mut empty_unit = base.clone();
    empty_unit.unit = Some(String::new());
    let mut no_unit = base.clone();
    no_unit.unit = None;
    assert_ne!(
        empty_unit.compute_hash(&GENESIS),
        no_unit.compute_hash(&GENESIS)
    );
    assert_ne!(base.compute_hash(&GENESIS), base.compute_hash(&[1; 32]));
}

#[test]
fn detail_is_canonical_whatever_the_key_order() {
    let a: serde_json::Value =
        serde_json::from_str(r#"{"b": [1, {"z": null, "a": "x"}], "a": "é\"q"}"#).expect("json");
    let b = json!({"a": "é\"q", "b": [1, {"a": "x", "z": null}]});
    assert_eq!(
        canonical_json(&a),
        r#"{"a":"é\"q","b":[1,{"a":"x","z":null}]}"#
    );
    assert_eq!(canonical_json(&a), canonical_json(&b));
}
