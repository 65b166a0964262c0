//! Money and credit (docs/DESIGN.md §2.6): a deal's rent schedule and payments (officers record, staff
//! read), the villages' collective fee (admins set), pledges that banks register and release on
//! certificates they hold, and the CSVs of the figures.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::activation::{checked_certificate, created};
use super::auth::{Caller, PeerAddr};
use super::json::Json;
use super::query::Query;
use super::routes::{Allow, Endpoint, route};
use super::{AppState, Error, Problem, Result};
use crate::domain::lifecycle;
use crate::domain::money::Yuan;
use crate::domain::rent::{
    PaymentIn, PaymentMethod, Plan, PledgeIn, ScheduleIn, check_payment, check_pledge, check_schedule,
};
use crate::domain::roles::Role;
use crate::domain::township::TownshipCode;
use crate::export;
use crate::store;
use crate::store::money::{self, InstalmentRow, OverdueRow, PaymentRow, PledgeFilter, PledgeRow};
use utoipa_axum::routes;

/// A list's `limit`: 1–10000, 1000 when left out.
fn list_limit(limit: Option<i64>) -> Result<i64> {
    match limit.unwrap_or(1000) {
        n @ 1..=10_000 => Ok(n),
        n => Err(Error::invalid("limit", format!("{n} is not from 1 to 10000"))),
    }
}

fn township_param(t: Option<&str>) -> Result<Option<String>> {
    TownshipCode::parse_optional(t).map(|c| c.map(|c| c.to_string())).map_err(|e| Error::invalid("township", e))
}

