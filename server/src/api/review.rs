//! The review workflow's endpoints, thin over [`crate::review`]: the Polsek curates
//! (`/curate`) and forwards (`/forward`), the Polres gives its verdict (`/review`, which also
//! takes comments from anyone who may comment).

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
};
use bukti_core::record::{Verdict, workflow::Step};
use serde::{Deserialize, de::DeserializeOwned};

use super::{Body, record_id};
use crate::{
    AppState,
    auth::Hq,
    error::{ApiError, ApiResult},
    review::{self, Reviewed},
};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ReviewRequest {
    verdict: Option<Verdict>,
    /// Why the record needs revision or is rejected; required for those verdicts.
    reason: Option<String>,
    comment: Option<String>,
}

fn comment(text: Option<String>) -> Option<Step> {
    text.map(|text| Step::Comment {
        id: uuid::Uuid::now_v7().to_string(),
        text,
    })
}

/// `POST /records/{id}/review`: a verdict, a comment, or both in one change. Earlier clients
/// sent the reason of a `needs_revision` or `rejected` verdict as its comment: without a
/// `reason`, the comment is taken as the reason too (and stays in the thread, as before).
#[utoipa::path(
    post,
    path = "/records/{id}/review",
    tag = "review",
    request_body = ReviewRequest,
    params(("id" = String, Path, description = "The record id (UUID)")),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Reviewed), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn review(
    State(state): State<AppState>,
    Hq(hq): Hq,
    Path(raw_id): Path<String>,
    body: Body<ReviewRequest>,
) -> ApiResult<Json<Reviewed>> {
    let id = record_id(&raw_id)?;
    let Json(req) = body?;
    let mut steps = Vec::new();
    match req.verdict {
        Some(verdict) => {
            let needs_reason = matches!(verdict, Verdict::NeedsRevision | Verdict::Rejected);
            let reason = match req.reason {
                None if needs_reason => req.comment.clone(),
                reason => reason,
            };
            steps.push(Step::Verdict { verdict, reason });
        }
        None if req.reason.is_some() => {
            return Err(ApiError::BadRequest(
                "a reason goes with a verdict: send \"verdict\" too, or send a \"comment\"".into(),
            ));
        }
        None => {}
    }
    steps.extend(comment(req.comment));
    if steps.is_empty() {
        return Err(ApiError::BadRequest(
            "send a verdict, a comment or both".into(),
        ));
    }
    Ok(Json(review::apply(&state.store, &hq, id, steps).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CurateRequest {
    /// The record's LKE sub-indicator codes after curation (replacing the officer's tags).
    lke: Option<Vec<String>>,
    /// Mark the record ready for the Kapolsek.
    #[serde(default)]
    ready: bool,
    comment: Option<String>,
}

/// `POST /records/{id}/curate`: the Polsek operator retags the record, marks it ready, or both.
#[utoipa::path(
    post,
    path = "/records/{id}/curate",
    tag = "review",
    request_body = CurateRequest,
    params(("id" = String, Path, description = "The record id (UUID)")),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Reviewed), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn curate(
    State(state): State<AppState>,
    Hq(hq): Hq,
    Path(raw_id): Path<String>,
    body: Body<CurateRequest>,
) -> ApiResult<Json<Reviewed>> {
    let id = record_id(&raw_id)?;
    let Json(req) = body?;
    let lke = req
        .lke
        .map(|codes| codes.into_iter().map(|c| c.trim().to_owned()).collect());
    let mut steps = vec![Step::Curate {
        lke,
        ready: req.ready,
    }];
    steps.extend(comment(req.comment));
    Ok(Json(review::apply(&state.store, &hq, id, steps).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForwardRequest {
    comment: Option<String>,
}

/// `POST /records/{id}/forward`: the Kapolsek forwards a ready record to the Polres. The body
/// is optional (`{"comment": "…"}`).
#[utoipa::path(
    post,
    path = "/records/{id}/forward",
    tag = "review",
    request_body = Option<ForwardRequest>,
    params(("id" = String, Path, description = "The record id (UUID)")),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Reviewed), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn forward(
    State(state): State<AppState>,
    Hq(hq): Hq,
    Path(raw_id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Reviewed>> {
    let id = record_id(&raw_id)?;
    let req: ForwardRequest = optional_json(&body)?;
    let mut steps = vec![Step::Forward];
    steps.extend(comment(req.comment));
    Ok(Json(review::apply(&state.store, &hq, id, steps).await?))
}

/// A JSON body that may be left out entirely.
fn optional_json<T: DeserializeOwned + Default>(body: &[u8]) -> ApiResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| ApiError::InvalidJson(e.to_string()))
}
