//! The rules of docs/DESIGN.md §2 hold in the database itself: each test writes a row that breaks one rule
//! straight in SQL and proves the database refuses it (by the constraint's name).

use crate::common::TestDb;
use crate::common::fixtures::{self, broken_constraint, house, person};
use farmhouse::domain::unit_number::UnitNumber;
use sqlx::PgPool;

async fn signed_lease(pool: &PgPool, n: u32) -> (i64, i64) {
    let h = house(pool, n).await;
    let l = fixtures::listing(pool, h).await;
    let p = person(pool, &format!("33060419800101{n:04}")).await;
    let t = fixtures::transaction(pool, l, p, &format!("HT-{n:04}"), "2020-02-01", "2030-02-01").await.unwrap();
    (h, t)
}

#[tokio::test]
async fn a_unit_number_is_unique() {
    let db = TestDb::with_district().await;
    house(&db.pool, 1).await;
    let again = sqlx::query(
        "insert into farmhouses (unit_number, footprint, floor_area_m2, floors, year_built, structure)
         select unit_number, footprint, 100, 1, 2000, '木' from farmhouses",
    )
    .execute(&db.pool)
    .await;
    assert_eq!(broken_constraint(again), "farmhouses_unit_number_key");
}

#[tokio::test]
async fn a_malformed_unit_number_is_refused() {
    let db = TestDb::with_district().await;
    fixtures::parcel(&db.pool, "330604001001JC00001", 100.0).await;
    for bad in [
        "330604001001JC00001W00000000",
        "330604001001JC00001F00000000",
        "330604001001JC00001F00010000",
        "330604001001JC00001F00000001",
        "330604001001JC00001F0001",
    ] {
        let r = sqlx::query(
            "insert into farmhouses (unit_number, footprint, floor_area_m2, floors, year_built, structure)
             values ($1, st_geomfromtext($2, 4326), 100, 1, 2000, '木')",
        )
        .bind(bad)
        .bind(fixtures::square(100.0, 0.0, 10.0))
        .execute(&db.pool)
        .await;
        assert_eq!(broken_constraint(r), "farmhouses_unit_number_check", "{bad}");
    }
}

#[tokio::test]
async fn the_database_and_the_service_agree_on_unit_numbers() {
    let db = TestDb::new().await;
    let corpus = [
        "330604001002JC00017F00010001",
        "330604001002JC00017F00000000",
        "330604001002JC00017F00000100",
        "330604001002JC00017F01000000",
        "330604001002JC00000F00010001",
        "330604001002GC00017F00010001",
        "330604001002ZC00017F00010001",
        "330604001002JB00017F00010001",
        "330604001002JC00017W00000000",
        "330604001002JC00017L00010001",
        "330604001002JC00017F0001000X",
        "33060400100AJC00017F00010001",
        "A30604001002JC00017F00010001",
        "330604001002JC0001",
        "330604001002JC00017F000100011",
        "330604001002jc00017F00010001",
        "999999999999JC99999F99999999",
    ];
    for unit in corpus {
        let in_sql: bool =
            sqlx::query_scalar("select is_farmhouse_unit_number($1)").bind(unit).fetch_one(&db.pool).await.unwrap();
        let in_rust = UnitNumber::parse_farmhouse(unit, "unit_number").is_ok();
        assert_eq!(in_sql, in_rust, "{unit}: database says {in_sql}, service says {in_rust}");
    }
}

#[tokio::test]
async fn a_malformed_parcel_code_is_refused() {
    let db = TestDb::with_district().await;
    let r = sqlx::query(
        "insert into parcels (parcel_code, township_code, village, land_use, boundary)
         values ('330604001001ZC00001', '330604001', '村', '0702', st_geomfromtext($1, 4326))",
    )
    .bind(fixtures::square(0.0, 0.0, 20.0))
    .execute(&db.pool)
    .await;
    assert_eq!(broken_constraint(r), "parcels_parcel_code_check");
}

