//! The activation workflow: appraisals, listings (挂牌), transactions (成交), certifications (鉴证) and
//! certificate verification. Every action is one database transaction (see `store::activation`); an action
//! the house's state does not allow answers 409 with that state.

use std::net::IpAddr;

use axum::extract::{OriginalUri, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Caller, PeerAddr};
use super::json::Json;
use super::parties::{Identity, PartyView};
use super::query::Query;
use super::routes::{Allow, Endpoint, route};
use super::shapes::{List, next_link, page};
use super::{AppState, Error, Problem, Result};
use crate::domain::checks::{paragraphs, text};
use crate::domain::lifecycle::{self, CertificateState, Status};
use crate::domain::money::Yuan;
pub use crate::domain::records::{
    AppraisalIn, ListingIn, TransactionIn, check_appraisal, check_listing, check_transaction, date,
};
use crate::domain::records::{AppraisalMethod, CertificateFacts, DealMode, ListingStatus, TransactionStatus};
use crate::domain::roles::Role;
use crate::domain::township::TownshipCode;
use crate::store::activation::{
    self as records, AppraisalRow, CertificationFilter, CertificationRow, ListingFilter, ListingRow, TransactionFilter,
    TransactionRow, TransactionSort,
};
use crate::store::{self, access};
use utoipa_axum::routes;

pub(super) fn created<T: Serialize>(location: String, body: T) -> Response {
    (StatusCode::CREATED, [(header::LOCATION, location)], axum::Json(body)).into_response()
}

// ---------------------------------------------------------------------------------------------------
// Appraisals

#[derive(Debug, Serialize, ToSchema)]
pub struct AppraisalView {
    pub id: i64,
    pub farmhouse_id: i64,
    pub unit_number: String,
    pub report_no: String,
    pub firm: String,
    pub appraiser: String,
    pub method: AppraisalMethod,
    pub valuation_date: NaiveDate,
    #[schema(value_type = f64)]
    pub value_yuan: Yuan,
    #[schema(value_type = f64)]
    pub annual_rent_yuan: Yuan,
    pub valid_until: NaiveDate,
    pub created_at: DateTime<Utc>,
}

impl From<AppraisalRow> for AppraisalView {
    fn from(r: AppraisalRow) -> Self {
        Self {
            id: r.id,
            farmhouse_id: r.farmhouse_id,
            unit_number: r.unit_number,
            report_no: r.report_no,
            firm: r.firm,
            appraiser: r.appraiser,
            method: r.method,
            valuation_date: r.valuation_date,
            value_yuan: Yuan::from_fen(r.value_fen),
            annual_rent_yuan: Yuan::from_fen(r.annual_rent_fen),
            valid_until: r.valid_until,
            created_at: r.created_at,
        }
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ByHouse {
    pub farmhouse: Option<i64>,
    /// Rows per page (1..=1000, default 100).
    pub limit: Option<i64>,
    /// Show rows after this id (the `next` link carries it).
    pub after: Option<i64>,
}

/// Appraisals.
#[utoipa::path(get, path = "/api/v1/appraisals", tag = "appraisals", params(ByHouse),
    responses((status = 200, body = List<AppraisalView>)))]
pub async fn appraisals(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Query(q): Query<ByHouse>,
) -> Result<axum::Json<List<AppraisalView>>> {
    let page = page(q.limit, q.after)?;
    let (rows, next) = page.split(records::appraisals(&state.pool, q.farmhouse, page).await?, |r| r.id);
    Ok(axum::Json(List::new(rows.into_iter().map(Into::into).collect(), &uri, next)))
}

async fn fetch_appraisal(state: &AppState, id: i64) -> Result<AppraisalView> {
    records::appraisal(&state.pool, id).await?.map(Into::into).ok_or_else(|| Error::NotFound(format!("appraisal {id}")))
}

/// One appraisal.
#[utoipa::path(get, path = "/api/v1/appraisals/{id}", tag = "appraisals", params(("id" = i64, Path)),
    responses((status = 200, body = AppraisalView), (status = 404, body = Problem)))]
pub async fn appraisal(State(state): State<AppState>, Path(id): Path<i64>) -> Result<axum::Json<AppraisalView>> {
    Ok(axum::Json(fetch_appraisal(&state, id).await?))
}

