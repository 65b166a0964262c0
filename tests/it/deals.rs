//! A deal with its parties, consent and papers (docs/DESIGN.md §2.5): the checklist gates the certificate,
//! the officer who recorded a deal does not certify it, two people revoke, accounts limited to townships
//! act only there, and the words officers use are accepted.

use crate::common;

use crate::common::api::{Api, house_feature, pdf, transaction_body};
use crate::common::fixtures::broken_constraint;
use crate::common::{TestDb, account, spawn_app, spawn_app_as};
use farmhouse::domain::roles::Role;
use serde_json::{Value, json};

async fn officer() -> (TestDb, Api) {
    let db = TestDb::with_district().await;
    let api = Api::new(spawn_app_as(db.pool.clone(), Role::Officer).await);
    (db, api)
}

fn missing(r: &Value) -> Vec<String> {
    r["current"]["missing"]
        .as_array()
        .map_or_else(Vec::new, |m| m.iter().map(|v| v.as_str().unwrap().to_string()).collect())
}

/// A listed house of parcel `n` (no owner when `owned` is false) and its listing.
async fn listed(api: &Api, n: u32, owned: bool) -> (i64, i64) {
    let house = if owned {
        api.house(n).await
    } else {
        api.parcel(n).await;
        api.post("/api/v1/farmhouses", &house_feature(n)).await.expect(201).body["id"].as_i64().unwrap()
    };
    (house, api.list(house).await)
}

#[tokio::test]
async fn certify_is_refused_until_lessor_consent_and_papers_are_complete_each_named() {
    let (_db, api) = officer().await;
    let (house, listing) = listed(&api, 1, false).await;
    let lessee = api.investor(1).await;
    let t = api.sign_bare(listing, lessee, "上虞农房〔2020〕第1号").await;
    let deal = api.get(&format!("/api/v1/transactions/{t}")).await.expect(200).body;
    assert_eq!(deal["contract_no"], "上虞农房〔2020〕第1号", "a contract number in the office's words");
    assert!(deal["lessor_party_id"].is_null(), "the house has no owner of record: no lessor");

    // Nothing recorded: every item is named.
    let r = api.post(&format!("/api/v1/transactions/{t}/certify"), &json!({})).await.expect(409).body;
    let open = missing(&r);
    for item in [
        "lessor",
        "consent.household",
        "consent.committee",
        "papers.lease_contract",
        "papers.listing_entrustment",
        "papers.id_copy",
        "papers.appraisal_report",
        "papers.safety_appraisal",
    ] {
        assert!(open.contains(&item.to_string()), "{item} not named in {r}");
    }
    assert!(!open.contains(&"title".to_string()), "the house's rights are confirmed: {r}");
    assert!(!open.contains(&"consent.meeting".to_string()), "not collective property: {r}");
    assert!(r["detail"].as_str().unwrap().contains("no lessor is recorded"), "{r}");

    // The owner of record lets the house: named, the lessor item is satisfied.
    let owner = api.owner(1).await;
    let version = api.get(&format!("/api/v1/farmhouses/{house}")).await.body["properties"]["version"].clone();
    api.patch(
        &format!("/api/v1/farmhouses/{house}"),
        &json!({"properties": {"owner_party_id": owner, "version": version}}),
        None,
    )
    .await
    .expect(200);
    let stranger = api.owner(2).await;
    let wrong = api.put(&format!("/api/v1/transactions/{t}/parties"), &json!({"lessor_party_id": stranger})).await;
    assert_eq!(
        (wrong.status, wrong.body["errors"][0]["field"].as_str()),
        (422, Some("lessor_party_id")),
        "{}",
        wrong.body
    );
    api.put(&format!("/api/v1/transactions/{t}/parties"), &json!({})).await.expect(200);
    let r = api.post(&format!("/api/v1/transactions/{t}/certify"), &json!({})).await.expect(409).body;
    assert!(!missing(&r).contains(&"lessor".to_string()), "{r}");
    assert!(missing(&r).contains(&"consent.household".to_string()), "{r}");

    // Consent: a member who refuses keeps the household item open; the committee's opinion closes its own.
    api.post(
        &format!("/api/v1/transactions/{t}/consents"),
        &json!({"kind": "member", "member_name": "户主之子", "agrees": false, "given_on": "2020-01-20"}),
    )
    .await
    .expect(201);
    api.post(
        &format!("/api/v1/transactions/{t}/consents"),
        &json!({"kind": "committee", "agrees": true, "opinion": "同意", "given_on": "2020-01-21"}),
    )
    .await
    .expect(201);
    let checklist = api.get(&format!("/api/v1/transactions/{t}/checklist")).await.expect(200).body;
    let item = |name: &str| checklist["items"].as_array().unwrap().iter().find(|i| i["item"] == name).unwrap().clone();
    assert_eq!(item("consent.household")["satisfied"], false);
    assert!(item("consent.household")["detail"].as_str().unwrap().contains("refused"), "{checklist}");
    assert_eq!(item("consent.committee")["satisfied"], true);
    assert_eq!(checklist["complete"], false);

    // Papers, checked by their bytes: a text file is refused whatever its Content-Type says.
    let fake = api.paper(&format!("/api/v1/transactions/{t}/papers?kind=lease_contract"), b"not a pdf".to_vec()).await;
    assert_eq!((fake.status, fake.body["errors"][0]["field"].as_str()), (422, Some("file")), "{}", fake.body);
    let ungraded = api.paper(&format!("/api/v1/transactions/{t}/papers?kind=safety_appraisal"), pdf("鉴定")).await;
    assert_eq!((ungraded.status, ungraded.body["errors"][0]["field"].as_str()), (422, Some("grade")));
    for kind in ["lease_contract", "listing_entrustment", "id_copy", "appraisal_report", "safety_appraisal&grade=B"] {
        api.paper(&format!("/api/v1/transactions/{t}/papers?kind={kind}"), pdf(kind)).await.expect(201);
    }
    let r = api.post(&format!("/api/v1/transactions/{t}/certify"), &json!({})).await.expect(409).body;
    assert_eq!(missing(&r), ["consent.household"], "{r}");

    // The household has two adult members: both must agree, and nobody may refuse.
    api.post(
        &format!("/api/v1/transactions/{t}/consents"),
        &json!({"kind": "member", "member_name": "户主本人", "agrees": true, "given_on": "2020-01-20"}),
    )
    .await
    .expect(201);
    let r = api.post(&format!("/api/v1/transactions/{t}/certify"), &json!({})).await.expect(409).body;
    assert_eq!(missing(&r), ["consent.household"], "the son still refuses: {r}");
    let again = api
        .post(
            &format!("/api/v1/transactions/{t}/consents"),
            &json!({"kind": "member", "member_name": "户主之子", "agrees": true, "given_on": "2020-01-25"}),
        )
        .await;
    assert_eq!(again.status, 409, "a member's consent is recorded once: {}", again.body);

    // A second deal of another house, completed the usual way, certifies at once.
    let (_, t2) = api.contracted(3).await;
    api.post(&format!("/api/v1/transactions/{t2}/certify"), &json!({})).await.expect(201);
}