// ---------------------------------------------------------------------------------------------------
// Schedules

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentView {
    pub id: i64,
    pub instalment_id: i64,
    pub paid_on: NaiveDate,
    #[schema(value_type = f64)]
    pub amount_yuan: Yuan,
    /// The parts of the payment that reach the household and the collective (as its instalment's split).
    #[schema(value_type = f64)]
    pub household_yuan: Yuan,
    #[schema(value_type = f64)]
    pub collective_yuan: Yuan,
    pub payer: String,
    pub method: PaymentMethod,
    pub receipt_no: String,
    pub excess_reason: Option<String>,
    pub recorded_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<PaymentRow> for PaymentView {
    fn from(p: PaymentRow) -> Self {
        Self {
            id: p.id,
            instalment_id: p.instalment_id,
            paid_on: p.paid_on,
            amount_yuan: Yuan::from_fen(p.amount_fen),
            household_yuan: Yuan::from_fen(p.household_fen),
            collective_yuan: Yuan::from_fen(p.collective_fen),
            payer: p.payer,
            method: p.method,
            receipt_no: p.receipt_no,
            excess_reason: p.excess_reason,
            recorded_by: p.recorded_by,
            created_at: p.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InstalmentView {
    pub id: i64,
    pub seq: i16,
    pub due_on: NaiveDate,
    #[schema(value_type = f64)]
    pub amount_yuan: Yuan,
    /// 农户租金: the household's part.
    #[schema(value_type = f64)]
    pub household_yuan: Yuan,
    /// 集体收益: the village collective's part.
    #[schema(value_type = f64)]
    pub collective_yuan: Yuan,
    #[schema(value_type = f64)]
    pub paid_yuan: Yuan,
    /// Due before today, not wholly paid, and the lease had not ended when it fell due.
    pub overdue: bool,
    pub payments: Vec<PaymentView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleView {
    pub transaction_id: i64,
    /// lump_sum, yearly or custom; empty when the deal was recorded before schedules were kept.
    pub plan: Option<Plan>,
    #[schema(value_type = Option<f64>)]
    pub escalation_percent: Option<Yuan>,
    pub escalation_every_years: Option<i16>,
    pub rent_free_months: i16,
    /// The village's fee the split was made with, per m² of the parcel a year, and the parcel's area.
    #[schema(value_type = Option<f64>)]
    pub collective_fee_yuan_per_m2_year: Option<Yuan>,
    pub land_area_m2: Option<f64>,
    #[schema(value_type = f64)]
    pub total_amount_yuan: Yuan,
    #[schema(value_type = f64)]
    pub household_yuan: Yuan,
    #[schema(value_type = f64)]
    pub collective_yuan: Yuan,
    #[schema(value_type = f64)]
    pub paid_yuan: Yuan,
    /// What is due before today and not paid.
    #[schema(value_type = f64)]
    pub overdue_yuan: Yuan,
    pub instalments: Vec<InstalmentView>,
}

async fn schedule_view(state: &AppState, id: i64) -> Result<ScheduleView> {
    let mut conn = state.pool.acquire().await.map_err(store::StoreError::from)?;
    let (plan, instalments, payments) = money::schedule(&mut conn, id, lifecycle::beijing_today())
        .await?
        .ok_or_else(|| Error::NotFound(format!("transaction {id}")))?;
    let sum = |f: fn(&InstalmentRow) -> i64| Yuan::from_fen(instalments.iter().map(f).sum());
    let overdue_fen = instalments.iter().filter(|i| i.overdue).map(|i| i.amount_fen - i.paid_fen).sum();
    let mut views: Vec<InstalmentView> = instalments
        .iter()
        .map(|i| InstalmentView {
            id: i.id,
            seq: i.seq,
            due_on: i.due_on,
            amount_yuan: Yuan::from_fen(i.amount_fen),
            household_yuan: Yuan::from_fen(i.household_fen),
            collective_yuan: Yuan::from_fen(i.collective_fen),
            paid_yuan: Yuan::from_fen(i.paid_fen),
            overdue: i.overdue,
            payments: Vec::new(),
        })
        .collect();
    for p in payments {
        if let Some(v) = views.iter_mut().find(|v| v.id == p.instalment_id) {
            v.payments.push(p.into());
        }
    }
    Ok(ScheduleView {
        transaction_id: id,
        plan: plan.payment_plan,
        escalation_percent: plan.escalation_basis_points.map(|bp| Yuan::from_fen(i64::from(bp))),
        escalation_every_years: plan.escalation_every_years,
        rent_free_months: plan.rent_free_months,
        collective_fee_yuan_per_m2_year: plan.collective_fee_fen_per_m2_year.map(Yuan::from_fen),
        land_area_m2: plan.land_area_m2,
        total_amount_yuan: Yuan::from_fen(plan.total_amount_fen),
        household_yuan: sum(|i| i.household_fen),
        collective_yuan: sum(|i| i.collective_fen),
        paid_yuan: sum(|i| i.paid_fen),
        overdue_yuan: Yuan::from_fen(overdue_fen),
        instalments: views,
    })
}

/// A deal's rent schedule: its instalments, each split between the household and the collective, with the
/// payments against them.
#[utoipa::path(get, path = "/api/v1/transactions/{id}/schedule", tag = "money", params(("id" = i64, Path)),
    responses((status = 200, body = ScheduleView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn schedule(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    _: super::query::NoQuery,
) -> Result<axum::Json<ScheduleView>> {
    super::deals::deal_in_scope(&state, &caller, id).await?;
    Ok(axum::Json(schedule_view(&state, id).await?))
}

/// Records (or replaces) a deal's rent schedule, made from its contract: refused (409) once payments are
/// recorded against it or its certificate states it.
#[utoipa::path(put, path = "/api/v1/transactions/{id}/schedule", tag = "money", request_body = ScheduleIn,
    params(("id" = i64, Path)),
    responses((status = 200, body = ScheduleView), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn set_schedule(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(input): Json<ScheduleIn>,
) -> Result<axum::Json<ScheduleView>> {
    let schedule = check_schedule(&input, "")?;
    super::deals::deal_in_scope(&state, &caller, id).await?;
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    money::set_schedule(&mut tx, id, &schedule, "").await?;
    tx.commit().await?;
    Ok(axum::Json(schedule_view(&state, id).await?))
}

/// Records a payment (收款) against an instalment. More than is due is refused (422 naming `amount_yuan`)
/// unless `excess_reason` says why.
#[utoipa::path(post, path = "/api/v1/instalments/{id}/payments", tag = "money", request_body = PaymentIn,
    params(("id" = i64, Path)),
    responses((status = 201, body = PaymentView), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn add_payment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(input): Json<PaymentIn>,
) -> Result<Response> {
    let payment = check_payment(&input)?;
    let (deal, township) =
        money::instalment_deal(&state.pool, id).await?.ok_or_else(|| Error::NotFound(format!("instalment {id}")))?;
    caller.in_scope(&township)?;
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    let paid = money::record_payment(&mut tx, id, &payment).await?;
    tx.commit().await?;
    let view: PaymentView = money::payment(&state.pool, paid).await?.expect("just recorded").into();
    Ok(created(format!("/api/v1/transactions/{deal}/schedule"), view))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OverdueQuery {
    /// Only this township (9-digit code).
    pub township: Option<String>,
    /// At most this many (1–10000, default 1000), oldest first.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OverdueView {
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
    #[schema(value_type = f64)]
    pub amount_yuan: Yuan,
    #[schema(value_type = f64)]
    pub paid_yuan: Yuan,
    #[schema(value_type = f64)]
    pub outstanding_yuan: Yuan,
    pub days_overdue: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OverdueList {
    pub on: NaiveDate,
    #[schema(value_type = f64)]
    pub outstanding_yuan: Yuan,
    pub items: Vec<OverdueView>,
}

fn overdue_view(o: OverdueRow, today: NaiveDate) -> OverdueView {
    OverdueView {
        instalment_id: o.instalment_id,
        transaction_id: o.transaction_id,
        contract_no: o.contract_no,
        farmhouse_id: o.farmhouse_id,
        unit_number: o.unit_number,
        township_code: o.township_code,
        township_name: o.township_name,
        village: o.village,
        seq: o.seq,
        due_on: o.due_on,
        amount_yuan: Yuan::from_fen(o.amount_fen),
        paid_yuan: Yuan::from_fen(o.paid_fen),
        outstanding_yuan: Yuan::from_fen(o.amount_fen - o.paid_fen),
        days_overdue: (today - o.due_on).num_days(),
    }
}

/// The overdue instalments (due before today, not wholly paid), oldest first; a limited account sees
/// its townships only.
#[utoipa::path(get, path = "/api/v1/instalments/overdue", tag = "money", params(OverdueQuery),
    responses((status = 200, body = OverdueList), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn overdue(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<OverdueQuery>,
) -> Result<axum::Json<OverdueList>> {
    let township = township_param(q.township.as_deref())?;
    let limit = list_limit(q.limit)?;
    let today = lifecycle::beijing_today();
    let rows = overdue_rows(&state, &caller, township.as_deref(), today, limit).await?;
    let outstanding = rows.iter().map(|o| o.amount_fen - o.paid_fen).sum();
    Ok(axum::Json(OverdueList {
        on: today,
        outstanding_yuan: Yuan::from_fen(outstanding),
        items: rows.into_iter().map(|o| overdue_view(o, today)).collect(),
    }))
}

async fn overdue_rows(
    state: &AppState,
    caller: &Caller,
    township: Option<&str>,
    today: NaiveDate,
    limit: i64,
) -> Result<Vec<OverdueRow>> {
    if let Some(t) = township {
        caller.in_scope(t)?;
    }
    let rows = money::overdue(&state.pool, township, today, limit).await?;
    Ok(rows.into_iter().filter(|o| caller.covers(&o.township_code)).collect())
}

// ---------------------------------------------------------------------------------------------------
// The collective fee of villages

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FeesQuery {
    /// Only this township (9-digit code).
    pub township: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VillageFeeView {
    pub township_code: String,
    pub village: String,
    /// The collective's fee (土地所有权收益) per m² of the parcel a year; 0: none.
    #[schema(value_type = f64)]
    pub yuan_per_m2_year: Yuan,
}

/// The collective fee of each village: what its collective receives of a lease's rent, per m² of the
/// parcel a year.
#[utoipa::path(get, path = "/api/v1/villages/fees", tag = "money", params(FeesQuery),
    responses((status = 200, body = Vec<VillageFeeView>), (status = 400, body = Problem)))]
pub async fn village_fees(
    State(state): State<AppState>,
    Query(q): Query<FeesQuery>,
) -> Result<axum::Json<Vec<VillageFeeView>>> {
    let township = township_param(q.township.as_deref())?;
    let fees = money::village_fees(&state.pool, township.as_deref()).await?;
    Ok(axum::Json(
        fees.into_iter()
            .map(|f| VillageFeeView {
                township_code: f.township_code,
                village: f.village,
                yuan_per_m2_year: Yuan::from_fen(f.fee_fen_per_m2_year),
            })
            .collect(),
    ))
}

/// Sets a village's collective fee, for the schedules made from now on (recorded deals keep theirs).
#[utoipa::path(put, path = "/api/v1/villages/fees", tag = "money", request_body = VillageFeeView,
    responses((status = 200, body = VillageFeeView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn set_village_fee(
    State(state): State<AppState>,
    caller: Caller,
    Json(input): Json<VillageFeeView>,
) -> Result<axum::Json<VillageFeeView>> {
    let township = TownshipCode::parse(&input.township_code).map_err(|e| Error::invalid("township_code", e))?;
    let fen = input.yuan_per_m2_year.fen();
    if fen > 100_000 {
        return Err(Error::invalid(
            "yuan_per_m2_year",
            format!("{} yuan a m² a year: at most 1000", input.yuan_per_m2_year),
        ));
    }
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    money::set_village_fee(&mut tx, township.as_str(), input.village.trim(), fen).await?;
    tx.commit().await?;
    Ok(axum::Json(input))
}

// ---------------------------------------------------------------------------------------------------
// Pledges

#[derive(Debug, Serialize, ToSchema)]
pub struct PledgeView {
    pub id: i64,
    pub certificate_no: String,
    pub unit_number: String,
    pub township_code: String,
    pub township_name: String,
    pub village: String,
    /// The bank that lent (the organisation's registered name).
    pub bank: String,
    pub loan_contract_no: String,
    #[schema(value_type = f64)]
    pub amount_yuan: Yuan,
    pub loan_start: NaiveDate,
    pub loan_end: NaiveDate,
    pub registered_on: NaiveDate,
    /// The consent of the bank whose pledge was in force when this one was registered.
    pub prior_consent: Option<String>,
    pub released_on: Option<NaiveDate>,
    pub release_note: Option<String>,
    /// An admin's reason for ending the lease or revoking the certificate while it was pledged.
    pub override_reason: Option<String>,
    /// in_force, released or overridden.
    pub status: String,
}

impl From<PledgeRow> for PledgeView {
    fn from(p: PledgeRow) -> Self {
        let status = match (&p.released_on, &p.override_reason) {
            (Some(_), _) => "released",
            (None, Some(_)) => "overridden",
            (None, None) => "in_force",
        };
        Self {
            id: p.id,
            certificate_no: p.certificate_no,
            unit_number: p.unit_number,
            township_code: p.township_code,
            township_name: p.township_name,
            village: p.village,
            bank: p.bank,
            loan_contract_no: p.loan_contract_no,
            amount_yuan: Yuan::from_fen(p.amount_fen),
            loan_start: p.loan_start,
            loan_end: p.loan_end,
            registered_on: p.registered_on,
            prior_consent: p.prior_consent,
            released_on: p.released_on,
            release_note: p.release_note,
            override_reason: p.override_reason,
            status: status.into(),
        }
    }
}

/// The bank a bank's account acts for.
fn bank_of(caller: &Caller) -> Result<i64> {
    caller.party_id.ok_or_else(|| Error::Forbidden("this bank account names no bank".into()))
}

/// Registers a pledge (抵押登记) on a certificate in force, by the bank holding it: `id` is the certificate's
/// number and `code` the verification code printed on it (a wrong code reads as an unknown certificate).
/// A certificate already pledged takes a further pledge only with the first bank's consent (409 naming
/// `prior_consent`).
#[utoipa::path(post, path = "/api/v1/certifications/{id}/pledges", tag = "pledges", request_body = PledgeIn,
    params(("id" = String, Path, description = "the certificate number, e.g. SY-JZ-2024-000123")),
    responses((status = 201, body = PledgeView), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn add_pledge(
    State(state): State<AppState>,
    caller: Caller,
    PeerAddr(peer): PeerAddr,
    Path(no): Path<String>,
    Json(input): Json<PledgeIn>,
) -> Result<Response> {
    let pledge = check_pledge(&input, lifecycle::beijing_today())?;
    let bank = bank_of(&caller)?;
    let code = super::activation::required_code(Some(&input.code))
        .map_err(|_| Error::invalid("code", super::activation::CODE_NEEDED))?;
    let certificate = checked_certificate(&state, peer, &no, code).await?;
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    let id = money::register_pledge(&mut tx, certificate.id, bank, &pledge).await?;
    tx.commit().await?;
    let view: PledgeView = money::pledge(&state.pool, id).await?.expect("just registered").into();
    Ok(created(format!("/api/v1/pledges/{id}"), view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseIn {
    /// The day of release (解押); today (Beijing) when left out.
    pub released_on: Option<NaiveDate>,
    pub note: Option<String>,
}

/// Releases a pledge (解押): by the bank that holds it, or an admin.
#[utoipa::path(post, path = "/api/v1/pledges/{id}/release", tag = "pledges", request_body = ReleaseIn,
    params(("id" = i64, Path)),
    responses((status = 200, body = PledgeView), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn release_pledge(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(input): Json<ReleaseIn>,
) -> Result<axum::Json<PledgeView>> {
    let today = lifecycle::beijing_today();
    let on = input.released_on.unwrap_or(today);
    if on > today {
        return Err(Error::invalid("released_on", format!("{on} is after today ({today})")));
    }
    let note = match input.note.as_deref() {
        Some(n) => Some(crate::domain::checks::text(n, 1, 500).map_err(|e| Error::invalid("note", e))?),
        None => None,
    };
    let bank = if caller.role == Role::Admin { None } else { Some(bank_of(&caller)?) };
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    money::release_pledge(&mut tx, id, on, note.as_deref(), bank).await?;
    tx.commit().await?;
    Ok(axum::Json(money::pledge(&state.pool, id).await?.expect("just released").into()))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PledgesQuery {
    /// true: only pledges in force; false: only released or overridden ones.
    pub active: Option<bool>,
    pub township: Option<String>,
    pub certificate_no: Option<String>,
    /// At most this many, newest first (1–10000, default 1000).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PledgeList {
    pub items: Vec<PledgeView>,
}

/// Pledges, newest first: a bank's own, or all for staff (limited accounts: their townships).
#[utoipa::path(get, path = "/api/v1/pledges", tag = "pledges", params(PledgesQuery),
    responses((status = 200, body = PledgeList), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn pledges(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<PledgesQuery>,
) -> Result<axum::Json<PledgeList>> {
    let township = township_param(q.township.as_deref())?;
    let limit = list_limit(q.limit)?;
    let rows = pledge_rows(&state, &caller, q.active, township.as_deref(), q.certificate_no.as_deref(), limit).await?;
    Ok(axum::Json(PledgeList { items: rows.into_iter().map(Into::into).collect() }))
}

async fn pledge_rows(
    state: &AppState,
    caller: &Caller,
    active: Option<bool>,
    township: Option<&str>,
    certificate_no: Option<&str>,
    limit: i64,
) -> Result<Vec<PledgeRow>> {
    if let Some(t) = township {
        caller.in_scope(t)?;
    }
    let bank_party_id = if caller.role == Role::Bank { Some(bank_of(caller)?) } else { None };
    let filter = PledgeFilter { bank_party_id, active, township, certificate_no };
    let rows = money::pledges(&state.pool, &filter, limit).await?;
    Ok(rows.into_iter().filter(|p| caller.role == Role::Bank || caller.covers(&p.township_code)).collect())
}

// ---------------------------------------------------------------------------------------------------
// CSVs

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CsvQuery {
    /// Only this township (9-digit code).
    pub township: Option<String>,
}

fn csv(name: &str, header: &[&str], rows: Vec<Vec<Value>>) -> Result<Response> {
    let body = export::table_csv(header, &rows).map_err(Error::Internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")).expect("an ASCII name"),
            ),
        ],
        body,
    )
        .into_response())
}

/// Rent received by township and month: payments, to households (农户租金) and to collectives (集体收益).
#[utoipa::path(get, path = "/api/v1/stats/income.csv", tag = "stats", params(CsvQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = Problem)))]
pub async fn income_csv(State(state): State<AppState>, caller: Caller, Query(q): Query<CsvQuery>) -> Result<Response> {
    let township = township_param(q.township.as_deref())?;
    if let Some(t) = &township {
        caller.in_scope(t)?;
    }
    let rows: Vec<(String, String, String, i64, i64, i64)> = money::income_rows(&state.pool, township.as_deref())
        .await?
        .into_iter()
        .filter(|r| caller.covers(&r.0))
        .collect();
    csv(
        "income.csv",
        &["township_code", "township_name", "month", "payments", "household_income_yuan", "collective_income_yuan"],
        rows.into_iter()
            .map(|(code, name, month, n, h, c)| {
                vec![json!(code), json!(name), json!(month), json!(n), yuan(h), yuan(c)]
            })
            .collect(),
    )
}

fn yuan(fen: i64) -> Value {
    serde_json::to_value(Yuan::from_fen(fen)).expect("a number")
}

/// The overdue instalments, one a row, oldest first.
#[utoipa::path(get, path = "/api/v1/stats/overdue.csv", tag = "stats", params(CsvQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = Problem)))]
pub async fn overdue_csv(State(state): State<AppState>, caller: Caller, Query(q): Query<CsvQuery>) -> Result<Response> {
    let township = township_param(q.township.as_deref())?;
    let today = lifecycle::beijing_today();
    let rows = overdue_rows(&state, &caller, township.as_deref(), today, i64::MAX).await?;
    csv(
        "overdue.csv",
        &[
            "township_code",
            "township_name",
            "village",
            "unit_number",
            "contract_no",
            "instalment",
            "due_on",
            "amount_yuan",
            "paid_yuan",
            "outstanding_yuan",
            "days_overdue",
        ],
        rows.into_iter()
            .map(|o| {
                let days = (today - o.due_on).num_days();
                vec![
                    json!(o.township_code),
                    json!(o.township_name),
                    json!(o.village),
                    json!(o.unit_number),
                    json!(o.contract_no),
                    json!(o.seq),
                    json!(o.due_on),
                    yuan(o.amount_fen),
                    yuan(o.paid_fen),
                    yuan(o.amount_fen - o.paid_fen),
                    json!(days),
                ]
            })
            .collect(),
    )
}

/// Pledges, one a row, newest first: the certificate, the bank, the loan and whether it is in force.
#[utoipa::path(get, path = "/api/v1/stats/pledges.csv", tag = "stats", params(CsvQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = Problem)))]
pub async fn pledges_csv(State(state): State<AppState>, caller: Caller, Query(q): Query<CsvQuery>) -> Result<Response> {
    let township = township_param(q.township.as_deref())?;
    let rows = pledge_rows(&state, &caller, None, township.as_deref(), None, i64::MAX).await?;
    csv(
        "pledges.csv",
        &[
            "township_code",
            "township_name",
            "village",
            "certificate_no",
            "bank",
            "loan_contract_no",
            "amount_yuan",
            "loan_start",
            "loan_end",
            "registered_on",
            "released_on",
            "status",
        ],
        rows.into_iter()
            .map(|p| {
                let v = PledgeView::from(p);
                vec![
                    json!(v.township_code),
                    json!(v.township_name),
                    json!(v.village),
                    json!(v.certificate_no),
                    json!(v.bank),
                    json!(v.loan_contract_no),
                    json!(v.amount_yuan),
                    json!(v.loan_start),
                    json!(v.loan_end),
                    json!(v.registered_on),
                    json!(v.released_on),
                    json!(v.status),
                ]
            })
            .collect(),
    )
}

/// The routes of this module, with who may call them.
pub fn routes() -> Vec<Endpoint> {
    vec![
        route(routes!(schedule), Allow::STAFF),
        route(routes!(set_schedule), Allow::OFFICERS),
        route(routes!(add_payment), Allow::OFFICERS),
        route(routes!(overdue), Allow::STAFF),
        route(routes!(village_fees), Allow::STAFF),
        route(routes!(set_village_fee), Allow::ADMINS),
        route(routes!(add_pledge), Allow::BANKS),
        route(routes!(release_pledge), Allow::BANKS_AND_ADMINS),
        route(routes!(pledges), Allow::BANKS_AND_STAFF),
        route(routes!(income_csv), Allow::STAFF),
        route(routes!(overdue_csv), Allow::STAFF),
        route(routes!(pledges_csv), Allow::STAFF),
    ]
}
