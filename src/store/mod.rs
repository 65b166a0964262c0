//! PostgreSQL: the connection pool, the embedded cluster, the schema and the queries per record type.

pub mod access;
pub mod activation;
pub mod analysis;
pub mod audit;
pub mod backup;
pub mod cluster;
pub mod constraints;
pub mod copy;
pub mod deals;
pub mod exports;
pub mod farmhouses;
pub mod geometry;
pub mod history;
pub mod imports;
pub mod legacy;
pub mod money;
pub mod parcels;
pub mod parties;
pub mod photos;
pub mod pitr;
pub mod projects;
pub mod standbys;
pub mod townships;
pub mod two_factor;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Executor, PgConnection, PgPool, Postgres, Transaction};

pub use cluster::Cluster;

use crate::domain::FieldError;
use crate::domain::lifecycle::Status;
use crate::domain::records::{ListingStatus, TransactionStatus};

/// Why a store operation did not happen, beyond a database fault.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    /// The action does not fit the record's current state; `current` describes that state.
    #[error("{detail}")]
    Conflict { detail: String, current: Box<Current> },
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

    pub fn conflict(detail: impl Into<String>, current: Current) -> Self {
        Self::Conflict { detail: detail.into(), current: Box::new(current) }
    }

    /// What kind of database fault this is, if it is one.
    pub fn fault(&self) -> Option<Fault> {
        match self {
            StoreError::Database(e) => Some(Fault::of(e)),
            _ => None,
        }
    }
}

pub type StoreResult<T> = std::result::Result<T, StoreError>;

/// The state of the records an action conflicted with, as typed facts: the house and its status, and
/// the listing, lease or certificate concerned. The HTTP edge shows them in its 409 answer.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Current {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub farmhouse_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listing_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listing_status: Option<ListingStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_status: Option<TransactionStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
    /// What a deal still lacks for its certificate: items of its checklist, or `officers` (a second officer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<Vec<String>>,
}

impl Current {
    /// House `id` in state `status`.
    pub fn house(id: i64, status: Status) -> Self {
        Self { farmhouse_id: Some(id), status: Some(status), ..Self::default() }
    }
}

/// A database error, sorted by what the caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum Fault {
    /// No connection came free in time: every connection is in use, or the database is down.
    #[error("no database connection came free in time")]
    Waited,
    /// The database cannot be reached.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The database is shutting down, refuses connections or cancelled a statement that ran too long.
    #[error("the database is busy or unavailable: {0}")]
    Overloaded(String),
    /// Text the database cannot store (a NUL character), whichever field it came in.
    #[error("a value contains a character that cannot be stored (NUL)")]
    Unstorable,
    /// A rule of the registry (a named constraint), with the field and message clients are given.
    #[error("{}: {}", .0.field, .0.message)]
    Broke(constraints::Rule),
    /// Anything else: a fault of the service, described for its log.
    #[error("{0}")]
    Other(String),
}

impl Fault {
    pub fn of(e: &sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut => Fault::Waited,
            sqlx::Error::Io(_) | sqlx::Error::PoolClosed => Fault::Unavailable(e.to_string()),
            sqlx::Error::Database(db) => {
                // 57014 query_canceled (statement timeout), 57P01..03 admin shutdown / cannot connect now,
                // 53300 too many connections, 08006 connection failure.
                let code = db.code().unwrap_or_default();
                if matches!(code.as_ref(), "57014" | "57P01" | "57P02" | "57P03" | "53300" | "08006") {
                    return Fault::Overloaded(e.to_string());
                }
                // 22021 character_not_in_repertoire (a NUL byte), 22P05 untranslatable_character.
                if matches!(code.as_ref(), "22021" | "22P05") {
                    return Fault::Unstorable;
                }
                match db.constraint().and_then(constraints::describe) {
                    Some(rule) => Fault::Broke(rule),
                    None => Fault::Other(format!("{e:?}")),
                }
            }
            _ => Fault::Other(format!("{e:?}")),
        }
    }
}

/// A transaction whose changes the history attributes to an actor: every write of the service goes
/// through one. It dereferences to the connection the store's functions take.
pub struct Write(Transaction<'static, Postgres>);

impl Write {
    pub async fn commit(self) -> StoreResult<()> {
        Ok(self.0.commit().await?)
    }
}

impl std::ops::Deref for Write {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        &self.0
    }
}

impl std::ops::DerefMut for Write {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.0
    }
}

/// A transaction whose changes the history attributes to `actor` (e.g. `officer:li.ming`).
pub async fn begin_as(pool: &PgPool, actor: &str) -> StoreResult<Write> {
    let mut tx = pool.begin().await?;
    sqlx::query("select set_config('farmhouse.actor', $1, true)").bind(actor).execute(&mut *tx).await?;
    Ok(Write(tx))
}

/// The pool of connections to one server: the primary, or a standby that serves reads.
pub type Pool = PgPool;

/// Whether the server of `pool` answers a query, on the connections reserved for health checks.
pub async fn ping(pool: &PgPool) -> StoreResult<()> {
    sqlx::query_scalar::<_, i32>("select 1").fetch_one(pool).await?;
    Ok(())
}

/// Whether the server `pool` connects to answers on a new connection of its own, outside the pool (which
/// may be full of busy connections): tells a busy service from a database that is down.
pub async fn probe(pool: &PgPool, timeout: Duration) -> bool {
    let options = pool.connect_options().as_ref().clone();
    let attempt = async {
        let mut conn = PgConnection::connect_with(&options).await?;
        sqlx::query("select 1").execute(&mut conn).await?;
        conn.close().await
    };
    matches!(tokio::time::timeout(timeout, attempt).await, Ok(Ok(())))
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
            acquire_timeout: Duration::from_secs(1),
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
        .idle_timeout(Duration::from_mins(5))
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
        Ok(()) => {
            // Places written before their names were romanised (migration 0118) get their pinyin.
            let mut conn = pool.acquire().await?;
            townships::romanise_names(&mut conn).await.context("romanising the place names")?;
            Ok(())
        }
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
pub async fn embedded(data_dir: &Path, port: u16, archive: Option<&Path>) -> Result<(Cluster, String, bool)> {
    let mut cluster = embedded_cluster(data_dir, port, archive)?;
    let started = cluster.start().await?;
    let url = cluster.url("farmhouse");
    create_database(&cluster.url("postgres"), "farmhouse", None).await?;
    Ok((cluster, url, started))
}

/// The embedded cluster of `data_dir` (not started), archiving its WAL into `archive` or, by default,
/// into `wal-archive` beside the cluster's folder (docs/DESIGN.md §6.1).
pub fn embedded_cluster(data_dir: &Path, port: u16, archive: Option<&Path>) -> Result<Cluster> {
    let dir = cluster_dir(data_dir)?;
    let archive = archive.map_or_else(|| dir.with_file_name("wal-archive"), Path::to_path_buf);
    Cluster::new(&dir, port)?.archiving_to(&archive)
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
