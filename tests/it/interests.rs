//! Investors' interests end to end, problems that carry a code clients translate, and place names in
//! Hanyu Pinyin.

use crate::common;

use crate::common::TestDb;
use crate::common::api::Api;
use farmhouse::domain::roles::Role;
use serde_json::{Value, json};

#[tokio::test]
async fn a_second_interest_is_a_coded_conflict_and_each_investor_sees_only_their_own() {
    let db = TestDb::with_district().await;
    let officer = Api::new(common::spawn_app_as(db.pool.clone(), Role::Officer).await);
    let listing = officer.list(officer.house(1).await).await;
    let other_listing = officer.list(officer.house(2).await).await;
    let addr = common::spawn_app(db.pool.clone()).await;
    let first = Api::with_token(addr, &common::account(&db.pool, "investor1", Role::Investor).await);
    let second = Api::with_token(addr, &common::account(&db.pool, "investor2", Role::Investor).await);
    let staff = Api::with_token(addr, &common::account(&db.pool, "officer1", Role::Officer).await);

    let body = json!({"contact_phone": "13700000000", "message": "想做民宿，请联系"});
    let made = first.post(&format!("/api/v1/listings/{listing}/interest"), &body).await.expect(201);
    assert_eq!(made.body["message"], "想做民宿，请联系");
    let again = first.post(&format!("/api/v1/listings/{listing}/interest"), &json!({})).await.expect(409);
    assert_eq!((&again.body["code"], &again.body["field"]), (&json!("interests_once"), &json!("listing")));
    second.post(&format!("/api/v1/listings/{other_listing}/interest"), &json!({})).await.expect(201);

    // Each investor's own list: their interest with its listing, never another's.
    let mine = first.get("/api/v1/interests").await.expect(200);
    let mine = mine.body.as_array().unwrap();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(
        (mine[0]["listing_id"].as_i64(), mine[0]["message"].as_str()),
        (Some(listing), Some("想做民宿，请联系"))
    );
    assert!(mine[0]["listing_title"].is_string() && mine[0]["township_name"].is_string());
    let theirs = second.get(&format!("/api/v1/interests?listing={listing}")).await.expect(200);
    assert_eq!(theirs.body, json!([]));
    let refused = second.get(&format!("/api/v1/listings/{listing}/interests")).await.expect(403);
    assert_eq!(refused.body["code"], "forbidden");

    // The officer sees the listing's interests with the investor's contact and message.
    let seen = staff.get(&format!("/api/v1/listings/{listing}/interests")).await.expect(200);
    let seen: Vec<(&str, &str, &str)> = seen
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (i["username"].as_str().unwrap(), i["contact_phone"].as_str().unwrap(), i["message"].as_str().unwrap())
        })
        .collect();
    assert_eq!(seen, [("investor1", "13700000000", "想做民宿，请联系")]);
    assert_eq!(staff.get("/api/v1/interests").await.expect(200).body.as_array().unwrap().len(), 2);

    // Refusals of the interest routes carry codes too: no such listing, a message too long, signed out.
    let missing = first.post("/api/v1/listings/999999/interest", &json!({})).await.expect(404);
    assert_eq!(missing.body["code"], "not_found");
    let long = json!({"message": "长".repeat(1001)});
    let too_long = first.post(&format!("/api/v1/listings/{other_listing}/interest"), &long).await.expect(422);
    assert_eq!((&too_long.body["code"], &too_long.body["field"]), (&json!("unprocessable_entity"), &json!("message")));
    let anonymous = Api::new(addr).post(&format!("/api/v1/listings/{listing}/interest"), &json!({})).await;
    assert_eq!((anonymous.status, &anonymous.body["code"]), (401, &json!("unauthorized")));
}

#[tokio::test]
async fn a_wrong_password_is_refused_with_a_code_the_page_translates() {
    let db = TestDb::with_district().await;
    common::account(&db.pool, "investor1", Role::Investor).await;
    let api = Api::new(common::spawn_app(db.pool.clone()).await);
    let wrong = api.post("/api/v1/session", &json!({"username": "investor1", "password": "wrong"})).await.expect(401);
    assert_eq!(wrong.body["code"], "login_failed");
    let unknown = api.post("/api/v1/session", &json!({"username": "nobody", "password": "x"})).await.expect(401);
    assert_eq!(unknown.body["code"], "login_failed");
    api.post("/api/v1/session", &json!({"username": "investor1", "password": "investor1-password"})).await.expect(200);
}

#[tokio::test]
async fn every_township_and_village_of_the_demo_has_its_name_in_pinyin() {
    let db = TestDb::demo().await;
    let api = Api::new(common::spawn_app(db.pool.clone()).await);
    let townships = api.get("/collections/townships/items?limit=100").await.expect(200);
    let names: Vec<(&str, &str)> = townships.body["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["properties"]["name"].as_str().unwrap(), f["properties"]["name_pinyin"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(names.len(), 20, "{names:?}");
    for (name, pinyin) in &names {
        let generic = ["Jiedao", "Zhen", "Xiang"].iter().any(|g| pinyin.ends_with(&format!(" {g}")));
        assert!(generic && pinyin.is_ascii() && pinyin.starts_with(char::is_uppercase), "{name}: {pinyin:?}");
    }
    for expected in [("百官街道", "Baiguan Jiedao"), ("曹娥街道", "Cao'e Jiedao"), ("长塘镇", "Changtang Zhen")]
    {
        assert!(names.contains(&expected), "{expected:?} in {names:?}");
    }
    let unnamed: i64 =
        sqlx::query_scalar("select count(*) from villages where name_pinyin is null or name_pinyin = ''")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(unnamed, 0);
    let village = api.get("/collections/villages/items?limit=1").await.expect(200);
    assert!(village.body["features"][0]["properties"]["name_pinyin"].as_str().unwrap().ends_with(" Cun"));

    // A house tells its township and village in pinyin too.
    let houses = api.get("/api/v1/farmhouses?limit=1").await.expect(200);
    let house: &Value = &houses.body["features"][0]["properties"];
    assert!(house["township_name_pinyin"].as_str().is_some_and(str::is_ascii), "{house}");
    assert!(house["village_pinyin"].as_str().is_some_and(|p| p.ends_with(" Cun")), "{house}");
}

#[tokio::test]
async fn migrating_romanises_places_written_before() {
    let db = TestDb::with_district().await;
    sqlx::query("update townships set name_pinyin = null").execute(&db.admin).await.unwrap();
    farmhouse::store::migrate(&db.url).await.unwrap();
    let named: Vec<(String, Option<String>)> =
        sqlx::query_as("select name, name_pinyin from townships").fetch_all(&db.pool).await.unwrap();
    assert!(!named.is_empty());
    for (name, pinyin) in named {
        assert_eq!(pinyin.as_deref(), Some(farmhouse::domain::township::romanise(&name).as_str()));
    }
}
