//! Who is asking. Every API request carries a bearer token; the server keeps only the token's
//! SHA-256 and resolves it to a [`Principal`]: a registered device (an officer's phone) or an HQ
//! user, each bound to a unit whose subtree is all it may see.

use axum::{extract::FromRequestParts, http::request::Parts};
use bukti_core::unit::UnitPath;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{AppState, error::ApiError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    Device,
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
    pub role: String,
    pub name: String,
    /// The caller sees this unit and everything below it.
    pub unit: UnitPath,
    pub officer: Option<String>,
    pub actor_id: Option<String>,
    pub revoked: bool,
}

impl Principal {
    /// The Automerge actor this principal writes server-side changes with (HQ reviews).
    pub fn actor(&self) -> automerge::ActorId {
        automerge::ActorId::from(self.id.as_bytes().as_slice())
    }
}

/// A principal about to be stored.
#[derive(Debug, Clone)]
pub struct NewPrincipal {
    pub id: Uuid,
    pub kind: PrincipalKind,
    pub role: String,
    pub name: String,
    pub unit: UnitPath,
    pub officer: Option<String>,
    pub actor_id: Option<String>,
    pub token_hash: Vec<u8>,
}

/// A fresh bearer token and the hash the store keeps of it.
pub fn new_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("bkt_{}", hex::encode(bytes));
    let hash = hash_token(&token);
    (token, hash)
}

pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| ApiError::Unauthorized("send `Authorization: Bearer <token>`".into()))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
            })?;
        let principal = state
            .store
            .principal_by_token_hash(&hash_token(token.trim()))
            .await?
            .ok_or_else(|| {
                ApiError::Unauthorized(
                    "unknown token: register the device or ask an administrator for a token".into(),
                )
            })?;
        if principal.revoked {
            return Err(ApiError::Unauthorized("this credential has been revoked; ask your administrator to enroll the device again".into()));
        }
        Ok(principal)
    }
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

/// A registered device.
#[derive(Debug, Clone)]
pub struct Device(pub Principal);

impl FromRequestParts<AppState> for Device {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let refusal = "this endpoint is for registered devices; HQ tokens cannot sync";
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
