//! The investor's map and lists: the MapLibre style document at `/styles/default.json` (absolute URLs
//! of the public URL, sources that answer), the houses list sorted by rent, area and notice end and paged
//! to its last house with `numberMatched`, search by short code and township name with counts that
//! match the records, and refusals of bad parameters naming them.

use std::collections::BTreeSet;

use crate::common::TestDb;
use crate::common::api::Api;
use farmhouse::http::AppState;
use serde_json::Value;

/// The service as `serve` runs it, with its public URL.
async fn serve_at(pool: sqlx::PgPool, public_url: Option<&str>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut state = AppState::new(pool);
    let url = public_url.map(|u| u.replace("{addr}", &addr.to_string()));
    state.public_url =
        std::sync::Arc::new(farmhouse::http::features::PublicUrl::new(url.as_deref(), Vec::new()).unwrap());
    tokio::spawn(farmhouse::http::serve(listener, state, std::future::pending()));
    addr
}

#[tokio::test]
async fn the_style_names_the_services_own_tilejson_at_its_public_url() {
    let db = TestDb::demo().await;
    // Behind a proxy under a path: every source is an absolute URL there.
    let proxied = Api::new(serve_at(db.pool.clone(), Some("https://map.example.cn/fh/")).await);
    let style = proxied.get("/styles/default.json").await.expect(200);
    assert!(style.header("content-type").starts_with("application/json"));
    assert_eq!(style.header("access-control-allow-origin"), "*", "maps on other origins read it");
    let sources = style.body["sources"].as_object().unwrap();
    assert_eq!(
        sources.keys().cloned().collect::<BTreeSet<_>>(),
        ["farmhouses", "parcels", "townships", "villages"].map(String::from).into()
    );
    for (name, source) in sources {
        assert_eq!(source["url"], format!("https://map.example.cn/fh/tiles/{name}"), "{name}");
    }
    assert!(style.body.get("glyphs").is_none() && style.body.get("sprite").is_none(), "nothing from elsewhere");

    // Served at its own address, a client follows the URLs: TileJSON, then a tile of the clusters.
    let direct = Api::new(serve_at(db.pool.clone(), Some("http://{addr}")).await);
    let style = direct.get("/styles/default.json").await.expect(200).body;
    let url = style["sources"]["farmhouses"]["url"].as_str().unwrap();
    let tilejson: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    assert_eq!(tilejson["minzoom"], 8, "clusters from zoom 8");
    let layers: Vec<&str> = style["layers"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
    for id in ["houses-cluster", "houses-cluster-count", "villages", "villages-label", "houses-fill"] {
        assert!(layers.contains(&id), "{id} in {layers:?}");
    }
    let label = style["layers"].as_array().unwrap().iter().find(|l| l["id"] == "villages-label").unwrap();
    assert_eq!(label["minzoom"], 12);
    let [w, s, e, n] = [0, 1, 2, 3].map(|i| style["metadata"]["farmhouse:bounds"][i].as_f64().unwrap());
    let tile = farmhouse::map::TileId::containing(
        11,
        farmhouse::map::grid::to_mercator(f64::midpoint(w, e), f64::midpoint(s, n)).0,
        farmhouse::map::grid::to_mercator(f64::midpoint(w, e), f64::midpoint(s, n)).1,
    );
    let template = tilejson["tiles"][0].as_str().unwrap();
    let tile_url = template
        .replace("{z}", &tile.z.to_string())
        .replace("{x}", &tile.x.to_string())
        .replace("{y}", &tile.y.to_string());
    let res = reqwest::get(&tile_url).await.unwrap();
    assert_eq!(res.status(), 200, "{tile_url}: the district's middle has houses at zoom 11");

    // The route takes no parameters: one is refused, naming it.
    direct.assert_refusals("/styles/default.json", &[("theme=dark", 400, "theme")]).await;
}

/// Every page of `path`, following `next` to the last; the first page's `numberMatched` and the features.
async fn all_pages(api: &Api, path: &str) -> (i64, Vec<Value>) {
    let first = api.get(path).await.expect(200).body;
    let matched = first["numberMatched"].as_i64().expect("the first page counts");
    let mut features: Vec<Value> = first["features"].as_array().unwrap().clone();
    let mut next = first["next"].as_str().map(String::from);
    while let Some(link) = next {
        let page = api.get(&link).await.expect(200).body;
        assert!(page.get("numberMatched").is_none(), "only the first page counts");
        features.extend(page["features"].as_array().unwrap().iter().cloned());
        next = page["next"].as_str().map(String::from);
    }
    (matched, features)
}

#[tokio::test]
async fn listed_houses_sort_by_rent_area_and_notice_and_page_to_the_last_one() {
    let db = TestDb::demo().await;
    let api = Api::new(crate::common::spawn_app(db.pool.clone()).await);
    let open: i64 = sqlx::query_scalar(
        "select count(*) from listings l join farmhouses f on f.id = l.farmhouse_id
         where l.status = 'open' and f.status = 'listed'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(open > 100, "the demo lists houses: {open}");
    let rent = |f: &Value| f["properties"]["listing"]["asking_rent_yuan"].as_f64().unwrap();
    let area = |f: &Value| f["properties"]["floor_area_m2"].as_f64().unwrap();
    let notice = |f: &Value| f["properties"]["listing"]["notice_end"].as_str().unwrap().to_string();
    for (sort, check) in [
        ("rent", Box::new(|a: &Value, b: &Value| rent(a) <= rent(b)) as Box<dyn Fn(&Value, &Value) -> bool>),
        ("-rent", Box::new(|a: &Value, b: &Value| rent(a) >= rent(b))),
        ("area", Box::new(|a: &Value, b: &Value| area(a) <= area(b))),
        ("-area", Box::new(|a: &Value, b: &Value| area(a) >= area(b))),
        ("notice_end", Box::new(|a: &Value, b: &Value| notice(a) <= notice(b))),
        ("-notice_end", Box::new(|a: &Value, b: &Value| notice(a) >= notice(b))),
    ] {
        let (matched, houses) =
            all_pages(&api, &format!("/api/v1/farmhouses?status=listed&sort={sort}&limit=97")).await;
        assert_eq!(matched, open, "{sort}: numberMatched is every open listing");
        assert_eq!(houses.len() as i64, open, "{sort}: the pages reach the last listing");
        let ids: BTreeSet<i64> = houses.iter().map(|f| f["id"].as_i64().unwrap()).collect();
        assert_eq!(ids.len(), houses.len(), "{sort}: no house twice");
        for pair in houses.windows(2) {
            assert!(check(&pair[0], &pair[1]), "{sort}: {} before {}", pair[0]["id"], pair[1]["id"]);
        }
    }
}

#[tokio::test]
async fn search_finds_short_codes_townships_and_villages_with_counts_that_match() {
    let db = TestDb::demo().await;
    let api = Api::new(crate::common::spawn_app(db.pool.clone()).await);
    let (unit, township, village): (String, String, String) = sqlx::query_as(
        "select f.unit_number::text, t.name, p.village from farmhouses f
         join townships t on t.code = f.township_code join parcels p on p.parcel_code = f.parcel_code
         where f.status = 'listed' order by f.id limit 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let short = &unit[12..19];
    let count = |sql: &'static str, value: String| {
        let pool = db.pool.clone();
        async move { sqlx::query_scalar::<_, i64>(sql).bind(value).fetch_one(&pool).await.unwrap() }
    };
    let cases = [
        (
            short.to_string(),
            count("select count(*) from farmhouses where substr(unit_number::text, 13, 7) = $1", short.into()).await,
        ),
        (
            short.to_lowercase(),
            count("select count(*) from farmhouses where substr(unit_number::text, 13, 7) = $1", short.into()).await,
        ),
        (
            township.clone(),
            count(
                "select count(*) from farmhouses f join townships t on t.code = f.township_code
                                  join parcels p on p.parcel_code = f.parcel_code
                                  where strpos(t.name, $1) > 0 or strpos(p.village, $1) > 0",
                township.clone(),
            )
            .await,
        ),
        (
            village.clone(),
            count(
                "select count(*) from farmhouses f join parcels p on p.parcel_code = f.parcel_code
                                 join townships t on t.code = f.township_code
                                 where strpos(p.village, $1) > 0 or strpos(t.name, $1) > 0",
                village.clone(),
            )
            .await,
        ),
    ];
    for (q, expected) in cases {
        assert!(expected > 0, "{q}");
        let path = format!("/api/v1/farmhouses?q={}&limit=20", urlencoding(&q));
        let (matched, houses) = all_pages(&api, &path).await;
        assert_eq!((matched, houses.len() as i64), (expected, expected), "{q}");
    }
    let (matched, houses) = all_pages(&api, &format!("/api/v1/farmhouses?q={short}&status=listed")).await;
    assert!(matched >= 1 && houses.iter().any(|f| f["properties"]["unit_number"] == unit.as_str()));
}

fn urlencoding(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn a_bad_order_is_refused_naming_it() {
    let db = TestDb::with_district().await;
    let api = Api::new(crate::common::spawn_app(db.pool.clone()).await);
    api.assert_refusals(
        "/api/v1/farmhouses",
        &[
            ("sort=price", 400, "sort"),
            ("sort=-id", 400, "sort"),
            ("sort=rent,area", 400, "sort"),
            ("sort=--rent", 400, "sort"),
        ],
    )
    .await;
    let page = api.get("/api/v1/farmhouses?sort=-rent").await.expect(200).body;
    assert_eq!(page["numberMatched"], 0);
}

/// The clusters of tile z/x/y: (houses, listed, x, y in tile units of 4096).
async fn clusters(addr: std::net::SocketAddr, tile: farmhouse::map::TileId) -> Vec<(i64, i64, i64, i64)> {
    use geozero::mvt::{Message, Tile};
    let res = reqwest::get(format!("http://{addr}/tiles/farmhouses/{}/{}/{}", tile.z, tile.x, tile.y)).await.unwrap();
    if res.status() == 204 {
        return Vec::new();
    }
    let body = res.bytes().await.unwrap();
    let decoded = Tile::decode(&body[..]).unwrap();
    let layer = decoded.layers.iter().find(|l| l.name == "farmhouses").unwrap();
    let zigzag = |v: u32| i64::from((v >> 1) as i32 ^ -((v & 1) as i32));
    layer
        .features
        .iter()
        .map(|f| {
            assert_eq!(f.geometry.len(), 3, "one point");
            let tag = |name: &str| {
                let at = f.tags.chunks(2).find(|kv| layer.keys[kv[0] as usize] == name).unwrap()[1];
                let v = &layer.values[at as usize];
                v.int_value.or(v.sint_value).or(v.uint_value.map(|u| u as i64)).unwrap()
            };
            (tag("houses"), tag("listed"), zigzag(f.geometry[1]), zigzag(f.geometry[2]))
        })
        .collect()
}

#[tokio::test]
async fn drawn_clusters_count_every_house_once_and_lie_half_a_cell_apart() {
    use crate::common::map_fixtures::{houses_grid, mercator};
    let db = TestDb::with_district().await;
    // 400 houses 150 m apart (every fourth listed) over 3 km: many houses a cell at low zooms.
    houses_grid(&db.pool, 1, 400, 150.0, 0.0, 0.0).await;
    let addr = crate::common::spawn_app(db.pool.clone()).await;
    let (x0, y0) = mercator(-10.0, -10.0);
    let (x1, y1) = mercator(3010.0, 3010.0);
    let area = farmhouse::map::Bbox::new(x0, y0, x1, y1);
    for z in [8, 9, 11, 12, 14] {
        let (mut houses, mut listed) = (0, 0);
        for tile in farmhouse::map::TileId::covering(z, &area) {
            let found = clusters(addr, tile).await;
            for (i, a) in found.iter().enumerate() {
                houses += a.0;
                listed += a.1;
                // A quarter of a drawn cell (512 of 4096) from the tile's edges, half a cell from each other.
                assert!((128..=4096 - 128).contains(&a.2) && (128..=4096 - 128).contains(&a.3), "z{z}: {a:?}");
                for b in &found[i + 1..] {
                    let d = (((a.2 - b.2).pow(2) + (a.3 - b.3).pow(2)) as f64).sqrt();
                    assert!(d >= 256.0, "z{z}: {a:?} and {b:?} are {d} apart");
                }
            }
        }
        assert_eq!((houses, listed), (400, 100), "zoom {z}: every house in one cluster");
    }
}
