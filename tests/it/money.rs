//! Money and credit (docs/DESIGN.md §2.6): a deal's schedule made from its contract and split between the
//! household and the village collective, payments against it, overdue instalments, a bank's pledges on
//! certificates and what verification shows of them, the figures officials see, and the database's own
//! refusals of rows that break these rules.

use crate::common::api::{Api, Reply, transaction_body};
use crate::common::fixtures::{broken_constraint, credit_code};
use crate::common::{TestDb, account_for, spawn_app, spawn_app_as};
use farmhouse::domain::roles::Role;
use serde_json::{Value, json};
use sqlx::PgPool;

const TOWNSHIP: &str = "330604001";

async fn officer() -> (TestDb, Api) {
    let db = TestDb::with_district().await;
    let api = Api::new(spawn_app_as(db.pool.clone(), Role::Officer).await);
    (db, api)
}

fn text(r: Reply) -> String {
    r.body.as_str().unwrap_or_else(|| panic!("not text: {}", r.body)).to_string()
}

fn yuan(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not an amount: {v}"))
}

/// The village of the test parcels, with a collective fee of 2.50 yuan per m² a year set by an admin.
async fn village_with_fee(db: &TestDb) {
    sqlx::query(
        "insert into villages (township_code, name, location)
         select $1, '青山村', st_pointonsurface(boundary) from townships where code = $1",
    )
    .bind(TOWNSHIP)
    .execute(&db.pool)
    .await
    .unwrap();
    let admin = Api::new(spawn_app_as(db.pool.clone(), Role::Admin).await);
    let fee = json!({"township_code": TOWNSHIP, "village": "青山村", "yuan_per_m2_year": 2.5});
    admin.put("/api/v1/villages/fees", &fee).await.expect(200);
    let bad = json!({"township_code": TOWNSHIP, "village": "青山村", "yuan_per_m2_year": 2000});
    assert_eq!(
        admin.put("/api/v1/villages/fees", &bad).await.expect(422).body["errors"][0]["field"],
        "yuan_per_m2_year"
    );
    let fees = admin.get(&format!("/api/v1/villages/fees?township={TOWNSHIP}")).await.expect(200).body;
    assert_eq!(fees[0]["yuan_per_m2_year"], 2.5);
}

