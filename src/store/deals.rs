//! The parties, consent and papers of a deal, and its checklist (docs/DESIGN.md §2.5): who lets the house,
//! who agreed, which papers were seen. The checklist is the database's `deal_checklist`, which also guards
//! every certificate, so the service shows and enforces one list.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{FromRow, PgConnection, PgExecutor};

use super::{Current, StoreError, StoreResult};
use crate::domain::records::{ConsentKind, NewConsent, PaperKind, SafetyGrade, TransactionStatus};

/// The lessor of a new deal of house `house`: `given`, which must be the house's owner of record, or that
/// owner when none is given (empty when the house has none; its checklist then asks for one).
pub async fn lessor_of(conn: &mut PgConnection, house: i64, given: Option<i64>) -> StoreResult<Option<i64>> {
    let owner: Option<i64> = sqlx::query_scalar("select owner_party_id from farmhouses where id = $1")
        .bind(house)
        .fetch_one(&mut *conn)
        .await?;
    match (given, owner) {
        (Some(g), Some(o)) if g != o => Err(StoreError::invalid(
            "lessor_party_id",
            format!("party {g} is not the owner of record of the house (party {o}); the owner lets it"),
        )),
        (Some(g), None) => Err(StoreError::invalid(
            "lessor_party_id",
            format!("the house has no owner of record; record party {g} as its owner first"),
        )),
        (g, o) => Ok(g.or(o)),
    }
}

/// Names the lessor and the village collective of a deal recorded before the registry kept them. A deal
/// whose certificate is in force keeps the parties it states.
pub async fn set_parties(
    conn: &mut PgConnection,
    transaction: i64,
    lessor: Option<i64>,
    collective: Option<i64>,
) -> StoreResult<()> {
    let row: Option<(i64, TransactionStatus, Option<String>)> = sqlx::query_as(
        "select t.farmhouse_id, t.status, c.certificate_no from transactions t
         left join certifications c on c.transaction_id = t.id and c.revoked_at is null
         where t.id = $1 for update of t",
    )
    .bind(transaction)
    .fetch_optional(&mut *conn)
    .await?;
    let (house, status, certificate) = row.ok_or_else(|| StoreError::NotFound(format!("transaction {transaction}")))?;
    if let Some(no) = certificate {
        return Err(StoreError::conflict(
            format!("deal {transaction} is certified by {no}, which states its parties"),
            Current { transaction_id: Some(transaction), certificate_no: Some(no), ..Current::default() },
        ));
    }
    if status != TransactionStatus::Signed {
        return Err(StoreError::conflict(
            format!("deal {transaction} is {status}"),
            Current { transaction_id: Some(transaction), transaction_status: Some(status), ..Current::default() },
        ));
    }
    let lessor = lessor_of(conn, house, lessor).await?;
    sqlx::query("update transactions set lessor_party_id = $2, collective_party_id = $3 where id = $1")
        .bind(transaction)
        .bind(lessor)
        .bind(collective)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// One item of a deal's checklist.
#[derive(Debug, Clone, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct ChecklistItem {
    /// lessor, title, consent.household, consent.committee, consent.meeting, papers.lease_contract,
    /// papers.listing_entrustment, papers.id_copy, papers.appraisal_report, papers.safety_appraisal.
    pub item: String,
    pub satisfied: bool,
    pub detail: String,
}

/// The checklist of deal `transaction` (empty when there is no such deal).
pub async fn checklist(ex: impl PgExecutor<'_>, transaction: i64) -> StoreResult<Vec<ChecklistItem>> {
    sqlx::query_as("select item, satisfied, detail from deal_checklist($1)")
        .bind(transaction)
        .fetch_all(ex)
        .await
        .map_err(Into::into)
}

