//! The rules a pushed record's changes must follow beyond what its typed view can show (see
//! `docs/protocol.md`, "The record document"):
//!
//! - **Containers.** A new record's first change creates the container maps the schema names
//!   ([`super::schema::containers`]: `counts`, `counts.services`, `lke`, `photos`, `review`),
//!   even when empty, and no later change replaces or deletes one. Two devices that each create
//!   `counts.services` create two different map objects; Automerge keeps one of them and the
//!   other device's service counts vanish without a trace.
//! - **Change times** are milliseconds since 1970 (what the history shows): a time before
//!   2000-01-01 in milliseconds (seconds, which the JavaScript library writes by default, or no
//!   time at all) or after 2100 (microseconds) is refused.
//!
//! Pure: the server calls [`check`] on every push after the merge.

use std::collections::HashSet;

use automerge::{
    AutoCommit, ObjId, ObjType, ROOT, ReadDoc, Value,
    legacy::{Key, ObjectId, OpId, OpType},
};

use super::{Problem, schema};
use crate::ingest::NewChange;

/// 2000-01-01T00:00:00Z in milliseconds: no honest change is older.
pub const EARLIEST_TIME_MS: i64 = 946_684_800_000;
/// 2100-01-01T00:00:00Z in milliseconds: a later time is in micro- or nanoseconds.
pub const LATEST_TIME_MS: i64 = 4_102_444_800_000;

/// What to tell a JavaScript client whose change times are wrong.
const TIME_ADVICE: &str = "change times are milliseconds since 1970-01-01 UTC; \
     @automerge/automerge writes seconds unless told otherwise: pass {time: Date.now()} to \
     every change()";

/// The container maps a stored document holds, read before new changes are merged into it.
#[derive(Debug, Clone, Default)]
pub struct Existing {
    maps: Vec<(String, ObjectId)>,
}

impl Existing {
    pub fn of(doc: &AutoCommit) -> Self {
        Self {
            maps: schema::containers()
                .into_iter()
                .filter_map(|path| map_at(doc, &path).map(|id| (path, legacy_id(&id))))
                .collect(),
        }
    }

    fn get(&self, path: &str) -> Option<&ObjectId> {
        self.maps.iter().find(|(p, _)| p == path).map(|(_, id)| id)
    }
}

/// Checks the changes `new` (each with its index in the push) that were merged into `doc`;
/// `stored` holds the containers of the document before the merge, `None` for a new record.
pub fn check(stored: Option<&Existing>, doc: &AutoCommit, new: &[NewChange]) -> Vec<Problem> {
    let mut out = Vec::new();
    for NewChange {
        index, expanded, ..
    } in new
    {
        if let Some(why) = time_problem(expanded.time) {
            out.push(Problem::new(&format!("changes[{index}].time"), &why));
        }
    }
    out.extend(containers(stored, doc, new));
    out
}

fn time_problem(t: i64) -> Option<String> {
    if (EARLIEST_TIME_MS..=LATEST_TIME_MS).contains(&t) {
        return None;
    }
    let what = if t == 0 {
        "the change has no time (0)".to_owned()
    } else if (EARLIEST_TIME_MS / 1000..=LATEST_TIME_MS / 1000).contains(&t) {
        format!("{t} looks like seconds, not milliseconds")
    } else if t > LATEST_TIME_MS {
        format!("{t} is after 2100 in milliseconds (microseconds?)")
    } else {
        format!("{t} is before 2000-01-01 in milliseconds")
    };
    Some(format!("{what}; {TIME_ADVICE}"))
}

/// One container: its dotted path, the key it lives at and the path of its parent map.
struct Container {
    path: String,
    key: String,
    parent: Option<String>,
}

fn container_list() -> Vec<Container> {
    schema::containers()
        .into_iter()
        .map(|path| {
            let (parent, key) = match path.rsplit_once('.') {
                Some((p, k)) => (Some(p.to_owned()), k.to_owned()),
                None => (None, path.clone()),
            };
            Container { path, key, parent }
        })
        .collect()
}

/// The map object at a dotted path, if `doc` holds one there.
fn map_at(doc: &AutoCommit, path: &str) -> Option<ObjId> {
    let mut obj = ROOT;
    for key in path.split('.') {
        match doc.get(&obj, key) {
            Ok(Some((Value::Object(ObjType::Map), id))) => obj = id,
            _ => return None,
        }
    }
    Some(obj)
}

