//! CQL2 filters (OGC API – Features Part 3) on items and on vector tiles: what a filter selects is what
//! the same condition selects in SQL, page after page; the queryables list what each role may filter
//! on and no more; a corpus of hostile filters (`tests/data/cql_hostile_filters.json`) is refused with
//! 400 problem+json, quickly, by items and tiles alike; filtered tiles hold exactly the matching
//! features, clusters count the matching houses, and edits reach cached filtered tiles. Real clients:
//! GDAL (OAPIF and MVT drivers) and OWSLib.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::common::TestDb;
use crate::common::fixtures;
use crate::common::map_fixtures::{features, houses_grid, spawn_with, tag, tile_at};
use crate::gis_clients::{ogrinfo_tile, run, run_env};
use farmhouse::domain::roles::Role;
use farmhouse::http::AppState;
use reqwest::header;
use serde_json::Value;

/// A URL of `addr` with `path` and the query `pairs`, encoded.
fn url(addr: SocketAddr, path: &str, pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    s.extend_pairs(pairs);
    format!("http://{addr}{path}?{}", s.finish())
}

async fn get(url: &str) -> (u16, String, Vec<u8>) {
    let res = reqwest::get(url).await.unwrap();
    let status = res.status().as_u16();
    let kind = res.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, kind, res.bytes().await.unwrap().to_vec())
}

/// Every feature id the items of `collection` under `pairs` give, following the `next` links, and the
/// first page's `numberMatched`.
async fn all_ids(addr: SocketAddr, collection: &str, pairs: &[(&str, &str)]) -> (Vec<i64>, Option<i64>) {
    let mut pairs = pairs.to_vec();
    pairs.push(("limit", "37"));
    let mut next = Some(url(addr, &format!("/collections/{collection}/items"), &pairs));
    let (mut ids, mut matched) = (Vec::new(), None);
    let mut first = true;
    while let Some(u) = next.take() {
        let (status, _, body) = get(&u).await;
        let page: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status, 200, "{u}: {page}");
        if std::mem::take(&mut first) {
            matched = page["numberMatched"].as_i64();
        }
        ids.extend(page["features"].as_array().unwrap().iter().map(|f| f["id"].as_i64().unwrap()));
        next = page["links"].as_array().unwrap().iter().find(|l| l["rel"] == "next").map(|l| {
            let href = l["href"].as_str().unwrap().to_string();
            assert!(href.contains("filter="), "the next link keeps the filter: {href}");
            href
        });
    }
    (ids, matched)
}

async fn ids_where(pool: &sqlx::PgPool, condition: &str) -> Vec<i64> {
    let sql = format!(
        "select f.id from farmhouses f join parcels p on p.parcel_code = f.parcel_code
         left join lateral (select l.* from listings l where l.farmhouse_id = f.id and l.status = 'open' limit 1) l on true
         where {condition} order by f.id"
    );
    sqlx::query_scalar(&sql).fetch_all(pool).await.unwrap()
}

