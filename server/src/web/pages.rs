//! The console's pages: sign-in, the record list with its filters, and one record. Handlers
//! only gather what a template shows; every read goes through the same store calls and scope
//! checks as the JSON API.

use std::net::SocketAddr;

use askama::Template;
use axum::{
    Form, Json,
    extract::{ConnectInfo, FromRequestParts, Path, Query, State},
    http::{HeaderMap, StatusCode, header::SET_COOKIE, request::Parts},
    response::{AppendHeaders, IntoResponse, Redirect, Response},
};
use bukti_core::{catalogue::Catalogue, unit::IndonesianZone};
use serde::Deserialize;

use super::{
    PageError,
    i18n::{Lang, Texts},
    render,
    session::{WebUser, lang_of},
    views::{FilterForm, RecordDetail, RecordRow},
};
use crate::{
    AppState,
    api::session::{close_session, open_session},
    auth::{cookie, random_secret, same_secret},
    error::ApiError,
    store::Page,
};

/// The double-submit cookie that protects the sign-in form (there is no session yet).
const LOGIN_COOKIE: &str = "__Host-bukti_login";

/// The reader's language on pages anyone may open.
#[derive(Debug, Clone, Copy)]
pub struct PageLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for PageLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PageLang(lang_of(parts)))
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    t: &'static Texts,
    lang: &'static str,
    csrf: &'a str,
    next: &'a str,
    error: Option<String>,
    nrp: &'a str,
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

/// Only a path on this server: never `//elsewhere` or `https://…`.
fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        "/records"
    }
}

fn login_page(
    lang: Lang,
    next: &str,
    nrp: &str,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let csrf = random_secret("");
    let page = LoginPage {
        t: lang.texts(),
        lang: lang.code(),
        csrf: &csrf,
        next: safe_next(next),
        error,
        nrp,
    };
    let cookie =
        format!("{LOGIN_COOKIE}={csrf}; Path=/; Max-Age=3600; Secure; HttpOnly; SameSite=Strict");
    (status, AppendHeaders([(SET_COOKIE, cookie)]), render(&page)).into_response()
}

pub async fn login_form(PageLang(lang): PageLang, Query(q): Query<NextQuery>) -> Response {
    login_page(lang, &q.next, "", None, StatusCode::OK)
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    nrp: String,
    password: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    csrf: String,
}

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    PageLang(lang): PageLang,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let ours = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| cookie(h, LOGIN_COOKIE))
        .unwrap_or_default();
    if ours.is_empty() || !same_secret(&form.csrf, ours) {
        return PageError::Forbidden(lang).into_response();
    }
    match open_session(&state, addr, form.nrp.trim(), &form.password).await {
        Ok(opened) => {
            let clear =
                format!("{LOGIN_COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict");
            (
                AppendHeaders([(SET_COOKIE, opened.cookie), (SET_COOKIE, clear)]),
                Redirect::to(safe_next(&form.next)),
            )
                .into_response()
        }
        Err(ApiError::Unauthorized(_)) => {
            let t = lang.texts();
            login_page(
                lang,
                &form.next,
                &form.nrp,
                Some(t.wrong_sign_in.to_owned()),
                StatusCode::UNAUTHORIZED,
            )
        }
        Err(e @ ApiError::TooManyRequests { .. }) => login_page(
            lang,
            &form.next,
            &form.nrp,
            Some(e.to_string()),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(e) => PageError::Api(lang, e).into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    user: WebUser,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&form.csrf)?;
    let expired = close_session(&state, &headers)
        .await
        .map_err(|e| PageError::Api(user.lang, e))?;
    Ok((
        AppendHeaders([(SET_COOKIE, expired)]),
        Redirect::to("/login"),
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "records.html")]
struct RecordsPage<'a> {
    t: &'static Texts,
    lang: &'static str,
    user: &'a WebUser,
    zone: &'static str,
    filter: &'a FilterForm,
    rows: Vec<RecordRow>,
    next_page: Option<String>,
    kinds: Vec<(String, String)>,
    areas: Vec<(String, String)>,
    units: Vec<(String, String)>,
}

pub async fn records(
    State(state): State<AppState>,
    user: WebUser,
    Query(form): Query<FilterForm>,
) -> Result<Response, PageError> {
    let lang = user.lang;
    let zone: IndonesianZone = user.principal.unit.time_zone();
    let filter = form
        .to_list_filter(zone)
        .map_err(|e| PageError::Api(lang, e))?;
    let page: Page = state
        .store
        .list(&user.principal.unit, &filter)
        .await
        .map_err(|e| PageError::Api(lang, e.into()))?;
    let units = state
        .store
        .units(&user.principal.unit)
        .await
        .map_err(|e| PageError::Api(lang, e.into()))?;
    let catalogue = Catalogue::builtin();
    let next_page = page.next_cursor.as_deref().map(|c| form.with_cursor(c));
    let rows = page
        .records
        .iter()
        .map(|s| RecordRow::of(s, zone, lang.texts()))
        .collect();
    let t = lang.texts();
    let html = RecordsPage {
        t,
        lang: lang.code(),
        user: &user,
        zone: zone.abbreviation(),
        filter: &form,
        rows,
        next_page,
        kinds: catalogue
            .activity_kinds
            .iter()
            .map(|k| (k.code.clone(), k.name.clone()))
            .collect(),
        areas: catalogue
            .lke_areas
            .iter()
            .map(|a| (a.code.clone(), format!("{} — {}", a.code, a.name)))
            .collect(),
        units: units
            .into_iter()
            .map(|u| (u.path.to_string(), u.name))
            .collect(),
    };
    Ok(render(&html))
}

#[derive(Template)]
#[template(path = "record.html")]
struct RecordPage<'a> {
    t: &'static Texts,
    lang: &'static str,
    user: &'a WebUser,
    zone: &'static str,
    r: RecordDetail,
}

pub async fn record(
    State(state): State<AppState>,
    user: WebUser,
    Path(raw_id): Path<String>,
) -> Result<Response, PageError> {
    let lang = user.lang;
    let Json(view) = crate::api::records::get(State(state), user.principal.clone(), Path(raw_id))
        .await
        .map_err(|e| PageError::Api(lang, e))?;
    let zone = user.principal.unit.time_zone();
    let r = RecordDetail::of(&view, zone, lang.texts());
    Ok(render(&RecordPage {
        t: lang.texts(),
        lang: lang.code(),
        user: &user,
        zone: zone.abbreviation(),
        r,
    }))
}
