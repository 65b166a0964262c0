//! OGC API – Tiles and the OGC API's documents: every link of the landing page (JSON and HTML), of the
//! tileset lists and of the tileset documents resolves and leads where it says; the tile matrix set is the
//! OGC's WebMercatorQuad; tiles read through the OGC templates are the map's own tiles, byte for byte;
//! tileset documents describe the fields the caller's role sees; `/api` is valid OpenAPI 3.0 of the OGC
//! routes; and every conformance class the service declares is checked here.

use std::collections::BTreeSet;

use crate::common::TestDb;
use crate::common::map_fixtures::{features, leased_house, spawn_with, tile_at};
use crate::gis_clients::service_with_grid;
use crate::openapi::assert_valid_openapi;
use farmhouse::domain::roles::Role;
use farmhouse::http::AppState;
use reqwest::header;
use serde_json::Value;

const MVT: &str = "application/vnd.mapbox-vector-tile";
const OAS30: &str = "application/vnd.oai.openapi+json;version=3.0";
const TILESETS_VECTOR: &str = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector";
const TILING_SCHEMES: &str = "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes";
const TILING_SCHEME: &str = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme";
const TMS_URI: &str = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad";
const LAYERS: [&str; 4] = ["farmhouses", "parcels", "townships", "villages"];

/// A fetched resource: status, content type, body bytes, ETag.
struct Fetched {
    status: u16,
    kind: String,
    etag: String,
    bytes: Vec<u8>,
}

impl Fetched {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).to_string()
    }
}

async fn fetch_as(url: &str, accept: Option<&str>, encoding: Option<&str>) -> Fetched {
    // No automatic decompression: the bytes compared are the bytes sent.
    let mut req = reqwest::Client::new().get(url);
    if let Some(a) = accept {
        req = req.header(header::ACCEPT, a);
    }
    if let Some(e) = encoding {
        req = req.header(header::ACCEPT_ENCODING, e);
    }
    let res = req.send().await.unwrap();
    let text = |name| res.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let (status, kind, etag) = (res.status().as_u16(), text(header::CONTENT_TYPE), text(header::ETAG));
    Fetched { status, kind, etag, bytes: res.bytes().await.unwrap().to_vec() }
}

async fn fetch_with(url: &str, encoding: Option<&str>) -> Fetched {
    fetch_as(url, None, encoding).await
}

async fn fetch(url: &str) -> Fetched {
    fetch_as(url, None, None).await
}

/// The features of a decoded tile, all layers together.
fn feature_count(mvt: &[u8]) -> usize {
    LAYERS.iter().map(|layer| features(mvt, layer).len()).sum()
}

/// The JSON at `url`, 200 expected.
async fn json(url: &str) -> Value {
    let f = fetch(url).await;
    assert_eq!(f.status, 200, "{url}: {}", f.text());
    f.json()
}

fn links(doc: &Value) -> Vec<Value> {
    doc["links"].as_array().cloned().unwrap_or_default()
}

fn link_with<'a>(doc: &'a Value, rel: &str) -> Vec<&'a Value> {
    doc["links"].as_array().into_iter().flatten().filter(|l| l["rel"] == rel).collect()
}

/// The one link of `doc` with relation `rel`.
fn href(doc: &Value, rel: &str) -> String {
    let found = link_with(doc, rel);
    assert_eq!(found.len(), 1, "one {rel} link in {doc}");
    found[0]["href"].as_str().unwrap().to_string()
}

/// A templated tile link filled in with a tile address.
fn fill(template: &str, z: u8, row: u32, col: u32) -> String {
    template
        .replace("{tileMatrix}", &z.to_string())
        .replace("{tileRow}", &row.to_string())
        .replace("{tileCol}", &col.to_string())
}

/// z, row and column of `tile_at`'s `z/x/y`.
fn address(z: u8, east: f64, north: f64) -> (u8, u32, u32) {
    let t = tile_at(z, east, north);
    let p: Vec<u32> = t.split('/').map(|s| s.parse().unwrap()).collect();
    (z, p[2], p[1])
}

/// Whether the service serves `path` (the style document is another module's route).
fn served(path: &str) -> bool {
    farmhouse::http::endpoints().iter().any(|e| e.path == path)
}

