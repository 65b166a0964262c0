//! `GET /api/v1/reports/activation.pdf`: the activation figures (docs/DESIGN.md §4) as a printed report for
//! officials' meetings, drawn by [`crate::document::report`].
//!
//! Its figures are the summary's: the totals and the townships from [`map::stats::figures`] on the last
//! day of the period, the months from [`map::stats::months`] (the query the summary's months run), the
//! income from [`money::by_township`]; so the paper and `/api/v1/stats/summary` agree. They are read from
//! a standby when the service has any.

use axum::extract::State;
use axum::response::Response;
use chrono::{Datelike, Months, NaiveDate};
use serde::Deserialize;

use super::certificates::pdf;
use super::query::Query;
use super::routes::{Allow, Endpoint, route};
use super::{AppState, Error, Problem, Result};
use crate::document::report::{self, Line, Month, Report};
use crate::domain::township::TownshipCode;
use crate::domain::{lifecycle, records};
use crate::map;
use crate::store::money;
use utoipa_axum::routes;

/// The whole district's name, the report's title when no township is asked for.
const DISTRICT: &str = "上虞区";
/// The longest period a report covers: its chart has a bar per month.
const MAX_YEARS: u32 = 10;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// First day of the period (Beijing, `YYYY-MM-DD`); by default the first of the month twelve months
    /// before the month of `to`.
    pub from: Option<NaiveDate>,
    /// Last day of the period (Beijing, `YYYY-MM-DD`), the day whose certificates in force are counted;
    /// today if not given.
    pub to: Option<NaiveDate>,
    /// Only this township (9-digit code).
    pub township: Option<String>,
}

/// The activation report as an A4 PDF in Chinese (上虞区闲置农房激活情况报告, or a township's), for
/// officials' meetings: the period and the day it was made; the certificates in force on `to` with their
/// floor area (万 m²) and amount (万元), the activation rate (certified of the houses on the register) and
/// the rent received by households and collectives; a table by township (its own line only for one
/// township); and the certificates issued in each month of the period, as a bar chart and a table. The
/// figures are those of `/api/v1/stats/summary?on={to}`. At most ten years; `from` after `to`, a longer
/// period or a malformed township is 422 naming the parameter, an unknown township 404.
#[utoipa::path(get, path = "/api/v1/reports/activation.pdf", tag = "stats", params(ReportQuery),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn activation(State(state): State<AppState>, Query(q): Query<ReportQuery>) -> Result<Response> {
    let township = TownshipCode::parse_optional(q.township.as_deref()).map_err(|e| Error::invalid("township", e))?;
    let (from, to) = period(q.from, q.to, lifecycle::beijing_today())?;
    let mut read = state.reads.acquire().await?;
    let figures = map::stats::figures(&mut read.conn, township.as_ref(), to)
        .await?
        .ok_or_else(|| Error::NotFound(format!("township {}", township.as_ref().map_or("", TownshipCode::as_str))))?;
    let months = map::stats::months(&mut read.conn, township.as_ref(), Some(from), to).await?;
    let income = money::by_township(&mut *read.conn, township.as_ref().map(TownshipCode::as_str), to, false).await?;
    drop(read);

    let townships: Vec<Line> = figures
        .by_township
        .into_iter()
        .map(|t| Line {
            name: t.name,
            certified: t.certified,
            floor_area_m2: t.certified_floor_area_m2,
            amount_fen: t.certified_amount_fen,
            houses: t.houses,
        })
        .collect();
    let area = match (&township, townships.first()) {
        (Some(_), Some(only)) => only.name.clone(),
        _ => DISTRICT.to_string(),
    };
    let report = Report {
        total: total(&area, &townships),
        area,
        from,
        to,
        made_at: chrono::Utc::now(),
        office: state.issuing.office.clone(),
        household_income_fen: income.iter().map(|m| m.household_fen).sum(),
        collective_income_fen: income.iter().map(|m| m.collective_fen).sum(),
        townships,
        months: every_month(from, to, &months),
    };
    let filename = match &township {
        Some(code) => format!("activation-{code}-{from}-{to}.pdf"),
        None => format!("activation-{from}-{to}.pdf"),
    };
    let bytes = state.issuing.clone().print(move |fonts| report::render(&report, fonts)).await?;
    Ok(pdf(bytes, &filename))
}

/// The period asked for, its defaults filled in: `to` today, `from` the first of the month twelve months
/// before `to`'s, so a year of whole months and the current one are shown.
fn period(from: Option<NaiveDate>, to: Option<NaiveDate>, today: NaiveDate) -> Result<(NaiveDate, NaiveDate)> {
    period_of(from, to, today, MAX_YEARS, |to| month_start(to) - Months::new(12))
}

