//! `GET /api/v1/stats/summary`: the activation figures (docs/DESIGN.md §4), in total, by township and by
//! month, optionally for one township (`?township=CODE`).
//!
//! The figures come from [`crate::map::stats`]; they are read from a standby when the service has any
//! ([`crate::store::standbys`]).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::auth::Caller;
use super::query::Query;
use super::routes::{Allow, Endpoint, route};
use super::{AppState, Error, Result};
use crate::domain::money::Yuan;
use crate::domain::roles::Audience;
use crate::domain::township::TownshipCode;
use crate::domain::{lifecycle, records};
use crate::map;
use crate::store::money;
use utoipa_axum::routes;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// Only this township (9-digit code).
    pub township: Option<String>,
    /// The day (Beijing) whose certificates in force are counted; today if not given.
    pub on: Option<chrono::NaiveDate>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Summary {
    /// The day the figures are of (Beijing).
    pub on: chrono::NaiveDate,
    /// Certificates in force on that day (鉴证 = activated): issued by then, not ended early, run out or
    /// revoked. Today, the houses certified.
    pub certified_houses: i64,
    pub certified_floor_area_m2: f64,
    /// Total amount of the certified transactions.
    #[schema(value_type = f64)]
    pub transaction_amount_yuan: Yuan,
    pub townships_count: i64,
    pub township: Option<String>,
    /// Rent received by households (农户租金) up to the month of `on` (docs/DESIGN.md §2.6).
    #[schema(value_type = f64)]
    pub household_income_yuan: Yuan,
    /// Rent received by village collectives (集体收益) up to the month of `on`.
    #[schema(value_type = f64)]
    pub collective_income_yuan: Yuan,
    /// Staff: what was due before `on` and is not paid.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    pub overdue_yuan: Option<Yuan>,
    /// Staff: pledges (抵押) in force on `on`, and the amount they secure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pledges_in_force: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    pub pledged_amount_yuan: Option<Yuan>,
    /// Houses by lifecycle status, today.
    pub houses: HouseCounts,
    pub by_township: Vec<TownshipFigures>,
    pub by_month: Vec<MonthFigures>,
}

#[derive(Debug, Serialize, Default, Clone, Copy, utoipa::ToSchema)]
pub struct HouseCounts {
    pub total: i64,
    pub registered: i64,
    pub listed: i64,
    pub contracted: i64,
    pub certified: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TownshipFigures {
    pub code: String,
    pub name: String,
    pub certified_houses: i64,
    pub certified_floor_area_m2: f64,
    #[schema(value_type = f64)]
    pub transaction_amount_yuan: Yuan,
    /// Every transaction signed, certified or not.
    pub transactions: i64,
    pub houses: i64,
    pub registered: i64,
    pub listed: i64,
    pub contracted: i64,
    #[serde(flatten)]
    pub money: MoneyDetails,
}

/// The money figures of a township or a month, for staff (docs/DESIGN.md §2.6); left out for others.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct MoneyDetails {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    pub household_income_yuan: Option<Yuan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    pub collective_income_yuan: Option<Yuan>,
    /// Of a township: due and not paid. Of a month: not given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    pub overdue_yuan: Option<Yuan>,
    /// Of a township: pledges in force on the day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pledges_in_force: Option<i64>,
    /// Of a month: pledges registered in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pledges_registered: Option<i64>,
    /// The amount those pledges secure.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    pub pledged_amount_yuan: Option<Yuan>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MonthFigures {
    /// `YYYY-MM`.
    pub month: String,
    /// Transactions signed in the month.
    pub transactions: i64,
    /// Certificates issued in the month and still in force.
    pub certified: i64,
    pub certified_floor_area_m2: f64,
    /// Total amount of those certified transactions.
    #[schema(value_type = f64)]
    pub amount_yuan: Yuan,
    #[serde(flatten)]
    pub money: MoneyDetails,
}

/// The activation figures: totals, by township and by month (public). The answer carries an `ETag` of its
/// content; a page that polls for changes sends it back as `If-None-Match` and gets 304 while nothing
/// changed.
#[utoipa::path(get, path = "/api/v1/stats/summary", tag = "stats", params(SummaryQuery),
    responses((status = 200, body = Summary), (status = 304, description = "unchanged since the ETag sent")))]