/// The box of the first `n` houses' footprints: west, south, east, north (degrees).
async fn extent_of_first(pool: &sqlx::PgPool, n: i64) -> [f64; 4] {
    let (a, b, c, d): (f64, f64, f64, f64) = sqlx::query_as(
        "select st_xmin(e), st_ymin(e), st_xmax(e), st_ymax(e)
         from (select st_extent(footprint)::geometry as e from (select footprint from farmhouses order by id limit $1) s) s",
    )
    .bind(n)
    .fetch_one(pool)
    .await
    .unwrap();
    [a, b, c, d]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_in_text_and_json_select_what_the_same_condition_selects_in_sql() {
    let db = TestDb::with_district().await;
    houses_grid(&db.pool, 1, 120, 30.0, 0.0, 0.0).await;
    let listed: i64 =
        sqlx::query_scalar("select min(id) from farmhouses where status = 'listed'").fetch_one(&db.pool).await.unwrap();
    fixtures::listing(&db.pool, listed).await;
    let addr = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;
    let [w, s, e, n] = extent_of_first(&db.pool, 30).await;
    let (mw, ms) = (f64::midpoint(w, e), f64::midpoint(s, n));
    // The same box in EPSG:4549, northing first as EPSG orders its axes.
    let (x0, y0, x1, y1): (f64, f64, f64, f64) = sqlx::query_as(
        "select st_xmin(g), st_ymin(g), st_xmax(g), st_ymax(g)
         from (select st_transform(st_makeenvelope($1, $2, $3, $4, 4326), 4549) as g) s",
    )
    .bind(w)
    .bind(s)
    .bind(mw)
    .bind(ms)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let gk = format!("S_INTERSECTS(geometry, POLYGON(({y0} {x0}, {y0} {x1}, {y1} {x1}, {y1} {x0}, {y0} {x0})))");
    let gk_sql = format!(
        "st_intersects(f.footprint, st_transform(st_geomfromtext('POLYGON(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))', 4549), 4326))"
    );
    let bbox = format!("S_INTERSECTS(geometry, BBOX({w}, {s}, {mw}, {ms}))");
    let bbox_sql = format!("st_intersects(f.footprint, st_makeenvelope({w}, {s}, {mw}, {ms}, 4326))");
    let within = format!("S_WITHIN(geometry, BBOX({w}, {s}, {e}, {n})) AND status <> 'registered'");
    let within_sql =
        format!("st_within(f.footprint, st_makeenvelope({w}, {s}, {e}, {n}, 4326)) and f.status <> 'registered'");
    let json_filter = r#"{"op":"and","args":[{"op":"in","args":[{"property":"status"},["listed","certified"]]},
                          {"op":">=","args":[{"property":"floors"},2]}]}"#;
    let cases: Vec<(&str, Option<&str>, Option<&str>, String)> = vec![
        ("status = 'listed' AND floors >= 2", None, None, "f.status = 'listed' and f.floors >= 2".into()),
        (
            "floor_area_m2 BETWEEN 150 AND 250 OR year_built < 1970",
            None,
            None,
            "f.floor_area_m2 between 150 and 250 or f.year_built < 1970".into(),
        ),
        (
            "status IN ('certified', 'contracted') AND NOT (floors = 3)",
            None,
            None,
            "f.status in ('certified', 'contracted') and not f.floors = 3".into(),
        ),
        ("unit_number LIKE '330604001001JC0001%'", None, None, "f.unit_number::text like '330604001001JC0001%'".into()),
        ("CASEI(status) = casei('LISTED')", None, None, "f.status = 'listed'".into()),
        ("asking_rent_yuan IS NULL", None, None, "l.asking_rent_fen is null".into()),
        ("NOT asking_rent_yuan IS NULL", None, None, "l.asking_rent_fen is not null".into()),
        ("village <> '网格村0' OR township_code = '330604001'", None, None, "true".into()),
        (&bbox, None, None, bbox_sql),
        (&within, None, None, within_sql),
        (&gk, None, Some("http://www.opengis.net/def/crs/EPSG/0/4549"), gk_sql),
        (json_filter, Some("cql2-json"), None, "f.status in ('listed', 'certified') and f.floors >= 2".into()),
        ("notice_start = DATE('2020-01-01')", None, None, "l.notice_start = '2020-01-01'".into()),
        (
            "T_DURING(notice_end, INTERVAL('2020-01-10', '2020-01-20'))",
            None,
            None,
            "l.notice_end > '2020-01-10' and l.notice_end < '2020-01-20'".into(),
        ),
        ("T_AFTER(notice_end, DATE('2020-01-15'))", None, None, "l.notice_end > '2020-01-15'".into()),
    ];
    let mut nonempty = 0;
    for (filter, lang, crs, condition) in &cases {
        let mut pairs = vec![("filter", *filter)];
        pairs.extend(lang.map(|l| ("filter-lang", l)));
        pairs.extend(crs.map(|c| ("filter-crs", c)));
        let (ids, matched) = all_ids(addr, "farmhouses", &pairs).await;
        let expected = ids_where(&db.pool, condition).await;
        assert_eq!(ids, expected, "{filter}");
        assert_eq!(matched, Some(expected.len() as i64), "numberMatched of {filter}");
        if !expected.is_empty() && expected.len() < 120 {
            nonempty += 1;
        }
    }
    assert!(nonempty >= 12, "most cases select some houses but not all ({nonempty})");
}

