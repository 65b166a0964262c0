//! Capacity: one client cannot take the whole service. Anonymous pages are small enough, a busy pool is
//! answered as busy (never as a database that is down), verification and `/health` keep connections of
//! their own, an address over its request budget is told when to come back, and connections that send
//! nothing useful are closed.

use crate::common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::common::TestDb;
use farmhouse::domain::roles::Role;
use farmhouse::http::AppState;
use farmhouse::http::capacity::Limits;
use farmhouse::store::{self, PoolConfig};
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The service over `pool` with `limits`, as `farmhouse serve` runs it, on a free port of 127.0.0.1.
async fn serve_with(pool: PgPool, limits: Limits) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut state = AppState::new(pool);
    state.limits = limits;
    tokio::spawn(farmhouse::http::serve(listener, state, std::future::pending()));
    addr
}

/// Status, headers and body text of a GET.
async fn get(client: &reqwest::Client, url: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let res = client.get(url).send().await.expect("an answer");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.text().await.unwrap_or_default())
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// A refusal for capacity: 503 or 429, problem+json, with a whole number of seconds in Retry-After.
#[track_caller]
fn assert_refusal_says_when_to_retry(status: u16, headers: &reqwest::header::HeaderMap, body: &str) {
    assert!(matches!(status, 429 | 503), "{status}: {body}");
    assert_eq!(header(headers, "content-type"), "application/problem+json", "{body}");
    let retry: u64 =
        header(headers, "retry-after").parse().unwrap_or_else(|_| panic!("Retry-After on {status}: {body}"));
    assert!(retry >= 1, "{retry}");
    let problem: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(problem["status"], status);
}

