//! What the OGC API's landing page links (as JSON from [`super::features::landing`], and as the HTML
//! page of `/?f=html`), and its API definition at `/api`: an OpenAPI 3.0 document of the OGC routes, as the
//! `oas30` conformance classes of OGC API – Features and Tiles ask (docs/DESIGN.md §7.1).
//!
//! `/api` is made from the service's own document (`/api/v1/openapi.json`, which utoipa writes as
//! OpenAPI 3.1): the paths of the OGC API – Features and Tiles routes, the schemas they refer to, and the
//! few 3.1 forms those use written the 3.0 way (`"type": ["string", "null"]` as `nullable`, `examples`
//! as `example`, `const` as a one-value `enum`).

use std::collections::BTreeSet;
use std::sync::OnceLock;

use axum::extract::RawQuery;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::ogc_tiles::{REL_TILESETS_VECTOR, REL_TILING_SCHEMES};
use super::problem::FieldError;
use super::routes::{Allow, Endpoint, route};
use super::web::{HEAD_START, escape, html_response};
use super::{Error, Result};
use utoipa_axum::routes;

/// The media type of an OpenAPI 3.0 document.
pub const OAS30: &str = "application/vnd.oai.openapi+json;version=3.0";
const JSON: &str = "application/json";
const TITLE: &str = "Shangyu idle-farmhouse registry (上虞区闲置农房激活)";

/// The tags of the operations that make up the OGC API.
const OGC_TAGS: &[&str] = &["ogc-features", "ogc-tiles", "tiles"];

fn link(href: String, rel: &str, kind: &str, title: &str) -> Value {
    json!({ "href": href, "rel": rel, "type": kind, "title": title })
}

/// The landing page's links, under `base`: the API definition, conformance, collections, tilesets,
/// tile matrix sets, the map's style and the web map itself.
pub fn landing_links(base: &str) -> Vec<Value> {
    vec![
        link(format!("{base}/?f=json"), "self", JSON, "this document"),
        link(format!("{base}/?f=html"), "alternate", "text/html", "this document as HTML"),
        link(format!("{base}/api"), "service-desc", OAS30, "the API definition (OpenAPI 3.0)"),
        link(
            format!("{base}/api/v1/openapi.json"),
            "describedby",
            JSON,
            "the whole service's API, the JSON API included (OpenAPI 3.1)",
        ),
        link(format!("{base}/conformance"), "conformance", JSON, "conformance classes"),
        link(format!("{base}/collections"), "data", JSON, "feature collections"),
        link(format!("{base}/tiles"), REL_TILESETS_VECTOR, JSON, "vector tilesets of every collection"),
        link(format!("{base}/tileMatrixSets"), REL_TILING_SCHEMES, JSON, "tile matrix sets"),
        link(format!("{base}/styles/default.json"), "stylesheet", JSON, "the web map's style (MapLibre)"),
        link(format!("{base}/"), "related", "text/html", "the web map"),
    ]
}

/// The landing page as HTML (`/?f=html`): every link of the JSON page.
pub fn html_landing(base: &str) -> Response {
    let mut items = String::new();
    for l in landing_links(base) {
        let text = |k: &str| escape(l[k].as_str().unwrap_or_default());
        items.push_str(&format!(
            "<li><a href=\"{}\" rel=\"{}\" type=\"{}\">{}</a> <small>{} · {}</small></li>",
            text("href"),
            text("rel"),
            text("type"),
            text("title"),
            text("rel"),
            text("type"),
        ));
    }
    let body = format!(
        "{HEAD_START}<title>{title} · OGC API</title></head><body><main class=\"notice\"><h1>{title}</h1>\
         <p>OGC API – Features and OGC API – Tiles of the registry's farmhouses, parcels, townships and villages.</p>\
         <ul>{items}</ul></main></body></html>\n",
        title = escape(TITLE),
    );
    html_response(StatusCode::OK, body, None)
}

/// The OGC API's definition: its routes as an OpenAPI 3.0 document.
#[utoipa::path(get, path = "/api", tag = "ogc-features",
    params(("f" = Option<String>, Query, description = "json")),
    responses((status = 200, description = "an OpenAPI 3.0 document of the OGC API – Features and Tiles routes",
               content_type = "application/vnd.oai.openapi+json;version=3.0", body = Object)))]
pub async fn definition(RawQuery(query): RawQuery) -> Result<Response> {
    let pairs = form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes());
    for (name, value) in pairs {
        if name == "f" && value != "json" {
            return Err(Error::BadParameter(FieldError::new("f", format!("only json is offered here, not {value:?}"))));
        }
    }
    let mut res = axum::Json(oas30()).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(OAS30));
    Ok(res)
}

/// The OpenAPI 3.0 document of the OGC routes, made once.
pub fn oas30() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let full = serde_json::to_value(super::openapi::api()).unwrap_or_default();
        ogc_only(&full)
    })
}

