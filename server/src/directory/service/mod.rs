//! The directory's operations, shared by the HTTP handlers and the `bukti-server` commands. Each
//! takes the caller's scope: `None` is the operator at the server's command line, who may do
//! anything; `Some(unit)` is a signed-in admin or approver, who acts only inside their subtree.
//! Outside it, units and people answer as if they did not exist.

use bukti_core::{
    enrollment,
    evidence::flags::Area,
    protocol::{EnrollRequest, EnrollResponse},
    unit::UnitPath,
};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use rand::Rng;
use serde::Serialize;
use uuid::Uuid;

use super::{
    CodeRefusal, DirectoryError, NewEnrollment, Person, Role, Roles, Unit, UnitKind, check_name,
    check_nrp,
    demo::{DEMO_AREAS, DEMO_UNITS},
    hash_token, new_token, parent_of, password, random_secret,
};
use crate::store::{
    DynStore,
    credentials::{Enrolled, EnrollingDevice},
};

mod credentials;
#[cfg(test)]
mod tests;

pub use credentials::{IssuedCode, NewSession, enroll, issue_enrollment, sign_in};

/// How long an enrollment code stays good unless the issuer says otherwise.
pub const DEFAULT_CODE_TTL_MINUTES: i64 = 24 * 60;
/// How long a web session lasts.
pub const SESSION_HOURS: i64 = 12;

fn in_scope(scope: Option<&UnitPath>, unit: &UnitPath) -> bool {
    scope.is_none_or(|s| s.contains(unit))
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// Loads the demo organisation; returns how many units were new.
pub async fn load_demo(store: &DynStore) -> Result<usize, DirectoryError> {
    let mut added = 0;
    for (path, name, kind) in DEMO_UNITS {
        let path = UnitPath::parse(path)?;
        let unit = Unit {
            parent: parent_of(&path),
            path,
            name: (*name).to_owned(),
            kind: *kind,
        };
        if store.insert_unit(&unit).await? {
            added += 1;
        }
    }
    let with_area: Vec<String> = store
        .unit_areas()
        .await?
        .into_iter()
        .map(|(u, _)| u)
        .collect();
    for (path, bbox) in DEMO_AREAS {
        if !with_area.iter().any(|u| u == path) {
            let area = Area::from_box(bbox).expect("the demo areas are valid boxes");
            set_unit_area(store, None, path, Some(&area)).await?;
        }
    }
    Ok(added)
}

/// Sets the area a unit answers for (its wilayah hukum), which records and photos placed
/// outside are flagged against; `None` clears it, and the parent's area applies again.
pub async fn set_unit_area(
    store: &DynStore,
    scope: Option<&UnitPath>,
    path: &str,
    area: Option<&Area>,
) -> Result<Unit, DirectoryError> {
    let path = UnitPath::parse(path)?;
    let unit = visible_unit(store, scope, &path).await?;
    let geojson = area.map(Area::to_geojson);
    store
        .set_unit_area(path.as_str(), geojson.as_deref())
        .await?;
    Ok(unit)
}

/// The unit at `path` if the caller may see it.
async fn visible_unit(
    store: &DynStore,
    scope: Option<&UnitPath>,
    path: &UnitPath,
) -> Result<Unit, DirectoryError> {
    match store.unit(path).await? {
        Some(u) if in_scope(scope, &u.path) => Ok(u),
        _ => Err(DirectoryError::NoSuchUnit(path.to_string())),
    }
}

pub async fn add_unit(
    store: &DynStore,
    scope: Option<&UnitPath>,
    path: &str,
    name: &str,
    kind: &str,
) -> Result<Unit, DirectoryError> {
    let path = UnitPath::parse(path)?;
    let kind = UnitKind::parse(kind).ok_or_else(|| DirectoryError::Kind(kind.to_owned()))?;
    let name = check_name("a unit's name", name, 100)?;
    let parent = match parent_of(&path) {
        Some(p) => Some(visible_unit(store, scope, &p).await?),
        None if scope.is_some() => return Err(DirectoryError::OutsideScope(path.to_string())),
        None => None,
    };
    if !kind.fits_under(parent.as_ref().map(|p| p.kind)) {
        return Err(DirectoryError::WrongPlace {
            kind: kind.as_str(),
            parent: parent.map_or_else(|| "the root".to_owned(), |p| p.name),
        });
    }
    let unit = Unit {
        parent: parent.map(|p| p.path),
        path,
        name,
        kind,
    };
    if !store.insert_unit(&unit).await? {
        return Err(DirectoryError::UnitExists(unit.path.to_string()));
    }
    Ok(unit)
}

pub async fn rename_unit(
    store: &DynStore,
    scope: Option<&UnitPath>,
    path: &str,
    name: &str,
) -> Result<Unit, DirectoryError> {
    let path = UnitPath::parse(path)?;
    let mut unit = visible_unit(store, scope, &path).await?;
    unit.name = check_name("a unit's name", name, 100)?;
    store.rename_unit(&path, &unit.name).await?;
    Ok(unit)
}

/// Moves `path` (and its subtree) under `new_parent`, keeping its last segment.
pub async fn move_unit(
    store: &DynStore,
    scope: Option<&UnitPath>,
    path: &str,
    new_parent: &str,
) -> Result<Unit, DirectoryError> {
    let from = UnitPath::parse(path)?;
    let unit = visible_unit(store, scope, &from).await?;
    let parent = visible_unit(store, scope, &UnitPath::parse(new_parent)?).await?;
    if from.contains(&parent.path) {
        return Err(DirectoryError::Invalid(format!(
            "cannot move {from} under itself ({})",
            parent.path
        )));
    }
    if !unit.kind.fits_under(Some(parent.kind)) {
        return Err(DirectoryError::WrongPlace {
            kind: unit.kind.as_str(),
            parent: parent.name,
        });
    }
    let last = from.as_str().rsplit('/').next().unwrap_or(from.as_str());
    let to = UnitPath::parse(&format!("{}/{last}", parent.path))?;
    if store.unit(&to).await?.is_some() {
        return Err(DirectoryError::UnitExists(to.to_string()));
    }
    store.move_unit(&from, &to).await?;
    Ok(Unit {
        path: to,
        parent: Some(parent.path),
        ..unit
    })
}

/// A person to add, as an admin types it.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct PersonInput {
    pub nrp: String,
    pub name: String,
    pub rank: String,
    pub unit: String,
    pub roles: Vec<String>,
    /// RFC 3339 time or `YYYY-MM-DD` (end of access, exclusive).
    pub access_until: Option<String>,
    pub password: Option<String>,
}

