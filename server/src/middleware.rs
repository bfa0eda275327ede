//! Rules every request and answer passes through, before and after the handlers: the protocol
//! version, text no store can hold, a JSON body on every error, and the memory budget of pushes
//! waiting to be merged.

use axum::{
    body::Body,
    extract::Request,
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use bukti_core::protocol::{ErrorBody, MAX_BODY_BYTES, PROTOCOL_HEADER, PROTOCOL_VERSION};

use crate::{
    AppState,
    auth::Device,
    error::{ApiError, bare_status_body},
};

/// Bytes of push bodies the server reads and holds at once, across all devices. A push waits,
/// unread (the device's bytes stay in its socket), until the pushes before it leave room, so a
/// shift's worth of devices reaching Wi-Fi together costs the server this much memory and not
/// a body per device: with 50 devices pushing 1 MB batches at once, all 50 bodies would
/// otherwise be held while two are merged. A body larger than the budget waits for all of it and
/// is then read alone. Merging a held body costs a few times its size in Automerge state, for at most
/// one batch per CPU (`ingest`).
pub const PUSH_BUDGET_BYTES: usize = 8 * 1024 * 1024;

/// The budget's unit: permits are KiB, so any body's size fits a permit count.
const BUDGET_UNIT: usize = 1024;

/// Admits push bodies against [`PUSH_BUDGET_BYTES`], first come, first served.
#[derive(Debug)]
pub struct PushBudget {
    permits: tokio::sync::Semaphore,
    total: u32,
}

impl PushBudget {
    pub fn new(bytes: usize) -> Self {
        let total = u32::try_from(bytes.div_ceil(BUDGET_UNIT))
            .unwrap_or(u32::MAX)
            .max(1);
        Self {
            permits: tokio::sync::Semaphore::new(total as usize),
            total,
        }
    }

    /// The server's one budget.
    pub fn global() -> &'static Self {
        static BUDGET: std::sync::OnceLock<PushBudget> = std::sync::OnceLock::new();
        BUDGET.get_or_init(|| Self::new(PUSH_BUDGET_BYTES))
    }

    /// Waits until a body of `bytes` fits (or, if larger than the budget, until all of it is
    /// free), and holds that share until the returned guard is dropped.
    pub async fn admit(&self, bytes: usize) -> Admitted<'_> {
        let want = u32::try_from(bytes.div_ceil(BUDGET_UNIT))
            .unwrap_or(u32::MAX)
            .clamp(1, self.total);
        let permit = self
            .permits
            .acquire_many(want)
            .await
            .expect("the budget's semaphore is never closed");
        self.report();
        Admitted {
            budget: self,
            permit: Some(permit),
        }
    }

    fn report(&self) {
        metrics::gauge!("bukti_push_budget_free_bytes").set(self.available() as f64);
    }

    /// Bytes not held by any push (a multiple of 1 KiB).
    pub fn available(&self) -> usize {
        self.permits.available_permits() * BUDGET_UNIT
    }
}

/// A push's share of the budget, given back when dropped (its answer is made).
#[derive(Debug)]
pub struct Admitted<'a> {
    budget: &'a PushBudget,
    permit: Option<tokio::sync::SemaphorePermit<'a>>,
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        drop(self.permit.take());
        self.budget.report();
    }
}

/// Whether `req` pushes records: the batch push and one record's changes.
fn is_push(req: &Request) -> bool {
    let path = req.uri().path();
    req.method() == axum::http::Method::POST
        && (path.ends_with("/sync/push")
            || path.contains("/records/") && path.ends_with("/changes"))
}

/// Holds a push's body against [`PushBudget::global`] from before it is read until its answer.
/// The device is authenticated first, so a client without a device token cannot occupy the
/// budget; the principal is passed on to the handler rather than looked up twice.
pub async fn push_budget(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if !is_push(&req) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let device = match <Device as axum::extract::FromRequestParts<AppState>>::from_request_parts(
        &mut parts, &state,
    )
    .await
    {
        Ok(device) => device,
        Err(e) => return e.into_response(),
    };
    // A compressed body may inflate to the body limit; so may one of unknown length.
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .filter(|_| !parts.headers.contains_key(header::CONTENT_ENCODING))
        .unwrap_or(MAX_BODY_BYTES);
    let _held = PushBudget::global().admit(declared).await;
    parts.extensions.insert(device);
    next.run(Request::from_parts(parts, body)).await
}

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

    #[tokio::test]
    async fn the_push_budget_admits_in_order_and_a_large_body_alone() {
        let budget = PushBudget::new(4 * BUDGET_UNIT);
        let first = budget.admit(3 * BUDGET_UNIT).await;
        assert_eq!(budget.available(), BUDGET_UNIT);
        // Larger than the budget: waits for all of it, and nothing may pass it meanwhile.
        let mut large = std::pin::pin!(budget.admit(100 * BUDGET_UNIT));
        assert!(futures::poll!(large.as_mut()).is_pending());
        let mut small = std::pin::pin!(budget.admit(1));
        assert!(
            futures::poll!(small.as_mut()).is_pending(),
            "a later small body waits behind the large one"
        );
        drop(first);
        let large = large.await;
        assert_eq!(budget.available(), 0, "the large body holds it all");
        assert!(futures::poll!(small.as_mut()).is_pending());
        drop(large);
        let _small = small.await;
        assert_eq!(budget.available(), 3 * BUDGET_UNIT);
    }
}
