//! The activation records of a house — appraisal (评估), listing (挂牌), transaction (成交), certification
//! (鉴证) — and the lifecycle actions that create them. Each action runs in the caller's transaction, locks
//! the rows it decides on (`for update`), checks the transition with [`Status::after`], and moves the house
//! to its next state, so concurrent requests serialise and only one of them can win.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rand::Rng;
use sqlx::{FromRow, PgConnection, PgExecutor};

use super::{Current, Page, StoreError, StoreResult, farmhouses};
use crate::domain::identity::PartyKind;
use crate::domain::lifecycle::{self, Action, DealTerms, ListingTerms, Status};
use crate::domain::records::{AppraisalMethod, DealMode, ListingStatus, TransactionStatus};
pub use crate::domain::records::{CertificateFacts, NewAppraisal, NewListing, NewTransaction};

// ---------------------------------------------------------------------------------------------------
// Appraisals

#[derive(Debug, Clone, FromRow)]
pub struct AppraisalRow {
    pub id: i64,
    pub farmhouse_id: i64,
    pub unit_number: String,
    pub report_no: String,
    pub firm: String,
    pub appraiser: String,
    pub method: AppraisalMethod,
    pub valuation_date: NaiveDate,
    pub value_fen: i64,
    pub annual_rent_fen: i64,
    pub valid_until: NaiveDate,
    pub created_at: DateTime<Utc>,
}

const APPRAISALS: &str = "
    select a.id, a.farmhouse_id, f.unit_number::text, a.report_no, a.firm, a.appraiser, a.method, a.valuation_date,
           a.value_fen, a.annual_rent_fen, a.valid_until, a.created_at
    from appraisals a join farmhouses f on f.id = a.farmhouse_id";

pub async fn appraisals(ex: impl PgExecutor<'_>, house: Option<i64>, page: Page) -> StoreResult<Vec<AppraisalRow>> {
    sqlx::query_as(&format!(
        "{APPRAISALS} where a.id > $1 and ($2::bigint is null or a.farmhouse_id = $2) order by a.id limit $3"
    ))
    .bind(page.after)
    .bind(house)
    .bind(page.limit + 1)
    .fetch_all(ex)
    .await
    .map_err(Into::into)
}

pub async fn appraisal(ex: impl PgExecutor<'_>, id: i64) -> StoreResult<Option<AppraisalRow>> {
    sqlx::query_as(&format!("{APPRAISALS} where a.id = $1")).bind(id).fetch_optional(ex).await.map_err(Into::into)
}

/// Records an appraisal of house `house` (allowed in any state).
pub async fn record_appraisal(conn: &mut PgConnection, house: i64, a: &NewAppraisal) -> StoreResult<i64> {
    farmhouses::lock(conn, house).await?;
    Ok(sqlx::query_scalar(
        "insert into appraisals (farmhouse_id, report_no, firm, appraiser, method, valuation_date, value_fen,
                                 annual_rent_fen, valid_until)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
    )
    .bind(house)
    .bind(&a.report_no)
    .bind(&a.firm)
    .bind(&a.appraiser)
    .bind(a.method)
    .bind(a.valuation_date)
    .bind(a.value_fen)
    .bind(a.annual_rent_fen)
    .bind(a.valid_until)
    .fetch_one(conn)
    .await?)
}

// ---------------------------------------------------------------------------------------------------
// Listings

