//! Liveness for load balancers and Prometheus metrics for operators.

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde_json::json;

use crate::AppState;

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    security(()),
    responses((status = 200, description = "Up, database answering", body = serde_json::Value), (status = 503, description = "Database not answering", body = serde_json::Value), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.health().await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ok"}))),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "reason": "database"})),
            )
        }
    }
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    security(()),
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [("content-type", "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
