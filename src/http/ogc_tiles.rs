//! OGC API – Tiles, Part 1 (core, tileset, tilesets list, geodata and dataset tilesets, MVT) over the
//! map's vector tiles, in the one tile matrix set they are cut in: WebMercatorQuad (OGC 2D Tile Matrix
//! Set 2.0).
//!
//! - `/tileMatrixSets`, `/tileMatrixSets/WebMercatorQuad`: the tiling scheme, as the OGC defines it;
//! - `/collections/{collection}/tiles`, `…/tiles/WebMercatorQuad`: a collection's tileset (one layer);
//! - `/tiles`, `/tiles/WebMercatorQuad`: the dataset's tileset (every layer in one tile);
//! - `…/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}`: the tiles. A collection's tile is the map's
//!   own tile of that layer (`/tiles/{layer}/{z}/{x}/{y}`, [`super::tiles`]: the same bytes, cache,
//!   encodings and ETag); a dataset tile is the layers' tiles one after another, which is itself a Mapbox
//!   Vector Tile (a tile is a list of layers, and protobuf concatenates repeated fields).
//!
//! Tileset documents describe each layer with the fields the caller's role sees, as its tiles carry them.

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use serde_json::{Value, json};

use super::auth::Caller;
use super::features::BaseUrl;
use super::problem::FieldError;
use super::routes::{Allow, Endpoint, route};
use super::tiles::MVT;
use super::{AppState, Error, Result};
use crate::domain::roles::Audience;
use crate::map::encoding::{Encoding, Tile};
use crate::map::grid::to_mercator;
use crate::map::layers::CLUSTER_FIELDS;
use crate::map::{Bbox, Layer, TileId, TileKey};
use utoipa_axum::routes;

/// The conformance classes of this module, each backed by a route here (`tests/it/ogc_tiles.rs` checks
/// every one).
pub const CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/dataset-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/tilesetmetadata",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilesetmetadata",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixsetlimits",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixsetlimits",
];

/// Link relations of OGC API – Tiles.
pub const REL_TILESETS_VECTOR: &str = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector";
pub const REL_TILING_SCHEMES: &str = "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes";
const REL_TILING_SCHEME: &str = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme";

/// The tile matrix set the tiles are cut in, by its identifier and its OGC URI.
pub const TMS_ID: &str = "WebMercatorQuad";
const TMS_URI: &str = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad";
const EPSG_3857: &str = "http://www.opengis.net/def/crs/EPSG/0/3857";
const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
const JSON: &str = "application/json";

/// WebMercatorQuad as OGC 2D TMS 2.0 defines it: tile matrix 0 and its halvings, 256-pixel tiles,
/// the origin at the top left of the Web Mercator square; matrices 0 to 24.
const SCALE_0: f64 = 559_082_264.028_717_8;
const CELL_SIZE_0: f64 = 156_543.033_928_041;
const ORIGIN: [f64; 2] = [-20_037_508.342_789_2, 20_037_508.342_789_2];
const LAST_MATRIX: u8 = 24;

fn link(href: String, rel: &str, kind: &str, title: &str) -> Value {
    json!({ "href": href, "rel": rel, "type": kind, "title": title })
}

fn templated(href: String, rel: &str, kind: &str, title: &str) -> Value {
    json!({ "href": href, "rel": rel, "type": kind, "title": title, "templated": true })
}

/// Checks `f`: these documents are JSON.
fn json_only(query: Option<&str>) -> Result<()> {
    let pairs = form_urlencoded::parse(query.unwrap_or("").as_bytes());
    for (name, value) in pairs {
        if name == "f" && value != "json" {
            return Err(Error::BadParameter(FieldError::new("f", format!("only json is offered here, not {value:?}"))));
        }
    }
    Ok(())
}

fn unknown_tms(id: &str) -> Error {
    Error::NoSuch(FieldError::new(
        "tileMatrixSetId",
        format!("no tile matrix set {id:?}; the tiles are cut in {TMS_ID} only"),
    ))
}

fn unknown_collection(id: &str) -> Error {
    let names: Vec<&str> = Layer::ALL.iter().map(|l| l.name()).collect();
    Error::NoSuch(FieldError::new(
        "collectionId",
        format!("no collection {id:?}; the collections are {}", names.join(", ")),
    ))
}

