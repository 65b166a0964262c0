//! OGC API – Features, Part 1 (core, GeoJSON, OpenAPI 3.0): the landing page at `/`, `/conformance`,
//! `/collections`, `/collections/{id}`, `/collections/{id}/items` (bbox, limit, keyset `next`/`prev`
//! links, `numberMatched`/`numberReturned`, equality filters) and `/collections/{id}/items/{featureId}`;
//! Part 2 (`crs`, `bbox-crs`, docs/DESIGN.md §3.1), `sortby` (§7.4) and `properties`.
//!
//! The collections are the map's layers ([`Layer`]); their items carry the attributes the caller's role
//! sees, in EPSG:4326 longitude/latitude (CRS84) unless `crs` names another. They are read from the
//! standbys when the service has any ([`crate::store::standbys`]); the landing page and the web map are not.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::auth::Caller;
use super::problem::FieldError;
use super::routes::{Allow, Endpoint, route};
use super::{AppState, Error, Result};
use crate::domain::roles::{Audience, Role};
use crate::map::Layer;
use crate::map::cql::{self, FilterRequest, Where};
use crate::map::items::{self, Cursor, DEFAULT_LIMIT, ItemQuery, MAX_LIMIT};
use crate::map::output_crs::OutputCrs;
use crate::map::sort;
use crate::map::view::{self, View};
use utoipa_axum::routes;

pub const GEOJSON: &str = "application/geo+json";
const JSON: &str = "application/json";
const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
const SCHEMA_JSON: &str = "application/schema+json";
const QUERYABLES_REL: &str = "http://www.opengis.net/def/rel/ogc/1.0/queryables";

const CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    // Part 3 and CQL2 (crate::map::cql).
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
];

/// The collections served, in the order they are listed.
const COLLECTIONS: [Layer; 4] = Layer::ALL;

/// Where the service is reached from outside: the base of the absolute links it writes (OGC links,
/// TileJSON) and the origin its own page writes from (see [`super::guard`]).
///
/// Links never follow what an arbitrary client says (`Host`, `X-Forwarded-Host`): an answer a cache keeps
/// could then send the next reader to another site. Forwarded headers (`Forwarded`, `X-Forwarded-Host`,
/// `X-Forwarded-Proto`) are believed only from the proxies named here.
#[derive(Debug, Clone, Default)]
pub struct PublicUrl {
    /// `serve --public-url` (by default `http://<bind address>`), without a trailing slash. `None` only
    /// in a state built without configuration (tests, embedding), which names the request's own `Host`.
    base: Option<String>,
    /// `serve --trusted-proxy`: peers whose forwarded headers say where the client reached the service.
    trusted_proxies: Vec<IpAddr>,
}

impl PublicUrl {
    /// Checks `base` (an http or https URL, optionally with a path prefix; no query or fragment).
    pub fn new(base: Option<&str>, trusted_proxies: Vec<IpAddr>) -> std::result::Result<Self, String> {
        let base = match base.map(str::trim).filter(|b| !b.is_empty()) {
            None => None,
            Some(text) => {
                let url = url::Url::parse(text).map_err(|e| format!("public URL {text:?}: {e}"))?;
                let plain = matches!(url.scheme(), "http" | "https")
                    && url.has_host()
                    && url.username().is_empty()
                    && url.password().is_none()
                    && url.query().is_none()
                    && url.fragment().is_none();
                if !plain {
                    return Err(format!(
                        "public URL {text:?}: must be http(s)://host[:port][/prefix], without user, query or fragment"
                    ));
                }
                Some(url.as_str().trim_end_matches('/').to_string())
            }
        };
        let trusted_proxies = trusted_proxies.into_iter().map(|ip| ip.to_canonical()).collect();
        Ok(Self { base, trusted_proxies })
    }

    /// The configured base URL, if any.
    pub fn configured(&self) -> Option<&str> {
        self.base.as_deref()
    }