/// The OGC operations of `full` (an OpenAPI 3.1 document) as an OpenAPI 3.0 document.
fn ogc_only(full: &Value) -> Value {
    let mut paths = Map::new();
    let mut tags_used = BTreeSet::new();
    for (path, item) in full["paths"].as_object().into_iter().flatten() {
        let tags: Vec<&str> = item
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(_, op)| op["tags"].as_array().into_iter().flatten())
            .filter_map(Value::as_str)
            .collect();
        if tags.iter().any(|t| OGC_TAGS.contains(t)) {
            tags_used.extend(tags.into_iter().map(str::to_string));
            paths.insert(path.clone(), item.clone());
        }
    }
    // The schemas the paths refer to, and those these refer to in turn.
    let mut schemas = Map::new();
    let mut pending = schema_refs(&Value::Object(paths.clone()));
    while let Some(name) = pending.pop() {
        if schemas.contains_key(&name) {
            continue;
        }
        if let Some(schema) = full["components"]["schemas"].get(&name) {
            pending.extend(schema_refs(schema));
            schemas.insert(name, schema.clone());
        }
    }
    let tags: Vec<Value> = full["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["name"].as_str().is_some_and(|n| tags_used.contains(n)))
        .cloned()
        .collect();
    let mut doc = json!({
        "openapi": "3.0.3",
        "info": {
            "title": format!("{TITLE} — OGC API"),
            "description": "OGC API – Features (Part 1) and OGC API – Tiles (Part 1) of the registry. The whole \
                            service, its JSON API included, is described at /api/v1/openapi.json (OpenAPI 3.1).",
            "version": full["info"]["version"].clone(),
            "license": full["info"]["license"].clone(),
        },
        "tags": tags,
        "paths": paths,
        "components": { "schemas": schemas },
    });
    to_oas30(&mut doc);
    doc
}

/// The names of the component schemas `v` refers to.
fn schema_refs(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(o) => {
                if let Some(name) =
                    o.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/components/schemas/"))
                {
                    out.push(name.to_string());
                }
                stack.extend(o.values());
            }
            Value::Array(a) => stack.extend(a),
            _ => {}
        }
    }
    out
}

/// Rewrites the OpenAPI 3.1 forms utoipa writes in schemas into their OpenAPI 3.0 equivalents.
fn to_oas30(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if let Some(Value::Array(types)) = o.get("type") {
                let nullable = types.iter().any(|t| t == "null");
                let rest: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
                match rest.as_slice() {
                    [one] => {
                        o.insert("type".into(), one.clone());
                    }
                    _ => {
                        o.remove("type");
                    }
                }
                if nullable {
                    o.insert("nullable".into(), Value::Bool(true));
                }
            }
            // `oneOf: [{"type": "null"}, {…}]` (an optional reference) is a nullable `allOf` of the rest.
            for key in ["oneOf", "anyOf"] {
                let Some(Value::Array(options)) = o.get(key) else { continue };
                if !options.iter().any(|s| s.get("type").is_some_and(|t| t == "null")) {
                    continue;
                }
                let rest: Vec<Value> =
                    options.iter().filter(|s| !s.get("type").is_some_and(|t| t == "null")).cloned().collect();
                o.remove(key);
                o.insert(if rest.len() == 1 { "allOf".into() } else { key.into() }, Value::Array(rest));
                o.insert("nullable".into(), Value::Bool(true));
            }
            if let Some(Value::Array(examples)) = o.get("examples") {
                let first = examples.first().cloned();
                o.remove("examples");
                if let Some(first) = first {
                    o.insert("example".into(), first);
                }
            }
            if let Some(value) = o.remove("const") {
                o.insert("enum".into(), Value::Array(vec![value]));
            }
            o.values_mut().for_each(to_oas30);
        }
        Value::Array(a) => a.iter_mut().for_each(to_oas30),
        _ => {}
    }
}

/// The routes of this module, with who may call them.
pub fn routes() -> Vec<Endpoint> {
    vec![route(routes!(definition), Allow::Everyone)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openapi_31_forms_become_30_forms() {
        let mut v = json!({
            "a": { "type": ["string", "null"], "examples": ["x", "y"] },
            "b": { "oneOf": [{ "type": "null" }, { "$ref": "#/components/schemas/P" }] },
            "c": { "const": 3 },
            "properties": { "type": { "type": "string" } },
        });
        to_oas30(&mut v);
        assert_eq!(v["a"], json!({ "type": "string", "nullable": true, "example": "x" }));
        assert_eq!(v["b"], json!({ "allOf": [{ "$ref": "#/components/schemas/P" }], "nullable": true }));
        assert_eq!(v["c"], json!({ "enum": [3] }));
        assert_eq!(v["properties"]["type"], json!({ "type": "string" }));
    }
}
