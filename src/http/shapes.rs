//! The shapes every resource shares: GeoJSON features in and out, pages of lists with their `next`
//! link, and record versions as ETags for optimistic concurrency.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::problem::{Error, Result};
use crate::store::Page;

/// Rows per page when the caller does not say.
pub const DEFAULT_LIMIT: i64 = 100;
/// The most rows one page may hold.
pub const MAX_LIMIT: i64 = 1000;

/// The page of a list: `limit` rows (1..=1000, default 100) after id `after` (keyset paging: each
/// page's `next` link carries the last id of the page).
pub fn page(limit: Option<i64>, after: Option<i64>) -> Result<Page> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Error::Malformed(vec![crate::domain::FieldError::new(
            "limit",
            format!("must be 1 to {MAX_LIMIT}, not {limit}"),
        )]));
    }
    Ok(Page { after: after.unwrap_or(0).max(0), limit })
}

/// The request's own URL with `after` set to `next`: the link to the following page.
pub fn next_link(uri: &Uri, next: Option<i64>) -> Option<String> {
    let next = next?;
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .filter(|(k, _)| k != "after")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.push(("after".into(), next.to_string()));
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    Some(format!("{}?{query}", uri.path()))
}

/// A page of records.
#[derive(Debug, Serialize, ToSchema)]
pub struct List<T> {
    pub items: Vec<T>,
    /// The next page, when there is one.
    pub next: Option<String>,
}

impl<T> List<T> {
    pub fn new(items: Vec<T>, uri: &Uri, next: Option<i64>) -> Self {
        Self { items, next: next_link(uri, next) }
    }
}

/// A GeoJSON Feature (RFC 7946): geometry in lon/lat.
#[derive(Debug, Serialize, ToSchema)]
pub struct Feature<P> {
    /// Always `Feature`.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "Feature")]
    pub kind: &'static str,
    pub id: i64,
    /// A GeoJSON geometry.
    #[schema(value_type = Object)]
    pub geometry: Value,
    pub properties: P,
}

impl<P> Feature<P> {
    pub fn new(id: i64, geometry: Value, properties: P) -> Self {
        Self { kind: "Feature", id, geometry, properties }
    }
}

/// A page of features.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeatureCollection<P> {
    /// Always `FeatureCollection`.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "FeatureCollection")]
    pub kind: &'static str,
    pub features: Vec<Feature<P>>,
    #[serde(rename = "numberReturned")]
    pub number_returned: usize,
    /// How many records the request selects over all its pages, where the list counts them (the first
    /// page of `/api/v1/farmhouses`).
    #[serde(rename = "numberMatched", skip_serializing_if = "Option::is_none")]
    pub number_matched: Option<i64>,
    /// The next page, when there is one.
    pub next: Option<String>,
}

impl<P> FeatureCollection<P> {
    pub fn new(features: Vec<Feature<P>>, uri: &Uri, next: Option<i64>) -> Self {
        Self {
            kind: "FeatureCollection",
            number_returned: features.len(),
            features,
            number_matched: None,
            next: next_link(uri, next),
        }
    }

    /// The same, saying how many records match over all pages.
    pub fn matched(self, number_matched: Option<i64>) -> Self {
        Self { number_matched, ..self }
    }
}

/// A GeoJSON Feature sent by a client: a geometry (lon/lat) and the record's properties.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeatureIn<P> {
    /// Must be `Feature`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    #[allow(dead_code)]
    #[schema(value_type = Option<Object>)]
    pub id: Option<Value>,
    #[serde(default)]
    #[allow(dead_code)]
    #[schema(value_type = Option<Vec<f64>>)]
    pub bbox: Option<Value>,
    /// A GeoJSON Polygon in lon/lat (EPSG:4326).
    #[schema(value_type = Option<Object>)]
    pub geometry: Option<geojson::Geometry>,
    pub properties: P,
}

impl<P> FeatureIn<P> {
    /// Refuses anything but `"type": "Feature"`.
    pub fn check_type(&self) -> Result<()> {
        if self.kind == "Feature" {
            Ok(())
        } else {
            Err(Error::invalid("type", format!("must be \"Feature\", not {:?}", self.kind)))
        }
    }
}

/// `g` as a polygon of the district of `extent` that the database may store, as GeoJSON for
/// `ST_GeomFromGeoJSON`; or `None`, with what is wrong recorded in `c` under `geometry`. The caps on
/// positions and holes come first (counting, before anything is built); then rings and the extent, in
/// linear time; then validity, which the database decides (`store::geometry::polygon_fault`), so no
/// request handler spends its thread on a polygon's edges.
pub async fn polygon(
    pool: &crate::store::Pool,
    c: &mut crate::domain::checks::Checks,
    g: &geojson::Geometry,
    extent: &crate::geo::shape::Extent,
) -> Result<Option<String>> {
    let polygon = match crate::geo::shape::polygon(g, "geometry", Some(extent)) {
        Ok(p) => p,
        Err(errors) => {
            c.extend(errors);
            return Ok(None);
        }
    };
    let geojson = crate::geo::shape::to_geojson(&polygon);
    match crate::store::geometry::polygon_fault(pool, &geojson).await? {
        Some(fault) => {
            c.fail("geometry", fault);
            Ok(None)
        }
        None => Ok(Some(geojson)),
    }
}

/// The ETag of version `version` of record `id` of `kind`: strong, changes with every update.
pub fn etag(kind: &str, id: i64, version: i32) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{kind}-{id}-v{version}\"")).expect("an ASCII tag")
}

/// The version a conditional write expects, from `If-Match` (an ETag this service gave out).
#[derive(Debug, Clone, Copy)]
pub struct IfMatch(pub Option<i32>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if_match(&parts.headers).map(IfMatch)
    }
}

fn if_match(headers: &HeaderMap) -> Result<Option<i32>> {
    let Some(value) = headers.get(header::IF_MATCH) else { return Ok(None) };
    let text = value.to_str().unwrap_or("").trim();
    let version =
        text.trim_start_matches("W/").trim_matches('"').rsplit_once("-v").and_then(|(_, v)| v.parse::<i32>().ok());
    match version {
        Some(v) => Ok(Some(v)),
        None => Err(Error::Malformed(vec![crate::domain::FieldError::new(
            "If-Match",
            format!("{text:?} is not an ETag of this service (e.g. \"farmhouse-12-v3\")"),
        )])),
    }
}

impl IfMatch {
    /// The expected version: from `If-Match`, else from the body's `version`. A write without either
    /// could silently undo someone else's change, so it is refused (428).
    pub fn expected(self, body_version: Option<i32>) -> Result<i32> {
        match (self.0, body_version) {
            (Some(h), Some(b)) if h != b => Err(Error::invalid(
                "version",
                format!("the body says version {b} but If-Match says {h}"),
            )),
            (Some(v), _) | (None, Some(v)) => Ok(v),
            (None, None) => Err(Error::PreconditionRequired(
                "send If-Match with the ETag you read (or \"version\" in the body) so a concurrent change is not overwritten"
                    .into(),
            )),
        }
    }
}
