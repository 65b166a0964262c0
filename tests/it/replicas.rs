//! Read scaling on streaming-replication standbys: a primary of the test's own and a real standby made
//! from it with `pg_basebackup -R`, both on loopback. The map's reads (tiles, OGC API – Features, the
//! stats summary) are served by the standby — a write the standby has not replayed (replay paused) is
//! missing from them while the JSON API, logins and tokens on the primary see it — and show the write
//! once replay resumes; a tile read from the lagging standby is not cached; and with the standby
//! stopped, the same reads fall back to the primary and still answer.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::api::{Api, house_feature};
use crate::common::map_fixtures::{features, tile_at};
use farmhouse::domain::roles::Role;
use farmhouse::http::AppState;
use farmhouse::store::standbys::{self, ReadPools};
use farmhouse::store::{self, Cluster, PoolConfig};
use serde_json::Value;
use sqlx::{Connection, PgConnection};

/// Stops the clusters under these folders when dropped, so a failing test leaves no server running
/// (the temporary folder is removed after it).
struct StopOnDrop(Vec<PathBuf>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let Ok(pg_ctl) = store::cluster::postgres_program("pg_ctl") else { return };
        for dir in &self.0 {
            let _ = as_server(&pg_ctl)
                .args(["-D", &dir.to_string_lossy(), "-m", "immediate", "-w", "stop"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A PostgreSQL program run as the user that owns the clusters (`postgres` when the test runs as root).
fn as_server(program: &Path) -> std::process::Command {
    let mut cmd = if running_as_root() {
        let mut c = std::process::Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        std::process::Command::new(program)
    };
    cmd.current_dir("/");
    cmd
}

/// A standby of `primary` in `dir`: a base backup over loopback with `-R`, which writes the
/// `standby.signal` and the `primary_conninfo` that make the copy follow the primary's WAL.
fn base_backup(primary: &Cluster, dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir(dir).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    if running_as_root() {
        let chown = std::process::Command::new("chown").arg("postgres").arg(dir).status().unwrap();
        assert!(chown.success());
    }
    let out = as_server(&store::cluster::postgres_program("pg_basebackup").unwrap())
        .args(["-h", "127.0.0.1", "-p", &primary.port().to_string(), "-U", "postgres"])
        .args(["-D", &dir.to_string_lossy(), "-R", "-X", "stream", "-c", "fast", "--no-sync"])
        .output()
        .unwrap();
    assert!(out.status.success(), "pg_basebackup: {}", String::from_utf8_lossy(&out.stderr));
}

/// Waits until the standby has replayed everything the primary has written.
async fn caught_up(primary: &mut PgConnection, standby: &mut PgConnection) {
    let target = standbys::primary_position(&mut *primary).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while standbys::replayed_position(&mut *standby).await.unwrap() < target {
        assert!(Instant::now() < deadline, "the standby did not catch up with {target}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn set_replay(standby: &mut PgConnection, paused: bool) {
    let call = if paused { "select pg_wal_replay_pause()" } else { "select pg_wal_replay_resume()" };
    sqlx::query(call).execute(&mut *standby).await.unwrap();
    let want = if paused { "paused" } else { "not paused" };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let state: String =
            sqlx::query_scalar("select pg_get_wal_replay_pause_state()").fetch_one(&mut *standby).await.unwrap();
        if state == want {
            return;
        }
        assert!(Instant::now() < deadline, "replay is {state}, not {want}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Status, `x-tile-cache` and body of a tile.
async fn tile(client: &reqwest::Client, base: &str, path: &str) -> (u16, String, Vec<u8>) {
    let res = client.get(format!("{base}/tiles/{path}")).send().await.unwrap();
    let status = res.status().as_u16();
    let cache = res.headers().get("x-tile-cache").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, cache, res.bytes().await.unwrap().to_vec())
}

/// Connections of the service's pools (application_name `farmhouse`) to the standby's database.
async fn service_connections(standby: &mut PgConnection) -> i64 {
    sqlx::query_scalar(
        "select count(*) from pg_stat_activity
         where datname = 'farmhouse' and application_name = 'farmhouse' and backend_type = 'client backend'",
    )
    .fetch_one(standby)
    .await
    .unwrap()
}

#[tokio::test]
async fn map_reads_are_served_by_a_standby_and_fall_back_to_the_primary_without_it() {
    let started = Instant::now();
    let dir = common::cluster_tempdir();
    let mut stop = StopOnDrop(Vec::new());

    let mut primary = Cluster::new(&dir.path().join("primary"), common::free_port()).unwrap();
    stop.0.push(primary.dir().to_path_buf());
    primary.start().await.unwrap();
    store::create_database(&primary.url("postgres"), "farmhouse", None).await.unwrap();
    let url = primary.url("farmhouse");
    store::migrate(&url).await.unwrap();
    let pool = store::pool(&url, &PoolConfig::default()).unwrap();
    common::fixtures::district(&pool).await;

    let standby_dir = dir.path().join("standby");
    base_backup(&primary, &standby_dir);
    let mut standby = Cluster::new(&standby_dir, common::free_port()).unwrap();
    stop.0.push(standby.dir().to_path_buf());
    standby.start().await.unwrap();

    // The test's own connections carry no application_name, so they are not counted as the service's.
    let mut on_primary = PgConnection::connect(&url).await.unwrap();
    let mut on_standby = PgConnection::connect(&standby.url("farmhouse")).await.unwrap();
    let in_recovery: bool = sqlx::query_scalar("select pg_is_in_recovery()").fetch_one(&mut on_standby).await.unwrap();
    assert!(in_recovery, "the copy runs as a standby");
    caught_up(&mut on_primary, &mut on_standby).await;

    let reads = ReadPools::new(pool.clone(), &[standby.url("farmhouse")], &PoolConfig::default()).unwrap();
    let state = AppState::with_reads(reads);
    state.tiles.listening().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(farmhouse::http::serve(listener, state.clone(), std::future::pending()));
    let public = Api::new(addr);
    let base = public.base.clone();
    let client = reqwest::Client::new();
    let house_tile = format!("farmhouses/{}", tile_at(16, 100.0, 0.0));

    // Everything replayed: the standby's tiles are cached like the primary's.
    caught_up(&mut on_primary, &mut on_standby).await;
    assert_eq!(public.get("/api/v1/stats/summary").await.expect(200).body["houses"]["total"], 0);
    assert_eq!(tile(&client, &base, &house_tile).await.0, 204);
    assert_eq!(tile(&client, &base, &house_tile).await.1, "hit");
    assert!(service_connections(&mut on_standby).await > 0, "the service reads from the standby");
    let health = public.get("/health").await.expect(200);
    assert_eq!(health.body["standbys"][0]["status"], "ok", "{}", health.body);
    assert!(health.body["standbys"][0]["lag_bytes"].is_u64(), "{}", health.body);

    // With replay paused, the standby keeps what it had. An officer whose account and token exist only
    // on the primary registers a house: logins and writes are the primary's.
    set_replay(&mut on_standby, true).await;
    let token = common::account(&pool, "li.officer", Role::Officer).await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    let officer =
        Api { base: base.clone(), client: reqwest::Client::builder().default_headers(headers).build().unwrap() };
    officer.parcel(1).await;
    let house = officer.post("/api/v1/farmhouses", &house_feature(1)).await.expect(201).body["id"].as_i64().unwrap();
    officer.get(&format!("/api/v1/farmhouses/{house}")).await.expect(200);

    // The map's reads come from the standby, which has not seen the house.
    public.get(&format!("/collections/farmhouses/items/{house}")).await.expect(404);
    let items = public.get("/collections/farmhouses/items").await.expect(200);
    assert_eq!(items.body["numberMatched"], 0, "{}", items.body);
    assert_eq!(public.get("/api/v1/stats/summary").await.expect(200).body["houses"]["total"], 0);
    // The write dropped the cached tile; the standby's render of it is stale, so it is served but not kept.
    assert_eq!(tile(&client, &base, &house_tile).await, (204, "miss".into(), Vec::new()));
    assert_eq!(tile(&client, &base, &house_tile).await.1, "miss", "a tile the standby rendered stale was cached");

    // Replay resumes: the standby's reads show the house, and its tile is cached again.
    set_replay(&mut on_standby, false).await;
    caught_up(&mut on_primary, &mut on_standby).await;
    let item = public.get(&format!("/collections/farmhouses/items/{house}")).await.expect(200);
    assert_eq!(item.body["properties"]["unit_number"], "330604001001JC00001F00010001");
    let items = public.get("/collections/farmhouses/items").await.expect(200);
    assert_eq!(items.body["numberMatched"], 1, "{}", items.body);
    assert_eq!(public.get("/api/v1/stats/summary").await.expect(200).body["houses"]["total"], 1);
    let (status, cache, body) = tile(&client, &base, &house_tile).await;
    assert_eq!((status, cache.as_str()), (200, "miss"));
    let drawn: Vec<u64> = features(&body, "farmhouses").iter().map(|(id, _)| *id).collect();
    assert_eq!(drawn, [house as u64]);
    assert_eq!(tile(&client, &base, &house_tile).await.1, "hit");

    // Without the standby, the same reads are answered by the primary; /health says so and stays 200.
    standby.stop().await.unwrap();
    public.get(&format!("/collections/farmhouses/items/{house}")).await.expect(200);
    assert_eq!(public.get("/collections/farmhouses/items").await.expect(200).body["numberMatched"], 1);
    assert_eq!(public.get("/api/v1/stats/summary").await.expect(200).body["houses"]["total"], 1);
    let parcel_tile = format!("parcels/{}", tile_at(16, 100.0, 0.0));
    let (status, cache, body) = tile(&client, &base, &parcel_tile).await;
    assert_eq!((status, cache.as_str()), (200, "miss"), "rendered now, by the primary");
    assert_eq!(features(&body, "parcels").len(), 1);
    let health = public.get("/health").await.expect(200);
    assert_eq!(health.body["database"], "ok");
    assert_eq!(health.body["standbys"][0]["status"], "down", "{}", health.body);
    let tilejson: Value = public.get("/tiles/farmhouses").await.expect(200).body;
    assert_eq!(tilejson["tilejson"], "3.0.0");

    primary.stop().await.unwrap();
    drop(stop);
    eprintln!("replicas test took {:?}", started.elapsed());
}