/// Records an appraisal (评估) of a house.
#[utoipa::path(post, path = "/api/v1/farmhouses/{id}/appraisals", tag = "appraisals", request_body = AppraisalIn,
    params(("id" = i64, Path)),
    responses((status = 201, body = AppraisalView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn record_appraisal(
    State(state): State<AppState>,
    caller: Caller,
    Path(house): Path<i64>,
    Json(input): Json<AppraisalIn>,
) -> Result<Response> {
    let new = check_appraisal(&input)?;
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    let id = records::record_appraisal(&mut tx, house, &new).await?;
    tx.commit().await?;
    Ok(created(format!("/api/v1/appraisals/{id}"), fetch_appraisal(&state, id).await?))
}

// ---------------------------------------------------------------------------------------------------
// Listings

#[derive(Debug, Serialize, ToSchema)]
pub struct ListingView {
    pub id: i64,
    pub farmhouse_id: i64,
    pub unit_number: String,
    pub township_code: String,
    pub village: String,
    pub floor_area_m2: f64,
    pub title: String,
    /// Asking annual rent, yuan.
    #[schema(value_type = f64)]
    pub asking_rent_yuan: Yuan,
    pub min_term_months: i16,
    pub max_term_months: i16,
    pub allowed_uses: Vec<String>,
    pub notice_start: NaiveDate,
    pub notice_end: NaiveDate,
    pub status: ListingStatus,
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

impl From<ListingRow> for ListingView {
    fn from(r: ListingRow) -> Self {
        Self {
            id: r.id,
            farmhouse_id: r.farmhouse_id,
            unit_number: r.unit_number,
            township_code: r.township_code,
            village: r.village,
            floor_area_m2: r.floor_area_m2,
            title: r.title,
            asking_rent_yuan: Yuan::from_fen(r.asking_rent_fen),
            min_term_months: r.min_term_months,
            max_term_months: r.max_term_months,
            allowed_uses: r.allowed_uses,
            notice_start: r.notice_start,
            notice_end: r.notice_end,
            status: r.status,
            version: r.version,
            created_at: r.created_at,
        }
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListingQuery {
    /// open, withdrawn or closed.
    pub status: Option<String>,
    pub township: Option<String>,
    pub farmhouse: Option<i64>,
    /// Only the named showcase listings.
    #[serde(default)]
    pub titled: bool,
    /// Rows per page (1..=1000, default 100).
    pub limit: Option<i64>,
    /// Show rows after this id (the `next` link carries it).
    pub after: Option<i64>,
}

/// Listings (open ones are on the exchange).
#[utoipa::path(get, path = "/api/v1/listings", tag = "listings", params(ListingQuery),
    responses((status = 200, body = List<ListingView>), (status = 400, body = Problem)))]
pub async fn listings(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Query(q): Query<ListingQuery>,
) -> Result<axum::Json<List<ListingView>>> {
    let page = page(q.limit, q.after)?;
    let status = q.status.as_deref().map(str::parse::<ListingStatus>).transpose();
    let status = status.map_err(|e| Error::Malformed(vec![crate::domain::FieldError::new("status", e)]))?;
    let filter = ListingFilter { status, township: q.township, farmhouse: q.farmhouse, titled: q.titled };
    let (rows, next) = page.split(records::listings(&state.pool, &filter, page).await?, |r| r.id);
    Ok(axum::Json(List::new(rows.into_iter().map(Into::into).collect(), &uri, next)))
}

async fn fetch_listing(state: &AppState, id: i64) -> Result<ListingView> {
    records::listing(&state.pool, id).await?.map(Into::into).ok_or_else(|| Error::NotFound(format!("listing {id}")))
}

/// One listing.
#[utoipa::path(get, path = "/api/v1/listings/{id}", tag = "listings", params(("id" = i64, Path)),
    responses((status = 200, body = ListingView), (status = 404, body = Problem)))]
pub async fn listing(State(state): State<AppState>, Path(id): Path<i64>) -> Result<axum::Json<ListingView>> {
    Ok(axum::Json(fetch_listing(&state, id).await?))
}

/// Lists a registered house on the exchange (挂牌): the house becomes listed.
#[utoipa::path(post, path = "/api/v1/farmhouses/{id}/listings", tag = "listings", request_body = ListingIn,
    params(("id" = i64, Path)),
    responses((status = 201, body = ListingView), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn list_house(
    State(state): State<AppState>,
    caller: Caller,
    Path(house): Path<i64>,
    Json(input): Json<ListingIn>,
) -> Result<Response> {
    let new = check_listing(&input)?;
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    let id = records::list_house(&mut tx, house, &new).await?;
    tx.commit().await?;
    state.changed_house(house).await;
    Ok(created(format!("/api/v1/listings/{id}"), fetch_listing(&state, id).await?))
}

/// A listing of the past — one whose notice period began before today, copied from the exchange's paper
/// register — with why it is recorded now. The fields are those of [`ListingIn`].
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoricalListingIn {
    /// Why the listing is recorded after its notice began (e.g. the register it is copied from): 1 to 500
    /// characters, kept on the listing and in its history. (Read as empty when left out, so the answer
    /// names `reason` rather than the body.)
    #[serde(default)]
    #[schema(required = true)]
    pub reason: String,
    pub title: Option<String>,
    #[schema(value_type = f64)]
    pub asking_rent_yuan: Yuan,
    pub min_term_months: i64,
    pub max_term_months: i64,
    pub allowed_uses: Vec<String>,
    pub notice_start: NaiveDate,
    pub notice_end: NaiveDate,
}

impl HistoricalListingIn {
    fn listing(&self) -> ListingIn {
        ListingIn {
            title: self.title.clone(),
            asking_rent_yuan: self.asking_rent_yuan,
            min_term_months: self.min_term_months,
            max_term_months: self.max_term_months,
            allowed_uses: self.allowed_uses.clone(),
            notice_start: self.notice_start,
            notice_end: self.notice_end,
        }
    }
}

/// Records a listing of the past (admins only): the house becomes listed, as with `POST …/listings`, but
/// the notice may have begun before today. The database refuses such a notice on every other path; this
/// one sets `farmhouse.historical_record` for its own transaction, so the reason is kept on the listing
/// and the history shows who recorded it and why.
#[utoipa::path(post, path = "/api/v1/farmhouses/{id}/listings/historical", tag = "listings",
    request_body = HistoricalListingIn, params(("id" = i64, Path)),
    responses((status = 201, body = ListingView), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn list_past(
    State(state): State<AppState>,
    caller: Caller,
    Path(house): Path<i64>,
    Json(input): Json<HistoricalListingIn>,
) -> Result<Response> {
    let (reason, new) = match (text(&input.reason, 1, 500), check_listing(&input.listing())) {
        (Ok(reason), Ok(new)) => (reason, new),
        (reason, listing) => {
            let mut errors: Vec<crate::domain::FieldError> =
                reason.err().map(|m| crate::domain::FieldError::new("reason", m)).into_iter().collect();
            errors.extend(listing.err().unwrap_or_default());
            return Err(errors.into());
        }
    };
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    records::record_historical(&mut tx, &reason).await?;
    let id = records::list_house(&mut tx, house, &new).await?;
    tx.commit().await?;
    state.changed_house(house).await;
    Ok(created(format!("/api/v1/listings/{id}"), fetch_listing(&state, id).await?))
}

/// Withdraws an open listing: the house returns to registered.
#[utoipa::path(post, path = "/api/v1/listings/{id}/withdraw", tag = "listings", params(("id" = i64, Path)),
    responses((status = 200, body = ListingView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn withdraw(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<axum::Json<ListingView>> {
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    let house = records::withdraw(&mut tx, id).await?;
    tx.commit().await?;
    state.changed_house(house).await;
    Ok(axum::Json(fetch_listing(&state, id).await?))
}

// ---------------------------------------------------------------------------------------------------
// Transactions

#[derive(Debug, Serialize, ToSchema)]
pub struct TransactionView {
    pub id: i64,
    pub listing_id: i64,
    pub farmhouse_id: i64,
    pub unit_number: String,
    pub township_code: String,
    pub village: String,
    pub floor_area_m2: f64,
    pub house_status: Status,
    /// The lessee (officers and officials).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lessee: Option<PartyView>,
    pub mode: DealMode,
    pub contract_no: String,
    pub signed_on: NaiveDate,
    pub lease_start: NaiveDate,
    /// The day after the last day of the lease.
    pub lease_end: NaiveDate,
    #[schema(value_type = f64)]
    pub annual_rent_yuan: Yuan,
    #[schema(value_type = f64)]
    pub total_amount_yuan: Yuan,
    pub intended_use: String,
    pub status: TransactionStatus,
    pub terminated_on: Option<NaiveDate>,
    pub certification_id: Option<i64>,
    pub certificate_no: Option<String>,
    pub version: i32,
    /// The household or person that lets the house (officers and officials); empty for a deal recorded
    /// before lessors were kept, until an officer names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lessor: Option<PartyView>,
    pub lessor_party_id: Option<i64>,
    /// The village collective economic organisation (村集体经济组织).
    pub collective_party_id: Option<i64>,
    pub collective_name: Option<String>,
    /// The account that recorded the deal (a second officer certifies it).
    pub recorded_by: Option<String>,
}

fn transaction_view(r: TransactionRow, role: Role) -> TransactionView {
    let lessee = PartyView::for_role(
        Identity {
            id: r.lessee_party_id,
            kind: r.lessee_kind,
            name: &r.lessee_name,
            id_number: None,
            credit_code: None,
            phone: None,
            address: None,
        },
        role,
    );
    TransactionView {
        id: r.id,
        listing_id: r.listing_id,
        farmhouse_id: r.farmhouse_id,
        unit_number: r.unit_number,
        township_code: r.township_code,
        village: r.village,
        floor_area_m2: r.floor_area_m2,
        house_status: r.house_status,
        lessee,
        mode: r.mode,
        contract_no: r.contract_no,
        signed_on: r.signed_on,
        lease_start: r.lease_start,
        lease_end: r.lease_end,
        annual_rent_yuan: Yuan::from_fen(r.annual_rent_fen),
        total_amount_yuan: Yuan::from_fen(r.total_amount_fen),
        intended_use: r.intended_use,
        status: r.status,
        terminated_on: r.terminated_on,
        certification_id: r.certification_id,
        certificate_no: r.certificate_no,
        version: r.version,
        lessor: match (r.lessor_party_id, r.lessor_kind, &r.lessor_name) {
            (Some(id), Some(kind), Some(name)) => PartyView::for_role(
                Identity { id, kind, name, id_number: None, credit_code: None, phone: None, address: None },
                role,
            ),
            _ => None,
        },
        lessor_party_id: r.lessor_party_id,
        collective_party_id: r.collective_party_id,
        collective_name: r.collective_name,
        recorded_by: r.recorded_by,
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TransactionQuery {
    /// Only this township (9-digit code).
    pub township: Option<String>,
    pub farmhouse: Option<i64>,
    pub lessee: Option<i64>,
    /// Only signed deals awaiting certification (the officers' queue).
    #[serde(default)]
    pub awaiting_certification: bool,
    /// Rows per page (1..=1000, default 100).
    pub limit: Option<i64>,
    /// Show rows after this id (the `next` link carries it; sorted by id only).
    pub after: Option<i64>,
    /// The order: `id` (default), `signed_on`, `-signed_on` (latest first), `amount`, `-amount`, `township`.
    pub sort: Option<String>,
    /// Rows skipped before the page (0..=1000000), instead of `after`; the `next` link of a sort other
    /// than by id carries it.
    pub offset: Option<i64>,
}

/// A page of deals with how many match in all.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransactionList {
    pub items: Vec<TransactionView>,
    /// The next page, when there is one.
    pub next: Option<String>,
    /// How many deals the filters match, every page together.
    pub number_matched: i64,
}

/// The most rows `offset` skips.
const MAX_OFFSET: i64 = 1_000_000;

/// Transactions.
#[utoipa::path(get, path = "/api/v1/transactions", tag = "transactions", params(TransactionQuery),
    responses((status = 200, body = TransactionList), (status = 400, body = Problem)))]
pub async fn transactions(
    State(state): State<AppState>,
    caller: Caller,
    OriginalUri(uri): OriginalUri,
    Query(q): Query<TransactionQuery>,
) -> Result<axum::Json<TransactionList>> {
    let page = page(q.limit, q.after)?;
    let bad = |field: &str, message: String| Error::BadParameter(crate::domain::FieldError::new(field, message));
    let township = TownshipCode::parse_optional(q.township.as_deref()).map_err(|e| bad("township", e))?;
    let sort = match q.sort.as_deref() {
        None | Some("") => TransactionSort::Id,
        Some(s) => TransactionSort::parse(s)
            .ok_or_else(|| bad("sort", format!("must be one of {}, not {s:?}", TransactionSort::NAMES.join(", "))))?,
    };
    if let Some(o) = q.offset {
        if !(0..=MAX_OFFSET).contains(&o) {
            return Err(bad("offset", format!("must be 0 to {MAX_OFFSET}, not {o}")));
        }
        if q.after.is_some() {
            return Err(bad("offset", "give after or offset, not both".into()));
        }
    }
    if q.after.is_some() && sort != TransactionSort::Id {
        return Err(bad("after", "pages of a sort other than by id go by offset".into()));
    }
    // Pages by id follow the last id of the page (`after`); pages of another order, or asked by offset,
    // count rows (`offset`).
    let by_offset = sort != TransactionSort::Id || q.offset.is_some();
    let offset = q.offset.unwrap_or(0);
    let filter = TransactionFilter {
        township: township.map(|t| t.to_string()),
        farmhouse: q.farmhouse,
        lessee: q.lessee,
        awaiting_certification: q.awaiting_certification,
        within: (!caller.townships.is_empty()).then(|| caller.townships.clone()),
        sort,
        offset,
    };
    let rows = records::transactions(&state.pool, &filter, page).await?;
    let number_matched = records::count_transactions(&state.pool, &filter).await?;
    let (rows, next) = page.split(rows, |r| r.id);
    let next = if by_offset { next.map(|_| offset_link(&uri, offset + page.limit)) } else { next_link(&uri, next) };
    let items = rows.into_iter().map(|r| transaction_view(r, caller.role)).collect();
    Ok(axum::Json(TransactionList { items, next, number_matched }))
}

/// The request's own URL with `offset` set: the link to the following page of a list paged by offset.
fn offset_link(uri: &axum::http::Uri, offset: i64) -> String {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .filter(|(k, _)| k != "offset")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.push(("offset".into(), offset.to_string()));
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    format!("{}?{query}", uri.path())
}

async fn fetch_transaction(state: &AppState, id: i64, role: Role) -> Result<TransactionView> {
    records::transaction(&state.pool, id)
        .await?
        .map(|r| transaction_view(r, role))
        .ok_or_else(|| Error::NotFound(format!("transaction {id}")))
}

/// One transaction.
#[utoipa::path(get, path = "/api/v1/transactions/{id}", tag = "transactions", params(("id" = i64, Path)),
    responses((status = 200, body = TransactionView), (status = 404, body = Problem)))]
pub async fn transaction(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<axum::Json<TransactionView>> {
    let view = fetch_transaction(&state, id, caller.role).await?;
    caller.in_scope(&view.township_code)?;
    Ok(axum::Json(view))
}

/// Records the deal (成交) of an open listing after its notice period: the house becomes contracted.
#[utoipa::path(post, path = "/api/v1/listings/{id}/transactions", tag = "transactions", request_body = TransactionIn,
    params(("id" = i64, Path)),
    responses((status = 201, body = TransactionView), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn sign(
    State(state): State<AppState>,
    caller: Caller,
    Path(listing): Path<i64>,
    Json(input): Json<TransactionIn>,
) -> Result<Response> {
    let new = check_transaction(&input)?;
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    let id = records::sign(&mut tx, listing, &new).await?;
    tx.commit().await?;
    let view = fetch_transaction(&state, id, caller.role).await?;
    state.changed_house(view.farmhouse_id).await;
    Ok(created(format!("/api/v1/transactions/{id}"), view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndIn {
    /// The day the lease ended.
    pub on: NaiveDate,
    /// Admins: why the lease ends early although pledged to a bank (written on the pledge; docs/DESIGN.md
    /// §2.6). Without it a pledged lease is not ended early (409 naming `pledges`).
    pub override_reason: Option<String>,
}

/// An admin's reason to act on a pledged lease or certificate: refused to anyone else.
fn override_reason(caller: &Caller, reason: Option<&str>) -> Result<Option<String>> {
    match reason {
        None => Ok(None),
        Some(_) if caller.role != Role::Admin => {
            Err(Error::Forbidden("only an admin overrides a pledge (override_reason)".into()))
        }
        Some(r) => paragraphs(r, 1, 500).map(Some).map_err(|e| Error::invalid("override_reason", e)),
    }
}

/// Records that a lease ended (退租 or expiry): the house returns to registered.
#[utoipa::path(post, path = "/api/v1/transactions/{id}/end", tag = "transactions", request_body = EndIn,
    params(("id" = i64, Path)),
    responses((status = 200, body = TransactionView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn end_lease(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(input): Json<EndIn>,
) -> Result<axum::Json<TransactionView>> {
    date(input.on).map_err(|e| Error::invalid("on", e))?;
    let overriding = override_reason(&caller, input.override_reason.as_deref())?;
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    if let Some(reason) = &overriding {
        store::money::override_pledges(&mut tx, Some(id), None, reason).await?;
    }
    let house = records::end_lease(&mut tx, id, input.on).await?;
    tx.commit().await?;
    state.changed_house(house).await;
    Ok(axum::Json(fetch_transaction(&state, id, caller.role).await?))
}

// ---------------------------------------------------------------------------------------------------
// Certifications

#[derive(Debug, Serialize, ToSchema)]
pub struct CertificationView {
    pub id: i64,
    /// e.g. SY-JZ-2020-000123.
    pub certificate_no: String,
    pub transaction_id: i64,
    pub farmhouse_id: i64,
    pub unit_number: String,
    pub township_code: String,
    pub township_name: String,
    pub village: String,
    pub floor_area_m2: f64,
    pub lease_start: NaiveDate,
    pub lease_end: NaiveDate,
    pub intended_use: String,
    #[schema(value_type = f64)]
    pub total_amount_yuan: Yuan,
    /// The officer who issued it.
    pub officer: Option<String>,
    pub issued_at: DateTime<Utc>,
    /// Printed on the certificate.
    pub verification_code: String,
    /// Not revoked (see `state` for where its lease stands).
    pub in_force: bool,
    /// in_force, ended, expired or revoked, today.
    pub state: CertificateState,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoke_reason: Option<String>,
    /// An officer asked to revoke it (a second officer, or an admin, confirms): when, who and why.
    pub revocation_requested_at: Option<DateTime<Utc>>,
    pub revocation_requested_by: Option<String>,
    pub revocation_reason: Option<String>,
    /// What it states, frozen at issue (the fields above that it states are read from here).
    pub facts: CertificateFacts,
}

impl From<CertificationRow> for CertificationView {
    fn from(r: CertificationRow) -> Self {
        let state = r.state(lifecycle::beijing_today());
        let f = r.facts.0;
        Self {
            id: r.id,
            certificate_no: r.certificate_no,
            transaction_id: r.transaction_id,
            farmhouse_id: r.farmhouse_id,
            unit_number: f.unit_number.clone(),
            township_code: f.township_code.clone(),
            township_name: f.township_name.clone(),
            village: f.village.clone(),
            floor_area_m2: f.floor_area_m2,
            lease_start: f.lease_start,
            lease_end: f.lease_end,
            intended_use: f.intended_use.clone(),
            total_amount_yuan: Yuan::from_fen(f.total_amount_fen),
            officer: r.officer,
            issued_at: r.issued_at,
            verification_code: r.verification_code,
            in_force: r.revoked_at.is_none(),
            state,
            revoked_at: r.revoked_at,
            revoke_reason: r.revoke_reason,
            revocation_requested_at: r.revocation_requested_at,
            revocation_requested_by: r.revocation_requested_by,
            revocation_reason: r.revocation_reason,
            facts: f,
        }
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CertificationQuery {
    pub township: Option<String>,
    pub farmhouse: Option<i64>,
    /// true: only certificates in force; false: only revoked ones.
    pub in_force: Option<bool>,
    /// Rows per page (1..=1000, default 100).
    pub limit: Option<i64>,
    /// Show rows after this id (the `next` link carries it).
    pub after: Option<i64>,
}

/// Certifications.
#[utoipa::path(get, path = "/api/v1/certifications", tag = "certifications", params(CertificationQuery),
    responses((status = 200, body = List<CertificationView>)))]
pub async fn certifications(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Query(q): Query<CertificationQuery>,
) -> Result<axum::Json<List<CertificationView>>> {
    let page = page(q.limit, q.after)?;
    let filter = CertificationFilter { township: q.township, farmhouse: q.farmhouse, in_force: q.in_force };
    let (rows, next) = page.split(records::certifications(&state.pool, &filter, page).await?, |r| r.id);
    Ok(axum::Json(List::new(rows.into_iter().map(Into::into).collect(), &uri, next)))
}

async fn fetch_certification(state: &AppState, id: i64) -> Result<CertificationView> {
    records::certification(&state.pool, id)
        .await?
        .map(Into::into)
        .ok_or_else(|| Error::NotFound(format!("certification {id}")))
}

/// One certification.
#[utoipa::path(get, path = "/api/v1/certifications/{id}", tag = "certifications", params(("id" = i64, Path)),
    responses((status = 200, body = CertificationView), (status = 404, body = Problem)))]
pub async fn certification(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<axum::Json<CertificationView>> {
    Ok(axum::Json(fetch_certification(&state, id).await?))
}

/// Certifies (鉴证) a signed transaction: issues the next certificate number; the house becomes
/// certified (activated).
#[utoipa::path(post, path = "/api/v1/transactions/{id}/certify", tag = "certifications", params(("id" = i64, Path)),
    responses((status = 201, body = CertificationView), (status = 404, body = Problem),
              (status = 409, body = Problem)))]
pub async fn certify(State(state): State<AppState>, caller: Caller, Path(transaction): Path<i64>) -> Result<Response> {
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    let id = records::certify(&mut tx, transaction, caller.user_id).await?;
    tx.commit().await?;
    super::metrics::certificate_issued("certify");
    let view = fetch_certification(&state, id).await?;
    state.changed_house(view.farmhouse_id).await;
    Ok(created(format!("/api/v1/certifications/{id}"), view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeIn {
    /// Why the certificate is revoked (kept with it).
    pub reason: String,
    /// Admins: why it is revoked although pledged to a bank (written on the pledge). Without it a pledged
    /// certificate is not revoked (409 naming `pledges`).
    pub override_reason: Option<String>,
}

/// Revokes a certificate (the record stays, marked revoked): the house returns to contracted. Two people
/// revoke: an officer's call asks for it (202; the certificate stays in force), a second officer's confirms
/// it (200); an admin revokes alone. The officer who asked cannot confirm (409 naming `officers`).
#[utoipa::path(post, path = "/api/v1/certifications/{id}/revoke", tag = "certifications", request_body = RevokeIn,
    params(("id" = i64, Path)),
    responses((status = 200, body = CertificationView), (status = 202, body = CertificationView),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(input): Json<RevokeIn>,
) -> Result<Response> {
    let reason = paragraphs(&input.reason, 1, 500).map_err(|e| Error::invalid("reason", e))?;
    let overriding = override_reason(&caller, input.override_reason.as_deref())?;
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    if let Some(why) = &overriding {
        store::money::override_pledges(&mut tx, None, Some(id), why).await?;
    }
    let (house, done) = records::revoke(&mut tx, id, &reason, revoker(&caller)).await?;
    tx.commit().await?;
    state.changed_house(house).await;
    let status = match done {
        records::Revocation::Requested => StatusCode::ACCEPTED,
        records::Revocation::Revoked => StatusCode::OK,
    };
    Ok((status, axum::Json(fetch_certification(&state, id).await?)).into_response())
}

fn revoker(caller: &Caller) -> records::Revoker {
    records::Revoker { user: caller.user_id, admin: caller.role == Role::Admin }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionIn {
    /// Why the certificate is corrected (kept with the revoked certificate).
    pub reason: String,
    /// The corrected floor area (m²); left out: unchanged.
    pub floor_area_m2: Option<f64>,
    /// The corrected structure; left out: unchanged.
    pub structure: Option<String>,
    /// The corrected owner household; left out: unchanged.
    pub owner_party_id: Option<i64>,
}

/// Corrects (更正) a certificate in force: revokes it with the reason, corrects the house's facts, and
/// issues a new certificate from the corrected facts, in one transaction that the history keeps.
#[utoipa::path(post, path = "/api/v1/certifications/{id}/correction", tag = "certifications",
    request_body = CorrectionIn, params(("id" = i64, Path)),
    responses((status = 201, body = CertificationView), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn correct(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(input): Json<CorrectionIn>,
) -> Result<Response> {
    let mut c = crate::domain::checks::Checks::default();
    let reason = c.check("reason", paragraphs(&input.reason, 1, 500));
    let floor_area_m2 = input.floor_area_m2.and_then(|a| c.check("floor_area_m2", crate::domain::house::floor_area(a)));
    let structure = input.structure.as_deref().and_then(|s| c.check("structure", crate::domain::house::structure(s)));
    if input.floor_area_m2.is_none() && input.structure.is_none() && input.owner_party_id.is_none() {
        c.fail("floor_area_m2", "name at least one fact to correct: floor_area_m2, structure or owner_party_id");
    }
    c.finish(|| ())?;
    let changes = store::farmhouses::HouseChanges {
        floor_area_m2,
        structure,
        owner_party_id: input.owner_party_id.map(Some),
        ..Default::default()
    };
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    let (new, house) = records::correct(&mut tx, id, &reason.unwrap_or_default(), &changes, revoker(&caller)).await?;
    tx.commit().await?;
    super::metrics::certificate_issued("correction");
    state.changed_house(house).await;
    Ok(created(format!("/api/v1/certifications/{new}"), fetch_certification(&state, new).await?))
}

/// What anyone may learn of a certificate: whether it is in force and the facts it states, never who
/// the parties are.
#[derive(Debug, Serialize, ToSchema)]
pub struct Verification {
    pub certificate_no: String,
    /// in_force, ended (the lease ended early), expired (its term ran out) or revoked, on the day asked.
    pub state: CertificateState,
    pub issued_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Why it was revoked.
    pub revoke_reason: Option<String>,
    /// The day the lease ended early.
    pub ended_on: Option<NaiveDate>,
    pub unit_number: String,
    pub township_name: String,
    pub village: String,
    pub floor_area_m2: f64,
    pub lease_start: NaiveDate,
    pub lease_end: NaiveDate,
    pub intended_use: String,
    /// Pledges (抵押) in force on the use right it states: the bank, the amount and until when. Nothing
    /// of the borrower beyond what the certificate shows.
    pub encumbrances: Vec<Encumbrance>,
}

/// A pledge in force, as a certificate's verification shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Encumbrance {
    pub bank: String,
    #[schema(value_type = f64)]
    pub amount_yuan: Yuan,
    pub loan_start: NaiveDate,
    pub loan_end: NaiveDate,
    pub registered_on: NaiveDate,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifyQuery {
    /// The verification code printed on the certificate beside its number (required).
    pub code: Option<String>,
}

/// Check a certificate with the code printed on it: its public facts and where it stands today.
/// Without the code nothing is shown; a wrong code is answered as an unknown number, and repeated wrong
/// codes from one address must wait (429).
#[utoipa::path(get, path = "/api/v1/verify/{certificate_no}", tag = "certifications",
    params(("certificate_no" = String, Path), VerifyQuery),
    responses((status = 200, body = Verification), (status = 400, body = Problem), (status = 404, body = Problem),
              (status = 429, body = Problem)))]
pub async fn verify(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    Path(no): Path<String>,
    Query(q): Query<VerifyQuery>,
) -> Result<axum::Json<Verification>> {
    let code = required_code(q.code.as_deref())?;
    Ok(axum::Json(verification(&state, peer, &no, code).await?))
}

/// What a check without the code is told (the same whether the number exists or not).
pub const CODE_NEEDED: &str = "a verification code is needed: it is printed on the certificate beside its number";

/// The public facts of certificate `no` given its verification `code` (shared by the JSON route and the
/// verification page), read over the reserved connections so a check answers while the service is busy.
pub async fn verification(state: &AppState, peer: Option<IpAddr>, no: &str, code: &str) -> Result<Verification> {
    let r = checked_certificate(state, peer, no, code).await?;
    let encumbrances = store::money::encumbrances(&state.reserved, r.id)
        .await?
        .into_iter()
        .map(|p| Encumbrance {
            bank: p.bank,
            amount_yuan: Yuan::from_fen(p.amount_fen),
            loan_start: p.loan_start,
            loan_end: p.loan_end,
            registered_on: p.registered_on,
        })
        .collect();
    let state = r.state(lifecycle::beijing_today());
    let f = r.facts.0;
    Ok(Verification {
        state,
        certificate_no: r.certificate_no,
        issued_at: r.issued_at,
        revoked_at: r.revoked_at,
        revoke_reason: r.revoke_reason,
        ended_on: r.terminated_on,
        unit_number: f.unit_number,
        township_name: f.township_name,
        village: f.village,
        floor_area_m2: f.floor_area_m2,
        lease_start: f.lease_start,
        lease_end: f.lease_end,
        intended_use: f.intended_use,
        encumbrances,
    })
}

/// Certificate `no` if `code` is the one printed on it: what verification, the document and the signed
/// facts all start from. A missing code is a 400 naming `code`; a wrong code is answered as an unknown
/// number, and each one counts against the address like a failed login
/// (`store::access::take_login_attempt`), while a right one takes its count back.
pub async fn checked_certificate(
    state: &AppState,
    peer: Option<IpAddr>,
    no: &str,
    code: &str,
) -> Result<CertificationRow> {
    let keys = vec![format!("verify:{}", peer.map_or_else(|| "-".to_string(), |p| p.to_string()))];
    let at = match access::take_login_attempt(&state.reserved, &keys).await? {
        access::LoginAttempt::Counted { at } => at,
        access::LoginAttempt::Refused { wait_seconds } => {
            return Err(Error::Throttled(
                format!("too many wrong verification codes; try again in {wait_seconds} s"),
                wait_seconds,
            ));
        }
    };
    let unknown = || Error::NotFound(format!("certificate {no} with this verification code"));
    let r = records::certification_by_number(&state.reserved, no).await?.ok_or_else(unknown)?;
    if !code.eq_ignore_ascii_case(&r.verification_code) {
        return Err(unknown());
    }
    access::login_succeeded(&state.reserved, "verify:-none-", &keys, at).await?;
    Ok(r)
}

/// The code of a query, required: blank counts as missing.
pub fn required_code(code: Option<&str>) -> Result<&str> {
    code.map(str::trim)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| Error::Malformed(vec![crate::domain::FieldError::new("code", CODE_NEEDED)]))
}

/// The routes of this module, with who may call them.
pub fn routes() -> Vec<Endpoint> {
    vec![
        route(routes!(record_appraisal), Allow::OFFICERS),
        route(routes!(list_house), Allow::OFFICERS),
        route(routes!(list_past), Allow::ADMINS),
        route(routes!(appraisals), Allow::STAFF),
        route(routes!(appraisal), Allow::STAFF),
        route(routes!(listings), Allow::Everyone),
        route(routes!(listing), Allow::Everyone),
        route(routes!(withdraw), Allow::OFFICERS),
        route(routes!(sign), Allow::OFFICERS),
        route(routes!(transactions), Allow::STAFF),
        route(routes!(transaction), Allow::STAFF),
        route(routes!(certify), Allow::OFFICERS),
        route(routes!(end_lease), Allow::OFFICERS_AND_ADMINS),
        route(routes!(certifications), Allow::STAFF),
        route(routes!(certification), Allow::STAFF),
        route(routes!(revoke), Allow::OFFICERS_AND_ADMINS),
        route(routes!(correct), Allow::OFFICERS_AND_ADMINS),
        route(routes!(verify), Allow::Everyone),
    ]
}
