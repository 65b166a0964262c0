//! Townships and the district they belong to (reference data: read only through the API).

use super::StoreResult;
use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{FromRow, PgExecutor};

use crate::domain::township::{TownshipKind, romanise};
use crate::geo::shape::Extent;

#[derive(Debug, Clone, FromRow, Serialize, utoipa::ToSchema)]
pub struct Township {
    /// 9-digit division code.
    pub code: String,
    pub name: String,
    /// The name in Hanyu Pinyin ("Baiguan Jiedao"; `None` until romanised).
    pub name_pinyin: Option<String>,
    /// 街道, 镇 or 乡.
    pub kind: TownshipKind,
    pub county_code: String,
    /// The boundary as GeoJSON (lon/lat).
    #[schema(value_type = Object)]
    pub geometry: Json<Value>,
}

const SELECT: &str =
    "select code::text, name, name_pinyin, kind, county_code::text, st_asgeojson(boundary, 7)::json as geometry
                      from townships";

pub async fn list(ex: impl PgExecutor<'_>) -> StoreResult<Vec<Township>> {
    sqlx::query_as(&format!("{SELECT} order by code")).fetch_all(ex).await.map_err(Into::into)
}

pub async fn get(ex: impl PgExecutor<'_>, code: &str) -> StoreResult<Option<Township>> {
    sqlx::query_as(&format!("{SELECT} where code = $1")).bind(code).fetch_optional(ex).await.map_err(Into::into)
}

/// Fills the romanised names (`name_pinyin`) of the townships and villages that have none, from their
/// Chinese names ([`romanise`]); answers how many places it named. Run after migrating and after the seed
/// writes places, so every name has its pinyin.
pub async fn romanise_names(conn: &mut sqlx::PgConnection) -> StoreResult<u64> {
    let mut named = 0;
    for table in ["townships", "villages"] {
        let names: Vec<String> =
            sqlx::query_scalar(&format!("select distinct name from {table} where name_pinyin is null"))
                .fetch_all(&mut *conn)
                .await?;
        if names.is_empty() {
            continue;
        }
        let pinyin: Vec<String> = names.iter().map(|n| romanise(n)).collect();
        named += sqlx::query(&format!(
            "update {table} t set name_pinyin = n.pinyin
             from unnest($1::text[], $2::text[]) as n(name, pinyin)
             where t.name = n.name and t.name_pinyin is null"
        ))
        .bind(&names)
        .bind(&pinyin)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    Ok(named)
}

/// The lon/lat bounds of district `county` (its outline with the survey tolerance), if it exists.
pub async fn district_extent(ex: impl PgExecutor<'_>, county: &str) -> StoreResult<Option<Extent>> {
    let row: Option<(f64, f64, f64, f64)> = sqlx::query_as(
        "select st_xmin(e), st_ymin(e), st_xmax(e), st_ymax(e)
         from (select st_extent(outline_tolerant)::geometry as e from districts where county_code = $1) d
         where e is not null",
    )
    .bind(county)
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|(min_lon, min_lat, max_lon, max_lat)| Extent { min_lon, min_lat, max_lon, max_lat }))
}

/// The township whose boundary holds most of `geojson` (a polygon), if any.
pub async fn township_at(ex: impl PgExecutor<'_>, geojson: &str) -> StoreResult<Option<String>> {
    sqlx::query_scalar(
        "select code::text from townships
         where st_intersects(boundary, st_pointonsurface(st_setsrid(st_geomfromgeojson($1), 4326)))
         order by code limit 1",
    )
    .bind(geojson)
    .fetch_optional(ex)
    .await
    .map_err(Into::into)
}

/// The district the registry serves (name, county code); `None` before one is loaded.
pub async fn district(ex: impl PgExecutor<'_>) -> StoreResult<Option<(String, String)>> {
    sqlx::query_as("select name, county_code::text from districts order by county_code limit 1")
        .fetch_optional(ex)
        .await
        .map_err(Into::into)
}
