//! OGC API – Features Part 2 (CRS by reference): the coordinate systems items may be asked in (`crs`) and
//! a `bbox` may be given in (`bbox-crs`), docs/DESIGN.md §3.1.
//!
//! Geometries are stored in EPSG:4326 longitude/latitude; PostGIS transforms them on the way out
//! (`ST_Transform`, which always hands back easting/longitude first) and `ST_FlipCoordinates` puts them in
//! the axis order the CRS defines: EPSG:4326 and 4490 latitude, longitude; EPSG:4549 and 4528 northing,
//! easting; EPSG:3857 easting, northing; CRS84 longitude, latitude. The survey systems are those of
//! [`Crs`]; Web Mercator is the map's own, whose copy of every geometry is already stored.

use sqlx::{Postgres, QueryBuilder};

use super::layers::Source;
use crate::geo::crs::Crs;

/// The URI of OGC's CRS84: WGS 84 longitude/latitude, what GeoJSON speaks and what is served by default.
pub const CRS84_URI: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

/// A coordinate system features can be served in, or a `bbox` read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputCrs {
    /// WGS 84 longitude, latitude: the default.
    #[default]
    Crs84,
    /// A survey system (EPSG:4549, 4528, 4490, 4326), axes in the order EPSG gives them.
    Survey(Crs),
    /// EPSG:3857, easting, northing in metres.
    WebMercator,
}

impl OutputCrs {
    /// Every CRS offered, in the order collections list them.
    pub const ALL: [OutputCrs; 6] = [
        OutputCrs::Crs84,
        OutputCrs::Survey(Crs::Cgcs2000),
        OutputCrs::Survey(Crs::Cgcs2000Gk120),
        OutputCrs::Survey(Crs::Cgcs2000GkZone40),
        OutputCrs::Survey(Crs::Wgs84),
        OutputCrs::WebMercator,
    ];

    /// The SRID PostGIS knows it by (`spatial_ref_sys`).
    pub fn srid(self) -> i32 {
        match self {
            OutputCrs::Crs84 => 4326,
            OutputCrs::Survey(crs) => crs.epsg() as i32,
            OutputCrs::WebMercator => 3857,
        }
    }

    /// Its URI, as OGC API – Features names CRSs.
    pub fn uri(self) -> String {
        match self {
            OutputCrs::Crs84 => CRS84_URI.to_string(),
            other => format!("http://www.opengis.net/def/crs/EPSG/0/{}", other.srid()),
        }
    }

    /// The URIs of every CRS offered.
    pub fn uris() -> Vec<String> {
        Self::ALL.iter().map(|c| c.uri()).collect()
    }

