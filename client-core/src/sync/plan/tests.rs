//! The push plan's decisions, each checked without a store or a server.

use super::*;

fn hash(n: u8) -> ChangeHash {
    ChangeHash([n; 32])
}

fn sent(full_history: bool) -> Sent {
    Sent {
        id: RecordId::new(),
        local_heads: vec![hash(2).to_string()],
        full_history,
    }
}

fn rejected(id: RecordId, code: RejectCode) -> PushResult {
    PushResult {
        id,
        outcome: PushOutcome::Rejected {
            code,
            reason: "because".into(),
            problems: vec![],
        },
    }
}

/// A record captured and edited once: two changes, never acknowledged.
fn edited_record() -> (RecordDoc, PushRow) {
    let record = crate::Record::new("bali/buleleng/sawan", "87010123", "sambang", "Sambang");
    let author = "officer:87010123";
    let mut doc = RecordDoc::create(&record, ActorId::random(), author);
    doc.edit(author, |r| r.narrative = "Sambang ke rumah warga".into())
        .expect("edit");
    let row = PushRow {
        id: record.id,
        source: PushSource::Doc(doc.save()),
        local_heads: ingest::heads_to_strings(&doc.heads()),
        server_heads: None,
        held: false,
    };
    (doc, row)
}

#[test]
fn a_stored_history_sends_exactly_what_the_document_would() {
    let (mut doc, row) = edited_record();
    let history = PushRow {
        source: PushSource::History(packed::pack(&doc.changes_since(&[]))),
        ..row.clone()
    };
    let (Ok(Prepared::Send(from_doc, doc_sent)), Ok(Prepared::Send(stored, stored_sent))) =
        (prepare(row), prepare(history))
    else {
        panic!("both send");
    };
    assert_eq!(from_doc.changes.len(), 2);
    assert_eq!(stored.changes, from_doc.changes);
    assert_eq!(stored_sent, doc_sent);
    assert!(stored_sent.full_history);
}

#[test]
fn a_held_record_is_not_sent_from_its_stored_history() {
    let (mut doc, row) = edited_record();
    let held = PushRow {
        source: PushSource::History(packed::pack(&doc.changes_since(&[]))),
        held: true,
        ..row
    };
    assert!(matches!(prepare(held), Ok(Prepared::Skip)));
}

#[test]
fn a_damaged_stored_history_fails_its_record_by_name() {
    let (mut doc, row) = edited_record();
    let mut packed = packed::pack(&doc.changes_since(&[]));
    packed.truncate(packed.len() - 1);
    let id = row.id;
    let damaged = PushRow {
        source: PushSource::History(packed),
        ..row
    };
    let e = prepare(damaged).expect_err("damaged");
    assert!(
        e.contains(&id.to_string()) && e.contains("stored history"),
        "{e}"
    );
}

#[test]
fn a_record_the_server_never_acknowledged_sends_its_whole_history() {
    assert_eq!(
        decide_send(&[hash(1)], None, false),
        SendDecision::Changes { since: vec![] }
    );
}

#[test]
fn only_changes_after_the_acknowledged_heads_are_sent() {
    assert_eq!(
        decide_send(&[hash(2)], Some(&[hash(1)]), false),
        SendDecision::Changes {
            since: vec![hash(1)]
        }
    );
}

#[test]
fn acknowledged_heads_mean_nothing_to_send_whatever_their_order() {
    assert_eq!(
        decide_send(&[hash(1), hash(2)], Some(&[hash(2), hash(1)]), false),
        SendDecision::NothingNew
    );
}

#[test]
fn held_records_are_not_sent() {
    assert_eq!(decide_send(&[hash(1)], None, true), SendDecision::Hold);
}

#[test]
fn acceptance_carries_the_heads_seen_when_the_batch_was_built() {
    let s = sent(false);
    let result = PushResult {
        id: s.id,
        outcome: PushOutcome::Accepted {
            heads: vec![hash(3).to_string()],
            changed: true,
        },
    };
    let updates = apply_results(std::slice::from_ref(&s), &[result]).expect("matching");
    assert_eq!(
        updates,
        vec![Update::Acknowledge {
            id: s.id,
            server_heads: vec![hash(3).to_string()],
            local_heads: s.local_heads,
            changed: true,
        }]
    );
}

#[test]
fn missing_dependencies_resends_the_whole_history_once() {
    let partial = sent(false);
    let full = sent(true);
    let updates = apply_results(
        &[partial.clone(), full.clone()],
        &[
            rejected(partial.id, RejectCode::MissingDependencies),
            rejected(full.id, RejectCode::MissingDependencies),
        ],
    )
    .expect("matching");
    assert!(matches!(updates[0], Update::ResendFull { id, .. } if id == partial.id));
    assert!(matches!(&updates[1], Update::Retry(r) if r.id == full.id));
}

#[test]
fn rejections_retrying_cannot_fix_are_held() {
    for code in [
        RejectCode::Invalid,
        RejectCode::CorruptChanges,
        RejectCode::IdMismatch,
        RejectCode::OutOfScope,
        RejectCode::TooLarge,
    ] {
        let s = sent(false);
        let updates =
            apply_results(std::slice::from_ref(&s), &[rejected(s.id, code)]).expect("matching");
        assert!(
            matches!(&updates[0], Update::Hold(r) if r.code == code && r.reason == "because"),
            "{code:?}: {updates:?}"
        );
    }
}

#[test]
fn answers_that_do_not_match_the_request_are_refused() {
    let (a, b) = (sent(false), sent(false));
    let ok = |id| PushResult {
        id,
        outcome: PushOutcome::Accepted {
            heads: vec![],
            changed: false,
        },
    };
    assert!(apply_results(&[a.clone(), b.clone()], &[ok(a.id)]).is_err());
    assert!(apply_results(&[a.clone(), b.clone()], &[ok(b.id), ok(a.id)]).is_err());
}
