//! The dashboard page: a unit subtree over a period, drawn as SVG on the server, with the same
//! numbers as tables beside each picture for screen readers and for copying into a report.

use askama::Template;
use axum::{
    extract::{Query, State},
    response::Response,
};
use serde::Deserialize;

use super::{PageError, charts, i18n::Texts, render, session::WebUser};
use crate::{AppState, dashboard::DashboardView};

#[derive(Debug, Deserialize)]
pub struct DashboardQuery {
    #[serde(default)]
    unit: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage<'a> {
    t: &'static Texts,
    lang: &'static str,
    user: &'a WebUser,
    v: DashboardView,
    units: Vec<(String, String)>,
    area_chart: String,
    map: String,
}

pub async fn page(
    State(state): State<AppState>,
    user: WebUser,
    Query(q): Query<DashboardQuery>,
) -> Result<Response, PageError> {
    let lang = user.lang;
    let t = lang.texts();
    let v = crate::dashboard::view(
        &state.store,
        &user.principal,
        Some(&q.unit),
        Some(&q.from),
        Some(&q.to),
    )
    .await
    .map_err(|e| PageError::Api(lang, e.into()))?;
    let units = state
        .store
        .units(&user.principal.unit)
        .await
        .map_err(|e| PageError::Api(lang, e.into()))?
        .into_iter()
        .map(|u| (u.path.to_string(), u.name))
        .collect();
    let area_chart = charts::area_chart(&v, t.evidence_per_area);
    let map = charts::map(&v.points, t.map_title);
    Ok(render(&DashboardPage {
        t,
        lang: lang.code(),
        user: &user,
        v,
        units,
        area_chart,
        map,
    }))
}
