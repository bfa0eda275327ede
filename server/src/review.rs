//! The review service: the two-level workflow's steps (curate, forward, verdict, comment) taken on
//! a record by a person at HQ.
//!
//! A step is checked three ways: the record must be in the person's scope (any other record is
//! not found, exactly like a missing one), the person's roles must allow it (the permission
//! matrix in [`crate::directory::roles`]), and the record's workflow state must allow it (the pure
//! rules in [`bukti_core::record::workflow`]). It is then written as the person's own Automerge
//! change (their actor, authored `<role>:<name>`), so it syncs to the officer's device like any
//! other edit, and stored through ingest's one write path ([`ingest::write_merged`]): the same
//! load, merge, validate, project, write and retry-on-conflict a push goes through.

use std::sync::Arc;

use bukti_core::{
    RecordDoc, RecordId,
    catalogue::Catalogue,
    evidence::log::Draft,
    ingest::{self, MAX_DOCUMENT_BYTES},
    record::{
        self, Problem, Record,
        workflow::{self, Refusal, Step, Workflow},
    },
};
use jiff::Timestamp;
use serde::Serialize;

use crate::{
    audit::AuditEvent,
    directory::{Permission, Principal},
    flags::UnitAreas,
    ingest::{Planned, write_merged},
    projection::Projection,
    service::ServiceError,
    store::{DynStore, RecordWrite, StoredDoc, evidence::LogWrite},
};

/// A record after a review step: its typed view (at the top level, as the review endpoint has
/// always answered) and its workflow.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Reviewed {
    #[serde(flatten)]
    pub record: Record,
    pub workflow: Workflow,
}

/// What a person needs to take `step`, and what they are doing, for the refusal.
pub fn permission(step: &Step) -> (Permission, &'static str) {
    match step {
        Step::Curate { .. } => (Permission::Curate, "curating records (retag, mark ready)"),
        Step::Forward => (Permission::Forward, "forwarding records to the Polres"),
        Step::Verdict { .. } => (Permission::GiveVerdict, "giving verdicts"),
        Step::Comment { .. } => (Permission::Comment, "commenting on records"),
    }
}

/// Takes `steps` on record `id` as `principal`, in one change, and stores it.
pub async fn apply(
    store: &DynStore,
    principal: &Principal,
    id: RecordId,
    steps: Vec<Step>,
) -> Result<Reviewed, ServiceError> {
    let Some(main) = steps.first() else {
        return Err(Refusal::Invalid("nothing to do: send a step".into()).into());
    };
    for step in &steps {
        let (p, doing) = permission(step);
        principal.require(p, doing)?;
    }
    let role = principal
        .roles
        .acting_as(permission(main).0)
        .map_or("hq", |r| r.as_str());
    let author = format!("{role}:{}", principal.name);
    let steps = Arc::new(steps);
    let areas = UnitAreas::load(store).await?;
    let plan = {
        let (principal, steps) = (principal.clone(), steps.clone());
        move |_: usize, stored: Option<&StoredDoc>| {
            let now = record::now_ms();
            let taken = take(stored, &principal, &author, id, &steps, now, &areas);
            match taken {
                Ok((Some(write), reviewed)) => Planned::Write(Box::new(write), Ok(reviewed)),
                Ok((None, reviewed)) => Planned::Answer(Ok(reviewed)),
                Err(e) => Planned::Answer(Err(e)),
            }
        }
    };
    let mut answers = write_merged(store, vec![id], plan).await?;
    let reviewed = answers.pop().expect("one record, one answer")?;
    let names: Vec<&str> = steps.iter().map(Step::name).collect();
    tracing::info!(record = %id, by = %principal.name, steps = ?names, "review steps taken");
    let event = AuditEvent::review(principal, id, &reviewed.record.unit, &steps);
    crate::audit::append_or_log(store, &[event]).await;
    Ok(reviewed)
}

/// Takes `steps` on the stored document: the write to make (`None` when the steps change
/// nothing) and the record after them. Pure.
pub fn take(
    stored: Option<&StoredDoc>,
    principal: &Principal,
    author: &str,
    id: RecordId,
    steps: &[Step],
    now: Timestamp,
    areas: &UnitAreas,
) -> Result<(Option<RecordWrite>, Reviewed), ServiceError> {
    let stored = stored.ok_or(ServiceError::NotFound)?;
    let corrupt = |why: String| ServiceError::corrupt(format!("record {id}: {why}"));
    let doc = ingest::load_document(&stored.doc).map_err(|e| corrupt(e.to_string()))?;
    let before = record::doc::read(&doc).map_err(|p| corrupt(Problem::join(&p)))?;
    if !principal.may_see(&before.unit, &before.officer) {
        return Err(ServiceError::NotFound);
    }
    let mut doc = RecordDoc::from_automerge(doc.with_actor(principal.actor()));
    let before_heads = doc.heads();
    let state = workflow::derive(doc.automerge()).state;
    let mut refused = None;
    let changed = doc
        .edit(author, |r| {
            if let Err(e) = workflow::take(r, state, steps, &principal.name, now) {
                refused = Some(e);
            }
        })
        .map_err(|e| corrupt(e.to_string()))?;
    if let Some(refusal) = refused {
        return Err(refusal.into());
    }
    let record = doc.read().map_err(|p| corrupt(Problem::join(&p)))?;
    let workflow = workflow::derive(doc.automerge());
    let reviewed = Reviewed {
        record: record.clone(),
        workflow,
    };
    if changed.is_none() {
        return Ok((None, reviewed));
    }
    let problems = record::validate(&record, Catalogue::builtin(), now);
    if !problems.is_empty() {
        return Err(ServiceError::Invalid(Problem::join(&problems)));
    }
    let bytes = doc.save();
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(ServiceError::Invalid(format!(
            "the record would grow to {} bytes, over the limit of {MAX_DOCUMENT_BYTES}; \
             say it in fewer words",
            bytes.len()
        )));
    }
    let heads = ingest::heads_to_strings(&doc.heads());
    let changes = doc
        .automerge()
        .get_changes(&before_heads)
        .iter()
        .map(|c| c.hash().to_string())
        .collect();
    let write = RecordWrite {
        id,
        expected_version: Some(stored.version),
        doc: bytes,
        log: Some(LogWrite {
            draft: Draft {
                record: id,
                by: principal.actor().to_hex_string(),
                push: None,
                changes,
                heads: heads.clone(),
            },
            push: None,
        }),
        heads,
        projection: Projection::in_area(&record, reviewed.workflow.state, areas.of(&record.unit)),
    };
    Ok((Some(write), reviewed))
}

