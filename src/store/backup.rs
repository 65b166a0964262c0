//! Backups of the registry with PostgreSQL's own pg_dump and pg_restore (custom format): the schema, every
//! record, the history with its hash chain, and photos — restored, the registry is the same to the byte.

use std::path::Path;

use anyhow::{Context, Result, bail};
use sqlx::PgPool;
use tokio::process::Command;

use super::cluster::postgres_program;

/// Writes database `url` to `file`.
pub async fn backup(url: &str, file: &Path) -> Result<()> {
    let out = Command::new(postgres_program("pg_dump")?)
        .args(["--format=custom", "--no-owner", "--compress=6", "--file"])
        .arg(file)
        .arg(format!("--dbname={url}"))
        .output()
        .await
        .context("cannot run pg_dump")?;
    if !out.status.success() {
        bail!("pg_dump failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// Loads `file` into database `url`, in one transaction: all of it or nothing. The database must not
/// hold a registry already (a restore never mixes two).
pub async fn restore(url: &str, admin: &PgPool, file: &Path) -> Result<()> {
    if !file.is_file() {
        bail!("{} is not a file", file.display());
    }
    let has_registry: bool = sqlx::query_scalar(
        "select exists (select 1 from pg_tables where schemaname = 'public' and tablename = 'history')",
    )
    .fetch_one(admin)
    .await?;
    if has_registry {
        bail!("the database already holds a registry; restore into a new, empty database");
    }
    // The service role is cluster-wide and may not exist where the backup is restored.
    sqlx::raw_sql(
        "do $$ begin
             if not exists (select 1 from pg_roles where rolname = 'farmhouse_writer') then
                 create role farmhouse_writer nologin;
             end if;
         end $$",
    )
    .execute(admin)
    .await?;
    let out = Command::new(postgres_program("pg_restore")?)
        .args(["--no-owner", "--single-transaction", "--exit-on-error"])
        .arg(format!("--dbname={url}"))
        .arg(file)
        .output()
        .await
        .context("cannot run pg_restore")?;
    if !out.status.success() {
        bail!("pg_restore failed (nothing was restored): {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}
