//! Runs one command of the command line.

use anyhow::Result;
use sqlx::PgPool;

use crate::config::{Cli, Command, DbArgs, ScaleArgs, SeedCommand, ServeArgs};
use crate::store::{self, Cluster, PoolConfig};

pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Migrate(db) => {
            let database = Database::open(&db, &PoolConfig::default()).await?;
            database.close().await
        }
        Command::Seed(SeedCommand::Demo(db)) => {
            let database = Database::open(&db, &PoolConfig::default()).await?;
            let report = crate::seed::demo(&database.pool, today()).await?;
            tracing::info!(houses = report.houses, villages = report.villages, took = ?report.elapsed, "demo district loaded");
            database.close().await
        }
        Command::Seed(SeedCommand::Scale(ScaleArgs { houses, seed, db })) => {
            let database = Database::open(&db, &PoolConfig::default()).await?;
            let report = crate::seed::scale(&database.pool, houses, seed, today()).await?;
            let rate = report.houses as f64 / report.elapsed.as_secs_f64().max(0.001);
            tracing::info!(houses = report.houses, villages = report.villages, took = ?report.elapsed,
                           houses_per_second = rate.round(), "scale data loaded");
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
    if !args.no_demo {
        let mut conn = database.pool.acquire().await?;
        if !crate::seed::district::exists(&mut conn).await? {
            drop(conn);
            tracing::info!("no district yet: loading the Shangyu demo district (turn off with --no-demo)");
            let report = crate::seed::demo(&database.pool, today()).await?;
            tracing::info!(houses = report.houses, took = ?report.elapsed, "demo district loaded");
        }
    }
    let listener = tokio::net::TcpListener::bind(args.bind).await?;
    tracing::info!(addr = %listener.local_addr()?, "serving");
    let state = crate::http::AppState::new(database.pool.clone());
    crate::http::serve(listener, state, crate::http::shutdown_signal()).await?;
    tracing::info!("stopped serving");
    database.close().await
}

/// Today in China (Asia/Shanghai, UTC+8, no daylight saving): the day generated data is made for.
fn today() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}
