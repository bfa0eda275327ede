//! What a pusher may change in a record, checked on the changes themselves, not only on the
//! endpoint: a device writes only with its own Automerge actor, creates records only in its own
//! officer's name, never rewrites who captured a record or when, and never touches HQ's review
//! section. Pure: the ingest pipeline calls it with the record before and after the merge.

use std::collections::BTreeSet;

use automerge::ActorId;
use bukti_core::Record;

/// Who is pushing, as far as change authorization is concerned.
#[derive(Debug, Clone)]
pub struct Pusher {
    /// The actor the device registered; `None` refuses every change.
    pub actor: Option<ActorId>,
    /// The officer (NRP) the device was registered for.
    pub officer: Option<String>,
}

/// Why a push was refused, in words for the device's user.
pub fn check_device_change(
    pusher: &Pusher,
    new_actors: &BTreeSet<ActorId>,
    before: Option<&Record>,
    after: &Record,
) -> Result<(), String> {
    for actor in new_actors {
        if pusher.actor.as_ref() != Some(actor) {
            return Err(format!(
                "the changes were written by actor {}, which is not this device's; \
                 a device pushes only its own edits",
                actor.to_hex_string()
            ));
        }
    }
    match before {
        None => {
            if pusher.officer.as_deref() != Some(after.officer.as_str()) {
                return Err(format!(
                    "a new record must name this device's officer, not {:?}",
                    after.officer
                ));
            }
            if after.review != Default::default() {
                return Err("only HQ reviewers write the review section".into());
            }
        }
        Some(before) => {
            if after.officer != before.officer {
                return Err("the officer who captured a record cannot change".into());
            }
            if after.captured_at != before.captured_at {
                return Err("the capture time of a record cannot change".into());
            }
            if after.review != before.review {
                return Err("only HQ reviewers write the review section".into());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use bukti_core::record::Verdict;

    use super::*;

    fn pusher(actor: &ActorId) -> Pusher {
        Pusher {
            actor: Some(actor.clone()),
            officer: Some("87010001".into()),
        }
    }

    fn record() -> Record {
        Record::new("bali/buleleng/sawan", "87010001", "patroli", "Patroli")
    }

    #[test]
    fn a_device_edits_its_unit_records_with_its_own_actor() {
        let me = ActorId::random();
        let before = record();
        let mut after = before.clone();
        after.title = "Patroli malam".into();
        after.counts.people_served = Some(3);
        let mine = BTreeSet::from([me.clone()]);
        assert_eq!(
            check_device_change(&pusher(&me), &mine, Some(&before), &after),
            Ok(())
        );
        assert_eq!(
            check_device_change(&pusher(&me), &mine, None, &before),
            Ok(())
        );
        assert_eq!(
            check_device_change(&pusher(&me), &BTreeSet::new(), Some(&after), &after),
            Ok(())
        );
    }

    #[test]
    fn every_forbidden_change_is_refused() {
        let me = ActorId::random();
        let mine = BTreeSet::from([me.clone()]);
        let before = record();
        let someone_else = BTreeSet::from([me.clone(), ActorId::random()]);
        assert!(check_device_change(&pusher(&me), &someone_else, Some(&before), &before).is_err());

        let mut forged = record();
        forged.officer = "87019999".into();
        assert!(
            check_device_change(&pusher(&me), &mine, None, &forged).is_err(),
            "another officer's name"
        );
        assert!(
            check_device_change(&pusher(&me), &mine, Some(&before), &forged).is_err(),
            "officer rewritten"
        );

        let mut self_approved = before.clone();
        self_approved.review.verdict = Some(Verdict::Valid);
        assert!(check_device_change(&pusher(&me), &mine, Some(&before), &self_approved).is_err());
        assert!(check_device_change(&pusher(&me), &mine, None, &self_approved).is_err());

        let mut backdated = before.clone();
        backdated.captured_at = jiff::Timestamp::UNIX_EPOCH;
        assert!(check_device_change(&pusher(&me), &mine, Some(&before), &backdated).is_err());

        let no_actor = Pusher {
            actor: None,
            officer: Some("87010001".into()),
        };
        assert!(check_device_change(&no_actor, &mine, Some(&before), &before).is_err());
    }
}
