//! The dashboard's numbers as JSON, for scripts and reports: the same view as the page.

use axum::{Json, extract::State};
use serde::Deserialize;

use super::{QueryParams, query};
use crate::{AppState, auth::Hq, dashboard::DashboardView, error::ApiResult};

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DashboardQuery {
    unit: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

#[utoipa::path(
    get,
    path = "/dashboard",
    tag = "lke",
    params(DashboardQuery),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = DashboardView), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
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