#[derive(Debug, Clone, FromRow)]
pub struct ListingRow {
    pub id: i64,
    pub farmhouse_id: i64,
    pub unit_number: String,
    pub township_code: String,
    pub village: String,
    pub floor_area_m2: f64,
    pub title: String,
    pub asking_rent_fen: i64,
    pub min_term_months: i16,
    pub max_term_months: i16,
    pub allowed_uses: Vec<String>,
    pub notice_start: NaiveDate,
    pub notice_end: NaiveDate,
    pub status: ListingStatus,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const LISTINGS: &str = "
    select l.id, l.farmhouse_id, f.unit_number::text, f.township_code::text, p.village,
           f.floor_area_m2::float8 as floor_area_m2, l.title, l.asking_rent_fen, l.min_term_months,
           l.max_term_months, l.allowed_uses, l.notice_start, l.notice_end, l.status, l.version, l.created_at,
           l.updated_at
    from listings l join farmhouses f on f.id = l.farmhouse_id join parcels p on p.parcel_code = f.parcel_code";

#[derive(Debug, Default, Clone)]
pub struct ListingFilter {
    pub status: Option<ListingStatus>,
    pub township: Option<String>,
    pub farmhouse: Option<i64>,
    /// Listings with a title (the programme's showcase houses).
    pub titled: bool,
}

pub async fn listings(ex: impl PgExecutor<'_>, f: &ListingFilter, page: Page) -> StoreResult<Vec<ListingRow>> {
    sqlx::query_as(&format!(
        "{LISTINGS}
         where l.id > $1 and ($2::text is null or l.status = $2) and ($3::text is null or f.township_code = $3)
           and ($4::bigint is null or l.farmhouse_id = $4) and (not $5 or l.title <> '')
         order by l.id limit $6"
    ))
    .bind(page.after)
    .bind(f.status)
    .bind(&f.township)
    .bind(f.farmhouse)
    .bind(f.titled)
    .bind(page.limit + 1)
    .fetch_all(ex)
    .await
    .map_err(Into::into)
}

pub async fn listing(ex: impl PgExecutor<'_>, id: i64) -> StoreResult<Option<ListingRow>> {
    sqlx::query_as(&format!("{LISTINGS} where l.id = $1")).bind(id).fetch_optional(ex).await.map_err(Into::into)
}

/// Marks the rest of the transaction as recording listings of the past (from paper, or generated): the
/// database refuses a notice period that began before today (Asia/Shanghai) unless this is set, and keeps
/// `reason` on each listing written meanwhile, so the history shows why (migrations/0103_records.sql).
pub async fn record_historical(conn: &mut PgConnection, reason: &str) -> StoreResult<()> {
    sqlx::query("select set_config('farmhouse.historical_record', $1, true)").bind(reason).execute(conn).await?;
    Ok(())
}

/// Lists house `house` (挂牌): registered → listed.
pub async fn list_house(conn: &mut PgConnection, house: i64, l: &NewListing) -> StoreResult<i64> {
    let status = farmhouses::lock(conn, house).await?;
    let next = transition(status, Action::List, Current::house(house, status))?;
    let id = sqlx::query_scalar(
        "insert into listings (farmhouse_id, title, asking_rent_fen, min_term_months, max_term_months, allowed_uses,
                               notice_start, notice_end)
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning id",
    )
    .bind(house)
    .bind(&l.title)
    .bind(l.asking_rent_fen)
    .bind(l.min_term_months)
    .bind(l.max_term_months)
    .bind(&l.allowed_uses)
    .bind(l.notice_start)
    .bind(l.notice_end)
    .fetch_one(&mut *conn)
    .await?;
    farmhouses::set_status(conn, house, next).await?;
    Ok(id)
}

/// An open listing, locked, with its house locked too.
struct LockedListing {
    farmhouse_id: i64,
    house_status: Status,
    notice_end: NaiveDate,
    min_term_months: i16,
    max_term_months: i16,
    allowed_uses: Vec<String>,
}

async fn lock_open_listing(conn: &mut PgConnection, listing: i64) -> StoreResult<LockedListing> {
    let row: Option<(i64, ListingStatus, NaiveDate, i16, i16, Vec<String>)> = sqlx::query_as(
        "select farmhouse_id, status, notice_end, min_term_months, max_term_months, allowed_uses from listings
         where id = $1 for update",
    )
    .bind(listing)
    .fetch_optional(&mut *conn)
    .await?;
    let (farmhouse_id, status, notice_end, min_term_months, max_term_months, allowed_uses) =
        row.ok_or_else(|| StoreError::NotFound(format!("listing {listing}")))?;
    let house_status = farmhouses::lock(conn, farmhouse_id).await?;
    if status != ListingStatus::Open {
        return Err(StoreError::conflict(
            format!("listing {listing} is {status}, not open"),
            Current {
                listing_id: Some(listing),
                listing_status: Some(status),
                ..Current::house(farmhouse_id, house_status)
            },
        ));
    }
    Ok(LockedListing { farmhouse_id, house_status, notice_end, min_term_months, max_term_months, allowed_uses })
}