#[tokio::test]
async fn collective_property_needs_two_thirds_of_the_members_meeting() {
    let (_db, api) = officer().await;
    let (house, t) = api.contracted(1).await;
    let version = api.get(&format!("/api/v1/farmhouses/{house}")).await.body["properties"]["version"].clone();
    let patch = json!({"properties": {"collective_property": true, "version": version}});
    api.patch(&format!("/api/v1/farmhouses/{house}"), &patch, None).await.expect(200);
    let r = api.post(&format!("/api/v1/transactions/{t}/certify"), &json!({})).await.expect(409).body;
    assert_eq!(missing(&r), ["consent.meeting"], "{r}");
    let votes = |f: i64, a: i64, total: i64| json!({"kind": "meeting", "votes_for": f, "votes_against": a, "votes_total": total, "given_on": "2020-01-18"});
    let bad = api.post(&format!("/api/v1/transactions/{t}/consents"), &votes(80, 30, 100)).await;
    assert_eq!((bad.status, bad.body["errors"][0]["field"].as_str()), (422, Some("votes_total")), "{}", bad.body);
    api.post(&format!("/api/v1/transactions/{t}/consents"), &votes(66, 20, 100)).await.expect(201);
    let r = api.post(&format!("/api/v1/transactions/{t}/certify"), &json!({})).await.expect(409).body;
    assert_eq!(missing(&r), ["consent.meeting"], "66 of 100 is under two thirds: {r}");
    api.post(&format!("/api/v1/transactions/{t}/consents"), &votes(67, 20, 100)).await.expect(201);
    api.post(&format!("/api/v1/transactions/{t}/certify"), &json!({})).await.expect(201);
}

