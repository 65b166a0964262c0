//! Checking every feature of a file on its own, with the messages the API gives: unit numbers and parcel
//! codes (`domain::unit_number`), village names (`domain::house`: the API's text rule), polygons
//! (`geo::shape`: the caps on positions and holes before anything else, then rings and extent after
//! reprojection to lon/lat), and the ranges the database enforces (the constraint messages of
//! `store::constraints`). Duplicates within the file are found here; what needs the database (polygon
//! validity, existing records, parcels, townships, overlaps) is checked by [`super::load`].

use std::collections::HashMap;

use geo::Polygon;
use serde_json::{Map, Value};

use super::read::RawFeature;
use super::{Kind, Progress, Step};
use crate::domain::township::TownshipCode;
use crate::domain::unit_number::{ParcelCode, UnitNumber};
use crate::domain::{FieldError, house};
use crate::geo::crs::Crs;
use crate::geo::reproject::Transform;
use crate::geo::shape::{self, Extent};
use crate::store::constraints;
pub use crate::store::imports::{HouseRow, ParcelRow};

/// The checked features of a file, in lon/lat.
#[derive(Debug, Clone)]
pub enum Rows {
    Parcels(Vec<ParcelRow>),
    Farmhouses(Vec<HouseRow>),
}

impl Rows {
    pub fn len(&self) -> usize {
        match self {
            Rows::Parcels(r) => r.len(),
            Rows::Farmhouses(r) => r.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Where the checks look: the district's county code and extent.
#[derive(Debug, Clone)]
pub struct Context {
    pub county_code: String,
    pub extent: Option<Extent>,
    /// The latest year a house may have been built in (the API's rule: this year).
    pub this_year: i32,
}

/// The client message of database rule `name`: the same words the API answers with.
pub fn rule(name: &str) -> &'static str {
    constraints::describe(name).map_or("breaks a rule of the registry", |r| r.message)
}

/// Checks every feature; returns the rows of the good ones and every error of the bad ones.
pub fn check(
    kind: Kind,
    features: &[RawFeature],
    crs: Crs,
    cx: &Context,
    progress: &Progress,
) -> anyhow::Result<(Rows, Vec<FieldError>)> {
    let to_lonlat = Transform::to_lonlat(crs)?;
    let mut errors = Vec::new();
    let mut parcels = Vec::new();
    let mut houses = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    if features.is_empty() {
        return Ok((Rows::Parcels(Vec::new()), vec![FieldError::new("features", "the file has no features")]));
    }
    for f in features {
        let at = format!("features[{}]", f.index);
        let mut bad = Vec::new();
        let geometry = polygon(f, &to_lonlat, cx, &at).map_err(|e| bad.extend(e)).ok();
        let props = Props { map: &f.properties, at: &at };
        match kind {
            Kind::Parcels => {
                let code = props
                    .text("parcel_code")
                    .and_then(|c| ParcelCode::parse(&c, &props.field("parcel_code")).map(|p| p.as_str().to_string()));
                let code = code.map_err(|e| bad.extend(e)).ok();
                if let Some(c) = &code {
                    in_district(c, cx, &props.field("parcel_code"), &mut bad);
                    duplicate(&mut seen, c, f.index, &props.field("parcel_code"), "parcel code", &mut bad);
                }
                let village = props.text("village").and_then(|v| props.rule("village", house::village(&v)));
                let land_use = match props.optional_text("land_use") {
                    None => Ok("0702".to_string()),
                    Some(v) => props.rule("land_use", house::land_use(&v)),
                };
                let township = match props.optional_text("township_code") {
                    Some(t) => TownshipCode::parse(&t)
                        .map(|c| Some(c.to_string()))
                        .map_err(|e| vec![FieldError::new(props.field("township_code"), e)]),
                    None => Ok(None),
                };
                let village = village.map_err(|e| bad.extend(e)).ok();
                let land_use = land_use.map_err(|e| bad.extend(e)).ok();
                let township = township.map_err(|e| bad.extend(e)).ok();
                if let (true, Some(code), Some(boundary), Some(village), Some(land_use), Some(township_code)) =
                    (bad.is_empty(), code, geometry, village, land_use, township)
                {
                    parcels.push(ParcelRow {
                        index: f.index,
                        parcel_code: code,
                        township_code,
                        village,
                        land_use,
                        boundary,
                    });
                }
            }
            Kind::Farmhouses => {
                let unit = props.text("unit_number").and_then(|u| {
                    UnitNumber::parse_farmhouse(&u, &props.field("unit_number")).map(|u| u.as_str().to_string())
                });
                let unit = unit.map_err(|e| bad.extend(e)).ok();
                if let Some(u) = &unit {
                    in_district(u, cx, &props.field("unit_number"), &mut bad);
                    duplicate(&mut seen, u, f.index, &props.field("unit_number"), "unit number", &mut bad);
                }
                // The API's rules and words (`domain::house`); the file only adds reading numbers from text.
                let area = props
                    .number("floor_area_m2")
                    .and_then(|a| props.rule("floor_area_m2", house::floor_area(a)))
                    .map(|a| format!("{a:.2}"));
                let floors = props.whole("floors").and_then(|n| props.rule("floors", house::floors(n)));
                let year = props
                    .whole("year_built")
                    .and_then(|n| props.rule("year_built", house::year_built(n, cx.this_year)));
                let structure = props.text("structure").and_then(|s| props.rule("structure", house::structure(&s)));
                let condition = match props.optional_text("condition") {
                    Some(c) => props.rule("condition", house::condition(&c)).map(Some),
                    None => Ok(None),
                };
                let area = area.map_err(|e| bad.extend(e)).ok();
                let floors = floors.map_err(|e| bad.extend(e)).ok();
                let year = year.map_err(|e| bad.extend(e)).ok();
                let structure = structure.map_err(|e| bad.extend(e)).ok();
                let condition = condition.map_err(|e| bad.extend(e)).ok();
                if let (
                    true,
                    Some(unit_number),
                    Some(footprint),
                    Some(area),
                    Some(floors),
                    Some(year),
                    Some(structure),
                    Some(condition),
                ) = (bad.is_empty(), unit, geometry, area, floors, year, structure, condition)
                {
                    houses.push(HouseRow {
                        index: f.index,
                        unit_number,
                        footprint,
                        floor_area_m2: area,
                        floors,
                        year_built: year,
                        structure,
                        condition,
                    });
                }
            }
        }
        errors.extend(bad);
        progress(Step::Checked);
    }
    let rows = match kind {
        Kind::Parcels => Rows::Parcels(parcels),
        Kind::Farmhouses => Rows::Farmhouses(houses),
    };
    Ok((rows, errors))
}

/// The feature's polygon in lon/lat, checked like the API checks one.
fn polygon(f: &RawFeature, to_lonlat: &Transform, cx: &Context, at: &str) -> Result<Polygon<f64>, Vec<FieldError>> {
    let field = format!("{at}.geometry");
    let value = match &f.geometry {
        Err(m) => return Err(vec![FieldError::new(field, m.clone())]),
        Ok(None) => return Err(vec![FieldError::new(field, "is missing: every feature needs a polygon")]),
        Ok(Some(value)) => value,
    };
    // Counting first: a polygon over the caps costs no reprojection.
    shape::within_caps(value, &field)?;
    let crs = to_lonlat.from();
    let convert = |rings: &[Vec<Vec<f64>>]| -> Result<Vec<Vec<Vec<f64>>>, String> {
        rings
            .iter()
            .map(|ring| {
                ring.iter()
                    .map(|p| {
                        // Anything but a pair (e.g. a height) is left for `shape::polygon` to refuse.
                        let [x, y] = match p.as_slice() {
                            [x, y] => [*x, *y],
                            _ => return Ok(p.clone()),
                        };
                        if crs.is_projected() {
                            let fe = crs.false_easting();
                            if !(fe - 500_000.0..=fe + 500_000.0).contains(&x) || !(0.0..10_000_000.0).contains(&y) {
                                let hint = if x > 1_000_000.0 && crs == Crs::Cgcs2000Gk120 {
                                    " (an easting with a zone prefix: is the file in EPSG:4528?)"
                                } else if x < 1_000_000.0 && crs == Crs::Cgcs2000GkZone40 {
                                    " (an easting without the zone prefix 40: is the file in EPSG:4549?)"
                                } else {
                                    ""
                                };
                                return Err(format!("position ({x}, {y}) is not an {crs} easting/northing{hint}"));
                            }
                        }
                        let (lon, lat) = to_lonlat.convert(x, y)?;
                        Ok(vec![lon, lat])
                    })
                    .collect()
            })
            .collect()
    };
    let lonlat = match value {
        geojson::Value::Polygon(rings) => convert(rings).map(geojson::Value::Polygon),
        geojson::Value::MultiPolygon(parts) => {
            parts.iter().map(|p| convert(p)).collect::<Result<Vec<_>, _>>().map(geojson::Value::MultiPolygon)
        }
        other => Ok(other.clone()),
    }
    .map_err(|m| vec![FieldError::new(field.clone(), m)])?;
    shape::polygon(&geojson::Geometry::new(lonlat), &field, cx.extent.as_ref())
}

fn in_district(code: &str, cx: &Context, field: &str, bad: &mut Vec<FieldError>) {
    if !code.starts_with(&cx.county_code) {
        bad.push(FieldError::new(
            format!("{field}.county_code"),
            format!(
                "characters 1–6 are the county code; this registry is county {}, not {}",
                cx.county_code,
                &code[..6]
            ),
        ));
    }
}

fn duplicate(
    seen: &mut HashMap<String, usize>,
    key: &str,
    index: usize,
    field: &str,
    what: &str,
    bad: &mut Vec<FieldError>,
) {
    match seen.get(key) {
        Some(first) => {
            bad.push(FieldError::new(field, format!("the file has this {what} already, at features[{first}]")));
        }
        None => {
            seen.insert(key.to_string(), index);
        }
    }
}

/// The properties of one feature, with errors named `features[i].properties.<name>`.
struct Props<'a> {
    map: &'a Map<String, Value>,
    at: &'a str,
}

impl Props<'_> {
    fn field(&self, name: &str) -> String {
        format!("{}.properties.{name}", self.at)
    }

