//! Runs one command of the command line.

use anyhow::Result;
use sqlx::PgPool;

use crate::config::{AuditAction, Cli, Command, DbArgs, ServeArgs};
use crate::store::{self, Cluster, PoolConfig};

pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Migrate(db) => {
            let database = Database::open(&db, &PoolConfig::default()).await?;
            database.close().await
        }
        Command::Routes => {
            let table = crate::http::routes::markdown(&crate::http::endpoints());
            std::io::Write::write_all(&mut std::io::stdout(), table.as_bytes())?;
            Ok(())
        }
        Command::User { action, db } => {
            let database = Database::open(&db, &PoolConfig::default()).await?;
            let result = crate::accounts::run(&database.pool, action).await;
            database.close().await?;
            result
        }
        Command::Backup { output, db } => {
            let database = Database::open(&db, &PoolConfig::default()).await?;
            let result = crate::store::backup::backup(&database.url, &output).await;
            database.close().await?;
            result?;
            let size = std::fs::metadata(&output).map(|m| m.len()).unwrap_or(0);
            say(&format!("wrote {} ({size} bytes)", output.display()));
            Ok(())
        }
        Command::Restore { file, db } => {
            let (url, embedded) = Database::locate(&db).await?;
            let admin = store::pool(&url, &PoolConfig { max_connections: 1, ..PoolConfig::admin() })?;
            let result = crate::store::backup::restore(&url, &admin, &file).await;
            admin.close().await;
            if result.is_ok() {
                store::migrate(&url).await?;
            }
            if let Some((cluster, true)) = embedded {
                cluster.stop().await?;
            }
            result?;
            say(&format!("restored {}", file.display()));
            Ok(())
        }
        Command::Audit { action: AuditAction::Verify, db } => {
            let database = Database::open(&db, &PoolConfig::default()).await?;
            let result = crate::store::audit::verify(&database.pool).await;
            database.close().await?;
            match result? {
                Ok(n) => {
                    say(&format!("the history is intact: {n} entries, each linked to the one before"));
                    Ok(())
                }
                Err(b) => anyhow::bail!("the history is broken at entry {}: {}", b.seq, b.reason),
            }
        }
    }
}

/// Prints a line of a command's result on standard output.
pub fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// The database a command works on: the configured URL, or the embedded cluster (started if needed,
/// and stopped again on [`Database::close`] if this command started it). Migrated on open.
pub struct Database {
    /// Connections as the service role (see [`PoolConfig`]).
    pub pool: PgPool,
    pub url: String,
    embedded: Option<(Cluster, bool)>,
}

impl Database {
    pub async fn open(args: &DbArgs, config: &PoolConfig) -> Result<Self> {
        let (url, embedded) = Self::locate(args).await?;
        store::migrate(&url).await?;
        let pool = store::pool(&url, config)?;
        Ok(Self { pool, url, embedded })
    }

    /// The URL of the database of `args` (starting the embedded cluster if needed), not yet migrated.
    pub async fn locate(args: &DbArgs) -> Result<(String, Option<(Cluster, bool)>)> {
        Ok(match &args.database_url {
            Some(url) => (url.clone(), None),
            None => {
                let (cluster, url, started) = store::embedded(&args.data_dir, args.pg_port).await?;
                (url, Some((cluster, started)))
            }
        })
    }

    pub async fn close(self) -> Result<()> {
        self.pool.close().await;
        if let Some((cluster, true)) = self.embedded {
            cluster.stop().await?;
        }
        Ok(())
    }
}

async fn serve(args: ServeArgs) -> Result<()> {
    let config = PoolConfig { max_connections: args.max_connections, ..PoolConfig::default() };
    let database = Database::open(&args.db, &config).await?;
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.bind))?;
    tracing::info!(addr = %listener.local_addr()?, "serving");
    let mut state = crate::http::AppState::new(database.pool.clone());
    state.session_lifetime = std::time::Duration::from_secs(args.session_hours.clamp(1, 24 * 30) * 3600);
    state.secure_cookies = args.secure_cookies;
    state.web = std::sync::Arc::new(crate::http::web::WebConfig {
        dir: args.web_dir.clone(),
        basemap_url: args.basemap_url.clone().filter(|u| !u.trim().is_empty()),
    });
    if !args.web_dir.join("index.html").is_file() {
        tracing::warn!(dir = %args.web_dir.display(), "no web map here (index.html): browsers get a notice at /");
    }
    let upkeep = tokio::spawn(end_expired_leases(state.clone()));
    crate::http::serve(listener, state, crate::http::shutdown_signal()).await?;
    upkeep.abort();
    tracing::info!("stopped serving");
    database.close().await
}

/// Every hour (and at start): returns the houses whose lease term is over to registered, and forgets
/// expired sessions.
async fn end_expired_leases(state: crate::http::AppState) {
    let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every_hour.tick().await;
        let today = chrono::Local::now().date_naive();
        match crate::store::activation::expire_leases(&state.pool, today).await {
            Ok(houses) => {
                if !houses.is_empty() {
                    tracing::info!(count = houses.len(), "leases ended at the end of their term");
                }
                for house in houses {
                    state.changed_house(house).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "ending expired leases failed; will retry"),
        }
        if let Err(e) = crate::store::access::forget_expired_sessions(&state.pool).await {
            tracing::warn!(error = %e, "removing expired sessions failed; will retry");
        }
    }
}
