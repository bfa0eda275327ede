//! The router: every route in one place, and the tower layers around them (request ids, tracing,
//! metrics, timeouts, body limits, compression, JSON errors, protocol version, NUL). The JSON API
//! is registered from its handlers' OpenAPI declarations ([`documented`]).

use std::time::Duration;

use axum::{
    Router,
    extract::{DefaultBodyLimit, Request},
    http::{HeaderName, StatusCode},
    middleware,
};
use bukti_core::protocol::{MAX_BODY_BYTES, MAX_CHUNK_BYTES};
use tower::ServiceBuilder;
use tower_http::{
    compression::{
        CompressionLayer,
        predicate::{DefaultPredicate, NotForContentType, Predicate},
    },
    decompression::RequestDecompressionLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, router::UtoipaMethodRouterExt, routes};

use crate::{AppState, api, error::ApiError, metrics};

/// Longest a request may take before the server gives up on it (a stuck client must not hold a
/// connection and a database transaction forever).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Every route of the JSON API (under `/api/v1`) and the operations endpoints, each from its
/// handler's `#[utoipa::path]`: the router serves exactly what [`crate::openapi`] describes.
/// Register a route only through `routes!` here (the `openapi` tests check that nothing else
/// adds one).
pub fn documented() -> OpenApiRouter<AppState> {
    use api::{
        audit, blobs, contract, dashboard, devices, enroll, evidence, export, health, lke, packs,
        people, records, review, session, sync,
    };
    let v1 = OpenApiRouter::new()
        .routes(routes!(enroll::redeem))
        .routes(routes!(enroll::issue))
        .routes(routes!(devices::list))
        .routes(routes!(devices::revoke))
        .routes(routes!(session::sign_in, session::sign_out))
        .routes(routes!(session::me))
        .routes(routes!(people::list_people, people::add_person))
        .routes(routes!(people::create_token))
        .routes(routes!(people::list_units, people::add_unit))
        .routes(routes!(people::change_unit))
        .routes(routes!(sync::push))
        .routes(routes!(sync::pull))
        .routes(routes!(records::list))
        .routes(routes!(export::csv))
        .routes(routes!(export::geojson))
        .routes(routes!(records::get))
        .routes(routes!(sync::record_changes))
        .routes(routes!(review::review))
        .routes(routes!(review::curate))
        .routes(routes!(review::forward))
        .routes(routes!(audit::list))
        .routes(routes!(dashboard::get))
        .routes(routes!(lke::edition))
        .routes(routes!(contract::schema))
        .routes(routes!(contract::catalogue))
        .routes(routes!(crate::openapi::document))
        .routes(routes!(evidence::key))
        .routes(routes!(evidence::log_entry))
        .routes(routes!(packs::start, packs::list))
        .routes(routes!(packs::status))
        .routes(routes!(packs::download))
        .routes(routes!(lke::worksheet))
        .routes(routes!(lke::answer))
        .routes(routes!(lke::figures))
        .routes(routes!(lke::suggestions))
        .routes(routes!(blobs::missing))
        .routes(routes!(blobs::requested))
        .routes(
            // A chunk is streamed to storage, never buffered whole; this caps what any
            // body-reading layer on this route may take.
            routes!(blobs::get, blobs::head, blobs::patch)
                .layer(DefaultBodyLimit::max(MAX_CHUNK_BYTES)),
        )
        .routes(routes!(blobs::request_original))
        .layer(middleware::from_fn(crate::middleware::refuse_nul))
        .layer(middleware::from_fn(crate::middleware::protocol_version));
    OpenApiRouter::with_openapi(crate::openapi::ApiDoc::openapi())
        .nest("/api/v1", v1)
        .routes(routes!(health::healthz))
        .routes(routes!(health::metrics))
}

pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let (documented, _) = documented().split_for_parts();
    Router::new()
        .merge(documented)
        .merge(crate::web::router())
        .fallback(|| async { ApiError::NotFound })
        .route_layer(middleware::from_fn(metrics::track))
        // Outside the v1 layers, which read JSON bodies whole (`refuse_nul`).
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::middleware::push_budget,
        ))
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
                // Evidence packs are zips of deflated text and photos already: gzip again would
                // spend the server's CPU for nothing and drop the download's length.
                .layer(CompressionLayer::new().compress_when(
                    DefaultPredicate::new().and(NotForContentType::const_new("application/zip")),
                ))
                .layer(RequestDecompressionLayer::new())
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .with_state(state)
}
