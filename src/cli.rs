//! Runs one command of the command line.

use anyhow::Result;
use sqlx::PgPool;

use crate::config::{Cli, Command, DbArgs, ServeArgs};
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
    }
}

/// The database a command works on: the configured URL, or the embedded cluster (started if needed,
/// and stopped again on [`Database::close`] if this command started it). Migrated on open.
pub struct Database {
    pub pool: PgPool,
    embedded: Option<(Cluster, bool)>,
}

impl Database {
    pub async fn open(args: &DbArgs, config: &PoolConfig) -> Result<Self> {
        let (url, embedded) = match &args.database_url {
            Some(url) => (url.clone(), None),
            None => {
                let (cluster, url, started) = store::embedded(&args.data_dir, args.pg_port).await?;
                (url, Some((cluster, started)))
            }
        };
        let pool = store::pool(&url, config)?;
        store::migrate(&pool).await?;
        Ok(Self { pool, embedded })
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
    let listener = tokio::net::TcpListener::bind(args.bind).await?;
    tracing::info!(addr = %listener.local_addr()?, "serving");
    let state = crate::http::AppState::new(database.pool.clone());
    let upkeep = tokio::spawn(end_expired_leases(state.clone()));
    crate::http::serve(listener, state, crate::http::shutdown_signal()).await?;
    upkeep.abort();
    tracing::info!("stopped serving");
    database.close().await
}

/// Every hour (and at start), returns the houses whose lease term is over to registered.
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
    }
}
