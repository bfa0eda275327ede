//! Devices as HQ manages them: the list of a unit's enrolled phones, and revocation. A revoked
//! device is refused on its next request; everything it sent before stays in the store.

use axum::{
    Json,
    extract::{Path, State},
};
use uuid::Uuid;

use crate::{
    AppState,
    audit::{self, Action, Actor, AuditEvent},
    auth::Hq,
    directory::{DeviceInfo, Permission},
    error::{ApiError, ApiResult},
};

#[utoipa::path(
    get,
    path = "/devices",
    tag = "devices",
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Vec<DeviceInfo>), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn list(State(state): State<AppState>, Hq(hq): Hq) -> ApiResult<Json<Vec<DeviceInfo>>> {
    hq.require(Permission::RevokeDevice, "managing devices")?;
    Ok(Json(state.store.devices(&hq.unit).await?))
}

#[utoipa::path(
    post,
    path = "/devices/{id}/revoke",
    tag = "devices",
    params(("id" = Uuid, Path, description = "The device id")),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "The device, now revoked", body = DeviceInfo), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn revoke(
    State(state): State<AppState>,
    Hq(hq): Hq,
    Path(raw): Path<String>,
) -> ApiResult<Json<DeviceInfo>> {
    hq.require(Permission::RevokeDevice, "revoking devices")?;
    let id = Uuid::parse_str(&raw).map_err(|_| ApiError::NotFound)?;
    let now = jiff::Timestamp::now().as_millisecond();
    if !state
        .store
        .revoke_device(id, &hq.unit, &hq.name, now)
        .await?
    {
        return Err(ApiError::NotFound);
    }
    tracing::info!(device = %id, by = %hq.name, "device revoked");
    let device = state.store.device(id).await?.ok_or(ApiError::NotFound)?;
    let event = AuditEvent::new(
        Actor::principal(&hq),
        Action::DeviceRevoked,
        format!("device:{id}"),
    )
    .in_unit(device.unit.as_str());
    audit::append_or_log(&state.store, &[event]).await;
    Ok(Json(device))
}