/// The tile matrix set document (OGC 2D TMS 2.0, JSON).
pub fn tile_matrix_set() -> Value {
    let matrices: Vec<Value> = (0..=LAST_MATRIX)
        .map(|z| {
            let halvings = f64::from(1u32 << z);
            json!({
                "id": z.to_string(),
                "scaleDenominator": SCALE_0 / halvings,
                "cellSize": CELL_SIZE_0 / halvings,
                "cornerOfOrigin": "topLeft",
                "pointOfOrigin": ORIGIN,
                "tileWidth": 256,
                "tileHeight": 256,
                "matrixWidth": 1u32 << z,
                "matrixHeight": 1u32 << z,
            })
        })
        .collect();
    json!({
        "id": TMS_ID,
        "title": "Google Maps Compatible for the World",
        "uri": TMS_URI,
        "crs": EPSG_3857,
        "orderedAxes": ["X", "Y"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "tileMatrices": matrices,
    })
}

/// The tile matrix sets offered.
#[utoipa::path(get, path = "/tileMatrixSets", tag = "ogc-tiles",
    params(("f" = Option<String>, Query, description = "json")),
    responses((status = 200, description = "the tile matrix sets", body = Object)))]
pub async fn tile_matrix_sets(BaseUrl(base): BaseUrl, RawQuery(query): RawQuery) -> Result<Response> {
    json_only(query.as_deref())?;
    let href = format!("{base}/tileMatrixSets/{TMS_ID}");
    Ok(axum::Json(json!({
        "links": [link(format!("{base}/tileMatrixSets"), "self", JSON, "the tile matrix sets")],
        "tileMatrixSets": [{
            "id": TMS_ID,
            "title": "Google Maps Compatible for the World",
            "uri": TMS_URI,
            "crs": EPSG_3857,
            "links": [link(href, "self", JSON, "the tile matrix set")],
        }],
    }))
    .into_response())
}

/// One tile matrix set's definition (OGC 2D TMS 2.0).
#[utoipa::path(get, path = "/tileMatrixSets/{tileMatrixSetId}", tag = "ogc-tiles",
    params(("tileMatrixSetId" = String, Path, description = "WebMercatorQuad"),
           ("f" = Option<String>, Query, description = "json")),
    responses((status = 200, description = "the tile matrix set", body = Object)))]
pub async fn tile_matrix_set_doc(Path(id): Path<String>, RawQuery(query): RawQuery) -> Result<Response> {
    if id != TMS_ID {
        return Err(unknown_tms(&id));
    }
    json_only(query.as_deref())?;
    Ok(axum::Json(tile_matrix_set()).into_response())
}

/// What a tileset holds: one collection's layer, or every layer (the dataset).
#[derive(Clone, Copy)]
enum Scope {
    Collection(Layer),
    Dataset,
}

impl Scope {
    fn layers(self) -> Vec<Layer> {
        match self {
            Scope::Collection(layer) => vec![layer],
            Scope::Dataset => Layer::ALL.to_vec(),
        }
    }

    /// Where its tilesets are listed.
    fn path(self) -> String {
        match self {
            Scope::Collection(layer) => format!("/collections/{}/tiles", layer.name()),
            Scope::Dataset => "/tiles".into(),
        }
    }

    fn title(self) -> String {
        match self {
            Scope::Collection(layer) => format!("{}, vector tiles in {TMS_ID}", layer.title()),
            Scope::Dataset => format!("The registry's map (every collection), vector tiles in {TMS_ID}"),
        }
    }

    /// The first and last tile matrix with data.
    fn zooms(self) -> (u8, u8) {
        let layers = self.layers();
        let min = layers.iter().map(|l| l.zooms().0).min().unwrap_or(0);
        let max = layers.iter().map(|l| l.zooms().1).max().unwrap_or(0);
        (min, max)
    }
}

/// The geometry dimension of a layer's features in tiles, when it is one (houses are points, as
/// clusters, before they are footprints).
fn geometry_dimension(layer: Layer) -> Option<u8> {
    match layer {
        Layer::Farmhouses => None,
        Layer::Parcels | Layer::Townships => Some(2),
        Layer::Villages => Some(0),
    }
}

