//! Activation projects: the demo's three showcases as projects with their houses, outlines and pictures;
//! the public list and pages without a household's data; officers recording projects and their houses,
//! with refusals naming fields; and the database's rule that a house belongs to one project at most.

use crate::common;

use crate::common::TestDb;
use crate::common::api::Api;
use crate::common::fixtures::{self, broken_constraint};
use farmhouse::domain::roles::Role;
use serde_json::{Value, json};

fn by_name<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["items"].as_array().unwrap().iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("no {name}"))
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn the_demo_carries_its_showcases_as_projects_of_several_houses() {
    let db = TestDb::demo().await;
    let api = Api::new(common::spawn_app(db.pool.clone()).await);
    let list = api.get("/api/v1/projects").await.expect(200).body;
    assert_eq!(list["items"].as_array().unwrap().len(), 3, "{list}");
    for (name, houses, township) in [("芋艿湾", 5, "丁宅乡"), ("沐格山居", 4, "岭南乡"), ("墨隐居", 3, "岭南乡")]
    {
        let p = by_name(&list, name);
        assert_eq!(p["houses"], houses, "{p}");
        assert_eq!(p["township_name"], township);
        assert_eq!(p["outline"]["type"], "Polygon", "{p}");
        assert!(p["investment_yuan"].as_f64().unwrap() >= 1_000_000.0);
        assert!(p["opened_on"].is_string());
        let cover =
            api.client.get(format!("{}{}", api.base, p["cover_photo_url"].as_str().unwrap())).send().await.unwrap();
        assert_eq!(cover.status(), 200);
        assert_eq!(cover.headers()["content-type"], "image/jpeg");

        let id = p["id"].as_i64().unwrap();
        let whole = api.get(&format!("/api/v1/projects/{id}")).await.expect(200).body;
        assert_eq!(whole["member_houses"].as_array().unwrap().len(), houses);
        assert_eq!(whole["photo_urls"].as_array().unwrap().len(), 3);
        assert!(whole["story"].as_str().unwrap().chars().count() > 50);
        assert!(whole["operator"]["name"].as_str().unwrap().ends_with("有限公司"));
        assert!(whole["operator"]["contact_phone"].as_str().unwrap().starts_with("0575-"));
    }
    // The showcase house is a member, the houses share its village, and the outline holds every footprint.
    let (showcases, villages, outside): (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from projects p join project_houses ph on ph.project_id = p.id
                 join listings l on l.farmhouse_id = ph.farmhouse_id and l.title = p.name),
                (select count(distinct (ph.project_id, pa.village)) from project_houses ph
                 join farmhouses f on f.id = ph.farmhouse_id join parcels pa on pa.parcel_code = f.parcel_code),
                (select count(*) from project_houses ph join farmhouses f on f.id = ph.farmhouse_id
                 where not st_covers(project_outline(ph.project_id), f.footprint))",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!((showcases, villages, outside), (3, 3, 0));
}

/// What a crawl of the project routes must never meet: the owners of the member houses and the lessees of
/// their deals (names, ID numbers, phones, addresses), and the operators' private phones.
async fn household_secrets(db: &TestDb) -> Vec<String> {
    sqlx::query_scalar(
        "select distinct v from project_houses ph join farmhouses f on f.id = ph.farmhouse_id
         left join transactions t on t.farmhouse_id = f.id
         join parties o on o.id in (f.owner_party_id, t.lessee_party_id, t.lessor_party_id),
         lateral unnest(array[o.name, o.id_number, o.phone, o.address]) v
         where v is not null and length(v) >= 2
         union
         select o.phone from projects p join parties o on o.id = p.operator_party_id where o.phone is not null",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_public_list_and_pages_carry_no_household_data() {
    let db = TestDb::demo().await;
    let secrets = household_secrets(&db).await;
    assert!(secrets.len() > 20, "{secrets:?}");
    let api = Api::new(common::spawn_app(db.pool.clone()).await);
    let ids: Vec<i64> = sqlx::query_scalar("select id from projects order by id").fetch_all(&db.pool).await.unwrap();
    let mut urls = vec!["/api/v1/projects".to_string(), "/projects".to_string()];
    for id in &ids {
        urls.extend([format!("/api/v1/projects/{id}"), format!("/projects/{id}")]);
    }
    for url in &urls {
        let res = api.client.get(format!("{}{url}", api.base)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{url}");
        let text = res.text().await.unwrap();
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "{url} shows {s:?}");
        }
    }

    // The showcase lists every project with its cover; a project's page tells its story and links its houses.
    let showcase = api.client.get(format!("{}/projects", api.base)).send().await.unwrap().text().await.unwrap();
    for name in ["芋艿湾", "沐格山居", "墨隐居"] {
        assert!(showcase.contains(name), "{showcase}");
    }
    assert_eq!(showcase.matches("/photos/").count(), 3);
    let page = api.client.get(format!("{}/projects/{}", api.base, ids[0])).send().await.unwrap();
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let html = page.text().await.unwrap();
    assert!(html.contains("<h1>芋艿湾</h1>") && html.contains("项目故事 · Story") && html.contains("id=\"cover\""));
    assert_eq!(html.matches("href=\"/?house=").count(), 5, "{html}");
    let missing = api.client.get(format!("{}/projects/999999", api.base)).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.text().await.unwrap().contains("查无此项目 · No such project"));
}

fn project(name: &str, operator: i64, houses: &[i64]) -> Value {
    json!({"name": name, "brand": "山居", "operator_party_id": operator, "story": "老屋新生。\n第二段。",
           "investment_yuan": 1200000, "opened_on": "2024-05-01", "contact_phone": "0575-82000000",
           "contact_url": "https://shanju.example", "township_code": "330604001", "farmhouse_ids": houses})
}

