//! Device registration: an HQ user whose unit covers the device's unit issues it a credential.
//! (Enrollment codes replace this when the identity work lands; the endpoint shape stays.)

use axum::{Json, extract::State, http::StatusCode};
use bukti_core::{
    protocol::{RegisterRequest, RegisterResponse},
    unit::UnitPath,
};
use uuid::Uuid;

use super::Body;
use crate::{
    AppState,
    auth::{Hq, NewPrincipal, PrincipalKind, new_token},
    error::{ApiError, ApiResult},
};

pub async fn register(
    State(state): State<AppState>,
    Hq(hq): Hq,
    body: Body<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<RegisterResponse>)> {
    let Json(req) = body?;
    if hq.role == "viewer" {
        return Err(ApiError::Forbidden(
            "viewers cannot register devices".into(),
        ));
    }
    let unit = UnitPath::parse(&req.unit).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if !hq.unit.contains(&unit) {
        return Err(ApiError::Forbidden(format!(
            "unit {unit} is outside your unit {}",
            hq.unit
        )));
    }
    let nrp_ok =
        (8..=18).contains(&req.officer.len()) && req.officer.bytes().all(|b| b.is_ascii_digit());
    if !nrp_ok {
        return Err(ApiError::BadRequest(
            "officer must be an NRP (8 digits) or NIP (18 digits)".into(),
        ));
    }
    let actor_ok = matches!(hex::decode(&req.actor_id), Ok(b) if (1..=32).contains(&b.len()));
    if !actor_ok {
        return Err(ApiError::BadRequest(
            "actor_id must be 1 to 32 bytes of hex".into(),
        ));
    }
    let name = req.device_name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::BadRequest(
            "device_name must be 1 to 100 characters".into(),
        ));
    }
    let (token, token_hash) = new_token();
    let id = Uuid::now_v7();
    state
        .store
        .insert_principal(&NewPrincipal {
            id,
            kind: PrincipalKind::Device,
            role: "officer".into(),
            name: name.to_owned(),
            unit: unit.clone(),
            officer: Some(req.officer.clone()),
            actor_id: Some(req.actor_id.to_lowercase()),
            token_hash,
        })
        .await?;
    tracing::info!(device = %id, %unit, officer = %req.officer, by = %hq.name, "device registered");
    Ok((
        StatusCode::CREATED,
        Json(RegisterResponse {
            device_id: id,
            token,
            unit: unit.to_string(),
            officer: req.officer,
        }),
    ))
}
