//! Adopting into the evidence log the records stored before it existed. Their changes were
//! never logged (and their pushes never signed), so `bukti-server verify` would name each as
//! holding changes no entry records. Once per database, when the store is opened after the
//! upgrade, each such record gets one *adopted* entry ([`ADOPTED`]): its unlogged changes at
//! its current heads, no push. From then on every change to it is logged as usual, and an
//! edit behind the server's back is caught as before.
//!
//! Adoption runs once: the store notes when it is done, and later starts adopt nothing, so a
//! change written behind the server's back after the upgrade is never laundered into the log.
//! Before that, an unlogged change that builds on a logged one cannot be older than the log
//! (the server should have logged it), so a record holding one is left for `verify` to name.
//! Records are read a page at a time; each page's entries go in one transaction.

use std::collections::HashSet;

use bukti_core::{
    RecordId,
    evidence::log::{ADOPTED, Draft, LogEntry},
    ingest,
};

use crate::store::{DynStore, StoreError, maintenance::DocRow};

/// Records read, and adopted in one transaction, at a time.
const PAGE: u32 = 500;
/// Times a page's records are read again when pushes keep landing on them meanwhile.
const ROUNDS: usize = 3;

/// Adopts the records whose changes predate the evidence log, unless done already; returns how
/// many it adopted.
pub async fn adopt_unlogged(store: &DynStore) -> Result<u64, StoreError> {
    if store.adoption_done().await? {
        return Ok(0);
    }
    let (mut after, mut adopted) = (None, 0);
    loop {
        let rows = store.documents_after(after, PAGE).await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.id);
        adopted += adopt_page(store, rows).await?;
    }
    store.finish_adoption(adopted).await?;
    if adopted > 0 {
        tracing::info!(
            adopted,
            "records stored before the evidence log existed adopted into it"
        );
    }
    Ok(adopted)
}

async fn adopt_page(store: &DynStore, mut rows: Vec<DocRow>) -> Result<u64, StoreError> {
    let mut adopted = 0;
    for _ in 0..ROUNDS {
        let mut drafts = Vec::new();
        for row in &rows {
            let entries = store.log_of_record(row.id).await?;
            drafts.extend(unlogged(row, &entries));
        }
        if drafts.is_empty() {
            break;
        }
        let done: HashSet<RecordId> = store.adopt(&drafts).await?.into_iter().collect();
        adopted += done.len() as u64;
        // A record not adopted moved on (a push landed since it was read) or was adopted by
        // another process: read it again, and adopt what is then still unlogged.
        let moved: Vec<RecordId> = drafts
            .iter()
            .map(|d| d.record)
            .filter(|id| !done.contains(id))
            .collect();
        if moved.is_empty() {
            break;
        }
        rows = store
            .load_documents(&moved)
            .await?
            .into_iter()
            .map(|(id, stored)| DocRow {
                id,
                version: stored.version,
                doc: stored.doc,
            })
            .collect();
    }
    Ok(adopted)
}

/// The adopted entry a stored document needs: its changes no entry records, at its heads.
/// `None` when the log covers it, and when adopting would launder something `verify` must name:
/// the document is unreadable, lacks a logged change, or holds an unlogged change that builds
/// (directly or not) on a logged one, so was made after the log began.
pub fn unlogged(row: &DocRow, entries: &[LogEntry]) -> Option<Draft> {
    let mut doc = ingest::load_document(&row.doc).ok()?;
    let logged: HashSet<&str> = entries
        .iter()
        .flat_map(|e| e.changes.iter().map(String::as_str))
        .collect();
    let mut held = HashSet::new();
    // After the log began: the logged changes and everything built on them.
    let mut later: HashSet<String> = HashSet::new();
    let mut changes = Vec::new();
    // In causal order: a change comes after the changes it depends on.
    for change in doc.get_changes(&[]) {
        let hash = change.hash().to_string();
        let built_on_later = change.deps().iter().any(|d| later.contains(&d.to_string()));
        if logged.contains(hash.as_str()) {
            later.insert(hash.clone());
        } else if built_on_later {
            return None;
        } else {
            changes.push(hash.clone());
        }
        held.insert(hash);
    }
    if changes.is_empty() || logged.iter().any(|c| !held.contains(*c)) {
        return None;
    }
    Some(Draft {
        record: row.id,
        by: ADOPTED.to_owned(),
        push: None,
        changes,
        heads: ingest::heads_to_strings(&doc.get_heads()),
    })
}
