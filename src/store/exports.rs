//! The rows of an export (`crate::export` writes them as GeoJSON, CSV or a shapefile), streamed from the
//! database as they are written out, so an export of a million houses never sits in memory.

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde_json::Value;

use super::{Pool, StoreResult};

/// A feature as the database gives it: id, properties (a JSON array in the export's column order),
/// GeoJSON geometry, WKT geometry; both geometries in EPSG `epsg` with `digits` decimals.
pub type Row = (String, Value, String, String);

/// Every parcel (of `township`, if given), by parcel code.
pub fn parcels<'a>(
    pool: &'a Pool,
    epsg: u32,
    digits: i32,
    township: Option<&'a str>,
) -> BoxStream<'a, StoreResult<Row>> {
    rows(
        pool,
        "select parcel_code::text, jsonb_build_array(parcel_code, township_code, village, land_use,
                round(area_m2::numeric, 2)),
                st_asgeojson(st_transform(boundary, $1), $2, 0), st_astext(st_transform(boundary, $1), $2)
         from parcels where $3::text is null or township_code = $3 order by parcel_code",
        epsg,
        digits,
        township,
    )
}

/// Every house (of `township`, if given), by unit number.
pub fn farmhouses<'a>(
    pool: &'a Pool,
    epsg: u32,
    digits: i32,
    township: Option<&'a str>,
) -> BoxStream<'a, StoreResult<Row>> {
    rows(
        pool,
        "select unit_number::text, jsonb_build_array(unit_number, parcel_code, township_code, floor_area_m2,
                floors, year_built, structure, condition, status),
                st_asgeojson(st_transform(footprint, $1), $2, 0), st_astext(st_transform(footprint, $1), $2)
         from farmhouses where $3::text is null or township_code = $3 order by unit_number",
        epsg,
        digits,
        township,
    )
}

fn rows<'a>(
    pool: &'a Pool,
    sql: &'static str,
    epsg: u32,
    digits: i32,
    township: Option<&'a str>,
) -> BoxStream<'a, StoreResult<Row>> {
    sqlx::query_as::<_, Row>(sql)
        .bind(i32::try_from(epsg).unwrap_or(i32::MAX))
        .bind(digits)
        .bind(township)
        .fetch(pool)
        .map(|row| row.map_err(Into::into))
        .boxed()
}
