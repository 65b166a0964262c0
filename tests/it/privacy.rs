//! Private data — a party's name, ID-card number, phone and address, and the copies of ID cards attached to
//! deals — never reaches the public or an investor: this test seeds parties and papers with known values,
//! then crawls every response those callers can get (every API route they may call, every page of every list, every feature page, tiles of every
//! layer at z10–z16 over the houses, certificate checks) and searches the bytes for the values.

use crate::common;

use std::collections::{BTreeSet, VecDeque};

use crate::common::TestDb;
use crate::common::api::{Api, house_feature};
use farmhouse::domain::roles::Role;
use serde_json::{Value, json};

/// Values no public or investor response may contain.
struct Secrets(Vec<String>);

impl Secrets {
    fn find_in(&self, bytes: &[u8]) -> Option<&str> {
        self.0.iter().find(|s| bytes.windows(s.len()).any(|w| w == s.as_bytes())).map(String::as_str)
    }
}

async fn seed(api: &Api) -> (Secrets, Vec<String>) {
    let mut secrets = Vec::new();
    let mut certificates = Vec::new();
    for n in 1..=6u32 {
        let (name, id_number, phone, address) = (
            format!("隐私户主{n}号"),
            common::fixtures::id_number(500 + n),
            format!("1399999{n:04}"),
            format!("隐私地址{n}弄"),
        );
        let owner = api
            .post(
                "/api/v1/parties",
                &json!({"kind": "household", "name": name, "id_number": id_number, "phone": phone, "address": address}),
            )
            .await
            .expect(201);
        secrets.extend([name, id_number, phone, address]);
        api.parcel(n).await;
        let mut house = house_feature(n);
        house["properties"]["owner_party_id"] = owner.body["id"].clone();
        let id = api.post("/api/v1/farmhouses", &house).await.expect(201).body["id"].as_i64().unwrap();
        if n % 2 == 0 {
            continue;
        }
        let listing = api.list(id).await;
        let lessee_name = format!("隐私租户{n}有限公司");
        let lessee = api
            .post(
                "/api/v1/parties",
                &json!({"kind": "organisation", "name": lessee_name, "credit_code": common::fixtures::credit_code(900 + n),
                        "phone": format!("1388888{n:04}")}),
            )
            .await
            .expect(201);
        secrets.extend([lessee_name, format!("1388888{n:04}")]);
        let t = api.sign(listing, lessee.body["id"].as_i64().unwrap(), &format!("HT-PRIV-{n:04}")).await;
        // A copy of the lessee's ID card: its words and its digest are staff-only.
        let marker = format!("身份证复印件隐私{n}号");
        let copy = api
            .paper(&format!("/api/v1/transactions/{t}/papers?kind=id_copy"), common::api::pdf(&marker))
            .await
            .expect(201);
        secrets.extend([marker, copy.body["sha256"].as_str().unwrap().to_string()]);
        if n != 5 {
            let cert = api.post(&format!("/api/v1/transactions/{t}/certify"), &json!({})).await.expect(201);
            certificates.push(cert.body["certificate_no"].as_str().unwrap().to_string());
        }
    }
    (Secrets(secrets), certificates)
}

/// The tiles of every zoom 10..=16 covering the houses (a few hundred metres east of the centre).
fn tiles() -> Vec<String> {
    let (west, south) = common::map_fixtures::mercator(-100.0, -100.0);
    let (east, north) = common::map_fixtures::mercator(800.0, 100.0);
    let mut out = Vec::new();
    for z in 10..=16u8 {
        let a = farmhouse::map::TileId::containing(z, west, north);
        let b = farmhouse::map::TileId::containing(z, east, south);
        for x in a.x..=b.x {
            for y in a.y..=b.y {
                for layer in ["farmhouses", "parcels", "townships", "villages"] {
                    out.push(format!("/tiles/{layer}/{z}/{x}/{y}"));
                }
            }
        }
    }
    out
}

/// Every URL a caller may fetch: each GET route it is admitted to, with ids 1..=12 and the certificates.
fn starting_points(role: Role, certificates: &[String]) -> Vec<String> {
    let mut urls = Vec::new();
    for e in farmhouse::http::endpoints() {
        if e.method != axum::http::Method::GET || !e.allow.admits(role) || e.path.starts_with("/tiles/") {
            continue;
        }
        let mut paths = vec![e.path.clone()];
        for (pattern, values) in [
            ("{collection}", vec!["farmhouses".to_string(), "parcels".into(), "townships".into(), "villages".into()]),
            ("{id}", (1..=12).map(|i| i.to_string()).collect()),
            ("{feature}", (1..=12).map(|i| i.to_string()).chain(["330604001".to_string()]).collect()),
            ("{photo}", vec!["1".to_string()]),
            ("{code}", vec!["330604001".to_string()]),
            ("{certificate_no}", certificates.to_vec()),
            ("{layer}", vec!["farmhouses".to_string(), "parcels".into(), "townships".into(), "villages".into()]),
        ] {
            if paths[0].contains(pattern) {
                paths = paths.iter().flat_map(|p| values.iter().map(move |v| p.replace(pattern, v))).collect();
            }
        }
        urls.extend(paths);
    }
    urls.extend(tiles());
    urls
}

