//! The device sync endpoints: push a batch, push one record by URL, pull the unit's feed.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use bukti_core::protocol::{
    DEFAULT_PULL_LIMIT, MAX_PULL_LIMIT, MAX_PUSH_RECORDS, PullResponse, PulledRecord, PushOutcome,
    PushRecord, PushRequest, PushResponse, PushResult, RecordChanges, RejectCode,
};
use serde::Deserialize;

use super::{Body, QueryParams, query, record_id};
use crate::{
    AppState,
    auth::Device,
    error::{ApiError, ApiResult},
    ingest,
};

#[utoipa::path(
    post,
    path = "/sync/push",
    tag = "sync",
    request_body = PushRequest,
    security(("bearer" = [])),
    responses((status = 200, body = PushResponse), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn push(
    State(state): State<AppState>,
    Device(device): Device,
    body: Body<PushRequest>,
) -> ApiResult<Json<PushResponse>> {
    let Json(req) = body?;
    if req.records.len() > MAX_PUSH_RECORDS {
        return Err(ApiError::BatchTooLarge {
            max: MAX_PUSH_RECORDS,
            got: req.records.len(),
        });
    }
    let answer = ingest::push(
        &state.store,
        &state.server_key,
        &device,
        req.records,
        req.signature.as_ref(),
    )
    .await?;
    Ok(Json(answer))
}

/// One record's changes with its id in the URL; the status code tells the outcome.
#[utoipa::path(
    post,
    path = "/records/{id}/changes",
    tag = "sync",
    request_body = RecordChanges,
    params(("id" = String, Path, description = "The record id (UUID)")),
    security(("bearer" = [])),
    responses((status = 200, description = "Accepted", body = PushResult), (status = 409, description = "Missing dependencies: send the earlier changes too", body = PushResult), (status = 422, description = "Rejected", body = PushResult), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn record_changes(
    State(state): State<AppState>,
    Device(device): Device,
    Path(raw_id): Path<String>,
    body: Body<RecordChanges>,
) -> ApiResult<(StatusCode, Json<PushResult>)> {
    let id = record_id(&raw_id)?;
    let Json(RecordChanges { changes, signature }) = body?;
    let answer = ingest::push(
        &state.store,
        &state.server_key,
        &device,
        vec![PushRecord { id, changes }],
        signature.as_ref(),
    )
    .await?;
    let result = answer
        .results
        .into_iter()
        .next()
        .expect("one record in, one result out");
    let status = match &result.outcome {
        PushOutcome::Accepted { .. } => StatusCode::OK,
        PushOutcome::Rejected {
            code: RejectCode::MissingDependencies,
            ..
        } => StatusCode::CONFLICT,
        PushOutcome::Rejected { .. } => StatusCode::UNPROCESSABLE_ENTITY,
    };
    Ok((status, Json(result)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PullQuery {
    #[serde(default)]
    since: i64,
    limit: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/sync/pull",
    tag = "sync",
    params(PullQuery),
    security(("bearer" = [])),
    responses((status = 200, body = PullResponse), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn pull(
    State(state): State<AppState>,
    Device(device): Device,
    params: QueryParams<PullQuery>,
) -> ApiResult<Json<PullResponse>> {
    let q = query(params)?;
    if q.since < 0 {
        return Err(ApiError::BadRequest(
            "since must be 0 or a cursor this server returned".into(),
        ));
    }
    let limit = q
        .limit
        .unwrap_or(DEFAULT_PULL_LIMIT)
        .clamp(1, MAX_PULL_LIMIT);
    // A device enrolled for its officer's own records sees nothing of its colleagues'.
    let mut items = state
        .store
        .feed(&device.unit, device.own_officer(), q.since, limit + 1)
        .await?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let cursor = items.last().map_or(q.since, |i| i.seq);
    metrics::counter!("bukti_pull_records_total").increment(items.len() as u64);
    let records = items
        .into_iter()
        .map(|i| PulledRecord {
            id: i.id,
            seq: i.seq,
            heads: i.heads,
            doc: i.doc,
        })
        .collect();
    let log_head = Some(state.server_key.sign_head(&state.store.log_head().await?));
    Ok(Json(PullResponse {
        records,
        cursor,
        more,
        log_head,
    }))
}
