//! The OpenAPI 3 document of the service, generated from the handlers' annotations
//! (`#[utoipa::path]`) and the types they take and return. A test proves it lists exactly the routes
//! the router serves.

use axum::Json;
use utoipa::OpenApi;

use super::{activation, farmhouses, health, history, parcels, parties, photos};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "farmhouse — idle-farmhouse activation registry",
        description = "Parcels, farmhouses and their appraisal, listing, transaction and certification (鉴证) \
                       records. Errors are application/problem+json (RFC 9457) naming the bad field.",
        license(name = "proprietary"),
    ),
    paths(
        health::health,
        document,
        parcels::townships, parcels::township,
        parcels::list, parcels::create, parcels::get, parcels::update,
        farmhouses::list, farmhouses::create, farmhouses::get, farmhouses::update,
        photos::list, photos::upload, photos::get, photos::delete,
        parties::list, parties::create, parties::get, parties::replace,
        activation::appraisals, activation::appraisal, activation::record_appraisal,
        activation::listings, activation::listing, activation::list_house, activation::withdraw,
        activation::transactions, activation::transaction, activation::sign, activation::end_lease,
        activation::certifications, activation::certification, activation::certify, activation::revoke,
        activation::verify,
        history::farmhouse, history::parcel, history::party, history::appraisal, history::listing,
        history::transaction, history::certification,
    ),
    tags(
        (name = "service"), (name = "townships"), (name = "parcels"), (name = "farmhouses"), (name = "photos"),
        (name = "parties", description = "private data: officers see it, officials masked, nobody else"),
        (name = "appraisals"), (name = "listings"), (name = "transactions"), (name = "certifications"),
    )
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "service",
    responses((status = 200, description = "an OpenAPI 3 document", body = Object)))]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
