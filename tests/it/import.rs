//! Importing survey files: coordinates in EPSG:4549 (GeoJSON `crs` member, CSV with --crs) and EPSG:4528
//! (a shapefile with its .prj) land where PROJ's cs2cs puts them, within 1 mm, with the plane area of the
//! survey within 0.01 m²; bad files import nothing and name every bad feature; a file is imported once.

use crate::common;

use std::io::Write;
use std::path::Path;
use std::process::Command;

use crate::common::TestDb;
use farmhouse::domain::roles::Role;
use farmhouse::geo::crs::Crs;
use farmhouse::import::{Failure, Kind, Source, load};
use serde_json::{Value, json};
use sqlx::PgPool;

/// A parcel of the survey: code, village, and its ring on the Gauss–Krüger plane (EPSG:4549 metres).
struct Surveyed {
    code: String,
    village: &'static str,
    ring: Vec<(f64, f64)>,
}

/// A pentagon of about 20 m across at (`east`, `north`) of the plane, with survey-like millimetres.
fn pentagon(east: f64, north: f64) -> Vec<(f64, f64)> {
    let corners = [(0.0, 0.0), (18.237, 0.412), (21.118, 12.905), (9.731, 21.356), (-1.204, 14.889)];
    let mut ring: Vec<(f64, f64)> = corners.iter().map(|(x, y)| (east + x, north + y)).collect();
    ring.push(ring[0]);
    ring
}

/// A footprint well inside the pentagon at the same place.
fn footprint(east: f64, north: f64) -> Vec<(f64, f64)> {
    let corners = [(4.0, 3.0), (15.5, 3.2), (15.3, 13.1), (3.8, 12.9)];
    let mut ring: Vec<(f64, f64)> = corners.iter().map(|(x, y)| (east + x, north + y)).collect();
    ring.push(ring[0]);
    ring
}

/// Parcels `first..first + n` of sub-district 900, 60 m apart from plane point (587000.123, 3325000.456),
/// which lies in Shangyu.
fn survey(first: u32, n: u32) -> Vec<Surveyed> {
    (first..first + n)
        .map(|k| Surveyed {
            code: format!("330604001900JC{k:05}"),
            village: "青山村",
            ring: pentagon(587_000.123 + 60.0 * f64::from(k), 3_325_000.456 + 7.0 * f64::from(k % 3)),
        })
        .collect()
}

/// The plane (shoelace) area of a ring.
fn plane_area(ring: &[(f64, f64)]) -> f64 {
    ring.windows(2).map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1).sum::<f64>().abs() / 2.0
}

fn geojson_4549(parcels: &[Surveyed]) -> Vec<u8> {
    let features: Vec<Value> = parcels
        .iter()
        .map(|p| {
            let ring: Vec<[f64; 2]> = p.ring.iter().map(|&(x, y)| [x, y]).collect();
            json!({"type": "Feature", "properties": {"parcel_code": p.code, "village": p.village, "land_use": "0702"},
                   "geometry": {"type": "Polygon", "coordinates": [ring]}})
        })
        .collect();
    let doc = json!({"type": "FeatureCollection",
                     "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4549"}},
                     "features": features});
    serde_json::to_vec(&doc).unwrap()
}