/// A six-year lease of house `n` at 10,000 yuan a year rising 5% every three years (61,500 yuan in all),
/// paid yearly; returns the transaction id.
async fn escalating_deal(api: &Api, n: u32) -> i64 {
    let house = api.house(n).await;
    let listing = api.list(house).await;
    let lessee = api.investor(n).await;
    let mut body = transaction_body(lessee, &format!("上虞农房租〔2020〕第{n}号"));
    body["lease_end"] = json!("2026-02-01");
    body["annual_rent_yuan"] = json!(10000);
    body["total_amount_yuan"] = json!(61000);
    body["schedule"] = json!({"plan": "yearly", "escalation_percent": 5, "escalation_every_years": 3});
    // The plan does not add up to the total given: refused, naming the schedule and what it adds up to.
    let r = api.post(&format!("/api/v1/listings/{listing}/transactions"), &body).await.expect(422).body;
    assert_eq!(r["errors"][0]["field"], "schedule", "{r}");
    assert!(r["errors"][0]["message"].as_str().unwrap().contains("61500.00 yuan"), "{r}");
    body["total_amount_yuan"] = json!(61500);
    api.post(&format!("/api/v1/listings/{listing}/transactions"), &body).await.expect(201).body["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_yearly_schedule_with_escalation_is_split_paid_and_its_arrears_listed() {
    let (db, api) = officer().await;
    village_with_fee(&db).await;
    let t = escalating_deal(&api, 1).await;
    let s = api.get(&format!("/api/v1/transactions/{t}/schedule")).await.expect(200).body;
    assert_eq!(s["plan"], "yearly");
    let amounts: Vec<f64> = s["instalments"].as_array().unwrap().iter().map(|i| yuan(&i["amount_yuan"])).collect();
    assert_eq!(amounts, [10000.0, 10000.0, 10000.0, 10500.0, 10500.0, 10500.0]);
    let dues: Vec<&str> = s["instalments"].as_array().unwrap().iter().map(|i| i["due_on"].as_str().unwrap()).collect();
    assert_eq!(dues[0], "2020-02-01");
    assert_eq!(dues[5], "2025-02-01");
    // The collective receives its fee on the parcel's area (a 40 m square) for the six years.
    assert_eq!(s["collective_fee_yuan_per_m2_year"], 2.5);
    let area = s["land_area_m2"].as_f64().unwrap();
    assert!((area - 1600.0).abs() < 20.0, "{area}");
    let collective = yuan(&s["collective_yuan"]);
    let expected = 2.5 * area * 2192.0 / 365.0;
    assert!((collective - expected).abs() < 1.0, "{collective} vs {expected}");
    assert!((yuan(&s["household_yuan"]) + collective - 61500.0).abs() < 0.001);
    for i in s["instalments"].as_array().unwrap() {
        let sum = yuan(&i["household_yuan"]) + yuan(&i["collective_yuan"]);
        assert!((sum - yuan(&i["amount_yuan"])).abs() < 0.001, "{i}");
    }

    // The first year paid; a yuan more is refused unless the payment says why.
    let first = s["instalments"][0]["id"].as_i64().unwrap();
    let pay = json!({"paid_on": "2020-02-05", "amount_yuan": 10000, "payer": "投资公司1", "method": "bank_transfer",
                     "receipt_no": "上虞收〔2020〕第1号"});
    let p = api.post(&format!("/api/v1/instalments/{first}/payments"), &pay).await.expect(201).body;
    assert!((yuan(&p["household_yuan"]) + yuan(&p["collective_yuan"]) - 10000.0).abs() < 0.001);
    assert_eq!(p["household_yuan"], s["instalments"][0]["household_yuan"]);
    let mut more = json!({"paid_on": "2020-02-06", "amount_yuan": 1, "payer": "投资公司1", "method": "cash",
                          "receipt_no": "上虞收〔2020〕第2号"});
    let r = api.post(&format!("/api/v1/instalments/{first}/payments"), &more).await.expect(422).body;
    assert_eq!(r["errors"][0]["field"], "amount_yuan", "{r}");
    more["excess_reason"] = json!("押金随首期租金一并缴纳");
    api.post(&format!("/api/v1/instalments/{first}/payments"), &more).await.expect(201);
    let same_receipt = api.post(&format!("/api/v1/instalments/{first}/payments"), &more).await.expect(409).body;
    assert_eq!(same_receipt["errors"][0]["field"], "receipt_no", "{same_receipt}");
    let bad = json!({"paid_on": "2020-02-06", "amount_yuan": 0, "payer": "", "method": "gold",
                     "receipt_no": "x"});
    let r = api.post(&format!("/api/v1/instalments/{first}/payments"), &bad).await.expect(422).body;
    let fields: Vec<&str> = r["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    for f in ["amount_yuan", "payer", "method", "receipt_no"] {
        assert!(fields.contains(&f), "{f} not named in {r}");
    }

    // The five later years are overdue (today is after 2025-02-01).
    let s = api.get(&format!("/api/v1/transactions/{t}/schedule")).await.expect(200).body;
    assert_eq!(s["overdue_yuan"], 51500.0);
    assert!(!s["instalments"][0]["overdue"].as_bool().unwrap());
    assert_eq!(s["instalments"][0]["payments"].as_array().unwrap().len(), 2);
    let overdue = api.get(&format!("/api/v1/instalments/overdue?township={TOWNSHIP}")).await.expect(200).body;
    assert_eq!(overdue["outstanding_yuan"], 51500.0);
    assert_eq!(overdue["items"].as_array().unwrap().len(), 5);
    assert_eq!(overdue["items"][0]["due_on"], "2021-02-01");

    // Once paid, the schedule is kept.
    let replace = json!({"plan": "lump_sum"});
    let r = api.put(&format!("/api/v1/transactions/{t}/schedule"), &replace).await.expect(409).body;
    assert_eq!(r["errors"][0]["field"], "schedule", "{r}");

    // An official sees the township's household and collective income; the public the totals only.
    let official = Api::new(spawn_app_as(db.pool.clone(), Role::Official).await);
    let figures = official.get(&format!("/api/v1/stats/summary?township={TOWNSHIP}")).await.expect(200).body;
    let paid_collective = yuan(&p["collective_yuan"]) + 1.0 * yuan(&s["instalments"][0]["collective_yuan"]) / 10000.0;
    assert!(
        (yuan(&figures["household_income_yuan"]) + yuan(&figures["collective_income_yuan"]) - 10001.0).abs() < 0.001
    );
    assert!((yuan(&figures["collective_income_yuan"]) - paid_collective).abs() < 0.011, "{figures}");
    let row = &figures["by_township"][0];
    assert_eq!(row["household_income_yuan"], figures["household_income_yuan"]);
    assert_eq!(row["collective_income_yuan"], figures["collective_income_yuan"]);
    assert_eq!(row["overdue_yuan"], 51500.0);
    let month = figures["by_month"].as_array().unwrap().iter().find(|m| m["month"] == "2020-02").unwrap();
    assert_eq!(month["household_income_yuan"], figures["household_income_yuan"]);
    let csv = text(official.get(&format!("/api/v1/stats/income.csv?township={TOWNSHIP}")).await.expect(200));
    assert!(csv.contains(&format!("{TOWNSHIP},百官街道,2020-02,2,")), "{csv}");
    let csv = text(official.get("/api/v1/stats/overdue.csv").await.expect(200));
    assert_eq!(csv.lines().count(), 6, "{csv}");
    let public = Api::new(spawn_app(db.pool.clone()).await);
    let open = public.get(&format!("/api/v1/stats/summary?township={TOWNSHIP}")).await.expect(200).body;
    assert_eq!(open["household_income_yuan"], figures["household_income_yuan"]);
    assert!(open.get("overdue_yuan").is_none() && open["by_township"][0].get("household_income_yuan").is_none());
    public.get("/api/v1/stats/income.csv").await.expect(401);
}

#[tokio::test]
async fn a_custom_schedule_must_add_up_and_a_deal_without_one_is_not_certified() {
    let (db, api) = officer().await;
    let house = api.house(2).await;
    let listing = api.list(house).await;
    let lessee = api.investor(2).await;
    let mut body = transaction_body(lessee, "上虞农房租〔2020〕第2号");
    body["schedule"] = json!({"plan": "custom", "instalments": [
        {"due_on": "2020-02-01", "amount_yuan": 100000}, {"due_on": "2021-02-01", "amount_yuan": 100000}]});
    let r = api.post(&format!("/api/v1/listings/{listing}/transactions"), &body).await.expect(422).body;
    assert_eq!(r["errors"][0]["field"], "schedule.instalments", "{r}");
    body["schedule"]["instalments"][1]["amount_yuan"] = json!(140010);
    body["schedule"]["rent_free_months"] = json!(3);
    let r = api.post(&format!("/api/v1/listings/{listing}/transactions"), &body).await.expect(422).body;
    assert_eq!(r["errors"][0]["field"], "schedule.rent_free_months", "{r}");
    body["schedule"].as_object_mut().unwrap().remove("rent_free_months");
    let t = api.post(&format!("/api/v1/listings/{listing}/transactions"), &body).await.expect(201).body["id"]
        .as_i64()
        .unwrap();
    let s = api.get(&format!("/api/v1/transactions/{t}/schedule")).await.expect(200).body;
    assert_eq!(s["plan"], "custom");
    assert_eq!(s["instalments"].as_array().unwrap().len(), 2);
    // The body of PUT is the schedule itself: its errors name its own fields.
    let rising = json!({"plan": "yearly", "escalation_percent": 5, "escalation_every_years": 3});
    let r = api.put(&format!("/api/v1/transactions/{t}/schedule"), &rising).await.expect(422).body;
    assert_eq!(r["errors"][0]["field"], "plan", "{r}");
    let r = api.put(&format!("/api/v1/transactions/{t}/schedule"), &json!({"plan": "weekly"})).await.expect(422).body;
    assert_eq!(r["errors"][0]["field"], "plan", "{r}");
    // Replaced before any payment: a lump sum.
    let s = api.put(&format!("/api/v1/transactions/{t}/schedule"), &json!({"plan": "lump_sum"})).await.expect(200).body;
    assert_eq!(s["instalments"][0]["amount_yuan"], 240010.0);

    // A deal recorded without a schedule (as before schedules were kept) is not certified until it has one.
    api.complete(t).await;
    sqlx::query("delete from instalments where transaction_id = $1").bind(t).execute(&db.pool).await.unwrap();
    sqlx::query("update transactions set payment_plan = null where id = $1").bind(t).execute(&db.pool).await.unwrap();
    let r = api.post(&format!("/api/v1/transactions/{t}/certify"), &json!({})).await.expect(409).body;
    assert_eq!(r["current"]["missing"], json!(["schedule"]), "{r}");
    api.put(&format!("/api/v1/transactions/{t}/schedule"), &json!({"plan": "yearly"})).await.expect(200);
    let cert = api.post(&format!("/api/v1/transactions/{t}/certify"), &json!({})).await.expect(201).body;
    // The certificate states the split, and its schedule is then kept.
    let facts: Value = sqlx::query_scalar("select facts from certifications where id = $1")
        .bind(cert["id"].as_i64().unwrap())
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(facts["split"]["instalments"], 20);
    assert_eq!(facts["payment_plan"], "yearly");
    api.put(&format!("/api/v1/transactions/{t}/schedule"), &json!({"plan": "lump_sum"})).await.expect(409);
}

/// A bank's account (role bank, acting for a new organisation party `name`); returns its API.
async fn bank(db: &TestDb, officer: &Api, name: &str, n: u32) -> Api {
    let party = officer
        .post("/api/v1/parties", &json!({"kind": "organisation", "name": name, "credit_code": credit_code(n)}))
        .await
        .expect(201)
        .body["id"]
        .as_i64()
        .unwrap();
    let token = account_for(&db.pool, &format!("bank.{n}"), Role::Bank, Some(party)).await;
    Api::with_token(spawn_app(db.pool.clone()).await, &token)
}

/// A certified deal of house `n`: (transaction, certificate number, verification code).
async fn certified(api: &Api, n: u32) -> (i64, String, String) {
    let (_, t) = api.contracted(n).await;
    let cert = api.post(&format!("/api/v1/transactions/{t}/certify"), &json!({})).await.expect(201).body;
    let id = cert["id"].as_i64().unwrap();
    let full = api.get(&format!("/api/v1/certifications/{id}")).await.expect(200).body;
    (t, full["certificate_no"].as_str().unwrap().into(), full["verification_code"].as_str().unwrap().into())
}

fn pledge_body(code: &str, contract: &str) -> Value {
    json!({"code": code, "loan_contract_no": contract, "amount_yuan": 80000, "loan_start": "2026-01-10",
           "loan_end": "2029-01-10", "registered_on": "2026-01-12"})
}

#[tokio::test]
async fn a_bank_registers_and_releases_a_pledge_that_verification_shows_while_in_force() {
    let (db, api) = officer().await;
    let (t, no, code) = certified(&api, 3).await;
    let first = bank(&db, &api, "浙江上虞农村商业银行股份有限公司", 91).await;
    let second = bank(&db, &api, "上虞某村镇银行", 92).await;
    let verify = format!("/api/v1/verify/{no}?code={code}");
    let public = Api::new(spawn_app(db.pool.clone()).await);
    assert_eq!(public.get(&verify).await.expect(200).body["encumbrances"], json!([]));

    // A wrong code reads as an unknown certificate; the right one registers.
    first
        .post(&format!("/api/v1/certifications/{no}/pledges"), &pledge_body("ZZZZ9999", "农商借〔2026〕第1号"))
        .await
        .expect(404);
    let bad = json!({"code": code, "loan_contract_no": "", "amount_yuan": 0, "loan_start": "2026-01-10",
                     "loan_end": "2025-01-10"});
    let r = first.post(&format!("/api/v1/certifications/{no}/pledges"), &bad).await.expect(422).body;
    let fields: Vec<&str> = r["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["loan_contract_no", "amount_yuan", "loan_end"], "{r}");
    let p = first
        .post(&format!("/api/v1/certifications/{no}/pledges"), &pledge_body(&code, "农商借〔2026〕第1号"))
        .await
        .expect(201)
        .body;
    assert_eq!(p["status"], "in_force");
    assert_eq!(p["bank"], "浙江上虞农村商业银行股份有限公司");
    let shown = public.get(&verify).await.expect(200).body;
    assert_eq!(
        shown["encumbrances"],
        json!([{"bank": "浙江上虞农村商业银行股份有限公司", "amount_yuan": 80000, "loan_start": "2026-01-10",
                "loan_end": "2029-01-10", "registered_on": "2026-01-12"}])
    );
    let page = text(public.get(&format!("/verify/{no}?code={code}")).await.expect(200));
    assert!(page.contains("<li class=\"encumbrance\">") && page.contains("80000.00 元"), "{page}");
    assert!(!page.contains("投资公司3"), "the borrower is not named beyond the certificate");

    // A second bank needs the first one's consent.
    let r = second
        .post(&format!("/api/v1/certifications/{no}/pledges"), &pledge_body(&code, "村镇借〔2026〕第7号"))
        .await
        .expect(409)
        .body;
    assert_eq!(r["errors"][0]["field"], "prior_consent", "{r}");
    let mut consented = pledge_body(&code, "村镇借〔2026〕第7号");
    consented["prior_consent"] = json!("浙江上虞农村商业银行同意第二顺位抵押（函〔2026〕12号）");
    let p2 = second.post(&format!("/api/v1/certifications/{no}/pledges"), &consented).await.expect(201).body;
    assert_eq!(public.get(&verify).await.expect(200).body["encumbrances"].as_array().unwrap().len(), 2);

    // Each bank sees its own pledges and releases only those.
    let mine = first.get("/api/v1/pledges").await.expect(200).body;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    second.post(&format!("/api/v1/pledges/{}/release", p["id"]), &json!({})).await.expect(404);
    first.get("/api/v1/instalments/overdue").await.expect(403);

    // While pledged, the lease is not ended early nor the certificate revoked.
    let r = api.post(&format!("/api/v1/transactions/{t}/end"), &json!({"on": "2026-06-01"})).await.expect(409).body;
    assert_eq!(r["errors"][0]["field"], "pledges", "{r}");
    let r = api
        .post(&format!("/api/v1/transactions/{t}/end"), &json!({"on": "2026-06-01", "override_reason": "x"}))
        .await
        .expect(403)
        .body;
    assert!(r["detail"].as_str().unwrap().contains("admin"), "{r}");

    let released = first
        .post(&format!("/api/v1/pledges/{}/release", p["id"]), &json!({"note": "贷款已结清"}))
        .await
        .expect(200)
        .body;
    assert_eq!(released["status"], "released");
    first.post(&format!("/api/v1/pledges/{}/release", p["id"]), &json!({})).await.expect(409);
    let left = public.get(&verify).await.expect(200).body["encumbrances"].clone();
    assert_eq!(left.as_array().unwrap().len(), 1);
    assert_eq!(left[0]["bank"], "上虞某村镇银行");

    // An admin overrides the second bank's pledge with a reason, which the pledge and its history keep.
    let admin = Api::new(spawn_app_as(db.pool.clone(), Role::Admin).await);
    admin
        .post(
            &format!("/api/v1/transactions/{t}/end"),
            &json!({"on": "2026-06-01", "override_reason": "法院裁定解除租赁"}),
        )
        .await
        .expect(200);
    let all = api.get(&format!("/api/v1/pledges?certificate_no={no}")).await.expect(200).body;
    let overridden = all["items"].as_array().unwrap().iter().find(|x| x["id"] == p2["id"]).unwrap();
    assert_eq!(overridden["status"], "overridden");
    assert_eq!(overridden["override_reason"], "法院裁定解除租赁");
    let history: i64 = sqlx::query_scalar(
        "select count(*) from history where table_name = 'pledges' and after ->> 'override_reason' = '法院裁定解除租赁'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(history, 1);
    assert_eq!(public.get(&verify).await.expect(200).body["encumbrances"], json!([]));
    let csv = text(api.get("/api/v1/stats/pledges.csv").await.expect(200));
    assert_eq!(csv.lines().count(), 3, "{csv}");
}

/// A certified deal written straight into the database with a two-instalment schedule; returns
/// (transaction, certification, first instalment).
async fn direct_deal(pool: &PgPool, api: &Api) -> (i64, i64, i64) {
    let (t, no, _) = certified(api, 4).await;
    let cert: i64 = sqlx::query_scalar("select id from certifications where certificate_no = $1")
        .bind(&no)
        .fetch_one(pool)
        .await
        .unwrap();
    let first: i64 = sqlx::query_scalar("select id from instalments where transaction_id = $1 order by seq limit 1")
        .bind(t)
        .fetch_one(pool)
        .await
        .unwrap();
    (t, cert, first)
}

#[tokio::test]
async fn postgresql_refuses_rows_that_break_the_money_rules() {
    let (db, api) = officer().await;
    let (t, cert, first) = direct_deal(&db.pool, &api).await;

    // Instalments add up to the deal's total (checked at commit).
    let house = api.house(5).await;
    let listing = api.list(house).await;
    let lessee = api.investor(5).await;
    let t5 = api.sign_bare(listing, lessee, "HT-2020-0005").await;
    let mut tx = db.pool.begin().await.unwrap();
    sqlx::query("delete from instalments where transaction_id = $1").bind(t5).execute(&mut *tx).await.unwrap();
    sqlx::query(
        "insert into instalments (transaction_id, seq, due_on, amount_fen, household_fen, collective_fen)
         values ($1, 1, '2020-02-01', 100, 100, 0)",
    )
    .bind(t5)
    .execute(&mut *tx)
    .await
    .unwrap();
    assert_eq!(broken_constraint(tx.commit().await), "instalments_sum");
    let changed_total = sqlx::query("update transactions set total_amount_fen = total_amount_fen + 1 where id = $1")
        .bind(t5)
        .execute(&db.pool)
        .await;
    assert_eq!(broken_constraint(changed_total), "instalments_sum");

    // A payment above what is due needs a reason; with one it is taken.
    let over = |reason: Option<&'static str>, receipt: &'static str| {
        sqlx::query(
            "insert into payments (instalment_id, paid_on, amount_fen, payer, method, receipt_no, excess_reason)
             select id, '2020-02-02', amount_fen + 1, '投资公司4', 'cash', $2, $3 from instalments where id = $1",
        )
        .bind(first)
        .bind(receipt)
        .bind(reason)
        .execute(&db.pool)
    };
    assert_eq!(broken_constraint(over(None, "SK-2020-0001").await), "payments_within_due");
    over(Some("押金"), "SK-2020-0002").await.unwrap();
    let paid: (i64, i64) = sqlx::query_as("select paid_fen, amount_fen from instalments where id = $1")
        .bind(first)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(paid.0, paid.1 + 1);
    let changed = sqlx::query("update payments set amount_fen = 1").execute(&db.pool).await;
    assert_eq!(broken_constraint(changed), "payments_kept");
    let schedule_changed =
        sqlx::query("update instalments set due_on = due_on + 1 where id = $1").bind(first).execute(&db.pool).await;
    assert_eq!(broken_constraint(schedule_changed), "instalments_certified");

    // One pledge in force per certificate, unless the first bank consents.
    let bank: i64 = sqlx::query_scalar(
        "insert into parties (kind, name, credit_code) values ('organisation', '测试银行', $1) returning id",
    )
    .bind(credit_code(77))
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let pledge = |contract: &'static str, consent: Option<&'static str>| {
        sqlx::query(
            "insert into pledges (certification_id, bank_party_id, loan_contract_no, amount_fen, loan_start, loan_end,
                                  registered_on, prior_consent)
             values ($1, $2, $3, 5000000, '2026-01-01', '2028-01-01', '2026-01-01', $4)",
        )
        .bind(cert)
        .bind(bank)
        .bind(contract)
        .bind(consent)
        .execute(&db.pool)
    };
    pledge("JK-2026-0001", None).await.unwrap();
    assert_eq!(broken_constraint(pledge("JK-2026-0002", None).await), "pledges_one_active");
    let deleted = sqlx::query("delete from pledges").execute(&db.pool).await;
    assert_eq!(broken_constraint(deleted), "pledges_kept");

    // A pledged lease is not ended early, nor its certificate revoked.
    let ended =
        sqlx::query("update transactions set status = 'terminated', terminated_on = '2026-06-01' where id = $1")
            .bind(t)
            .execute(&db.pool)
            .await;
    assert_eq!(broken_constraint(ended), "transactions_pledged");
    let revoked = sqlx::query("update certifications set revoked_at = now(), revoke_reason = 'test' where id = $1")
        .bind(cert)
        .execute(&db.pool)
        .await;
    assert_eq!(broken_constraint(revoked), "certifications_pledged");

    // A bank's account acts for an organisation.
    let person: i64 = sqlx::query_scalar("select lessor_party_id from transactions where id = $1")
        .bind(t)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let user = sqlx::query(
        "insert into users (username, role, password_hash, party_id) values ('bank.x', 'bank', '$argon2id$x', $1)",
    )
    .bind(person)
    .execute(&db.pool)
    .await;
    assert_eq!(broken_constraint(user), "users_bank_party");
}