#[tokio::test]
async fn officers_record_projects_and_their_houses_with_refusals_naming_fields() {
    let db = TestDb::with_district().await;
    let api = Api::new(common::spawn_app_as(db.pool.clone(), Role::Officer).await);
    let operator = api.investor(1).await;
    let houses = [api.house(1).await, api.house(2).await, api.house(3).await];

    let created = api.post("/api/v1/projects", &project("山居一号", operator, &houses[..2])).await.expect(201);
    let id = created.body["id"].as_i64().unwrap();
    assert_eq!(created.header("location"), format!("/api/v1/projects/{id}"));
    assert_eq!(created.body["houses"], 2);
    assert_eq!(created.body["investment_yuan"], 1200000.0);
    assert_eq!(created.body["operator"]["name"], "投资公司1");
    assert_eq!(created.body["outline"]["type"], "Polygon");

    let moved = api.put(&format!("/api/v1/projects/{id}/houses"), &json!({"farmhouse_ids": houses[1..]})).await;
    let ids: Vec<i64> =
        moved.expect(200).body["member_houses"].as_array().unwrap().iter().map(|h| h["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, houses[1..]);

    // Every mistake of an input at once, each naming its field.
    let mut bad = project(" ", 0, &[houses[0], 0, houses[0]]);
    bad["township_code"] = json!("3306");
    bad["contact_url"] = json!("javascript:alert(1)");
    bad["investment_yuan"] = json!(1.005);
    let r = api.post("/api/v1/projects", &bad).await;
    assert!(r.status == 422 || r.status == 400, "{}", r.body);
    bad["investment_yuan"] = json!(10);
    let r = api.post("/api/v1/projects", &bad).await.expect(422);
    assert_eq!(
        fields(&r.body),
        ["name", "operator_party_id", "contact_url", "township_code", "farmhouse_ids[1]", "farmhouse_ids[2]"]
    );
    // The operator is an organisation (the database's rule, named for the client).
    let household = api.owner(9).await;
    let r = api.post("/api/v1/projects", &project("山居二号", household, &[])).await.expect(422);
    assert_eq!(r.body["field"], "operator_party_id");
    let r = api.put(&format!("/api/v1/projects/{id}/houses"), &json!({"farmhouse_ids": [houses[0], 999999]})).await;
    assert_eq!(fields(&r.expect(422).body), ["farmhouse_ids[1]"]);
    // A house of another project, and a name taken: conflicts.
    let r = api.post("/api/v1/projects", &project("山居三号", operator, &[houses[2]])).await.expect(409);
    assert_eq!(r.body["field"], "farmhouse_ids");
    let r = api.post("/api/v1/projects", &project("山居一号", operator, &[])).await.expect(409);
    assert_eq!(r.body["field"], "name");
    api.put("/api/v1/projects/999999/houses", &json!({"farmhouse_ids": []})).await.expect(404);

    // A picture, which becomes the cover.
    let jpeg = farmhouse::seed::pictures::jpeg(&farmhouse::seed::pictures::draw(7, 2)).unwrap();
    let url = format!("{}/api/v1/projects/{id}/photos?caption=全景", api.base);
    let stored = api.send(api.client.post(url).header("content-type", "image/jpeg").body(jpeg)).await.expect(201);
    let whole = api.get(&format!("/api/v1/projects/{id}")).await.expect(200).body;
    assert_eq!(whole["cover_photo_url"], stored.header("location"));

    // The public and investors read projects and write none.
    let public = Api::new(common::spawn_app(db.pool.clone()).await);
    public.get(&format!("/api/v1/projects/{id}")).await.expect(200);
    public.post("/api/v1/projects", &project("山居四号", operator, &[])).await.expect(401);
    let token = common::account(&db.pool, "project.investor", Role::Investor).await;
    let addr = common::spawn_app(db.pool.clone()).await;
    let investor = Api::with_token(addr, &token);
    investor.post("/api/v1/projects", &project("山居四号", operator, &[])).await.expect(403);
    investor.put(&format!("/api/v1/projects/{id}/houses"), &json!({"farmhouse_ids": []})).await.expect(403);
}

#[tokio::test]
async fn a_house_belongs_to_one_project_and_an_operator_is_an_organisation() {
    let db = TestDb::with_district().await;
    let house = fixtures::house(&db.pool, 1).await;
    let operator: i64 = sqlx::query_scalar(
        "insert into parties (kind, name, credit_code) values ('organisation', '运营公司', $1) returning id",
    )
    .bind(fixtures::credit_code(1))
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let insert = |name: &'static str, operator: i64| {
        sqlx::query_scalar::<_, i64>(
            "insert into projects (name, operator_party_id, township_code) values ($1, $2, '330604001') returning id",
        )
        .bind(name)
        .bind(operator)
        .fetch_one(&db.pool)
    };
    let (a, b) = (insert("甲", operator).await.unwrap(), insert("乙", operator).await.unwrap());
    let join = |project: i64| {
        sqlx::query("insert into project_houses (project_id, farmhouse_id) values ($1, $2)")
            .bind(project)
            .bind(house)
            .execute(&db.pool)
    };
    join(a).await.unwrap();
    assert_eq!(broken_constraint(join(b).await), "project_houses_one_project");

    let person = fixtures::person(&db.pool, &fixtures::id_number(1)).await;
    assert_eq!(broken_constraint(insert("丙", person).await), "projects_operator_organisation");
    let r = sqlx::query("update parties set kind = 'person', credit_code = null, id_number = $2 where id = $1")
        .bind(operator)
        .bind(fixtures::id_number(2))
        .execute(&db.pool)
        .await;
    assert_eq!(broken_constraint(r), "projects_operator_organisation");
}