/// A layer's description in a tileset: its zooms and the fields its tiles carry for `audience`.
fn layer_json(layer: Layer, audience: Audience) -> Value {
    let audience = layer.audience(audience);
    let mut properties = serde_json::Map::new();
    for p in layer.visible(audience, true) {
        properties.insert(p.name.into(), json!({ "type": p.kind.json_type(), "description": p.description }));
    }
    if layer == Layer::Farmhouses {
        for (name, description) in CLUSTER_FIELDS {
            properties.insert((*name).into(), json!({ "type": "integer", "description": description }));
        }
    }
    let (min, max) = layer.zooms();
    let mut l = json!({
        "id": layer.name(),
        "title": layer.title(),
        "description": layer.description(),
        "dataType": "vector",
        "featureType": layer.name(),
        "minTileMatrix": min.to_string(),
        "maxTileMatrix": max.to_string(),
        "propertiesSchema": { "type": "object", "properties": properties },
    });
    if let Some(d) = geometry_dimension(layer) {
        l["geometryDimension"] = json!(d);
    }
    l
}

/// The tile template of a scope's tiles at its OGC path.
fn tile_template(base: &str, scope: Scope) -> String {
    format!("{base}{}/{TMS_ID}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}", scope.path())
}

/// The short form of a tileset, as its list gives it.
fn tileset_summary(base: &str, scope: Scope) -> Value {
    json!({
        "title": scope.title(),
        "dataType": "vector",
        "crs": EPSG_3857,
        "tileMatrixSetURI": TMS_URI,
        "links": [
            link(format!("{base}{}/{TMS_ID}", scope.path()), "self", JSON, "the tileset"),
            link(format!("{base}/tileMatrixSets/{TMS_ID}"), REL_TILING_SCHEME, JSON, "the tile matrix set"),
            templated(tile_template(base, scope), "item", MVT, "its tiles (Mapbox Vector Tiles)"),
        ],
    })
}

/// The tileset document (OGC 2D TMS 2.0 tileset metadata) of `scope` for `audience`.
fn tileset(base: &str, scope: Scope, audience: Audience, extent: Option<[f64; 4]>) -> Value {
    let (min, max) = scope.zooms();
    let bbox = extent.unwrap_or([-180.0, -85.0, 180.0, 85.0]);
    let (min_x, min_y) = to_mercator(bbox[0], bbox[1]);
    let (max_x, max_y) = to_mercator(bbox[2], bbox[3]);
    let area = Bbox::new(min_x, min_y, max_x, max_y);
    let limits: Vec<Value> = (min..=max)
        .map(|z| {
            let top_left = TileId::containing(z, area.min_x, area.max_y);
            let bottom_right = TileId::containing(z, area.max_x, area.min_y);
            json!({
                "tileMatrix": z.to_string(),
                "minTileRow": top_left.y,
                "maxTileRow": bottom_right.y,
                "minTileCol": top_left.x,
                "maxTileCol": bottom_right.x,
            })
        })
        .collect();
    let mut links = vec![
        link(format!("{base}{}/{TMS_ID}", scope.path()), "self", JSON, "this tileset"),
        link(format!("{base}/tileMatrixSets/{TMS_ID}"), REL_TILING_SCHEME, JSON, "the tile matrix set"),
        templated(tile_template(base, scope), "item", MVT, "the tiles (Mapbox Vector Tiles)"),
    ];
    if let Scope::Collection(layer) = scope {
        let name = layer.name();
        links.push(templated(
            format!("{base}/tiles/{name}/{{tileMatrix}}/{{tileCol}}/{{tileRow}}"),
            "alternate",
            MVT,
            "the same tiles at the map's own address (z/x/y)",
        ));
        links.push(link(format!("{base}/tiles/{name}"), "describedby", JSON, "the same tiles as TileJSON"));
        links.push(link(format!("{base}/collections/{name}"), "collection", JSON, "the collection"));
    }
    json!({
        "title": scope.title(),
        "dataType": "vector",
        "crs": EPSG_3857,
        "tileMatrixSetURI": TMS_URI,
        "links": links,
        "tileMatrixSetLimits": limits,
        "boundingBox": { "lowerLeft": [bbox[0], bbox[1]], "upperRight": [bbox[2], bbox[3]], "crs": CRS84 },
        "centerPoint": {
            "coordinates": [f64::midpoint(bbox[0], bbox[2]), f64::midpoint(bbox[1], bbox[3])],
            "crs": CRS84,
            "tileMatrix": min.max(10).min(max).to_string(),
        },
        "layers": scope.layers().into_iter().map(|l| layer_json(l, audience)).collect::<Vec<_>>(),
    })
}