/// Withdraws an open listing: the house returns to registered.
pub async fn withdraw(conn: &mut PgConnection, listing: i64) -> StoreResult<i64> {
    let l = lock_open_listing(conn, listing).await?;
    let next = transition(l.house_status, Action::Withdraw, Current::house(l.farmhouse_id, l.house_status))?;
    sqlx::query("update listings set status = 'withdrawn' where id = $1").bind(listing).execute(&mut *conn).await?;
    farmhouses::set_status(conn, l.farmhouse_id, next).await?;
    Ok(l.farmhouse_id)
}

// ---------------------------------------------------------------------------------------------------
// Transactions

#[derive(Debug, Clone, FromRow)]
pub struct TransactionRow {
    pub id: i64,
    pub listing_id: i64,
    pub farmhouse_id: i64,
    pub unit_number: String,
    pub township_code: String,
    pub village: String,
    pub floor_area_m2: f64,
    pub house_status: Status,
    pub lessee_party_id: i64,
    pub lessee_kind: PartyKind,
    pub lessee_name: String,
    pub mode: DealMode,
    pub contract_no: String,
    pub signed_on: NaiveDate,
    pub lease_start: NaiveDate,
    pub lease_end: NaiveDate,
    pub annual_rent_fen: i64,
    pub total_amount_fen: i64,
    pub intended_use: String,
    pub status: TransactionStatus,
    pub terminated_on: Option<NaiveDate>,
    pub certification_id: Option<i64>,
    pub certificate_no: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    /// The household or person that lets the house, and the village collective (docs/DESIGN.md §2.5).
    pub lessor_party_id: Option<i64>,
    pub lessor_kind: Option<PartyKind>,
    pub lessor_name: Option<String>,
    pub collective_party_id: Option<i64>,
    pub collective_name: Option<String>,
    /// The account that recorded the deal (it does not certify it).
    pub recorded_by_user_id: Option<i64>,
    pub recorded_by: Option<String>,
}

const TRANSACTIONS: &str = "
    select t.id, t.listing_id, t.farmhouse_id, f.unit_number::text, f.township_code::text, p.village,
           f.floor_area_m2::float8 as floor_area_m2, f.status as house_status, t.lessee_party_id,
           pa.kind as lessee_kind, pa.name as lessee_name, t.mode, t.contract_no, t.signed_on, t.lease_start, t.lease_end, t.annual_rent_fen,
           t.total_amount_fen, t.intended_use, t.status, t.terminated_on, c.id as certification_id, c.certificate_no,
           t.version, t.created_at, t.lessor_party_id, lo.kind as lessor_kind, lo.name as lessor_name,
           t.collective_party_id, co.name as collective_name, t.recorded_by_user_id, ru.username as recorded_by
    from transactions t
    join farmhouses f on f.id = t.farmhouse_id
    join parcels p on p.parcel_code = f.parcel_code
    join parties pa on pa.id = t.lessee_party_id
    left join parties lo on lo.id = t.lessor_party_id
    left join parties co on co.id = t.collective_party_id
    left join users ru on ru.id = t.recorded_by_user_id
    left join certifications c on c.transaction_id = t.id and c.revoked_at is null";

#[derive(Debug, Default, Clone)]
pub struct TransactionFilter {
    pub township: Option<String>,
    pub farmhouse: Option<i64>,
    pub lessee: Option<i64>,
    /// Signed deals of contracted houses without a certificate: the officers' queue.
    pub awaiting_certification: bool,
    /// Only deals in these townships (an account limited to them); `None`: all.
    pub within: Option<Vec<String>>,
    /// The order of the rows; any but [`TransactionSort::Id`] pages by `offset`, not after an id.
    pub sort: TransactionSort,
    /// Rows skipped before the page (pages by offset; 0 with keyset pages).
    pub offset: i64,
}

/// The orders a list of deals is given in (`sort` of `GET /api/v1/transactions`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum TransactionSort {
    /// Oldest recorded first (keyset pages by id).
    #[default]
    Id,
    SignedOn,
    SignedOnDesc,
    Amount,
    AmountDesc,
    Township,
}

impl TransactionSort {
    /// The names `sort` takes, in the order they are listed to a caller who sent another.
    pub const NAMES: [&'static str; 6] = ["id", "signed_on", "-signed_on", "amount", "-amount", "township"];

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "id" => Self::Id,
            "signed_on" => Self::SignedOn,
            "-signed_on" => Self::SignedOnDesc,
            "amount" => Self::Amount,
            "-amount" => Self::AmountDesc,
            "township" => Self::Township,
            _ => return None,
        })
    }

    /// The `order by` clause: fixed text, the id last so that equal keys keep one order across pages.
    fn order_by(self) -> &'static str {
        match self {
            Self::Id => "t.id",
            Self::SignedOn => "t.signed_on, t.id",
            Self::SignedOnDesc => "t.signed_on desc, t.id desc",
            Self::Amount => "t.total_amount_fen, t.id",
            Self::AmountDesc => "t.total_amount_fen desc, t.id desc",
            Self::Township => "f.township_code, p.village, t.id",
        }
    }
}

