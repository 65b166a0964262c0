//! `/metrics` as Prometheus reads it (parsed by the Python `prometheus_client`), who may read it, and the
//! JSON log lines of `serve --log-format json`.

use std::io::BufRead;
use std::time::Duration;

use farmhouse::domain::roles::Role;
use serde_json::Value;

use crate::common::{self, TestDb, api::Api};

/// The families of a Prometheus text exposition as `prometheus_client` parses them:
/// `{family: {"type": …, "samples": [{"name", "labels", "value"}]}}`.
fn parse(text: &str) -> Value {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), text).unwrap();
    let script = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
families = {}
for f in text_string_to_metric_families(open(sys.argv[1], encoding="utf-8").read()):
    families[f.name] = {"type": f.type,
                        "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]}
print(json.dumps(families))
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(file.path())
        .output()
        .expect("python3 with prometheus_client (scripts/install-deps.sh test installs it)");
    assert!(
        out.status.success(),
        "prometheus_client cannot parse /metrics:\n{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The sum of the samples named `sample` of `family` whose labels include all of `labels`.
fn sum(families: &Value, family: &str, sample: &str, labels: &[(&str, &str)]) -> f64 {
    let Some(samples) = families[family]["samples"].as_array() else { return 0.0 };
    samples
        .iter()
        .filter(|s| s["name"] == sample && labels.iter().all(|(k, v)| s["labels"][*k] == *v))
        .map(|s| s["value"].as_f64().unwrap())
        .sum()
}

async fn scrape(api: &Api, token: &str) -> Value {
    let reply = api.send(api.client.get(format!("{}/metrics", api.base)).bearer_auth(token)).await.expect(200);
    assert!(reply.header("content-type").starts_with("text/plain; version=0.0.4"), "{}", reply.header("content-type"));
    parse(reply.body.as_str().expect("a text body"))
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_parse_as_prometheus_text() {
    let db = TestDb::with_district().await;
    let official = common::account(&db.pool, "scraper", Role::Official).await;
    let investor = common::account(&db.pool, "investor1", Role::Investor).await;
    let api = Api::new(common::spawn_app(db.pool.clone()).await);

    for _ in 0..3 {
        api.get("/health").await.expect(200);
    }
    for _ in 0..2 {
        let tile = api.get("/tiles/townships/8/213/105").await;
        assert!(tile.status == 200 || tile.status == 204, "{}", tile.status);
    }
    api.get("/no/such/page/4711").await.expect(404);
    // Admins and officials only.
    api.get("/metrics").await.expect(401);
    api.send(api.client.get(format!("{}/metrics", api.base)).bearer_auth(&investor)).await.expect(403);

    let families = scrape(&api, &official).await;
    // The recorder is the process's: other tests of this binary add to the same counters, never take away.
    assert_eq!(families["http_requests"]["type"], "counter");
    let health = [("route", "/health"), ("method", "GET"), ("status", "200")];
    assert!(sum(&families, "http_requests", "http_requests_total", &health) >= 3.0, "{}", families["http_requests"]);
    let refused = [("route", "/metrics"), ("status", "401")];
    assert!(sum(&families, "http_requests", "http_requests_total", &refused) >= 1.0);
    assert!(
        sum(&families, "http_requests", "http_requests_total", &[("route", "unmatched"), ("status", "404")]) >= 1.0
    );

    let latency = &families["http_request_duration_seconds"];
    assert_eq!(latency["type"], "histogram");
    let health = [("route", "/health"), ("method", "GET")];
    assert!(sum(&families, "http_request_duration_seconds", "http_request_duration_seconds_count", &health) >= 3.0);
    let all = [("route", "/health"), ("method", "GET"), ("le", "+Inf")];
    assert!(sum(&families, "http_request_duration_seconds", "http_request_duration_seconds_bucket", &all) >= 3.0);

    // Routes are templates: no path, identifier or tile coordinate becomes a label.
    let labels: Vec<&str> = families
        .as_object()
        .unwrap()
        .values()
        .flat_map(|f| f["samples"].as_array().unwrap())
        .filter_map(|s| s["labels"]["route"].as_str())
        .collect();
    assert!(labels.iter().any(|r| r.starts_with("/tiles/") && r.contains('{')), "{labels:?}");
    assert!(!labels.iter().any(|r| r.contains("4711") || r.contains("213")), "{labels:?}");

    let lookups = sum(&families, "farmhouse_tile_cache_hits", "farmhouse_tile_cache_hits_total", &[])
        + sum(&families, "farmhouse_tile_cache_misses", "farmhouse_tile_cache_misses_total", &[]);
    assert!(lookups >= 2.0, "tile cache lookups: {lookups}");
    assert_eq!(families["farmhouse_tile_cache_bytes"]["type"], "gauge");
    let primary = [("pool", "primary")];
    assert!(sum(&families, "farmhouse_db_pool_connections", "farmhouse_db_pool_connections", &primary) >= 1.0);
    assert!(sum(&families, "farmhouse_db_pool_max_connections", "farmhouse_db_pool_max_connections", &primary) >= 1.0);
}

#[tokio::test]
async fn serve_with_log_format_json_writes_one_json_object_a_line_and_serves_metrics() {
    let db = TestDb::with_district().await;
    let official = common::account(&db.pool, "scraper", Role::Official).await;
    let keys = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let mut service = std::process::Command::new(env!("CARGO_BIN_EXE_farmhouse"))
        .args(["serve", "--log-format", "json", "--bind", &format!("127.0.0.1:{port}"), "--no-demo"])
        .args(["--database-url", &db.url, "--signing-keys"])
        .arg(keys.path())
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, logged) = std::sync::mpsc::channel();
    let stderr = service.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let mut serving = None;
    let mut seen = Vec::new();
    while serving.is_none() {
        let Ok(line) = logged.recv_timeout(Duration::from_mins(1)) else {
            let _ = service.kill();
            panic!("no \"serving\" line within a minute; logged: {seen:#?}");
        };
        let event: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        for field in ["timestamp", "level", "target", "message"] {
            assert!(event.get(field).is_some(), "no {field}: {line}");
        }
        if event["message"] == "serving" {
            serving = Some(event);
        }
        seen.push(line);
    }
    let serving = serving.unwrap();
    assert_eq!(serving["level"], "INFO");
    assert_eq!(serving["addr"], format!("127.0.0.1:{port}"));

    let api = Api::new(format!("127.0.0.1:{port}").parse().unwrap());
    api.get("/health").await.expect(200);
    let families = scrape(&api, &official).await;
    let _ = service.kill();
    let _ = service.wait();
    let health = [("route", "/health"), ("status", "200")];
    assert_eq!(sum(&families, "http_requests", "http_requests_total", &health) as u64, 1, "one /health asked");
}