#[tokio::test]
async fn a_house_graded_c_or_d_is_not_listed_for_lodging_or_elderly_care() {
    let (_db, api) = officer().await;
    let house = api.house(1).await;
    api.paper(&format!("/api/v1/farmhouses/{house}/papers?kind=safety_appraisal&grade=C"), pdf("C级"))
        .await
        .expect(201);
    let staff_view = api.get(&format!("/api/v1/farmhouses/{house}")).await.body;
    assert_eq!(staff_view["properties"]["title"]["safety_grade"], "C");
    let body = json!({"asking_rent_yuan": 12000, "min_term_months": 12, "max_term_months": 240,
                      "allowed_uses": ["民宿", "文创"], "notice_start": common::fixtures::shanghai_today().to_string(),
                      "notice_end": (common::fixtures::shanghai_today() + chrono::Days::new(10)).to_string()});
    let r = api.post(&format!("/api/v1/farmhouses/{house}/listings"), &body).await;
    assert_eq!((r.status, r.body["errors"][0]["field"].as_str()), (422, Some("allowed_uses")), "{}", r.body);
    let mut other = body.clone();
    other["allowed_uses"] = json!(["文创", "电商"]);
    api.post(&format!("/api/v1/farmhouses/{house}/listings"), &other).await.expect(201);
    // A lease contract belongs to a deal, not to a house.
    let r = api.paper(&format!("/api/v1/farmhouses/{house}/papers?kind=lease_contract"), pdf("合同")).await;
    assert_eq!((r.status, r.body["errors"][0]["field"].as_str()), (422, Some("kind")), "{}", r.body);
}

/// Two officers and an admin with accounts, and a deal officer `a` recorded (its house listed by the test
/// service's admin).
async fn two_officers() -> (TestDb, Api, Api, Api, Api, i64) {
    let db = TestDb::with_district().await;
    let setup = Api::new(spawn_app_as(db.pool.clone(), Role::Officer).await);
    let addr = spawn_app(db.pool.clone()).await;
    let a = Api::with_token(addr, &account(&db.pool, "officer.a", Role::Officer).await);
    let b = Api::with_token(addr, &account(&db.pool, "officer.b", Role::Officer).await);
    let admin = Api::with_token(addr, &account(&db.pool, "admin.c", Role::Admin).await);
    let house = setup.house(1).await;
    let listing = setup.list(house).await;
    let lessee = setup.investor(1).await;
    let t = a
        .post(&format!("/api/v1/listings/{listing}/transactions"), &transaction_body(lessee, "HT-2020-0001"))
        .await
        .expect(201)
        .body["id"]
        .as_i64()
        .unwrap();
    a.complete(t).await;
    (db, setup, a, b, admin, t)
}

#[tokio::test]
async fn the_officer_who_recorded_a_deal_does_not_certify_it() {
    let (db, _setup, a, b, _admin, t) = two_officers().await;
    let deal = a.get(&format!("/api/v1/transactions/{t}")).await.expect(200).body;
    assert_eq!(deal["recorded_by"], "officer.a");
    let own = a.get(&format!("/api/v1/transactions/{t}/checklist")).await.expect(200).body;
    assert_eq!(own["complete"], false, "{own}");
    let r = a.post(&format!("/api/v1/transactions/{t}/certify"), &json!({})).await.expect(409).body;
    assert_eq!(missing(&r), ["officers"], "{r}");
    assert_eq!(b.get(&format!("/api/v1/transactions/{t}/checklist")).await.body["complete"], true);

    // The rule is the database's: a certificate written around the service is refused too.
    let recorder: i64 =
        sqlx::query_scalar("select id from users where username = 'officer.a'").fetch_one(&db.pool).await.unwrap();
    let mut tx = db.pool.begin().await.unwrap();
    sqlx::query("select set_config('farmhouse.historical_record', 'test', true)").execute(&mut *tx).await.unwrap();
    let direct = sqlx::query(
        "insert into certifications (certificate_no, transaction_id, officer_user_id, verification_code)
         values ('SY-JZ-2020-999999', $1, $2, 'ABCD1234')",
    )
    .bind(t)
    .bind(recorder)
    .execute(&mut *tx)
    .await;
    assert_eq!(broken_constraint(direct), "certifications_maker_checker");
    drop(tx);

    let cert = b.post(&format!("/api/v1/transactions/{t}/certify"), &json!({})).await.expect(201).body;
    assert_eq!(cert["officer"], "officer.b");
}

