//! The OpenAPI 3 document of the service, generated from the routes the modules declare
//! ([`super::routes::route`]: each handler's `#[utoipa::path]` and the types it takes and returns), so
//! it lists exactly the routes the router serves (a test proves it).

use axum::Json;
use utoipa::openapi::path::Operation;
use utoipa::{Modify, OpenApi};

use super::routes::{Allow, Endpoint, route};
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "farmhouse — idle-farmhouse activation registry",
        description = "Parcels, farmhouses and their appraisal, listing, transaction and certification (鉴证) \
                       records. Errors are application/problem+json (RFC 9457) naming the bad field.",
        license(name = "proprietary"),
    ),
    components(schemas(super::Problem)),
    tags(
        (name = "service"), (name = "townships"), (name = "parcels"), (name = "farmhouses"), (name = "photos"),
        (name = "parties", description = "private data: officers see it, officials masked, nobody else"),
        (name = "appraisals"), (name = "listings"), (name = "transactions"), (name = "certifications"),
        (name = "ogc-features", description = "OGC API – Features Part 1 (core, GeoJSON)"),
        (name = "tiles", description = "Mapbox Vector Tiles and TileJSON"),
        (name = "ogc-tiles", description = "OGC API – Tiles Part 1: tilesets and tiles in WebMercatorQuad"),
        (name = "stats", description = "activation figures"),
        (name = "projects", description = "activation projects: houses under one operator and brand (public)"),
        (name = "import-export", description = "survey files in and out"),
        (name = "web", description = "the web map, its files, and the public verification and project pages"),
        (name = "access", description = "log in (cookie) or send `Authorization: Bearer <token>`"),
    )
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "service",
    responses((status = 200, description = "an OpenAPI 3 document", body = Object)))]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(api().clone())
}

/// The document, made once from [`super::endpoints`].
pub fn api() -> &'static utoipa::openapi::OpenApi {
    static API: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    API.get_or_init(|| {
        let mut doc = super::routes::document(ApiDoc::openapi(), super::endpoints());
        OperationIds.modify(&mut doc);
        doc
    })
}

/// The conventions every operation shares, applied after the handlers' annotations:
/// - its id comes from its method and path (`getFarmhousesIdHistory`): handler names repeat across
///   modules (`list`, `get`), and operation ids must be unique; a page that shares its API route's id
///   (`/verify/{no}` beside `/api/v1/verify/{no}`) gets `Page` appended;
/// - errors are `application/problem+json` (RFC 9457), and any status an operation does not list is
///   documented by a `default` problem response.
struct OperationIds;

impl Modify for OperationIds {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let mut taken = std::collections::HashSet::new();
        for (path, item) in &mut doc.paths.paths {
            let ops: [(&str, &mut Option<Operation>); 5] = [
                ("get", &mut item.get),
                ("post", &mut item.post),
                ("put", &mut item.put),
                ("patch", &mut item.patch),
                ("delete", &mut item.delete),
            ];
            for (method, op) in ops {
                if let Some(op) = op {
                    let mut id = operation_id(method, path);
                    if !taken.insert(id.clone()) {
                        id.push_str("Page");
                        taken.insert(id.clone());
                    }
                    op.operation_id = Some(id);
                    problems_as_problem_json(op);
                }
            }
        }
    }
}

fn problems_as_problem_json(op: &mut Operation) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    for (status, response) in &mut op.responses.responses {
        let RefOr::T(response) = response else { continue };
        if status.starts_with('2') || status.starts_with('3') {
            continue;
        }
        if let Some(content) = response.content.shift_remove("application/json") {
            response.content.insert(super::problem::PROBLEM_JSON.to_string(), content);
        }
    }
    let problem = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
    let default = ResponseBuilder::new()
        .description("an error, as an RFC 9457 problem naming the bad field when there is one")
        .content(super::problem::PROBLEM_JSON, problem)
        .build();
    op.responses.responses.entry("default".into()).or_insert(RefOr::T(default));
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

/// The routes of this module, with who may call them.
pub fn routes() -> Vec<Endpoint> {
    vec![route(routes!(document), Allow::Everyone)]
}
