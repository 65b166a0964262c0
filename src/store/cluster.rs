//! The embedded default: a private PostgreSQL + PostGIS cluster under the project's data folder, made
//! with the system PostgreSQL's `initdb` and run with its `pg_ctl`.
//!
//! PostgreSQL refuses to run as root; when this process is root the cluster belongs to the `postgres`
//! system user and every PostgreSQL program runs through `runuser -u postgres`.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use anyhow::{Context, Result, bail};
use tokio::process::Command;

/// How to install what the embedded cluster needs, quoted by every error that lacks it.
pub const INSTALL_HINT: &str = "install PostgreSQL 15 with PostGIS 3: \
    `apt-get install -y postgresql-15 postgresql-15-postgis-3` (or run `make run`, which does)";

/// How long a quiet cluster may hold committed work in an unarchived WAL segment: PostgreSQL switches to
/// a new segment (and archives the old) after this many seconds with any change (docs/DESIGN.md §6.1).
pub const ARCHIVE_TIMEOUT_SECONDS: u32 = 30;

/// The settings file this project writes into a cluster's folder on every start, included from its
/// `postgresql.conf`: WAL archiving, and the recovery target while a restore runs.
const SETTINGS_FILE: &str = "farmhouse.conf";

/// A PostgreSQL cluster in a folder of its own, listening on 127.0.0.1 only.
#[derive(Debug, Clone)]
pub struct Cluster {
    dir: PathBuf,
    log: PathBuf,
    port: u16,
    bin: PathBuf,
    as_postgres: bool,
    /// Where completed WAL segments are copied (continuous archiving), if anywhere.
    archive: Option<PathBuf>,
    /// A recovery to a point in time this start performs (`farmhouse restore --until`).
    recovery: Option<Recovery>,
}

/// Recovery from the WAL archive up to a moment, then promotion to a primary of its own.
#[derive(Debug, Clone)]
pub struct Recovery {
    pub archive: PathBuf,
    /// The moment, as PostgreSQL reads it (`2026-12-01 15:59:00+08:00`).
    pub until: String,
}

impl Cluster {
    /// The cluster kept at `dir` (which need not exist yet), served on `port`.
    pub fn new(dir: &Path, port: u16) -> Result<Self> {
        let bin = postgres_bin_dir()?;
        let as_postgres = running_as_root();
        let dir = absolute(dir)?;
        let log = dir.with_extension("log");
        Ok(Self { dir, log, port, bin, as_postgres, archive: None, recovery: None })
    }

    /// The same cluster archiving each completed WAL segment into `dir` (created if missing; it must be
    /// reachable by the server's user).
    pub fn archiving_to(mut self, dir: &Path) -> Result<Self> {
        let dir = absolute(dir)?;
        if dir.to_string_lossy().contains(['\'', '"', '%', '\n']) {
            bail!("the WAL archive folder {} may not contain quotes, % or line breaks", dir.display());
        }
        self.archive = Some(dir);
        Ok(self)
    }

    /// The WAL archive of this cluster, if it archives.
    pub fn archive(&self) -> Option<&Path> {
        self.archive.as_deref()
    }

    /// The next start recovers up to `recovery.until` from the archive and then runs as a primary.
    pub fn recovering(mut self, recovery: Recovery) -> Self {
        self.recovery = Some(recovery);
        self
    }

