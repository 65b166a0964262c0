//! Reprojection with PROJ (the `proj` crate over the system libproj): survey coordinates to the lon/lat
//! the registry stores (EPSG:4326). The crate normalises axis order, so positions are always
//! (easting, northing) or (longitude, latitude), whatever the EPSG definition says.
//!
//! A `Proj` is not `Send`: make a [`Transform`] where it is used (inside `spawn_blocking` on the server).

use anyhow::{Context, Result};

use super::crs::Crs;

/// Converts positions from one CRS to another (survey files to EPSG:4326 lon/lat).
pub struct Transform {
    from: Crs,
    proj: Option<proj::Proj>,
}

impl Transform {
    pub fn new(from: Crs, to: Crs) -> Result<Self> {
        let proj = if from == to {
            None
        } else {
            Some(
                proj::Proj::new_known_crs(&from.to_string(), &to.to_string(), None)
                    .with_context(|| format!("PROJ cannot transform {from} to {to}"))?,
            )
        };
        Ok(Self { from, proj })
    }

    /// From `from` to EPSG:4326 lon/lat, what the registry stores.
    pub fn to_lonlat(from: Crs) -> Result<Self> {
        Self::new(from, Crs::Wgs84)
    }

    pub fn from(&self) -> Crs {
        self.from
    }

    /// Position (x, y) in the target CRS.
    pub fn convert(&self, x: f64, y: f64) -> Result<(f64, f64), String> {
        match &self.proj {
            None => Ok((x, y)),
            Some(p) => {
                p.convert((x, y)).map_err(|e| format!("PROJ cannot transform ({x}, {y}) from {}: {e}", self.from))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_survey_point_lands_where_postgis_puts_it() {
        // TOOLCHAIN.md: ST_Transform(ST_SetSRID(ST_MakePoint(587000, 3325000), 4549), 4326).
        let (lon, lat) = Transform::to_lonlat(Crs::Cgcs2000Gk120).unwrap().convert(587_000.0, 3_325_000.0).unwrap();
        assert!((lon - 120.902034807533).abs() < 1e-9 && (lat - 30.040988950452046).abs() < 1e-9, "{lon} {lat}");
        let (lon40, lat40) =
            Transform::to_lonlat(Crs::Cgcs2000GkZone40).unwrap().convert(40_587_000.0, 3_325_000.0).unwrap();
        assert!((lon40 - lon).abs() < 1e-12 && (lat40 - lat).abs() < 1e-12);
        let (x, y) = Transform::new(Crs::Wgs84, Crs::Cgcs2000Gk120).unwrap().convert(lon, lat).unwrap();
        assert!((x - 587_000.0).abs() < 1e-6 && (y - 3_325_000.0).abs() < 1e-6);
    }

    #[test]
    fn cgcs2000_lonlat_is_wgs84_lonlat_here_to_the_centimetre() {
        let (lon, lat) = Transform::to_lonlat(Crs::Cgcs2000).unwrap().convert(120.9, 30.0).unwrap();
        assert!((lon - 120.9).abs() < 1e-7 && (lat - 30.0).abs() < 1e-7, "{lon} {lat}");
    }
}
