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
