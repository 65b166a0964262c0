//! `GET /api/v1/stats/summary`: the activation figures (docs/DESIGN.md §4), in total, by township and by
//! month, optionally for one township (`?township=CODE`).
//!
//! The figures come from [`crate::map::stats`]; they are read from a standby when the service has any
//! ([`crate::store::standbys`]).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::query::Query;
use super::routes::{Allow, Endpoint, route};
use super::{AppState, Error, Result};
use crate::domain::money::Yuan;
use crate::domain::township::TownshipCode;
use crate::domain::{lifecycle, records};
use crate::map;
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
}

/// The activation figures: totals, by township and by month (public).
#[utoipa::path(get, path = "/api/v1/stats/summary", tag = "stats", params(SummaryQuery),
    responses((status = 200, body = Summary)))]
pub async fn summary(State(state): State<AppState>, Query(q): Query<SummaryQuery>) -> Result<Json<Summary>> {
    let township = TownshipCode::parse_optional(q.township.as_deref()).map_err(|e| Error::invalid("township", e))?;
    let on = match q.on {
        Some(d) => records::date(d).map_err(|e| Error::invalid("on", e))?,
        None => lifecycle::beijing_today(),
    };
    let mut read = state.reads.acquire().await?;
    let figures = map::stats::figures(&mut read.conn, township.as_ref(), on)
        .await?
        .ok_or_else(|| Error::NotFound(format!("township {}", township.as_ref().map_or("", TownshipCode::as_str))))?;
    let by_township: Vec<TownshipFigures> = figures
        .by_township
        .into_iter()
        .map(|r| TownshipFigures {
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
    Ok(Json(Summary {
        on,
        certified_houses: by_township.iter().map(|t| t.certified_houses).sum(),
        certified_floor_area_m2: round2(by_township.iter().map(|t| t.certified_floor_area_m2).sum()),
        transaction_amount_yuan: Yuan::from_fen(by_township.iter().map(|t| t.transaction_amount_yuan.fen()).sum()),
        townships_count: by_township.len() as i64,
        township: township.map(|t| t.to_string()),
        houses,
        by_township,
        by_month: figures
            .by_month
            .into_iter()
            .map(|m| MonthFigures {
                month: m.month,
                transactions: m.transactions,
                certified: m.certified,
                certified_floor_area_m2: round2(m.certified_floor_area_m2),
                amount_yuan: Yuan::from_fen(m.certified_amount_fen),
            })
            .collect(),
    }))
}

/// Floor areas are kept to the hundredth of a square metre; sums of them read back as such.
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The routes of this module, with who may call them.
pub fn routes() -> Vec<Endpoint> {
    vec![route(routes!(summary), Allow::Everyone)]
}
