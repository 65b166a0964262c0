//! Checking a polygon that arrives as GeoJSON (lon/lat, EPSG:4326), with messages that say what is wrong
//! and where — the same for the JSON API and for file imports.
//!
//! Everything here is linear in the positions and bounded by [`MAX_POSITIONS`]. Validity (no
//! self-intersection, holes inside the shell …) is left to the database (`polygon_fault` in migrations/0100_reference.sql):
//! GEOS decides it in O(n log n) off the service's threads, by the very rules the columns' checks apply.
//! (geo's `Validation` compares every edge of a ring with every other: a 40,000-vertex polygon took 22 s
//! of a request handler's thread.)

use geo::{BoundingRect, Coord, LineString, Polygon};

use crate::domain::FieldError;

/// The most positions a polygon may have, in all its rings together (each ring's closing position
/// counted). A surveyed house footprint has tens and a parcel hundreds; a polygon beyond this is not a
/// survey but a load on the service, and is refused before any work on it.
pub const MAX_POSITIONS: usize = 5_000;
/// The most holes (inner rings) a polygon may have; a parcel rarely has more than a few.
pub const MAX_HOLES: usize = 100;

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

/// Refuses a (Multi)Polygon with more than [`MAX_POSITIONS`] positions or [`MAX_HOLES`] holes in a part,
/// counting only: call it right after parsing, before reprojecting or building geometries. Other kinds of
/// geometry pass (the checks that follow name them). Errors name `field`.
pub fn within_caps(value: &geojson::Value, field: &str) -> Result<(), Vec<FieldError>> {
    let parts: &[Vec<Vec<Vec<f64>>>] = match value {
        geojson::Value::Polygon(rings) => std::slice::from_ref(rings),
        geojson::Value::MultiPolygon(parts) => parts,
        _ => return Ok(()),
    };
    let positions: usize = parts.iter().flatten().map(Vec::len).sum();
    if positions > MAX_POSITIONS {
        return Err(vec![FieldError::new(
            field,
            format!(
                "has {positions} positions; at most {MAX_POSITIONS} positions are accepted per polygon (all its rings together)"
            ),
        )]);
    }
    let holes = parts.iter().map(|rings| rings.len().saturating_sub(1)).max().unwrap_or(0);
    if holes > MAX_HOLES {
        return Err(vec![FieldError::new(
            field,
            format!("has {holes} holes; at most {MAX_HOLES} holes are accepted per polygon"),
        )]);
    }
    Ok(())
}

/// Reads `geometry` as one polygon: a GeoJSON Polygon, or a MultiPolygon of exactly one part. Checks
/// the caps ([`within_caps`]) first, then that positions are finite lon/lat, rings closed with at least
/// four positions and, when `extent` is given, that it lies within it. Errors name `field`. Whether the
/// polygon is valid is the database's to say (see the module's comment).
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
    within_caps(&geometry.value, field)?;
    let Some((outer, holes)) = rings.split_first().filter(|(outer, _)| !outer.is_empty()) else {
        return Err(err("is empty: a polygon needs an outer ring".into()));
    };
    let exterior = ring_of(outer, "the outer ring").map_err(err)?;
    let interiors = holes
        .iter()
        .enumerate()
        .map(|(i, ring)| ring_of(ring, &format!("hole {}", i + 1)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(err)?;
    let polygon = Polygon::new(exterior, interiors);
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

    /// A ring of `n` positions (closing one included) around (120.9, 30.0).
    fn circle(n: usize, r: f64) -> Vec<Vec<f64>> {
        let mut ring: Vec<Vec<f64>> = (0..n - 1)
            .map(|k| {
                let a = std::f64::consts::TAU * k as f64 / (n - 1) as f64;
                vec![120.9 + r * a.cos(), 30.0 + r * a.sin()]
            })
            .collect();
        ring.push(ring[0].clone());
        ring
    }

    #[test]
    fn positions_and_holes_are_capped_before_anything_else() {
        let at_cap = geojson::Value::Polygon(vec![circle(MAX_POSITIONS, 1e-4)]);
        assert!(within_caps(&at_cap, "geometry").is_ok());
        let over = geojson::Value::Polygon(vec![circle(MAX_POSITIONS - 3, 1e-4), circle(4, 1e-6)]);
        let e = within_caps(&over, "features[3].geometry").unwrap_err();
        assert_eq!(e[0].field, "features[3].geometry");
        assert!(e[0].message.contains("5001 positions"), "{}", e[0].message);
        let holey = geojson::Value::Polygon(vec![circle(8, 1e-4); MAX_HOLES + 2]);
        assert!(within_caps(&holey, "geometry").unwrap_err()[0].message.contains("101 holes"));
        // Parts count together: a MultiPolygon cannot spread the load over many parts.
        let parts = geojson::Value::MultiPolygon(vec![vec![circle(2_600, 1e-4)], vec![circle(2_600, 1e-4)]]);
        assert!(within_caps(&parts, "geometry").is_err());
        // The cap comes first: an oversized ring of projected numbers is refused for its size.
        let big = format!(r#"{{"type":"Polygon","coordinates":[{}]}}"#, serde_json::json!(circle(6_000, 1000.0)));
        assert!(message(&big).contains("6000 positions"), "{}", message(&big));
    }
}