#[tokio::test]
async fn the_queryables_list_exactly_what_each_role_may_filter_on() {
    let db = TestDb::with_district().await;
    crate::common::map_fixtures::leased_house(&db.pool).await;
    let public = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;
    let officer = spawn_with(AppState::new(db.pool.clone()), Role::Officer).await;
    let names = |doc: &Value| -> Vec<String> { doc["properties"].as_object().unwrap().keys().cloned().collect() };

    let (status, kind, body) = get(&format!("http://{public}/collections/farmhouses/queryables")).await;
    assert_eq!((status, kind.as_str()), (200, "application/schema+json"));
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(doc["$id"], format!("http://{public}/collections/farmhouses/queryables"));
    assert_eq!(doc["additionalProperties"], false);
    let visible: Vec<String> = farmhouse::map::Layer::Farmhouses
        .visible(farmhouse::domain::roles::Audience::Public, false)
        .filter(|p| p.kind != farmhouse::map::layers::Kind::List)
        .map(|p| p.name.to_string())
        .collect();
    let mut expected = vec!["geometry".to_string()];
    expected.extend(visible);
    expected.extend(["notice_start".to_string(), "notice_end".to_string(), "allowed_uses".to_string()]);
    assert_eq!(names(&doc), expected);
    assert_eq!(doc["properties"]["floors"]["type"], "integer");
    assert_eq!(doc["properties"]["notice_start"]["format"], "date");
    for private in ["lessee_party_id", "contract_no", "owner_party_id", "photo_urls"] {
        assert!(!names(&doc).contains(&private.to_string()), "{private} is not public");
    }
    let (_, _, body) = get(&format!("http://{officer}/collections/farmhouses/queryables")).await;
    let staff: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        names(&staff).contains(&"contract_no".to_string()) && names(&staff).contains(&"lessee_party_id".to_string())
    );

    // What the queryables allow is what the filter takes.
    let q = [("filter", "contract_no = 'HT-0001'")];
    let (status, kind, body) = get(&url(public, "/collections/farmhouses/items", &q)).await;
    assert_eq!((status, kind.as_str()), (400, "application/problem+json"));
    let problem: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problem["field"], "filter");
    assert!(!problem["detail"].as_str().unwrap().contains("contract_no,"), "the public list does not name it");
    let (status, _, body) = get(&url(officer, "/collections/farmhouses/items", &q)).await;
    let page: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((status, page["numberMatched"].as_i64()), (200, Some(1)), "{page}");
    assert_eq!(page["features"][0]["properties"]["contract_no"], "HT-0001");

    // Every collection has its queryables, linked from the collection; none for an unknown one.
    for layer in ["parcels", "townships", "villages"] {
        let (status, _, body) = get(&format!("http://{public}/collections/{layer}/queryables")).await;
        let doc: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status, 200);
        let props = doc["properties"].as_object().unwrap();
        assert!(props["geometry"].is_object() && props.len() > 2, "{doc}");
    }
    let (_, _, body) = get(&format!("http://{public}/collections/farmhouses")).await;
    let c: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        c["links"].as_array().unwrap().iter().any(|l| l["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/queryables")
    );
    assert_eq!(get(&format!("http://{public}/collections/nothing/queryables")).await.0, 404);
}

/// One hostile filter: why it is hostile, the filter, its language and CRS if any, and the parameter
/// the refusal must name.
type Hostile = (String, String, Option<String>, Option<String>, String);

