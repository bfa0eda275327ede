//! Photo bytes: devices ask which blobs they still have to upload and upload them in resumable
//! chunks; HQ (and devices of the unit) read them by hash through records that legitimately hold
//! them; HQ asks for originals. The rules live in [`crate::blob::upload`]; these handlers parse
//! headers and answer.

use axum::{
    Json,
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use bukti_core::protocol::{
    MAX_MISSING_QUERY, MissingBlobsRequest, MissingBlobsResponse, OffsetMismatch, RequestedBlobs,
    UPLOAD_LENGTH_HEADER, UPLOAD_OFFSET_HEADER, UploadResponse,
};
use futures::TryStreamExt;
use serde::Serialize;

use super::{Body as JsonBody, record_id};
use crate::{
    AppState,
    auth::{Device, Hq},
    blob::{
        BlobHash,
        upload::{self, Chunk, Progress},
    },
    directory::Principal,
    error::{ApiError, ApiResult},
};

/// Browsers and proxies may keep a blob forever: its name is its content.
const IMMUTABLE: &str = "private, max-age=31536000, immutable";

fn number(headers: &HeaderMap, name: &str) -> ApiResult<Option<u64>> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| ApiError::BadRequest(format!("{name} must be a number of bytes")))
        })
        .transpose()
}

fn required(headers: &HeaderMap, name: &str) -> ApiResult<u64> {
    number(headers, name)?.ok_or_else(|| ApiError::BadRequest(format!("send the {name} header")))
}

#[utoipa::path(
    post,
    path = "/blobs/missing",
    tag = "blobs",
    request_body = MissingBlobsRequest,
    security(("bearer" = [])),
    responses((status = 200, body = MissingBlobsResponse), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn missing(
    State(state): State<AppState>,
    Device(device): Device,
    body: JsonBody<MissingBlobsRequest>,
) -> ApiResult<Json<MissingBlobsResponse>> {
    let Json(req) = body?;
    if req.hashes.len() > MAX_MISSING_QUERY {
        return Err(ApiError::BatchTooLarge {
            max: MAX_MISSING_QUERY,
            got: req.hashes.len(),
        });
    }
    let answer = upload::missing(&state.store, &state.blobs, &device, &req.hashes).await?;
    Ok(Json(answer))
}

#[utoipa::path(
    patch,
    path = "/blobs/{hash}",
    tag = "blobs",
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The chunk's bytes, starting at `Upload-Offset`"),
    params(("hash" = String, Path, description = "SHA-256 of the whole blob, 64 lowercase hex digits"), ("Upload-Offset" = u64, Header, description = "Where this chunk starts"), ("Upload-Length" = u64, Header, description = "The whole blob's length")),
    security(("bearer" = [])),
    responses((status = 200, description = "Chunk stored; more to come", body = UploadResponse), (status = 201, description = "The blob is complete", body = UploadResponse), (status = 409, description = "`offset_mismatch`: resume at `offset`", body = OffsetMismatch), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn patch(
    State(state): State<AppState>,
    Device(device): Device,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let hash = BlobHash::parse(&raw)?;
    let chunk = Chunk {
        offset: required(&headers, UPLOAD_OFFSET_HEADER)?,
        length: required(&headers, UPLOAD_LENGTH_HEADER)?,
        declared: number(&headers, header::CONTENT_LENGTH.as_str())?,
    };
    let stream = Box::pin(body.into_data_stream().map_err(std::io::Error::other));
    let answer = upload::append(&state.store, &state.blobs, &device, &hash, chunk, stream).await?;
    let status = if answer.complete {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let offset = answer.offset.to_string();
    Ok((status, [(UPLOAD_OFFSET_HEADER, offset)], Json(answer)).into_response())
}

#[utoipa::path(
    head,
    path = "/blobs/{hash}",
    tag = "blobs",
    params(("hash" = String, Path, description = "SHA-256 of the whole blob")),
    security(("bearer" = [])),
    responses((status = 200, description = "`Upload-Offset`: bytes held; `Upload-Length` when complete"), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn head(
    State(state): State<AppState>,
    Device(device): Device,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let hash = BlobHash::parse(&raw)?;
    let mut headers = HeaderMap::new();
    let progress = upload::head(&state.store, &state.blobs, &device, &hash).await?;
    let offset = match progress {
        Progress::Partial(n) => n,
        Progress::Complete(n) => {
            headers.insert(UPLOAD_LENGTH_HEADER, HeaderValue::from(n));
            n
        }
    };
    headers.insert(UPLOAD_OFFSET_HEADER, HeaderValue::from(offset));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok((StatusCode::OK, headers).into_response())
}

#[utoipa::path(
    get,
    path = "/blobs/{hash}",
    tag = "blobs",
    params(("hash" = String, Path, description = "SHA-256 of the blob")),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "The blob's bytes", content_type = "application/octet-stream", body = Vec<u8>), (status = 304, description = "Not modified (`If-None-Match`)"), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let hash = BlobHash::parse(&raw)?;
    let etag = format!("\"{hash}\"");
    let (meta, bytes) = upload::open(&state.store, &state.blobs, &principal, &hash).await?;
    let viewed = crate::audit::AuditEvent::photo_viewed(&principal, hash.as_str());
    crate::audit::append(&state.store, &[viewed]).await?;
    let mut out = HeaderMap::new();
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        out.insert(header::ETAG, v);
    }
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if cached {
        return Ok((StatusCode::NOT_MODIFIED, out).into_response());
    }
    let content_type = HeaderValue::from_str(&meta.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    out.insert(header::CONTENT_TYPE, content_type);
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok((StatusCode::OK, out, Body::from_stream(bytes)).into_response())
}

#[utoipa::path(
    get,
    path = "/blobs/requested",
    tag = "blobs",
    security(("bearer" = [])),
    responses((status = 200, body = RequestedBlobs), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn requested(
    State(state): State<AppState>,
    Device(device): Device,
) -> ApiResult<Json<RequestedBlobs>> {
    let hashes = state
        .store
        .requested_blobs(upload::scope_of(&device))
        .await?;
    Ok(Json(RequestedBlobs { hashes }))
}

/// The answer to a request for an original.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OriginalRequested {
    #[schema(value_type = String, format = Uuid)]
    record: bukti_core::RecordId,
    hash: String,
    requested: bool,
}

/// HQ asks the officer's device to upload a photo's original.
#[utoipa::path(
    post,
    path = "/records/{id}/photos/{hash}/original",
    tag = "blobs",
    params(("id" = String, Path, description = "The record id (UUID)"), ("hash" = String, Path, description = "The photo's hash")),
    security(("bearer" = []), ("session" = [])),
    responses((status = 202, description = "The officer's device will upload the original", body = OriginalRequested), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn request_original(
    State(state): State<AppState>,
    Hq(hq): Hq,
    Path((raw_id, raw_hash)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<OriginalRequested>)> {
    let id = record_id(&raw_id)?;
    let hash = BlobHash::parse(&raw_hash)?;
    hq.require(
        crate::directory::Permission::Comment,
        "requesting originals",
    )?;
    let photos = super::records::photos_of(&state, &hq, id).await?;
    if !photos.contains_key(hash.as_str()) {
        return Err(ApiError::NotFound);
    }
    let new = state
        .store
        .request_original(id, hash.as_str(), &hq.name)
        .await?;
    if new {
        tracing::info!(record = %id, %hash, by = %hq.name, "original requested");
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(OriginalRequested {
            record: id,
            hash: hash.as_str().to_owned(),
            requested: true,
        }),
    ))
}