const TRANSACTIONS_WHERE: &str = "
    ($2::text is null or f.township_code = $2) and ($3::bigint is null or t.farmhouse_id = $3)
    and ($4::bigint is null or t.lessee_party_id = $4)
    and (not $5 or (t.status = 'signed' and f.status = 'contracted' and c.id is null))
    and ($6::text[] is null or f.township_code::text = any($6))";

pub async fn transactions(
    ex: impl PgExecutor<'_>,
    f: &TransactionFilter,
    page: Page,
) -> StoreResult<Vec<TransactionRow>> {
    // Keyset pages (by id) start after `page.after`; pages by offset skip `f.offset` rows.
    sqlx::query_as(&format!(
        "{TRANSACTIONS}
         where t.id > $1 and {TRANSACTIONS_WHERE}
         order by {} limit $7 offset $8",
        f.sort.order_by()
    ))
    .bind(page.after)
    .bind(&f.township)
    .bind(f.farmhouse)
    .bind(f.lessee)
    .bind(f.awaiting_certification)
    .bind(&f.within)
    .bind(page.limit + 1)
    .bind(f.offset)
    .fetch_all(ex)
    .await
    .map_err(Into::into)
}

/// How many deals `f` matches in all (every page together). `$1`, the page's cursor in the list, is
/// bound empty so that the filter keeps its parameters' numbers.
pub async fn count_transactions(ex: impl PgExecutor<'_>, f: &TransactionFilter) -> StoreResult<i64> {
    sqlx::query_scalar(&format!(
        "select count(*) from transactions t
         join farmhouses f on f.id = t.farmhouse_id
         left join certifications c on c.transaction_id = t.id and c.revoked_at is null
         where $1::bigint is null and {TRANSACTIONS_WHERE}"
    ))
    .bind(None::<i64>)
    .bind(&f.township)
    .bind(f.farmhouse)
    .bind(f.lessee)
    .bind(f.awaiting_certification)
    .bind(&f.within)
    .fetch_one(ex)
    .await
    .map_err(Into::into)
}

pub async fn transaction(ex: impl PgExecutor<'_>, id: i64) -> StoreResult<Option<TransactionRow>> {
    sqlx::query_as(&format!("{TRANSACTIONS} where t.id = $1")).bind(id).fetch_optional(ex).await.map_err(Into::into)
}

/// Records the deal (成交) of an open listing after its notice period: listed → contracted, and the
/// listing closes.
pub async fn sign(conn: &mut PgConnection, listing: i64, t: &NewTransaction) -> StoreResult<i64> {
    let l = lock_open_listing(conn, listing).await?;
    let next = transition(l.house_status, Action::Sign, Current::house(l.farmhouse_id, l.house_status))?;
    let terms = ListingTerms {
        listing,
        notice_end: l.notice_end,
        min_term_months: l.min_term_months,
        max_term_months: l.max_term_months,
        allowed_uses: &l.allowed_uses,
    };
    let deal = DealTerms {
        signed_on: t.signed_on,
        lease_start: t.lease_start,
        lease_end: t.lease_end,
        intended_use: &t.intended_use,
    };
    lifecycle::check_deal(&terms, &deal).map_err(|e| StoreError::Invalid(vec![e]))?;
    let lessor = super::deals::lessor_of(conn, l.farmhouse_id, t.lessor_party_id).await?;
    let id = sqlx::query_scalar(
        "insert into transactions (listing_id, farmhouse_id, lessee_party_id, mode, contract_no, signed_on,
                                   lease_start, lease_end, annual_rent_fen, total_amount_fen, intended_use,
                                   lessor_party_id, collective_party_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) returning id",
    )
    .bind(listing)
    .bind(l.farmhouse_id)
    .bind(t.lessee_party_id)
    .bind(t.mode)
    .bind(&t.contract_no)
    .bind(t.signed_on)
    .bind(t.lease_start)
    .bind(t.lease_end)
    .bind(t.annual_rent_fen)
    .bind(t.total_amount_fen)
    .bind(&t.intended_use)
    .bind(lessor)
    .bind(t.collective_party_id)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("update listings set status = 'closed' where id = $1").bind(listing).execute(&mut *conn).await?;
    farmhouses::set_status(conn, l.farmhouse_id, next).await?;
    super::money::set_schedule(conn, id, &t.schedule, "schedule").await?;
    Ok(id)
}

