//! The activation figures are kept by triggers in aggregate tables; whatever happens to the records, the
//! aggregates equal a full recomputation from them, and `GET /api/v1/stats/summary` serves them.

use crate::common;

use crate::common::TestDb;
use crate::common::fixtures::{self, house, person};
use farmhouse::domain::roles::Role;
use serde_json::Value;
use sqlx::PgPool;

/// Rows where the aggregates and the recomputation differ (zero rows of the aggregates ignored).
async fn drift(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "with agg as (select * from stats_monthly
                      where transactions <> 0 or transaction_amount_fen <> 0 or certified <> 0
                         or certified_floor_area_m2 <> 0 or certified_amount_fen <> 0),
              rec as (select * from stats_monthly_from_records),
              st as (select * from stats_township_status where registered <> 0 or listed <> 0 or contracted <> 0 or certified <> 0),
              sr as (select * from stats_township_status_from_records),
              days as (select distinct day from stats_in_force
                       union select (now() at time zone 'Asia/Shanghai')::date),
              fa as (select d.day, a.* from days d cross join lateral stats_in_force_on(d.day) a
                     where a.certified <> 0 or a.floor_area_m2 <> 0 or a.amount_fen <> 0),
              fr as (select d.day, r.* from days d cross join lateral stats_in_force_from_records(d.day) r)
         select 'aggregate ' || x::text from (select * from agg except select * from rec) x
         union all select 'in force aggregate ' || x::text from (select * from fa except select * from fr) x
         union all select 'in force records ' || x::text from (select * from fr except select * from fa) x
         union all select 'records ' || x::text from (select * from rec except select * from agg) x
         union all select 'status aggregate ' || x::text from (select * from st except select * from sr) x
         union all select 'status records ' || x::text from (select * from sr except select * from st) x",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn assert_no_drift(pool: &PgPool, after: &str) {
    let d = drift(pool).await;
    assert!(d.is_empty(), "after {after}, the aggregates differ from the records: {d:#?}");
}

async fn certified_lease(pool: &PgPool, n: u32, cert: &str) -> (i64, i64, i64) {
    let h = house(pool, n).await;
    let l = fixtures::listing(pool, h).await;
    let p = person(pool, &format!("33060419800101{n:04}")).await;
    let t = fixtures::transaction(pool, l, p, &format!("HT-{n:04}"), "2020-02-01", "2030-02-01").await.unwrap();
    let c = fixtures::certification(pool, t, cert).await.unwrap();
    (h, t, c)
}

