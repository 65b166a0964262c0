//! The second factor of signing in: time-based one-time codes (TOTP, RFC 6238: HMAC-SHA1, 6 digits, 30 s
//! steps, as every authenticator app reads them from an `otpauth://` URI or its QR code), and recovery codes
//! for a lost phone.
//!
//! A user's TOTP secret is kept sealed: XORed with a pad drawn from the service's own key (a file beside the
//! signing keys, never in the database) and a fresh nonce, so a dump of the database alone gives no working
//! codes. Recovery codes are kept as argon2id hashes, like passwords.

use base64::Engine;
use rand::Rng;
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Secret, Totp};

/// Length of a TOTP secret, in bytes (160 bits, as RFC 4226 recommends).
pub const SECRET_BYTES: usize = 20;
/// Length of the nonce a sealed secret is kept with.
pub const NONCE_BYTES: usize = 16;
/// Seconds per time step.
pub const STEP_SECONDS: u64 = 30;
/// How many recovery codes an enrolment gives.
pub const RECOVERY_CODES: usize = 10;

/// The service's key that seals TOTP secrets.
#[derive(Clone)]
pub struct SealingKey([u8; 32]);

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(…)")
    }
}

impl SealingKey {
    /// A fresh random key (a service that keeps none: tests, and codes then last as long as the process).
    pub fn random() -> Self {
        Self(rand::thread_rng().r#gen())
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    /// Reads a key written by [`SealingKey::to_base64`].
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let bytes =
            base64::engine::general_purpose::STANDARD.decode(text.trim()).map_err(|e| format!("not base64: {e}"))?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| "a key has 32 bytes".to_string())?;
        Ok(Self(bytes))
    }

    fn pad(&self, user: i64, nonce: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"farmhouse totp seal v1");
        h.update(self.0);
        h.update(user.to_be_bytes());
        h.update(nonce);
        h.finalize().into()
    }

    /// Seals `secret` of user `user`: returns (sealed, nonce).
    pub fn seal(&self, user: i64, secret: &[u8; SECRET_BYTES]) -> (Vec<u8>, Vec<u8>) {
        let nonce: [u8; NONCE_BYTES] = rand::thread_rng().r#gen();
        let pad = self.pad(user, &nonce);
        (secret.iter().zip(pad).map(|(s, p)| s ^ p).collect(), nonce.to_vec())
    }

    /// The secret of user `user` sealed as `sealed` with `nonce`.
    pub fn open(&self, user: i64, sealed: &[u8], nonce: &[u8]) -> Option<[u8; SECRET_BYTES]> {
        let pad = self.pad(user, nonce);
        let bytes: Vec<u8> = sealed.iter().zip(pad).map(|(s, p)| s ^ p).collect();
        bytes.try_into().ok()
    }
}

/// A new random TOTP secret.
pub fn new_secret() -> [u8; SECRET_BYTES] {
    rand::thread_rng().r#gen()
}

fn totp(secret: &[u8; SECRET_BYTES]) -> Totp {
    totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(STEP_SECONDS)
        .with_secret(Secret::new_stack(*secret))
        .build()
        .expect("6 digits, a 30 s step and a 160-bit secret are valid")
}

/// The time step of Unix time `seconds`.
pub fn step_of(seconds: u64) -> i64 {
    (seconds / STEP_SECONDS) as i64
}

/// The code of `secret` at time step `step`.
pub fn code_at(secret: &[u8; SECRET_BYTES], step: i64) -> String {
    totp(secret).generate(step.max(0) as u64 * STEP_SECONDS).to_string()
}

/// The time step whose code `code` is, within one step of `now_step` either side (a clock a little off),
/// and later than `after` (a code is taken once: never a step already used).
pub fn matching_step(secret: &[u8; SECRET_BYTES], code: &str, now_step: i64, after: Option<i64>) -> Option<i64> {
    let code = normalise_code(code);
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    (now_step - 1..=now_step + 1)
        .filter(|s| after.is_none_or(|a| *s > a))
        .find(|s| same(code_at(secret, *s).as_bytes(), code.as_bytes()))
}

