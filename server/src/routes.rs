//! The router: every route in one place, and the tower layers around them (request ids,
//! tracing, metrics, timeouts, body limits, compression, JSON errors, protocol version, NUL).

use std::time::Duration;

use axum::{
    Router,
    extract::{DefaultBodyLimit, Request},
    http::{HeaderName, StatusCode},
    middleware,
    routing::{get, post},
};
use bukti_core::protocol::{MAX_BODY_BYTES, MAX_CHUNK_BYTES};
use tower::ServiceBuilder;
use tower_http::{
    compression::CompressionLayer,
    decompression::RequestDecompressionLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use crate::{AppState, api, error::ApiError, metrics};

/// Longest a request may take before the server gives up on it (a stuck client must not hold a
/// connection and a database transaction forever).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let api = Router::new()
        .route("/enroll", post(api::enroll::redeem))
        .route("/enrollments", post(api::enroll::issue))
        .route("/devices", get(api::devices::list))
        .route("/devices/{id}/revoke", post(api::devices::revoke))
        .route(
            "/session",
            post(api::session::sign_in).delete(api::session::sign_out),
        )
        .route("/me", get(api::session::me))
        .route(
            "/people",
            get(api::people::list_people).post(api::people::add_person),
        )
        .route("/tokens", post(api::people::create_token))
        .route(
            "/units",
            get(api::people::list_units).post(api::people::add_unit),
        )
        .route(
            "/units/{*path}",
            axum::routing::patch(api::people::change_unit),
        )
        .route("/sync/push", post(api::sync::push))
        .route("/sync/pull", get(api::sync::pull))
        .route("/records", get(api::records::list))
        .route("/exports/records.csv", get(api::export::csv))
        .route("/exports/records.geojson", get(api::export::geojson))
        .route("/records/{id}", get(api::records::get))
        .route("/records/{id}/changes", post(api::sync::record_changes))
        .route("/records/{id}/review", post(api::review::review))
        .route("/records/{id}/curate", post(api::review::curate))
        .route("/records/{id}/forward", post(api::review::forward))
        .route("/audit", get(api::audit::list))
        .route("/dashboard", get(api::dashboard::get))
        .route("/lke", get(api::lke::edition))
        .route("/schema", get(api::contract::schema))
        .route("/catalogue", get(api::contract::catalogue))
        .route("/evidence/key", get(api::evidence::key))
        .route("/evidence/log/{seq}", get(api::evidence::log_entry))
        .route("/worksheets/{year}", get(api::lke::worksheet))
        .route(
            "/worksheets/{year}/answers/{question}",
            axum::routing::put(api::lke::answer),
        )
        .route(
            "/worksheets/{year}/figures",
            axum::routing::put(api::lke::figures),
        )
        .route("/worksheets/{year}/suggestions", get(api::lke::suggestions))
        .route("/blobs/missing", post(api::blobs::missing))
        .route("/blobs/requested", get(api::blobs::requested))
        .route(
            "/blobs/{hash}",
            get(api::blobs::get)
                .head(api::blobs::head)
                .patch(api::blobs::patch)
                // A chunk is streamed to storage, never buffered whole; this caps what any
                // body-reading layer on this route may take.
                .layer(DefaultBodyLimit::max(MAX_CHUNK_BYTES)),
        )
        .route(
            "/records/{id}/photos/{hash}/original",
            post(api::blobs::request_original),
        )
        .layer(middleware::from_fn(crate::middleware::refuse_nul))
        .layer(middleware::from_fn(crate::middleware::protocol_version));
    Router::new()
        .nest("/api/v1", api)
        .merge(crate::web::router())
        .route("/healthz", get(api::health::healthz))
        .route("/metrics", get(api::health::metrics))
        .fallback(|| async { ApiError::NotFound })
        .route_layer(middleware::from_fn(metrics::track))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), uri = %req.uri().path(), request_id = %id)
                }))
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(middleware::from_fn(crate::middleware::json_errors))
                .layer(middleware::from_fn(crate::middleware::limit_head))
                .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
                .layer(CompressionLayer::new())
                .layer(RequestDecompressionLayer::new())
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .with_state(state)
}
