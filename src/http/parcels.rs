//! `/api/v1/parcels` (宗地) and `/api/v1/townships`: the ground of the registry, as GeoJSON features.

use axum::extract::{OriginalUri, Path, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Caller;
use super::farmhouses::geojson_response;
use super::json::Json;
use super::query::{NoQuery, Query};
use super::routes::{Allow, Endpoint, route};
use super::shapes::{Feature, FeatureCollection, FeatureIn, IfMatch, etag, page};
use super::{AppState, Error, Problem, Result};
use crate::domain::checks::{Checks, nfc};
use crate::domain::house;
use crate::domain::unit_number::ParcelCode;
use crate::store::parcels::{self, NewParcel, ParcelChanges, ParcelFilter, ParcelRow};
use crate::store::townships::{self, Township};
use crate::store::{self};
use utoipa_axum::routes;

#[derive(Debug, Serialize, ToSchema)]
pub struct ParcelProps {
    /// 19-character parcel code (宗地代码).
    pub parcel_code: String,
    pub township_code: String,
    pub village: String,
    /// GB/T 21010 land-use code (0702 农村宅基地).
    pub land_use: String,
    /// Plane area on EPSG:4549 (CGCS2000 / 3-degree Gauss–Krüger CM 120E), m².
    pub area_m2: f64,
    /// Houses registered on the parcel.
    pub houses: i64,
    pub version: i32,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

pub type ParcelFeature = Feature<ParcelProps>;

fn feature(r: ParcelRow) -> ParcelFeature {
    Feature::new(
        r.id,
        r.geometry.0,
        ParcelProps {
            parcel_code: r.parcel_code,
            township_code: r.township_code,
            village: r.village,
            land_use: r.land_use,
            area_m2: r.area_m2,
            houses: r.houses,
            version: r.version,
            updated_at: r.updated_at,
        },
    )
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ParcelQuery {
    pub township: Option<String>,
    pub village: Option<String>,
    /// Parcel codes that start with this.
    pub code: Option<String>,
    /// Rows per page (1..=1000, default 100).
    pub limit: Option<i64>,
    /// Show rows after this id (the `next` link carries it).
    pub after: Option<i64>,
}

/// Parcels as GeoJSON features.
#[utoipa::path(get, path = "/api/v1/parcels", tag = "parcels", params(ParcelQuery),
    responses((status = 200, body = FeatureCollection<ParcelProps>, content_type = "application/geo+json")))]
pub async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Query(q): Query<ParcelQuery>,
) -> Result<Response> {
    let page = page(q.limit, q.after)?;
    // Villages are stored NFC (`checks::text`): so is the one asked for.
    let filter = ParcelFilter { township: q.township, village: q.village.as_deref().map(nfc), code_prefix: q.code };
    let rows = parcels::list(&state.pool, &filter, page).await?;
    let (rows, next) = page.split(rows, |r| r.id);
    let features = rows.into_iter().map(feature).collect();
    Ok(geojson_response(StatusCode::OK, &FeatureCollection::new(features, &uri, next)))
}

async fn fetch(state: &AppState, id: i64) -> Result<ParcelRow> {
    parcels::get(&state.pool, id).await?.ok_or_else(|| Error::NotFound(format!("parcel {id}")))
}

fn respond(status: StatusCode, row: ParcelRow) -> Response {
    let tag = etag("parcel", row.id, row.version);
    let id = row.id;
    let mut res = geojson_response(status, &feature(row));
    res.headers_mut().insert(header::ETAG, tag);
    if status == StatusCode::CREATED {
        res.headers_mut().insert(header::LOCATION, format!("/api/v1/parcels/{id}").parse().expect("a path"));
    }
    res
}

/// One parcel.
#[utoipa::path(get, path = "/api/v1/parcels/{id}", tag = "parcels", params(("id" = i64, Path)),
    responses((status = 200, body = Feature<ParcelProps>, content_type = "application/geo+json"),
              (status = 404, body = Problem)))]
