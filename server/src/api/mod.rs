//! HTTP handlers, one module per resource. Handlers stay thin: extract, check, call the store or
//! the ingest pipeline, answer.

pub mod audit;
pub mod blobs;
pub mod contract;
pub mod dashboard;
pub mod devices;
pub mod enroll;
pub mod evidence;
pub mod export;
pub mod health;
pub mod lke;
pub mod packs;
pub mod people;
pub mod records;
pub mod review;
pub mod session;
pub mod sync;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use bukti_core::RecordId;

use crate::error::ApiError;

/// A JSON body whose rejections become our JSON errors.
pub type Body<T> = Result<axum::Json<T>, JsonRejection>;

/// A query string whose rejections become our JSON errors.
pub type QueryParams<T> = Result<axum::extract::Query<T>, QueryRejection>;

pub fn query<T>(q: QueryParams<T>) -> Result<T, ApiError> {
    q.map(|axum::extract::Query(v)| v)
        .map_err(|e| ApiError::BadRequest(e.body_text()))
}

/// A record id from the URL; anything that is not one is simply not found.
pub fn record_id(raw: &str) -> Result<RecordId, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound)
}
