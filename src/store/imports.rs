//! The database half of an import (`crate::import` reads and checks a file; this stages and loads it):
//! the checks that need the database (polygon validity, records that exist, parcels, townships, the
//! district outline, overlaps) run on features COPYed into a temporary table, with the messages of the
//! constraints the API reports (`constraints`), then one INSERT per file. All of it runs in the caller's
//! transaction, which also records the file in `imports`.

use chrono::{DateTime, Utc};
use geo::Polygon;
use sqlx::PgConnection;
use wkt::ToWkt;

use super::copy::CopyRows;
use super::{StoreResult, constraints};
use crate::domain::FieldError;
use crate::domain::house::{Condition, Structure};
use crate::geo::shape::Extent;

/// A parcel of a file that passed the file's own checks, in lon/lat, ready to stage.
#[derive(Debug, Clone)]
pub struct ParcelRow {
    pub index: usize,
    pub parcel_code: String,
    pub township_code: Option<String>,
    pub village: String,
    pub land_use: String,
    pub boundary: Polygon<f64>,
}

/// A house of a file that passed the file's own checks, in lon/lat, ready to stage.
#[derive(Debug, Clone)]
pub struct HouseRow {
    pub index: usize,
    pub unit_number: String,
    pub footprint: Polygon<f64>,
    /// Exact decimal text with two decimals.
    pub floor_area_m2: String,
    pub floors: i16,
    pub year_built: i16,
    pub structure: Structure,
    pub condition: Option<Condition>,
}

/// The district the registry holds: its county code and lon/lat extent.
pub async fn district(conn: &mut PgConnection) -> StoreResult<Option<(String, Extent)>> {
    let row: Option<(String, f64, f64, f64, f64)> = sqlx::query_as(
        "select county_code::text, st_xmin(outline), st_ymin(outline), st_xmax(outline), st_ymax(outline)
         from districts order by county_code limit 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(county, x0, y0, x1, y1)| (county, Extent { min_lon: x0, min_lat: y0, max_lon: x1, max_lat: y1 })))
}

/// Who imported the file of `kind` with this digest, and when, if anyone did.
pub async fn earlier(
    conn: &mut PgConnection,
    kind: &str,
    sha256: &[u8; 32],
) -> StoreResult<Option<(String, String, DateTime<Utc>)>> {
    Ok(sqlx::query_as("select file_name, actor, imported_at from imports where kind = $1 and sha256 = $2")
        .bind(kind)
        .bind(&sha256[..])
        .fetch_optional(&mut *conn)
        .await?)
}

/// Lets the rest of the transaction run as long as it needs (a file of 100,000 features takes a while)
/// and attributes its changes to `actor`.
pub async fn prepare(conn: &mut PgConnection, actor: &str) -> StoreResult<()> {
    sqlx::query("select set_config('farmhouse.actor', $1, true)").bind(actor).execute(&mut *conn).await?;
    sqlx::query("set local statement_timeout = 0").execute(&mut *conn).await?;
    Ok(())
}

/// Runs `sql`, which returns (feature index, field under the feature, message), as feature errors.
async fn problems(conn: &mut PgConnection, sql: &str) -> StoreResult<Vec<FieldError>> {
    let rows: Vec<(i32, String, String)> = sqlx::query_as(sql).fetch_all(&mut *conn).await?;
    Ok(rows.into_iter().map(|(i, field, message)| FieldError::new(format!("features[{i}].{field}"), message)).collect())
}

