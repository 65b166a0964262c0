//! Exporting parcels or farmhouses as GeoJSON, CSV with WKT, or an ESRI Shapefile, in lon/lat or one of
//! the survey CRSs (transformed by PostGIS, which uses the same PROJ).
//!
//! Exports carry registry facts only: codes, township, village, land use, areas, floors, year, structure,
//! condition and status. No party data (owner, names, ID numbers, phones, addresses) is ever selected.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::{Map, Value, json};
use sqlx::PgPool;

use crate::geo::crs::Crs;
use crate::import::Kind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    GeoJson,
    Csv,
    Shapefile,
}

impl Format {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "geojson" | "json" => Some(Format::GeoJson),
            "csv" => Some(Format::Csv),
            "shp" | "shapefile" => Some(Format::Shapefile),
            _ => None,
        }
    }
}

/// One exported feature: its properties in column order, its geometry as GeoJSON and WKT.
pub struct Feature {
    pub id: String,
    pub properties: Vec<(&'static str, Value)>,
    pub geojson: String,
    pub wkt: String,
}

/// Columns of each kind, in order (the shapefile's dBase names are cut to 10 characters).
fn columns(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Parcels => &["parcel_code", "township_code", "village", "land_use", "area_m2"],
        Kind::Farmhouses => &[
            "unit_number",
            "parcel_code",
            "township_code",
            "floor_area_m2",
            "floors",
            "year_built",
            "structure",
            "condition",
            "status",
        ],
    }
}

/// The features of `kind` (of one township, if given), with geometries in `crs`.
pub async fn features(pool: &PgPool, kind: Kind, crs: Crs, township: Option<&str>) -> Result<Vec<Feature>> {
    // Nine decimals of a degree or four of a metre: a tenth of a millimetre either way.
    let digits = if crs.is_projected() { 4 } else { 9 };
    let sql = match kind {
        Kind::Parcels => {
            "select parcel_code::text, jsonb_build_array(parcel_code, township_code, village, land_use,
                    round(area_m2::numeric, 2)),
                    st_asgeojson(st_transform(boundary, $1), $2, 0), st_astext(st_transform(boundary, $1), $2)
             from parcels where $3::text is null or township_code = $3 order by parcel_code"
        }
        Kind::Farmhouses => {
            "select unit_number::text, jsonb_build_array(unit_number, parcel_code, township_code, floor_area_m2,
                    floors, year_built, structure, condition, status),
                    st_asgeojson(st_transform(footprint, $1), $2, 0), st_astext(st_transform(footprint, $1), $2)
             from farmhouses where $3::text is null or township_code = $3 order by unit_number"
        }
    };
    let rows: Vec<(String, Value, String, String)> = sqlx::query_as(sql)
        .bind(crs.epsg() as i32)
        .bind(digits)
        .bind(township)
        .fetch_all(pool)
        .await
        .with_context(|| format!("reading the {} to export", kind.as_str()))?;
    Ok(rows
        .into_iter()
        .map(|(id, values, geojson, wkt)| {
            let values = match values {
                Value::Array(v) => v,
                _ => Vec::new(),
            };
            Feature { id, properties: columns(kind).iter().copied().zip(values).collect(), geojson, wkt }
        })
        .collect())
}

/// A GeoJSON FeatureCollection (RFC 7946 in lon/lat; with a `crs` member naming any other CRS).
pub fn geojson(out: &mut impl Write, kind: Kind, crs: Crs, features: &[Feature]) -> Result<()> {
    write!(out, "{{\"type\":\"FeatureCollection\",\"name\":\"{}\",", kind.as_str())?;
    if crs != Crs::Wgs84 {
        let member = json!({"type": "name", "properties": {"name": format!("urn:ogc:def:crs:EPSG::{}", crs.epsg())}});
        write!(out, "\"crs\":{member},")?;
    }
    out.write_all(b"\"features\":[")?;
    for (i, f) in features.iter().enumerate() {
        if i > 0 {
            out.write_all(b",\n")?;
        }
        let properties: Map<String, Value> = f.properties.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        write!(
            out,
            "{{\"type\":\"Feature\",\"id\":{},\"properties\":{},\"geometry\":{}}}",
            Value::String(f.id.clone()),
            Value::Object(properties),
            f.geojson
        )?;
    }
    out.write_all(b"]}\n")?;
    Ok(())
}

