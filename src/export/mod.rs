//! Exporting parcels or farmhouses as GeoJSON, CSV with WKT, or an ESRI Shapefile, in lon/lat or one of
//! the survey CRSs (transformed by PostGIS, which uses the same PROJ).
//!
//! Exports carry registry facts only: codes, township, village, land use, areas, floors, year, structure,
//! condition and status. No party data (owner, names, ID numbers, phones, addresses) is ever selected.

use std::path::{Path, PathBuf};

use crate::store::{Pool, exports};
use anyhow::{Context, Result};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde_json::{Map, Value, json};

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

/// The features of `kind` (of one township, if given), with geometries in `crs`, streamed from the
/// database as they are written out, so an export of a million houses never sits in memory.
pub fn features<'a>(pool: &'a Pool, kind: Kind, crs: Crs, township: Option<&'a str>) -> BoxStream<'a, Result<Feature>> {
    // Nine decimals of a degree or four of a metre: a tenth of a millimetre either way.
    let digits = if crs.is_projected() { 4 } else { 9 };
    let rows = match kind {
        Kind::Parcels => exports::parcels(pool, crs.epsg(), digits, township),
        Kind::Farmhouses => exports::farmhouses(pool, crs.epsg(), digits, township),
    };
    rows.map(move |row| {
        let (id, values, geojson, wkt) = row.with_context(|| format!("reading the {} to export", kind.as_str()))?;
        let values = match values {
            Value::Array(v) => v,
            _ => Vec::new(),
        };
        Ok(Feature { id, properties: columns(kind).iter().copied().zip(values).collect(), geojson, wkt })
    })
    .boxed()
}

/// Turns features into the bytes of a GeoJSON FeatureCollection (RFC 7946 in lon/lat; with a `crs`
/// member naming any other CRS) or of CSV (a header, one column per property, the geometry as WKT last),
/// one piece at a time.
pub struct Encoder {
    format: Format,
    kind: Kind,
    crs: Crs,
    written: usize,
}

impl Encoder {
    /// For GeoJSON or CSV (a shapefile is several files: [`ShapefileWriter`]).
    pub fn new(format: Format, kind: Kind, crs: Crs) -> Self {
        Self { format, kind, crs, written: 0 }
    }

    pub fn header(&self) -> Result<Vec<u8>> {
        if self.format == Format::Csv {
            let mut header: Vec<&str> = columns(self.kind).to_vec();
            header.push("wkt");
            let mut out = UTF8_BOM.to_vec();
            out.extend(csv_record(&header)?);
            Ok(out)
        } else {
            let mut out = format!("{{\"type\":\"FeatureCollection\",\"name\":\"{}\",", self.kind.as_str());
            if self.crs != Crs::Wgs84 {
                let name = format!("urn:ogc:def:crs:EPSG::{}", self.crs.epsg());
                out.push_str(&format!("\"crs\":{},", json!({"type": "name", "properties": {"name": name}})));
            }
            out.push_str("\"features\":[");
            Ok(out.into_bytes())
        }
    }

    pub fn feature(&mut self, f: &Feature) -> Result<Vec<u8>> {
        self.written += 1;
        if self.format == Format::Csv {
            let mut record: Vec<String> = f.properties.iter().map(|(_, v)| csv_cell(v)).collect();
            record.push(f.wkt.clone());
            csv_record(&record)
        } else {
            let properties: Map<String, Value> = f.properties.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
            Ok(format!(
                "{}{{\"type\":\"Feature\",\"id\":{},\"properties\":{},\"geometry\":{}}}",
                if self.written > 1 { ",\n" } else { "" },
                Value::String(f.id.clone()),
                Value::Object(properties),
                f.geojson
            )
            .into_bytes())
        }
    }

    pub fn footer(&self) -> Vec<u8> {
        match self.format {
            Format::Csv => Vec::new(),
            _ => b"]}\n".to_vec(),
        }
    }

    /// How many features were encoded.
    pub fn written(&self) -> usize {
        self.written
    }
}

