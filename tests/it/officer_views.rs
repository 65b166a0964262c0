//! What the officers', officials' and admins' views ask of the API: the certification queue's count,
//! pages, sorts and township filter; history naming who made a change; a byte-order mark at the start of
//! every CSV the service serves; and the accounts an admin adds, limits, disables and takes tokens from.

use std::collections::HashSet;

use crate::common::api::Api;
use crate::common::{TestDb, account, spawn_app, spawn_app_as};
use farmhouse::domain::roles::Role;
use serde_json::{Value, json};

const QUEUE: &str = "/api/v1/transactions?awaiting_certification=true";

/// Every item of the list at `path`, following its `next` links; checks `number_matched` on each page.
async fn all_pages(api: &Api, path: &str) -> (Vec<Value>, i64) {
    let (mut items, mut next, mut matched) = (Vec::new(), Some(path.to_string()), None);
    while let Some(url) = next {
        let page = api.get(&url).await.expect(200).body;
        let n = page["number_matched"].as_i64().expect("number_matched");
        assert_eq!(*matched.get_or_insert(n), n, "{url}: the count stays across pages");
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        next = page["next"].as_str().map(str::to_string);
    }
    (items, matched.unwrap_or(0))
}

#[tokio::test]
async fn the_queue_counts_pages_sorts_and_filters_by_township() {
    let db = TestDb::demo().await;
    let api = Api::new(spawn_app_as(db.pool.clone(), Role::Officer).await);
    let awaiting: i64 = sqlx::query_scalar(
        "select count(*) from transactions t join farmhouses f on f.id = t.farmhouse_id
         where t.status = 'signed' and f.status = 'contracted'
           and not exists (select 1 from certifications c where c.transaction_id = t.id and c.revoked_at is null)",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(awaiting > 100, "the demo has more deals awaiting than one page of 100 ({awaiting})");

    // One page of 100 says how many there are; its next link reaches the rest, each deal once.
    let first = api.get(QUEUE).await.expect(200).body;
    assert_eq!(first["number_matched"], awaiting);
    assert_eq!(first["items"].as_array().unwrap().len(), 100);
    let (by_id, matched) = all_pages(&api, &format!("{QUEUE}&limit=40")).await;
    assert_eq!(matched, awaiting);
    let ids: HashSet<i64> = by_id.iter().map(|x| x["id"].as_i64().unwrap()).collect();
    assert_eq!((by_id.len() as i64, ids.len() as i64), (awaiting, awaiting));

    // Latest signed first, paged by offset: the same deals, in that order.
    let (latest, _) = all_pages(&api, &format!("{QUEUE}&limit=40&sort=-signed_on")).await;
    let days: Vec<&str> = latest.iter().map(|x| x["signed_on"].as_str().unwrap()).collect();
    assert!(days.windows(2).all(|w| w[0] >= w[1]), "latest first: {days:?}");
    assert_eq!(latest.iter().map(|x| x["id"].as_i64().unwrap()).collect::<HashSet<_>>(), ids);
    let page3 = api.get(&format!("{QUEUE}&limit=40&sort=-signed_on&offset=80")).await.expect(200).body;
    assert_eq!(page3["items"][0]["id"], latest[80]["id"]);

    let (cheapest, _) = all_pages(&api, &format!("{QUEUE}&limit=500&sort=amount")).await;
    let amounts: Vec<f64> = cheapest.iter().map(|x| x["total_amount_yuan"].as_f64().unwrap()).collect();
    assert!(amounts.windows(2).all(|w| w[0] <= w[1]), "smallest amount first");
    assert_ne!(cheapest[0]["id"], by_id[0]["id"], "the order changed");

    // A township's deals only, counted as SQL counts them.
    let township = by_id[0]["township_code"].as_str().unwrap().to_string();
    let (theirs, n) = all_pages(&api, &format!("{QUEUE}&township={township}&sort=signed_on&limit=25")).await;
    let expected = by_id.iter().filter(|x| x["township_code"] == township.as_str()).count() as i64;
    assert_eq!((n, theirs.len() as i64), (expected, expected));
    assert!(expected < awaiting);
    assert!(theirs.iter().all(|x| x["township_code"] == township.as_str()));

    api.assert_refusals(
        "/api/v1/transactions",
        &[
            ("sort=rent", 400, "sort"),
            ("offset=-1", 400, "offset"),
            ("offset=1000001", 400, "offset"),
            ("offset=ten", 400, "offset"),
            ("offset=10&after=3", 400, "offset"),
            ("after=3&sort=signed_on", 400, "after"),
            ("township=3306", 400, "township"),
            ("limit=0&sort=amount", 400, "limit"),
        ],
    )
    .await;
}

#[tokio::test]
async fn every_csv_the_service_serves_starts_with_a_byte_order_mark() {
    let db = TestDb::demo().await;
    let addr = spawn_app_as(db.pool.clone(), Role::Admin).await;
    let api = Api::new(addr);
    // Every route the OpenAPI document says answers text/csv.
    let doc = api.get("/api/v1/openapi.json").await.expect(200).body;
    let csv_routes: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, item)| item["get"]["responses"]["200"]["content"].get("text/csv").is_some())
        .map(|(path, _)| path.clone())
        .collect();
    assert!(csv_routes.len() >= 5, "{csv_routes:?}");
    for path in &csv_routes {
        let res = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"), "{path}");
        let bytes = res.bytes().await.unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "{path} starts with {:?}", &bytes[..bytes.len().min(8)]);
        assert!(!bytes[3..].starts_with(b"\xEF\xBB\xBF"), "{path}: one mark");
        let text = std::str::from_utf8(&bytes[3..]).unwrap();
        assert!(text.lines().count() > 1, "{path} has rows");
    }
    let township = api.get("/api/v1/export/farmhouses.csv?township=330604001").await.expect(200);
    assert!(township.body.as_str().unwrap().starts_with('\u{feff}'));
}

