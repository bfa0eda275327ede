//! Indexing for search the records the search index does not hold, from their documents, after
//! a migration rebuilt the index empty (SQLite's `0020_search_no_prefix`, which leaves the task
//! [`TASK`] pending). The server runs it in the background as it starts
//! ([`crate::serve_with`]), so devices sync at once; pushes go on beside it, each batch its own
//! short transaction, and a record a push indexes meanwhile stays as the push wrote it. It
//! looks for what is missing rather than keeping a position, so a restart resumes it; done, it
//! strikes the task off, and later starts do not look (at a million records the look reads
//! every record's key). `bukti-server rebuild-projection` repairs a damaged index.

use std::sync::Arc;

use serde::Serialize;

use super::{OpsError, rebuild::derive_all};
use crate::{flags::UnitAreas, store::DynStore};

/// Records read and indexed per transaction.
pub const BATCH: u32 = 500;

/// The name of this work in `pending_task`.
pub const TASK: &str = "search_index";

/// What indexing did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct IndexReport {
    /// Records added to the search index.
    pub indexed: u64,
    /// Records whose document cannot be read as a record (logged each); `bukti-server verify`
    /// names them too.
    pub unreadable: u64,
}

/// While [`TASK`] is pending, indexes every record without a search row, `batch` per
/// transaction, logging progress, then strikes the task off.
pub async fn index_missing(store: &DynStore, batch: u32) -> Result<IndexReport, OpsError> {
    let mut report = IndexReport::default();
    if !store.is_pending(TASK).await? {
        return Ok(report);
    }
    let mut after = None;
    let mut areas: Option<Arc<UnitAreas>> = None;
    let mut stored = 0;
    loop {
        let rows = store.unindexed_documents_after(after, batch.max(1)).await?;
        let Some(last) = rows.last() else {
            break;
        };
        after = Some(last.id);
        let areas = match &areas {
            Some(a) => a.clone(),
            None => {
                stored = store.record_count().await?;
                tracing::info!(
                    stored,
                    "indexing for search the records the index does not hold; HQ's searches miss them until it is done"
                );
                areas
                    .insert(Arc::new(UnitAreas::load(store).await?))
                    .clone()
            }
        };
        let (rewrites, unreadable) = derive_all(rows, areas).await?;
        report.unreadable += unreadable.len() as u64;
        report.indexed += store.index_for_search(&rewrites).await?;
        tracing::info!(
            indexed = report.indexed,
            stored,
            "indexing for search: {} records indexed ({stored} stored)",
            report.indexed
        );
    }
    store.finish_task(TASK).await?;
    if areas.is_some() {
        tracing::info!(
            indexed = report.indexed,
            unreadable = report.unreadable,
            "the search index holds every readable record"
        );
    }
    Ok(report)
}

/// [`index_missing`] as the server's background task: a failure is logged (searches miss the
/// records left) and retried at the next start.
pub async fn run(store: DynStore) {
    if let Err(e) = index_missing(&store, BATCH).await {
        tracing::error!(error = %e, "indexing for search stopped; it resumes when the server next starts");
    }
}
