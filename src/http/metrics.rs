//! `GET /metrics`: the service's figures in Prometheus's text format (version 0.0.4), for admins and
//! officials only, like every other route behind the route table's roles. A Prometheus server scrapes it
//! with the API token of an account of its own (an official: read-only), sent as
//! `Authorization: Bearer …`.
//!
//! What is counted:
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `http_requests_total` | counter | `route` (the matched route template, e.g. `/tiles/{layer}/{z}/{x}/{y}`; `unmatched` for a path no route serves), `method`, `status` |
//! | `http_request_duration_seconds` | histogram | `route`, `method`: time until the answer's head is ready |
//! | `farmhouse_tile_cache_hits_total`, `farmhouse_tile_cache_misses_total` | counter | |
//! | `farmhouse_tile_cache_tiles`, `farmhouse_tile_cache_bytes` | gauge | what the tile cache holds |
//! | `farmhouse_db_pool_connections`, `farmhouse_db_pool_idle_connections`, `farmhouse_db_pool_max_connections` | gauge | `pool`: `primary`, `reserved`, `standby1`, … |
//! | `farmhouse_certificates_issued_total` | counter | `action`: `certify` or `correction` |
//! | `farmhouse_imports_total`, `farmhouse_import_rows_total` | counter | `kind`: `parcels` or `farmhouses` (uploads through the API) |
//!
//! Labels never carry a raw path, a query or an identifier, so the number of series stays bounded by the
//! route table. Counters start at zero with each start of the process.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use utoipa_axum::routes;

use super::AppState;
use super::routes::{Allow, Endpoint, route};
use crate::domain::roles::Role;

/// The content type of Prometheus's text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Who may read the figures: admins, and officials (the role a scraper's account should have).
pub const READERS: Allow = Allow::Roles(&[Role::Official, Role::Admin]);

/// The latency histogram's buckets, in seconds: tiles from the cache take a millisecond, a certificate's
/// PDF a second, an import up to the 30 s timeout.
const LATENCY_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// How often histogram samples are folded in when nobody scrapes, so they do not pile up.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The process's recorder, installed on first use (the `metrics` facade has one global recorder).
pub fn install() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full("http_request_duration_seconds".into()), LATENCY_BUCKETS)
            .expect("the buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if let Err(e) = metrics::set_global_recorder(recorder) {
            tracing::warn!(error = %e, "another metrics recorder is installed: /metrics stays empty");
        }
        describe();
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            }
        });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the metrics upkeep thread; scrapes still fold samples in");
        }
        handle
    })
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!("http_requests_total", "HTTP requests answered, by route template, method and status");
    describe_histogram!(
        "http_request_duration_seconds",
        Unit::Seconds,
        "Time from a request's arrival until its answer's head is ready, by route template and method"
    );
    describe_counter!("farmhouse_tile_cache_hits_total", "Map tiles found in the tile cache");
    describe_counter!(
        "farmhouse_tile_cache_misses_total",
        "Map tiles not in the tile cache (rendered from the database)"
    );
    describe_gauge!("farmhouse_tile_cache_tiles", "Map tiles the tile cache holds");
    describe_gauge!(
        "farmhouse_tile_cache_bytes",
        Unit::Bytes,
        "Bytes of the tiles the tile cache holds (all encodings)"
    );
    describe_gauge!("farmhouse_db_pool_connections", "Open database connections, by pool");
    describe_gauge!("farmhouse_db_pool_idle_connections", "Open database connections not in use, by pool");
    describe_gauge!("farmhouse_db_pool_max_connections", "Most database connections a pool opens");
    describe_counter!(
        "farmhouse_certificates_issued_total",
        "Certificates (鉴证) issued, by certification or correction"
    );
    describe_counter!("farmhouse_imports_total", "Survey files imported through the API, by kind");
    describe_counter!("farmhouse_import_rows_total", "Features imported from survey files through the API, by kind");
    // The counters whose labels are known start at zero, so a dashboard has a series before the first event.
    metrics::counter!("farmhouse_tile_cache_hits_total").increment(0);
    metrics::counter!("farmhouse_tile_cache_misses_total").increment(0);
    for action in ["certify", "correction"] {
        metrics::counter!("farmhouse_certificates_issued_total", "action" => action).increment(0);
    }
    for kind in ["parcels", "farmhouses"] {
        metrics::counter!("farmhouse_imports_total", "kind" => kind).increment(0);
        metrics::counter!("farmhouse_import_rows_total", "kind" => kind).increment(0);
    }
}

/// Middleware: counts each request and times it, under its route template.
pub async fn record(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let method = method_label(req.method());
    let started = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::histogram!("http_request_duration_seconds", "route" => route.clone(), "method" => method)
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("http_requests_total", "route" => route, "method" => method, "status" => status).increment(1);
    res
}

/// The method as a label: the standard ones by name, any other as `other` (methods are free text).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// A certificate was issued (after its transaction committed).
pub fn certificate_issued(action: &'static str) {
    metrics::counter!("farmhouse_certificates_issued_total", "action" => action).increment(1);
}

/// A survey file of `kind` was imported through the API with `rows` features.
pub fn imported(kind: &'static str, rows: usize) {
    metrics::counter!("farmhouse_imports_total", "kind" => kind).increment(1);
    metrics::counter!("farmhouse_import_rows_total", "kind" => kind).increment(rows as u64);
}

/// The gauges read at scrape time: the tile cache's size and the pools' connections.
fn observe(state: &AppState) {
    let (tiles, bytes) = state.tiles.usage();
    metrics::gauge!("farmhouse_tile_cache_tiles").set(tiles as f64);
    metrics::gauge!("farmhouse_tile_cache_bytes").set(bytes as f64);
    let mut pools = vec![("primary".to_owned(), &state.pool), ("reserved".to_owned(), &state.reserved)];
    for (i, standby) in state.reads.standbys().iter().enumerate() {
        pools.push((format!("standby{}", i + 1), &standby.pool));
    }
    for (name, pool) in pools {
        metrics::gauge!("farmhouse_db_pool_connections", "pool" => name.clone()).set(f64::from(pool.size()));
        metrics::gauge!("farmhouse_db_pool_idle_connections", "pool" => name.clone()).set(pool.num_idle() as f64);
        metrics::gauge!("farmhouse_db_pool_max_connections", "pool" => name)
            .set(f64::from(pool.options().get_max_connections()));
    }
}

/// The service's figures in Prometheus's text format: requests by route, method and status, their
/// latency, the tile cache, the database pools, certificates issued and survey rows imported. Admins and
/// officials only.
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain", body = String),
              (status = 401, body = super::Problem), (status = 403, body = super::Problem)))]
pub async fn scrape(State(state): State<AppState>) -> Response {
    let handle = install();
    observe(&state);
    // Folds in the latest samples and publishes the descriptions (HELP lines) first.
    handle.run_upkeep();
    ([(header::CONTENT_TYPE, CONTENT_TYPE), (header::CACHE_CONTROL, "no-store")], handle.render()).into_response()
}

/// The routes of this module, with who may call them.
pub fn routes() -> Vec<Endpoint> {
    vec![route(routes!(scrape), READERS)]
}

#[cfg(test)]
mod tests {
    use super::method_label;
    use axum::http::Method;

    #[test]
    fn methods_outside_the_standard_ones_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
