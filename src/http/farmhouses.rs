//! `/api/v1/farmhouses`: houses as GeoJSON features (lon/lat). Everyone reads their public facts;
//! officers register and correct them.

use axum::extract::{OriginalUri, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::auth::Caller;
use super::json::Json;
use super::parties::{Identity, PartyView};
use super::query::{self, Query};
use super::routes::{Allow, Endpoint, route};
use super::shapes::{Feature, FeatureCollection, FeatureIn, IfMatch, etag, page};
use super::{AppState, Error, Problem, Result};
use crate::domain::checks::{Checks, nfc};
use crate::domain::house;
use crate::domain::house::{Condition, Structure, Title};
use crate::domain::identity::PartyKind;
use crate::domain::lifecycle::Status;
use crate::domain::money::Yuan;
use crate::domain::roles::Role;
use crate::domain::unit_number::UnitNumber;
use crate::store::farmhouses::{self, FarmhouseFilter, FarmhouseRow, HouseChanges, HouseFacts, HouseOrder};
use crate::store::{self, townships};
use utoipa_axum::routes;

/// The properties of a house feature.
#[derive(Debug, Serialize, ToSchema)]
pub struct FarmhouseProps {
    /// 不动产单元号 (GB/T 37346), 28 characters.
    pub unit_number: String,
    pub parcel_code: String,
    pub township_code: String,
    pub township_name: String,
    /// The township's name in Hanyu Pinyin ("Baiguan Jiedao").
    pub township_name_pinyin: Option<String>,
    pub village: String,
    /// The village's name in Hanyu Pinyin, when it is a village of the register.
    pub village_pinyin: Option<String>,
    /// 建筑面积, m².
    pub floor_area_m2: f64,
    pub floors: i16,
    pub year_built: i16,
    pub structure: Structure,
    pub condition: Condition,
    pub status: Status,
    pub description: String,
    /// The open listing, if the house is on the exchange.
    pub listing: Option<ListingSummary>,
    /// URLs of the house's photos.
    pub photos: Vec<String>,
    /// The certificate in force, if the house is certified.
    pub certificate_no: Option<String>,
    pub version: i32,
    pub updated_at: chrono::DateTime<Utc>,
    /// The signed transaction in force (staff only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<i64>,
    /// The owner household (officers; officials masked; never public or investors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<PartyView>,
    /// The title basis (staff only): see [`TitleBasis`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<TitleBasis>,
}

/// The rights a lease of the house rests on (docs/DESIGN.md §2.5).
#[derive(Debug, Serialize, ToSchema)]
pub struct TitleBasis {
    /// The homestead use right (宅基地使用权): issued, confirmed or unconfirmed.
    pub homestead_title: Title,
    pub homestead_cert_no: Option<String>,
    /// The house ownership (房屋所有权).
    pub ownership_title: Title,
    pub ownership_cert_no: Option<String>,
    /// The household keeps its qualification right (资格权).
    pub qualification_retained: bool,
    /// The house or its land belongs to the collective: its members' meeting decides a lease.
    pub collective_property: bool,
    /// The grade of the latest house safety appraisal (房屋安全鉴定), A–D.
    pub safety_grade: Option<String>,
}

/// The public facts of an open listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListingSummary {
    pub id: i64,
    /// A showcase name, e.g. 沐格山居.
    pub title: String,
    /// Asking annual rent, yuan.
    #[schema(value_type = f64)]
    pub asking_rent_yuan: Yuan,
    pub allowed_uses: Vec<String>,
    pub min_term_months: i16,
    pub max_term_months: i16,
    pub notice_start: NaiveDate,
    pub notice_end: NaiveDate,
}

pub type FarmhouseFeature = Feature<FarmhouseProps>;

