//! Who may do what: every route the router serves, called as every role, answers as its declaration
//! says; logins, sessions, tokens, throttling and the privacy of parties.

use crate::common;

use std::time::Duration;

use crate::common::TestDb;
use crate::common::api::{Api, Reply};
use farmhouse::domain::roles::Role;
use serde_json::json;

/// A concrete path for a route pattern. Ids name no record, so no call changes anything (a revoked token
/// or disabled account would spoil the calls after it).
fn concrete(pattern: &str) -> String {
    pattern
        .replace("{id}", "999999")
        .replace("{photo}", "999999")
        .replace("{code}", "330604001")
        .replace("{certificate_no}", "SY-JZ-2020-000001")
        .replace("{*path}", "app/main.js")
}

#[tokio::test]
async fn every_route_answers_every_role_as_declared() {
    let db = TestDb::with_district().await;
    let mut tokens = vec![(Role::Public, None)];
    for role in [Role::Investor, Role::Officer, Role::Official, Role::Admin] {
        tokens.push((role, Some(common::account(&db.pool, &format!("{role}1"), role).await)));
    }
    let api = Api::new(common::spawn_app(db.pool.clone()).await);
    let endpoints = farmhouse::http::endpoints();
    assert!(endpoints.len() >= 50, "{} routes", endpoints.len());
    let mut checked = 0;
    for e in &endpoints {
        for (role, token) in &tokens {
            let url = format!("{}{}", api.base, concrete(&e.path));
            let mut req =
                api.client.request(e.method.clone(), url).header("content-type", "application/json").body("{}");
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let reply = api.send(req).await;
            let expected_denial = match (e.allow.admits(*role), role) {
                (true, _) => None,
                (false, Role::Public) => Some(401),
                (false, _) => Some(403),
            };
            match expected_denial {
                None => assert!(
                    reply.status != 401 && reply.status != 403 && reply.status < 500,
                    "{} {} as {role}: admitted, but got {}: {}",
                    e.method,
                    e.path,
                    reply.status,
                    reply.body
                ),
                Some(status) => {
                    assert_eq!(reply.status, status, "{} {} as {role}: {}", e.method, e.path, reply.body);
                    assert_eq!(reply.header("content-type"), "application/problem+json");
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, endpoints.len() * 5);
}

#[tokio::test]
async fn the_route_table_prints_every_route_with_its_roles() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_farmhouse")).arg("routes").output().unwrap();
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    for e in farmhouse::http::endpoints() {
        let line = format!("| {} | `{}` | {} |", e.method, e.path, e.allow.describe());
        assert!(table.contains(&line), "missing: {line}");
    }
}

async fn login(api: &Api, name: &str, password: &str) -> Reply {
    api.post("/api/v1/session", &json!({"username": name, "password": password})).await
}

fn cookie_of(reply: &Reply) -> String {
    reply.header("set-cookie").split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn a_login_sets_a_strict_http_only_cookie_that_ends_on_logout() {
    let db = TestDb::with_district().await;
    common::account(&db.pool, "li.ming", Role::Officer).await;
    let api = Api::new(common::spawn_app(db.pool.clone()).await);
    let r = login(&api, "li.ming", "li.ming-password").await.expect(200);
    let set = r.header("set-cookie").to_string();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Max-Age="), "{set}");
    assert_eq!(r.body["role"], "officer");
    let cookie = cookie_of(&r);
    let with_cookie = |path: &str| api.client.get(format!("{}{path}", api.base)).header("cookie", cookie.clone());
    let me = api.send(with_cookie("/api/v1/session")).await.expect(200);
    assert_eq!(me.body["username"], "li.ming");
    api.send(with_cookie("/api/v1/transactions")).await.expect(200);

    // Logging out is a write: the page's fetch names its origin (see tests/it/guard.rs).
    let logout = api.client.delete(format!("{}/api/v1/session", api.base)).header("cookie", cookie.clone());
    let out = api.send(logout.header("origin", &api.base)).await;
    assert!(out.expect(204).header("set-cookie").contains("Max-Age=0"));
    assert_eq!(api.send(with_cookie("/api/v1/session")).await.body["role"], "public");
    api.send(with_cookie("/api/v1/transactions")).await.expect(401);
}

#[tokio::test]
async fn sessions_expire() {
    let db = TestDb::with_district().await;
    common::account(&db.pool, "wang", Role::Official).await;
    let api = Api::new(common::spawn_app(db.pool.clone()).await);
    let cookie = cookie_of(&login(&api, "wang", "wang-password").await.expect(200));
    sqlx::query("update sessions set created_at = now() - interval '13 hours', expires_at = now() - interval '1 hour'")
        .execute(&db.pool)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let me = api.send(api.client.get(format!("{}/api/v1/session", api.base)).header("cookie", cookie)).await;
    assert_eq!(me.body["role"], "public");
}

#[tokio::test]
async fn tokens_are_revocable_and_die_with_their_account() {
    let db = TestDb::with_district().await;
    let admin = common::account(&db.pool, "root", Role::Admin).await;
    let token = common::account(&db.pool, "script", Role::Official).await;
    let api = Api::new(common::spawn_app(db.pool.clone()).await);
    let as_script = |t: &str| api.client.get(format!("{}/api/v1/transactions", api.base)).bearer_auth(t.to_string());
    api.send(as_script(&token)).await.expect(200);
    api.send(as_script("fh_not-a-token")).await.expect(401);

    // A second token, made and revoked over HTTP.
    let made = api
        .send(
            api.client.post(format!("{}/api/v1/tokens", api.base)).bearer_auth(&token).json(&json!({"label": "cron"})),
        )
        .await
        .expect(201);
    let second = made.body["token"].as_str().unwrap().to_string();
    api.send(as_script(&second)).await.expect(200);
    let id = made.body["id"].as_i64().unwrap();
    api.send(api.client.delete(format!("{}/api/v1/tokens/{id}", api.base)).bearer_auth(&token)).await.expect(204);
    api.send(as_script(&second)).await.expect(401);

    // Disabling the account ends its first token too.
    let users = api.send(api.client.get(format!("{}/api/v1/users", api.base)).bearer_auth(&admin)).await.expect(200);
    let script =
        users.body.as_array().unwrap().iter().find(|u| u["username"] == "script").unwrap()["id"].as_i64().unwrap();
    api.send(
        api.client
            .patch(format!("{}/api/v1/users/{script}", api.base))
            .bearer_auth(&admin)
            .json(&json!({"disabled": true})),
    )
    .await
    .expect(200);
    api.send(as_script(&token)).await.expect(401);
}

#[tokio::test]
async fn repeated_failed_logins_are_slowed_down_but_not_locked_out_for_good() {
    let db = TestDb::with_district().await;
    common::account(&db.pool, "zhao", Role::Officer).await;
    let api = Api::new(common::spawn_app(db.pool.clone()).await);
    for _ in 0..5 {
        login(&api, "zhao", "wrong password").await.expect(401);
    }
    // The sixth attempt waits, even with the right password.
    let blocked = login(&api, "zhao", "zhao-password").await.expect(429);
    let wait: i64 = blocked.header("retry-after").parse().unwrap();
    assert!((1..=900).contains(&wait), "wait {wait}");
    // A wrong name from the same address is slowed down too (per address).
    login(&api, "someone.else", "wrong password").await.expect(429);
    // Once the wait has passed, the real user gets in, and their count starts over.
    sqlx::query("update login_failures set blocked_until = now() - interval '1 second'")
        .execute(&db.pool)
        .await
        .unwrap();
    login(&api, "zhao", "zhao-password").await.expect(200);
    let left: i64 = sqlx::query_scalar("select count(*) from login_failures where key = 'user:zhao'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    // However many failures, the wait never exceeds a quarter of an hour.
    sqlx::query("update login_failures set failures = 60, blocked_until = null").execute(&db.pool).await.unwrap();
    login(&api, "zhao", "wrong password").await.expect(401);
    let wait: f64 =
        sqlx::query_scalar("select max(extract(epoch from blocked_until - now()))::float8 from login_failures")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(wait <= 900.0, "{wait}");
}

#[tokio::test]
async fn parallel_guesses_check_at_most_five_wrong_passwords() {
    let db = TestDb::with_district().await;
    common::account(&db.pool, "zhao", Role::Officer).await;
    let api = Api::new(common::spawn_app(db.pool.clone()).await);
    // 29 wrong passwords and then the right one, all at once.
    let attempts = (0..30).map(|i| {
        let api = api.clone();
        let password = if i == 29 { "zhao-password" } else { "wrong password" };
        tokio::spawn(async move { login(&api, "zhao", password).await })
    });
    let mut statuses = Vec::new();
    for attempt in attempts.collect::<Vec<_>>() {
        let reply = attempt.await.unwrap();
        if reply.status == 429 {
            assert!(reply.header("retry-after").parse::<i64>().is_ok_and(|s| (1..=900).contains(&s)));
        }
        statuses.push(reply.status);
    }
    let count = |s: u16| statuses.iter().filter(|x| **x == s).count();
    assert!(count(401) <= 5, "at most five wrong passwords are checked: {statuses:?}");
    assert!(count(401) + count(429) + count(200) == 30 && count(200) <= 1, "{statuses:?}");
    assert!(count(429) >= 24, "{statuses:?}");
}

#[tokio::test]
async fn logins_one_after_another_from_one_address_are_never_slowed_down() {
    let db = TestDb::with_district().await;
    common::account(&db.pool, "zhao", Role::Officer).await;
    common::account(&db.pool, "qian", Role::Official).await;
    let api = Api::new(common::spawn_app(db.pool.clone()).await);
    // Four failures from this address for one account leave one free failure, whatever succeeds between.
    for _ in 0..4 {
        login(&api, "zhao", "wrong password").await.expect(401);
    }
    for _ in 0..12 {
        login(&api, "qian", "qian-password").await.expect(200);
    }
    let address: i32 = sqlx::query_scalar("select failures from login_failures where key like 'addr:%'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(address, 4, "successes take their attempts back");
    login(&api, "zhao", "wrong password").await.expect(401);
    login(&api, "qian", "qian-password").await.expect(429);
}

#[tokio::test]
async fn party_identities_are_shown_by_role() {
    let db = TestDb::with_district().await;
    let officer = common::account(&db.pool, "officer1", Role::Officer).await;
    let official = common::account(&db.pool, "official1", Role::Official).await;
    let investor = common::account(&db.pool, "investor1", Role::Investor).await;
    let api = Api::new(common::spawn_app(db.pool.clone()).await);
    let id_number = common::fixtures::id_number(5);
    let party = api
        .send(
            api.client
                .post(format!("{}/api/v1/parties", api.base))
                .bearer_auth(&officer)
                .json(&json!({"kind": "household", "name": "钱七", "id_number": id_number, "phone": "13912345678"})),
        )
        .await
        .expect(201);
    let id = party.body["id"].as_i64().unwrap();
    let get = |t: &str| api.client.get(format!("{}/api/v1/parties/{id}", api.base)).bearer_auth(t.to_string());
    let seen = api.send(get(&officer)).await.expect(200);
    assert_eq!(seen.body["id_number"], id_number.as_str());
    assert_eq!(seen.body["phone"], "13912345678");
    let masked = api.send(get(&official)).await.expect(200);
    assert_eq!(masked.body["id_number"], format!("3306**********{}", &id_number[14..]));
    assert!(masked.body.get("phone").is_none());
    api.send(get(&investor)).await.expect(403);
    api.get(&format!("/api/v1/parties/{id}")).await.expect(401);
    // The official's view of the party's history is masked the same way.
    let history = api
        .send(api.client.get(format!("{}/api/v1/parties/{id}/history", api.base)).bearer_auth(&official))
        .await
        .expect(200);
    let text = history.body.to_string();
    assert!(!text.contains(&id_number) && !text.contains("13912345678"), "{text}");
}

#[tokio::test]
async fn investors_register_interest_and_officers_see_it() {
    let db = TestDb::with_district().await;
    let officer = Api::new(common::spawn_app_as(db.pool.clone(), Role::Officer).await);
    let house = officer.house(1).await;
    let listing = officer.list(house).await;
    let investor = common::account(&db.pool, "investor1", Role::Investor).await;
    let officer_token = common::account(&db.pool, "officer1", Role::Officer).await;
    let api = Api::new(common::spawn_app(db.pool.clone()).await);
    let register = || {
        api.client
            .post(format!("{}/api/v1/listings/{listing}/interest", api.base))
            .bearer_auth(&investor)
            .json(&json!({"contact_phone": "13700000000", "message": "想做民宿"}))
    };
    api.send(register()).await.expect(201);
    api.send(register()).await.expect(409);
    let mine =
        api.send(api.client.get(format!("{}/api/v1/interests", api.base)).bearer_auth(&investor)).await.expect(200);
    assert_eq!(mine.body.as_array().unwrap().len(), 1);
    let seen = api
        .send(api.client.get(format!("{}/api/v1/listings/{listing}/interests", api.base)).bearer_auth(&officer_token))
        .await
        .expect(200);
    assert_eq!(seen.body[0]["username"], "investor1");
    assert_eq!(seen.body[0]["message"], "想做民宿");
}

#[tokio::test]
async fn audit_verify_names_the_altered_or_removed_entry() {
    let db = TestDb::with_district().await;
    let api = Api::new(common::spawn_app_as(db.pool.clone(), Role::Officer).await);
    for n in 1..=3 {
        api.house(n).await;
    }
    let verify = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_farmhouse"))
            .args(["audit", "verify", "--database-url", &db.url])
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let ok = verify();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    // Three owners, three parcels, three houses.
    assert!(
        String::from_utf8_lossy(&ok.stdout).contains("intact: 9 entries"),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    // Alter entry 4 directly, as the database owner with the guard switched off.
    sqlx::raw_sql(
        "alter table history disable trigger history_append_only;
         update history set after = jsonb_set(after, '{floors}', '3') where seq = 4;
         alter table history enable trigger history_append_only;",
    )
    .execute(&db.admin)
    .await
    .unwrap();
    let broken = verify();
    assert!(!broken.status.success());
    let message = String::from_utf8_lossy(&broken.stderr);
    assert!(message.contains("broken at entry 4:") && message.contains("altered"), "{message}");

    // Put it back, then remove entry 2 instead.
    sqlx::raw_sql(
        "alter table history disable trigger history_append_only;
         update history set after = jsonb_set(after, '{floors}', '2') where seq = 4;
         delete from history where seq = 2;
         alter table history enable trigger history_append_only;",
    )
    .execute(&db.admin)
    .await
    .unwrap();
    let removed = verify();
    let message = String::from_utf8_lossy(&removed.stderr);
    assert!(
        !removed.status.success() && message.contains("broken at entry 2:") && message.contains("removed"),
        "{message}"
    );
}

/// RFC 7235: the scheme of `Authorization` is case-insensitive, so `BEARER x` is a bearer token; a scheme
/// this service does not take (Basic, Digest, …) is refused naming the header, never taken as no login.
#[tokio::test]
async fn the_authorization_scheme_is_case_insensitive_and_other_schemes_are_refused() {
    let db = TestDb::with_district().await;
    let token = common::account(&db.pool, "li.officer", Role::Officer).await;
    let api = Api::new(common::spawn_app(db.pool.clone()).await);
    let with = |value: String| api.client.get(format!("{}/api/v1/session", api.base)).header("authorization", value);
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let me = api.send(with(format!("{scheme} {token}"))).await.expect(200);
        assert_eq!(me.body["username"], "li.officer", "{scheme}");
    }
    let unknown = api.send(with("BEARER fh_not-a-token".into())).await.expect(401);
    assert_eq!(unknown.header("content-type"), "application/problem+json");
    for value in [
        "Basic bGkub2ZmaWNlcjpsaS5vZmZpY2VyLXBhc3N3b3Jk",
        "Digest username=\"li\"",
        "Token abc",
        "Bearer",
        "Bearer  ",
        token.as_str(),
    ] {
        let refused = api.send(with(value.to_string())).await;
        assert_eq!(refused.status, 401, "{value:?}: {}", refused.body);
        assert_eq!(refused.body["field"], "Authorization", "{value:?}: {}", refused.body);
        assert_eq!(refused.header("www-authenticate"), "Bearer");
    }
    // No header at all is the public, as before.
    assert_eq!(api.get("/api/v1/session").await.expect(200).body["role"], "public");
}
