//! The API's error type: every failure a handler can return, each mapped once to a status code
//! and a JSON [`ErrorBody`] that says what to do. Internal details are logged, never returned.
//!
//! The layers below HTTP return their own errors ([`ServiceError`], [`DirectoryError`],
//! [`LkeServiceError`], [`StoreError`], [`BlobError`], the directory's [`NotAllowed`] and
//! [`Inactive`]); the `From` impls here are the one place they become HTTP answers.

use axum::{
    Json,
    extract::rejection::JsonRejection,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use bukti_core::{
    protocol::{ErrorBody, UPLOAD_OFFSET_HEADER},
    record::workflow::Refusal,
};

use crate::{
    blob::BlobError,
    directory::{DirectoryError, Inactive, NotAllowed},
    evidence::PushSignatureError,
    lke::LkeServiceError,
    pack_jobs::PackJobError,
    service::ServiceError,
    store::StoreError,
};

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
    #[error("a photo may be at most {limit} bytes; this one is larger")]
    BlobTooLarge { limit: u64 },
    #[error("{}", blob_message(.0))]
    Blob(#[from] BlobError),
    #[error(
        "this device's credential was revoked; what it sent before is kept. Ask your Kapolsek or administrator for a new enrollment code and run `bukti enroll` again"
    )]
    Revoked,
    #[error("too many attempts; wait {retry_after_secs} seconds and try again")]
    TooManyRequests { retry_after_secs: u64 },
    #[error(transparent)]
    Directory(DirectoryError),
    /// A review step the record's state or the request does not allow.
    #[error(transparent)]
    Workflow(#[from] Refusal),
    #[error(transparent)]
    Lke(LkeServiceError),
    #[error(transparent)]
    PushSignature(#[from] PushSignatureError),
    #[error(transparent)]
    PackJob(PackJobError),
}

impl From<PackJobError> for ApiError {
    fn from(e: PackJobError) -> Self {
        match e {
            PackJobError::Store(s) => ApiError::Store(s),
            other => ApiError::PackJob(other),
        }
    }
}

impl From<LkeServiceError> for ApiError {
    fn from(e: LkeServiceError) -> Self {
        match e {
            LkeServiceError::Store(s) => ApiError::Store(s),
            other => ApiError::Lke(other),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound => ApiError::NotFound,
            ServiceError::NotAllowed(why) => ApiError::Forbidden(why),
            ServiceError::Invalid(why) => ApiError::BadRequest(why),
            ServiceError::Busy => ApiError::Busy,
            ServiceError::Workflow(refusal) => ApiError::Workflow(refusal),
            ServiceError::BlobTooLarge { limit } => ApiError::BlobTooLarge { limit },
            ServiceError::ChunkTooLarge => ApiError::BodyTooLarge,
            ServiceError::Blob(e) => ApiError::Blob(e),
            ServiceError::Store(e) => ApiError::Store(e),
            ServiceError::PushSignature(e) => ApiError::PushSignature(e),
        }
    }
}

impl From<NotAllowed> for ApiError {
    fn from(e: NotAllowed) -> Self {
        ApiError::Forbidden(e.0)
    }
}

impl From<Inactive> for ApiError {
    fn from(e: Inactive) -> Self {
        match e {
            Inactive::Revoked => ApiError::Revoked,
            other => ApiError::Unauthorized(other.to_string()),
        }
    }
}

impl From<DirectoryError> for ApiError {
    fn from(e: DirectoryError) -> Self {
        match e {
            // Store failures keep their own logging and message.
            DirectoryError::Store(s) => ApiError::Store(s),
            other => ApiError::Directory(other),
        }
    }
}

impl ApiError {
    /// The status and machine-readable code this error answers with.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
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
            ApiError::PushSignature(e) => (
                StatusCode::BAD_REQUEST,
                match e {
                    PushSignatureError::Unsigned => "push_unsigned",
                    PushSignatureError::NoDeviceKey => "push_no_device_key",
                    PushSignatureError::OtherServer { .. } => "push_other_server",
                    PushSignatureError::Signature(_) => "push_bad_signature",
                },
            ),
            // A filter the store cannot turn into a query is the caller's mistake.
            ApiError::Store(StoreError::Filter(_)) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            ApiError::BlobTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "blob_too_large"),
            ApiError::Blob(e) => match e {
                BlobError::BadHash => (StatusCode::BAD_REQUEST, "bad_hash"),
                BlobError::OffsetMismatch { .. } => (StatusCode::CONFLICT, "offset_mismatch"),
                BlobError::HashMismatch => (StatusCode::UNPROCESSABLE_ENTITY, "hash_mismatch"),
                BlobError::ChunkTooLong { .. } => (StatusCode::BAD_REQUEST, "chunk_too_long"),
                BlobError::Interrupted { .. } => (StatusCode::BAD_REQUEST, "interrupted"),
                BlobError::Full(_) => (StatusCode::INSUFFICIENT_STORAGE, "storage_full"),
                BlobError::Io(_) | BlobError::Object(_) => {
                    (StatusCode::INTERNAL_SERVER_ERROR, "blob_storage")
                }
            },
            ApiError::Revoked => (StatusCode::UNAUTHORIZED, "revoked"),
            ApiError::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::Lke(e) => {
                use LkeServiceError as L;
                match e {
                    L::NotAllowed(_) => (StatusCode::FORBIDDEN, "forbidden"),
                    L::OutsideScope | L::UnknownEvidence(_) => (StatusCode::NOT_FOUND, "not_found"),
                    L::OlderEdition(_) => (StatusCode::CONFLICT, "exists"),
                    L::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
                    _ => (StatusCode::BAD_REQUEST, "bad_request"),
                }
            }
            ApiError::Directory(e) => match e {
                DirectoryError::UnitExists(_) | DirectoryError::PersonExists(_) => {
                    (StatusCode::CONFLICT, "exists")
                }
                DirectoryError::NoSuchPerson(_) => (StatusCode::NOT_FOUND, "not_found"),
                DirectoryError::OutsideScope(_) => (StatusCode::FORBIDDEN, "forbidden"),
                DirectoryError::Code(_) => (StatusCode::FORBIDDEN, "enrollment_refused"),
                DirectoryError::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
                _ => (StatusCode::BAD_REQUEST, "bad_request"),
            },
            ApiError::PackJob(e) => match e {
                PackJobError::NotAllowed(_) | PackJobError::OutsideScope { .. } => {
                    (StatusCode::FORBIDDEN, "forbidden")
                }
                PackJobError::Invalid(_) => (StatusCode::BAD_REQUEST, "bad_request"),
                // Not a client's excess of requests but the server's limit of work at once.
                PackJobError::TooMany { .. } => {
                    (StatusCode::SERVICE_UNAVAILABLE, "too_many_exports")
                }
                PackJobError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
                PackJobError::NotReady => (StatusCode::CONFLICT, "not_ready"),
                PackJobError::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            },
            ApiError::Workflow(Refusal::Invalid(_)) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Workflow(Refusal::WrongState { .. }) => (StatusCode::CONFLICT, "wrong_state"),
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
        if let ApiError::Blob(e @ (BlobError::Io(_) | BlobError::Object(_) | BlobError::Full(_))) =
            &self
        {
            tracing::error!(error = %e, "blob storage failure");
        }
        let body = ErrorBody {
            code: code.to_owned(),
            message: self.to_string(),
        };
        if let ApiError::Blob(BlobError::OffsetMismatch { server, .. }) = self {
            // The device resumes from the server's offset: say it in the body and the header.
            let mut json = serde_json::to_value(&body).unwrap_or_default();
            json["offset"] = server.into();
            let header = (UPLOAD_OFFSET_HEADER, server.to_string());
            return (status, [header], Json(json)).into_response();
        }
        if let ApiError::TooManyRequests { retry_after_secs } = self {
            let header = (
                axum::http::header::RETRY_AFTER,
                retry_after_secs.to_string(),
            );
            return (status, [header], Json(body)).into_response();
        }
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

/// Storage failures are logged in full; the caller learns what it can act on.
fn blob_message(e: &BlobError) -> String {
    match e {
        BlobError::Full(_) => {
            "the server's photo storage is full; try again later and tell the administrator".into()
        }
        BlobError::Io(_) | BlobError::Object(_) => {
            "the server could not store or read the photo; try again later, and tell the administrator if it persists".into()
        }
        other => other.to_string(),
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

/// Code and message for an error answer that something other than a handler produced (the
/// router's 405, a layer's 408 or 415, hyper's own 400, 414 and 431), so that it too carries
/// the JSON body the protocol promises.
pub fn bare_status_body(status: StatusCode) -> (&'static str, String) {
    let (code, message) = match status {
        StatusCode::BAD_REQUEST => (
            "bad_request",
            "the request is not valid HTTP; check the request line and headers",
        ),
        StatusCode::NOT_FOUND => ("not_found", "no such resource"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this endpoint does not take that method; the allow header lists those it takes",
        ),
        StatusCode::REQUEST_TIMEOUT => (
            "timeout",
            "the request took too long and was abandoned; retry, with a smaller batch if it is large",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "body_too_large",
            "the request body is larger than the server accepts; send less at a time",
        ),
        StatusCode::URI_TOO_LONG => (
            "uri_too_long",
            "the URL is too long; send fewer or shorter query parameters",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "the body's type or encoding is not accepted: send JSON as application/json, compressed with gzip or not at all",
        ),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => (
            "headers_too_large",
            "the request headers are too large or too many; send fewer and shorter headers",
        ),
        StatusCode::SERVICE_UNAVAILABLE => ("busy", "the server is busy; retry in a moment"),
        s if s.is_server_error() => (
            "internal",
            "the server failed; try again later, and tell the administrator if it persists",
        ),
        _ => ("error", "the request was refused"),
    };
    (code, message.to_owned())
}
