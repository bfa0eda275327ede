//! The shape a record document may take: how deep objects nest, how many keys a map and how many
//! elements a list hold, how many operations, changes and writers the whole document has.
//!
//! A record needs three levels of nesting and a few hundred operations; a hostile push can nest
//! maps thousands deep in a few kilobytes, and every later reader pays for it. The limits hold
//! for the whole document, not one change: totals come from the merged document's own counts,
//! and the per-object limits are checked on every object the new changes touch (every stored
//! document passed the same check, so untouched objects are within them already).

use std::collections::{HashMap, HashSet};

use automerge::{
    AutoCommit, ObjId, ObjType, ROOT, ReadDoc,
    legacy::{ObjectId, OpId, OpType},
};

use super::NewChange;

/// Objects nested under the root: a record uses 3 (`photos` → photo → `gps`).
pub const MAX_DEPTH: usize = 8;
/// Keys in one map: a record's largest are its photos and LKE tags, a few dozen.
pub const MAX_MAP_KEYS: usize = 1_000;
/// Elements in one list or characters in one text: the longest is a record's comment thread.
pub const MAX_LIST_LEN: usize = 2_000;
/// Operations in the whole document, including overwritten and deleted ones.
pub const MAX_OPS: u64 = 20_000;
/// Changes in the document's history.
pub const MAX_CHANGES: u64 = 2_000;
/// Distinct writers (devices and HQ people) of one record.
pub const MAX_ACTORS: u64 = 64;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShapeError {
    #[error("objects nest {depth} deep; a record may nest at most {MAX_DEPTH}")]
    TooDeep { depth: usize },
    #[error("a map holds {keys} keys; the limit is {MAX_MAP_KEYS}")]
    TooManyKeys { keys: usize },
    #[error("a list or text holds {len} elements; the limit is {MAX_LIST_LEN}")]
    ListTooLong { len: usize },
    #[error("the document holds {ops} operations; the limit is {MAX_OPS}")]
    TooManyOps { ops: u64 },
    #[error("the document has {changes} changes; the limit is {MAX_CHANGES}")]
    TooManyChanges { changes: u64 },
    #[error("the document has {actors} writers; the limit is {MAX_ACTORS}")]
    TooManyActors { actors: u64 },
    #[error("a change refers to an object the document does not hold")]
    UnknownObject,
}

/// Checks `doc`, into which `new` changes were just applied, against every limit.
pub fn check(doc: &AutoCommit, new: &[NewChange]) -> Result<(), ShapeError> {
    let stats = doc.stats();
    if stats.num_ops > MAX_OPS {
        return Err(ShapeError::TooManyOps { ops: stats.num_ops });
    }
    if stats.num_changes > MAX_CHANGES {
        return Err(ShapeError::TooManyChanges {
            changes: stats.num_changes,
        });
    }
    if stats.num_actors > MAX_ACTORS {
        return Err(ShapeError::TooManyActors {
            actors: stats.num_actors,
        });
    }
    let mut depths = Depths::new(doc);
    let mut touched: HashSet<ObjectId> = HashSet::new();
    for NewChange { expanded, .. } in new {
        let start = expanded.start_op.get();
        for (i, op) in expanded.operations.iter().enumerate() {
            touched.insert(op.obj.clone());
            if let OpType::Make(_) = op.action {
                let depth = depths.of(&op.obj)? + 1;
                if depth > MAX_DEPTH {
                    return Err(ShapeError::TooDeep { depth });
                }
                let id = OpId::new(start + i as u64, &expanded.actor_id);
                depths.created.insert(ObjectId::Id(id), depth);
            }
        }
    }
    for obj in touched {
        let Some((id, kind)) = depths.resolve(&obj) else {
            // Created and deleted within the new changes: nothing visible to count.
            continue;
        };
        let len = doc.length(&id);
        match kind {
            ObjType::Map | ObjType::Table if len > MAX_MAP_KEYS => {
                return Err(ShapeError::TooManyKeys { keys: len });
            }
            ObjType::List | ObjType::Text if len > MAX_LIST_LEN => {
                return Err(ShapeError::ListTooLong { len });
            }
            _ => {}
        }
    }
    Ok(())
}

/// Depth of objects: those the new changes created, remembered as they are met; older ones
/// asked of the document (at most [`MAX_DEPTH`] parents, since it passed this check before).
struct Depths<'a> {
    doc: &'a AutoCommit,
    created: HashMap<ObjectId, usize>,
}

impl<'a> Depths<'a> {
    fn new(doc: &'a AutoCommit) -> Self {
        Self {
            doc,
            created: HashMap::new(),
        }
    }

    fn resolve(&self, obj: &ObjectId) -> Option<(ObjId, ObjType)> {
        match obj {
            ObjectId::Root => Some((ROOT, ObjType::Map)),
            ObjectId::Id(OpId(counter, actor)) => self
                .doc
                .import(&format!("{counter}@{}", actor.to_hex_string()))
                .ok(),
        }
    }

