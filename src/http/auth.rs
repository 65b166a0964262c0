//! Who is calling: each request's [`Caller`], from its session cookie (the web page) or its bearer token
//! (scripts); anyone else is `public`. Also the routes that log in and out, make and revoke tokens,
//! manage accounts, and register investors' interest.
//!
//! Sessions are HttpOnly, SameSite=Strict cookies that expire; tokens are revocable. Both are random
//! secrets kept in the database only as their SHA-256. Failed logins are slowed down per account and per
//! address (see `store::access::take_login_attempt`), never locked out for good.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::json::Json;
use super::query::{NoQuery, Query};
use super::routes::{Allow, Endpoint, route};
use super::two_factor::Pending;
use super::{AppState, Error, Problem, Result};
use crate::domain::accounts::{UserIn, check_user};
use crate::domain::checks::{Checks, paragraphs, text};
use crate::domain::credentials::{self, check_password, decoy_hash, hash_password, new_secret, secret_digest};
use crate::domain::identity::check_phone;
use crate::domain::roles::Role;
use crate::domain::township::TownshipCode;
use crate::store::access::{self, Holder, TokenScope, UserChanges, UserRow};
use crate::store::{self};
use utoipa_axum::routes;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "farmhouse_session";

/// The caller of a request. Anyone not logged in is a `Public` caller without a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub role: Role,
    pub user_id: Option<i64>,
    pub username: Option<String>,
    /// The party an investor acts for.
    pub party_id: Option<i64>,
    /// The townships an officer or official is limited to; empty: the whole district.
    pub townships: Vec<String>,
}

impl Default for Caller {
    fn default() -> Self {
        Self { role: Role::Public, user_id: None, username: None, party_id: None, townships: Vec::new() }
    }
}

impl Caller {
    /// How the history records this caller: `officer:li.ming`, or `public`.
    pub fn actor(&self) -> String {
        match &self.username {
            Some(name) => format!("{}:{name}", self.role),
            None => self.role.to_string(),
        }
    }

    fn of(holder: Holder) -> Caller {
        Caller {
            role: holder.role,
            user_id: Some(holder.user_id),
            username: Some(holder.username),
            party_id: holder.party_id,
            townships: holder.townships,
        }
    }

    /// Whether the caller may act in (or read the private records of) `township`.
    pub fn covers(&self, township: &str) -> bool {
        self.townships.is_empty() || self.townships.iter().any(|t| t == township)
    }

    /// The role whose view of a record of `township` the caller gets: outside the townships of an account
    /// limited to some, the public's (no private data).
    pub fn role_in(&self, township: &str) -> Role {
        if self.covers(township) { self.role } else { Role::Public }
    }

    /// Refuses a caller limited to other townships than `township` (403 naming it).
    pub fn in_scope(&self, township: &str) -> Result<()> {
        if self.covers(township) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "township {township} is outside the townships of this account ({})",
                self.townships.join(", ")
            )))
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> std::result::Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Caller>().cloned().unwrap_or_default())
    }
}

/// Recently seen secrets and their callers, so a logged-in map does not ask the database on every tile.
/// An entry lives [`Callers::TTL`]; logging out, revoking and account changes drop entries at once.
#[derive(Default)]
pub struct Callers {
    entries: Mutex<HashMap<[u8; 32], (Seen, Instant)>>,
}

/// What a secret stands for: its caller, a sign-in still pending its second factor (the caller is then the
/// public), and whether it is a read-only token.
#[derive(Debug, Clone)]
struct Seen {
    caller: Caller,
    pending: Option<Pending>,
    read_only: bool,
}

impl Callers {
    const TTL: Duration = Duration::from_secs(10);
    const MAX_ENTRIES: usize = 10_000;

    fn get(&self, digest: &[u8; 32]) -> Option<Seen> {
        let entries = self.entries.lock().expect("callers lock");
        entries.get(digest).filter(|(_, at)| at.elapsed() < Self::TTL).map(|(c, _)| c.clone())
    }

