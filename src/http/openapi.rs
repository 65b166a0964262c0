//! The OpenAPI 3 document of the service, generated from the handlers' annotations
//! (`#[utoipa::path]`) and the types they take and return. A test proves it lists exactly the routes
//! the router serves.

use axum::Json;
use utoipa::openapi::path::Operation;
use utoipa::{Modify, OpenApi};

use super::{activation, auth, farmhouses, health, history, parcels, parties, photos};

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
        auth::register_interest, auth::listing_interests, auth::interests,
        auth::me, auth::login, auth::logout, auth::tokens, auth::make_token, auth::revoke_token,
        auth::users, auth::add_user, auth::change_user,
    ),
    modifiers(&OperationIds),
    tags(
        (name = "service"), (name = "townships"), (name = "parcels"), (name = "farmhouses"), (name = "photos"),
        (name = "parties", description = "private data: officers see it, officials masked, nobody else"),
        (name = "appraisals"), (name = "listings"), (name = "transactions"), (name = "certifications"),
        (name = "access", description = "log in (cookie) or send `Authorization: Bearer <token>`"),
    )
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "service",
    responses((status = 200, description = "an OpenAPI 3 document", body = Object)))]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// Names every operation after its method and path (`getFarmhousesIdHistory`): handler names repeat
/// across modules (`list`, `get`), and operation ids must be unique.
struct OperationIds;

impl Modify for OperationIds {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for (path, item) in doc.paths.paths.iter_mut() {
            let ops: [(&str, &mut Option<Operation>); 5] = [
                ("get", &mut item.get),
                ("post", &mut item.post),
                ("put", &mut item.put),
                ("patch", &mut item.patch),
                ("delete", &mut item.delete),
            ];
            for (method, op) in ops {
                if let Some(op) = op {
                    op.operation_id = Some(operation_id(method, path));
                }
            }
        }
    }
}

fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_string();
    for part in path.trim_start_matches("/api/v1").split(['/', '.', '_', '-']).filter(|p| !p.is_empty()) {
        let part = part.trim_matches(['{', '}']);
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            id.extend(first.to_uppercase());
            id.push_str(chars.as_str());
        }
    }
    id
}
