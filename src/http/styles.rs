//! `GET /styles/default.json`: the map as a MapLibre style document (style spec version 8), so QGIS
//! 3.28+ and any other MapLibre client open it with one URL, and the web map is built from it
//! (`web/app/map.js` adds only what is interactive). Its sources are the service's own TileJSON, with
//! absolute URLs from the public URL (`serve --public-url`, [`BaseUrl`]); nothing comes from another site:
//! no glyphs or sprite are named, so clients draw the village names and cluster counts with their own
//! fonts (docs/DESIGN.md §10).
//!
//! What it draws: the townships' activation as a choropleth, parcels and house footprints coloured by
//! status from zoom 15, villages as rings named from zoom 12, and between zoom 8 and 14 clusters of the
//! houses an investor may lease (listed), sized and labelled by their count.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::features::BaseUrl;
use super::query::NoQuery;
use super::routes::{Allow, Endpoint, route};
use super::{AppState, Result};
use crate::map::Layer;
use utoipa_axum::routes;

/// The status colours, as `web/app/map.js` names them in its legend (a browser test compares the two).
pub const STATUS_COLOURS: [(&str, &str); 4] =
    [("registered", "#767676"), ("listed", "#1565c0"), ("contracted", "#c25400"), ("certified", "#1b7f3b")];
/// The background the colours are chosen against (each at least 3:1).
pub const BACKGROUND: &str = "#eef1e8";
/// The township choropleth's ramp, light to dark.
pub const CHOROPLETH: [&str; 5] = ["#f3eef8", "#cfc2e3", "#a08cc8", "#6e50a8", "#3f1f80"];
/// Villages: a dark ring with a white middle, unlike any cluster.
pub const VILLAGE_COLOUR: &str = "#3d3d3d";
/// The zoom from which villages are named.
pub const VILLAGE_LABEL_ZOOM: u8 = 12;

fn colour_of_status() -> Value {
    let mut m = vec![json!("match"), json!(["get", "status"])];
    for (s, c) in STATUS_COLOURS {
        m.push(json!(s));
        m.push(json!(c));
    }
    m.push(json!("#555555"));
    Value::Array(m)
}

/// The share of a township's houses that are certified, spread over the ramp from 0 to 1 (the web map
/// spreads it over the townships' own range).
fn choropleth() -> Value {
    let share = json!([
        "/",
        ["coalesce", ["get", "certified_houses"], 0],
        ["max", ["coalesce", ["get", "houses_total"], 0], 1]
    ]);
    let mut e = vec![json!("interpolate"), json!(["linear"]), share];
    for (i, c) in CHOROPLETH.iter().enumerate() {
        e.push(json!(i as f64 / (CHOROPLETH.len() - 1) as f64));
        e.push(json!(c));
    }
    Value::Array(e)
}

