//! Rules every request and answer passes through, before and after the handlers: the protocol
//! version, text no store can hold, and a JSON body on every error.

use axum::{
    body::Body,
    extract::Request,
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use bukti_core::protocol::{ErrorBody, MAX_BODY_BYTES, PROTOCOL_HEADER, PROTOCOL_VERSION};

use crate::error::{ApiError, bare_status_body};

/// Refuses clients that speak a protocol this server does not; a missing header means version 1.
pub async fn protocol_version(req: Request, next: Next) -> Response {
    if let Some(v) = req.headers().get(PROTOCOL_HEADER) {
        let client = String::from_utf8_lossy(v.as_bytes()).into_owned();
        if client.trim() != PROTOCOL_VERSION.to_string() {
            return ApiError::ProtocolVersion {
                server: PROTOCOL_VERSION,
                client,
            }
            .into_response();
        }
    }
    next.run(req).await
}

const NUL_MESSAGE: &str = "text may not contain the NUL character (U+0000, %00 or \\u0000): no \
                           store can hold it; remove it and send the request again";

/// Refuses a NUL character anywhere in the URL, a JSON body or a form, before any handler or
/// store sees it: PostgreSQL cannot store one and SQLite cuts strings at it, so every store
/// answers the same clear `400` instead of one of them failing.
pub async fn refuse_nul(req: Request, next: Next) -> Response {
    let uri = req.uri();
    let in_uri = [Some(uri.path()), uri.query()]
        .into_iter()
        .flatten()
        .any(|part| percent_nul(part.as_bytes()));
    if in_uri {
        return ApiError::BadRequest(NUL_MESSAGE.into()).into_response();
    }
    let kind = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    let check: fn(&[u8]) -> bool = match kind.as_deref() {
        Some(t) if t == "application/json" || t.ends_with("+json") => json_nul,
        Some("application/x-www-form-urlencoded") => |b| b.contains(&0) || percent_nul(b),
        _ => return next.run(req).await,
    };
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return ApiError::BodyTooLarge.into_response();
    };
    if check(&bytes) {
        return ApiError::BadRequest(NUL_MESSAGE.into()).into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// `%00` in percent-encoded text.
fn percent_nul(bytes: &[u8]) -> bool {
    bytes.windows(3).any(|w| w == b"%00")
}

/// A `\u0000` escape in JSON text (an escaped backslash followed by `u0000` is not one).
fn json_nul(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            // Raw NUL is invalid JSON; refusing it here keeps the message the same.
            0 => return true,
            b'\\' => {
                if bytes[i + 1..].starts_with(b"u0000") {
                    return true;
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    false
}

/// Longest URL (path and query) accepted: filters are short; hyper's own limit is 64 KiB.
pub const MAX_URI_BYTES: usize = 16 * 1024;
/// Most header bytes (names and values) one request may carry: a session cookie, a token and a
/// CSRF header need a few hundred.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Refuses URLs and header sets larger than any client of ours sends, with a JSON body (hyper
/// reads larger heads than these before it gives up by itself).
pub async fn limit_head(req: Request, next: Next) -> Response {
    if req.uri().to_string().len() > MAX_URI_BYTES {
        return bare(StatusCode::URI_TOO_LONG);
    }
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return bare(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    }
    next.run(req).await
}

/// An answer of `status` with its JSON error body.
fn bare(status: StatusCode) -> Response {
    let (code, message) = bare_status_body(status);
    (
        status,
        axum::Json(ErrorBody {
            code: code.to_owned(),
            message,
        }),
    )
        .into_response()
}

/// Gives every error answer without a body (the router's 405, the decompression layer's 415,
/// the timeout's 408) the JSON body the protocol promises.
pub async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.headers().contains_key(header::CONTENT_TYPE)
    {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let (json, body) = bare(status).into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.extend(json.headers);
    Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_found_in_every_encoding_and_only_there() {
        assert!(json_nul(br#"{"nrp":"8701\u00000123"}"#));
        assert!(json_nul(b"{\"a\":\"x\0\"}"));
        assert!(!json_nul(br#"{"a":"\\u0000"}"#), "an escaped backslash");
        assert!(json_nul(br#"{"a":"\\\u0000"}"#), "a backslash, then NUL");
        assert!(!json_nul(br#"{"a":"\u0020 \u00e9"}"#));
        assert!(!json_nul(br#"{"a":"trailing\"#));
        assert!(percent_nul(b"kind=patroli%00"));
        assert!(!percent_nul(b"kind=patroli%2000"));
    }
}
