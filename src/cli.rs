//! Runs one command of the command line.

use std::io::Write;

use anyhow::{Context, Result};
use sqlx::PgPool;

use crate::config::{
    AuditAction, CertificateCommand, Cli, Command, DbArgs, ExportArgs, ImportArgs, PitrArgs, ScaleArgs, SeedCommand,
    ServeArgs,
};
use crate::geo::crs::Crs;
use crate::store::{self, Cluster, PoolConfig};
use crate::telemetry::say;

pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => serve(*args).await,
        Command::Migrate(db) => {
            let database = Database::open(&db, &PoolConfig::default()).await?;
            database.close().await
        }
        Command::Import(args) => import(args).await,
        Command::Export(args) => export(args).await,
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
        Command::Certificate(command) => certificate(command),
        Command::Routes => {
            let table = crate::http::routes::markdown(&crate::http::endpoints());
            Write::write_all(&mut std::io::stdout(), table.as_bytes())?;
            Ok(())
        }
        Command::User { action, db } => {
            let database = Database::open(&db, &PoolConfig::default()).await?;
            let result = crate::accounts::run(&database.pool, action).await;
            database.close().await?;
            result
        }
        Command::Backup { output: None, pitr, db, .. } => {
            let database = Database::open(&db, &PoolConfig::default()).await?;
            let result = store::pitr::base_backup(&database.url, &pitr.dir(&db)).await;
            database.close().await?;
            let backup = result?;
            say(&format!(
                "base backup in {} (taken {} to {}); `farmhouse restore --until` can recover to any moment after it",
                backup.dir.display(),
                backup.started_at,
                backup.finished_at
            ));
            Ok(())
        }
        Command::Backup { output: Some(output), db, .. } => {
            let database = Database::open(&db, &PoolConfig::default()).await?;
            let result = store::backup::backup(&database.url, &output).await;
            database.close().await?;
            result?;
            let size = std::fs::metadata(&output).map_or(0, |m| m.len());
            say(&format!("wrote {} ({size} bytes)", output.display()));
            Ok(())
        }
        Command::Restore { until: Some(until), pitr, db, .. } => restore_until(&db, &pitr, until).await,
        Command::Restore { file: None, until: None, .. } => unreachable!("clap requires a file or --until"),
        Command::Restore { file: Some(file), db, .. } => {
            let (url, embedded) = Database::locate(&db).await?;
            let admin = store::pool(&url, &PoolConfig { max_connections: 1, ..PoolConfig::admin() })?;
            let result = store::backup::restore(&url, &admin, &file).await;
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
            let result = store::audit::verify_chains(&database.pool).await;
            database.close().await?;
            match result? {
                Ok(chains) => {
                    let intact = store::audit::describe(&chains);
                    say(&format!("the history is intact: {intact}, each linked to the one before"));
                    Ok(())
                }
                Err(b) => anyhow::bail!("the history is broken at entry {}: {}", b.seq, b.reason),
            }
        }
    }
}

