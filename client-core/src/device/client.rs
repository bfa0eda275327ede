//! The HTTP side of sync: a thin client for the endpoints a device calls (register, push, pull,
//! and the photo blob calls). It knows the wire format (`crate::protocol`) and nothing of the
//! store.
//!
//! Field networks drop, stall and cut connections, so every call has timeouts (a stalled
//! connection errors instead of hanging the sync) and the idempotent calls are retried on
//! transient failures after an exponential backoff with jitter ([`Backoff`]).

use std::{future::Future, time::Duration};

use reqwest::{RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;

use super::DeviceError;
use crate::protocol::{
    EnrollRequest, EnrollResponse, ErrorBody, MissingBlobsRequest, MissingBlobsResponse,
    OffsetMismatch, PROTOCOL_HEADER, PROTOCOL_VERSION, PullResponse, PushRequest, PushResponse,
    RequestedBlobs, UPLOAD_LENGTH_HEADER, UPLOAD_OFFSET_HEADER, UploadResponse,
};

/// What one upload chunk achieved.
#[derive(Debug)]
pub(crate) enum ChunkOutcome {
    /// Stored durably (`complete` once the whole blob arrived and hashed right).
    Stored(UploadResponse),
    /// The server holds a different number of bytes: resume from this offset.
    Mismatch(u64),
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Generous: a 500-record push over a weak rural link can take a while.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// No byte at all for this long (waiting for an answer or inside a body) means the connection
/// is dead even though no one closed it; longer than the server takes to ingest a full batch.
const STALL_TIMEOUT: Duration = Duration::from_secs(30);

/// When to retry a call that failed on the network: exponential backoff with "equal jitter"
/// (half of each wait is fixed, half random), so waits grow for sure while many devices coming
/// back at once after an outage do not retry in lockstep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    /// The ceiling of the first wait.
    pub first: Duration,
    /// No wait is longer than this.
    pub max: Duration,
    /// Retries after the first attempt; then the error goes to the caller.
    pub retries: u32,
}

impl Backoff {
    /// About 12 s of retrying in all (at most 16 s), then the sync reports the network error and
    /// the next sync resumes where this one stopped.
    pub(crate) const DEFAULT: Backoff = Backoff {
        first: Duration::from_millis(250),
        max: Duration::from_secs(8),
        retries: 6,
    };

    /// The wait before retry number `retry` (0 for the first retry), given `draw`, a random
    /// number in `[0, 1)`.
    pub(crate) fn delay(&self, retry: u32, draw: f64) -> Duration {
        let ceiling = self
            .first
            .saturating_mul(1u32.checked_shl(retry).unwrap_or(u32::MAX))
            .min(self.max);
        let half = ceiling / 2;
        half + half.mul_f64(draw.clamp(0.0, 1.0))
    }
}

/// A uniform draw in `[0, 1)` for the jitter, from the operating system's randomness.
fn jitter_draw() -> f64 {
    // 53 random bits fill an f64's mantissa exactly.
    (uuid::Uuid::new_v4().as_u128() >> 75) as f64 / (1u64 << 53) as f64
}

/// Whether trying the same call again may succeed: the network failed, or the server (or a
/// proxy in front of it) is overloaded or restarting.
fn is_transient(error: &DeviceError) -> bool {
    match error {
        DeviceError::Network { .. } => true,
        DeviceError::Server { status, .. } => matches!(status, 408 | 429 | 500..=599),
        _ => false,
    }
}

#[derive(Debug, Clone)]
pub(crate) struct SyncClient {
    http: reqwest::Client,
    base: String,
    token: String,
    backoff: Backoff,
}

impl SyncClient {
    pub(crate) fn new(server_url: &str, token: &str) -> Result<Self, DeviceError> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .read_timeout(STALL_TIMEOUT)
            // Servers close idle connections after 10 s (their header timeout); dropping ours
            // sooner means a request never races the server's close on a reused connection.
            .pool_idle_timeout(std::time::Duration::from_secs(5))
            .user_agent(concat!("bukti/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| DeviceError::Network {
                server: server_url.to_owned(),
                source: e,
            })?;
        Ok(Self {
            http,
            base: server_url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            backoff: Backoff::DEFAULT,
        })
    }

    /// Not retried: a code is spent by the first request that reaches the server, so a lost
    /// answer means asking for a new code rather than silently retrying into "already used".
    pub(crate) async fn enroll(
        &self,
        request: &EnrollRequest,
    ) -> Result<EnrollResponse, DeviceError> {
        let url = format!("{}/api/v1/enroll", self.base);
        self.send(self.http.post(url).json(request)).await
    }

    /// Retried: the server applies a change it already has as a no-op.
    pub(crate) async fn push(&self, request: &PushRequest) -> Result<PushResponse, DeviceError> {
        let url = format!("{}/api/v1/sync/push", self.base);
        self.retrying("push", || self.send(self.http.post(&url).json(request)))
            .await
    }

    pub(crate) async fn pull(&self, since: i64, limit: u32) -> Result<PullResponse, DeviceError> {
        let url = format!("{}/api/v1/sync/pull", self.base);
        let query = [("since", since.to_string()), ("limit", limit.to_string())];
        self.retrying("pull", || self.send(self.http.get(&url).query(&query)))
            .await
    }

    pub(crate) async fn missing_blobs(
        &self,
        hashes: Vec<String>,
    ) -> Result<MissingBlobsResponse, DeviceError> {
        let url = format!("{}/api/v1/blobs/missing", self.base);
        let request = MissingBlobsRequest { hashes };
        self.retrying("missing blobs", || {
            self.send(self.http.post(&url).json(&request))
        })
        .await
    }

    pub(crate) async fn requested_blobs(&self) -> Result<RequestedBlobs, DeviceError> {
        let url = format!("{}/api/v1/blobs/requested", self.base);
        self.retrying("requested blobs", || self.send(self.http.get(&url)))
            .await
    }

    /// Runs `call` until it succeeds, fails for good, or the retries run out.
    async fn retrying<T, F, Fut>(&self, what: &str, mut call: F) -> Result<T, DeviceError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, DeviceError>>,
    {
        let mut retry = 0;
        loop {
            match call().await {
                Err(e) if retry < self.backoff.retries && is_transient(&e) => {
                    let wait = self.backoff.delay(retry, jitter_draw());
                    tracing::warn!(
                        server = %self.base, call = what, retry, ?wait, error = %error_chain(&e),
                        "retrying after a transient failure"
                    );
                    tokio::time::sleep(wait).await;
                    retry += 1;
                }
                outcome => return outcome,
            }
        }
    }

    /// Sends `chunk`, the bytes of blob `hash` (of `total` bytes) from `offset`. Retried: a
    /// chunk the server already stored (the answer was lost) comes back as a mismatch at the
    /// server's offset, from which the uploader resumes.
    pub(crate) async fn upload_chunk(
        &self,
        hash: &str,
        offset: u64,
        total: u64,
        chunk: Vec<u8>,
    ) -> Result<ChunkOutcome, DeviceError> {
        let url = format!("{}/api/v1/blobs/{hash}", self.base);
        self.retrying("photo upload", || {
            self.send_chunk(&url, offset, total, chunk.clone())
        })
        .await
    }

    async fn send_chunk(
        &self,
        url: &str,
        offset: u64,
        total: u64,
        chunk: Vec<u8>,
    ) -> Result<ChunkOutcome, DeviceError> {
        let response = self
            .http
            .patch(url)
            .bearer_auth(&self.token)
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .header(UPLOAD_OFFSET_HEADER, offset.to_string())
            .header(UPLOAD_LENGTH_HEADER, total.to_string())
            .header("content-type", "application/offset+octet-stream")
            .body(chunk)
            .send()
            .await
            .map_err(|e| self.network(e))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| self.network(e))?;
        if status.is_success() {
            return self.decode(&body).map(ChunkOutcome::Stored);
        }
        let text = String::from_utf8_lossy(&body);
        if status == StatusCode::CONFLICT
            && let Ok(mismatch) = serde_json::from_str::<OffsetMismatch>(&text)
        {
            return Ok(ChunkOutcome::Mismatch(mismatch.offset));
        }
        Err(error_from(status, &text))
    }

    async fn send<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, DeviceError> {
        let response = request
            .bearer_auth(&self.token)
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .send()
            .await
            .map_err(|e| self.network(e))?;
        let status = response.status();
        // The whole body first: a body cut short is a network failure (worth retrying), while
        // a complete body that does not parse is the server's fault.
        let body = response.bytes().await.map_err(|e| self.network(e))?;
        if status.is_success() {
            return self.decode(&body);
        }
        Err(error_from(status, &String::from_utf8_lossy(&body)))
    }

    fn decode<T: DeserializeOwned>(&self, body: &[u8]) -> Result<T, DeviceError> {
        serde_json::from_slice(body).map_err(|e| {
            DeviceError::Protocol(format!(
                "the server at {} answered with an unexpected body: {e}",
                self.base
            ))
        })
    }

    fn network(&self, source: reqwest::Error) -> DeviceError {
        DeviceError::Network {
            server: self.base.clone(),
            source,
        }
    }
}

