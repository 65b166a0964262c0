//! Accounts, login sessions, API tokens, login throttling and investors' interests.

use chrono::{DateTime, Duration, Utc};
use sqlx::{FromRow, PgConnection, PgExecutor, PgPool};

use super::{Current, StoreError, StoreResult};
pub use crate::domain::accounts::NewUser;
use crate::domain::credentials::{new_secret, secret_digest};
use crate::domain::records::ListingStatus;
use crate::domain::roles::Role;

#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub party_id: Option<i64>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    /// The townships the account is limited to; empty: the whole district.
    pub townships: Vec<String>,
    /// Whether the account has a second factor enrolled.
    pub second_factor: bool,
    /// How many of its API tokens are not revoked.
    pub active_tokens: i64,
}

const USERS: &str = "select id, username, display_name, role, party_id, disabled_at, version, created_at,
                            array(select township_code::text from user_townships t where t.user_id = users.id
                                  order by 1) as townships,
                            exists (select 1 from user_totp f where f.user_id = users.id and f.enrolled_at is not null)
                                as second_factor,
                            (select count(*) from api_tokens k where k.user_id = users.id and k.revoked_at is null)
                                as active_tokens
                     from users";

pub async fn users(ex: impl PgExecutor<'_>) -> StoreResult<Vec<UserRow>> {
    sqlx::query_as(&format!("{USERS} order by id")).fetch_all(ex).await.map_err(Into::into)
}

pub async fn user(ex: impl PgExecutor<'_>, id: i64) -> StoreResult<Option<UserRow>> {
    sqlx::query_as(&format!("{USERS} where id = $1")).bind(id).fetch_optional(ex).await.map_err(Into::into)
}

pub async fn user_by_name(ex: impl PgExecutor<'_>, name: &str) -> StoreResult<Option<UserRow>> {
    sqlx::query_as(&format!("{USERS} where username = $1")).bind(name).fetch_optional(ex).await.map_err(Into::into)
}

/// Issues a new API token for `user`; returns its id and the secret (shown once, kept only as its digest).
pub async fn issue_token(pool: &PgPool, actor: &str, user: i64, label: &str) -> StoreResult<(i64, String)> {
    issue_scoped_token(pool, actor, user, label, TokenScope::Full).await
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum TokenScope {
    /// Anything its account may do.
    Full,
    /// Reading only: GET and HEAD.
    Read,
}

/// [`issue_token`] limited to `scope`.
pub async fn issue_scoped_token(
    pool: &PgPool,
    actor: &str,
    user: i64,
    label: &str,
    scope: TokenScope,
) -> StoreResult<(i64, String)> {
    let token = new_secret("fh_");
    let mut tx = super::begin_as(pool, actor).await?;
    let id: i64 = sqlx::query_scalar(
        "insert into api_tokens (secret_sha256, user_id, label, scope) values ($1, $2, $3, $4) returning id",
    )
    .bind(secret_digest(&token).as_slice())
    .bind(user)
    .bind(label)
    .bind(scope)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((id, token))
}

pub async fn add_user(conn: &mut PgConnection, u: &NewUser) -> StoreResult<i64> {
    let id = sqlx::query_scalar(
        "insert into users (username, display_name, role, password_hash, party_id) values ($1, $2, $3, $4, $5)
         returning id",
    )
    .bind(&u.username)
    .bind(&u.display_name)
    .bind(u.role)
    .bind(&u.password_hash)
    .bind(u.party_id)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("insert into user_townships (user_id, township_code) select $1, unnest($2::text[])")
        .bind(id)
        .bind(&u.townships)
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

/// Changes to an account; `None` keeps a field.
#[derive(Debug, Default, Clone)]
pub struct UserChanges {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub password_hash: Option<String>,
    pub disabled: Option<bool>,
    pub party_id: Option<Option<i64>>,
}

/// Applies `c` to user `id`. Disabling an account or changing its password or role ends its sessions
/// and revokes its tokens.
pub async fn change_user(conn: &mut PgConnection, id: i64, c: &UserChanges) -> StoreResult<()> {
    let updated = sqlx::query(
        "update users set display_name = coalesce($2, display_name), role = coalesce($3, role),
                password_hash = coalesce($4, password_hash),
                disabled_at = case when $5 is null then disabled_at when $5 then coalesce(disabled_at, now()) end,
                party_id = case when $6 then $7 else party_id end
         where id = $1",
    )
    .bind(id)
    .bind(&c.display_name)
    .bind(c.role)
    .bind(&c.password_hash)
    .bind(c.disabled)
    .bind(c.party_id.is_some())
    .bind(c.party_id.flatten())
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("user {id}")));
    }
    if c.disabled == Some(true) || c.password_hash.is_some() || c.role.is_some() {
        end_all_access(conn, id).await?;
    }
    Ok(())
}