#[tokio::test]
async fn an_officer_asks_to_revoke_and_a_second_officer_or_an_admin_revokes() {
    let (db, setup, a, b, admin, t) = two_officers().await;
    let id =
        b.post(&format!("/api/v1/transactions/{t}/certify"), &json!({})).await.expect(201).body["id"].as_i64().unwrap();
    let revoke = format!("/api/v1/certifications/{id}/revoke");
    let asked = b.post(&revoke, &json!({"reason": "合同无效"})).await.expect(202).body;
    assert_eq!(
        (asked["in_force"].as_bool(), asked["revocation_requested_by"].as_str()),
        (Some(true), Some("officer.b"))
    );
    let again = b.post(&revoke, &json!({"reason": "合同无效"})).await.expect(409).body;
    assert_eq!(missing(&again), ["officers"], "{again}");
    let done = a.post(&revoke, &json!({"reason": "合同无效，经复核"})).await.expect(200).body;
    assert_eq!((done["in_force"].as_bool(), done["revoke_reason"].as_str()), (Some(false), Some("合同无效，经复核")));

    // An admin revokes alone.
    let (_, t2) = setup.contracted(2).await;
    let id2 = a.post(&format!("/api/v1/transactions/{t2}/certify"), &json!({})).await.expect(201).body["id"]
        .as_i64()
        .unwrap();
    admin.post(&format!("/api/v1/certifications/{id2}/revoke"), &json!({"reason": "登记错误"})).await.expect(200);

    // And the database holds to it: an officer's revocation without another's request is refused.
    let (_, t3) = setup.contracted(3).await;
    let id3 = a.post(&format!("/api/v1/transactions/{t3}/certify"), &json!({})).await.expect(201).body["id"]
        .as_i64()
        .unwrap();
    let direct = sqlx::query(
        "update certifications set revoked_at = now(), revoke_reason = 'x',
                revoked_by_user_id = (select id from users where username = 'officer.a') where id = $1",
    )
    .bind(id3)
    .execute(&db.pool)
    .await;
    assert_eq!(broken_constraint(direct), "certifications_two_officers");
}

