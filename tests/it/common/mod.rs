//! Test harness: every test gets a database of its own on a real PostgreSQL + PostGIS server.
//!
//! The server is the one `FARMHOUSE_TEST_DATABASE_URL` names (an admin URL; `make test` starts a
//! throwaway cluster and sets it), or else a private cluster under Cargo's target/tmp folder, started on
//! first use. The schema is migrated once into a template database named after the migrations' checksums;
//! each test's database is a copy of it, so tests run in parallel without seeing each other's rows.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use farmhouse::domain::roles::Role;
use farmhouse::http::auth::Caller;
use farmhouse::store::{self, Cluster, PoolConfig};
use sqlx::{Connection, Executor, PgConnection, PgPool};

pub mod api;
pub mod fixtures;
pub mod map_fixtures;

/// A database of one test.
pub struct TestDb {
    /// Connections as the service works: the service role, which cannot change the history.
    pub pool: PgPool,
    /// Connections as the database owner (a superuser), for tests that must bypass the service role.
    pub admin: PgPool,
    pub url: String,
    pub name: String,
}

impl TestDb {
    /// A fresh, migrated database.
    pub async fn new() -> Self {
        let admin = admin_url().await;
        let template = template(&admin).await;
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        store::create_database(&admin, &name, Some(&template)).await.expect("create test database");
        let url = database_url(&admin, &name);
        let pool = store::pool(&url, &PoolConfig::default()).expect("pool");
        let admin = store::pool(&url, &PoolConfig::admin()).expect("pool");
        Self { pool, admin, url, name }
    }

    /// A database of its own holding the Shangyu demo district, loaded as `serve` does on its first start.
    /// The district is generated once per test binary into a database that each call then copies.
    pub async fn demo() -> Self {
        static SEEDED: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
        let template = SEEDED
            .get_or_init(|| async {
                let db = TestDb::new().await;
                assert!(farmhouse::cli::load_demo_if_empty(&db.pool).await.expect("the demo loads"));
                db.pool.close().await;
                db.admin.close().await;
                let name = db.name.clone();
                // The template stays for the other tests of this binary (its server is throwaway).
                std::mem::forget(db);
                name
            })
            .await;
        let admin = admin_url().await;
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        store::create_database(&admin, &name, Some(template)).await.expect("copy the demo database");
        let url = database_url(&admin, &name);
        let pool = store::pool(&url, &PoolConfig::default()).expect("pool");
        let admin = store::pool(&url, &PoolConfig::admin()).expect("pool");
        Self { pool, admin, url, name }
    }

    /// A database of its own with no schema at all (not even `_sqlx_migrations`), for tests of migrating.
    pub async fn empty() -> Self {
        let admin = admin_url().await;
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        store::create_database(&admin, &name, None).await.expect("create empty database");
        let url = database_url(&admin, &name);
        let pool = store::pool(&url, &PoolConfig::default()).expect("pool");
        let admin = store::pool(&url, &PoolConfig::admin()).expect("pool");
        Self { pool, admin, url, name }
    }

    /// The URL of a new, empty database (no schema) on the same server.
    pub async fn empty_sibling(&self) -> String {
        let admin = admin_url().await;
        let name = format!("e_{}", uuid::Uuid::new_v4().simple());
        store::create_database(&admin, &name, None).await.expect("create empty database");
        database_url(&admin, &name)
    }

    /// A fresh database with the Shangyu district and one township covering it.
    pub async fn with_district() -> Self {
        let db = Self::new().await;
        fixtures::district(&db.pool).await;
        db
    }
}

