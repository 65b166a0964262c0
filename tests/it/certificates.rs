//! Certificates as a bank checks them: nothing about a certificate without the code printed on it, a
//! wrong code answered as an unknown number and throttled, and a state computed from the records on the
//! day asked (in force, ended, expired, revoked), whatever the house's state now.

use serde_json::{Value, json};

use crate::common::api::Api;
use crate::common::{TestDb, spawn_app, spawn_app_as};
use farmhouse::domain::roles::Role;

/// An officer's service and the public's, over one database with a district.
async fn services() -> (TestDb, Api, Api) {
    let db = TestDb::with_district().await;
    let officer = Api::new(spawn_app_as(db.pool.clone(), Role::Officer).await);
    let public = Api::new(spawn_app(db.pool.clone()).await);
    (db, officer, public)
}

/// Certifies the lease of house `n`; returns (transaction id, the certificate as issued).
async fn certified(api: &Api, n: u32) -> (i64, Value) {
    let (_, t) = api.contracted(n).await;
    let cert = api.post(&format!("/api/v1/transactions/{t}/certify"), &json!({})).await.expect(201).body;
    (t, cert)
}

fn no_and_code(cert: &Value) -> (String, String) {
    (cert["certificate_no"].as_str().unwrap().to_string(), cert["verification_code"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn nothing_about_a_certificate_is_told_without_its_code() {
    let (_db, officer, public) = services().await;
    let (_, cert) = certified(&officer, 1).await;
    let (no, code) = no_and_code(&cert);
    let facts = public.get(&format!("/api/v1/verify/{no}?code={code}")).await.expect(200).body;
    assert_eq!(facts["state"], "in_force");
    // Every fact the certificate states, as the right code shows it.
    let shown: Vec<String> = facts
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "certificate_no")
        .filter_map(|(_, v)| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect();
    assert!(shown.len() >= 9, "{facts}");

    let without = public.get(&format!("/api/v1/verify/{no}")).await;
    assert_eq!(without.status, 400);
    assert_eq!(without.body["errors"][0]["field"], "code", "{}", without.body);
    let wrong = public.get(&format!("/api/v1/verify/{no}?code=WRONGONE")).await;
    for answer in [&without, &wrong] {
        let text = answer.body.to_string();
        for fact in &shown {
            // The date part of an issue time is enough to leak it.
            let fact = fact.split('T').next().unwrap();
            assert!(!text.contains(fact), "{fact:?} leaked in {text}");
        }
        assert!(!text.contains("in_force"), "{text}");
    }
    // A wrong code reads exactly as a number that does not exist.
    let unknown = public.get("/api/v1/verify/SY-JZ-2019-999999?code=WRONGONE").await;
    assert_eq!((wrong.status, unknown.status), (404, 404));
    assert_eq!(
        wrong.body["detail"].as_str().unwrap().replace(&no, "N"),
        unknown.body["detail"].as_str().unwrap().replace("SY-JZ-2019-999999", "N")
    );
    // The page is as silent.
    let page = public.client.get(format!("{}/verify/{no}", public.base)).send().await.unwrap();
    let html = page.text().await.unwrap();
    for fact in &shown {
        assert!(!html.contains(fact.split('T').next().unwrap()), "{fact:?} leaked in the page");
    }
}

#[tokio::test]
async fn twenty_wrong_codes_from_one_address_must_wait() {
    let (_db, officer, public) = services().await;
    let (_, cert) = certified(&officer, 1).await;
    let (no, code) = no_and_code(&cert);
    let mut statuses = Vec::new();
    for k in 0..20 {
        statuses.push(public.get(&format!("/api/v1/verify/{no}?code=WRONG{k:03}")).await.status);
    }
    let first_wait = statuses.iter().position(|s| *s == 429).expect("no wrong code was throttled");
    assert!(statuses[..first_wait].iter().all(|s| *s == 404), "{statuses:?}");
    let r = public.get(&format!("/api/v1/verify/{no}?code={code}")).await;
    assert_eq!(r.status, 429, "while it waits, even the right code is not checked: {}", r.body);
    assert!(r.header("retry-after").parse::<u64>().unwrap() >= 1);
}

#[tokio::test]
async fn a_certificate_is_in_force_then_ended_when_its_lease_ends_early() {
    let (_db, officer, public) = services().await;
    let (t, cert) = certified(&officer, 1).await;
    let (no, code) = no_and_code(&cert);
    let path = format!("/api/v1/verify/{no}?code={code}");
    assert_eq!(public.get(&path).await.expect(200).body["state"], "in_force");
    officer.post(&format!("/api/v1/transactions/{t}/end"), &json!({"on": "2023-06-30"})).await.expect(200);
    let v = public.get(&path).await.expect(200).body;
    assert_eq!((v["state"].as_str(), v["ended_on"].as_str()), (Some("ended"), Some("2023-06-30")), "{v}");

    // Its house is registered again; the certificate can still be revoked, and the house stays registered.
    let id = cert["id"].as_i64().unwrap();
    officer.post(&format!("/api/v1/certifications/{id}/revoke"), &json!({"reason": "合同解除"})).await.expect(200);
    let v = public.get(&path).await.expect(200).body;
    assert_eq!((v["state"].as_str(), v["revoke_reason"].as_str()), (Some("revoked"), Some("合同解除")), "{v}");
    assert!(v["revoked_at"].is_string(), "{v}");
    let house = cert["farmhouse_id"].as_i64().unwrap();
    assert_eq!(officer.get(&format!("/api/v1/farmhouses/{house}")).await.body["properties"]["status"], "registered");
}

#[tokio::test]
async fn a_certificate_whose_term_ran_out_is_expired_and_an_expired_lease_is_not_certified() {
    let (db, officer, public) = services().await;
    let (t, cert) = certified(&officer, 1).await;
    let (no, code) = no_and_code(&cert);
    // The term ran out (as if years had passed): the records say so, no flag is stored.
    sqlx::query("alter table transactions disable trigger user").execute(&db.admin).await.unwrap();
    sqlx::query("update transactions set lease_end = '2024-02-01' where id = $1")
        .bind(t)
        .execute(&db.admin)
        .await
        .unwrap();
    sqlx::query("alter table transactions enable trigger user").execute(&db.admin).await.unwrap();
    let v = public.get(&format!("/api/v1/verify/{no}?code={code}")).await.expect(200).body;
    assert_eq!(v["state"], "expired", "{v}");

    // A lease over before it is certified is refused, and nothing is issued.
    let (_, t2) = officer.contracted(2).await;
    sqlx::query("alter table transactions disable trigger user").execute(&db.admin).await.unwrap();
    sqlx::query("update transactions set lease_end = '2024-02-01' where id = $1")
        .bind(t2)
        .execute(&db.admin)
        .await
        .unwrap();
    sqlx::query("alter table transactions enable trigger user").execute(&db.admin).await.unwrap();
    let r = officer.post(&format!("/api/v1/transactions/{t2}/certify"), &json!({})).await.expect(409);
    assert!(r.body["detail"].as_str().unwrap().contains("ran to its end"), "{}", r.body);
    let issued: i64 = sqlx::query_scalar("select count(*) from certifications").fetch_one(&db.pool).await.unwrap();
    assert_eq!(issued, 1);
}

#[tokio::test]
async fn a_certificate_carries_the_year_of_its_issue_in_beijing() {
    let (_db, officer, _public) = services().await;
    let (_, cert) = certified(&officer, 1).await;
    let year = farmhouse::domain::lifecycle::beijing_today().format("%Y").to_string();
    let no = cert["certificate_no"].as_str().unwrap();
    assert!(no.starts_with(&format!("SY-JZ-{year}-")), "{no}");
}

#[tokio::test]
async fn a_certified_fact_is_not_changed_in_place_but_corrected_with_a_new_certificate() {
    let (db, officer, public) = services().await;
    let (_, cert) = certified(&officer, 1).await;
    let (no, code) = no_and_code(&cert);
    let house = cert["farmhouse_id"].as_i64().unwrap();
    let id = cert["id"].as_i64().unwrap();
    let before = officer.get(&format!("/api/v1/farmhouses/{house}")).await.expect(200);
    let summary = public.get("/api/v1/stats/summary").await.expect(200).body;

    // A PATCH of what the certificate states: 409 naming the certificate, and nothing changes.
    let tag = before.header("etag").to_string();
    let r = officer
        .patch(&format!("/api/v1/farmhouses/{house}"), &json!({"properties": {"floor_area_m2": 300.0}}), Some(&tag))
        .await
        .expect(409);
    assert!(r.body["detail"].as_str().unwrap().contains(&no), "{}", r.body);
    assert_eq!(r.body["current"]["certificate_no"], no.as_str());
    let after = officer.get(&format!("/api/v1/farmhouses/{house}")).await.expect(200);
    assert_eq!(after.body["properties"], before.body["properties"]);
    // A fact it does not state may still be corrected in place.
    officer
        .patch(&format!("/api/v1/farmhouses/{house}"), &json!({"properties": {"floors": 3}}), Some(&tag))
        .await
        .expect(200);

    // A correction of the structure: the old certificate revoked with the reason, a new one issued.
    let body = json!({"reason": "结构登记有误", "structure": "钢混"});
    let new = officer.post(&format!("/api/v1/certifications/{id}/correction"), &body).await.expect(201).body;
    assert_ne!(new["certificate_no"], cert["certificate_no"]);
    assert_eq!((new["facts"]["structure"].as_str(), new["state"].as_str()), (Some("钢混"), Some("in_force")));
    let old = public.get(&format!("/api/v1/verify/{no}?code={code}")).await.expect(200).body;
    assert_eq!((old["state"].as_str(), old["revoke_reason"].as_str()), (Some("revoked"), Some("结构登记有误")));
    let old_facts = officer.get(&format!("/api/v1/certifications/{id}")).await.expect(200).body;
    assert_eq!(old_facts["facts"]["structure"], "砖混", "the revoked certificate still says what it said");
    // The area is unchanged, so are the figures.
    let now = public.get("/api/v1/stats/summary").await.expect(200).body;
    for key in ["certified_houses", "certified_floor_area_m2", "transaction_amount_yuan"] {
        assert_eq!(now[key], summary[key], "{key}");
    }
    // Both steps are in the history.
    let entries: i64 = sqlx::query_scalar(
        "select count(*) from history where table_name = 'certifications' and record_id in ($1, $2)",
    )
    .bind(id)
    .bind(new["id"].as_i64().unwrap())
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(entries >= 3, "issue, revocation and the new issue: {entries}");
}

#[tokio::test]
async fn the_facts_are_frozen_in_the_database_too() {
    let (db, officer, _public) = services().await;
    let (_, cert) = certified(&officer, 1).await;
    let id = cert["id"].as_i64().unwrap();
    let r = sqlx::query("update certifications set facts = jsonb_set(facts, '{floor_area_m2}', '1') where id = $1")
        .bind(id)
        .execute(&db.pool)
        .await;
    assert!(r.unwrap_err().to_string().contains("can only be revoked"));
    let house = cert["farmhouse_id"].as_i64().unwrap();
    let r = sqlx::query("update farmhouses set floor_area_m2 = 1 where id = $1").bind(house).execute(&db.pool).await;
    assert!(r.unwrap_err().to_string().contains("certified by"));
}
