//! The HQ console: server-rendered pages (askama templates, which escape every value) for the
//! people who review evidence in a browser. Plain forms and links work without JavaScript.
//!
//! Pages sit beside the JSON API and obey the same rules: the same session cookie and scope
//! ([`session::WebUser`]), a CSRF token in every form, and a Content-Security-Policy that lets
//! nothing but this server's own files run or load.

mod charts;
mod dashboard;
pub mod i18n;
mod packs;
mod pages;
pub mod session;
mod views;
mod worksheet;

use askama::Template;
use axum::{
    Router,
    extract::Request,
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{Html, IntoResponse, Response},
    routing::get,
};

use crate::{AppState, error::ApiError};
use i18n::{Lang, Texts};

/// What pages may load and run: only this server's own files, never inline script, no frames.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/",
            get(|| async { axum::response::Redirect::to("/records") }),
        )
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", axum::routing::post(pages::logout))
        .route("/records", get(pages::records))
        .route("/records/{id}", get(pages::record))
        .route(
            "/records/{id}/{step}",
            axum::routing::post(pages::review_step),
        )
        .route("/dashboard", get(dashboard::page))
        .route("/worksheet", get(worksheet::page))
        .route("/worksheet/answer", axum::routing::post(worksheet::answer))
        .route(
            "/worksheet/figures",
            axum::routing::post(worksheet::figures),
        )
        .route("/packs", get(packs::page).post(packs::start))
        .route("/packs/{id}", get(packs::job))
        .route("/packs/{id}/download", get(packs::download))
        .route("/assets/app.css", get(stylesheet))
        .layer(middleware::from_fn(crate::middleware::refuse_nul))
        .layer(middleware::from_fn(security_headers))
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        // Pages show personal data: never kept by shared caches or the back button's store.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../assets/app.css"),
    )
}

/// A value for a URL's query string, percent-encoded.
pub fn encode_query_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A page that could not be shown, as an HTML page in the reader's language.
#[derive(Debug)]
pub enum PageError {
    NotFound(Lang),
    Forbidden(Lang),
    Api(Lang, ApiError),
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    t: &'static Texts,
    lang: &'static str,
    heading: &'a str,
    detail: &'a str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (lang, status, detail) = match &self {
            PageError::NotFound(lang) => (*lang, StatusCode::NOT_FOUND, None),
            PageError::Forbidden(lang) => (
                *lang,
                StatusCode::FORBIDDEN,
                Some(
                    "the form was stale or came from elsewhere; reload the page and try again"
                        .to_owned(),
                ),
            ),
            PageError::Api(_, ApiError::NotFound) => (self.lang(), StatusCode::NOT_FOUND, None),
            PageError::Api(lang, e) => (*lang, e.status_and_code().0, Some(e.to_string())),
        };
        let t = lang.texts();
        let (heading, detail) = match (status, &detail) {
            (StatusCode::NOT_FOUND, _) => (t.not_found, t.not_found_detail.to_owned()),
            (_, Some(d)) => (t.error, d.clone()),
            _ => (t.error, String::new()),
        };
        let page = ErrorPage {
            t,
            lang: lang.code(),
            heading,
            detail: &detail,
        };
        (status, render(&page)).into_response()
    }
}

impl PageError {
    fn lang(&self) -> Lang {
        match self {
            PageError::NotFound(l) | PageError::Forbidden(l) | PageError::Api(l, _) => *l,
        }
    }
}

/// Renders a template; a template that fails to render is a bug, logged and shown as such.
pub fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "page failed to render").into_response()
        }
    }
}
