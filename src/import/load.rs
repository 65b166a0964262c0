//! The database half of an import: the checks that need the database (polygon validity, records that
//! exist, parcels, townships, the district outline, overlaps), then COPY into a staging table and one
//! INSERT per file, all in one transaction that also records the file in `imports`. Bad features are
//! reported all at once and the transaction is rolled back, so a refused file changes nothing.

use anyhow::Context as _;
use indicatif::ProgressBar;
use sqlx::{Acquire, PgConnection, PgPool};

use super::validate::{self, Context, HouseRow, ParcelRow, Rows, rule};
use super::{Failure, Kind, Refused, Report, Source, hex, read, settle_crs};
use crate::domain::FieldError;
use crate::geo::crs::Crs;
use crate::geo::shape::Extent;
use crate::store::copy::CopyRows;

/// Imports `source` as `kind` in the name of `actor` (recorded in the history).
///
/// (Statements here go through `sqlx::query`, not `raw_sql`, whose futures the compiler cannot prove `Send`
/// for axum handlers.)
pub async fn import(
    pool: &PgPool,
    kind: Kind,
    source: Source,
    given: Option<Crs>,
    actor: &str,
    progress: ProgressBar,
) -> Result<Report, Failure> {
    let mut conn = pool.acquire().await?;
    let cx = context(&mut conn).await?;
    let sha256 = source.sha256();
    already_imported(&mut conn, kind, &sha256).await?;
    let file = source.name.clone();
    let bar = progress.clone();
    let checked = tokio::task::spawn_blocking(move || -> Result<(Crs, usize, Rows, Vec<FieldError>), Failure> {
        let read = read::read(&source)?;
        let crs = settle_crs(read.declared, given)?;
        bar.set_length(read.features.len() as u64);
        bar.set_message("checking");
        let (rows, errors) = validate::check(kind, &read.features, crs, &cx, &bar)?;
        Ok((crs, read.features.len(), rows, errors))
    })
    .await
    .context("the import's checks stopped")??;
    let (crs, features, rows, mut errors) = checked;
    progress.set_message("loading");

    let mut tx = conn.begin().await?;
    sqlx::query("select set_config('farmhouse.actor', $1, true)").bind(actor).execute(&mut *tx).await?;
    sqlx::query("set local statement_timeout = 0").execute(&mut *tx).await?;
    // The good features are checked against the registry too, so one report names every bad feature.
    errors.extend(match &rows {
        Rows::Parcels(r) => stage_parcels(&mut tx, r).await?,
        Rows::Farmhouses(r) => stage_houses(&mut tx, r).await?,
    });
    if !errors.is_empty() {
        errors.sort_by_key(|e| feature_index(&e.field));
        tx.rollback().await?;
        return Err(Failure::Invalid(errors));
    }
    let imported = match &rows {
        Rows::Parcels(_) => sqlx::query(
            "insert into parcels (parcel_code, township_code, village, land_use, boundary)
             select parcel_code, township_code, village, land_use, boundary from import_parcels order by idx",
        ),
        Rows::Farmhouses(_) => sqlx::query(
            "insert into farmhouses (unit_number, township_code, footprint, floor_area_m2, floors, year_built,
                                     structure, condition)
             select s.unit_number, p.township_code, s.footprint, s.floor_area_m2, s.floors, s.year_built,
                    s.structure, coalesce(s.condition, '基本完好')
             from import_farmhouses s join parcels p on p.parcel_code = left(s.unit_number, 19)::char(19)
             order by s.idx",
        ),
    }
    .execute(&mut *tx)
    .await
    .context("inserting the checked features")?
    .rows_affected() as usize;
    let recorded = sqlx::query(
        "insert into imports (kind, sha256, file_name, crs, features) values ($1, $2, $3, $4, $5)
         on conflict (kind, sha256) do nothing",
    )
    .bind(kind.as_str())
    .bind(&sha256[..])
    .bind(file.chars().take(300).collect::<String>())
    .bind(crs.epsg() as i32)
    .bind(imported as i32)
    .execute(&mut *tx)
    .await?;
    if recorded.rows_affected() == 0 {
        // Another import of the same file committed meanwhile.
        tx.rollback().await?;
        return Err(Failure::AlreadyImported("this file has just been imported by someone else".into()));
    }
    tx.commit().await?;
    progress.finish_and_clear();
    Ok(Report { kind, file, crs: crs.to_string(), sha256: hex(&sha256), features, imported })
}

