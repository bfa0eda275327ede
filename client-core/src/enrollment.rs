//! Enrollment codes: the one-time codes an approver gives an officer so a phone can enroll, and
//! the message the phone signs with its new Ed25519 key to prove it holds the key it registers.
//!
//! A code is 12 characters of Crockford's base32 (60 bits), shown as `XXXX-XXXX-XXXX`. Reading is
//! forgiving the way people type from paper or read over a radio: case, spaces and dashes are
//! ignored, and `I`/`L` read as `1`, `O` as `0`. The server stores only the SHA-256 of the
//! normalised code, so a leaked database does not leak usable codes.

/// The 32 symbols of Crockford's base32: no I, L, O or U.
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Symbols in a code.
pub const CODE_LEN: usize = 12;
/// What a QR code for enrollment holds: `bukti:enroll?server=<url>&code=<code>`.
pub const URI_PREFIX: &str = "bukti:enroll?";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidCode {
    #[error("an enrollment code has 12 letters and digits (like 7K3Q-9XMD-2PVA); this one has {0}")]
    Length(usize),
    #[error("{0:?} cannot appear in an enrollment code; check the code you were given")]
    Symbol(char),
    #[error("this QR code is not a Bukti enrollment code")]
    NotEnrollmentUri,
}

/// The canonical form of a typed or scanned code: 12 upper-case symbols, no separators.
pub fn normalize(input: &str) -> Result<String, InvalidCode> {
    let mut out = String::with_capacity(CODE_LEN);
    for c in input.chars() {
        if c == '-' || c.is_whitespace() {
            continue;
        }
        let c = match c.to_ascii_uppercase() {
            'I' | 'L' => '1',
            'O' => '0',
            c => c,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
            return Err(InvalidCode::Symbol(c));
        }
        out.push(c);
    }
    if out.len() == CODE_LEN {
        Ok(out)
    } else {
        Err(InvalidCode::Length(out.len()))
    }
}

/// A normalised code as people read it: `XXXX-XXXX-XXXX`.
pub fn display(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// The code from 12 random symbol indices (the caller supplies the randomness).
pub fn from_indices(indices: [u8; CODE_LEN]) -> String {
    indices
        .iter()
        .map(|i| char::from(ALPHABET[usize::from(i % 32)]))
        .collect()
}

/// The bytes an enrolling device signs with its Ed25519 key: binds the code, the actor id the
/// device will write with and the public key, so a captured request cannot be replayed with
/// another actor or key.
pub fn signing_message(code: &str, actor_id_hex: &str, public_key_hex: &str) -> Vec<u8> {
    format!("bukti-enroll-v1\n{code}\n{actor_id_hex}\n{public_key_hex}").into_bytes()
}

/// The text of an enrollment QR code.
pub fn uri(server: &str, code: &str) -> String {
    format!("{URI_PREFIX}server={server}&code={}", display(code))
}

/// What a scanned QR code says: the server (if present) and the normalised code.
pub fn parse_uri(text: &str) -> Result<(Option<String>, String), InvalidCode> {
    let query = text
        .trim()
        .strip_prefix(URI_PREFIX)
        .ok_or(InvalidCode::NotEnrollmentUri)?;
    let (mut server, mut code) = (None, None);
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("server", v)) if !v.is_empty() => server = Some(v.to_owned()),
            Some(("code", v)) => code = Some(normalize(v)?),
            _ => {}
        }
    }
    Ok((server, code.ok_or(InvalidCode::NotEnrollmentUri)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_mistakes_people_make_are_forgiven() {
        assert_eq!(normalize("7k3q-9xmd-2pva"), Ok("7K3Q9XMD2PVA".into()));
        assert_eq!(normalize(" 7K3Q 9XMD 2PVA "), Ok("7K3Q9XMD2PVA".into()));
        assert_eq!(normalize("OIL0-0000-0000"), Ok("011000000000".into()));
    }

    #[test]
    fn wrong_codes_say_what_is_wrong() {
        assert_eq!(normalize("7K3Q-9XMD"), Err(InvalidCode::Length(8)));
        assert_eq!(normalize("7K3Q-9XMD-2PVA-1"), Err(InvalidCode::Length(13)));
        assert_eq!(normalize("7K3Q-9XMD-2PVU"), Err(InvalidCode::Symbol('U')));
        assert_eq!(
            normalize("7K3Q-9XMD-2PV\u{e9}"),
            Err(InvalidCode::Symbol('\u{e9}'))
        );
        assert_eq!(normalize(""), Err(InvalidCode::Length(0)));
    }

    #[test]
    fn generated_codes_normalise_to_themselves() {
        let code = from_indices([0, 1, 2, 3, 31, 30, 29, 28, 100, 200, 255, 7]);
        assert_eq!(normalize(&display(&code)), Ok(code.clone()));
        assert_eq!(display(&code).len(), 14);
    }

    #[test]
    fn qr_uri_round_trips() {
        let code = "7K3Q9XMD2PVA";
        let text = uri("https://bukti.polres-buleleng.id", code);
        assert_eq!(
            parse_uri(&text),
            Ok((Some("https://bukti.polres-buleleng.id".into()), code.into()))
        );
        assert_eq!(
            parse_uri("https://evil.example/?code=x"),
            Err(InvalidCode::NotEnrollmentUri)
        );
        assert_eq!(
            parse_uri("bukti:enroll?server=x"),
            Err(InvalidCode::NotEnrollmentUri)
        );
    }

    #[test]
    fn the_signed_message_binds_every_part() {
        let a = signing_message("C", "aa", "bb");
        assert_ne!(a, signing_message("C", "ab", "bb"));
        assert_ne!(a, signing_message("C", "aa", "bc"));
        assert_ne!(a, signing_message("D", "aa", "bb"));
    }
}
