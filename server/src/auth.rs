//! Who is asking. Devices and scripts send `Authorization: Bearer <token>`; people on the web
//! pages carry a session cookie and, on every request that changes something, the session's CSRF
//! token in `X-CSRF-Token`. The server keeps only SHA-256 hashes of tokens and cookies and
//! resolves each to a [`Principal`] bound to a unit whose subtree is all it may see.

use axum::{
    extract::FromRequestParts,
    http::{Method, request::Parts},
};
use bukti_core::unit::UnitPath;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    AppState,
    directory::{Permission, Person, Roles},
    error::ApiError,
};

/// The web session cookie. `__Host-` makes browsers insist on Secure, Path=/ and no Domain.
pub const SESSION_COOKIE: &str = "__Host-bukti_session";
/// The header carrying the session's CSRF token on state-changing requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

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
    pub fn require(&self, p: Permission, doing: &str) -> Result<(), ApiError> {
        if self.can(p) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "your roles ({}) do not allow {doing}",
                self.roles
            )))
        }
    }

    /// Refuses credentials that are revoked, disabled or past their date.
    pub fn check_live(self, now: i64) -> Result<Self, ApiError> {
        if self.revoked {
            return Err(ApiError::Revoked);
        }
        if self.disabled {
            return Err(ApiError::Unauthorized(
                "this account is disabled; ask your administrator".into(),
            ));
        }
        if let Some(until) = self.access_until
            && now >= until
        {
            let date = jiff::Timestamp::from_millisecond(until)
                .map(|t| t.to_string())
                .unwrap_or_default();
            return Err(ApiError::Unauthorized(format!(
                "access ended at {date}; ask your administrator to extend it"
            )));
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

pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The bearer token of an `Authorization` header value, if it is one.
pub fn bearer(header: &str) -> Option<&str> {
    header
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let now = jiff::Timestamp::now().as_millisecond();
        if let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) {
            let token = header.to_str().ok().and_then(bearer).ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
            })?;
            let principal = state
                .store
                .principal_by_token_hash(&hash_token(token))
                .await?
                .ok_or_else(|| {
                    ApiError::Unauthorized(
                        "unknown token: enroll the device, or ask an administrator for a token"
                            .into(),
                    )
                })?;
            return principal.check_live(now);
        }
        let session = session_cookie(&parts.headers).ok_or_else(|| {
            ApiError::Unauthorized("sign in first, or send `Authorization: Bearer <token>`".into())
        })?;
        let (person, csrf) = state
            .store
            .session(&hash_token(session), now)
            .await?
            .ok_or_else(|| {
                ApiError::Unauthorized("your session has ended; sign in again".into())
            })?;
        // A cookie rides along with any request the browser makes, including ones another site
        // triggers; only our own pages know the CSRF token.
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !same_secret(sent, &csrf) {
                return Err(ApiError::Forbidden(format!(
                    "missing or wrong {CSRF_HEADER} header: reload the page and try again"
                )));
            }
        }
        Principal::from(person).check_live(now)
    }
}

/// Compares a secret the client sent with ours in time that does not depend on where they
/// differ.
pub fn same_secret(sent: &str, ours: &str) -> bool {
    sent.len() == ours.len()
        && sent
            .bytes()
            .zip(ours.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The session cookie's value in a request's headers.
pub fn session_cookie(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| cookie(h, SESSION_COOKIE))
}

/// An authenticated principal of one kind; any other kind is refused with `refusal`.
async fn principal_of_kind(
    parts: &mut Parts,
    state: &AppState,
    kind: PrincipalKind,
    refusal: &str,
) -> Result<Principal, ApiError> {
    let p = Principal::from_request_parts(parts, state).await?;
    if p.kind == kind {
        Ok(p)
    } else {
        Err(ApiError::Forbidden(refusal.to_owned()))
    }
}

/// An enrolled device.
#[derive(Debug, Clone)]
pub struct Device(pub Principal);

impl FromRequestParts<AppState> for Device {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let refusal = "this endpoint is for enrolled devices; HQ tokens cannot sync";
        principal_of_kind(parts, state, PrincipalKind::Device, refusal)
            .await
            .map(Device)
    }
}

/// An HQ user or script.
#[derive(Debug, Clone)]
pub struct Hq(pub Principal);

impl FromRequestParts<AppState> for Hq {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let refusal = "this endpoint is for HQ; a device token cannot use it";
        principal_of_kind(parts, state, PrincipalKind::Hq, refusal)
            .await
            .map(Hq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_read_strictly() {
        assert_eq!(bearer("Bearer bkt_ab"), Some("bkt_ab"));
        assert_eq!(bearer("bearer bkt_ab"), None);
        assert_eq!(bearer("Bearer   "), None);
        assert_eq!(bearer("Basic eDp5"), None);
        let h = "theme=dark; __Host-bukti_session=abc=; other=1";
        assert_eq!(cookie(h, SESSION_COOKIE), Some("abc="));
        assert_eq!(cookie(h, "missing"), None);
        assert_eq!(cookie("__Host-bukti_sessionx=1", SESSION_COOKIE), None);
    }
}
