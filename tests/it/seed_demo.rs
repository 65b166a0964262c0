//! The Shangyu demo district: 20 townships that tile the outline, and records from which the reported
//! figures follow — 3,535 certified houses, 1,154,900 m², 266,579,100 yuan — with every status of the
//! lifecycle present and agreeing with the records.

use crate::common;

use crate::common::TestDb;
use farmhouse::seed;
use serde_json::Value;
use sqlx::PgPool;

async fn demo() -> TestDb {
    TestDb::demo().await
}

async fn scalar<T>(pool: &PgPool, sql: &str) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
{
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[tokio::test]
async fn the_demo_district_reproduces_the_reported_figures() {
    let db = demo().await;
    let pool = &db.pool;

    // Twenty townships whose union is the outline, without gaps or overlaps.
    assert_eq!(scalar::<i64>(pool, "select count(*) from townships").await, 20);
    let overlapping: i64 = scalar(
        pool,
        "select count(*) from townships a join townships b on a.code < b.code
         where st_relate(a.boundary, b.boundary, '2********')",
    )
    .await;
    assert_eq!(overlapping, 0, "township interiors overlap");
    let (gap, overlap): (f64, f64) = sqlx::query_as(
        "select st_area(st_symdifference(st_union(t.boundary), d.outline)),
                sum(st_area(t.boundary)) - st_area(st_union(t.boundary))
         from townships t cross join districts d group by d.outline",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    // Square degrees: 1e-12 is about 0.01 m².
    assert!(gap.abs() < 1e-12, "the townships leave {gap} deg² of the outline uncovered (or cover more)");
    assert!(overlap.abs() < 1e-12, "the townships overlap by {overlap} deg²");

    // The figures straight from the records, without the aggregates.
    let (houses, area, amount): (i64, String, i64) = sqlx::query_as(
        "select count(*), sum(f.floor_area_m2)::text, sum(t.total_amount_fen)::bigint
         from certifications c join transactions t on t.id = c.transaction_id join farmhouses f on f.id = t.farmhouse_id
         where c.revoked_at is null",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!((houses, area.as_str(), amount), (3535, "1154900.00", 26_657_910_000));

    // And as the service reports them.
    let addr = common::spawn_app(pool.clone()).await;
    let body: Value = reqwest::get(format!("http://{addr}/api/v1/stats/summary")).await.unwrap().json().await.unwrap();
    assert_eq!(body["certified_houses"], 3535);
    assert_eq!(body["certified_floor_area_m2"], 1_154_900.0);
    assert_eq!(body["transaction_amount_yuan"], 266_579_100);
    assert_eq!(body["townships_count"], 20);
    assert_eq!(body["by_township"].as_array().unwrap().len(), 20);
    let by_month: i64 = body["by_month"].as_array().unwrap().iter().map(|m| m["certified"].as_i64().unwrap()).sum();
    assert_eq!(by_month, 3535);
    let months: Vec<&str> = body["by_month"].as_array().unwrap().iter().map(|m| m["month"].as_str().unwrap()).collect();
    assert!(months.iter().any(|m| m.starts_with("2018")) && months.iter().any(|m| m.starts_with("2020")));
}

#[tokio::test]
async fn house_statuses_agree_with_the_records() {
    let db = demo().await;
    let pool = &db.pool;
    let wrong: i64 = scalar(
        pool,
        "select count(*) from farmhouses f where status <> case
             when exists (select 1 from transactions t join certifications c on c.transaction_id = t.id
                          where t.farmhouse_id = f.id and t.status = 'signed' and c.revoked_at is null) then 'certified'
             when exists (select 1 from transactions t where t.farmhouse_id = f.id and t.status = 'signed') then 'contracted'
             when exists (select 1 from listings l where l.farmhouse_id = f.id and l.status = 'open') then 'listed'
             else 'registered' end",
    )
    .await;
    assert_eq!(wrong, 0);
    let counts: Vec<(String, i64)> =
        sqlx::query_as("select status, count(*) from farmhouses group by status order by status")
            .fetch_all(pool)
            .await
            .unwrap();
    assert_eq!(counts.len(), 4, "every status is present: {counts:?}");
    let in_notice: i64 =
        scalar(pool, "select count(*) from listings where status = 'open' and notice_end > '2026-11-28'").await;
    assert!(in_notice > 0, "some open listings are in their notice period");
    let early: i64 = scalar(
        pool,
        "select count(*) from transactions t join listings l on l.id = t.listing_id where t.signed_on < l.notice_end",
    )
    .await;
    assert_eq!(early, 0, "no deal is signed before its notice period ends");
    let uses: i64 = scalar(pool, "select count(distinct intended_use) from transactions").await;
    assert_eq!(uses, 5);
    let (first, last): (chrono::NaiveDate, chrono::NaiveDate) = sqlx::query_as(
        "select min(t.signed_on), max(t.signed_on) from transactions t join certifications c on c.transaction_id = t.id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert!(first.to_string().starts_with("2018") && last.to_string().starts_with("2020"), "{first}..{last}");
    let avg: f64 = scalar(pool, "select avg(floor_area_m2)::float8 from farmhouses").await;
    assert!((250.0..360.0).contains(&avg), "average floor area {avg}");
}

#[tokio::test]
async fn the_demo_deals_have_schedules_payments_and_pledges_of_the_bank() {
    let db = demo().await;
    let pool = &db.pool;
    // Every deal has its schedule, adding up to its total; the contracts' totals are unchanged.
    let unscheduled: i64 = scalar(pool, "select count(*) from transactions where payment_plan is null").await;
    assert_eq!(unscheduled, 0);
    let off: i64 = scalar(
        pool,
        "select count(*) from transactions t
         where total_amount_fen <> (select sum(amount_fen) from instalments where transaction_id = t.id)",
    )
    .await;
    assert_eq!(off, 0);
    // Every certificate states its split, and those splits add up to the certified amount.
    let split: (i64, i64, i64) = sqlx::query_as(
        "select count(*) filter (where facts -> 'split' is not null and facts -> 'split' <> 'null'::jsonb),
                sum((facts -> 'split' ->> 'household_fen')::bigint + (facts -> 'split' ->> 'collective_fen')::bigint)::bigint,
                sum((facts ->> 'total_amount_fen')::bigint)::bigint
         from certifications where revoked_at is null",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(split, (3535, 26_657_910_000, 26_657_910_000));
    // Rent reached households and collectives, some is overdue, and the villages' fees differ.
    let (household, collective): (i64, i64) =
        sqlx::query_as("select sum(household_fen)::bigint, sum(collective_fen)::bigint from payments")
            .fetch_one(pool)
            .await
            .unwrap();
    assert!(household > 3 * collective && collective > 0, "{household} {collective}");
    let overdue: i64 =
        scalar(pool, "select count(*) from instalments where paid_fen < amount_fen and due_on < china_today()").await;
    assert!(overdue > 0);
    let fees: i64 = scalar(pool, "select count(distinct collective_fee_fen_per_m2_year) from villages").await;
    assert_eq!(fees, 4);
    // The rural commercial bank holds pledges on certificates in force, each at most one in force.
    let (in_force, banks): (i64, i64) = sqlx::query_as(
        "select count(*) filter (where released_on is null), count(distinct bank_party_id) from pledges",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert!(in_force > 100 && banks == 1, "{in_force} pledges in force of {banks} banks");
    let doubled: i64 = scalar(
        pool,
        "select count(*) from (select certification_id from pledges where released_on is null
                               group by 1 having count(*) > 1) d",
    )
    .await;
    assert_eq!(doubled, 0);
}

#[tokio::test]
async fn the_showcases_certificates_and_parties_are_well_formed() {
    let db = demo().await;
    let pool = &db.pool;
    let showcases: Vec<(String, String, String)> = sqlx::query_as(
        "select l.title, t.name, p.village from listings l join farmhouses f on f.id = l.farmhouse_id
         join townships t on t.code = f.township_code join parcels p on p.parcel_code = f.parcel_code
         where l.title <> '' and f.status = 'certified' order by l.title",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let titles: Vec<&str> = showcases.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(titles, ["墨隐居", "沐格山居", "芋艿湾"]);
    assert!(showcases.contains(&("沐格山居".into(), "岭南乡".into(), "青山村".into())));
    assert!(showcases.contains(&("芋艿湾".into(), "丁宅乡".into(), "芋艿湾村".into())));

    // Certificate numbers run without gaps per year, and the counters know the last one.
    let gaps: i64 = scalar(
        pool,
        "select count(*) from (select split_part(certificate_no, '-', 3) as y,
                                      split_part(certificate_no, '-', 4)::int as n,
                                      row_number() over (partition by split_part(certificate_no, '-', 3)
                                                         order by certificate_no) as k
                               from certifications) s where n <> k",
    )
    .await;
    assert_eq!(gaps, 0);
    let off: i64 = scalar(
        pool,
        "select count(*) from certificate_counters c
         where last_number <> (select count(*) from certifications where split_part(certificate_no, '-', 3)::int = c.year)",
    )
    .await;
    assert_eq!(off, 0);

    let ids: Vec<String> =
        sqlx::query_scalar("select id_number from parties where id_number is not null").fetch_all(pool).await.unwrap();
    assert!(ids.len() > 6000);
    for id in &ids {
        assert_eq!(id.chars().last(), Some(farmhouse::domain::identity::id_check_char(&id[..17])), "{id}");
    }
    let codes: Vec<String> = sqlx::query_scalar("select credit_code from parties where credit_code is not null")
        .fetch_all(pool)
        .await
        .unwrap();
    assert!(!codes.is_empty());
    for c in &codes {
        assert_eq!(c.chars().last(), Some(farmhouse::domain::identity::credit_check_char(&c[..17])), "{c}");
    }
    let lessee_kinds: i64 =
        scalar(pool, "select count(distinct p.kind) from transactions t join parties p on p.id = t.lessee_party_id")
            .await;
    assert_eq!(lessee_kinds, 2, "lessees are persons and organisations");
    let actors: Vec<String> = sqlx::query_scalar("select distinct actor from history").fetch_all(pool).await.unwrap();
    assert_eq!(actors, ["seed"]);
}

#[tokio::test]
async fn serve_loads_the_demo_only_into_a_registry_without_a_district() {
    let db = demo().await;
    let before: i64 = scalar(&db.pool, "select count(*) from farmhouses").await;
    assert_eq!(before, seed::DEMO_HOUSES as i64);
    assert!(!farmhouse::cli::load_demo_if_empty(&db.pool).await.unwrap(), "a second start loads nothing");
    let after: i64 = scalar(&db.pool, "select count(*) from farmhouses").await;
    assert_eq!(after, before);
    assert!(seed::demo(&db.pool, chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()).await.is_err());
}

#[tokio::test]
async fn the_scale_generator_adds_houses_beside_the_demo_without_collisions() {
    let db = demo().await;
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
    let report = seed::scale(&db.pool, 3000, 7, today).await.unwrap();
    assert_eq!(report.houses, 3000);
    assert!(!report.townships_created);
    let houses: i64 = scalar(&db.pool, "select count(*) from farmhouses").await;
    assert_eq!(houses, seed::DEMO_HOUSES as i64 + 3000);
    let certified: i64 = scalar(&db.pool, "select count(*) from farmhouses where status = 'certified'").await;
    assert!((3535 + 1600..3535 + 1950).contains(&certified), "the demo's shares: {certified}");
    // Aggregates still equal the records.
    let drift: i64 = scalar(
        &db.pool,
        "select count(*) from (select * from stats_monthly_from_records
                               except select * from stats_monthly) d",
    )
    .await;
    assert_eq!(drift, 0);
}

#[tokio::test]
async fn every_house_on_the_exchange_has_a_picture() {
    let db = demo().await;
    let (open, pictured, jpegs): (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from listings where status = 'open'),
                (select count(distinct l.farmhouse_id) from listings l
                 join farmhouse_photos p on p.farmhouse_id = l.farmhouse_id where l.status = 'open'),
                (select count(*) from farmhouse_photos where media_type = 'image/jpeg' and width = 800 and height = 600
                        and substr(content, 1, 2) = '\\xffd8'::bytea)",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(open > 100, "{open} open listings");
    assert_eq!(pictured, open);
    assert_eq!(jpegs, open);
}
