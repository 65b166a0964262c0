//! One layer every request passes after [`super::auth::authenticate`]: writes made with the session cookie
//! must come from the service's own page, and every answer says how it may be cached.
//!
//! Cross-site writes: a browser attaches the session cookie to a form post or a `no-cors` fetch from any
//! page, and SameSite=Strict does not stop a page of the same *site* (another port of the same host). So a
//! write that carries the session cookie (any method but GET, HEAD and OPTIONS) must name this service as
//! its `Origin`, or come with `Sec-Fetch-Site: same-origin`, else 403; and its body must be what the route
//! takes (JSON; the photo upload's image types; the import's multipart form), which a plain HTML form or
//! a `no-cors` fetch cannot send, else 415. Bearer-token calls are left alone: no browser sends a token
//! by itself.
//!
//! Caching: what an answer holds may depend on who asks (staff see identity fields), so every answer varies
//! on `Cookie` and `Authorization`; answers to a signed-in caller are `private` (a shared cache never keeps
//! them), and staff's JSON is not stored at all.

use std::net::SocketAddr;

use axum::body::HttpBody;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::auth::{Caller, session_cookie};
use super::problem::FieldError;
use super::{AppState, Problem};
use crate::domain::roles::Role;

/// What a paper may be sent as (its kind is then told by its bytes); none is a type a plain HTML form sends.
const PAPER_TYPES: &[&str] = &["application/pdf", "image/jpeg", "image/png", "application/octet-stream"];

/// The body types of the routes that take something other than JSON (by their path in the route table).
const NON_JSON_BODIES: &[(&str, &[&str])] = &[
    ("/api/v1/farmhouses/{id}/photos", &["image/jpeg", "image/png"]),
    ("/api/v1/farmhouses/{id}/papers", PAPER_TYPES),
    ("/api/v1/transactions/{id}/papers", PAPER_TYPES),
    ("/api/v1/import/parcels", &["multipart/form-data"]),
    ("/api/v1/import/farmhouses", &["multipart/form-data"]),
];

/// The layer (see the module's documentation).
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let role = req.extensions().get::<Caller>().map_or(Role::Public, |c| c.role);
    if let Some(refusal) = refuse_cookie_write(&state, &req) {
        return with_cache_headers(refusal.into_response(), role);
    }
    with_cache_headers(next.run(req).await, role)
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
    let path = req.extensions().get::<MatchedPath>().map_or("", MatchedPath::as_str);
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
    let expected = allowed.map_or_else(|| "application/json".to_string(), |types| types.join(" or "));
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

/// Adds `Cookie, Authorization` to the answer's `Vary`, and keeps an answer to a signed-in caller out of
/// shared caches: staff's JSON is `private, no-store`; anything else keeps its own rules made `private`
/// (a tile's `no-cache`, a photo's year), never `public`.
fn with_cache_headers(mut res: Response, role: Role) -> Response {
    let headers = res.headers_mut();
    let mut vary: Vec<String> = headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    for name in ["Cookie", "Authorization"] {
        if !vary.iter().any(|v| v.eq_ignore_ascii_case(name) || v == "*") {
            vary.push(name.to_string());
        }
    }
    if let Ok(v) = HeaderValue::from_str(&vary.join(", ")) {
        headers.insert(header::VARY, v);
    }
    if role == Role::Public {
        return res;
    }
    let staff = matches!(role, Role::Officer | Role::Official | Role::Admin);
    let cache = if staff && is_json(headers) {
        "private, no-store".to_string()
    } else {
        let own: Vec<String> = headers
            .get_all(header::CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|d| d.trim().to_string())
            .filter(|d| {
                let name = d.split('=').next().unwrap_or("").trim().to_ascii_lowercase();
                !d.is_empty() && !matches!(name.as_str(), "public" | "private" | "s-maxage" | "proxy-revalidate")
            })
            .collect();
        std::iter::once("private".to_string()).chain(own).collect::<Vec<_>>().join(", ")
    };
    if let Ok(v) = HeaderValue::from_str(&cache) {
        headers.insert(header::CACHE_CONTROL, v);
    }
    res
}

/// JSON of any kind: the API's records, GeoJSON features, TileJSON, problems.
fn is_json(headers: &HeaderMap) -> bool {
    text(headers, header::CONTENT_TYPE.as_str())
        .map(|t| t.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .is_some_and(|t| t == "application/json" || (t.starts_with("application/") && t.ends_with("+json")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache_of(cache: Option<&str>, content_type: &str, role: Role) -> (String, String) {
        let mut res = Response::new(axum::body::Body::empty());
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
        res.headers_mut().insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        if let Some(c) = cache {
            res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_str(c).unwrap());
        }
        let res = with_cache_headers(res, role);
        let get = |n| res.headers().get(n).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        (get(header::CACHE_CONTROL), get(header::VARY))
    }

    #[test]
    fn public_answers_keep_their_caching_and_vary_on_the_credentials() {
        let (cache, vary) = cache_of(Some("public, no-cache"), "application/vnd.mapbox-vector-tile", Role::Public);
        assert_eq!(cache, "public, no-cache");
        assert_eq!(vary, "Accept-Encoding, Cookie, Authorization");
    }

    #[test]
    fn signed_in_answers_are_private_and_staff_json_is_never_stored() {
        let photo = cache_of(Some("public, max-age=31536000, immutable"), "image/jpeg", Role::Investor).0;
        assert_eq!(photo, "private, max-age=31536000, immutable");
        assert_eq!(
            cache_of(Some("public, no-cache"), "application/vnd.mapbox-vector-tile", Role::Officer).0,
            "private, no-cache"
        );
        assert_eq!(cache_of(None, "application/geo+json", Role::Official).0, "private, no-store");
        assert_eq!(cache_of(Some("public, max-age=60"), "application/json", Role::Admin).0, "private, no-store");
        assert_eq!(cache_of(None, "application/json", Role::Investor).0, "private");
    }
}
