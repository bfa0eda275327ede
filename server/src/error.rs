//! The API's error type: every failure a handler can return, each mapped once to a status code
//! and a JSON [`ErrorBody`] that says what to do. Internal details are logged, never returned.

use axum::{
    Json,
    extract::rejection::JsonRejection,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use bukti_core::protocol::ErrorBody;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("no such record (or it is outside your unit)")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    #[error("the request body is larger than the server accepts ({limit} bytes); send fewer records per batch", limit = bukti_core::protocol::MAX_BODY_BYTES)]
    BodyTooLarge,
    #[error("a batch holds at most {max} records; this one has {got}: split it")]
    BatchTooLarge { max: usize, got: usize },
    #[error("the request body is not valid JSON for this endpoint: {0}")]
    InvalidJson(String),
    #[error("this server speaks sync protocol {server}; the client sent {client}: update the app")]
    ProtocolVersion { server: u32, client: String },
    #[error("the record is being changed by others right now; retry in a moment")]
    Busy,
    #[error("{}", store_message(.0))]
    Store(#[from] StoreError),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::BodyTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            ApiError::BatchTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "batch_too_large"),
            ApiError::InvalidJson(_) => (StatusCode::BAD_REQUEST, "invalid_json"),
            ApiError::ProtocolVersion { .. } => (StatusCode::UPGRADE_REQUIRED, "protocol_version"),
            ApiError::Busy => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            // A filter the store cannot turn into a query is the caller's mistake.
            ApiError::Store(StoreError::Filter(_)) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ApiError::Store(e) = &self
            && !matches!(e, StoreError::Filter(_))
        {
            tracing::error!(error = %e, "store failure");
        }
        let body = ErrorBody {
            code: code.to_owned(),
            message: self.to_string(),
        };
        (status, Json(body)).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::BodyTooLarge
        } else {
            ApiError::InvalidJson(rejection.body_text())
        }
    }
}

/// Store failures are logged in full; the caller only learns what it can act on.
fn store_message(e: &StoreError) -> String {
    match e {
        StoreError::Filter(f) => f.to_string(),
        _ => {
            "the evidence store failed; try again later, and tell the administrator if it persists"
                .into()
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
