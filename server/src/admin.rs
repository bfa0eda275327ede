//! Operator actions run from the `bukti-server` command line against the same store the server
//! uses (safe while it runs: SQLite serialises writers, PostgreSQL is shared by design).

use bukti_core::unit::UnitPath;
use uuid::Uuid;

use crate::{
    directory::{DirectoryError, NewPrincipal, PrincipalKind, Roles, new_token},
    store::DynStore,
};

/// Creates an API token for `name` over `unit`'s subtree with `roles` (comma-separated) and
/// returns it (shown once). For scripts and first setup; people sign in with their NRP.
pub async fn create_hq_token(
    store: &DynStore,
    unit: &str,
    name: &str,
    roles: &str,
) -> Result<String, DirectoryError> {
    let unit = UnitPath::parse(unit)?;
    let roles = Roles::parse(roles)?;
    if roles.is_empty() {
        return Err(DirectoryError::Invalid(
            "give the token at least one role".into(),
        ));
    }
    let name = crate::directory::check_name("a token's holder", name, 100)?;
    let (token, token_hash) = new_token();
    store
        .insert_principal(&NewPrincipal {
            id: Uuid::now_v7(),
            kind: PrincipalKind::Hq,
            roles,
            name,
            unit,
            officer: None,
            actor_id: None,
            token_hash,
            person: None,
            public_key: None,
            own_records_only: false,
        })
        .await?;
    Ok(token)
}
