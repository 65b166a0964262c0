//! Money and credit (docs/DESIGN.md §2.6): a deal's rent schedule and its split, payments, the villages'
//! collective fee, pledges on certificates and the figures made of them. The rules that guard them (sums,
//! more than is due, one pledge in force, a pledged lease kept) are the database's, in
//! migrations/0114_money_credit.sql; this module writes and reads.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{FromRow, PgConnection, PgExecutor};

use super::{Current, StoreError, StoreResult};
use crate::domain::rent::{self, Contract, NewPayment, NewPledge, PaymentMethod, Plan, Schedule};

// ---------------------------------------------------------------------------------------------------
// Schedules

/// Records the schedule of deal `transaction` (replacing one not yet paid nor stated by a certificate):
/// the instalments of `schedule`, split by the collective fee of the house's village on its parcel's area.
/// A plan that does not fit the contract is refused naming the field under `prefix` (`schedule` in a
/// deal's body; empty when the schedule is the body, where the plan as a whole is `plan`).
pub async fn set_schedule(
    conn: &mut PgConnection,
    transaction: i64,
    schedule: &Schedule,
    prefix: &str,
) -> StoreResult<()> {
    type Row = (NaiveDate, NaiveDate, NaiveDate, i64, i64, i64, f64);
    let row: Option<Row> = sqlx::query_as(
        "select t.signed_on, t.lease_start, t.lease_end, t.annual_rent_fen, t.total_amount_fen,
                coalesce(v.collective_fee_fen_per_m2_year, 0), p.area_m2
         from transactions t join farmhouses f on f.id = t.farmhouse_id
         join parcels p on p.parcel_code = f.parcel_code
         left join villages v on v.township_code = f.township_code and v.name = p.village
         where t.id = $1 for update of t",
    )
    .bind(transaction)
    .fetch_optional(&mut *conn)
    .await?;
    let (signed_on, lease_start, lease_end, annual_rent_fen, total_fen, fee, area_m2) =
        row.ok_or_else(|| StoreError::NotFound(format!("transaction {transaction}")))?;
    let contract = Contract { signed_on, lease_start, lease_end, annual_rent_fen, total_fen };
    let dues = rent::instalments(schedule, &contract, rent::collective_annual_fen(fee, area_m2)).map_err(|mut e| {
        e.field = match (prefix, e.field.as_str()) {
            ("", "") => "plan".into(),
            (p, "") => p.into(),
            ("", f) => f.into(),
            (p, f) => format!("{p}.{f}"),
        };
        StoreError::Invalid(vec![e])
    })?;
    sqlx::query("delete from instalments where transaction_id = $1").bind(transaction).execute(&mut *conn).await?;
    let (mut seq, mut due, mut amount, mut household, mut collective) = (vec![], vec![], vec![], vec![], vec![]);
    for (n, d) in dues.iter().enumerate() {
        seq.push(n as i32 + 1);
        due.push(d.due_on);
        amount.push(d.amount_fen);
        household.push(d.household_fen);
        collective.push(d.collective_fen);
    }
    sqlx::query(
        "insert into instalments (transaction_id, seq, due_on, amount_fen, household_fen, collective_fen)
         select $1, * from unnest($2::int[], $3::date[], $4::bigint[], $5::bigint[], $6::bigint[])",
    )
    .bind(transaction)
    .bind(&seq)
    .bind(&due)
    .bind(&amount)
    .bind(&household)
    .bind(&collective)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "update transactions set payment_plan = $2, escalation_basis_points = $3, escalation_every_years = $4,
                rent_free_months = $5, collective_fee_fen_per_m2_year = $6, land_area_m2 = round($7::numeric, 2)
         where id = $1",
    )
    .bind(transaction)
    .bind(schedule.plan)
    .bind(schedule.escalation.map(|(bp, _)| bp as i32))
    .bind(schedule.escalation.map(|(_, every)| every as i16))
    .bind(schedule.rent_free_months as i16)
    .bind(fee)
    .bind(area_m2)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A deal's plan and the rule of its collective.