    fn put(&self, digest: [u8; 32], caller: Seen) {
        let mut entries = self.entries.lock().expect("callers lock");
        if entries.len() >= Self::MAX_ENTRIES {
            entries.retain(|_, (_, at)| at.elapsed() < Self::TTL);
            if entries.len() >= Self::MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(digest, (caller, Instant::now()));
    }

    /// Whether `headers` carry a session or token found valid within the last [`Callers::TTL`]: asks
    /// nothing of the database (the request budget uses it to leave signed-in callers uncounted).
    pub fn recognises(&self, headers: &HeaderMap) -> bool {
        let Ok(Some(Credential::Bearer(secret) | Credential::Cookie(secret))) = credential(headers) else {
            return false;
        };
        self.get(&secret_digest(&secret)).is_some()
    }

    pub(crate) fn forget(&self, digest: &[u8]) {
        if let Ok(d) = <[u8; 32]>::try_from(digest) {
            self.entries.lock().expect("callers lock").remove(&d);
        }
    }

    fn forget_user(&self, user: i64) {
        self.entries
            .lock()
            .expect("callers lock")
            .retain(|_, (c, _)| c.caller.user_id != Some(user) && c.pending.as_ref().is_none_or(|p| p.user_id != user));
    }
}

enum Credential {
    Bearer(String),
    Cookie(String),
}

/// The credential a request carries: `Authorization: Bearer <token>` (the scheme in any case, RFC 7235
/// §2.1), else the session cookie. An `Authorization` header this service cannot use — another scheme
/// (Basic, Digest …), no token, bytes that are not text — is an error saying what is wrong with it: treating
/// it as no login at all would hide the client's mistake behind answers for the public.
fn credential(headers: &HeaderMap) -> std::result::Result<Option<Credential>, &'static str> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(session_cookie(headers).map(Credential::Cookie));
    };
    let value = value.to_str().map_err(|_| "is not plain text")?.trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err("only the Bearer scheme is taken (`Authorization: Bearer <token>`)");
    }
    match token.trim() {
        "" => Err("the Bearer scheme needs a token"),
        token => Ok(Some(Credential::Bearer(token.to_string()))),
    }
}

/// The secret of the session cookie the request carries, if any.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string())
}

/// Finds the caller of every request. A bearer token that is not valid is refused (401); a session cookie
/// that is not valid (expired, logged out) is ignored, so the public map still works. A caller already
/// set by an outer layer is kept (no request from outside can set one).
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if req.extensions().get::<Caller>().is_some() {
        return next.run(req).await;
    }
    let credential = match credential(req.headers()) {
        Ok(c) => c,
        Err(message) => {
            return Problem::new(StatusCode::UNAUTHORIZED, format!("Authorization: {message}"))
                .with_errors(vec![crate::domain::FieldError::new("Authorization", message)])
                .into_response();
        }
    };
    let seen = match credential {
        None => None,
        Some(Credential::Bearer(secret)) => match caller_for(&state, &secret, true).await {
            Ok(Some(c)) => Some(c),
            Ok(None) => return Error::Unauthorized("the bearer token is unknown or revoked".into()).into_response(),
            Err(e) => return e.into_response(),
        },
        Some(Credential::Cookie(secret)) => match caller_for(&state, &secret, false).await {
            Ok(c) => c,
            Err(e) => return e.into_response(),
        },
    };
    let Some(seen) = seen else {
        req.extensions_mut().insert(Caller::default());
        return next.run(req).await;
    };
    if seen.read_only && !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        let message = "this token is read-only (scope read): it may only GET";
        return Problem::new(StatusCode::FORBIDDEN, message)
            .with_errors(vec![crate::domain::FieldError::new("Authorization", message)])
            .with_code("read_only_token")
            .into_response();
    }
    if let Some(p) = seen.pending {
        req.extensions_mut().insert(p);
    }
    req.extensions_mut().insert(seen.caller);
    next.run(req).await
}

async fn caller_for(state: &AppState, secret: &str, token: bool) -> Result<Option<Seen>> {
    let digest = secret_digest(secret);
    if let Some(c) = state.callers.get(&digest) {
        return Ok(Some(c));
    }
    let holder = if token {
        access::token_holder(&state.pool, &digest).await?
    } else {
        access::session_holder(&state.pool, &digest).await?
    };
    let seen = holder.map(|h| seen_of(state, h));
    if let Some(c) = &seen {
        state.callers.put(digest, c.clone());
    }
    Ok(seen)
}

/// The caller of a valid secret: a session pending its second factor acts as the public.
fn seen_of(state: &AppState, holder: Holder) -> Seen {
    let pending = super::two_factor::pending(state, &holder);
    let read_only = holder.scope == TokenScope::Read;
    let caller = if pending.is_some() { Caller::default() } else { Caller::of(holder) };
    Seen { caller, pending, read_only }
}

