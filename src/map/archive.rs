//! The public map as one PMTiles archive (`farmhouse export tiles --format pmtiles`): every tile over the
//! districts' extent from zoom 0 to a chosen zoom, each holding every layer as the anonymous public gets it
//! from `/tiles/WebMercatorQuad/{z}/{row}/{col}` — the layers' public tiles one after another, rendered by
//! the same statements as the live tiles — gzip-compressed as PMTiles readers expect of vector tiles.
//! The archive format (directories, Hilbert tile ids, header) is the `pmtiles` crate's.

use std::path::Path;

use anyhow::Context;
use pmtiles::{PmTilesWriter, TileCoord, TileType};
use serde_json::{Value, json};
use sqlx::PgPool;

use super::grid::to_mercator;
use super::layers::CLUSTER_FIELDS;
use super::{Bbox, Layer, TileId, TileKey, items, render};
use crate::domain::roles::Audience;
use crate::store::StoreResult;

/// The last zoom an export may reach: past it the map's tiles add no detail (clients overzoom).
pub const MAX_EXPORT_ZOOM: u8 = 16;

/// What an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    /// Tile addresses looked at.
    pub addressed: u64,
    /// Tiles stored (those with something to draw).
    pub tiles: u64,
}

/// The tile of `tile` the anonymous public gets with every layer: each layer's public tile in turn.
pub async fn public_tile(pool: &PgPool, tile: TileId) -> StoreResult<Vec<u8>> {
    let mut out = Vec::new();
    for layer in Layer::ALL {
        let key = TileKey { layer, audience: layer.audience(Audience::Public), tile };
        out.extend_from_slice(&render(pool, &key).await?);
    }
    Ok(out)
}

/// Every tile of zooms 0 to `max_zoom` that meets `extent` (longitude/latitude), in the archive's tile-id
/// order (zoom by zoom, along the Hilbert curve).
pub fn tiles_over(extent: [f64; 4], max_zoom: u8) -> Vec<TileId> {
    let (min_x, min_y) = to_mercator(extent[0], extent[1]);
    let (max_x, max_y) = to_mercator(extent[2], extent[3]);
    let area = Bbox::new(min_x, min_y, max_x, max_y);
    let mut tiles: Vec<(u64, TileId)> = (0..=max_zoom)
        .flat_map(|z| TileId::covering(z, &area))
        .filter_map(|t| Some((u64::from(pmtiles::TileId::from(TileCoord::new(t.z, t.x, t.y).ok()?)), t)))
        .collect();
    tiles.sort_unstable_by_key(|(id, _)| *id);
    tiles.into_iter().map(|(_, t)| t).collect()
}

/// The archive's metadata: its layers with their zooms and public fields, as TileJSON writes them.
fn metadata(max_zoom: u8) -> Value {
    let layers: Vec<Value> = Layer::ALL
        .iter()
        .map(|layer| {
            let mut fields = serde_json::Map::new();
            for p in layer.visible(Audience::Public, true) {
                fields.insert(p.name.into(), Value::String(format!("{} ({})", p.description, p.kind.json_type())));
            }
            if *layer == Layer::Farmhouses {
                for (name, description) in CLUSTER_FIELDS {
                    fields.insert((*name).into(), Value::String((*description).into()));
                }
            }
            let (min, max) = layer.zooms();
            json!({
                "id": layer.name(),
                "description": layer.title(),
                "minzoom": min,
                "maxzoom": max.min(max_zoom),
                "fields": fields,
            })
        })
        .collect();
    json!({
        "name": "farmhouse",
        "description": "The registry's public map: farmhouses, parcels, townships and villages.",
        "format": "pbf",
        "vector_layers": layers,
    })
}

/// Writes the archive of zooms 0 to `max_zoom` to `path`, telling `progress` (done, total) after each tile.
pub async fn write_pmtiles(
    pool: &PgPool,
    path: &Path,
    max_zoom: u8,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<Written> {
    anyhow::ensure!(max_zoom <= MAX_EXPORT_ZOOM, "the last zoom is at most {MAX_EXPORT_ZOOM}, not {max_zoom}");
    let extent = items::extent(pool).await?.context("the registry has no district to export")?;
    let tiles = tiles_over(extent, max_zoom);
    let file = std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut writer = PmTilesWriter::new(TileType::Mvt)
        .min_zoom(0)
        .max_zoom(max_zoom)
        .bounds(extent[0], extent[1], extent[2], extent[3])
        .center(f64::midpoint(extent[0], extent[2]), f64::midpoint(extent[1], extent[3]))
        .center_zoom(max_zoom.min(10))
        .metadata(metadata(max_zoom).to_string())
        .create(std::io::BufWriter::new(file))?;
    let total = tiles.len() as u64;
    let mut written = Written::default();
    for tile in tiles {
        let body = public_tile(pool, tile).await?;
        if !body.is_empty() {
            writer.add_tile(TileCoord::new(tile.z, tile.x, tile.y)?, &body)?;
            written.tiles += 1;
        }
        written.addressed += 1;
        progress(written.addressed, total);
    }
    writer.finalize()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_come_zoom_by_zoom_and_cover_the_extent() {
        let tiles = tiles_over([120.6, 29.8, 121.1, 30.2], 8);
        assert_eq!(tiles.iter().filter(|t| t.z == 0).count(), 1);
        assert!(tiles.windows(2).all(|w| w[0].z <= w[1].z));
        let z8: Vec<&TileId> = tiles.iter().filter(|t| t.z == 8).collect();
        assert!(!z8.is_empty() && z8.len() <= 4, "{z8:?}");
    }
}
