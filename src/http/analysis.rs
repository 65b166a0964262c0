//! `GET /api/v1/stats/analysis`: the officials' analysis of a period (docs/DESIGN.md §4.1) — every month
//! and year with the year before, and the period by township or village, by use, by deal mode and by
//! lessee kind, with the activation rate against the houses on the register; from
//! [`crate::store::analysis`], read from a standby when the service has any.

use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::query::Query;
use super::reports::{month_start, period_of};
use super::routes::{Allow, Endpoint, route};
use super::stats::round2;
use super::{AppState, Error, Problem, Result};
use crate::domain::lifecycle;
use crate::domain::money::Yuan;
use crate::domain::township::TownshipCode;
use crate::store::analysis::{self, Dimension, Figures, GroupRow, MonthRow, Place};
use utoipa_axum::routes;

/// The longest period analysed: a bar per month on one axis.
const MAX_YEARS: u32 = 30;
/// What a period's figures are set beside.
const YEAR: chrono::Months = chrono::Months::new(12);
/// The villages ranked in `top_villages`.
const TOP_VILLAGES: usize = 10;
/// The deal modes and the lessee kinds, every one listed even when nothing is of it.
const MODES: [&str; 3] = ["协议", "竞价", "招标"];
const LESSEE_KINDS: [&str; 4] = ["person", "company", "cooperative", "other"];

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnalysisQuery {
    /// First day of the period (Beijing, `YYYY-MM-DD`); by default the first of the month of the earliest
    /// deal signed (of the township, when one is asked for).
    pub from: Option<NaiveDate>,
    /// Last day of the period (Beijing), the day whose certificates in force are counted; today if not given.
    pub to: Option<NaiveDate>,
    /// Only this township (9-digit code); the areas are then its villages.
    pub township: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Analysis {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub township: Option<String>,
    pub township_name: Option<String>,
    pub totals: Totals,
    /// Every month of the period, in order, empty ones with zeros.
    pub monthly: Vec<Period>,
    /// Every year of the period (its months within the period), in order.
    pub yearly: Vec<Period>,
    /// `township` (the district's townships) or `village` (the chosen township's villages).
    pub area_level: String,
    pub by_area: Vec<Area>,
    /// Every use of `lifecycle::USES`, in that order.
    pub by_use: Vec<Group>,
    /// 协议, 竞价, 招标.
    pub by_mode: Vec<Group>,
    /// person, company, cooperative, other (migrations/0116_analysis.sql).
    pub by_lessee_kind: Vec<Group>,
    /// The villages with the most certificates, then the largest amount.
    pub top_villages: Vec<Area>,
}

/// What a period adds up to: the certificates issued in it and in force on its last day (their floor
/// area and amount), the deals signed in it, and the houses on the register today.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Totals {
    pub houses: i64,
    #[serde(flatten)]
    pub figures: Numbers,
    /// Certified of the houses on the register; null without houses.
    pub activation_rate: Option<f64>,
}

/// The figures of a month, a year or a group.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Numbers {
    pub certified: i64,
    pub certified_floor_area_m2: f64,
    #[schema(value_type = f64)]
    pub amount_yuan: Yuan,
    pub transactions: i64,
    #[schema(value_type = f64)]
    pub transaction_amount_yuan: Yuan,
}

/// A month (`YYYY-MM`) or a year (`YYYY`), with the same months a year before.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Period {
    pub period: String,
    #[serde(flatten)]
    pub figures: Numbers,
    pub certified_prev_year: i64,
    #[schema(value_type = f64)]
    pub amount_yuan_prev_year: Yuan,
    /// (this − the year before) ÷ the year before; null when the year before had none.
    pub certified_yoy: Option<f64>,
    pub amount_yoy: Option<f64>,
}

/// A use, a mode or a lessee kind.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Group {
    pub key: String,
    #[serde(flatten)]
    pub figures: Numbers,
}

/// A township (`code`) or a village (`township_code` and `name`), with its houses on the register.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Area {
    pub code: Option<String>,
    pub name: String,
    pub township_code: String,
    pub township_name: String,
    pub houses: i64,
    #[serde(flatten)]
    pub figures: Numbers,
    pub activation_rate: Option<f64>,
}

