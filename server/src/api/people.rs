//! People and the unit tree over HTTP, for admins (units and people) and for anyone signed in
//! (API tokens for their own scripts). Every list and change is limited to the caller's subtree.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Body;
use crate::{
    AppState,
    auth::Hq,
    directory::{
        NewPrincipal, Permission, Person, PrincipalKind, Unit, new_token,
        service::{self, PersonInput},
    },
    error::{ApiError, ApiResult},
};

#[utoipa::path(
    get,
    path = "/people",
    tag = "people",
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Vec<Person>), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn list_people(
    State(state): State<AppState>,
    Hq(hq): Hq,
) -> ApiResult<Json<Vec<Person>>> {
    hq.require(Permission::ReadRecords, "listing people")?;
    Ok(Json(state.store.people(&hq.unit).await?))
}

#[utoipa::path(
    post,
    path = "/people",
    tag = "people",
    request_body = PersonInput,
    security(("bearer" = []), ("session" = [])),
    responses((status = 201, body = Person), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn add_person(
    State(state): State<AppState>,
    Hq(hq): Hq,
    body: Body<PersonInput>,
) -> ApiResult<(StatusCode, Json<Person>)> {
    hq.require(Permission::ManagePeople, "adding people")?;
    let Json(input) = body?;
    let person = service::add_person(&state.store, Some(&hq.unit), input).await?;
    tracing::info!(nrp = %person.nrp, unit = %person.unit, by = %hq.name, "person added");
    Ok((StatusCode::CREATED, Json(person)))
}

#[utoipa::path(
    get,
    path = "/units",
    tag = "people",
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Vec<Unit>), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn list_units(State(state): State<AppState>, Hq(hq): Hq) -> ApiResult<Json<Vec<Unit>>> {
    Ok(Json(state.store.units(&hq.unit).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewUnit {
    path: String,
    name: String,
    kind: String,
}

#[utoipa::path(
    post,
    path = "/units",
    tag = "people",
    request_body = NewUnit,
    security(("bearer" = []), ("session" = [])),
    responses((status = 201, body = Unit), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn add_unit(
    State(state): State<AppState>,
    Hq(hq): Hq,
    body: Body<NewUnit>,
) -> ApiResult<(StatusCode, Json<Unit>)> {
    hq.require(Permission::ManageUnits, "adding units")?;
    let Json(u) = body?;
    let unit = service::add_unit(&state.store, Some(&hq.unit), &u.path, &u.name, &u.kind).await?;
    Ok((StatusCode::CREATED, Json(unit)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UnitChange {
    /// A new display name.
    name: Option<String>,
    /// A new parent unit: moves the unit and its subtree.
    parent: Option<String>,
}

#[utoipa::path(
    patch,
    path = "/units/{*path}",
    tag = "people",
    request_body = UnitChange,
    params(("path" = String, Path, description = "The unit's path, e.g. `bali/buleleng/sawan`")),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Unit), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn change_unit(
    State(state): State<AppState>,
    Hq(hq): Hq,
    Path(path): Path<String>,
    body: Body<UnitChange>,
) -> ApiResult<Json<Unit>> {
    hq.require(Permission::ManageUnits, "changing units")?;
    let Json(change) = body?;
    let scope = Some(&hq.unit);
    let mut unit = None;
    let mut path = path;
    if let Some(parent) = &change.parent {
        let moved = service::move_unit(&state.store, scope, &path, parent).await?;
        path = moved.path.to_string();
        unit = Some(moved);
    }
    if let Some(name) = &change.name {
        unit = Some(service::rename_unit(&state.store, scope, &path, name).await?);
    }
    unit.map(Json)
        .ok_or_else(|| ApiError::BadRequest("send a new name, a new parent or both".into()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewToken {
    /// What the token is for, e.g. "laporan mingguan".
    name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenCreated {
    id: Uuid,
    token: String,
}

/// An API token for a script, carrying the caller's own roles and unit (never more).
#[utoipa::path(
    post,
    path = "/tokens",
    tag = "people",
    request_body = NewToken,
    security(("bearer" = []), ("session" = [])),
    responses((status = 201, description = "The token, shown once", body = TokenCreated), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn create_token(
    State(state): State<AppState>,
    Hq(hq): Hq,
    body: Body<NewToken>,
) -> ApiResult<(StatusCode, Json<TokenCreated>)> {
    hq.require(Permission::CreateApiToken, "creating API tokens")?;
    let Json(req) = body?;
    let person = hq.person.ok_or_else(|| {
        ApiError::Forbidden("only a signed-in person can create API tokens".into())
    })?;
    let label = crate::directory::check_name("a token name", &req.name, 100)?;
    let (token, token_hash) = new_token();
    let id = Uuid::now_v7();
    state
        .store
        .insert_principal(&NewPrincipal {
            id,
            kind: PrincipalKind::Hq,
            roles: hq.roles.clone(),
            name: format!("{} ({label})", hq.name),
            unit: hq.unit.clone(),
            officer: hq.officer.clone(),
            actor_id: None,
            token_hash,
            person: Some(person),
            public_key: None,
            own_records_only: false,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(TokenCreated { id, token })))
}
