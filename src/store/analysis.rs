//! The officials' analysis (docs/DESIGN.md §4.1): the activation of a period by month, by area, by use, by
//! deal mode and by lessee kind, read from the records.
//!
//! Every figure counts the same certificates: issued in the period and in force on its last day, with
//! the township, village, floor area, amount and use they state (their frozen facts), so each breakdown
//! sums to the period's totals and, over the whole history, to the summary's figures on that day. Deals
//! count in the month they were signed, in their house's township and village. The queries read the
//! records rather than the aggregates: a period and a breakdown the aggregates do not keep, for a few
//! thousand certificates per district.

use chrono::NaiveDate;
use sqlx::{FromRow, PgConnection};

use super::StoreResult;

/// The certificates issued from `$2` to `$3` (Beijing days) and in force on `$3`, of township `$1` (all
/// when null), with what the breakdowns group them by.
const CERTIFICATES: &str = "
    select c.facts ->> 'township_code' as township_code, c.facts ->> 'village' as village,
           c.facts ->> 'intended_use' as intended_use, t.mode, lessee_kind(l.kind, l.credit_code) as lessee_kind,
           stats_month(c.issued_at) as month, 1 as certified, (c.facts ->> 'floor_area_m2')::numeric as floor_area_m2,
           (c.facts ->> 'total_amount_fen')::bigint as amount_fen, 0 as transactions, 0::bigint as transaction_fen
    from certifications c
    join transactions t on t.id = c.transaction_id
    join parties l on l.id = t.lessee_party_id
    where (c.issued_at at time zone 'Asia/Shanghai')::date between $2 and $3
      and certificate_ceases(t.lease_end, t.terminated_on, c.revoked_at) > $3
      and ($1::text is null or c.facts ->> 'township_code' = $1)";

/// The deals signed from `$2` to `$3` of township `$1`, in the same shape.
const DEALS: &str = "
    select f.township_code::text, p.village, t.intended_use, t.mode, lessee_kind(l.kind, l.credit_code),
           stats_month(t.signed_on), 0, 0::numeric, 0::bigint, 1, t.total_amount_fen
    from transactions t
    join farmhouses f on f.id = t.farmhouse_id
    join parcels p on p.parcel_code = f.parcel_code
    join parties l on l.id = t.lessee_party_id
    where t.signed_on between $2 and $3 and ($1::text is null or f.township_code = $1)";

/// What a period adds up to, in a month, a year or a group.
#[derive(Debug, Clone, Default, PartialEq, FromRow)]
pub struct Figures {
    /// Certificates issued in it and in force on the period's last day.
    pub certified: i64,
    pub floor_area_m2: f64,
    pub amount_fen: i64,
    /// Deals signed in it.
    pub transactions: i64,
    pub transaction_fen: i64,
}

/// A month's figures (`YYYY-MM`).
#[derive(Debug, Clone, FromRow)]
pub struct MonthRow {
    pub month: String,
    #[sqlx(flatten)]
    pub figures: Figures,
}

/// Every month from the month of `from` to the month of `to`, empty ones with zeros, of township
/// `township` (all when `None`): the certificates issued in it from `from` to `to` and in force on `to`,
/// and the deals signed in it from `from` to `to`.
pub async fn months(
    conn: &mut PgConnection,
    township: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> StoreResult<Vec<MonthRow>> {
    let sql = format!(
        "with records as ({CERTIFICATES} union all {DEALS}),
              per_month as (select month, sum(certified)::bigint as certified,
                                   coalesce(sum(floor_area_m2), 0)::float8 as floor_area_m2,
                                   coalesce(sum(amount_fen), 0)::bigint as amount_fen,
                                   sum(transactions)::bigint as transactions,
                                   coalesce(sum(transaction_fen), 0)::bigint as transaction_fen
                            from records group by month)
         select to_char(m.month, 'YYYY-MM') as month, coalesce(p.certified, 0) as certified,
                coalesce(p.floor_area_m2, 0) as floor_area_m2, coalesce(p.amount_fen, 0) as amount_fen,
                coalesce(p.transactions, 0) as transactions, coalesce(p.transaction_fen, 0) as transaction_fen
         from generate_series(stats_month($2::date), stats_month($3::date), interval '1 month') as m(month)
         left join per_month p on p.month = m.month
         order by m.month"
    );
    Ok(sqlx::query_as(&sql).bind(township).bind(from).bind(to).fetch_all(conn).await?)
}

/// What the breakdowns group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Township,
    Village,
    Use,
    Mode,
    LesseeKind,
}

