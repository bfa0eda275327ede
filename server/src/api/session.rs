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
    auth::{SESSION_COOKIE, session_cookie},
    directory::{Principal, hash_token, service},
    error::{ApiError, ApiResult},
};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SignIn {
    nrp: String,
    password: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    name: String,
    kind: &'static str,
    unit: String,
    roles: String,
    officer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    csrf_token: Option<String>,
    #[serde(with = "bukti_core::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
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

#[utoipa::path(
    post,
    path = "/session",
    tag = "session",
    request_body = SignIn,
    security(()),
    responses((status = 200, description = "Signed in: the session cookie is set; send `csrf_token` as `X-CSRF-Token` on changes", body = Me), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    body: Body<SignIn>,
) -> ApiResult<impl IntoResponse> {
    let Json(req) = body?;
    let opened = open_session(&state, addr, &req.nrp, &req.password).await?;
    Ok((
        StatusCode::OK,
        AppendHeaders([(SET_COOKIE, opened.cookie)]),
        Json(Me::of(&opened.principal, Some(opened.csrf))),
    ))
}

/// A session just opened: the `Set-Cookie` value to send, who it is for, its CSRF token.
#[derive(Debug)]
pub struct OpenedSession {
    pub cookie: String,
    pub principal: Principal,
    pub csrf: String,
}

/// Checks an NRP and password under the sign-in rate limits and opens a session, auditing
/// success and failure: the one sign-in path of the JSON API and the web pages.
pub async fn open_session(
    state: &AppState,
    addr: SocketAddr,
    nrp: &str,
    password: &str,
) -> ApiResult<OpenedSession> {
    let (limits, address) = (&state.limits, addr.ip().to_string());
    limits
        .login_per_address
        .check(&address, Instant::now())
        .map_err(limited)?;
    limits
        .login_per_account
        .check(nrp, Instant::now())
        .map_err(limited)?;
    let Some(session) = service::sign_in(&state.store, nrp, password).await? else {
        limits.login_per_address.fail(&address, Instant::now());
        limits.login_per_account.fail(nrp, Instant::now());
        tracing::warn!(%nrp, from = %address, "sign-in refused");
        let failed = AuditEvent::new(
            Actor::anonymous(&address),
            Action::LoginFailed,
            format!("nrp:{nrp}"),
        );
        audit::append_or_log(&state.store, &[failed]).await;
        return Err(ApiError::Unauthorized(
            "wrong NRP or password (or no web access for this NRP)".into(),
        ));
    };
    tracing::info!(%nrp, "signed in");
    let login = AuditEvent::new(
        Actor::principal(&Principal::from(session.person.clone())),
        Action::Login,
        format!("nrp:{nrp}"),
    )
    .in_unit(session.person.unit.as_str())
    .with_detail(serde_json::json!({ "from": address }));
    audit::append_or_log(&state.store, &[login]).await;
    let max_age = service::SESSION_HOURS * 3600;
    Ok(OpenedSession {
        cookie: format!(
            "{SESSION_COOKIE}={}; Path=/; Max-Age={max_age}; Secure; HttpOnly; SameSite=Strict",
            session.cookie
        ),
        principal: Principal::from(session.person),
        csrf: session.csrf,
    })
}

/// Ends the session `headers` carry, if any; returns the `Set-Cookie` value that clears it.
pub async fn close_session(state: &AppState, headers: &HeaderMap) -> ApiResult<String> {
    if let Some(value) = session_cookie(headers) {
        state.store.delete_session(&hash_token(value)).await?;
    }
    Ok(format!(
        "{SESSION_COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict"
    ))
}

#[utoipa::path(
    delete,
    path = "/session",
    tag = "session",
    security(("bearer" = []), ("session" = [])),
    responses((status = 204, description = "Signed out; the cookie is cleared"), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn sign_out(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let expired = close_session(&state, &headers).await?;
    tracing::info!(who = %principal.name, "signed out");
    Ok((
        StatusCode::NO_CONTENT,
        AppendHeaders([(SET_COOKIE, expired)]),
    ))
}

#[utoipa::path(
    get,
    path = "/me",
    tag = "session",
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Me), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn me(principal: Principal) -> Json<Me> {
    Json(Me::of(&principal, None))
}