/// A row as `role` may see it.
pub fn feature(r: FarmhouseRow, role: Role) -> FarmhouseFeature {
    let staff = matches!(role, Role::Officer | Role::Official | Role::Admin);
    let owner = match (&r.owner_party_id, &r.owner_name) {
        (Some(id), Some(name)) => PartyView::for_role(
            Identity {
                id: *id,
                kind: PartyKind::Household,
                name,
                id_number: r.owner_id_number.as_deref(),
                credit_code: None,
                phone: r.owner_phone.as_deref(),
                address: None,
            },
            role,
        ),
        _ => None,
    };
    let listing = match (r.listing_id, r.asking_rent_fen, r.notice_start, r.notice_end) {
        (Some(id), Some(rent), Some(notice_start), Some(notice_end)) => Some(ListingSummary {
            id,
            title: r.listing_title.unwrap_or_default(),
            asking_rent_yuan: Yuan::from_fen(rent),
            allowed_uses: r.allowed_uses.unwrap_or_default(),
            min_term_months: r.min_term_months.unwrap_or_default(),
            max_term_months: r.max_term_months.unwrap_or_default(),
            notice_start,
            notice_end,
        }),
        _ => None,
    };
    let photos = r.photo_ids.iter().map(|p| format!("/api/v1/farmhouses/{}/photos/{p}", r.id)).collect();
    Feature::new(
        r.id,
        r.geometry.0,
        FarmhouseProps {
            unit_number: r.unit_number,
            parcel_code: r.parcel_code,
            township_code: r.township_code,
            township_name: r.township_name,
            township_name_pinyin: r.township_name_pinyin,
            village: r.village,
            village_pinyin: r.village_pinyin,
            floor_area_m2: r.floor_area_m2,
            floors: r.floors,
            year_built: r.year_built,
            structure: r.structure,
            condition: r.condition,
            status: r.status,
            description: r.description,
            listing,
            photos,
            certificate_no: r.certificate_no,
            version: r.version,
            updated_at: r.updated_at,
            transaction_id: if staff { r.transaction_id } else { None },
            owner,
            title: staff.then_some(TitleBasis {
                homestead_title: r.homestead_title,
                homestead_cert_no: r.homestead_cert_no,
                ownership_title: r.ownership_title,
                ownership_cert_no: r.ownership_cert_no,
                qualification_retained: r.qualification_retained,
                collective_property: r.collective_property,
                safety_grade: r.safety_grade,
            }),
        },
    )
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FarmhouseQuery {
    /// 9-digit township code.
    pub township: Option<String>,
    /// registered, listed, contracted or certified.
    pub status: Option<String>,
    pub village: Option<String>,
    /// The start of a unit number, its short code (`JC00004`: land right and parcel sequence, characters
    /// 13–19), or part of a village's or township's name.
    pub q: Option<String>,
    pub min_floor_area: Option<f64>,
    pub max_floor_area: Option<f64>,
    /// Houses whose open listing asks at most this annual rent (yuan).
    pub max_rent_yuan: Option<f64>,
    /// Houses whose open listing allows this use (民宿, 康养, 文创, 电商, 来料加工, 其他).
    pub allowed_use: Option<String>,
    /// min lon, min lat, max lon, max lat.
    pub bbox: Option<String>,
    /// Rows per page (1..=1000, default 100).
    pub limit: Option<i64>,
    /// Show rows after this id (the `next` link carries it).
    pub after: Option<i64>,
    /// The order: `id` (default), `rent`, `area` or `notice_end` (of the open listing), `-` before one
    /// for descending; houses without an open listing come last. The first page (no `after`) says how
    /// many houses match in `numberMatched`.
    pub sort: Option<String>,
}

fn malformed(field: &str, message: impl Into<String>) -> Error {
    Error::Malformed(vec![crate::domain::FieldError::new(field, message)])
}

impl FarmhouseQuery {
    fn filter(&self) -> Result<FarmhouseFilter> {
        let status =
            self.status.as_deref().map(str::parse::<Status>).transpose().map_err(|e| malformed("status", e))?;
        if let Some(u) = &self.allowed_use {
            crate::domain::lifecycle::check_use(u).map_err(|e| malformed("allowed_use", e))?;
        }
        let max_rent_fen = match self.max_rent_yuan {
            Some(v) => Some(Yuan::parse(&v.to_string()).map_err(|e| malformed("max_rent_yuan", e))?.fen()),
            None => None,
        };
        Ok(FarmhouseFilter {
            township: self.township.clone().filter(|s| !s.is_empty()),
            status,
            // Stored text is NFC (`checks::text`): so is what it is compared with.
            village: self.village.as_deref().filter(|s| !s.is_empty()).map(nfc),
            q: self.q.as_deref().filter(|s| !s.is_empty()).map(nfc),
            min_floor_area: self.min_floor_area,
            max_floor_area: self.max_floor_area,
            max_rent_fen,
            allowed_use: self.allowed_use.clone(),
            bbox: self.bbox.as_deref().map(query::bbox).transpose()?,
        })
    }

    fn order(&self) -> Result<HouseOrder> {
        match self.sort.as_deref().filter(|s| !s.is_empty()) {
            None => Ok(HouseOrder::Id),
            Some(word) => HouseOrder::parse(word).ok_or_else(|| {
                malformed(
                    "sort",
                    format!(
                        "must be one of {} (- before one for descending, not before id), not {word:?}",
                        HouseOrder::WORDS.join(", ")
                    ),
                )
            }),
        }
    }
}

/// Houses as GeoJSON features, filtered, in pages.
#[utoipa::path(get, path = "/api/v1/farmhouses", tag = "farmhouses", params(FarmhouseQuery),
    responses((status = 200, body = FeatureCollection<FarmhouseProps>, content_type = "application/geo+json"),
              (status = 400, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    OriginalUri(uri): OriginalUri,
    Query(q): Query<FarmhouseQuery>,
) -> Result<Response> {
    let page = page(q.limit, q.after)?;
    let (filter, order) = (q.filter()?, q.order()?);
    let rows = farmhouses::list(&state.pool, &filter, order, page).await?;
    let matched = match q.after {
        None => Some(farmhouses::count(&state.pool, &filter).await?),
        Some(_) => None,
    };
    let (rows, next) = page.split(rows, |r| r.id);
    let features = rows
        .into_iter()
        .map(|r| {
            let role = caller.role_in(&r.township_code);
            feature(r, role)
        })
        .collect();
    Ok(geojson_response(StatusCode::OK, &FeatureCollection::new(features, &uri, next).matched(matched)))
}

/// `value` as `application/geo+json`.
pub fn geojson_response<T: Serialize>(status: StatusCode, value: &T) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/geo+json")], body).into_response()
}

async fn fetch(state: &AppState, id: i64) -> Result<FarmhouseRow> {
    farmhouses::get(&state.pool, id).await?.ok_or_else(|| Error::NotFound(format!("farmhouse {id}")))
}

fn respond(status: StatusCode, row: FarmhouseRow, role: Role) -> Response {
    let tag = etag("farmhouse", row.id, row.version);
    let id = row.id;
    let mut res = geojson_response(status, &feature(row, role));
    res.headers_mut().insert(header::ETAG, tag);
    if status == StatusCode::CREATED {
        res.headers_mut().insert(header::LOCATION, format!("/api/v1/farmhouses/{id}").parse().expect("a path"));
    }
    res
}

/// One house.
#[utoipa::path(get, path = "/api/v1/farmhouses/{id}", tag = "farmhouses", params(("id" = i64, Path)),
    responses((status = 200, body = Feature<FarmhouseProps>, content_type = "application/geo+json"),
              (status = 404, body = Problem)))]
