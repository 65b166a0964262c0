//! Checking a polygon that arrives as GeoJSON (lon/lat, EPSG:4326), with messages that say what is wrong
//! and where — the same for the JSON API and for file imports.

use geo::{Area, BoundingRect, Coord, LineString, Polygon, Validation};

use crate::domain::FieldError;

/// Longitude/latitude bounds (EPSG:4326) of a district, checked before the exact outline test in the
/// database so a misplaced file gets a plain answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Extent {
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

impl Extent {
    pub fn contains(&self, r: &geo::Rect<f64>) -> bool {
        r.min().x >= self.min_lon && r.max().x <= self.max_lon && r.min().y >= self.min_lat && r.max().y <= self.max_lat
    }
}

/// Reads `geometry` as one polygon: a GeoJSON Polygon, or a MultiPolygon of exactly one part. Checks
/// that positions are finite lon/lat, rings closed with at least four positions, the polygon valid
/// (OGC simple-features rules: no self-intersection, holes inside the shell …) with a non-zero area, and,
/// when `extent` is given, that it lies within it. Errors name `field`.
pub fn polygon(
    geometry: &geojson::Geometry,
    field: &str,
    extent: Option<&Extent>,
) -> Result<Polygon<f64>, Vec<FieldError>> {
    let err = |m: String| vec![FieldError::new(field, m)];
    let rings = match &geometry.value {
        geojson::Value::Polygon(rings) => rings,
        geojson::Value::MultiPolygon(parts) if parts.len() == 1 => &parts[0],
        geojson::Value::MultiPolygon(parts) => {
            return Err(err(format!("must be one polygon; this MultiPolygon has {} parts", parts.len())));
        }
        other => return Err(err(format!("must be a Polygon, not a {}", other.type_name()))),
    };
    if rings.is_empty() || rings[0].is_empty() {
        return Err(err("is empty: a polygon needs an outer ring".into()));
    }
    let mut checked = Vec::with_capacity(rings.len());
    for (i, ring) in rings.iter().enumerate() {
        let which = if i == 0 { "the outer ring".to_string() } else { format!("hole {i}") };
        checked.push(ring_of(ring, &which).map_err(err)?);
    }
    let mut rings = checked.into_iter();
    let polygon = Polygon::new(rings.next().expect("an outer ring"), rings.collect());
    if let Err(e) = polygon.check_validation() {
        return Err(err(format!("is not a valid polygon: {e}")));
    }
    if polygon.unsigned_area() <= 0.0 {
        return Err(err("has no area".into()));
    }
    if let (Some(extent), Some(rect)) = (extent, polygon.bounding_rect())
        && !extent.contains(&rect)
    {
        return Err(err(format!(
            "lies outside the district (longitude {:.3}..{:.3}, latitude {:.3}..{:.3})",
            extent.min_lon, extent.max_lon, extent.min_lat, extent.max_lat
        )));
    }
    Ok(polygon)
}

fn ring_of(positions: &[Vec<f64>], which: &str) -> Result<LineString<f64>, String> {
    let mut coords = Vec::with_capacity(positions.len());
    for (i, p) in positions.iter().enumerate() {
        // A height is refused, not dropped: the registry is 2D, and a file's heights lost without a word
        // would be a silent change of what the clerk sent.
        let [x, y] = match p.as_slice() {
            [x, y] => [*x, *y],
            _ => {
                return Err(format!(
                    "position {i} of {which} has {} numbers; a position is [longitude, latitude], without a height",
                    p.len()
                ));
            }
        };
        if !x.is_finite() || !y.is_finite() {
            return Err(format!("position {i} of {which} is not a finite number pair"));
        }
        if !(-180.0..=180.0).contains(&x) || !(-90.0..=90.0).contains(&y) {
            return Err(format!(
                "position {i} of {which} ({x}, {y}) is not longitude/latitude (EPSG:4326); \
                 projected coordinates must be imported with their CRS"
            ));
        }
        coords.push(Coord { x, y });
    }
    if coords.len() < 4 {
        return Err(format!("{which} has {} positions; a ring needs at least 4", coords.len()));
    }
    if coords.first() != coords.last() {
        return Err(format!("{which} is not closed: its last position must repeat its first"));
    }
    Ok(LineString::new(coords))
}

/// `polygon` as a GeoJSON geometry, for the database (`ST_GeomFromGeoJSON`).
pub fn to_geojson(polygon: &Polygon<f64>) -> String {
    geojson::Geometry::new(geojson::Value::from(polygon)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Result<Polygon<f64>, Vec<FieldError>> {
        let g: geojson::Geometry = json.parse().unwrap();
        polygon(&g, "geometry", Some(&Extent { min_lon: 120.6, min_lat: 29.7, max_lon: 121.2, max_lat: 30.3 }))
    }

    fn message(json: &str) -> String {
        read(json).unwrap_err()[0].message.clone()
    }

    #[test]
    fn a_plain_square_is_accepted() {
        let p = read(
            r#"{"type":"Polygon","coordinates":[[[120.9,30],[120.901,30],[120.901,30.001],[120.9,30.001],[120.9,30]]]}"#,
        );
        assert!(p.is_ok());
    }

    #[test]
    fn broken_polygons_are_refused_with_the_reason() {
        assert!(message(r#"{"type":"Point","coordinates":[120.9,30]}"#).contains("must be a Polygon"));
        assert!(message(r#"{"type":"Polygon","coordinates":[]}"#).contains("empty"));
        assert!(
            message(r#"{"type":"Polygon","coordinates":[[[120.9,30],[120.901,30],[120.9,30]]]}"#)
                .contains("at least 4")
        );
        assert!(
            message(r#"{"type":"Polygon","coordinates":[[[120.9,30],[120.901,30],[120.901,30.001],[120.9,30.001]]]}"#)
                .contains("not closed")
        );
        let bowtie = r#"{"type":"Polygon","coordinates":[[[120.9,30],[120.901,30.001],[120.901,30],[120.9,30.001],[120.9,30]]]}"#;
        assert!(message(bowtie).contains("not a valid polygon"), "{}", message(bowtie));
        assert!(
            message(r#"{"type":"Polygon","coordinates":[[[587000,3325000],[587010,3325000],[587010,3325010],[587000,3325000]]]}"#)
                .contains("not longitude/latitude")
        );
        assert!(
            message(
                r#"{"type":"Polygon","coordinates":[[[116.4,39.9],[116.401,39.9],[116.401,39.901],[116.4,39.9]]]}"#
            )
            .contains("outside the district")
        );
    }
}
