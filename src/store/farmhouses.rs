//! Farmhouses (房屋): the houses of the programme, with their parcel, status and the facts the map shows.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{Acquire, FromRow, PgConnection, PgExecutor};

use super::parcels::stale_or_missing;
use super::{Current, Page, StoreError, StoreResult};
use crate::domain::house::{Condition, Right, Structure, Title};
use crate::domain::lifecycle::Status;

/// A house with what every view of it needs: its place, its facts, its open listing, and (for staff) its
/// owner and deal.
#[derive(Debug, Clone, FromRow)]
pub struct FarmhouseRow {
    pub id: i64,
    pub unit_number: String,
    pub parcel_code: String,
    pub township_code: String,
    pub township_name: String,
    pub township_name_pinyin: Option<String>,
    pub village: String,
    pub village_pinyin: Option<String>,
    pub floor_area_m2: f64,
    pub floors: i16,
    pub year_built: i16,
    pub structure: Structure,
    pub condition: Condition,
    pub status: Status,
    pub description: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub geometry: Json<Value>,
    pub photo_ids: Vec<i64>,
    // The open listing, if any.
    pub listing_id: Option<i64>,
    pub listing_title: Option<String>,
    pub asking_rent_fen: Option<i64>,
    pub allowed_uses: Option<Vec<String>>,
    pub min_term_months: Option<i16>,
    pub max_term_months: Option<i16>,
    pub notice_start: Option<NaiveDate>,
    pub notice_end: Option<NaiveDate>,
    // The lease in force and its certificate, if any.
    pub transaction_id: Option<i64>,
    pub certificate_no: Option<String>,
    // Private: the owner household.
    pub owner_party_id: Option<i64>,
    pub owner_name: Option<String>,
    pub owner_id_number: Option<String>,
    pub owner_phone: Option<String>,
    // The title basis (staff).
    pub homestead_title: Title,
    pub homestead_cert_no: Option<String>,
    pub ownership_title: Title,
    pub ownership_cert_no: Option<String>,
    pub qualification_retained: bool,
    pub collective_property: bool,
    /// The latest house safety appraisal's grade.
    pub safety_grade: Option<String>,
}

const SELECT: &str = "
    select f.id, f.unit_number::text, f.parcel_code::text, f.township_code::text, t.name as township_name,
           t.name_pinyin as township_name_pinyin, p.village,
           (select v.name_pinyin from villages v where v.township_code = f.township_code and v.name = p.village)
               as village_pinyin, f.floor_area_m2::float8 as floor_area_m2, f.floors, f.year_built, f.structure, f.condition,
           f.status, f.description, f.version, f.created_at, f.updated_at,
           st_asgeojson(f.footprint, 7)::json as geometry,
           array(select ph.id from farmhouse_photos ph where ph.farmhouse_id = f.id order by ph.id) as photo_ids,
           l.id as listing_id, l.title as listing_title, l.asking_rent_fen, l.allowed_uses, l.min_term_months,
           l.max_term_months, l.notice_start, l.notice_end,
           tx.id as transaction_id, c.certificate_no,
           f.owner_party_id, o.name as owner_name, o.id_number as owner_id_number, o.phone as owner_phone,
           f.homestead_title, f.homestead_cert_no, f.ownership_title, f.ownership_cert_no, f.qualification_retained,
           f.collective_property, house_safety_grade(f.id)::text as safety_grade
    from farmhouses f
    join parcels p on p.parcel_code = f.parcel_code
    join townships t on t.code = f.township_code
    left join listings l on l.farmhouse_id = f.id and l.status = 'open'
    left join lateral (
        select x.id from transactions x
        where x.farmhouse_id = f.id and x.status = 'signed' and f.status in ('contracted', 'certified')
        order by x.lease_start desc limit 1) tx on true
    left join certifications c on c.transaction_id = tx.id and c.revoked_at is null
    left join parties o on o.id = f.owner_party_id";