/// Refuses to certify a deal whose checklist has open items, naming them.
pub async fn check_ready(conn: &mut PgConnection, transaction: i64) -> StoreResult<()> {
    let open: Vec<ChecklistItem> =
        checklist(&mut *conn, transaction).await?.into_iter().filter(|i| !i.satisfied).collect();
    if open.is_empty() {
        return Ok(());
    }
    let detail = open.iter().map(|i| format!("{} ({})", i.item, i.detail)).collect::<Vec<_>>().join("; ");
    Err(StoreError::conflict(
        format!("deal {transaction} is not ready for its certificate: {detail}"),
        Current {
            transaction_id: Some(transaction),
            missing: Some(open.into_iter().map(|i| i.item).collect()),
            ..Current::default()
        },
    ))
}

/// Refuses the officer who recorded a deal as its certifier (maker–checker).
pub async fn check_officers(conn: &mut PgConnection, transaction: i64, officer: Option<i64>) -> StoreResult<()> {
    let recorder: Option<(i64, String)> = sqlx::query_as(
        "select u.id, u.username from transactions t join users u on u.id = t.recorded_by_user_id where t.id = $1",
    )
    .bind(transaction)
    .fetch_optional(&mut *conn)
    .await?;
    match recorder {
        Some((id, name)) if Some(id) == officer => Err(StoreError::conflict(
            format!("{name} recorded deal {transaction}; a second officer certifies it"),
            Current { transaction_id: Some(transaction), missing: Some(vec!["officers".into()]), ..Current::default() },
        )),
        _ => Ok(()),
    }
}

/// The township of deal `transaction`'s house, if there is such a deal.
pub async fn township_of(ex: impl PgExecutor<'_>, transaction: i64) -> StoreResult<Option<String>> {
    sqlx::query_scalar(
        "select f.township_code::text from transactions t join farmhouses f on f.id = t.farmhouse_id where t.id = $1",
    )
    .bind(transaction)
    .fetch_optional(ex)
    .await
    .map_err(Into::into)
}

// ---------------------------------------------------------------------------------------------------
// Consent

#[derive(Debug, Clone, FromRow)]
pub struct ConsentRow {
    pub id: i64,
    pub transaction_id: i64,
    pub kind: ConsentKind,
    pub member_name: Option<String>,
    pub agrees: Option<bool>,
    pub opinion: Option<String>,
    pub votes_for: Option<i32>,
    pub votes_against: Option<i32>,
    pub votes_total: Option<i32>,
    pub given_on: NaiveDate,
    pub recorded_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

const CONSENTS: &str = "
    select c.id, c.transaction_id, c.kind, c.member_name, c.agrees, c.opinion, c.votes_for, c.votes_against,
           c.votes_total, c.given_on, u.username as recorded_by, c.created_at
    from consents c left join users u on u.id = c.recorded_by_user_id";

pub async fn consents(ex: impl PgExecutor<'_>, transaction: i64) -> StoreResult<Vec<ConsentRow>> {
    sqlx::query_as(&format!("{CONSENTS} where c.transaction_id = $1 order by c.id"))
        .bind(transaction)
        .fetch_all(ex)
        .await
        .map_err(Into::into)
}

pub async fn consent(ex: impl PgExecutor<'_>, id: i64) -> StoreResult<Option<ConsentRow>> {
    sqlx::query_as(&format!("{CONSENTS} where c.id = $1")).bind(id).fetch_optional(ex).await.map_err(Into::into)
}

/// Records consent to deal `transaction`.
pub async fn add_consent(conn: &mut PgConnection, transaction: i64, c: &NewConsent) -> StoreResult<i64> {
    exists(conn, transaction).await?;
    let (votes_for, votes_against, votes_total) =
        c.votes.map_or((None, None, None), |(f, a, t)| (Some(f), Some(a), Some(t)));
    sqlx::query_scalar(
        "insert into consents (transaction_id, kind, member_name, agrees, opinion, votes_for, votes_against,
                               votes_total, given_on)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
    )
    .bind(transaction)
    .bind(c.kind)
    .bind(&c.member_name)
    .bind(c.agrees)
    .bind(&c.opinion)
    .bind(votes_for)
    .bind(votes_against)
    .bind(votes_total)
    .bind(c.given_on)
    .fetch_one(conn)
    .await
    .map_err(Into::into)
}

