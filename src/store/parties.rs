//! Parties: households, people and organisations — owners of houses and lessees. Their names, ID-card
//! numbers, phones and addresses are private; the HTTP edge decides who sees them.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection, PgExecutor};

use super::parcels::stale_or_missing;
use super::{Page, StoreResult};
use crate::domain::identity::PartyKind;

#[derive(Debug, Clone, FromRow)]
pub struct PartyRow {
    pub id: i64,
    pub kind: PartyKind,
    pub name: String,
    pub id_number: Option<String>,
    pub credit_code: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    /// A household's adult members whose consent a lease needs.
    pub members: Option<i16>,
    /// A village collective's township and village.
    pub township_code: Option<String>,
    pub village: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const SELECT: &str = "select id, kind, name, id_number, credit_code, phone, address, members,
                             township_code::text, village, version, created_at, updated_at
                      from parties";

#[derive(Debug, Default, Clone)]
pub struct PartyFilter {
    pub kind: Option<PartyKind>,
    /// A name that contains this, a credit code that starts with it, or an ID-card number as
    /// `id_numbers` says. Every match is literal: `%` and `_` are characters, never patterns.
    pub q: Option<String>,
    pub id_numbers: IdNumberMatch,
}

/// How a search may match ID-card numbers. A caller who sees them masked must not learn the hidden digits
/// by searching for them one at a time, so for them only the whole number matches.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum IdNumberMatch {
    #[default]
    Whole,
    Prefix,
}

pub async fn list(ex: impl PgExecutor<'_>, filter: &PartyFilter, page: Page) -> StoreResult<Vec<PartyRow>> {
    sqlx::query_as(&format!(
        "{SELECT}
         where id > $1 and ($2::text is null or kind = $2)
           and ($3::text is null or strpos(name, $3) > 0 or starts_with(credit_code, $3)
                or (case when $4 then starts_with(id_number, $3) else id_number = $3 end))
         order by id limit $5"
    ))
    .bind(page.after)
    .bind(filter.kind)
    .bind(&filter.q)
    .bind(filter.id_numbers == IdNumberMatch::Prefix)
    .bind(page.limit + 1)
    .fetch_all(ex)
    .await
    .map_err(Into::into)
}

pub async fn get(ex: impl PgExecutor<'_>, id: i64) -> StoreResult<Option<PartyRow>> {
    sqlx::query_as(&format!("{SELECT} where id = $1")).bind(id).fetch_optional(ex).await.map_err(Into::into)
}

pub use crate::domain::party::PartyFields;

pub async fn insert(conn: &mut PgConnection, p: &PartyFields) -> StoreResult<i64> {
    sqlx::query_scalar(
        "insert into parties (kind, name, id_number, credit_code, phone, address, members, township_code, village)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
    )
    .bind(p.kind)
    .bind(&p.name)
    .bind(&p.id_number)
    .bind(&p.credit_code)
    .bind(&p.phone)
    .bind(&p.address)
    .bind(p.members)
    .bind(&p.township_code)
    .bind(&p.village)
    .fetch_one(conn)
    .await
    .map_err(Into::into)
}

/// Replaces the party's fields if it is still at `version`.
pub async fn update(conn: &mut PgConnection, id: i64, version: i32, p: &PartyFields) -> StoreResult<()> {
    let updated = sqlx::query(
        "update parties set kind = $3, name = $4, id_number = $5, credit_code = $6, phone = $7, address = $8,
                            members = $9, township_code = $10, village = $11
         where id = $1 and version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(p.kind)
    .bind(&p.name)
    .bind(&p.id_number)
    .bind(&p.credit_code)
    .bind(&p.phone)
    .bind(&p.address)
    .bind(p.members)
    .bind(&p.township_code)
    .bind(&p.village)
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 1 {
        return Ok(());
    }
    stale_or_missing(conn, "parties", "party", id, version).await
}
