//! HQ's view of the evidence: list with filters, one record with its history, and reviews.

use axum::{
    Json,
    extract::{Path, State},
};
use bukti_core::{
    RecordDoc,
    catalogue::Catalogue,
    history::{HistoryEntry, history},
    ingest,
    record::{self, Comment, Record, Verdict},
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Body, QueryParams, query, record_id};
use crate::{
    AppState,
    audit::AuditEvent,
    auth::{Hq, Principal},
    blob::upload::{PhotoView, photo_views},
    directory::Permission,
    error::{ApiError, ApiResult},
    projection::Projection,
    store::{ListFilter, Page, RecordSummary, RecordWrite, WriteOutcome},
};

fn parse_time(name: &str, value: Option<&str>) -> ApiResult<Option<i64>> {
    value
        .map(|v| {
            v.parse::<Timestamp>()
                .map(|t| t.as_millisecond())
                .map_err(|_| {
                    ApiError::BadRequest(format!(
                        "{name} must be an RFC 3339 time such as 2026-11-01T00:00:00+08:00"
                    ))
                })
        })
        .transpose()
}

pub async fn list(
    State(state): State<AppState>,
    Hq(hq): Hq,
    params: QueryParams<ListFilter>,
) -> ApiResult<Json<Page>> {
    let mut filter = query(params)?;
    filter.from_ms = parse_time("from", filter.from.as_deref())?;
    filter.to_ms = parse_time("to", filter.to.as_deref())?;
    Ok(Json(state.store.list(&hq.unit, &filter).await?))
}

#[derive(Debug, Serialize)]
pub struct RecordView {
    pub record: Record,
    pub summary: RecordSummary,
    pub heads: Vec<String>,
    pub history: Vec<HistoryEntry>,
    /// Each photo with its metadata and whether its bytes arrived (waiting when not).
    pub photos: Vec<PhotoView>,
}

/// One record with its history, for HQ or for a device of the record's unit.
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw_id): Path<String>,
) -> ApiResult<Json<RecordView>> {
    let id = record_id(&raw_id)?;
    let (summary, stored) = readable(&state, &principal, id).await?;
    let view = tokio::task::spawn_blocking(move || -> Result<RecordView, String> {
        let mut doc = ingest::load_document(&stored.doc).map_err(|e| e.to_string())?;
        let record = record::doc::read(&doc).map_err(|p| record::Problem::join(&p))?;
        let heads = ingest::heads_to_strings(&doc.get_heads());
        Ok(RecordView {
            record,
            summary,
            heads,
            history: history(&mut doc),
            photos: Vec::new(),
        })
    })
    .await
    .map_err(|e| corrupt(id, &e.to_string()))?
    .map_err(|e| corrupt(id, &e))?;
    let mut view = view;
    view.photos = photo_views(&state.store, id, &view.record.photos).await?;
    // Personal data is not shown unless the view is on record (the PDP law's record of
    // processing): an audit failure fails the request.
    let viewed = AuditEvent::record_viewed(&principal, id, &view.summary.unit);
    crate::audit::append(&state.store, &[viewed]).await?;
    Ok(Json(view))
}

/// The photos a record within the principal's scope refers to.
pub async fn photos_of(
    state: &AppState,
    principal: &Principal,
    id: bukti_core::RecordId,
) -> ApiResult<std::collections::BTreeMap<String, record::PhotoRef>> {
    let (_, stored) = readable(state, principal, id).await?;
    let doc = ingest::load_document(&stored.doc).map_err(|e| corrupt(id, &e.to_string()))?;
    let record = record::doc::read(&doc).map_err(|p| corrupt(id, &record::Problem::join(&p)))?;
    Ok(record.photos)
}

/// A record the principal may see (its subtree and, for an own-records-only device, its
/// officer's records); any other id is not found, exactly like one that does not exist.
async fn readable(
    state: &AppState,
    principal: &Principal,
    id: bukti_core::RecordId,
) -> ApiResult<(RecordSummary, crate::store::StoredDoc)> {
    match state.store.get(&principal.unit, id).await? {
        Some((summary, stored)) if principal.may_see(&summary.unit, &summary.officer) => {
            Ok((summary, stored))
        }
        _ => Err(ApiError::NotFound),
    }
}

fn corrupt(id: bukti_core::RecordId, why: &str) -> ApiError {
    ApiError::Store(crate::store::StoreError::Corrupt(format!(
        "record {id}: {why}"
    )))
}

#[derive(Debug, Deserialize)]
pub struct ReviewRequest {
    verdict: Option<Verdict>,
    comment: Option<String>,
}

/// Writes a verdict and/or a comment as a change by the reviewer's own actor, so it syncs back
/// to the officer like any other change.
pub async fn review(
    State(state): State<AppState>,
    Hq(hq): Hq,
    Path(raw_id): Path<String>,
    body: Body<ReviewRequest>,
) -> ApiResult<Json<Record>> {
    let id = record_id(&raw_id)?;
    let Json(req) = body?;
    if req.verdict.is_some() {
        hq.require(Permission::GiveVerdict, "giving verdicts")?;
    }
    hq.require(Permission::Comment, "reviewing records")?;
    let comment = req.comment.map(|c| c.trim().to_owned());
    if req.verdict.is_none() && comment.is_none() {
        return Err(ApiError::BadRequest(
            "send a verdict, a comment or both".into(),
        ));
    }
    if comment
        .as_deref()
        .is_some_and(|c| c.is_empty() || c.chars().count() > 5000)
    {
        return Err(ApiError::BadRequest(
            "a comment must be 1 to 5000 characters".into(),
        ));
    }
    // Another writer may land between our read and our write: merge again on top of theirs.
    for _ in 0..8 {
        let (_, stored) = readable(&state, &hq, id).await?;
        let doc = ingest::load_document(&stored.doc).map_err(|e| corrupt(id, &e.to_string()))?;
        let mut doc = RecordDoc::from_automerge(doc.with_actor(hq.actor()));
        let author = format!("reviewer:{}", hq.name);
        let now = record::now_ms();
        doc.edit(&author, |r| {
            if let Some(v) = req.verdict {
                r.review.verdict = Some(v);
                r.review.verdict_by = Some(hq.name.clone());
                r.review.verdict_at = Some(now);
            }
            if let Some(text) = &comment {
                let id = uuid::Uuid::now_v7().to_string();
                r.review.comments.push(Comment {
                    id,
                    author: hq.name.clone(),
                    at: now,
                    text: text.clone(),
                });
            }
        })
        .map_err(|e| corrupt(id, &e.to_string()))?;
        let record = doc
            .read()
            .map_err(|p| corrupt(id, &record::Problem::join(&p)))?;
        let problems = record::validate(&record, Catalogue::builtin(), Timestamp::now());
        if !problems.is_empty() {
            return Err(ApiError::BadRequest(record::Problem::join(&problems)));
        }
        let heads = ingest::heads_to_strings(&doc.heads());
        let write = RecordWrite {
            id,
            expected_version: Some(stored.version),
            doc: doc.save(),
            heads,
            projection: Projection::of(&record),
        };
        if state.store.write_records(&[write]).await? == [WriteOutcome::Written] {
            tracing::info!(record = %id, reviewer = %hq.name, verdict = ?req.verdict, "review written");
            let reviewed =
                AuditEvent::review(&hq, id, &stored.unit, req.verdict, comment.is_some());
            crate::audit::append_or_log(&state.store, &[reviewed]).await;
            return Ok(Json(record));
        }
    }
    Err(ApiError::Busy)
}
