//! `GET /tiles/{layer}/{z}/{x}/{y}`: Mapbox Vector Tiles, and `GET /tiles/{layer}`: their TileJSON.
//!
//! Tiles are answered from the in-memory [`TileCache`](crate::map::TileCache) when it holds them, with
//! the compressed form the client accepts (made once, then cached), a strong ETag (304 on
//! `If-None-Match`), and 204 when there is nothing to draw. Attributes depend on the caller's role, and a
//! tile is cached per attribute set, so public and staff tiles never mix. Tiles are read from the
//! standbys when the service has any ([`crate::store::standbys`]).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::auth::Caller;
use super::features::BaseUrl;
use super::problem::FieldError;
use super::routes::{Allow, Endpoint, route};
use super::{AppState, Error, Result};
use crate::domain::roles::Audience;
use crate::map::cql::{FilterRequest, Where};
use crate::map::encoding::{self, Encoding, Tile};
use crate::map::layers::CLUSTER_FIELDS;
use crate::map::{self, Layer, TileId, TileKey};
use utoipa_axum::routes;

pub const MVT: &str = "application/vnd.mapbox-vector-tile";

/// Answers for a name that is no layer.
fn unknown_layer(name: &str) -> Error {
    let names: Vec<&str> = Layer::ALL.iter().map(|l| l.name()).collect();
    Error::NoSuch(FieldError::new("layer", format!("no layer {name:?}; the layers are {}", names.join(", "))))
}

/// Mapbox Vector Tile (y may end in .pbf/.mvt); attributes by role.
#[utoipa::path(get, path = "/tiles/{layer}/{z}/{x}/{y}", tag = "tiles",
    params(("layer" = String, Path, description = "farmhouses, parcels, townships or villages"),
           ("z" = u8, Path), ("x" = u32, Path), ("y" = String, Path, description = "may end in .pbf or .mvt"),
           ("filter" = Option<String>, Query, description = "draw only the features matching this CQL2 filter \
             (as on /collections/{layer}/items; clusters count the matching houses)"),
           ("filter-lang" = Option<String>, Query, description = "cql2-text (default) or cql2-json"),
           ("filter-crs" = Option<String>, Query, description = "the CRS of the filter's geometries (as on items)")),
    responses((status = 200, description = "a Mapbox Vector Tile", content_type = "application/vnd.mapbox-vector-tile",
               body = Vec<u8>),
              (status = 204, description = "nothing in this tile"), (status = 304, description = "not modified")))]
pub async fn tile(
    State(state): State<AppState>,
    caller: Caller,
    Path((layer, z, x, y)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let layer = Layer::from_name(&layer).ok_or_else(|| unknown_layer(&layer))?;
    let tile = TileId::parse(&z, &x, &y).map_err(|bad| {
        let e = FieldError::new(bad.field, bad.message);
        if bad.outside { Error::NoSuch(e) } else { Error::BadParameter(e) }
    })?;
    let audience = layer.audience(caller.role.audience());
    let filter = match FilterRequest::take(&mut query_pairs(query.as_deref())) {
        Some(f) => Some(super::features::read_filter(layer, audience, f).await?),
        None => None,
    };
    let key = TileKey { layer, audience, tile };
    let encoding = encoding_of(&headers);
    let (tile, hit) = cached(&state, key, encoding, filter).await?;
    Ok(respond(&tile, encoding, audience, hit, &headers))
}

/// The tile of `key` with its body in `encoding`, from the cache or rendered (and then cached), and
/// whether the cache held it; with `filter`, only its matching features (kept apart in the cache by the
/// filter's normal form). The OGC API – Tiles routes ([`super::ogc_tiles`]) serve the same tiles.
pub(super) async fn cached(
    state: &AppState,
    key: TileKey,
    encoding: Encoding,
    filter: Option<Arc<Where>>,
) -> Result<(Arc<Tile>, bool)> {
    let normal = filter.as_ref().map(|w| w.key.clone());
    let cache = &state.tiles;
    let ticket = cache.ticket();
    Ok(match cache.get_filtered(&key, normal.as_ref()) {
        Some(t) if t.body(encoding).is_some() => (t, true),
        Some(t) => {
            let t = Arc::new(t.with(encoding));
            cache.insert_filtered(ticket, key, normal, t.clone(), None);
            (t, true)
        }
        None => {
            let mut read = state.reads.acquire().await?;
            // From a standby: how far it had replayed before this render, so the cache can refuse a tile
            // that misses a change it already knows of (see TileCache::insert_replayed).
            let replayed = read.replayed().await?;
            let raw = map::filtered::render(&mut *read.conn, &key, filter.as_deref()).await?;
            drop(read);
            let t = Arc::new(Tile::new(raw).with(encoding));
            cache.insert_filtered(ticket, key, normal, t.clone(), replayed);
            (t, false)
        }
    })
}

/// The body encoding a request's `Accept-Encoding` asks for.
pub(super) fn encoding_of(headers: &HeaderMap) -> Encoding {
    Encoding::negotiate(headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()))
}