/// The district the registry holds: its county code and extent (with a margin of about 100 m).
async fn context(conn: &mut PgConnection) -> Result<Context, Failure> {
    let row: Option<(String, f64, f64, f64, f64)> = sqlx::query_as(
        "select county_code::text, st_xmin(outline), st_ymin(outline), st_xmax(outline), st_ymax(outline)
         from districts order by county_code limit 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some((county_code, x0, y0, x1, y1)) = row else {
        return Err(
            Refused::new("file", "the registry has no district yet: load one first (farmhouse seed demo)").into()
        );
    };
    let m = 0.001;
    Ok(Context {
        county_code,
        extent: Some(Extent { min_lon: x0 - m, min_lat: y0 - m, max_lon: x1 + m, max_lat: y1 + m }),
    })
}

async fn already_imported(conn: &mut PgConnection, kind: Kind, sha256: &[u8; 32]) -> Result<(), Failure> {
    let earlier: Option<(String, String, chrono::DateTime<chrono::Utc>)> =
        sqlx::query_as("select file_name, actor, imported_at from imports where kind = $1 and sha256 = $2")
            .bind(kind.as_str())
            .bind(&sha256[..])
            .fetch_optional(&mut *conn)
            .await?;
    match earlier {
        None => Ok(()),
        Some((name, actor, at)) => Err(Failure::AlreadyImported(format!(
            "this file ({name}) was imported already, by {actor} at {}; importing it again would duplicate every feature",
            at.format("%Y-%m-%d %H:%M UTC")
        ))),
    }
}

/// Runs `sql`, which returns (feature index, field under the feature, message), as feature errors.
async fn problems(conn: &mut PgConnection, sql: &str) -> Result<Vec<FieldError>, Failure> {
    let rows: Vec<(i32, String, String)> =
        sqlx::query_as(sql).fetch_all(&mut *conn).await.context("checking the staged features")?;
    Ok(rows.into_iter().map(|(i, field, message)| FieldError::new(format!("features[{i}].{field}"), message)).collect())
}

async fn stage_parcels(conn: &mut PgConnection, rows: &[ParcelRow]) -> Result<Vec<FieldError>, Failure> {
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
        format!(
            "select s.idx, 'properties.parcel_code', '{}' from import_parcels s join parcels p using (parcel_code)",
            rule("parcels_parcel_code_key")
        ),
        format!(
            "select s.idx, 'properties.township_code', '{}' from import_parcels s
             where s.township_code is not null and not exists (select 1 from townships t where t.code = s.township_code)",
            rule("parcels_township_code_fkey")
        ),
        format!(
            "select s.idx, 'properties.township_code', '{}' from import_parcels s
             join townships t on t.code = s.township_code where not st_covers(t.boundary_tolerant, s.boundary)",
            rule("parcels_within_township")
        ),
        format!(
            "select s.idx, 'geometry', '{}' from import_parcels s
             where s.township_code is null or not exists (
                 select 1 from districts d where d.county_code = left(s.parcel_code, 6)
                 and st_covers(d.outline_tolerant, s.boundary))",
            rule("inside_district")
        ),
        format!(
            "select s.idx, 'geometry', '{}' || ' (parcel ' || p.parcel_code || ')'
             from import_parcels s join parcels p on p.township_code = s.township_code and p.boundary && s.boundary
             where st_relate(p.boundary, s.boundary, '2********')
               and st_area(st_intersection(p.boundary, s.boundary)) > 1e-11",
            rule("parcels_no_overlap")
        ),
        format!(
            "select b.idx, 'geometry', '{}' || ' (features[' || a.idx || '])'
             from import_parcels a join import_parcels b on a.idx < b.idx and a.township_code = b.township_code
                  and a.boundary && b.boundary
             where st_relate(a.boundary, b.boundary, '2********')
               and st_area(st_intersection(a.boundary, b.boundary)) > 1e-11",
            rule("parcels_no_overlap")
        ),
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

async fn stage_houses(conn: &mut PgConnection, rows: &[HouseRow]) -> Result<Vec<FieldError>, Failure> {
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
            .text(&r.structure)
            .field(r.condition.as_deref())
            .end();
    }
    copy.send(conn, "copy import_farmhouses from stdin").await?;
    let mut found = problems(conn, INVALID_HOUSES).await?;
    run(conn, "analyze import_farmhouses").await?;
    let checks = [
        format!(
            "select s.idx, 'properties.unit_number', '{}' from import_farmhouses s join farmhouses f using (unit_number)",
            rule("farmhouses_unit_number_key")
        ),
        format!(
            "select s.idx, 'properties.unit_number', '{}' from import_farmhouses s
             where not exists (select 1 from parcels p where p.parcel_code = left(s.unit_number, 19)::char(19))",
            rule("farmhouses_parcel_code_fkey")
        ),
        format!(
            "select s.idx, 'geometry', '{}' from import_farmhouses s
             join parcels p on p.parcel_code = left(s.unit_number, 19)::char(19)
             where not st_coveredby(s.footprint, st_buffer(p.boundary, footprint_tolerance()))",
            rule("farmhouses_footprint_within_parcel")
        ),
    ];
    found.extend(collect(conn, &checks).await?);
    Ok(found)
}

async fn run(conn: &mut PgConnection, sql: &'static str) -> Result<(), Failure> {
    sqlx::query(sql).execute(&mut *conn).await?;
    Ok(())
}

/// Every problem the checks find.
async fn collect(conn: &mut PgConnection, checks: &[String]) -> Result<Vec<FieldError>, Failure> {
    let mut all = Vec::new();
    for sql in checks {
        all.extend(problems(conn, sql).await?);
    }
    Ok(all)
}

/// The feature an error of field `features[i]…` concerns (0 for the file as a whole).
fn feature_index(field: &str) -> usize {
    field.strip_prefix("features[").and_then(|r| r.split(']').next()).and_then(|i| i.parse().ok()).unwrap_or(0)
}

/// A polygon as EWKT with every digit of its coordinates, for COPY.
fn ewkt(p: &geo::Polygon<f64>) -> String {
    let ring = |l: &geo::LineString<f64>| -> String {
        l.coords().map(|c| format!("{} {}", c.x, c.y)).collect::<Vec<_>>().join(",")
    };
    let mut rings = vec![format!("({})", ring(p.exterior()))];
    rings.extend(p.interiors().iter().map(|r| format!("({})", ring(r))));
    format!("SRID=4326;POLYGON({})", rings.join(","))
}