pub async fn get(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>) -> Result<Response> {
    let row = fetch(&state, id).await?;
    let role = caller.role_in(&row.township_code);
    Ok(respond(StatusCode::OK, row, role))
}

/// The properties of a new house.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FarmhouseIn {
    /// 28 characters: the parcel's 19-character code, F, and 8 digits.
    pub unit_number: String,
    pub floor_area_m2: f64,
    pub floors: i64,
    pub year_built: i64,
    pub structure: String,
    pub condition: Option<String>,
    pub description: Option<String>,
    /// The owner household (a party).
    pub owner_party_id: Option<i64>,
    /// The homestead use right (宅基地使用权): issued, confirmed or unconfirmed (the default).
    pub homestead_title: Option<String>,
    /// Its real-estate certificate number (不动产权证号), when issued.
    pub homestead_cert_no: Option<String>,
    /// The house ownership (房屋所有权): issued, confirmed or unconfirmed (the default).
    pub ownership_title: Option<String>,
    pub ownership_cert_no: Option<String>,
    /// The household keeps its qualification right (资格权); true when left out.
    pub qualification_retained: Option<bool>,
    /// The house or its land belongs to the collective; false when left out.
    pub collective_property: Option<bool>,
}

/// Changes to a house: a partial feature; absent properties stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FarmhousePatch {
    pub floor_area_m2: Option<f64>,
    pub floors: Option<i64>,
    pub year_built: Option<i64>,
    pub structure: Option<String>,
    pub condition: Option<String>,
    pub description: Option<String>,
    /// A party id, or null to clear the owner.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub owner_party_id: Option<Option<i64>>,
    pub homestead_title: Option<String>,
    pub homestead_cert_no: Option<String>,
    pub ownership_title: Option<String>,
    pub ownership_cert_no: Option<String>,
    pub qualification_retained: Option<bool>,
    pub collective_property: Option<bool>,
    /// The version being changed (unless If-Match is sent).
    pub version: Option<i32>,
}

