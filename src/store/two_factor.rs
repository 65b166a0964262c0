//! Second factors: users' sealed TOTP secrets, their recovery codes (argon2id hashes), and sessions that
//! passed the second factor.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection, PgExecutor};

use super::StoreResult;

/// A user's TOTP enrolment.
#[derive(Debug, Clone, FromRow)]
pub struct TotpRow {
    pub secret_sealed: Vec<u8>,
    pub nonce: Vec<u8>,
    /// Unset while the enrolment waits for its first code.
    pub enrolled_at: Option<DateTime<Utc>>,
    pub last_step: Option<i64>,
}

pub async fn totp_of(ex: impl PgExecutor<'_>, user: i64) -> StoreResult<Option<TotpRow>> {
    sqlx::query_as("select secret_sealed, nonce, enrolled_at, last_step from user_totp where user_id = $1")
        .bind(user)
        .fetch_optional(ex)
        .await
        .map_err(Into::into)
}

/// Starts (or starts again) an enrolment with a new sealed secret. Returns false, changing nothing, when
/// the user is enrolled already.
pub async fn start_enrolment(ex: impl PgExecutor<'_>, user: i64, sealed: &[u8], nonce: &[u8]) -> StoreResult<bool> {
    let written = sqlx::query(
        "insert into user_totp (user_id, secret_sealed, nonce) values ($1, $2, $3)
         on conflict (user_id) do update set secret_sealed = excluded.secret_sealed, nonce = excluded.nonce,
             created_at = now(), last_step = null
         where user_totp.enrolled_at is null",
    )
    .bind(user)
    .bind(sealed)
    .bind(nonce)
    .execute(ex)
    .await?;
    Ok(written.rows_affected() == 1)
}

/// Takes time step `step` of the user's codes: false when it or a later one was taken already (a replay).
pub async fn take_step(ex: impl PgExecutor<'_>, user: i64, step: i64) -> StoreResult<bool> {
    let taken =
        sqlx::query("update user_totp set last_step = $2 where user_id = $1 and (last_step is null or last_step < $2)")
            .bind(user)
            .bind(step)
            .execute(ex)
            .await?;
    Ok(taken.rows_affected() == 1)
}

/// Completes an enrolment whose first code was of time step `step`, with new recovery codes (their
/// hashes) in place of any older ones. False when there was no enrolment waiting, or the step was taken.
pub async fn confirm_enrolment(conn: &mut PgConnection, user: i64, step: i64, hashes: &[String]) -> StoreResult<bool> {
    let confirmed = sqlx::query(
        "update user_totp set enrolled_at = now(), last_step = $2
         where user_id = $1 and enrolled_at is null and (last_step is null or last_step < $2)",
    )
    .bind(user)
    .bind(step)
    .execute(&mut *conn)
    .await?;
    if confirmed.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query("delete from recovery_codes where user_id = $1").bind(user).execute(&mut *conn).await?;
    sqlx::query("insert into recovery_codes (user_id, code_hash) select $1, unnest($2::text[])")
        .bind(user)
        .bind(hashes)
        .execute(&mut *conn)
        .await?;
    Ok(true)
}

/// The user's recovery codes not used yet: (id, argon2id hash).
pub async fn unused_recovery_codes(ex: impl PgExecutor<'_>, user: i64) -> StoreResult<Vec<(i64, String)>> {
    sqlx::query_as("select id, code_hash from recovery_codes where user_id = $1 and used_at is null order by id")
        .bind(user)
        .fetch_all(ex)
        .await
        .map_err(Into::into)
}

/// Marks recovery code `id` used; false when it was used meanwhile.
pub async fn use_recovery_code(ex: impl PgExecutor<'_>, id: i64) -> StoreResult<bool> {
    let used = sqlx::query("update recovery_codes set used_at = now() where id = $1 and used_at is null")
        .bind(id)
        .execute(ex)
        .await?;
    Ok(used.rows_affected() == 1)
}

/// Marks the session of `digest` as having passed the second factor.
pub async fn pass_session(ex: impl PgExecutor<'_>, digest: &[u8]) -> StoreResult<()> {
    sqlx::query("update sessions set second_factor = true where secret_sha256 = $1").bind(digest).execute(ex).await?;
    Ok(())
}

/// Removes the user's second factor and recovery codes (a lost phone: the admin's `user reset-2fa`), and
/// ends its sessions and tokens. Returns whether there was one.
pub async fn reset(conn: &mut PgConnection, user: i64) -> StoreResult<bool> {
    let removed = sqlx::query("delete from user_totp where user_id = $1").bind(user).execute(&mut *conn).await?;
    sqlx::query("delete from recovery_codes where user_id = $1").bind(user).execute(&mut *conn).await?;
    super::access::end_all_access(conn, user).await?;
    Ok(removed.rows_affected() == 1)
}