    /// The base URL (no trailing slash) of the links in an answer to `peer`'s request with `headers`:
    /// what a trusted proxy forwards, else the configured URL, else (unconfigured) the request's `Host`.
    pub fn base_for(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> String {
        let trusted = peer.is_some_and(|p| self.trusted_proxies.contains(&p.to_canonical()));
        if trusted && let Some(origin) = forwarded_origin(headers) {
            // The proxy says which site the client used; a configured path prefix is where it mounts us.
            let prefix = self.base.as_deref().and_then(|b| url::Url::parse(b).ok()).map(|u| u.path().to_string());
            return format!("{origin}{}", prefix.unwrap_or_default().trim_end_matches('/'));
        }
        if let Some(base) = &self.base {
            return base.clone();
        }
        header_text(headers, header::HOST.as_str())
            .and_then(|host| origin_of("http", host))
            .unwrap_or_else(|| "http://localhost".to_string())
    }
}

/// The last value of header `name` (a proxy appends its own to a list the client may have started).
fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let value = headers.get_all(name).iter().next_back()?.to_str().ok()?;
    value.rsplit(',').next().map(str::trim).filter(|v| !v.is_empty())
}

/// `scheme://host[:port]` if `host` is a host and port and nothing more (no path, no user).
fn origin_of(scheme: &str, host: &str) -> Option<String> {
    if !matches!(scheme, "http" | "https") || host.contains(['/', '?', '#', '@', '\\']) {
        return None;
    }
    let url = url::Url::parse(&format!("{scheme}://{host}")).ok()?;
    url.has_host().then(|| url.origin().ascii_serialization())
}

/// The origin a proxy forwards: the last element of `Forwarded` (RFC 7239), else `X-Forwarded-Host` and
/// `X-Forwarded-Proto`; the proxy's `Host` stands in for a missing host, `http` for a missing scheme.
fn forwarded_origin(headers: &HeaderMap) -> Option<String> {
    let unquote = |v: &str| v.trim().trim_matches('"').to_string();
    let (host, proto) = match header_text_whole(headers, "forwarded")
        .and_then(|v| rfc7239::parse(v).next_back())
        .and_then(std::result::Result::ok)
    {
        Some(f) => (f.host.map(unquote), f.protocol.map(unquote)),
        None => (
            header_text(headers, "x-forwarded-host").map(str::to_string),
            header_text(headers, "x-forwarded-proto").map(str::to_string),
        ),
    };
    if host.is_none() && proto.is_none() {
        return None;
    }
    let host = host.or_else(|| header_text(headers, header::HOST.as_str()).map(str::to_string))?;
    origin_of(&proto.unwrap_or_else(|| "http".into()).to_ascii_lowercase(), &host)
}

/// The last line of header `name`, whole (its elements are parsed by the caller).
fn header_text_whole<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get_all(name).iter().next_back()?.to_str().ok()
}

/// The base URL of this request's links (see [`PublicUrl::base_for`]).
pub struct BaseUrl(pub String);

impl FromRequestParts<AppState> for BaseUrl {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> std::result::Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        Ok(BaseUrl(state.public_url.base_for(&parts.headers, peer)))
    }
}

/// The most features a page holds for the public and investors. A page of 10,000 houses kept a
/// database connection for about a second, so a few dozen anonymous requests took every connection;
/// 1,000 still fills a map view, and GIS clients follow the `next` links.
pub const PUBLIC_MAX_LIMIT: u32 = 1000;

/// The most features a page holds for `role`: staff keep [`MAX_LIMIT`] for their exports.
pub fn max_limit(role: Role) -> u32 {
    match role.audience() {
        Audience::Staff => MAX_LIMIT,
        Audience::Public => PUBLIC_MAX_LIMIT,
    }
}

fn bad_param(field: &str, message: impl Into<String>) -> Error {
    Error::BadParameter(FieldError::new(field, message))
}

fn unknown_collection(id: &str) -> Error {
    let names: Vec<&str> = COLLECTIONS.iter().map(|l| l.name()).collect();
    Error::NoSuch(FieldError::new(
        "collectionId",
        format!("no collection {id:?}; the collections are {}", names.join(", ")),
    ))
}

