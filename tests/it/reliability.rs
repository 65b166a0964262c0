//! Faults: the database going away under load, and the service killed in the middle of certifying.
//! Nothing acknowledged is lost, nothing half-done is kept.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::common::api::Api;
use farmhouse::domain::roles::Role;
use farmhouse::store::{self, Cluster, PoolConfig};
use serde_json::json;
use tokio::sync::Mutex;

/// What a load worker saw.
#[derive(Default)]
struct Seen {
    acknowledged: Vec<i64>,
    statuses: Vec<u16>,
    /// The slowest answer while the database was down.
    slowest_while_down: Duration,
    client_errors: usize,
}

#[tokio::test]
async fn a_database_outage_fails_fast_recovers_by_itself_and_loses_nothing() {
    let dir = common::cluster_tempdir();
    let mut cluster = Cluster::new(&dir.path().join("pg"), common::free_port()).unwrap();
    cluster.start().await.unwrap();
    store::create_database(&cluster.url("postgres"), "farmhouse", None).await.unwrap();
    let url = cluster.url("farmhouse");
    store::migrate(&url).await.unwrap();
    let pool = store::pool(&url, &PoolConfig::default()).unwrap();
    common::fixtures::district(&pool).await;
    let api = Api::new(common::spawn_app_as(pool.clone(), Role::Officer).await);
    let api = Api { client: reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap(), ..api };

    let down = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut workers = Vec::new();
    for w in 0..8u32 {
        let (api, down, stop, seen) = (api.clone(), down.clone(), stop.clone(), seen.clone());
        workers.push(tokio::spawn(async move {
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let was_down = down.load(Ordering::Relaxed);
                let started = Instant::now();
                let body = json!({"kind": "organisation", "name": format!("负载{w}-{n}"),
                                  "credit_code": common::fixtures::credit_code(w * 100_000 + n)});
                let res = match n % 3 {
                    0 => api.client.get(format!("{}/api/v1/farmhouses?limit=5", api.base)).send().await,
                    1 => api.client.get(format!("{}/health", api.base)).send().await,
                    _ => api.client.post(format!("{}/api/v1/parties", api.base)).json(&body).send().await,
                };
                let took = started.elapsed();
                let mut s = seen.lock().await;
                match res {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        s.statuses.push(status);
                        if was_down && down.load(Ordering::Relaxed) {
                            s.slowest_while_down = s.slowest_while_down.max(took);
                        }
                        if status == 201
                            && let Ok(v) = r.json::<serde_json::Value>().await
                        {
                            s.acknowledged.push(v["id"].as_i64().unwrap());
                        }
                    }
                    Err(_) => s.client_errors += 1,
                }
                drop(s);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }

    tokio::time::sleep(Duration::from_secs(1)).await;
    cluster.kill().await.unwrap();
    down.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let during = seen.lock().await.statuses.len();
    cluster.start().await.unwrap();
    down.store(false, Ordering::Relaxed);
    let back = Instant::now();
    loop {
        if api.get("/health").await.status == 200 {
            break;
        }
        assert!(back.elapsed() < Duration::from_secs(15), "the service did not recover by itself");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }

    let seen = seen.lock().await;
    assert_eq!(seen.client_errors, 0, "the service never dropped a connection or hung past the client's timeout");
    assert!(
        seen.slowest_while_down < Duration::from_secs(2),
        "slowest answer while down: {:?}",
        seen.slowest_while_down
    );
    let unexpected: Vec<&u16> = seen.statuses.iter().filter(|s| !matches!(s, 200 | 201 | 503)).collect();
    assert!(unexpected.is_empty(), "{unexpected:?}");
    assert!(seen.statuses.contains(&503), "the outage was seen");
    assert!(seen.statuses.len() > during, "requests succeeded again after the outage");
    let stored: Vec<i64> = sqlx::query_scalar("select id from parties").fetch_all(&pool).await.unwrap();
    let lost: Vec<&i64> = seen.acknowledged.iter().filter(|id| !stored.contains(id)).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    assert!(seen.acknowledged.len() > 10);
    pool.close().await;
    cluster.stop().await.unwrap();
}

#[tokio::test]
async fn a_service_killed_while_certifying_leaves_each_house_whole() {
    let db = common::TestDb::with_district().await;
    let setup = Api::new(common::spawn_app_as(db.pool.clone(), Role::Officer).await);
    let mut deals = Vec::new();
    for n in 1..=30 {
        deals.push(setup.contracted(n).await.1);
    }
    let token = common::account(&db.pool, "officer.kill", Role::Officer).await;
    let (mut service, base) = serve_binary(&db.url).await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let calls: Vec<_> = deals
        .iter()
        .map(|t| {
            let req = client.post(format!("{base}/api/v1/transactions/{t}/certify")).bearer_auth(&token);
            tokio::spawn(async move { req.send().await.map(|r| r.status().as_u16()).ok() })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(30)).await;
    service.kill().unwrap();
    service.wait().unwrap();
    let mut answered = 0;
    for c in calls {
        if c.await.unwrap() == Some(201) {
            answered += 1;
        }
    }

    // Every house is certified with its certificate, or contracted without one: nothing in between.
    let (certified, certificates, torn): (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from farmhouses where status = 'certified'),
                (select count(*) from certifications where revoked_at is null),
                (select count(*) from farmhouses f
                 where (f.status = 'certified') <> exists (
                     select 1 from transactions t join certifications c on c.transaction_id = t.id
                     where t.farmhouse_id = f.id and t.status = 'signed' and c.revoked_at is null))",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(torn, 0, "houses whose status disagrees with their certificates");
    assert_eq!(certified, certificates);
    assert!(certificates >= answered, "every answered certification is kept ({answered} answered)");
    // The numbers issued have no gaps.
    let numbers: Vec<String> =
        sqlx::query_scalar("select certificate_no from certifications order by id").fetch_all(&db.pool).await.unwrap();
    for (i, no) in numbers.iter().enumerate() {
        assert!(no.ends_with(&format!("{:06}", i + 1)), "{numbers:?}");
    }
}

#[tokio::test]
async fn an_import_killed_half_way_leaves_no_partial_rows() {
    let db = common::TestDb::with_district().await;
    // 12,000 parcels of 20 m on a grid: enough that loading them takes a moment.
    let (lon0, lat0) = common::fixtures::CENTRE;
    let features: Vec<serde_json::Value> = (0..12_000u32)
        .map(|i| {
            let (x, y) = (lon0 + f64::from(i % 100) * 25.0 / 96_490.0, lat0 + f64::from(i / 100) * 25.0 / 110_900.0);
            let (dx, dy) = (20.0 / 96_490.0, 20.0 / 110_900.0);
            json!({"type": "Feature",
                   "properties": {"parcel_code": format!("330604001{:03}JC{:05}", i / 90_000 + 1, i % 90_000 + 1),
                                  "village": "测试村", "land_use": "0702"},
                   "geometry": {"type": "Polygon",
                                "coordinates": [[[x, y], [x + dx, y], [x + dx, y + dy], [x, y + dy], [x, y]]]}})
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("parcels.geojson");
    std::fs::write(&file, serde_json::to_vec(&json!({"type": "FeatureCollection", "features": features})).unwrap())
        .unwrap();

    let mut import = std::process::Command::new(env!("CARGO_BIN_EXE_farmhouse"))
        .args(["import", "parcels"])
        .arg(&file)
        .args(["--crs", "EPSG:4326", "--database-url", &db.url])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the import writes inside its transaction, then kill it.
    let started = Instant::now();
    loop {
        let writing: bool = sqlx::query_scalar(
            "select exists (select 1 from pg_stat_activity
                            where datname = current_database() and application_name = 'farmhouse'
                              and state = 'active' and (query ilike 'copy%' or query ilike 'insert into parcels%'))",
        )
        .fetch_one(&db.admin)
        .await
        .unwrap();
        if writing {
            break;
        }
        assert!(import.try_wait().unwrap().is_none(), "the import finished before it could be killed");
        assert!(started.elapsed() < Duration::from_mins(2), "the import never started writing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    import.kill().unwrap();
    import.wait().unwrap();

    // Once the server has noticed, nothing of the import is there.
    let gone = Instant::now();
    while sqlx::query_scalar::<_, bool>(
        "select exists (select 1 from pg_stat_activity where datname = current_database()
                        and application_name = 'farmhouse' and state <> 'idle' and pid <> pg_backend_pid())",
    )
    .fetch_one(&db.admin)
    .await
    .unwrap()
    {
        assert!(gone.elapsed() < Duration::from_secs(30), "the killed import's session lingers");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (parcels, imports, history): (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from parcels), (select count(*) from imports),
                (select count(*) from history where table_name = 'parcels')",
    )
    .fetch_one(&db.admin)
    .await
    .unwrap();
    assert_eq!((parcels, imports, history), (0, 0, 0));
}

#[tokio::test]
async fn health_answers_within_a_second_while_ten_polygons_at_the_cap_are_checked() {
    let db = common::TestDb::with_district().await;
    for k in 1..=10u32 {
        common::fixtures::parcel(&db.pool, &format!("330604001001JC{k:05}"), f64::from(k) * 100.0).await;
    }
    let token = common::account(&db.pool, "officer.cap", Role::Officer).await;
    let (mut service, base) = serve_binary(&db.url).await;
    let client = reqwest::Client::builder().timeout(Duration::from_mins(2)).build().unwrap();

    // Ten houses, each at the cap: 4,000 positions in the shell and 100 holes of 10 positions.
    let bodies: Vec<serde_json::Value> = (1..=10u32)
        .map(|k| {
            let mut house = common::api::house_feature(k);
            house["geometry"] = common::fixtures::round_polygon(f64::from(k) * 100.0, 5.0, 4_000, 100, 10);
            house
        })
        .collect();
    let sent = Instant::now();
    let calls: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let req = client.post(format!("{base}/api/v1/farmhouses")).bearer_auth(&token).json(&body);
            tokio::spawn(async move {
                let res = req.send().await.unwrap();
                (res.status().as_u16(), Instant::now())
            })
        })
        .collect();
    // /health, every 50 ms, until the last of the ten is answered.
    let mut probes = Vec::new();
    while calls.iter().any(|c| !c.is_finished()) {
        let asked = Instant::now();
        let status = client.get(format!("{base}/health")).send().await.unwrap().status().as_u16();
        probes.push((status, asked.elapsed()));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut answered = Vec::new();
    for c in calls {
        answered.push(c.await.unwrap());
    }
    service.kill().unwrap();
    service.wait().unwrap();

    let slowest = probes.iter().map(|p| p.1).max().unwrap_or_default();
    let last = answered.iter().map(|a| a.1 - sent).max().unwrap_or_default();
    eprintln!(
        "ten houses at the cap answered within {last:?}; {} health probes meanwhile, slowest {slowest:?}",
        probes.len()
    );
    assert!(answered.iter().all(|a| a.0 == 201), "{answered:?}");
    assert!(!probes.is_empty(), "/health was asked while the houses were checked");
    assert!(probes.iter().all(|p| p.0 == 200), "{probes:?}");
    assert!(slowest < Duration::from_secs(1), "/health took {slowest:?} while polygons were checked");
}

/// The real binary serving the database at `url` on a free port, once its `/health` answers 200 (within
/// 30 s); returns the process and its base URL.
async fn serve_binary(url: &str) -> (std::process::Child, String) {
    let port = common::free_port();
    let service = std::process::Command::new(env!("CARGO_BIN_EXE_farmhouse"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--database-url", url])
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let probe = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let started = Instant::now();
    while probe.get(format!("{base}/health")).send().await.map_or(true, |r| r.status() != 200) {
        assert!(started.elapsed() < Duration::from_secs(30));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (service, base)
}