    /// Reads a CRS URI (`http://www.opengis.net/def/crs/EPSG/0/4549`, the CRS84 URI), or the same as an
    /// OGC URN or `EPSG:4549`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let upper = text.trim().to_ascii_uppercase();
        let crs84 = ["HTTP://WWW.OPENGIS.NET/DEF/CRS/OGC/1.3/CRS84", "URN:OGC:DEF:CRS:OGC:1.3:CRS84", "OGC:CRS84"];
        if crs84.contains(&upper.as_str()) {
            return Ok(OutputCrs::Crs84);
        }
        let code = upper
            .strip_prefix("HTTP://WWW.OPENGIS.NET/DEF/CRS/EPSG/0/")
            .or_else(|| upper.strip_prefix("URN:OGC:DEF:CRS:EPSG::"))
            .or_else(|| upper.strip_prefix("EPSG:"))
            .and_then(|code| code.parse::<u32>().ok());
        let found = match code {
            Some(3857) => Some(OutputCrs::WebMercator),
            Some(code) => Crs::from_epsg(code).map(OutputCrs::Survey),
            None => None,
        };
        found.ok_or_else(|| format!("{text:?} is not a CRS offered here; the CRSs are {}", Self::uris().join(", ")))
    }

    /// Whether its first axis is latitude or northing (the stored order flipped).
    pub fn flipped(self) -> bool {
        matches!(self, OutputCrs::Survey(_))
    }

    /// Whether its coordinates are degrees (else metres).
    pub fn in_degrees(self) -> bool {
        match self {
            OutputCrs::Crs84 => true,
            OutputCrs::Survey(crs) => !crs.is_projected(),
            OutputCrs::WebMercator => false,
        }
    }

    /// Decimals written: millimetres in metres; 9 in degrees (about 0.1 mm), except CRS84, which keeps the 7
    /// (about 1 cm) it has always been served with.
    pub fn decimals(self) -> i32 {
        match self {
            OutputCrs::Crs84 => 7,
            _ if self.in_degrees() => 9,
            _ => 3,
        }
    }

    /// The SQL of a feature's geometry of `source` in this CRS as GeoJSON text (no `crs` member).
    pub fn geometry_sql(self, source: &Source) -> String {
        let g = source.geom_4326;
        let digits = self.decimals();
        match self {
            OutputCrs::Crs84 => format!("st_asgeojson({g}, {digits})"),
            OutputCrs::WebMercator => format!("st_asgeojson({}, {digits}, 0)", source.geom_3857),
            OutputCrs::Survey(crs) => {
                format!("st_asgeojson(st_flipcoordinates(st_transform({g}, {})), {digits}, 0)", crs.epsg())
            }
        }
    }

    /// Reads `bbox` given in this CRS (not CRS84, which [`crate::http`] reads as Part 1 does): four numbers
    /// in the CRS's axis order, lower corner first. Returned as given.
    pub fn read_bbox(self, text: &str) -> Result<[f64; 4], String> {
        let numbers: Vec<f64> = text
            .split(',')
            .map(|v| v.trim().parse::<f64>().ok().filter(|n| n.is_finite()))
            .collect::<Option<_>>()
            .ok_or_else(|| format!("must be four numbers in {}, not {text:?}", self.uri()))?;
        let [a, b, c, d] = numbers[..] else {
            return Err(format!("must be four numbers (lower corner, upper corner in {}), not {text:?}", self.uri()));
        };
        if a > c || b > d {
            return Err(format!("the lower corner ({a}, {b}) must not lie past the upper one ({c}, {d})"));
        }
        if self.in_degrees() {
            // Latitude first in every degree CRS but CRS84.
            let (lat, lon) = if self.flipped() { ([a, c], [b, d]) } else { ([b, d], [a, c]) };
            if lat.iter().any(|v| v.abs() > 90.0) || lon.iter().any(|v| v.abs() > 180.0) {
                return Err(format!("latitudes lie within −90..90 and longitudes within −180..180 in {}", self.uri()));
            }
        }
        Ok([a, b, c, d])
    }

    /// Pushes the EPSG:4326 polygon a `bbox` read in this CRS covers: the box itself for CRS84, else the box
    /// in this CRS (easting first), its edges divided into 32 so their course survives the transform.
    pub fn push_envelope(self, b: &mut QueryBuilder<'_, Postgres>, bbox: [f64; 4]) {
        let [x0, y0, x1, y1] = if self.flipped() { [bbox[1], bbox[0], bbox[3], bbox[2]] } else { bbox };
        let corners = |b: &mut QueryBuilder<'_, Postgres>, srid: i32| {
            b.push("st_makeenvelope(");
            let mut values = b.separated(", ");
            for v in [x0, y0, x1, y1] {
                values.push_bind(v);
            }
            values.push_unseparated(format!(", {srid})"));
        };
        if self == OutputCrs::Crs84 {
            corners(b, 4326);
            return;
        }
        let step = (x1 - x0).max(y1 - y0) / 32.0;
        b.push("st_transform(");
        if step > 0.0 {
            b.push("st_segmentize(");
            corners(b, self.srid());
            b.push(", ").push_bind(step).push(")");
        } else {
            corners(b, self.srid());
        }
        b.push(", 4326)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_uri_offered_reads_back_as_its_crs() {
        for crs in OutputCrs::ALL {
            assert_eq!(OutputCrs::parse(&crs.uri()), Ok(crs), "{}", crs.uri());
        }
        assert_eq!(OutputCrs::parse("EPSG:4549"), Ok(OutputCrs::Survey(Crs::Cgcs2000Gk120)));
        assert_eq!(OutputCrs::parse("urn:ogc:def:crs:OGC:1.3:CRS84"), Ok(OutputCrs::Crs84));
        assert_eq!(OutputCrs::parse("http://www.opengis.net/def/crs/EPSG/0/4326"), Ok(OutputCrs::Survey(Crs::Wgs84)));
        for bad in ["http://www.opengis.net/def/crs/EPSG/0/2385", "4549", "CRS84x", "", "EPSG:abc"] {
            assert!(OutputCrs::parse(bad).unwrap_err().contains("not a CRS offered"), "{bad}");
        }
    }

    #[test]
    fn axes_and_decimals_follow_the_crs() {
        assert!(!OutputCrs::Crs84.flipped() && !OutputCrs::WebMercator.flipped());
        assert!(OutputCrs::Survey(Crs::Cgcs2000).flipped() && OutputCrs::Survey(Crs::Cgcs2000Gk120).flipped());
        assert_eq!(OutputCrs::Survey(Crs::Cgcs2000GkZone40).decimals(), 3);
        assert_eq!(OutputCrs::Survey(Crs::Wgs84).decimals(), 9);
        assert_eq!(OutputCrs::WebMercator.decimals(), 3);
    }

    #[test]
    fn a_bbox_is_read_in_the_crs_axis_order() {
        let lat_lon = OutputCrs::Survey(Crs::Wgs84);
        assert_eq!(lat_lon.read_bbox("29.9,120.8,30.1,121"), Ok([29.9, 120.8, 30.1, 121.0]));
        assert!(lat_lon.read_bbox("120.8,29.9,121,30.1").is_err(), "longitude first is out of range");
        let gk = OutputCrs::Survey(Crs::Cgcs2000Gk120);
        assert_eq!(gk.read_bbox("3320000,577000,3321000,578000"), Ok([3_320_000.0, 577_000.0, 3_321_000.0, 578_000.0]));
        for bad in ["1,2,3", "3,2,1,4", "1,2,3,x", "1,2,3,4,5,6", "1,2,3,inf"] {
            assert!(gk.read_bbox(bad).is_err(), "{bad}");
        }
    }
}