/// A group's figures: `key` is the township's code, the village's name (with `township_code`), the use,
/// the mode or the lessee kind.
#[derive(Debug, Clone, FromRow)]
pub struct GroupRow {
    pub dimension: String,
    pub township_code: Option<String>,
    pub key: Option<String>,
    #[sqlx(flatten)]
    pub figures: Figures,
}

impl GroupRow {
    pub fn dimension(&self) -> Option<Dimension> {
        Some(match self.dimension.as_str() {
            "township" => Dimension::Township,
            "village" => Dimension::Village,
            "use" => Dimension::Use,
            "mode" => Dimension::Mode,
            "lessee_kind" => Dimension::LesseeKind,
            _ => return None,
        })
    }
}

/// The figures of the period from `from` to `to` grouped by township, by township and village, by use,
/// by mode and by lessee kind (groups with nothing are left out).
pub async fn groups(
    conn: &mut PgConnection,
    township: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> StoreResult<Vec<GroupRow>> {
    let sql = format!(
        "with records as ({CERTIFICATES} union all {DEALS})
         select case when grouping(intended_use) = 0 then 'use' when grouping(mode) = 0 then 'mode'
                     when grouping(lessee_kind) = 0 then 'lessee_kind' when grouping(village) = 0 then 'village'
                     else 'township' end as dimension,
                township_code, coalesce(intended_use, mode, lessee_kind, village, township_code) as key,
                sum(certified)::bigint as certified, coalesce(sum(floor_area_m2), 0)::float8 as floor_area_m2,
                coalesce(sum(amount_fen), 0)::bigint as amount_fen, sum(transactions)::bigint as transactions,
                coalesce(sum(transaction_fen), 0)::bigint as transaction_fen
         from records
         group by grouping sets ((intended_use), (mode), (lessee_kind), (township_code), (township_code, village))
         order by 1, 2, 3"
    );
    Ok(sqlx::query_as(&sql).bind(township).bind(from).bind(to).fetch_all(conn).await?)
}

/// A place and the houses registered in it today.
#[derive(Debug, Clone, FromRow)]
pub struct Place {
    pub township_code: String,
    pub township_name: String,
    /// `None` for the township itself.
    pub village: Option<String>,
    pub houses: i64,
}

/// Every township of the district (or `township` alone) and each of its villages, with the houses on
/// the register today, zero where there are none.
pub async fn places(conn: &mut PgConnection, township: Option<&str>) -> StoreResult<Vec<Place>> {
    Ok(sqlx::query_as(
        "with houses as (select f.township_code, p.village, count(*) as houses
                         from farmhouses f join parcels p on p.parcel_code = f.parcel_code
                         where $1::text is null or f.township_code = $1
                         group by grouping sets ((f.township_code), (f.township_code, p.village)))
         select t.code::text as township_code, t.name as township_name, null::text as village,
                coalesce(h.houses, 0) as houses
         from townships t left join houses h on h.township_code = t.code and h.village is null
         where $1::text is null or t.code = $1
         union all
         select v.township_code::text, t.name, v.name, coalesce(h.houses, 0)
         from villages v join townships t on t.code = v.township_code
         left join houses h on h.township_code = v.township_code and h.village = v.name
         where $1::text is null or v.township_code = $1
         order by 1, 3 nulls first",
    )
    .bind(township)
    .fetch_all(conn)
    .await?)
}

/// The first day (Beijing) of the month of the earliest deal signed in township `township` (all when
/// `None`), if any: where an analysis starts when not told.
pub async fn first_month(conn: &mut PgConnection, township: Option<&str>) -> StoreResult<Option<NaiveDate>> {
    Ok(sqlx::query_scalar(
        "select stats_month(min(t.signed_on)) from transactions t join farmhouses f on f.id = t.farmhouse_id
         where $1::text is null or f.township_code = $1",
    )
    .bind(township)
    .fetch_one(conn)
    .await?)
}
