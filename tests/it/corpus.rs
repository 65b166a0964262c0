//! One corpus of bad houses fed to the API (`POST /api/v1/farmhouses`) and to the importer (a GeoJSON file
//! of farmhouses): both must name the same fields with the same messages, because both call the rules of
//! `domain::house`, `domain::unit_number` and the database's constraints.

use chrono::Datelike;
use serde_json::{Value, json};

use crate::common::api::{Api, house_feature};
use crate::common::{TestDb, spawn_app_as};
use farmhouse::domain::roles::Role;
use farmhouse::geo::crs::Crs;
use farmhouse::import::{Failure, Format, Kind, Source, load};

/// A house `n` with one fault: property `property` set to `value` (or the geometry replaced).
struct Bad {
    property: &'static str,
    value: Value,
}

fn corpus() -> Vec<Bad> {
    let next_year = chrono::Utc::now().year() + 1;
    let bad = |property, value| Bad { property, value };
    vec![
        bad("floor_area_m2", json!(-1)),
        bad("floor_area_m2", json!(0)),
        bad("floor_area_m2", json!(100_000)),
        bad("floor_area_m2", json!(88.125)),
        bad("floors", json!(0)),
        bad("floors", json!(11)),
        bad("year_built", json!(1899)),
        bad("year_built", json!(next_year)),
        bad("year_built", json!(2100)),
        bad("structure", json!("茅草")),
        bad("structure", json!("")),
        bad("condition", json!("坏")),
        bad("unit_number", json!("330604001001JC00001F0001000")),
        bad("unit_number", json!("330604001001JC00001X00010001")),
        bad("unit_number", json!("330604001001JC0000１F00010001")),
        // A bow tie: the ring crosses itself.
        bad(
            "geometry",
            json!({"type": "Polygon", "coordinates": [[[120.9, 30.0], [120.9001, 30.0001], [120.9001, 30.0],
                                                        [120.9, 30.0001], [120.9, 30.0]]]}),
        ),
    ]
}

/// The bad house of case `i`: house `i + 1` of the fixtures with the case's fault.
fn feature(i: usize, case: &Bad) -> Value {
    let mut f = house_feature(i as u32 + 1);
    if case.property == "geometry" {
        // Placed on the case's parcel, so that only the crossing is wrong.
        let (dx, _) = crate::common::fixtures::CENTRE;
        let shift = (i as f64 + 1.0) * 100.0 / crate::common::fixtures::M_PER_DEG_LON;
        let mut g = case.value.clone();
        for p in g["coordinates"][0].as_array_mut().unwrap() {
            p[0] = json!(p[0].as_f64().unwrap() - 120.9 + dx + shift);
        }
        f["geometry"] = g;
    } else {
        f["properties"][case.property] = case.value.clone();
    }
    f
}

/// (field, message) pairs, sorted.
fn pairs(errors: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = errors
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|e| (e["field"].as_str().unwrap_or("").to_string(), e["message"].as_str().unwrap_or("").to_string()))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn the_api_and_the_importer_give_a_bad_house_the_same_field_errors() {
    let db = TestDb::with_district().await;
    let api = Api::new(spawn_app_as(db.pool.clone(), Role::Officer).await);
    let cases = corpus();
    for i in 0..cases.len() {
        api.parcel(i as u32 + 1).await;
    }

    let mut through_api = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let r = api.post("/api/v1/farmhouses", &feature(i, case)).await;
        assert_eq!(r.status, 422, "{} = {}: {}", case.property, case.value, r.body);
        let errors = pairs(&r.body["errors"]);
        assert!(!errors.is_empty(), "{} = {}: no field errors in {}", case.property, case.value, r.body);
        through_api.push(errors);
    }

    let file = json!({"type": "FeatureCollection",
                      "features": cases.iter().enumerate().map(|(i, c)| feature(i, c)).collect::<Vec<_>>()});
    let source = Source {
        name: "corpus.geojson".into(),
        format: Format::GeoJson,
        main: serde_json::to_vec(&file).unwrap(),
        dbf: None,
        prj: None,
        cpg: None,
    };
    let result =
        load::import(&db.pool, Kind::Farmhouses, source, Some(Crs::Wgs84), "test", farmhouse::import::quietly()).await;
    let Err(Failure::Invalid(errors)) = result else { panic!("the corpus imported: {result:?}") };
    for (i, case) in cases.iter().enumerate() {
        let prefix = format!("features[{i}].");
        let mut through_import: Vec<(String, String)> = errors
            .iter()
            .filter_map(|e| e.field.strip_prefix(&prefix).map(|f| (f.to_string(), e.message.clone())))
            .collect();
        through_import.sort();
        assert_eq!(through_import, through_api[i], "{} = {}", case.property, case.value);
    }
    let houses: i64 = sqlx::query_scalar("select count(*) from farmhouses").fetch_one(&db.pool).await.unwrap();
    assert_eq!(houses, 0, "a refused house was stored");
}
