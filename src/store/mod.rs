//! PostgreSQL: the connection pool, the embedded cluster, the schema and the queries per record type.

pub mod access;
pub mod activation;
pub mod audit;
pub mod backup;
pub mod cluster;
pub mod constraints;
pub mod copy;
pub mod farmhouses;
pub mod geometry;
pub mod history;
pub mod legacy;
pub mod parcels;
pub mod parties;
pub mod photos;
pub mod standbys;
pub mod townships;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Executor, PgConnection, PgPool, Postgres, Transaction};

pub use cluster::Cluster;

use crate::domain::FieldError;

/// Why a store operation did not happen, beyond a database fault.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    /// The action does not fit the record's current state; `current` describes that state.
    #[error("{detail}")]
    Conflict { detail: String, current: serde_json::Value },
    /// The record changed since the caller read it (optimistic concurrency).
    #[error("{0}")]
    Stale(String),
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl StoreError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }
}

pub type StoreResult<T> = std::result::Result<T, StoreError>;

/// A transaction whose changes the history attributes to `actor` (e.g. `officer:li.ming`).
pub async fn begin_as(pool: &PgPool, actor: &str) -> sqlx::Result<Transaction<'static, Postgres>> {
    let mut tx = pool.begin().await?;
    sqlx::query("select set_config('farmhouse.actor', $1, true)").bind(actor).execute(&mut *tx).await?;
    Ok(tx)
}

/// Rows after `after` (by id), at most `limit` of them plus one to tell whether more follow.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub after: i64,
    pub limit: i64,
}

impl Page {
    /// Splits `rows` (fetched with `limit + 1`) into the page and the cursor of the next page.
    pub fn split<T>(self, mut rows: Vec<T>, id: impl Fn(&T) -> i64) -> (Vec<T>, Option<i64>) {
        if rows.len() as i64 > self.limit {
            rows.truncate(self.limit as usize);
            let next = rows.last().map(id);
            (rows, next)
        } else {
            (rows, None)
        }
    }
}

/// The schema, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How the service talks to PostgreSQL.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    pub max_connections: u32,
    /// Connections the pool keeps open however idle (`serve` opens them at start: `map::warm`);
    /// commands that run and exit keep 0.
    pub min_connections: u32,
    /// How long a request waits for a free connection (or a new one) before it fails with 503: short,
    /// so an outage answers within a second instead of hanging.
    pub acquire_timeout: Duration,
    /// The server cancels any statement that runs longer.
    pub statement_timeout: Duration,
    /// The database role every connection works as (`set role`), when the login user may take it.
    pub role: Option<&'static str>,
    /// Whether a query may run on parallel workers. The service's queries are small and many run at
    /// once, so starting workers for one (which PostgreSQL does for a dense tile's few thousand rows)
    /// costs more than it saves; bulk commands may gain from them.
    pub parallel_queries: bool,
}

/// The role the service works as: it may read and append the history but never change it (see
/// migrations/0105_access.sql).
pub const SERVICE_ROLE: &str = "farmhouse_writer";

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_connections: 16,
            min_connections: 0,
            acquire_timeout: Duration::from_millis(1000),
            statement_timeout: Duration::from_secs(30),
            role: Some(SERVICE_ROLE),
            parallel_queries: true,
        }
    }
}

impl PoolConfig {
    /// Connections as the login user itself, for migrations and administration.
    pub fn admin() -> Self {
        Self { role: None, ..Self::default() }
    }
}

/// A pool for `url`. Connections are opened when first needed, so a service can start (and report 503
/// on `/health`) while the database is down.
pub fn pool(url: &str, config: &PoolConfig) -> Result<PgPool> {
    let mut settings = vec![("statement_timeout", format!("{}ms", config.statement_timeout.as_millis()))];
    if !config.parallel_queries {
        settings.push(("max_parallel_workers_per_gather", "0".to_string()));
    }
    let options = PgConnectOptions::from_str(url)
        .with_context(|| format!("bad database URL {}", redact(url)))?
        .application_name("farmhouse")
        .options(settings)
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(2));
    let role = config.role;
    Ok(PgPoolOptions::new()
        .max_connections(config.max_connections)
        .min_connections(config.min_connections.min(config.max_connections))
        .acquire_timeout(config.acquire_timeout)
        .idle_timeout(Duration::from_secs(300))
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if let Some(role) = role {
                    take_role(conn, role).await?;
                }
                Ok(())
            })
        })
        .connect_lazy_with(options))
}

