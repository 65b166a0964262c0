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
    pub fn new(addr: std::net::SocketAddr) -> Self {
        Self { base: format!("http://{addr}"), client: reqwest::Client::new() }
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.unwrap_or_default();
        let body =
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        Reply { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(format!("{}{path}", self.base))).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(self.client.post(format!("{}{path}", self.base)).json(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value, if_match: Option<&str>) -> Reply {
        let mut req = self.client.patch(format!("{}{path}", self.base)).json(body);
        if let Some(tag) = if_match {
            req = req.header("if-match", tag);
        }
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

    /// A house on parcel `n` (the parcel is made too); returns its id.
    pub async fn house(&self, n: u32) -> i64 {
        self.parcel(n).await;
        let r = self.post("/api/v1/farmhouses", &house_feature(n)).await.expect(201);
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

    /// Signs a 5-year lease of `listing` to `lessee`; returns the transaction id.
    pub async fn sign(&self, listing: i64, lessee: i64, contract: &str) -> i64 {
        let r = self
            .post(&format!("/api/v1/listings/{listing}/transactions"), &transaction_body(lessee, contract))
            .await
            .expect(201);
        r.body["id"].as_i64().unwrap()
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
                       "floors": 2, "year_built": 1998, "structure": "砖混", "description": "两层砖混结构，带院子"}
    })
}

pub fn listing_body() -> Value {
    json!({"title": "", "asking_rent_yuan": 12000, "min_term_months": 12, "max_term_months": 240,
           "allowed_uses": ["民宿", "康养"], "notice_start": "2020-01-01", "notice_end": "2020-01-15"})
}

pub fn transaction_body(lessee: i64, contract: &str) -> Value {
    json!({"lessee_party_id": lessee, "mode": "协议", "contract_no": contract, "signed_on": "2020-02-01",
           "lease_start": "2020-02-01", "lease_end": "2040-02-01", "annual_rent_yuan": 12000.5,
           "total_amount_yuan": 60002.5, "intended_use": "民宿"})
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