#[tokio::test]
async fn aggregates_equal_a_recomputation_after_every_kind_of_change() {
    let db = TestDb::with_district().await;
    let pool = &db.pool;
    let (h1, t1, c1) = certified_lease(pool, 1, "SY-JZ-2020-000001").await;
    let (_, t2, _) = certified_lease(pool, 2, "SY-JZ-2020-000002").await;
    assert_no_drift(pool, "inserts").await;
    let certified: i64 =
        sqlx::query_scalar("select sum(certified)::bigint from stats_monthly").fetch_one(pool).await.unwrap();
    assert_eq!(certified, 2);

    sqlx::query("update certifications set revoked_at = now(), revoke_reason = '录入错误' where id = $1")
        .bind(c1)
        .execute(pool)
        .await
        .unwrap();
    assert_no_drift(pool, "a revocation").await;
    fixtures::certification(pool, t1, "SY-JZ-2020-000003").await.unwrap();
    assert_no_drift(pool, "a new certificate after a revocation").await;

    sqlx::query(
        "update transactions set total_amount_fen = total_amount_fen + 12345, signed_on = '2019-12-30' where id = $1",
    )
    .bind(t2)
    .execute(pool)
    .await
    .unwrap();
    assert_no_drift(pool, "a changed amount and signing date").await;
    // A lease ended early, before its certificate was issued (never in force), then one ended later.
    for (t, on) in [(t2, "2020-01-15"), (t2, "2027-03-31")] {
        sqlx::query("update transactions set status = 'terminated', terminated_on = $2::date where id = $1")
            .bind(t)
            .bind(on)
            .execute(pool)
            .await
            .unwrap();
        assert_no_drift(pool, &format!("a lease ended on {on}")).await;
    }
    // A certified fact changes only by a correction (migrations/0110_certificate_facts.sql); the
    // aggregates must follow a change made behind that rule all the same, so it is lifted for one update.
    let mut admin = db.admin.begin().await.unwrap();
    sqlx::query("alter table farmhouses disable trigger farmhouses_keep_certified_facts")
        .execute(&mut *admin)
        .await
        .unwrap();
    sqlx::query("update farmhouses set floor_area_m2 = 321.45, status = 'certified' where id = $1")
        .bind(h1)
        .execute(&mut *admin)
        .await
        .unwrap();
    sqlx::query("alter table farmhouses enable trigger farmhouses_keep_certified_facts")
        .execute(&mut *admin)
        .await
        .unwrap();
    admin.commit().await.unwrap();
    assert_no_drift(pool, "a changed floor area and status").await;

    // A second township takes over a house with its figures.
    sqlx::query(
        "insert into townships (code, name, kind, boundary) select '330604002', '曹娥街道', '街道', outline from districts",
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("update farmhouses set township_code = '330604002' where id = $1")
        .bind(h1)
        .execute(pool)
        .await
        .unwrap();
    assert_no_drift(pool, "a house moved to another township").await;

    let h3 = house(pool, 3).await;
    let l3 = fixtures::listing(pool, h3).await;
    let p3 = person(pool, "330604198001010003").await;
    let t3 = fixtures::transaction(pool, l3, p3, "HT-0003", "2020-03-01", "2021-03-01").await.unwrap();
    assert_no_drift(pool, "an uncertified transaction").await;
    sqlx::query("delete from transactions where id = $1").bind(t3).execute(pool).await.unwrap();
    sqlx::query("delete from listings where id = $1").bind(l3).execute(pool).await.unwrap();
    sqlx::query("delete from farmhouses where id = $1").bind(h3).execute(pool).await.unwrap();
    assert_no_drift(pool, "deletes").await;
}

#[tokio::test]
async fn the_drift_check_can_fail() {
    let db = TestDb::with_district().await;
    certified_lease(&db.pool, 1, "SY-JZ-2020-000001").await;
    sqlx::query("update stats_monthly set certified = certified + 1").execute(&db.pool).await.unwrap();
    assert!(!drift(&db.pool).await.is_empty());
    sqlx::query("update stats_monthly set certified = certified - 1").execute(&db.pool).await.unwrap();
    assert!(drift(&db.pool).await.is_empty());
    for table in ["stats_in_force", "stats_in_force_monthly"] {
        let change = |by: i32| format!("update {table} set floor_area_m2 = floor_area_m2 + {by} where certified > 0");
        sqlx::query(&change(1)).execute(&db.pool).await.unwrap();
        assert!(!drift(&db.pool).await.is_empty(), "a change of {table} goes unseen");
        sqlx::query(&change(-1)).execute(&db.pool).await.unwrap();
    }
}

/// A certificate of house `n`'s lease issued at `issued_at` (Beijing time), as the demo loads them.
async fn issued_at(pool: &PgPool, n: u32, issued_at: &str) -> (i64, i64) {
    let h = house(pool, n).await;
    let l = fixtures::listing(pool, h).await;
    let p = person(pool, &format!("33060419800101{n:04}")).await;
    let t = fixtures::transaction(pool, l, p, &format!("HT-{n:04}"), "2020-02-01", "2030-02-01").await.unwrap();
    fixtures::certification_at(pool, t, &format!("SY-JZ-2020-{n:06}"), Some(&format!("{issued_at} +08:00")))
        .await
        .unwrap();
    sqlx::query("update farmhouses set status = 'certified' where id = $1").bind(h).execute(pool).await.unwrap();
    (h, t)
}

#[tokio::test]
async fn the_summary_counts_the_certificates_in_force_on_the_day_asked() {
    let db = TestDb::with_district().await;
    let pool = &db.pool;
    let (_, t1) = issued_at(pool, 1, "2020-02-10 09:00:00").await;
    // Issued in the first hours of 11 March in Beijing (still 10 March in UTC): in force from 11 March.
    issued_at(pool, 2, "2020-03-11 03:00:00").await;
    let api = common::api::Api::new(common::spawn_app_as(db.pool.clone(), Role::Officer).await);
    let summary = |on: &str| {
        let api = &api;
        let path =
            if on.is_empty() { "/api/v1/stats/summary".to_string() } else { format!("/api/v1/stats/summary?on={on}") };
        async move { api.get(&path).await.expect(200).body }
    };
    let today = summary("").await;
    assert_eq!(
        (today["certified_houses"].as_i64(), today["houses"]["certified"].as_i64()),
        (Some(2), Some(2)),
        "{today}"
    );
    assert_eq!(summary("2020-02-09").await["certified_houses"], 0);
    assert_eq!(summary("2020-02-10").await["certified_houses"], 1);
    assert_eq!(summary("2020-03-10").await["certified_houses"], 1);
    assert_eq!(summary("2020-03-11").await["certified_houses"], 2);

    // The lease of house 1 is ended early on 2024-06-30 (the house registered again): from that day the
    // summary counts one certificate, as the houses' statuses do; before it, still two.
    api.post(&format!("/api/v1/transactions/{t1}/end"), &serde_json::json!({"on": "2024-06-30"})).await.expect(200);
    let today = summary("").await;
    assert_eq!(
        (today["certified_houses"].as_i64(), today["houses"]["certified"].as_i64()),
        (Some(1), Some(1)),
        "{today}"
    );
    assert_eq!(summary("2024-06-29").await["certified_houses"], 2);
    assert_eq!(summary("2024-06-30").await["certified_houses"], 1);
    assert_eq!(summary("2024-06-30").await["certified_floor_area_m2"], 288.0);
    assert_eq!(today["on"], farmhouse::domain::lifecycle::beijing_today().to_string());

    let bad = api.get("/api/v1/stats/summary?on=2020-13-01").await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.body["errors"][0]["field"], "on", "{}", bad.body);
    assert_no_drift(pool, "the summary's changes").await;
}

