//! The OpenAPI description of the HTTP API, generated from the code: each handler carries its
//! `#[utoipa::path]` (method, path, parameters, bodies), the bodies' schemas are derived from
//! the Rust types that serialize them (bukti-core's with its feature `openapi`), and the router
//! is built from the same declarations ([`crate::routes::documented`]), so a route cannot be
//! served without being described. Served at `GET /api/v1/openapi.json`; `docs/openapi.json` is
//! a committed copy a test keeps equal (`bukti-server openapi > docs/openapi.json` refreshes it).
//!
//! The HQ console's HTML pages (`crate::web`) are not in it: they are forms for a browser, not
//! an API, and change with the console's design.

use std::sync::OnceLock;

use axum::{http::header, response::IntoResponse};
use utoipa::{
    Modify, OpenApi,
    openapi::{
        self,
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use crate::auth::SESSION_COOKIE;

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Bukti HTTP API",
        description = "The sync protocol devices speak and the JSON API HQ reads and reviews \
            evidence with; `docs/protocol.md` is the prose contract. Times are RFC 3339, except \
            inside signed messages (`time_ms` of a push signature, receipt or log head), which \
            carry the Unix milliseconds that were signed. Errors are `{code, message}`."
    ),
    modifiers(&Security),
    tags(
        (name = "sync", description = "Devices push changes and pull their unit's feed"),
        (name = "blobs", description = "Photo bytes: resumable uploads, reads, originals"),
        (name = "devices", description = "Enrollment and the devices of a unit"),
        (name = "session", description = "Web sign-in and who the caller is"),
        (name = "people", description = "People, units and API tokens"),
        (name = "records", description = "HQ's list, record views and exports"),
        (name = "review", description = "The review workflow"),
        (name = "lke", description = "The LKE worksheets and the dashboard"),
        (name = "evidence", description = "The server key and evidence log"),
        (name = "contract", description = "The record schema, the catalogue and this document"),
        (name = "audit", description = "The audit log"),
        (name = "operations", description = "Liveness and metrics"),
    )
)]
pub struct ApiDoc;

/// How callers authenticate: a bearer token (a device's from enrollment, an HQ script's from
/// `POST /api/v1/tokens`) or a web session cookie (plus `X-CSRF-Token` on changes).
#[derive(Debug)]
struct Security;

impl Modify for Security {
    fn modify(&self, api: &mut openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(SESSION_COOKIE))),
        );
    }
}

/// The whole description: [`ApiDoc`] with every documented route's path and schemas.
pub fn spec() -> openapi::OpenApi {
    let mut api = crate::routes::documented().into_openapi();
    // axum's catch-all `{*path}` is OpenAPI's plain `{path}` (a unit path such as
    // `bali/buleleng/sawan`, its slashes sent as they are).
    api.paths.paths = std::mem::take(&mut api.paths.paths)
        .into_iter()
        .map(|(path, item)| (path.replace("{*", "{"), item))
        .collect();
    api
}

/// [`spec`] as pretty JSON with a final newline: the text of `docs/openapi.json`.
pub fn json() -> String {
    let mut text = serde_json::to_string_pretty(&spec()).expect("an OpenAPI document serializes");
    text.push('\n');
    text
}

/// `GET /api/v1/openapi.json`: this document (built once; it changes only with the build).
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "contract",
    security(()),
    responses((status = 200, description = "This OpenAPI document", body = serde_json::Value))
)]
pub async fn document() -> impl IntoResponse {
    static JSON: OnceLock<String> = OnceLock::new();
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        JSON.get_or_init(json).clone(),
    )
}