fn legacy_id(id: &ObjId) -> ObjectId {
    match id {
        ObjId::Root => ObjectId::Root,
        ObjId::Id(counter, actor, _) => ObjectId::Id(OpId::new(*counter, actor)),
    }
}

const CREATE_ADVICE: &str = "a new record's first change must create the maps `counts`, \
     `counts.services`, `lke`, `photos` and `review`, even when empty (in @automerge/automerge, \
     in the change that sets the record's fields: counts: {services: {}}, lke: {}, photos: {}, \
     review: {}); maps that two devices create separately are different objects and one side's \
     values are lost";

fn containers(stored: Option<&Existing>, doc: &AutoCommit, new: &[NewChange]) -> Vec<Problem> {
    let list = container_list();
    let mut out = Vec::new();
    let first = match stored {
        Some(_) => None,
        None => {
            let roots: Vec<&NewChange> =
                new.iter().filter(|n| n.expanded.deps.is_empty()).collect();
            if roots.len() != 1 {
                out.push(Problem::new(
                    "changes",
                    &format!(
                        "a record's history starts with exactly one change; this one has {} \
                         changes without dependencies",
                        roots.len()
                    ),
                ));
                return out;
            }
            Some(roots[0].index)
        }
    };
    // Every object that is or was a container, so `services` is found under any `counts`. A new
    // record's containers are all created by the changes checked below and added as they are
    // met (one created anywhere but the first change is refused there), so only a stored
    // record's document is asked: the lookups were 5 % of a new record's merge.
    let mut objects: Vec<(String, HashSet<ObjectId>)> = list
        .iter()
        .map(|c| {
            let now = stored.and_then(|_| map_at(doc, &c.path));
            let ids = stored
                .and_then(|s| s.get(&c.path).cloned())
                .into_iter()
                .chain(now.map(|id| legacy_id(&id)))
                .collect();
            (c.path.clone(), ids)
        })
        .collect();
    objects.push((String::new(), HashSet::from([ObjectId::Root])));
    let parents_of = |parent: &Option<String>, objects: &[(String, HashSet<ObjectId>)]| {
        let want = parent.clone().unwrap_or_default();
        objects
            .iter()
            .find(|(p, _)| *p == want)
            .map(|(_, ids)| ids.clone())
            .unwrap_or_default()
    };
    // Creations in the first change first (a container's children point at its new id).
    let mut created_in_first: Vec<String> = Vec::new();
    let mut ordered: Vec<&NewChange> = new.iter().collect();
    ordered.sort_by_key(|n| Some(n.index) != first);
    for NewChange {
        index, expanded, ..
    } in ordered
    {
        let start = expanded.start_op.get();
        for (i, op) in expanded.operations.iter().enumerate() {
            let Key::Map(key) = &op.key else { continue };
            for c in &list {
                if key.as_str() != c.key || !parents_of(&c.parent, &objects).contains(&op.obj) {
                    continue;
                }
                let is_map = matches!(op.action, OpType::Make(ObjType::Map));
                let id = ObjectId::Id(OpId::new(start + i as u64, &expanded.actor_id));
                let existed_before = stored.is_some_and(|s| s.get(&c.path).is_some());
                let allowed = is_map
                    && !created_in_first.contains(&c.path)
                    && match first {
                        Some(f) => f == *index,
                        // An older record without this container may gain it, once.
                        None => !existed_before,
                    };
                if allowed {
                    if first.is_some() {
                        created_in_first.push(c.path.clone());
                    }
                    if let Some((_, ids)) = objects.iter_mut().find(|(p, _)| *p == c.path) {
                        ids.insert(id);
                    }
                } else if first.is_some() && is_map && !created_in_first.contains(&c.path) {
                    // Created late: reported below as missing from the first change.
                } else {
                    let what = match op.action {
                        OpType::Delete => format!("deletes the container map `{}`", c.path),
                        OpType::Make(_) => {
                            format!("replaces the container map `{}` with a new object", c.path)
                        }
                        _ => format!("overwrites the container map `{}`", c.path),
                    };
                    out.push(Problem::new(
                        &c.path,
                        &format!(
                            "change #{index} {what}; the record's first change creates it once: \
                             write into the existing map instead (in JavaScript \
                             d.counts.services[code] = n, never d.counts.services = {{...}}), \
                             values written concurrently into a replaced map are lost"
                        ),
                    ));
                }
            }
        }
    }
    if first.is_some() {
        let mut advice = Some(CREATE_ADVICE);
        for c in &list {
            if !created_in_first.contains(&c.path) {
                let message = match advice.take() {
                    Some(a) => format!("missing from the record's first change; {a}"),
                    None => "missing from the record's first change".to_owned(),
                };
                out.push(Problem::new(&c.path, &message));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use automerge::{ActorId, transaction::Transactable};

    use super::*;
    use crate::record::{Record, RecordDoc};

    fn sample() -> Record {
        Record::new("bali/buleleng/sawan", "87010123", "patroli", "Patroli")
    }

    fn new_changes(doc: &mut AutoCommit, heads: &[automerge::ChangeHash]) -> Vec<NewChange> {
        doc.get_changes(heads)
            .into_iter()
            .enumerate()
            .map(|(i, c)| NewChange::of(i, c))
            .collect()
    }

    #[test]
    fn a_record_written_by_bukti_keeps_the_contract() {
        let mut doc = RecordDoc::create(&sample(), ActorId::random(), "officer:87010123");
        let changes = new_changes(doc.automerge(), &[]);
        assert_eq!(check(None, doc.automerge(), &changes), vec![]);
        let stored = Existing::of(doc.automerge());
        let heads = doc.heads();
        doc.edit("officer:87010123", |r| {
            r.counts.services.insert("skck".into(), 2);
            r.lke.insert("PP.P2".into());
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let changes = new_changes(doc.automerge(), &heads);
        assert_eq!(check(Some(&stored), doc.automerge(), &changes), vec![]);
    }

    #[test]
    fn times_in_seconds_or_none_are_refused() {
        for t in [0, 1_764_000_000, 1_000, 1_764_000_000_000_000] {
            assert!(time_problem(t).is_some(), "{t}");
        }
        assert!(time_problem(1_764_000_000_000).is_none());
        assert!(
            time_problem(1_764_000_000)
                .unwrap_or_default()
                .contains("seconds")
        );
    }

    #[test]
    fn a_first_change_without_the_containers_is_refused() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "id", "x").unwrap_or_else(|e| panic!("{e}"));
        doc.put_object(ROOT, "lke", ObjType::Map)
            .unwrap_or_else(|e| panic!("{e}"));
        doc.commit_with(
            automerge::transaction::CommitOptions::default().with_time(1_764_000_000_000),
        );
        let counts = doc
            .put_object(ROOT, "counts", ObjType::Map)
            .unwrap_or_else(|e| panic!("{e}"));
        doc.put_object(&counts, "services", ObjType::Map)
            .unwrap_or_else(|e| panic!("{e}"));
        doc.commit_with(
            automerge::transaction::CommitOptions::default().with_time(1_764_000_000_000),
        );
        let changes = new_changes(&mut doc, &[]);
        let problems = check(None, &doc, &changes);
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        for p in ["counts", "counts.services", "photos", "review"] {
            assert!(paths.contains(&p), "{p} in {problems:?}");
        }
        assert!(!paths.contains(&"lke"), "{problems:?}");
    }

    #[test]
    fn replacing_or_deleting_a_container_later_is_refused() {
        let mut doc = RecordDoc::create(&sample(), ActorId::random(), "officer:87010123");
        let stored = Existing::of(doc.automerge());
        let heads = doc.heads();
        let am = doc.automerge();
        let counts = match am.get(ROOT, "counts") {
            Ok(Some((_, id))) => id,
            other => panic!("{other:?}"),
        };
        am.put_object(&counts, "services", ObjType::Map)
            .unwrap_or_else(|e| panic!("{e}"));
        am.delete(ROOT, "photos").unwrap_or_else(|e| panic!("{e}"));
        am.commit_with(
            automerge::transaction::CommitOptions::default().with_time(1_764_000_000_000),
        );
        let changes = new_changes(am, &heads);
        let problems = check(Some(&stored), am, &changes);
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["counts.services", "photos"], "{problems:?}");
    }
}
