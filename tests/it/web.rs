//! The web map's routes: the page for browsers at `/`, its files and MapLibre's from the web folder
//! (never anything outside it), the map's settings, and the public certificate verification page.

use crate::common;

use crate::common::TestDb;
use crate::common::api::Api;
use farmhouse::domain::roles::Role;
use farmhouse::http::AppState;
use farmhouse::http::web::WebConfig;

async fn get(api: &Api, path: &str, accept: &str) -> reqwest::Response {
    api.client.get(format!("{}{path}", api.base)).header("accept", accept).send().await.unwrap()
}

#[tokio::test]
async fn browsers_get_the_map_page_and_gis_clients_the_landing_json() {
    let db = TestDb::new().await;
    let api = Api::new(common::spawn_app(db.pool.clone()).await);
    let page = get(&api, "/", "text/html,application/xhtml+xml,*/*;q=0.8").await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"map\""), "{html}");
    assert!(html.contains("/vendor/maplibre-gl/maplibre-gl.css") && html.contains("/assets/app/main.js"));
    assert!(!html.contains("//cdn") && !html.contains("unpkg") && !html.contains("jsdelivr"), "nothing from a CDN");

    let json = api.get("/").await.expect(200);
    assert_eq!(json.header("content-type"), "application/json");
    assert!(json.body["links"].as_array().unwrap().iter().any(|l| l["rel"] == "conformance"));
}

#[tokio::test]
async fn the_page_files_are_served_and_nothing_outside_them() {
    let db = TestDb::new().await;
    let api = Api::new(common::spawn_app(db.pool.clone()).await);
    let script = get(&api, "/assets/app/main.js", "*/*").await;
    assert_eq!(script.status(), 200);
    assert!(script.headers()["content-type"].to_str().unwrap().contains("javascript"));
    assert_eq!(script.headers()["cache-control"], "no-cache");
    let modified = script.headers()["last-modified"].to_str().unwrap().to_string();
    let again = api
        .client
        .get(format!("{}/assets/app/main.js", api.base))
        .header("if-modified-since", modified)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(get(&api, "/assets/style.css", "*/*").await.status(), 200);

    for bad in [
        "/assets/../Cargo.toml",
        "/assets/%2e%2e/Cargo.toml",
        "/assets/app/%2e%2e/%2e%2e/Cargo.toml",
        "/assets/..%2fCargo.toml",
        "/assets/package.json",
        "/assets/node_modules/maplibre-gl/package.json",
        "/assets/node_modules/maplibre-gl/dist/maplibre-gl.mjs",
        "/assets/tests/browser.mjs",
        "/assets/app/missing.js",
        "/vendor/maplibre-gl/../package.json",
        "/vendor/maplibre-gl/%2e%2e/package.json",
        "/vendor/maplibre-gl/maplibre-gl.d.ts",
    ] {
        let url = format!("{}{bad}", api.base);
        let res = api.client.get(url).send().await.unwrap();
        assert_eq!(res.status(), 404, "{bad}");
        assert_eq!(res.headers()["content-type"], "application/problem+json", "{bad}");
    }
}

#[tokio::test]
async fn maplibre_comes_from_the_pinned_npm_package() {
    let db = TestDb::new().await;
    let api = Api::new(common::spawn_app(db.pool.clone()).await);
    let pinned: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("web/package.json").unwrap()).unwrap();
    let version = pinned["dependencies"]["maplibre-gl"].as_str().unwrap();
    assert!(version.starts_with("6.") && version.chars().all(|c| c.is_ascii_digit() || c == '.'), "{version}");

    let res = api
        .client
        .get(format!("{}/vendor/maplibre-gl/maplibre-gl.mjs", api.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "web/node_modules is missing: run `npm ci` in web/ (make test does)");
    assert_eq!(res.headers()["content-encoding"], "gzip");
    assert!(res.headers()["cache-control"].to_str().unwrap().contains("max-age"));
    for file in ["maplibre-gl-worker.mjs", "maplibre-gl.css"] {
        assert_eq!(get(&api, &format!("/vendor/maplibre-gl/{file}"), "*/*").await.status(), 200, "{file}");
    }
}

#[tokio::test]
async fn uplot_comes_from_the_pinned_npm_package_and_nothing_else_of_node_modules() {
    let db = TestDb::new().await;
    let api = Api::new(common::spawn_app(db.pool.clone()).await);
    let pinned: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("web/package.json").unwrap()).unwrap();
    let version = pinned["dependencies"]["uplot"].as_str().unwrap();
    assert!(version.starts_with("1.6.") && version.chars().all(|c| c.is_ascii_digit() || c == '.'), "{version}");

    let module = get(&api, "/vendor/uplot/uPlot.esm.js", "*/*").await;
    assert_eq!(module.status(), 200, "web/node_modules is missing: run `npm ci` in web/ (make test does)");
    assert!(module.headers()["content-type"].to_str().unwrap().contains("javascript"));
    assert!(module.headers()["cache-control"].to_str().unwrap().contains("max-age"));
    assert!(module.text().await.unwrap().contains("export"), "an ES module");
    let css = get(&api, "/vendor/uplot/uPlot.min.css", "*/*").await;
    assert_eq!(css.status(), 200);
    assert!(css.headers()["content-type"].to_str().unwrap().starts_with("text/css"));

    for bad in [
        "/vendor/uplot/../package.json",
        "/vendor/uplot/%2e%2e/package.json",
        "/vendor/uplot/uPlot.d.ts",
        "/vendor/uplot/missing.js",
        "/vendor/playwright-core/index.js",
        "/vendor/..%2fuplot/uPlot.esm.js",
    ] {
        let res = api.client.get(format!("{}{bad}", api.base)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{bad}");
        assert_eq!(res.headers()["content-type"], "application/problem+json", "{bad}");
    }
}

