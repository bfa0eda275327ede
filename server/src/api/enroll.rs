//! Enrollment over HTTP: an approver or admin issues a one-time code for an officer (with its QR
//! code), and a phone redeems it. Redeeming needs no credential, only the code, so it is
//! rate-limited per client address.

use std::{net::SocketAddr, time::Instant};

use axum::{
    Json,
    extract::{ConnectInfo, State},
    http::{HeaderMap, StatusCode, header::HOST},
};
use bukti_core::protocol::{EnrollRequest, EnrollResponse};
use serde::{Deserialize, Serialize};

use super::Body;
use crate::{
    AppState,
    audit::{self, Action, Actor, AuditEvent},
    auth::Hq,
    directory::{
        DirectoryError, Permission, qr,
        service::{self, IssuedCode},
    },
    error::{ApiError, ApiResult},
};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct IssueRequest {
    /// The officer's NRP.
    officer: String,
    #[serde(default)]
    own_records_only: bool,
    ttl_minutes: Option<i64>,
    /// The address phones reach this server at, for the QR code [default: from the Host header].
    server_url: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IssueResponse {
    #[serde(flatten)]
    issued: IssuedCode,
    qr_text: String,
    qr_svg: String,
}

#[utoipa::path(
    post,
    path = "/enrollments",
    tag = "devices",
    request_body = IssueRequest,
    security(("bearer" = []), ("session" = [])),
    responses((status = 201, description = "The code (shown once) and its QR code", body = IssueResponse), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn issue(
    State(state): State<AppState>,
    Hq(hq): Hq,
    headers: HeaderMap,
    body: Body<IssueRequest>,
) -> ApiResult<(StatusCode, Json<IssueResponse>)> {
    hq.require(Permission::IssueEnrollment, "issuing enrollment codes")?;
    let Json(req) = body?;
    let issued = service::issue_enrollment(
        &state.store,
        Some(&hq.unit),
        &hq.name,
        &req.officer,
        req.own_records_only,
        req.ttl_minutes,
    )
    .await?;
    let server_url = req.server_url.unwrap_or_else(|| {
        let host = headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        format!("http://{host}")
    });
    let qr_text = issued.qr_text(&server_url);
    let qr_svg = qr::svg(&qr_text)?;
    tracing::info!(officer = %issued.officer, by = %hq.name, "enrollment code issued");
    let event = AuditEvent::new(
        Actor::principal(&hq),
        Action::EnrollmentIssued,
        format!("officer:{}", issued.officer),
    )
    .in_unit(issued.unit.as_str())
    .with_detail(serde_json::json!({
        "expires_at": bukti_core::rfc3339::format(issued.expires_at),
        "own_records_only": issued.own_records_only,
    }));
    audit::append_or_log(&state.store, &[event]).await;
    Ok((
        StatusCode::CREATED,
        Json(IssueResponse {
            issued,
            qr_text,
            qr_svg,
        }),
    ))
}

#[utoipa::path(
    post,
    path = "/enroll",
    tag = "devices",
    request_body = EnrollRequest,
    security(()),
    responses((status = 201, description = "Enrolled: the device's token (shown once)", body = EnrollResponse), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn redeem(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    body: Body<EnrollRequest>,
) -> ApiResult<(StatusCode, Json<EnrollResponse>)> {
    let limiter = &state.limits.enroll_per_address;
    let address = addr.ip().to_string();
    limiter
        .check(&address, Instant::now())
        .map_err(|wait| ApiError::TooManyRequests {
            retry_after_secs: wait.as_secs().max(1),
        })?;
    let Json(req) = body?;
    let mut enrolled = match service::enroll(&state.store, &req).await {
        Ok(e) => e,
        Err(DirectoryError::Store(e)) => return Err(e.into()),
        Err(refused) => {
            limiter.fail(&address, Instant::now());
            tracing::warn!(from = %address, reason = %refused, "enrollment refused");
            return Err(refused.into());
        }
    };
    tracing::info!(device = %enrolled.device_id, officer = %enrolled.officer, unit = %enrolled.unit, "device enrolled");
    let device = Actor {
        kind: "device".into(),
        id: enrolled.device_id.to_string(),
        name: req.device_name.clone(),
    };
    let event = AuditEvent::new(
        device,
        Action::EnrollmentUsed,
        format!("device:{}", enrolled.device_id),
    )
    .in_unit(enrolled.unit.as_str())
    .with_detail(serde_json::json!({ "officer": enrolled.officer, "from": address }));
    audit::append_or_log(&state.store, &[event]).await;
    // The phone pins this key: receipts and log heads signed with another are refused.
    enrolled.server_key = Some(state.server_key.public_hex().to_owned());
    Ok((StatusCode::CREATED, Json(enrolled)))
}