#[tokio::test]
async fn a_certificate_number_is_unique() {
    let db = TestDb::with_district().await;
    let (_, t1) = signed_lease(&db.pool, 1).await;
    let (_, t2) = signed_lease(&db.pool, 2).await;
    fixtures::certification(&db.pool, t1, "SY-JZ-2020-000001").await.unwrap();
    let r = fixtures::certification(&db.pool, t2, "SY-JZ-2020-000001").await;
    assert_eq!(broken_constraint(r), "certifications_certificate_no_key");
    let r = fixtures::certification(&db.pool, t2, "SY-2020-1").await;
    assert_eq!(broken_constraint(r), "certifications_certificate_no_check");
}

#[tokio::test]
async fn a_transaction_has_one_certificate_in_force() {
    let db = TestDb::with_district().await;
    let (_, t) = signed_lease(&db.pool, 1).await;
    let first = fixtures::certification(&db.pool, t, "SY-JZ-2020-000001").await.unwrap();
    let r = fixtures::certification(&db.pool, t, "SY-JZ-2020-000002").await;
    assert_eq!(broken_constraint(r), "certifications_one_per_transaction");
    // Revoked, the first stays and a new certificate may be issued.
    sqlx::query("update certifications set revoked_at = now(), revoke_reason = '录入错误' where id = $1")
        .bind(first)
        .execute(&db.pool)
        .await
        .unwrap();
    fixtures::certification(&db.pool, t, "SY-JZ-2020-000002").await.unwrap();
    let kept: i64 = sqlx::query_scalar("select count(*) from certifications").fetch_one(&db.pool).await.unwrap();
    assert_eq!(kept, 2);
}

#[tokio::test]
async fn a_certificate_needs_a_signed_transaction() {
    let db = TestDb::with_district().await;
    let (_, t) = signed_lease(&db.pool, 1).await;
    sqlx::query("update transactions set status = 'terminated', terminated_on = '2021-01-01' where id = $1")
        .bind(t)
        .execute(&db.pool)
        .await
        .unwrap();
    let r = fixtures::certification(&db.pool, t, "SY-JZ-2020-000001").await;
    assert_eq!(broken_constraint(r), "certifications_signed_transaction");
    let r = fixtures::certification(&db.pool, 999_999, "SY-JZ-2020-000002").await;
    assert_eq!(broken_constraint(r), "certifications_signed_transaction");
}

#[tokio::test]
async fn a_certificate_is_never_deleted_or_rewritten() {
    let db = TestDb::with_district().await;
    let (_, t) = signed_lease(&db.pool, 1).await;
    let c = fixtures::certification(&db.pool, t, "SY-JZ-2020-000001").await.unwrap();
    let r = sqlx::query("delete from certifications where id = $1").bind(c).execute(&db.pool).await;
    assert_eq!(broken_constraint(r), "certifications_kept");
    let r = sqlx::query("update certifications set certificate_no = 'SY-JZ-2020-000009' where id = $1")
        .bind(c)
        .execute(&db.pool)
        .await;
    assert_eq!(broken_constraint(r), "certifications_kept");
    let r = sqlx::query("update certifications set revoked_at = now() where id = $1").bind(c).execute(&db.pool).await;
    assert_eq!(broken_constraint(r), "certifications_revocation", "a revocation needs its reason");
}

#[tokio::test]
async fn leases_of_one_house_never_overlap() {
    let db = TestDb::with_district().await;
    let (h, _) = signed_lease(&db.pool, 1).await;
    sqlx::query("update listings set status = 'closed'").execute(&db.pool).await.unwrap();
    let second = fixtures::listing(&db.pool, h).await;
    let p = person(&db.pool, "330604199001010011").await;
    let r = fixtures::transaction(&db.pool, second, p, "HT-OVERLAP", "2029-06-01", "2031-06-01").await;
    assert_eq!(broken_constraint(r), "transactions_no_overlap");
    // Back to back is not an overlap: the first lease ends (exclusive) on 2030-02-01.
    fixtures::transaction(&db.pool, second, p, "HT-NEXT", "2030-02-01", "2031-02-01").await.unwrap();
}