#[tokio::test]
async fn the_site_settings_name_the_district_and_the_optional_basemap() {
    let db = TestDb::with_district().await;
    let api = Api::new(common::spawn_app(db.pool.clone()).await);
    let site = api.get("/api/v1/site").await.expect(200).body;
    assert_eq!(site["district"], "上虞区");
    assert_eq!(site["county_code"], "330604");
    let b: Vec<f64> = site["bounds"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert!(b[0] > 120.5 && b[2] < 121.2 && b[1] > 29.6 && b[3] < 30.4, "{b:?}");
    assert!(site["basemap_url"].is_null());

    let mut state = AppState::new(db.pool.clone());
    let basemap = "https://t0.tianditu.gov.cn/img_w/wmts?TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=KEY";
    state.web = std::sync::Arc::new(WebConfig { basemap_url: Some(basemap.into()), ..WebConfig::default() });
    let api = Api::new(common::map_fixtures::spawn_with(state, Role::Public).await);
    assert_eq!(api.get("/api/v1/site").await.expect(200).body["basemap_url"], basemap);
    let page = get(&api, "/", "text/html").await;
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("img-src 'self' data: blob: https://t0.tianditu.gov.cn;"), "{csp}");
}

#[tokio::test]
async fn a_missing_web_folder_gets_a_notice_not_a_blank_page() {
    let db = TestDb::new().await;
    let mut state = AppState::new(db.pool.clone());
    state.web = std::sync::Arc::new(WebConfig { dir: "/nonexistent/web".into(), basemap_url: None });
    let api = Api::new(common::map_fixtures::spawn_with(state, Role::Public).await);
    let page = get(&api, "/", "text/html").await;
    assert_eq!(page.status(), 503);
    assert!(page.text().await.unwrap().contains("--web-dir"));
    let vendor = api.get("/vendor/maplibre-gl/maplibre-gl.mjs").await.expect(404);
    assert!(vendor.body["detail"].as_str().unwrap().contains("npm ci"), "{}", vendor.body);
}

#[tokio::test]
async fn the_verification_page_shows_validity_and_public_facts_only() {
    let db = TestDb::with_district().await;
    let api = Api::new(common::spawn_app_as(db.pool.clone(), Role::Officer).await);
    // The house is owned by household 户主502 (`Api::house`).
    let (_house, deal) = api.contracted(2).await;
    let cert = api.post(&format!("/api/v1/transactions/{deal}/certify"), &serde_json::json!({})).await.expect(201).body;
    let no = cert["certificate_no"].as_str().unwrap().to_string();
    let code = cert["verification_code"].as_str().unwrap().to_string();

    let public = Api::new(common::spawn_app(db.pool.clone()).await);
    // Without the code the page asks for it and says nothing of the certificate.
    let asked = get(&public, &format!("/verify/{no}"), "text/html").await;
    assert_eq!(asked.status(), 200);
    let asked = asked.text().await.unwrap();
    assert!(asked.contains("核验码") && !asked.contains("有效") && !asked.contains("330604001001JC00002"), "{asked}");
    assert!(!asked.contains("青山村") && !asked.contains("288.50"), "{asked}");

    let page = get(&public, &format!("/verify/{no}?code={code}"), "text/html").await;
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains(&no) && html.contains("有效") && html.contains("330604001001JC00002F00010001"), "{html}");
    assert!(html.contains("青山村") && html.contains("288.50 m²") && html.contains("核验码正确"), "{html}");
    // Neither the owner (户主2) nor the lessee (投资公司2) is named.
    assert!(!html.contains("户主") && !html.contains("投资公司"), "{html}");

    // A wrong code is answered as an unknown number.
    let wrong = get(&public, &format!("/verify/{no}?code=WRONG"), "text/html").await;
    assert_eq!(wrong.status(), 404);
    let wrong = wrong.text().await.unwrap();
    assert!(wrong.contains("查无此证书") && !wrong.contains("青山村"), "{wrong}");

    let id = cert["id"].as_i64().unwrap();
    api.post_as_admin(&format!("/api/v1/certifications/{id}/revoke"), &serde_json::json!({"reason": "录入错误"}))
        .await
        .expect(200);
    let revoked = get(&public, &format!("/verify/{no}?code={code}"), "text/html").await.text().await.unwrap();
    assert!(revoked.contains("已撤销") && revoked.contains("录入错误"), "{revoked}");
}

#[tokio::test]
async fn an_unknown_certificate_gets_an_escaped_not_found_page() {
    let db = TestDb::with_district().await;
    let api = Api::new(common::spawn_app(db.pool.clone()).await);
    let page = get(&api, "/verify/%3Cscript%3Ealert(1)%3C%2Fscript%3E?code=ABCDEFGH", "text/html").await;
    assert_eq!(page.status(), 404);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !html.contains("<script>alert"), "{html}");
    let form = get(&api, "/verify/x%22%3E%3Cb%3E?code=%22%3E%3Ci%3E", "text/html").await.text().await.unwrap();
    assert!(!form.contains("\"><b>") && !form.contains("\"><i>"), "{form}");
}