/// Which houses a list shows.
#[derive(Debug, Default, Clone)]
pub struct FarmhouseFilter {
    pub township: Option<String>,
    pub status: Option<Status>,
    pub village: Option<String>,
    /// Unit numbers that start with this or whose short code (characters 13 on: `JC00004`) does, or
    /// villages or townships whose name contains it (literally: `%` and `_` are characters, never
    /// patterns).
    pub q: Option<String>,
    pub min_floor_area: Option<f64>,
    pub max_floor_area: Option<f64>,
    /// Open listings asking at most this annual rent (fen).
    pub max_rent_fen: Option<i64>,
    /// Open listings that allow this use.
    pub allowed_use: Option<String>,
    /// Lon/lat box: min lon, min lat, max lon, max lat.
    pub bbox: Option<[f64; 4]>,
}

/// The order of a list of houses: by id (the default), or by a listing's asking rent, the floor area or
/// the end of the listing's notice period, each either way; ties go by id. Houses without an open
/// listing come last when ordered by rent or notice.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum HouseOrder {
    #[default]
    Id,
    Rent {
        descending: bool,
    },
    Area {
        descending: bool,
    },
    NoticeEnd {
        descending: bool,
    },
}

impl HouseOrder {
    /// The words the API takes (`-` before one: descending).
    pub const WORDS: [&'static str; 4] = ["id", "rent", "area", "notice_end"];

    /// Reads `rent`, `-rent`, `area`, … ; `None` for anything else.
    pub fn parse(word: &str) -> Option<Self> {
        let (descending, key) = match word.strip_prefix('-') {
            Some(k) => (true, k),
            None => (false, word),
        };
        match key {
            "id" if !descending => Some(HouseOrder::Id),
            "rent" => Some(HouseOrder::Rent { descending }),
            "area" => Some(HouseOrder::Area { descending }),
            "notice_end" => Some(HouseOrder::NoticeEnd { descending }),
            _ => None,
        }
    }

    /// The sort key over `f` (the house) and `l` (its open listing), with missing values last, and
    /// whether it descends.
    fn key(self) -> (&'static str, bool) {
        match self {
            HouseOrder::Id => ("f.id", false),
            HouseOrder::Rent { descending: false } => ("coalesce(l.asking_rent_fen, 9223372036854775807)", false),
            HouseOrder::Rent { descending: true } => ("coalesce(l.asking_rent_fen, -1)", true),
            HouseOrder::Area { descending } => ("f.floor_area_m2", descending),
            HouseOrder::NoticeEnd { descending: false } => ("coalesce(l.notice_end, 'infinity'::date)", false),
            HouseOrder::NoticeEnd { descending: true } => ("coalesce(l.notice_end, '-infinity'::date)", true),
        }
    }
}

/// The conditions of a [`FarmhouseFilter`], over parameters $1–$9, for a query over `f`, `p`, `t`, `l`.
const FILTER: &str = "($1::text is null or f.township_code = $1)
           and ($2::text is null or f.status = $2::text)
           and ($3::text is null or p.village = $3)
           and ($4::text is null or starts_with(f.unit_number::text, $4) or strpos(p.village, $4) > 0
                or strpos(t.name, $4) > 0
                or (upper($4) ~ '^[GJZ][A-Z][0-9]' and starts_with(substr(f.unit_number::text, 13), upper($4))))
           and ($5::float8 is null or f.floor_area_m2 >= $5)
           and ($6::float8 is null or f.floor_area_m2 <= $6)
           and ($7::bigint is null or l.asking_rent_fen <= $7)
           and ($8::text is null or $8 = any (l.allowed_uses))
           and ($9::float8[] is null or f.footprint && st_makeenvelope($9[1], $9[2], $9[3], $9[4], 4326))";

macro_rules! bind_filter {
    ($query:expr, $f:expr) => {
        $query
            .bind(&$f.township)
            .bind($f.status)
            .bind(&$f.village)
            .bind(&$f.q)
            .bind($f.min_floor_area)
            .bind($f.max_floor_area)
            .bind($f.max_rent_fen)
            .bind(&$f.allowed_use)
            .bind($f.bbox.map(|b| b.to_vec()))
    };
}

/// A page of the houses `f` selects in `order`, after the house `page.after` (its place in that order).
pub async fn list(
    ex: impl PgExecutor<'_>,
    f: &FarmhouseFilter,
    order: HouseOrder,
    page: Page,
) -> StoreResult<Vec<FarmhouseRow>> {
    let (key, descending) = order.key();
    let (cmp, dir) = if descending { ("<", "desc") } else { (">", "asc") };
    // After a house: past its place in the order (looked up by its id), so a deep page costs what the
    // first does.
    let after = if order == HouseOrder::Id {
        "f.id > $10".to_string()
    } else {
        format!(
            "({key}, f.id) {cmp} ((select {key} from farmhouses f
                left join listings l on l.farmhouse_id = f.id and l.status = 'open' where f.id = $10), $10)"
        )
    };
    let sql = format!(
        "{SELECT}
         where {FILTER}
           and ($10::bigint = 0 or {after})
         order by {key} {dir}, f.id {dir} limit $11"
    );
    bind_filter!(sqlx::query_as(&sql), f).bind(page.after).bind(page.limit + 1).fetch_all(ex).await.map_err(Into::into)
}

