//! The HTTP side of sync: the reqwest transport of the sync machine (`crate::sync`), and the
//! enrollment call. It knows the wire format (`crate::protocol`) and nothing of the store.
//!
//! It sends each request once, within the time the machine gives it: retries, backoff and
//! timeouts are the machine's decisions. Field networks drop, stall and cut connections, so the
//! client also has a connect timeout and a read timeout (silence on the connection), the latter
//! taken from the machine's configuration.

use std::{sync::Arc, time::Duration};

use reqwest::{RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;

use super::{DeviceError, evidence::Evidence};
use crate::{
    protocol::{
        EnrollRequest, EnrollResponse, ErrorBody, LogEntryHash, OffsetMismatch, PROTOCOL_HEADER,
        PROTOCOL_VERSION, PullResponse, PushResponse, ServerKeyResponse, UPLOAD_LENGTH_HEADER,
        UPLOAD_OFFSET_HEADER,
    },
    sync::{Answer, Chunk, ChunkOutcome, Failure, Request, Transport},
};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub(crate) struct SyncClient {
    http: reqwest::Client,
    base: String,
    token: String,
    /// Signs pushes and checks what comes back (`None` before enrollment).
    evidence: Option<Arc<Evidence>>,
}

impl std::fmt::Debug for SyncClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl SyncClient {
    /// A client for the server at `server_url` with the device's `token` (empty before
    /// enrollment); a connection silent for `stall` is given up.
    pub(crate) fn new(server_url: &str, token: &str, stall: Duration) -> Result<Self, DeviceError> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(stall)
            // Servers close idle connections after 10 s (their header timeout); dropping ours
            // sooner means a request never races the server's close on a reused connection.
            .pool_idle_timeout(std::time::Duration::from_secs(5))
            .user_agent(concat!("bukti/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| DeviceError::Network {
                server: server_url.to_owned(),
                source: e.into(),
            })?;
        Ok(Self {
            http,
            base: server_url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            evidence: None,
        })
    }

    /// This client, signing its pushes and checking receipts and log heads with `evidence`.
    pub(crate) fn with_evidence(mut self, evidence: Arc<Evidence>) -> Self {
        self.evidence = Some(evidence);
        self
    }

    /// The key the server signs receipts and log heads with.
    pub(crate) async fn server_key(&self, within: Duration) -> Result<String, DeviceError> {
        let answer: ServerKeyResponse = self
            .call(self.http.get(self.url("evidence/key")).timeout(within))
            .await?;
        Ok(answer.server_key)
    }

    /// The hash the server now gives for evidence-log entry `seq`.
    pub(crate) async fn log_entry(
        &self,
        seq: i64,
        within: Duration,
    ) -> Result<String, DeviceError> {
        let answer: LogEntryHash = self
            .call(
                self.http
                    .get(self.url(&format!("evidence/log/{seq}")))
                    .timeout(within),
            )
            .await?;
        Ok(answer.hash)
    }

    /// Not retried: a code is spent by the first request that reaches the server, so a lost
    /// answer means asking for a new code rather than silently retrying into "already used".
    pub(crate) async fn enroll(
        &self,
        request: &EnrollRequest,
        within: Duration,
    ) -> Result<EnrollResponse, DeviceError> {
        let url = format!("{}/api/v1/enroll", self.base);
        self.call(self.http.post(url).json(request).timeout(within))
            .await
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1/{path}", self.base)
    }

    /// Sends one chunk of a photo file. A chunk the server already stored (an earlier answer
    /// was lost) comes back as a mismatch at the server's offset, from which the machine resumes.
    async fn send_chunk(
        &self,
        chunk: &Chunk,
        within: Duration,
    ) -> Result<ChunkOutcome, DeviceError> {
        let response = self
            .http
            .patch(self.url(&format!("blobs/{}", chunk.hash)))
            .timeout(within)
            .bearer_auth(&self.token)
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .header(UPLOAD_OFFSET_HEADER, chunk.offset.to_string())
            .header(UPLOAD_LENGTH_HEADER, chunk.total.to_string())
            .header("content-type", "application/offset+octet-stream")
            // The machine keeps the request for a retry; the body is a copy of one chunk.
            .body(chunk.bytes.clone())
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

    async fn call<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, DeviceError> {
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
            source: source.into(),
        }
    }
}

impl Transport for SyncClient {
    type Error = DeviceError;

    /// The read timeout (`stall`) was set when the client was built, from the same
    /// configuration.
    async fn send(
        &self,
        request: &Request,
        within: Duration,
        _stall: Duration,
    ) -> Result<Answer, DeviceError> {
        let answer = match request {
            Request::Push(push) => {
                // Signed as it goes out, at the device's clock: a retry is signed afresh.
                let signed = self
                    .evidence
                    .as_ref()
                    .map(|e| e.sign(push, jiff::Timestamp::now().as_millisecond()));
                let http = self.http.post(self.url("sync/push"));
                let http = http.json(signed.as_ref().unwrap_or(push));
                let answer: PushResponse = self.call(http.timeout(within)).await?;
                if let Some(e) = &self.evidence {
                    e.pushed(&answer);
                }
                Answer::Push(answer)
            }
            Request::Pull { since, limit } => {
                let query = [("since", since.to_string()), ("limit", limit.to_string())];
                let http = self.http.get(self.url("sync/pull")).query(&query);
                let page: PullResponse = self.call(http.timeout(within)).await?;
                if let Some(e) = &self.evidence {
                    e.pulled(&page);
                }
                Answer::Pull(page)
            }
            Request::RequestedBlobs => {
                let http = self.http.get(self.url("blobs/requested"));
                Answer::RequestedBlobs(self.call(http.timeout(within)).await?)
            }
            Request::MissingBlobs(missing) => {
                let http = self.http.post(self.url("blobs/missing")).json(missing);
                Answer::MissingBlobs(self.call(http.timeout(within)).await?)
            }
            Request::UploadChunk(chunk) => Answer::Chunk(self.send_chunk(chunk, within).await?),
        };
        Ok(answer)
    }

    fn classify(error: &DeviceError) -> Failure {
        match error {
            DeviceError::Network { server, source } => {
                tracing::debug!(%server, error = %error_chain(source.as_ref()), "no answer");
                Failure::Network
            }
            DeviceError::Server {
                status,
                code,
                message,
            } => Failure::Server {
                status: *status,
                code: code.clone(),
                message: message.clone(),
            },
            other => Failure::Protocol(other.to_string()),
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
