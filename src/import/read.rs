//! Reading survey files into features (properties and a geometry in the file's own coordinates): GeoJSON,
//! ESRI Shapefile (.shp with .dbf and .prj beside it) and CSV with a WKT column. Each reader also returns
//! the CRS the file declares, if it declares one.

use std::io::Cursor;

use serde_json::{Map, Value};
use shapefile::dbase::{self, FieldValue};

use super::{Format, Refused, Source};
use crate::geo::crs::Crs;

/// One feature as read, before any check.
#[derive(Debug, Clone)]
pub struct RawFeature {
    pub index: usize,
    pub properties: Map<String, Value>,
    /// The geometry, `None` when the feature has none, or why it could not be read.
    pub geometry: Result<Option<geojson::Value>, String>,
}

/// What a file holds: its features and the CRS it declares.
pub struct Read {
    pub declared: Option<Crs>,
    pub features: Vec<RawFeature>,
}

pub fn read(source: &Source) -> Result<Read, Refused> {
    match source.format {
        Format::GeoJson => geojson_file(&source.main),
        Format::Csv => csv_file(&source.main),
        Format::Shapefile => shapefile(source),
    }
}

fn geojson_file(bytes: &[u8]) -> Result<Read, Refused> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| Refused::new("file", format!("is not JSON: {e}")))?;
    let declared = match doc.get("crs") {
        None | Some(Value::Null) => None,
        Some(crs) => {
            let name = crs.pointer("/properties/name").and_then(Value::as_str).ok_or_else(|| {
                Refused::new("crs", "the crs member must be {\"type\":\"name\",\"properties\":{\"name\":\"EPSG:…\"}}")
            })?;
            Some(Crs::parse(name).map_err(|m| Refused::new("crs", m))?)
        }
    };
    let collection: geojson::FeatureCollection = serde_json::from_value(doc)
        .map_err(|e| Refused::new("file", format!("is not a GeoJSON FeatureCollection: {e}")))?;
    let features = collection
        .features
        .into_iter()
        .enumerate()
        .map(|(index, f)| {
            let mut properties = f.properties.unwrap_or_default();
            if let Some(geojson::feature::Id::String(id)) = &f.id {
                properties.entry("id").or_insert_with(|| Value::String(id.clone()));
            }
            RawFeature { index, properties, geometry: Ok(f.geometry.map(|g| g.value)) }
        })
        .collect();
    Ok(Read { declared, features })
}

/// The names a geometry column of a CSV file may have.
const WKT_COLUMNS: [&str; 4] = ["wkt", "geometry", "geom", "the_geom"];

fn csv_file(bytes: &[u8]) -> Result<Read, Refused> {
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(text);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| Refused::new("file", format!("is not CSV: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let geometry_column = headers
        .iter()
        .position(|h| WKT_COLUMNS.contains(&h.to_ascii_lowercase().as_str()))
        .ok_or_else(|| Refused::new("file", "a CSV file needs a WKT geometry column named wkt, geometry or geom"))?;
    let mut features = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|e| Refused::new("file", format!("CSV record {}: {e}", index + 1)))?;
        let mut properties = Map::new();
        let mut geometry = None;
        for (k, value) in record.iter().enumerate() {
            if k == geometry_column {
                geometry = Some(value.to_string());
            } else if !value.trim().is_empty() {
                properties.insert(headers[k].clone(), Value::String(value.trim().to_string()));
            }
        }
        let geometry = match geometry.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => wkt_geometry(text).map(Some),
        };
        features.push(RawFeature { index, properties, geometry });
    }
    Ok(Read { declared: None, features })
}

/// A WKT (Multi)Polygon as a GeoJSON geometry value.
fn wkt_geometry(text: &str) -> Result<geojson::Value, String> {
    use std::str::FromStr;
    let parsed = wkt::Wkt::<f64>::from_str(text).map_err(|e| format!("is not WKT: {e}"))?;
    // Heights are kept, for the polygon check to refuse (measures, M, are no coordinate).
    let position = |c: &wkt::types::Coord<f64>| c.z.map_or_else(|| vec![c.x, c.y], |z| vec![c.x, c.y, z]);
    let ring = |l: &wkt::types::LineString<f64>| -> Vec<Vec<f64>> { l.coords().iter().map(position).collect() };
    let polygon = |p: &wkt::types::Polygon<f64>| -> Vec<Vec<Vec<f64>>> { p.rings().iter().map(ring).collect() };
    match parsed {
        wkt::Wkt::Polygon(p) => Ok(geojson::Value::Polygon(polygon(&p))),
        wkt::Wkt::MultiPolygon(m) => Ok(geojson::Value::MultiPolygon(m.polygons().iter().map(polygon).collect())),
        other => Err(format!("must be a POLYGON, not {}", other.to_string().split('(').next().unwrap_or("").trim())),
    }
}

