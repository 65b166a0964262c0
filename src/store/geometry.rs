//! What the database says of a geometry before it is written.

use super::StoreResult;
use sqlx::PgExecutor;

/// Why `geojson` (a Polygon in lon/lat) is not a valid polygon — e.g. "is not a valid polygon:
/// Self-intersection at (120.9001, 30.0002)" — or `None` when it is (`polygon_fault`,
/// migrations/0100_reference.sql).
pub async fn polygon_fault(ex: impl PgExecutor<'_>, geojson: &str) -> StoreResult<Option<String>> {
    sqlx::query_scalar("select polygon_fault(st_geomfromgeojson($1))")
        .bind(geojson)
        .fetch_one(ex)
        .await
        .map_err(Into::into)
}