#[cfg(test)]
mod tests {
    use automerge::ActorId;
    use bukti_core::record::{Location, Status};
    use uuid::Uuid;

    use super::*;
    use crate::directory::{PrincipalKind, Role, Roles};

    fn person(unit: &str, role: Role) -> Principal {
        Principal {
            id: Uuid::now_v7(),
            kind: PrincipalKind::Hq,
            roles: Roles::new([role]),
            name: format!("{} of {unit}", role.as_str()),
            unit: bukti_core::unit::UnitPath::parse(unit).unwrap_or_else(|e| panic!("{e}")),
            officer: None,
            actor_id: None,
            revoked: false,
            person: None,
            own_records_only: false,
            access_until: None,
            disabled: false,
        }
    }

    fn stored() -> (RecordId, StoredDoc) {
        let mut r = Record::new("bali/buleleng/sawan", "87010001", "sambang", "Sambang");
        r.started_at = Some(r.captured_at);
        r.location = Some(Location {
            lat: -8.1,
            lon: 115.1,
            accuracy_m: None,
            source: "gps".into(),
        });
        r.status = Status::Submitted;
        let mut doc = RecordDoc::create(&r, ActorId::random(), "officer:87010001");
        let stored = StoredDoc {
            doc: doc.save(),
            version: 3,
            unit: r.unit.clone(),
        };
        (r.id, stored)
    }

    #[test]
    fn a_step_is_the_persons_own_change_projected_with_its_state() {
        let (id, doc) = stored();
        let operator = person("bali/buleleng/sawan", Role::Operator);
        let ready = [Step::Curate {
            lke: Some(["PW.P3".to_owned()].into()),
            ready: true,
        }];
        let now = record::now_ms();
        let (write, reviewed) = take(
            Some(&doc),
            &operator,
            "operator:Sari",
            id,
            &ready,
            now,
            &UnitAreas::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let write = write.expect("a change");
        assert_eq!(write.expected_version, Some(3), "optimistic version");
        assert_eq!(write.projection.state, "ready");
        assert_eq!(
            write.projection.lke,
            [("PW.P3".to_owned(), "PW".to_owned())]
        );
        assert_eq!(
            reviewed.record.review.ready_by.as_deref(),
            Some(operator.name.as_str())
        );
        let mut stored = ingest::load_document(&write.doc).unwrap_or_else(|e| panic!("{e}"));
        let last = stored.get_changes(&[]).pop().expect("changes");
        assert_eq!(last.actor_id(), &operator.actor());
        assert_eq!(last.message(), Some("operator:Sari"));

        // Nothing to change: no write.
        let again = [Step::Curate {
            lke: Some(["PW.P3".to_owned()].into()),
            ready: false,
        }];
        let doc = StoredDoc {
            doc: write.doc,
            version: 4,
            unit: doc.unit,
        };
        let (none, _) = take(
            Some(&doc),
            &operator,
            "operator:Sari",
            id,
            &again,
            now,
            &UnitAreas::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(none.is_none());
    }

    #[test]
    fn out_of_scope_is_not_found_and_wrong_state_is_refused() {
        let (id, doc) = stored();
        let elsewhere = person("bali/buleleng/gerokgak", Role::Operator);
        let ready = [Step::Curate {
            lke: None,
            ready: true,
        }];
        let now = record::now_ms();
        assert!(matches!(
            take(
                Some(&doc),
                &elsewhere,
                "x",
                id,
                &ready,
                now,
                &UnitAreas::default()
            ),
            Err(ServiceError::NotFound)
        ));
        assert!(matches!(
            take(
                None,
                &elsewhere,
                "x",
                id,
                &ready,
                now,
                &UnitAreas::default()
            ),
            Err(ServiceError::NotFound)
        ));
        let kapolsek = person("bali/buleleng/sawan", Role::Approver);
        assert!(matches!(
            take(
                Some(&doc),
                &kapolsek,
                "x",
                id,
                &[Step::Forward],
                now,
                &UnitAreas::default()
            ),
            Err(ServiceError::Workflow(Refusal::WrongState { .. }))
        ));
    }
}