/// A shapefile of `parcels` in EPSG:4528 (eastings with the zone prefix 40), with its .prj, under `dir`.
fn shapefile_4528(dir: &Path, parcels: &[Surveyed]) -> std::path::PathBuf {
    use shapefile::dbase::{self, FieldValue};
    let shp = dir.join("parcels_4528.shp");
    let table = dbase::TableWriterBuilder::with_encoding(dbase::encoding::UnicodeLossy)
        .add_character_field("parcel_cod".try_into().unwrap(), 19)
        .add_character_field("village".try_into().unwrap(), 100)
        .add_character_field("land_use".try_into().unwrap(), 4);
    let mut writer = shapefile::Writer::from_path(&shp, table).unwrap();
    for p in parcels {
        let points: Vec<shapefile::Point> =
            p.ring.iter().map(|&(x, y)| shapefile::Point::new(x + 40_000_000.0, y)).collect();
        let polygon = shapefile::Polygon::with_rings(vec![shapefile::PolygonRing::Outer(points)]);
        let mut record = dbase::Record::default();
        record.insert("parcel_cod".into(), FieldValue::Character(Some(p.code.clone())));
        record.insert("village".into(), FieldValue::Character(Some(p.village.into())));
        record.insert("land_use".into(), FieldValue::Character(Some("0702".into())));
        writer.write_shape_and_record(&polygon, &record).unwrap();
    }
    drop(writer);
    std::fs::write(dir.join("parcels_4528.prj"), Crs::Cgcs2000GkZone40.esri_wkt()).unwrap();
    std::fs::write(dir.join("parcels_4528.cpg"), "UTF-8").unwrap();
    shp
}

/// Farmhouses on `parcels` as CSV with WKT in EPSG:4549 (no CRS in the file).
fn csv_houses(parcels: &[Surveyed]) -> Vec<u8> {
    let mut out = String::from("unit_number,floor_area_m2,floors,year_built,structure,wkt\n");
    for p in parcels {
        let (e, n) = p.ring[0];
        let ring: Vec<String> = footprint(e, n).iter().map(|(x, y)| format!("{x} {y}")).collect();
        out.push_str(&format!("{}F00010001,306.50,3,1998,砖混,\"POLYGON(({}))\"\n", p.code, ring.join(",")));
    }
    out.into_bytes()
}

fn source(name: &str, bytes: Vec<u8>) -> Source {
    Source {
        name: name.into(),
        format: farmhouse::import::Format::of(name).unwrap(),
        main: bytes,
        dbf: None,
        prj: None,
        cpg: None,
    }
}

async fn district() -> TestDb {
    let db = TestDb::new().await;
    let mut conn = db.pool.acquire().await.unwrap();
    farmhouse::seed::district::ensure(&mut conn).await.unwrap();
    db
}

async fn import(
    pool: &PgPool,
    kind: Kind,
    source: Source,
    crs: Option<Crs>,
) -> Result<farmhouse::import::Report, Failure> {
    load::import(pool, kind, source, crs, "test", farmhouse::import::quietly()).await
}

/// (lat, lon) of each (easting, northing) of EPSG:`epsg`, by PROJ's cs2cs.
fn cs2cs(epsg: u32, points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut child = Command::new("cs2cs")
        .args(["-f", "%.12f", &format!("EPSG:{epsg}"), "EPSG:4326"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("cs2cs (Debian proj-bin) is installed");
    let input: String = points.iter().map(|(e, n)| format!("{n} {e}\n")).collect();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Vec<f64> = l.split_whitespace().take(2).map(|x| x.parse().unwrap()).collect();
            (v[0], v[1])
        })
        .collect()
}

