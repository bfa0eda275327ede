//! The export page: `GET /packs` shows the form (a unit of the reader's scope, a period in the
//! unit's days, LKE areas) and the reader's packs; `POST /packs` starts one and goes to its
//! page, `GET /packs/{id}`, which reloads itself with a `<meta http-equiv="refresh">` while the
//! pack is written (no script needed; the CSP allows none inline) and offers the download,
//! `GET /packs/{id}/download`, when it is complete. The work is [`crate::pack_jobs`]'s, as for
//! the JSON API.

use askama::Template;
use axum::{
    Form,
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
};
use bukti_core::{catalogue::Catalogue, unit::IndonesianZone};

use super::{PageError, i18n::Texts, render, session::WebUser};
use crate::{
    AppState,
    directory::Permission,
    error::ApiError,
    pack_jobs::{JobState, PackJobView, PackRequest},
};

/// Seconds between reloads of a running pack's page.
const REFRESH_SECS: u32 = 2;

#[derive(Template)]
#[template(path = "packs.html")]
struct PacksPage<'a> {
    t: &'static Texts,
    lang: &'static str,
    user: &'a WebUser,
    zone: &'static str,
    units: Vec<(String, String)>,
    areas: Vec<(String, String)>,
    jobs: Vec<PackJobView>,
    keep_hours: u64,
}

#[derive(Template)]
#[template(path = "pack.html")]
struct PackPage<'a> {
    t: &'static Texts,
    lang: &'static str,
    user: &'a WebUser,
    j: PackJobView,
    refresh: Option<u32>,
    server_key: &'a str,
}

/// The job with its times in the reader's zone, as every console page shows times (the JSON
/// API keeps RFC 3339).
fn shown(mut j: PackJobView, zone: IndonesianZone) -> PackJobView {
    j.started_at = local(&j.started_at, zone);
    j.finished_at = j.finished_at.map(|s| local(&s, zone));
    j.expires_at = j.expires_at.map(|s| local(&s, zone));
    j
}

fn local(rfc3339: &str, zone: IndonesianZone) -> String {
    rfc3339
        .parse::<jiff::Timestamp>()
        .map_or_else(|_| rfc3339.to_owned(), |t| zone.format(t))
}

fn api(user: &WebUser) -> impl Fn(ApiError) -> PageError + '_ {
    move |e| PageError::Api(user.lang, e)
}

/// `GET /packs`
pub async fn page(State(state): State<AppState>, user: WebUser) -> Result<Response, PageError> {
    user.principal
        .require(Permission::Export, "exporting evidence packs")
        .map_err(|e| api(&user)(e.into()))?;
    let units = state
        .store
        .units(&user.principal.unit)
        .await
        .map_err(|e| api(&user)(e.into()))?
        .into_iter()
        .map(|u| (u.path.to_string(), u.name))
        .collect();
    let areas = Catalogue::builtin()
        .lke_areas
        .iter()
        .map(|a| (a.code.clone(), a.name.clone()))
        .collect();
    let t = user.texts();
    Ok(render(&PacksPage {
        t,
        lang: user.lang.code(),
        user: &user,
        zone: user.principal.unit.time_zone().abbreviation(),
        units,
        areas,
        jobs: state
            .packs
            .list(&user.principal)
            .into_iter()
            .map(|j| shown(j, user.principal.unit.time_zone()))
            .collect(),
        keep_hours: state.packs.config().keep.as_secs() / 3600,
    }))
}

/// `POST /packs`: the form's fields, `area` once per area chosen.
pub async fn start(
    State(state): State<AppState>,
    user: WebUser,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    user.check_csrf(&field("csrf").unwrap_or_default())?;
    let request = PackRequest {
        unit: field("unit").unwrap_or_default(),
        from: field("from"),
        to: field("to"),
        areas: fields
            .iter()
            .filter(|(k, _)| k == "area")
            .map(|(_, v)| v.clone())
            .collect(),
    };
    let job = state
        .packs
        .start(
            &state.store,
            &state.blobs.store,
            &state.server_key,
            &user.principal,
            &request,
        )
        .await
        .map_err(|e| api(&user)(e.into()))?;
    Ok(Redirect::to(&format!("/packs/{}", job.id)).into_response())
}

/// `GET /packs/{id}`
pub async fn job(
    State(state): State<AppState>,
    user: WebUser,
    Path(raw): Path<String>,
) -> Result<Response, PageError> {
    let id = crate::api::packs::job_id(&raw).map_err(api(&user))?;
    let j = state
        .packs
        .get(&user.principal, id)
        .map_err(|e| api(&user)(e.into()))?;
    let refresh = (j.state == JobState::Running).then_some(REFRESH_SECS);
    let j = shown(j, user.principal.unit.time_zone());
    Ok(render(&PackPage {
        t: user.texts(),
        lang: user.lang.code(),
        user: &user,
        j,
        refresh,
        server_key: state.server_key.public_hex(),
    }))
}

/// `GET /packs/{id}/download`
pub async fn download(
    State(state): State<AppState>,
    user: WebUser,
    Path(raw): Path<String>,
) -> Result<Response, PageError> {
    crate::api::packs::zip_response(&state, &user.principal, &raw)
        .await
        .map_err(api(&user))
}