/// Checks one link: asked for the media type it names, it resolves (200) with that type; a templated tile
/// link is filled in with the tile of zoom 15 at the centre, where every layer has features. Returns what
/// it fetched.
async fn follow(link: &Value) -> Fetched {
    let href = link["href"].as_str().unwrap();
    let kind = link["type"].as_str().unwrap_or("");
    let url = if link["templated"] == true {
        let (z, row, col) = address(15, 0.0, 0.0);
        fill(href, z, row, col)
    } else {
        href.to_string()
    };
    let f = fetch_as(&url, Some(kind), None).await;
    assert_eq!(f.status, 200, "{url} ({}): {}", link["rel"], f.text());
    if kind == "text/html" {
        assert!(f.kind.starts_with("text/html"), "{url}: {}", f.kind);
    } else {
        assert_eq!(f.kind, kind, "{url}");
    }
    f
}

#[tokio::test]
async fn every_link_of_the_landing_page_tilesets_and_tilesets_lists_resolves_where_it_says() {
    let (_db, addr) = service_with_grid(60, 40.0).await;
    let base = format!("http://{addr}");
    let landing = json(&format!("{base}/?f=json")).await;

    let mut followed = 0;
    for l in links(&landing) {
        let target = l["href"].as_str().unwrap().strip_prefix(&base).unwrap().to_string();
        if target == "/styles/default.json" && !served("/styles/default.json") {
            continue; // linked ahead of its route, which another module serves
        }
        let f = follow(&l).await;
        followed += 1;
        match l["rel"].as_str().unwrap() {
            "self" => assert_eq!(f.json(), landing),
            "service-desc" => assert!(f.json()["openapi"].as_str().unwrap().starts_with("3.0")),
            "describedby" => assert!(f.json()["openapi"].as_str().unwrap().starts_with("3.1")),
            "conformance" => assert!(f.json()["conformsTo"].as_array().unwrap().len() > 3),
            "data" => assert_eq!(f.json()["collections"].as_array().unwrap().len(), 4),
            "alternate" => assert!(f.text().contains("OGC API"), "{}", f.text()),
            "related" => assert!(f.text().contains("maplibre"), "the web map"),
            TILESETS_VECTOR => assert_eq!(target, "/tiles"),
            TILING_SCHEMES => assert_eq!(f.json()["tileMatrixSets"][0]["id"], "WebMercatorQuad"),
            "stylesheet" => assert!(f.json().get("layers").is_some(), "a MapLibre style"),
            other => panic!("a link this test does not know: {other}"),
        }
    }
    assert!(followed >= 9, "{followed} links");

    // The HTML landing page links what the JSON one does.
    let html = fetch(&format!("{base}/?f=html")).await;
    assert_eq!(html.status, 200);
    assert!(html.kind.starts_with("text/html"));
    let anchors: BTreeSet<String> = html
        .text()
        .split("<a href=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().replace("&amp;", "&"))
        .collect();
    let hrefs: BTreeSet<String> = links(&landing).iter().map(|l| l["href"].as_str().unwrap().to_string()).collect();
    assert_eq!(anchors, hrefs);

    // The tilesets: the dataset's, and each collection's from its tilesets link.
    let mut lists = vec![href(&landing, TILESETS_VECTOR)];
    for c in json(&format!("{base}/collections")).await["collections"].as_array().unwrap() {
        lists.push(href(c, TILESETS_VECTOR));
    }
    assert_eq!(lists.len(), 5);
    for list_url in lists {
        let list = json(&list_url).await;
        assert_eq!(href(&list, "self"), list_url);
        let tilesets = list["tilesets"].as_array().unwrap();
        assert_eq!(tilesets.len(), 1, "{list_url}");
        for summary in tilesets {
            assert_eq!(summary["tileMatrixSetURI"], TMS_URI);
            assert_eq!(summary["dataType"], "vector");
            for l in links(summary) {
                follow(&l).await;
            }
            let tileset_url = href(summary, "self");
            let tileset = json(&tileset_url).await;
            assert_eq!(href(&tileset, "self"), tileset_url);
            assert_eq!(tileset["tileMatrixSetURI"], TMS_URI);
            for l in links(&tileset) {
                let f = follow(&l).await;
                if l["rel"] == TILING_SCHEME {
                    assert_eq!(f.json()["uri"], TMS_URI);
                }
                if l["rel"] == "item" || l["rel"] == "alternate" {
                    assert!(feature_count(&f.bytes) > 0, "{}: the tile at the centre", l["href"]);
                }
            }
        }
    }
}

#[tokio::test]
async fn the_tile_matrix_set_is_the_ogc_web_mercator_quad() {
    let db = TestDb::new().await;
    let addr = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;
    let base = format!("http://{addr}");
    let sets = json(&format!("{base}/tileMatrixSets")).await;
    let listed = &sets["tileMatrixSets"][0];
    assert_eq!(sets["tileMatrixSets"].as_array().unwrap().len(), 1);
    assert_eq!(listed["id"], "WebMercatorQuad");
    let tms = json(&href(listed, "self")).await;

    assert_eq!(tms["id"], "WebMercatorQuad");
    assert_eq!(tms["uri"], TMS_URI);
    assert_eq!(tms["crs"], "http://www.opengis.net/def/crs/EPSG/0/3857");
    assert_eq!(tms["wellKnownScaleSet"], "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible");
    let matrices = tms["tileMatrices"].as_array().unwrap();
    assert_eq!(matrices.len(), 25, "tile matrices 0 to 24");
    let m0 = &matrices[0];
    assert_eq!(m0["id"], "0");
    assert_eq!(m0["scaleDenominator"], serde_json::json!(559_082_264.028_717_8));
    assert_eq!(m0["cellSize"], serde_json::json!(156_543.033_928_041));
    assert_eq!(m0["pointOfOrigin"], serde_json::json!([-20_037_508.342_789_2, 20_037_508.342_789_2]));
    for (z, m) in matrices.iter().enumerate() {
        let n = 1u64 << z;
        assert_eq!(m["id"], z.to_string());
        assert_eq!(m["cornerOfOrigin"], "topLeft");
        assert_eq!(m["pointOfOrigin"], m0["pointOfOrigin"]);
        assert_eq!((m["tileWidth"].as_u64(), m["tileHeight"].as_u64()), (Some(256), Some(256)));
        assert_eq!((m["matrixWidth"].as_u64(), m["matrixHeight"].as_u64()), (Some(n), Some(n)));
        let scale = m["scaleDenominator"].as_f64().unwrap() * n as f64;
        let cell = m["cellSize"].as_f64().unwrap() * n as f64;
        assert!((scale / 559_082_264.028_717_8 - 1.0).abs() < 1e-12, "matrix {z}: {m}");
        assert!((cell / 156_543.033_928_041 - 1.0).abs() < 1e-12, "matrix {z}: {m}");
        // A 256-pixel tile of cell size c spans the Web Mercator square divided by the matrix width.
        let span = m["cellSize"].as_f64().unwrap() * 256.0 * n as f64;
        assert!((span - 2.0 * 20_037_508.342_789_2).abs() < 1e-3, "matrix {z}");
    }

    for (path, field) in [
        ("/tileMatrixSets/WorldCRS84Quad", "tileMatrixSetId"),
        ("/collections/farmhouses/tiles/WorldCRS84Quad", "tileMatrixSetId"),
        ("/collections/roads/tiles", "collectionId"),
        ("/collections/roads/tiles/WebMercatorQuad/0/0/0", "collectionId"),
    ] {
        let f = fetch(&format!("{base}{path}")).await;
        assert_eq!((f.status, f.kind.as_str()), (404, "application/problem+json"), "{path}");
        assert_eq!(f.json()["field"], field, "{path}");
    }
    let f = fetch(&format!("{base}/tileMatrixSets?f=xml")).await;
    assert_eq!((f.status, f.json()["field"].as_str()), (400, Some("f")));
}

#[tokio::test]
async fn tiles_through_the_ogc_templates_are_the_maps_own_tiles_byte_for_byte() {
    let (_db, addr) = service_with_grid(60, 40.0).await;
    let base = format!("http://{addr}");
    let mut compared = 0;
    for (z, east) in [(8, 100.0), (12, 100.0), (14, 100.0), (15, 100.0), (16, 100.0), (16, 30_000.0)] {
        let (z, row, col) = address(z, east, 0.0);
        for encoding in [None, Some("gzip"), Some("br")] {
            let mut layer_bodies = Vec::new();
            for layer in LAYERS {
                let ogc =
                    fetch_with(&format!("{base}/collections/{layer}/tiles/WebMercatorQuad/{z}/{row}/{col}"), encoding)
                        .await;
                let own = fetch_with(&format!("{base}/tiles/{layer}/{z}/{col}/{row}"), encoding).await;
                assert!(matches!(own.status, 200 | 204), "{layer} {z}/{col}/{row}: {}", own.status);
                assert_eq!((ogc.status, &ogc.kind, &ogc.etag), (own.status, &own.kind, &own.etag), "{layer} {z}");
                assert_eq!(ogc.bytes, own.bytes, "{layer} {z}/{row}/{col} {encoding:?}");
                if encoding.is_none() {
                    layer_bodies.extend_from_slice(&own.bytes);
                }
                compared += 1;
            }
            // The dataset's tile holds every layer's tile, one after the other.
            let dataset = fetch_with(&format!("{base}/tiles/WebMercatorQuad/{z}/{row}/{col}"), encoding).await;
            if encoding.is_none() {
                assert_eq!(dataset.bytes, layer_bodies, "dataset tile {z}/{row}/{col}");
                assert_eq!(dataset.status, if layer_bodies.is_empty() { 204 } else { 200 });
                if z == 16 && east < 1000.0 {
                    assert!(!features(&dataset.bytes, "farmhouses").is_empty());
                    assert!(!features(&dataset.bytes, "parcels").is_empty());
                    assert!(!features(&dataset.bytes, "townships").is_empty());
                }
            } else if dataset.status == 200 {
                assert_eq!(dataset.kind, MVT);
                let coding = if encoding == Some("gzip") { "-gz\"" } else { "-br\"" };
                assert!(dataset.etag.ends_with(coding), "{}", dataset.etag);
            }
        }
    }
    assert_eq!(compared, 6 * 3 * 4);

    // Tile addresses are checked as the map's own are, naming the OGC parameter.
    let path = "/collections/farmhouses/tiles/WebMercatorQuad";
    for (tail, status, field) in [
        ("23/0/0", 400, "tileMatrix"),
        ("x/0/0", 400, "tileMatrix"),
        ("3/a/0", 400, "tileRow"),
        ("3/0/-1", 400, "tileCol"),
        ("3/8/0", 404, "tileRow"),
        ("3/0/8", 404, "tileCol"),
    ] {
        for prefix in [path, "/tiles/WebMercatorQuad"] {
            let f = fetch(&format!("{base}{prefix}/{tail}")).await;
            assert_eq!((f.status, f.kind.as_str()), (status, "application/problem+json"), "{prefix}/{tail}");
            assert_eq!(f.json()["field"], field, "{prefix}/{tail}");
        }
    }
}

#[tokio::test]
async fn tilesets_describe_the_fields_the_callers_role_sees_in_its_tiles() {
    let db = TestDb::with_district().await;
    leased_house(&db.pool).await;
    let public = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;
    let official = spawn_with(AppState::new(db.pool.clone()), Role::Official).await;
    let (z, row, col) = address(16, 100.0, 0.0);
    for (addr, staff) in [(public, false), (official, true)] {
        for tileset_path in ["/collections/farmhouses/tiles/WebMercatorQuad", "/tiles/WebMercatorQuad"] {
            let tileset = json(&format!("http://{addr}{tileset_path}")).await;
            let layers = tileset["layers"].as_array().unwrap();
            let houses = layers.iter().find(|l| l["id"] == "farmhouses").unwrap();
            assert_eq!((houses["minTileMatrix"].as_str(), houses["maxTileMatrix"].as_str()), (Some("8"), Some("16")));
            assert_eq!(houses["dataType"], "vector");
            let described: BTreeSet<&str> =
                houses["propertiesSchema"]["properties"].as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(described.contains("contract_no"), staff, "{tileset_path} as staff={staff}");
            assert_eq!(described.contains("lessee_party_id"), staff);
            assert!(!described.contains("owner_party_id"));
            assert!(!described.contains("description"), "not in tiles");

            let template = href(&tileset, "item");
            let tile = fetch(&fill(&template, z, row, col)).await;
            assert_eq!(tile.status, 200, "{template}");
            let found = features(&tile.bytes, "farmhouses");
            assert_eq!(found.len(), 1);
            for (key, _) in &found[0].1 {
                assert!(described.contains(key.as_str()), "{key} is in the tile but not described");
            }
            assert_eq!(found[0].1.iter().any(|(k, _)| k == "contract_no"), staff);
        }
    }
    // Zooms and limits: the dataset's tiles go from the townships' zoom 0 to the houses' 16, and the
    // limits of each matrix hold the houses' tile.
    let tileset = json(&format!("http://{public}/tiles/WebMercatorQuad")).await;
    let limits = tileset["tileMatrixSetLimits"].as_array().unwrap();
    assert_eq!(limits.first().unwrap()["tileMatrix"], "0");
    assert_eq!(limits.last().unwrap()["tileMatrix"], "16");
    for l in limits {
        let z: u8 = l["tileMatrix"].as_str().unwrap().parse().unwrap();
        let (_, row, col) = address(z, 0.0, 0.0);
        let within = |name: &str, v: u32| {
            l[format!("min{name}")].as_u64().unwrap() <= u64::from(v)
                && u64::from(v) <= l[format!("max{name}")].as_u64().unwrap()
        };
        assert!(within("TileRow", row) && within("TileCol", col), "matrix {z}: {l}");
    }
}

#[tokio::test]
async fn the_api_document_is_openapi_30_of_the_ogc_routes() {
    let db = TestDb::new().await;
    let addr = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;
    let f = fetch(&format!("http://{addr}/api")).await;
    assert_eq!((f.status, f.kind.as_str()), (200, OAS30));
    let doc = f.json();
    assert_eq!(doc["openapi"], "3.0.3");
    assert_valid_openapi(&doc);
    let paths: BTreeSet<&str> = doc["paths"].as_object().unwrap().keys().map(String::as_str).collect();
    let ogc: BTreeSet<&str> = [
        "/",
        "/api",
        "/conformance",
        "/collections",
        "/collections/{collection}",
        "/collections/{collection}/items",
        "/collections/{collection}/items/{feature}",
        "/collections/{collection}/tiles",
        "/collections/{collection}/tiles/{tileMatrixSetId}",
        "/collections/{collection}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
        "/tiles",
        "/tiles/WebMercatorQuad",
        "/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}",
        "/tileMatrixSets",
        "/tileMatrixSets/{tileMatrixSetId}",
        "/tiles/{layer}",
        "/tiles/{layer}/{z}/{x}/{y}",
        "/styles/default.json",
    ]
    .into();
    for path in &ogc {
        assert!(paths.contains(path), "{path} missing from /api");
    }
    // Only OGC routes: the JSON API is in the 3.1 document.
    assert!(paths.iter().all(|p| ogc.contains(p) || p.starts_with("/collections/")), "{paths:?}");
    assert!(!doc.to_string().contains("\"null\""), "no 3.1 null types");
}

/// Every conformance class `/conformance` declares, each with a check of what it promises. A class
/// added without a check here fails.
#[tokio::test]
async fn every_declared_conformance_class_is_backed() {
    let (_db, addr) = service_with_grid(60, 40.0).await;
    let base = format!("http://{addr}");
    let landing = json(&format!("{base}/?f=json")).await;
    let classes: Vec<String> = json(&format!("{base}/conformance")).await["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert!(classes.len() >= 16, "{classes:?}");
    let (z, row, col) = address(16, 100.0, 0.0);
    let api = json(&href(&landing, "service-desc")).await;
    let api_paths: BTreeSet<String> = api["paths"].as_object().unwrap().keys().cloned().collect();
    for class in &classes {
        let (spec, name) = class.split_once("/conf/").unwrap_or_else(|| panic!("{class}"));
        match (spec, name) {
            ("http://www.opengis.net/spec/ogcapi-features-1/1.0", "core") => {
                let page = json(&format!("{base}/collections/farmhouses/items?limit=5")).await;
                assert_eq!(page["numberReturned"], 5);
                assert_eq!(page["numberMatched"], 60);
                let id = &page["features"][0]["id"];
                assert_eq!(json(&format!("{base}/collections/farmhouses/items/{id}")).await["id"], *id);
            }
            ("http://www.opengis.net/spec/ogcapi-features-1/1.0", "geojson") => {
                let f = fetch(&format!("{base}/collections/parcels/items")).await;
                assert_eq!(f.kind, "application/geo+json");
                assert_eq!(f.json()["type"], "FeatureCollection");
            }
            (
                "http://www.opengis.net/spec/ogcapi-features-1/1.0" | "http://www.opengis.net/spec/ogcapi-tiles-1/1.0",
                "oas30",
            ) => {
                assert_eq!(link_with(&landing, "service-desc")[0]["type"], OAS30);
                assert!(api["openapi"].as_str().unwrap().starts_with("3.0."));
                assert_valid_openapi(&api);
                let wanted: &[&str] = if spec.contains("features") {
                    &["/", "/conformance", "/collections", "/collections/{collection}/items"]
                } else {
                    &["/tiles", "/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}", "/tileMatrixSets"]
                };
                for p in wanted {
                    assert!(api_paths.contains(*p), "{class}: {p}");
                }
            }
            ("http://www.opengis.net/spec/ogcapi-tiles-1/1.0", "core" | "mvt") => {
                let f = fetch(&format!("{base}/collections/farmhouses/tiles/WebMercatorQuad/{z}/{row}/{col}")).await;
                assert_eq!((f.status, f.kind.as_str()), (200, MVT));
                assert!(!features(&f.bytes, "farmhouses").is_empty());
                // Nothing there: 204, no body.
                let (z, row, col) = address(16, 60_000.0, 0.0);
                let empty = fetch(&format!("{base}/tiles/WebMercatorQuad/{z}/{row}/{col}")).await;
                assert_eq!((empty.status, empty.bytes.len()), (204, 0));
            }
            ("http://www.opengis.net/spec/ogcapi-tiles-1/1.0", "tileset")
            | ("http://www.opengis.net/spec/tms/2.0", "tilesetmetadata" | "json-tilesetmetadata") => {
                for path in ["/tiles/WebMercatorQuad", "/collections/villages/tiles/WebMercatorQuad"] {
                    let t = json(&format!("{base}{path}")).await;
                    assert_eq!(t["dataType"], "vector");
                    assert_eq!(t["crs"], "http://www.opengis.net/def/crs/EPSG/0/3857");
                    assert_eq!(t["tileMatrixSetURI"], TMS_URI);
                    assert_eq!(link_with(&t, TILING_SCHEME).len(), 1);
                    let item = link_with(&t, "item")[0];
                    assert_eq!((item["templated"].as_bool(), item["type"].as_str()), (Some(true), Some(MVT)));
                    assert!(!t["layers"].as_array().unwrap().is_empty());
                }
            }
            ("http://www.opengis.net/spec/ogcapi-tiles-1/1.0", "tilesets-list") => {
                for path in ["/tiles", "/collections/parcels/tiles"] {
                    let list = json(&format!("{base}{path}")).await;
                    assert_eq!(list["tilesets"][0]["tileMatrixSetURI"], TMS_URI, "{path}");
                    assert_eq!(link_with(&list["tilesets"][0], "self").len(), 1);
                }
            }
            ("http://www.opengis.net/spec/ogcapi-tiles-1/1.0", "geodata-tilesets") => {
                for layer in LAYERS {
                    let c = json(&format!("{base}/collections/{layer}")).await;
                    assert_eq!(href(&c, TILESETS_VECTOR), format!("{base}/collections/{layer}/tiles"));
                }
            }
            ("http://www.opengis.net/spec/ogcapi-tiles-1/1.0", "dataset-tilesets") => {
                assert_eq!(href(&landing, TILESETS_VECTOR), format!("{base}/tiles"));
                let t = json(&format!("{base}/tiles/WebMercatorQuad")).await;
                let ids: Vec<&str> =
                    t["layers"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
                assert_eq!(ids, LAYERS);
            }
            ("http://www.opengis.net/spec/tms/2.0", "tilematrixset" | "json-tilematrixset") => {
                assert_eq!(href(&landing, TILING_SCHEMES), format!("{base}/tileMatrixSets"));
                let tms = json(&format!("{base}/tileMatrixSets/WebMercatorQuad")).await;
                assert_eq!(tms["tileMatrices"][0]["scaleDenominator"], serde_json::json!(559_082_264.028_717_8));
            }
            ("http://www.opengis.net/spec/tms/2.0", "tilematrixsetlimits" | "json-tilematrixsetlimits") => {
                let t = json(&format!("{base}/collections/farmhouses/tiles/WebMercatorQuad")).await;
                let limits = t["tileMatrixSetLimits"].as_array().unwrap();
                assert_eq!(limits.len(), 9, "houses' matrices 8 (clusters) to 16");
                let last = limits.last().unwrap();
                assert_eq!(last["tileMatrix"], "16");
                assert!(last["minTileRow"].as_u64().unwrap() <= u64::from(row));
                assert!(u64::from(row) <= last["maxTileRow"].as_u64().unwrap());
            }
            ("http://www.opengis.net/spec/ogcapi-features-2/1.0", "crs") => {
                const EPSG_4549: &str = "http://www.opengis.net/def/crs/EPSG/0/4549";
                let c = json(&format!("{base}/collections/farmhouses")).await;
                assert!(c["crs"].as_array().unwrap().iter().any(|v| v == EPSG_4549), "{c}");
                let res =
                    reqwest::get(format!("{base}/collections/farmhouses/items?limit=1&crs={EPSG_4549}")).await.unwrap();
                assert_eq!(res.status(), 200);
                assert_eq!(res.headers()["content-crs"], format!("<{EPSG_4549}>").as_str());
                let page: Value = res.json().await.unwrap();
                let first = page["features"][0]["geometry"]["coordinates"][0][0][0].as_f64().unwrap();
                assert!(first > 3_000_000.0, "northing first in EPSG:4549: {first}");
            }
            ("http://www.opengis.net/spec/ogcapi-features-3/1.0", "queryables") => {
                let c = json(&format!("{base}/collections/farmhouses")).await;
                let url = href(&c, "http://www.opengis.net/def/rel/ogc/1.0/queryables");
                let q = fetch(&url).await;
                assert_eq!((q.status, q.kind.as_str()), (200, "application/schema+json"));
                assert!(q.json()["properties"]["floor_area_m2"].is_object(), "{}", q.text());
            }
            (
                "http://www.opengis.net/spec/ogcapi-features-3/1.0" | "http://www.opengis.net/spec/cql2/1.0",
                "filter"
                | "features-filter"
                | "cql2-text"
                | "cql2-json"
                | "basic-cql2"
                | "advanced-comparison-operators"
                | "case-insensitive-comparison"
                | "basic-spatial-functions"
                | "basic-spatial-functions-plus"
                | "spatial-functions",
            ) => {
                // Each class by a filter of its own that selects every house, and its negation none.
                let status = json(&format!("{base}/collections/farmhouses/items?limit=1")).await["features"][0]
                    ["properties"]["status"]
                    .as_str()
                    .unwrap()
                    .to_uppercase();
                let (all, lang) = match name {
                    "cql2-json" => (r#"{"op":">","args":[{"property":"floor_area_m2"},0]}"#.to_string(), "cql2-json"),
                    "advanced-comparison-operators" => ("floor_area_m2 BETWEEN 0 AND 1000000".into(), "cql2-text"),
                    // Every house: the listed ones only if CASEI matches them whatever the case.
                    "case-insensitive-comparison" => (
                        format!("CASEI(status) = CASEI('{status}') OR status <> '{}'", status.to_lowercase()),
                        "cql2-text",
                    ),
                    "basic-spatial-functions" | "basic-spatial-functions-plus" | "spatial-functions" => {
                        ("S_INTERSECTS(geometry, BBOX(119, 29, 123, 31))".into(), "cql2-text")
                    }
                    _ => ("floor_area_m2 > 0".into(), "cql2-text"),
                };
                let matched = |filter: String| {
                    let url = reqwest::Url::parse_with_params(
                        &format!("{base}/collections/farmhouses/items"),
                        [("filter", filter.as_str()), ("filter-lang", lang), ("limit", "1")],
                    )
                    .unwrap();
                    async move {
                        let page = fetch(url.as_str()).await;
                        assert_eq!(page.status, 200, "{class}: {}", page.text());
                        page.json()["numberMatched"].as_i64()
                    }
                };
                assert_eq!(matched(all.clone()).await, Some(60), "{class}: {all}");
                let none = if lang == "cql2-json" {
                    format!(r#"{{"op":"not","args":[{all}]}}"#)
                } else {
                    format!("NOT ({all})")
                };
                assert_eq!(matched(none.clone()).await, Some(0), "{class}: {none}");
            }
            _ => panic!("no check for the conformance class {class}: add one here"),
        }
    }
}
