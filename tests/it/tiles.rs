//! Vector tiles: each layer's tiles hold its features with ids and the attributes the caller's role may
//! see; HTTP caching (ETag, 304), compression and CORS; tiles stay small at every zoom; and an edit shows
//! in the next tile that covers it while tiles elsewhere stay cached.

use std::time::{Duration, Instant};

use crate::common::TestDb;
use crate::common::fixtures::{self, house};
use crate::common::map_fixtures::{features, houses_grid, leased_house, mercator, photo, spawn_with, tag, tile_at};
use farmhouse::domain::roles::Role;
use farmhouse::http::AppState;
use farmhouse::map::{Bbox, Layer, TileId};
use reqwest::header;

fn client() -> reqwest::Client {
    // No automatic decompression: the tests look at what is sent.
    reqwest::Client::builder().build().unwrap()
}

async fn get(addr: std::net::SocketAddr, path: &str) -> reqwest::Response {
    client().get(format!("http://{addr}{path}")).send().await.unwrap()
}

/// The body of `path`, 200 expected.
async fn mvt(addr: std::net::SocketAddr, path: &str) -> (Vec<u8>, String) {
    let res = get(addr, path).await;
    assert_eq!(res.status(), 200, "{path}");
    assert_eq!(res.headers()[header::CONTENT_TYPE], "application/vnd.mapbox-vector-tile");
    let cache = res.headers()["x-tile-cache"].to_str().unwrap().to_string();
    (res.bytes().await.unwrap().to_vec(), cache)
}