/// CSV with a header, one column per property and the geometry as WKT in the last column.
pub fn csv(out: impl Write, kind: Kind, features: &[Feature]) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let mut header: Vec<&str> = columns(kind).to_vec();
    header.push("wkt");
    w.write_record(&header)?;
    for f in features {
        let mut record: Vec<String> = f.properties.iter().map(|(_, v)| plain(v)).collect();
        record.push(f.wkt.clone());
        w.write_record(&record)?;
    }
    w.flush()?;
    Ok(())
}

fn plain(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An ESRI Shapefile at `prefix` (.shp, .shx, .dbf in UTF-8 with its .cpg, and .prj). Returns the files.
pub fn shapefile(prefix: &Path, kind: Kind, crs: Crs, features: &[Feature]) -> Result<Vec<PathBuf>> {
    use shapefile::dbase::{self, FieldValue};
    let shp = prefix.with_extension("shp");
    if let Some(dir) = shp.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut table = dbase::TableWriterBuilder::with_encoding(dbase::encoding::UnicodeLossy);
    for &name in columns(kind) {
        let field = dbase::FieldName::try_from(short_name(name)).map_err(|e| anyhow::anyhow!("field {name}: {e:?}"))?;
        table = match name {
            "area_m2" | "floor_area_m2" => table.add_numeric_field(field, 14, 2),
            "floors" | "year_built" => table.add_numeric_field(field, 6, 0),
            // Bytes of UTF-8: Chinese characters take three.
            "unit_number" => table.add_character_field(field, 28),
            "parcel_code" => table.add_character_field(field, 19),
            "township_code" => table.add_character_field(field, 9),
            "land_use" => table.add_character_field(field, 4),
            "structure" | "condition" | "status" => table.add_character_field(field, 12),
            _ => table.add_character_field(field, 254),
        };
    }
    let mut writer =
        shapefile::Writer::from_path(&shp, table).with_context(|| format!("cannot write {}", shp.display()))?;
    for f in features {
        let geometry: geojson::Geometry = f.geojson.parse().context("an exported geometry")?;
        let rings = match geometry.value {
            geojson::Value::Polygon(rings) => rings,
            _ => continue,
        };
        let rings = rings
            .iter()
            .enumerate()
            .map(|(i, ring)| {
                let points = ring.iter().map(|p| shapefile::Point::new(p[0], p[1])).collect();
                if i == 0 { shapefile::PolygonRing::Outer(points) } else { shapefile::PolygonRing::Inner(points) }
            })
            .collect();
        let mut record = dbase::Record::default();
        for (name, value) in &f.properties {
            let v = match (*name, value) {
                ("area_m2" | "floor_area_m2" | "floors" | "year_built", v) => FieldValue::Numeric(v.as_f64()),
                (_, v) => FieldValue::Character(Some(plain(v))),
            };
            record.insert(short_name(name).to_string(), v);
        }
        writer
            .write_shape_and_record(&shapefile::Polygon::with_rings(rings), &record)
            .with_context(|| format!("writing {}", f.id))?;
    }
    drop(writer);
    let prj = prefix.with_extension("prj");
    std::fs::write(&prj, crs.esri_wkt())?;
    let cpg = prefix.with_extension("cpg");
    std::fs::write(&cpg, "UTF-8")?;
    Ok(vec![shp, prefix.with_extension("shx"), prefix.with_extension("dbf"), prj, cpg])
}

/// The dBase name of a column: at most 10 characters (what `import::read::full_name` reads back).
fn short_name(name: &str) -> &str {
    &name[..name.len().min(10)]
}