/// Every CSV file the service writes starts with it, so that spreadsheet programs read it as UTF-8 (and
/// show the Chinese); the importer skips it.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A table as CSV: a header and rows of JSON values, each cell as [`csv_cell`] writes it, after the BOM.
pub fn table_csv(header: &[&str], rows: &[Vec<Value>]) -> Result<Vec<u8>> {
    let mut out = UTF8_BOM.to_vec();
    out.extend(csv_record(header)?);
    for row in rows {
        out.extend(csv_record(&row.iter().map(csv_cell).collect::<Vec<_>>())?);
    }
    Ok(out)
}

fn csv_record<T: AsRef<[u8]>>(fields: &[T]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(fields)?;
    w.into_inner().map_err(|e| anyhow::anyhow!("writing CSV: {e}"))
}

/// A property as a CSV cell. Text a spreadsheet would run as a formula — it starts with `=`, `+`, `-`, `@`,
/// a tab or a carriage return — is written with a leading `'` (OWASP's advice on CSV injection), so a
/// village named `=HYPERLINK(…)` opens as text, not as a link. Numbers are written as they are: a negative
/// number is a number, not a formula.
fn csv_cell(v: &Value) -> String {
    match v {
        Value::String(s) if s.starts_with(['=', '+', '-', '@', '\t', '\r']) => format!("'{s}"),
        other => plain(other),
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An ESRI Shapefile at a path prefix (.shp, .shx, .dbf in UTF-8 with its .cpg, and .prj), written feature
/// by feature.
pub struct ShapefileWriter {
    prefix: PathBuf,
    crs: Crs,
    writer: shapefile::Writer<std::io::BufWriter<std::fs::File>>,
    written: usize,
}

impl ShapefileWriter {
    pub fn create(prefix: &Path, kind: Kind, crs: Crs) -> Result<Self> {
        use shapefile::dbase;
        let shp = prefix.with_extension("shp");
        if let Some(dir) = shp.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let mut table = dbase::TableWriterBuilder::with_encoding(dbase::encoding::UnicodeLossy);
        for &name in columns(kind) {
            let field =
                dbase::FieldName::try_from(short_name(name)).map_err(|e| anyhow::anyhow!("field {name}: {e:?}"))?;
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
        let writer =
            shapefile::Writer::from_path(&shp, table).with_context(|| format!("cannot write {}", shp.display()))?;
        Ok(Self { prefix: prefix.to_path_buf(), crs, writer, written: 0 })
    }

    pub fn write(&mut self, f: &Feature) -> Result<()> {
        use shapefile::dbase::{self, FieldValue};
        let geometry: geojson::Geometry = f.geojson.parse().context("an exported geometry")?;
        let geojson::Value::Polygon(rings) = geometry.value else {
            anyhow::bail!("{} is not a polygon", f.id);
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
        self.writer
            .write_shape_and_record(&shapefile::Polygon::with_rings(rings), &record)
            .with_context(|| format!("writing {}", f.id))?;
        self.written += 1;
        Ok(())
    }

    /// Finishes the files; returns them and how many features they hold.
    pub fn finish(self) -> Result<(Vec<PathBuf>, usize)> {
        drop(self.writer);
        let p = &self.prefix;
        std::fs::write(p.with_extension("prj"), self.crs.esri_wkt())?;
        std::fs::write(p.with_extension("cpg"), "UTF-8")?;
        let files = ["shp", "shx", "dbf", "prj", "cpg"].iter().map(|e| p.with_extension(e)).collect();
        Ok((files, self.written))
    }
}

/// The dBase name of a column: at most 10 characters (what `import::read::full_name` reads back).
fn short_name(name: &str) -> &str {
    &name[..name.len().min(10)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_would_be_a_formula_is_quoted_and_numbers_are_not() {
        let cell = |v: Value| csv_cell(&v);
        assert_eq!(
            cell(json!("=HYPERLINK(\"http://evil.example/\",\"click\")")),
            "'=HYPERLINK(\"http://evil.example/\",\"click\")"
        );
        for formula in ["+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1"] {
            assert_eq!(cell(json!(formula)), format!("'{formula}"));
        }
        assert_eq!(cell(json!("青山村")), "青山村");
        assert_eq!(cell(json!("a=b")), "a=b");
        assert_eq!(cell(json!(-12.5)), "-12.5");
        assert_eq!(cell(json!(-3)), "-3");
        assert_eq!(cell(Value::Null), "");
    }
}
