//! A small HTTP client for the JSON API, and builders of valid requests.

use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use super::fixtures;

/// A client of one running service.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub client: reqwest::Client,
}

/// A response: status, headers and body (JSON when it parses, else the text as a JSON string).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// Panics with the body unless the status is `status`.
    #[track_caller]
    pub fn expect(self, status: u16) -> Reply {
        assert_eq!(self.status, status, "body: {}", self.body);
        self
    }
}

impl Api {
    /// Each `?query` of `path` is refused with its status as problem+json naming its field.
    pub async fn assert_refusals(&self, path: &str, cases: &[(&str, u16, &str)]) {
        for &(query, status, field) in cases {
            let reply = self.get(&format!("{path}?{query}")).await;
            assert_eq!(
                (reply.status, reply.body["errors"][0]["field"].as_str()),
                (status, Some(field)),
                "{query}: {}",
                reply.body
            );
            assert_eq!(reply.header("content-type"), "application/problem+json", "{query}");
        }
    }
}

impl Api {
    pub fn new(addr: std::net::SocketAddr) -> Self {
        Self { base: format!("http://{addr}"), client: reqwest::Client::new() }
    }

    /// The service at `addr` as the holder of API token `token` (every request carries it).
    pub fn with_token(addr: std::net::SocketAddr, token: &str) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        Self {
            base: format!("http://{addr}"),
            client: reqwest::Client::builder().default_headers(headers).build().unwrap(),
        }
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.unwrap_or_default();
        let body =
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        // Every problem the service answers carries a stable code the page translates.
        if headers.get("content-type").is_some_and(|t| t.as_bytes().starts_with(b"application/problem+json")) {
            let code = body["code"].as_str().unwrap_or_default();
            assert!(
                !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "a problem without a code: {body}"
            );
        }
        Reply { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(format!("{}{path}", self.base))).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(self.client.post(format!("{}{path}", self.base)).json(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        self.send(self.client.put(format!("{}{path}", self.base)).json(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value, if_match: Option<&str>) -> Reply {
        let mut req = self.client.patch(format!("{}{path}", self.base)).json(body);
        if let Some(tag) = if_match {
            req = req.header("if-match", tag);
        }
        self.send(req).await
    }

    /// POSTs as an admin (a service of [`super::spawn_app_as`]): an admin revokes or corrects a certificate
    /// alone, where an officer only asks for it.
    pub async fn post_as_admin(&self, path: &str, body: &Value) -> Reply {
        let req = self.client.post(format!("{}{path}", self.base)).header(super::TEST_ROLE, "admin").json(body);
        self.send(req).await
    }

    /// An owner household; returns its id.
    pub async fn owner(&self, n: u32) -> i64 {
        let id = fixtures::id_number(n);
        let r = self
            .post(
                "/api/v1/parties",
                &json!({"kind": "household", "name": format!("户主{n}"), "id_number": id,
                                             "phone": "13800000000", "address": "上虞区某村"}),
            )
            .await
            .expect(201);
        r.body["id"].as_i64().unwrap()
    }

    /// An investor organisation; returns its id.
    pub async fn investor(&self, n: u32) -> i64 {
        let r = self
            .post(
                "/api/v1/parties",
                &json!({"kind": "organisation", "name": format!("投资公司{n}"),
                                             "credit_code": fixtures::credit_code(n)}),
            )
            .await
            .expect(201);
        r.body["id"].as_i64().unwrap()
    }

    /// Parcel `330604001001JC<n>` (a 40 m square `n * 100` m east of the centre); returns its id.
    pub async fn parcel(&self, n: u32) -> i64 {
        let r = self.post("/api/v1/parcels", &parcel_feature(n)).await.expect(201);
        r.body["id"].as_i64().unwrap()
    }

    /// A house on parcel `n` (the parcel is made too), owned by household `500 + n`; returns its id.
    pub async fn house(&self, n: u32) -> i64 {
        let owner = self.owner(500 + n).await;
        self.parcel(n).await;
        let mut feature = house_feature(n);
        feature["properties"]["owner_party_id"] = json!(owner);
        let r = self.post("/api/v1/farmhouses", &feature).await.expect(201);
        r.body["id"].as_i64().unwrap()
    }

    /// Lists house `house` with notice 2020-01-01..2020-01-15; returns the listing id. A notice of the past
    /// is an admin's record (`…/listings/historical`, with a reason), so the call acts as an admin: it needs
    /// a service of [`super::spawn_app_as`].
    pub async fn list(&self, house: i64) -> i64 {
        let mut body = listing_body();
        body["reason"] = json!("test: a listing of 2020");
        let req = self
            .client
            .post(format!("{}/api/v1/farmhouses/{house}/listings/historical", self.base))
            .header(super::TEST_ROLE, "admin")
            .json(&body);
        let r = self.send(req).await.expect(201);
        r.body["id"].as_i64().unwrap()
    }

    /// Signs a 20-year lease of `listing` to `lessee` and gives it what a certificate needs (consent and
    /// papers; the lessor is the house's owner); returns the transaction id.
    pub async fn sign(&self, listing: i64, lessee: i64, contract: &str) -> i64 {
        let t = self.sign_bare(listing, lessee, contract).await;
        self.complete(t).await;
        t
    }

    /// Signs a 20-year lease of `listing` to `lessee`, nothing more; returns the transaction id.
    pub async fn sign_bare(&self, listing: i64, lessee: i64, contract: &str) -> i64 {
        let r = self
            .post(&format!("/api/v1/listings/{listing}/transactions"), &transaction_body(lessee, contract))
            .await
            .expect(201);
        r.body["id"].as_i64().unwrap()
    }

    /// Records the consent of the lessor household's head and of the village committee, and attaches the
    /// papers a 民宿 lease needs (safety grade A), so that deal `t` of an owned house may be certified.
    pub async fn complete(&self, t: i64) {
        self.post(
            &format!("/api/v1/transactions/{t}/consents"),
            &json!({"kind": "member", "member_name": "户主本人", "agrees": true, "given_on": "2020-01-20"}),
        )
        .await
        .expect(201);
        self.post(
            &format!("/api/v1/transactions/{t}/consents"),
            &json!({"kind": "committee", "agrees": true, "opinion": "同意", "given_on": "2020-01-22"}),
        )
        .await
        .expect(201);
        for kind in ["lease_contract", "listing_entrustment", "id_copy", "appraisal_report", "safety_appraisal&grade=A"]
        {
            self.paper(&format!("/api/v1/transactions/{t}/papers?kind={kind}"), pdf(kind)).await.expect(201);
        }
    }

    /// Posts `bytes` as a paper (Content-Type application/pdf).
    pub async fn paper(&self, path: &str, bytes: Vec<u8>) -> Reply {
        let req =
            self.client.post(format!("{}{path}", self.base)).header("content-type", "application/pdf").body(bytes);
        self.send(req).await
    }

    /// A contracted house: house, listing and lease; returns (house, transaction).
    pub async fn contracted(&self, n: u32) -> (i64, i64) {
        let house = self.house(n).await;
        let listing = self.list(house).await;
        let lessee = self.investor(n).await;
        let t = self.sign(listing, lessee, &format!("HT-2020-{n:04}")).await;
        (house, t)
    }
}

pub fn parcel_feature(n: u32) -> Value {
    json!({
        "type": "Feature",
        "geometry": geometry(&fixtures::square(f64::from(n) * 100.0, 0.0, 40.0)),
        "properties": {"parcel_code": format!("330604001001JC{n:05}"), "village": "青山村", "land_use": "0702"}
    })
}

pub fn house_feature(n: u32) -> Value {
    json!({
        "type": "Feature",
        "geometry": geometry(&fixtures::square(f64::from(n) * 100.0, 0.0, 12.0)),
        "properties": {"unit_number": format!("330604001001JC{n:05}F00010001"), "floor_area_m2": 288.5,
                       "floors": 2, "year_built": 1998, "structure": "砖混", "description": "两层砖混结构，带院子",
                       "homestead_title": "confirmed", "ownership_title": "confirmed"}
    })
}

pub fn listing_body() -> Value {
    json!({"title": "", "asking_rent_yuan": 12000, "min_term_months": 12, "max_term_months": 240,
           "allowed_uses": ["民宿", "康养"], "notice_start": "2020-01-01", "notice_end": "2020-01-15"})
}

pub fn transaction_body(lessee: i64, contract: &str) -> Value {
    json!({"lessee_party_id": lessee, "mode": "协议", "contract_no": contract, "signed_on": "2020-02-01",
           "lease_start": "2020-02-01", "lease_end": "2040-02-01", "annual_rent_yuan": 12000.5,
           "total_amount_yuan": 240010, "intended_use": "民宿"})
}

/// The bytes of a small PDF whose text says `what`.
pub fn pdf(what: &str) -> Vec<u8> {
    format!("%PDF-1.4\n% {what}\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n").into_bytes()
}

/// A WKT polygon as a GeoJSON geometry.
pub fn geometry(wkt: &str) -> Value {
    let inner = wkt.trim_start_matches("POLYGON((").trim_end_matches("))");
    let ring: Vec<Value> = inner
        .split(',')
        .map(|p| {
            let mut xy = p.split_whitespace().map(|v| v.parse::<f64>().unwrap());
            json!([xy.next().unwrap(), xy.next().unwrap()])
        })
        .collect();
    json!({"type": "Polygon", "coordinates": [ring]})
}
