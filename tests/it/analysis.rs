//! The officials' analysis on the demo district: every list sums to the summary's figures over the whole
//! history, every month of a period is there (empty ones with zero), a narrower period and its year
//! before agree with the records counted in SQL, a township's areas are its villages, and the parameters'
//! refusals name them.

use serde_json::Value;

use crate::common::api::Api;
use crate::common::{TestDb, spawn_app, spawn_app_as};
use farmhouse::domain::roles::Role;

const PATH: &str = "/api/v1/stats/analysis";
const LISTS: [&str; 6] = ["monthly", "yearly", "by_area", "by_use", "by_mode", "by_lessee_kind"];

fn sums(list: &Value) -> (i64, f64, f64, i64) {
    let rows = list.as_array().unwrap();
    let f = |k: &str| rows.iter().map(|r| r[k].as_f64().unwrap()).sum::<f64>();
    (
        f("certified") as i64,
        (f("certified_floor_area_m2") * 100.0).round() / 100.0,
        f("amount_yuan"),
        f("transactions") as i64,
    )
}

fn totals(a: &Value) -> (i64, f64, f64, i64) {
    let t = &a["totals"];
    (
        t["certified"].as_i64().unwrap(),
        t["certified_floor_area_m2"].as_f64().unwrap(),
        t["amount_yuan"].as_f64().unwrap(),
        t["transactions"].as_i64().unwrap(),
    )
}

/// The months of `monthly`, checked to follow each other one by one.
fn consecutive_months(a: &Value) -> Vec<String> {
    let months: Vec<String> =
        a["monthly"].as_array().unwrap().iter().map(|m| m["period"].as_str().unwrap().into()).collect();
    for pair in months.windows(2) {
        let (y, m): (i32, u32) = (pair[0][..4].parse().unwrap(), pair[0][5..].parse().unwrap());
        let next = if m == 12 { format!("{}-01", y + 1) } else { format!("{y}-{:02}", m + 1) };
        assert_eq!(pair[1], next, "a gap after {}", pair[0]);
    }
    months
}

#[tokio::test]
async fn over_the_whole_history_every_list_sums_to_the_summary() {
    let db = TestDb::demo().await;
    let official = Api::new(spawn_app_as(db.pool.clone(), Role::Official).await);
    let summary = official.get("/api/v1/stats/summary").await.expect(200).body;
    let a = official.get(PATH).await.expect(200).body;

    assert_eq!(totals(&a), (3535, 1_154_900.0, 266_579_100.0, a["totals"]["transactions"].as_i64().unwrap()));
    assert_eq!(a["totals"]["certified"], summary["certified_houses"]);
    assert_eq!(a["totals"]["houses"], summary["houses"]["total"]);
    let signed: i64 = sqlx::query_scalar("select count(*) from transactions").fetch_one(&db.pool).await.unwrap();
    assert_eq!(a["totals"]["transactions"], signed);
    for list in LISTS {
        assert_eq!(sums(&a[list]), totals(&a), "{list}");
    }
    assert_eq!(a["area_level"], "township");
    assert_eq!(a["by_area"].as_array().unwrap().len(), 20);
    for (row, township) in a["by_area"].as_array().unwrap().iter().zip(summary["by_township"].as_array().unwrap()) {
        assert_eq!(
            (&row["code"], &row["certified"], &row["houses"]),
            (&township["code"], &township["certified_houses"], &township["houses"])
        );
    }

    // The demo signs from January 2018 and certifies to 2020, then signs again in 2026: the years
    // between are there, with zero.
    let months = consecutive_months(&a);
    assert_eq!(months.first().map(String::as_str), Some("2018-01"));
    assert_eq!(months.last().unwrap(), &a["to"].as_str().unwrap()[..7]);
    let years: Vec<(&str, i64)> = a["yearly"]
        .as_array()
        .unwrap()
        .iter()
        .map(|y| (y["period"].as_str().unwrap(), y["certified"].as_i64().unwrap()))
        .collect();
    assert!(years.iter().any(|&(y, n)| y == "2023" && n == 0), "{years:?}");
    let y2019 = a["yearly"].as_array().unwrap().iter().find(|y| y["period"] == "2019").unwrap();
    let y2018 = a["yearly"].as_array().unwrap().iter().find(|y| y["period"] == "2018").unwrap();
    assert_eq!(y2019["certified_prev_year"], y2018["certified"]);
    let change = (y2019["certified"].as_f64().unwrap() - y2018["certified"].as_f64().unwrap())
        / y2018["certified"].as_f64().unwrap();
    assert!((y2019["certified_yoy"].as_f64().unwrap() - change).abs() < 1e-4, "{y2019}");

    // The lessees are persons, companies and farmers' cooperatives (told by the credit code).
    let kinds: Vec<(&str, i64)> = a["by_lessee_kind"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["key"].as_str().unwrap(), g["certified"].as_i64().unwrap()))
        .collect();
    assert!(kinds.iter().filter(|(k, _)| *k != "other").all(|&(_, n)| n > 0), "{kinds:?}");
    let top = a["top_villages"].as_array().unwrap();
    assert_eq!(top.len(), 10);
    assert!(top.windows(2).all(|w| w[0]["certified"].as_i64() >= w[1]["certified"].as_i64()));
}