/// The stored vertices (lon, lat) of a parcel's boundary, in order.
async fn vertices(pool: &PgPool, table_geom: &str, code: &str) -> Vec<(f64, f64)> {
    sqlx::query_as(&format!(
        "select st_x(d.geom), st_y(d.geom) from {table_geom}, st_dumppoints(g) d where k = $1 order by d.path"
    ))
    .bind(code)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Checks every stored vertex against cs2cs (1 mm) and the stored area against the survey's plane area.
async fn assert_where_cs2cs_puts_them(pool: &PgPool, parcels: &[Surveyed], epsg: u32, east_offset: f64) {
    for p in parcels {
        let stored = vertices(pool, "(select parcel_code::text as k, boundary as g from parcels) s", &p.code).await;
        let survey: Vec<(f64, f64)> = p.ring.iter().map(|&(e, n)| (e + east_offset, n)).collect();
        let expected = cs2cs(epsg, &survey);
        assert_eq!(stored.len(), expected.len(), "{}", p.code);
        // A shapefile's outer ring runs clockwise, so its vertices may come in the other order.
        for (lon, lat) in &stored {
            let nearest = expected
                .iter()
                .map(|(elat, elon)| ((lon - elon) * 96_490.0).hypot((lat - elat) * 110_900.0))
                .fold(f64::MAX, f64::min);
            assert!(nearest < 0.001, "{}: stored ({lon}, {lat}) is {:.4} mm from cs2cs", p.code, nearest * 1000.0);
        }
        let (area, postgis): (f64, f64) =
            sqlx::query_as("select area_m2, st_area(st_transform(boundary, 4549)) from parcels where parcel_code = $1")
                .bind(&p.code)
                .fetch_one(pool)
                .await
                .unwrap();
        let surveyed = plane_area(&p.ring);
        assert!((postgis - surveyed).abs() < 0.01, "{}: PostGIS {postgis} m², survey {surveyed} m²", p.code);
        assert!((area - postgis).abs() < 0.01);
    }
}

#[tokio::test]
async fn survey_files_in_4549_and_4528_land_where_cs2cs_puts_them() {
    let db = district().await;
    let pool = &db.pool;

    let gk = survey(1, 3);
    let report = import(pool, Kind::Parcels, source("parcels.geojson", geojson_4549(&gk)), None).await.unwrap();
    assert_eq!((report.imported, report.crs.as_str()), (3, "EPSG:4549"));
    assert_where_cs2cs_puts_them(pool, &gk, 4549, 0.0).await;

    let dir = tempfile::tempdir().unwrap();
    let zone40 = survey(4, 3);
    let shp = shapefile_4528(dir.path(), &zone40);
    let report = import(pool, Kind::Parcels, Source::from_path(&shp).unwrap(), None).await.unwrap();
    assert_eq!((report.imported, report.crs.as_str()), (3, "EPSG:4528"));
    assert_where_cs2cs_puts_them(pool, &zone40, 4528, 40_000_000.0).await;
    let village: String = sqlx::query_scalar("select village from parcels where parcel_code = '330604001900JC00004'")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(village, "青山村", "the .dbf is read as UTF-8");

    // Houses from CSV+WKT, CRS by flag; each takes its parcel's township.
    let all: Vec<Surveyed> = survey(1, 6);
    let report =
        import(pool, Kind::Farmhouses, source("houses.csv", csv_houses(&all)), Some(Crs::Cgcs2000Gk120)).await.unwrap();
    assert_eq!(report.imported, 6);
    for p in &all {
        let (e, n) = p.ring[0];
        let ring = footprint(e, n);
        let stored = vertices(
            pool,
            "(select unit_number::text as k, footprint as g from farmhouses) s",
            &format!("{}F00010001", p.code),
        )
        .await;
        for ((lon, lat), (elat, elon)) in stored.iter().zip(cs2cs(4549, &ring)) {
            let d = ((lon - elon) * 96_490.0).hypot((lat - elat) * 110_900.0);
            assert!(d < 0.001, "footprint vertex {d} m from cs2cs");
        }
    }
    let mismatched: i64 = sqlx::query_scalar(
        "select count(*) from farmhouses f join parcels p on p.parcel_code = f.parcel_code where f.township_code <> p.township_code",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(mismatched, 0);
    let actors: Vec<String> =
        sqlx::query_scalar("select distinct actor from history where table_name in ('parcels', 'farmhouses')")
            .fetch_all(pool)
            .await
            .unwrap();
    assert_eq!(actors, ["test"]);
}

#[tokio::test]
async fn a_file_with_bad_features_imports_nothing_and_names_every_one() {
    let db = district().await;
    let pool = &db.pool;
    import(pool, Kind::Parcels, source("first.geojson", geojson_4549(&survey(1, 1))), None).await.unwrap();

    let mut parcels = survey(10, 6);
    parcels[1].code = "330604001900JB0001X".into(); // bad sequence
    parcels[2].village = ""; // missing village
    parcels[3].code = parcels[0].code.clone(); // duplicate within the file
    parcels[4].ring = vec![
        (587_600.0, 3_325_000.0),
        (587_620.0, 3_325_020.0),
        (587_620.0, 3_325_000.0),
        (587_600.0, 3_325_020.0),
        (587_600.0, 3_325_000.0),
    ]; // bow-tie
    parcels[5].ring = pentagon(587_000.123 + 60.0 + 3.0, 3_325_000.456 + 7.0); // overlaps the parcel imported first
    let mut doc: Value = serde_json::from_slice(&geojson_4549(&parcels)).unwrap();
    doc["features"][2]["properties"].as_object_mut().unwrap().remove("village");
    let bytes = serde_json::to_vec(&doc).unwrap();

    // Every bad feature is reported, whether the feature itself is wrong or it clashes with the registry.
    let Err(Failure::Invalid(errors)) = import(pool, Kind::Parcels, source("bad.geojson", bytes), None).await else {
        panic!("a bad file must be refused")
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "features[1].properties.parcel_code.parcel_sequence",
            "features[2].properties.village",
            "features[3].properties.parcel_code",
            "features[4].geometry",
            "features[5].geometry",
        ],
        "{errors:#?}"
    );
    assert!(errors[2].message.contains("features[0]"));
    assert!(errors[3].message.contains("not a valid polygon"));
    assert!(errors[4].message.contains("overlaps another parcel of the township (parcel 330604001900JC00001)"));

    // The database checks then report the overlap, and nothing of the file is imported.
    let only_overlap = vec![survey(20, 1).remove(0), parcels.remove(5)];
    let Err(Failure::Invalid(errors)) =
        import(pool, Kind::Parcels, source("overlap.geojson", geojson_4549(&only_overlap)), None).await
    else {
        panic!("an overlapping parcel must be refused")
    };
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].field, "features[1].geometry");
    assert!(errors[0].message.contains("overlaps another parcel of the township"), "{}", errors[0].message);
    let count: i64 = sqlx::query_scalar("select count(*) from parcels").fetch_one(pool).await.unwrap();
    assert_eq!(count, 1, "a refused file changes nothing");

    // Houses: a footprint outside its parcel, a house without a parcel, out-of-range numbers.
    let mut csv = String::from_utf8(csv_houses(&survey(1, 1))).unwrap();
    csv.push_str("330604001900JC00099F00010001,0,11,1800,草,\"POLYGON((587000 3325000,587010 3325000,587010 3325010,587000 3325000))\"\n");
    csv.push_str("330604001900JC00001F00010002,120,2,2000,木,\"POLYGON((587100 3325100,587110 3325100,587110 3325110,587100 3325100))\"\n");
    let Err(Failure::Invalid(errors)) =
        import(pool, Kind::Farmhouses, source("houses.csv", csv.into_bytes()), Some(Crs::Cgcs2000Gk120)).await
    else {
        panic!("bad houses must be refused")
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "features[1].properties.floor_area_m2",
            "features[1].properties.floors",
            "features[1].properties.year_built",
            "features[1].properties.structure",
            "features[2].geometry",
        ],
        "{errors:#?}"
    );
    let mut csv = String::from_utf8(csv_houses(&survey(1, 1))).unwrap();
    csv.push_str("330604001900JC00099F00010001,100,1,1990,木,\"POLYGON((587000 3325000,587010 3325000,587010 3325010,587000 3325000))\"\n");
    csv.push_str("330604001900JC00001F00010002,120,2,2000,木,\"POLYGON((587100 3325100,587110 3325100,587110 3325110,587100 3325100))\"\n");
    let Err(Failure::Invalid(errors)) =
        import(pool, Kind::Farmhouses, source("houses2.csv", csv.into_bytes()), Some(Crs::Cgcs2000Gk120)).await
    else {
        panic!("bad houses must be refused")
    };
    let found: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.message.as_str())).collect();
    assert_eq!(
        found,
        [
            ("features[1].properties.unit_number", "no parcel has the code of its first 19 characters"),
            ("features[2].geometry", "the footprint is not within its parcel"),
        ]
    );
    let houses: i64 = sqlx::query_scalar("select count(*) from farmhouses").fetch_one(pool).await.unwrap();
    assert_eq!(houses, 0);
}