#[derive(Debug, Clone, FromRow)]
pub struct PlanRow {
    pub transaction_id: i64,
    pub township_code: String,
    pub payment_plan: Option<Plan>,
    pub escalation_basis_points: Option<i32>,
    pub escalation_every_years: Option<i16>,
    pub rent_free_months: i16,
    pub collective_fee_fen_per_m2_year: Option<i64>,
    pub land_area_m2: Option<f64>,
    pub total_amount_fen: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct InstalmentRow {
    pub id: i64,
    pub transaction_id: i64,
    pub seq: i16,
    pub due_on: NaiveDate,
    pub amount_fen: i64,
    pub household_fen: i64,
    pub collective_fen: i64,
    pub paid_fen: i64,
    /// Overdue on the day the schedule was read ([`overdue_on`]).
    pub overdue: bool,
}

/// Whether instalment `i` of deal `t` is overdue on the day `day` (an SQL expression): due before it, not
/// wholly paid, and the lease had not ended when it fell due. The one definition the schedule, the overdue
/// list and the figures use.
fn overdue_on(day: &str) -> String {
    format!(
        "(i.paid_fen < i.amount_fen and i.due_on < {day} and (t.terminated_on is null or t.terminated_on > i.due_on))"
    )
}

#[derive(Debug, Clone, FromRow)]
pub struct PaymentRow {
    pub id: i64,
    pub instalment_id: i64,
    pub paid_on: NaiveDate,
    pub amount_fen: i64,
    pub household_fen: i64,
    pub collective_fen: i64,
    pub payer: String,
    pub method: PaymentMethod,
    pub receipt_no: String,
    pub excess_reason: Option<String>,
    pub recorded_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

const PAYMENTS: &str = "select p.id, p.instalment_id, p.paid_on, p.amount_fen, p.household_fen, p.collective_fen,
        p.payer, p.method, p.receipt_no, p.excess_reason, u.username as recorded_by, p.created_at
    from payments p left join users u on u.id = p.recorded_by_user_id";

/// The plan, instalments (overdue or not on `today`) and payments of deal `transaction` (`None`: no such
/// deal).
pub async fn schedule(
    conn: &mut PgConnection,
    transaction: i64,
    today: NaiveDate,
) -> StoreResult<Option<(PlanRow, Vec<InstalmentRow>, Vec<PaymentRow>)>> {
    let plan: Option<PlanRow> = sqlx::query_as(
        "select t.id as transaction_id, f.township_code::text, t.payment_plan, t.escalation_basis_points,
                t.escalation_every_years, t.rent_free_months, t.collective_fee_fen_per_m2_year,
                t.land_area_m2::float8 as land_area_m2, t.total_amount_fen
         from transactions t join farmhouses f on f.id = t.farmhouse_id where t.id = $1",
    )
    .bind(transaction)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(plan) = plan else { return Ok(None) };
    let instalments: Vec<InstalmentRow> = sqlx::query_as(&format!(
        "select i.id, i.transaction_id, i.seq, i.due_on, i.amount_fen, i.household_fen, i.collective_fen, i.paid_fen,
                {} as overdue
         from instalments i join transactions t on t.id = i.transaction_id
         where i.transaction_id = $1 order by i.seq",
        overdue_on("$2")
    ))
    .bind(transaction)
    .bind(today)
    .fetch_all(&mut *conn)
    .await?;
    let payments: Vec<PaymentRow> = sqlx::query_as(&format!(
        "{PAYMENTS} join instalments i on i.id = p.instalment_id where i.transaction_id = $1 order by p.id"
    ))
    .bind(transaction)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Some((plan, instalments, payments)))
}

/// The deal and township of instalment `id`.
pub async fn instalment_deal(ex: impl PgExecutor<'_>, id: i64) -> StoreResult<Option<(i64, String)>> {
    sqlx::query_as(
        "select i.transaction_id, f.township_code::text from instalments i
         join transactions t on t.id = i.transaction_id join farmhouses f on f.id = t.farmhouse_id where i.id = $1",
    )
    .bind(id)
    .fetch_optional(ex)
    .await
    .map_err(Into::into)
}

/// Records a payment against instalment `instalment`; the database splits it and refuses more than is due
/// without a reason.
pub async fn record_payment(conn: &mut PgConnection, instalment: i64, p: &NewPayment) -> StoreResult<i64> {
    sqlx::query_scalar(
        "insert into payments (instalment_id, paid_on, amount_fen, payer, method, receipt_no, excess_reason)
         values ($1, $2, $3, $4, $5, $6, $7) returning id",
    )
    .bind(instalment)
    .bind(p.paid_on)
    .bind(p.amount_fen)
    .bind(&p.payer)
    .bind(p.method)
    .bind(&p.receipt_no)
    .bind(&p.excess_reason)
    .fetch_one(conn)
    .await
    .map_err(Into::into)
}

pub async fn payment(ex: impl PgExecutor<'_>, id: i64) -> StoreResult<Option<PaymentRow>> {
    sqlx::query_as(&format!("{PAYMENTS} where p.id = $1")).bind(id).fetch_optional(ex).await.map_err(Into::into)
}

/// An instalment due before today and not wholly paid, of a lease not ended before it fell due.
#[derive(Debug, Clone, FromRow)]
pub struct OverdueRow {
    pub instalment_id: i64,
    pub transaction_id: i64,
    pub contract_no: String,
    pub farmhouse_id: i64,
    pub unit_number: String,
    pub township_code: String,
    pub township_name: String,
    pub village: String,
    pub seq: i16,
    pub due_on: NaiveDate,
    pub amount_fen: i64,
    pub paid_fen: i64,
}

/// The overdue instalments on `today`, of township `township` or of all, oldest first (at most `limit`).
pub async fn overdue(
    ex: impl PgExecutor<'_>,
    township: Option<&str>,
    today: NaiveDate,
    limit: i64,
) -> StoreResult<Vec<OverdueRow>> {
    sqlx::query_as(&format!(
        "select i.id as instalment_id, t.id as transaction_id, t.contract_no, f.id as farmhouse_id,
                f.unit_number::text, f.township_code::text, tw.name as township_name, p.village, i.seq, i.due_on,
                i.amount_fen, i.paid_fen
         from instalments i join transactions t on t.id = i.transaction_id
         join farmhouses f on f.id = t.farmhouse_id join parcels p on p.parcel_code = f.parcel_code
         join townships tw on tw.code = f.township_code
         where {} and ($1::text is null or f.township_code = $1)
         order by i.due_on, i.id limit $3",
        overdue_on("$2")
    ))
    .bind(township)
    .bind(today)
    .bind(limit)
    .fetch_all(ex)
    .await
    .map_err(Into::into)
}

// ---------------------------------------------------------------------------------------------------
// The collective fee of villages

#[derive(Debug, Clone, FromRow)]
pub struct VillageFee {
    pub township_code: String,
    pub village: String,
    pub fee_fen_per_m2_year: i64,
}

pub async fn village_fees(ex: impl PgExecutor<'_>, township: Option<&str>) -> StoreResult<Vec<VillageFee>> {
    sqlx::query_as(
        "select township_code::text, name as village, collective_fee_fen_per_m2_year as fee_fen_per_m2_year
         from villages where $1::text is null or township_code = $1 order by township_code, name",
    )
    .bind(township)
    .fetch_all(ex)
    .await
    .map_err(Into::into)
}

/// Sets a village's collective fee (for deals scheduled from now on).
pub async fn set_village_fee(conn: &mut PgConnection, township: &str, village: &str, fen: i64) -> StoreResult<()> {
    let done =
        sqlx::query("update villages set collective_fee_fen_per_m2_year = $3 where township_code = $1 and name = $2")
            .bind(township)
            .bind(village)
            .bind(fen)
            .execute(conn)
            .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("village {village} of township {township}")));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// Pledges

