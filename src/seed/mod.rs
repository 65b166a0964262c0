//! Generated registries: the Shangyu demo district (`farmhouse seed demo`, and `serve` on first start) and
//! scale data of any size (`farmhouse seed scale --houses N`), both from one generator.
//!
//! The demo reproduces the figures the district reported (docs/DESIGN.md §1) from its records: 3,535 houses
//! with a certificate in force, 1,154,900 m² of their floor area and 266,579,100 yuan of their
//! transactions. Everything is written through the registry's own tables, constraints and triggers.

pub mod district;
pub mod houses;
pub mod layout;
pub mod load;
pub mod people;
pub mod pictures;
pub mod projects;

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressStyle};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};
use tracing::log;

use houses::{Counters, Generator, House, Plan, Targets, Village};

/// The demo district's size and figures.
pub const DEMO_HOUSES: u64 = 6000;
pub const DEMO_TARGETS: Targets = Targets { certified: 3535, floor_area_centi: 115_490_000, amount_yuan: 266_579_100 };
/// The demo's seed: the same district every time.
pub const DEMO_SEED: u64 = 330_604;

/// Houses per transaction of a scale run.
const CHUNK_HOUSES: usize = 20_000;

/// What a run wrote.
#[derive(Debug, Clone)]
pub struct Report {
    pub houses: u64,
    pub villages: u64,
    pub townships_created: bool,
    pub elapsed: Duration,
}

/// Loads the demo district. Refuses if the database holds houses already (the demo is a whole district).
pub async fn demo(pool: &PgPool, today: NaiveDate) -> Result<Report> {
    let mut conn = pool.acquire().await?;
    let houses: i64 = sqlx::query_scalar("select count(*) from farmhouses").fetch_one(&mut *conn).await?;
    if houses > 0 {
        anyhow::bail!("the database holds {houses} houses already; the demo district goes into an empty registry");
    }
    drop(conn);
    let plan = Plan { houses: DEMO_HOUSES, seed: DEMO_SEED, today, targets: Some(DEMO_TARGETS), showcases: true };
    let report = run(pool, plan, false).await?;
    let pictured = pictures::add_to_listed_houses(pool).await?;
    tracing::info!(photos = pictured.photos, took = ?pictured.elapsed, "pictures of the houses on the exchange");
    let projects = projects::add(pool).await.context("adding the demo's activation projects")?;
    tracing::info!(projects, "the showcases' activation projects");
    Ok(report)
}

/// Adds `houses` generated houses (with records in the demo's shares) to the district, creating the
/// district first if the database has none.
pub async fn scale(pool: &PgPool, houses: u64, seed: u64, today: NaiveDate) -> Result<Report> {
    let plan = Plan { houses, seed, today, targets: None, showcases: false };
    run(pool, plan, std::io::stderr().is_terminal()).await
}

async fn run(pool: &PgPool, plan: Plan, progress: bool) -> Result<Report> {
    let started = Instant::now();
    // A connection of its own: its statements are long by design, so they are not logged as slow.
    let options = (*pool.connect_options()).clone().log_slow_statements(log::LevelFilter::Off, Duration::ZERO);
    let mut conn = PgConnection::connect_with(&options).await.context("connecting to the database")?;
    let townships_created = {
        let mut tx = conn.begin().await?;
        set_seed_session(&mut tx).await?;
        let created = district::ensure(&mut tx).await?;
        crate::store::townships::romanise_names(&mut tx).await.context("romanising the place names")?;
        tx.commit().await?;
        created
    };
    let townships = district::townships(&mut conn).await?;
    let counters = counters(&mut conn).await?;
    let targets = plan.targets;
    let total = plan.houses;
    let mut generator = Generator::new(plan, townships, counters)?;
    load::prepare(&mut conn).await?;

    let bar = if progress { ProgressBar::new(total) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} houses ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut first = true;
    let mut villages_made = 0u64;
    let mut houses_made = 0u64;
    let mut numbers = load::CertificateNumbers::load(&mut conn).await?;
    // The demo reaches its figures over all houses at once, so it is made whole and written in one go;
    // scale data streams in chunks.
    let mut whole = targets.map(|t| whole_run(&mut generator, t)).transpose()?;
    loop {
        let chunk = match (whole.take(), targets) {
            (Some(all), _) => all,
            (None, Some(_)) => break,
            (None, None) => next_chunk(&mut generator)?,
        };
        if chunk.is_empty() {
            break;
        }
        let mut tx = conn.begin().await?;
        set_seed_session(&mut tx).await?;
        if first {
            load::parties(&mut tx, &generator.investors).await.context("writing the investors")?;
            first = false;
        }
        load::villages(&mut tx, &chunk, &generator.investors, &mut numbers, targets.is_some()).await?;
        numbers.save(&mut tx).await?;
        crate::store::townships::romanise_names(&mut tx).await.context("romanising the place names")?;
        tx.commit().await?;
        let houses: u64 = chunk.iter().map(|(_, h)| h.len() as u64).sum();
        villages_made += chunk.len() as u64;
        houses_made += houses;
        bar.inc(houses);
        if !progress && targets.is_none() {
            tracing::info!(houses = houses_made, of = total, took = ?started.elapsed(), "seeding");
        }
    }
    bar.finish_and_clear();
    if targets.is_some() {
        let mut tx = conn.begin().await?;
        set_seed_session(&mut tx).await?;
        load::pledges(&mut tx).await.context("registering the demo bank's pledges")?;
        tx.commit().await?;
    }
    sqlx::query("analyze").execute(&mut conn).await?;
    conn.close().await?;
    Ok(Report { houses: houses_made, villages: villages_made, townships_created, elapsed: started.elapsed() })
}

