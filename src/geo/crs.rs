//! The coordinate reference systems survey files may use (docs/DESIGN.md §3), and how a file declares one:
//! a GeoJSON `crs` member, a shapefile's `.prj`, or a flag. Nothing is guessed: a declaration that does not
//! match one of the four exactly is refused with what did not match.

use std::fmt;

/// A supported CRS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Crs {
    /// CGCS2000 / 3-degree Gauss–Kruger CM 120E: metres, false easting 500 000. Official areas are plane
    /// areas here.
    Cgcs2000Gk120,
    /// CGCS2000 / 3-degree Gauss–Kruger zone 40: the same projection with the zone number before the
    /// easting (false easting 40 500 000).
    Cgcs2000GkZone40,
    /// CGCS2000 longitude/latitude.
    Cgcs2000,
    /// WGS 84 longitude/latitude: what the registry stores.
    Wgs84,
}

impl Crs {
    pub const ALL: [Crs; 4] = [Crs::Cgcs2000Gk120, Crs::Cgcs2000GkZone40, Crs::Cgcs2000, Crs::Wgs84];

    pub fn epsg(self) -> u32 {
        match self {
            Crs::Cgcs2000Gk120 => 4549,
            Crs::Cgcs2000GkZone40 => 4528,
            Crs::Cgcs2000 => 4490,
            Crs::Wgs84 => 4326,
        }
    }

    pub fn from_epsg(code: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.epsg() == code)
    }

    pub fn is_projected(self) -> bool {
        matches!(self, Crs::Cgcs2000Gk120 | Crs::Cgcs2000GkZone40)
    }

    /// The false easting of a projected CRS.
    pub fn false_easting(self) -> f64 {
        match self {
            Crs::Cgcs2000Gk120 => 500_000.0,
            Crs::Cgcs2000GkZone40 => 40_500_000.0,
            _ => 0.0,
        }
    }

    /// Reads `EPSG:4549`, `4549`, `urn:ogc:def:crs:EPSG::4549`, `http://www.opengis.net/def/crs/EPSG/0/4549`,
    /// and `urn:ogc:def:crs:OGC:1.3:CRS84` / `CRS84` (WGS 84 lon/lat).
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let upper = t.to_ascii_uppercase();
        if upper.ends_with("CRS84") {
            return Ok(Crs::Wgs84);
        }
        let code = if let Some(rest) = upper.strip_prefix("EPSG:") {
            rest
        } else if let Some(rest) = upper.strip_prefix("URN:OGC:DEF:CRS:EPSG:") {
            // urn:ogc:def:crs:EPSG::4549 or urn:ogc:def:crs:EPSG:9.1:4549
            rest.rsplit(':').next().unwrap_or("")
        } else if upper.starts_with("HTTP://WWW.OPENGIS.NET/DEF/CRS/EPSG/") {
            upper.rsplit('/').next().unwrap_or("")
        } else {
            upper.as_str()
        };
        let code: u32 = code
            .parse()
            .map_err(|_| format!("{t:?} is not a CRS; give EPSG:4549, EPSG:4528, EPSG:4490 or EPSG:4326"))?;
        Self::from_epsg(code).ok_or_else(|| {
            format!(
                "EPSG:{code} is not supported; survey files must be in EPSG:4549, EPSG:4528, EPSG:4490 or EPSG:4326"
            )
        })
    }

    /// The CRS an ESRI `.prj` (WKT 1, ESRI or OGC flavour) describes, matched by its datum, projection and
    /// parameters. An `AUTHORITY["EPSG", …]` of the whole CRS decides when present.
    pub fn from_prj(wkt: &str) -> Result<Self, String> {
        let w = Wkt(wkt.trim());
        let head = w.keyword();
        if let Some(code) = w.authority() {
            return Self::from_epsg(code).ok_or_else(|| format!("the .prj names EPSG:{code}, which is not supported"));
        }
        let datum = w.quoted_after("DATUM[").unwrap_or_default().to_ascii_lowercase();
        let cgcs = datum.contains("2000") && (datum.contains("china") || datum.contains("cgcs"));
        let wgs = datum.contains("wgs") && datum.contains("84");
        match head.as_str() {
            "GEOGCS" | "GEOGCRS" => match (cgcs, wgs) {
                (true, _) => Ok(Crs::Cgcs2000),
                (_, true) => Ok(Crs::Wgs84),
                _ => Err(format!("the .prj is lon/lat on datum {datum:?}; only CGCS2000 and WGS 84 are supported")),
            },
            "PROJCS" | "PROJCRS" => {
                if !cgcs {
                    return Err(format!(
                        "the .prj is projected on datum {datum:?}; only CGCS2000 projections are supported"
                    ));
                }
                let projection = w.quoted_after("PROJECTION[").unwrap_or_default().to_ascii_lowercase();
                if !(projection.contains("gauss") || projection.contains("transverse_mercator")) {
                    return Err(format!(
                        "the .prj projection {projection:?} is not Gauss–Kruger (transverse Mercator)"
                    ));
                }
                let expect = |name: &str, want: f64| -> Result<(), String> {
                    let got = w.parameter(name).unwrap_or(0.0);
                    if (got - want).abs() > 1e-9 * want.abs().max(1.0) {
                        Err(format!("the .prj has {name} {got}, not {want}: not a supported CRS"))
                    } else {
                        Ok(())
                    }
                };
                expect("central_meridian", 120.0)?;
                expect("scale_factor", 1.0)?;
                expect("latitude_of_origin", 0.0)?;
                expect("false_northing", 0.0)?;
                match w.parameter("false_easting") {
                    Some(500_000.0) => Ok(Crs::Cgcs2000Gk120),
                    Some(40_500_000.0) => Ok(Crs::Cgcs2000GkZone40),
                    other => Err(format!(
                        "the .prj has false easting {}, neither 500000 (EPSG:4549) nor 40500000 (EPSG:4528)",
                        other.map_or_else(|| "(none)".into(), |e| e.to_string())
                    )),
                }
            }
            _ => Err("the .prj is not a WKT coordinate system (PROJCS or GEOGCS)".into()),
        }
    }

    /// The ESRI WKT of this CRS, written as the `.prj` of exported shapefiles.
    pub fn esri_wkt(self) -> String {
        const CGCS2000: &str = r#"GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#;
        const WGS84: &str = r#"GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#;
        let gauss_kruger = |name: &str| {
            format!(
                r#"PROJCS["{name}",{CGCS2000},PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",{:.1}],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",120.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#,
                self.false_easting()
            )
        };
        match self {
            Crs::Cgcs2000Gk120 => gauss_kruger("CGCS2000_3_Degree_GK_CM_120E"),
            Crs::Cgcs2000GkZone40 => gauss_kruger("CGCS2000_3_Degree_GK_Zone_40"),
            Crs::Cgcs2000 => CGCS2000.to_string(),
            Crs::Wgs84 => WGS84.to_string(),
        }
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EPSG:{}", self.epsg())
    }
}