fn link(href: String, rel: &str, kind: &str, title: &str) -> Value {
    json!({ "href": href, "rel": rel, "type": kind, "title": title })
}

fn json_response(status: StatusCode, content_type: &'static str, body: impl Into<Body>) -> Response {
    let mut res = Response::new(body.into());
    *res.status_mut() = status;
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

/// The query string as name/value pairs.
fn pairs(query: Option<&str>) -> Vec<(String, String)> {
    query.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default()
}

/// Checks `f`: JSON is what these resources speak.
fn json_only(pairs: &[(String, String)]) -> Result<()> {
    match pairs.iter().find(|(k, _)| k == "f").map(|(_, v)| v.as_str()) {
        None | Some("json" | "geojson") => Ok(()),
        Some(other) => Err(bad_param("f", format!("only json is offered here, not {other:?}"))),
    }
}

/// `GET /`: the OGC landing page as JSON for `?f=json`, a client that asks for JSON, or one that does
/// not ask for HTML (GDAL, OWSLib, curl); the web map ([`super::web::page`]) for browsers and `?f=html`.
#[utoipa::path(get, path = "/", tag = "ogc-features",
    params(("f" = Option<String>, Query, description = "json or html")),
    responses((status = 200, description = "the landing page, or the web map for browsers",
               content((Object = "application/json"), (String = "text/html")))))]
pub async fn landing(
    State(state): State<AppState>,
    BaseUrl(base): BaseUrl,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let pairs = pairs(query.as_deref());
    let f = pairs.iter().find(|(k, _)| k == "f").map(|(_, v)| v.as_str());
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let wants_json = match f {
        Some("json") => true,
        Some("html") => false,
        Some(other) => return Err(bad_param("f", format!("must be json or html, not {other:?}"))),
        // Browsers always name text/html; GIS clients name JSON or take anything (OWSLib sends */*).
        None => accept.contains("json") || !accept.contains("text/html"),
    };
    if f == Some("html") {
        return Ok(super::ogc_api::html_landing(&base));
    }
    if !wants_json {
        return Ok(super::web::page(&state).await);
    }
    let body = json!({
        "title": "Shangyu idle-farmhouse registry (上虞区闲置农房激活)",
        "description": "Farmhouses, parcels, townships and villages of the idle-farmhouse activation programme, \
                        as OGC API – Features and vector tiles.",
        "links": super::ogc_api::landing_links(&base),
    });
    let mut res = axum::Json(body).into_response();
    res.headers_mut().insert(header::VARY, HeaderValue::from_static("Accept"));
    Ok(res)
}

/// OGC API conformance classes.
#[utoipa::path(get, path = "/conformance", tag = "ogc-features",
    params(("f" = Option<String>, Query, description = "json")),
    responses((status = 200, description = "the conformance classes", body = Object)))]
pub async fn conformance(RawQuery(query): RawQuery) -> Result<Response> {
    json_only(&pairs(query.as_deref()))?;
    let classes: Vec<&str> = CONFORMANCE.iter().chain(super::ogc_tiles::CONFORMANCE).copied().collect();
    Ok(axum::Json(json!({ "conformsTo": classes })).into_response())
}

fn collection_json(layer: Layer, base: &str, extent: Option<[f64; 4]>) -> Value {
    let name = layer.name();
    let mut c = json!({
        "id": name,
        "title": layer.title(),
        "description": layer.description(),
        "itemType": "feature",
        "crs": OutputCrs::uris(),
        "storageCrs": CRS84,
        "links": [
            link(format!("{base}/collections/{name}"), "self", JSON, "this collection"),
            link(format!("{base}/collections/{name}/items"), "items", GEOJSON, "its features"),
            link(format!("{base}/tiles/{name}"), "describedby", JSON, "its vector tiles (TileJSON)"),
            link(format!("{base}/collections/{name}/tiles"), super::ogc_tiles::REL_TILESETS_VECTOR, JSON, "its tilesets"),
            link(format!("{base}/collections/{name}/queryables"), QUERYABLES_REL, SCHEMA_JSON, "what filters may use"),
        ],
    });
    if let Some(bbox) = extent {
        c["extent"] = json!({ "spatial": { "bbox": [bbox], "crs": CRS84 } });
    }
    c
}