#[tokio::test]
async fn a_lease_runs_one_day_to_twenty_years() {
    let db = TestDb::with_district().await;
    let p = person(&db.pool, "330604199001010011").await;
    for (n, (start, end, ok)) in [
        ("2020-03-01", "2020-03-01", false),
        ("2020-03-01", "2020-02-01", false),
        ("2020-03-01", "2020-03-02", true),
        ("2020-03-01", "2040-03-01", true),
        ("2020-03-01", "2040-03-02", false),
    ]
    .into_iter()
    .enumerate()
    {
        let h = house(&db.pool, n as u32 + 1).await;
        let l = fixtures::listing(&db.pool, h).await;
        let r = fixtures::transaction(&db.pool, l, p, &format!("HT-{n:04}"), start, end).await;
        if ok {
            r.unwrap();
        } else {
            assert_eq!(broken_constraint(r), "transactions_term", "{start}..{end}");
        }
    }
}

#[tokio::test]
async fn money_is_integer_fen_and_never_negative() {
    let db = TestDb::new().await;
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "select table_name::text, column_name::text, data_type::text from information_schema.columns
         where table_schema = 'public' and (column_name like '%fen' or column_name like '%yuan%')",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(columns.len() >= 5, "money columns: {columns:?}");
    for (table, column, kind) in &columns {
        assert!(column.ends_with("_fen"), "{table}.{column} must hold integer fen");
        assert_eq!(kind, "bigint", "{table}.{column}");
    }
    let db = TestDb::with_district().await;
    let h = house(&db.pool, 1).await;
    let r = sqlx::query(
        "insert into appraisals (farmhouse_id, report_no, firm, appraiser, method, valuation_date, value_fen,
                                 annual_rent_fen, valid_until)
         values ($1, 'PG-2020-001', '评估所', '李四', '收益法', '2020-01-01', -1, 0, '2021-01-01')",
    )
    .bind(h)
    .execute(&db.pool)
    .await;
    assert_eq!(broken_constraint(r), "appraisals_value_fen_check");
}

#[tokio::test]
async fn geometries_must_be_valid() {
    let db = TestDb::with_district().await;
    let (lon, lat) = fixtures::CENTRE;
    let bowtie =
        format!("POLYGON(({lon} {lat},{a} {b},{a} {lat},{lon} {b},{lon} {lat}))", a = lon + 0.0003, b = lat + 0.0003);
    let r = sqlx::query(
        "insert into parcels (parcel_code, township_code, village, land_use, boundary)
         values ('330604001001JC00001', '330604001', '村', '0702', st_geomfromtext($1, 4326))",
    )
    .bind(bowtie)
    .execute(&db.pool)
    .await;
    assert_eq!(broken_constraint(r), "parcels_boundary_check");
}

#[tokio::test]
async fn geometries_must_not_be_empty() {
    let db = TestDb::with_district().await;
    fixtures::parcel(&db.pool, "330604001001JC00001", 0.0).await;
    let r = sqlx::query(
        "insert into farmhouses (unit_number, footprint, floor_area_m2, floors, year_built, structure)
         values ('330604001001JC00001F00010001', 'SRID=4326;POLYGON EMPTY', 100, 1, 2000, '木')",
    )
    .execute(&db.pool)
    .await;
    assert_eq!(broken_constraint(r), "farmhouses_footprint_check");
}

#[tokio::test]
async fn geometries_keep_their_fixed_srid_and_type() {
    let db = TestDb::with_district().await;
    for (geometry, expected) in [
        ("SRID=3857;POLYGON((0 0,1 0,1 1,0 0))", "SRID (3857) does not match column SRID (4326)"),
        ("SRID=4326;POINT(120.9 30)", "Geometry type (Point) does not match column type (Polygon)"),
    ] {
        let r = sqlx::query(
            "insert into parcels (parcel_code, township_code, village, land_use, boundary)
             values ('330604001001JC00001', '330604001', '村', '0702', $1::geometry)",
        )
        .bind(geometry)
        .execute(&db.pool)
        .await;
        let message = r.unwrap_err().to_string();
        assert!(message.contains(expected), "{message}");
    }
}

#[tokio::test]
async fn geometries_must_lie_inside_the_district() {
    let db = TestDb::with_district().await;
    // Hangzhou, 60 km west of Shangyu.
    let r = sqlx::query(
        "insert into parcels (parcel_code, township_code, village, land_use, boundary)
         values ('330604001001JC00001', '330604001', '村', '0702',
                 st_makeenvelope(120.15, 30.25, 120.1505, 30.2505, 4326))",
    )
    .execute(&db.pool)
    .await;
    assert_eq!(broken_constraint(r), "inside_district");
}

