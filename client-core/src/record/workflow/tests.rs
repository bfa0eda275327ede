//! The review workflow's states, checks and steps, against real documents.

use automerge::ActorId;

use super::*;
use crate::{RecordDoc, record::Location};

fn submitted() -> Record {
    let mut r = Record::new(
        "bali/buleleng/sawan",
        "87010123",
        "sambang",
        "Sambang Desa Sudaji",
    );
    r.started_at = Some(r.captured_at);
    r.location = Some(Location {
        lat: -8.12,
        lon: 115.17,
        accuracy_m: Some(8.0),
        source: "gps".into(),
    });
    r.lke.insert("MP.R3".into());
    r.status = Status::Submitted;
    r
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("{e}"))
}

/// A person (their own actor) who takes steps on the server's copy.
struct Hq {
    actor: ActorId,
    name: &'static str,
}

impl Hq {
    fn new(name: &'static str) -> Self {
        Self {
            actor: ActorId::random(),
            name,
        }
    }

    fn take(&self, doc: &mut RecordDoc, steps: &[Step], now: Timestamp) -> Result<(), Refusal> {
        let state = derive(doc.automerge()).state;
        doc.automerge().set_actor(self.actor.clone());
        let mut failed = None;
        doc.edit(self.name, |r| {
            if let Err(e) = take(r, state, steps, self.name, now) {
                failed = Some(e);
            }
        })
        .unwrap_or_else(|e| panic!("{e}"));
        failed.map_or(Ok(()), Err)
    }
}

fn state(doc: &mut RecordDoc) -> State {
    derive(doc.automerge()).state
}

fn verdict(v: Verdict, reason: &str) -> Step {
    Step::Verdict {
        verdict: v,
        reason: Some(reason.into()).filter(|r: &String| !r.is_empty()),
    }
}

fn ready() -> Step {
    Step::Curate {
        lke: None,
        ready: true,
    }
}

#[test]
fn the_whole_chain_derives_each_state() {
    let officer = ActorId::random();
    let mut doc = RecordDoc::create(&submitted(), officer.clone(), "officer:87010123");
    let (operator, kapolsek, kasat) = (
        Hq::new("operator:Sari"),
        Hq::new("approver:Kapolsek"),
        Hq::new("reviewer:Kasat"),
    );
    assert_eq!(state(&mut doc), State::Captured);

    let retag = Step::Curate {
        lke: Some(BTreeSet::from(["PW.P3".to_owned(), "MP.R3".to_owned()])),
        ready: true,
    };
    operator
        .take(&mut doc, &[retag], t("2026-11-27T02:00:00Z"))
        .expect("curate");
    assert_eq!(state(&mut doc), State::Ready);
    let r = doc.read().expect("record");
    assert!(r.lke.contains("PW.P3"));
    assert_eq!(r.review.ready_by.as_deref(), Some("operator:Sari"));

    kapolsek
        .take(&mut doc, &[Step::Forward], t("2026-11-27T03:00:00Z"))
        .expect("forward");
    assert_eq!(state(&mut doc), State::Forwarded);

    kasat
        .take(
            &mut doc,
            &[verdict(Verdict::NeedsRevision, "Lengkapi daftar hadir")],
            t("2026-11-28T01:00:00Z"),
        )
        .expect("verdict");
    assert_eq!(state(&mut doc), State::NeedsRevision);
    assert_eq!(
        doc.read().expect("record").review.verdict_reason.as_deref(),
        Some("Lengkapi daftar hadir")
    );

    // The officer revises: the record changed after the verdict.
    doc.automerge().set_actor(officer.clone());
    doc.edit("officer:87010123", |r| r.counts.participants = Some(31))
        .expect("edit");
    let w = derive(doc.automerge());
    assert_eq!(w.state, State::Revised);
    assert_eq!(w.edited_after_verdict, ["counts.participants"]);

    kasat
        .take(
            &mut doc,
            &[verdict(Verdict::Valid, "")],
            t("2026-11-29T01:00:00Z"),
        )
        .expect("verify");
    let w = derive(doc.automerge());
    assert_eq!(w.state, State::Verified);
    assert!(w.edited_after_verdict.is_empty(), "{w:?}");
    assert_eq!(doc.read().expect("record").review.verdict_reason, None);

    // An edit after the verdict is named, with what changed.
    doc.automerge().set_actor(officer);
    doc.edit("officer:87010123", |r| {
        r.narrative = "Ditambah".into();
        r.place = "Balai Banjar".into();
    })
    .expect("edit");
    let w = derive(doc.automerge());
    assert_eq!(w.state, State::Verified);
    assert_eq!(w.edited_after_verdict, ["narrative", "place"]);
}

