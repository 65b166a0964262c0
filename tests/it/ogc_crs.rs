//! OGC API – Features Part 2 (CRS by reference), `sortby` and `properties` on items: geometries in each
//! offered CRS agree with PROJ's own `cs2cs` to a millimetre, a `bbox` in EPSG:4549 selects what the same
//! box in CRS84 does, a walk of the `next` links under a sort gives every feature once in its order (and
//! `prev` goes back), `properties` gives exactly those keys, and bad values are refused naming their
//! parameter. Needs Debian's `proj-bin` (cs2cs) and, for the GDAL check, `gdal-bin`.

use std::collections::BTreeSet;
use std::process::Stdio;

use crate::common::TestDb;
use crate::common::fixtures::{CENTRE, M_PER_DEG_LAT, M_PER_DEG_LON};
use crate::common::map_fixtures::{houses_grid, spawn_with};
use farmhouse::domain::roles::Role;
use farmhouse::http::AppState;
use reqwest::header;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

fn epsg(code: u32) -> String {
    format!("http://www.opengis.net/def/crs/EPSG/0/{code}")
}

/// Status, `Content-Crs` header (if any) and body of a GET.
async fn get(url: &str) -> (u16, Option<String>, Value) {
    let res = reqwest::get(url).await.unwrap();
    let status = res.status().as_u16();
    let crs = res.headers().get("content-crs").map(|v| v.to_str().unwrap().to_string());
    let kind = res.headers()[header::CONTENT_TYPE].to_str().unwrap().to_string();
    let body: Value = res.json().await.unwrap();
    if status == 400 {
        assert_eq!(kind, "application/problem+json", "{body}");
    }
    (status, crs, body)
}

fn link<'a>(doc: &'a Value, rel: &str) -> Option<&'a str> {
    doc["links"].as_array().unwrap().iter().find(|l| l["rel"] == rel).and_then(|l| l["href"].as_str())
}

fn ids(page: &Value) -> Vec<i64> {
    page["features"].as_array().unwrap().iter().map(|f| f["id"].as_i64().unwrap()).collect()
}

/// Every feature of `url`'s pages, following `next` links, and the pages.
async fn walk(url: &str) -> (Vec<Value>, Vec<Value>) {
    let (mut features, mut pages) = (Vec::new(), Vec::new());
    let mut url = url.to_string();
    loop {
        let (status, _, page) = get(&url).await;
        assert_eq!(status, 200, "{url}: {page}");
        features.extend(page["features"].as_array().unwrap().iter().cloned());
        pages.push(page.clone());
        match link(&page, "next") {
            Some(next) => url = next.to_string(),
            None => return (features, pages),
        }
    }
}