/// The address a request came from, when the server knows it.
pub struct PeerAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> std::result::Result<Self, Self::Rejection> {
        Ok(PeerAddr(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())))
    }
}

// ---------------------------------------------------------------------------------------------------
// Sessions

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginIn {
    pub username: String,
    pub password: String,
}

/// Who the caller is.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub role: Role,
    pub username: Option<String>,
    pub user_id: Option<i64>,
    /// When the session ends (for a login).
    pub expires_at: Option<DateTime<Utc>>,
    /// The townships the account is limited to; empty: the whole district.
    pub townships: Vec<String>,
    /// Set while the sign-in waits for its second factor (the role is then `public`): `required` (send
    /// the code to `POST /api/v1/auth/totp`) or `enrol` (enrol one first, `POST /api/v1/auth/totp/enrol`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub second_factor: Option<String>,
}

/// Logs in: answers with an HttpOnly, SameSite=Strict session cookie. After repeated failures the next
/// attempt must wait (429 with Retry-After).
#[utoipa::path(post, path = "/api/v1/session", tag = "access", request_body = LoginIn,
    responses((status = 200, body = Me, headers(("set-cookie" = String))), (status = 401, body = Problem),
              (status = 429, body = Problem)))]
pub async fn login(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    Json(input): Json<LoginIn>,
) -> Result<Response> {
    let username = input.username.trim().to_lowercase();
    let mut keys = vec![format!("user:{}", username.chars().take(100).collect::<String>())];
    if let Some(ip) = peer {
        keys.push(format!("addr:{ip}"));
    }
    // The attempt counts as a failure before its password is checked, so parallel guesses cannot all
    // pass the count; a success takes it back below.
    let at = match access::take_login_attempt(&state.pool, &keys).await? {
        access::LoginAttempt::Counted { at } => at,
        access::LoginAttempt::Refused { wait_seconds } => {
            let mut res = Error::TooManyRequests(format!("too many failed logins; try again in {wait_seconds} s"))
                .into_response();
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait_seconds));
            return Ok(res);
        }
    };
    let record = access::login_record(&state.pool, &username).await?;
    let password = input.password.clone();
    let hash = record.as_ref().map_or_else(|| decoy_hash().to_string(), |(_, h)| h.clone());
    let matches = tokio::task::spawn_blocking(move || credentials::verify_password(&password, &hash))
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("password check failed: {e}")))?;
    let Some((user, _)) = record.filter(|_| matches) else {
        return Err(Error::Unauthorized("wrong user name or password".into()).with_code("login_failed"));
    };
    access::login_succeeded(&state.pool, &keys[0], &keys[1..], at).await?;
    let secret = new_secret("");
    let lifetime = chrono::Duration::from_std(state.session_lifetime).unwrap_or(chrono::Duration::hours(12));
    let address = peer.map(|p| p.to_string()).unwrap_or_default();
    let expires_at = access::start_session(&state.pool, user, &secret_digest(&secret), lifetime, &address).await?;
    let holder = access::session_holder(&state.pool, &secret_digest(&secret)).await?;
    let seen =
        holder.map(|h| seen_of(&state, h)).ok_or_else(|| Error::Unauthorized("the account is disabled".into()))?;
    let cookie = format!(
        "{SESSION_COOKIE}={secret}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        state.session_lifetime.as_secs(),
        if state.secure_cookies { "; Secure" } else { "" }
    );
    let mut me = Me {
        role: seen.caller.role,
        username: seen.caller.username,
        user_id: seen.caller.user_id,
        expires_at: Some(expires_at),
        townships: seen.caller.townships,
        second_factor: None,
    };
    if let Some(p) = seen.pending {
        me.username = Some(p.username.clone());
        me.user_id = Some(p.user_id);
        me.second_factor = Some(p.step().to_string());
    }
    Ok(([(header::SET_COOKIE, cookie)], axum::Json(me)).into_response())
}

