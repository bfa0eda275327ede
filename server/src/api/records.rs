//! HQ's view of the evidence: list with filters, and one record with its history and review
//! workflow. The review steps themselves are in [`super::review`].

use axum::{
    Json,
    extract::{Path, State},
};
use bukti_core::{
    history::{HistoryEntry, history},
    ingest,
    record::{
        self, Record,
        workflow::{self, Workflow},
    },
};
use jiff::Timestamp;
use serde::Serialize;

use super::{QueryParams, query, record_id};
use crate::{
    AppState,
    audit::AuditEvent,
    auth::Hq,
    blob::upload::{PhotoView, photo_views},
    directory::Principal,
    error::{ApiError, ApiResult},
    flags::{self, FlagView},
    store::{ListFilter, Page, RecordSummary},
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

#[utoipa::path(
    get,
    path = "/records",
    tag = "records",
    params(ListFilter),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Page), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn list(
    State(state): State<AppState>,
    Hq(hq): Hq,
    params: QueryParams<ListFilter>,
) -> ApiResult<Json<Page>> {
    let filter = list_filter(params)?;
    Ok(Json(state.store.list(&hq.unit, &filter).await?))
}

/// The list's filters from the query string, times read (shared with the exports).
pub(super) fn list_filter(params: QueryParams<ListFilter>) -> ApiResult<ListFilter> {
    let mut filter = query(params)?;
    filter.from_ms = parse_time("from", filter.from.as_deref())?;
    filter.to_ms = parse_time("to", filter.to.as_deref())?;
    Ok(filter)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecordView {
    pub record: Record,
    pub summary: RecordSummary,
    pub heads: Vec<String>,
    pub history: Vec<HistoryEntry>,
    /// The review workflow's state, and what changed after the current verdict (fields the
    /// reviewer has not seen, e.g. an edit after the record was verified).
    pub workflow: Workflow,
    /// Each photo with its metadata and whether its bytes arrived (waiting when not).
    pub photos: Vec<PhotoView>,
    /// Anomaly flags for the reviewer to look at, serious ones first, each with its explanation.
    pub flags: Vec<FlagView>,
}

/// One record with its history, for HQ or for a device of the record's unit.
#[utoipa::path(
    get,
    path = "/records/{id}",
    tag = "records",
    params(("id" = String, Path, description = "The record id (UUID)")),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = RecordView), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
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
        let history = history(&mut doc);
        let workflow = workflow::facts(&mut doc, Some(&history)).workflow();
        Ok(RecordView {
            record,
            summary,
            heads,
            history,
            workflow,
            photos: Vec::new(),
            flags: Vec::new(),
        })
    })
    .await
    .map_err(|e| corrupt(id, &e.to_string()))?
    .map_err(|e| corrupt(id, &e))?;
    let mut view = view;
    view.photos = photo_views(&state.store, id, &view.record.photos).await?;
    view.flags = flags::of_record(&state.store, id).await?;
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
