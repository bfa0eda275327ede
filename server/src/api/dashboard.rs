//! The dashboard's numbers as JSON, for scripts and reports: the same view as the page.

use axum::{Json, extract::State};
use serde::Deserialize;

use super::{QueryParams, query};
use crate::{AppState, auth::Hq, dashboard::DashboardView, error::ApiResult};

#[derive(Debug, Default, Deserialize)]
pub struct DashboardQuery {
    unit: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

pub async fn get(
    State(state): State<AppState>,
    Hq(hq): Hq,
    params: QueryParams<DashboardQuery>,
) -> ApiResult<Json<DashboardView>> {
    let q = query(params)?;
    Ok(Json(
        crate::dashboard::view(
            &state.store,
            &hq,
            q.unit.as_deref(),
            q.from.as_deref(),
            q.to.as_deref(),
        )
        .await?,
    ))
}
