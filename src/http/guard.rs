//! One layer every request passes after [`super::auth::authenticate`]: writes made with the session cookie
//! must come from the service's own page.
//!
//! Cross-site writes: a browser attaches the session cookie to a form post or a `no-cors` fetch from any
//! page, and SameSite=Strict does not stop a page of the same *site* (another port of the same host). So a
//! write that carries the session cookie (any method but GET, HEAD and OPTIONS) must name this service as
//! its `Origin`, or come with `Sec-Fetch-Site: same-origin`, else 403; and its body must be what the route
//! takes (JSON; the photo upload's image types; the import's multipart form), which a plain HTML form or
//! a `no-cors` fetch cannot send, else 415. Bearer-token calls are left alone: no browser sends a token
//! by itself.

use std::net::SocketAddr;

use axum::body::HttpBody;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::auth::session_cookie;
use super::problem::FieldError;
use super::{AppState, Problem};

/// The body types of the routes that take something other than JSON (by their path in the route table).
const NON_JSON_BODIES: &[(&str, &[&str])] = &[
    ("/api/v1/farmhouses/{id}/photos", &["image/jpeg", "image/png"]),
    ("/api/v1/import/parcels", &["multipart/form-data"]),
    ("/api/v1/import/farmhouses", &["multipart/form-data"]),
];

/// The layer (see the module's documentation).
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(refusal) = refuse_cookie_write(&state, &req) {
        return refusal.into_response();
    }
    next.run(req).await
}

/// A write made with the session cookie and no `Authorization` header (which a browser never adds by itself).
fn is_cookie_write(req: &Request) -> bool {
    !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        && !req.headers().contains_key(header::AUTHORIZATION)
        && session_cookie(req.headers()).is_some()
}

/// Why a cookie write is refused, if it is (see the module's documentation).
fn refuse_cookie_write(state: &AppState, req: &Request) -> Option<Problem> {
    if !is_cookie_write(req) {
        return None;
    }
    let headers = req.headers();
    if !same_origin(state, req) {
        let origin = text(headers, header::ORIGIN.as_str()).unwrap_or("none");
        return Some(refusal(
            StatusCode::FORBIDDEN,
            "Origin",
            format!(
                "a write with the session cookie must come from this service's own page (Origin {origin} is not \
                 this service); scripts send a bearer token instead"
            ),
        ));
    }
    let path = req.extensions().get::<MatchedPath>().map(MatchedPath::as_str).unwrap_or("");
    let allowed = NON_JSON_BODIES.iter().find(|(p, _)| *p == path).map(|(_, types)| *types);
    let essence = text(headers, header::CONTENT_TYPE.as_str())
        .map(|t| t.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    let fits = match (&essence, allowed) {
        // No label is fine only for no body: the page's certify, revoke and log-out calls send none.
        (None, _) => req.body().is_end_stream() || req.body().size_hint().exact() == Some(0),
        (Some(t), Some(types)) => types.contains(&t.as_str()),
        (Some(t), None) => t == "application/json" || (t.starts_with("application/") && t.ends_with("+json")),
    };
    if fits {
        return None;
    }
    let expected = allowed.map(|types| types.join(" or ")).unwrap_or_else(|| "application/json".to_string());
    Some(refusal(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "Content-Type",
        format!("this route takes {expected}, not {}", essence.as_deref().unwrap_or("an unlabelled body")),
    ))
}

/// Whether the request says it comes from this service's own pages: `Sec-Fetch-Site: same-origin`, or an
/// `Origin` equal to the service's base URL (configured, forwarded by a trusted proxy, else its `Host`).
fn same_origin(state: &AppState, req: &Request) -> bool {
    let headers = req.headers();
    if text(headers, "sec-fetch-site") == Some("same-origin") {
        return true;
    }
    let Some(origin) = text(headers, header::ORIGIN.as_str()).and_then(|o| url::Url::parse(o).ok()) else {
        return false;
    };
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let base = state.public_url.base_for(headers, peer);
    url::Url::parse(&base).is_ok_and(|own| own.origin() == origin.origin())
}

fn text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

fn refusal(status: StatusCode, field: &str, message: String) -> Problem {
    Problem::new(status, message.clone()).with_errors(vec![FieldError::new(field, message)])
}