pub async fn get(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Response> {
    Ok(respond(StatusCode::OK, fetch(&state, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParcelIn {
    pub parcel_code: String,
    /// The township; when left out, the one the parcel lies in.
    pub township_code: Option<String>,
    pub village: String,
    pub land_use: String,
}

/// Checks a boundary against the district of `county`, recording errors in `c`.
async fn boundary(
    state: &AppState,
    c: &mut Checks,
    county: &str,
    g: Option<&geojson::Geometry>,
) -> Result<Option<String>> {
    let Some(g) = g else {
        c.fail("geometry", "a parcel needs its boundary (a Polygon in lon/lat)");
        return Ok(None);
    };
    let Some(extent) = townships::district_extent(&state.pool, county).await? else {
        c.fail("properties.parcel_code.county_code", format!("no district {county} is kept in this registry"));
        return Ok(None);
    };
    super::shapes::polygon(&state.pool, c, g, &extent).await
}

/// Register a parcel.
#[utoipa::path(post, path = "/api/v1/parcels", tag = "parcels",
    request_body(content = FeatureIn<ParcelIn>, content_type = "application/geo+json"),
    responses((status = 201, body = Feature<ParcelProps>, content_type = "application/geo+json"),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(input): Json<FeatureIn<ParcelIn>>,
) -> Result<Response> {
    input.check_type()?;
    let p = &input.properties;
    let mut c = Checks::default();
    let code = match ParcelCode::parse(&p.parcel_code, "properties.parcel_code") {
        Ok(code) => Some(code),
        Err(errors) => {
            c.extend(errors);
            None
        }
    };
    let village = c.check("properties.village", house::village(&p.village));
    let land_use = c.check("properties.land_use", house::land_use(&p.land_use));
    let geometry = match &code {
        Some(code) => boundary(&state, &mut c, code.county_code(), input.geometry.as_ref()).await?,
        None => None,
    };
    let (Some(code), Some(village), Some(land_use), Some(geometry), true) =
        (code, village, land_use, geometry, c.is_ok())
    else {
        return Err(c.finish(|| ()).unwrap_err().into());
    };
    let township_code = match &p.township_code {
        Some(t) => t.clone(),
        None => townships::township_at(&state.pool, &geometry).await?.ok_or_else(|| {
            Error::invalid("properties.township_code", "the parcel lies in no township; name its township_code")
        })?,
    };
    let new =
        NewParcel { parcel_code: code.as_str().to_string(), township_code, village, land_use, boundary: geometry };
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    let id = parcels::insert(&mut tx, &new).await?;
    tx.commit().await?;
    state.changed_parcel(id).await;
    Ok(respond(StatusCode::CREATED, fetch(&state, id).await?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParcelPatch {
    pub village: Option<String>,
    pub land_use: Option<String>,
    pub version: Option<i32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParcelFeaturePatch {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub geometry: Option<geojson::Geometry>,
    #[serde(default)]
    pub properties: ParcelPatch,
}

/// Correct a parcel (If-Match).
#[utoipa::path(patch, path = "/api/v1/parcels/{id}", tag = "parcels",
    request_body(content = ParcelFeaturePatch, content_type = "application/geo+json"),
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "the ETag read")),
    responses((status = 200, body = Feature<ParcelProps>, content_type = "application/geo+json"),
              (status = 412, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    if_match: IfMatch,
    Json(input): Json<ParcelFeaturePatch>,
) -> Result<Response> {
    let version = if_match.expected(input.properties.version)?;
    let current = fetch(&state, id).await?;
    let p = &input.properties;
    let mut c = Checks::default();
    let mut changes = ParcelChanges {
        village: p.village.as_deref().and_then(|v| c.check("properties.village", house::village(v))),
        land_use: p.land_use.as_deref().and_then(|v| c.check("properties.land_use", house::land_use(v))),
        boundary: None,
    };
    if input.geometry.is_some() {
        changes.boundary = boundary(&state, &mut c, &current.parcel_code[..6], input.geometry.as_ref()).await?;
    }
    c.finish(|| ())?;
    if changes.boundary.is_some() {
        state.changed_parcel(id).await;
    }
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    parcels::update(&mut tx, id, version, &changes).await?;
    tx.commit().await?;
    state.changed_parcel(id).await;
    Ok(respond(StatusCode::OK, fetch(&state, id).await?))
}

/// Townships with their boundaries.
#[utoipa::path(get, path = "/api/v1/townships", tag = "townships",
    responses((status = 200, body = Vec<Township>)))]
pub async fn townships(State(state): State<AppState>, _: NoQuery) -> Result<axum::Json<Vec<Township>>> {
    Ok(axum::Json(townships::list(&state.pool).await?))
}

/// One township.
#[utoipa::path(get, path = "/api/v1/townships/{code}", tag = "townships", params(("code" = String, Path)),
    responses((status = 200, body = Township), (status = 404, body = Problem)))]
pub async fn township(State(state): State<AppState>, Path(code): Path<String>) -> Result<axum::Json<Township>> {
    townships::get(&state.pool, &code).await?.map(axum::Json).ok_or_else(|| Error::NotFound(format!("township {code}")))
}

/// The routes of this module, with who may call them.
pub fn routes() -> Vec<Endpoint> {
    vec![
        route(routes!(townships), Allow::Everyone),
        route(routes!(township), Allow::Everyone),
        route(routes!(list), Allow::Everyone),
        route(routes!(create), Allow::OFFICERS),
        route(routes!(get), Allow::Everyone),
        route(routes!(update), Allow::OFFICERS),
    ]
}