/// A village point at the centre.
async fn village(pool: &sqlx::PgPool) {
    sqlx::query(
        "insert into villages (township_code, name, location) values ('330604001', '测试村', st_setsrid(st_makepoint($1, $2), 4326))",
    )
    .bind(fixtures::CENTRE.0)
    .bind(fixtures::CENTRE.1)
    .execute(pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn each_layer_draws_its_features_with_ids_at_its_zooms() {
    let db = TestDb::with_district().await;
    let id = house(&db.pool, 1).await; // 100 m east of the centre
    village(&db.pool).await;
    let addr = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;

    let (body, _) = mvt(addr, &format!("/tiles/farmhouses/{}.pbf", tile_at(16, 100.0, 0.0))).await;
    let houses = features(&body, "farmhouses");
    assert_eq!(houses.len(), 1);
    let (fid, tags) = &houses[0];
    assert_eq!(*fid, id as u64, "the feature id is the house id, for feature-state");
    assert_eq!(tag(tags, "unit_number"), Some("330604001001JC00001F00010001"));
    assert_eq!(tag(tags, "status"), Some("registered"));
    assert_eq!(tag(tags, "village"), Some("测试村"));
    assert_eq!(tag(tags, "floor_area_m2"), Some("288"));

    let (body, _) = mvt(addr, &format!("/tiles/farmhouses/{}.mvt", tile_at(12, 100.0, 0.0))).await;
    let clusters = features(&body, "farmhouses");
    assert_eq!(clusters.len(), 1);
    assert_eq!(tag(&clusters[0].1, "houses"), Some("1"));
    assert_eq!(tag(&clusters[0].1, "registered"), Some("1"));

    let (body, _) = mvt(addr, &format!("/tiles/townships/{}", tile_at(8, 100.0, 0.0))).await;
    let townships = features(&body, "townships");
    assert_eq!(townships.len(), 1);
    assert_eq!(townships[0].0, 330604001);
    assert_eq!(tag(&townships[0].1, "name"), Some("百官街道"));
    assert_eq!(tag(&townships[0].1, "houses_total"), Some("1"));
    assert_eq!(tag(&townships[0].1, "certified_houses"), Some("0"));

    let (body, _) = mvt(addr, &format!("/tiles/parcels/{}", tile_at(15, 100.0, 0.0))).await;
    let parcels = features(&body, "parcels");
    assert_eq!(tag(&parcels[0].1, "parcel_code"), Some("330604001001JC00001"));

    let (body, _) = mvt(addr, &format!("/tiles/villages/{}", tile_at(12, 0.0, 0.0))).await;
    assert_eq!(tag(&features(&body, "villages")[0].1, "name"), Some("测试村"));

    // Below its zooms a layer has nothing to draw: 204.
    let res = get(addr, &format!("/tiles/farmhouses/{}", tile_at(7, 100.0, 0.0))).await;
    assert_eq!(res.status(), 204);
    // From zoom 8 up the house is a cluster, gathered from the grid's first zoom.
    let (body, _) = mvt(addr, &format!("/tiles/farmhouses/{}", tile_at(8, 100.0, 0.0))).await;
    assert_eq!(tag(&features(&body, "farmhouses")[0].1, "houses"), Some("1"));
    let res = get(addr, &format!("/tiles/farmhouses/{}", tile_at(16, 30_000.0, 0.0))).await;
    assert_eq!(res.status(), 204, "no house there");
}

#[tokio::test]
async fn public_tiles_carry_only_public_facts_and_staff_tiles_their_extras() {
    let db = TestDb::with_district().await;
    let (_, lessee) = leased_house(&db.pool).await;
    let path = format!("/tiles/farmhouses/{}", tile_at(16, 100.0, 0.0));

    let public = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;
    let investor = spawn_with(AppState::new(db.pool.clone()), Role::Investor).await;
    let officer = spawn_with(AppState::new(db.pool.clone()), Role::Officer).await;
    for addr in [public, investor] {
        let (body, _) = mvt(addr, &path).await;
        let (_, tags) = &features(&body, "farmhouses")[0];
        let names: Vec<&str> = tags.iter().map(|(k, _)| k.as_str()).collect();
        for private in ["owner_party_id", "lessee_party_id", "contract_no", "name", "id_number", "phone", "address"] {
            assert!(!names.contains(&private), "a public tile carries {private}: {names:?}");
        }
        assert!(!String::from_utf8_lossy(&body).contains("张三"), "no party name in a public tile");
    }
    let (body, _) = mvt(officer, &path).await;
    let (_, tags) = &features(&body, "farmhouses")[0];
    assert_eq!(tag(tags, "contract_no"), Some("HT-0001"));
    assert_eq!(tag(tags, "lessee_party_id"), Some(lessee.to_string().as_str()));
    assert_eq!(tag(tags, "owner_party_id"), None, "owners stay out of every tile");

    // One process serving both roles keeps their tiles apart.
    let state = AppState::new(db.pool.clone());
    let as_public = spawn_with(state.clone(), Role::Public).await;
    let as_officer = spawn_with(state, Role::Officer).await;
    let (officer_body, _) = mvt(as_officer, &path).await;
    let (public_body, cache) = mvt(as_public, &path).await;
    assert_eq!(cache, "miss", "the officer's tile is not the public's");
    assert_ne!(officer_body, public_body);
    assert!(features(&public_body, "farmhouses")[0].1.iter().all(|(k, _)| k != "contract_no"));
}

#[tokio::test]
async fn tiles_have_strong_etags_304s_negotiated_compression_and_cors() {
    let db = TestDb::with_district().await;
    house(&db.pool, 1).await;
    let addr = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;
    let url = format!("http://{addr}/tiles/farmhouses/{}", tile_at(16, 100.0, 0.0));
    let c = client();

    let plain = c.get(&url).send().await.unwrap();
    assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
    assert_eq!(plain.headers()[header::VARY], "Accept-Encoding, Cookie, Authorization");
    assert!(plain.headers()[header::CACHE_CONTROL].to_str().unwrap().contains("public"));
    let etag = plain.headers()[header::ETAG].to_str().unwrap().to_string();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "a strong tag: {etag}");
    let raw = plain.bytes().await.unwrap();

    let gz = c.get(&url).header(header::ACCEPT_ENCODING, "gzip").send().await.unwrap();
    assert_eq!(gz.headers()[header::CONTENT_ENCODING], "gzip");
    let gz_etag = gz.headers()[header::ETAG].to_str().unwrap().to_string();
    assert_ne!(gz_etag, etag, "each coding has its own tag");
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz.bytes().await.unwrap()[..]), &mut unzipped)
        .unwrap();
    assert_eq!(unzipped, raw);

    let br = c.get(&url).header(header::ACCEPT_ENCODING, "gzip, br").send().await.unwrap();
    assert_eq!(br.headers()[header::CONTENT_ENCODING], "br");
    let mut unbrotli = Vec::new();
    std::io::Read::read_to_end(&mut brotli::Decompressor::new(&br.bytes().await.unwrap()[..], 4096), &mut unbrotli)
        .unwrap();
    assert_eq!(unbrotli, raw);

    let again = c.get(&url).send().await.unwrap();
    assert_eq!(again.headers()[header::ETAG].to_str().unwrap(), etag, "the same tile has the same tag");
    let not_modified = c.get(&url).header(header::IF_NONE_MATCH, &etag).send().await.unwrap();
    assert_eq!(not_modified.status(), 304);
    assert!(not_modified.bytes().await.unwrap().is_empty());
    let stale = c.get(&url).header(header::IF_NONE_MATCH, "\"0000\"").send().await.unwrap();
    assert_eq!(stale.status(), 200);

    let cors = c.get(&url).header(header::ORIGIN, "https://map.example").send().await.unwrap();
    assert_eq!(cors.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let preflight = c
        .request(reqwest::Method::OPTIONS, &url)
        .header(header::ORIGIN, "https://map.example")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert!(preflight.headers()[header::ACCESS_CONTROL_ALLOW_METHODS].to_str().unwrap().contains("GET"));
}