async fn exists(conn: &mut PgConnection, transaction: i64) -> StoreResult<()> {
    let found: Option<i64> = sqlx::query_scalar("select id from transactions where id = $1")
        .bind(transaction)
        .fetch_optional(&mut *conn)
        .await?;
    found.map(|_| ()).ok_or_else(|| StoreError::NotFound(format!("transaction {transaction}")))
}

// ---------------------------------------------------------------------------------------------------
// Papers

/// What a paper belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaperOf {
    House(i64),
    Deal(i64),
}

/// A paper without its bytes.
#[derive(Debug, Clone, FromRow)]
pub struct PaperMeta {
    pub id: i64,
    pub farmhouse_id: Option<i64>,
    pub transaction_id: Option<i64>,
    pub kind: PaperKind,
    pub safety_grade: Option<String>,
    pub media_type: String,
    pub bytes: i32,
    pub sha256: Vec<u8>,
    pub recorded_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

const PAPERS: &str = "
    select p.id, p.farmhouse_id, p.transaction_id, p.kind, p.safety_grade::text, p.media_type, p.bytes, p.sha256,
           u.username as recorded_by, p.created_at
    from papers p left join users u on u.id = p.recorded_by_user_id";

/// The papers of a house (its own, and those of its deals) or of a deal.
pub async fn papers(ex: impl PgExecutor<'_>, of: PaperOf) -> StoreResult<Vec<PaperMeta>> {
    let query = match of {
        PaperOf::House(_) => format!(
            "{PAPERS} where p.farmhouse_id = $1
                 or p.transaction_id in (select id from transactions where farmhouse_id = $1) order by p.id"
        ),
        PaperOf::Deal(_) => format!("{PAPERS} where p.transaction_id = $1 order by p.id"),
    };
    let (PaperOf::House(id) | PaperOf::Deal(id)) = of;
    sqlx::query_as(&query).bind(id).fetch_all(ex).await.map_err(Into::into)
}

pub async fn paper(ex: impl PgExecutor<'_>, id: i64) -> StoreResult<Option<PaperMeta>> {
    sqlx::query_as(&format!("{PAPERS} where p.id = $1")).bind(id).fetch_optional(ex).await.map_err(Into::into)
}

/// The bytes of paper `id`.
pub async fn paper_content(ex: impl PgExecutor<'_>, id: i64) -> StoreResult<Option<Vec<u8>>> {
    sqlx::query_scalar("select content from papers where id = $1").bind(id).fetch_optional(ex).await.map_err(Into::into)
}

/// A paper to keep.
pub struct NewPaper<'a> {
    pub kind: PaperKind,
    pub grade: Option<SafetyGrade>,
    pub media_type: &'a str,
    pub sha256: &'a [u8],
    pub content: &'a [u8],
}

/// Keeps a paper of a house or a deal; returns its id.
pub async fn add_paper(conn: &mut PgConnection, of: PaperOf, p: &NewPaper<'_>) -> StoreResult<i64> {
    let (house, deal) = match of {
        PaperOf::House(h) => {
            let found: Option<i64> = sqlx::query_scalar("select id from farmhouses where id = $1")
                .bind(h)
                .fetch_optional(&mut *conn)
                .await?;
            found.ok_or_else(|| StoreError::NotFound(format!("farmhouse {h}")))?;
            if p.kind.of_a_deal_only() {
                return Err(StoreError::invalid("kind", format!("{} belongs to a deal, not to a house", p.kind)));
            }
            (Some(h), None)
        }
        PaperOf::Deal(t) => {
            exists(conn, t).await?;
            (None, Some(t))
        }
    };
    sqlx::query_scalar(
        "insert into papers (farmhouse_id, transaction_id, kind, safety_grade, media_type, sha256, content)
         values ($1, $2, $3, $4, $5, $6, $7) returning id",
    )
    .bind(house)
    .bind(deal)
    .bind(p.kind)
    .bind(p.grade)
    .bind(p.media_type)
    .bind(p.sha256)
    .bind(p.content)
    .fetch_one(conn)
    .await
    .map_err(Into::into)
}
