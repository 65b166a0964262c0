//! `farmhouse user …`: accounts and API tokens from the command line.

use std::io::{BufRead, IsTerminal};

use anyhow::{Context, Result, bail};
use sqlx::PgPool;

use crate::config::UserAction;
use crate::domain::accounts::{UserIn, check_user};
use crate::domain::credentials::{check_password, hash_password};
use crate::store::access::{self, UserChanges};
use crate::store::{self};
use crate::telemetry::say;

/// Who the history records for changes made here.
const ACTOR: &str = "admin:cli";

pub async fn run(pool: &PgPool, action: UserAction) -> Result<()> {
    match action {
        UserAction::Add { name, role, display_name, party, townships } => {
            let password = read_password()?;
            let input = UserIn { username: name, role, password, display_name, party_id: party, townships };
            let new = check_user(&input).map_err(|errors| {
                anyhow::anyhow!(errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
            })?;
            let mut tx = store::begin_as(pool, ACTOR).await?;
            let id = access::add_user(&mut tx, &new).await.map_err(explain)?;
            tx.commit().await?;
            let scope = if new.townships.is_empty() { "the whole district".into() } else { new.townships.join(", ") };
            say(&format!("added {} ({}), id {id}, acting in {scope}", new.username, new.role));
        }
        UserAction::List => {
            for u in access::users(pool).await? {
                let state = if u.disabled_at.is_some() { " (disabled)" } else { "" };
                let scope = if u.townships.is_empty() { "district".into() } else { u.townships.join(",") };
                say(&format!("{}\t{}\t{}\t{scope}\t{}{state}", u.id, u.username, u.role, u.display_name));
            }
        }
        UserAction::Password { name } => {
            let id = user_id(pool, &name).await?;
            let password = read_password()?;
            check_password(&password).map_err(anyhow::Error::msg)?;
            change(pool, id, UserChanges { password_hash: Some(hash_password(&password)), ..Default::default() })
                .await?;
            say(&format!("{name}: password changed; its sessions and tokens have ended"));
        }
        UserAction::Disable { name } => {
            let id = user_id(pool, &name).await?;
            change(pool, id, UserChanges { disabled: Some(true), ..Default::default() }).await?;
            say(&format!("{name}: disabled; its sessions and tokens have ended"));
        }
        UserAction::Enable { name } => {
            let id = user_id(pool, &name).await?;
            change(pool, id, UserChanges { disabled: Some(false), ..Default::default() }).await?;
            say(&format!("{name}: enabled"));
        }
        UserAction::Token { name, label } => {
            let id = user_id(pool, &name).await?;
            let (token_id, token) = access::issue_token(pool, ACTOR, id, &label).await?;
            eprintln!("token {token_id} for {name} (shown only now; send it as `Authorization: Bearer <token>`):");
            say(&token);
        }
        UserAction::Reset2fa { name } => {
            let id = user_id(pool, &name).await?;
            let mut tx = store::begin_as(pool, ACTOR).await?;
            let had = store::two_factor::reset(&mut tx, id).await?;
            tx.commit().await?;
            let what = if had { "second factor removed" } else { "had no second factor" };
            say(&format!("{name}: {what}; its sessions and tokens have ended"));
        }
        UserAction::RevokeToken { id } => {
            let mut tx = store::begin_as(pool, ACTOR).await?;
            access::revoke_token(&mut tx, id, None).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            tx.commit().await?;
            say(&format!("token {id} revoked"));
        }
    }
    Ok(())
}

async fn user_id(pool: &PgPool, name: &str) -> Result<i64> {
    match access::user_by_name(pool, &name.to_lowercase()).await? {
        Some(u) => Ok(u.id),
        None => bail!("there is no user {name:?} (see `farmhouse user list`)"),
    }
}

async fn change(pool: &PgPool, id: i64, changes: UserChanges) -> Result<()> {
    let mut tx = store::begin_as(pool, ACTOR).await?;
    access::change_user(&mut tx, id, &changes).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    tx.commit().await?;
    Ok(())
}

fn explain(e: store::StoreError) -> anyhow::Error {
    if let Some(store::Fault::Broke(rule)) = e.fault() {
        return anyhow::anyhow!("{}: {}", rule.field, rule.message);
    }
    e.into()
}

/// The password: typed without echo on a terminal, else the first line of standard input.
fn read_password() -> Result<String> {
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password("password: ").context("reading the password");
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        bail!("no password on standard input (e.g. `echo 'a long password' | farmhouse user add …`)");
    }
    Ok(password)
}