/// A signed transaction, locked, with its house locked too.
async fn lock_signed_transaction(conn: &mut PgConnection, transaction: i64) -> StoreResult<(i64, Status)> {
    let row: Option<(i64, TransactionStatus)> =
        sqlx::query_as("select farmhouse_id, status from transactions where id = $1 for update")
            .bind(transaction)
            .fetch_optional(&mut *conn)
            .await?;
    let (house, status) = row.ok_or_else(|| StoreError::NotFound(format!("transaction {transaction}")))?;
    let house_status = farmhouses::lock(conn, house).await?;
    if status != TransactionStatus::Signed {
        return Err(StoreError::conflict(
            format!("transaction {transaction} is {status}"),
            Current {
                transaction_id: Some(transaction),
                transaction_status: Some(status),
                ..Current::house(house, house_status)
            },
        ));
    }
    Ok((house, house_status))
}

/// Ends the lease of a signed transaction on `on` (退租, or the end of its term): the house returns to
/// registered, and from `on` it may be let again.
pub async fn end_lease(conn: &mut PgConnection, transaction: i64, on: NaiveDate) -> StoreResult<i64> {
    let (house, status) = lock_signed_transaction(conn, transaction).await?;
    let next = transition(
        status,
        Action::EndLease,
        Current { transaction_id: Some(transaction), ..Current::house(house, status) },
    )?;
    let lease_end: NaiveDate = sqlx::query_scalar("select lease_end from transactions where id = $1")
        .bind(transaction)
        .fetch_one(&mut *conn)
        .await?;
    if on > lease_end {
        return Err(StoreError::invalid("on", format!("the lease runs to {lease_end} (exclusive) at the latest")));
    }
    sqlx::query("update transactions set status = 'terminated', terminated_on = $2 where id = $1")
        .bind(transaction)
        .bind(on)
        .execute(&mut *conn)
        .await?;
    farmhouses::set_status(conn, house, next).await?;
    Ok(house)
}

