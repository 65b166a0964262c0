//! Passwords and secrets. Passwords are kept as argon2id PHC strings; session and token secrets are
//! random, shown to their owner once, and kept only as their SHA-256.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::{Digest, Sha256};

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Checks a new password: long enough, not all one character, no control characters.
pub fn check_password(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(format!("a password needs at least {MIN_PASSWORD_CHARS} characters; this has {n}"));
    }
    if n > 200 {
        return Err("a password has at most 200 characters".into());
    }
    if password.chars().any(char::is_control) {
        return Err("a password cannot contain control characters".into());
    }
    let first = password.chars().next();
    if password.chars().all(|c| Some(c) == first) {
        return Err("a password cannot repeat one character".into());
    }
    Ok(())
}

/// The argon2id hash of `password` with a fresh salt.
pub fn hash_password(password: &str) -> String {
    Argon2::default().hash_password(password.as_bytes()).expect("argon2 with default parameters").to_string()
}

/// Whether `password` matches `hash` (a PHC string).
pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), hash).is_ok()
}

/// A hash that no password matches, verified when the user does not exist so that a wrong name costs
/// the same time as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("no password is this one, ever"))
}

/// A new random secret with `prefix` (e.g. `fh_` for API tokens): 32 random bytes, base64url.
pub fn new_secret(prefix: &str) -> String {
    let bytes: [u8; 32] = rand::thread_rng().r#gen();
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// What is kept of a secret: its SHA-256.
pub fn secret_digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let h = hash_password("correct horse battery");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
        assert!(!verify_password("anything", decoy_hash()));
    }

    #[test]
    fn weak_passwords_are_refused() {
        assert!(check_password("short").is_err());
        assert!(check_password("aaaaaaaaaaaa").is_err());
        assert!(check_password("a reasonable one").is_ok());
    }

    #[test]
    fn secrets_are_long_random_and_kept_as_digests() {
        let (a, b) = (new_secret("fh_"), new_secret("fh_"));
        assert_ne!(a, b);
        assert!(a.starts_with("fh_") && a.len() == 46, "{a}");
        assert_eq!(secret_digest(&a), secret_digest(&a));
    }
}