pub(super) fn respond(tile: &Tile, encoding: Encoding, audience: Audience, hit: bool, headers: &HeaderMap) -> Response {
    let etag = tile.etag(encoding);
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|inm| encoding::matches(inm, &etag));
    let (status, body) = if not_modified {
        (StatusCode::NOT_MODIFIED, Body::empty())
    } else if tile.is_empty() {
        (StatusCode::NO_CONTENT, Body::empty())
    } else {
        (StatusCode::OK, Body::from(tile.body(encoding).cloned().unwrap_or_default()))
    };
    let mut res = Response::new(body);
    *res.status_mut() = status;
    let h = res.headers_mut();
    if status == StatusCode::OK {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(MVT));
        if let Some(coding) = encoding.header() {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
        }
    }
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    // Clients revalidate every time (a 304 is cheap), so an edit shows at once; tiles with staff-only
    // attributes are kept out of shared caches.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if audience == Audience::Public { "public, no-cache" } else { "private, no-cache" }),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    h.insert("x-tile-cache", HeaderValue::from_static(if hit { "hit" } else { "miss" }));
    res
}

/// The query string as name/value pairs.
fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default()
}

/// TileJSON 3.0.0 of a layer, with the fields the caller's role sees.
#[utoipa::path(get, path = "/tiles/{layer}", tag = "tiles",
    params(("layer" = String, Path, description = "farmhouses, parcels, townships or villages"),
           ("filter" = Option<String>, Query, description = "a CQL2 filter the tile URLs then carry"),
           ("filter-lang" = Option<String>, Query, description = "cql2-text (default) or cql2-json"),
           ("filter-crs" = Option<String>, Query, description = "the CRS of the filter's geometries")),
    responses((status = 200, description = "TileJSON 3.0.0", body = Object)))]
pub async fn tilejson(
    State(state): State<AppState>,
    caller: Caller,
    Path(layer): Path<String>,
    BaseUrl(base): BaseUrl,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let layer = Layer::from_name(&layer).ok_or_else(|| unknown_layer(&layer))?;
    let audience = layer.audience(caller.role.audience());
    // Asked with a filter, the tile URLs keep it (once it reads).
    let mut keep = String::new();
    if let Some(f) = FilterRequest::take(&mut query_pairs(query.as_deref())) {
        let w = super::features::read_filter(layer, audience, f).await?;
        let mut s = form_urlencoded::Serializer::new(String::new());
        s.extend_pairs(w.request.params());
        keep = format!("?{}", s.finish());
    }
    let mut read = state.reads.acquire().await?;
    let bounds = map::items::extent(&mut *read.conn).await?.unwrap_or([-180.0, -85.0, 180.0, 85.0]);
    drop(read);
    let (minzoom, maxzoom) = layer.zooms();
    let mut fields = serde_json::Map::new();
    for p in layer.visible(audience, true) {
        fields.insert(p.name.into(), Value::String(format!("{} ({})", p.description, p.kind.json_type())));
    }
    if layer == Layer::Farmhouses {
        for (name, description) in CLUSTER_FIELDS {
            fields.insert((*name).into(), Value::String((*description).into()));
        }
    }
    let body = json!({
        "tilejson": "3.0.0",
        "name": layer.name(),
        "description": layer.description(),
        "version": "1.0.0",
        "scheme": "xyz",
        "tiles": [format!("{base}/tiles/{}/{{z}}/{{x}}/{{y}}{keep}", layer.name())],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": bounds,
        "center": [f64::midpoint(bounds[0], bounds[2]), f64::midpoint(bounds[1], bounds[3]), minzoom.max(10)],
        "vector_layers": [{
            "id": layer.name(),
            "description": layer.title(),
            "minzoom": minzoom,
            "maxzoom": maxzoom,
            "fields": fields,
        }],
    });
    let mut res = axum::Json(body).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(res)
}

/// The routes of this module, with who may call them.
pub fn routes() -> Vec<Endpoint> {
    vec![route(routes!(tilejson), Allow::Everyone), route(routes!(tile), Allow::Everyone)]
}
