//! Two-factor sign-in (TOTP, RFC 6238) with codes computed by an independent implementation (Python's
//! pyotp), read-only tokens, and the cookies and HSTS of a service reached over HTTPS (behind a proxy, and
//! serving TLS itself).

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common;
use crate::common::TestDb;
use crate::common::api::{Api, Reply};
use farmhouse::domain::roles::Role;
use farmhouse::http::two_factor::SecondFactor;
use serde_json::{Value, json};

/// The service over `pool` on a free port, requiring a second factor of `required`.
async fn spawn(pool: sqlx::PgPool, required: &[Role]) -> Api {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut state = farmhouse::http::AppState::new(pool);
    state.second_factor = Arc::new(SecondFactor { required: required.to_vec(), ..SecondFactor::default() });
    tokio::spawn(farmhouse::http::serve(listener, state, std::future::pending()));
    Api::new(addr)
}

/// The code pyotp computes for the base32 `secret`, `ahead` seconds from now.
fn pyotp(secret: &str, ahead: u64) -> String {
    let script = "import pyotp, sys, time; print(pyotp.TOTP(sys.argv[1]).at(time.time() + int(sys.argv[2])))";
    let out = std::process::Command::new("python3")
        .args(["-c", script, secret, &ahead.to_string()])
        .output()
        .expect("python3 runs (scripts/install-deps.sh test installs pyotp)");
    assert!(out.status.success(), "pyotp: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A signed-in browser: the session cookie, sent as the page sends it (same origin).
struct Browser<'a> {
    api: &'a Api,
    cookie: String,
}

impl Browser<'_> {
    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.api
            .client
            .request(method, format!("{}{path}", self.api.base))
            .header("cookie", &self.cookie)
            .header("origin", &self.api.base)
    }

    async fn get(&self, path: &str) -> Reply {
        self.api.send(self.req(reqwest::Method::GET, path)).await
    }

    async fn post(&self, path: &str, body: &Value) -> Reply {
        self.api.send(self.req(reqwest::Method::POST, path).json(body)).await
    }

    async fn post_empty(&self, path: &str) -> Reply {
        self.api.send(self.req(reqwest::Method::POST, path)).await
    }
}

async fn sign_in<'a>(api: &'a Api, name: &str) -> (Browser<'a>, Reply) {
    let r = api.post("/api/v1/session", &json!({"username": name, "password": format!("{name}-password")})).await;
    let r = r.expect(200);
    let cookie = r.header("set-cookie").split(';').next().unwrap().to_string();
    (Browser { api, cookie }, r)
}

fn second_factor_required(r: Reply) {
    let r = r.expect(401);
    assert_eq!(r.body["code"], "second_factor_required", "{}", r.body);
}

/// The secret of an `otpauth://` URI, as an authenticator app reads it.
fn secret_of(uri: &str) -> String {
    let url = url::Url::parse(uri).unwrap();
    assert_eq!(url.scheme(), "otpauth");
    url.query_pairs().find(|(k, _)| k == "secret").map(|(_, v)| v.to_string()).expect("secret in the URI")
}