/// `points` (longitude, latitude) transformed from EPSG:4326 to EPSG:`code` by PROJ's `cs2cs`, in the
/// axis order of the target CRS.
async fn cs2cs(code: u32, points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut child = tokio::process::Command::new("cs2cs")
        .args(["-d", "10", "EPSG:4326", &format!("EPSG:{code}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("cs2cs (Debian's proj-bin; scripts/install-deps.sh installs it)");
    // EPSG:4326 takes latitude first.
    let input: String = points.iter().map(|(lon, lat)| format!("{lat} {lon}\n")).collect();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Vec<f64> = l.split_whitespace().map(|n| n.parse().unwrap()).collect();
            (v[0], v[1])
        })
        .collect()
}

/// The vertices of house `id`'s stored footprint, longitude/latitude, in ring order.
async fn footprint(db: &TestDb, id: i64) -> Vec<(f64, f64)> {
    sqlx::query_as(
        "select st_x(d.geom), st_y(d.geom) from farmhouses f, st_dumppoints(f.footprint) d where f.id = $1 order by d.path",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await
    .unwrap()
}

/// The outer ring of a GeoJSON polygon.
fn ring(geometry: &Value) -> Vec<(f64, f64)> {
    geometry["coordinates"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
        .collect()
}

/// The largest distance in metres between the vertices of `a` and `b` (in degrees when `degrees`).
fn largest_gap(a: &[(f64, f64)], b: &[(f64, f64)], degrees: bool) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = if degrees { M_PER_DEG_LAT } else { 1.0 };
    a.iter().zip(b).map(|(p, q)| ((p.0 - q.0) * scale).hypot((p.1 - q.1) * scale)).fold(0.0, f64::max)
}

#[tokio::test]
async fn geometries_in_each_crs_agree_with_cs2cs_to_a_millimetre() {
    let db = TestDb::with_district().await;
    houses_grid(&db.pool, 1, 4, 40.0, -2000.0, 1500.0).await;
    let addr = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;
    let lonlat = footprint(&db, 3).await;

    // (EPSG code, coordinates in degrees, first axis is northing or latitude)
    for (code, degrees, flipped) in
        [(4549, false, true), (4528, false, true), (4490, true, true), (4326, true, true), (3857, false, false)]
    {
        let expected = cs2cs(code, &lonlat).await;
        let uri = epsg(code);
        let (status, crs, feature) =
            get(&format!("http://{addr}/collections/farmhouses/items/3?crs={}", urlencode(&uri))).await;
        assert_eq!(status, 200, "{feature}");
        assert_eq!(crs.as_deref(), Some(format!("<{uri}>").as_str()));
        let served = ring(&feature["geometry"]);
        let gap = largest_gap(&served, &expected, degrees);
        assert!(gap < 0.001, "EPSG:{code}: {gap} m from cs2cs: {served:?} vs {expected:?}");
        // The axis order is the CRS's: a northing (about 3.3 million metres) or a latitude (about 30°) first.
        let first = served[0].0;
        let north_first =
            if degrees { (29.0..31.0).contains(&first) } else { (3_000_000.0..5_000_000.0).contains(&first) };
        assert_eq!(north_first, flipped, "EPSG:{code} starts with {first}");
        if !degrees {
            let millimetres =
                served.iter().all(|p| [p.0, p.1].iter().all(|v| ((v * 1000.0).round() - v * 1000.0).abs() < 1e-4));
            assert!(millimetres, "metres to the millimetre: {}", feature["geometry"]);
        }

        // The same geometry on a page of items.
        let (_, crs, page) =
            get(&format!("http://{addr}/collections/farmhouses/items?crs={}&limit=10", urlencode(&uri))).await;
        assert_eq!(crs.as_deref(), Some(format!("<{uri}>").as_str()));
        let on_page = page["features"].as_array().unwrap().iter().find(|f| f["id"] == 3).unwrap();
        assert_eq!(on_page["geometry"], feature["geometry"]);
    }

    // Without crs (or with CRS84): longitude/latitude, and the header says so.
    for query in ["", "?crs=http%3A%2F%2Fwww.opengis.net%2Fdef%2Fcrs%2FOGC%2F1.3%2FCRS84"] {
        let (_, crs, feature) = get(&format!("http://{addr}/collections/farmhouses/items/3{query}")).await;
        assert_eq!(crs.as_deref(), Some(format!("<{CRS84}>").as_str()));
        assert!(largest_gap(&ring(&feature["geometry"]), &lonlat, true) < 0.02, "CRS84 keeps 7 decimals");
    }
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn collections_and_conformance_name_the_offered_crs() {
    let db = TestDb::with_district().await;
    let addr = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;
    let offered: Vec<String> =
        [CRS84.to_string()].into_iter().chain([4490, 4549, 4528, 4326, 3857].map(epsg)).collect();

    let (_, _, all) = get(&format!("http://{addr}/collections")).await;
    assert_eq!(all["crs"], serde_json::json!(offered));
    for c in all["collections"].as_array().unwrap() {
        assert_eq!(c["crs"], serde_json::json!(offered), "{}", c["id"]);
        assert_eq!(c["storageCrs"], CRS84);
    }
    let (_, _, conformance) = get(&format!("http://{addr}/conformance")).await;
    let classes = conformance["conformsTo"].as_array().unwrap();
    assert!(classes.iter().any(|c| c == "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs"));

    // PostGIS knows every one of them.
    let srids: Vec<i32> = sqlx::query_scalar(
        "select srid from spatial_ref_sys where srid in (4326, 4490, 4549, 4528, 3857) and auth_name = 'EPSG' order by 1",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(srids, [3857, 4326, 4490, 4528, 4549]);
}

#[tokio::test]
async fn a_bbox_in_gauss_kruger_selects_the_houses_of_the_same_box_in_crs84() {
    let db = TestDb::with_district().await;
    houses_grid(&db.pool, 1, 100, 40.0, 0.0, 0.0).await; // 10 × 10, 40 m apart, 12 m footprints
    let addr = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;
    let items = format!("http://{addr}/collections/farmhouses/items");

    // 50–170 m east and north of the first house: houses at 80, 120 and 160 m each way, edges in the gaps.
    let corner = |east: f64, north: f64| (CENTRE.0 + east / M_PER_DEG_LON, CENTRE.1 + north / M_PER_DEG_LAT);
    let (sw, ne) = (corner(50.0, 50.0), corner(170.0, 170.0));
    let (_, _, crs84) = get(&format!("{items}?limit=100&bbox={},{},{},{}", sw.0, sw.1, ne.0, ne.1)).await;
    let expected: BTreeSet<i64> = ids(&crs84).into_iter().collect();
    assert_eq!(expected.len(), 9, "{crs84}");

    // The same box in EPSG:4549, northing and easting of its corners by cs2cs: its lower and upper corner.
    let corners = cs2cs(4549, &[sw, (ne.0, sw.1), ne, (sw.0, ne.1)]).await;
    let (n0, e0) = corners.iter().fold((f64::MAX, f64::MAX), |m, c| (m.0.min(c.0), m.1.min(c.1)));
    let (n1, e1) = corners.iter().fold((f64::MIN, f64::MIN), |m, c| (m.0.max(c.0), m.1.max(c.1)));
    let gk = format!("{items}?limit=4&bbox={n0},{e0},{n1},{e1}&bbox-crs={}", urlencode(&epsg(4549)));
    let (features, pages) = walk(&gk).await;
    let walked: Vec<i64> = features.iter().map(|f| f["id"].as_i64().unwrap()).collect();
    assert_eq!(walked.iter().copied().collect::<BTreeSet<_>>(), expected, "{walked:?}");
    assert_eq!(walked.len(), 9, "each once over {} pages", pages.len());
    assert_eq!(pages[0]["numberMatched"], 9);
    assert!(link(&pages[0], "next").unwrap().contains("bbox-crs="), "links keep bbox-crs");

    // EPSG:4326 takes latitude first.
    let (_, _, wgs) =
        get(&format!("{items}?limit=100&bbox={},{},{},{}&bbox-crs={}", sw.1, sw.0, ne.1, ne.0, urlencode(&epsg(4326))))
            .await;
    assert_eq!(ids(&wgs).into_iter().collect::<BTreeSet<_>>(), expected);
    // Given easting first, the same numbers select nothing of these houses.
    let (_, _, swapped) =
        get(&format!("{items}?limit=100&bbox={e0},{n0},{e1},{n1}&bbox-crs={}", urlencode(&epsg(4549)))).await;
    assert_eq!(swapped["numberReturned"], 0);
}

#[tokio::test]
async fn bad_crs_sortby_and_properties_are_refused_naming_them() {
    let db = TestDb::with_district().await;
    houses_grid(&db.pool, 1, 3, 40.0, 0.0, 0.0).await;
    let addr = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;
    let items = format!("http://{addr}/collections/farmhouses/items");
    let gk = urlencode(&epsg(4549));
    for (query, field) in [
        (format!("crs={}", urlencode(&epsg(2385))), "crs"),
        ("crs=CRS84x".to_string(), "crs"),
        (format!("bbox=1,2,3,4&bbox-crs={}", urlencode(&epsg(32651))), "bbox-crs"),
        (format!("bbox=3320000,577000,3321000&bbox-crs={gk}"), "bbox"),
        (format!("bbox=3321000,577000,3320000,578000&bbox-crs={gk}"), "bbox"),
        (format!("bbox=120.8,29.9,121,30.1&bbox-crs={}", urlencode(&epsg(4326))), "bbox"),
        ("sortby=colour".to_string(), "sortby"),
        ("sortby=contract_no".to_string(), "sortby"),
        ("sortby=description".to_string(), "sortby"),
        ("sortby=floors,-floors".to_string(), "sortby"),
        ("properties=status,colour".to_string(), "properties"),
        ("properties=contract_no".to_string(), "properties"),
        ("sortby=floors&after=2".to_string(), "after"),
        ("sortby=floors&before=bm90IGEgY3Vyc29y".to_string(), "before"),
    ] {
        let (status, _, problem) = get(&format!("{items}?{query}")).await;
        assert_eq!(status, 400, "{query}: {problem}");
        assert_eq!(problem["field"], field, "{query}: {problem}");
    }
    for (query, field) in [(format!("crs={}", urlencode(&epsg(2385))), "crs"), ("properties=x".into(), "properties")] {
        let (status, _, problem) = get(&format!("{items}/1?{query}")).await;
        assert_eq!((status, problem["field"].as_str()), (400, Some(field)), "{query}: {problem}");
    }
    // A cursor of one order is refused under another.
    let (_, _, page) = get(&format!("{items}?sortby=floors&limit=1")).await;
    let next = link(&page, "next").unwrap().replace("sortby=floors", "sortby=-floors");
    let (status, _, problem) = get(&next).await;
    assert_eq!((status, problem["field"].as_str()), (400, Some("after")), "{problem}");
}

/// The ids of `features` in the order `sortby` asks, worked out here from their properties: each key
/// ascending or descending, then the id as the last key runs.
fn sorted(features: &[Value], keys: &[(&str, bool)]) -> Vec<Value> {
    use std::cmp::Ordering;
    fn compare(a: &Value, b: &Value) -> Ordering {
        match (a, b) {
            (Value::String(x), Value::String(y)) => x.cmp(y),
            (x, y) => x.as_f64().unwrap().partial_cmp(&y.as_f64().unwrap()).unwrap(),
        }
    }
    let mut rows: Vec<&Value> = features.iter().collect();
    rows.sort_by(|a, b| {
        for (k, descending) in keys {
            let order = compare(&a["properties"][k], &b["properties"][k]);
            let order = if *descending { order.reverse() } else { order };
            if order.is_ne() {
                return order;
            }
        }
        let by_id = compare(&a["id"], &b["id"]);
        if keys.last().is_some_and(|k| k.1) { by_id.reverse() } else { by_id }
    });
    rows.iter().map(|f| f["id"].clone()).collect()
}

/// Walks `sortby` over `collection` a few features a page: every feature once, in the order [`sorted`]
/// works out from `all`, and the `prev` links go back page by page.
async fn assert_sorted_walk(items: &str, all: &[Value], sortby: &str, keys: &[(&str, bool)], limit: usize) {
    let (features, pages) = walk(&format!("{items}?sortby={sortby}&limit={limit}")).await;
    let walked: Vec<Value> = features.iter().map(|f| f["id"].clone()).collect();
    assert_eq!(walked, sorted(all, keys), "sortby={sortby}");
    assert_eq!(pages.len(), all.len().div_ceil(limit), "sortby={sortby}");
    // Back from the fourth page: the third, then the second.
    let ids = |page: &Value| page["features"].as_array().unwrap().iter().map(|f| f["id"].clone()).collect::<Vec<_>>();
    let (_, _, back) = get(link(&pages[3], "prev").unwrap()).await;
    assert_eq!(ids(&back), ids(&pages[2]), "sortby={sortby}");
    let (_, _, back) = get(link(&back, "prev").unwrap()).await;
    assert_eq!(ids(&back), ids(&pages[1]), "sortby={sortby}");
}

#[tokio::test]
async fn walking_the_pages_of_a_sort_gives_every_feature_once_in_order() {
    let db = TestDb::with_district().await;
    houses_grid(&db.pool, 1, 60, 40.0, 0.0, 0.0).await; // floors 1–3 and four statuses: many ties
    let addr = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;
    let items = format!("http://{addr}/collections/farmhouses/items");
    let (all, _) = walk(&format!("{items}?limit=1000")).await;
    assert_eq!(all.len(), 60);

    for (sortby, keys) in [
        ("floors", vec![("floors", false)]),
        ("-floors", vec![("floors", true)]),
        ("%2Bfloor_area_m2", vec![("floor_area_m2", false)]),
        ("-floors,floor_area_m2", vec![("floors", true), ("floor_area_m2", false)]),
        ("floors,-year_built", vec![("floors", false), ("year_built", true)]),
        ("status,-floors", vec![("status", false), ("floors", true)]),
        ("-unit_number", vec![("unit_number", true)]),
    ] {
        assert_sorted_walk(&items, &all, sortby, &keys, 7).await;
    }

    // With a filter the sort walks the filtered features.
    let (listed, _) = walk(&format!("{items}?status=registered&sortby=-floors&limit=4")).await;
    let registered: Vec<Value> = all.iter().filter(|f| f["properties"]["status"] == "registered").cloned().collect();
    let walked: Vec<Value> = listed.iter().map(|f| f["id"].clone()).collect();
    assert_eq!(walked, sorted(&registered, &[("floors", true)]));
}

#[tokio::test]
async fn townships_sort_on_their_figures_with_ties_broken_by_code() {
    let db = TestDb::with_district().await;
    houses_grid(&db.pool, 1, 8, 40.0, 0.0, 0.0).await; // all in 330604001, two of them certified
    for n in 2..=9 {
        sqlx::query("insert into townships (code, name, kind, boundary) select $1, $2, '镇', outline from districts")
            .bind(format!("33060400{n}"))
            .bind(format!("测试{n}镇"))
            .execute(&db.pool)
            .await
            .unwrap();
    }
    let addr = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;
    let items = format!("http://{addr}/collections/townships/items");
    let (all, _) = walk(&format!("{items}?limit=100")).await;
    assert_eq!(all.len(), 9);
    assert_eq!(all.iter().filter(|t| t["properties"]["houses_total"] == 0).count(), 8, "ties: no houses");
    for (sortby, keys) in [
        ("houses_total", vec![("houses_total", false)]),
        ("-houses_total", vec![("houses_total", true)]),
        ("-certified_houses,code", vec![("certified_houses", true), ("code", false)]),
        ("houses_total,-code", vec![("houses_total", false), ("code", true)]),
    ] {
        assert_sorted_walk(&items, &all, sortby, &keys, 2).await;
    }
}

#[tokio::test]
async fn properties_gives_exactly_those_keys_on_every_page() {
    let db = TestDb::with_district().await;
    houses_grid(&db.pool, 1, 12, 40.0, 0.0, 0.0).await;
    let public = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;
    let official = spawn_with(AppState::new(db.pool.clone()), Role::Official).await;

    let (features, pages) = walk(&format!(
        "http://{public}/collections/farmhouses/items?properties=status,floors&sortby=-year_built&limit=5"
    ))
    .await;
    assert_eq!((features.len(), pages.len()), (12, 3));
    for f in &features {
        let keys: BTreeSet<&str> = f["properties"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, BTreeSet::from(["status", "floors"]), "{f}");
        assert!(f["geometry"]["coordinates"].is_array());
    }
    let (_, _, none) = get(&format!("http://{public}/collections/farmhouses/items?properties=")).await;
    assert!(none["features"].as_array().unwrap().iter().all(|f| f["properties"] == serde_json::json!({})));
    let (_, _, one) = get(&format!("http://{public}/collections/parcels/items/1?properties=area_m2")).await;
    assert_eq!(one["properties"].as_object().unwrap().keys().collect::<Vec<_>>(), ["area_m2"]);
    // Staff may ask for what staff see.
    let (status, _, staff) =
        get(&format!("http://{official}/collections/farmhouses/items?properties=contract_no&sortby=-floors")).await;
    assert_eq!(status, 200, "{staff}");
    assert!(staff["features"][0]["properties"].as_object().unwrap().contains_key("contract_no"));
}

/// GDAL's OAPIF driver reads a collection in EPSG:4549 with `-oo CRS=EPSG:4549` from GDAL 3.7 on; an
/// older GDAL has no such option, and this test then says so and checks nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gdal_reads_the_houses_in_gauss_kruger_where_it_can() {
    let options = std::process::Command::new("ogrinfo").args(["--format", "OAPIF"]).output();
    let options = String::from_utf8_lossy(&options.expect("ogrinfo (gdal-bin)").stdout).to_string();
    if !options.contains("name=\"CRS\"") {
        eprintln!("this GDAL's OAPIF driver takes no CRS open option (GDAL 3.7 added it): nothing checked");
        return;
    }
    let db = TestDb::with_district().await;
    houses_grid(&db.pool, 1, 25, 40.0, 0.0, 0.0).await;
    let addr = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;
    let source = format!("OAPIF:http://{addr}/");
    let out = tokio::process::Command::new("ogrinfo")
        .args(["-ro", "-so", "-oo", "CRS=EPSG:4549", &source, "farmhouses"])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("Feature Count: 25"), "{text}");
    assert!(text.contains("4549") || text.contains("Gauss-Kruger CM 120E"), "{text}");
}
