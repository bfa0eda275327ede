//! The HTTP side of sync: a thin client for the endpoints a device calls (register, push, pull,
//! and the photo blob calls). It knows the
//! wire format (`crate::protocol`) and nothing of the store.

use std::time::Duration;

use reqwest::{RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;

use super::DeviceError;
use crate::protocol::{
    ErrorBody, MissingBlobsRequest, MissingBlobsResponse, OffsetMismatch, PROTOCOL_HEADER,
    PROTOCOL_VERSION, PullResponse, PushRequest, PushResponse, RegisterRequest, RegisterResponse,
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

#[derive(Debug, Clone)]
pub(crate) struct SyncClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl SyncClient {
    pub(crate) fn new(server_url: &str, token: &str) -> Result<Self, DeviceError> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
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
        })
    }

    pub(crate) async fn register(
        &self,
        request: &RegisterRequest,
    ) -> Result<RegisterResponse, DeviceError> {
        let url = format!("{}/api/v1/devices", self.base);
        self.send(self.http.post(url).json(request)).await
    }

    pub(crate) async fn push(&self, request: &PushRequest) -> Result<PushResponse, DeviceError> {
        let url = format!("{}/api/v1/sync/push", self.base);
        self.send(self.http.post(url).json(request)).await
    }

    pub(crate) async fn pull(&self, since: i64, limit: u32) -> Result<PullResponse, DeviceError> {
        let url = format!("{}/api/v1/sync/pull", self.base);
        let request = self
            .http
            .get(url)
            .query(&[("since", since.to_string()), ("limit", limit.to_string())]);
        self.send(request).await
    }

    pub(crate) async fn missing_blobs(
        &self,
        hashes: Vec<String>,
    ) -> Result<MissingBlobsResponse, DeviceError> {
        let url = format!("{}/api/v1/blobs/missing", self.base);
        let request = MissingBlobsRequest { hashes };
        self.send(self.http.post(url).json(&request)).await
    }

    pub(crate) async fn requested_blobs(&self) -> Result<RequestedBlobs, DeviceError> {
        let url = format!("{}/api/v1/blobs/requested", self.base);
        self.send(self.http.get(url)).await
    }

    /// Sends `chunk`, the bytes of blob `hash` (of `total` bytes) from `offset`.
    pub(crate) async fn upload_chunk(
        &self,
        hash: &str,
        offset: u64,
        total: u64,
        chunk: Vec<u8>,
    ) -> Result<ChunkOutcome, DeviceError> {
        let url = format!("{}/api/v1/blobs/{hash}", self.base);
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
        if status.is_success() {
            return Ok(ChunkOutcome::Stored(
                response.json().await.map_err(|e| self.network(e))?,
            ));
        }
        let text = response.text().await.unwrap_or_default();
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
        if response.status().is_success() {
            return response.json().await.map_err(|e| self.network(e));
        }
        Err(self.server_error(response).await)
    }

    fn network(&self, source: reqwest::Error) -> DeviceError {
        if source.is_decode() {
            return DeviceError::Protocol(format!(
                "the server at {} answered with an unexpected body: {source}",
                self.base
            ));
        }
        DeviceError::Network {
            server: self.base.clone(),
            source,
        }
    }

    async fn server_error(&self, response: Response) -> DeviceError {
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        error_from(status, &text)
    }
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
