//! The HTTP edge: one route table, the middleware every request passes, and graceful shutdown.

pub mod activation;
pub mod analysis;
pub mod auth;
pub mod capacity;
pub mod certificates;
pub mod deals;
pub mod farmhouses;
pub mod features;
pub mod guard;
mod health;
pub mod history;
pub mod json;
pub mod metrics;
pub mod money;
pub mod ogc_api;
pub mod ogc_tiles;
pub mod openapi;
pub mod parcels;
pub mod parties;
pub mod photos;
pub mod problem;
pub mod projects;
pub mod query;
pub mod reports;
pub mod routes;
pub mod shapes;
pub mod stats;
pub mod styles;
pub mod tiles;
pub mod tls;
pub mod transfer;
pub mod two_factor;
pub mod web;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::store::Pool;
use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::CorsLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::store::standbys::ReadPools;
pub use problem::{Error, Problem, Result};
use routes::Endpoint;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The primary: every write, and every read not listed under `reads`.
    pub pool: Pool,
    /// Where the map's reads go (tiles, OGC API – Features, the stats summary): the standbys in turn
    /// when there are any, else the primary.
    pub reads: Arc<ReadPools>,
    /// Recently authenticated callers (see [`auth::Callers`]).
    pub callers: Arc<auth::Callers>,
    /// How long a login session lasts.
    pub session_lifetime: Duration,
    /// Whether session cookies carry `Secure` (set when served over HTTPS).
    pub secure_cookies: bool,
    /// Rendered map tiles. Writers drop what they change: see [`crate::map`] for the contract.
    pub tiles: Arc<crate::map::TileCache>,
    /// The web map's folder and basemap.
    pub web: Arc<web::WebConfig>,
    /// The service's own URL for links and the same-origin check, and the proxies whose forwarded headers
    /// are believed (see [`features::PublicUrl`]). Unconfigured (the default here; `serve` always sets
    /// it), links name the request's `Host`.
    pub public_url: Arc<features::PublicUrl>,
    /// A few connections of their own for `/health` and public certificate verification, so both
    /// answer while every connection of `pool` is taken (see [`crate::store::reserve`]).
    pub reserved: Pool,
    /// Request budgets and connection limits ([`capacity::Limits`]); `app` and `serve` read them.
    pub limits: capacity::Limits,
    /// The keys certificates are signed with and the fonts and office they are printed with.
    pub issuing: Arc<certificates::Issuing>,
    /// Which roles must pass a second factor, and the key users' TOTP secrets are sealed with.
    pub second_factor: Arc<two_factor::SecondFactor>,
}

impl AppState {
    /// The state over `pool`, with an empty tile cache of the default size. Called inside a Tokio
    /// runtime, it also starts the task that drops tiles on the database's change notifications.
    pub fn new(pool: Pool) -> Self {
        Self::with_reads(ReadPools::primary_only(pool))
    }

    /// [`AppState::new`] with the map's reads shared by standbys (the primary is `reads.primary()`).
    pub fn with_reads(reads: ReadPools) -> Self {
        let pool = reads.primary().clone();
        let tiles = Arc::new(crate::map::TileCache::new(crate::map::cache::DEFAULT_BYTES));
        // Pools keep their connections tidy from a task, which needs a runtime; without one (never in
        // `serve`) the reserved connections are the pool's own.
        let mut reserved = pool.clone();
        if tokio::runtime::Handle::try_current().is_ok() {
            crate::map::listener::spawn(pool.clone(), &tiles, reads.has_standbys());
            reserved = crate::store::reserve(&pool, capacity::DEFAULT_RESERVED_CONNECTIONS);
        }
        Self {
            pool,
            reads: Arc::new(reads),
            callers: Arc::default(),
            session_lifetime: Duration::from_hours(12),
            secure_cookies: false,
            tiles,
            web: Arc::default(),
            public_url: Arc::default(),
            reserved,
            limits: capacity::Limits::default(),
            issuing: Arc::new(certificates::Issuing::ephemeral()),
            second_factor: Arc::default(),
        }
    }

    /// Drops the map tiles showing house `id` (at its footprint's box): its own layer and its
    /// township's figures. Called after a write to the house or its records commits; the database's
    /// notifications do the same for other processes a moment later.
    pub async fn changed_house(&self, id: i64) {
        let bbox = crate::store::farmhouses::bbox_3857(&self.pool, id).await;
        self.note_primary_position().await;
        self.drop_tiles(bbox, &[crate::map::Layer::Farmhouses, crate::map::Layer::Townships]);
    }