/// The list of a scope's tilesets (one: WebMercatorQuad).
fn tilesets(base: &str, scope: Scope) -> Value {
    json!({
        "links": [link(format!("{base}{}", scope.path()), "self", JSON, "these tilesets")],
        "tilesets": [tileset_summary(base, scope)],
    })
}

/// The dataset's vector tilesets (every collection in one tile).
#[utoipa::path(get, path = "/tiles", tag = "ogc-tiles",
    params(("f" = Option<String>, Query, description = "json")),
    responses((status = 200, description = "the tilesets", body = Object)))]
pub async fn dataset_tilesets(BaseUrl(base): BaseUrl, RawQuery(query): RawQuery) -> Result<Response> {
    json_only(query.as_deref())?;
    Ok(axum::Json(tilesets(&base, Scope::Dataset)).into_response())
}

/// The dataset's tileset in WebMercatorQuad: every layer, with the fields the caller's role sees.
#[utoipa::path(get, path = "/tiles/WebMercatorQuad", tag = "ogc-tiles",
    params(("f" = Option<String>, Query, description = "json")),
    responses((status = 200, description = "the tileset", body = Object)))]
pub async fn dataset_tileset(
    State(state): State<AppState>,
    caller: Caller,
    BaseUrl(base): BaseUrl,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    json_only(query.as_deref())?;
    let extent = crate::map::items::extent(&mut *state.reads.acquire().await?.conn).await?;
    Ok(axum::Json(tileset(&base, Scope::Dataset, caller.role.audience(), extent)).into_response())
}

/// A collection's vector tilesets.
#[utoipa::path(get, path = "/collections/{collection}/tiles", tag = "ogc-tiles",
    params(("collection" = String, Path, description = "farmhouses, parcels, townships or villages"),
           ("f" = Option<String>, Query, description = "json")),
    responses((status = 200, description = "the tilesets", body = Object)))]
pub async fn collection_tilesets(
    Path(id): Path<String>,
    BaseUrl(base): BaseUrl,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let layer = Layer::from_name(&id).ok_or_else(|| unknown_collection(&id))?;
    json_only(query.as_deref())?;
    Ok(axum::Json(tilesets(&base, Scope::Collection(layer))).into_response())
}

/// A collection's tileset: its layer's zooms and the fields the caller's role sees.
#[utoipa::path(get, path = "/collections/{collection}/tiles/{tileMatrixSetId}", tag = "ogc-tiles",
    params(("collection" = String, Path, description = "farmhouses, parcels, townships or villages"),
           ("tileMatrixSetId" = String, Path, description = "WebMercatorQuad"),
           ("f" = Option<String>, Query, description = "json")),
    responses((status = 200, description = "the tileset", body = Object)))]
pub async fn collection_tileset(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, tms)): Path<(String, String)>,
    BaseUrl(base): BaseUrl,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let layer = Layer::from_name(&id).ok_or_else(|| unknown_collection(&id))?;
    if tms != TMS_ID {
        return Err(unknown_tms(&tms));
    }
    json_only(query.as_deref())?;
    let extent = crate::map::items::extent(&mut *state.reads.acquire().await?.conn).await?;
    Ok(axum::Json(tileset(&base, Scope::Collection(layer), caller.role.audience(), extent)).into_response())
}

/// Reads a tile address given as tile matrix, row and column, naming the OGC parameter at fault.
fn tile_id(matrix: &str, row: &str, col: &str) -> Result<TileId> {
    TileId::parse(matrix, col, row).map_err(|bad| {
        let field = match bad.field {
            "z" => "tileMatrix",
            "x" => "tileCol",
            _ => "tileRow",
        };
        let message = bad.message.replace("a zoom", "a tile matrix");
        let e = FieldError::new(field, message);
        if bad.outside { Error::NoSuch(e) } else { Error::BadParameter(e) }
    })
}

/// A tile of a collection: the map's own tile of that layer (the same bytes as `/tiles/{layer}/{z}/{x}/{y}`).
#[utoipa::path(get, path = "/collections/{collection}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
    tag = "ogc-tiles",
    params(("collection" = String, Path, description = "farmhouses, parcels, townships or villages"),
           ("tileMatrixSetId" = String, Path, description = "WebMercatorQuad"),
           ("tileMatrix" = String, Path, description = "the zoom, 0 to 22"),
           ("tileRow" = u32, Path, description = "the row, from the top"),
           ("tileCol" = u32, Path, description = "the column, from the left")),
    responses((status = 200, description = "a Mapbox Vector Tile", content_type = "application/vnd.mapbox-vector-tile",
               body = Vec<u8>),
              (status = 204, description = "nothing in this tile"), (status = 304, description = "not modified")))]