#[tokio::test]
async fn history_names_the_account_that_made_a_change() {
    let db = TestDb::demo().await;
    let token = account(&db.pool, "wang.fang", Role::Officer).await;
    sqlx::query("update users set display_name = '王芳' where username = 'wang.fang'").execute(&db.pool).await.unwrap();
    let api = Api::with_token(spawn_app(db.pool.clone()).await, &token);
    let house: i64 = sqlx::query_scalar("select min(id) from farmhouses").fetch_one(&db.pool).await.unwrap();
    let read = api.get(&format!("/api/v1/farmhouses/{house}")).await.expect(200);
    let tag = read.header("etag").to_string();
    let change = json!({"properties": {"floor_area_m2": 334.29}});
    api.patch(&format!("/api/v1/farmhouses/{house}"), &change, Some(&tag)).await.expect(200);
    let history = api.get(&format!("/api/v1/farmhouses/{house}/history")).await.expect(200).body;
    let last = history.as_array().unwrap().last().unwrap();
    assert_eq!((last["actor"].as_str(), last["actor_name"].as_str()), (Some("officer:wang.fang"), Some("王芳")));
    assert_eq!(last["after"]["floor_area_m2"], 334.29);
    // The demo's own entries were made by no account.
    assert!(history[0]["actor_name"].is_null(), "{}", history[0]);
}

#[tokio::test]
async fn an_admin_limits_disables_and_takes_tokens_from_accounts() {
    let db = TestDb::with_district().await;
    // One service for the admin and the accounts it changes: it forgets what it knew of their tokens.
    let addr = spawn_app(db.pool.clone()).await;
    let admin = Api::with_token(addr, &account(&db.pool, "root", Role::Admin).await);
    let made = admin
        .post(
            "/api/v1/users",
            &json!({"username": "li.ming", "role": "officer", "password": "correct horse battery 7", "display_name": "李明"}),
        )
        .await
        .expect(201)
        .body;
    let id = made["id"].as_i64().unwrap();
    assert_eq!((made["townships"].clone(), made["active_tokens"].clone()), (json!([]), json!(0)));
    let token = farmhouse::store::access::issue_token(&db.pool, "test", id, "script").await.unwrap().1;
    let officer = Api::with_token(addr, &token);
    officer.get("/api/v1/session").await.expect(200);
    let listed = admin.get("/api/v1/users").await.expect(200).body;
    let row = listed.as_array().unwrap().iter().find(|u| u["id"] == id).unwrap().clone();
    assert_eq!(row["active_tokens"], 1);

    // Scope: a township, then refusals that change nothing.
    let path = format!("/api/v1/users/{id}");
    let scoped = admin.patch(&path, &json!({"townships": ["330604001"]}), None).await.expect(200).body;
    assert_eq!(scoped["townships"], json!(["330604001"]));
    assert_eq!(scoped["active_tokens"], 0, "a new scope ends the tokens opened under the old one");
    let bad = admin.patch(&path, &json!({"townships": ["33060400"]}), None).await.expect(422).body;
    assert_eq!(bad["errors"][0]["field"], "townships[0]");
    let bad = admin.patch(&path, &json!({"role": "investor"}), None).await.expect(422).body;
    assert_eq!(bad["errors"][0]["field"], "townships");
    let kept = admin.get("/api/v1/users").await.body;
    let kept = kept.as_array().unwrap().iter().find(|u| u["id"] == id).unwrap().clone();
    assert_eq!((kept["role"].as_str(), kept["townships"].clone()), (Some("officer"), json!(["330604001"])));

    // Revoking tokens: the script's new token stops working, the account stays.
    let token = farmhouse::store::access::issue_token(&db.pool, "test", id, "script").await.unwrap().1;
    let officer = Api::with_token(addr, &token);
    assert_eq!(officer.get("/api/v1/transactions").await.status, 200);
    let revoked = admin.patch(&path, &json!({"revoke_tokens": true}), None).await.expect(200).body;
    assert_eq!((revoked["active_tokens"].clone(), revoked["disabled"].clone()), (json!(0), json!(false)));
    assert_eq!(officer.get("/api/v1/transactions").await.status, 401);

    // Disabled: its password no longer signs in.
    let login = json!({"username": "li.ming", "password": "correct horse battery 7"});
    let public = Api::new(addr);
    let signed = public.post("/api/v1/session", &login).await;
    assert_eq!(signed.status, 200, "{}", signed.body);
    admin.patch(&path, &json!({"disabled": true}), None).await.expect(200);
    assert_eq!(public.post("/api/v1/session", &login).await.status, 401);
}
