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
use bukti_core::{
    catalogue::Catalogue,
    evidence::flags::FlagCode,
    record::{Verdict, workflow::Step},
    unit::IndonesianZone,
};
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
    auth::{cookie, same_secret},
    directory::{Permission, random_secret},
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
    csv_url: String,
    geojson_url: String,
    sorts: Vec<(&'static str, &'static str)>,
    kinds: Vec<(String, String)>,
    areas: Vec<(String, String)>,
    units: Vec<(String, String)>,
    flags: Vec<(&'static str, &'static str)>,
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
    let export = |format| {
        form.export_url(format, zone)
            .map_err(|e| PageError::Api(lang, e))
    };
    let (csv_url, geojson_url) = (export("csv")?, export("geojson")?);
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
        csv_url,
        geojson_url,
        sorts: vec![
            ("-started_at", t.sort_newest),
            ("started_at", t.sort_oldest),
            ("-captured_at", t.sort_captured),
            ("title", t.title),
            ("-updated", t.sort_updated),
        ],
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
        flags: FlagCode::ALL
            .iter()
            .map(|c| (c.as_str(), c.label(t.english)))
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
    can_curate: bool,
    can_forward: bool,
    can_verdict: bool,
    can_comment: bool,
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
    let can = |p: Permission| user.principal.can(p);
    Ok(render(&RecordPage {
        t: lang.texts(),
        lang: lang.code(),
        user: &user,
        zone: zone.abbreviation(),
        r,
        can_curate: can(Permission::Curate),
        can_forward: can(Permission::Forward),
        can_verdict: can(Permission::GiveVerdict),
        can_comment: can(Permission::Comment),
    }))
}

#[derive(Debug, Deserialize)]
pub struct ReviewForm {
    csrf: String,
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    lke: Option<String>,
    #[serde(default)]
    ready: Option<String>,
}

/// The review steps a form asks for: a verdict (its reason is the comment, required for
/// needs-revision and rejected), a comment, a curation, or a forward.
fn steps_of(kind: &str, form: &ReviewForm) -> Result<Vec<Step>, ApiError> {
    let comment = Some(form.comment.trim().to_owned()).filter(|c| !c.is_empty());
    let mut steps = Vec::new();
    match kind {
        "curate" => steps.push(Step::Curate {
            lke: form
                .lke
                .as_deref()
                .map(|l| l.split_whitespace().map(str::to_owned).collect()),
            ready: form.ready.is_some(),
        }),
        "forward" => steps.push(Step::Forward),
        _ if !form.verdict.is_empty() => {
            let verdict = Verdict::parse(&form.verdict)
                .or_else(|| (form.verdict == "verified").then_some(Verdict::Valid))
                .ok_or_else(|| {
                    ApiError::BadRequest(format!("unknown verdict {:?}", form.verdict))
                })?;
            let needs_reason = matches!(verdict, Verdict::NeedsRevision | Verdict::Rejected);
            steps.push(Step::Verdict {
                verdict,
                reason: comment.clone().filter(|_| needs_reason),
            });
        }
        _ => {}
    }
    if kind == "review" {
        steps.extend(comment.map(|text| Step::Comment {
            id: uuid::Uuid::now_v7().to_string(),
            text,
        }));
    }
    Ok(steps)
}

/// `POST /records/{id}/{review|curate|forward}` from the record page: the same review service
/// as the JSON API, then back to the record.
pub async fn review_step(
    State(state): State<AppState>,
    user: WebUser,
    Path((raw_id, kind)): Path<(String, String)>,
    Form(form): Form<ReviewForm>,
) -> Result<Response, PageError> {
    let lang = user.lang;
    user.check_csrf(&form.csrf)?;
    if !matches!(kind.as_str(), "review" | "curate" | "forward") {
        return Err(PageError::NotFound(lang));
    }
    let id = crate::api::record_id(&raw_id).map_err(|e| PageError::Api(lang, e))?;
    let steps = steps_of(&kind, &form).map_err(|e| PageError::Api(lang, e))?;
    crate::review::apply(&state.store, &user.principal, id, steps)
        .await
        .map_err(|e| PageError::Api(lang, e.into()))?;
    Ok(Redirect::to(&format!("/records/{id}")).into_response())
}