/// How many houses `f` selects.
pub async fn count(ex: impl PgExecutor<'_>, f: &FarmhouseFilter) -> StoreResult<i64> {
    let sql = format!(
        "select count(*) from farmhouses f
         join parcels p on p.parcel_code = f.parcel_code
         join townships t on t.code = f.township_code
         left join listings l on l.farmhouse_id = f.id and l.status = 'open'
         where {FILTER}"
    );
    bind_filter!(sqlx::query_scalar(&sql), f).fetch_one(ex).await.map_err(Into::into)
}

pub async fn get(ex: impl PgExecutor<'_>, id: i64) -> StoreResult<Option<FarmhouseRow>> {
    sqlx::query_as(&format!("{SELECT} where f.id = $1")).bind(id).fetch_optional(ex).await.map_err(Into::into)
}

/// The facts of a house an officer records; `footprint` is GeoJSON (lon/lat).
#[derive(Debug, Clone)]
pub struct HouseFacts {
    pub floor_area_m2: f64,
    pub floors: i16,
    pub year_built: i16,
    pub structure: Structure,
    pub condition: Condition,
    pub description: String,
    pub owner_party_id: Option<i64>,
    pub homestead: Right,
    pub ownership: Right,
    pub qualification_retained: bool,
    pub collective_property: bool,
}

pub async fn insert(conn: &mut PgConnection, unit_number: &str, footprint: &str, h: &HouseFacts) -> StoreResult<i64> {
    sqlx::query_scalar(
        "insert into farmhouses (unit_number, footprint, floor_area_m2, floors, year_built, structure, condition,
                                 description, owner_party_id, homestead_title, homestead_cert_no, ownership_title,
                                 ownership_cert_no, qualification_retained, collective_property)
         values ($1, st_setsrid(st_geomfromgeojson($2), 4326), $3::numeric(10, 2), $4, $5, $6, $7, $8, $9, $10, $11,
                 $12, $13, $14, $15)
         returning id",
    )
    .bind(unit_number)
    .bind(footprint)
    .bind(h.floor_area_m2)
    .bind(h.floors)
    .bind(h.year_built)
    .bind(h.structure)
    .bind(h.condition)
    .bind(&h.description)
    .bind(h.owner_party_id)
    .bind(h.homestead.title)
    .bind(&h.homestead.certificate_no)
    .bind(h.ownership.title)
    .bind(&h.ownership.certificate_no)
    .bind(h.qualification_retained)
    .bind(h.collective_property)
    .fetch_one(conn)
    .await
    .map_err(Into::into)
}

/// Changes to a house's facts; `None` keeps a field. `owner_party_id: Some(None)` clears the owner.
#[derive(Debug, Default, Clone)]
pub struct HouseChanges {
    pub footprint: Option<String>,
    pub floor_area_m2: Option<f64>,
    pub floors: Option<i16>,
    pub year_built: Option<i16>,
    pub structure: Option<Structure>,
    pub condition: Option<Condition>,
    pub description: Option<String>,
    pub owner_party_id: Option<Option<i64>>,
    pub homestead: Option<Right>,
    pub ownership: Option<Right>,
    pub qualification_retained: Option<bool>,
    pub collective_property: Option<bool>,
}

