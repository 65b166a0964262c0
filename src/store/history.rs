//! The history of changes (written by triggers; see migrations/0104_history.sql, and
//! 0124_history_per_county.sql for its chains per county, docs/DESIGN.md §2.7).

use super::StoreResult;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{FromRow, PgExecutor};

#[derive(Debug, Clone, FromRow)]
pub struct Entry {
    /// The chain of the entry: the county code ('000000' for no county, '' for an entry written before
    /// chains per county).
    pub chain: String,
    /// Position in its chain.
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub table_name: String,
    pub record_id: i64,
    pub action: String,
    pub before: Option<Json<Value>>,
    pub after: Option<Json<Value>>,
}

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

/// Every entry of record `id` of `table`, oldest first. A record's entries may lie in several chains (a
/// person's changes go to the chain of the county each change was made for), so they are ordered by `id`,
/// the order in which entries were written across chains; entries written before chains per county all
/// have id 0 and keep the order of their seq, before any later one. The lookup goes through the index
/// history_record (table_name, record_id, seq) and sorts the record's few entries.
pub async fn of_record(ex: impl PgExecutor<'_>, table: &str, id: i64) -> StoreResult<Vec<Entry>> {
    sqlx::query_as(
        "select chain, seq, at, actor, table_name, record_id, action, before, after from history
         where table_name = $1 and record_id = $2 order by id, seq",
    )
    .bind(table)
    .bind(id)
    .fetch_all(ex)
    .await
    .map_err(Into::into)
}