/// Ends every signed lease whose term is over by `today` (its house returns to registered). Returns the
/// houses released.
pub async fn expire_leases(pool: &sqlx::PgPool, today: NaiveDate) -> StoreResult<Vec<i64>> {
    let due: Vec<(i64, NaiveDate)> = sqlx::query_as(
        "select t.id, t.lease_end from transactions t join farmhouses f on f.id = t.farmhouse_id
         where t.status = 'signed' and t.lease_end <= $1 and f.status in ('contracted', 'certified')
         order by t.id",
    )
    .bind(today)
    .fetch_all(pool)
    .await?;
    let mut released = Vec::with_capacity(due.len());
    for (transaction, lease_end) in due {
        let mut tx = super::begin_as(pool, "system:lease-expiry").await?;
        match end_lease(&mut tx, transaction, lease_end).await {
            Ok(house) => {
                tx.commit().await?;
                released.push(house);
            }
            // Changed meanwhile by someone else: the next round looks again.
            Err(StoreError::Conflict { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(released)
}

// ---------------------------------------------------------------------------------------------------
// Certifications

#[derive(Debug, Clone, FromRow)]
pub struct CertificationRow {
    pub id: i64,
    pub certificate_no: String,
    pub transaction_id: i64,
    pub farmhouse_id: i64,
    pub unit_number: String,
    pub township_code: String,
    pub township_name: String,
    pub village: String,
    pub floor_area_m2: f64,
    pub lease_start: NaiveDate,
    pub lease_end: NaiveDate,
    pub intended_use: String,
    pub total_amount_fen: i64,
    pub officer: Option<String>,
    pub issued_at: DateTime<Utc>,
    pub verification_code: String,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoke_reason: Option<String>,
    /// The day the lease ended early, if it did.
    pub terminated_on: Option<NaiveDate>,
    /// What the certificate states, as issued.
    pub facts: sqlx::types::Json<CertificateFacts>,
    /// An officer's pending request to revoke it: when, who, why.
    pub revocation_requested_at: Option<DateTime<Utc>>,
    pub revocation_requested_by: Option<String>,
    pub revocation_reason: Option<String>,
}

impl CertificationRow {
    /// Where the certificate stands on `today` (Beijing).
    pub fn state(&self, today: NaiveDate) -> lifecycle::CertificateState {
        lifecycle::certificate_state(self.revoked_at.is_some(), self.terminated_on, self.lease_end, today)
    }
}

const CERTIFICATIONS: &str = "
    select c.id, c.certificate_no, c.transaction_id, t.farmhouse_id, f.unit_number::text, f.township_code::text,
           tw.name as township_name, p.village, f.floor_area_m2::float8 as floor_area_m2, t.lease_start, t.lease_end,
           t.intended_use, t.total_amount_fen, u.username as officer, c.issued_at, c.verification_code, c.revoked_at,
           c.revoke_reason, t.terminated_on, c.facts, c.revocation_requested_at,
           rq.username as revocation_requested_by, c.revocation_reason
    from certifications c
    join transactions t on t.id = c.transaction_id
    join farmhouses f on f.id = t.farmhouse_id
    join parcels p on p.parcel_code = f.parcel_code
    join townships tw on tw.code = f.township_code
    left join users u on u.id = c.officer_user_id
    left join users rq on rq.id = c.revocation_requested_by_user_id";

#[derive(Debug, Default, Clone)]
pub struct CertificationFilter {
    pub township: Option<String>,
    pub farmhouse: Option<i64>,
    /// Only certificates in force (true) or only revoked ones (false).
    pub in_force: Option<bool>,
}

pub async fn certifications(
    ex: impl PgExecutor<'_>,
    f: &CertificationFilter,
    page: Page,
) -> StoreResult<Vec<CertificationRow>> {
    sqlx::query_as(&format!(
        "{CERTIFICATIONS}
         where c.id > $1 and ($2::text is null or f.township_code = $2) and ($3::bigint is null or t.farmhouse_id = $3)
           and ($4::boolean is null or (c.revoked_at is null) = $4)
         order by c.id limit $5"
    ))
    .bind(page.after)
    .bind(&f.township)
    .bind(f.farmhouse)
    .bind(f.in_force)
    .bind(page.limit + 1)
    .fetch_all(ex)
    .await
    .map_err(Into::into)
}

pub async fn certification(ex: impl PgExecutor<'_>, id: i64) -> StoreResult<Option<CertificationRow>> {
    sqlx::query_as(&format!("{CERTIFICATIONS} where c.id = $1")).bind(id).fetch_optional(ex).await.map_err(Into::into)
}

pub async fn certification_by_number(ex: impl PgExecutor<'_>, no: &str) -> StoreResult<Option<CertificationRow>> {
    sqlx::query_as(&format!("{CERTIFICATIONS} where c.certificate_no = $1"))
        .bind(no)
        .fetch_optional(ex)
        .await
        .map_err(Into::into)
}

/// Certifies (鉴证) a signed transaction of a contracted house: issues the next certificate number of the
/// year for the district's prefix, and the house becomes certified (activated).
pub async fn certify(conn: &mut PgConnection, transaction: i64, officer: Option<i64>) -> StoreResult<i64> {
    issue(conn, transaction, officer, false).await
}

/// Issues the certificate of `transaction`; `reissue`: the correction of a certificate just revoked, whose
/// deal was checked when it was first certified.
async fn issue(conn: &mut PgConnection, transaction: i64, officer: Option<i64>, reissue: bool) -> StoreResult<i64> {
    let (house, status) = lock_signed_transaction(conn, transaction).await?;
    let existing: Option<String> = sqlx::query_scalar(
        "select certificate_no from certifications where transaction_id = $1 and revoked_at is null",
    )
    .bind(transaction)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(no) = existing {
        return Err(StoreError::conflict(
            format!("transaction {transaction} is already certified ({no})"),
            Current { transaction_id: Some(transaction), certificate_no: Some(no), ..Current::house(house, status) },
        ));
    }
    let next = transition(
        status,
        Action::Certify,
        Current { transaction_id: Some(transaction), ..Current::house(house, status) },
    )?;
    super::deals::check_officers(conn, transaction, officer).await?;
    if !reissue {
        super::deals::check_ready(conn, transaction).await?;
    }
    let today = lifecycle::beijing_today();
    let lease_end: NaiveDate = sqlx::query_scalar("select lease_end from transactions where id = $1")
        .bind(transaction)
        .fetch_one(&mut *conn)
        .await?;
    if lease_end <= today {
        return Err(StoreError::conflict(
            format!(
                "the lease of transaction {transaction} ran to its end ({lease_end}); an expired lease is not certified"
            ),
            Current { transaction_id: Some(transaction), ..Current::house(house, status) },
        ));
    }
    let prefix: String = sqlx::query_scalar(
        "select d.certificate_prefix::text from farmhouses f join districts d on d.county_code = f.county_code
         where f.id = $1",
    )
    .bind(house)
    .fetch_one(&mut *conn)
    .await?;
    // The year of issue in Beijing: a certificate issued early on 1 January belongs to the new year.
    let year = today.year();
    let number: i32 = sqlx::query_scalar(
        "insert into certificate_counters (prefix, year, last_number) values ($1, $2, 1)
         on conflict (prefix, year) do update set last_number = certificate_counters.last_number + 1
         returning last_number",
    )
    .bind(&prefix)
    .bind(year as i16)
    .fetch_one(&mut *conn)
    .await?;
    let certificate_no = format!("{prefix}-JZ-{year:04}-{number:06}");
    let id = sqlx::query_scalar(
        "insert into certifications (certificate_no, transaction_id, officer_user_id, verification_code)
         values ($1, $2, $3, $4) returning id",
    )
    .bind(&certificate_no)
    .bind(transaction)
    .bind(officer)
    .bind(verification_code())
    .fetch_one(&mut *conn)
    .await?;
    farmhouses::set_status(conn, house, next).await?;
    Ok(id)
}

/// Who revokes: an admin alone, or an officer (a second one confirms what a first asked for).
#[derive(Debug, Clone, Copy)]
pub struct Revoker {
    pub user: Option<i64>,
    pub admin: bool,
}

/// What a call to revoke did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// An officer asked for it; the certificate stays in force until a second officer confirms.
    Requested,
    Revoked,
}

/// Revokes a certificate, keeping it, whatever its house's state now: if its lease is the house's lease in
/// force (the house certified by it), the house returns to contracted; a certificate whose lease has ended
/// or run out stops being valid and its house stays as it is.
///
/// Two people revoke (docs/DESIGN.md §2.5): an admin alone; an officer's first call only asks for it
/// ([`Revocation::Requested`]), and a second, different officer confirms it.
pub async fn revoke(
    conn: &mut PgConnection,
    certification: i64,
    reason: &str,
    by: Revoker,
) -> StoreResult<(i64, Revocation)> {
    let pending = lock_for_revocation(conn, certification).await?;
    if !by.admin {
        match pending.request {
            Request::None => {
                sqlx::query(
                    "update certifications set revocation_requested_at = now(), revocation_requested_by_user_id = $2,
                            revocation_reason = $3
                     where id = $1",
                )
                .bind(certification)
                .bind(by.user)
                .bind(reason)
                .execute(&mut *conn)
                .await?;
                return Ok((pending.house, Revocation::Requested));
            }
            Request::By(asker) if asker == by.user => return Err(second_officer(&pending, "revocation")),
            Request::By(_) => {}
        }
    }
    revoke_locked(conn, certification, reason, by.user, &pending).await?;
    Ok((pending.house, Revocation::Revoked))
}

/// A certificate locked for revocation: its house, number, lease and any pending request.
struct Pending {
    house: i64,
    status: Status,
    certificate_no: String,
    lease: TransactionStatus,
    /// Whether an officer asked for its revocation, and who.
    request: Request,
}

/// An officer's request to revoke a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Request {
    None,
    /// By this account (empty for a caller without one).
    By(Option<i64>),
}

async fn lock_for_revocation(conn: &mut PgConnection, certification: i64) -> StoreResult<Pending> {
    type Row = (i64, Option<DateTime<Utc>>, String, TransactionStatus, Option<DateTime<Utc>>, Option<i64>);
    let row: Option<Row> = sqlx::query_as(
        "select t.farmhouse_id, c.revoked_at, c.certificate_no, t.status, c.revocation_requested_at,
                    c.revocation_requested_by_user_id
             from certifications c join transactions t on t.id = c.transaction_id where c.id = $1 for update of c",
    )
    .bind(certification)
    .fetch_optional(&mut *conn)
    .await?;
    let (house, revoked_at, no, lease, requested_at, asker) =
        row.ok_or_else(|| StoreError::NotFound(format!("certification {certification}")))?;
    let status = farmhouses::lock(conn, house).await?;
    if let Some(at) = revoked_at {
        return Err(StoreError::conflict(
            format!("certificate {no} was revoked at {at}"),
            Current { certificate_no: Some(no), revoked_at: Some(at), ..Current::house(house, status) },
        ));
    }
    let request = if requested_at.is_some() { Request::By(asker) } else { Request::None };
    Ok(Pending { house, status, certificate_no: no, lease, request })
}

/// The conflict of an officer who would confirm their own request.
fn second_officer(p: &Pending, what: &str) -> StoreError {
    StoreError::conflict(
        format!(
            "the {what} of certificate {} needs a second officer: another officer than the one who asked \
             confirms it, or an admin does it",
            p.certificate_no
        ),
        Current {
            certificate_no: Some(p.certificate_no.clone()),
            missing: Some(vec!["officers".into()]),
            ..Current::house(p.house, p.status)
        },
    )
}

async fn revoke_locked(
    conn: &mut PgConnection,
    certification: i64,
    reason: &str,
    officer: Option<i64>,
    p: &Pending,
) -> StoreResult<()> {
    let next = if p.lease == TransactionStatus::Signed && p.status == Status::Certified {
        Some(transition(
            p.status,
            Action::Revoke,
            Current { certificate_no: Some(p.certificate_no.clone()), ..Current::house(p.house, p.status) },
        )?)
    } else {
        None
    };
    sqlx::query(
        "update certifications set revoked_at = now(), revoke_reason = $2, revoked_by_user_id = $3 where id = $1",
    )
    .bind(certification)
    .bind(reason)
    .bind(officer)
    .execute(&mut *conn)
    .await?;
    if let Some(next) = next {
        farmhouses::set_status(conn, p.house, next).await?;
    }
    Ok(())
}

/// Corrects (更正) certificate `certification`, which must be in force: revokes it with `reason`, applies
/// `changes` to its house, and certifies the same lease again from the corrected facts. Returns the new
/// certificate's id and the house.
pub async fn correct(
    conn: &mut PgConnection,
    certification: i64,
    reason: &str,
    changes: &farmhouses::HouseChanges,
    by: Revoker,
) -> StoreResult<(i64, i64)> {
    let officer = by.user;
    let r = self::certification(&mut *conn, certification)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("certification {certification}")))?;
    let (transaction, house, no, revoked_at) = (r.transaction_id, r.farmhouse_id, r.certificate_no, r.revoked_at);
    let lease: TransactionStatus = sqlx::query_scalar("select status from transactions where id = $1")
        .bind(transaction)
        .fetch_one(&mut *conn)
        .await?;
    if revoked_at.is_some() || lease != TransactionStatus::Signed {
        return Err(StoreError::conflict(
            format!("certificate {no} is not in force; only a certificate in force is corrected"),
            Current { certificate_no: Some(no), farmhouse_id: Some(house), revoked_at, ..Current::default() },
        ));
    }
    let pending = lock_for_revocation(conn, certification).await?;
    if !by.admin && (pending.request == Request::None || pending.request == Request::By(by.user)) {
        return Err(second_officer(&pending, "correction (which revokes it)"));
    }
    revoke_locked(conn, certification, reason, officer, &pending).await?;
    let version: i32 =
        sqlx::query_scalar("select version from farmhouses where id = $1").bind(house).fetch_one(&mut *conn).await?;
    farmhouses::update(conn, house, version, changes).await?;
    if let Some(owner) = changes.owner_party_id {
        // The corrected owner of record lets the house.
        sqlx::query("update transactions set lessor_party_id = $2 where id = $1")
            .bind(transaction)
            .bind(owner)
            .execute(&mut *conn)
            .await?;
    }
    let new = issue(conn, transaction, officer, true).await?;
    Ok((new, house))
}

/// 8 characters from digits and capitals, printed on the certificate.
fn verification_code() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut rng = rand::thread_rng();
    (0..8).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}

/// The state after `action`, or a conflict that reports `current`.
fn transition(status: Status, action: Action, current: Current) -> StoreResult<Status> {
    status.after(action).map_err(|detail| StoreError::conflict(detail, current))
}
