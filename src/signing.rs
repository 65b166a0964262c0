//! The district's signature on its certificates (docs/DESIGN.md §2.4): Ed25519 keys, a certificate's frozen
//! facts as a compact JWS (RFC 7515, `alg` `EdDSA` per RFC 8037), and the public keys as a JWK Set whose
//! `kid`s are the keys' RFC 7638 thumbprints, so anyone can check a certificate offline.
//!
//! The keys live in one folder (by default `data/keys/`), one PKCS#8 PEM file per key, named
//! `<UTC time of creation>-<kid>.pem`: the newest signs, the older ones stay published so certificates
//! signed before a rotation still verify. The folder and its files are readable by their owner only; they
//! are never part of the repository or of a database backup.

use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, spki::der::pem::LineEnding};
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, OctetKeyPairParameters,
    OctetKeyPairType, PublicKeyUse, ThumbprintHash,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not an Ed25519 private key in PKCS#8 PEM ({detail})")]
    BadKey { path: PathBuf, detail: String },
    #[error("{0}: holds no signing key")]
    NoKeys(PathBuf),
    /// The token is not a compact JWS, names a key the set lacks, or its signature does not match.
    #[error("{0}")]
    Invalid(String),
}

type Result<T> = std::result::Result<T, SigningError>;

/// One key pair.
struct Key {
    kid: String,
    encoding: EncodingKey,
    jwk: Jwk,
}

impl Key {
    fn new(signing: &SigningKey) -> Self {
        let x = base64_url(signing.verifying_key().as_bytes());
        let mut jwk = Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(KeyAlgorithm::EdDSA),
                ..CommonParameters::default()
            },
            algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                key_type: OctetKeyPairType::OctetKeyPair,
                curve: EllipticCurve::Ed25519,
                x,
            }),
        };
        let kid = jwk.thumbprint(ThumbprintHash::SHA256);
        jwk.common.key_id = Some(kid.clone());
        let der = signing.to_pkcs8_der().expect("an Ed25519 key encodes as PKCS#8");
        Self { kid, encoding: EncodingKey::from_ed_der(der.as_bytes()), jwk }
    }
}

/// The district's keys: the newest signs, all are published.
pub struct Keyring {
    /// Oldest first.
    keys: Vec<Key>,
}

impl Keyring {
    /// The keys in folder `dir`, creating the folder and a first key if it holds none (the first start).
    pub fn open_or_create(dir: &Path) -> Result<Self> {
        match Self::open(dir) {
            Err(SigningError::NoKeys(_)) => {
                rotate(dir)?;
                Self::open(dir)
            }
            other => other,
        }
    }

    /// The keys in folder `dir`; an error if there are none.
    pub fn open(dir: &Path) -> Result<Self> {
        let mut files = key_files(dir)?;
        files.sort();
        let keys = files
            .iter()
            .map(|path| {
                let pem =
                    std::fs::read_to_string(path).map_err(|source| SigningError::Io { path: path.clone(), source })?;
                let key = SigningKey::from_pkcs8_pem(&pem)
                    .map_err(|e| SigningError::BadKey { path: path.clone(), detail: e.to_string() })?;
                Ok(Key::new(&key))
            })
            .collect::<Result<Vec<_>>>()?;
        if keys.is_empty() {
            return Err(SigningError::NoKeys(dir.to_path_buf()));
        }
        Ok(Self { keys })
    }

    /// One key held in memory only, for a service without a key folder (tests, one-off tools).
    pub fn ephemeral() -> Self {
        Self { keys: vec![Key::new(&SigningKey::generate(&mut rand::rngs::OsRng))] }
    }

    /// The id of the key that signs.
    pub fn active_kid(&self) -> &str {
        &self.active().kid
    }

    fn active(&self) -> &Key {
        self.keys.last().expect("a keyring holds a key")
    }

    /// `payload` signed with the newest key, as a compact JWS.
    pub fn sign<T: Serialize>(&self, payload: &T) -> Result<String> {
        let key = self.active();
        let header = Header { typ: Some("JOSE".into()), kid: Some(key.kid.clone()), ..Header::new(Algorithm::EdDSA) };
        jsonwebtoken::encode(&header, payload, &key.encoding).map_err(|e| SigningError::Invalid(e.to_string()))
    }