#[tokio::test]
async fn an_account_limited_to_townships_acts_and_reads_private_records_only_there() {
    let db = TestDb::with_district().await;
    sqlx::query(
        "insert into townships (code, name, kind, boundary)
         select '330604002', '曹娥街道', '街道', st_multi(st_buffer(st_centroid(outline), 0.001)) from districts",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let setup = Api::new(spawn_app_as(db.pool.clone(), Role::Officer).await);
    let (house, t) = setup.contracted(1).await;
    let addr = spawn_app(db.pool.clone()).await;
    let scoped = |name: &'static str, role: Role, township: &'static str| {
        let pool = db.pool.clone();
        async move {
            let token = account(&pool, name, role).await;
            sqlx::query(
                "insert into user_townships (user_id, township_code)
                 select id, $2 from users where username = $1",
            )
            .bind(name)
            .bind(township)
            .execute(&pool)
            .await
            .unwrap();
            Api::with_token(addr, &token)
        }
    };
    let elsewhere = scoped("officer.caoe", Role::Officer, "330604002").await;
    let here = scoped("officer.baiguan", Role::Officer, "330604001").await;
    let official = scoped("official.caoe", Role::Official, "330604002").await;
    assert_eq!(elsewhere.get("/api/v1/session").await.body["townships"], json!(["330604002"]));

    // Writes outside the account's townships: 403, and nothing changes.
    let appraisal = json!({"report_no": "浙XX评报字〔2020〕第123号", "firm": "绍兴某评估公司", "appraiser": "李四",
                           "method": "收益法", "valuation_date": "2019-12-01", "value_yuan": 350000,
                           "annual_rent_yuan": 11800, "valid_until": "2020-12-01"});
    let r = elsewhere.post(&format!("/api/v1/farmhouses/{house}/appraisals"), &appraisal).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = elsewhere
        .post(
            &format!("/api/v1/transactions/{t}/consents"),
            &json!({"kind": "committee", "agrees": true, "given_on": "2020-01-21"}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(elsewhere.post(&format!("/api/v1/transactions/{t}/certify"), &json!({})).await.status, 403);
    let appraisals: i64 = sqlx::query_scalar("select count(*) from appraisals").fetch_one(&db.pool).await.unwrap();
    assert_eq!(appraisals, 0);

    // Within them, the same officer's colleague acts (the report number in the office's words).
    here.post(&format!("/api/v1/farmhouses/{house}/appraisals"), &appraisal).await.expect(201);
    here.post(&format!("/api/v1/transactions/{t}/certify"), &json!({})).await.expect(201);

    // An official limited elsewhere reads no private record here: no deal, no papers, no owner.
    assert_eq!(official.get(&format!("/api/v1/transactions/{t}")).await.status, 403);
    assert_eq!(official.get(&format!("/api/v1/transactions/{t}/papers")).await.status, 403);
    assert_eq!(official.get("/api/v1/transactions").await.expect(200).body["items"], json!([]));
    let seen = official.get(&format!("/api/v1/farmhouses/{house}")).await.expect(200).body;
    assert!(seen["properties"].get("owner").is_none() && seen["properties"].get("title").is_none(), "{seen}");
}

#[tokio::test]
async fn officials_never_get_copies_of_id_cards() {
    let db = TestDb::with_district().await;
    let officer = Api::new(spawn_app_as(db.pool.clone(), Role::Officer).await);
    let official = Api::new(spawn_app_as(db.pool.clone(), Role::Official).await);
    let (_, t) = officer.contracted(1).await;
    let kinds = |papers: &Value| -> Vec<String> {
        papers.as_array().unwrap().iter().map(|p| p["kind"].as_str().unwrap().to_string()).collect()
    };
    let all = officer.get(&format!("/api/v1/transactions/{t}/papers")).await.expect(200).body;
    assert!(kinds(&all).contains(&"id_copy".to_string()));
    let seen = official.get(&format!("/api/v1/transactions/{t}/papers")).await.expect(200).body;
    assert!(!kinds(&seen).contains(&"id_copy".to_string()) && kinds(&seen).len() == 4, "{seen}");
    let copy = all.as_array().unwrap().iter().find(|p| p["kind"] == "id_copy").unwrap()["id"].as_i64().unwrap();
    assert_eq!(official.get(&format!("/api/v1/papers/{copy}")).await.status, 403);
    let file = officer.get(&format!("/api/v1/papers/{copy}")).await.expect(200);
    assert_eq!(file.header("content-type"), "application/pdf");
    // The history keeps each paper's digest, never its bytes.
    let entry: Value = sqlx::query_scalar("select after from history where table_name = 'papers' order by seq limit 1")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(entry.get("sha256").is_some() && entry.get("content").is_none(), "{entry}");
}

#[tokio::test]
async fn the_words_officers_use_are_accepted_and_the_total_is_checked_against_the_rent() {
    let (_db, api) = officer().await;
    api.parcel(1).await;
    let mut house = house_feature(1);
    house["properties"]["structure"] = json!("土木");
    house["properties"]["condition"] = json!("严重损坏");
    house["properties"]["homestead_title"] = json!("issued");
    house["properties"]["homestead_cert_no"] = json!("浙(2021)绍兴市上虞区不动产权第0012345号");
    let made = api.post("/api/v1/farmhouses", &house).await.expect(201).body;
    assert_eq!(made["properties"]["structure"], "土木");
    assert_eq!(made["properties"]["title"]["homestead_cert_no"], "浙(2021)绍兴市上虞区不动产权第0012345号");
    api.parcel(2).await;
    let mut unnumbered = house_feature(2);
    unnumbered["properties"]["ownership_title"] = json!("issued");
    let r = api.post("/api/v1/farmhouses", &unnumbered).await;
    assert_eq!((r.status, r.body["errors"][0]["field"].as_str()), (422, Some("properties.ownership_cert_no")));

    let listing = api.list(made["id"].as_i64().unwrap()).await;
    let lessee = api.investor(1).await;
    let mut body = transaction_body(lessee, "HT-2020-0001");
    // 20 years at 12,000.50 a year: 240,010; a year rent-free is allowed, half the rent is not.
    body["total_amount_yuan"] = json!(120005);
    let r = api.post(&format!("/api/v1/listings/{listing}/transactions"), &body).await;
    assert_eq!((r.status, r.body["errors"][0]["field"].as_str()), (422, Some("total_amount_yuan")), "{}", r.body);
    body["total_amount_yuan"] = json!(228009.5);
    api.post(&format!("/api/v1/listings/{listing}/transactions"), &body).await.expect(201);
}
