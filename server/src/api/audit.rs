//! `GET /api/v1/audit`: HQ admins page through the audit log of their unit's subtree, newest
//! first.

use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};

use super::{QueryParams, query};
use crate::{
    AppState,
    audit::AuditEntry,
    directory::{Permission, Principal},
    error::ApiResult,
};

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries before this `seq` (the previous page's `next_before`); the newest when absent.
    before: Option<i64>,
    limit: Option<u32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next_before: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/audit",
    tag = "audit",
    params(AuditQuery),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = AuditPage), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn list(
    State(state): State<AppState>,
    hq: Principal,
    params: QueryParams<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    hq.require(Permission::ReadAudit, "reading the audit log")?;
    let q = query(params)?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let before = q.before.unwrap_or(i64::MAX);
    // Entries no unit owns (failed logins by unknown clients) concern the whole organisation:
    // only admins of a top-level unit see them.
    let unitless = !hq.unit.as_str().contains('/');
    let mut entries = state
        .store
        .audit_page(&hq.unit, unitless, before, limit + 1)
        .await?;
    let more = entries.len() > limit as usize;
    entries.truncate(limit as usize);
    let next_before = more.then(|| entries.last().map(|e| e.seq)).flatten();
    Ok(Json(AuditPage {
        entries,
        next_before,
    }))
}