#[tokio::test]
async fn a_footprint_lies_within_its_parcel() {
    let db = TestDb::with_district().await;
    fixtures::parcel(&db.pool, "330604001001JC00001", 0.0).await;
    // The parcel is a 40 m square; a 12 m house 30 m east of its centre sticks out by 16 m.
    let r = sqlx::query(
        "insert into farmhouses (unit_number, footprint, floor_area_m2, floors, year_built, structure)
         values ('330604001001JC00001F00010001', st_geomfromtext($1, 4326), 100, 1, 2000, '木')",
    )
    .bind(fixtures::square(30.0, 0.0, 12.0))
    .execute(&db.pool)
    .await;
    assert_eq!(broken_constraint(r), "farmhouses_footprint_within_parcel");
    // Within the survey tolerance (0.3 m out) it is accepted.
    sqlx::query(
        "insert into farmhouses (unit_number, footprint, floor_area_m2, floors, year_built, structure)
         values ('330604001001JC00001F00010001', st_geomfromtext($1, 4326), 100, 1, 2000, '木')",
    )
    .bind(fixtures::square(14.3, 0.0, 12.0))
    .execute(&db.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn a_house_needs_the_parcel_its_unit_number_names() {
    let db = TestDb::with_district().await;
    let r = sqlx::query(
        "insert into farmhouses (unit_number, footprint, floor_area_m2, floors, year_built, structure)
         values ('330604001001JC00001F00010001', st_geomfromtext($1, 4326), 100, 1, 2000, '木')",
    )
    .bind(fixtures::square(0.0, 0.0, 12.0))
    .execute(&db.pool)
    .await;
    assert_eq!(broken_constraint(r), "farmhouses_parcel_code_fkey");
}

#[tokio::test]
async fn parcels_of_one_township_do_not_overlap() {
    let db = TestDb::with_district().await;
    fixtures::parcel(&db.pool, "330604001001JC00001", 0.0).await;
    // Touching edge to edge is fine.
    fixtures::parcel(&db.pool, "330604001001JC00002", 40.0).await;
    let r = sqlx::query(
        "insert into parcels (parcel_code, township_code, village, land_use, boundary)
         values ('330604001001JC00003', '330604001', '村', '0702', st_geomfromtext($1, 4326))",
    )
    .bind(fixtures::square(20.0, 10.0, 20.0))
    .execute(&db.pool)
    .await;
    assert_eq!(broken_constraint(r), "parcels_no_overlap");
}

#[tokio::test]
async fn a_listing_gives_at_least_seven_days_notice_and_a_house_has_one_open_listing() {
    let db = TestDb::with_district().await;
    let h = house(&db.pool, 1).await;
    let r = sqlx::query(
        "insert into listings (farmhouse_id, asking_rent_fen, min_term_months, max_term_months, allowed_uses,
                               notice_start, notice_end)
         values ($1, 100, 12, 24, '{民宿}', current_date + 30, current_date + 36)",
    )
    .bind(h)
    .execute(&db.pool)
    .await;
    assert_eq!(broken_constraint(r), "listings_notice_period");
    fixtures::listing(&db.pool, h).await;
    let r = sqlx::query(
        "insert into listings (farmhouse_id, asking_rent_fen, min_term_months, max_term_months, allowed_uses,
                               notice_start, notice_end)
         values ($1, 100, 12, 24, '{民宿}', current_date + 30, current_date + 37)",
    )
    .bind(h)
    .execute(&db.pool)
    .await;
    assert_eq!(broken_constraint(r), "listings_one_open_per_house");
}

/// A listing of house `h` whose notice runs from `start` (SQL) for 14 days.
async fn insert_listing(conn: impl sqlx::PgExecutor<'_>, h: i64, start: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "insert into listings (farmhouse_id, asking_rent_fen, min_term_months, max_term_months, allowed_uses,
                               notice_start, notice_end)
         values ($1, 100, 12, 24, '{{民宿}}', {start}, {start} + 14) returning id"
    ))
    .bind(h)
    .fetch_one(conn)
    .await
}

