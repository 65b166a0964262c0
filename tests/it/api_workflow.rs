//! The activation workflow through the JSON API: each rule of the lifecycle, concurrency, history.

use crate::common;

use crate::common::TestDb;
use crate::common::api::{Api, house_feature, listing_body, transaction_body};
use farmhouse::domain::roles::Role;
use serde_json::json;

async fn officer() -> (TestDb, Api) {
    let db = TestDb::with_district().await;
    let api = Api::new(common::spawn_app_as(db.pool.clone(), Role::Officer).await);
    (db, api)
}

#[tokio::test]
async fn a_house_goes_from_registered_to_certified_and_back() {
    let (db, api) = officer().await;
    let owner = api.owner(1).await;
    api.parcel(1).await;
    let mut feature = house_feature(1);
    feature["properties"]["owner_party_id"] = json!(owner);
    let house = api.post("/api/v1/farmhouses", &feature).await.expect(201);
    assert_eq!(house.header("content-type"), "application/geo+json");
    assert_eq!(house.body["properties"]["status"], "registered");
    assert_eq!(house.body["properties"]["parcel_code"], "330604001001JC00001");
    assert_eq!(house.body["properties"]["township_code"], "330604001");
    assert_eq!(house.body["properties"]["owner"]["name"], "户主1", "officers see the owner");
    let id = house.body["id"].as_i64().unwrap();

    let appraisal = api
        .post(
            &format!("/api/v1/farmhouses/{id}/appraisals"),
            &json!({"report_no": "SYPG-2019-0042", "firm": "绍兴某评估公司", "appraiser": "李四", "method": "收益法",
                    "valuation_date": "2019-12-01", "value_yuan": 350000, "annual_rent_yuan": 11800,
                    "valid_until": "2020-12-01"}),
        )
        .await
        .expect(201);
    assert_eq!(appraisal.body["value_yuan"], 350000);

    let listing = api.list(id).await;
    assert_eq!(api.get(&format!("/api/v1/farmhouses/{id}")).await.body["properties"]["status"], "listed");
    let lessee = api.investor(1).await;
    let t = api.sign(listing, lessee, "HT-2020-0001").await;
    let deal = api.get(&format!("/api/v1/transactions/{t}")).await.expect(200);
    assert_eq!(deal.body["house_status"], "contracted");
    assert_eq!(deal.body["total_amount_yuan"], 240010.0);
    assert_eq!(deal.body["lessor_party_id"], owner, "the owner of record lets the house");
    assert_eq!(api.get(&format!("/api/v1/listings/{listing}")).await.body["status"], "closed");

    let cert = api.post(&format!("/api/v1/transactions/{t}/certify"), &json!({})).await.expect(201);
    let year = chrono::Utc::now().format("%Y").to_string();
    assert_eq!(cert.body["certificate_no"], format!("SY-JZ-{year}-000001"));
    assert_eq!(cert.body["in_force"], true);
    let house = api.get(&format!("/api/v1/farmhouses/{id}")).await;
    assert_eq!(house.body["properties"]["status"], "certified");
    assert_eq!(house.body["properties"]["certificate_no"], format!("SY-JZ-{year}-000001"));

    let cert_id = cert.body["id"].as_i64().unwrap();
    let revoked = api
        .post_as_admin(&format!("/api/v1/certifications/{cert_id}/revoke"), &json!({"reason": "合同金额录入错误"}))
        .await
        .expect(200);
    assert_eq!(revoked.body["in_force"], false);
    assert_eq!(api.get(&format!("/api/v1/farmhouses/{id}")).await.body["properties"]["status"], "contracted");
    let again = api.post(&format!("/api/v1/transactions/{t}/certify"), &json!({})).await.expect(201);
    assert_eq!(again.body["certificate_no"], format!("SY-JZ-{year}-000002"), "numbers are never reused");

    api.post(&format!("/api/v1/transactions/{t}/end"), &json!({"on": "2023-06-30"})).await.expect(200);
    assert_eq!(api.get(&format!("/api/v1/farmhouses/{id}")).await.body["properties"]["status"], "registered");

    let certificates: i64 =
        sqlx::query_scalar("select count(*) from certifications").fetch_one(&db.pool).await.unwrap();
    assert_eq!(certificates, 2, "the revoked certificate is kept");
}

