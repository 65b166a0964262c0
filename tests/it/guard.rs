//! Writes made with the session cookie must come from the service's own page (Origin or Sec-Fetch-Site)
//! with a body the route takes; bearer-token calls are not affected. Answers vary on the credentials, and
//! answers to a signed-in caller stay out of shared caches.

use crate::common;

use crate::common::TestDb;
use crate::common::api::{Api, Reply};
use farmhouse::domain::roles::Role;
use serde_json::json;

/// An officer with a session cookie and a token on a running service; a listed house (house, listing).
struct Setup {
    _db: TestDb,
    api: Api,
    cookie: String,
    token: String,
    house: i64,
    listing: i64,
}

async fn setup() -> Setup {
    let db = TestDb::with_district().await;
    let token = common::account(&db.pool, "li.ming", Role::Officer).await;
    let api = Api::new(common::spawn_app(db.pool.clone()).await);
    let login = api.post("/api/v1/session", &json!({"username": "li.ming", "password": "li.ming-password"})).await;
    let cookie = login.expect(200).header("set-cookie").split(';').next().unwrap().to_string();
    // The records come from the harness's service, which may act as an admin for a listing of the past.
    let records = Api::new(common::spawn_app_as(db.pool.clone(), Role::Officer).await);
    let house = records.house(1).await;
    let listing = records.list(house).await;
    Setup { _db: db, api, cookie, token, house, listing }
}

impl Setup {
    /// The hostile request of the review: a form post from another site, with the officer's cookie.
    fn cross_site_withdraw(&self) -> reqwest::RequestBuilder {
        self.api
            .client
            .post(format!("{}/api/v1/listings/{}/withdraw", self.api.base, self.listing))
            .header("cookie", &self.cookie)
            .header("origin", "http://evil.example")
            .header("sec-fetch-site", "cross-site")
            .header("content-type", "application/x-www-form-urlencoded")
            .body("")
    }

    async fn listing_status(&self) -> String {
        let r = self.api.get(&format!("/api/v1/listings/{}", self.listing)).await.expect(200);
        r.body["status"].as_str().unwrap().to_string()
    }

    async fn photo_count(&self) -> usize {
        let r = self.api.get(&format!("/api/v1/farmhouses/{}/photos", self.house)).await.expect(200);
        r.body.as_array().unwrap().len()
    }
}

fn refused(reply: Reply, status: u16, field: &str) {
    let reply = reply.expect(status);
    assert_eq!(reply.header("content-type"), "application/problem+json");
    assert_eq!(reply.body["field"], field, "{}", reply.body);
    assert_eq!(reply.body["errors"][0]["field"], field, "{}", reply.body);
}

fn png() -> Vec<u8> {
    let mut png = Vec::new();
    image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, 90]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    png
}

#[tokio::test]
async fn a_cross_site_form_post_with_the_session_cookie_is_refused_and_changes_nothing() {
    let s = setup().await;
    refused(s.api.send(s.cross_site_withdraw()).await, 403, "Origin");
    assert_eq!(s.listing_status().await, "open");

    // Without any word of where it comes from (an old browser, or a script that took the cookie): refused.
    let bare =
        s.api.client.post(format!("{}/api/v1/listings/{}/withdraw", s.api.base, s.listing)).header("cookie", &s.cookie);
    refused(s.api.send(bare).await, 403, "Origin");
    // A page on another port of the same host is another origin, though the same site.
    let other_port = s
        .api
        .client
        .post(format!("{}/api/v1/listings/{}/withdraw", s.api.base, s.listing))
        .header("cookie", &s.cookie)
        .header("origin", "http://127.0.0.1:1")
        .header("sec-fetch-site", "same-site")
        .json(&json!({}));
    refused(s.api.send(other_port).await, 403, "Origin");
    assert_eq!(s.listing_status().await, "open");
}

#[tokio::test]
async fn a_cookie_photo_upload_must_be_an_image_type() {
    let s = setup().await;
    let url = format!("{}/api/v1/farmhouses/{}/photos", s.api.base, s.house);
    let upload = |origin: &str, content_type: &str| {
        s.api
            .client
            .post(&url)
            .header("cookie", &s.cookie)
            .header("origin", origin)
            .header("content-type", content_type)
            .body(png())
    };
    refused(s.api.send(upload(&s.api.base, "text/plain")).await, 415, "Content-Type");
    refused(s.api.send(upload(&s.api.base, "multipart/form-data; boundary=x")).await, 415, "Content-Type");
    assert_eq!(s.photo_count().await, 0);
    // From another site, the origin is refused first.
    refused(s.api.send(upload("http://evil.example", "text/plain")).await, 403, "Origin");
    s.api.send(upload(&s.api.base, "image/png")).await.expect(201);
    assert_eq!(s.photo_count().await, 1);
}

