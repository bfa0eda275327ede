//! Who is asking, as HTTP says it. Devices and scripts send `Authorization: Bearer <token>`;
//! people on the web pages carry a session cookie and, on every request that changes something,
//! the session's CSRF token in `X-CSRF-Token`. The extractors here read those headers and
//! resolve them, through the store, to a [`Principal`] bound to a unit whose subtree is all it
//! may see. What a principal is and may do, and how secrets are hashed, is the directory's
//! ([`crate::directory::principal`]); its refusals become HTTP answers in [`crate::error`].

use axum::{
    extract::FromRequestParts,
    http::{Method, request::Parts},
};

use crate::{
    AppState,
    directory::{Principal, PrincipalKind, hash_token},
    error::ApiError,
};

/// The web session cookie. `__Host-` makes browsers insist on Secure, Path=/ and no Domain.
pub const SESSION_COOKIE: &str = "__Host-bukti_session";
/// The header carrying the session's CSRF token on state-changing requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The bearer token of an `Authorization` header value, if it is one.
pub fn bearer(header: &str) -> Option<&str> {
    header
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let now = jiff::Timestamp::now().as_millisecond();
        if let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) {
            let token = header.to_str().ok().and_then(bearer).ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
            })?;
            let principal = state
                .store
                .principal_by_token_hash(&hash_token(token))
                .await?
                .ok_or_else(|| {
                    ApiError::Unauthorized(
                        "unknown token: enroll the device, or ask an administrator for a token"
                            .into(),
                    )
                })?;
            return Ok(principal.check_live(now)?);
        }
        let session = session_cookie(&parts.headers).ok_or_else(|| {
            ApiError::Unauthorized("sign in first, or send `Authorization: Bearer <token>`".into())
        })?;
        let (person, csrf) = state
            .store
            .session(&hash_token(session), now)
            .await?
            .ok_or_else(|| {
                ApiError::Unauthorized("your session has ended; sign in again".into())
            })?;
        // A cookie rides along with any request the browser makes, including ones another site
        // triggers; only our own pages know the CSRF token.
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !same_secret(sent, &csrf) {
                return Err(ApiError::Forbidden(format!(
                    "missing or wrong {CSRF_HEADER} header: reload the page and try again"
                )));
            }
        }
        Ok(Principal::from(person).check_live(now)?)
    }
}

/// Compares a secret the client sent with ours in time that does not depend on where they
/// differ.
pub fn same_secret(sent: &str, ours: &str) -> bool {
    sent.len() == ours.len()
        && sent
            .bytes()
            .zip(ours.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The session cookie's value in a request's headers.
pub fn session_cookie(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| cookie(h, SESSION_COOKIE))
}

/// An authenticated principal of one kind; any other kind is refused with `refusal`.
async fn principal_of_kind(
    parts: &mut Parts,
    state: &AppState,
    kind: PrincipalKind,
    refusal: &str,
) -> Result<Principal, ApiError> {
    let p = Principal::from_request_parts(parts, state).await?;
    if p.kind == kind {
        Ok(p)
    } else {
        Err(ApiError::Forbidden(refusal.to_owned()))
    }
}

/// An enrolled device.
#[derive(Debug, Clone)]
pub struct Device(pub Principal);

impl FromRequestParts<AppState> for Device {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Pushes are authenticated before their body is admitted (`middleware::push_budget`).
        if let Some(device) = parts.extensions.get::<Device>() {
            return Ok(device.clone());
        }
        let refusal = "this endpoint is for enrolled devices; HQ tokens cannot sync";
        principal_of_kind(parts, state, PrincipalKind::Device, refusal)
            .await
            .map(Device)
    }
}

/// An HQ user or script.
#[derive(Debug, Clone)]
pub struct Hq(pub Principal);

impl FromRequestParts<AppState> for Hq {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let refusal = "this endpoint is for HQ; a device token cannot use it";
        principal_of_kind(parts, state, PrincipalKind::Hq, refusal)
            .await
            .map(Hq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_read_strictly() {
        assert_eq!(bearer("Bearer bkt_ab"), Some("bkt_ab"));
        assert_eq!(bearer("bearer bkt_ab"), None);
        assert_eq!(bearer("Bearer   "), None);
        assert_eq!(bearer("Basic eDp5"), None);
        let h = "theme=dark; __Host-bukti_session=abc=; other=1";
        assert_eq!(cookie(h, SESSION_COOKIE), Some("abc="));
        assert_eq!(cookie(h, "missing"), None);
        assert_eq!(cookie("__Host-bukti_sessionx=1", SESSION_COOKIE), None);
    }
}