    /// Drops the map tiles showing parcel `id` and the houses on it.
    pub async fn changed_parcel(&self, id: i64) {
        let bbox = crate::store::parcels::bbox_3857(&self.pool, id).await;
        self.note_primary_position().await;
        self.drop_tiles(bbox, &[crate::map::Layer::Parcels, crate::map::Layer::Farmhouses]);
    }

    /// With standbys: tells the tile cache how far the primary's WAL is, after a write committed and
    /// before its tiles are dropped, so a standby that has not replayed the write yet cannot have its
    /// tile kept (see [`crate::map::TileCache::insert_replayed`]).
    async fn note_primary_position(&self) {
        if !self.reads.has_standbys() {
            return;
        }
        match crate::store::standbys::primary_position(&self.pool).await {
            Ok(wal) => self.tiles.primary_reached(wal),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the primary's WAL position; the change notifications will pass it on");
            }
        }
    }

    fn drop_tiles(&self, bbox: crate::store::StoreResult<Option<[f64; 4]>>, layers: &[crate::map::Layer]) {
        match bbox {
            Ok(Some([min_x, min_y, max_x, max_y])) => {
                for layer in layers {
                    self.tiles.invalidate_bbox(*layer, crate::map::Bbox { min_x, min_y, max_x, max_y });
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "could not find the tiles of a change; the change notifications will drop them");
            }
        }
    }
}

/// The largest request body accepted, except photo uploads.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every route the service answers, with who may call it.
pub fn endpoints() -> Vec<Endpoint> {
    [
        health::routes(),
        metrics::routes(),
        openapi::routes(),
        parcels::routes(),
        history::routes(),
        farmhouses::routes(),
        photos::routes(),
        activation::routes(),
        certificates::routes(),
        deals::routes(),
        money::routes(),
        parties::routes(),
        auth::routes(),
        two_factor::routes(),
        features::routes(),
        web::routes(),
        tiles::routes(),
        stats::routes(),
        reports::routes(),
        analysis::routes(),
        projects::routes(),
        transfer::routes(),
        ogc_api::routes(),
        ogc_tiles::routes(),
        styles::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The whole service as a router, for `serve` and for tests that call it directly.
pub fn app(state: AppState) -> Router {
    metrics::install();
    let throttle = Arc::new(capacity::Throttle::new(&state.limits, state.callers.clone()));
    let busy_or_down = Arc::new(capacity::BusyOrDown::new(state.pool.clone()));
    let https = state.secure_cookies;
    routes::router(endpoints())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), guard::guard))
        .layer(middleware::from_fn_with_state(state.clone(), auth::authenticate))
        .layer(middleware::from_fn_with_state(busy_or_down, capacity::busy_or_down))
        // Before authentication, so requests with made-up credentials are counted too.
        .layer(middleware::from_fn_with_state(throttle, capacity::throttle))
        .with_state(state)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(problem_for_every_error))
        .layer(middleware::from_fn(move |req: Request, next: Next| tls::strict_transport(https, req, next)))
        // Maps and GIS clients on other origins read tiles and features; nothing else is offered to them.
        .layer(
            CorsLayer::new()
                .allow_origin(tower_http::cors::Any)
                .allow_methods([Method::GET, Method::HEAD])
                .expose_headers([header::ETAG, header::CONTENT_ENCODING]),
        )
        .layer(CatchPanicLayer::custom(|_| {
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "the server failed to answer; the fault is logged")
                .into_response()
        }))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(30)))
        // Outside the timeout and the error pages, so every answer is counted with the status it went out with.
        .layer(middleware::from_fn(metrics::record))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let path = req.extensions().get::<MatchedPath>().map_or("", MatchedPath::as_str);
            let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
            tracing::info_span!("request", method = %req.method(), uri = %logged_uri(req.uri()), route = path, id)
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// A request's URI as the log keeps it: the value of `code` (a certificate's verification code, a secret
/// of its holder) left out.
fn logged_uri(uri: &axum::http::Uri) -> String {
    let Some(query) = uri.query().filter(|q| q.split('&').any(|p| p.starts_with("code="))) else {
        return uri.to_string();
    };
    let pairs = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| if k == "code" { (k, std::borrow::Cow::Borrowed("…")) } else { (k, v) });
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    format!("{}?{query}", uri.path())
}