#[tokio::test]
async fn a_file_without_a_crs_is_refused_and_never_guessed() {
    let db = district().await;
    let csv = csv_houses(&survey(1, 1));
    let Err(Failure::Refused(r)) = import(&db.pool, Kind::Farmhouses, source("h.csv", csv.clone()), None).await else {
        panic!("no CRS, no import")
    };
    assert_eq!(r.field, "crs");
    // A file that declares one CRS and a flag that says another.
    let json = geojson_4549(&survey(1, 1));
    let Err(Failure::Refused(r)) =
        import(&db.pool, Kind::Parcels, source("p.geojson", json), Some(Crs::Cgcs2000GkZone40)).await
    else {
        panic!("conflicting CRSs")
    };
    assert!(r.message.contains("declares EPSG:4549"), "{}", r.message);
    // 4549 coordinates declared as 4528 are named for what they are.
    let Err(Failure::Invalid(errors)) =
        import(&db.pool, Kind::Farmhouses, source("h.csv", csv), Some(Crs::Cgcs2000GkZone40)).await
    else {
        panic!("wrong CRS")
    };
    assert!(errors[0].message.contains("is the file in EPSG:4549?"), "{}", errors[0].message);
}

#[tokio::test]
async fn the_same_file_is_imported_once() {
    let db = district().await;
    let bytes = geojson_4549(&survey(1, 2));
    import(&db.pool, Kind::Parcels, source("p.geojson", bytes.clone()), None).await.unwrap();
    let again = import(&db.pool, Kind::Parcels, source("renamed.geojson", bytes), None).await;
    assert!(matches!(again, Err(Failure::AlreadyImported(_))), "{again:?}");
    let count: i64 = sqlx::query_scalar("select count(*) from parcels").fetch_one(&db.pool).await.unwrap();
    assert_eq!(count, 2);
}