#[tokio::test]
async fn bearer_token_calls_are_not_affected() {
    let s = setup().await;
    // The same hostile-looking request, but with the officer's token: a script, not a browser.
    let scripted = s.cross_site_withdraw().bearer_auth(&s.token);
    s.api.send(scripted).await.expect(200);
    assert_eq!(s.listing_status().await, "withdrawn");
    let photo = s
        .api
        .client
        .post(format!("{}/api/v1/farmhouses/{}/photos", s.api.base, s.house))
        .bearer_auth(&s.token)
        .header("content-type", "image/png")
        .body(png());
    s.api.send(photo).await.expect(201);
}

#[tokio::test]
async fn the_pages_own_cookie_writes_work() {
    let s = setup().await;
    // What the page's fetch sends: its own Origin, and no body for an action without one.
    let withdraw = s
        .api
        .client
        .post(format!("{}/api/v1/listings/{}/withdraw", s.api.base, s.listing))
        .header("cookie", &s.cookie)
        .header("origin", &s.api.base)
        .header("sec-fetch-site", "same-origin");
    s.api.send(withdraw).await.expect(200);
    assert_eq!(s.listing_status().await, "withdrawn");

    // A browser that sends only Sec-Fetch-Site, with a JSON body: a new listing, noticed from tomorrow.
    let tomorrow = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive() + chrono::Days::new(1);
    let mut listing = common::api::listing_body();
    listing["notice_start"] = json!(tomorrow.to_string());
    listing["notice_end"] = json!((tomorrow + chrono::Days::new(14)).to_string());
    let relist = s
        .api
        .client
        .post(format!("{}/api/v1/farmhouses/{}/listings", s.api.base, s.house))
        .header("cookie", &s.cookie)
        .header("sec-fetch-site", "same-origin")
        .json(&listing);
    s.api.send(relist).await.expect(201);

    // Logging out with the cookie is a write too.
    let out = s
        .api
        .client
        .delete(format!("{}/api/v1/session", s.api.base))
        .header("cookie", &s.cookie)
        .header("origin", &s.api.base);
    s.api.send(out).await.expect(204);
}

#[tokio::test]
async fn staff_answers_are_private_and_every_answer_varies_on_the_credentials() {
    let s = setup().await;
    let vary = |r: &Reply| {
        r.headers
            .get_all("vary")
            .iter()
            .map(|v| v.to_str().unwrap().to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let house = format!("{}/api/v1/farmhouses/{}", s.api.base, s.house);
    let staff = s.api.send(s.api.client.get(&house).header("cookie", &s.cookie)).await.expect(200);
    assert_eq!(staff.header("cache-control"), "private, no-store");
    assert!(vary(&staff).contains("cookie") && vary(&staff).contains("authorization"), "{}", vary(&staff));
    let scripted = s.api.send(s.api.client.get(&house).bearer_auth(&s.token)).await.expect(200);
    assert_eq!(scripted.header("cache-control"), "private, no-store");
    let public = s.api.send(s.api.client.get(&house)).await.expect(200);
    assert!(!public.header("cache-control").contains("private"), "{}", public.header("cache-control"));
    assert!(vary(&public).contains("cookie") && vary(&public).contains("authorization"), "{}", vary(&public));

    // A tile keeps its public caching for the public, with Vary; a signed-in caller's is private.
    let tile = format!("{}/tiles/farmhouses/0/0/0", s.api.base);
    let open = s.api.send(s.api.client.get(&tile).header("accept-encoding", "gzip")).await;
    assert_eq!(open.header("cache-control"), "public, no-cache");
    let v = vary(&open);
    assert!(v.contains("accept-encoding") && v.contains("cookie") && v.contains("authorization"), "{v}");
    let mine = s.api.send(s.api.client.get(&tile).header("cookie", &s.cookie)).await;
    assert_eq!(mine.header("cache-control"), "private, no-cache");

    // A photo is cached a year by the public, and only privately by a signed-in caller.
    let photo = s
        .api
        .client
        .post(format!("{}/api/v1/farmhouses/{}/photos", s.api.base, s.house))
        .bearer_auth(&s.token)
        .header("content-type", "image/png")
        .body(png());
    let url = s.api.send(photo).await.expect(201).body["url"].as_str().unwrap().to_string();
    let open = s.api.send(s.api.client.get(format!("{}{url}", s.api.base))).await.expect(200);
    assert!(open.header("cache-control").starts_with("public"), "{}", open.header("cache-control"));
    let mine = s.api.send(s.api.client.get(format!("{}{url}", s.api.base)).header("cookie", &s.cookie)).await;
    let cache = mine.expect(200).header("cache-control").to_string();
    assert!(cache.starts_with("private") && !cache.contains("public") && cache.contains("max-age"), "{cache}");
}
