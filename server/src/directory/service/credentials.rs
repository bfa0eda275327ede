//! Credentials the directory hands out: one-time enrollment codes, their redemption by a
//! device (its signed request checked, the code spent once), and web sessions from NRP and
//! password.

use super::*;

/// A freshly issued enrollment code (shown once) and what it enrolls.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IssuedCode {
    pub code: String,
    #[serde(with = "bukti_core::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: i64,
    pub officer: String,
    pub officer_name: String,
    pub unit: String,
    pub own_records_only: bool,
}

impl IssuedCode {
    /// What the QR code holds: the server address (when known) and the code.
    pub fn qr_text(&self, server_url: &str) -> String {
        enrollment::uri(server_url, &self.code)
    }
}

pub async fn issue_enrollment(
    store: &DynStore,
    scope: Option<&UnitPath>,
    issued_by: &str,
    nrp: &str,
    own_records_only: bool,
    ttl_minutes: Option<i64>,
) -> Result<IssuedCode, DirectoryError> {
    let person = visible_person(store, scope, nrp).await?;
    if !person.roles.has(Role::Officer) {
        return Err(DirectoryError::Invalid(format!(
            "{} ({nrp}) is not an officer; only officers capture evidence on a device",
            person.name
        )));
    }
    if person.disabled {
        return Err(DirectoryError::Invalid(format!("{nrp} is disabled")));
    }
    let ttl = ttl_minutes.unwrap_or(DEFAULT_CODE_TTL_MINUTES);
    if !(1..=7 * 24 * 60).contains(&ttl) {
        return Err(DirectoryError::Invalid(
            "a code may live from 1 minute to 7 days".into(),
        ));
    }
    let code = enrollment::from_indices(rand::rng().random());
    let expires_at = now_ms() + ttl * 60_000;
    store
        .insert_enrollment(&NewEnrollment {
            id: Uuid::now_v7(),
            code_hash: hash_token(&code),
            person: person.id,
            own_records_only,
            issued_by: issued_by.to_owned(),
            expires_at,
        })
        .await?;
    Ok(IssuedCode {
        code: enrollment::display(&code),
        expires_at,
        officer: person.nrp,
        officer_name: person.name,
        unit: person.unit.to_string(),
        own_records_only,
    })
}

fn hex_bytes<const N: usize>(what: &str, s: &str) -> Result<[u8; N], DirectoryError> {
    hex::decode(s)
        .ok()
        .and_then(|b| <[u8; N]>::try_from(b).ok())
        .ok_or_else(|| DirectoryError::Invalid(format!("{what} must be {N} bytes of hex")))
}

/// Redeems an enrollment code for a device: checks the key proof, spends the code and creates
/// the device's credential.
pub async fn enroll(
    store: &DynStore,
    req: &EnrollRequest,
) -> Result<EnrollResponse, DirectoryError> {
    let code =
        enrollment::normalize(&req.code).map_err(|e| DirectoryError::Invalid(e.to_string()))?;
    let actor_ok = matches!(hex::decode(&req.actor_id), Ok(b) if (1..=32).contains(&b.len()));
    if !actor_ok {
        return Err(DirectoryError::Invalid(
            "actor_id must be 1 to 32 bytes of hex".into(),
        ));
    }
    let name = check_name("device_name", &req.device_name, 100)?;
    let key = VerifyingKey::from_bytes(&hex_bytes::<32>("public_key", &req.public_key)?)
        .map_err(|_| DirectoryError::Invalid("public_key is not an Ed25519 key".into()))?;
    let signature = Signature::from_bytes(&hex_bytes::<64>("signature", &req.signature)?);
    let (actor, public_key) = (req.actor_id.to_lowercase(), req.public_key.to_lowercase());
    key.verify(
        &enrollment::signing_message(&code, &actor, &public_key),
        &signature,
    )
    .map_err(|_| {
        DirectoryError::Invalid(
            "the signature does not match the public key; the app may be damaged".into(),
        )
    })?;
    let (token, token_hash) = new_token();
    let device = EnrollingDevice {
        id: Uuid::now_v7(),
        name,
        actor_id: actor,
        public_key: key.to_bytes().to_vec(),
        token_hash,
    };
    let Enrolled {
        person,
        own_records_only,
    } = store
        .redeem_enrollment(&hash_token(&code), now_ms(), &device)
        .await?
        .map_err(|r: CodeRefusal| DirectoryError::Code(r.message()))?;
    Ok(EnrollResponse {
        device_id: device.id,
        token,
        unit: person.unit.to_string(),
        officer: person.nrp,
        officer_name: person.name,
        own_records_only,
        server_key: None,
    })
}

/// A new web session: the cookie value and its CSRF token.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub cookie: String,
    pub csrf: String,
    pub person: Person,
    pub expires_at: i64,
}

/// Checks an NRP and password; `None` for any mismatch (which one is not told).
pub async fn sign_in(
    store: &DynStore,
    nrp: &str,
    password: &str,
) -> Result<Option<NewSession>, DirectoryError> {
    let now = now_ms();
    let person = store.person_by_nrp(nrp).await?;
    let live = |p: &Person| !p.disabled && p.access_until.is_none_or(|until| now < until);
    let Some(person) = person.filter(live) else {
        password::burn(password);
        return Ok(None);
    };
    let Some(stored) = person.password_hash.as_deref() else {
        password::burn(password);
        return Ok(None);
    };
    if !password::verify(password, stored) {
        return Ok(None);
    }
    let session = NewSession {
        cookie: random_secret("bks_"),
        csrf: random_secret(""),
        expires_at: now + SESSION_HOURS * 3_600_000,
        person,
    };
    store
        .insert_session(
            &hash_token(&session.cookie),
            session.person.id,
            &session.csrf,
            now,
            session.expires_at,
        )
        .await?;
    Ok(Some(session))
}
