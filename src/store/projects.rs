//! Activation projects (激活项目): houses grouped under one operator and brand, their pictures, and the
//! outline the map draws around them (`project_outline()`, migrations/0115_projects.sql). Everything read
//! here is public; no query of this module selects a household's data.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, PgExecutor};

use super::{Page, StoreError, StoreResult};
use crate::domain::FieldError;
use crate::domain::lifecycle::Status;
use crate::domain::project::NewProject;

/// A project with its figures, its cover and its outline.
#[derive(Debug, Clone, FromRow)]
pub struct ProjectRow {
    pub id: i64,
    pub name: String,
    pub brand: String,
    pub story: String,
    pub township_code: String,
    pub township_name: String,
    pub houses: i64,
    pub floor_area_m2: f64,
    pub investment_fen: i64,
    pub opened_on: Option<NaiveDate>,
    /// The operator, an organisation: its registered name is public, as on a certificate's check.
    pub operator_name: String,
    pub contact_phone: Option<String>,
    pub contact_url: Option<String>,
    pub photo_ids: Vec<i64>,
    /// GeoJSON (lon/lat) of the houses' widened hull; none while the project has no house.
    pub outline: Option<Json<Value>>,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

const SELECT: &str = "
    select p.id, p.name, p.brand, p.story, p.township_code::text, t.name as township_name,
           (select count(*) from project_houses ph where ph.project_id = p.id) as houses,
           (select coalesce(sum(f.floor_area_m2), 0)::float8 from project_houses ph
            join farmhouses f on f.id = ph.farmhouse_id where ph.project_id = p.id) as floor_area_m2,
           p.investment_fen, p.opened_on, o.name as operator_name, p.contact_phone, p.contact_url,
           array(select x.id from project_photos x where x.project_id = p.id order by x.id) as photo_ids,
           st_asgeojson(project_outline(p.id), 7)::json as outline,
           p.version, p.updated_at
    from projects p
    join townships t on t.code = p.township_code
    join parties o on o.id = p.operator_party_id";

/// A page of projects, by id.
pub async fn list(ex: impl PgExecutor<'_>, page: Page) -> StoreResult<Vec<ProjectRow>> {
    sqlx::query_as(&format!("{SELECT} where p.id > $1 order by p.id limit $2"))
        .bind(page.after)
        .bind(page.limit + 1)
        .fetch_all(ex)
        .await
        .map_err(Into::into)
}

pub async fn get(ex: impl PgExecutor<'_>, id: i64) -> StoreResult<Option<ProjectRow>> {
    sqlx::query_as(&format!("{SELECT} where p.id = $1")).bind(id).fetch_optional(ex).await.map_err(Into::into)
}

/// A house of a project, with the public facts the map shows of it (and nothing of its household).
#[derive(Debug, Clone, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct MemberHouse {
    pub id: i64,
    pub unit_number: String,
    pub village: String,
    pub floor_area_m2: f64,
    pub floors: i16,
    pub year_built: i16,
    pub status: Status,
    /// The house's place for a link to the map: longitude and latitude of a point inside its footprint.
    pub lon: f64,
    pub lat: f64,
}

/// The houses of project `id`, by id.
pub async fn houses(ex: impl PgExecutor<'_>, id: i64) -> StoreResult<Vec<MemberHouse>> {
    sqlx::query_as(
        "select f.id, f.unit_number::text, pa.village, f.floor_area_m2::float8 as floor_area_m2, f.floors,
                f.year_built, f.status, st_x(st_pointonsurface(f.footprint)) as lon,
                st_y(st_pointonsurface(f.footprint)) as lat
         from project_houses ph join farmhouses f on f.id = ph.farmhouse_id
         join parcels pa on pa.parcel_code = f.parcel_code
         where ph.project_id = $1 order by f.id",
    )
    .bind(id)
    .fetch_all(ex)
    .await
    .map_err(Into::into)
}

/// Records a project and its houses; returns its id.
pub async fn insert(conn: &mut PgConnection, p: &NewProject) -> StoreResult<i64> {
    let id: i64 = sqlx::query_scalar(
        "insert into projects (name, brand, operator_party_id, story, investment_fen, opened_on, contact_phone,
                               contact_url, township_code)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
    )
    .bind(&p.name)
    .bind(&p.brand)
    .bind(p.operator_party_id)
    .bind(&p.story)
    .bind(p.investment_fen)
    .bind(p.opened_on)
    .bind(&p.contact_phone)
    .bind(&p.contact_url)
    .bind(&p.township_code)
    .fetch_one(&mut *conn)
    .await?;
    set_houses(conn, id, &p.farmhouse_ids).await?;
    Ok(id)
}

/// Makes `houses` the houses of project `id`: houses it had and `houses` leaves out leave it. A house of
/// another project is refused by `project_houses_one_project`, whatever path the write takes.
pub async fn set_houses(conn: &mut PgConnection, id: i64, houses: &[i64]) -> StoreResult<()> {
    let found: Option<i64> = sqlx::query_scalar("select id from projects where id = $1 for update")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    if found.is_none() {
        return Err(StoreError::NotFound(format!("project {id}")));
    }
    let known: Vec<i64> =
        sqlx::query_scalar("select id from farmhouses where id = any($1)").bind(houses).fetch_all(&mut *conn).await?;
    let unknown: Vec<FieldError> = houses
        .iter()
        .enumerate()
        .filter(|(_, h)| !known.contains(h))
        .map(|(i, h)| FieldError::new(format!("farmhouse_ids[{i}]"), format!("no farmhouse {h}")))
        .collect();
    if !unknown.is_empty() {
        return Err(StoreError::Invalid(unknown));
    }
    sqlx::query("delete from project_houses where project_id = $1 and farmhouse_id <> all($2)")
        .bind(id)
        .bind(houses)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "insert into project_houses (project_id, farmhouse_id)
         select $1, h from unnest($2::bigint[]) h
         where not exists (select 1 from project_houses x where x.project_id = $1 and x.farmhouse_id = h)",
    )
    .bind(id)
    .bind(houses)
    .execute(&mut *conn)
    .await?;
    sqlx::query("update projects set updated_at = now() where id = $1").bind(id).execute(&mut *conn).await?;
    Ok(())
}

/// The house whose listing carries `title` (a showcase of the demo), and its township.
pub async fn house_titled(ex: impl PgExecutor<'_>, title: &str) -> StoreResult<Option<(i64, String)>> {
    sqlx::query_as(
        "select f.id, f.township_code::text from listings l join farmhouses f on f.id = l.farmhouse_id
         where l.title = $1 order by f.id limit 1",
    )
    .bind(title)
    .fetch_optional(ex)
    .await
    .map_err(Into::into)
}

/// House `house` and the houses of its village nearest to it, `n` in all, nearest first.
pub async fn neighbours(ex: impl PgExecutor<'_>, house: i64, n: i64) -> StoreResult<Vec<i64>> {
    sqlx::query_scalar(
        "select f.id from (select f0.footprint, f0.township_code, p0.village from farmhouses f0
                           join parcels p0 on p0.parcel_code = f0.parcel_code where f0.id = $1) h
         join farmhouses f on f.township_code = h.township_code
         join parcels p on p.parcel_code = f.parcel_code and p.village = h.village
         order by f.footprint <-> h.footprint, f.id limit $2",
    )
    .bind(house)
    .bind(n)
    .fetch_all(ex)
    .await
    .map_err(Into::into)
}