/// Limits user `id` to `townships` (none: the whole district) and ends its sessions and tokens, which
/// carry the scope they were opened with.
pub async fn set_townships(conn: &mut PgConnection, id: i64, townships: &[String]) -> StoreResult<()> {
    sqlx::query("delete from user_townships where user_id = $1").bind(id).execute(&mut *conn).await?;
    sqlx::query("insert into user_townships (user_id, township_code) select $1, unnest($2::text[])")
        .bind(id)
        .bind(townships)
        .execute(&mut *conn)
        .await?;
    end_all_access(conn, id).await
}

/// Revokes every API token of user `id` (its sessions stay).
pub async fn revoke_tokens(conn: &mut PgConnection, id: i64) -> StoreResult<()> {
    sqlx::query("update api_tokens set revoked_at = now() where user_id = $1 and revoked_at is null")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends every session and revokes every token of user `id`.
pub async fn end_all_access(conn: &mut PgConnection, id: i64) -> StoreResult<()> {
    sqlx::query("delete from sessions where user_id = $1").bind(id).execute(&mut *conn).await?;
    sqlx::query("update api_tokens set revoked_at = now() where user_id = $1 and revoked_at is null")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The password hash of an enabled account, for logging in.
pub async fn login_record(ex: impl PgExecutor<'_>, username: &str) -> StoreResult<Option<(i64, String)>> {
    sqlx::query_as("select id, password_hash from users where username = $1 and disabled_at is null")
        .bind(username)
        .fetch_optional(ex)
        .await
        .map_err(Into::into)
}

/// The account a secret (session or token) belongs to, if it is valid now.
#[derive(Debug, Clone, FromRow)]
pub struct Holder {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    pub party_id: Option<i64>,
    /// The townships the account is limited to; empty: the whole district.
    pub townships: Vec<String>,
    /// Whether the session passed the second factor (a token: always, it was made by such a session).
    pub second_factor: bool,
    /// Whether the account has a second factor enrolled.
    pub enrolled: bool,
    /// What the secret may do (a session: everything).
    pub scope: TokenScope,
}

const ENROLLED_U: &str =
    "exists (select 1 from user_totp t2 where t2.user_id = u.id and t2.enrolled_at is not null) as enrolled";

const TOWNSHIPS_OF_U: &str = "array(select township_code::text from user_townships where user_id = u.id order by 1)";

pub async fn session_holder(ex: impl PgExecutor<'_>, digest: &[u8]) -> StoreResult<Option<Holder>> {
    sqlx::query_as(&format!(
        "select u.id as user_id, u.username, u.role, u.party_id, {TOWNSHIPS_OF_U} as townships,
                s.second_factor, {ENROLLED_U}, 'full' as scope
         from sessions s join users u on u.id = s.user_id
         where s.secret_sha256 = $1 and s.expires_at > now() and u.disabled_at is null"
    ))
    .bind(digest)
    .fetch_optional(ex)
    .await
    .map_err(Into::into)
}

pub async fn token_holder(pool: &PgPool, digest: &[u8]) -> StoreResult<Option<Holder>> {
    sqlx::query_as(&format!(
        "update api_tokens t set last_used_at = now() from users u
         where t.secret_sha256 = $1 and t.revoked_at is null and u.id = t.user_id and u.disabled_at is null
         returning u.id as user_id, u.username, u.role, u.party_id, {TOWNSHIPS_OF_U} as townships,
                   true as second_factor, {ENROLLED_U}, t.scope"
    ))
    .bind(digest)
    .fetch_optional(pool)
    .await
    .map_err(Into::into)
}

pub async fn start_session(
    ex: impl PgExecutor<'_>,
    user: i64,
    digest: &[u8],
    lifetime: Duration,
    address: &str,
) -> StoreResult<DateTime<Utc>> {
    sqlx::query_scalar(
        "insert into sessions (secret_sha256, user_id, expires_at, address) values ($1, $2, now() + $3, $4)
         returning expires_at",
    )
    .bind(digest)
    .bind(user)
    .bind(lifetime)
    .bind(address)
    .fetch_one(ex)
    .await
    .map_err(Into::into)
}

pub async fn end_session(ex: impl PgExecutor<'_>, digest: &[u8]) -> StoreResult<()> {
    sqlx::query("delete from sessions where secret_sha256 = $1").bind(digest).execute(ex).await?;
    Ok(())
}

/// Removes sessions that have expired (housekeeping).
pub async fn forget_expired_sessions(ex: impl PgExecutor<'_>) -> StoreResult<u64> {
    Ok(sqlx::query("delete from sessions where expires_at <= now()").execute(ex).await?.rows_affected())
}

#[derive(Debug, Clone, FromRow)]
pub struct TokenRow {
    pub id: i64,
    pub user_id: i64,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub scope: TokenScope,
}

pub async fn add_token(conn: &mut PgConnection, user: i64, digest: &[u8], label: &str) -> StoreResult<i64> {
    sqlx::query_scalar("insert into api_tokens (secret_sha256, user_id, label) values ($1, $2, $3) returning id")
        .bind(digest)
        .bind(user)
        .bind(label)
        .fetch_one(conn)
        .await
        .map_err(Into::into)
}

pub async fn tokens(ex: impl PgExecutor<'_>, user: i64) -> StoreResult<Vec<TokenRow>> {
    sqlx::query_as(
        "select id, user_id, label, created_at, last_used_at, revoked_at, scope from api_tokens where user_id = $1
         order by id",
    )
    .bind(user)
    .fetch_all(ex)
    .await
    .map_err(Into::into)
}

/// Revokes token `id` if it belongs to `owner` (any owner when `None`). Returns its digest.
pub async fn revoke_token(conn: &mut PgConnection, id: i64, owner: Option<i64>) -> StoreResult<Vec<u8>> {
    let digest: Option<Vec<u8>> = sqlx::query_scalar(
        "update api_tokens set revoked_at = coalesce(revoked_at, now())
         where id = $1 and ($2::bigint is null or user_id = $2) returning secret_sha256",
    )
    .bind(id)
    .bind(owner)
    .fetch_optional(conn)
    .await?;
    digest.ok_or_else(|| StoreError::NotFound(format!("token {id}")))
}

/// Failed logins before attempts are slowed down.
pub const FREE_FAILURES: i32 = 5;
/// The longest wait between attempts, however many failures.
pub const MAX_WAIT_SECONDS: i64 = 900;

/// A login attempt taken by [`take_login_attempt`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LoginAttempt {
    /// Some key is still waiting: the attempt was not counted; try again in this many seconds.
    Refused { wait_seconds: i64 },
    /// Counted as a failure until [`login_succeeded`] takes it back; taken at this database time.
    Counted { at: DateTime<Utc> },
}

/// Takes a login attempt for `keys` (`user:<name>`, `addr:<ip>`) before its password is checked: in one
/// transaction that locks the keys' rows, refuses if any key must still wait, else counts the attempt as
/// a failure. Parallel attempts therefore queue on the rows and each sees the ones before it, so at most
/// [`FREE_FAILURES`] passwords are checked before the first wait, however many arrive at once. After
/// [`FREE_FAILURES`] within a quarter of an hour, each further failure doubles the wait, up to
/// [`MAX_WAIT_SECONDS`].
pub async fn take_login_attempt(pool: &PgPool, keys: &[String]) -> StoreResult<LoginAttempt> {
    let mut keys = keys.to_vec();
    // One order for every transaction, so two attempts never wait on each other's rows crosswise.
    keys.sort();
    keys.dedup();
    let mut tx = pool.begin().await?;
    sqlx::query(
        "insert into login_failures (key, failures) select k, 0 from unnest($1::text[]) k order by k
         on conflict (key) do nothing",
    )
    .bind(&keys)
    .execute(&mut *tx)
    .await?;
    let waits: Vec<Option<f64>> = sqlx::query_scalar(
        "select extract(epoch from blocked_until - now())::float8 from login_failures
         where key = any($1) order by key for update",
    )
    .bind(&keys)
    .fetch_all(&mut *tx)
    .await?;
    if let Some(wait) = waits.into_iter().flatten().filter(|s| *s > 0.0).reduce(f64::max) {
        tx.rollback().await?;
        return Ok(LoginAttempt::Refused { wait_seconds: (wait.ceil() as i64).max(1) });
    }
    let at: DateTime<Utc> = sqlx::query_scalar(
        "update login_failures set
             failures = case when last_failure_at < now() - interval '15 minutes' then 1 else failures + 1 end,
             last_failure_at = now(),
             blocked_until = case
                 when last_failure_at >= now() - interval '15 minutes' and failures + 1 >= $2
                 then now() + make_interval(secs => least($3, power(2, failures + 1 - $2)))
                 else null end
         where key = any($1)
         returning now()",
    )
    .bind(&keys)
    .bind(FREE_FAILURES)
    .bind(MAX_WAIT_SECONDS as f64)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(LoginAttempt::Counted { at })
}

/// After a successful login: clears the account's key and takes the attempt counted at `at` back from the
/// other keys (the address), so logging in never slows anyone down. A wait the attempt itself set is
/// lifted; one set by a failure counted after it is kept, as that failure alone would have set it.
pub async fn login_succeeded(
    pool: &PgPool,
    user_key: &str,
    other_keys: &[String],
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("delete from login_failures where key = $1").bind(user_key).execute(&mut *tx).await?;
    sqlx::query(
        "update login_failures set
             failures = greatest(failures - 1, 0),
             blocked_until = case
                 when last_failure_at > $2 and failures - 1 >= $3
                 then last_failure_at + make_interval(secs => least($4, power(2, failures - 1 - $3)))
                 else null end
         where key = any($1) and key <> $5",
    )
    .bind(other_keys)
    .bind(at)
    .bind(FREE_FAILURES)
    .bind(MAX_WAIT_SECONDS as f64)
    .bind(user_key)
    .execute(&mut *tx)
    .await?;
    tx.commit().await.map_err(Into::into)
}

#[derive(Debug, Clone, FromRow)]
pub struct InterestRow {
    pub id: i64,
    pub listing_id: i64,
    pub farmhouse_id: i64,
    pub unit_number: String,
    pub listing_title: String,
    pub township_name: String,
    pub township_name_pinyin: Option<String>,
    pub village: String,
    pub village_pinyin: Option<String>,
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub contact_phone: Option<String>,
    pub message: String,
    pub created_at: DateTime<Utc>,
}

const INTERESTS: &str = "
    select i.id, i.listing_id, l.farmhouse_id, f.unit_number::text, l.title as listing_title,
           t.name as township_name, t.name_pinyin as township_name_pinyin, p.village,
           (select v.name_pinyin from villages v where v.township_code = f.township_code and v.name = p.village)
               as village_pinyin,
           i.user_id, u.username, u.display_name, i.contact_phone, i.message, i.created_at
    from interests i join listings l on l.id = i.listing_id join farmhouses f on f.id = l.farmhouse_id
    join parcels p on p.parcel_code = f.parcel_code join townships t on t.code = f.township_code
    join users u on u.id = i.user_id";

/// Interests, of one listing and/or one user.
pub async fn interests(
    ex: impl PgExecutor<'_>,
    listing: Option<i64>,
    user: Option<i64>,
) -> StoreResult<Vec<InterestRow>> {
    sqlx::query_as(&format!(
        "{INTERESTS} where ($1::bigint is null or i.listing_id = $1) and ($2::bigint is null or i.user_id = $2)
         order by i.id"
    ))
    .bind(listing)
    .bind(user)
    .fetch_all(ex)
    .await
    .map_err(Into::into)
}

pub async fn interest(ex: impl PgExecutor<'_>, id: i64) -> StoreResult<Option<InterestRow>> {
    sqlx::query_as(&format!("{INTERESTS} where i.id = $1")).bind(id).fetch_optional(ex).await.map_err(Into::into)
}

/// Registers `user`'s interest in open listing `listing`.
pub async fn register_interest(
    conn: &mut PgConnection,
    listing: i64,
    user: i64,
    contact_phone: Option<&str>,
    message: &str,
) -> StoreResult<i64> {
    let status: Option<ListingStatus> = sqlx::query_scalar("select status from listings where id = $1 for share")
        .bind(listing)
        .fetch_optional(&mut *conn)
        .await?;
    match status {
        None => return Err(StoreError::NotFound(format!("listing {listing}"))),
        Some(ListingStatus::Open) => {}
        Some(other) => {
            return Err(StoreError::conflict(
                format!("listing {listing} is {other}; interest is registered for open listings"),
                Current { listing_id: Some(listing), listing_status: Some(other), ..Current::default() },
            ));
        }
    }
    Ok(sqlx::query_scalar(
        "insert into interests (listing_id, user_id, contact_phone, message) values ($1, $2, $3, $4) returning id",
    )
    .bind(listing)
    .bind(user)
    .bind(contact_phone)
    .bind(message)
    .fetch_one(conn)
    .await?)
}