/// OGC API feature collections.
#[utoipa::path(get, path = "/collections", tag = "ogc-features",
    params(("f" = Option<String>, Query, description = "json")),
    responses((status = 200, description = "the feature collections", body = Object)))]
pub async fn collections(
    State(state): State<AppState>,
    BaseUrl(base): BaseUrl,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    json_only(&pairs(query.as_deref()))?;
    let extent = items::extent(&mut *state.reads.acquire().await?.conn).await?;
    let list: Vec<Value> = COLLECTIONS.iter().map(|l| collection_json(*l, &base, extent)).collect();
    Ok(axum::Json(json!({
        "links": [link(format!("{base}/collections"), "self", JSON, "the collections")],
        "crs": OutputCrs::uris(),
        "collections": list,
    }))
    .into_response())
}

/// One feature collection.
#[utoipa::path(get, path = "/collections/{collection}", tag = "ogc-features",
    params(("collection" = String, Path, description = "farmhouses, parcels, townships or villages"),
           ("f" = Option<String>, Query, description = "json")),
    responses((status = 200, description = "one collection", body = Object)))]
pub async fn collection(
    State(state): State<AppState>,
    Path(id): Path<String>,
    BaseUrl(base): BaseUrl,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let layer = Layer::from_name(&id).ok_or_else(|| unknown_collection(&id))?;
    json_only(&pairs(query.as_deref()))?;
    let extent = items::extent(&mut *state.reads.acquire().await?.conn).await?;
    Ok(axum::Json(collection_json(layer, &base, extent)).into_response())
}

/// Reads `crs` and `properties` (OGC API – Features Parts 2 and 6) of an items or item request.
fn read_view(layer: Layer, audience: Audience, pairs: &[(String, String)]) -> Result<View> {
    let mut v = View::default();
    for (name, value) in pairs {
        match name.as_str() {
            "crs" => v.crs = OutputCrs::parse(value).map_err(|e| bad_param("crs", e))?,
            "properties" => {
                v.properties =
                    Some(view::read_properties(layer, audience, value).map_err(|e| bad_param("properties", e))?);
            }
            _ => {}
        }
    }
    Ok(v)
}

/// `response` with the `Content-Crs` header of `crs` (OGC API – Features Part 2).
fn with_content_crs(mut response: Response, crs: OutputCrs) -> Response {
    if let Ok(value) = HeaderValue::from_str(&format!("<{}>", crs.uri())) {
        response.headers_mut().insert("content-crs", value);
    }
    response
}