#[tokio::test]
async fn a_listing_notice_starts_no_earlier_than_the_day_it_is_recorded() {
    let db = TestDb::with_district().await;
    let h = house(&db.pool, 1).await;
    let shanghai_today = "(now() at time zone 'Asia/Shanghai')::date";
    // The notice the review found: 2026-09-01..2026-09-10, recorded after it had ended.
    let r = sqlx::query(
        "insert into listings (farmhouse_id, asking_rent_fen, min_term_months, max_term_months, allowed_uses,
                               notice_start, notice_end)
         values ($1, 100, 12, 24, '{民宿}', '2026-09-01', '2026-09-10')",
    )
    .bind(h)
    .execute(&db.pool)
    .await;
    assert_eq!(broken_constraint(r), "listings_notice_not_past");
    let r = insert_listing(&db.pool, h, &format!("{shanghai_today} - 1")).await;
    assert_eq!(broken_constraint(r), "listings_notice_not_past", "yesterday in Shangyu is past");
    let l = insert_listing(&db.pool, h, shanghai_today).await.unwrap();
    // Moving an open listing's notice into the past is refused too.
    let r = sqlx::query("update listings set notice_start = notice_start - 3 where id = $1").bind(l).execute(&db.pool);
    assert_eq!(broken_constraint(r.await), "listings_notice_not_past");
    sqlx::query("update listings set status = 'withdrawn' where id = $1").bind(l).execute(&db.pool).await.unwrap();

    // The explicit path for records of the past: allowed for this transaction only, with the reason kept.
    let mut tx = db.pool.begin().await.unwrap();
    farmhouse::store::activation::record_historical(&mut tx, "录入2019年纸质挂牌记录").await.unwrap();
    let old = insert_listing(&mut *tx, h, "date '2019-03-01'").await.unwrap();
    tx.commit().await.unwrap();
    let reason: Option<String> = sqlx::query_scalar("select historical_reason from listings where id = $1")
        .bind(old)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(reason.as_deref(), Some("录入2019年纸质挂牌记录"));
    let kept: String = sqlx::query_scalar(
        "select after ->> 'historical_reason' from history where table_name = 'listings' and record_id = $1",
    )
    .bind(old)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(kept, "录入2019年纸质挂牌记录", "the history says why");
    sqlx::query("update listings set status = 'withdrawn' where id = $1").bind(old).execute(&db.pool).await.unwrap();
    let r = insert_listing(&db.pool, h, "date '2019-03-01'").await;
    assert_eq!(broken_constraint(r), "listings_notice_not_past", "the setting ended with its transaction");
}

#[tokio::test]
async fn a_parcel_keeps_its_houses_within_it_when_its_boundary_changes() {
    let db = TestDb::with_district().await;
    let h = house(&db.pool, 1).await;
    let parcel = "330604001001JC00001";
    // The review's case: the 40 m parcel shrunk to a 4 m square, its 12 m house now outside it.
    let r = sqlx::query("update parcels set boundary = st_geomfromtext($1, 4326) where parcel_code = $2")
        .bind(fixtures::square(100.0, 0.0, 4.0))
        .bind(parcel)
        .execute(&db.pool)
        .await;
    assert_eq!(broken_constraint(r), "parcels_houses_within");
    // Moved away whole: refused too.
    let r = sqlx::query("update parcels set boundary = st_geomfromtext($1, 4326) where parcel_code = $2")
        .bind(fixtures::square(1000.0, 0.0, 40.0))
        .bind(parcel)
        .execute(&db.pool)
        .await;
    assert_eq!(broken_constraint(r), "parcels_houses_within");
    // Shrunk to 14 m, the house still inside: accepted.
    sqlx::query("update parcels set boundary = st_geomfromtext($1, 4326) where parcel_code = $2")
        .bind(fixtures::square(100.0, 0.0, 14.0))
        .bind(parcel)
        .execute(&db.pool)
        .await
        .unwrap();
    let inside: bool = sqlx::query_scalar(
        "select st_coveredby(f.footprint, st_buffer(p.boundary, footprint_tolerance()))
         from farmhouses f join parcels p using (parcel_code) where f.id = $1",
    )
    .bind(h)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(inside);
}