#[tokio::test]
async fn bad_tile_addresses_are_refused_naming_the_field() {
    let db = TestDb::with_district().await;
    let addr = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;
    for (path, status, field) in [
        ("/tiles/farmhouses/23/0/0", 400, "z"),
        ("/tiles/farmhouses/x/0/0", 400, "z"),
        ("/tiles/farmhouses/3/a/0", 400, "x"),
        ("/tiles/farmhouses/3/0/8.pbf", 404, "y"),
        ("/tiles/farmhouses/3/8/0", 404, "x"),
        ("/tiles/roads/3/0/0", 404, "layer"),
        ("/tiles/roads", 404, "layer"),
    ] {
        let res = get(addr, path).await;
        assert_eq!(res.status(), status, "{path}");
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/problem+json");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["field"], field, "{path}: {body}");
    }
}

#[tokio::test]
async fn tilejson_describes_each_layer_for_the_callers_role() {
    let db = TestDb::with_district().await;
    let public = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;
    let officer = spawn_with(AppState::new(db.pool.clone()), Role::Officer).await;
    for layer in Layer::ALL {
        let res = get(public, &format!("/tiles/{}", layer.name())).await;
        assert_eq!(res.status(), 200);
        let tj: serde_json::Value = res.json().await.unwrap();
        assert_eq!(tj["tilejson"], "3.0.0");
        assert_eq!(tj["tiles"][0], format!("http://{public}/tiles/{}/{{z}}/{{x}}/{{y}}", layer.name()));
        assert_eq!(tj["vector_layers"][0]["id"], layer.name());
        let bounds = tj["bounds"].as_array().unwrap();
        assert!((120.0..121.5).contains(&bounds[0].as_f64().unwrap()), "the district's bounds: {bounds:?}");
    }
    let public_fields: serde_json::Value = get(public, "/tiles/farmhouses").await.json().await.unwrap();
    let officer_fields: serde_json::Value = get(officer, "/tiles/farmhouses").await.json().await.unwrap();
    assert!(public_fields["vector_layers"][0]["fields"].get("contract_no").is_none());
    assert!(officer_fields["vector_layers"][0]["fields"].get("contract_no").is_some());
    assert!(public_fields["vector_layers"][0]["fields"].get("houses").is_some(), "cluster fields are described");
}

