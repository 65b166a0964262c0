//! `GET /api/v1/stats/summary`: the activation figures (docs/DESIGN.md §4), in total, by township and by
//! month, optionally for one township (`?township=CODE`).
//!
//! Read from the aggregates that triggers keep (`stats_monthly`, `stats_township_status`, migration 0021),
//! so the answer costs a few hundred rows however large the registry. Public figures: no private data.
//! Read from a standby when the service has any ([`crate::store::standbys`]).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::query::Query;
use super::{AppState, Error, Result};
use crate::domain::money::Yuan;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// Only this township (9-digit code).
    pub township: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Summary {
    /// Houses whose transaction has a certificate in force (鉴证 = activated).
    pub certified_houses: i64,
    pub certified_floor_area_m2: f64,
    /// Total amount of the certified transactions.
    #[schema(value_type = f64)]
    pub transaction_amount_yuan: Yuan,
    pub townships_count: i64,
    pub township: Option<String>,
    /// Houses by lifecycle status.
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

type TownshipRow = (String, String, i64, f64, i64, i64, i64, i64, i64, i64);
type MonthRow = (String, i64, i64, f64, i64);

/// The activation figures: totals, by township and by month (public).
#[utoipa::path(get, path = "/api/v1/stats/summary", tag = "stats", params(SummaryQuery),
    responses((status = 200, body = Summary)))]
pub async fn summary(State(state): State<AppState>, Query(q): Query<SummaryQuery>) -> Result<Json<Summary>> {
    let township = match q.township.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(code) if code.len() == 9 && code.bytes().all(|b| b.is_ascii_digit()) => Some(code.to_string()),
        Some(_) => return Err(Error::invalid("township", "must be a 9-digit township code")),
    };
    let mut read = state.reads.acquire().await?;
    let conn: &mut sqlx::PgConnection = &mut read.conn;
    let rows: Vec<TownshipRow> = sqlx::query_as(
        "select t.code::text, t.name, coalesce(m.certified, 0), coalesce(m.area, 0)::float8,
                coalesce(m.amount, 0), coalesce(m.transactions, 0),
                coalesce(s.registered + s.listed + s.contracted + s.certified, 0),
                coalesce(s.registered, 0), coalesce(s.listed, 0), coalesce(s.contracted, 0)
         from townships t
         left join (select township_code, sum(certified)::bigint as certified, sum(certified_floor_area_m2) as area,
                           sum(certified_amount_fen)::bigint as amount, sum(transactions)::bigint as transactions
                    from stats_monthly group by township_code) m on m.township_code = t.code
         left join stats_township_status s on s.township_code = t.code
         where $1::text is null or t.code = $1
         order by t.code",
    )
    .bind(&township)
    .fetch_all(&mut *conn)
    .await?;
    if let Some(code) = &township
        && rows.is_empty()
    {
        return Err(Error::NotFound(format!("township {code}")));
    }
    let by_month: Vec<MonthRow> = sqlx::query_as(
        "select to_char(month, 'YYYY-MM'), sum(transactions)::bigint, sum(certified)::bigint,
                sum(certified_floor_area_m2)::float8, sum(certified_amount_fen)::bigint
         from stats_monthly where $1::text is null or township_code = $1
         group by month having sum(transactions) <> 0 or sum(certified) <> 0 order by month",
    )
    .bind(&township)
    .fetch_all(&mut *conn)
    .await?;
    let status: (i64, i64, i64, i64) = sqlx::query_as(
        "select coalesce(sum(registered), 0)::bigint, coalesce(sum(listed), 0)::bigint,
                coalesce(sum(contracted), 0)::bigint, coalesce(sum(certified), 0)::bigint
         from stats_township_status where $1::text is null or township_code = $1",
    )
    .bind(&township)
    .fetch_one(&mut *conn)
    .await?;

    let by_township: Vec<TownshipFigures> = rows
        .into_iter()
        .map(|r| TownshipFigures {
            code: r.0,
            name: r.1,
            certified_houses: r.2,
            certified_floor_area_m2: round2(r.3),
            transaction_amount_yuan: Yuan::from_fen(r.4),
            transactions: r.5,
            houses: r.6,
            registered: r.7,
            listed: r.8,
            contracted: r.9,
        })
        .collect();
    let houses = HouseCounts {
        total: status.0 + status.1 + status.2 + status.3,
        registered: status.0,
        listed: status.1,
        contracted: status.2,
        certified: status.3,
    };
    Ok(Json(Summary {
        certified_houses: by_township.iter().map(|t| t.certified_houses).sum(),
        certified_floor_area_m2: round2(by_township.iter().map(|t| t.certified_floor_area_m2).sum()),
        transaction_amount_yuan: Yuan::from_fen(by_township.iter().map(|t| t.transaction_amount_yuan.fen()).sum()),
        townships_count: by_township.len() as i64,
        township,
        houses,
        by_township,
        by_month: by_month
            .into_iter()
            .map(|m| MonthFigures {
                month: m.0,
                transactions: m.1,
                certified: m.2,
                certified_floor_area_m2: round2(m.3),
                amount_yuan: Yuan::from_fen(m.4),
            })
            .collect(),
    }))
}

/// Floor areas are kept to the hundredth of a square metre; sums of them read back as such.
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