/// The officials' analysis of a period (officials, officers, admins): the certificates issued in it and
/// in force on its last day, and the deals signed in it, by month and year (each with the same months a
/// year before and the change), by township (or, for one township, by village) with the activation rate,
/// by use, by deal mode and by lessee kind, and the ten villages with most certificates. Each list sums to
/// `totals`; over the whole history they equal `/api/v1/stats/summary?on={to}`. At most thirty years;
/// `from` after `to`, a longer period or a malformed township is 422 naming the parameter, an unknown
/// township 404.
#[utoipa::path(get, path = "/api/v1/stats/analysis", tag = "stats", params(AnalysisQuery),
    responses((status = 200, body = Analysis), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn analysis(State(state): State<AppState>, Query(q): Query<AnalysisQuery>) -> Result<Json<Analysis>> {
    let township = TownshipCode::parse_optional(q.township.as_deref()).map_err(|e| Error::invalid("township", e))?;
    let code = township.as_ref().map(TownshipCode::as_str);
    let mut read = state.reads.acquire().await?;
    let places = analysis::places(&mut read.conn, code).await?;
    if let (Some(code), None) = (code, places.first()) {
        return Err(Error::NotFound(format!("township {code}")));
    }
    let township_name = code.and(places.first()).map(|p| p.township_name.clone());
    let first = analysis::first_month(&mut read.conn, code).await?;
    let (from, to) =
        period_of(q.from, q.to, lifecycle::beijing_today(), MAX_YEARS, |to| first.unwrap_or(month_start(to)))?;
    let months = analysis::months(&mut read.conn, code, from, to).await?;
    let year_before = analysis::months(&mut read.conn, code, from - YEAR, to - YEAR).await?;
    let groups = analysis::groups(&mut read.conn, code, from, to).await?;
    drop(read);

    let (monthly, yearly) = series(&months, &year_before);
    let by_area = areas(&places, &groups, code.is_some());
    let mut top_villages = areas(&places, &groups, true);
    top_villages.retain(|a| a.figures.certified > 0);
    top_villages.sort_by(|a, b| {
        (b.figures.certified, b.figures.amount_yuan.fen()).cmp(&(a.figures.certified, a.figures.amount_yuan.fen()))
    });
    top_villages.truncate(TOP_VILLAGES);
    let period_total = numbers(&months.iter().fold(Figures::default(), |mut t, m| {
        add(&mut t, &m.figures);
        t
    }));
    let houses = places.iter().filter(|p| p.village.is_none()).map(|p| p.houses).sum();
    Ok(Json(Analysis {
        from,
        to,
        township: code.map(str::to_string),
        township_name,
        totals: Totals { houses, activation_rate: rate(period_total.certified, houses), figures: period_total },
        monthly,
        yearly,
        area_level: if code.is_some() { "village" } else { "township" }.to_string(),
        by_area,
        by_use: keyed(&groups, Dimension::Use, &lifecycle::USES),
        by_mode: keyed(&groups, Dimension::Mode, &MODES),
        by_lessee_kind: keyed(&groups, Dimension::LesseeKind, &LESSEE_KINDS),
        top_villages,
    }))
}

fn numbers(f: &Figures) -> Numbers {
    Numbers {
        certified: f.certified,
        certified_floor_area_m2: round2(f.floor_area_m2),
        amount_yuan: Yuan::from_fen(f.amount_fen),
        transactions: f.transactions,
        transaction_amount_yuan: Yuan::from_fen(f.transaction_fen),
    }
}

fn rate(certified: i64, houses: i64) -> Option<f64> {
    (houses > 0).then(|| (certified as f64 / houses as f64 * 10_000.0).round() / 10_000.0)
}

fn change(now: i64, before: i64) -> Option<f64> {
    (before != 0).then(|| ((now - before) as f64 / before as f64 * 10_000.0).round() / 10_000.0)
}

/// The months of the period, each beside the same month of the period a year before (as an analysis of
/// that period counts it: in force on its last day); and the same summed per year.
fn series(months: &[MonthRow], year_before: &[MonthRow]) -> (Vec<Period>, Vec<Period>) {
    let with_before: Vec<(&MonthRow, Figures)> = months
        .iter()
        .enumerate()
        .map(|(i, m)| (m, year_before.get(i).map(|b| b.figures.clone()).unwrap_or_default()))
        .collect();
    let period = |key: String, now: &Figures, before: &Figures| Period {
        period: key,
        figures: numbers(now),
        certified_prev_year: before.certified,
        amount_yuan_prev_year: Yuan::from_fen(before.amount_fen),
        certified_yoy: change(now.certified, before.certified),
        amount_yoy: change(now.amount_fen, before.amount_fen),
    };
    let monthly = with_before.iter().map(|(m, before)| period(m.month.clone(), &m.figures, before)).collect();
    let mut years: Vec<(String, Figures, Figures)> = Vec::new();
    for (m, before) in &with_before {
        let year = m.month[..4].to_string();
        if years.last().is_none_or(|(y, ..)| *y != year) {
            years.push((year, Figures::default(), Figures::default()));
        }
        let (_, now, prev) = years.last_mut().expect("pushed");
        add(now, &m.figures);
        add(prev, before);
    }
    (monthly, years.iter().map(|(y, now, before)| period(y.clone(), now, before)).collect())
}

fn add(to: &mut Figures, f: &Figures) {
    to.certified += f.certified;
    to.floor_area_m2 += f.floor_area_m2;
    to.amount_fen += f.amount_fen;
    to.transactions += f.transactions;
    to.transaction_fen += f.transaction_fen;
}

/// Every township (or, `villages`, every village) of the places, with its figures.
fn areas(places: &[Place], groups: &[GroupRow], villages: bool) -> Vec<Area> {
    places
        .iter()
        .filter(|p| p.village.is_some() == villages)
        .map(|p| {
            let figures = groups
                .iter()
                .find(|g| {
                    g.township_code.as_deref() == Some(p.township_code.as_str())
                        && match &p.village {
                            Some(v) => g.dimension() == Some(Dimension::Village) && g.key.as_ref() == Some(v),
                            None => g.dimension() == Some(Dimension::Township),
                        }
                })
                .map(|g| g.figures.clone())
                .unwrap_or_default();
            Area {
                code: p.village.is_none().then(|| p.township_code.clone()),
                name: p.village.clone().unwrap_or_else(|| p.township_name.clone()),
                township_code: p.township_code.clone(),
                township_name: p.township_name.clone(),
                houses: p.houses,
                activation_rate: rate(figures.certified, p.houses),
                figures: numbers(&figures),
            }
        })
        .collect()
}

/// The groups of one dimension, every key of `keys` in its order (zeros where nothing is of it), then
/// any other key the records hold.
fn keyed(groups: &[GroupRow], dimension: Dimension, keys: &[&str]) -> Vec<Group> {
    let of = |key: &str| {
        groups.iter().find(|g| g.dimension() == Some(dimension) && g.key.as_deref() == Some(key)).map(|g| &g.figures)
    };
    let mut out: Vec<Group> = keys
        .iter()
        .map(|k| Group { key: (*k).to_string(), figures: numbers(of(k).unwrap_or(&Figures::default())) })
        .collect();
    for g in groups.iter().filter(|g| g.dimension() == Some(dimension)) {
        if let Some(key) = g.key.as_deref().filter(|k| !keys.contains(k)) {
            out.push(Group { key: key.to_string(), figures: numbers(&g.figures) });
        }
    }
    out
}

/// The routes of this module, with who may call them.
pub fn routes() -> Vec<Endpoint> {
    vec![route(routes!(analysis), Allow::OFFICIALS)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn month(key: &str, certified: i64) -> MonthRow {
        MonthRow {
            month: key.into(),
            figures: Figures { certified, amount_fen: certified * 100, ..Figures::default() },
        }
    }

    #[test]
    fn each_month_and_year_is_set_beside_the_year_before() {
        // 2026-01 … 2027-02, and the period a year before.
        let mut rows: Vec<MonthRow> =
            (1..=12).map(|m| month(&format!("2026-{m:02}"), if m == 3 { 6 } else { 1 })).collect();
        rows.extend([month("2027-01", 0), month("2027-02", 2)]);
        let mut before: Vec<MonthRow> =
            (1..=12).map(|m| month(&format!("2025-{m:02}"), if m == 3 { 4 } else { 0 })).collect();
        before.extend([month("2026-01", 1), month("2026-02", 2)]);
        let (monthly, yearly) = series(&rows, &before);
        assert_eq!(monthly.len(), 14);
        assert_eq!(monthly[0].period, "2026-01");
        assert_eq!(monthly[0].certified_yoy, None, "nothing a year before");
        assert_eq!((monthly[2].figures.certified, monthly[2].certified_prev_year), (6, 4));
        assert_eq!(monthly[2].certified_yoy, Some(0.5));
        assert_eq!(monthly[12].certified_yoy, Some(-1.0));
        let years: Vec<(&str, i64, i64)> =
            yearly.iter().map(|y| (y.period.as_str(), y.figures.certified, y.certified_prev_year)).collect();
        assert_eq!(years, [("2026", 17, 4), ("2027", 2, 3)]);
        assert_eq!(yearly[1].certified_yoy, Some(-0.3333));
        assert_eq!(monthly.iter().map(|m| m.figures.certified).sum::<i64>(), 19);
    }

    #[test]
    fn every_mode_is_listed_and_unknown_keys_follow() {
        let row = |key: &str, certified| GroupRow {
            dimension: "mode".into(),
            township_code: None,
            key: Some(key.into()),
            figures: Figures { certified, ..Figures::default() },
        };
        let out = keyed(&[row("竞价", 3), row("拍卖", 1)], Dimension::Mode, &MODES);
        let keys: Vec<(&str, i64)> = out.iter().map(|g| (g.key.as_str(), g.figures.certified)).collect();
        assert_eq!(keys, [("协议", 0), ("竞价", 3), ("招标", 0), ("拍卖", 1)]);
    }
}