/// Who the caller is (`public` when not logged in; a sign-in waiting for its second factor says so).
#[utoipa::path(get, path = "/api/v1/session", tag = "access", responses((status = 200, body = Me)))]
pub async fn me(caller: Caller, pending: Option<axum::Extension<Pending>>) -> axum::Json<Me> {
    let pending = pending.map(|axum::Extension(p)| p);
    axum::Json(Me {
        role: caller.role,
        username: caller.username.or_else(|| pending.as_ref().map(|p| p.username.clone())),
        user_id: caller.user_id.or_else(|| pending.as_ref().map(|p| p.user_id)),
        expires_at: None,
        townships: caller.townships,
        second_factor: pending.map(|p| p.step().to_string()),
    })
}

/// Logs out: ends the session and clears its cookie.
#[utoipa::path(delete, path = "/api/v1/session", tag = "access", responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    if let Some(secret) = session_cookie(&headers) {
        let digest = secret_digest(&secret);
        access::end_session(&state.pool, &digest).await?;
        state.callers.forget(&digest);
    }
    let clear = format!(
        "{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}",
        if state.secure_cookies { "; Secure" } else { "" }
    );
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

// ---------------------------------------------------------------------------------------------------
// Tokens

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: i64,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// `full`, or `read` (GET only).
    pub scope: TokenScope,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NewToken {
    pub id: i64,
    /// The token: shown this once, send it as `Authorization: Bearer <token>`.
    pub token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenIn {
    /// What the token is for.
    #[serde(default)]
    pub label: String,
    /// `full` (the default: anything the account may do) or `read` (GET only).
    pub scope: Option<String>,
}

fn user_of(caller: &Caller) -> Result<i64> {
    caller.user_id.ok_or_else(|| Error::Unauthorized("log in first".into()))
}

/// Makes a token to call the API as oneself (`scope: "read"`: GET only). A sign-in that needs a second
/// factor makes tokens only after passing it.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "access", request_body = TokenIn,
    responses((status = 201, body = NewToken), (status = 401, body = Problem)))]
pub async fn make_token(State(state): State<AppState>, caller: Caller, Json(input): Json<TokenIn>) -> Result<Response> {
    let user = user_of(&caller)?;
    let label = text(&input.label, 0, 100).map_err(|e| Error::invalid("label", e))?;
    let scope = match input.scope.as_deref() {
        None | Some("full") => TokenScope::Full,
        Some("read") => TokenScope::Read,
        Some(other) => return Err(Error::invalid("scope", format!("must be full or read, not {other:?}"))),
    };
    let (id, token) = access::issue_scoped_token(&state.pool, &caller.actor(), user, &label, scope).await?;
    Ok((StatusCode::CREATED, axum::Json(NewToken { id, token })).into_response())
}

/// One's own tokens (never their secrets).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "access", responses((status = 200, body = Vec<TokenView>)))]
pub async fn tokens(State(state): State<AppState>, caller: Caller, _: NoQuery) -> Result<axum::Json<Vec<TokenView>>> {
    let rows = access::tokens(&state.pool, user_of(&caller)?).await?;
    Ok(axum::Json(
        rows.into_iter()
            .map(|t| TokenView {
                id: t.id,
                label: t.label,
                created_at: t.created_at,
                last_used_at: t.last_used_at,
                revoked_at: t.revoked_at,
                scope: t.scope,
            })
            .collect(),
    ))
}

/// Revokes a token (one's own; an admin, anyone's).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "access", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn revoke_token(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>) -> Result<StatusCode> {
    let owner = if caller.role == Role::Admin { None } else { Some(user_of(&caller)?) };
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    let digest = access::revoke_token(&mut tx, id, owner).await?;
    tx.commit().await?;
    state.callers.forget(&digest);
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------------------
// Accounts (admins)

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub party_id: Option<i64>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    /// The townships the account is limited to; empty: the whole district.
    pub townships: Vec<String>,
    /// Whether the account has a second factor (TOTP) enrolled.
    pub second_factor: bool,
    /// How many of its API tokens are not revoked.
    pub active_tokens: i64,
}

impl From<UserRow> for UserView {
    fn from(u: UserRow) -> Self {
        Self {
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            role: u.role,
            party_id: u.party_id,
            disabled: u.disabled_at.is_some(),
            created_at: u.created_at,
            townships: u.townships,
            second_factor: u.second_factor,
            active_tokens: u.active_tokens,
        }
    }
}

