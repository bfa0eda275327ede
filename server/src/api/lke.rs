//! The LKE in force and the units' yearly worksheets: read with score and readiness, answer a
//! question with linked evidence, enter the survey and performance figures, and the evidence
//! the unit's records offer for a sub-indicator.

use axum::{
    Json,
    extract::{Path, State},
};
use bukti_core::lke::Lke;
use serde::Deserialize;

use super::{Body, QueryParams, query};
use crate::{
    AppState,
    auth::Hq,
    error::{ApiError, ApiResult},
    lke::{self, AnswerInput, FiguresInput, WorksheetView},
    store::{ListFilter, Page},
};

/// `?unit=` (default: the caller's own unit).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnitQuery {
    unit: Option<String>,
}

#[utoipa::path(
    get,
    path = "/lke",
    tag = "lke",
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "The LKE edition in force", body = Lke), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn edition(State(state): State<AppState>, Hq(_): Hq) -> ApiResult<Json<Lke>> {
    let lke = lke::active(&state.store).await?;
    Ok(Json((*lke).clone()))
}

#[utoipa::path(
    get,
    path = "/worksheets/{year}",
    tag = "lke",
    params(("year" = i32, Path, description = "The assessment year"), UnitQuery),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = WorksheetView), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn worksheet(
    State(state): State<AppState>,
    Hq(hq): Hq,
    Path(year): Path<i32>,
    params: QueryParams<UnitQuery>,
) -> ApiResult<Json<WorksheetView>> {
    let q = query(params)?;
    Ok(Json(
        lke::view(&state.store, &hq, q.unit.as_deref(), year).await?,
    ))
}

#[utoipa::path(
    put,
    path = "/worksheets/{year}/answers/{question}",
    tag = "lke",
    request_body = AnswerInput,
    params(("year" = i32, Path, description = "The assessment year"), ("question" = String, Path, description = "The question code"), UnitQuery),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "The worksheet after the answer", body = WorksheetView), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn answer(
    State(state): State<AppState>,
    Hq(hq): Hq,
    Path((year, question)): Path<(i32, String)>,
    params: QueryParams<UnitQuery>,
    body: Body<AnswerInput>,
) -> ApiResult<Json<WorksheetView>> {
    let q = query(params)?;
    let Json(input) = body?;
    let unit = q.unit.as_deref();
    lke::answer(&state.store, &hq, unit, year, &question, input).await?;
    Ok(Json(lke::view(&state.store, &hq, unit, year).await?))
}

#[utoipa::path(
    put,
    path = "/worksheets/{year}/figures",
    tag = "lke",
    request_body = FiguresInput,
    params(("year" = i32, Path, description = "The assessment year"), UnitQuery),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "The worksheet after the figures", body = WorksheetView), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn figures(
    State(state): State<AppState>,
    Hq(hq): Hq,
    Path(year): Path<i32>,
    params: QueryParams<UnitQuery>,
    body: Body<FiguresInput>,
) -> ApiResult<Json<WorksheetView>> {
    let q = query(params)?;
    let Json(input) = body?;
    let unit = q.unit.as_deref();
    lke::set_figures(&state.store, &hq, unit, year, input).await?;
    Ok(Json(lke::view(&state.store, &hq, unit, year).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuggestQuery {
    unit: Option<String>,
    sub_indicator: String,
}

/// Records of the unit, active in the year, tagged with the sub-indicator: what an assessor
/// would link as evidence.
#[utoipa::path(
    get,
    path = "/worksheets/{year}/suggestions",
    tag = "lke",
    params(("year" = i32, Path, description = "The assessment year"), SuggestQuery),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Page), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn suggestions(
    State(state): State<AppState>,
    Hq(hq): Hq,
    Path(year): Path<i32>,
    params: QueryParams<SuggestQuery>,
) -> ApiResult<Json<Page>> {
    let q = query(params)?;
    let lke = lke::active(&state.store).await?;
    if lke.sub_indicator(&q.sub_indicator).is_none() {
        return Err(ApiError::BadRequest(format!(
            "{:?} is not a sub-indicator of {}",
            q.sub_indicator, lke.edition
        )));
    }
    let (unit, from, to) = lke::worksheet_period(&hq, q.unit.as_deref(), year)?;
    let filter = ListFilter {
        unit: Some(unit.to_string()),
        lke: Some(q.sub_indicator),
        from_ms: Some(from),
        to_ms: Some(to - 1),
        ..ListFilter::default()
    };
    Ok(Json(state.store.list(&hq.unit, &filter).await?))
}