/// A code as typed: spaces and dashes left out (`123 456`).
pub fn normalise_code(code: &str) -> String {
    code.chars().filter(|c| !c.is_whitespace() && *c != '-').collect()
}

/// Compares without leaking where two byte strings differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The secret in base32 (RFC 4648, no padding), as authenticator apps take it typed in.
pub fn base32(secret: &[u8; SECRET_BYTES]) -> String {
    Secret::new_stack(*secret).to_base32().trim_end_matches('=').to_string()
}

/// The `otpauth://` URI an authenticator app reads (Key Uri Format): issuer and account name label it.
pub fn otpauth_uri(secret: &[u8; SECRET_BYTES], issuer: &str, account: &str) -> String {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20");
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period={STEP_SECONDS}",
        enc(issuer),
        enc(account),
        base32(secret),
        enc(issuer)
    )
}

/// `text` as a QR code in SVG (black modules on white, a quiet zone of four), for the enrolment page;
/// drawn by the `qrcode` crate's SVG renderer.
pub fn qr_svg(text: &str) -> Result<String, String> {
    use qrcode::render::svg;
    let qr = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| format!("QR code: {e}"))?;
    Ok(qr
        .render::<svg::Color>()
        .quiet_zone(true)
        .module_dimensions(1, 1)
        .dark_color(svg::Color("#000"))
        .light_color(svg::Color("#fff"))
        .build())
}

/// `svg` as a `data:` URL for an `<img>`.
pub fn svg_data_url(svg: &str) -> String {
    format!("data:image/svg+xml;base64,{}", base64::engine::general_purpose::STANDARD.encode(svg))
}

/// New recovery codes: ten groups of `xxxxx-xxxxx` from an alphabet without look-alikes (50 bits each).
pub fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut s: String = (0..10).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect();
            s.insert(5, '-');
            s
        })
        .collect()
}

/// A recovery code as typed, in the form it is hashed in: lower case, without spaces or the dash.
pub fn normalise_recovery_code(code: &str) -> String {
    normalise_code(code).to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_rfc_6238() {
        // RFC 6238 appendix B, SHA-1, the last six digits of its eight-digit codes.
        let secret: [u8; 20] = *b"12345678901234567890";
        assert_eq!(code_at(&secret, step_of(59)), "287082");
        assert_eq!(code_at(&secret, step_of(1111111109)), "081804");
        assert_eq!(code_at(&secret, step_of(2000000000)), "279037");
        let now = step_of(1111111109);
        assert_eq!(matching_step(&secret, "081 804", now, None), Some(now));
        assert_eq!(matching_step(&secret, "081804", now + 1, None), Some(now), "a step behind is taken");
        assert_eq!(matching_step(&secret, "081804", now + 2, None), None, "two steps behind is not");
        assert_eq!(matching_step(&secret, "081804", now, Some(now)), None, "a step used is not taken again");
        assert_eq!(matching_step(&secret, "08180", now, None), None);
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_user() {
        let key = SealingKey::random();
        let secret = new_secret();
        let (sealed, nonce) = key.seal(7, &secret);
        assert_ne!(sealed, secret.to_vec());
        assert_eq!(key.open(7, &sealed, &nonce), Some(secret));
        assert_ne!(key.open(8, &sealed, &nonce), Some(secret));
        assert_ne!(SealingKey::random().open(7, &sealed, &nonce), Some(secret));
        let again = SealingKey::from_base64(&key.to_base64()).unwrap();
        assert_eq!(again.open(7, &sealed, &nonce), Some(secret));
    }

    #[test]
    fn the_uri_names_the_secret_in_base32() {
        let secret: [u8; 20] = *b"12345678901234567890";
        let uri = otpauth_uri(&secret, "农房登记", "li.ming");
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&"), "{uri}");
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.contains("<svg") && svg.contains("<path fill=\"#000\""), "{svg}");
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert!(codes.iter().all(|c| c.len() == 11 && c.as_bytes()[5] == b'-'));
        assert_eq!(normalise_recovery_code(" ABCDE-fghjk "), "abcdefghjk");
    }
}