/// Accounts.
#[utoipa::path(get, path = "/api/v1/users", tag = "access", responses((status = 200, body = Vec<UserView>)))]
pub async fn users(State(state): State<AppState>, _: NoQuery) -> Result<axum::Json<Vec<UserView>>> {
    Ok(axum::Json(access::users(&state.pool).await?.into_iter().map(Into::into).collect()))
}

/// Add an account.
#[utoipa::path(post, path = "/api/v1/users", tag = "access", request_body = UserIn,
    responses((status = 201, body = UserView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn add_user(State(state): State<AppState>, caller: Caller, Json(input): Json<UserIn>) -> Result<Response> {
    let new = tokio::task::spawn_blocking(move || check_user(&input))
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("{e}")))??;
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    let id = access::add_user(&mut tx, &new).await?;
    tx.commit().await?;
    let user = access::user(&state.pool, id).await?.ok_or_else(|| Error::NotFound(format!("user {id}")))?;
    Ok((StatusCode::CREATED, axum::Json(UserView::from(user))).into_response())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub role: Option<String>,
    pub password: Option<String>,
    pub disabled: Option<bool>,
    /// `true` removes the account's second factor and recovery codes (a lost phone): its sessions and
    /// tokens end, and its next sign-in enrols a new one where its role requires it.
    pub reset_second_factor: Option<bool>,
    /// The townships (9-digit codes) an officer's or official's account is limited to, instead of the
    /// ones it had; `[]`: the whole district. Its sessions and tokens end.
    pub townships: Option<Vec<String>>,
    /// `true` revokes every API token of the account (its sessions stay).
    pub revoke_tokens: Option<bool>,
}

