//! The second factor of signing in (TOTP, RFC 6238) and the routes that enrol it and pass it.
//!
//! Where a role requires a second factor (`serve --require-2fa`, officers and admins by default), and for
//! every account that enrolled one, signing in with the password gives a session *pending* the second
//! factor: it acts as the public does, and every route for signed-in roles refuses it with 401 and the code
//! `second_factor_required` until it passes `POST /api/v1/auth/totp` (or, not enrolled yet, enrols with
//! `POST /api/v1/auth/totp/enrol` and `…/confirm`). API tokens are made by sessions only after that, so a
//! token of such an account stands for a signed-in user who passed the second factor.
//!
//! Wrong codes are slowed down as failed logins are (`store::access::take_login_attempt`, per account and
//! per address); each code is taken once (its time step is kept), and each recovery code once.

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::auth::{Caller, Me, PeerAddr, session_cookie};
use super::json::Json;
use super::routes::{Allow, Endpoint, route};
use super::{AppState, Error, Problem, Result};
use crate::domain::credentials::{hash_password, secret_digest, verify_password};
use crate::domain::roles::Role;
use crate::domain::totp::{self, SealingKey};
use crate::store::{access, two_factor};

/// The code of the problem answered to a session that has not passed a second factor it needs.
pub const SECOND_FACTOR_REQUIRED: &str = "second_factor_required";
/// The problem codes of a wrong second factor: a code the app does not show now, a code used already, a
/// recovery code that is not the account's (or was used).
pub const WRONG_CODE: &str = "totp_wrong_code";
pub const CODE_TAKEN: &str = "totp_code_taken";
pub const WRONG_RECOVERY_CODE: &str = "totp_wrong_recovery_code";

/// How the service asks for second factors.
#[derive(Debug, Clone)]
pub struct SecondFactor {
    /// The roles whose accounts must pass a second factor (accounts that enrolled one always must).
    pub required: Vec<Role>,
    /// Seals users' TOTP secrets in the database.
    pub key: SealingKey,
    /// The issuer an authenticator app shows beside the account name.
    pub issuer: String,
}

impl Default for SecondFactor {
    /// No role required (the embedding's and tests' default; `serve` requires officers and admins unless
    /// told otherwise), and a key of this process only.
    fn default() -> Self {
        Self { required: Vec::new(), key: SealingKey::random(), issuer: DEFAULT_ISSUER.into() }
    }
}

/// The issuer named in authenticator apps.
pub const DEFAULT_ISSUER: &str = "Farmhouse registry";

/// The roles `serve` requires a second factor of unless `--require-2fa` says otherwise.
pub const DEFAULT_REQUIRED: &str = "officer,admin";

/// Reads `--require-2fa`: roles separated by commas; `none` (or nothing) for none.
pub fn parse_required(text: &str) -> std::result::Result<Vec<Role>, String> {
    let mut roles = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty() && *n != "none") {
        let role: Role = name.parse()?;
        if matches!(role, Role::Public | Role::Investor) {
            return Err(format!("a second factor is required of staff and banks, not of the {role} role"));
        }
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    Ok(roles)
}

/// A session signed in with the password that still needs its second factor. Such a request's [`Caller`] is
/// the public; this extension says who is signing in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    /// Whether the account has a second factor (else it must enrol one).
    pub enrolled: bool,
}

impl Pending {
    /// What the session answer says is missing: `required` (a code) or `enrol`.
    pub fn step(&self) -> &'static str {
        if self.enrolled { "required" } else { "enrol" }
    }

    /// The refusal of a route for signed-in roles.
    pub fn refusal(&self) -> Response {
        let what = if self.enrolled {
            "enter the code of your authenticator app (POST /api/v1/auth/totp) to finish signing in"
        } else {
            "your account must enrol a second factor (POST /api/v1/auth/totp/enrol) before it may do this"
        };
        Problem::new(StatusCode::UNAUTHORIZED, format!("a second factor is required: {what}"))
            .with_code(SECOND_FACTOR_REQUIRED)
            .into_response()
    }
}