/// Just enough of a WKT 1 reader for `.prj` files.
struct Wkt<'a>(&'a str);

impl Wkt<'_> {
    fn keyword(&self) -> String {
        self.0.split('[').next().unwrap_or("").trim().to_ascii_uppercase()
    }

    /// The first quoted string after `key` (case-insensitive).
    fn quoted_after(&self, key: &str) -> Option<String> {
        let upper = self.0.to_ascii_uppercase();
        let at = upper.find(&key.to_ascii_uppercase())? + key.len();
        let rest = &self.0[at..];
        let start = rest.find('"')? + 1;
        let end = rest[start..].find('"')? + start;
        Some(rest[start..end].to_string())
    }

    /// `PARAMETER["name", value]`, matched case-insensitively.
    fn parameter(&self, name: &str) -> Option<f64> {
        self.0.split("PARAMETER[").skip(1).chain(self.0.split("parameter[").skip(1)).find_map(|p| {
            let (quoted, rest) = p.trim_start().strip_prefix('"')?.split_once('"')?;
            if !quoted.eq_ignore_ascii_case(name) {
                return None;
            }
            let value = rest.trim_start().strip_prefix(',')?.split([']', ',']).next()?.trim();
            value.parse().ok()
        })
    }

    /// The EPSG code of the outermost `AUTHORITY["EPSG", "code"]` (the last one in the text).
    fn authority(&self) -> Option<u32> {
        let upper = self.0.to_ascii_uppercase();
        let at = upper.rfind("AUTHORITY[")?;
        // Only the CRS's own authority: the one that closes the outermost bracket.
        let tail = &self.0[at..];
        let close = tail.find(']')?;
        if tail[close + 1..].trim() != "]" {
            return None;
        }
        let inner = &tail["AUTHORITY[".len()..close];
        let mut parts = inner.split(',').map(|s| s.trim().trim_matches('"'));
        if !parts.next()?.eq_ignore_ascii_case("EPSG") {
            return None;
        }
        parts.next()?.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crs_names_in_their_usual_spellings_are_read() {
        for t in [
            "EPSG:4549",
            "epsg:4549",
            "4549",
            "urn:ogc:def:crs:EPSG::4549",
            "http://www.opengis.net/def/crs/EPSG/0/4549",
        ] {
            assert_eq!(Crs::parse(t), Ok(Crs::Cgcs2000Gk120), "{t}");
        }
        assert_eq!(Crs::parse("urn:ogc:def:crs:OGC:1.3:CRS84"), Ok(Crs::Wgs84));
        assert!(Crs::parse("EPSG:3857").unwrap_err().contains("not supported"));
        assert!(Crs::parse("WGS84").is_err());
    }

    #[test]
    fn the_prj_files_we_write_read_back_as_their_crs() {
        for crs in Crs::ALL {
            assert_eq!(Crs::from_prj(&crs.esri_wkt()), Ok(crs), "{crs}");
        }
    }

    #[test]
    fn an_ogc_prj_with_an_authority_is_read_by_it() {
        let ogc = r#"PROJCS["CGCS2000 / 3-degree Gauss-Kruger CM 120E",GEOGCS["China Geodetic Coordinate System 2000",DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101,AUTHORITY["EPSG","1024"]],AUTHORITY["EPSG","1043"]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433],AUTHORITY["EPSG","4490"]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",120],PARAMETER["scale_factor",1],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1],AUTHORITY["EPSG","4549"]]"#;
        assert_eq!(Crs::from_prj(ogc), Ok(Crs::Cgcs2000Gk120));
    }

    #[test]
    fn other_projections_are_refused_with_what_differs() {
        let zone_39 = Crs::Cgcs2000Gk120.esri_wkt().replace("\"Central_Meridian\",120.0", "\"Central_Meridian\",117.0");
        assert!(Crs::from_prj(&zone_39).unwrap_err().contains("central_meridian 117"));
        let xian80 = Crs::Cgcs2000Gk120.esri_wkt().replace("D_China_2000", "D_Xian_1980");
        assert!(Crs::from_prj(&xian80).unwrap_err().contains("datum"));
        assert!(Crs::from_prj("LOCAL_CS[\"site grid\"]").is_err());
    }
}