/// Applies `c` if the house is still at `version`.
pub async fn update(conn: &mut PgConnection, id: i64, version: i32, c: &HouseChanges) -> StoreResult<()> {
    // In a savepoint: a change refused for a certificate in force is then answered naming it.
    let mut attempt = conn.begin().await?;
    let updated = sqlx::query(
        "update farmhouses set
             footprint = coalesce(st_setsrid(st_geomfromgeojson($3), 4326), footprint),
             floor_area_m2 = coalesce($4::numeric(10, 2), floor_area_m2),
             floors = coalesce($5, floors),
             year_built = coalesce($6, year_built),
             structure = coalesce($7, structure),
             condition = coalesce($8, condition),
             description = coalesce($9, description),
             owner_party_id = case when $10 then $11 else owner_party_id end,
             homestead_title = coalesce($12, homestead_title),
             homestead_cert_no = case when $12 is null then homestead_cert_no else $13 end,
             ownership_title = coalesce($14, ownership_title),
             ownership_cert_no = case when $14 is null then ownership_cert_no else $15 end,
             qualification_retained = coalesce($16, qualification_retained),
             collective_property = coalesce($17, collective_property)
         where id = $1 and version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(&c.footprint)
    .bind(c.floor_area_m2)
    .bind(c.floors)
    .bind(c.year_built)
    .bind(c.structure)
    .bind(c.condition)
    .bind(&c.description)
    .bind(c.owner_party_id.is_some())
    .bind(c.owner_party_id.flatten())
    .bind(c.homestead.as_ref().map(|r| r.title))
    .bind(c.homestead.as_ref().and_then(|r| r.certificate_no.clone()))
    .bind(c.ownership.as_ref().map(|r| r.title))
    .bind(c.ownership.as_ref().and_then(|r| r.certificate_no.clone()))
    .bind(c.qualification_retained)
    .bind(c.collective_property)
    .execute(&mut *attempt)
    .await;
    let updated = match updated {
        Err(sqlx::Error::Database(db)) if db.constraint() == Some("farmhouses_certified_facts") => {
            attempt.rollback().await?;
            return Err(certified_facts(conn, id).await);
        }
        other => {
            let updated = other?;
            attempt.commit().await?;
            updated
        }
    };
    if updated.rows_affected() == 1 {
        return Ok(());
    }
    stale_or_missing(conn, "farmhouses", "farmhouse", id, version).await
}

/// The conflict of a change to facts that the certificate in force of house `id` states, naming it.
async fn certified_facts(conn: &mut PgConnection, id: i64) -> StoreError {
    let found: sqlx::Result<Option<(i64, String)>> = sqlx::query_as(
        "select c.id, c.certificate_no from certifications c join transactions t on t.id = c.transaction_id
         where t.farmhouse_id = $1 and t.status = 'signed' and c.revoked_at is null",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await;
    match found {
        Ok(Some((certification, no))) => StoreError::conflict(
            format!(
                "house {id} is certified by {no}, which states its floor area, structure, unit number and owner; \
                 correct them with POST /api/v1/certifications/{certification}/correction"
            ),
            Current { farmhouse_id: Some(id), certificate_no: Some(no), ..Current::default() },
        ),
        Ok(None) => StoreError::conflict(format!("house {id} is certified"), Current::default()),
        Err(e) => e.into(),
    }
}

/// Locks house `id` for a lifecycle action and returns its status.
pub async fn lock(conn: &mut PgConnection, id: i64) -> StoreResult<Status> {
    let status: Option<Status> = sqlx::query_scalar("select status from farmhouses where id = $1 for update")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    status.ok_or_else(|| StoreError::NotFound(format!("farmhouse {id}")))
}

pub async fn set_status(conn: &mut PgConnection, id: i64, status: Status) -> StoreResult<()> {
    sqlx::query("update farmhouses set status = $2 where id = $1").bind(id).bind(status).execute(conn).await?;
    Ok(())
}

/// The bounding box of house `id` in Web Mercator, for invalidating map tiles.
pub async fn bbox_3857(ex: impl PgExecutor<'_>, id: i64) -> StoreResult<Option<[f64; 4]>> {
    let row: Option<(f64, f64, f64, f64)> = sqlx::query_as(
        "select st_xmin(footprint_3857), st_ymin(footprint_3857), st_xmax(footprint_3857), st_ymax(footprint_3857)
         from farmhouses where id = $1",
    )
    .bind(id)
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|(a, b, c, d)| [a, b, c, d]))
}