#[tokio::test]
async fn the_command_line_imports_a_file_and_lists_bad_features() {
    let db = district().await;
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("parcels.geojson");
    std::fs::write(&good, geojson_4549(&survey(1, 2))).unwrap();
    let run = |file: &Path, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_farmhouse"))
            .args(["import", "parcels"])
            .arg(file)
            .args(extra)
            .args(["--database-url", &db.url])
            .output()
            .unwrap()
    };
    let out = run(&good, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["imported"], 2);
    let out = run(&good, &[]);
    assert!(!out.status.success(), "a second import of the same file fails");
    assert!(String::from_utf8_lossy(&out.stderr).contains("imported already"));

    let mut bad = survey(5, 2);
    bad[1].code = "330604001900JC00000".into();
    let bad_file = dir.path().join("bad.geojson");
    std::fs::write(&bad_file, geojson_4549(&bad)).unwrap();
    let out = run(&bad_file, &["--crs", "EPSG:4549"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("features[1].properties.parcel_code.parcel_sequence"), "{stderr}");
    assert!(stderr.contains("nothing was imported"), "{stderr}");
}

#[tokio::test]
async fn officers_upload_survey_files_over_http_with_the_same_report() {
    let db = district().await;
    let form = |bytes: Vec<u8>| {
        reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(bytes).file_name("parcels.geojson"))
    };
    let official = common::spawn_app_as(db.pool.clone(), Role::Official).await;
    let res = reqwest::Client::new()
        .post(format!("http://{official}/api/v1/import/parcels"))
        .multipart(form(geojson_4549(&survey(1, 2))))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    let officer = common::spawn_app_as(db.pool.clone(), Role::Officer).await;
    let url = format!("http://{officer}/api/v1/import/parcels");
    let res = reqwest::Client::new().post(&url).multipart(form(geojson_4549(&survey(1, 2)))).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let report: Value = res.json().await.unwrap();
    assert_eq!((report["imported"].as_u64(), report["crs"].as_str()), (Some(2), Some("EPSG:4549")));
    let res = reqwest::Client::new().post(&url).multipart(form(geojson_4549(&survey(1, 2)))).send().await.unwrap();
    assert_eq!(res.status(), 409, "the same file again");

    let mut bad = survey(5, 3);
    bad[0].code = "330604001900JC0000A".into();
    bad[2].village = "";
    let res = reqwest::Client::new().post(&url).multipart(form(geojson_4549(&bad))).send().await.unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: Value = res.json().await.unwrap();
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["features[0].properties.parcel_code.parcel_sequence", "features[2].properties.village"]);

    // A CSV without a CRS, then with the crs field.
    let csv = || {
        reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(csv_houses(&survey(1, 2))).file_name("houses.csv"))
    };
    let url = format!("http://{officer}/api/v1/import/farmhouses");
    let res = reqwest::Client::new().post(&url).multipart(csv()).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["field"], "crs");
    let res = reqwest::Client::new().post(&url).multipart(csv().text("crs", "EPSG:4549")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

/// A ring on the plane: a circle of `radius` metres around (`east`, `north`) drawn with `positions`
/// positions (the closing one included), counter-clockwise or clockwise (for holes).
fn circle(east: f64, north: f64, radius: f64, positions: usize, clockwise: bool) -> Vec<[f64; 2]> {
    let sides = positions - 1;
    let mut ring: Vec<[f64; 2]> = (0..sides)
        .map(|k| {
            let a = std::f64::consts::TAU * k as f64 / sides as f64 * if clockwise { -1.0 } else { 1.0 };
            [east + radius * a.cos(), north + radius * a.sin()]
        })
        .collect();
    ring.push(ring[0]);
    ring
}

/// A GeoJSON file (EPSG:4549) of parcels `330604001900JC<k>`, one per polygon (rings of plane positions).
fn geojson_polygons_4549(first: u32, polygons: Vec<Vec<Vec<[f64; 2]>>>) -> Vec<u8> {
    let features: Vec<Value> = polygons
        .into_iter()
        .zip(first..)
        .map(|(rings, k)| {
            json!({"type": "Feature",
                   "properties": {"parcel_code": format!("330604001900JC{k:05}"), "village": "青山村"},
                   "geometry": {"type": "Polygon", "coordinates": rings}})
        })
        .collect();
    serde_json::to_vec(&json!({"type": "FeatureCollection",
                               "crs": {"type": "name", "properties": {"name": "EPSG:4549"}},
                               "features": features}))
    .unwrap()
}

#[tokio::test]
async fn a_polygon_beyond_the_vertex_cap_is_refused_naming_the_feature() {
    let db = district().await;
    let (e, n) = (587_000.0, 3_325_000.0);
    let holes = |count: usize, at: f64| -> Vec<Vec<[f64; 2]>> {
        let mut rings = vec![circle(at, n, 15.0, 40, false)];
        rings.extend((0..count).map(|h| {
            let (i, j) = ((h % 11) as f64, (h / 11) as f64);
            circle(at - 8.0 + 1.6 * i, n - 8.0 + 1.6 * j, 0.3, 5, true)
        }));
        rings
    };
    let file = geojson_polygons_4549(
        1,
        vec![
            vec![circle(e, n, 15.0, 100, false)],
            vec![circle(e + 60.0, n, 15.0, 5_001, false)],
            holes(101, e + 120.0),
            // At the cap: 4,500 positions in the shell and 100 holes of 5.
            {
                let mut at_cap = holes(100, e + 180.0);
                at_cap[0] = circle(e + 180.0, n, 15.0, 4_500, false);
                at_cap
            },
        ],
    );
    let Err(Failure::Invalid(errors)) = import(&db.pool, Kind::Parcels, source("big.geojson", file), None).await else {
        panic!("polygons beyond the cap must be refused")
    };
    let found: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(found, ["features[1].geometry", "features[2].geometry"], "{errors:#?}");
    assert!(
        errors[0].message.contains("5001 positions") && errors[0].message.contains("5000"),
        "{}",
        errors[0].message
    );
    assert!(errors[1].message.contains("101 holes") && errors[1].message.contains("100"), "{}", errors[1].message);
    let count: i64 = sqlx::query_scalar("select count(*) from parcels").fetch_one(&db.pool).await.unwrap();
    assert_eq!(count, 0, "a refused file changes nothing");
}

#[tokio::test]
async fn an_imported_parcel_must_lie_in_the_township_it_names() {
    let db = district().await;
    let (here, elsewhere): (String, String) = sqlx::query_as(
        "select (select code::text from townships where st_intersects(boundary, p)),
                (select code::text from townships where not st_dwithin(boundary, p, 0.02) order by code limit 1)
         from (select st_transform(st_setsrid(st_makepoint(587000, 3325000), 4549), 4326) as p) s",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let mut doc: Value = serde_json::from_slice(&geojson_4549(&survey(1, 2))).unwrap();
    doc["features"][1]["properties"]["township_code"] = json!(elsewhere);
    let Err(Failure::Invalid(errors)) =
        import(&db.pool, Kind::Parcels, source("t.geojson", serde_json::to_vec(&doc).unwrap()), None).await
    else {
        panic!("a parcel outside the township it names must be refused")
    };
    let found: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.message.as_str())).collect();
    assert_eq!(
        found,
        [(
            "features[1].properties.township_code",
            farmhouse::store::constraints::describe("parcels_within_township")
                .map_or("no rule parcels_within_township", |r| r.message)
        )]
    );
    let count: i64 = sqlx::query_scalar("select count(*) from parcels").fetch_one(&db.pool).await.unwrap();
    assert_eq!(count, 0);
    // Named as the township it lies in, the same parcels are imported.
    doc["features"][1]["properties"]["township_code"] = json!(here);
    import(&db.pool, Kind::Parcels, source("t2.geojson", serde_json::to_vec(&doc).unwrap()), None).await.unwrap();
}

