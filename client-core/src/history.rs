//! A record's history, read from its Automerge changes: who made each change (the commit
//! message names the author; the actor id names the device or HQ user), when, and which fields
//! it touched.

use automerge::{AutoCommit, Patch, PatchAction, Prop};
use serde::Serialize;

/// One change in a record's history.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HistoryEntry {
    pub hash: String,
    /// Actor id (hex) that wrote the change: a device's or an HQ user's.
    pub actor: String,
    /// Author as written in the change, e.g. `officer:87010123` or `reviewer:…`.
    pub author: Option<String>,
    /// Time the author's clock gave the change, milliseconds since the epoch.
    pub at_ms: i64,
    /// Top-level fields (or `field.key`) the change set or removed, sorted.
    pub fields: Vec<String>,
}

/// The changes of `doc` in causal order, each with the fields it touched.
pub fn history(doc: &mut AutoCommit) -> Vec<HistoryEntry> {
    let changes = doc.get_changes(&[]);
    changes
        .iter()
        .map(|change| {
            let after = [change.hash()];
            let patches = doc.diff(change.deps(), &after);
            let mut fields: Vec<String> = patches.iter().filter_map(field_of).collect();
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

/// Names the field a patch touched: the first one or two path segments.
fn field_of(patch: &Patch) -> Option<String> {
    let mut names: Vec<String> = patch.path.iter().map(|(_, prop)| prop_name(prop)).collect();
    match &patch.action {
        PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => names.push(key.clone()),
        _ => {}
    }
    names.truncate(2);
    (!names.is_empty()).then(|| names.join("."))
}

fn prop_name(prop: &Prop) -> String {
    match prop {
        Prop::Map(key) => key.clone(),
        Prop::Seq(i) => i.to_string(),
    }
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
