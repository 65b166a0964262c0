//! `/health` follows the database: 503 within 2 s when PostgreSQL stops, 200 again when it is back,
//! without restarting the service; meanwhile other requests say the database is unavailable (a busy
//! service says it is busy: `capacity.rs`). Every error is problem+json.

use crate::common;

use std::time::{Duration, Instant};

use crate::common::TestDb;
use farmhouse::store::{self, Cluster, PoolConfig};

async fn status(client: &reqwest::Client, url: &str) -> Option<u16> {
    client.get(url).send().await.ok().map(|r| r.status().as_u16())
}

#[tokio::test]
async fn health_is_ok_when_the_database_answers() {
    let db = TestDb::new().await;
    let addr = common::spawn_app(db.pool.clone()).await;
    let res = reqwest::get(format!("http://{addr}/health")).await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn health_follows_the_database_down_and_back_up() {
    let dir = common::cluster_tempdir();
    let mut cluster = Cluster::new(&dir.path().join("pg"), common::free_port()).unwrap();
    cluster.start().await.unwrap();
    store::create_database(&cluster.url("postgres"), "farmhouse", None).await.unwrap();
    let pool = store::pool(&cluster.url("farmhouse"), &PoolConfig::default()).unwrap();
    let addr = common::spawn_app(pool).await;
    let url = format!("http://{addr}/health");
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    assert_eq!(status(&client, &url).await, Some(200));

    cluster.stop().await.unwrap();
    let asked = Instant::now();
    let res = client.get(&url).send().await.unwrap();
    let took = asked.elapsed();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert!(took < Duration::from_secs(2), "503 took {took:?}");
    // A request that waits in vain for a connection says the database is down, not that it is busy.
    let res = client.get(format!("http://{addr}/api/v1/townships")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    let body = res.text().await.unwrap();
    assert!(body.contains("database is unavailable") && !body.contains("busy"), "{body}");

    cluster.start().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if status(&client, &url).await == Some(200) {
            break;
        }
        assert!(Instant::now() < deadline, "the service did not recover after the database came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cluster.stop().await.unwrap();
}

#[tokio::test]
async fn unknown_paths_and_methods_get_problem_json() {
    let db = TestDb::new().await;
    let addr = common::spawn_app(db.pool.clone()).await;
    let client = reqwest::Client::new();
    let res = client.get(format!("http://{addr}/no/such/thing")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], 404);
    assert!(body["detail"].as_str().unwrap().contains("/no/such/thing"));

    let res = client.delete(format!("http://{addr}/health")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert!(res.headers().contains_key("allow"), "405 keeps its Allow header");
}