#[tokio::test]
async fn a_parcel_lies_within_its_township() {
    let db = TestDb::with_district().await;
    // A second township: a 2 km square 5 km north of the centre (the fixture's 330604001 covers all).
    sqlx::query(
        "insert into townships (code, name, kind, boundary)
         values ('330604202', '岭南乡', '乡', st_multi(st_makeenvelope(120.89, 30.04, 120.91, 30.06, 4326)))",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let insert = |township: &'static str, wkt: String| {
        let pool = db.pool.clone();
        async move {
            sqlx::query(
                "insert into parcels (parcel_code, township_code, village, land_use, boundary)
                 values ('330604001001JC00001', $1, '测试村', '0702', st_geomfromtext($2, 4326))",
            )
            .bind(township)
            .bind(wkt)
            .execute(&pool)
            .await
        }
    };
    // At the centre, 4 km south of 330604202: refused under that township's code.
    assert_eq!(
        broken_constraint(insert("330604202", fixtures::square(0.0, 0.0, 40.0)).await),
        "parcels_within_township"
    );
    // Straddling its border by 20 m: refused; by half a metre (survey tolerance): accepted.
    let border = (30.04 - fixtures::CENTRE.1) * fixtures::M_PER_DEG_LAT;
    let r = insert("330604202", fixtures::square(0.0, border, 40.0)).await;
    assert_eq!(broken_constraint(r), "parcels_within_township");
    insert("330604202", fixtures::square(0.0, border + 19.5, 40.0)).await.unwrap();
    // Moving it out by an update is refused as well.
    let r = sqlx::query(
        "update parcels set boundary = st_geomfromtext($1, 4326) where parcel_code = '330604001001JC00001'",
    )
    .bind(fixtures::square(0.0, 0.0, 40.0))
    .execute(&db.pool)
    .await;
    assert_eq!(broken_constraint(r), "parcels_within_township");
}