/// Reads an items request; every parameter it does not know is refused, naming it. A `limit` above
/// `max_limit` is taken as `max_limit`, as OGC API – Features asks (the `next` links carry it).
fn item_query(layer: Layer, audience: Audience, pairs: &[(String, String)], max_limit: u32) -> Result<ItemQuery> {
    let mut q = ItemQuery {
        bbox: None,
        filters: Vec::new(),
        cql: None,
        limit: DEFAULT_LIMIT,
        cursor: None,
        bbox_crs: OutputCrs::Crs84,
        sort: sort::SortBy::default(),
        view: read_view(layer, audience, pairs)?,
    };
    let mut bbox = None;
    for (name, value) in pairs {
        if value.contains('\0') {
            return Err(bad_param(name, "must not contain a NUL character"));
        }
        match name.as_str() {
            "f" | "datetime" | "crs" | "properties" => {}
            "bbox-crs" => q.bbox_crs = OutputCrs::parse(value).map_err(|e| bad_param("bbox-crs", e))?,
            "sortby" => q.sort = sort::read(layer, audience, value).map_err(|e| bad_param("sortby", e))?,
            "limit" => {
                let n: u32 = value
                    .parse()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| bad_param("limit", format!("must be a whole number from 1, not {value:?}")))?;
                q.limit = n.min(max_limit);
            }
            "bbox" => bbox = Some(value),
            "after" | "before" => {
                q.cursor =
                    Some(if name == "after" { Cursor::After(value.clone()) } else { Cursor::Before(value.clone()) });
            }
            other => {
                let filter = layer.filters().iter().find(|f| f.name == other || f.alias == Some(other));
                if let Some(f) = filter {
                    q.filters.push((f, value.clone()));
                } else {
                    let known: Vec<&str> = layer.filters().iter().map(|f| f.name).collect();
                    return Err(bad_param(
                        other,
                        format!(
                            "unknown parameter; {} takes bbox, bbox-crs, crs, limit, after, before, sortby, properties{}{}",
                            layer.name(),
                            if known.is_empty() { "" } else { " and the filters " },
                            known.join(", ")
                        ),
                    ));
                }
            }
        }
    }
    if let Some(text) = bbox {
        q.bbox = Some(match q.bbox_crs {
            OutputCrs::Crs84 => super::query::bbox(text)?,
            other => other.read_bbox(text).map_err(|e| bad_param("bbox", e))?,
        });
    }
    if let Some(Cursor::After(at) | Cursor::Before(at)) = &q.cursor {
        let name = if matches!(q.cursor, Some(Cursor::After(_))) { "after" } else { "before" };
        sort::decode(layer, &q.sort, at).map_err(|e| bad_param(name, e))?;
    }
    Ok(q)
}

/// The query string of a page link: the request's own parameters with the cursor replaced.
fn page_href(base: &str, layer: Layer, q: &ItemQuery, cursor: Option<(&str, &str)>) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    s.append_pair("limit", &q.limit.to_string());
    if let Some(b) = q.bbox {
        s.append_pair("bbox", &format!("{},{},{},{}", b[0], b[1], b[2], b[3]));
    }
    for (f, v) in &q.filters {
        s.append_pair(f.name, v);
    }
    if q.bbox.is_some() && q.bbox_crs != OutputCrs::Crs84 {
        s.append_pair("bbox-crs", &q.bbox_crs.uri());
    }
    if q.view.crs != OutputCrs::Crs84 {
        s.append_pair("crs", &q.view.crs.uri());
    }
    if !q.sort.is_empty() {
        s.append_pair("sortby", &q.sort.text());
    }
    if let Some(names) = &q.view.properties {
        s.append_pair("properties", &names.join(","));
    }
    for (k, v) in q.cql.iter().flat_map(|w| w.request.params()) {
        s.append_pair(k, v);
    }
    match (cursor, &q.cursor) {
        (Some((k, v)), _) => {
            s.append_pair(k, v);
        }
        (None, Some(Cursor::After(v))) => {
            s.append_pair("after", v);
        }
        (None, Some(Cursor::Before(v))) => {
            s.append_pair("before", v);
        }
        (None, None) => {}
    }
    format!("{base}/collections/{}/items?{}", layer.name(), s.finish())
}