/// Heights are not dropped silently and names are held to the API's text rule: a 3D position (GeoJSON,
/// CSV `POLYGON Z`, a PolygonZ shapefile) and a village with invisible or direction-changing characters
/// are refused naming the feature, and nothing is imported.
#[tokio::test]
async fn heights_and_invisible_characters_in_survey_files_are_refused() {
    let db = district().await;
    let pool = &db.pool;
    let parcels = survey(1, 4);
    let mut doc: Value = serde_json::from_slice(&geojson_4549(&parcels)).unwrap();
    for position in doc["features"][1]["geometry"]["coordinates"][0].as_array_mut().unwrap() {
        position.as_array_mut().unwrap().push(json!(8.25));
    }
    doc["features"][2]["properties"]["village"] = json!("长溪\u{200b}村");
    doc["features"][3]["properties"]["village"] = json!("\u{202e}村溪长");
    let Err(Failure::Invalid(errors)) =
        import(pool, Kind::Parcels, source("heights.geojson", serde_json::to_vec(&doc).unwrap()), None).await
    else {
        panic!("heights and invisible characters must be refused")
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        ["features[1].geometry", "features[2].properties.village", "features[3].properties.village"],
        "{errors:#?}"
    );
    assert!(errors[0].message.contains("3 numbers"), "{}", errors[0].message);
    assert!(errors[1].message.contains("U+200B"), "{}", errors[1].message);

    // The same parcels as a PolygonZ shapefile.
    let dir = tempfile::tempdir().unwrap();
    let shp = dir.path().join("parcels_z.shp");
    {
        use shapefile::dbase::{self, FieldValue};
        let table = dbase::TableWriterBuilder::with_encoding(dbase::encoding::UnicodeLossy)
            .add_character_field("parcel_cod".try_into().unwrap(), 19)
            .add_character_field("village".try_into().unwrap(), 100);
        let mut writer = shapefile::Writer::from_path(&shp, table).unwrap();
        for p in &parcels[..1] {
            let points: Vec<shapefile::PointZ> =
                p.ring.iter().map(|&(x, y)| shapefile::PointZ::new(x, y, 8.25, 0.0)).collect();
            let polygon = shapefile::PolygonZ::with_rings(vec![shapefile::PolygonRing::Outer(points)]);
            let mut record = dbase::Record::default();
            record.insert("parcel_cod".into(), FieldValue::Character(Some(p.code.clone())));
            record.insert("village".into(), FieldValue::Character(Some(p.village.into())));
            writer.write_shape_and_record(&polygon, &record).unwrap();
        }
        std::fs::write(dir.path().join("parcels_z.prj"), Crs::Cgcs2000Gk120.esri_wkt()).unwrap();
    }
    let Err(Failure::Invalid(errors)) = import(pool, Kind::Parcels, Source::from_path(&shp).unwrap(), None).await
    else {
        panic!("a PolygonZ shapefile must be refused")
    };
    assert_eq!(errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["features[0].geometry"], "{errors:#?}");

    // Houses as CSV with POLYGON Z.
    import(pool, Kind::Parcels, source("flat.geojson", geojson_4549(&parcels[..1])), None).await.unwrap();
    let (e, n) = parcels[0].ring[0];
    let ring: Vec<String> = footprint(e, n).iter().map(|(x, y)| format!("{x} {y} 8.25")).collect();
    let csv = format!(
        "unit_number,floor_area_m2,floors,year_built,structure,wkt\n{}F00010001,306.50,3,1998,砖混,\"POLYGON Z(({}))\"\n",
        parcels[0].code,
        ring.join(",")
    );
    let Err(Failure::Invalid(errors)) =
        import(pool, Kind::Farmhouses, source("z.csv", csv.into_bytes()), Some(Crs::Cgcs2000Gk120)).await
    else {
        panic!("POLYGON Z must be refused")
    };
    assert_eq!(errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["features[0].geometry"], "{errors:#?}");
    let counts: (i64, i64) = sqlx::query_as("select (select count(*) from parcels), (select count(*) from farmhouses)")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(counts, (1, 0), "only the flat file was imported");
}