/// `farmhouse restore --until`: the embedded cluster rebuilt as it was at `until`, its history checked.
async fn restore_until(db: &DbArgs, pitr: &PitrArgs, until: chrono::DateTime<chrono::FixedOffset>) -> Result<()> {
    if db.database_url.is_some() {
        anyhow::bail!(
            "restore --until rebuilds the embedded cluster; for a database of your own, recover it with \
             PostgreSQL's tools or pgBackRest (README, \"Recovery to a point in time\")"
        );
    }
    let cluster = store::embedded_cluster(&db.data_dir, db.pg_port, db.wal_archive.as_deref())?;
    let archive = cluster.archive().expect("the embedded cluster archives").to_path_buf();
    say(&format!(
        "recovering to {until} from the base backups in {} and the WAL in {}",
        pitr.dir(db).display(),
        archive.display()
    ));
    let (cluster, restored) = store::pitr::restore_until(cluster, &pitr.dir(db), &archive, until).await?;
    let url = cluster.url("farmhouse");
    let checked = async {
        let pool = store::pool(&url, &PoolConfig { max_connections: 1, ..PoolConfig::admin() })?;
        let result = store::audit::verify_chains(&pool).await;
        pool.close().await;
        anyhow::Ok(result?)
    }
    .await;
    cluster.stop().await?;
    say(&format!("restored to {until} from the base backup taken at {}", restored.from.started_at));
    if let Some(kept) = &restored.kept {
        say(&format!(
            "the cluster that was there is kept at {} ({} WAL segments of it not yet archived were replayed too)",
            kept.display(),
            restored.unarchived_segments
        ));
    }
    match checked? {
        Ok(chains) => {
            let intact = store::audit::describe(&chains);
            say(&format!("the history is intact: {intact}, each linked to the one before"));
            Ok(())
        }
        Err(b) => anyhow::bail!("the restored history is broken at entry {}: {}", b.seq, b.reason),
    }
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
        Ok(if let Some(url) = &args.database_url {
            (url.clone(), None)
        } else {
            let (cluster, url, started) =
                store::embedded(&args.data_dir, args.pg_port, args.wal_archive.as_deref()).await?;
            (url, Some((cluster, started)))
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

/// `farmhouse certificate …`: the signing keys, and checking a signed certificate offline.
fn certificate(command: CertificateCommand) -> Result<()> {
    match command {
        CertificateCommand::Verify { file, jwks, keys } => {
            let token = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?
            };
            let set: jsonwebtoken::jwk::JwkSet = match jwks {
                Some(path) => serde_json::from_str(
                    &std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?,
                )
                .with_context(|| format!("{} is not a JWK Set", path.display()))?,
                None => crate::signing::Keyring::open(&keys.dir())?.jwks(),
            };
            let (kid, facts): (String, serde_json::Value) = crate::signing::verify(token.trim(), &set)
                .with_context(|| format!("{}: not a valid signed certificate", file.display()))?;
            // The verdict on standard error, the facts alone on standard output (for `jq` and the like).
            let verdict = format!(
                "valid: certificate {} signed by key {kid}\n",
                facts.get("certificate_no").and_then(serde_json::Value::as_str).unwrap_or("?")
            );
            Write::write_all(&mut std::io::stderr(), verdict.as_bytes())?;
            say(&serde_json::to_string_pretty(&facts)?);
            Ok(())
        }
        CertificateCommand::RotateKey { keys } => {
            let dir = keys.dir();
            let (kid, path) = crate::signing::rotate(&dir)?;
            say(&format!(
                "new signing key {kid} in {}: it signs after the service restarts; older keys stay published",
                path.display()
            ));
            Ok(())
        }
        CertificateCommand::Keys { keys } => {
            let set = crate::signing::Keyring::open(&keys.dir())?.jwks();
            say(&serde_json::to_string_pretty(&set)?);
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs) -> Result<()> {
    let config = PoolConfig {
        max_connections: args.max_connections,
        min_connections: args.min_connections,
        parallel_queries: false,
        ..PoolConfig::default()
    };
    // Checked before anything starts, so a mistyped URL fails at once.
    crate::http::features::PublicUrl::new(args.public_url.as_deref(), Vec::new()).map_err(anyhow::Error::msg)?;
    let database = Database::open(&args.db, &config).await?;
    if !args.no_demo {
        load_demo_if_empty(&database.pool).await?;
    }
    crate::map::warm(&database.pool, config.min_connections.min(config.max_connections)).await;
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.bind))?;
    let bound = listener.local_addr()?;
    tracing::info!(addr = %bound, "serving");
    if args.public_url.is_none() && bound.ip().is_unspecified() {
        tracing::warn!(addr = %bound, "links name http://{bound}, which clients cannot reach: set --public-url");
    }
    let public_url = args.public_url.clone().unwrap_or_else(|| format!("http://{bound}"));
    let public_url = crate::http::features::PublicUrl::new(Some(&public_url), args.trusted_proxies.clone())
        .map_err(anyhow::Error::msg)?;
    let urls: Vec<String> =
        args.read_database_urls.iter().map(|u| u.trim().to_string()).filter(|u| !u.is_empty()).collect();
    let reads = store::standbys::ReadPools::new(database.pool.clone(), &urls, &config)?;
    for standby in reads.standbys() {
        tracing::info!(standby = %standby.name, "tiles, features and the stats summary are read from this standby too");
        // Its connections serve tiles as the primary's do, so they are opened and prepared alike.
        crate::map::warm(&standby.pool, standby.pool.options().get_max_connections()).await;
    }
    let mut state = crate::http::AppState::with_reads(reads);
    state.session_lifetime = std::time::Duration::from_secs(args.session_hours.clamp(1, 24 * 30) * 3600);
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(crate::http::tls::acceptor(cert, key)?),
        _ => None,
    };
    state.secure_cookies = args.secure_cookies
        || tls.is_some()
        || args.public_url.as_deref().is_some_and(|u| u.trim().to_ascii_lowercase().starts_with("https://"));
    state.public_url = std::sync::Arc::new(public_url);
    state.limits = args.capacity.limits();
    state.reserved = store::reserve(&database.pool, args.capacity.reserved_connections);
    let keys_dir = crate::config::keys_dir(args.certificates.signing_keys.as_deref(), &args.db.data_dir);
    let keys = crate::signing::Keyring::open_or_create(&keys_dir)?;
    let required = crate::http::two_factor::parse_required(&args.require_2fa)
        .map_err(|e| anyhow::anyhow!("--require-2fa: {e}"))?;
    let totp_key = args.totp_key.clone().unwrap_or_else(|| keys_dir.join("totp.key"));
    state.second_factor = std::sync::Arc::new(crate::http::two_factor::SecondFactor {
        required,
        key: sealing_key(&totp_key)?,
        issuer: crate::http::two_factor::DEFAULT_ISSUER.into(),
    });
    tracing::info!(dir = %keys_dir.display(), kid = keys.active_kid(), "certificates are signed with this key");
    let bold = &args.certificates.certificate_bold_font;
    state.issuing = std::sync::Arc::new(crate::http::certificates::Issuing::new(
        keys,
        args.certificates.certificate_office.clone(),
        args.certificates.certificate_font.clone(),
        bold.is_file().then(|| bold.clone()),
    ));
    if !args.certificates.certificate_font.is_file() {
        tracing::warn!(font = %args.certificates.certificate_font.display(),
                       "no font for certificate documents: install fonts-noto-cjk or set --certificate-font");
    }
    state.web = std::sync::Arc::new(crate::http::web::WebConfig {
        dir: args.web_dir.clone(),
        basemap_url: args.basemap_url.clone().filter(|u| !u.trim().is_empty()),
    });
    if !args.web_dir.join("index.html").is_file() {
        tracing::warn!(dir = %args.web_dir.display(), "no web map here (index.html): browsers get a notice at /");
    }
    let upkeep = tokio::spawn(end_expired_leases(state.clone()));
    let reads = state.reads.clone();
    let reserved = state.reserved.clone();
    if tls.is_some() {
        tracing::info!(addr = %bound, "serving HTTPS");
    }
    crate::http::serve_with(listener, state, crate::http::shutdown_signal(), tls).await?;
    upkeep.abort();
    tracing::info!("stopped serving");
    reads.close().await;
    reserved.close().await;
    database.close().await
}

/// The key sealing TOTP secrets, from `path`; a new one is written there (owner-only) when there is none.
fn sealing_key(path: &std::path::Path) -> Result<crate::domain::totp::SealingKey> {
    use crate::domain::totp::SealingKey;
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::read_to_string(path) {
        Ok(text) => SealingKey::from_base64(&text).map_err(|e| anyhow::anyhow!("--totp-key {}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let key = SealingKey::random();
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| anyhow::anyhow!("cannot write the TOTP key {}: {e}", path.display()))?;
            writeln!(file, "{}", key.to_base64())?;
            tracing::info!(file = %path.display(), "made the key that seals second-factor secrets: back it up with the signing keys");
            Ok(key)
        }
        Err(e) => Err(anyhow::anyhow!("cannot read the TOTP key {}: {e}", path.display())),
    }
}

/// Every hour (and at start): returns the houses whose lease term is over to registered, and forgets
/// expired sessions.
async fn end_expired_leases(state: crate::http::AppState) {
    let mut every_hour = tokio::time::interval(std::time::Duration::from_hours(1));
    loop {
        every_hour.tick().await;
        let today = crate::domain::lifecycle::beijing_today();
        match store::activation::expire_leases(&state.pool, today).await {
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
        if let Err(e) = store::access::forget_expired_sessions(&state.pool).await {
            tracing::warn!(error = %e, "removing expired sessions failed; will retry");
        }
    }
}

/// Loads the demo district into a database that has no district yet (the first start of `serve`).
/// Returns whether it did.
pub async fn load_demo_if_empty(pool: &PgPool) -> Result<bool> {
    let mut conn = pool.acquire().await?;
    if crate::seed::district::exists(&mut conn).await? {
        return Ok(false);
    }
    drop(conn);
    tracing::info!("no district yet: loading the Shangyu demo district (turn off with --no-demo)");
    let report = crate::seed::demo(pool, today()).await?;
    tracing::info!(houses = report.houses, took = ?report.elapsed, "demo district loaded");
    Ok(true)
}

/// Today in China (Asia/Shanghai, UTC+8, no daylight saving): the day generated data is made for.
fn today() -> chrono::NaiveDate {
    crate::domain::lifecycle::beijing_today()
}

/// `farmhouse export tiles --format pmtiles`: the public map's tiles as one PMTiles archive, with progress
/// on standard error (a bar on a terminal, else a line every 1,000 tiles).
async fn export_tiles(args: ExportArgs) -> Result<()> {
    use std::io::IsTerminal;
    if args.kind != "tiles" || args.format != "pmtiles" {
        anyhow::bail!("tiles are exported as pmtiles, and pmtiles hold tiles: `export tiles --format pmtiles`");
    }
    if args.crs.is_some() || args.township.is_some() {
        anyhow::bail!(
            "a tile export takes neither --crs (tiles are Web Mercator) nor --township (it is the whole map)"
        );
    }
    let output = args.output.as_ref().context("a tile export needs --output FILE")?;
    let database = Database::open(&args.db, &PoolConfig::default()).await?;
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("tiles [{bar:40}] {pos}/{len} ({eta} left)")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let shown = bar.clone();
    let progress = move |done: u64, total: u64| {
        shown.set_length(total);
        shown.set_position(done);
        if shown.is_hidden() && (done.is_multiple_of(1000) || done == total) {
            tracing::info!(done, total, "exporting tiles");
        }
    };
    let written = crate::map::archive::write_pmtiles(&database.pool, output, args.max_zoom, progress).await;
    bar.finish_and_clear();
    let written = written?;
    database.close().await?;
    tracing::info!(tiles = written.tiles, addressed = written.addressed, max_zoom = args.max_zoom,
                   to = %output.display(), "exported");
    Ok(())
}

async fn import(args: ImportArgs) -> Result<()> {
    use crate::import::{Failure, Kind, Source, Step};
    use std::io::IsTerminal;
    let kind = Kind::parse(&args.kind).context("kind is parcels or farmhouses")?;
    let crs = args.crs.as_deref().map(Crs::parse).transpose().map_err(anyhow::Error::msg)?;
    let source = Source::from_path(&args.file)?;
    let database = Database::open(&args.db, &PoolConfig::default()).await?;
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} features ({eta} left)")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let shown = bar.clone();
    let progress: crate::import::Progress = std::sync::Arc::new(move |step| match step {
        Step::Checking { features } => {
            shown.set_length(features as u64);
            shown.set_message("checking");
        }
        Step::Checked => shown.inc(1),
        Step::Loading => shown.set_message("loading"),
        Step::Done => shown.finish_and_clear(),
    });
    let started = std::time::Instant::now();
    let result = crate::import::load::import(&database.pool, kind, source, crs, "cli:import", progress).await;
    bar.finish_and_clear();
    database.close().await?;
    match result {
        Ok(report) => {
            tracing::info!(features = report.imported, crs = %report.crs, took = ?started.elapsed(), "imported {}", report.file);
            let mut out = serde_json::to_vec_pretty(&report)?;
            out.push(b'\n');
            Write::write_all(&mut std::io::stdout(), &out)?;
            Ok(())
        }
        Err(Failure::Invalid(errors)) => {
            let mut err = std::io::stderr();
            for e in &errors {
                let _ = writeln!(err, "{}: {}", e.field, e.message);
            }
            anyhow::bail!("{}: {} problems in the file; nothing was imported", args.file.display(), errors.len())
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!("{} was not imported", args.file.display()))),
    }
}