/// Links a response offers to more of the same (`next` pages, OGC links), within this service.
fn links(body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(next) = body.get("next").and_then(Value::as_str) {
        out.push(next.to_string());
    }
    for link in body.get("links").and_then(Value::as_array).into_iter().flatten() {
        if let Some(href) = link.get("href").and_then(Value::as_str) {
            out.push(href.to_string());
        }
    }
    out
}

async fn crawl(api: &Api, token: Option<&str>, start: Vec<String>, secrets: &Secrets) -> usize {
    let mut queue: VecDeque<String> = start.into();
    let mut seen = BTreeSet::new();
    while let Some(url) = queue.pop_front() {
        let path = url.strip_prefix(&api.base).unwrap_or(&url).to_string();
        if !path.starts_with('/') || !seen.insert(path.clone()) || seen.len() > 5000 {
            continue;
        }
        let mut req = api.client.get(format!("{}{path}", api.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let bytes = res.bytes().await.unwrap();
        assert!(status < 500, "{path}: {status}");
        if let Some(found) = secrets.find_in(&bytes) {
            panic!(
                "{path} revealed {found:?} to {}",
                if token.is_some() { "an investor or a bank" } else { "the public" }
            );
        }
        if let Ok(body) = serde_json::from_slice::<Value>(&bytes) {
            queue.extend(links(&body));
        }
    }
    seen.len()
}

#[tokio::test]
async fn no_public_or_investor_response_carries_private_data() {
    let db = TestDb::with_district().await;
    let officer = Api::new(common::spawn_app_as(db.pool.clone(), Role::Officer).await);
    let (secrets, certificates) = seed(&officer).await;
    assert!(secrets.0.len() >= 30 && certificates.len() == 2);

    // The officer sees them (so the search would find them if they leaked).
    let staff = officer.get("/api/v1/farmhouses/1").await;
    assert!(secrets.find_in(staff.body.to_string().as_bytes()).is_some(), "officers see owners");

    let investor = common::account(&db.pool, "investor.crawl", Role::Investor).await;
    let api = Api::new(common::spawn_app(db.pool.clone()).await);
    let public = crawl(&api, None, starting_points(Role::Public, &certificates), &secrets).await;
    let investors = crawl(&api, Some(&investor), starting_points(Role::Investor, &certificates), &secrets).await;
    assert!(public > 150 && investors > 150, "crawled {public} and {investors} responses");
    // A bank sees what the public does, and its own pledges (docs/DESIGN.md §2.6).
    let bank_party = officer.investor(99).await;
    let bank = common::account_for(&db.pool, "bank.crawl", Role::Bank, Some(bank_party)).await;
    let banks = crawl(&api, Some(&bank), starting_points(Role::Bank, &certificates), &secrets).await;
    assert!(banks > 150, "crawled {banks} responses as a bank");
}

/// Log lines written while it is held, for tests that check what the service logs. `#[tokio::test]` runs
/// the test and the service it spawns on one thread, so a thread's default subscriber sees both.
struct CapturedLog {
    lines: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

struct LogWriter(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLog {
    fn start() -> Self {
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || LogWriter(writer.clone()))
            .finish();
        Self { lines, _guard: tracing::subscriber::set_default(subscriber) }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.lines.lock().unwrap()).into_owned()
    }
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The review's attack: an official sees `3306**********5772`, then asks the party search for the masked
/// digits one at a time (or with `%`/`_` patterns). The search must find nothing by part of a number it
/// masks: only the whole number, and that search is logged with who made it, never with the number.
#[tokio::test]
async fn an_official_cannot_walk_a_masked_id_number_out_of_the_party_search() {
    let db = TestDb::with_district().await;
    let officer = Api::new(common::spawn_app_as(db.pool.clone(), Role::Officer).await);
    let target = common::fixtures::id_number(577);
    for n in [577, 578, 123] {
        let id_number = common::fixtures::id_number(n);
        officer
            .post("/api/v1/parties", &json!({"kind": "household", "name": format!("户主{n}"), "id_number": id_number}))
            .await
            .expect(201);
    }
    let official = common::account(&db.pool, "zhao.official", Role::Official).await;
    let api = Api::new(common::spawn_app(db.pool.clone()).await);
    let search = |q: String| {
        let req = api.client.get(format!("{}/api/v1/parties?q={}", api.base, encode(&q))).bearer_auth(&official);
        let api = api.clone();
        async move { api.send(req).await.expect(200) }
    };
    let found = |r: &common::api::Reply| r.body["items"].as_array().unwrap().len();

    // Walk from the four digits every masked number shows, one character (0-9 or X) at a time, as far as
    // some character still finds a party: at most 14 positions × 11 characters.
    let mut known = target[..4].to_string();
    let mut requests = 0;
    'walk: while known.len() < 18 {
        for c in "0123456789X".chars() {
            let guess = format!("{known}{c}");
            requests += 1;
            if found(&search(guess.clone()).await) > 0 {
                known = guess;
                continue 'walk;
            }
        }
        break;
    }
    assert!(requests <= 41 * 11, "{requests} requests");
    assert_eq!(known, &target[..4], "the walk recovered {known:?} in {requests} requests");

    // Pattern characters are characters: nothing matches them.
    let patterns = [
        "%".to_string(),
        "_".into(),
        "3306%".into(),
        format!("%{}", &target[14..]),
        format!("{}____", &target[..14]),
        format!("{}%", &target[..6]),
    ];
    for pattern in patterns {
        let r = search(pattern.clone()).await;
        assert_eq!(found(&r), 0, "{pattern:?} found {}", r.body);
    }

    // The whole number finds its party, still masked; the log names who searched, not the number.
    let log = CapturedLog::start();
    let r = search(target.clone()).await;
    let lines = log.text();
    drop(log);
    assert_eq!(found(&r), 1, "{}", r.body);
    assert_eq!(r.body["items"][0]["id_number"], format!("3306**********{}", &target[14..]));
    assert!(lines.contains("zhao.official"), "the search is logged with who made it: {lines:?}");
    assert!(!lines.contains(&target[6..14]), "the log holds the number: {lines:?}");
}

/// Officers see numbers whole, so they keep searching by their start; `%` and `_` are still literal.
#[tokio::test]
async fn officers_search_by_the_start_of_a_number_without_patterns() {
    let db = TestDb::with_district().await;
    let officer = Api::new(common::spawn_app_as(db.pool.clone(), Role::Officer).await);
    for n in [11, 12] {
        officer.owner(n).await;
    }
    officer.investor(13).await;
    let count = |path: String| {
        let officer = officer.clone();
        async move { officer.get(&path).await.expect(200).body["items"].as_array().unwrap().len() }
    };
    let prefix = &common::fixtures::id_number(11)[..14];
    assert_eq!(count(format!("/api/v1/parties?q={prefix}")).await, 2);
    assert_eq!(count(format!("/api/v1/parties?q={}", &common::fixtures::credit_code(13)[..10])).await, 1);
    assert_eq!(count("/api/v1/parties?q=%E6%88%B7%E4%B8%BB".into()).await, 2, "户主: part of a name");
    for pattern in ["%25", "_", "3306%25", "3306____", "%25%E6%88%B7"] {
        assert_eq!(count(format!("/api/v1/parties?q={pattern}")).await, 0, "{pattern}");
    }
    // Literal characters in names are found as they are.
    officer
        .post(
            "/api/v1/parties",
            &json!({"kind": "organisation", "name": "百分之百_合作社%",
                                          "credit_code": common::fixtures::credit_code(14)}),
        )
        .await
        .expect(201);
    assert_eq!(count("/api/v1/parties?q=_%E5%90%88".into()).await, 1, "_合");
    assert_eq!(count("/api/v1/parties?q=%E7%A4%BE%25".into()).await, 1, "社%");
}

/// Farmhouse and parcel searches treat `%` and `_` as characters too.
#[tokio::test]
async fn pattern_characters_in_searches_are_literal() {
    let db = TestDb::with_district().await;
    let officer = Api::new(common::spawn_app_as(db.pool.clone(), Role::Officer).await);
    officer.house(1).await;
    officer.house(2).await;
    let count = |path: &'static str| {
        let officer = officer.clone();
        async move {
            let body = officer.get(path).await.expect(200).body;
            body.get("features").or(body.get("items")).and_then(Value::as_array).map(Vec::len).unwrap()
        }
    };
    assert_eq!(count("/api/v1/farmhouses?q=330604001001JC0000").await, 2, "the start of a unit number");
    assert_eq!(count("/api/v1/farmhouses?q=%E9%9D%92%E5%B1%B1").await, 2, "part of a village (青山)");
    assert_eq!(count("/api/v1/parcels?code=330604001001JC0000").await, 2);
    for path in [
        "/api/v1/farmhouses?q=%25",
        "/api/v1/farmhouses?q=_",
        "/api/v1/farmhouses?q=330604%25F0001",
        "/api/v1/farmhouses?q=330604001001JC0000_F",
        "/api/v1/parcels?code=%25",
        "/api/v1/parcels?code=330604001001JC____1",
        "/api/v1/parcels?village=%25",
    ] {
        assert_eq!(count(path).await, 0, "{path}");
    }
}
