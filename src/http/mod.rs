//! The HTTP edge: one route table, the middleware every request passes, and graceful shutdown.

pub mod auth;
pub mod constraints;
mod health;
pub mod json;
pub mod problem;
pub mod routes;
mod stats;
mod transfer;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use problem::{Error, Problem, Result};
use routes::{Allow, Endpoint};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
}

impl AppState {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every route the service answers, with who may call it.
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        routes::get("/health", Allow::Everyone, "200 when the database answers, 503 when not", health::health),
        routes::get(
            "/api/v1/stats/summary",
            Allow::Everyone,
            "activation figures in total, by township and by month (?township=CODE)",
            stats::summary,
        ),
    ]
    .into_iter()
    .chain(transfer::endpoints())
    .collect()
}

/// The whole service as a router, for `serve` and for tests that call it directly.
pub fn app(state: AppState) -> Router {
    routes::router(endpoints())
        .fallback(not_found)
        .with_state(state)
        .layer(middleware::from_fn(problem_for_every_error))
        .layer(CatchPanicLayer::custom(|_| {
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "the server failed to answer; the fault is logged")
                .into_response()
        }))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(30)))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let path = req.extensions().get::<MatchedPath>().map(MatchedPath::as_str).unwrap_or("");
            let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
            tracing::info_span!("request", method = %req.method(), uri = %req.uri(), route = path, id)
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Serves `state` on `listener` until `shutdown` completes, then lets running requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown).await
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

/// Turns any error answer that is not already problem+json (axum's own rejections: 405, 413, a body
/// that cannot be read; the timeout's 503) into one, so clients meet a single error format.
async fn problem_for_every_error(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(problem::PROBLEM_JSON.as_bytes()));
    if is_problem {
        return res;
    }
    let (parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let detail = match String::from_utf8_lossy(&text).trim() {
        "" => status.canonical_reason().unwrap_or("error").to_string(),
        t => t.to_string(),
    };
    let mut problem = Problem::new(status, detail).into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            problem.headers_mut().insert(name.clone(), value.clone());
        }
    }
    problem
}