    fn optional_text(&self, name: &str) -> Option<String> {
        match self.map.get(name)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    fn text(&self, name: &str) -> Result<String, Vec<FieldError>> {
        self.optional_text(name).ok_or_else(|| vec![FieldError::new(self.field(name), "is required")])
    }

    /// The result of a domain rule of property `name`, its error named for the feature.
    fn rule<T>(&self, name: &str, result: Result<T, String>) -> Result<T, Vec<FieldError>> {
        result.map_err(|m| vec![FieldError::new(self.field(name), m)])
    }

    fn number(&self, name: &str) -> Result<f64, Vec<FieldError>> {
        let err = |m: &str| vec![FieldError::new(self.field(name), m)];
        match self.map.get(name) {
            None | Some(Value::Null) => Err(err("is required")),
            Some(Value::Number(n)) => n.as_f64().ok_or_else(|| err("is not a number")),
            Some(Value::String(s)) => {
                s.trim().parse::<f64>().ok().filter(|x| x.is_finite()).ok_or_else(|| err("is not a number"))
            }
            Some(_) => Err(err("is not a number")),
        }
    }

    fn whole(&self, name: &str) -> Result<i64, Vec<FieldError>> {
        let x = self.number(name)?;
        if x.fract() != 0.0 || x.abs() > 1e15 {
            return Err(vec![FieldError::new(self.field(name), "must be a whole number")]);
        }
        Ok(x as i64)
    }
}
