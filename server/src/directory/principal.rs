//! Credentials as the directory knows them: who a token or session stands for ([`Principal`]),
//! the rules that apply to one whatever the route (its scope, its roles, whether it is still
//! live), and how tokens, cookies and codes are made and hashed. The store keeps only the
//! SHA-256 of a secret; the HTTP layer finds the principal of a request and answers for it.

use bukti_core::unit::UnitPath;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{Permission, Person, Roles};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    /// An enrolled phone or laptop.
    Device,
    /// A person or script on the HQ API (token or web session).
    Hq,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::Device => "device",
            PrincipalKind::Hq => "hq",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "device" => Some(PrincipalKind::Device),
            "hq" => Some(PrincipalKind::Hq),
            _ => None,
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub id: Uuid,
    pub kind: PrincipalKind,
    pub roles: Roles,
    pub name: String,
    /// The caller sees this unit and everything below it.
    pub unit: UnitPath,
    /// The officer (NRP) a device captures for.
    pub officer: Option<String>,
    pub actor_id: Option<String>,
    pub revoked: bool,
    /// The person behind the credential, when there is one.
    pub person: Option<Uuid>,
    /// A device that pulls only its officer's own records.
    pub own_records_only: bool,
    /// Unix ms after which the person's access ends.
    pub access_until: Option<i64>,
    pub disabled: bool,
}

/// A step the caller's roles do not allow; the message names the roles and the step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotAllowed(pub String);

/// Why a credential that exists may no longer be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Inactive {
    #[error("this device's credential was revoked")]
    Revoked,
    #[error("this account is disabled; ask your administrator")]
    Disabled,
    /// Access ended at this unix ms.
    #[error("access ended at {}; ask your administrator to extend it", ended_at(*.0))]
    Ended(i64),
}

fn ended_at(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

impl Principal {
    /// The Automerge actor this principal writes server-side changes with (HQ reviews).
    pub fn actor(&self) -> automerge::ActorId {
        automerge::ActorId::from(self.id.as_bytes().as_slice())
    }

    /// The officer whose records alone this principal may see, for a device enrolled for its
    /// officer's own records; `None` when it sees its whole unit subtree.
    pub fn own_officer(&self) -> Option<&str> {
        self.own_records_only
            .then_some(self.officer.as_deref())
            .flatten()
    }

    /// Whether a record of `unit` captured by `officer` is visible to this principal: inside its
    /// subtree and, for an own-records-only device, its officer's.
    pub fn may_see(&self, unit: &str, officer: &str) -> bool {
        UnitPath::parse(unit).is_ok_and(|u| self.unit.contains(&u))
            && self.own_officer().is_none_or(|own| own == officer)
    }

    pub fn can(&self, p: Permission) -> bool {
        self.roles.allows(p)
    }

    /// Refuses with a message naming what is missing.
    pub fn require(&self, p: Permission, doing: &str) -> Result<(), NotAllowed> {
        if self.can(p) {
            Ok(())
        } else {
            Err(NotAllowed(format!(
                "your roles ({}) do not allow {doing}",
                self.roles
            )))
        }
    }

    /// Refuses credentials that are revoked, disabled or past their date.
    pub fn check_live(self, now: i64) -> Result<Self, Inactive> {
        if self.revoked {
            return Err(Inactive::Revoked);
        }
        if self.disabled {
            return Err(Inactive::Disabled);
        }
        if let Some(until) = self.access_until
            && now >= until
        {
            return Err(Inactive::Ended(until));
        }
        Ok(self)
    }
}

/// A web session's principal: the person, with their roles over their unit.
impl From<Person> for Principal {
    fn from(person: Person) -> Self {
        Principal {
            id: person.id,
            kind: PrincipalKind::Hq,
            roles: person.roles,
            name: person.name,
            unit: person.unit,
            officer: Some(person.nrp),
            actor_id: None,
            revoked: false,
            person: Some(person.id),
            own_records_only: false,
            access_until: person.access_until,
            disabled: person.disabled,
        }
    }
}

/// A credential about to be stored.
#[derive(Debug, Clone)]
pub struct NewPrincipal {
    pub id: Uuid,
    pub kind: PrincipalKind,
    pub roles: Roles,
    pub name: String,
    pub unit: UnitPath,
    pub officer: Option<String>,
    pub actor_id: Option<String>,
    pub token_hash: Vec<u8>,
    pub person: Option<Uuid>,
    pub public_key: Option<Vec<u8>>,
    pub own_records_only: bool,
}

/// 32 random bytes as hex, with a prefix saying what they are.
pub fn random_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// A fresh bearer token and the hash the store keeps of it.
pub fn new_token() -> (String, Vec<u8>) {
    let token = random_secret("bkt_");
    let hash = hash_token(&token);
    (token, hash)
}

/// What the store keeps of a token, session cookie or enrollment code: its SHA-256.
pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::Role;

    fn officer(roles: Roles) -> Principal {
        Principal {
            id: Uuid::now_v7(),
            kind: PrincipalKind::Device,
            roles,
            name: "HP Putu".into(),
            unit: UnitPath::parse("bali/buleleng/sawan").unwrap_or_else(|e| panic!("{e}")),
            officer: Some("87010123".into()),
            actor_id: None,
            revoked: false,
            person: None,
            own_records_only: true,
            access_until: Some(2_000),
            disabled: false,
        }
    }

    #[test]
    fn scope_roles_and_liveness_are_decided_here() {
        let p = officer(Roles::new([Role::Officer]));
        assert!(p.may_see("bali/buleleng/sawan/binmas", "87010123"));
        assert!(
            !p.may_see("bali/buleleng/sawan", "87010999"),
            "own records only"
        );
        assert!(!p.may_see("bali/buleleng/gerokgak", "87010123"));
        let refused = p
            .require(Permission::GiveVerdict, "giving verdicts")
            .expect_err("an officer gives no verdicts");
        assert_eq!(
            refused.0,
            "your roles (officer) do not allow giving verdicts"
        );
        assert!(p.clone().check_live(1_999).is_ok());
        assert_eq!(
            p.clone().check_live(2_000).err(),
            Some(Inactive::Ended(2_000))
        );
        let revoked = Principal { revoked: true, ..p };
        assert_eq!(revoked.check_live(0).err(), Some(Inactive::Revoked));
        assert_eq!(hash_token("bkt_x"), Sha256::digest(b"bkt_x").to_vec());
        assert!(random_secret("bks_").starts_with("bks_"));
    }
}