/// The style document with sources under `base`.
pub fn style(base: &str, basemap_url: Option<&str>, bounds: Option<[f64; 4]>) -> Value {
    let mut sources = serde_json::Map::new();
    for layer in Layer::ALL {
        sources
            .insert(layer.name().into(), json!({ "type": "vector", "url": format!("{base}/tiles/{}", layer.name()) }));
    }
    let mut layers =
        vec![json!({ "id": "background", "type": "background", "paint": { "background-color": BACKGROUND } })];
    if let Some(url) = basemap_url {
        sources.insert("basemap".into(), json!({ "type": "raster", "tiles": [url], "tileSize": 256, "maxzoom": 18 }));
        layers.push(
            json!({ "id": "basemap", "type": "raster", "source": "basemap", "paint": { "raster-opacity": 0.85 } }),
        );
    }
    let listed = json!(["coalesce", ["get", "listed"], 0]);
    let selected = json!(["boolean", ["feature-state", "selected"], false]);
    layers.extend([
        json!({
            "id": "townships-fill", "type": "fill", "source": "townships", "source-layer": "townships",
            "paint": {
                "fill-color": choropleth(),
                "fill-opacity": ["interpolate", ["linear"], ["zoom"], 10, 0.8, 12, 0.35, 15, 0.12],
            },
        }),
        json!({
            "id": "townships-line", "type": "line", "source": "townships", "source-layer": "townships",
            "paint": {
                "line-color": ["case", selected, "#111111", "#ffffff"],
                "line-width": ["case", selected, 3, 1.2],
            },
        }),
        json!({
            "id": "parcels-fill", "type": "fill", "source": "parcels", "source-layer": "parcels", "minzoom": 15,
            "paint": { "fill-color": "#fbf7e9", "fill-opacity": 0.7 },
        }),
        json!({
            "id": "parcels-line", "type": "line", "source": "parcels", "source-layer": "parcels", "minzoom": 15,
            "paint": { "line-color": "#b59f6b", "line-width": 0.8, "line-dasharray": [2, 1] },
        }),
        // Clusters of the houses an investor may lease: drawn where a cell has any, sized and labelled
        // by their count (at most 15 px: clusters are 32 px apart at least, see map::layers::DRAWN_CELLS).
        json!({
            "id": "houses-cluster", "type": "circle", "source": "farmhouses", "source-layer": "farmhouses",
            "maxzoom": 15,
            "filter": ["all", ["==", ["geometry-type"], "Point"], [">", listed, 0]],
            "paint": {
                "circle-color": STATUS_COLOURS[1].1,
                "circle-radius": ["interpolate", ["linear"], ["sqrt", listed], 1, 7, 5, 11, 15, 15],
                "circle-opacity": 0.9,
                "circle-stroke-color": "#ffffff",
                "circle-stroke-width": 1,
            },
        }),
        json!({
            "id": "houses-cluster-count", "type": "symbol", "source": "farmhouses", "source-layer": "farmhouses",
            "maxzoom": 15,
            "filter": ["all", ["==", ["geometry-type"], "Point"], [">", listed, 0]],
            "layout": {
                "text-field": ["to-string", listed], "text-size": 11,
                "text-allow-overlap": true, "text-ignore-placement": true,
            },
            "paint": { "text-color": "#ffffff" },
        }),
        json!({
            "id": "villages", "type": "circle", "source": "villages", "source-layer": "villages", "minzoom": 10,
            "paint": {
                "circle-radius": 3.5, "circle-color": "#ffffff",
                "circle-stroke-color": VILLAGE_COLOUR, "circle-stroke-width": 1.5,
            },
        }),
        json!({
            "id": "villages-label", "type": "symbol", "source": "villages", "source-layer": "villages",
            "minzoom": VILLAGE_LABEL_ZOOM,
            "layout": {
                "text-field": ["get", "name"], "text-size": 12, "text-anchor": "top", "text-offset": [0, 0.6],
                "text-max-width": 8,
            },
            "paint": { "text-color": "#222222", "text-halo-color": "#ffffff", "text-halo-width": 1.5 },
        }),
        json!({
            "id": "houses-fill", "type": "fill", "source": "farmhouses", "source-layer": "farmhouses", "minzoom": 15,
            "filter": ["==", ["geometry-type"], "Polygon"],
            "paint": { "fill-color": colour_of_status(), "fill-opacity": 0.9 },
        }),
        json!({
            "id": "houses-line", "type": "line", "source": "farmhouses", "source-layer": "farmhouses", "minzoom": 15,
            "filter": ["==", ["geometry-type"], "Polygon"],
            "paint": {
                "line-color": ["case", selected, "#000000", "#ffffff"],
                "line-width": ["case", selected, 3, 0.8],
            },
        }),
    ]);
    let [w, s, e, n] = bounds.unwrap_or([120.6, 29.75, 121.1, 30.3]);
    json!({
        "version": 8,
        "name": "farmhouse",
        "metadata": { "farmhouse:bounds": [w, s, e, n] },
        "center": [f64::midpoint(w, e), f64::midpoint(s, n)],
        "zoom": 10,
        "sources": sources,
        "layers": layers,
    })
}

/// The map as a MapLibre style document (style spec v8) over this service's TileJSON.
#[utoipa::path(get, path = "/styles/default.json", tag = "tiles",
    responses((status = 200, description = "a MapLibre style document", body = Object),
              (status = 400, body = super::Problem)))]
pub async fn default_style(
    axum::extract::State(state): axum::extract::State<AppState>,
    BaseUrl(base): BaseUrl,
    _: NoQuery,
) -> Result<Response> {
    let mut read = state.reads.acquire().await?;
    let bounds = crate::map::items::extent(&mut *read.conn).await?;
    drop(read);
    let mut res = axum::Json(style(&base, state.web.basemap_url.as_deref(), bounds)).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(res)
}

/// The routes of this module, with who may call them.
pub fn routes() -> Vec<Endpoint> {
    vec![route(routes!(default_style), Allow::Everyone)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_is_the_services_own_and_every_layer_names_one() {
        let s = style("https://map.example.cn/fh", None, None);
        for (name, source) in s["sources"].as_object().unwrap() {
            assert_eq!(source["url"], format!("https://map.example.cn/fh/tiles/{name}"));
        }
        for layer in s["layers"].as_array().unwrap() {
            if let Some(source) = layer["source"].as_str() {
                assert!(s["sources"].get(source).is_some(), "{layer}");
            }
        }
        assert!(s.get("glyphs").is_none() && s.get("sprite").is_none());
    }
}