#[tokio::test]
async fn a_period_counts_what_the_records_hold_and_sets_each_month_beside_the_year_before() {
    let db = TestDb::demo().await;
    let official = Api::new(spawn_app_as(db.pool.clone(), Role::Official).await);
    let a = official.get(&format!("{PATH}?from=2019-03-10&to=2019-12-31")).await.expect(200).body;
    assert_eq!(consecutive_months(&a), (3..=12).map(|m| format!("2019-{m:02}")).collect::<Vec<_>>());

    let (certified, area, amount_fen): (i64, f64, i64) = sqlx::query_as(
        "select count(*), sum((c.facts ->> 'floor_area_m2')::numeric)::float8, sum((c.facts ->> 'total_amount_fen')::bigint)::bigint
         from certifications c join transactions t on t.id = c.transaction_id
         where (c.issued_at at time zone 'Asia/Shanghai')::date between '2019-03-10' and '2019-12-31'
           and least(t.lease_end, t.terminated_on, (c.revoked_at at time zone 'Asia/Shanghai')::date) > '2019-12-31'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let signed: i64 =
        sqlx::query_scalar("select count(*) from transactions where signed_on between '2019-03-10' and '2019-12-31'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(certified > 0);
    assert_eq!(totals(&a), (certified, (area * 100.0).round() / 100.0, amount_fen as f64 / 100.0, signed));
    for list in LISTS {
        assert_eq!(sums(&a[list]), totals(&a), "{list}");
    }

    // March 2019 (from the 10th) beside the same days of 2018, as an analysis of 2018-03-10 … 2018-12-31
    // counts them: issued then and in force on 2018-12-31.
    let march_2018: i64 = sqlx::query_scalar(
        "select count(*) from certifications c join transactions t on t.id = c.transaction_id
         where (c.issued_at at time zone 'Asia/Shanghai')::date between '2018-03-10' and '2018-03-31'
           and least(t.lease_end, t.terminated_on, (c.revoked_at at time zone 'Asia/Shanghai')::date) > '2018-12-31'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(march_2018 > 0);
    assert_eq!(a["monthly"][0]["certified_prev_year"], march_2018);
    assert_eq!(a["yearly"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_township_s_areas_are_its_villages() {
    let db = TestDb::demo().await;
    let official = Api::new(spawn_app_as(db.pool.clone(), Role::Official).await);
    let all = official.get(PATH).await.expect(200).body;
    let township = &all["by_area"][3];
    let code = township["code"].as_str().unwrap();
    let one = official.get(&format!("{PATH}?township={code}")).await.expect(200).body;
    assert_eq!(
        (&one["township"], &one["township_name"], &one["area_level"]),
        (&township["code"], &township["name"], &Value::from("village"))
    );
    assert_eq!(sums(&one["by_area"]), totals(&one));
    assert_eq!(one["totals"]["certified"], township["certified"]);
    let villages = one["by_area"].as_array().unwrap();
    assert!(villages.len() > 3 && villages.iter().all(|v| v["township_code"] == code && v["code"].is_null()));
    assert_eq!(
        villages.iter().map(|v| v["houses"].as_i64().unwrap()).sum::<i64>(),
        township["houses"].as_i64().unwrap()
    );
    assert!(one["top_villages"].as_array().unwrap().iter().all(|v| v["township_code"] == code));
}

#[tokio::test]
async fn others_are_refused_and_bad_parameters_are_named() {
    let db = TestDb::demo().await;
    assert_eq!(Api::new(spawn_app(db.pool.clone()).await).get(PATH).await.status, 401);
    assert_eq!(Api::new(spawn_app_as(db.pool.clone(), Role::Investor).await).get(PATH).await.status, 403);
    assert_eq!(Api::new(spawn_app_as(db.pool.clone(), Role::Officer).await).get(PATH).await.status, 200);

    let official = Api::new(spawn_app_as(db.pool.clone(), Role::Official).await);
    official
        .assert_refusals(
            PATH,
            &[
                ("from=2026-13-01", 400, "from"),
                ("to=soon", 400, "to"),
                ("from=2020-02-01&to=2020-01-31", 422, "from"),
                ("from=1990-01-01&to=2026-01-01", 422, "from"),
                ("to=1980-01-01", 422, "to"),
                ("township=33060400", 422, "township"),
            ],
        )
        .await;
    assert_eq!(official.get(&format!("{PATH}?township=330604999")).await.status, 404);
}
