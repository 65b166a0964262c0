//! Private data — a party's name, ID-card number, phone and address — never reaches the public or an
//! investor: this test seeds parties with known values, then crawls every response those callers can
//! get (every API route they may call, every page of every list, every feature page, tiles of every
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
        let mut paths = vec![e.path.to_string()];
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
            panic!("{path} revealed {found:?} to {}", if token.is_some() { "an investor" } else { "the public" });
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
}
