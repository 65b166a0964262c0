//! Reprojection with PROJ (the `proj` crate over the system libproj): survey coordinates to the lon/lat
//! the registry stores (EPSG:4326). The crate normalises axis order, so positions are always
//! (easting, northing) or (longitude, latitude), whatever the EPSG definition says.
//!
//! A `Proj` is not `Send`: make a [`ToLonLat`] where it is used (inside `spawn_blocking` on the server).

use anyhow::{Context, Result};

use super::crs::Crs;

/// Converts positions of one CRS to EPSG:4326 lon/lat.
pub struct ToLonLat {
    from: Crs,
    proj: Option<proj::Proj>,
}

impl ToLonLat {
    pub fn new(from: Crs) -> Result<Self> {
        let proj = match from {
            Crs::Wgs84 => None,
            _ => Some(
                proj::Proj::new_known_crs(&from.to_string(), "EPSG:4326", None)
                    .with_context(|| format!("PROJ cannot transform {from} to EPSG:4326"))?,
            ),
        };
        Ok(Self { from, proj })
    }

    pub fn from(&self) -> Crs {
        self.from
    }

    /// The lon/lat of position (x, y) of the source CRS.
    pub fn convert(&self, x: f64, y: f64) -> Result<(f64, f64), String> {
        match &self.proj {
            None => Ok((x, y)),
            Some(p) => {
                p.convert((x, y)).map_err(|e| format!("PROJ cannot transform ({x}, {y}) from {}: {e}", self.from))
            }
        }
    }
}

/// Converts EPSG:4326 lon/lat to one CRS (for exports).
pub struct FromLonLat {
    proj: Option<proj::Proj>,
}

impl FromLonLat {
    pub fn new(to: Crs) -> Result<Self> {
        let proj = match to {
            Crs::Wgs84 => None,
            _ => Some(
                proj::Proj::new_known_crs("EPSG:4326", &to.to_string(), None)
                    .with_context(|| format!("PROJ cannot transform EPSG:4326 to {to}"))?,
            ),
        };
        Ok(Self { proj })
    }

    pub fn convert(&self, lon: f64, lat: f64) -> Result<(f64, f64), String> {
        match &self.proj {
            None => Ok((lon, lat)),
            Some(p) => p.convert((lon, lat)).map_err(|e| format!("PROJ cannot transform ({lon}, {lat}): {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_survey_point_lands_where_postgis_puts_it() {
        // TOOLCHAIN.md: ST_Transform(ST_SetSRID(ST_MakePoint(587000, 3325000), 4549), 4326).
        let (lon, lat) = ToLonLat::new(Crs::Cgcs2000Gk120).unwrap().convert(587_000.0, 3_325_000.0).unwrap();
        assert!((lon - 120.902034807533).abs() < 1e-9 && (lat - 30.040988950452046).abs() < 1e-9, "{lon} {lat}");
        let (lon40, lat40) = ToLonLat::new(Crs::Cgcs2000GkZone40).unwrap().convert(40_587_000.0, 3_325_000.0).unwrap();
        assert!((lon40 - lon).abs() < 1e-12 && (lat40 - lat).abs() < 1e-12);
        let (x, y) = FromLonLat::new(Crs::Cgcs2000Gk120).unwrap().convert(lon, lat).unwrap();
        assert!((x - 587_000.0).abs() < 1e-6 && (y - 3_325_000.0).abs() < 1e-6);
    }
}