#[derive(Debug, Clone, FromRow)]
pub struct PledgeRow {
    pub id: i64,
    pub certification_id: i64,
    pub certificate_no: String,
    pub unit_number: String,
    pub township_code: String,
    pub township_name: String,
    pub village: String,
    pub bank_party_id: i64,
    pub bank: String,
    pub loan_contract_no: String,
    pub amount_fen: i64,
    pub loan_start: NaiveDate,
    pub loan_end: NaiveDate,
    pub registered_on: NaiveDate,
    pub prior_consent: Option<String>,
    pub released_on: Option<NaiveDate>,
    pub release_note: Option<String>,
    pub override_reason: Option<String>,
}

const PLEDGES: &str = "select g.id, g.certification_id, c.certificate_no, c.facts ->> 'unit_number' as unit_number,
        c.facts ->> 'township_code' as township_code, c.facts ->> 'township_name' as township_name,
        c.facts ->> 'village' as village, g.bank_party_id, b.name as bank, g.loan_contract_no, g.amount_fen,
        g.loan_start, g.loan_end, g.registered_on, g.prior_consent, g.released_on, g.release_note,
        g.override_reason
    from pledges g join certifications c on c.id = g.certification_id join parties b on b.id = g.bank_party_id";

/// Which pledges to list.
#[derive(Debug, Clone, Default)]
pub struct PledgeFilter<'a> {
    pub bank_party_id: Option<i64>,
    pub active: Option<bool>,
    pub township: Option<&'a str>,
    pub certificate_no: Option<&'a str>,
}

