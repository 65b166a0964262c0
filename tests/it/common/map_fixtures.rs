//! Map data in bulk and a service whose state the test keeps, for the tile and feature tests.

use std::net::SocketAddr;

use farmhouse::domain::roles::Role;
use farmhouse::http::AppState;
use farmhouse::http::auth::Caller;
use geozero::mvt::{Message, Tile, tile};
use sqlx::PgPool;

use super::fixtures::{self, CENTRE, M_PER_DEG_LAT, M_PER_DEG_LON};

/// Houses `first..first + n` on a square grid `spacing` metres apart whose south-west corner lies
/// `east`/`north` metres from the fixtures' centre, each on a 20 m parcel of its own in township
/// 330604001 with a 12 m footprint; statuses cycle through registered, listed, contracted, certified.
/// Returns nothing: ids follow insertion order.
pub async fn houses_grid(pool: &PgPool, first: u32, n: u32, spacing: f64, east: f64, north: f64) {
    let columns = f64::from(n).sqrt().ceil().max(1.0) as i64;
    let (lon0, lat0) = (CENTRE.0 + east / M_PER_DEG_LON, CENTRE.1 + north / M_PER_DEG_LAT);
    // Session-local helper functions: the test's role may not create functions in the schema.
    let mut conn = pool.acquire().await.unwrap();
    grid_functions(&mut conn).await;
    let parcels = "insert into parcels (parcel_code, township_code, village, land_use, boundary)
         select pg_temp.parcel_code(i), '330604001', '网格村' || (i / 1000), '0702',
                st_makeenvelope(lon - 10 / $6, lat - 10 / $7, lon + 10 / $6, lat + 10 / $7, 4326)
         from pg_temp.grid_points($1, $2, $3, $4, $5, $6, $7, $8)";
    let houses = "insert into farmhouses (unit_number, footprint, floor_area_m2, floors, year_built, structure, status)
         select pg_temp.parcel_code(i) || 'F00010001', st_makeenvelope(lon - 6 / $6, lat - 6 / $7, lon + 6 / $6, lat + 6 / $7, 4326),
                100 + i % 300, 1 + i % 3, 1960 + i % 60, '砖混',
                (array['registered', 'listed', 'contracted', 'certified'])[i % 4 + 1]
         from pg_temp.grid_points($1, $2, $3, $4, $5, $6, $7, $8)";
    for sql in [parcels, houses] {
        sqlx::query(sql)
            .bind(i64::from(first))
            .bind(i64::from(n))
            .bind(columns)
            .bind(lon0)
            .bind(lat0)
            .bind(M_PER_DEG_LON)
            .bind(M_PER_DEG_LAT)
            .bind(spacing)
            .execute(&mut *conn)
            .await
            .unwrap();
    }
}

/// House 1 with an owner, an open listing and a signed lease (contract HT-0001): a house with private
/// and staff-only facts. Returns the house and the lessee party.
pub async fn leased_house(pool: &PgPool) -> (i64, i64) {
    let h = fixtures::house(pool, 1).await;
    let owner = fixtures::person(pool, "330604198001010011").await;
    sqlx::query("update farmhouses set owner_party_id = $1, description = '临水老宅' where id = $2")
        .bind(owner)
        .bind(h)
        .execute(pool)
        .await
        .unwrap();
    let l = fixtures::listing(pool, h).await;
    let lessee = fixtures::person(pool, "330604198001010022").await;
    fixtures::transaction(pool, l, lessee, "HT-0001", "2020-02-01", "2030-02-01").await.unwrap();
    (h, lessee)
}

/// The SQL helpers [`houses_grid`] uses.
async fn grid_functions(conn: &mut sqlx::PgConnection) {
    sqlx::raw_sql(
        "create or replace function pg_temp.parcel_code(i bigint) returns text language sql immutable as $$
             select '330604001' || lpad((i / 99999 + 1)::text, 3, '0') || 'JC' || lpad((i % 99999 + 1)::text, 5, '0')
         $$;
         create or replace function pg_temp.grid_points(first bigint, n bigint, columns bigint, lon0 float8, lat0 float8,
                                                mlon float8, mlat float8, spacing float8)
         returns table (i bigint, lon float8, lat float8) language sql immutable as $$
             select i, lon0 + ((i - first) % columns) * spacing / mlon, lat0 + ((i - first) / columns) * spacing / mlat
             from generate_series(first, first + n - 1) i
         $$;",
    )
    .execute(conn)
    .await
    .unwrap();
}

/// The Web Mercator point (metres) `east`/`north` metres from the centre.
pub fn mercator(east: f64, north: f64) -> (f64, f64) {
    farmhouse::map::grid::to_mercator(CENTRE.0 + east / M_PER_DEG_LON, CENTRE.1 + north / M_PER_DEG_LAT)
}

/// The tile of zoom `z` holding the point `east`/`north` metres from the centre, as `z/x/y`.
pub fn tile_at(z: u8, east: f64, north: f64) -> String {
    let (x, y) = mercator(east, north);
    let t = farmhouse::map::TileId::containing(z, x, y);
    format!("{}/{}/{}", t.z, t.x, t.y)
}

/// A 1×1 photo of house `house` whose bytes (and so digest) are made from `n`: distinct `n`, distinct photos.
pub async fn photo(pool: &PgPool, house: i64, n: i32) {
    sqlx::query(
        "insert into farmhouse_photos (farmhouse_id, media_type, width, height, sha256, content)
         values ($1, 'image/jpeg', 1, 1, sha256(int4send($2)), int4send($2))",
    )
    .bind(house)
    .bind(n)
    .execute(pool)
    .await
    .unwrap();
}

/// The service over `state` (which the test keeps, to reach its tile cache), acting as `role`.
pub async fn spawn_with(state: AppState, role: Role) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut app = farmhouse::http::app(state);
    if role != Role::Public {
        let caller = Caller {
            role,
            user_id: None,
            username: Some(format!("test-{role}")),
            party_id: None,
            townships: Vec::new(),
        };
        app = app.layer(axum::Extension(caller));
    }
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// A decoded tile's features of layer `name`, each as (id, tags by name).
pub fn features(mvt: &[u8], name: &str) -> Vec<(u64, Vec<(String, String)>)> {
    let tile = Tile::decode(mvt).expect("a Mapbox Vector Tile");
    let Some(layer) = tile.layers.iter().find(|l| l.name == name) else { return Vec::new() };
    layer
        .features
        .iter()
        .map(|f| {
            let tags = f
                .tags
                .chunks(2)
                .map(|kv| (layer.keys[kv[0] as usize].clone(), value_text(&layer.values[kv[1] as usize])))
                .collect();
            (f.id.unwrap_or(0), tags)
        })
        .collect()
}

fn value_text(v: &tile::Value) -> String {
    if let Some(s) = &v.string_value {
        return s.clone();
    }
    if let Some(n) = v.int_value.or(v.sint_value) {
        return n.to_string();
    }
    if let Some(n) = v.uint_value {
        return n.to_string();
    }
    if let Some(n) = v.double_value {
        return n.to_string();
    }
    if let Some(n) = v.float_value {
        return n.to_string();
    }
    v.bool_value.map(|b| b.to_string()).unwrap_or_default()
}

/// The value of tag `key`, if the feature has it.
pub fn tag<'a>(tags: &'a [(String, String)], key: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}
