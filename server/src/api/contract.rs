//! The protocol as a contract a third-party client can read: the record document's schema and
//! the catalogue of codes it refers to. Public (no credential): neither says anything about any
//! unit, person or record, and a client needs both before it enrolls.

use axum::{Json, http::header, response::IntoResponse};
use bukti_core::{catalogue::Catalogue, record::schema};

/// Both change only with the server's build; a day of caching is harmless.
const CACHE: &str = "public, max-age=86400";

/// `GET /api/v1/schema`: the record document as JSON Schema with its Automerge types and the
/// rules about changes (generated from `bukti_core::record::schema`, the table ingest uses).
#[utoipa::path(
    get,
    path = "/schema",
    tag = "contract",
    security(()),
    responses((status = 200, description = "The record document as JSON Schema with its Automerge types", body = serde_json::Value), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn schema() -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, CACHE)],
        Json(schema::json_schema()),
    )
}

/// `GET /api/v1/catalogue`: activity kinds, service types and the LKE areas with their
/// sub-indicators (the codes a record's `kind`, `counts.services` and `lke` take).
#[utoipa::path(
    get,
    path = "/catalogue",
    tag = "contract",
    security(()),
    responses((status = 200, body = Catalogue), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn catalogue() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, CACHE)], Json(Catalogue::builtin()))
}
