//! Real GIS clients against the running service: GDAL's OAPIF driver counts and copies a whole
//! collection, GDAL's MVT driver reads tiles of each layer, and OWSLib (Python) lists collections and
//! items. Needs Debian's `gdal-bin` and PyPI's OWSLib (`scripts/install-deps.sh test` installs both).

use std::net::SocketAddr;
use std::process::{Command, Output};

use crate::common::TestDb;
use crate::common::map_fixtures::{houses_grid, spawn_with, tile_at};
use farmhouse::domain::roles::Role;
use farmhouse::http::AppState;

/// Runs `program` with `args` off the async runtime; panics with its output unless it succeeds. Its
/// standard output.
pub(crate) async fn run(program: &str, args: Vec<String>) -> String {
    run_env(program, args, &[]).await.0
}

/// [`run`] with `env` added to the environment; standard output and standard error.
pub(crate) async fn run_env(program: &str, args: Vec<String>, env: &[(&str, &str)]) -> (String, String) {
    let shown = format!("{program} {}", args.join(" "));
    let program = program.to_string();
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let out: Output = tokio::task::spawn_blocking(move || Command::new(&program).args(&args).envs(env).output())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("cannot run {shown} ({e}); run scripts/install-deps.sh test"));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{shown} failed:\n{stdout}\n{stderr}");
    (stdout, stderr)
}

/// GDAL's MVT driver on `file`, the tile at `path` (`z/x/y`): `ogrinfo -al` of every feature.
pub(crate) async fn ogrinfo_tile(file: &std::path::Path, path: &str) -> String {
    let p: Vec<&str> = path.split('/').collect();
    let args = [format!("Z={}", p[0]), format!("X={}", p[1]), format!("Y={}", p[2])];
    let mut argv: Vec<String> = vec!["-ro".into(), "-al".into()];
    for a in args {
        argv.extend(["-oo".into(), a]);
    }
    argv.push(file.to_string_lossy().to_string());
    run("ogrinfo", argv).await
}

/// The number after `Feature Count:` in ogrinfo's summary.
fn feature_count(ogrinfo: &str) -> i64 {
    ogrinfo
        .lines()
        .find_map(|l| l.strip_prefix("Feature Count: "))
        .unwrap_or_else(|| panic!("no feature count in:\n{ogrinfo}"))
        .trim()
        .parse()
        .unwrap()
}

/// The district with `n` houses in a grid `spacing` m apart and a village, served to the public.
pub(crate) async fn service_with_grid(n: u32, spacing: f64) -> (TestDb, SocketAddr) {
    let db = TestDb::with_district().await;
    houses_grid(&db.pool, 1, n, spacing, 0.0, 0.0).await;
    sqlx::query(
        "insert into villages (township_code, name, location) values ('330604001', '网格村', st_setsrid(st_makepoint(120.9, 30.0), 4326))",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let addr = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;
    (db, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gdal_counts_and_copies_every_farmhouse_through_ogc_api_features() {
    let (db, addr) = service_with_grid(1234, 30.0).await;
    let in_database: i64 = sqlx::query_scalar("select count(*) from farmhouses").fetch_one(&db.pool).await.unwrap();
    let source = format!("OAPIF:http://{addr}/");

    let summary = run("ogrinfo", vec!["-ro".into(), "-so".into(), source.clone(), "farmhouses".into()]).await;
    assert_eq!(feature_count(&summary), in_database, "ogrinfo's count:\n{summary}");

    let dir = tempfile::tempdir().unwrap();
    let gpkg = dir.path().join("farmhouses.gpkg").to_string_lossy().to_string();
    run("ogr2ogr", vec!["-f".into(), "GPKG".into(), gpkg.clone(), source, "farmhouses".into()]).await;
    let copied = run("ogrinfo", vec!["-ro".into(), "-so".into(), gpkg.clone(), "farmhouses".into()]).await;
    assert_eq!(feature_count(&copied), in_database, "features in the GeoPackage:\n{copied}");
    // Every house arrived once, with its unit number.
    let distinct = run(
        "ogrinfo",
        vec![
            "-ro".into(),
            "-q".into(),
            gpkg,
            "-sql".into(),
            "select count(distinct unit_number) as n from farmhouses".into(),
        ],
    )
    .await;
    assert!(distinct.contains(&format!("n (Integer) = {in_database}")), "{distinct}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gdal_reads_the_expected_features_from_a_tile_of_each_layer() {
    let (db, addr) = service_with_grid(100, 30.0).await;
    let dir = tempfile::tempdir().unwrap();
    let houses_in = |z: u8| {
        let pool = db.pool.clone();
        let t = tile_at(z, 100.0, 100.0);
        async move {
            let p: Vec<i32> = t.split('/').map(|s| s.parse().unwrap()).collect();
            let n: i64 = sqlx::query_scalar(
                "select count(*) from farmhouses where st_intersects(footprint_3857, st_tileenvelope($1, $2, $3))",
            )
            .bind(p[0])
            .bind(p[1])
            .bind(p[2])
            .fetch_one(&pool)
            .await
            .unwrap();
            n
        }
    };
    let z16_houses = houses_in(16).await;
    assert!(z16_houses > 1, "the tile holds several houses");
    for (layer, z, expected) in
        [("farmhouses", 16, z16_houses), ("parcels", 16, z16_houses), ("townships", 8, 1), ("villages", 12, 1)]
    {
        let path = tile_at(z, 100.0, 100.0);
        let body =
            reqwest::get(format!("http://{addr}/tiles/{layer}/{path}.pbf")).await.unwrap().bytes().await.unwrap();
        let file = dir.path().join(format!("{layer}.mvt"));
        std::fs::write(&file, &body).unwrap();
        let out = ogrinfo_tile(&file, &path).await;
        assert!(out.contains(&format!("Layer name: {layer}")), "{out}");
        let read = out.lines().filter(|l| l.starts_with("OGRFeature(")).count() as i64;
        // Parcels of houses at the tile's edge reach into it too.
        if layer == "parcels" {
            assert!(read >= expected, "{layer}: GDAL read {read} features, expected at least {expected}");
        } else {
            assert_eq!(read, expected, "{layer}: GDAL read {read} features:\n{out}");
        }
        if layer == "farmhouses" {
            assert!(out.contains("unit_number (String) = 330604001"), "attributes are read:\n{out}");
        }
        if layer == "townships" {
            assert!(out.contains("houses_total (Integer") && out.contains("= 100"), "{out}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owslib_lists_collections_and_reads_items() {
    let (_db, addr) = service_with_grid(25, 30.0).await;
    let script = format!(
        r#"
from owslib.ogcapi.features import Features
api = Features("http://{addr}/")
ids = [c["id"] for c in api.collections()["collections"]]
print("collections", ",".join(ids))
page = api.collection_items("farmhouses", limit=5)
print("returned", page["numberReturned"], "matched", page["numberMatched"], "features", len(page["features"]))
print("first", page["features"][0]["properties"]["unit_number"])
print("conforms core", "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in api.conformance()["conformsTo"])
"#
    );
    let out = run("python3", vec!["-c".into(), script]).await;
    assert!(out.contains("collections farmhouses,parcels,townships,villages"), "{out}");
    assert!(out.contains("returned 5 matched 25 features 5"), "{out}");
    assert!(out.contains("first 330604001001JC"), "{out}");
    assert!(out.contains("conforms core True"), "{out}");
}