async fn export(args: ExportArgs) -> Result<()> {
    use crate::export::{self, Encoder, Format, ShapefileWriter};
    use crate::import::Kind;
    use futures_util::StreamExt;
    if args.kind == "tiles" || args.format == "pmtiles" {
        return export_tiles(args).await;
    }
    let kind = Kind::parse(&args.kind).context("kind is parcels or farmhouses")?;
    let format = Format::parse(&args.format).context("format is geojson, csv or shp")?;
    let crs = args.crs.as_deref().map(Crs::parse).transpose().map_err(anyhow::Error::msg)?.unwrap_or(Crs::Wgs84);
    if format == Format::Shapefile && args.output.is_none() {
        anyhow::bail!("a shapefile export needs --output PREFIX (it writes several files)");
    }
    let database = Database::open(&args.db, &PoolConfig::default()).await?;
    let mut features = export::features(&database.pool, kind, crs, args.township.as_deref());
    let written = match (format, &args.output) {
        (Format::Shapefile, Some(prefix)) => {
            let mut shp = ShapefileWriter::create(prefix, kind, crs)?;
            while let Some(f) = features.next().await {
                shp.write(&f?)?;
            }
            let (files, n) = shp.finish()?;
            tracing::info!(features = n, files = ?files, "exported");
            n
        }
        (_, output) => {
            let sink: Box<dyn Write> = match output {
                Some(path) => {
                    Box::new(std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?)
                }
                None => Box::new(std::io::stdout().lock()),
            };
            let mut out = std::io::BufWriter::new(sink);
            let mut encoder = Encoder::new(format, kind, crs);
            out.write_all(&encoder.header()?)?;
            while let Some(f) = features.next().await {
                out.write_all(&encoder.feature(&f?)?)?;
            }
            out.write_all(&encoder.footer())?;
            out.flush()?;
            encoder.written()
        }
    };
    drop(features);
    database.close().await?;
    if let Some(path) = &args.output {
        tracing::info!(features = written, to = %path.display(), "exported");
    }
    Ok(())
}
