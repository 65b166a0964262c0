//! The district itself: its outline and its 20 townships, cut from the outline around their seats (a
//! Voronoi split clipped to the outline, so they tile it without gaps or overlaps), from the reference
//! files in `fixtures/`, which are compiled into the binary.

use anyhow::{Context, Result, bail};
use sqlx::PgConnection;

pub const COUNTY_CODE: &str = "330604";
pub const COUNTY_NAME: &str = "上虞区";
const TOWNSHIPS_TSV: &str = include_str!("../../fixtures/shangyu-townships.tsv");
const OUTLINE_GEOJSON: &str = include_str!("../../fixtures/shangyu-outline.geojson");
const PREFIXES_TSV: &str = include_str!("../../fixtures/certificate-prefixes.tsv");

/// The two letters of county `county`'s certificate numbers, from the reference list.
pub fn certificate_prefix(county: &str) -> Result<String> {
    PREFIXES_TSV
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("county_code\t"))
        .find_map(|l| {
            let f: Vec<&str> = l.split('\t').map(str::trim).collect();
            (f.first() == Some(&county)).then(|| f.get(2).map(|p| (*p).to_string()))
        })
        .flatten()
        .with_context(|| format!("county {county} has no certificate prefix in certificate-prefixes.tsv"))
}

/// A township of the reference list.
#[derive(Debug, Clone)]
pub struct Seat {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub lon: f64,
    pub lat: f64,
}

/// The reference list of townships with their seats.
pub fn seats() -> Result<Vec<Seat>> {
    let mut out = Vec::new();
    for (n, line) in TOWNSHIPS_TSV.lines().enumerate() {
        if line.starts_with('#') || line.starts_with("code\t") || line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').map(str::trim).collect();
        let [code, name, kind, lon, lat] = f[..] else {
            bail!("shangyu-townships.tsv line {}: expected 5 columns, found {}", n + 1, f.len());
        };
        let number = |s: &str| s.parse::<f64>().with_context(|| format!("shangyu-townships.tsv line {}", n + 1));
        out.push(Seat {
            code: code.into(),
            name: name.into(),
            kind: kind.into(),
            lon: number(lon)?,
            lat: number(lat)?,
        });
    }
    Ok(out)
}

/// Whether the database holds the district already.
pub async fn exists(conn: &mut PgConnection) -> Result<bool> {
    Ok(sqlx::query_scalar("select exists (select 1 from districts where county_code = $1)")
        .bind(COUNTY_CODE)
        .fetch_one(conn)
        .await?)
}

/// Writes the district outline and its townships unless the district exists. Returns whether it wrote.
pub async fn ensure(conn: &mut PgConnection) -> Result<bool> {
    if exists(conn).await? {
        return Ok(false);
    }
    let outline: serde_json::Value = serde_json::from_str(OUTLINE_GEOJSON).context("shangyu-outline.geojson")?;
    let geometry = outline["features"][0]["geometry"].to_string();
    sqlx::query(
        "insert into districts (county_code, name, outline, certificate_prefix)
         values ($1, $2, st_multi(st_geomfromgeojson($3)), $4)",
    )
    .bind(COUNTY_CODE)
    .bind(COUNTY_NAME)
    .bind(&geometry)
    .bind(certificate_prefix(COUNTY_CODE)?)
    .execute(&mut *conn)
    .await
    .context("writing the district outline")?;

    let seats = seats()?;
    let column = |f: fn(&Seat) -> String| seats.iter().map(f).collect::<Vec<_>>();
    // Each seat's Voronoi cell (the points nearer to it than to any other seat), clipped to the outline.
    // The cells share their edges exactly, so the clipped cells tile the outline.
    let written = sqlx::query(
        "with seats as (
             select code, name, kind, st_setsrid(st_makepoint(lon, lat), 4326) as seat
             from unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::float8[]) as s(code, name, kind, lon, lat)
         ), d as (
             select outline from districts where county_code = $6
         ), cells as (
             select (st_dump(st_voronoipolygons((select st_collect(seat) from seats), 0,
                                                (select st_expand(st_envelope(outline), 0.5) from d)))).geom as cell
         )
         insert into townships (code, name, kind, seat, boundary)
         select s.code, s.name, s.kind, s.seat, st_multi(st_collectionextract(st_intersection(c.cell, d.outline), 3))
         from seats s join cells c on st_contains(c.cell, s.seat) cross join d",
    )
    .bind(column(|s| s.code.clone()))
    .bind(column(|s| s.name.clone()))
    .bind(column(|s| s.kind.clone()))
    .bind(seats.iter().map(|s| s.lon).collect::<Vec<_>>())
    .bind(seats.iter().map(|s| s.lat).collect::<Vec<_>>())
    .bind(COUNTY_CODE)
    .execute(&mut *conn)
    .await
    .context("cutting the township boundaries")?;
    if written.rows_affected() != seats.len() as u64 {
        bail!("cut {} township boundaries for {} seats", written.rows_affected(), seats.len());
    }
    Ok(true)
}

/// A township as the generator sees it.
#[derive(Debug, Clone)]
pub struct Township {
    pub code: String,
    pub name: String,
    /// The 3-digit cadastral district (地籍区) of its parcels: its place in the reference list, from 1.
    pub cadastral_district: u32,
    /// Every ring of its boundary, as GeoJSON positions.
    pub rings: Vec<Vec<Vec<f64>>>,
}

/// The townships of the district, in the order of the reference list.
pub async fn townships(conn: &mut PgConnection) -> Result<Vec<Township>> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "select code::text, name, st_asgeojson(boundary) from townships where county_code = $1 order by code",
    )
    .bind(COUNTY_CODE)
    .fetch_all(&mut *conn)
    .await?;
    let order = seats()?;
    let mut out = Vec::new();
    for (code, name, json) in rows {
        let Some(place) = order.iter().position(|s| s.code == code) else { continue };
        let geometry: geojson::Geometry = json.parse().context("a township boundary")?;
        let rings = match geometry.value {
            geojson::Value::MultiPolygon(parts) => parts.into_iter().flatten().collect(),
            geojson::Value::Polygon(rings) => rings,
            _ => Vec::new(),
        };
        out.push(Township { code, name, cadastral_district: place as u32 + 1, rings });
    }
    out.sort_by_key(|t| t.cadastral_district);
    Ok(out)
}
