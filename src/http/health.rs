//! `GET /health`: 200 when the database answers, 503 (quickly, never a hang) when it does not. The
//! standbys that share the reads, if any, are reported beside it; one that is down makes no 503, since
//! its reads go to the primary. The primary is asked over the reserved connections
//! ([`AppState::reserved`]), so a service whose pool is busy still reports the database as it is.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::routes::{Allow, Endpoint, route};
use super::{AppState, Error, Result};
use crate::store;
use crate::store::standbys::{self, Lsn, Standby};
use utoipa_axum::routes;

/// How long the database may take to answer before the service reports itself unhealthy.
const DATABASE_DEADLINE: Duration = Duration::from_secs(1);

/// 200 when the database answers; 503 (problem+json) when it does not, within 1 s.
#[utoipa::path(get, path = "/health", tag = "service",
    responses((status = 200, body = Object, example = json!({"status": "ok", "database": "ok"})),
              (status = 503, body = super::Problem)))]
pub async fn health(State(state): State<AppState>) -> Result<Json<Value>> {
    let reads = &state.reads;
    // With standbys, the primary's WAL position too, to tell how far behind each one is.
    let ping = async {
        if reads.has_standbys() {
            standbys::primary_position(&state.reserved).await.map(Some)
        } else {
            store::ping(&state.reserved).await.map(|()| None)
        }
    };
    let (primary, standbys) = tokio::join!(
        tokio::time::timeout(DATABASE_DEADLINE, ping),
        futures_util::future::join_all(reads.standbys().iter().map(standby_position))
    );
    let primary_wal = match primary {
        Ok(Ok(wal)) => wal,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health: database unreachable");
            return Err(Error::Unavailable("the database is unreachable".into()));
        }
        Err(_) => {
            return Err(Error::Unavailable(format!(
                "the database did not answer within {} ms",
                DATABASE_DEADLINE.as_millis()
            )));
        }
    };
    let mut body = json!({ "status": "ok", "database": "ok" });
    if let Some(primary_wal) = primary_wal {
        let list: Vec<Value> = reads
            .standbys()
            .iter()
            .zip(standbys)
            .enumerate()
            .map(|(i, (standby, replayed))| standby_json(i + 1, standby, replayed, primary_wal))
            .collect();
        body["standbys"] = Value::Array(list);
    }
    Ok(Json(body))
}

/// How far `standby` has replayed, or why it cannot say.
async fn standby_position(standby: &Standby) -> Result<Lsn, String> {
    match tokio::time::timeout(DATABASE_DEADLINE, standbys::replayed_position(&standby.pool)).await {
        Ok(Ok(wal)) => Ok(wal),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} ms", DATABASE_DEADLINE.as_millis())),
    }
}

/// `{"standby": n, "status": "ok" | "down" | "not a standby", …}`: the standby's place among the
/// `--read-database-url`s (from 1), not its address, which is no business of the public. A standby found
/// down rests, so reads skip it without first waiting for it.
fn standby_json(n: usize, standby: &Standby, replayed: Result<Lsn, String>, primary: Lsn) -> Value {
    match replayed {
        Ok(Lsn(0)) => json!({ "standby": n, "status": "not a standby",
                              "detail": "the server is not in recovery: it does not replay the primary's WAL" }),
        Ok(wal) => json!({ "standby": n, "status": "ok", "replayed_lsn": wal.to_string(),
                           "lag_bytes": primary.0.saturating_sub(wal.0), "serving_reads": !standby.is_resting() }),
        Err(detail) => {
            tracing::warn!(standby = %standby.name, error = %detail, "health: standby unreachable");
            standby.rest();
            json!({ "standby": n, "status": "down", "detail": detail })
        }
    }
}

/// The routes of this module, with who may call them.
pub fn routes() -> Vec<Endpoint> {
    vec![route(routes!(health), Allow::Everyone)]
}