pub async fn pledges(ex: impl PgExecutor<'_>, f: &PledgeFilter<'_>, limit: i64) -> StoreResult<Vec<PledgeRow>> {
    sqlx::query_as(&format!(
        "{PLEDGES} where ($1::bigint is null or g.bank_party_id = $1)
           and ($2::boolean is null or (g.released_on is null and g.override_reason is null) = $2)
           and ($3::text is null or c.facts ->> 'township_code' = $3)
           and ($4::text is null or c.certificate_no = $4)
         order by g.id desc limit $5"
    ))
    .bind(f.bank_party_id)
    .bind(f.active)
    .bind(f.township)
    .bind(f.certificate_no)
    .bind(limit)
    .fetch_all(ex)
    .await
    .map_err(Into::into)
}

pub async fn pledge(ex: impl PgExecutor<'_>, id: i64) -> StoreResult<Option<PledgeRow>> {
    sqlx::query_as(&format!("{PLEDGES} where g.id = $1")).bind(id).fetch_optional(ex).await.map_err(Into::into)
}

/// The pledges in force on certificate `certification`, oldest first (what its verification shows).
pub async fn encumbrances(ex: impl PgExecutor<'_>, certification: i64) -> StoreResult<Vec<PledgeRow>> {
    sqlx::query_as(&format!(
        "{PLEDGES} where g.certification_id = $1 and g.released_on is null and g.override_reason is null order by g.id"
    ))
    .bind(certification)
    .fetch_all(ex)
    .await
    .map_err(Into::into)
}

/// Registers bank `bank`'s pledge on certificate `certification`; the database refuses a certificate not
/// in force and a second pledge without the consent of the bank that holds the first.
pub async fn register_pledge(
    conn: &mut PgConnection,
    certification: i64,
    bank: i64,
    p: &NewPledge,
) -> StoreResult<i64> {
    sqlx::query_scalar(
        "insert into pledges (certification_id, bank_party_id, loan_contract_no, amount_fen, loan_start, loan_end,
                              registered_on, prior_consent)
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning id",
    )
    .bind(certification)
    .bind(bank)
    .bind(&p.loan_contract_no)
    .bind(p.amount_fen)
    .bind(p.loan_start)
    .bind(p.loan_end)
    .bind(p.registered_on)
    .bind(&p.prior_consent)
    .fetch_one(conn)
    .await
    .map_err(Into::into)
}

/// Releases (解押) pledge `id` on `on`. `bank`: the bank releasing it, which must hold it (`None`: an admin).
pub async fn release_pledge(
    conn: &mut PgConnection,
    id: i64,
    on: NaiveDate,
    note: Option<&str>,
    bank: Option<i64>,
) -> StoreResult<()> {
    let row: Option<(i64, Option<NaiveDate>, NaiveDate)> =
        sqlx::query_as("select bank_party_id, released_on, registered_on from pledges where id = $1 for update")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    let (holder, released, registered) = row.ok_or_else(|| StoreError::NotFound(format!("pledge {id}")))?;
    if bank.is_some_and(|b| b != holder) {
        return Err(StoreError::NotFound(format!("pledge {id} of this bank")));
    }
    if let Some(day) = released {
        return Err(StoreError::conflict(format!("pledge {id} was released on {day}"), Current::default()));
    }
    if on < registered {
        return Err(StoreError::invalid("released_on", format!("the pledge was registered on {registered}")));
    }
    sqlx::query("update pledges set released_on = $2, release_note = $3 where id = $1")
        .bind(id)
        .bind(on)
        .bind(note)
        .execute(conn)
        .await?;
    Ok(())
}

