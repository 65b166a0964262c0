//! What keeps one client from taking the whole service: limits on the connections themselves (applied
//! by [`super::serve`]), and the answer when every database connection is in use.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sqlx::{Connection, PgConnection, PgPool};

use super::problem::{Problem, WaitedForConnection};

/// How long a client may take to send a request's head (line and headers).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an answer may wait for a client that takes none of it.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Most client connections open at once.
pub const DEFAULT_MAX_CLIENT_CONNECTIONS: usize = 1024;
/// Database connections kept apart for `/health` and certificate verification.
pub const DEFAULT_RESERVED_CONNECTIONS: u32 = 2;

/// How much of the service a client may take.
#[derive(Debug, Clone)]
pub struct Limits {
    /// A connection whose request head has not fully arrived this long after the server began to wait
    /// for it is closed. hyper starts that wait when a connection opens and again after each answer,
    /// so this is also how long an idle kept-alive connection stays open.
    pub header_read_timeout: Duration,
    /// A connection whose client has taken no bytes of an answer for this long is closed.
    pub idle_timeout: Duration,
    /// Most client connections open at once; further ones wait in the listen queue until one closes.
    pub max_client_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_client_connections: DEFAULT_MAX_CLIENT_CONNECTIONS,
        }
    }
}

/// Tells a busy service from a database that is down. Both make a request wait in vain for a database
/// connection (sqlx's `PoolTimedOut`: every connection in use, or none can be opened), which the request
/// answers as "the database is unavailable" and marks ([`WaitedForConnection`]). If the database
/// answers a connection of its own, the service was only busy: the answer says so, with `Retry-After`.
pub struct BusyOrDown {
    pool: PgPool,
    /// When the database was last asked, and whether it answered. One question at a time, and none
    /// again within [`PROBE_FRESH`], so a crowd of refused requests costs one connection.
    last: tokio::sync::Mutex<Option<(Instant, bool)>>,
}

/// How long an answer to "is the database up?" is taken as current.
const PROBE_FRESH: Duration = Duration::from_secs(1);
/// How long the database may take to accept a connection and answer before it is taken as down. Short:
/// the request that asks has already waited a second for a connection.
const PROBE_DEADLINE: Duration = Duration::from_millis(500);
/// What a busy answer asks the client to wait, in seconds.
const BUSY_RETRY_AFTER: u32 = 1;

impl BusyOrDown {
    pub fn new(pool: PgPool) -> Self {
        Self { pool, last: tokio::sync::Mutex::new(None) }
    }

    async fn database_answers(&self) -> bool {
        let mut last = self.last.lock().await;
        if let Some((at, answered)) = *last
            && at.elapsed() < PROBE_FRESH
        {
            return answered;
        }
        // A connection apart from the pool: the pool is the thing that is full.
        let options = self.pool.connect_options();
        let ask = async {
            let mut conn = PgConnection::connect_with(&options).await?;
            sqlx::query("select 1").execute(&mut conn).await?;
            conn.close().await
        };
        let answered = matches!(tokio::time::timeout(PROBE_DEADLINE, ask).await, Ok(Ok(())));
        *last = Some((Instant::now(), answered));
        answered
    }
}

pub async fn busy_or_down(State(probe): State<Arc<BusyOrDown>>, req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if res.extensions().get::<WaitedForConnection>().is_none() || !probe.database_answers().await {
        return res;
    }
    let mut busy =
        Problem::new(StatusCode::SERVICE_UNAVAILABLE, "the service is busy; try again in a moment").into_response();
    busy.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(BUSY_RETRY_AFTER));
    busy
}