    /// The folder that holds the cluster's files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection URL for database `db` of this cluster.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates the cluster if its folder holds none yet. Returns whether it was created.
    pub async fn init(&self) -> Result<bool> {
        if self.dir.join("PG_VERSION").exists() {
            return Ok(false);
        }
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create the cluster folder {}", self.dir.display()))?;
        if self.as_postgres {
            self.hand_to_postgres()?;
        }
        tracing::info!(dir = %self.dir.display(), "creating a PostgreSQL cluster");
        let dir = self.dir.to_string_lossy().into_owned();
        self.run("initdb", &["-D", &dir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale"])
            .await
            .context("initdb failed")?;
        Ok(true)
    }

    /// Whether the cluster's server is running.
    pub async fn is_running(&self) -> Result<bool> {
        let dir = self.dir.to_string_lossy().into_owned();
        let out = self.command("pg_ctl", &["-D", &dir, "status"]).output().await?;
        // pg_ctl status: 0 running, 3 not running, 4 no cluster.
        Ok(out.status.success())
    }

    /// Starts the server (creating the cluster first if needed) and waits until it accepts connections.
    /// Returns whether this call started it (false when it was already running, in which case the port
    /// becomes the one it runs on).
    pub async fn start(&mut self) -> Result<bool> {
        self.init().await?;
        if self.is_running().await? {
            if let Some(port) = self.running_port()
                && port != self.port
            {
                tracing::warn!(wanted = self.port, running = port, "the cluster already runs on another port");
                self.port = port;
            }
            return Ok(false);
        }
        if self.as_postgres && !self.log.exists() {
            std::fs::write(&self.log, b"")?;
            chown_to_postgres(&self.log)?;
        }
        self.write_settings()?;
        let dir = self.dir.to_string_lossy().into_owned();
        let log = self.log.to_string_lossy().into_owned();
        // No Unix socket: socket paths are limited to about 100 bytes and the folder may be deeper.
        let options =
            format!("-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=on", self.port);
        // A recovery replays the archive before it accepts connections: give it an hour.
        let wait = if self.recovery.is_some() { "3600" } else { "60" };
        self.run("pg_ctl", &["-D", &dir, "-l", &log, "-w", "-t", wait, "-o", &options, "start"])
            .await
            .with_context(|| format!("PostgreSQL did not start; its log is {}", self.log.display()))?;
        tracing::info!(port = self.port, dir = %self.dir.display(), "PostgreSQL started");
        Ok(true)
    }

    /// Writes [`SETTINGS_FILE`] (and includes it from `postgresql.conf` once): archiving of each
    /// completed WAL segment with `cp` into the archive (a `.part` file renamed when whole, never
    /// overwriting a segment already there, as PostgreSQL's documentation advises), and the recovery
    /// target when a restore is under way (with `recovery.signal`).
    fn write_settings(&self) -> Result<()> {
        let conf = self.dir.join("postgresql.conf");
        let text = std::fs::read_to_string(&conf).with_context(|| format!("cannot read {}", conf.display()))?;
        let include = format!("include_if_exists = '{SETTINGS_FILE}'");
        if !text.lines().any(|l| l.trim() == include) {
            std::fs::write(&conf, format!("{text}\n# Written by farmhouse: archiving and recovery.\n{include}\n"))?;
        }
        let mut settings =
            String::from("# Written by farmhouse on every start of the cluster; changes here are lost.\n");
        if let Some(archive) = &self.archive {
            std::fs::create_dir_all(archive)
                .with_context(|| format!("cannot create the WAL archive folder {}", archive.display()))?;
            if self.as_postgres {
                chown_to_postgres(archive)?;
            }
            let a = archive.display();
            settings.push_str(&format!(
                "archive_mode = on\n\
                 archive_command = 'test ! -f \"{a}/%f\" && cp \"%p\" \"{a}/%f.part\" && mv \"{a}/%f.part\" \"{a}/%f\"'\n\
                 archive_timeout = {ARCHIVE_TIMEOUT_SECONDS}\n"
            ));
        }
        if let Some(r) = &self.recovery {
            let a = r.archive.display();
            settings.push_str(&format!(
                "restore_command = 'cp \"{a}/%f\" \"%p\"'\n\
                 recovery_target_time = '{}'\n\
                 recovery_target_action = 'promote'\n",
                r.until
            ));
            std::fs::write(self.dir.join("recovery.signal"), b"")?;
        }
        let file = self.dir.join(SETTINGS_FILE);
        std::fs::write(&file, settings)?;
        if self.as_postgres {
            chown_to_postgres(&file)?;
            if self.recovery.is_some() {
                chown_to_postgres(&self.dir.join("recovery.signal"))?;
            }
        }
        Ok(())
    }

    /// Waits until a recovering server has reached its target and runs as a primary.
    pub async fn wait_promoted(&self, within: std::time::Duration) -> Result<()> {
        use sqlx::Connection;
        let deadline = std::time::Instant::now() + within;
        loop {
            let state = async {
                let mut conn = sqlx::PgConnection::connect(&self.url("postgres")).await?;
                sqlx::query_scalar::<_, bool>("select pg_is_in_recovery()").fetch_one(&mut conn).await
            }
            .await;
            match state {
                Ok(false) => return Ok(()),
                Err(e) if !self.is_running().await? => {
                    bail!("the server stopped during recovery ({e}); its log is {}", self.log.display())
                }
                // Still replaying, or not yet accepting connections.
                Ok(true) | Err(_) => {}
            }
            if std::time::Instant::now() > deadline {
                bail!("recovery did not finish within {within:?}; its log is {}", self.log.display());
            }
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
    }

    /// The cluster after its recovery: later starts archive as before and recover nothing.
    pub fn recovered(mut self) -> Self {
        self.recovery = None;
        if let Err(e) = self.write_settings() {
            tracing::warn!(error = %e, "cannot rewrite the cluster's settings after recovery");
        }
        self
    }

    /// Makes `dir` (and everything in it) the server's alone: owned by `postgres` when this process is
    /// root, mode 0700 as PostgreSQL requires of a cluster folder.
    pub async fn own(&self, dir: &Path) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        if self.as_postgres {
            let out = Command::new("chown").arg("-R").arg("postgres:").arg(dir).output().await?;
            if !out.status.success() {
                bail!("cannot give {} to postgres: {}", dir.display(), String::from_utf8_lossy(&out.stderr).trim());
            }
        }
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        Ok(())
    }

    /// Stops the server, letting running transactions finish (`-m fast` rolls them back).
    pub async fn stop(&self) -> Result<()> {
        if !self.is_running().await? {
            return Ok(());
        }
        let dir = self.dir.to_string_lossy().into_owned();
        self.run("pg_ctl", &["-D", &dir, "-w", "-t", "60", "-m", "fast", "stop"]).await?;
        tracing::info!(dir = %self.dir.display(), "PostgreSQL stopped");
        Ok(())
    }

    /// The port of the running server, from the fourth line of its `postmaster.pid`.
    fn running_port(&self) -> Option<u16> {
        let pid = std::fs::read_to_string(self.dir.join("postmaster.pid")).ok()?;
        pid.lines().nth(3)?.trim().parse().ok()
    }

    /// Stops the server at once, as a crash would (`-m immediate`): the next start recovers from the WAL.
    pub async fn kill(&self) -> Result<()> {
        let dir = self.dir.to_string_lossy().into_owned();
        self.run("pg_ctl", &["-D", &dir, "-w", "-t", "60", "-m", "immediate", "stop"]).await?;
        Ok(())
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let exe = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        cmd.args(args).kill_on_drop(true).stdin(std::process::Stdio::null());
        // runuser keeps the caller's working directory, which `postgres` may not be allowed to enter.
        cmd.current_dir("/");
        cmd
    }

    async fn run(&self, program: &str, args: &[&str]) -> Result<Output> {
        let out = self.command(program, args).output().await.with_context(|| format!("cannot run {program}"))?;
        if !out.status.success() {
            bail!(
                "{program} exited with {}: {}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim(),
                String::from_utf8_lossy(&out.stdout).trim()
            );
        }
        Ok(out)
    }

    /// Gives the cluster folder to `postgres`, after checking that user can reach it.
    fn hand_to_postgres(&self) -> Result<()> {
        if let Some(blocked) = blocked_for_postgres(&self.dir)? {
            bail!(
                "the PostgreSQL server runs as the `postgres` user, which cannot enter {}; \
                 choose a data folder it can reach with --data-dir (e.g. /var/lib/farmhouse)",
                blocked.display()
            );
        }
        chown_to_postgres(&self.dir)
    }
}

/// Whether PostgreSQL can keep a cluster at `dir`: always when this process is not root; as root, when
/// the `postgres` user can enter every parent folder of `dir`.
pub fn reachable_by_server(dir: &Path) -> Result<bool> {
    Ok(!running_as_root() || blocked_for_postgres(&absolute(dir)?)?.is_none())
}

/// The first parent of `dir` that the `postgres` user may not enter, if any.
fn blocked_for_postgres(dir: &Path) -> Result<Option<PathBuf>> {
    let uid = postgres_uid()?;
    for parent in dir.ancestors().skip(1) {
        let Ok(meta) = std::fs::metadata(parent) else { continue };
        let may_enter = meta.mode() & 0o001 != 0 || (meta.uid() == uid && meta.mode() & 0o100 != 0);
        if !may_enter {
            return Ok(Some(parent.to_path_buf()));
        }
    }
    Ok(None)
}

/// The folder of the system PostgreSQL's programs: the newest `/usr/lib/postgresql/<major>/bin` that has
/// `initdb` (Debian's layout).
fn postgres_bin_dir() -> Result<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((major, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => Ok(bin),
        None => bail!("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): {INSTALL_HINT}"),
    }
}

/// The path of PostgreSQL client program `name` (pg_dump, pg_restore, …) of the system installation.
pub fn postgres_program(name: &str) -> Result<PathBuf> {
    Ok(postgres_bin_dir()?.join(name))
}

/// Whether this process runs as root. `/proc/self` belongs to the process's effective user.
fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn postgres_uid() -> Result<u32> {
    let passwd = std::fs::read_to_string("/etc/passwd")?;
    passwd
        .lines()
        .find_map(|l| {
            let mut f = l.split(':');
            (f.next() == Some("postgres")).then(|| f.nth(1)?.parse().ok())?
        })
        .context("there is no `postgres` system user; install the postgresql package")
}

fn chown_to_postgres(path: &Path) -> Result<()> {
    let uid = postgres_uid()?;
    std::os::unix::fs::chown(path, Some(uid), None)
        .with_context(|| format!("cannot give {} to the postgres user", path.display()))?;
    Ok(())
}

fn absolute(p: &Path) -> Result<PathBuf> {
    Ok(if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir()?.join(p) })
}