    /// The public keys, oldest first.
    pub fn jwks(&self) -> JwkSet {
        JwkSet { keys: self.keys.iter().map(|k| k.jwk.clone()).collect() }
    }
}

/// A new key in folder `dir` (created, owner-only, if missing), which signs from the next start on.
/// Returns its id and file.
pub fn rotate(dir: &Path) -> Result<(String, PathBuf)> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SigningError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    restrict(dir, 0o700).map_err(io(dir))?;
    let signing = SigningKey::generate(&mut rand::rngs::OsRng);
    let key = Key::new(&signing);
    let pem = signing.to_pkcs8_pem(LineEnding::LF).expect("an Ed25519 key encodes as PKCS#8 PEM");
    // Named so that sorting by name sorts by age; the id says which key it is.
    let name = format!("{}-{}.pem", chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ"), key.kid);
    let path = dir.join(name);
    write_private(&path, pem.as_bytes()).map_err(io(&path))?;
    Ok((key.kid, path))
}

/// The facts of compact JWS `token` if it is signed by a key of `keys` (by its `kid`) with EdDSA.
pub fn verify<T: DeserializeOwned>(token: &str, keys: &JwkSet) -> Result<(String, T)> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| SigningError::Invalid(format!("not a JWS: {e}")))?;
    if header.alg != Algorithm::EdDSA {
        return Err(SigningError::Invalid(format!("signed with {:?}, not EdDSA", header.alg)));
    }
    let kid = header.kid.ok_or_else(|| SigningError::Invalid("the JWS names no key (kid)".into()))?;
    let jwk =
        keys.find(&kid).ok_or_else(|| SigningError::Invalid(format!("key {kid} is not among the published keys")))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| SigningError::Invalid(format!("key {kid}: {e}")))?;
    // The payload is a certificate's facts, not a token with an expiry: no claims are required.
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    let data = jsonwebtoken::decode::<T>(token, &key, &validation)
        .map_err(|e| SigningError::Invalid(format!("the signature does not match: {e}")))?;
    Ok((kid, data.claims))
}

fn key_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(SigningError::NoKeys(dir.to_path_buf())),
        Err(source) => return Err(SigningError::Io { path: dir.to_path_buf(), source }),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|source| SigningError::Io { path: dir.to_path_buf(), source })?.path();
        if path.extension().is_some_and(|e| e == "pem") {
            files.push(path);
        }
    }
    Ok(files)
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn restrict(_: &Path, _: u32) -> std::io::Result<()> {
    Ok(())
}

/// Writes a new file readable by its owner only (never replacing one).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_and_a_changed_payload_does_not() {
        let ring = Keyring::ephemeral();
        let token =
            ring.sign(&serde_json::json!({"certificate_no": "SY-JZ-2026-000001", "floor_area_m2": 120.5})).unwrap();
        let (kid, facts): (String, serde_json::Value) = verify(&token, &ring.jwks()).unwrap();
        assert_eq!(kid, ring.active_kid());
        assert_eq!(facts["floor_area_m2"], 120.5);

        let other = Keyring::ephemeral();
        assert!(verify::<serde_json::Value>(&token, &other.jwks()).is_err(), "another district's keys");
        let forged = ring.sign(&serde_json::json!({"floor_area_m2": 121.5})).unwrap();
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged_payload = forged.split('.').nth(1).unwrap();
        parts[1] = forged_payload;
        assert!(verify::<serde_json::Value>(&parts.join("."), &ring.jwks()).is_err(), "a payload swapped in");
    }

    #[test]
    fn rotation_keeps_old_keys_published_and_signs_with_the_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let first = Keyring::open_or_create(dir.path()).unwrap();
        let old = first.sign(&serde_json::json!({"n": 1})).unwrap();
        let (kid, _) = rotate(dir.path()).unwrap();
        let ring = Keyring::open(dir.path()).unwrap();
        assert_eq!(ring.active_kid(), kid);
        assert_eq!(ring.jwks().keys.len(), 2);
        assert!(verify::<serde_json::Value>(&old, &ring.jwks()).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            for f in key_files(dir.path()).unwrap() {
                assert_eq!(std::fs::metadata(f).unwrap().permissions().mode() & 0o777, 0o600);
            }
        }
    }
}
