//! The server's evidence key and its evidence log as devices check them (`docs/evidence.md`):
//! the public key receipts and log heads are signed with, and the hash of one log entry, so a
//! device holding an older signed head can tell whether the log still holds that entry unchanged.

use axum::{
    Json,
    extract::{Path, State},
};
use bukti_core::protocol::{LogEntryHash, ServerKeyResponse};

use crate::{
    AppState,
    auth::Device,
    error::{ApiError, ApiResult},
};

/// `GET /api/v1/evidence/key`: public, like any public key.
#[utoipa::path(
    get,
    path = "/evidence/key",
    tag = "evidence",
    security(()),
    responses((status = 200, body = ServerKeyResponse), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn key(State(state): State<AppState>) -> Json<ServerKeyResponse> {
    Json(ServerKeyResponse {
        server_key: state.server_key.public_hex().to_owned(),
    })
}

/// `GET /api/v1/evidence/log/{seq}`: only the hash, which says nothing about whose record the
/// entry is.
#[utoipa::path(
    get,
    path = "/evidence/log/{seq}",
    tag = "evidence",
    params(("seq" = i64, Path, description = "The entry's number, from 1")),
    security(("bearer" = [])),
    responses((status = 200, body = LogEntryHash), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn log_entry(
    State(state): State<AppState>,
    Device(_): Device,
    Path(seq): Path<i64>,
) -> ApiResult<Json<LogEntryHash>> {
    if seq < 1 {
        return Err(ApiError::BadRequest(
            "evidence-log entries are numbered from 1".into(),
        ));
    }
    let entry = state
        .store
        .log_since(seq - 1, 1)
        .await?
        .into_iter()
        .next()
        .filter(|e| e.seq == seq)
        .ok_or(ApiError::NotFound)?;
    Ok(Json(LogEntryHash {
        seq,
        hash: entry.hash,
    }))
}
