//! Small builders of valid rows, straight in SQL, so each test states only what it varies.

use chrono::NaiveDate;
use sqlx::PgPool;

/// A point well inside the Shangyu district (lon, lat).
pub const CENTRE: (f64, f64) = (120.90, 30.00);
/// Metres per degree of latitude, and of longitude at 30° N.
pub const M_PER_DEG_LAT: f64 = 110_900.0;
pub const M_PER_DEG_LON: f64 = 96_490.0;

/// The Shangyu district outline and township 330604001 covering all of it.
pub async fn district(pool: &PgPool) {
    let outline = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/shangyu-outline.geojson"))
        .expect("district outline");
    sqlx::query(
        "insert into districts (county_code, name, certificate_prefix, outline)
         select '330604', '上虞区', 'SY', st_multi(st_geomfromgeojson(($1::jsonb -> 'features' -> 0 -> 'geometry')::text))",
    )
    .bind(&outline)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into townships (code, name, kind, boundary)
         select '330604001', '百官街道', '街道', outline from districts",
    )
    .execute(pool)
    .await
    .unwrap();
}

/// An axis-aligned square of `side` metres centred `east`/`north` metres from [`CENTRE`], as WKT.
pub fn square(east: f64, north: f64, side: f64) -> String {
    let (lon, lat) = (CENTRE.0 + east / M_PER_DEG_LON, CENTRE.1 + north / M_PER_DEG_LAT);
    let (dx, dy) = (side / 2.0 / M_PER_DEG_LON, side / 2.0 / M_PER_DEG_LAT);
    format!(
        "POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))",
        x0 = lon - dx,
        x1 = lon + dx,
        y0 = lat - dy,
        y1 = lat + dy
    )
}

/// Parcel `code` of township 330604001: a 40 m square `east` metres from the centre.
pub async fn parcel(pool: &PgPool, code: &str, east: f64) -> i64 {
    sqlx::query_scalar(
        "insert into parcels (parcel_code, township_code, village, land_use, boundary)
         values ($1, '330604001', '测试村', '0702', st_geomfromtext($2, 4326)) returning id",
    )
    .bind(code)
    .bind(square(east, 0.0, 40.0))
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Farmhouse `unit` with a 12 m square footprint `east` metres from the centre (inside the parcel
/// [`parcel`] made at the same `east`).
pub async fn farmhouse(pool: &PgPool, unit: &str, east: f64) -> i64 {
    sqlx::query_scalar(
        "insert into farmhouses (unit_number, footprint, floor_area_m2, floors, year_built, structure)
         values ($1, st_geomfromtext($2, 4326), 288.00, 2, 1998, '砖混') returning id",
    )
    .bind(unit)
    .bind(square(east, 0.0, 12.0))
    .fetch_one(pool)
    .await
    .unwrap()
}

/// A parcel and a house on it, numbered `n` (1..=99999), `n * 100` metres east of the centre.
pub async fn house(pool: &PgPool, n: u32) -> i64 {
    let code = format!("330604001001JC{n:05}");
    parcel(pool, &code, f64::from(n) * 100.0).await;
    farmhouse(pool, &format!("{code}F00010001"), f64::from(n) * 100.0).await
}

/// A person with ID-card number `id_number`.
pub async fn person(pool: &PgPool, id_number: &str) -> i64 {
    sqlx::query_scalar(
        "insert into parties (kind, name, id_number, phone) values ('person', '张三', $1, '13800000000') returning id",
    )
    .bind(id_number)
    .fetch_one(pool)
    .await
    .unwrap()
}

pub fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// An open listing of `house` with a notice period of 2020-01-01..2020-01-15: a listing of the past, so
/// it is written the way the registry records one from paper (`farmhouse.historical_record` set in its
/// transaction, as `POST …/listings/historical` does).
pub async fn listing(pool: &PgPool, house: i64) -> i64 {
    let mut tx = pool.begin().await.unwrap();
    farmhouse::store::activation::record_historical(&mut tx, "test fixture: a listing of 2020").await.unwrap();
    let id = sqlx::query_scalar(
        "insert into listings (farmhouse_id, asking_rent_fen, min_term_months, max_term_months, allowed_uses,
                               notice_start, notice_end)
         values ($1, 1200000, 12, 240, '{民宿,康养}', '2020-01-01', '2020-01-15') returning id",
    )
    .bind(house)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

/// Today in Shangyu (Asia/Shanghai, UTC+8 all year): the calendar day the registry dates notices by.
pub fn shanghai_today() -> NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}

/// A GeoJSON Polygon (lon/lat) centred `east` metres east of [`CENTRE`]: a circle of `radius` metres drawn
/// with `outer` positions (the closing one included), with `holes` small holes of `per_hole` positions each
/// on a grid inside it. The positions of all rings add up to `outer + holes * per_hole`.
pub fn round_polygon(east: f64, radius: f64, outer: usize, holes: usize, per_hole: usize) -> serde_json::Value {
    let (cx, cy) = (CENTRE.0 + east / M_PER_DEG_LON, CENTRE.1);
    let ring = |x: f64, y: f64, r: f64, n: usize, clockwise: bool| -> Vec<[f64; 2]> {
        let sides = n - 1;
        let mut ring: Vec<[f64; 2]> = (0..sides)
            .map(|k| {
                let turn = std::f64::consts::TAU * k as f64 / sides as f64;
                let a = if clockwise { -turn } else { turn };
                [cx + (x + r * a.cos()) / M_PER_DEG_LON, cy + (y + r * a.sin()) / M_PER_DEG_LAT]
            })
            .collect();
        ring.push(ring[0]);
        ring
    };
    let mut rings = vec![ring(0.0, 0.0, radius, outer, false)];
    // Holes on a k × k grid across the square inscribed in the circle, each well inside its cell.
    let k = (holes as f64).sqrt().ceil().max(1.0) as usize;
    let side = radius * std::f64::consts::SQRT_2 * 0.9;
    let cell = side / k as f64;
    for h in 0..holes {
        let (i, j) = ((h % k) as f64, (h / k) as f64);
        let (x, y) = (-side / 2.0 + (i + 0.5) * cell, -side / 2.0 + (j + 0.5) * cell);
        rings.push(ring(x, y, cell / 4.0, per_hole, true));
    }
    serde_json::json!({"type": "Polygon", "coordinates": rings})
}

/// A signed lease of the house of `listing` for [start, end), contract number `contract`.
pub async fn transaction(
    pool: &PgPool,
    listing: i64,
    lessee: i64,
    contract: &str,
    start: &str,
    end: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into transactions (listing_id, farmhouse_id, lessee_party_id, mode, contract_no, signed_on,
                                   lease_start, lease_end, annual_rent_fen, total_amount_fen, intended_use)
         select $1, l.farmhouse_id, $2, '协议', $3, $4, $4, $5, 1200000, 6000000, '民宿'
         from listings l where l.id = $1 returning id",
    )
    .bind(listing)
    .bind(lessee)
    .bind(contract)
    .bind(date(start))
    .bind(date(end))
    .fetch_one(pool)
    .await
}