#[tokio::test]
async fn an_action_the_state_does_not_allow_is_refused_with_the_current_state() {
    let (_db, api) = officer().await;
    let (house, t) = api.contracted(1).await;
    // A contracted house cannot be listed again.
    let r = api.post(&format!("/api/v1/farmhouses/{house}/listings"), &listing_body()).await.expect(409);
    assert_eq!(r.header("content-type"), "application/problem+json");
    assert_eq!(r.body["current"]["status"], "contracted");
    api.post(&format!("/api/v1/transactions/{t}/certify"), &json!({})).await.expect(201);
    let r = api.post(&format!("/api/v1/transactions/{t}/certify"), &json!({})).await.expect(409);
    assert_eq!(r.body["current"]["status"], "certified");
    assert!(r.body["current"]["certificate_no"].as_str().unwrap().starts_with("SY-JZ-"));
    // A registered house has no listing to withdraw; a closed listing cannot be withdrawn.
    let listing = api.get(&format!("/api/v1/transactions/{t}")).await.body["listing_id"].as_i64().unwrap();
    let r = api.post(&format!("/api/v1/listings/{listing}/withdraw"), &json!({})).await.expect(409);
    assert_eq!(r.body["current"]["listing_status"], "closed");
}

#[tokio::test]
async fn a_deal_waits_for_the_end_of_the_notice_period() {
    let (db, api) = officer().await;
    let house = api.house(1).await;
    let listing = api.list(house).await;
    let lessee = api.investor(1).await;
    let mut body = transaction_body(lessee, "HT-EARLY");
    body["signed_on"] = json!("2020-01-15");
    body["lease_start"] = json!("2020-01-20");
    body["lease_end"] = json!("2040-01-20");
    let r = api.post(&format!("/api/v1/listings/{listing}/transactions"), &body).await.expect(422);
    assert_eq!(r.body["field"], "signed_on");
    let deals: i64 = sqlx::query_scalar("select count(*) from transactions").fetch_one(&db.pool).await.unwrap();
    assert_eq!(deals, 0);
}

#[tokio::test]
async fn twenty_concurrent_certifications_of_one_deal_issue_exactly_one_certificate() {
    let (db, api) = officer().await;
    let (_, t) = api.contracted(1).await;
    let attempts = (0..20).map(|_| {
        let api = api.clone();
        tokio::spawn(async move { api.post(&format!("/api/v1/transactions/{t}/certify"), &json!({})).await.status })
    });
    let mut statuses: Vec<u16> = Vec::new();
    for a in attempts {
        statuses.push(a.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 19, "{statuses:?}");
    let certificates: i64 =
        sqlx::query_scalar("select count(*) from certifications").fetch_one(&db.pool).await.unwrap();
    assert_eq!(certificates, 1);
}

#[tokio::test]
async fn a_lease_overlapping_an_existing_one_is_refused_and_leaves_no_row() {
    let (db, api) = officer().await;
    let (house, t) = api.contracted(1).await;
    // The lease (2020-02-01..2040-02-01) ends early on 2023-06-30; the house may be let again from then.
    api.post(&format!("/api/v1/transactions/{t}/end"), &json!({"on": "2023-06-30"})).await.expect(200);
    let listing = api.list(house).await;
    let lessee = api.investor(2).await;
    let mut body = transaction_body(lessee, "HT-OVERLAP");
    body["signed_on"] = json!("2023-01-20");
    body["lease_start"] = json!("2023-02-01");
    body["lease_end"] = json!("2028-02-01");
    body["total_amount_yuan"] = json!(60002.5);
    let before: i64 = sqlx::query_scalar("select count(*) from transactions").fetch_one(&db.pool).await.unwrap();
    let r = api.post(&format!("/api/v1/listings/{listing}/transactions"), &body).await.expect(409);
    assert_eq!(r.body["field"], "lease_start");
    let after: i64 = sqlx::query_scalar("select count(*) from transactions").fetch_one(&db.pool).await.unwrap();
    assert_eq!(before, after);
    assert_eq!(api.get(&format!("/api/v1/listings/{listing}")).await.body["status"], "open", "nothing changed");
    // From the day it ended, it is free.
    body["contract_no"] = json!("HT-NEXT");
    body["signed_on"] = json!("2023-06-30");
    body["lease_start"] = json!("2023-06-30");
    body["lease_end"] = json!("2028-06-30");
    api.post(&format!("/api/v1/listings/{listing}/transactions"), &body).await.expect(201);
}

#[tokio::test]
async fn a_stale_write_is_refused() {
    let (_db, api) = officer().await;
    let house = api.house(1).await;
    let read = api.get(&format!("/api/v1/farmhouses/{house}")).await;
    let tag = read.header("etag").to_string();
    assert_eq!(tag, format!("\"farmhouse-{house}-v1\""));
    let change = json!({"properties": {"floors": 3}});
    let first = api.patch(&format!("/api/v1/farmhouses/{house}"), &change, Some(&tag)).await.expect(200);
    assert_eq!(first.body["properties"]["floors"], 3);
    assert_eq!(first.header("etag"), format!("\"farmhouse-{house}-v2\""));
    let second =
        api.patch(&format!("/api/v1/farmhouses/{house}"), &json!({"properties": {"floors": 1}}), Some(&tag)).await;
    assert_eq!(second.expect(412).body["status"], 412);
    api.patch(&format!("/api/v1/farmhouses/{house}"), &change, None).await.expect(428);
    assert_eq!(api.get(&format!("/api/v1/farmhouses/{house}")).await.body["properties"]["floors"], 3);
}

#[tokio::test]
async fn every_change_is_in_the_record_history_with_its_actor() {
    let (_db, api) = officer().await;
    let house = api.house(1).await;
    api.patch(
        &format!("/api/v1/farmhouses/{house}"),
        &json!({"properties": {"condition": "一般", "version": 1}}),
        None,
    )
    .await
    .expect(200);
    let history = api.get(&format!("/api/v1/farmhouses/{house}/history")).await.expect(200);
    let entries = history.body.as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["action"], "insert");
    assert_eq!(entries[0]["actor"], "officer:test-officer");
    assert_eq!(entries[1]["action"], "update");
    assert_eq!(entries[1]["before"]["condition"], "基本完好");
    assert_eq!(entries[1]["after"]["condition"], "一般");
}

