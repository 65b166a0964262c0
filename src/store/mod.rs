//! PostgreSQL: the connection pool, the embedded cluster, the schema and the queries per record type.

pub mod cluster;
pub mod copy;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

pub use cluster::Cluster;

/// The schema, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How the service talks to PostgreSQL.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    pub max_connections: u32,
    /// How long a request waits for a free connection (or a new one) before it fails.
    pub acquire_timeout: Duration,
    /// The server cancels any statement that runs longer.
    pub statement_timeout: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(30),
        }
    }
}

/// A pool for `url`. Connections are opened when first needed, so a service can start (and report 503
/// on `/health`) while the database is down.
pub fn pool(url: &str, config: &PoolConfig) -> Result<PgPool> {
    let options = PgConnectOptions::from_str(url)
        .with_context(|| format!("bad database URL {}", redact(url)))?
        .application_name("farmhouse")
        .options([("statement_timeout", format!("{}ms", config.statement_timeout.as_millis()))])
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(2));
    Ok(PgPoolOptions::new()
        .max_connections(config.max_connections)
        .min_connections(0)
        .acquire_timeout(config.acquire_timeout)
        .idle_timeout(Duration::from_secs(300))
        .connect_lazy_with(options))
}

/// Brings the schema of the database behind `pool` up to date. A server without PostGIS gets one error
/// that says how to install it.
pub async fn migrate(pool: &PgPool) -> Result<()> {
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