/// Certificate `no` for `transaction`, written as a record of the past (`farmhouse.historical_record`):
/// the deal's checklist is not asked for, as for the certificates a register is loaded with.
pub async fn certification(pool: &PgPool, transaction: i64, no: &str) -> Result<i64, sqlx::Error> {
    certification_at(pool, transaction, no, None).await
}

/// As [`certification`], issued at `issued_at` (a timestamp with its offset) when given.
pub async fn certification_at(
    pool: &PgPool,
    transaction: i64,
    no: &str,
    issued_at: Option<&str>,
) -> Result<i64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("select set_config('farmhouse.historical_record', 'test fixture', true)").execute(&mut *tx).await?;
    let id = sqlx::query_scalar(
        "insert into certifications (certificate_no, transaction_id, verification_code, issued_at)
         values ($1, $2, 'ABCD1234', coalesce($3::timestamptz, now())) returning id",
    )
    .bind(no)
    .bind(transaction)
    .bind(issued_at)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The name of the constraint `result` broke, or a panic naming what happened instead.
pub fn broken_constraint<T: std::fmt::Debug>(result: Result<T, sqlx::Error>) -> String {
    match result {
        Err(sqlx::Error::Database(e)) => e.constraint().map_or_else(
            || {
                panic!("refused without a constraint name: {e}");
            },
            str::to_string,
        ),
        other => panic!("expected the database to refuse the row, got {other:?}"),
    }
}

/// A valid ID-card number (check character included) for person `n`.
pub fn id_number(n: u32) -> String {
    let first17 = format!("33060419800101{:03}", n % 1000);
    format!("{first17}{}", farmhouse::domain::identity::id_check_char(&first17))
}

/// A valid unified social credit code for organisation `n`.
pub fn credit_code(n: u32) -> String {
    let first17 = format!("91330604MA{:07}", n % 10_000_000);
    format!("{first17}{}", farmhouse::domain::identity::credit_check_char(&first17))
}