#[tokio::test]
async fn lists_page_with_next_links_and_filter() {
    let (_db, api) = officer().await;
    for n in 1..=5 {
        api.house(n).await;
    }
    let first = api.get("/api/v1/farmhouses?limit=2&status=registered").await.expect(200);
    assert_eq!(first.body["numberReturned"], 2);
    let next = first.body["next"].as_str().unwrap().to_string();
    assert!(next.contains("status=registered") && next.contains("limit=2"), "{next}");
    let second = api.get(&next).await.expect(200);
    let ids: Vec<i64> = second.body["features"].as_array().unwrap().iter().map(|f| f["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids[0] > first.body["features"][1]["id"].as_i64().unwrap());
    let none = api.get("/api/v1/farmhouses?status=certified").await.expect(200);
    assert_eq!(none.body["numberReturned"], 0);
    assert!(none.body["next"].is_null());
}

#[tokio::test]
async fn photos_are_checked_resized_and_cached() {
    let (_db, api) = officer().await;
    let house = api.house(1).await;
    let mut png = Vec::new();
    image::RgbImage::from_fn(2400, 1200, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let url = format!("{}/api/v1/farmhouses/{house}/photos?caption=%E6%AD%A3%E9%9D%A2", api.base);
    let r = api.send(api.client.post(&url).header("content-type", "image/png").body(png)).await.expect(201);
    assert_eq!((r.body["width"].as_i64(), r.body["height"].as_i64()), (Some(1600), Some(800)));
    assert_eq!(r.body["caption"], "正面");
    let photo_url = r.body["url"].as_str().unwrap().to_string();
    let got = api.client.get(format!("{}{photo_url}", api.base)).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "image/jpeg");
    assert!(got.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    let tag = got.headers()["etag"].clone();
    let bytes = got.bytes().await.unwrap();
    assert_eq!(&bytes[..2], &[0xFF, 0xD8], "stored as JPEG");
    let again = api.client.get(format!("{}{photo_url}", api.base)).header("if-none-match", tag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    let listed = api.get(&format!("/api/v1/farmhouses/{house}")).await;
    assert_eq!(listed.body["properties"]["photos"][0], photo_url.as_str());

    // Text that claims to be a PNG is refused by its bytes.
    let fake = api
        .send(
            api.client
                .post(format!("{}/api/v1/farmhouses/{house}/photos", api.base))
                .header("content-type", "image/png")
                .body("<svg/>"),
        )
        .await;
    assert_eq!(fake.expect(415).header("content-type"), "application/problem+json");
}

#[tokio::test]
async fn text_that_looks_like_sql_or_script_is_stored_as_text() {
    let (db, api) = officer().await;
    api.parcel(1).await;
    let mut feature = house_feature(1);
    let text = "'); drop table farmhouses; -- <script>alert(1)</script>";
    feature["properties"]["description"] = json!(text);
    let r = api.post("/api/v1/farmhouses", &feature).await.expect(201);
    assert_eq!(r.body["properties"]["description"], text);
    let stored: String = sqlx::query_scalar("select description from farmhouses").fetch_one(&db.pool).await.unwrap();
    assert_eq!(stored, text);
}

#[tokio::test]
async fn certificates_can_be_verified_by_anyone_without_private_data() {
    let (db, api) = officer().await;
    let (_, t) = api.contracted(1).await;
    let cert = api.post(&format!("/api/v1/transactions/{t}/certify"), &json!({})).await.expect(201);
    let no = cert.body["certificate_no"].as_str().unwrap().to_string();
    let code = cert.body["verification_code"].as_str().unwrap().to_string();
    let public = Api::new(common::spawn_app(db.pool.clone()).await);
    let v = public.get(&format!("/api/v1/verify/{no}?code={code}")).await.expect(200);
    assert_eq!(v.body["state"], "in_force");
    let text = v.body.to_string();
    assert!(!text.contains("投资公司") && !text.contains("lessee"), "{text}");
    public.get(&format!("/api/v1/verify/SY-JZ-1999-999999?code={code}")).await.expect(404);
}

#[tokio::test]
async fn a_nul_byte_in_a_query_is_a_bad_request_not_a_fault() {
    let (_db, api) = officer().await;
    let r = api.get("/api/v1/parties?q=%00").await.expect(400);
    assert_eq!(r.header("content-type"), "application/problem+json");
}

#[tokio::test]
async fn an_admin_records_a_listing_of_the_past_with_a_reason_the_history_keeps() {
    let db = TestDb::with_district().await;
    let house = common::fixtures::house(&db.pool, 1).await;
    let admin = Api::new(common::spawn_app_as(db.pool.clone(), Role::Admin).await);
    let officer = Api::new(common::spawn_app_as(db.pool.clone(), Role::Officer).await);
    let path = format!("/api/v1/farmhouses/{house}/listings/historical");
    let mut body = listing_body();
    body["notice_start"] = json!("2026-09-01");
    body["notice_end"] = json!("2026-09-10");

    // Officers list houses from today on; the record of a past listing is an admin's.
    let r = officer.post(&path, &with_reason(&body, "录入纸质挂牌记录")).await.expect(403);
    assert_eq!(r.header("content-type"), "application/problem+json");
    let r = admin.post(&path, &body).await.expect(422);
    assert_eq!(r.body["field"], "reason", "{}", r.body);
    let r = admin.post(&path, &with_reason(&body, "  ")).await.expect(422);
    assert_eq!(r.body["field"], "reason", "{}", r.body);
    let listings: i64 = sqlx::query_scalar("select count(*) from listings").fetch_one(&db.pool).await.unwrap();
    assert_eq!(listings, 0);

    let reason = "2026年9月纸质挂牌记录补录（产权交易所档案 SY-GP-2026-0042）";
    let r = admin.post(&path, &with_reason(&body, reason)).await.expect(201);
    assert_eq!(r.body["notice_start"], "2026-09-01");
    assert_eq!(r.body["status"], "open");
    let listing = r.body["id"].as_i64().unwrap();
    assert_eq!(officer.get(&format!("/api/v1/farmhouses/{house}")).await.body["properties"]["status"], "listed");
    let history = admin.get(&format!("/api/v1/listings/{listing}/history")).await.expect(200);
    let entries = history.body.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{}", history.body);
    assert_eq!(entries[0]["action"], "insert");
    assert_eq!(entries[0]["actor"], "admin:test-admin");
    assert_eq!(entries[0]["after"]["historical_reason"], reason);
    assert_eq!(entries[0]["after"]["notice_start"], "2026-09-01");
}

fn with_reason(body: &serde_json::Value, reason: &str) -> serde_json::Value {
    let mut body = body.clone();
    body["reason"] = json!(reason);
    body
}