/// Enrols `browser`'s account; returns the secret (base32), the step-0 code used and the recovery codes.
async fn enrol(browser: &Browser<'_>) -> (String, String, Vec<String>) {
    let e = browser.post_empty("/api/v1/auth/totp/enrol").await.expect(200);
    let uri = e.body["otpauth_uri"].as_str().unwrap();
    assert!(e.body["qr_code"].as_str().unwrap().starts_with("data:image/svg+xml;base64,"));
    let secret = secret_of(uri);
    assert_eq!(secret, e.body["secret"].as_str().unwrap());
    let code = pyotp(&secret, 0);
    let c = browser.post("/api/v1/auth/totp/confirm", &json!({"code": code})).await.expect(200);
    let codes: Vec<String> =
        c.body["recovery_codes"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    assert_eq!(codes.len(), 10);
    assert_eq!(c.body["session"]["role"], "officer");
    (secret, code, codes)
}

#[tokio::test]
async fn an_officer_enrols_at_sign_in_then_signs_in_with_a_code_taken_once() {
    let db = TestDb::with_district().await;
    common::account(&db.pool, "li.ming", Role::Officer).await;
    let api = spawn(db.pool.clone(), &[Role::Officer, Role::Admin]).await;

    // An account of a role that requires a second factor, without one: the sign-in may only enrol.
    let (browser, r) = sign_in(&api, "li.ming").await;
    assert_eq!(r.body["second_factor"], "enrol");
    assert_eq!(r.body["role"], "public");
    assert_eq!(browser.get("/api/v1/session").await.body["second_factor"], "enrol");
    second_factor_required(browser.get("/api/v1/transactions").await);
    second_factor_required(browser.post("/api/v1/tokens", &json!({"label": "script"})).await);
    // No code can pass a factor not enrolled yet.
    browser.post("/api/v1/auth/totp", &json!({"code": "123456"})).await.expect(409);

    let (secret, used, _) = enrol(&browser).await;
    browser.get("/api/v1/transactions").await.expect(200);
    assert!(browser.get("/api/v1/session").await.body.get("second_factor").is_none());
    // Enrolled: a second enrolment is refused (the secret is never shown again).
    browser.post_empty("/api/v1/auth/totp/enrol").await.expect(409);
    let stored: Vec<u8> = sqlx::query_scalar("select secret_sealed from user_totp").fetch_one(&db.pool).await.unwrap();
    assert_ne!(stored, data_encoding_base32(&secret), "the secret is not stored in the clear");

    // The next sign-in asks for a code; the one used at enrolment is not taken again.
    let (browser, r) = sign_in(&api, "li.ming").await;
    assert_eq!(r.body["second_factor"], "required");
    second_factor_required(browser.get("/api/v1/transactions").await);
    let replay = browser.post("/api/v1/auth/totp", &json!({"code": used})).await.expect(422);
    assert_eq!(replay.body["field"], "code");
    let next = pyotp(&secret, 30);
    let me = browser.post("/api/v1/auth/totp", &json!({"code": next})).await.expect(200);
    assert_eq!(me.body["role"], "officer");
    assert_eq!(me.body["username"], "li.ming");
    browser.get("/api/v1/transactions").await.expect(200);
    // Tokens are made once the second factor is passed.
    browser.post("/api/v1/tokens", &json!({"label": "script"})).await.expect(201);
}

/// The base32 secret decoded (RFC 4648), to compare with what the database holds.
fn data_encoding_base32(secret: &str) -> Vec<u8> {
    let script =
        "import base64, sys; sys.stdout.write(base64.b32decode(sys.argv[1] + '=' * (-len(sys.argv[1]) % 8)).hex())";
    let out = std::process::Command::new("python3").args(["-c", script, secret]).output().unwrap();
    hex::decode(String::from_utf8(out.stdout).unwrap()).unwrap()
}

#[tokio::test]
async fn wrong_codes_are_slowed_down_and_recovery_codes_work_once() {
    let db = TestDb::with_district().await;
    common::account(&db.pool, "li.ming", Role::Officer).await;
    let api = spawn(db.pool.clone(), &[Role::Officer]).await;
    let (browser, _) = sign_in(&api, "li.ming").await;
    let (secret, _, recovery) = enrol(&browser).await;

    // Wrong codes: five are checked, then the next attempt must wait, even with the right code.
    let (browser, _) = sign_in(&api, "li.ming").await;
    for _ in 0..5 {
        let wrong = browser.post("/api/v1/auth/totp", &json!({"code": "000000"})).await.expect(422);
        assert_eq!((&wrong.body["field"], &wrong.body["code"]), (&json!("code"), &json!("totp_wrong_code")));
    }
    let waiting = browser.post("/api/v1/auth/totp", &json!({"code": pyotp(&secret, 30)})).await.expect(429);
    assert!(waiting.header("retry-after").parse::<u64>().unwrap() >= 1);
    second_factor_required(browser.get("/api/v1/transactions").await);

    // The wait over, a recovery code passes the second factor, once.
    sqlx::query("delete from login_failures").execute(&db.pool).await.unwrap();
    let me = browser.post("/api/v1/auth/totp", &json!({"recovery_code": recovery[0].to_uppercase()})).await;
    assert_eq!(me.expect(200).body["role"], "officer");
    browser.get("/api/v1/transactions").await.expect(200);
    let (browser, _) = sign_in(&api, "li.ming").await;
    let again = browser.post("/api/v1/auth/totp", &json!({"recovery_code": recovery[0]})).await.expect(422);
    assert_eq!(
        (&again.body["field"], &again.body["code"]),
        (&json!("recovery_code"), &json!("totp_wrong_recovery_code"))
    );
    browser.post("/api/v1/auth/totp", &json!({"code": "1", "recovery_code": "x"})).await.expect(422);
    browser.post("/api/v1/auth/totp", &json!({"recovery_code": recovery[1]})).await.expect(200);
    browser.get("/api/v1/transactions").await.expect(200);
}

#[tokio::test]
async fn certifying_is_refused_to_a_session_without_its_second_factor() {
    let db = TestDb::with_district().await;
    common::account(&db.pool, "li.ming", Role::Officer).await;
    let records = Api::new(common::spawn_app_as(db.pool.clone(), Role::Officer).await);
    let (_, t) = records.contracted(1).await;
    let api = spawn(db.pool.clone(), &[Role::Officer]).await;
    let (browser, _) = sign_in(&api, "li.ming").await;
    let (secret, _, _) = enrol(&browser).await;

    let (browser, _) = sign_in(&api, "li.ming").await;
    second_factor_required(browser.post(&format!("/api/v1/transactions/{t}/certify"), &json!({})).await);
    let count: i64 = sqlx::query_scalar("select count(*) from certifications").fetch_one(&db.pool).await.unwrap();
    assert_eq!(count, 0);
    browser.post("/api/v1/auth/totp", &json!({"code": pyotp(&secret, 30)})).await.expect(200);
    browser.post(&format!("/api/v1/transactions/{t}/certify"), &json!({})).await.expect(201);
}

#[tokio::test]
async fn roles_not_required_sign_in_with_the_password_until_they_enrol() {
    let db = TestDb::with_district().await;
    common::account(&db.pool, "wang", Role::Official).await;
    let api = spawn(db.pool.clone(), &[Role::Officer]).await;
    let (browser, r) = sign_in(&api, "wang").await;
    assert_eq!(r.body["role"], "official");
    assert!(r.body.get("second_factor").is_none());
    // An official may enrol of their own accord; from then on the code is asked for.
    let e = browser.post_empty("/api/v1/auth/totp/enrol").await.expect(200);
    let secret = secret_of(e.body["otpauth_uri"].as_str().unwrap());
    browser.post("/api/v1/auth/totp/confirm", &json!({"code": "12345"})).await.expect(422);
    browser.post("/api/v1/auth/totp/confirm", &json!({"code": pyotp(&secret, 0)})).await.expect(200);
    let (_, r) = sign_in(&api, "wang").await;
    assert_eq!(r.body["second_factor"], "required");
}

#[tokio::test]
async fn a_read_only_token_may_only_read() {
    let db = TestDb::with_district().await;
    common::account(&db.pool, "li.ming", Role::Officer).await;
    let api = spawn(db.pool.clone(), &[]).await;
    let (browser, _) = sign_in(&api, "li.ming").await;
    let bad = browser.post("/api/v1/tokens", &json!({"label": "x", "scope": "write"})).await.expect(422);
    assert_eq!(bad.body["field"], "scope");
    let made = browser.post("/api/v1/tokens", &json!({"label": "reports", "scope": "read"})).await.expect(201);
    let token = made.body["token"].as_str().unwrap();
    let listed = browser.get("/api/v1/tokens").await.expect(200);
    let mine = listed.body.as_array().unwrap().iter().find(|t| t["id"] == made.body["id"]).unwrap().clone();
    assert_eq!(mine["scope"], "read");

    let reader = Api::with_token(api.base.trim_start_matches("http://").parse().unwrap(), token);
    reader.get("/api/v1/transactions").await.expect(200);
    let refused = reader.post("/api/v1/farmhouses", &common::api::house_feature(1)).await.expect(403);
    assert_eq!(refused.body["code"], "read_only_token");
    assert_eq!(refused.body["field"], "Authorization");
    let r = reader.post("/api/v1/tokens", &json!({"label": "more"})).await.expect(403);
    assert_eq!(r.body["code"], "read_only_token");
}

/// The real binary on a free port with `args`, once `/health` answers over `scheme`; returns the process
/// and the port.
async fn serve_binary(db: &TestDb, keys: &std::path::Path, args: &[&str]) -> (std::process::Child, u16) {
    let port = common::free_port();
    let bind = format!("127.0.0.1:{port}");
    let service = std::process::Command::new(env!("CARGO_BIN_EXE_farmhouse"))
        .args(["serve", "--bind", &bind, "--database-url", &db.url, "--no-demo", "--signing-keys"])
        .arg(keys)
        .args(args)
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap();
    let started = Instant::now();
    while tokio::net::TcpStream::connect(&bind).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "the service did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (service, port)
}

#[tokio::test]
async fn behind_an_https_proxy_cookies_are_secure_and_hsts_is_sent() {
    let db = TestDb::with_district().await;
    common::account(&db.pool, "li.ming", Role::Officer).await;
    let keys = tempfile::tempdir().unwrap();
    let (mut service, port) =
        serve_binary(&db, keys.path(), &["--public-url", "https://registry.example", "--require-2fa", "none"]).await;
    let api = Api::new(format!("127.0.0.1:{port}").parse().unwrap());
    let health = api.get("/health").await;
    let r = api.post("/api/v1/session", &json!({"username": "li.ming", "password": "li.ming-password"})).await;
    service.kill().unwrap();
    service.wait().unwrap();
    assert_eq!(health.header("strict-transport-security"), "max-age=31536000");
    let r = r.expect(200);
    let cookie = r.header("set-cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(cookie.split("; ").any(|a| a == attribute), "{attribute} missing: {cookie}");
    }
    assert_eq!(r.header("strict-transport-security"), "max-age=31536000");
    // The key that seals second factors was made beside the signing keys, for the owner only.
    let mode = std::fs::metadata(keys.path().join("totp.key")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    // Over plain HTTP: neither.
    let plain = spawn(db.pool.clone(), &[]).await;
    let r = plain.post("/api/v1/session", &json!({"username": "li.ming", "password": "li.ming-password"})).await;
    let r = r.expect(200);
    assert!(!r.header("set-cookie").contains("Secure"), "{}", r.header("set-cookie"));
    assert!(r.headers.get("strict-transport-security").is_none());
}

#[tokio::test]
async fn the_service_serves_https_itself() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let db = TestDb::with_district().await;
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_pem, key_pem) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_pem, cert.cert.pem()).unwrap();
    std::fs::write(&key_pem, cert.signing_key.serialize_pem()).unwrap();
    let keys = dir.path().join("keys");
    let args = ["--tls-cert", cert_pem.to_str().unwrap(), "--tls-key", key_pem.to_str().unwrap()];
    let (mut service, port) = serve_binary(&db, &keys, &args).await;

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let mut answer = String::new();
    let started = Instant::now();
    while answer.is_empty() {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        match connector.connect(name, tcp).await {
            Ok(mut tls) => {
                tls.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
                let mut bytes = Vec::new();
                let _ = tls.read_to_end(&mut bytes).await;
                answer = String::from_utf8_lossy(&bytes).to_string();
            }
            Err(e) => assert!(started.elapsed() < Duration::from_secs(30), "no TLS: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Plain HTTP to the TLS port is not answered as HTTP.
    let plain = reqwest::Client::new().get(format!("http://127.0.0.1:{port}/health")).send().await;
    service.kill().unwrap();
    service.wait().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("strict-transport-security: max-age=31536000"), "{answer}");
    assert!(plain.is_err() || plain.unwrap().status() != 200);
}

#[tokio::test]
async fn an_admin_resets_a_lost_second_factor_and_the_account_enrols_again() {
    let db = TestDb::with_district().await;
    common::account(&db.pool, "li.ming", Role::Officer).await;
    let admin = common::account(&db.pool, "root", Role::Admin).await;
    let api = spawn(db.pool.clone(), &[Role::Officer]).await;
    let (browser, _) = sign_in(&api, "li.ming").await;
    enrol(&browser).await;
    let addr = api.base.trim_start_matches("http://").parse().unwrap();
    let root = Api::with_token(addr, &admin);
    let users = root.get("/api/v1/users").await.expect(200);
    let li = users.body.as_array().unwrap().iter().find(|u| u["username"] == "li.ming").unwrap().clone();
    assert_eq!(li["second_factor"], true);
    let id = li["id"].as_i64().unwrap();

    let changed = root.patch(&format!("/api/v1/users/{id}"), &json!({"reset_second_factor": true}), None).await;
    assert_eq!(changed.expect(200).body["second_factor"], false);
    // Its session ended; the next sign-in enrols a new second factor.
    assert_eq!(browser.get("/api/v1/session").await.body["role"], "public");
    let (browser, r) = sign_in(&api, "li.ming").await;
    assert_eq!(r.body["second_factor"], "enrol");
    enrol(&browser).await;

    // The same from the command line.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_farmhouse"))
        .args(["user", "reset-2fa", "li.ming", "--database-url", &db.url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let left: i64 = sqlx::query_scalar("select count(*) from user_totp").fetch_one(&db.pool).await.unwrap();
    assert_eq!(left, 0);
}
