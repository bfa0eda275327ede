//! Evidence packs made by the server for HQ (`docs/evidence.md`): `POST /api/v1/evidence/packs`
//! starts one for a unit of the caller's scope, `GET …/packs/{id}` says how far it has got, and
//! `GET …/packs/{id}/download` sends the finished zip, which `bukti verify` checks offline. The
//! console's export page ([`crate::web`]) calls the same service, [`crate::pack_jobs`].

use axum::{
    Json,
    body::Body,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use uuid::Uuid;

use crate::{
    AppState,
    auth::Hq,
    error::{ApiError, ApiResult},
    pack_jobs::{PackJobView, PackRequest},
};

/// A job id from the URL; anything that is not one is simply not found.
pub fn job_id(raw: &str) -> Result<Uuid, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::PackJob(crate::pack_jobs::PackJobError::NotFound))
}

/// `POST /api/v1/evidence/packs`
#[utoipa::path(
    post,
    path = "/evidence/packs",
    operation_id = "start_pack",
    tag = "evidence",
    request_body = PackRequest,
    security(("bearer" = []), ("session" = [])),
    responses((status = 202, description = "Started: poll `GET /evidence/packs/{id}`", body = PackJobView), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn start(
    State(state): State<AppState>,
    Hq(hq): Hq,
    body: super::Body<PackRequest>,
) -> ApiResult<(StatusCode, Json<PackJobView>)> {
    let Json(request) = body?;
    let view = state
        .packs
        .start(
            &state.store,
            &state.blobs.store,
            &state.server_key,
            &hq,
            &request,
        )
        .await?;
    Ok((StatusCode::ACCEPTED, Json(view)))
}

/// `GET /api/v1/evidence/packs`: the caller's packs, the newest first.
#[utoipa::path(
    get,
    path = "/evidence/packs",
    operation_id = "list_packs",
    tag = "evidence",
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Vec<PackJobView>), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn list(State(state): State<AppState>, Hq(hq): Hq) -> Json<Vec<PackJobView>> {
    Json(state.packs.list(&hq))
}

/// `GET /api/v1/evidence/packs/{id}`
#[utoipa::path(
    get,
    path = "/evidence/packs/{id}",
    operation_id = "pack_status",
    tag = "evidence",
    params(("id" = String, Path, description = "The job's id, from its start")),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = PackJobView), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn status(
    State(state): State<AppState>,
    Hq(hq): Hq,
    Path(raw): Path<String>,
) -> ApiResult<Json<PackJobView>> {
    Ok(Json(state.packs.get(&hq, job_id(&raw)?)?))
}

/// `GET /api/v1/evidence/packs/{id}/download`
#[utoipa::path(
    get,
    path = "/evidence/packs/{id}/download",
    operation_id = "download_pack",
    tag = "evidence",
    params(("id" = String, Path, description = "The job's id, from its start")),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "The evidence pack; check it with `bukti verify`", content_type = "application/zip", body = Vec<u8>), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn download(
    State(state): State<AppState>,
    Hq(hq): Hq,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    zip_response(&state, &hq, &raw).await
}

/// The finished zip of job `raw` of `principal`'s, streamed from its file.
pub async fn zip_response(
    state: &AppState,
    principal: &crate::directory::Principal,
    raw: &str,
) -> ApiResult<Response> {
    let (path, name) = state.packs.download(principal, job_id(raw)?)?;
    // Swept between the check and the open: as gone as any expired pack.
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|_| ApiError::PackJob(crate::pack_jobs::PackJobError::NotFound))?;
    let len = file.metadata().await.map(|m| m.len()).ok();
    let mut response = (
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from_stream(tokio_util::io::ReaderStream::new(file)),
    )
        .into_response();
    if let Some(len) = len {
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, len.into());
    }
    Ok(response)
}
