//! Parties: households, people and organisations — owners of houses and lessees. Their names, ID-card
//! numbers, phones and addresses are private; the HTTP edge decides who sees them.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection, PgExecutor};

use super::parcels::stale_or_missing;
use super::{Page, StoreResult};

#[derive(Debug, Clone, FromRow)]
pub struct PartyRow {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub id_number: Option<String>,
    pub credit_code: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const SELECT: &str = "select id, kind, name, id_number, credit_code, phone, address, version, created_at, updated_at
                      from parties";

#[derive(Debug, Default, Clone)]
pub struct PartyFilter {
    pub kind: Option<String>,
    /// Name that contains this, or ID number / credit code that starts with it.
    pub q: Option<String>,
}

pub async fn list(ex: impl PgExecutor<'_>, filter: &PartyFilter, page: Page) -> sqlx::Result<Vec<PartyRow>> {
    sqlx::query_as(&format!(
        "{SELECT}
         where id > $1 and ($2::text is null or kind = $2)
           and ($3::text is null or strpos(name, $3) > 0 or id_number like $3 || '%' or credit_code like $3 || '%')
         order by id limit $4"
    ))
    .bind(page.after)
    .bind(&filter.kind)
    .bind(&filter.q)
    .bind(page.limit + 1)
    .fetch_all(ex)
    .await
}

pub async fn get(ex: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<PartyRow>> {
    sqlx::query_as(&format!("{SELECT} where id = $1")).bind(id).fetch_optional(ex).await
}

/// A checked party, new or replacing an existing one's fields.
#[derive(Debug, Clone)]
pub struct PartyFields {
    pub kind: String,
    pub name: String,
    pub id_number: Option<String>,
    pub credit_code: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
}

pub async fn insert(conn: &mut PgConnection, p: &PartyFields) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into parties (kind, name, id_number, credit_code, phone, address)
         values ($1, $2, $3, $4, $5, $6) returning id",
    )
    .bind(&p.kind)
    .bind(&p.name)
    .bind(&p.id_number)
    .bind(&p.credit_code)
    .bind(&p.phone)
    .bind(&p.address)
    .fetch_one(conn)
    .await
}

/// Replaces the party's fields if it is still at `version`.
pub async fn update(conn: &mut PgConnection, id: i64, version: i32, p: &PartyFields) -> StoreResult<()> {
    let updated = sqlx::query(
        "update parties set kind = $3, name = $4, id_number = $5, credit_code = $6, phone = $7, address = $8
         where id = $1 and version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(&p.kind)
    .bind(&p.name)
    .bind(&p.id_number)
    .bind(&p.credit_code)
    .bind(&p.phone)
    .bind(&p.address)
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 1 {
        return Ok(());
    }
    stale_or_missing(conn, "parties", "party", id, version).await
}