/// Changes an account. Disabling it, or changing its role, password or townships, ends its sessions and tokens.
///
/// So does `reset_second_factor` (a lost phone), which removes the account's second factor;
/// `revoke_tokens` revokes its API tokens only.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "access", request_body = UserPatch, params(("id" = i64, Path)),
    responses((status = 200, body = UserView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn change_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(input): Json<UserPatch>,
) -> Result<axum::Json<UserView>> {
    let mut c = Checks::default();
    let role = input.role.as_deref().and_then(|r| {
        c.check(
            "role",
            r.parse::<Role>()
                .and_then(|r| if r == Role::Public { Err("public is not an account role".to_string()) } else { Ok(r) }),
        )
    });
    if let Some(p) = &input.password {
        c.check("password", check_password(p));
    }
    let display_name = input.display_name.as_deref().and_then(|d| c.check("display_name", text(d, 0, 100)));
    let townships = input.townships.as_ref().map(|list| {
        let mut codes: Vec<String> = list
            .iter()
            .enumerate()
            .filter_map(|(i, t)| c.check(&format!("townships[{i}]"), TownshipCode::parse(t)))
            .map(|code| code.as_str().to_string())
            .collect();
        codes.sort();
        codes.dedup();
        codes
    });
    c.finish(|| ())?;
    let current = access::user(&state.pool, id).await?.ok_or_else(|| Error::NotFound(format!("user {id}")))?;
    let scoped = townships.as_ref().map_or(!current.townships.is_empty(), |t| !t.is_empty());
    if scoped && !matches!(role.unwrap_or(current.role), Role::Officer | Role::Official) {
        return Err(Error::invalid("townships", "only an officer's or official's account is limited to townships"));
    }
    let password_hash = match input.password {
        Some(p) => Some(
            tokio::task::spawn_blocking(move || hash_password(&p))
                .await
                .map_err(|e| Error::Internal(anyhow::anyhow!("{e}")))?,
        ),
        None => None,
    };
    let changes = UserChanges { display_name, role, password_hash, disabled: input.disabled, party_id: None };
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    access::change_user(&mut tx, id, &changes).await?;
    if input.reset_second_factor == Some(true) {
        store::two_factor::reset(&mut tx, id).await?;
    }
    if let Some(codes) = &townships {
        access::set_townships(&mut tx, id, codes).await?;
    }
    if input.revoke_tokens == Some(true) {
        access::revoke_tokens(&mut tx, id).await?;
    }
    tx.commit().await?;
    state.callers.forget_user(id);
    let user = access::user(&state.pool, id).await?.ok_or_else(|| Error::NotFound(format!("user {id}")))?;
    Ok(axum::Json(user.into()))
}

// ---------------------------------------------------------------------------------------------------
// Interests (意向登记)

#[derive(Debug, Serialize, ToSchema)]
pub struct InterestView {
    pub id: i64,
    pub listing_id: i64,
    pub farmhouse_id: i64,
    pub unit_number: String,
    /// The listing's title, and where the house is (with the names in Hanyu Pinyin).
    pub listing_title: String,
    pub township_name: String,
    pub township_name_pinyin: Option<String>,
    pub village: String,
    pub village_pinyin: Option<String>,
    pub username: String,
    pub display_name: String,
    /// The investor's contact (officers, and the investor).
    pub contact_phone: Option<String>,
    pub message: String,
    pub created_at: DateTime<Utc>,
}

impl From<access::InterestRow> for InterestView {
    fn from(i: access::InterestRow) -> Self {
        Self {
            id: i.id,
            listing_id: i.listing_id,
            farmhouse_id: i.farmhouse_id,
            unit_number: i.unit_number,
            listing_title: i.listing_title,
            township_name: i.township_name,
            township_name_pinyin: i.township_name_pinyin,
            village: i.village,
            village_pinyin: i.village_pinyin,
            username: i.username,
            display_name: i.display_name,
            contact_phone: i.contact_phone,
            message: i.message,
            created_at: i.created_at,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InterestIn {
    pub contact_phone: Option<String>,
    #[serde(default)]
    pub message: String,
}

/// An investor registers interest in an open listing; officers follow up.
#[utoipa::path(post, path = "/api/v1/listings/{id}/interest", tag = "listings", request_body = InterestIn,
    params(("id" = i64, Path)),
    responses((status = 201, body = InterestView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn register_interest(
    State(state): State<AppState>,
    caller: Caller,
    Path(listing): Path<i64>,
    Json(input): Json<InterestIn>,
) -> Result<Response> {
    let user = user_of(&caller)?;
    let mut c = Checks::default();
    if let Some(p) = &input.contact_phone {
        c.check("contact_phone", check_phone(p));
    }
    let message = c.check("message", paragraphs(&input.message, 0, 1000));
    c.finish(|| ())?;
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    let id =
        access::register_interest(&mut tx, listing, user, input.contact_phone.as_deref(), &message.unwrap_or_default())
            .await?;
    tx.commit().await?;
    let row = access::interest(&state.pool, id).await?.ok_or_else(|| Error::NotFound(format!("interest {id}")))?;
    Ok((StatusCode::CREATED, axum::Json(InterestView::from(row))).into_response())
}

/// The interests registered in a listing (officers).
#[utoipa::path(get, path = "/api/v1/listings/{id}/interests", tag = "listings", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<InterestView>)))]
pub async fn listing_interests(
    State(state): State<AppState>,
    Path(listing): Path<i64>,
    _: NoQuery,
) -> Result<axum::Json<Vec<InterestView>>> {
    Ok(axum::Json(access::interests(&state.pool, Some(listing), None).await?.into_iter().map(Into::into).collect()))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InterestQuery {
    pub listing: Option<i64>,
}

/// Interests: an investor sees their own; officers see all.
#[utoipa::path(get, path = "/api/v1/interests", tag = "listings", params(InterestQuery),
    responses((status = 200, body = Vec<InterestView>)))]
pub async fn interests(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<InterestQuery>,
) -> Result<axum::Json<Vec<InterestView>>> {
    let only = if caller.role == Role::Officer { None } else { Some(user_of(&caller)?) };
    Ok(axum::Json(access::interests(&state.pool, q.listing, only).await?.into_iter().map(Into::into).collect()))
}

/// The routes of this module, with who may call them.
pub fn routes() -> Vec<Endpoint> {
    vec![
        route(routes!(register_interest), Allow::INVESTORS),
        route(routes!(listing_interests), Allow::OFFICERS),
        route(routes!(interests), Allow::INVESTORS_AND_OFFICERS),
        route(routes!(me), Allow::Everyone),
        route(routes!(login), Allow::Everyone),
        route(routes!(logout), Allow::Everyone),
        route(routes!(tokens), Allow::SIGNED_IN),
        route(routes!(make_token), Allow::SIGNED_IN),
        route(routes!(revoke_token), Allow::SIGNED_IN),
        route(routes!(users), Allow::ADMINS),
        route(routes!(add_user), Allow::ADMINS),
        route(routes!(change_user), Allow::ADMINS),
    ]
}
