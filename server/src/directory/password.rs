//! Password hashing for web sign-in: argon2id with the crate's recommended parameters, stored as
//! a PHC string so the parameters can be raised later without breaking existing hashes.

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};

use super::DirectoryError;

/// Shortest password accepted.
pub const MIN_LEN: usize = 10;

pub fn hash(password: &str) -> Result<String, DirectoryError> {
    if password.chars().count() < MIN_LEN {
        return Err(DirectoryError::Invalid(format!(
            "a password needs at least {MIN_LEN} characters"
        )));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| DirectoryError::Invalid(format!("cannot hash the password: {e}")))
}

/// Whether `password` matches the stored PHC string. A malformed stored hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Spends the same work as a real check, so a wrong NRP answers no faster than a wrong password.
pub fn burn(password: &str) {
    let _ = verify(password, DUMMY);
}

const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$8Xq9E3bP8Qx0m7pWcbJ4qg2u4B5n0Yt3sVq1x2n7d9A";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn right_and_wrong_passwords() {
        let h = hash("kapolsek-sawan-2026").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("kapolsek-sawan-2026", &h));
        assert!(!verify("kapolsek-sawan-2025", &h));
        assert!(!verify("kapolsek-sawan-2026", "not a hash"));
        assert!(hash("short").is_err());
        // The dummy must parse, or `burn` would skip the work it exists to do.
        assert!(PasswordHash::new(DUMMY).is_ok());
    }
}