/// A period of days from `from` to `to` (Beijing) asked for by `?from=&to=`: `to` is today when not given,
/// `from` what `default_from` makes of `to` (kept within the longest period). `from` after `to`, a period
/// longer than `max_years` or a day outside the records' range is 422 naming the parameter.
pub(super) fn period_of(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    today: NaiveDate,
    max_years: u32,
    default_from: impl FnOnce(NaiveDate) -> NaiveDate,
) -> Result<(NaiveDate, NaiveDate)> {
    let to = match to {
        Some(d) => records::date(d).map_err(|e| Error::invalid("to", e))?,
        None => today,
    };
    let earliest = to - Months::new(12 * max_years);
    let from = match from {
        Some(d) => records::date(d).map_err(|e| Error::invalid("from", e))?,
        None => default_from(to).clamp(earliest, to),
    };
    if from > to {
        return Err(Error::invalid("from", format!("must not be after to ({to})")));
    }
    if from < earliest {
        return Err(Error::invalid("from", format!("the period may be at most {max_years} years (from {to} back)")));
    }
    Ok((from, to))
}

pub(super) fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).expect("every month has a first day")
}

/// Every month from the month of `from` to that of `to`, with the certificates issued in it: the months
/// the figures leave out (nothing signed or certified) are there with zero, so the chart's axis has no
/// gaps.
fn every_month(from: NaiveDate, to: NaiveDate, rows: &[map::stats::MonthRow]) -> Vec<Month> {
    let mut out = Vec::new();
    let mut start = month_start(from);
    while start <= to {
        let key = start.format("%Y-%m").to_string();
        let certified = rows.iter().find(|r| r.month == key).map_or(0, |r| r.certified);
        out.push(Month { start, certified });
        start = start + Months::new(1);
    }
    out
}

/// The area's line: the townships' figures summed, as the summary sums them.
fn total(area: &str, townships: &[Line]) -> Line {
    Line {
        name: area.to_string(),
        certified: townships.iter().map(|t| t.certified).sum(),
        floor_area_m2: townships.iter().map(|t| t.floor_area_m2).sum(),
        amount_fen: townships.iter().map(|t| t.amount_fen).sum(),
        houses: townships.iter().map(|t| t.houses).sum(),
    }
}

/// The routes of this module, with who may call them.
pub fn routes() -> Vec<Endpoint> {
    vec![route(routes!(activation), Allow::OFFICIALS)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn field(e: Error) -> String {
        match e {
            Error::Invalid(errors) => errors[0].field.clone(),
            other => panic!("{other:?}"),
        }
    }

    fn row(month: &str, certified: i64) -> map::stats::MonthRow {
        map::stats::MonthRow {
            month: month.into(),
            transactions: 0,
            certified,
            certified_floor_area_m2: 0.0,
            certified_amount_fen: 0,
        }
    }

    #[test]
    fn the_period_defaults_to_a_year_of_whole_months_up_to_today() {
        let today = day("2026-12-03");
        assert_eq!(period(None, None, today).unwrap(), (day("2025-12-01"), today));
        assert_eq!(period(None, Some(day("2020-03-31")), today).unwrap(), (day("2019-03-01"), day("2020-03-31")));
        assert_eq!(period(Some(day("2016-12-03")), None, today).unwrap(), (day("2016-12-03"), today));
    }

    #[test]
    fn a_period_backwards_too_long_or_out_of_range_names_its_parameter() {
        let today = day("2026-12-03");
        assert_eq!(field(period(Some(day("2026-12-04")), None, today).unwrap_err()), "from");
        assert_eq!(field(period(Some(day("2016-12-02")), None, today).unwrap_err()), "from");
        assert_eq!(field(period(None, Some(day("1980-01-01")), today).unwrap_err()), "to");
        assert_eq!(field(period(Some(day("1980-01-01")), Some(day("1985-01-01")), today).unwrap_err()), "to");
    }

    #[test]
    fn every_month_of_the_period_is_there_and_the_missing_ones_are_zero() {
        let rows = [row("2025-11", 9), row("2025-12", 4), row("2026-02", 7), row("2026-04", 1)];
        let months = every_month(day("2025-12-15"), day("2026-03-02"), &rows);
        let got: Vec<(String, i64)> =
            months.iter().map(|m| (m.start.format("%Y-%m").to_string(), m.certified)).collect();
        let want = [("2025-12", 4), ("2026-01", 0), ("2026-02", 7), ("2026-03", 0)];
        assert_eq!(got, want.map(|(m, n)| (m.to_string(), n)));
    }
}