pub async fn stage_parcels(conn: &mut PgConnection, rows: &[ParcelRow]) -> StoreResult<Vec<FieldError>> {
    // No index on `idx`: the check for overlaps within the file must find each feature's few neighbours
    // through the spatial index, and given a key index the planner paired it with a range scan of the key
    // per feature (`a.idx < b.idx`), which made the check quadratic (100,000 parcels: 2 minutes).
    run(
        conn,
        "create temp table import_parcels (idx int not null, parcel_code char(19), township_code char(9),
                                           village text, land_use char(4), boundary geometry(Polygon, 4326))
         on commit drop",
    )
    .await?;
    let mut copy = CopyRows::new();
    for r in rows {
        copy.value(r.index)
            .text(&r.parcel_code)
            .field(r.township_code.as_deref())
            .text(&r.village)
            .text(&r.land_use)
            .text(ewkt(&r.boundary))
            .end();
    }
    copy.send(conn, "copy import_parcels from stdin").await?;
    let mut found = problems(conn, INVALID_PARCELS).await?;
    run(conn, "create index on import_parcels using gist (boundary)").await?;
    // A parcel without a township is in the township that covers it, or else the one it overlaps most.
    run(
        conn,
        "update import_parcels s set township_code = coalesce(
             (select t.code from townships t
              where t.county_code = left(s.parcel_code, 6) and st_covers(t.boundary, s.boundary) limit 1),
             (select t.code from townships t
              where t.county_code = left(s.parcel_code, 6) and st_intersects(t.boundary, s.boundary)
              order by st_area(st_intersection(t.boundary, s.boundary)) desc limit 1))
         where township_code is null",
    )
    .await?;
    run(conn, "analyze import_parcels").await?;
    let checks = [
        Check {
            rule: "parcels_parcel_code_key",
            sql: "select s.idx, 'properties.parcel_code', $1 from import_parcels s join parcels p using (parcel_code)",
        },
        Check {
            rule: "parcels_township_code_fkey",
            sql: "select s.idx, 'properties.township_code', $1 from import_parcels s
             where s.township_code is not null and not exists (select 1 from townships t where t.code = s.township_code)",
        },
        Check {
            rule: "parcels_within_township",
            sql: "select s.idx, 'properties.township_code', $1 from import_parcels s
             join townships t on t.code = s.township_code where not st_covers(t.boundary_tolerant, s.boundary)",
        },
        Check {
            rule: "inside_district",
            sql: "select s.idx, 'geometry', $1 from import_parcels s
             where s.township_code is null or not exists (
                 select 1 from districts d where d.county_code = left(s.parcel_code, 6)
                 and st_covers(d.outline_tolerant, s.boundary))",
        },
        Check {
            rule: "parcels_no_overlap",
            sql: "select s.idx, 'geometry', $1 || ' (parcel ' || p.parcel_code || ')'
             from import_parcels s join parcels p on p.township_code = s.township_code and p.boundary && s.boundary
             where st_relate(p.boundary, s.boundary, '2********')
               and st_area(st_intersection(p.boundary, s.boundary)) > 1e-11",
        },
        Check {
            rule: "parcels_no_overlap",
            sql: "select b.idx, 'geometry', $1 || ' (features[' || a.idx || '])'
             from import_parcels a join import_parcels b on a.idx < b.idx and a.township_code = b.township_code
                  and a.boundary && b.boundary
             where st_relate(a.boundary, b.boundary, '2********')
               and st_area(st_intersection(a.boundary, b.boundary)) > 1e-11",
        },
    ];
    found.extend(collect(conn, &checks).await?);
    Ok(found)
}

/// Takes the staged features whose polygon the database finds invalid off the stage, reporting each with
/// the reason (`polygon_fault`). Validity is decided here rather than while the file is read: GEOS does it
/// in O(n log n) by the rules of the columns' checks. The spatial checks after it cannot be computed on an
/// invalid polygon, and with those features gone they still check every other feature.
const INVALID_PARCELS: &str = "
    with bad as (delete from import_parcels s where polygon_fault(s.boundary) is not null
                 returning s.idx, polygon_fault(s.boundary) as fault)
    select idx, 'geometry', fault from bad";
const INVALID_HOUSES: &str = "
    with bad as (delete from import_farmhouses s where polygon_fault(s.footprint) is not null
                 returning s.idx, polygon_fault(s.footprint) as fault)
    select idx, 'geometry', fault from bad";

