//! Web sign-in: an NRP and password open a session held in a `__Host-` cookie (Secure, HttpOnly,
//! SameSite=Strict), with a CSRF token the pages send back on every change. Sign-in is
//! rate-limited per account and per client address. `GET /me` tells any caller who they are.

use std::{net::SocketAddr, time::Instant};

use axum::{
    Json,
    extract::{ConnectInfo, State},
    http::{HeaderMap, StatusCode, header::SET_COOKIE},
    response::{AppendHeaders, IntoResponse},
};
use serde::{Deserialize, Serialize};

use super::Body;
use crate::{
    AppState,
    audit::{self, Action, Actor, AuditEvent},
    auth::{Principal, SESSION_COOKIE, cookie, hash_token},
    directory::service,
    error::{ApiError, ApiResult},
};

#[derive(Debug, Deserialize)]
pub struct SignIn {
    nrp: String,
    password: String,
}

#[derive(Debug, Serialize)]
pub struct Me {
    name: String,
    kind: &'static str,
    unit: String,
    roles: String,
    officer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    csrf_token: Option<String>,
    access_until: Option<i64>,
}

impl Me {
    fn of(p: &Principal, csrf_token: Option<String>) -> Self {
        Me {
            name: p.name.clone(),
            kind: p.kind.as_str(),
            unit: p.unit.to_string(),
            roles: p.roles.to_string(),
            officer: p.officer.clone(),
            csrf_token,
            access_until: p.access_until,
        }
    }
}

fn limited(wait: std::time::Duration) -> ApiError {
    ApiError::TooManyRequests {
        retry_after_secs: wait.as_secs().max(1),
    }
}

pub async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    body: Body<SignIn>,
) -> ApiResult<impl IntoResponse> {
    let Json(req) = body?;
    let (limits, address) = (&state.limits, addr.ip().to_string());
    limits
        .login_per_address
        .check(&address, Instant::now())
        .map_err(limited)?;
    limits
        .login_per_account
        .check(&req.nrp, Instant::now())
        .map_err(limited)?;
    let Some(session) = service::sign_in(&state.store, &req.nrp, &req.password).await? else {
        limits.login_per_address.fail(&address, Instant::now());
        limits.login_per_account.fail(&req.nrp, Instant::now());
        tracing::warn!(nrp = %req.nrp, from = %address, "sign-in refused");
        let failed = AuditEvent::new(
            Actor::anonymous(&address),
            Action::LoginFailed,
            format!("nrp:{}", req.nrp),
        );
        audit::append_or_log(&state.store, &[failed]).await;
        return Err(ApiError::Unauthorized(
            "wrong NRP or password (or no web access for this NRP)".into(),
        ));
    };
    tracing::info!(nrp = %req.nrp, "signed in");
    let login = AuditEvent::new(
        Actor::principal(&Principal::from(session.person.clone())),
        Action::Login,
        format!("nrp:{}", req.nrp),
    )
    .in_unit(session.person.unit.as_str())
    .with_detail(serde_json::json!({ "from": address }));
    audit::append_or_log(&state.store, &[login]).await;
    let max_age = service::SESSION_HOURS * 3600;
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; Max-Age={max_age}; Secure; HttpOnly; SameSite=Strict",
        session.cookie
    );
    let principal = Principal::from(session.person);
    Ok((
        StatusCode::OK,
        AppendHeaders([(SET_COOKIE, cookie)]),
        Json(Me::of(&principal, Some(session.csrf))),
    ))
}

pub async fn sign_out(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let session = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| cookie(h, SESSION_COOKIE));
    if let Some(value) = session {
        state.store.delete_session(&hash_token(value)).await?;
    }
    tracing::info!(who = %principal.name, "signed out");
    let expired =
        format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict");
    Ok((
        StatusCode::NO_CONTENT,
        AppendHeaders([(SET_COOKIE, expired)]),
    ))
}

pub async fn me(principal: Principal) -> Json<Me> {
    Json(Me::of(&principal, None))
}