/// An error with its causes, for a log line (reqwest hides the useful part in its sources).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn error_from(status: StatusCode, text: &str) -> DeviceError {
    let body = serde_json::from_str::<ErrorBody>(text).unwrap_or_else(|_| ErrorBody {
        code: fallback_code(status).to_owned(),
        message: if text.trim().is_empty() {
            status.to_string()
        } else {
            text.chars().take(500).collect()
        },
    });
    DeviceError::Server {
        status: status.as_u16(),
        code: body.code,
        message: body.message,
    }
}

/// A code for error answers that did not come from a Bukti server (a proxy, a captive portal).
fn fallback_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_waits_grow_to_the_cap_and_stay_within_their_jitter() {
        let b = Backoff::DEFAULT;
        let ceilings = [250, 500, 1000, 2000, 4000, 8000, 8000, 8000];
        for (retry, ceiling) in (0u32..).zip(ceilings) {
            let ceiling = Duration::from_millis(ceiling);
            assert_eq!(b.delay(retry, 0.0), ceiling / 2, "retry {retry}");
            assert_eq!(b.delay(retry, 1.0), ceiling, "retry {retry}");
            let mid = b.delay(retry, 0.5);
            assert!(mid > ceiling / 2 && mid < ceiling, "retry {retry}: {mid:?}");
        }
        // Far past the cap the doubling must not overflow.
        assert_eq!(b.delay(200, 1.0), b.max);
        assert_eq!(b.delay(u32::MAX, 0.0), b.max / 2);
    }

    #[test]
    fn the_whole_retry_budget_is_bounded() {
        let b = Backoff::DEFAULT;
        let worst: Duration = (0..b.retries).map(|r| b.delay(r, 1.0)).sum();
        let best: Duration = (0..b.retries).map(|r| b.delay(r, 0.0)).sum();
        assert_eq!(worst, Duration::from_millis(15_750));
        assert_eq!(best, worst / 2);
    }

    #[test]
    fn jitter_draws_are_in_the_unit_interval_and_vary() {
        let draws: Vec<f64> = (0..1000).map(|_| jitter_draw()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        let low = draws.iter().filter(|d| **d < 0.5).count();
        assert!((350..650).contains(&low), "{low} of 1000 below 0.5");
    }

    #[test]
    fn only_network_failures_and_overload_are_retried() {
        let server = |status| DeviceError::Server {
            status,
            code: "x".into(),
            message: "x".into(),
        };
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(is_transient(&server(status)), "{status}");
        }
        for status in [400, 401, 403, 404, 409, 413, 422] {
            assert!(!is_transient(&server(status)), "{status}");
        }
        assert!(!is_transient(&DeviceError::Protocol("bad body".into())));
    }
}