/// GeoJSON features: bbox, limit, keyset paging, filters; attributes by role.
#[utoipa::path(get, path = "/collections/{collection}/items", tag = "ogc-features",
    params(("collection" = String, Path, description = "farmhouses, parcels, townships or villages"),
           ("bbox" = Option<String>, Query, description = "west,south,east,north (degrees, CRS84)"),
           ("limit" = Option<u32>, Query, description = "features per page (default 10); a larger limit than the most \
             a page holds (1000 for the public and investors, 10000 for officers, officials and admins) is taken as that most"),
           ("after" = Option<String>, Query, description = "the page after this feature id"),
           ("before" = Option<String>, Query, description = "the page before this feature id"),
           ("status" = Option<String>, Query, description = "farmhouses: registered, listed, contracted, certified"),
           ("township_code" = Option<String>, Query, description = "9-digit township code"),
           ("village" = Option<String>, Query, description = "village name"),
           ("crs" = Option<String>, Query, description = "CRS of the geometries, a URI of the collection's `crs` list \
             (default CRS84), e.g. http://www.opengis.net/def/crs/EPSG/0/4549; axes in the CRS's order; the answer's \
             Content-Crs header names it"),
           ("bbox-crs" = Option<String>, Query, description = "CRS of `bbox`, a URI of the `crs` list (default CRS84); \
             its coordinates in that CRS's axis order"),
           ("sortby" = Option<String>, Query, description = "sort keys joined by commas, each a property the caller \
             sees, optionally after + (ascending) or - (descending), e.g. -floor_area_m2,year_built; ties by id"),
           ("properties" = Option<String>, Query, description = "only these properties, joined by commas"),
           ("filter" = Option<String>, Query, description = "a CQL2 filter over the collection's queryables \
             (GET /collections/{collection}/queryables), e.g. status = 'listed' AND floor_area_m2 > 150"),
           ("filter-lang" = Option<String>, Query, description = "cql2-text (default) or cql2-json"),
           ("filter-crs" = Option<String>, Query, description = "the CRS of the filter's geometries: \
             http://www.opengis.net/def/crs/OGC/1.3/CRS84 (default) or http://www.opengis.net/def/crs/EPSG/0/ \
             followed by 4326, 4490, 4549, 4528 or 3857 (in the axis order EPSG gives them)"),
           ("f" = Option<String>, Query, description = "json")),
    responses((status = 200, description = "a page of features", content_type = "application/geo+json", body = Object)))]
pub async fn items(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    BaseUrl(base): BaseUrl,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let layer = Layer::from_name(&id).ok_or_else(|| unknown_collection(&id))?;
    let mut pairs = pairs(query.as_deref());
    json_only(&pairs)?;
    let filter = FilterRequest::take(&mut pairs);
    let audience = layer.audience(caller.role.audience());
    let mut q = item_query(layer, audience, &pairs, max_limit(caller.role))?;
    if let Some(f) = filter {
        q.cql = Some(read_filter(layer, audience, f).await?);
    }
    // Both on one connection: from the same server, so the count and the page agree, and never holding
    // one connection while waiting for a second (under load, every request could hold one and wait).
    // One buffer, the body: the features are written into it straight from the rows, the members that
    // depend on them (counts, links) after them (DESIGN §7.5).
    let mut body = Vec::with_capacity(q.limit.min(1000) as usize * 700 + 1024);
    body.extend_from_slice(br#"{"type":"FeatureCollection","features":["#);
    let mut read = state.reads.acquire().await?;
    let page = items::page(&mut *read.conn, layer, audience, &q, &mut body).await?;
    let matched = items::number_matched(&mut *read.conn, layer, &q).await?;
    drop(read);
    body.extend_from_slice(b"],");

    let backwards = matches!(q.cursor, Some(Cursor::Before(_)));
    let mut links = vec![
        link(page_href(&base, layer, &q, None), "self", GEOJSON, "this page"),
        link(format!("{base}/collections/{}", layer.name()), "collection", JSON, "the collection"),
    ];
    let has_next = if backwards { page.returned > 0 } else { page.more };
    let has_prev = if backwards { page.more } else { q.cursor.is_some() && page.returned > 0 };
    if let (true, Some(last)) = (has_next, &page.last_id) {
        links.push(link(page_href(&base, layer, &q, Some(("after", last))), "next", GEOJSON, "the next page"));
    }
    if let (true, Some(first)) = (has_prev, &page.first_id) {
        links.push(link(page_href(&base, layer, &q, Some(("before", first))), "prev", GEOJSON, "the previous page"));
    }
    let mut tail = json!({
        "numberReturned": page.returned,
        "timeStamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "links": links,
    });
    if let Some(n) = matched {
        tail["numberMatched"] = json!(n);
    }
    // The members after the features: the object's own, without its opening brace.
    let opening = body.len();
    serde_json::to_writer(&mut body, &tail).map_err(|e| Error::Internal(e.into()))?;
    body.remove(opening);
    Ok(with_content_crs(json_response(StatusCode::OK, GEOJSON, body), q.view.crs))
}

/// One GeoJSON feature; attributes by role.
#[utoipa::path(get, path = "/collections/{collection}/items/{feature}", tag = "ogc-features",
    params(("collection" = String, Path, description = "farmhouses, parcels, townships or villages"),
           ("feature" = String, Path, description = "the feature id"),
           ("crs" = Option<String>, Query, description = "CRS of the geometry, a URI of the collection's `crs` list \
             (default CRS84)"),
           ("properties" = Option<String>, Query, description = "only these properties, joined by commas"),
           ("f" = Option<String>, Query, description = "json")),
    responses((status = 200, description = "one feature", content_type = "application/geo+json", body = Object)))]
