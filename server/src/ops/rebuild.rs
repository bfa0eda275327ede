//! Rebuilding the relational projection (`record` columns with the review workflow's state,
//! `record_lke`, `record_photo`) from the stored Automerge documents, which are the truth.
//! Walks the store in id order, one batch at a time, so it runs in bounded memory beside a
//! serving server; feed positions stay where they are (see [`crate::store::maintenance`]), so no
//! device pulls anything again.

use std::sync::Arc;

use bukti_core::{
    RecordId, ingest,
    record::{self, Problem, workflow},
};
use serde::Serialize;

use super::{OpsError, blocking};
use crate::{
    flags::UnitAreas,
    projection::Projection,
    store::{
        DynStore,
        maintenance::{DocRow, ProjectionRewrite},
    },
};

/// Records read and rewritten per transaction.
pub const DEFAULT_BATCH: u32 = 500;

/// What a rebuild did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RebuildReport {
    /// Documents read.
    pub records: u64,
    /// Projections rewritten from their document.
    pub rewritten: u64,
    /// Records a push changed while the rebuild read them; that push wrote their projection.
    pub raced: u64,
    /// Documents that cannot be read as a record, with why. Their projection is left alone;
    /// restore them from a backup.
    pub unreadable: Vec<(RecordId, String)>,
}

/// The projection and heads a stored document implies. Pure.
pub fn derive(row: &DocRow, areas: &UnitAreas) -> Result<ProjectionRewrite, String> {
    let mut doc = ingest::load_document(&row.doc).map_err(|e| e.to_string())?;
    let rec = record::doc::read(&doc).map_err(|p| Problem::join(&p))?;
    if rec.id != row.id {
        return Err(format!(
            "the document's id is {}, stored as {}",
            rec.id, row.id
        ));
    }
    Ok(ProjectionRewrite {
        id: row.id,
        version: row.version,
        heads: ingest::heads_to_strings(&doc.get_heads()),
        projection: Projection::in_area(
            &rec,
            workflow::derive(&mut doc).state,
            areas.of(&rec.unit),
        ),
    })
}

/// The projections `rows` imply, derived off the runtime's threads (loading documents is CPU
/// work), and the rows that cannot be read as a record, each logged with why.
pub(super) async fn derive_all(
    rows: Vec<DocRow>,
    areas: Arc<UnitAreas>,
) -> Result<(Vec<ProjectionRewrite>, Vec<(RecordId, String)>), OpsError> {
    let derived = blocking(move || {
        Ok(rows
            .iter()
            .map(|r| (r.id, derive(r, &areas)))
            .collect::<Vec<_>>())
    })
    .await?;
    let (mut rewrites, mut unreadable) = (Vec::with_capacity(derived.len()), Vec::new());
    for (id, outcome) in derived {
        match outcome {
            Ok(w) => rewrites.push(w),
            Err(reason) => {
                tracing::error!(record = %id, %reason, "document unreadable; its projection is left as it is");
                unreadable.push((id, reason));
            }
        }
    }
    Ok((rewrites, unreadable))
}

/// Rewrites every record's projection from its document, `batch` records per transaction,
/// logging progress after each batch.
pub async fn rebuild_projection(store: &DynStore, batch: u32) -> Result<RebuildReport, OpsError> {
    let total = store.record_count().await?;
    let mut report = RebuildReport::default();
    let areas = Arc::new(UnitAreas::load(store).await?);
    let mut after = None;
    loop {
        let rows = store.documents_after(after, batch.max(1)).await?;
        let Some(last) = rows.last() else {
            break;
        };
        after = Some(last.id);
        report.records += rows.len() as u64;
        let (rewrites, unreadable) = derive_all(rows, areas.clone()).await?;
        report.unreadable.extend(unreadable);
        let landed = store.rewrite_projections(&rewrites).await?;
        report.rewritten += landed;
        report.raced += rewrites.len() as u64 - landed;
        tracing::info!(
            done = report.records,
            total,
            "rebuilding the projection: {}/{total} records",
            report.records
        );
    }
    Ok(report)
}
