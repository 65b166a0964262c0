//! OGC API – Features: the landing page by content negotiation, conformance, collections, pages of items
//! walked by their `next`/`prev` links with exact counts, bbox and property filters, single items, and
//! attributes by role.

use std::collections::BTreeSet;

use crate::common::TestDb;
use crate::common::fixtures::{self, house};
use crate::common::map_fixtures::{houses_grid, leased_house, photo, spawn_with};
use farmhouse::domain::roles::Role;
use farmhouse::http::AppState;
use reqwest::header;
use serde_json::Value;

async fn get_json(url: &str) -> (u16, String, Value) {
    let res = reqwest::get(url).await.unwrap();
    let status = res.status().as_u16();
    let kind = res.headers()[header::CONTENT_TYPE].to_str().unwrap().to_string();
    (status, kind, res.json().await.unwrap())
}

fn link<'a>(doc: &'a Value, rel: &str) -> Option<&'a str> {
    doc["links"].as_array().unwrap().iter().find(|l| l["rel"] == rel).and_then(|l| l["href"].as_str())
}

fn ids(page: &Value) -> Vec<i64> {
    page["features"].as_array().unwrap().iter().map(|f| f["id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn the_landing_page_is_json_for_gis_clients_and_html_for_browsers() {
    let db = TestDb::with_district().await;
    let addr = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;
    let c = reqwest::Client::new();
    for req in [
        c.get(format!("http://{addr}/?f=json")),
        c.get(format!("http://{addr}/")).header(header::ACCEPT, "application/json"),
    ] {
        let res = req.send().await.unwrap();
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
        let doc: Value = res.json().await.unwrap();
        assert_eq!(link(&doc, "conformance"), Some(format!("http://{addr}/conformance").as_str()));
        assert_eq!(link(&doc, "data"), Some(format!("http://{addr}/collections").as_str()));
        let desc = doc["links"].as_array().unwrap().iter().find(|l| l["rel"] == "service-desc").unwrap();
        assert_eq!(desc["href"], format!("http://{addr}/api"));
        assert_eq!(desc["type"], "application/vnd.oai.openapi+json;version=3.0");
    }
    let html = c.get(format!("http://{addr}/")).header(header::ACCEPT, "text/html,*/*").send().await.unwrap();
    assert!(html.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert!(html.text().await.unwrap().contains("?f=json"));

    let (status, _, conformance) = get_json(&format!("http://{addr}/conformance")).await;
    assert_eq!(status, 200);
    let classes: Vec<&str> =
        conformance["conformsTo"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    for part in ["conf/core", "conf/geojson", "conf/oas30"] {
        assert!(classes.iter().any(|c| c.ends_with(part)), "{part} in {classes:?}");
    }
}

#[tokio::test]
async fn collections_list_each_layer_with_its_extent_and_items_link() {
    let db = TestDb::with_district().await;
    let addr = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;
    let (_, _, doc) = get_json(&format!("http://{addr}/collections")).await;
    let names: Vec<&str> = doc["collections"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(names, ["farmhouses", "parcels", "townships", "villages"]);
    let (status, _, one) = get_json(&format!("http://{addr}/collections/farmhouses")).await;
    assert_eq!(status, 200);
    assert_eq!(link(&one, "items"), Some(format!("http://{addr}/collections/farmhouses/items").as_str()));
    let bbox = one["extent"]["spatial"]["bbox"][0].as_array().unwrap();
    assert!((120.0..121.0).contains(&bbox[0].as_f64().unwrap()));
    let (status, kind, problem) = get_json(&format!("http://{addr}/collections/roads")).await;
    assert_eq!((status, kind.as_str()), (404, "application/problem+json"));
    assert_eq!(problem["field"], "collectionId");
}

#[tokio::test]
async fn next_and_prev_links_walk_every_feature_once_with_exact_counts() {
    let db = TestDb::with_district().await;
    houses_grid(&db.pool, 1, 30, 40.0, 0.0, 0.0).await;
    let addr = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;

    let (status, kind, first) = get_json(&format!("http://{addr}/collections/farmhouses/items")).await;
    assert_eq!((status, kind.as_str()), (200, "application/geo+json"));
    assert_eq!(first["type"], "FeatureCollection");
    assert_eq!(first["numberReturned"], 10, "10 by default");
    assert_eq!(first["numberMatched"], 30);
    assert!(link(&first, "prev").is_none());

    let mut seen = Vec::new();
    let mut pages = Vec::new();
    let mut url = format!("http://{addr}/collections/farmhouses/items?limit=7");
    loop {
        let (_, _, page) = get_json(&url).await;
        assert_eq!(page["numberMatched"], 30);
        seen.extend(ids(&page));
        pages.push(page.clone());
        match link(&page, "next") {
            Some(next) => url = next.to_string(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 30);
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "in id order, no repeats: {seen:?}");
    assert_eq!(pages.len(), 5);
    // Back from the third page to the second.
    let prev = link(&pages[2], "prev").unwrap();
    let (_, _, back) = get_json(prev).await;
    assert_eq!(ids(&back), ids(&pages[1]));
    let (_, _, front) = get_json(link(&back, "prev").unwrap()).await;
    assert_eq!(ids(&front), ids(&pages[0]));
    assert!(link(&front, "prev").is_none(), "nothing before the first page");
}

#[tokio::test]
async fn bbox_and_property_filters_select_items_and_their_count() {
    let db = TestDb::with_district().await;
    houses_grid(&db.pool, 1, 40, 40.0, 0.0, 0.0).await; // statuses cycle through the four
    house(&db.pool, 90).await; // 9 km east
    let addr = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;
    let base = format!("http://{addr}/collections/farmhouses/items");

    let (_, _, listed) = get_json(&format!("{base}?status=listed&limit=100")).await;
    assert_eq!(listed["numberMatched"], 10);
    assert!(listed["features"].as_array().unwrap().iter().all(|f| f["properties"]["status"] == "listed"));
    let (_, _, township) = get_json(&format!("{base}?township=330604001&status=certified&limit=100")).await;
    assert_eq!(township["numberReturned"], 10);
    assert_eq!(township["numberMatched"], 10);
    let (_, _, village) = get_json(&format!("{base}?village=测试村")).await;
    assert_eq!(village["numberMatched"], 1);

    let (lon, lat) = (fixtures::CENTRE.0 + 9000.0 / 96_490.0, fixtures::CENTRE.1);
    let (_, _, far) =
        get_json(&format!("{base}?bbox={},{},{},{}", lon - 0.001, lat - 0.001, lon + 0.001, lat + 0.001)).await;
    assert_eq!(far["numberMatched"], 1);
    assert_eq!(far["features"][0]["properties"]["unit_number"], "330604001001JC00090F00010001");
    let geometry = &far["features"][0]["geometry"];
    assert_eq!(geometry["type"], "Polygon");
    assert!((geometry["coordinates"][0][0][0].as_f64().unwrap() - lon).abs() < 0.001, "lon/lat, CRS84");
    let next = link(&listed, "self").unwrap();
    assert!(next.contains("status=listed"), "links keep the filters: {next}");

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=ten", "limit"),
        ("bbox=1,2,3", "bbox"),
        ("bbox=121,30,120,31", "bbox"),
        ("colour=red", "colour"),
        ("after=abc", "after"),
        ("f=xml", "f"),
    ] {
        let (status, kind, problem) = get_json(&format!("{base}?{query}")).await;
        assert_eq!((status, kind.as_str()), (400, "application/problem+json"), "{query}");
        assert_eq!(problem["field"], field, "{query}");
    }
    let (_, _, capped) = get_json(&format!("{base}?limit=50000")).await;
    assert_eq!(capped["numberReturned"], 41, "a limit above 10000 is taken as 10000");
}

#[tokio::test]
async fn a_single_item_has_its_links_and_only_the_facts_the_role_may_see() {
    let db = TestDb::with_district().await;
    let (h, _) = leased_house(&db.pool).await;
    let public = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;
    let official = spawn_with(AppState::new(db.pool.clone()), Role::Official).await;

    let (status, kind, feature) = get_json(&format!("http://{public}/collections/farmhouses/items/{h}")).await;
    assert_eq!((status, kind.as_str()), (200, "application/geo+json"));
    assert_eq!(feature["type"], "Feature");
    assert_eq!(feature["id"], h);
    assert_eq!(link(&feature, "self"), Some(format!("http://{public}/collections/farmhouses/items/{h}").as_str()));
    let props = feature["properties"].as_object().unwrap();
    assert_eq!(props["description"], "临水老宅");
    assert_eq!(props["asking_rent_yuan"], 12000.0);
    assert_eq!(props["allowed_uses"], serde_json::json!(["民宿", "康养"]));
    let names: BTreeSet<&str> = props.keys().map(String::as_str).collect();
    for private in ["owner_party_id", "lessee_party_id", "contract_no"] {
        assert!(!names.contains(private), "public item has {private}");
    }
    assert!(!feature.to_string().contains("张三"));

    let (_, _, staff) = get_json(&format!("http://{official}/collections/farmhouses/items/{h}")).await;
    assert_eq!(staff["properties"]["contract_no"], "HT-0001");
    assert!(staff["properties"].get("owner_party_id").is_none());

    let (_, _, township) = get_json(&format!("http://{public}/collections/townships/items/330604001")).await;
    assert_eq!(township["properties"]["houses_total"], 1);
    for missing in ["999999", "abc"] {
        let (status, _, problem) = get_json(&format!("http://{public}/collections/farmhouses/items/{missing}")).await;
        assert_eq!(status, 404);
        assert_eq!(problem["field"], "featureId");
    }
}

/// A request never holds one connection while it waits for a second: with a pool of two connections (one
/// is the tile listener's for good), every map read (a page with its count, a collection, a tile, the
/// summary) still answers. Holding one and waiting for another starves the pool under load (64 clients,
/// 16 connections: 503s after 1 s).
#[tokio::test]
async fn map_reads_need_one_connection_at_a_time() {
    let db = TestDb::with_district().await;
    houses_grid(&db.pool, 1, 3, 40.0, 0.0, 0.0).await;
    let config = farmhouse::store::PoolConfig { max_connections: 2, ..farmhouse::store::PoolConfig::default() };
    let two = farmhouse::store::pool(&db.url, &config).unwrap();
    let addr = spawn_with(AppState::new(two), Role::Public).await;
    for path in [
        "/collections/farmhouses/items?limit=2",
        "/collections/farmhouses",
        "/api/v1/stats/summary",
        "/tiles/farmhouses/16/54400/26950",
    ] {
        let res = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
    }
}

/// The `next` link of a first page of one house and the tiles URL of TileJSON, as `headers` ask for them.
async fn links_for(addr: std::net::SocketAddr, headers: &[(&str, &str)]) -> (String, String) {
    let c = reqwest::Client::new();
    let get = |path: &str| {
        let mut req = c.get(format!("http://{addr}{path}"));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req
    };
    let page: Value = get("/collections/farmhouses/items?limit=1").send().await.unwrap().json().await.unwrap();
    let tilejson: Value = get("/tiles/farmhouses").send().await.unwrap().json().await.unwrap();
    (link(&page, "next").unwrap().to_string(), tilejson["tiles"][0].as_str().unwrap().to_string())
}

const FORWARDED_ELSEWHERE: &[(&str, &str)] = &[
    ("x-forwarded-host", "evil.example"),
    ("x-forwarded-proto", "https"),
    ("forwarded", "host=evil.example;proto=https"),
];

#[tokio::test]
async fn forwarded_headers_from_an_untrusted_peer_change_no_link() {
    let db = TestDb::with_district().await;
    houses_grid(&db.pool, 1, 3, 40.0, 0.0, 0.0).await;
    let addr = crate::common::spawn_app(db.pool.clone()).await;
    let (next, tiles) = links_for(addr, FORWARDED_ELSEWHERE).await;
    assert!(next.starts_with(&format!("http://{addr}/collections/farmhouses/items?")), "{next}");
    assert_eq!(tiles, format!("http://{addr}/tiles/farmhouses/{{z}}/{{x}}/{{y}}"));
}

/// The service as `serve` runs it, with its public URL and trusted proxies.
async fn serve_at(pool: sqlx::PgPool, public_url: &str, trusted: &[&str]) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut state = AppState::new(pool);
    let trusted = trusted.iter().map(|t| t.parse().unwrap()).collect();
    state.public_url =
        std::sync::Arc::new(farmhouse::http::features::PublicUrl::new(Some(public_url), trusted).unwrap());
    tokio::spawn(farmhouse::http::serve(listener, state, std::future::pending()));
    addr
}

#[tokio::test]
async fn links_name_the_public_url_or_what_a_trusted_proxy_forwards() {
    let db = TestDb::with_district().await;
    houses_grid(&db.pool, 1, 3, 40.0, 0.0, 0.0).await;
    let tiles_at = |base: &str| format!("{base}/tiles/farmhouses/{{z}}/{{x}}/{{y}}");

    // Neither the Host a client sends nor forwarded headers from a peer that is no proxy move the links.
    let configured = serve_at(db.pool.clone(), "https://farmhouse.example/", &[]).await;
    let (next, tiles) = links_for(configured, &[&[("host", "evil.example")], FORWARDED_ELSEWHERE].concat()).await;
    assert!(next.starts_with("https://farmhouse.example/collections/farmhouses/items?"), "{next}");
    assert_eq!(tiles, tiles_at("https://farmhouse.example"));

    // The trusted proxy says where its client came in: X-Forwarded-*, or the last element of Forwarded.
    let proxied = serve_at(db.pool.clone(), "https://farmhouse.example/registry", &["127.0.0.1"]).await;
    let (next, tiles) = links_for(proxied, FORWARDED_ELSEWHERE).await;
    assert!(next.starts_with("https://evil.example/registry/collections/farmhouses/items?"), "{next}");
    assert_eq!(tiles, tiles_at("https://evil.example/registry"));
    let forwarded = [("forwarded", "host=client.example;proto=http, host=\"maps.example:8443\";proto=https")];
    let (_, tiles) = links_for(proxied, &forwarded).await;
    assert_eq!(tiles, tiles_at("https://maps.example:8443/registry"));
    let (_, tiles) = links_for(proxied, &[("x-forwarded-host", "evil.example/phish")]).await;
    assert_eq!(tiles, tiles_at("https://farmhouse.example/registry"), "a host that is no host is ignored");
    let (_, tiles) = links_for(proxied, &[]).await;
    assert_eq!(tiles, tiles_at("https://farmhouse.example/registry"));
}

#[tokio::test]
async fn house_pages_hold_each_houses_listing_photos_and_lease_as_the_role_sees_them_under_any_filter() {
    let db = TestDb::with_district().await;
    let (leased, _) = leased_house(&db.pool).await;
    let other = house(&db.pool, 2).await;
    for (h, n) in [(leased, 1), (leased, 2)] {
        photo(&db.pool, h, n).await;
    }
    for role in [Role::Public, Role::Officer] {
        let addr = spawn_with(AppState::new(db.pool.clone()), role).await;
        let base = format!("http://{addr}/collections/farmhouses/items?limit=10");
        // A CQL2 filter every house matches changes nothing (a filtered page is a statement of its own).
        let (_, kind, kept) = get_json(&base).await;
        assert_eq!(kind, "application/geo+json");
        let (_, _, records) = get_json(&format!("{base}&filter=floors%20%3E%200")).await;
        assert_eq!(kept["features"], records["features"], "{role}");
        assert_eq!(kept["type"], "FeatureCollection");
        assert_eq!(kept["numberReturned"], 2);
        assert!(link(&kept, "self").is_some());
        let features = kept["features"].as_array().unwrap();
        let by_id = |id: i64| &features.iter().find(|f| f["id"] == id).unwrap()["properties"];
        let p = by_id(leased);
        assert_eq!(p["photos"], 2);
        assert_eq!(p["photo_urls"].as_array().unwrap().len(), 2);
        assert_eq!(p["allowed_uses"], serde_json::json!(["民宿", "康养"]));
        assert_eq!(p["asking_rent_yuan"], 12000.0);
        assert_eq!(p["contract_no"].as_str(), (role == Role::Officer).then_some("HT-0001"));
        let q = by_id(other);
        assert_eq!((q["photos"].clone(), q["photo_urls"].clone()), (serde_json::json!(0), serde_json::json!([])));
        assert!(q["asking_rent_yuan"].is_null());
    }
}