fn shapefile(source: &Source) -> Result<Read, Refused> {
    let dbf = source.dbf.as_ref().ok_or_else(|| Refused::new("file", "a shapefile needs its .dbf beside the .shp"))?;
    let declared = match &source.prj {
        None => None,
        Some(prj) => Some(Crs::from_prj(&String::from_utf8_lossy(prj)).map_err(|m| Refused::new("crs", m))?),
    };
    let shapes = shapefile::ShapeReader::new(Cursor::new(source.main.as_slice()))
        .map_err(|e| Refused::new("file", format!("is not a shapefile: {e}")))?;
    let utf8 = source.cpg.as_ref().is_none_or(|c| {
        let c = String::from_utf8_lossy(c).trim().to_ascii_uppercase();
        c == "UTF-8" || c == "UTF8" || c == "65001"
    });
    let builder = dbase::ReaderBuilder::new();
    let builder = if utf8 { builder.with_encoding(dbase::encoding::UnicodeLossy) } else { builder };
    let table = builder
        .build(Cursor::new(dbf.as_slice()))
        .map_err(|e| Refused::new("file", format!("the .dbf cannot be read: {e}")))?;
    let mut reader = shapefile::Reader::new(shapes, table);
    let mut features = Vec::new();
    for (index, item) in reader.iter_shapes_and_records().enumerate() {
        let (shape, record) = item.map_err(|e| Refused::new("file", format!("shape {index} cannot be read: {e}")))?;
        let mut properties = Map::new();
        for (name, value) in record {
            let value = match value {
                FieldValue::Character(Some(s)) if !s.trim().is_empty() => Value::String(s.trim().to_string()),
                FieldValue::Numeric(Some(n)) | FieldValue::Double(n) | FieldValue::Currency(n) => number(n),
                FieldValue::Float(Some(n)) => number(f64::from(n)),
                FieldValue::Integer(n) => Value::from(n),
                _ => continue,
            };
            properties.insert(full_name(&name).to_string(), value);
        }
        let geometry = match shape {
            shapefile::Shape::Polygon(p) => Ok(Some(shape_polygon(&p, |pt| vec![pt.x, pt.y]))),
            // Heights are kept, for the polygon check to refuse (measures, M, are no coordinate).
            shapefile::Shape::PolygonZ(p) => Ok(Some(shape_polygon(&p, |pt| vec![pt.x, pt.y, pt.z]))),
            shapefile::Shape::PolygonM(p) => Ok(Some(shape_polygon(&p, |pt| vec![pt.x, pt.y]))),
            shapefile::Shape::NullShape => Ok(None),
            other => Err(format!("must be a polygon, not a {} shape", other.shapetype())),
        };
        features.push(RawFeature { index, properties, geometry });
    }
    Ok(Read { declared, features })
}

fn number(n: f64) -> Value {
    serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
}

/// dBase field names have at most 10 characters: the truncated names of our properties.
pub fn full_name(dbf_name: &str) -> &str {
    match dbf_name {
        "parcel_cod" => "parcel_code",
        "unit_numbe" => "unit_number",
        "floor_area" => "floor_area_m2",
        "township_c" => "township_code",
        other => other,
    }
}

/// A shapefile polygon (outer rings clockwise, holes counter-clockwise, in any order) as GeoJSON: each
/// outer ring starts a polygon and the holes that follow belong to it. `position` gives a point's numbers.
fn shape_polygon<P: Copy>(
    p: &shapefile::record::polygon::GenericPolygon<P>,
    position: impl Fn(&P) -> Vec<f64>,
) -> geojson::Value {
    let mut polygons: Vec<Vec<Vec<Vec<f64>>>> = Vec::new();
    for ring in p.rings() {
        let positions: Vec<Vec<f64>> = ring.points().iter().map(&position).collect();
        match ring {
            shapefile::PolygonRing::Outer(_) => polygons.push(vec![positions]),
            shapefile::PolygonRing::Inner(_) => match polygons.last_mut() {
                Some(last) => last.push(positions),
                None => polygons.push(vec![positions]),
            },
        }
    }
    if polygons.len() == 1 {
        geojson::Value::Polygon(polygons.remove(0))
    } else {
        geojson::Value::MultiPolygon(polygons)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_become_features_with_their_wkt_geometry() {
        let csv = "parcel_code,village,wkt\n330604001001JC00001,青山村,\"POLYGON((1 2,3 2,3 4,1 2))\"\n";
        let read = csv_file(csv.as_bytes()).unwrap();
        assert_eq!(read.features.len(), 1);
        assert_eq!(read.features[0].properties["village"], "青山村");
        assert!(matches!(read.features[0].geometry, Ok(Some(geojson::Value::Polygon(_)))));
        let points = csv_file(b"parcel_code,wkt\nx,POINT(1 2)\n").unwrap();
        assert_eq!(points.features[0].geometry, Err("must be a POLYGON, not POINT".into()));
    }

    #[test]
    fn a_geojson_crs_member_is_read() {
        let json = r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4528"}},"features":[]}"#;
        assert_eq!(geojson_file(json.as_bytes()).unwrap().declared, Some(Crs::Cgcs2000GkZone40));
        let plain = r#"{"type":"FeatureCollection","features":[]}"#;
        assert_eq!(geojson_file(plain.as_bytes()).unwrap().declared, None);
    }
}
