//! The command line. Flags fall back to environment variables (listed in `farmhouse.env.example`);
//! nothing else in the program reads the environment.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use crate::http::capacity;

#[derive(Debug, Parser)]
#[command(name = "farmhouse", version, about = "Registry of rural parcels and idle farmhouses")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// How log lines are written on standard error: text for people, or json, one object a line
    /// (timestamp, level, message and fields, and the request's span: method, uri, route, id) for
    /// journald and log collectors.
    #[arg(long, env = "FARMHOUSE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

/// The format of log lines (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the registry: JSON API, OGC API – Features, vector tiles and the web map.
    Serve(Box<ServeArgs>),
    /// Bring the database schema up to date, then exit.
    Migrate(DbArgs),
    /// Print every HTTP route with the roles allowed to call it (Markdown).
    Routes,
    /// Manage accounts and their API tokens.
    User {
        #[command(subcommand)]
        action: UserAction,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Write the whole registry (schema, records, history, photos) to a file, with pg_dump; or, with
    /// --base, take a base backup of the cluster with pg_basebackup, the start of recovery to a point in
    /// time (see `restore --until`).
    Backup {
        /// The file to write (PostgreSQL custom format).
        #[arg(long, short, required_unless_present = "base", conflicts_with = "base")]
        output: Option<PathBuf>,
        /// Take a base backup (gzipped tar files and the WAL written meanwhile) into a new folder under
        /// --base-backups.
        #[arg(long)]
        base: bool,
        #[command(flatten)]
        pitr: PitrArgs,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Load a backup into an empty database, with pg_restore (refuses a database that has records); or,
    /// with --until, rebuild the embedded cluster as it was at that moment from a base backup and the WAL
    /// archive (the cluster that was there is kept aside).
    Restore {
        /// A file written by `farmhouse backup`.
        #[arg(required_unless_present = "until", conflicts_with = "until")]
        file: Option<PathBuf>,
        /// The moment to recover to, with its offset: `2026-12-01 15:59:00+08` (or RFC 3339).
        #[arg(long, value_parser = parse_moment)]
        until: Option<chrono::DateTime<chrono::FixedOffset>>,
        #[command(flatten)]
        pitr: PitrArgs,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Check the history of changes.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Import a survey file of parcels or farmhouses: GeoJSON, ESRI Shapefile (.shp with .dbf and .prj) or CSV
    /// with a WKT column, in EPSG:4549, 4528, 4490 or 4326. All or nothing; a file is imported once.
    Import(ImportArgs),
    /// Export parcels or farmhouses as GeoJSON, CSV (WKT) or a Shapefile. No private party data.
    Export(ExportArgs),
    /// Generate data: the Shangyu demo district, or scale data of any size.
    #[command(subcommand)]
    Seed(SeedCommand),
    /// The district's certificate signing keys, and checking a signed certificate offline.
    #[command(subcommand)]
    Certificate(CertificateCommand),
}

#[derive(Debug, Subcommand)]
pub enum CertificateCommand {
    /// Check a signed certificate (the JWS of `GET /api/v1/certifications/{no}/signed`) without the
    /// service: its signature against the published keys, then print the facts it states.
    Verify {
        /// The file holding the compact JWS (`-` for standard input).
        file: PathBuf,
        /// The district's JWK Set (as `GET /.well-known/jwks.json` serves it). Default: the public halves of
        /// the keys under --signing-keys.
        #[arg(long, value_name = "FILE")]
        jwks: Option<PathBuf>,
        #[command(flatten)]
        keys: KeysArgs,
    },
    /// Add a new signing key; it signs from the service's next start, and the older keys stay published.
    RotateKey {
        #[command(flatten)]
        keys: KeysArgs,
    },
    /// Print the published keys (the JWK Set).
    Keys {
        #[command(flatten)]
        keys: KeysArgs,
    },
}

/// Where the signing keys are.
#[derive(Debug, Clone, Args)]
pub struct KeysArgs {
    /// Folder of the signing keys. Default: <data-dir>/keys.
    #[arg(long, env = "FARMHOUSE_SIGNING_KEYS", value_name = "DIR")]
    pub signing_keys: Option<PathBuf>,
    /// Folder of local data.
    #[arg(long, env = "FARMHOUSE_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
}

impl KeysArgs {
    pub fn dir(&self) -> PathBuf {
        keys_dir(self.signing_keys.as_deref(), &self.data_dir)
    }
}

/// The folder of the signing keys: `--signing-keys`, else `keys` under the data folder.
pub fn keys_dir(signing_keys: Option<&Path>, data_dir: &Path) -> PathBuf {
    signing_keys.map_or_else(|| data_dir.join("keys"), Path::to_path_buf)
}

#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Add an account; the password is read from the first line of standard input.
    Add {
        name: String,
        /// investor, officer, official or admin.
        #[arg(long)]
        role: String,
        #[arg(long, default_value = "")]
        display_name: String,
        /// For an investor: the id of the party it acts for.
        #[arg(long)]
        party: Option<i64>,
        /// For an officer or official: a township (9 digits) the account is limited to; repeat for more.
        /// Left out: the whole district.
        #[arg(long = "township", value_name = "CODE")]
        townships: Vec<String>,
    },
    /// List the accounts.
    List,
    /// Set a new password (read from standard input); ends the account's sessions and tokens.
    Password { name: String },
    /// Disable an account; ends its sessions and tokens.
    Disable { name: String },
    /// Enable a disabled account again.
    Enable { name: String },
    /// Make an API token for the account and print it (it is shown only this once).
    Token {
        name: String,
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Revoke an API token by its id.
    RevokeToken { id: i64 },
    /// Remove the account's second factor and recovery codes (a lost phone) and end its sessions and
    /// tokens: its next sign-in enrols a new one where its role requires it.
    #[command(name = "reset-2fa")]
    Reset2fa { name: String },
}

#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Walk the hash chains of the history (the legacy chain, then each county's); name the first entry
    /// that was altered, removed or moved, and its chain.
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum SeedCommand {
    /// Load the Shangyu demo district (townships, villages, houses and their records) into an empty registry.
    Demo(DbArgs),
    /// Add N generated houses with records (in the demo's shares) across the district, streamed with COPY.
    Scale(ScaleArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ScaleArgs {
    /// How many houses to add.
    #[arg(long)]
    pub houses: u64,
    /// Seed of the generator: the same seed on the same database makes the same data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Where base backups are kept (docs/DESIGN.md §6.1).
#[derive(Debug, Clone, Args)]
pub struct PitrArgs {
    /// Folder of the base backups; put it on another disk than --data-dir. Default: DATA_DIR/base-backups.
    #[arg(long, env = "FARMHOUSE_BASE_BACKUPS", value_name = "DIR")]
    pub base_backups: Option<PathBuf>,
}

impl PitrArgs {
    pub fn dir(&self, db: &DbArgs) -> PathBuf {
        self.base_backups.clone().unwrap_or_else(|| db.data_dir.join("base-backups"))
    }
}

/// A moment with its offset, as an office writes it (`2026-12-01 15:59:00+08`, seconds optional) or
/// as RFC 3339.
pub fn parse_moment(text: &str) -> Result<chrono::DateTime<chrono::FixedOffset>, String> {
    let text = text.trim();
    chrono::DateTime::parse_from_rfc3339(text)
        .or_else(|_| chrono::DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z"))
        .or_else(|_| chrono::DateTime::parse_from_str(text, "%Y-%m-%d %H:%M%#z"))
        .map_err(|_| format!("{text:?} is not a moment with its offset, e.g. \"2026-12-01 15:59:00+08\""))
}

/// Where the database is.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// PostgreSQL URL (with PostGIS). Without it, a private cluster under --data-dir is started and used.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Folder for the embedded cluster and other local data.
    #[arg(long, env = "FARMHOUSE_DATA_DIR", default_value = "data", global = true)]
    pub data_dir: PathBuf,
    /// Port of the embedded cluster (127.0.0.1 only).
    #[arg(long, env = "FARMHOUSE_PG_PORT", default_value_t = 54329, global = true)]
    pub pg_port: u16,
    /// Where the embedded cluster archives each completed WAL segment (continuous archiving, for
    /// `restore --until`); put it on another disk or a mounted share. Default: `wal-archive` beside the
    /// cluster's folder (DATA_DIR/wal-archive).
    #[arg(long, env = "FARMHOUSE_WAL_ARCHIVE", value_name = "DIR", global = true)]
    pub wal_archive: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "FARMHOUSE_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Most database connections the service holds for requests (and --reserved-connections more).
    #[arg(long, env = "FARMHOUSE_MAX_CONNECTIONS", default_value_t = 16)]
    pub max_connections: u32,
    /// Database connections opened at start and kept open (at most --max-connections), so the first
    /// requests after a start do not wait for connections.
    #[arg(long, env = "FARMHOUSE_MIN_CONNECTIONS", default_value_t = 16)]
    pub min_connections: u32,
    /// How long a login session lasts, in hours.
    #[arg(long, env = "FARMHOUSE_SESSION_HOURS", default_value_t = 12)]
    pub session_hours: u64,
    /// Mark session cookies Secure and send Strict-Transport-Security (when the service is reached over
    /// HTTPS). Implied by --tls-cert and by an https:// --public-url.
    #[arg(long, env = "FARMHOUSE_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key. Without it the service speaks plain
    /// HTTP, for a reverse proxy in front that terminates TLS (see --public-url).
    #[arg(long, env = "FARMHOUSE_TLS_CERT", value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "FARMHOUSE_TLS_KEY", value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The roles that must sign in with a second factor (TOTP), comma-separated, or `none`. Accounts that
    /// enrolled one always must.
    #[arg(long = "require-2fa", env = "FARMHOUSE_REQUIRE_2FA", value_name = "ROLES",
          default_value = crate::http::two_factor::DEFAULT_REQUIRED)]
    pub require_2fa: String,
    /// The file of the key that seals users' TOTP secrets in the database (created on the first start,
    /// owner-only). Default: totp.key in the folder of the signing keys.
    #[arg(long, env = "FARMHOUSE_TOTP_KEY", value_name = "FILE")]
    pub totp_key: Option<PathBuf>,
    /// Folder of the web map: index.html, style.css, app/, and node_modules/ after `npm ci`.
    #[arg(long, env = "FARMHOUSE_WEB_DIR", default_value = "web")]
    pub web_dir: PathBuf,
    /// A raster basemap drawn under the map's own layers, as a {z}/{x}/{y} URL template (e.g. Tianditu).
    /// Unset: no raster layer, and the map needs no network.
    #[arg(long, env = "FARMHOUSE_BASEMAP_URL")]
    pub basemap_url: Option<String>,
    /// Do not load the demo district into a database that has no district yet.
    #[arg(long, env = "FARMHOUSE_NO_DEMO")]
    pub no_demo: bool,
    /// PostgreSQL URL of a streaming-replication standby of the database, to serve reads of tiles, OGC API
    /// features and the stats summary (writes and everything else stay on the primary). Repeat the flag
    /// for several standbys, taken in turn; the environment variable takes them comma-separated.
    #[arg(long = "read-database-url", value_name = "URL", env = "FARMHOUSE_READ_DATABASE_URLS", value_delimiter = ',')]
    pub read_database_urls: Vec<String>,
    /// The service's URL as its users reach it (scheme, host, port; a path prefix if a proxy adds one):
    /// the base of the absolute links in OGC API answers and TileJSON, and the origin the web page writes
    /// from. Default: http://<bind address>.
    #[arg(long, env = "FARMHOUSE_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// A reverse proxy (its address as the service sees it) whose Forwarded, X-Forwarded-Host and
    /// X-Forwarded-Proto headers are believed for links; nobody else's are. Repeat the flag for several;
    /// the environment variable takes them comma-separated.
    #[arg(long = "trusted-proxy", value_name = "ADDR", env = "FARMHOUSE_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpAddr>,
    #[command(flatten)]
    pub certificates: CertificateArgs,
    #[command(flatten)]
    pub capacity: CapacityArgs,
    #[command(flatten)]
    pub db: DbArgs,
}

/// What certificates are signed and printed with (see `src/http/certificates.rs`).
#[derive(Debug, Clone, Args)]
pub struct CertificateArgs {
    /// Folder of the district's Ed25519 signing keys (PKCS#8 PEM, owner-only). Created with a first key
    /// on the first start; `farmhouse certificate rotate-key` adds a newer one. Default: <data-dir>/keys.
    #[arg(long, env = "FARMHOUSE_SIGNING_KEYS", value_name = "DIR")]
    pub signing_keys: Option<PathBuf>,
    /// The issuing office printed on certificate documents.
    #[arg(long, env = "FARMHOUSE_CERTIFICATE_OFFICE", default_value = crate::http::certificates::DEFAULT_OFFICE)]
    pub certificate_office: String,
    /// A Chinese font (TrueType/OpenType or a collection) for certificate documents.
    #[arg(long, env = "FARMHOUSE_CERTIFICATE_FONT", default_value = crate::http::certificates::DEFAULT_FONT)]
    pub certificate_font: PathBuf,
    /// Its bold face, for the title (left out if the file is missing).
    #[arg(long, env = "FARMHOUSE_CERTIFICATE_BOLD_FONT", default_value = crate::http::certificates::DEFAULT_BOLD_FONT)]
    pub certificate_bold_font: PathBuf,
}

/// How much of the service one client may take (see `src/http/capacity.rs`).
#[derive(Debug, Clone, Args)]
pub struct CapacityArgs {
    /// Requests per second one address may make, sustained, when not signed in (0: no limit). Over it,
    /// 429 with Retry-After. Behind a reverse proxy every request has the proxy's address: limit there.
    #[arg(long, env = "FARMHOUSE_RATE_LIMIT", default_value_t = capacity::DEFAULT_RATE_PER_SECOND)]
    pub rate_limit: u32,
    /// Requests one address may make at once beyond the sustained rate (a browser opening the map).
    #[arg(long, env = "FARMHOUSE_RATE_LIMIT_BURST", default_value_t = capacity::DEFAULT_BURST)]
    pub rate_limit_burst: u32,
    /// Seconds a client may take to send a request's line and headers; also how long an idle
    /// kept-alive connection stays open.
    #[arg(long, env = "FARMHOUSE_HEADER_READ_TIMEOUT", default_value_t = capacity::DEFAULT_HEADER_READ_TIMEOUT.as_secs())]
    pub header_read_timeout: u64,
    /// Seconds an answer may wait for a client that takes none of it before the connection is closed.
    #[arg(long, env = "FARMHOUSE_IDLE_TIMEOUT", default_value_t = capacity::DEFAULT_IDLE_TIMEOUT.as_secs())]
    pub idle_timeout: u64,
    /// Most client connections served at once; further ones wait to be accepted.
    #[arg(long, env = "FARMHOUSE_MAX_CLIENT_CONNECTIONS", default_value_t = capacity::DEFAULT_MAX_CLIENT_CONNECTIONS)]
    pub max_client_connections: usize,
    /// Database connections kept apart for /health and certificate verification, on top of
    /// --max-connections, so both answer while the service is busy.
    #[arg(long, env = "FARMHOUSE_RESERVED_CONNECTIONS", default_value_t = capacity::DEFAULT_RESERVED_CONNECTIONS)]
    pub reserved_connections: u32,
}

impl CapacityArgs {
    pub fn limits(&self) -> capacity::Limits {
        capacity::Limits {
            rate_per_second: self.rate_limit,
            burst: self.rate_limit_burst,
            header_read_timeout: std::time::Duration::from_secs(self.header_read_timeout.max(1)),
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout.max(1)),
            max_client_connections: self.max_client_connections.max(1),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// What the file holds.
    #[arg(value_parser = ["parcels", "farmhouses"])]
    pub kind: String,
    /// The file (.geojson/.json, .shp, or .csv).
    pub file: PathBuf,
    /// The CRS of the coordinates, when the file does not declare it (EPSG:4549, EPSG:4528, EPSG:4490, EPSG:4326).
    #[arg(long)]
    pub crs: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// What to export: records, or `tiles` (the public map, with `--format pmtiles`).
    #[arg(value_parser = ["parcels", "farmhouses", "tiles"])]
    pub kind: String,
    #[arg(long, default_value = "geojson", value_parser = ["geojson", "csv", "shp", "pmtiles"])]
    pub format: String,
    /// tiles: the last zoom written (from 0).
    #[arg(long, default_value_t = crate::map::archive::MAX_EXPORT_ZOOM,
          value_parser = clap::value_parser!(u8).range(0..=i64::from(crate::map::archive::MAX_EXPORT_ZOOM)))]
    pub max_zoom: u8,
    /// CRS of the coordinates written (default EPSG:4326 lon/lat).
    #[arg(long)]
    pub crs: Option<String>,
    /// Only this township (9-digit code).
    #[arg(long)]
    pub township: Option<String>,
    /// Where to write: a file for geojson/csv (default standard output); the path prefix of the .shp, .shx,
    /// .dbf, .prj and .cpg files for shp (required).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub db: DbArgs,
}