    fn of(&self, obj: &ObjectId) -> Result<usize, ShapeError> {
        if let Some(depth) = self.created.get(obj) {
            return Ok(*depth);
        }
        let (id, _) = self.resolve(obj).ok_or(ShapeError::UnknownObject)?;
        if id == ROOT {
            return Ok(0);
        }
        let parents = self
            .doc
            .parents(&id)
            .map_err(|_| ShapeError::UnknownObject)?;
        Ok(parents.take(MAX_DEPTH + 1).count())
    }
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;

    use super::*;

    fn new_changes(doc: &mut AutoCommit) -> Vec<NewChange> {
        doc.get_changes(&[])
            .into_iter()
            .enumerate()
            .map(|(i, c)| NewChange::of(i, c))
            .collect()
    }

    fn nested(depth: usize) -> AutoCommit {
        let mut doc = AutoCommit::new();
        let mut obj = ROOT;
        for _ in 0..depth {
            obj = doc
                .put_object(&obj, "x", ObjType::Map)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        doc.commit();
        doc
    }

    #[test]
    fn nesting_is_bounded_at_the_limit() {
        let mut ok = nested(MAX_DEPTH);
        let changes = new_changes(&mut ok);
        assert_eq!(check(&ok, &changes), Ok(()));
        let mut deep = nested(MAX_DEPTH + 1);
        let changes = new_changes(&mut deep);
        assert_eq!(
            check(&deep, &changes),
            Err(ShapeError::TooDeep {
                depth: MAX_DEPTH + 1
            })
        );
    }

    #[test]
    fn depth_counts_objects_from_earlier_changes_too() {
        let mut doc = nested(MAX_DEPTH);
        let before = doc.get_heads();
        let mut obj = ROOT;
        for _ in 0..MAX_DEPTH {
            obj = match doc.get(&obj, "x") {
                Ok(Some((_, id))) => id,
                other => panic!("{other:?}"),
            };
        }
        doc.put_object(&obj, "y", ObjType::List)
            .unwrap_or_else(|e| panic!("{e}"));
        doc.commit();
        let changes: Vec<NewChange> = doc
            .get_changes(&before)
            .into_iter()
            .map(|c| NewChange::of(0, c))
            .collect();
        assert_eq!(changes.len(), 1, "only the deepening change is new");
        assert!(matches!(
            check(&doc, &changes),
            Err(ShapeError::TooDeep { .. })
        ));
    }

    #[test]
    fn deleted_deep_objects_still_count() {
        let mut doc = nested(MAX_DEPTH + 5);
        doc.delete(ROOT, "x").unwrap_or_else(|e| panic!("{e}"));
        doc.commit();
        let changes = new_changes(&mut doc);
        assert!(matches!(
            check(&doc, &changes),
            Err(ShapeError::TooDeep { .. })
        ));
    }

    #[test]
    fn wide_maps_and_long_lists_are_bounded() {
        let mut doc = AutoCommit::new();
        let map = doc
            .put_object(ROOT, "m", ObjType::Map)
            .unwrap_or_else(|e| panic!("{e}"));
        for i in 0..=MAX_MAP_KEYS {
            doc.put(&map, i.to_string(), 1_u64)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        doc.commit();
        let changes = new_changes(&mut doc);
        assert_eq!(
            check(&doc, &changes),
            Err(ShapeError::TooManyKeys {
                keys: MAX_MAP_KEYS + 1
            })
        );

        let mut doc = AutoCommit::new();
        let list = doc
            .put_object(ROOT, "l", ObjType::List)
            .unwrap_or_else(|e| panic!("{e}"));
        for i in 0..=MAX_LIST_LEN {
            doc.insert(&list, i, 1_u64)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        doc.commit();
        let changes = new_changes(&mut doc);
        assert_eq!(
            check(&doc, &changes),
            Err(ShapeError::ListTooLong {
                len: MAX_LIST_LEN + 1
            })
        );
    }

    #[test]
    fn total_operations_and_changes_are_bounded_for_the_whole_document() {
        // Each change alone is small; together they pass the limit.
        let mut doc = AutoCommit::new();
        for i in 0..=MAX_CHANGES {
            doc.put(ROOT, "n", i).unwrap_or_else(|e| panic!("{e}"));
            doc.commit();
        }
        let before = new_changes(&mut doc);
        let last = before.last().cloned().into_iter().collect::<Vec<_>>();
        assert_eq!(
            check(&doc, &last),
            Err(ShapeError::TooManyChanges {
                changes: MAX_CHANGES + 1
            })
        );
        let mut doc = AutoCommit::new();
        for round in 0..(MAX_OPS / 1_000 + 1) {
            for i in 0..1_000 {
                // Distinct values: Automerge skips a put of the value already there.
                doc.put(ROOT, format!("k{}", i % 500), round * 1_000 + i)
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            doc.commit();
        }
        let changes = new_changes(&mut doc);
        assert!(matches!(
            check(&doc, &changes[changes.len() - 1..]),
            Err(ShapeError::TooManyOps { .. })
        ));
    }
}
