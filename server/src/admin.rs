//! Operator actions run from the `bukti-server` command line against the same store the server
//! uses (safe while it runs: SQLite serialises writers, PostgreSQL is shared by design).

use bukti_core::unit::UnitPath;
use uuid::Uuid;

use crate::{
    auth::{NewPrincipal, PrincipalKind, new_token},
    store::{DynStore, StoreError},
};

/// Roles an HQ token can carry. `reviewer` gives verdicts and registers devices; `viewer` only
/// reads; `admin` does everything.
pub const HQ_ROLES: [&str; 3] = ["admin", "reviewer", "viewer"];

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Unit(#[from] bukti_core::unit::InvalidUnitPath),
    #[error("unknown role {0:?}: use one of admin, reviewer, viewer")]
    Role(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Creates an HQ token for `name` over `unit`'s subtree and returns it (shown once).
pub async fn create_hq_token(
    store: &DynStore,
    unit: &str,
    name: &str,
    role: &str,
) -> Result<String, AdminError> {
    let unit = UnitPath::parse(unit)?;
    if !HQ_ROLES.contains(&role) {
        return Err(AdminError::Role(role.to_owned()));
    }
    let (token, token_hash) = new_token();
    store
        .insert_principal(&NewPrincipal {
            id: Uuid::now_v7(),
            kind: PrincipalKind::Hq,
            role: role.to_owned(),
            name: name.to_owned(),
            unit,
            officer: None,
            actor_id: None,
            token_hash,
        })
        .await?;
    Ok(token)
}