/// The corpus: each case a filter (or `{"repeat": [prefix, unit, times, suffix], "sep"}`), its
/// language and CRS if any, and the parameter the refusal must name.
fn hostile_corpus() -> Vec<Hostile> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/cql_hostile_filters.json");
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    cases
        .iter()
        .map(|c| {
            let filter = match &c["filter"] {
                Value::String(s) => s.clone(),
                Value::Object(r) => {
                    let p = r["repeat"].as_array().unwrap();
                    let unit = p[1].as_str().unwrap();
                    let times = p[2].as_u64().unwrap() as usize;
                    let sep = c["filter"]["sep"].as_str();
                    let body = match sep {
                        Some(sep) => format!("{sep}{unit}").repeat(times),
                        None => unit.repeat(times),
                    };
                    format!("{}{body}{}", p[0].as_str().unwrap(), p[3].as_str().unwrap())
                }
                other => panic!("bad case {other}"),
            };
            let text = |k: &str| c[k].as_str().map(str::to_string);
            (c["why"].as_str().unwrap().to_string(), filter, text("lang"), text("crs"), text("field").unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_filters_are_refused_quickly_as_problems_naming_the_parameter() {
    let db = TestDb::with_district().await;
    houses_grid(&db.pool, 1, 50, 30.0, 0.0, 0.0).await;
    let addr = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;
    let before: i64 = sqlx::query_scalar("select count(*) from farmhouses").fetch_one(&db.pool).await.unwrap();
    let corpus = hostile_corpus();
    assert!(corpus.len() >= 40, "{} cases", corpus.len());
    let tile = format!("/tiles/farmhouses/{}", tile_at(16, 0.0, 0.0));
    let mut slowest = (Duration::ZERO, String::new());
    for (why, filter, lang, crs, field) in &corpus {
        let mut pairs = vec![("filter", filter.as_str())];
        pairs.extend(lang.as_deref().map(|l| ("filter-lang", l)));
        pairs.extend(crs.as_deref().map(|c| ("filter-crs", c)));
        for path in ["/collections/farmhouses/items", tile.as_str(), "/tiles/farmhouses"] {
            let started = Instant::now();
            let (status, kind, body) = get(&url(addr, path, &pairs)).await;
            let took = started.elapsed();
            if took > slowest.0 {
                slowest = (took, format!("{why} on {path}"));
            }
            let problem: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            assert_eq!(status, 400, "{why} on {path}: {problem}");
            assert_eq!(kind, "application/problem+json", "{why} on {path}");
            assert_eq!(problem["field"], field.as_str(), "{why} on {path}: {problem}");
            assert!(took < Duration::from_secs(3), "{why} on {path} took {took:?}");
        }
    }
    eprintln!("slowest refusal: {:?} ({})", slowest.0, slowest.1);
    assert!(slowest.0 < Duration::from_secs(1), "slowest refusal {slowest:?}");
    let after: i64 = sqlx::query_scalar("select count(*) from farmhouses").fetch_one(&db.pool).await.unwrap();
    assert_eq!(before, after, "nothing changed");
    // The service still answers filters after all that.
    let (status, _, _) = get(&url(addr, "/collections/farmhouses/items", &[("filter", "floors = 1")])).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filtered_tile_holds_exactly_the_matching_features_and_clusters_count_them() {
    let db = TestDb::with_district().await;
    houses_grid(&db.pool, 1, 100, 30.0, 0.0, 0.0).await;
    let addr = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;
    let filter = "status = 'listed' OR floors = 3";
    let condition = "f.status = 'listed' or f.floors = 3";

    let path = tile_at(16, 100.0, 100.0);
    let p: Vec<i32> = path.split('/').map(|s| s.parse().unwrap()).collect();
    let in_tile = |extra: &str| {
        format!(
            "select count(*) from farmhouses f where st_intersects(f.footprint_3857, st_tileenvelope({}, {}, {})) and ({extra})",
            p[0], p[1], p[2]
        )
    };
    let all: i64 = sqlx::query_scalar(&in_tile("true")).fetch_one(&db.pool).await.unwrap();
    let matching: i64 = sqlx::query_scalar(&in_tile(condition)).fetch_one(&db.pool).await.unwrap();
    assert!(matching > 0 && matching < all, "{matching} of {all}");
    let u = url(addr, &format!("/tiles/farmhouses/{path}"), &[("filter", filter)]);
    let (status, _, body) = get(&u).await;
    assert_eq!(status, 200);
    let drawn = features(&body, "farmhouses");
    assert_eq!(drawn.len() as i64, matching);
    for (_, tags) in &drawn {
        assert!(tag(tags, "status") == Some("listed") || tag(tags, "floors") == Some("3"), "{tags:?}");
    }

    // GDAL's MVT driver reads the same features.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("filtered.mvt");
    std::fs::write(&file, &body).unwrap();
    let out = ogrinfo_tile(&file, &path).await;
    let read = out.lines().filter(|l| l.starts_with("OGRFeature(")).count() as i64;
    assert_eq!(read, matching, "{out}");
    let statuses = out.lines().filter(|l| l.trim_start().starts_with("status (String) = ")).count() as i64;
    let listed_or_3 = out
        .lines()
        .filter(|l| l.trim_start() == "status (String) = listed" || l.trim_start().starts_with("floors (Integer) = 3"))
        .count() as i64;
    assert_eq!(statuses, matching);
    assert!(listed_or_3 >= matching, "{out}");

    // At z12 the clusters count only the matching houses: all of them, here, in one or a few cells.
    let z12 = tile_at(12, 100.0, 100.0);
    let (status, _, body) =
        get(&url(addr, &format!("/tiles/farmhouses/{z12}"), &[("filter", "status = 'listed'")])).await;
    assert_eq!(status, 200);
    let clusters = features(&body, "farmhouses");
    let sum = |k: &str| clusters.iter().map(|(_, t)| tag(t, k).unwrap().parse::<i64>().unwrap()).sum::<i64>();
    let listed: i64 = sqlx::query_scalar("select count(*) from farmhouses where status = 'listed'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        (sum("houses"), sum("listed"), sum("registered") + sum("contracted") + sum("certified")),
        (listed, listed, 0)
    );
    let (_, _, unfiltered) = get(&format!("http://{addr}/tiles/farmhouses/{z12}")).await;
    let ids =
        |c: &[(u64, Vec<(String, String)>)]| c.iter().map(|(id, _)| *id).collect::<std::collections::BTreeSet<_>>();
    assert!(ids(&clusters).is_subset(&ids(&features(&unfiltered, "farmhouses"))), "the same cells, by the same ids");

    // TileJSON asked with a filter names tile URLs that keep it.
    let (_, _, body) = get(&url(addr, "/tiles/farmhouses", &[("filter", filter)])).await;
    let tilejson: Value = serde_json::from_slice(&body).unwrap();
    let template = tilejson["tiles"][0].as_str().unwrap();
    assert!(template.ends_with("/{z}/{x}/{y}?filter=status+%3D+%27listed%27+OR+floors+%3D+3"), "{template}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_that_takes_a_house_into_or_out_of_a_filter_changes_the_cached_filtered_tile() {
    let db = TestDb::with_district().await;
    houses_grid(&db.pool, 1, 16, 30.0, 0.0, 0.0).await;
    let state = AppState::new(db.pool.clone());
    let addr = spawn_with(state.clone(), Role::Public).await;
    state.tiles.listening().await;
    let path = format!("/tiles/farmhouses/{}", tile_at(15, 0.0, 0.0));
    let filtered = url(addr, &path, &[("filter", "status = 'certified'")]);
    let fetch = |u: String| async move {
        let res = reqwest::get(&u).await.unwrap();
        let cache = res.headers()["x-tile-cache"].to_str().unwrap().to_string();
        let body = res.bytes().await.unwrap().to_vec();
        (features(&body, "farmhouses").iter().map(|(id, _)| *id as i64).collect::<Vec<_>>(), cache)
    };
    let certified = ids_where(&db.pool, "f.status = 'certified'").await;
    let (first, cache) = fetch(filtered.clone()).await;
    assert_eq!(cache, "miss");
    let mut sorted = first.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, certified);
    assert_eq!(fetch(filtered.clone()).await.1, "hit", "cached under its filter");
    // Another spelling of the same filter is the same cached tile.
    let respelt = url(addr, &path, &[("filter", "status='certified'")]);
    assert_eq!(fetch(respelt).await.1, "hit", "cached under the filter's normal form");

    // A house enters the filter, written by another process: the notification drops the tile.
    let entering: i64 = ids_where(&db.pool, "f.status = 'registered'").await[0];
    sqlx::query("update farmhouses set status = 'certified' where id = $1")
        .bind(entering)
        .execute(&db.pool)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut now = fetch(filtered.clone()).await.0;
    while !now.contains(&entering) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        now = fetch(filtered.clone()).await.0;
    }
    assert!(now.contains(&entering), "the house that became certified is drawn");
    // And one leaves it.
    let leaving = certified[0];
    sqlx::query("update farmhouses set status = 'contracted' where id = $1")
        .bind(leaving)
        .execute(&db.pool)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while now.contains(&leaving) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        now = fetch(filtered.clone()).await.0;
    }
    assert!(!now.contains(&leaving), "the house no longer certified is gone");
    assert_eq!(now.len(), certified.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gdal_reads_a_filtered_collection_and_owslib_reads_the_queryables() {
    let db = TestDb::with_district().await;
    houses_grid(&db.pool, 1, 300, 30.0, 0.0, 0.0).await;
    let addr = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;
    let expected = ids_where(&db.pool, "f.status = 'certified' and f.floors >= 2").await.len() as i64;
    assert!(expected > 10 && expected < 300);

    // GDAL's OAPIF driver given a collection URL with the CQL2 filter in its query string: it pages
    // through the filtered items (the log shows the filter sent with every request).
    let filter = "status = 'certified' AND floors >= 2";
    let mut s = form_urlencoded::Serializer::new(String::new());
    s.append_pair("filter", filter);
    let source = format!("OAPIF:http://{addr}/collections/farmhouses?{}", s.finish());
    let (stdout, log) = run_env(
        "ogrinfo",
        vec!["-ro".into(), "-al".into(), "-q".into(), "-oo".into(), "PAGE_SIZE=25".into(), source],
        &[("CPL_DEBUG", "ON")],
    )
    .await;
    let out = format!("{stdout}\n{log}");
    let read = out.lines().filter(|l| l.starts_with("OGRFeature(")).count() as i64;
    assert_eq!(read, expected, "{out}");
    assert!(!out.contains("status (String) = listed"), "only certified houses:\n{out}");

    // OWSLib reads the queryables, and a filtered page with them.
    let script = format!(
        r#"
from owslib.ogcapi.features import Features
api = Features("http://{addr}/")
q = api.collection_queryables("farmhouses")
print("queryables", ",".join(sorted(q["properties"])))
print("floors", q["properties"]["floors"]["type"])
page = api.collection_items("farmhouses", limit=5, filter="{filter}")
print("matched", page["numberMatched"])
"#
    );
    let out = run("python3", vec!["-c".into(), script]).await;
    let mut names: Vec<String> =
        farmhouse::map::cql::queryables(farmhouse::map::Layer::Farmhouses, farmhouse::domain::roles::Audience::Public)
            .iter()
            .map(|q| q.name.to_string())
            .collect();
    names.sort();
    assert!(out.contains(&format!("queryables {}", names.join(","))), "{out}");
    assert!(out.contains("floors integer"), "{out}");
    assert!(out.contains(&format!("matched {expected}")), "{out}");
}