#[test]
fn a_revision_can_go_round_the_polsek_again() {
    let officer = ActorId::random();
    let mut doc = RecordDoc::create(&submitted(), officer.clone(), "officer");
    let hq = Hq::new("admin");
    hq.take(&mut doc, &[ready()], Timestamp::UNIX_EPOCH)
        .expect("ready");
    hq.take(&mut doc, &[Step::Forward], Timestamp::UNIX_EPOCH)
        .expect("forward");
    hq.take(
        &mut doc,
        &[verdict(Verdict::NeedsRevision, "Foto kurang")],
        Timestamp::UNIX_EPOCH,
    )
    .expect("verdict");
    doc.automerge().set_actor(officer);
    doc.edit("officer", |r| r.title = "Sambang (revisi)".into())
        .expect("edit");
    assert_eq!(state(&mut doc), State::Revised);
    // The clock plays no part: every step here carries the same time.
    hq.take(&mut doc, &[ready()], Timestamp::UNIX_EPOCH)
        .expect("ready again");
    assert_eq!(state(&mut doc), State::Ready);
    hq.take(&mut doc, &[Step::Forward], Timestamp::UNIX_EPOCH)
        .expect("forward again");
    assert_eq!(state(&mut doc), State::Forwarded);
}

#[test]
fn a_verdict_and_a_concurrent_edit_both_survive_and_the_edit_shows() {
    let officer = ActorId::random();
    let mut server = RecordDoc::create(&submitted(), officer.clone(), "officer");
    let hq = Hq::new("reviewer:Kasat");
    hq.take(&mut server, &[ready()], Timestamp::UNIX_EPOCH)
        .expect("ready");
    hq.take(&mut server, &[Step::Forward], Timestamp::UNIX_EPOCH)
        .expect("forward");
    // The officer's device has the forwarded record and edits it offline …
    let mut phone = RecordDoc::from_automerge(server.automerge().fork().with_actor(officer));
    phone
        .edit("officer", |r| r.counts.people_served = Some(40))
        .expect("edit");
    // … while the Polres verifies the copy it has.
    hq.take(
        &mut server,
        &[verdict(Verdict::Valid, "")],
        Timestamp::UNIX_EPOCH,
    )
    .expect("verify");
    server.automerge().merge(phone.automerge()).expect("merge");
    let r = server.read().expect("record");
    assert_eq!(r.review.verdict, Some(Verdict::Valid));
    assert_eq!(r.counts.people_served, Some(40));
    let w = derive(server.automerge());
    assert_eq!(w.state, State::Verified);
    assert_eq!(w.edited_after_verdict, ["counts.people_served"]);
}

#[test]
fn old_documents_read_as_not_curated() {
    let mut r = submitted();
    r.review.verdict = Some(Verdict::NeedsRevision);
    let mut doc = RecordDoc::create(&r, ActorId::random(), "old");
    assert_eq!(state(&mut doc), State::NeedsRevision);
    let mut fresh = RecordDoc::create(&submitted(), ActorId::random(), "old");
    assert_eq!(state(&mut fresh), State::Captured);
}

#[test]
fn facts_decide_the_state_by_causal_position() {
    let f = |ready, forwarded, verdict, edited: &[&str]| Facts {
        ready,
        forwarded,
        verdict,
        edited_after_verdict: edited.iter().map(|s| (*s).to_owned()).collect(),
    };
    assert_eq!(f(None, None, None, &[]).state(), State::Captured);
    assert_eq!(f(Some(3), None, None, &[]).state(), State::Ready);
    assert_eq!(f(Some(3), Some(5), None, &[]).state(), State::Forwarded);
    let nr = Some((Verdict::NeedsRevision, 9));
    assert_eq!(f(Some(3), Some(5), nr, &[]).state(), State::NeedsRevision);
    assert_eq!(f(Some(3), Some(5), nr, &["title"]).state(), State::Revised);
    assert_eq!(f(Some(12), Some(5), nr, &["title"]).state(), State::Ready);
    let rejected = Some((Verdict::Rejected, 9));
    assert_eq!(f(Some(3), Some(5), rejected, &[]).state(), State::Rejected);
    for s in State::ALL {
        assert_eq!(State::parse(s.as_str()), Some(s));
    }
}

