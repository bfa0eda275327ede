//! The directory: the unit tree (Polda → Polres → Polsek → Polsubsektor, plus functional
//! sections), the people in it with their roles, the credentials they and their devices hold
//! ([`principal`]), device enrollment and web sign-in.
//!
//! The types and checks here are pure; [`service`] runs them against the store. Handlers and the
//! `bukti-server` commands both call [`service`], so the web and the command line enforce the same
//! rules.

pub mod cli;
pub mod demo;
pub mod password;
pub mod principal;
pub mod qr;
pub mod roles;
pub mod service;

use bukti_core::unit::{InvalidUnitPath, UnitPath};
use serde::Serialize;
use uuid::Uuid;

pub use principal::{
    Inactive, NewPrincipal, NotAllowed, Principal, PrincipalKind, hash_token, new_token,
    random_secret,
};
pub use roles::{Permission, Role, Roles, UnknownRole};

use crate::store::StoreError;

/// Where a unit sits in the organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UnitKind {
    Polda,
    Polres,
    Polsek,
    Polsubsektor,
    /// A functional section: SPKT, Sat Lantas, Sat Binmas, Siwas…
    Section,
}

impl UnitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Polda => "polda",
            UnitKind::Polres => "polres",
            UnitKind::Polsek => "polsek",
            UnitKind::Polsubsektor => "polsubsektor",
            UnitKind::Section => "section",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            UnitKind::Polda,
            UnitKind::Polres,
            UnitKind::Polsek,
            UnitKind::Polsubsektor,
            UnitKind::Section,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// Whether a unit of this kind may sit directly under a unit of `parent` kind (`None`: at the
    /// root). Keeps the tree shaped like the police's own.
    pub fn fits_under(self, parent: Option<UnitKind>) -> bool {
        use UnitKind as K;
        matches!(
            (self, parent),
            (K::Polda, None)
                | (K::Polres, Some(K::Polda))
                | (K::Polsek, Some(K::Polres))
                | (K::Polsubsektor, Some(K::Polsek))
                | (K::Section, Some(K::Polda | K::Polres | K::Polsek))
        )
    }
}

/// A unit of the tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Unit {
    pub path: UnitPath,
    pub name: String,
    pub kind: UnitKind,
    pub parent: Option<UnitPath>,
}

/// A person: an officer, a Kapolsek, a reviewer at Polres, an assessor…
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Person {
    pub id: Uuid,
    pub nrp: String,
    pub name: String,
    pub rank: String,
    pub unit: UnitPath,
    #[serde(serialize_with = "roles_as_string")]
    #[schema(value_type = String, example = "officer,reviewer")]
    pub roles: Roles,
    /// After this time the person may no longer sign in or use tokens (kept as Unix ms).
    #[serde(with = "bukti_core::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub access_until: Option<i64>,
    pub disabled: bool,
    #[serde(skip)]
    pub password_hash: Option<String>,
}

fn roles_as_string<S: serde::Serializer>(roles: &Roles, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&roles.to_string())
}

/// A device as HQ sees it in the device list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeviceInfo {
    pub id: Uuid,
    pub name: String,
    pub unit: String,
    pub officer: Option<String>,
    #[serde(with = "bukti_core::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    #[serde(with = "bukti_core::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<i64>,
    pub revoked_by: Option<String>,
}

/// An enrollment code about to be stored.
#[derive(Debug, Clone)]
pub struct NewEnrollment {
    pub id: Uuid,
    pub code_hash: Vec<u8>,
    pub person: Uuid,
    pub own_records_only: bool,
    pub issued_by: String,
    pub expires_at: i64,
}

/// Why an enrollment code was not accepted. Deliberately coarse towards the caller: "unknown",
/// "used" and "expired" are told apart so an officer knows to ask for a new code, but nothing
/// says whose code it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRefusal {
    Unknown,
    Used,
    Expired,
}

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error(transparent)]
    Unit(#[from] InvalidUnitPath),
    #[error(transparent)]
    Role(#[from] UnknownRole),
    #[error("unknown unit kind {0:?}: use polda, polres, polsek, polsubsektor or section")]
    Kind(String),
    #[error("unit {0} does not exist; add it first (or load the demo organisation)")]
    NoSuchUnit(String),
    #[error("unit {0} already exists")]
    UnitExists(String),
    #[error("a {kind} cannot sit under {parent}")]
    WrongPlace { kind: &'static str, parent: String },
    #[error("{0}")]
    Invalid(String),
    #[error("a person with NRP {0} already exists")]
    PersonExists(String),
    #[error("no person with NRP {0}")]
    NoSuchPerson(String),
    #[error("{0} is outside your unit")]
    OutsideScope(String),
    #[error("enrollment code refused: {0}")]
    Code(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CodeRefusal {
    pub fn message(self) -> &'static str {
        match self {
            CodeRefusal::Unknown => {
                "no such code; check it, or ask your Kapolsek or administrator for a new one"
            }
            CodeRefusal::Used => "this code has already been used; ask for a new one",
            CodeRefusal::Expired => "this code has expired; ask for a new one",
        }
    }
}

/// An NRP (8 digits) or NIP (18 digits).
pub fn check_nrp(nrp: &str) -> Result<(), DirectoryError> {
    if matches!(nrp.len(), 8 | 18) && nrp.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(DirectoryError::Invalid(format!(
            "{nrp:?} is not an NRP (8 digits) or NIP (18 digits)"
        )))
    }
}

/// A display name: 1 to `max` characters after trimming, no control characters.
pub fn check_name(what: &str, value: &str, max: usize) -> Result<String, DirectoryError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(DirectoryError::Invalid(format!(
            "{what} must be 1 to {max} characters without control characters"
        )));
    }
    Ok(v.to_owned())
}

/// The parent path of a unit path (`None` for a root).
pub fn parent_of(path: &UnitPath) -> Option<UnitPath> {
    let (parent, _) = path.as_str().rsplit_once('/')?;
    UnitPath::parse(parent).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_keeps_the_police_shape() {
        use UnitKind as K;
        assert!(K::Polda.fits_under(None));
        assert!(K::Polsek.fits_under(Some(K::Polres)));
        assert!(K::Polsubsektor.fits_under(Some(K::Polsek)));
        assert!(K::Section.fits_under(Some(K::Polres)));
        assert!(!K::Polsek.fits_under(Some(K::Polda)));
        assert!(!K::Polres.fits_under(None));
        assert!(!K::Polda.fits_under(Some(K::Polda)));
        assert!(!K::Polsek.fits_under(Some(K::Section)));
    }

    #[test]
    fn nrp_and_names_are_checked() {
        assert!(check_nrp("87050123").is_ok());
        assert!(check_nrp("198705012010121001").is_ok());
        assert!(check_nrp("8705012").is_err());
        assert!(check_nrp("8705012x").is_err());
        assert_eq!(check_name("name", "  Made  ", 10).ok(), Some("Made".into()));
        assert!(check_name("name", "a\u{0}b", 10).is_err());
        assert!(check_name("name", "   ", 10).is_err());
    }

    #[test]
    fn parents() {
        let p = UnitPath::parse("bali/buleleng/sawan").expect("path");
        assert_eq!(
            parent_of(&p).map(|u| u.to_string()),
            Some("bali/buleleng".into())
        );
        assert_eq!(parent_of(&UnitPath::parse("bali").expect("path")), None);
    }
}
