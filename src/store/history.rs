//! The history of changes (written by triggers; see migrations/0104_history.sql).

use super::StoreResult;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{FromRow, PgExecutor};

#[derive(Debug, Clone, FromRow)]
pub struct Entry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub table_name: String,
    pub record_id: i64,
    pub action: String,
    pub before: Option<Json<Value>>,
    pub after: Option<Json<Value>>,
}

/// Every entry of record `id` of `table`, oldest first.
/// The display names of the accounts that `actors` (`role:username`, as history records them) name;
/// actors without an account (`seed`, `import`) are left out.
pub async fn actor_names(
    ex: impl PgExecutor<'_>,
    actors: &[String],
) -> StoreResult<std::collections::HashMap<String, String>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "select a, u.display_name from unnest($1::text[]) a
         join users u on position(':' in a) > 0 and u.username = split_part(a, ':', 2) and u.display_name <> ''",
    )
    .bind(actors)
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().collect())
}

pub async fn of_record(ex: impl PgExecutor<'_>, table: &str, id: i64) -> StoreResult<Vec<Entry>> {
    sqlx::query_as(
        "select seq, at, actor, table_name, record_id, action, before, after from history
         where table_name = $1 and record_id = $2 order by seq",
    )
    .bind(table)
    .bind(id)
    .fetch_all(ex)
    .await
    .map_err(Into::into)
}