/// An admin's override of the pledges in force on the certificates of deal `transaction` (or on
/// certificate `certification`), with the reason written on each: the lease may then end early or the
/// certificate be revoked. Returns how many were overridden.
pub async fn override_pledges(
    conn: &mut PgConnection,
    transaction: Option<i64>,
    certification: Option<i64>,
    reason: &str,
) -> StoreResult<u64> {
    let done = sqlx::query(
        "update pledges g set override_reason = $3
         from certifications c
         where c.id = g.certification_id and g.released_on is null and g.override_reason is null
           and (c.transaction_id = $1 or c.id = $2)",
    )
    .bind(transaction)
    .bind(certification)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

// ---------------------------------------------------------------------------------------------------
// Figures

/// Money figures of one township (or of a month).
#[derive(Debug, Clone, Default, FromRow)]
pub struct MoneyFigures {
    pub key: String,
    pub household_fen: i64,
    pub collective_fen: i64,
    pub payments: i64,
    pub overdue_fen: i64,
    /// Of a township: pledges in force on the day; of a month: pledges registered in it.
    pub pledges: i64,
    pub pledged_fen: i64,
}

/// Rent received (to households and collectives) up to the month of `on`, by township; of township
/// `township` only when given. With `details` (staff), also the overdue amounts and pledges in force on
/// `on` (zero without: the public summary reads only the kept monthly income).
pub async fn by_township(
    ex: impl PgExecutor<'_>,
    township: Option<&str>,
    on: NaiveDate,
    details: bool,
) -> StoreResult<Vec<MoneyFigures>> {
    sqlx::query_as(&format!(
        "with income as (
             select township_code, sum(household_fen)::bigint as household_fen,
                    sum(collective_fen)::bigint as collective_fen, sum(payments)::bigint as payments
             from income_monthly where month <= $2 group by 1),
         overdue as (
             select f.township_code, sum(i.amount_fen - i.paid_fen)::bigint as overdue_fen
             from instalments i join transactions t on t.id = i.transaction_id
             join farmhouses f on f.id = t.farmhouse_id
             where $3 and {overdue}
             group by 1),
         pledged as (
             select c.facts ->> 'township_code' as township_code, count(*) as pledges,
                    sum(g.amount_fen)::bigint as pledged_fen
             from pledges g join certifications c on c.id = g.certification_id
             where $3 and g.registered_on <= $2 and (g.released_on is null or g.released_on > $2)
               and g.override_reason is null and g.loan_end > $2
             group by 1)
         select tw.code::text as key, coalesce(i.household_fen, 0) as household_fen,
                coalesce(i.collective_fen, 0) as collective_fen, coalesce(i.payments, 0) as payments,
                coalesce(o.overdue_fen, 0) as overdue_fen, coalesce(p.pledges, 0) as pledges,
                coalesce(p.pledged_fen, 0) as pledged_fen
         from townships tw left join income i on i.township_code = tw.code
         left join overdue o on o.township_code = tw.code left join pledged p on p.township_code = tw.code
         where $1::text is null or tw.code = $1
         order by tw.code",
        overdue = overdue_on("$2")
    ))
    .bind(township)
    .bind(on)
    .bind(details)
    .fetch_all(ex)
    .await
    .map_err(Into::into)
}

/// Rent received and pledges registered by month (`YYYY-MM`), up to the month of `on`.
pub async fn by_month(
    ex: impl PgExecutor<'_>,
    township: Option<&str>,
    on: NaiveDate,
) -> StoreResult<Vec<MoneyFigures>> {
    sqlx::query_as(
        "with income as (
             select month, sum(household_fen)::bigint as household_fen, sum(collective_fen)::bigint as collective_fen,
                    sum(payments)::bigint as payments
             from income_monthly where month <= $2 and ($1::text is null or township_code = $1) group by 1),
         pledged as (
             select date_trunc('month', g.registered_on)::date as month, count(*) as pledges,
                    sum(g.amount_fen)::bigint as pledged_fen
             from pledges g join certifications c on c.id = g.certification_id
             where g.registered_on <= $2 and ($1::text is null or c.facts ->> 'township_code' = $1)
             group by 1)
         select to_char(coalesce(i.month, p.month), 'YYYY-MM') as key, coalesce(i.household_fen, 0) as household_fen,
                coalesce(i.collective_fen, 0) as collective_fen, coalesce(i.payments, 0) as payments,
                0::bigint as overdue_fen, coalesce(p.pledges, 0) as pledges,
                coalesce(p.pledged_fen, 0) as pledged_fen
         from income i full join pledged p on p.month = i.month
         order by 1",
    )
    .bind(township)
    .bind(on)
    .fetch_all(ex)
    .await
    .map_err(Into::into)
}

/// Rent received by township and month: (township code, name, `YYYY-MM`, payments, household fen,
/// collective fen), of township `township` only when given.
pub async fn income_rows(
    ex: impl PgExecutor<'_>,
    township: Option<&str>,
) -> StoreResult<Vec<(String, String, String, i64, i64, i64)>> {
    sqlx::query_as(
        "select m.township_code::text, tw.name, to_char(m.month, 'YYYY-MM'), m.payments, m.household_fen,
                m.collective_fen
         from income_monthly m join townships tw on tw.code = m.township_code
         where $1::text is null or m.township_code = $1 order by 1, 3",
    )
    .bind(township)
    .fetch_all(ex)
    .await
    .map_err(Into::into)
}