/// Serves `state` on `listener` (HTTP/1.1) until `shutdown` completes, then lets running requests
/// finish. Each request carries its peer's address (`ConnectInfo<SocketAddr>`).
///
/// The connections keep to `state.limits` ([`capacity::Limits`]): a request head must arrive within
/// the header-read timeout (hyper's own timer, which also closes idle kept-alive connections), a
/// client that takes no bytes of an answer for the idle timeout is dropped, and at most
/// `max_client_connections` are served at once — further ones wait in the listen queue. axum's own
/// `serve` offers none of these. Cleartext HTTP/2 is not offered: hyper-util's protocol sniffing waits for the first bytes without
/// a timeout. Browsers speak HTTP/2 only over TLS, which a proxy in front terminates.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, shutdown, None).await
}

/// [`serve`] over TLS when `tls` is given (`serve --tls-cert/--tls-key`): each connection's handshake must
/// finish within the header-read timeout.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;

    let limits = state.limits.clone();
    let app = app(state);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_client_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        // The semaphore is never closed.
        let Ok(slot) = slot else { break };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let mut io = tokio_io_timeout::TimeoutWriter::new(stream);
        io.set_timeout(Some(limits.idle_timeout));
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            app.clone().oneshot(req)
        });
        let Some(tls) = tls.clone() else {
            let connection = graceful.watch(http.serve_connection(TokioIo::new(Box::pin(io)), service));
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(%peer, error = %e, "connection closed");
                }
                drop(slot);
            });
            continue;
        };
        let (http, watcher, handshake_timeout) = (http.clone(), graceful.watcher(), limits.header_read_timeout);
        tokio::spawn(async move {
            match tokio::time::timeout(handshake_timeout, tls.accept(Box::pin(io))).await {
                Ok(Ok(stream)) => {
                    if let Err(e) = watcher.watch(http.serve_connection(TokioIo::new(stream), service)).await {
                        tracing::debug!(%peer, error = %e, "connection closed");
                    }
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// After a failed accept: a connection that went away before it was taken needs nothing; anything else
/// (out of file descriptors, most likely) is logged and waited out for a second, as axum's `serve` does.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(e.kind(), ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset) {
        return;
    }
    tracing::error!(error = %e, "cannot accept connections; trying again in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing running requests");
}

async fn not_found(req: Request) -> Problem {
    Problem::new(StatusCode::NOT_FOUND, format!("no resource at {}", req.uri().path()))
}

/// Turns any error answer that is not already problem+json (or an HTML page) (axum's own rejections: 405, 413, a body
/// that cannot be read; the timeout's 503) into one, so clients meet a single error format.
async fn problem_for_every_error(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    // Problems are left as they are, and so are pages written for a browser (the verification page's 404).
    let content_type =
        res.headers().get(header::CONTENT_TYPE).map(axum::http::HeaderValue::as_bytes).unwrap_or_default();
    if content_type.starts_with(problem::PROBLEM_JSON.as_bytes()) || content_type.starts_with(b"text/html") {
        return res;
    }
    let (parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let detail = match String::from_utf8_lossy(&text).trim() {
        "" => status.canonical_reason().unwrap_or("error").to_string(),
        t => t.to_string(),
    };
    let mut problem = Problem::new(status, detail).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            problem.headers_mut().insert(name.clone(), value.clone());
        }
    }
    problem
}

#[cfg(test)]
mod tests {
    use super::logged_uri;

    #[test]
    fn verification_codes_are_left_out_of_the_log() {
        let uri = "/verify/SY-JZ-2026-000001?code=AB12CD34".parse().unwrap();
        assert_eq!(logged_uri(&uri), "/verify/SY-JZ-2026-000001?code=%E2%80%A6");
        let uri = "/api/v1/certifications/SY-JZ-2026-000001/document?copy=officer&code=AB12CD34".parse().unwrap();
        assert!(!logged_uri(&uri).contains("AB12CD34"));
        let uri = "/collections/farmhouses/items?limit=10&barcode=1".parse().unwrap();
        assert_eq!(logged_uri(&uri), "/collections/farmhouses/items?limit=10&barcode=1");
    }
}
