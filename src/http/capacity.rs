//! What keeps one client from taking the whole service: a request budget per address, limits on the
//! connections themselves (applied by [`super::serve`]), and the answer when every database connection
//! is in use.
//!
//! The budget counts requests that do not come from a signed-in caller, per peer address (an IPv6
//! address by its /64, which one subscriber usually holds). Signed-in callers are accountable and an
//! account can be disabled, so a session or token the service has recently checked is not counted
//! (see [`super::auth::Callers::recognises`]); any other credential is, so made-up tokens cannot be
//! used to make the service ask the database for free. Behind a reverse proxy every request has the
//! proxy's address: limit there, and turn this off (`--rate-limit 0`).

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::Clock;

use super::Error;
use super::auth::Callers;
use super::problem::{Problem, WaitedForConnection};
use crate::store::{self, Pool};

/// Requests per second an address may make, sustained, when not signed in.
pub const DEFAULT_RATE_PER_SECOND: u32 = 200;
/// Requests an address may make at once beyond the sustained rate. A browser opening the map asks for
/// a few hundred tiles, pages and scripts within seconds; several people behind one address (an
/// office, a carrier's NAT) fit too.
pub const DEFAULT_BURST: u32 = 2000;
/// How long a client may take to send a request's head (line and headers).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an answer may wait for a client that takes none of it.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_mins(1);
/// Most client connections open at once.
pub const DEFAULT_MAX_CLIENT_CONNECTIONS: usize = 1024;
/// Database connections kept apart for `/health` and certificate verification.
pub const DEFAULT_RESERVED_CONNECTIONS: u32 = 2;

/// How much of the service a client may take.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Requests per second per address, sustained; 0 turns the budget off.
    pub rate_per_second: u32,
    /// Requests per address at once beyond the sustained rate.
    pub burst: u32,
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
            rate_per_second: DEFAULT_RATE_PER_SECOND,
            burst: DEFAULT_BURST,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_client_connections: DEFAULT_MAX_CLIENT_CONNECTIONS,
        }
    }
}

/// The request budgets of addresses (GCRA, from the `governor` crate).
pub struct Throttle {
    limiter: Option<governor::DefaultKeyedRateLimiter<IpAddr>>,
    callers: Arc<Callers>,
    checks: AtomicU64,
}

/// Every this many counted requests, addresses whose budget is full again are forgotten, so the table
/// does not grow with every address ever seen.
const TIDY_EVERY: u64 = 16_384;

impl Throttle {
    pub fn new(limits: &Limits, callers: Arc<Callers>) -> Self {
        let limiter = NonZeroU32::new(limits.rate_per_second).map(|rate| {
            let burst = NonZeroU32::new(limits.burst).unwrap_or(rate);
            governor::RateLimiter::keyed(governor::Quota::per_second(rate).allow_burst(burst))
        });
        Self { limiter, callers, checks: AtomicU64::new(0) }
    }

    /// `Err(wait)` when `peer` has spent its budget and may ask again after `wait`.
    fn check(&self, peer: IpAddr) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else { return Ok(()) };
        if self.checks.fetch_add(1, Ordering::Relaxed) % TIDY_EVERY == TIDY_EVERY - 1 {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        limiter.check_key(&client(peer)).map_err(|not_until| not_until.wait_time_from(limiter.clock().now()))
    }
}

/// The key of an address: IPv4 as it is, IPv6 by its /64 (IPv4-mapped IPv6 as IPv4).
fn client(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(network))
        }
        v4 @ IpAddr::V4(_) => v4,
    }
}

/// Refuses a request over its address's budget with 429 and `Retry-After`. Requests whose address the
/// server does not know (a router served without connection info) are not counted.
pub async fn throttle(State(throttle): State<Arc<Throttle>>, req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    if let Some(peer) = peer
        && !throttle.callers.recognises(req.headers())
        && let Err(wait) = throttle.check(peer)
    {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let seconds = seconds.max(1);
        tracing::debug!(%peer, seconds, "request budget spent");
        let mut res = Error::TooManyRequests(format!("too many requests from this address; try again in {seconds} s"))
            .into_response();
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        return res;
    }
    next.run(req).await
}

/// Tells a busy service from a database that is down. Both make a request wait in vain for a database
/// connection (sqlx's `PoolTimedOut`: every connection in use, or none can be opened), which the request
/// answers as "the database is unavailable" and marks ([`WaitedForConnection`]). If the database
/// answers a connection of its own, the service was only busy: the answer says so, with `Retry-After`.
pub struct BusyOrDown {
    pool: Pool,
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
    pub fn new(pool: Pool) -> Self {
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
        let answered = store::probe(&self.pool, PROBE_DEADLINE).await;
        *last = Some((Instant::now(), answered));
        answered
    }
}

pub async fn busy_or_down(State(probe): State<Arc<BusyOrDown>>, req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if res.extensions().get::<WaitedForConnection>().is_none() || !probe.database_answers().await {
        return res;
    }
    let mut busy = Problem::new(StatusCode::SERVICE_UNAVAILABLE, "the service is busy; try again in a moment")
        .with_code("service_busy")
        .into_response();
    busy.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(BUSY_RETRY_AFTER));
    busy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_of_one_subscriber_share_a_budget() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client(a), client(b));
        assert_ne!(client(a), client(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn an_address_over_its_budget_is_told_how_long_to_wait() {
        let limits = Limits { rate_per_second: 1, burst: 3, ..Limits::default() };
        let throttle = Throttle::new(&limits, Arc::default());
        let peer: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            assert!(throttle.check(peer).is_ok());
        }
        let wait = throttle.check(peer).expect_err("the fourth request at once is over the budget");
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        assert!(throttle.check("192.0.2.2".parse().unwrap()).is_ok(), "another address has its own budget");
    }

    #[test]
    fn a_rate_of_zero_counts_nothing() {
        let throttle = Throttle::new(&Limits { rate_per_second: 0, ..Limits::default() }, Arc::default());
        let peer: IpAddr = "192.0.2.1".parse().unwrap();
        assert!((0..10_000).all(|_| throttle.check(peer).is_ok()));
    }
}