#[tokio::test]
async fn a_crowd_of_big_anonymous_pages_leaves_verification_and_health_answering() {
    let db = TestDb::demo().await;
    let (no, code): (String, String) = sqlx::query_as(
        "select certificate_no, verification_code from certifications where revoked_at is null order by id limit 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    // A small pool, so 48 pages are far more than it holds at once.
    let pool = store::pool(&db.url, &PoolConfig { max_connections: 4, ..PoolConfig::default() }).unwrap();
    let addr = serve_with(pool, Limits::default()).await;
    let client = reqwest::Client::builder().timeout(Duration::from_mins(1)).build().unwrap();

    let pages: Vec<_> = (0..48)
        .map(|_| {
            let (client, url) = (client.clone(), format!("http://{addr}/collections/farmhouses/items?limit=10000"));
            tokio::spawn(async move { get(&client, &url).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let checks: Vec<_> = (0..2)
        .map(|_| {
            let client = client.clone();
            let urls = [
                format!("http://{addr}/api/v1/verify/{no}?code={code}"),
                format!("http://{addr}/verify/{no}?code={code}"),
                format!("http://{addr}/health"),
            ];
            tokio::spawn(async move {
                let mut seen = Vec::new();
                for _ in 0..5 {
                    for url in &urls {
                        let (status, _, body) = get(&client, url).await;
                        seen.push((url.clone(), status, body));
                    }
                }
                seen
            })
        })
        .collect();

    for check in checks {
        for (url, status, body) in check.await.unwrap() {
            assert_eq!(status, 200, "{url}: {body}");
            assert!(!body.contains("database is unavailable"), "{url}: {body}");
        }
    }
    let (mut answered, mut refused) = (0, 0);
    for page in pages {
        let (status, headers, body) = page.await.unwrap();
        assert!(!body.contains("database is unavailable"), "{status}: {body}");
        if status == 200 {
            let page: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert!(page["numberReturned"].as_i64().unwrap() <= 1000);
            answered += 1;
        } else {
            assert_refusal_says_when_to_retry(status, &headers, &body);
            refused += 1;
        }
    }
    eprintln!("48 big pages: {answered} served, {refused} refused as busy or over budget");
    assert!(answered > 0, "some pages were served");
}

#[tokio::test]
async fn a_request_that_finds_every_connection_taken_is_told_the_service_is_busy() {
    let db = TestDb::new().await;
    let pool = store::pool(&db.url, &PoolConfig { max_connections: 2, ..PoolConfig::default() }).unwrap();
    // Every connection taken before the service starts (its tile-change listener keeps one for good once
    // it has it, so one is left for requests when these two are given back).
    let held = (pool.acquire().await.unwrap(), pool.acquire().await.unwrap());
    let addr = serve_with(pool.clone(), Limits::default()).await;
    let client = reqwest::Client::new();

    let (status, headers, body) = get(&client, &format!("http://{addr}/api/v1/townships")).await;
    assert_refusal_says_when_to_retry(status, &headers, &body);
    assert_eq!(status, 503);
    assert!(body.contains("busy") && !body.contains("unavailable"), "{body}");
    let (status, _, body) = get(&client, &format!("http://{addr}/health")).await;
    assert_eq!(status, 200, "health has connections of its own: {body}");

    drop(held);
    let (status, _, body) = get(&client, &format!("http://{addr}/api/v1/townships")).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn pages_hold_at_most_1000_features_for_the_public_and_investors_and_10000_for_staff() {
    let db = TestDb::demo().await;
    for (role, most) in [(Role::Public, 1000), (Role::Investor, 1000), (Role::Officer, 5000), (Role::Official, 5000)] {
        let api = common::api::Api::new(common::spawn_app_as(db.pool.clone(), role).await);
        let page = api.get("/collections/farmhouses/items?limit=5000").await.expect(200);
        assert_eq!(page.body["numberReturned"], most, "{role}");
        let next = page.body["links"].as_array().unwrap().iter().find(|l| l["rel"] == "next").unwrap();
        assert!(next["href"].as_str().unwrap().contains(&format!("limit={most}&")), "{role}: {next}");
    }
}

#[tokio::test]
async fn an_address_over_its_request_budget_gets_429_with_retry_after() {
    let db = TestDb::new().await;
    let token = common::account(&db.pool, "capacity.officer", Role::Officer).await;
    let addr = serve_with(db.pool.clone(), Limits { rate_per_second: 1, burst: 5, ..Limits::default() }).await;
    let client = reqwest::Client::new();
    let signed_in = || client.get(format!("http://{addr}/api/v1/session")).bearer_auth(&token);
    // Its first request is counted (the token is not known yet); from then on the caller is known.
    assert_eq!(signed_in().send().await.unwrap().status(), 200);

    let mut statuses = Vec::new();
    let mut refusal = None;
    for _ in 0..10 {
        let (status, headers, body) = get(&client, &format!("http://{addr}/conformance")).await;
        statuses.push(status);
        if status == 429 && refusal.is_none() {
            refusal = Some((headers, body));
        }
    }
    assert!(statuses.iter().all(|s| matches!(s, 200 | 429)), "{statuses:?}");
    assert_eq!(&statuses[..4], &[200; 4], "the burst is served");
    let (headers, body) = refusal.unwrap_or_else(|| panic!("no 429 in {statuses:?}"));
    assert_refusal_says_when_to_retry(429, &headers, &body);

    let me = signed_in().send().await.unwrap();
    assert_eq!(me.status(), 200, "a signed-in caller is not counted");
    let elsewhere = reqwest::Client::builder().local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap()).build();
    let (status, _, body) = get(&elsewhere.unwrap(), &format!("http://{addr}/conformance")).await;
    assert_eq!(status, 200, "another address has a budget of its own: {body}");
}

/// A connection that sent the start of a request line and nothing more.
async fn half_a_request(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"GET /health HT").await.unwrap();
    stream
}

#[tokio::test]
async fn connections_that_send_half_a_request_line_are_closed_after_the_header_timeout() {
    const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
    let db = TestDb::new().await;
    let addr = serve_with(db.pool.clone(), Limits { header_read_timeout: HEADER_TIMEOUT, ..Limits::default() }).await;
    let opened = Instant::now();
    let mut held = Vec::new();
    for _ in 0..200 {
        held.push(half_a_request(addr).await);
    }

    let (status, _, body) = get(&reqwest::Client::new(), &format!("http://{addr}/health")).await;
    assert_eq!(status, 200, "{body}");
    let open = held
        .iter()
        .filter(|s| matches!(s.try_read(&mut [0; 64]), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock))
        .count();
    assert_eq!(open, 200, "the 200 were still open while the request was answered");

    // Closed after the header timeout, with a generous margin for a busy machine.
    let deadline = tokio::time::Instant::from_std(opened + HEADER_TIMEOUT + Duration::from_secs(10));
    for mut stream in held {
        let mut rest = Vec::new();
        let closed = tokio::time::timeout_at(deadline, stream.read_to_end(&mut rest)).await;
        assert!(closed.is_ok(), "a connection was still open {:?} after it was opened", opened.elapsed());
    }
}

#[tokio::test]
async fn a_connection_beyond_the_cap_waits_until_one_closes() {
    let db = TestDb::new().await;
    let limits = Limits { max_client_connections: 3, header_read_timeout: Duration::from_secs(3), ..Limits::default() };
    let addr = serve_with(db.pool.clone(), limits).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(half_a_request(addr).await);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;

    let request = tokio::spawn(reqwest::Client::new().get(format!("http://{addr}/health")).send());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!request.is_finished(), "the three connections hold every place");
    let res = tokio::time::timeout(Duration::from_secs(30), request).await.expect("answered once they closed");
    assert_eq!(res.unwrap().unwrap().status(), 200);
    drop(held);
}
