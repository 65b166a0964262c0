//! Imports a file: reads and checks it off the async runtime ([`super::read`], [`super::validate`]), then
//! stages, checks against the registry and loads it in one transaction (`store::imports`). Bad features are
//! reported all at once and the transaction is rolled back, so a refused file changes nothing.

use anyhow::Context as _;
use sqlx::Acquire;

use super::validate::{self, Context, Rows};
use super::{Failure, Kind, Progress, Refused, Report, Source, Step, hex, read, settle_crs};
use crate::domain::FieldError;
use crate::geo::crs::Crs;
use crate::geo::shape::Extent;
use crate::store::{Pool, imports};

/// Imports `source` as `kind` in the name of `actor` (recorded in the history).
pub async fn import(
    pool: &Pool,
    kind: Kind,
    source: Source,
    given: Option<Crs>,
    actor: &str,
    progress: Progress,
) -> Result<Report, Failure> {
    let mut conn = pool.acquire().await?;
    let cx = context(&mut conn).await?;
    let sha256 = source.sha256();
    already_imported(&mut conn, kind, &sha256).await?;
    let file = source.name.clone();
    let told = progress.clone();
    let checked = tokio::task::spawn_blocking(move || -> Result<(Crs, usize, Rows, Vec<FieldError>), Failure> {
        let read = read::read(&source)?;
        let crs = settle_crs(read.declared, given)?;
        told(Step::Checking { features: read.features.len() });
        let (rows, errors) = validate::check(kind, &read.features, crs, &cx, &told)?;
        Ok((crs, read.features.len(), rows, errors))
    })
    .await
    .context("the import's checks stopped")??;
    let (crs, features, rows, mut errors) = checked;
    progress(Step::Loading);

    let mut tx = conn.begin().await?;
    imports::prepare(&mut tx, actor).await?;
    // The good features are checked against the registry too, so one report names every bad feature.
    errors.extend(match &rows {
        Rows::Parcels(r) => imports::stage_parcels(&mut tx, r).await?,
        Rows::Farmhouses(r) => imports::stage_houses(&mut tx, r).await?,
    });
    if !errors.is_empty() {
        errors.sort_by_key(|e| feature_index(&e.field));
        tx.rollback().await?;
        return Err(Failure::Invalid(errors));
    }
    let imported = match &rows {
        Rows::Parcels(_) => imports::insert_parcels(&mut tx).await?,
        Rows::Farmhouses(_) => imports::insert_houses(&mut tx).await?,
    };
    if !imports::record(&mut tx, kind.as_str(), &sha256, &file, crs.epsg(), imported).await? {
        // Another import of the same file committed meanwhile.
        tx.rollback().await?;
        return Err(Failure::AlreadyImported("this file has just been imported by someone else".into()));
    }
    tx.commit().await?;
    progress(Step::Done);
    Ok(Report { kind, file, crs: crs.to_string(), sha256: hex(&sha256), features, imported })
}

/// Where the checks look: the district the registry holds, its extent with a margin of about 100 m.
async fn context(conn: &mut sqlx::PgConnection) -> Result<Context, Failure> {
    let Some((county_code, e)) = imports::district(conn).await? else {
        return Err(
            Refused::new("file", "the registry has no district yet: load one first (farmhouse seed demo)").into()
        );
    };
    let m = 0.001;
    Ok(Context {
        county_code,
        extent: Some(Extent {
            min_lon: e.min_lon - m,
            min_lat: e.min_lat - m,
            max_lon: e.max_lon + m,
            max_lat: e.max_lat + m,
        }),
        this_year: chrono::Datelike::year(&chrono::Utc::now()),
    })
}

async fn already_imported(conn: &mut sqlx::PgConnection, kind: Kind, sha256: &[u8; 32]) -> Result<(), Failure> {
    match imports::earlier(conn, kind.as_str(), sha256).await? {
        None => Ok(()),
        Some((name, actor, at)) => Err(Failure::AlreadyImported(format!(
            "this file ({name}) was imported already, by {actor} at {}; importing it again would duplicate every feature",
            at.format("%Y-%m-%d %H:%M UTC")
        ))),
    }
}

/// The feature an error of field `features[i]…` concerns (0 for the file as a whole).
fn feature_index(field: &str) -> usize {
    field.strip_prefix("features[").and_then(|r| r.split(']').next()).and_then(|i| i.parse().ok()).unwrap_or(0)
}
