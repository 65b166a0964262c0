//! The activation figures (docs/DESIGN.md §4) read from the aggregates that triggers keep
//! (`stats_monthly`, `stats_township_status`), so a summary costs a few hundred rows however large the
//! registry. Public figures: no private data.

use crate::store::StoreResult;
use chrono::NaiveDate;
use sqlx::{FromRow, PgConnection};

use crate::domain::township::TownshipCode;

/// One township's figures.
#[derive(Debug, Clone, FromRow)]
pub struct TownshipRow {
    pub code: String,
    pub name: String,
    /// Certificates in force on the day asked.
    pub certified: i64,
    pub certified_floor_area_m2: f64,
    pub certified_amount_fen: i64,
    /// Every transaction signed, certified or not.
    pub transactions: i64,
    pub houses: i64,
    pub registered: i64,
    pub listed: i64,
    pub contracted: i64,
}

/// One month's figures (months with nothing signed or certified are left out).
#[derive(Debug, Clone, FromRow)]
pub struct MonthRow {
    /// `YYYY-MM`.
    pub month: String,
    pub transactions: i64,
    pub certified: i64,
    pub certified_floor_area_m2: f64,
    pub certified_amount_fen: i64,
}

/// Houses by lifecycle status.
#[derive(Debug, Clone, Copy, Default, FromRow)]
pub struct StatusCounts {
    pub registered: i64,
    pub listed: i64,
    pub contracted: i64,
    pub certified: i64,
}

/// The figures of the district, or of one township.
#[derive(Debug, Clone)]
pub struct Figures {
    pub by_township: Vec<TownshipRow>,
    pub by_month: Vec<MonthRow>,
    pub status: StatusCounts,
}

/// The figures of every township, or of `township` alone, on day `on` (Beijing): certificates in force
/// that day, transactions signed up to the end of its month; the houses' statuses are today's. `None`
/// when that township does not exist.
pub async fn figures(
    conn: &mut PgConnection,
    township: Option<&TownshipCode>,
    on: NaiveDate,
) -> StoreResult<Option<Figures>> {
    let code = township.map(TownshipCode::as_str);
    let by_township: Vec<TownshipRow> = sqlx::query_as(
        "select t.code::text as code, t.name, coalesce(i.certified, 0) as certified,
                coalesce(i.floor_area_m2, 0)::float8 as certified_floor_area_m2,
                coalesce(i.amount_fen, 0) as certified_amount_fen, coalesce(m.transactions, 0) as transactions,
                coalesce(s.registered + s.listed + s.contracted + s.certified, 0) as houses,
                coalesce(s.registered, 0) as registered, coalesce(s.listed, 0) as listed,
                coalesce(s.contracted, 0) as contracted
         from townships t
         left join (select township_code, sum(transactions)::bigint as transactions
                    from stats_monthly where month <= stats_month($2::date) group by township_code) m
                on m.township_code = t.code
         left join stats_in_force_on($2::date) i on i.township_code = t.code
         left join stats_township_status s on s.township_code = t.code
         where $1::text is null or t.code = $1
         order by t.code",
    )
    .bind(code)
    .bind(on)
    .fetch_all(&mut *conn)
    .await?;
    if township.is_some() && by_township.is_empty() {
        return Ok(None);
    }
    let by_month = months(conn, township, None, on).await?;
    let status: StatusCounts = sqlx::query_as(
        "select coalesce(sum(registered), 0)::bigint as registered, coalesce(sum(listed), 0)::bigint as listed,
                coalesce(sum(contracted), 0)::bigint as contracted, coalesce(sum(certified), 0)::bigint as certified
         from stats_township_status where $1::text is null or township_code = $1",
    )
    .bind(code)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Some(Figures { by_township, by_month, status }))
}

/// The figures by month of every township, or of `township` alone, from the month of `from` (from the
/// first when `None`) to the month of `to`, each month whole: the summary's months and the printed
/// report's read this one query, so the two agree. Months with nothing signed or certified are left out.
pub async fn months(
    conn: &mut PgConnection,
    township: Option<&TownshipCode>,
    from: Option<NaiveDate>,
    to: NaiveDate,
) -> StoreResult<Vec<MonthRow>> {
    let rows = sqlx::query_as(
        "select to_char(month, 'YYYY-MM') as month, sum(transactions)::bigint as transactions,
                sum(certified)::bigint as certified, sum(certified_floor_area_m2)::float8 as certified_floor_area_m2,
                sum(certified_amount_fen)::bigint as certified_amount_fen
         from stats_monthly
         where ($1::text is null or township_code = $1)
           and ($2::date is null or month >= stats_month($2::date)) and month <= stats_month($3::date)
         group by month having sum(transactions) <> 0 or sum(certified) <> 0 order by month",
    )
    .bind(township.map(TownshipCode::as_str))
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?;
    Ok(rows)
}