/// A small pool of its own over the same database, settings and role as `pool`, for the few requests
/// that must be answered while every connection of `pool` is taken (`/health`, certificate
/// verification). Its `connections` come on top of `pool`'s and are opened when first needed. Call
/// inside a Tokio runtime.
pub fn reserve(pool: &PgPool, connections: u32) -> PgPool {
    pool.options()
        .clone()
        .max_connections(connections.max(1))
        .min_connections(0)
        .connect_lazy_with(pool.connect_options().as_ref().clone())
}

/// Works as `role` from now on, if the login user may (a superuser or a member); otherwise the login
/// user's own privileges apply, which the administrator has then chosen.
async fn take_role(conn: &mut PgConnection, role: &str) -> sqlx::Result<()> {
    let role = role.replace('\'', "''");
    let sql = format!(
        "do $$ begin
             if exists (select 1 from pg_roles where rolname = '{role}')
                and pg_has_role(current_user, '{role}', 'MEMBER') then
                 set role \"{role}\";
             end if;
         end $$"
    );
    conn.execute(sql.as_str()).await?;
    Ok(())
}

/// Brings the schema of database `url` up to date, connected as the login user itself. A server
/// without PostGIS gets one error that says how to install it.
pub async fn migrate(url: &str) -> Result<()> {
    let pool = pool(url, &PoolConfig { max_connections: 1, ..PoolConfig::admin() })?;
    let result = migrate_pool(&pool).await;
    pool.close().await;
    result
}

async fn migrate_pool(pool: &PgPool) -> Result<()> {
    // A database made with the migrations the baseline replaced is recorded as the baseline first.
    legacy::adopt(pool).await?;
    match MIGRATOR.run(pool).await {
        Ok(()) => Ok(()),
        Err(e) => {
            let text = format!("{e:#}");
            if text.contains("postgis") && (text.contains("control file") || text.contains("not available")) {
                bail!("the database server has no PostGIS extension: {}", cluster::INSTALL_HINT)
            }
            Err(e).context("migrating the database failed")
        }
    }
}

/// Creates database `name` on the server of `admin_url` unless it exists (optionally as a copy of
/// `template`).
pub async fn create_database(admin_url: &str, name: &str, template: Option<&str>) -> Result<()> {
    let mut conn =
        PgConnection::connect(admin_url).await.with_context(|| format!("cannot connect to {}", redact(admin_url)))?;
    let exists: bool = sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
        .bind(name)
        .fetch_one(&mut conn)
        .await?;
    if !exists {
        let mut sql = format!("create database {}", quote_ident(name));
        if let Some(t) = template {
            sql.push_str(&format!(" template {}", quote_ident(t)));
        }
        sqlx::raw_sql(&sql).execute(&mut conn).await?;
    }
    conn.close().await?;
    Ok(())
}

/// `name` as a quoted SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `url` with its password hidden, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// The embedded default: the private cluster kept under `data_dir`, started if it is not running, with
/// its `farmhouse` database created. Returns the cluster, the database URL, and whether this call
/// started the server (and so should stop it).
pub async fn embedded(data_dir: &Path, port: u16) -> Result<(Cluster, String, bool)> {
    let mut cluster = Cluster::new(&cluster_dir(data_dir)?, port)?;
    let started = cluster.start().await?;
    let url = cluster.url("farmhouse");
    create_database(&cluster.url("postgres"), "farmhouse", None).await?;
    Ok((cluster, url, started))
}

/// Where the embedded cluster of `data_dir` lives: `data_dir/pg`, unless this process is root and the
/// `postgres` user cannot reach it (a checkout under /root), in which case a folder under
/// /var/lib/farmhouse named after the data folder takes its place.
fn cluster_dir(data_dir: &Path) -> Result<PathBuf> {
    let preferred = data_dir.join("pg");
    if cluster::reachable_by_server(&preferred)? {
        return Ok(preferred);
    }
    let absolute = std::path::absolute(data_dir)?;
    let name: String =
        absolute.to_string_lossy().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    let fallback = Path::new("/var/lib/farmhouse").join(name).join("pg");
    tracing::warn!(
        wanted = %preferred.display(),
        using = %fallback.display(),
        "the postgres user cannot reach the data folder; keeping the cluster elsewhere"
    );
    std::fs::create_dir_all(fallback.parent().expect("has a parent"))?;
    Ok(fallback)
}
