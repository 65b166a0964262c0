//! HTTPS: the service's own TLS (`serve --tls-cert/--tls-key`, rustls with ring: no OpenSSL), and the
//! Strict-Transport-Security header whenever the service is reached over HTTPS (served so, or behind a
//! reverse proxy with an `https://` `--public-url`).

use std::path::Path;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// What browsers are told: HTTPS only, for a year.
pub const HSTS: &str = "max-age=31536000";

/// Adds `Strict-Transport-Security` to every answer when `on` (the service is reached over HTTPS).
pub async fn strict_transport(on: bool, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    if on {
        res.headers_mut().insert(HeaderName::from_static("strict-transport-security"), HeaderValue::from_static(HSTS));
    }
    res
}

/// The TLS acceptor of the certificate chain in `cert` and its private key in `key` (both PEM), offering
/// HTTP/1.1.
pub fn acceptor(cert: &Path, key: &Path) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect)
        .map_err(|e| anyhow::anyhow!("--tls-cert {}: {e}", cert.display()))?;
    if certs.is_empty() {
        anyhow::bail!("--tls-cert {}: no certificate (PEM) in the file", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| anyhow::anyhow!("--tls-key {}: {e}", key.display()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| anyhow::anyhow!("--tls-cert and --tls-key: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}
