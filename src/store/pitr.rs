//! Recovery to a point in time with PostgreSQL's own machinery (docs/DESIGN.md §6.1): the embedded
//! cluster archives every completed WAL segment ([`super::cluster::Cluster::archiving_to`]),
//! `farmhouse backup --base` takes base backups with `pg_basebackup`, and `farmhouse restore --until`
//! rebuilds the cluster from the latest base backup finished before that moment, replaying the archive
//! (and the old cluster's WAL not yet archived) up to it. The cluster that was there is moved aside,
//! never deleted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use tokio::process::Command;

use super::cluster::{Cluster, Recovery, postgres_program};

/// What `backup.json` beside a base backup says of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaseBackup {
    pub started_at: DateTime<Utc>,
    /// A recovery may stop at any moment after this one (the backup is consistent from its end).
    pub finished_at: DateTime<Utc>,
    #[serde(skip)]
    pub dir: PathBuf,
}

const FILE: &str = "backup.json";

/// Takes a base backup of the cluster at `url` into a new folder `base-<UTC time>` under `dir`: the
/// cluster's files as gzipped tar files with the WAL written meanwhile (`pg_basebackup -Ft -z -X
/// stream`, a fast checkpoint first), and [`FILE`].
pub async fn base_backup(url: &str, dir: &Path) -> Result<BaseBackup> {
    let started_at = Utc::now();
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let target = dir.join(format!("base-{}", started_at.format("%Y%m%dT%H%M%SZ")));
    if target.exists() {
        bail!("{} exists already; wait a second and take the backup again", target.display());
    }
    let out = Command::new(postgres_program("pg_basebackup")?)
        .args(["--format=tar", "--gzip", "--wal-method=stream", "--checkpoint=fast", "--no-password"])
        .arg(format!("--dbname={url}"))
        .arg("--pgdata")
        .arg(&target)
        .output()
        .await
        .context("cannot run pg_basebackup")?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&target);
        bail!("pg_basebackup failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let backup = BaseBackup { started_at, finished_at: Utc::now(), dir: target };
    std::fs::write(backup.dir.join(FILE), serde_json::to_vec_pretty(&backup)?)?;
    Ok(backup)
}

/// The base backups under `dir`, oldest first.
pub fn base_backups(dir: &Path) -> Result<Vec<BaseBackup>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read the base backups in {}", dir.display()))? {
        let path = entry?.path();
        let Ok(text) = std::fs::read(path.join(FILE)) else { continue };
        let mut backup: BaseBackup =
            serde_json::from_slice(&text).with_context(|| format!("{} is not readable", path.join(FILE).display()))?;
        backup.dir = path;
        found.push(backup);
    }
    found.sort_by_key(|b| b.finished_at);
    Ok(found)
}

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    pub from: BaseBackup,
    /// Where the cluster that was there before now is.
    pub kept: Option<PathBuf>,
    /// WAL segments of that cluster not yet in the archive, replayed too.
    pub unarchived_segments: usize,
}

/// Rebuilds `cluster` (which must be stopped) as it was at `until`: from the latest base backup under
/// `backups` finished before `until`, replaying the WAL archive `archive` — and the WAL segments of the
/// cluster being replaced, which may hold the last seconds not yet archived — up to `until`; then the
/// server ends recovery and runs as a primary again (on a new timeline, archiving on). The replaced
/// cluster's folder is renamed `<folder>.before-restore-<time>`. Leaves the server running.
pub async fn restore_until(
    cluster: Cluster,
    backups: &Path,
    archive: &Path,
    until: DateTime<FixedOffset>,
) -> Result<(Cluster, Restored)> {
    if cluster.is_running().await? {
        bail!("the cluster at {} is running; stop the service (and anything using it) first", cluster.dir().display());
    }
    let all = base_backups(backups)?;
    let Some(from) = all.iter().rev().find(|b| b.finished_at <= until).cloned() else {
        let oldest =
            all.first().map_or("there are none".into(), |b| format!("the oldest finished at {}", b.finished_at));
        bail!("no base backup under {} finished before {until}; {oldest}", backups.display());
    };
    let dir = cluster.dir().to_path_buf();
    let kept = if dir.exists() {
        let aside = PathBuf::from(format!("{}.before-restore-{}", dir.display(), Utc::now().format("%Y%m%dT%H%M%SZ")));
        std::fs::rename(&dir, &aside).with_context(|| format!("cannot move {} aside", dir.display()))?;
        Some(aside)
    } else {
        None
    };
    std::fs::create_dir_all(dir.join("pg_wal"))?;
    untar(&from.dir.join("base.tar.gz"), &dir).await?;
    untar(&from.dir.join("pg_wal.tar.gz"), &dir.join("pg_wal")).await?;
    let unarchived_segments = match &kept {
        Some(old) => copy_unarchived(&old.join("pg_wal"), &dir.join("pg_wal"), archive)?,
        None => 0,
    };
    cluster.own(&dir).await?;
    let until_text = until.format("%Y-%m-%d %H:%M:%S%.f%:z").to_string();
    let mut recovering = cluster.recovering(Recovery { archive: archive.to_path_buf(), until: until_text });
    recovering.start().await.context("the restored cluster did not start")?;
    recovering.wait_promoted(Duration::from_hours(1)).await?;
    Ok((recovering.recovered(), Restored { from, kept, unarchived_segments }))
}

/// Unpacks the gzipped tar file `file` into `dir`.
async fn untar(file: &Path, dir: &Path) -> Result<()> {
    let out = Command::new("tar").arg("-xzf").arg(file).arg("-C").arg(dir).output().await.context("cannot run tar")?;
    if !out.status.success() {
        bail!("cannot unpack {}: {}", file.display(), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// Copies the WAL segment files of `from` that `archive` lacks into `to` (PostgreSQL's documented
/// step: the segments a lost server had not archived yet, when its disk survived). Returns how many.
fn copy_unarchived(from: &Path, to: &Path, archive: &Path) -> Result<usize> {
    let mut copied = 0;
    let Ok(entries) = std::fs::read_dir(from) else { return Ok(0) };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let segment = name.len() == 24 && name.bytes().all(|b| b.is_ascii_hexdigit());
        if segment && entry.file_type()?.is_file() && !archive.join(name).exists() {
            std::fs::copy(entry.path(), to.join(name))?;
            copied += 1;
        }
    }
    Ok(copied)
}
