//! Parcels (宗地): homestead and construction plots, the ground every farmhouse stands on.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, PgExecutor};

use super::{Page, StoreError, StoreResult};
use crate::domain::unit_number::ParcelCode;

#[derive(Debug, Clone, FromRow)]
pub struct ParcelRow {
    pub id: i64,
    pub parcel_code: String,
    pub township_code: String,
    pub village: String,
    pub land_use: String,
    pub area_m2: f64,
    pub houses: i64,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub geometry: Json<Value>,
}

const SELECT: &str = "
    select p.id, p.parcel_code::text, p.township_code::text, p.village, p.land_use::text,
           round(p.area_m2::numeric, 2)::float8 as area_m2,
           (select count(*) from farmhouses f where f.parcel_code = p.parcel_code) as houses,
           p.version, p.created_at, p.updated_at, st_asgeojson(p.boundary, 7)::json as geometry
    from parcels p";

/// Which parcels a list shows.
#[derive(Debug, Default, Clone)]
pub struct ParcelFilter {
    pub township: Option<String>,
    pub village: Option<String>,
    /// Parcel codes that start with this (literally: `%` and `_` are characters, never patterns).
    pub code_prefix: Option<String>,
}

pub async fn list(ex: impl PgExecutor<'_>, filter: &ParcelFilter, page: Page) -> StoreResult<Vec<ParcelRow>> {
    sqlx::query_as(&format!(
        "{SELECT}
         where p.id > $1
           and ($2::text is null or p.township_code = $2)
           and ($3::text is null or p.village = $3)
           and ($4::text is null or starts_with(p.parcel_code::text, $4))
         order by p.id limit $5"
    ))
    .bind(page.after)
    .bind(&filter.township)
    .bind(&filter.village)
    .bind(&filter.code_prefix)
    .bind(page.limit + 1)
    .fetch_all(ex)
    .await
    .map_err(Into::into)
}

/// Whether a parcel with `code` is registered.
pub async fn exists(ex: impl PgExecutor<'_>, code: &ParcelCode) -> StoreResult<bool> {
    sqlx::query_scalar("select exists (select 1 from parcels where parcel_code = $1)")
        .bind(code.as_str())
        .fetch_one(ex)
        .await
        .map_err(Into::into)
}

pub async fn get(ex: impl PgExecutor<'_>, id: i64) -> StoreResult<Option<ParcelRow>> {
    sqlx::query_as(&format!("{SELECT} where p.id = $1")).bind(id).fetch_optional(ex).await.map_err(Into::into)
}

/// A checked new parcel; `boundary` is GeoJSON (lon/lat).
#[derive(Debug, Clone)]
pub struct NewParcel {
    pub parcel_code: String,
    pub township_code: String,
    pub village: String,
    pub land_use: String,
    pub boundary: String,
}

pub async fn insert(conn: &mut PgConnection, p: &NewParcel) -> StoreResult<i64> {
    sqlx::query_scalar(
        "insert into parcels (parcel_code, township_code, village, land_use, boundary)
         values ($1, $2, $3, $4, st_setsrid(st_geomfromgeojson($5), 4326)) returning id",
    )
    .bind(&p.parcel_code)
    .bind(&p.township_code)
    .bind(&p.village)
    .bind(&p.land_use)
    .bind(&p.boundary)
    .fetch_one(conn)
    .await
    .map_err(Into::into)
}

/// Changes to a parcel; `None` keeps a field.
#[derive(Debug, Default, Clone)]
pub struct ParcelChanges {
    pub village: Option<String>,
    pub land_use: Option<String>,
    pub boundary: Option<String>,
}

/// Applies `changes` if the parcel is still at `version`.
pub async fn update(conn: &mut PgConnection, id: i64, version: i32, changes: &ParcelChanges) -> StoreResult<()> {
    let updated = sqlx::query(
        "update parcels set village = coalesce($3, village), land_use = coalesce($4, land_use),
                boundary = coalesce(st_setsrid(st_geomfromgeojson($5), 4326), boundary)
         where id = $1 and version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(&changes.village)
    .bind(&changes.land_use)
    .bind(&changes.boundary)
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 1 {
        return Ok(());
    }
    stale_or_missing(conn, "parcels", "parcel", id, version).await
}

/// After an update matched no row: the record is gone, or it has moved past `version`.
pub(crate) async fn stale_or_missing(
    conn: &mut PgConnection,
    table: &str,
    what: &str,
    id: i64,
    version: i32,
) -> StoreResult<()> {
    let current: Option<i32> =
        sqlx::query_scalar(&format!("select version from {table} where id = $1")).bind(id).fetch_optional(conn).await?;
    Err(match current {
        None => StoreError::NotFound(format!("{what} {id}")),
        Some(now) => StoreError::Stale(format!(
            "{what} {id} changed since you read it (you have version {version}, it is at {now}); read it again"
        )),
    })
}

/// The bounding box of parcel `id` in Web Mercator, for invalidating map tiles.
pub async fn bbox_3857(ex: impl PgExecutor<'_>, id: i64) -> StoreResult<Option<[f64; 4]>> {
    let row: Option<(f64, f64, f64, f64)> = sqlx::query_as(
        "select st_xmin(boundary_3857), st_ymin(boundary_3857), st_xmax(boundary_3857), st_ymax(boundary_3857)
         from parcels where id = $1",
    )
    .bind(id)
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|(a, b, c, d)| [a, b, c, d]))
}