/// Fetches `path` until its body differs from `before` or `deadline` passes; returns the new body.
async fn until_changed(addr: std::net::SocketAddr, path: &str, before: &[u8], deadline: Duration) -> Vec<u8> {
    let start = Instant::now();
    loop {
        let (body, _) = mvt(addr, path).await;
        if body != before {
            return body;
        }
        assert!(start.elapsed() < deadline, "{path} still shows the old data after {deadline:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_edit_through_the_service_shows_in_the_next_tile_while_tiles_elsewhere_stay_cached() {
    let db = TestDb::with_district().await;
    let near = house(&db.pool, 1).await; // 100 m east
    house(&db.pool, 80).await; // 8 km east: other tiles from zoom 12 up
    let state = AppState::new(db.pool.clone());
    let addr = spawn_with(state.clone(), Role::Public).await;
    // The listener empties the cache when it connects; fill it after that.
    state.tiles.listening().await;
    let here = format!("/tiles/farmhouses/{}", tile_at(16, 100.0, 0.0));
    let cluster_here = format!("/tiles/farmhouses/{}", tile_at(12, 100.0, 0.0));
    let township = format!("/tiles/townships/{}", tile_at(8, 100.0, 0.0));
    let elsewhere = format!("/tiles/farmhouses/{}", tile_at(16, 8000.0, 0.0));
    let mut before = Vec::new();
    for path in [&here, &cluster_here, &township, &elsewhere] {
        before.push(mvt(addr, path).await.0);
        assert_eq!(mvt(addr, path).await.1, "hit", "{path} is cached once served");
    }

    sqlx::query("update farmhouses set status = 'certified' where id = $1").bind(near).execute(&db.pool).await.unwrap();
    // What the JSON API's write handlers do right after commit.
    let (x, y) = mercator(100.0, 0.0);
    state.tiles.invalidate_bbox(Layer::Farmhouses, Bbox::new(x - 10.0, y - 10.0, x + 10.0, y + 10.0));
    state.tiles.invalidate_bbox(Layer::Townships, Bbox::new(x - 10.0, y - 10.0, x + 10.0, y + 10.0));

    let (body, cache) = mvt(addr, &here).await;
    assert_eq!(cache, "miss");
    assert_eq!(tag(&features(&body, "farmhouses")[0].1, "status"), Some("certified"));
    let (body, _) = mvt(addr, &cluster_here).await;
    assert_eq!(tag(&features(&body, "farmhouses")[0].1, "certified"), Some("1"));
    let (body, _) = mvt(addr, &township).await;
    assert_eq!(tag(&features(&body, "townships")[0].1, "certified_houses"), Some("1"));
    let (body, cache) = mvt(addr, &elsewhere).await;
    assert_eq!(cache, "hit", "a tile the edit does not touch is still served from the cache");
    assert_eq!(body, before[3]);
}

#[tokio::test]
async fn an_edit_by_another_process_reaches_the_tiles_it_touches_through_notifications() {
    let db = TestDb::with_district().await;
    let near = house(&db.pool, 1).await;
    house(&db.pool, 80).await;
    let state = AppState::new(db.pool.clone());
    let addr = spawn_with(state.clone(), Role::Public).await;
    let here = format!("/tiles/farmhouses/{}", tile_at(16, 100.0, 0.0));
    let township = format!("/tiles/townships/{}", tile_at(8, 100.0, 0.0));
    let elsewhere = format!("/tiles/farmhouses/{}", tile_at(16, 8000.0, 0.0));
    // The listener empties the cache when it connects; fill it after that.
    state.tiles.listening().await;
    let (before_here, _) = mvt(addr, &here).await;
    let (before_township, _) = mvt(addr, &township).await;
    mvt(addr, &elsewhere).await;

    // Written straight to the database, as an import or another service would.
    sqlx::query("update farmhouses set status = 'certified', floor_area_m2 = 300 where id = $1")
        .bind(near)
        .execute(&db.pool)
        .await
        .unwrap();
    let edited = until_changed(addr, &here, &before_here, Duration::from_secs(10)).await;
    let (_, tags) = &features(&edited, "farmhouses")[0];
    assert_eq!((tag(tags, "status"), tag(tags, "floor_area_m2")), (Some("certified"), Some("300")));
    let after = until_changed(addr, &township, &before_township, Duration::from_secs(10)).await;
    assert_eq!(tag(&features(&after, "townships")[0].1, "certified_floor_area_m2"), Some("300"));
    assert_eq!(mvt(addr, &elsewhere).await.1, "hit", "the tile elsewhere was not dropped");

    // A new house appears too.
    fixtures::parcel(&db.pool, "330604001001JC00002", 160.0).await;
    fixtures::farmhouse(&db.pool, "330604001001JC00002F00010001", 160.0).await;
    let after = until_changed(addr, &here, &edited, Duration::from_secs(10)).await;
    assert_eq!(features(&after, "farmhouses").len(), 2);
}

#[tokio::test]
async fn no_tile_over_500_kb_at_any_zoom_over_dense_houses() {
    let db = TestDb::with_district().await;
    // 5,041 houses 30 m apart (about 1,100 per km², a dense village area 2.1 km across).
    houses_grid(&db.pool, 1, 5041, 30.0, -1000.0, -1000.0).await;
    let addr = spawn_with(AppState::new(db.pool.clone()), Role::Officer).await;
    let (x0, y0) = mercator(-1000.0, -1000.0);
    let (x1, y1) = mercator(1200.0, 1200.0);
    let area = Bbox::new(x0, y0, x1, y1);
    let mut report = Vec::new();
    for layer in Layer::ALL {
        for z in 0..=17u8 {
            let mut largest = 0;
            for t in TileId::covering(z, &area) {
                let res = get(addr, &format!("/tiles/{}/{}/{}/{}", layer.name(), t.z, t.x, t.y)).await;
                assert!(res.status() == 200 || res.status() == 204);
                let size = res.bytes().await.unwrap().len();
                assert!(size <= 500 * 1024, "{} z{z} tile {}/{} is {size} bytes", layer.name(), t.x, t.y);
                largest = largest.max(size);
            }
            report.push(format!("{} z{z}: {largest} B", layer.name()));
        }
    }
    eprintln!("largest tile per layer and zoom:\n{}", report.join("\n"));
}

#[tokio::test]
async fn the_cluster_grid_is_the_same_in_sql_and_in_the_service() {
    let db = TestDb::new().await;
    let (zooms, cells): (String, i32) =
        sqlx::query_as("select farmhouse_cluster_zooms()::text, farmhouse_cluster_cells()")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    let expected = farmhouse::map::layers::CLUSTER_ZOOMS;
    assert_eq!(zooms, format!("[{},{})", expected.start(), expected.end() + 1));
    assert_eq!(cells as u32, farmhouse::map::layers::CLUSTER_CELLS);
}

#[tokio::test]
async fn maintained_counts_and_clusters_follow_inserts_updates_and_deletes() {
    let db = TestDb::with_district().await;
    houses_grid(&db.pool, 1, 400, 30.0, 0.0, 0.0).await;
    sqlx::query("update farmhouses set status = 'certified', floor_area_m2 = floor_area_m2 + 1 where id % 7 = 0")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("delete from farmhouses where id % 11 = 0").execute(&db.pool).await.unwrap();
    let counts_agree: bool = sqlx::query_scalar(
        "select not exists (
             (select township_code, status, features, floor_area_m2 from map_feature_counts
              where collection = 'farmhouses' and features <> 0)
             except
             (select township_code, status, count(*), sum(floor_area_m2) from farmhouses group by 1, 2))
         and (select sum(features) from map_feature_counts where collection = 'farmhouses')
             = (select count(*) from farmhouses)",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(counts_agree, "map_feature_counts differs from the houses");
    let clusters_agree: bool = sqlx::query_scalar(
        "select not exists (
             select z, ix, iy, houses, certified from farmhouse_clusters
             except
             select g.z, floor((st_x(point_3857) + 20037508.342789244) / g.cell)::int,
                    floor((20037508.342789244 - st_y(point_3857)) / g.cell)::int,
                    count(*), count(*) filter (where status = 'certified')
             from farmhouses, (select z, 40075016.685578488 / (64 * 2 ^ z) as cell from generate_series(11, 14) z) g
             group by 1, 2, 3)
         and (select sum(houses) from farmhouse_clusters where z = 14) = (select count(*) from farmhouses)",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(clusters_agree, "farmhouse_clusters differs from the houses");
}

/// A tile's features sorted by id, each with its tags sorted: the contents, whatever the order drawn.
fn contents(mvt: &[u8]) -> Vec<(u64, Vec<(String, String)>)> {
    let mut all: Vec<_> = features(mvt, "farmhouses")
        .into_iter()
        .map(|(id, mut tags)| {
            tags.sort();
            (id, tags)
        })
        .collect();
    all.sort();
    all
}

/// A value with its MVT type: `string:…`, `double:…`, `uint:…` and so on.
fn typed(v: &geozero::mvt::tile::Value) -> String {
    match v {
        v if v.string_value.is_some() => format!("string:{}", v.string_value.as_deref().unwrap_or_default()),
        v if v.float_value.is_some() => format!("float:{:?}", v.float_value),
        v if v.double_value.is_some() => format!("double:{:?}", v.double_value),
        v if v.int_value.is_some() => format!("int:{:?}", v.int_value),
        v if v.uint_value.is_some() => format!("uint:{:?}", v.uint_value),
        v if v.sint_value.is_some() => format!("sint:{:?}", v.sint_value),
        v => format!("bool:{:?}", v.bool_value),
    }
}

/// A tile's features sorted by id, each with its values as typed ([`typed`]) and its rings as absolute points, each ring from its least point on (in the order
/// drawn, so a turned ring differs): what the tile draws, whichever vertex a ring starts at.
type Drawn = (u64, Vec<(String, String)>, Vec<Vec<(i32, i32)>>);
fn drawing(mvt: &[u8]) -> Vec<Drawn> {
    use geozero::ToGeo;
    use geozero::mvt::{Message, Tile};
    let tile = Tile::decode(mvt).expect("a Mapbox Vector Tile");
    let Some(layer) = tile.layers.iter().find(|l| l.name == "farmhouses") else { return Vec::new() };
    let mut all: Vec<Drawn> = layer
        .features
        .iter()
        .map(|f| {
            let mut tags: Vec<(String, String)> = f
                .tags
                .chunks(2)
                .map(|kv| (layer.keys[kv[0] as usize].clone(), typed(&layer.values[kv[1] as usize])))
                .collect();
            tags.sort();
            // geozero's MVT reader refuses a polygon whose first ring is not clockwise (an exterior).
            let polygons = match f.to_geo().expect("the feature reads as MVT 2.1 polygons") {
                geo::Geometry::Polygon(p) => vec![p],
                geo::Geometry::MultiPolygon(m) => m.0,
                other => panic!("a footprint drawn as {other:?}"),
            };
            let rings = polygons
                .iter()
                .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
                .map(|r| {
                    let mut ring: Vec<(i32, i32)> = r.coords().map(|c| (c.x as i32, c.y as i32)).collect();
                    ring.pop(); // the closing point
                    let least = (0..ring.len()).min_by_key(|&k| ring[k]).unwrap_or(0);
                    ring.rotate_left(least);
                    ring
                })
                .collect();
            (f.id.unwrap_or(0), tags, rings)
        })
        .collect();
    all.sort();
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_house_attributes_follow_every_record_and_draw_what_the_records_draw() {
    let db = TestDb::with_district().await;
    houses_grid(&db.pool, 1, 100, 30.0, 0.0, 1000.0).await;
    let (leased, _) = leased_house(&db.pool).await;
    let registered: Vec<i64> =
        sqlx::query_scalar("select id from farmhouses where status = 'registered' and id <> $1 order by id limit 4")
            .bind(leased)
            .fetch_all(&db.pool)
            .await
            .unwrap();
    let mut listings = Vec::new();
    for h in &registered[..3] {
        listings.push(fixtures::listing(&db.pool, *h).await);
    }
    sqlx::query("update listings set status = 'withdrawn' where id = $1")
        .bind(listings[1])
        .execute(&db.pool)
        .await
        .unwrap();
    for (h, n) in [(registered[0], 1), (registered[0], 2), (registered[3], 3)] {
        photo(&db.pool, h, n).await;
    }
    sqlx::query("delete from farmhouse_photos where farmhouse_id = $1")
        .bind(registered[3])
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query(
        "update parcels set village = '新村' where parcel_code = (select parcel_code from farmhouses where id = $1)",
    )
    .bind(registered[0])
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query("update farmhouses set floors = 3, floor_area_m2 = floor_area_m2 + 0.5 where id % 5 = 0")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query(
        "delete from farmhouses where id = (select max(id) from farmhouses where id <> $1 and status = 'certified')",
    )
    .bind(leased)
    .execute(&db.pool)
    .await
    .unwrap();

    // map_houses holds exactly what the records say, row for row.
    let records =
        "select f.id, f.unit_number::text, f.township_code::text, p.village, f.status, f.floor_area_m2::float8,
                          f.floors::int4, f.year_built::int4, f.structure, f.condition, l.asking_rent_fen,
                          array_to_string(l.allowed_uses, ','),
                          (select count(*) from farmhouse_photos ph where ph.farmhouse_id = f.id)::int4,
                          l.notice_start, l.notice_end, st_asewkb(f.footprint_3857)
                   from farmhouses f join parcels p on p.parcel_code = f.parcel_code
                   left join listings l on l.farmhouse_id = f.id and l.status = 'open'";
    let kept = "select id, unit_number, township_code, village, status, floor_area_m2, floors, year_built, structure,
                       condition, asking_rent_fen, allowed_uses, photos, notice_start, notice_end,
                       st_asewkb(footprint_3857)
                from map_houses";
    let differ: i64 = sqlx::query_scalar(&format!(
        "select count(*) from (({records}) except ({kept}) union all ({kept}) except ({records})) d"
    ))
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(differ, 0, "map_houses differs from the records");
    let (rows, houses): (i64, i64) =
        sqlx::query_as("select (select count(*) from map_houses), (select count(*) from farmhouses)")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!((rows, houses), (100, 100), "one row per house, the deleted one gone");
    let first: (String, i32, Option<String>) =
        sqlx::query_as("select village, photos, allowed_uses from map_houses where id = $1")
            .bind(registered[0])
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(first, ("新村".to_string(), 2, Some("民宿,康养".to_string())));
    let withdrawn: (Option<i64>, i32) = sqlx::query_as("select asking_rent_fen, photos from map_houses where id = $1")
        .bind(registered[1])
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(withdrawn, (None, 0));

    // Each role's footprint tiles (the public ones encoded by the service from map_houses rows, the
    // staff ones by PostGIS) hold what the filtered tiles (PostGIS over the records) draw under a filter
    // every house matches: the same features, geometries and typed values.
    let public = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;
    let officer = spawn_with(AppState::new(db.pool.clone()), Role::Officer).await;
    let mut tiles: Vec<String> = (0..4)
        .flat_map(|e| (0..4).map(move |n| tile_at(16, f64::from(e) * 100.0, 1000.0 + f64::from(n) * 100.0)))
        .collect();
    tiles.push(tile_at(16, 100.0, 0.0));
    tiles.sort();
    tiles.dedup();
    for addr in [public, officer] {
        let mut drawn = std::collections::BTreeSet::new();
        let mut tagged = Vec::new();
        for t in &tiles {
            let (kept, _) = mvt(addr, &format!("/tiles/farmhouses/{t}")).await;
            let (from_records, _) = mvt(addr, &format!("/tiles/farmhouses/{t}?filter=floors%20%3E%200")).await;
            assert_eq!(drawing(&kept), drawing(&from_records), "tile {t}: the features' geometries and typed values");
            let kept = contents(&kept);
            assert_eq!(kept, contents(&from_records), "tile {t}");
            drawn.extend(kept.iter().map(|(id, _)| *id));
            tagged.extend(kept.into_iter().filter(|(id, _)| *id == registered[0] as u64 || *id == leased as u64));
        }
        assert_eq!(drawn.len(), 100, "every house drawn");
        let tags = &tagged.iter().find(|(id, _)| *id == registered[0] as u64).expect("the photographed house").1;
        assert_eq!(tag(tags, "photos"), Some("2"));
        assert_eq!(tag(tags, "village"), Some("新村"));
        assert_eq!(tag(tags, "asking_rent_yuan"), Some("12000"));
        let leased_tags = &tagged.iter().find(|(id, _)| *id == leased as u64).expect("the leased house").1;
        assert_eq!(tag(leased_tags, "contract_no").is_some(), addr == officer, "{leased_tags:?}");
    }
}