#[tokio::test]
async fn the_summary_reports_totals_by_township_and_by_month() {
    let db = TestDb::with_district().await;
    certified_lease(&db.pool, 1, "SY-JZ-2020-000001").await;
    certified_lease(&db.pool, 2, "SY-JZ-2020-000002").await;
    house(&db.pool, 3).await;
    let addr = common::spawn_app(db.pool.clone()).await;
    let body: Value = reqwest::get(format!("http://{addr}/api/v1/stats/summary")).await.unwrap().json().await.unwrap();
    assert_eq!(body["certified_houses"], 2);
    assert_eq!(body["certified_floor_area_m2"], 576.0);
    assert_eq!(body["transaction_amount_yuan"], 120000);
    assert_eq!(body["townships_count"], 1);
    assert_eq!(body["houses"]["total"], 3);
    assert_eq!(body["by_township"][0]["code"], "330604001");
    assert_eq!(body["by_township"][0]["certified_houses"], 2);
    assert_eq!(body["by_township"][0]["transactions"], 2);
    assert_eq!(body["by_township"][0]["houses"], 3);
    // Deals count in the month they were signed, certificates in the month they were issued (now).
    let months = body["by_month"].as_array().unwrap();
    assert_eq!(months.len(), 2, "{months:?}");
    assert_eq!(
        (months[0]["month"].as_str(), &months[0]["transactions"], &months[0]["certified"]),
        (Some("2020-02"), &2.into(), &0.into())
    );
    assert_eq!(
        (&months[1]["transactions"], &months[1]["certified"], &months[1]["amount_yuan"]),
        (&0.into(), &2.into(), &120000.into())
    );

    let one: Value = reqwest::get(format!("http://{addr}/api/v1/stats/summary?township=330604001"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["certified_houses"], 2);
    assert_eq!(one["township"], "330604001");
    let res = reqwest::get(format!("http://{addr}/api/v1/stats/summary?township=330604999")).await.unwrap();
    assert_eq!(res.status(), 404);
    let res = reqwest::get(format!("http://{addr}/api/v1/stats/summary?township=abc")).await.unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn a_page_polling_the_summary_gets_304_until_a_certificate_changes_it() {
    use crate::common::api::Api;
    let db = TestDb::with_district().await;
    let officer = Api::new(common::spawn_app_as(db.pool.clone(), Role::Officer).await);
    let (_, t) = officer.contracted(1).await;
    let public = Api::new(common::spawn_app(db.pool.clone()).await);
    let first = public.get("/api/v1/stats/summary").await.expect(200);
    let tag = first.header("etag").to_string();
    assert!(tag.starts_with('"') && tag.len() > 10, "{tag}");
    let poll = |tag: String| {
        let req = public.client.get(format!("{}/api/v1/stats/summary", public.base)).header("if-none-match", tag);
        public.send(req)
    };
    let unchanged = poll(tag.clone()).await.expect(304);
    assert_eq!(unchanged.header("etag"), tag);
    officer.post(&format!("/api/v1/transactions/{t}/certify"), &serde_json::json!({})).await.expect(201);
    let changed = poll(tag.clone()).await.expect(200);
    assert_ne!(changed.header("etag"), tag);
    assert_eq!(changed.body["certified_houses"], first.body["certified_houses"].as_i64().unwrap() + 1);
}