/// Whether a session of `holder` must still pass the second factor.
pub fn pending(state: &AppState, holder: &access::Holder) -> Option<Pending> {
    let needs = holder.enrolled || state.second_factor.required.contains(&holder.role);
    (needs && !holder.second_factor).then(|| Pending {
        user_id: holder.user_id,
        username: holder.username.clone(),
        role: holder.role,
        enrolled: holder.enrolled,
    })
}

/// The user asking, and the digest of their session: a session cookie is needed (a pending session, or
/// one signed in), not a token.
fn session_user(headers: &HeaderMap, caller: &Caller, pending: Option<&Pending>) -> Result<(i64, [u8; 32])> {
    let digest = session_cookie(headers).map(|s| secret_digest(&s)).ok_or_else(|| {
        Error::BadRequest(
            "a second factor is enrolled and passed by a session signed in with the password, not a token".into(),
        )
    })?;
    let user = pending
        .map(|p| p.user_id)
        .or(caller.user_id)
        .ok_or_else(|| Error::Unauthorized("sign in with your password first".into()))?;
    Ok((user, digest))
}

/// Takes an attempt at a code for `user` from `peer` (wrong codes are slowed down); returns the keys and
/// when it was taken, for [`succeeded`].
async fn attempt(
    state: &AppState,
    user: i64,
    peer: Option<std::net::IpAddr>,
) -> Result<std::result::Result<(Vec<String>, chrono::DateTime<chrono::Utc>), Response>> {
    let mut keys = vec![format!("totp:{user}")];
    if let Some(ip) = peer {
        keys.push(format!("addr:{ip}"));
    }
    match access::take_login_attempt(&state.pool, &keys).await? {
        access::LoginAttempt::Counted { at } => Ok(Ok((keys, at))),
        access::LoginAttempt::Refused { wait_seconds } => {
            let mut res =
                Error::TooManyRequests(format!("too many wrong codes; try again in {wait_seconds} s")).into_response();
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait_seconds));
            Ok(Err(res))
        }
    }
}

async fn succeeded(state: &AppState, keys: &[String], at: chrono::DateTime<chrono::Utc>) -> Result<()> {
    access::login_succeeded(&state.pool, &keys[0], &keys[1..], at).await?;
    Ok(())
}

fn now_step() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    totp::step_of(now.as_secs())
}

/// The session after it passed the second factor: marked so, and its cached caller dropped.
async fn pass(state: &AppState, digest: &[u8; 32]) -> Result<Me> {
    two_factor::pass_session(&state.pool, digest).await?;
    state.callers.forget(digest);
    let holder = access::session_holder(&state.pool, digest)
        .await?
        .ok_or_else(|| Error::Unauthorized("the session ended".into()))?;
    Ok(Me {
        role: holder.role,
        username: Some(holder.username),
        user_id: Some(holder.user_id),
        expires_at: None,
        townships: holder.townships,
        second_factor: None,
    })
}

/// What enrolling shows once: the secret for an authenticator app, as a URI, a QR code and typed text.
#[derive(Debug, Serialize, ToSchema)]
pub struct Enrolment {
    /// `otpauth://totp/…`: what the QR code holds.
    pub otpauth_uri: String,
    /// The QR code of the URI, as an SVG `data:` URL for an `<img>`.
    pub qr_code: String,
    /// The secret in base32, to type into an app that cannot scan.
    pub secret: String,
}

/// Starts enrolling a second factor (TOTP): a new secret, shown this once as a QR code and text. It takes
/// effect when a first code confirms it.
#[utoipa::path(post, path = "/api/v1/auth/totp/enrol", tag = "access",
    responses((status = 200, body = Enrolment), (status = 401, body = Problem), (status = 409, body = Problem)))]