/// Tells a field sent as `null` (Some(None)) from one left out (None).
#[allow(clippy::option_option, reason = "a PATCH field is left out, set to null or set to a value")]
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A partial feature for PATCH.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FarmhouseFeaturePatch {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub geometry: Option<geojson::Geometry>,
    #[serde(default)]
    pub properties: FarmhousePatch,
}

/// Checks a footprint against the district of `unit`.
async fn footprint(state: &AppState, c: &mut Checks, county: &str, g: &geojson::Geometry) -> Result<Option<String>> {
    let Some(extent) = townships::district_extent(&state.pool, county).await? else {
        c.fail("properties.unit_number.county_code", format!("no district {county} is kept in this registry"));
        return Ok(None);
    };
    super::shapes::polygon(&state.pool, c, g, &extent).await
}

/// Registers a house on an existing parcel (the one its unit number's first 19 characters name).
#[utoipa::path(post, path = "/api/v1/farmhouses", tag = "farmhouses",
    request_body(content = FeatureIn<FarmhouseIn>, content_type = "application/geo+json"),
    responses((status = 201, body = Feature<FarmhouseProps>, content_type = "application/geo+json"),
              (status = 409, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(input): Json<FeatureIn<FarmhouseIn>>,
) -> Result<Response> {
    input.check_type()?;
    let p = &input.properties;
    let mut c = Checks::default();
    let unit = match UnitNumber::parse_farmhouse(&p.unit_number, "unit_number") {
        Ok(u) => Some(u),
        Err(errors) => {
            Checks::extend(&mut c, errors.into_iter().map(|e| e.under("properties")).collect());
            None
        }
    };
    let mut props = Checks::under("properties");
    let facts = house_facts(&mut props, p);
    c.extend(props.finish(|| ()).err().unwrap_or_default());
    let geometry = match (&input.geometry, &unit) {
        (Some(g), Some(u)) => footprint(&state, &mut c, u.county_code(), g).await?,
        (None, _) => {
            c.fail("geometry", "a house needs its footprint (a Polygon in lon/lat)");
            None
        }
        _ => None,
    };
    let (Some(unit), Some(facts), Some(geometry), true) = (unit, facts, geometry, c.is_ok()) else {
        return Err(c.finish(|| ()).unwrap_err().into());
    };
    if !store::parcels::exists(&state.pool, &unit.parcel_code()).await? {
        return Err(Error::invalid(
            "properties.unit_number",
            format!("no parcel {} (the unit number's first 19 characters) is registered", unit.parcel_code()),
        ));
    }
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    let id = farmhouses::insert(&mut tx, unit.as_str(), &geometry, &facts).await?;
    tx.commit().await?;
    state.changed_house(id).await;
    Ok(respond(StatusCode::CREATED, fetch(&state, id).await?, caller.role))
}

fn house_facts(c: &mut Checks, p: &FarmhouseIn) -> Option<HouseFacts> {
    let this_year = Utc::now().year();
    let floor_area_m2 = c.check("floor_area_m2", house::floor_area(p.floor_area_m2));
    let floors = c.check("floors", house::floors(p.floors));
    let year_built = c.check("year_built", house::year_built(p.year_built, this_year));
    let structure = c.check("structure", house::structure(&p.structure));
    let condition = c.check("condition", house::condition(p.condition.as_deref().unwrap_or("基本完好")));
    let description = c.check("description", house::description(p.description.as_deref().unwrap_or("")));
    let homestead = house::right(c, "homestead", p.homestead_title.as_deref(), p.homestead_cert_no.as_deref());
    let ownership = house::right(c, "ownership", p.ownership_title.as_deref(), p.ownership_cert_no.as_deref());
    Some(HouseFacts {
        homestead: homestead.unwrap_or(house::Right::UNCONFIRMED),
        ownership: ownership.unwrap_or(house::Right::UNCONFIRMED),
        qualification_retained: p.qualification_retained.unwrap_or(true),
        collective_property: p.collective_property.unwrap_or(false),
        floor_area_m2: floor_area_m2?,
        floors: floors?,
        year_built: year_built?,
        structure: structure?,
        condition: condition?,
        description: description?,
        owner_party_id: p.owner_party_id,
    })
}

/// Corrects a house: send the ETag read as If-Match; a stale write gets 412.
#[utoipa::path(patch, path = "/api/v1/farmhouses/{id}", tag = "farmhouses",
    request_body(content = FarmhouseFeaturePatch, content_type = "application/geo+json"),
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "the ETag read")),
    responses((status = 200, body = Feature<FarmhouseProps>, content_type = "application/geo+json"),
              (status = 404, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem),
              (status = 428, body = Problem)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    if_match: IfMatch,
    Json(input): Json<FarmhouseFeaturePatch>,
) -> Result<Response> {
    if let Some(kind) = &input.kind
        && kind != "Feature"
    {
        return Err(Error::invalid("type", format!("must be \"Feature\", not {kind:?}")));
    }
    let p = &input.properties;
    let version = if_match.expected(p.version)?;
    let current = fetch(&state, id).await?;
    let mut c = Checks::under("properties");
    let this_year = Utc::now().year();
    let mut changes = HouseChanges {
        floor_area_m2: p.floor_area_m2.and_then(|v| c.check("floor_area_m2", house::floor_area(v))),
        floors: p.floors.and_then(|v| c.check("floors", house::floors(v))),
        year_built: p.year_built.and_then(|v| c.check("year_built", house::year_built(v, this_year))),
        structure: p.structure.as_deref().and_then(|v| c.check("structure", house::structure(v))),
        condition: p.condition.as_deref().and_then(|v| c.check("condition", house::condition(v))),
        description: p.description.as_deref().and_then(|v| c.check("description", house::description(v))),
        owner_party_id: p.owner_party_id,
        footprint: None,
        homestead: house::right(&mut c, "homestead", p.homestead_title.as_deref(), p.homestead_cert_no.as_deref()),
        ownership: house::right(&mut c, "ownership", p.ownership_title.as_deref(), p.ownership_cert_no.as_deref()),
        qualification_retained: p.qualification_retained,
        collective_property: p.collective_property,
    };
    let mut errors = c.finish(|| ()).err().unwrap_or_default();
    if let Some(g) = &input.geometry {
        let mut gc = Checks::default();
        changes.footprint = footprint(&state, &mut gc, &current.unit_number[..6], g).await?;
        errors.extend(gc.finish(|| ()).err().unwrap_or_default());
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    if changes.footprint.is_some() {
        // Where the house was: dropped now; the commit's notification drops it again, after the commit.
        state.changed_house(id).await;
    }
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    farmhouses::update(&mut tx, id, version, &changes).await?;
    tx.commit().await?;
    state.changed_house(id).await;
    Ok(respond(StatusCode::OK, fetch(&state, id).await?, caller.role))
}

/// The routes of this module, with who may call them.
pub fn routes() -> Vec<Endpoint> {
    vec![
        route(routes!(list), Allow::Everyone),
        route(routes!(create), Allow::OFFICERS),
        route(routes!(get), Allow::Everyone),
        route(routes!(update), Allow::OFFICERS),
    ]
}