type Chunk = Vec<(Village, Vec<House>)>;

/// Every village of the run, adjusted to reach `targets`.
fn whole_run(generator: &mut Generator, targets: Targets) -> Result<Chunk> {
    let mut all = Vec::new();
    while let Some(v) = generator.next_village()? {
        all.push(v);
    }
    let sizes: Vec<usize> = all.iter().map(|(_, h)| h.len()).collect();
    let mut flat: Vec<House> = all.iter_mut().flat_map(|(_, h)| h.drain(..)).collect();
    Generator::reach(&mut flat, targets)?;
    let mut flat = flat.into_iter();
    for ((_, houses), n) in all.iter_mut().zip(sizes) {
        houses.extend(flat.by_ref().take(n));
    }
    Ok(all)
}

/// The next villages of a streamed run, about [`CHUNK_HOUSES`] houses (empty at the end).
fn next_chunk(generator: &mut Generator) -> Result<Chunk> {
    let mut chunk = Vec::new();
    let mut n = 0;
    while n < CHUNK_HOUSES {
        let Some(v) = generator.next_village()? else { break };
        n += v.1.len();
        chunk.push(v);
    }
    Ok(chunk)
}

/// The history records the seed's writes as actor `seed`, in the district's chain (its owners too: the
/// transaction declares its county, docs/DESIGN.md §2.7); long statements are allowed. A generated
/// register holds listings whose notice began before today (the deals of 2018–2020, notices under way), so
/// the seed writes them as any listing of the past is written: explicitly, with its reason.
async fn set_seed_session(conn: &mut PgConnection) -> Result<()> {
    let session = format!(
        "select set_config('farmhouse.actor', 'seed', true); select set_config('farmhouse.county', '{}', true);
         set local statement_timeout = 0;",
        district::COUNTY_CODE
    );
    sqlx::raw_sql(&session).execute(&mut *conn).await?;
    crate::store::activation::record_historical(conn, "generated by farmhouse seed").await?;
    Ok(())
}

/// What the database already uses: party and deal counters, cadastral sub-districts, village names and
/// the cells that hold parcels.
async fn counters(conn: &mut PgConnection) -> Result<Counters> {
    let parties: i64 = sqlx::query_scalar("select coalesce(max(id), 0) from parties").fetch_one(&mut *conn).await?;
    let deals: i64 = sqlx::query_scalar("select coalesce(max(id), 0) from appraisals").fetch_one(&mut *conn).await?;
    let subdistricts: Vec<(i32, i32)> = sqlx::query_as(
        "select substr(parcel_code, 7, 3)::int, max(substr(parcel_code, 10, 3)::int) from parcels
         where county_code = $1 and substr(parcel_code, 7, 6) ~ '^[0-9]+$' group by 1",
    )
    .bind(district::COUNTY_CODE)
    .fetch_all(&mut *conn)
    .await?;
    let villages: Vec<(String, String)> =
        sqlx::query_as("select township_code::text, name from villages").fetch_all(&mut *conn).await?;
    let cells: Vec<(f64, f64)> =
        sqlx::query_as("select st_x(c), st_y(c) from (select st_centroid(boundary) as c from parcels) s")
            .fetch_all(&mut *conn)
            .await?;
    let mut counters = Counters { parties: parties as u64, deals: deals as u64, ..Counters::default() };
    counters.subdistricts = subdistricts.into_iter().map(|(d, s)| (d as u32, s as u32)).collect();
    for (township, name) in villages {
        counters.villages.entry(township).or_default().insert(name);
    }
    for (lon, lat) in cells {
        let (x, y) = layout::to_plane(lon, lat);
        counters.taken.insert(layout::cell_of(x, y));
    }
    Ok(counters)
}