pub async fn enrol(
    State(state): State<AppState>,
    caller: Caller,
    pending: Option<Extension<Pending>>,
    headers: HeaderMap,
) -> Result<axum::Json<Enrolment>> {
    let pending = pending.map(|Extension(p)| p);
    let (user, _) = session_user(&headers, &caller, pending.as_ref())?;
    let username = pending.as_ref().map(|p| p.username.clone()).or(caller.username).unwrap_or_default();
    let secret = totp::new_secret();
    let (sealed, nonce) = state.second_factor.key.seal(user, &secret);
    if !two_factor::start_enrolment(&state.pool, user, &sealed, &nonce).await? {
        return Err(Error::conflict(
            "this account has a second factor already; an admin resets it (farmhouse user reset-2fa) if the phone is lost",
            None,
        ));
    }
    let otpauth_uri = totp::otpauth_uri(&secret, &state.second_factor.issuer, &username);
    let svg = totp::qr_svg(&otpauth_uri).map_err(|e| Error::Internal(anyhow::anyhow!(e)))?;
    Ok(axum::Json(Enrolment { qr_code: totp::svg_data_url(&svg), secret: totp::base32(&secret), otpauth_uri }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmIn {
    /// The 6-digit code the authenticator app shows now.
    pub code: String,
}

/// The enrolment confirmed: the recovery codes, shown this once, and the session now signed in.
#[derive(Debug, Serialize, ToSchema)]
pub struct Confirmed {
    /// Ten one-time codes for when the phone is lost: keep them apart from it.
    pub recovery_codes: Vec<String>,
    pub session: Me,
}

/// Confirms an enrolment with a first code; answers the recovery codes (once). The session has then passed
/// the second factor.
#[utoipa::path(post, path = "/api/v1/auth/totp/confirm", tag = "access", request_body = ConfirmIn,
    responses((status = 200, body = Confirmed), (status = 401, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn confirm(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    caller: Caller,
    pending: Option<Extension<Pending>>,
    headers: HeaderMap,
    Json(input): Json<ConfirmIn>,
) -> Result<Response> {
    let pending = pending.map(|Extension(p)| p);
    let (user, digest) = session_user(&headers, &caller, pending.as_ref())?;
    let row = two_factor::totp_of(&state.pool, user).await?;
    let Some(row) = row.filter(|r| r.enrolled_at.is_none()) else {
        return Err(Error::conflict("no enrolment is waiting: start one with POST /api/v1/auth/totp/enrol", None));
    };
    let (keys, at) = match attempt(&state, user, peer).await? {
        Ok(taken) => taken,
        Err(refused) => return Ok(refused),
    };
    let secret = state.second_factor.key.open(user, &row.secret_sealed, &row.nonce);
    let step = secret.and_then(|s| totp::matching_step(&s, &input.code, now_step(), row.last_step));
    let Some(step) = step else {
        return Err(Error::invalid("code", "is not the code the authenticator app shows now").with_code(WRONG_CODE));
    };
    let codes = totp::new_recovery_codes();
    let plain: Vec<String> = codes.iter().map(|c| totp::normalise_recovery_code(c)).collect();
    let hashes = tokio::task::spawn_blocking(move || plain.iter().map(|c| hash_password(c)).collect::<Vec<_>>())
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("hashing recovery codes failed: {e}")))?;
    let actor = pending.as_ref().map_or_else(|| caller.actor(), |p| format!("{}:{}", p.role, p.username));
    let mut tx = crate::store::begin_as(&state.pool, &actor).await?;
    if !two_factor::confirm_enrolment(&mut tx, user, step, &hashes).await? {
        return Err(Error::invalid("code", "this code was taken already; wait for the next one").with_code(CODE_TAKEN));
    }
    tx.commit().await?;
    succeeded(&state, &keys, at).await?;
    let session = pass(&state, &digest).await?;
    Ok(axum::Json(Confirmed { recovery_codes: codes, session }).into_response())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecondStepIn {
    /// The 6-digit code the authenticator app shows now.
    pub code: Option<String>,
    /// Or one of the recovery codes (each works once).
    pub recovery_code: Option<String>,
}

/// The second step of signing in: a code of the authenticator app, or a recovery code. Wrong codes are
/// slowed down (429 with Retry-After); a code is taken once.
#[utoipa::path(post, path = "/api/v1/auth/totp", tag = "access", request_body = SecondStepIn,
    responses((status = 200, body = Me), (status = 401, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn second_step(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    caller: Caller,
    pending: Option<Extension<Pending>>,
    headers: HeaderMap,
    Json(input): Json<SecondStepIn>,
) -> Result<Response> {
    let pending = pending.map(|Extension(p)| p);
    let (user, digest) = session_user(&headers, &caller, pending.as_ref())?;
    let (code, recovery) = match (input.code.as_deref(), input.recovery_code.as_deref()) {
        (Some(c), None) => (Some(c), None),
        (None, Some(r)) => (None, Some(r)),
        (None, None) => {
            return Err(Error::invalid("code", "send the code of the authenticator app, or a recovery_code"));
        }
        (Some(_), Some(_)) => return Err(Error::invalid("recovery_code", "send either a code or a recovery_code")),
    };
    let Some(row) = two_factor::totp_of(&state.pool, user).await?.filter(|r| r.enrolled_at.is_some()) else {
        return Err(Error::conflict(
            "this account has no second factor: enrol one with POST /api/v1/auth/totp/enrol",
            None,
        ));
    };
    let (keys, at) = match attempt(&state, user, peer).await? {
        Ok(taken) => taken,
        Err(refused) => return Ok(refused),
    };
    if let Some(code) = code {
        let secret = state.second_factor.key.open(user, &row.secret_sealed, &row.nonce);
        let step = secret.and_then(|s| totp::matching_step(&s, code, now_step(), row.last_step));
        let taken = match step {
            Some(step) => two_factor::take_step(&state.pool, user, step).await?,
            None => false,
        };
        if !taken {
            return Err(Error::invalid(
                "code",
                "is not the code the authenticator app shows now (each code works once)",
            )
            .with_code(WRONG_CODE));
        }
    } else if let Some(recovery) = recovery {
        let typed = totp::normalise_recovery_code(recovery);
        let unused = two_factor::unused_recovery_codes(&state.pool, user).await?;
        let found = tokio::task::spawn_blocking(move || {
            unused.into_iter().find(|(_, hash)| verify_password(&typed, hash)).map(|(id, _)| id)
        })
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("checking recovery codes failed: {e}")))?;
        let used = match found {
            Some(id) => two_factor::use_recovery_code(&state.pool, id).await?,
            None => false,
        };
        if !used {
            return Err(Error::invalid("recovery_code", "is not a recovery code of this account, or was used")
                .with_code(WRONG_RECOVERY_CODE));
        }
    }
    succeeded(&state, &keys, at).await?;
    Ok(axum::Json(pass(&state, &digest).await?).into_response())
}

/// The routes of this module, with who may call them.
pub fn routes() -> Vec<Endpoint> {
    vec![
        route(routes!(enrol), Allow::SigningIn),
        route(routes!(confirm), Allow::SigningIn),
        route(routes!(second_step), Allow::SigningIn),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_required_roles_are_read_from_a_list() {
        assert_eq!(parse_required(DEFAULT_REQUIRED).unwrap(), vec![Role::Officer, Role::Admin]);
        assert_eq!(parse_required("none").unwrap(), Vec::<Role>::new());
        assert_eq!(parse_required("").unwrap(), Vec::<Role>::new());
        assert_eq!(parse_required(" bank, official ,bank").unwrap(), vec![Role::Bank, Role::Official]);
        assert!(parse_required("root").is_err());
        assert!(parse_required("investor").is_err());
    }
}