/// Each test's database goes when the test ends (unless `FARMHOUSE_TEST_KEEP_DB` is set, to look at it),
/// so a long-lived test cluster does not fill the disk.
impl Drop for TestDb {
    fn drop(&mut self) {
        if std::env::var_os("FARMHOUSE_TEST_KEEP_DB").is_some() {
            return;
        }
        let Ok(psql) = store::cluster::postgres_program("psql") else { return };
        let admin = database_url(&self.url, "postgres");
        let _ = std::process::Command::new(psql)
            .args(["--quiet", "--no-psqlrc", "--dbname", &admin, "--command"])
            .arg(format!("drop database if exists \"{}\" with (force)", self.name))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// The URL of database `name` on the server of `admin`.
pub fn database_url(admin: &str, name: &str) -> String {
    let mut u = url::Url::parse(admin).expect("admin URL");
    u.set_path(&format!("/{name}"));
    u.to_string()
}

/// The admin URL of the test server, starting the private cluster if no server is configured.
async fn admin_url() -> String {
    static URL: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    URL.get_or_init(|| async {
        if let Ok(url) = std::env::var("FARMHOUSE_TEST_DATABASE_URL") {
            return url;
        }
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("test-cluster");
        std::fs::create_dir_all(&dir).unwrap();
        open_for_server(Path::new(env!("CARGO_TARGET_TMPDIR")));
        open_for_server(&dir);
        // Several test binaries may get here at once: one creates and starts the cluster.
        let lock = std::fs::File::create(dir.join("lock")).unwrap();
        lock.lock().unwrap();
        // A port of its own per checkout, so two checkouts' test clusters do not meet.
        let port = 54330 + (env!("CARGO_TARGET_TMPDIR").bytes().map(u32::from).sum::<u32>() % 500) as u16;
        let mut cluster = Cluster::new(&dir.join("pg"), port).unwrap();
        cluster.start().await.expect("start the test cluster");
        lock.unlock().unwrap();
        cluster.url("postgres")
    })
    .await
    .clone()
}

/// The migrated template database for the current schema, created once per server.
async fn template(admin: &str) -> String {
    static NAME: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    NAME.get_or_init(|| async {
        let mut digest: u64 = 0xcbf2_9ce4_8422_2325;
        for m in store::MIGRATOR.iter() {
            for b in m.checksum.iter() {
                digest = (digest ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
            }
        }
        let name = format!("farmhouse_template_{digest:016x}");
        let mut conn = PgConnection::connect(admin).await.expect("connect to the test server");
        conn.execute("select pg_advisory_lock(4242)").await.unwrap();
        let exists: bool = sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(&name)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        if !exists {
            let building = format!("{name}_building");
            conn.execute(format!("drop database if exists {building}").as_str()).await.unwrap();
            conn.execute(format!("create database {building}").as_str()).await.unwrap();
            store::migrate(&database_url(admin, &building)).await.expect("migrate the template");
            conn.execute(format!("alter database {building} rename to {name}").as_str()).await.unwrap();
        }
        conn.execute("select pg_advisory_unlock(4242)").await.unwrap();
        name
    })
    .await
    .clone()
}

/// Lets the `postgres` user (which runs the server when tests run as root) enter `dir`.
pub fn open_for_server(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
}

/// A temporary folder a cluster can live in.
pub fn cluster_tempdir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("farmhouse-test-").tempdir().unwrap();
    open_for_server(dir.path());
    dir
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The service on a free port of 127.0.0.1 over `pool`, running until the test ends.
pub async fn spawn_app(pool: PgPool) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = farmhouse::http::AppState::new(pool);
    tokio::spawn(farmhouse::http::serve(listener, state, std::future::pending()));
    addr
}

/// The header with which a request to [`spawn_app_as`]'s service acts as another role, e.g. an admin's
/// step (a listing of the past) in an officer's workflow.
pub const TEST_ROLE: &str = "x-test-role";

/// The service where every request acts as a logged-in user of `role` (named `test-<role>`), or of the
/// role its [`TEST_ROLE`] header names.
pub async fn spawn_app_as(pool: PgPool, role: Role) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = farmhouse::http::AppState::new(pool);
    let act_as = move |mut req: axum::extract::Request, next: axum::middleware::Next| async move {
        let role = match req.headers().get(TEST_ROLE).and_then(|v| v.to_str().ok()) {
            Some(name) => name.parse::<Role>().expect("a role"),
            None => role,
        };
        let caller = Caller {
            role,
            user_id: None,
            username: Some(format!("test-{role}")),
            party_id: None,
            townships: Vec::new(),
        };
        req.extensions_mut().insert(caller);
        next.run(req).await
    };
    let app = farmhouse::http::app(state).layer(axum::middleware::from_fn(act_as));
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// An account of `role` named `name` with password `name-password`, and a bearer token for it.
pub async fn account(pool: &PgPool, name: &str, role: Role) -> String {
    account_for(pool, name, role, None).await
}

/// As [`account`], acting for party `party` (an investor's, or a bank's organisation).
pub async fn account_for(pool: &PgPool, name: &str, role: Role, party: Option<i64>) -> String {
    use farmhouse::domain::credentials::hash_password;
    let user: i64 = sqlx::query_scalar(
        "insert into users (username, role, password_hash, display_name, party_id)
         values ($1, $2, $3, $1, $4) returning id",
    )
    .bind(name)
    .bind(role.as_str())
    .bind(hash_password(&format!("{name}-password")))
    .bind(party)
    .fetch_one(pool)
    .await
    .expect("add account");
    store::access::issue_token(pool, "test", user, "test").await.expect("token").1
}