pub async fn stage_houses(conn: &mut PgConnection, rows: &[HouseRow]) -> StoreResult<Vec<FieldError>> {
    run(
        conn,
        "create temp table import_farmhouses (idx int primary key, unit_number char(28),
             footprint geometry(Polygon, 4326), floor_area_m2 numeric(10, 2), floors smallint, year_built smallint,
             structure text, condition text)
         on commit drop",
    )
    .await?;
    let mut copy = CopyRows::new();
    for r in rows {
        copy.value(r.index)
            .text(&r.unit_number)
            .text(ewkt(&r.footprint))
            .text(&r.floor_area_m2)
            .value(r.floors)
            .value(r.year_built)
            .text(r.structure.as_str())
            .field(r.condition.map(Condition::as_str))
            .end();
    }
    copy.send(conn, "copy import_farmhouses from stdin").await?;
    let mut found = problems(conn, INVALID_HOUSES).await?;
    run(conn, "analyze import_farmhouses").await?;
    let checks = [
        Check {
            rule: "farmhouses_unit_number_key",
            sql: "select s.idx, 'properties.unit_number', $1 from import_farmhouses s join farmhouses f using (unit_number)",
        },
        Check {
            rule: "farmhouses_parcel_code_fkey",
            sql: "select s.idx, 'properties.unit_number', $1 from import_farmhouses s
             where not exists (select 1 from parcels p where p.parcel_code = left(s.unit_number, 19)::char(19))",
        },
        Check {
            rule: "farmhouses_footprint_within_parcel",
            // The parcel itself covers almost every footprint; widening it is only for the rest (DESIGN §6.2).
            sql: "select s.idx, 'geometry', $1 from import_farmhouses s
             join parcels p on p.parcel_code = left(s.unit_number, 19)::char(19)
             where not st_covers(p.boundary, s.footprint)
               and not st_coveredby(s.footprint, st_buffer(p.boundary, footprint_tolerance()))",
        },
    ];
    found.extend(collect(conn, &checks).await?);
    Ok(found)
}

/// Inserts the staged parcels, in file order; returns how many.
pub async fn insert_parcels(conn: &mut PgConnection) -> StoreResult<usize> {
    let done = sqlx::query(
        "insert into parcels (parcel_code, township_code, village, land_use, boundary)
         select parcel_code, township_code, village, land_use, boundary from import_parcels order by idx",
    )
    .execute(&mut *conn)
    .await?;
    Ok(usize::try_from(done.rows_affected()).unwrap_or(usize::MAX))
}

/// Inserts the staged houses, in file order, each in its parcel's township; returns how many.
pub async fn insert_houses(conn: &mut PgConnection) -> StoreResult<usize> {
    let done = sqlx::query(
        "insert into farmhouses (unit_number, township_code, footprint, floor_area_m2, floors, year_built,
                                 structure, condition)
         select s.unit_number, p.township_code, s.footprint, s.floor_area_m2, s.floors, s.year_built,
                s.structure, coalesce(s.condition, '基本完好')
         from import_farmhouses s join parcels p on p.parcel_code = left(s.unit_number, 19)::char(19)
         order by s.idx",
    )
    .execute(&mut *conn)
    .await?;
    Ok(usize::try_from(done.rows_affected()).unwrap_or(usize::MAX))
}

/// Records the imported file; `false` if a file of the same kind and digest was recorded meanwhile.
pub async fn record(
    conn: &mut PgConnection,
    kind: &str,
    sha256: &[u8; 32],
    file: &str,
    epsg: u32,
    features: usize,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "insert into imports (kind, sha256, file_name, crs, features) values ($1, $2, $3, $4, $5)
         on conflict (kind, sha256) do nothing",
    )
    .bind(kind)
    .bind(&sha256[..])
    .bind(file.chars().take(300).collect::<String>())
    .bind(i32::try_from(epsg).unwrap_or(i32::MAX))
    .bind(i32::try_from(features).unwrap_or(i32::MAX))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

async fn run(conn: &mut PgConnection, sql: &'static str) -> StoreResult<()> {
    sqlx::query(sql).execute(&mut *conn).await?;
    Ok(())
}

/// A check of the staged features: `sql` returns (feature index, field under the feature, message) of
/// each feature that breaks database rule `rule`, whose client message it is given as `$1`: the words
/// the API answers with when a single record breaks the rule.
struct Check {
    rule: &'static str,
    sql: &'static str,
}

/// Every problem the checks find.
async fn collect(conn: &mut PgConnection, checks: &[Check]) -> StoreResult<Vec<FieldError>> {
    let mut all = Vec::new();
    for check in checks {
        let rows: Vec<(i32, String, String)> = sqlx::query_as(check.sql)
            .bind(constraints::describe(check.rule).map_or("breaks a rule of the registry", |r| r.message))
            .fetch_all(&mut *conn)
            .await?;
        all.extend(
            rows.into_iter().map(|(i, field, message)| FieldError::new(format!("features[{i}].{field}"), message)),
        );
    }
    Ok(all)
}

/// A polygon as EWKT with every digit of its coordinates (the shortest text that reads back as the same
/// number), for COPY.
fn ewkt(p: &Polygon<f64>) -> String {
    format!("SRID=4326;{}", p.wkt_string())
}
