//! `GET /health`: 200 when the database answers, 503 (quickly, never a hang) when it does not.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::{AppState, Error, Result};

/// How long the database may take to answer before the service reports itself unhealthy.
const DATABASE_DEADLINE: Duration = Duration::from_millis(1000);

/// 200 when the database answers; 503 (problem+json) when it does not, within 1 s.
#[utoipa::path(get, path = "/health", tag = "service",
    responses((status = 200, body = Object, example = json!({"status": "ok", "database": "ok"})),
              (status = 503, body = super::Problem)))]
pub async fn health(State(state): State<AppState>) -> Result<Json<Value>> {
    let ping = sqlx::query_scalar::<_, i32>("select 1").fetch_one(&state.pool);
    match tokio::time::timeout(DATABASE_DEADLINE, ping).await {
        Ok(Ok(_)) => Ok(Json(json!({ "status": "ok", "database": "ok" }))),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health: database unreachable");
            Err(Error::Unavailable("the database is unreachable".into()))
        }
        Err(_) => {
            Err(Error::Unavailable(format!("the database did not answer within {} ms", DATABASE_DEADLINE.as_millis())))
        }
    }
}