#[test]
fn each_step_is_refused_from_the_wrong_state() {
    let r = submitted();
    let forward = Step::Forward;
    for s in [State::Captured, State::NeedsRevision, State::Forwarded] {
        assert!(
            matches!(check(s, &r, &forward), Err(Refusal::WrongState { .. })),
            "{s}"
        );
    }
    assert_eq!(check(State::Ready, &r, &forward), Ok(()));

    let valid = verdict(Verdict::Valid, "");
    assert!(check(State::Ready, &r, &valid).is_err());
    assert!(check(State::Captured, &r, &valid).is_err());
    for s in [
        State::Forwarded,
        State::Revised,
        State::Verified,
        State::NeedsRevision,
    ] {
        assert_eq!(check(s, &r, &valid), Ok(()), "{s}");
    }

    assert!(check(State::Forwarded, &r, &ready()).is_err());
    assert!(check(State::Verified, &r, &ready()).is_err());
    assert!(check(State::Ready, &r, &ready()).is_err(), "already ready");
    assert_eq!(check(State::Revised, &r, &ready()), Ok(()));
    let mut draft = r.clone();
    draft.status = Status::Draft;
    assert!(matches!(
        check(State::Captured, &draft, &ready()),
        Err(Refusal::Invalid(_))
    ));
    let retag = Step::Curate {
        lke: Some(BTreeSet::new()),
        ready: false,
    };
    assert_eq!(check(State::Captured, &draft, &retag), Ok(()));
    let nothing = Step::Curate {
        lke: None,
        ready: false,
    };
    assert!(check(State::Captured, &r, &nothing).is_err());
}

#[test]
fn needs_revision_and_rejected_need_a_reason() {
    let r = submitted();
    for v in [Verdict::NeedsRevision, Verdict::Rejected] {
        for reason in ["", "   "] {
            let e = check(State::Forwarded, &r, &verdict(v, reason)).expect_err("no reason");
            assert!(e.to_string().contains("reason"), "{e}");
        }
        assert_eq!(
            check(State::Forwarded, &r, &verdict(v, "Lengkapi daftar hadir")),
            Ok(())
        );
    }
    let long = "x".repeat(MAX_COMMENT + 1);
    assert!(check(State::Forwarded, &r, &verdict(Verdict::Rejected, &long)).is_err());
    let comment = |text: &str| Step::Comment {
        id: "c1".into(),
        text: text.into(),
    };
    assert!(check(State::Captured, &r, &comment(" ")).is_err());
    assert_eq!(check(State::Verified, &r, &comment("Bagus")), Ok(()));
}

#[test]
fn steps_are_checked_against_the_state_before_any_is_taken() {
    let mut r = submitted();
    let before = r.clone();
    let both = [ready(), Step::Forward];
    assert!(
        take(
            &mut r,
            State::Captured,
            &both,
            "admin",
            Timestamp::UNIX_EPOCH
        )
        .is_err()
    );
    assert_eq!(r, before, "nothing taken");
    let with_comment = [
        verdict(Verdict::NeedsRevision, "Foto buram"),
        Step::Comment {
            id: "c1".into(),
            text: " Ulangi fotonya ".into(),
        },
    ];
    take(
        &mut r,
        State::Forwarded,
        &with_comment,
        "Kasat",
        Timestamp::UNIX_EPOCH,
    )
    .expect("take");
    assert_eq!(r.review.verdict, Some(Verdict::NeedsRevision));
    assert_eq!(r.review.comments[0].text, "Ulangi fotonya");
    assert_eq!(r.review.comments[0].author, "Kasat");
    assert!(
        take(
            &mut r,
            State::Forwarded,
            &[],
            "Kasat",
            Timestamp::UNIX_EPOCH
        )
        .is_err()
    );
}