fn parse_until(s: &str) -> Result<i64, DirectoryError> {
    let bad = || {
        DirectoryError::Invalid(format!(
            "{s:?} is not a date: use YYYY-MM-DD or an RFC 3339 time"
        ))
    };
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t.as_millisecond());
    }
    let date: jiff::civil::Date = s.parse().map_err(|_| bad())?;
    let t = date
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|_| bad())?
        .timestamp();
    Ok(t.as_millisecond())
}

pub async fn add_person(
    store: &DynStore,
    scope: Option<&UnitPath>,
    input: PersonInput,
) -> Result<Person, DirectoryError> {
    check_nrp(&input.nrp)?;
    let unit = visible_unit(store, scope, &UnitPath::parse(&input.unit)?).await?;
    let roles = Roles::parse(&input.roles.join(","))?;
    if roles.is_empty() {
        return Err(DirectoryError::Invalid(
            "give the person at least one role".into(),
        ));
    }
    let person = Person {
        id: Uuid::now_v7(),
        name: check_name("a name", &input.name, 100)?,
        rank: check_name("a rank", &input.rank, 40)?,
        nrp: input.nrp,
        unit: unit.path,
        roles,
        access_until: input.access_until.as_deref().map(parse_until).transpose()?,
        disabled: false,
        password_hash: input.password.as_deref().map(password::hash).transpose()?,
    };
    if !store.insert_person(&person).await? {
        return Err(DirectoryError::PersonExists(person.nrp));
    }
    Ok(person)
}

/// The person with `nrp` if the caller may see them.
pub async fn visible_person(
    store: &DynStore,
    scope: Option<&UnitPath>,
    nrp: &str,
) -> Result<Person, DirectoryError> {
    match store.person_by_nrp(nrp).await? {
        Some(p) if in_scope(scope, &p.unit) => Ok(p),
        _ => Err(DirectoryError::NoSuchPerson(nrp.to_owned())),
    }
}

pub async fn set_password(
    store: &DynStore,
    scope: Option<&UnitPath>,
    nrp: &str,
    new_password: &str,
) -> Result<(), DirectoryError> {
    let person = visible_person(store, scope, nrp).await?;
    store
        .set_password(person.id, &password::hash(new_password)?)
        .await?;
    Ok(())
}