pub async fn item(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, feature)): Path<(String, String)>,
    BaseUrl(base): BaseUrl,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let layer = Layer::from_name(&id).ok_or_else(|| unknown_collection(&id))?;
    let pairs = pairs(query.as_deref());
    json_only(&pairs)?;
    let audience = layer.audience(caller.role.audience());
    let view = read_view(layer, audience, &pairs)?;
    let found = items::item(&mut *state.reads.acquire().await?.conn, layer, audience, &feature, &view).await?;
    let Some(text) = found else {
        return Err(Error::NoSuch(FieldError::new(
            "featureId",
            format!("{} has no feature {feature:?}", layer.name()),
        )));
    };
    let links = json!([
        link(format!("{base}/collections/{}/items/{feature}", layer.name()), "self", GEOJSON, "this feature"),
        link(format!("{base}/collections/{}", layer.name()), "collection", JSON, "the collection"),
    ]);
    let mut body = String::with_capacity(text.len() + 400);
    body.push_str(&text[..text.len() - 1]);
    body.push_str(",\"links\":");
    body.push_str(&links.to_string());
    body.push('}');
    Ok(with_content_crs(json_response(StatusCode::OK, GEOJSON, body), view.crs))
}

/// Reads a CQL2 filter on `layer` for `audience`; a refusal is a 400 naming its parameter.
pub async fn read_filter(layer: Layer, audience: Audience, f: FilterRequest) -> Result<Arc<Where>> {
    cql::compile(layer, audience, f).await.map_err(|r| bad_param(r.field, r.message))
}

/// The properties a filter on a collection may use, as the caller's role sees them (OGC API – Features
/// Part 3 queryables: a JSON Schema).
#[utoipa::path(get, path = "/collections/{collection}/queryables", tag = "ogc-features",
    params(("collection" = String, Path, description = "farmhouses, parcels, townships or villages"),
           ("f" = Option<String>, Query, description = "json")),
    responses((status = 200, description = "the queryables (JSON Schema)", content_type = "application/schema+json",
               body = Object)))]
pub async fn queryables(
    caller: Caller,
    Path(id): Path<String>,
    BaseUrl(base): BaseUrl,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let layer = Layer::from_name(&id).ok_or_else(|| unknown_collection(&id))?;
    json_only(&pairs(query.as_deref()))?;
    let audience = layer.audience(caller.role.audience());
    let schema = cql::queryables_schema(layer, audience, &format!("{base}/collections/{}/queryables", layer.name()));
    Ok(json_response(StatusCode::OK, SCHEMA_JSON, schema.to_string()))
}

/// The routes of this module, with who may call them.
pub fn routes() -> Vec<Endpoint> {
    vec![
        route(routes!(landing), Allow::Everyone),
        route(routes!(conformance), Allow::Everyone),
        route(routes!(collections), Allow::Everyone),
        route(routes!(collection), Allow::Everyone),
        route(routes!(items), Allow::Everyone),
        route(routes!(item), Allow::Everyone),
        route(routes!(queryables), Allow::Everyone),
    ]
}