/// An import tells running services which tiles it made stale, as any write does: the houses' own boxes
/// and, on the `townships` layer, the box of every township the houses lie in (read once per statement,
/// DESIGN §6.2). The expected boxes are computed here from the townships themselves.
#[tokio::test]
async fn an_import_of_houses_notifies_the_boxes_of_the_townships_it_touched() {
    let db = district().await;
    let parcels = survey(1, 3);
    import(&db.pool, Kind::Parcels, source("p.geojson", geojson_4549(&parcels)), None).await.unwrap();
    let mut listener = sqlx::postgres::PgListener::connect_with(&db.pool).await.unwrap();
    listener.listen("map_tiles").await.unwrap();
    import(&db.pool, Kind::Farmhouses, source("h.csv", csv_houses(&parcels)), Some(Crs::Cgcs2000Gk120)).await.unwrap();
    let mut payloads = Vec::new();
    while let Ok(Ok(n)) = tokio::time::timeout(std::time::Duration::from_secs(2), listener.recv()).await {
        payloads.push(n.payload().to_string());
    }
    let townships: Vec<String> = sqlx::query_scalar(
        "select concat_ws(',', floor(st_xmin(b)), floor(st_ymin(b)), ceil(st_xmax(b)), ceil(st_ymax(b)))
         from (select distinct t.code, t.boundary_3857 as b from farmhouses f join townships t on t.code = f.township_code) s
         order by 1",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(!townships.is_empty());
    let expected = format!("townships {}", townships.join(";"));
    assert!(payloads.contains(&expected), "expected {expected:?} among {payloads:?}");
    let houses = payloads.iter().find(|p| p.starts_with("farmhouses ")).expect("the houses' own boxes");
    assert_eq!(houses.split(';').count(), 3, "{houses}");
}
