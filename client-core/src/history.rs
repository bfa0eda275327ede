//! A record's history, read from its Automerge changes: who made each change (the commit
//! message names the author; the actor id names the device or HQ user), when, and which fields
//! it touched.

use std::collections::HashMap;

use automerge::{
    AutoCommit,
    legacy::{Key, ObjectId, OpId, OpType},
};
use serde::Serialize;

/// One change in a record's history.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryEntry {
    pub hash: String,
    /// Actor id (hex) that wrote the change: a device's or an HQ user's.
    pub actor: String,
    /// Author as written in the change, e.g. `officer:87010123` or `reviewer:…`.
    pub author: Option<String>,
    /// Time the author's clock gave the change (kept in milliseconds, the unit of Automerge
    /// change times); the JSON API shows it as RFC 3339 under `at`.
    #[serde(rename = "at", with = "crate::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at_ms: i64,
    /// Top-level fields (or `field.key`) the change set or removed, sorted.
    pub fields: Vec<String>,
}

/// The changes of `doc` in causal order, each with the fields it touched.
///
/// Read from the changes' own operations in one pass: each object remembers the (at most two)
/// field names above it when it is created, so the cost is linear in the operations whatever the
/// document's shape. (Diffing each change against its parents instead costs the square of the
/// nesting depth, which a hostile document can make enormous.)
pub fn history(doc: &mut AutoCommit) -> Vec<HistoryEntry> {
    let mut names: HashMap<OpId, Vec<String>> = HashMap::new();
    doc.get_changes(&[])
        .iter()
        .map(|change| {
            let expanded = change.decode();
            let start = change.start_op().get();
            let mut fields: Vec<String> = Vec::new();
            for (i, op) in expanded.operations.iter().enumerate() {
                let mut path = match &op.obj {
                    ObjectId::Root => Vec::new(),
                    ObjectId::Id(id) => match names.get(id) {
                        Some(path) => path.clone(),
                        None => continue,
                    },
                };
                if let (Key::Map(key), true) = (&op.key, path.len() < 2) {
                    path.push(key.to_string());
                }
                if let OpType::Make(_) = op.action {
                    names.insert(OpId::new(start + i as u64, change.actor_id()), path.clone());
                }
                if !path.is_empty() {
                    fields.push(path.join("."));
                }
            }
            fields.sort();
            fields.dedup();
            HistoryEntry {
                hash: change.hash().to_string(),
                actor: change.actor_id().to_hex_string(),
                author: change.message().map(str::to_owned),
                at_ms: change.timestamp(),
                fields,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use automerge::ActorId;

    use super::*;
    use crate::{Record, RecordDoc};

    #[test]
    fn history_names_author_and_fields() {
        let record = Record::new(
            "bali/buleleng/sawan",
            "87010123",
            "patroli",
            "Patroli malam",
        );
        let mut doc = RecordDoc::create(&record, ActorId::random(), "officer:87010123");
        doc.edit("reviewer:kasat", |r| r.counts.people_served = Some(9))
            .unwrap_or_else(|e| panic!("{e}"));
        let h = history(doc.automerge());
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].author.as_deref(), Some("officer:87010123"));
        assert!(
            h[0].fields.contains(&"title".to_string()),
            "{:?}",
            h[0].fields
        );
        assert_eq!(h[1].author.as_deref(), Some("reviewer:kasat"));
        assert_eq!(h[1].fields, vec!["counts.people_served".to_string()]);
    }
}