#[tokio::test]
async fn every_geometry_column_has_a_gist_index() {
    let db = TestDb::new().await;
    let unindexed: Vec<String> = sqlx::query_scalar(
        "select g.f_table_name || '.' || g.f_geometry_column
         from geometry_columns g
         where g.f_table_schema = 'public'
           and not exists (
               select 1 from pg_index i
               join pg_class c on c.oid = i.indexrelid
               join pg_am am on am.oid = c.relam
               join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any (i.indkey)
               where i.indrelid = (g.f_table_schema || '.' || g.f_table_name)::regclass
                 and a.attname = g.f_geometry_column and am.amname = 'gist')
           -- Widened outlines are read by key, never searched.
           and g.f_geometry_column not in ('outline_tolerant', 'boundary_tolerant', 'seat')",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(unindexed.is_empty(), "geometry columns without a GiST index: {unindexed:?}");
    let srids: Vec<(String, i32)> = sqlx::query_as(
        "select f_table_name || '.' || f_geometry_column, srid from geometry_columns where f_table_schema = 'public'",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    for (column, srid) in srids {
        assert!(srid == 4326 || srid == 3857, "{column} has SRID {srid}");
    }
}

#[tokio::test]
async fn houses_keep_a_web_mercator_copy_for_tiles() {
    let db = TestDb::with_district().await;
    let h = house(&db.pool, 1).await;
    let (same, srid): (bool, i32) = sqlx::query_as(
        "select st_equals(footprint_3857, st_transform(footprint, 3857)), st_srid(footprint_3857)
         from farmhouses where id = $1",
    )
    .bind(h)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(same);
    assert_eq!(srid, 3857);
    let area: f64 = sqlx::query_scalar("select area_m2 from parcels").fetch_one(&db.pool).await.unwrap();
    assert!((area - 1600.0).abs() < 5.0, "a 40 m square parcel has {area} m² on the survey plane");
}

#[tokio::test]
async fn every_change_is_in_the_history_which_is_append_only() {
    type Entry = (i64, String, String, String, Option<i64>, Option<i64>);
    let db = TestDb::with_district().await;
    let mut tx = db.pool.begin().await.unwrap();
    sqlx::query("select set_config('farmhouse.actor', 'officer:7', true)").execute(&mut *tx).await.unwrap();
    sqlx::query(
        "insert into parcels (parcel_code, township_code, village, land_use, boundary)
         values ('330604001001JC00001', '330604001', '村', '0702', st_geomfromtext($1, 4326))",
    )
    .bind(fixtures::square(0.0, 0.0, 40.0))
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let house = fixtures::farmhouse(&db.pool, "330604001001JC00001F00010001", 0.0).await;
    sqlx::query("update farmhouses set floors = 3 where id = $1").bind(house).execute(&db.pool).await.unwrap();

    let entries: Vec<Entry> = sqlx::query_as(
        "select seq, actor, table_name, action, (before ->> 'floors')::bigint, (after ->> 'floors')::bigint
         from history order by seq",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let summary: Vec<(&str, &str, &str)> = entries.iter().map(|e| (e.1.as_str(), e.2.as_str(), e.3.as_str())).collect();
    assert_eq!(
        summary,
        [
            ("officer:7", "parcels", "insert"),
            ("farmhouse_writer", "farmhouses", "insert"),
            ("farmhouse_writer", "farmhouses", "update")
        ]
    );
    assert_eq!((entries[2].4, entries[2].5), (Some(2), Some(3)));
    assert_eq!(entries.iter().map(|e| e.0).collect::<Vec<_>>(), [1, 2, 3]);

    // Even the database owner cannot change or remove an entry while the triggers stand ...
    let r = sqlx::query("update history set actor = 'nobody' where seq = 1").execute(&db.admin).await;
    assert_eq!(broken_constraint(r), "history_append_only");
    let r = sqlx::query("delete from history where seq = 3").execute(&db.admin).await;
    assert_eq!(broken_constraint(r), "history_append_only");
    // ... and the role the service works as has no right to try.
    for sql in ["update history set actor = 'nobody' where seq = 1", "delete from history", "truncate history"] {
        let r = sqlx::query(sql).execute(&db.pool).await;
        match r {
            Err(sqlx::Error::Database(e)) => assert_eq!(e.code().as_deref(), Some("42501"), "{sql}: {e}"),
            other => panic!("{sql}: expected permission denied, got {other:?}"),
        }
    }
    let role: String = sqlx::query_scalar("select current_user::text").fetch_one(&db.pool).await.unwrap();
    assert_eq!(role, "farmhouse_writer");
    let chained: bool = sqlx::query_scalar(
        "select bool_and(h.prev_hash = coalesce(p.hash, '\\x'::bytea)
                         and h.hash = history_hash(h.prev_hash, h.seq, h.at, h.actor, h.table_name, h.record_id,
                                                   h.action, h.before, h.after))
         from history h left join history p on p.seq = h.seq - 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(chained, "each entry carries the hash of the previous one");
}

#[tokio::test]
async fn every_database_rule_has_a_message_for_clients() {
    let db = TestDb::new().await;
    let mut names: Vec<String> = sqlx::query_scalar(
        "select conname::text from pg_constraint
         where connamespace = 'public'::regnamespace and contype <> 'p' and conrelid <> 'spatial_ref_sys'::regclass
         union
         select indexname::text from pg_indexes i
         where schemaname = 'public' and indexdef like 'CREATE UNIQUE%'
           and not exists (select 1 from pg_constraint c where c.conname = i.indexname)",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    // Rules that trigger functions raise under a constraint name of their own.
    let functions: Vec<String> = sqlx::query_scalar(
        "select prosrc from pg_proc where pronamespace = 'public'::regnamespace and prosrc like '%constraint =%'",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    for source in functions {
        for part in source.split("constraint = '").skip(1) {
            names.push(part.split('\'').next().unwrap().to_string());
        }
    }
    let undescribed: Vec<&String> =
        names.iter().filter(|n| farmhouse::store::constraints::describe(n).is_none()).collect();
    assert!(undescribed.is_empty(), "constraints without a client message: {undescribed:?}");
    assert!(names.len() > 90, "found only {} rules", names.len());
}