pub async fn collection_tile(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, tms, matrix, row, col)): Path<(String, String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Response> {
    let layer = Layer::from_name(&id).ok_or_else(|| unknown_collection(&id))?;
    if tms != TMS_ID {
        return Err(unknown_tms(&tms));
    }
    let tile = tile_id(&matrix, &row, &col)?;
    let audience = layer.audience(caller.role.audience());
    let encoding = super::tiles::encoding_of(&headers);
    let (t, hit) = super::tiles::cached(&state, TileKey { layer, audience, tile }, encoding, None).await?;
    Ok(super::tiles::respond(&t, encoding, audience, hit, &headers))
}

/// A tile of the dataset: every layer's tile of that address in one Mapbox Vector Tile.
#[utoipa::path(get, path = "/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}", tag = "ogc-tiles",
    params(("tileMatrix" = String, Path, description = "the zoom, 0 to 22"),
           ("tileRow" = u32, Path, description = "the row, from the top"),
           ("tileCol" = u32, Path, description = "the column, from the left")),
    responses((status = 200, description = "a Mapbox Vector Tile", content_type = "application/vnd.mapbox-vector-tile",
               body = Vec<u8>),
              (status = 204, description = "nothing in this tile"), (status = 304, description = "not modified")))]
pub async fn dataset_tile(
    State(state): State<AppState>,
    caller: Caller,
    Path((matrix, row, col)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response> {
    let tile = tile_id(&matrix, &row, &col)?;
    let mut body = BytesMut::new();
    let mut all_hit = true;
    let mut widest = Audience::Public;
    for layer in Layer::ALL {
        let audience = layer.audience(caller.role.audience());
        widest = widest.max(audience);
        let (t, hit) =
            super::tiles::cached(&state, TileKey { layer, audience, tile }, Encoding::Identity, None).await?;
        all_hit &= hit;
        body.extend_from_slice(t.raw());
    }
    let encoding = super::tiles::encoding_of(&headers);
    let t = Tile::new(Bytes::from(body)).with(encoding);
    Ok(super::tiles::respond(&t, encoding, widest, all_hit, &headers))
}

/// The routes of this module, with who may call them.
pub fn routes() -> Vec<Endpoint> {
    vec![
        route(routes!(tile_matrix_sets), Allow::Everyone),
        route(routes!(tile_matrix_set_doc), Allow::Everyone),
        route(routes!(dataset_tilesets), Allow::Everyone),
        route(routes!(dataset_tileset), Allow::Everyone),
        route(routes!(dataset_tile), Allow::Everyone),
        route(routes!(collection_tilesets), Allow::Everyone),
        route(routes!(collection_tileset), Allow::Everyone),
        route(routes!(collection_tile), Allow::Everyone),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_tile_matrix_halves_the_one_before() {
        let tms = tile_matrix_set();
        let matrices = tms["tileMatrices"].as_array().unwrap();
        assert_eq!(matrices.len(), 25);
        assert_eq!(matrices[0]["scaleDenominator"], json!(559_082_264.028_717_8));
        for pair in matrices.windows(2) {
            let ratio = pair[0]["cellSize"].as_f64().unwrap() / pair[1]["cellSize"].as_f64().unwrap();
            assert!((ratio - 2.0).abs() < 1e-12);
            assert_eq!(pair[1]["matrixWidth"].as_u64().unwrap(), 2 * pair[0]["matrixWidth"].as_u64().unwrap());
        }
    }

    #[test]
    fn ogc_tile_addresses_name_the_ogc_parameters() {
        assert_eq!(tile_id("3", "2", "5").unwrap(), TileId { z: 3, x: 5, y: 2 });
        for (m, r, c, field) in [("x", "0", "0", "tileMatrix"), ("1", "a", "0", "tileRow"), ("1", "0", "2", "tileCol")]
        {
            let Err(Error::BadParameter(e) | Error::NoSuch(e)) = tile_id(m, r, c) else { panic!("{m}/{r}/{c}") };
            assert_eq!(e.field, field);
        }
    }
}