pub async fn summary(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(q): Query<SummaryQuery>,
) -> Result<Response> {
    let body = serde_json::to_vec(&figures_of(&state, &caller, q).await?).map_err(anyhow::Error::from)?;
    let tag = format!("\"{}\"", hex::encode(&Sha256::digest(&body)[..12]));
    let tag = HeaderValue::from_str(&tag).expect("hex");
    if headers.get(header::IF_NONE_MATCH).is_some_and(|sent| sent.as_bytes() == tag.as_bytes()) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
    }
    Ok(([(header::ETAG, tag), (header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body)
        .into_response())
}

/// The figures the summary answers with.
async fn figures_of(state: &AppState, caller: &Caller, q: SummaryQuery) -> Result<Summary> {
    let township = TownshipCode::parse_optional(q.township.as_deref()).map_err(|e| Error::invalid("township", e))?;
    let on = match q.on {
        Some(d) => records::date(d).map_err(|e| Error::invalid("on", e))?,
        None => lifecycle::beijing_today(),
    };
    let mut read = state.reads.acquire().await?;
    let figures = map::stats::figures(&mut read.conn, township.as_ref(), on)
        .await?
        .ok_or_else(|| Error::NotFound(format!("township {}", township.as_ref().map_or("", TownshipCode::as_str))))?;
    let code = township.as_ref().map(TownshipCode::as_str);
    let staff = caller.role.audience() == Audience::Staff;
    let money_townships = money::by_township(&mut *read.conn, code, on, staff).await?;
    // A limited account sees the details of its townships; the month rows, of the whole (or the chosen)
    // township, only when it covers them all.
    let months_seen = staff && code.map_or(caller.townships.is_empty(), |c| caller.covers(c));
    let money_months = if months_seen { money::by_month(&mut *read.conn, code, on).await? } else { Vec::new() };
    let details = |m: &money::MoneyFigures, township: bool| MoneyDetails {
        household_income_yuan: Some(Yuan::from_fen(m.household_fen)),
        collective_income_yuan: Some(Yuan::from_fen(m.collective_fen)),
        overdue_yuan: township.then_some(Yuan::from_fen(m.overdue_fen)),
        pledges_in_force: township.then_some(m.pledges),
        pledges_registered: (!township).then_some(m.pledges),
        pledged_amount_yuan: Some(Yuan::from_fen(m.pledged_fen)),
    };
    let total = |f: fn(&money::MoneyFigures) -> i64| Yuan::from_fen(money_townships.iter().map(f).sum());
    let by_township: Vec<TownshipFigures> = figures
        .by_township
        .into_iter()
        .map(|r| TownshipFigures {
            money: money_townships
                .iter()
                .find(|m| m.key == r.code && staff && caller.covers(&r.code))
                .map(|m| details(m, true))
                .unwrap_or_default(),
            code: r.code,
            name: r.name,
            certified_houses: r.certified,
            certified_floor_area_m2: round2(r.certified_floor_area_m2),
            transaction_amount_yuan: Yuan::from_fen(r.certified_amount_fen),
            transactions: r.transactions,
            houses: r.houses,
            registered: r.registered,
            listed: r.listed,
            contracted: r.contracted,
        })
        .collect();
    let s = figures.status;
    let houses = HouseCounts {
        total: s.registered + s.listed + s.contracted + s.certified,
        registered: s.registered,
        listed: s.listed,
        contracted: s.contracted,
        certified: s.certified,
    };
    Ok(Summary {
        on,
        certified_houses: by_township.iter().map(|t| t.certified_houses).sum(),
        certified_floor_area_m2: round2(by_township.iter().map(|t| t.certified_floor_area_m2).sum()),
        transaction_amount_yuan: Yuan::from_fen(by_township.iter().map(|t| t.transaction_amount_yuan.fen()).sum()),
        townships_count: by_township.len() as i64,
        township: township.map(|t| t.to_string()),
        household_income_yuan: total(|m| m.household_fen),
        collective_income_yuan: total(|m| m.collective_fen),
        overdue_yuan: months_seen.then(|| total(|m| m.overdue_fen)),
        pledges_in_force: months_seen.then(|| money_townships.iter().map(|m| m.pledges).sum()),
        pledged_amount_yuan: months_seen.then(|| total(|m| m.pledged_fen)),
        houses,
        by_township,
        by_month: months(figures.by_month, &money_months, details),
    })
}

/// The activation figures by month, with the money figures of staff; a month with payments or pledges
/// and no activation is listed too.
fn months(
    activation: Vec<map::stats::MonthRow>,
    money_months: &[money::MoneyFigures],
    details: impl Fn(&money::MoneyFigures, bool) -> MoneyDetails,
) -> Vec<MonthFigures> {
    let mut out: Vec<MonthFigures> = activation
        .into_iter()
        .map(|m| MonthFigures {
            money: money_months.iter().find(|x| x.key == m.month).map(|x| details(x, false)).unwrap_or_default(),
            month: m.month,
            transactions: m.transactions,
            certified: m.certified,
            certified_floor_area_m2: round2(m.certified_floor_area_m2),
            amount_yuan: Yuan::from_fen(m.certified_amount_fen),
        })
        .collect();
    for x in money_months {
        if !out.iter().any(|m| m.month == x.key) {
            out.push(MonthFigures {
                month: x.key.clone(),
                transactions: 0,
                certified: 0,
                certified_floor_area_m2: 0.0,
                amount_yuan: Yuan::default(),
                money: details(x, false),
            });
        }
    }
    out.sort_by(|a, b| a.month.cmp(&b.month));
    out
}

/// Floor areas are kept to the hundredth of a square metre; sums of them read back as such.
pub(super) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The routes of this module, with who may call them.
pub fn routes() -> Vec<Endpoint> {
    vec![route(routes!(summary), Allow::Everyone)]
}
