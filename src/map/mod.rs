//! The map's data: Mapbox Vector Tiles built in PostGIS, the in-memory tile cache and how it learns of
//! changes, and the OGC API – Features queries over the same layers.
//!
//! # Tiles
//! Each tile is one prepared statement (`ST_TileEnvelope` → index search on the stored Web Mercator
//! geometry → `ST_AsMVTGeom` → `ST_AsMVT`, feature ids set). What a layer draws depends on the zoom
//! ([`layers::Band`]): townships with their activation figures at every zoom; houses as clusters of a
//! fixed grid kept by triggers (`farmhouse_clusters`) at zooms 11–14 and as footprints from 15; parcels
//! from 15; villages from 10.
//!
//! # Keeping tiles fresh: the contract for writers
//! Cached tiles are dropped by the changes that alter them, never all at once on every edit:
//! - **In this process** (the JSON API's write handlers): right after the transaction commits, call
//!   [`TileCache::invalidate_bbox`] (or [`TileCache::invalidate_lonlat`]) on `AppState::tiles` with the
//!   box of the old and of the new geometry, for each layer the record shows in: a house →
//!   `Farmhouses` and `Townships` (its township's figures; the township's box); a parcel → `Parcels` and
//!   `Farmhouses`; a township → `Townships`; a village → `Villages`; a listing, photo or transaction → its
//!   house's box in `Farmhouses` (and a transaction or certification → `Townships`). The next request for
//!   an affected tile then reads the new data.
//! - **From any process** (CLI imports, seeding, psql): triggers on those tables send the same boxes on
//!   channel `map_tiles` at commit (`migrations/0108_map.sql`); [`listener`] applies them within
//!   moments. In-process writers get this too, so a forgotten call costs freshness for milliseconds, not
//!   correctness for ever.
//! - **With standbys** (`serve --read-database-url`): tiles may be rendered from a standby that has not
//!   replayed a change yet. Before dropping its tiles a writer tells the cache the primary's WAL position
//!   ([`TileCache::primary_reached`]; `AppState::changed_house` does), and the listener does the same for
//!   what it hears; a tile read from a standby is kept only if the standby had replayed every change
//!   to it ([`TileCache::insert_replayed`]).

pub mod archive;
pub mod cache;
pub mod cql;
pub mod encoding;
pub mod filtered;
pub mod footprints;
pub mod grid;
pub mod items;
pub mod layers;
pub mod listener;
pub mod output_crs;
pub mod sort;
pub mod stats;
pub mod view;

use crate::store::StoreResult;
use bytes::Bytes;
use sqlx::{PgExecutor, PgPool};

pub use cache::{TileCache, TileKey};
pub use grid::{Bbox, TileId};
pub use layers::{Band, Layer};

/// Builds the MVT of `key` from the database (empty when nothing is there, or the layer draws nothing at
/// that zoom).
pub async fn render(db: impl PgExecutor<'_>, key: &TileKey) -> StoreResult<Bytes> {
    let band = key.layer.band(key.tile.z);
    if (key.layer, band, key.audience) == (Layer::Farmhouses, Band::Features, crate::domain::roles::Audience::Public) {
        return footprints::render(db, key.tile).await;
    }
    let Some(sql) = key.layer.tile_sql(band, key.audience) else {
        return Ok(Bytes::new());
    };
    let mvt: Vec<u8> = sqlx::query_scalar(sql)
        .bind(i32::from(key.tile.z))
        .bind(key.tile.x as i32)
        .bind(key.tile.y as i32)
        .fetch_one(db)
        .await?;
    Ok(Bytes::from(mvt))
}

/// Opens up to `connections` connections of `pool` and prepares the public tile statements on each, by
/// building an empty tile of every layer and band. A new connection's first tile otherwise pays for
/// connecting, for PostgreSQL loading PostGIS and the tables' catalog entries, and for planning: several
/// times what a tile costs. Call it at start; the pool keeps the connections (its `min_connections`). A
/// database that does not answer is left alone: requests report it.
pub async fn warm(pool: &PgPool, connections: u32) {
    let opened = futures_util::future::join_all((0..connections).map(|_| pool.acquire())).await;
    let mut ready = 0;
    let mut failed = None;
    for conn in opened {
        let mut conn = match conn {
            Ok(c) => c,
            Err(e) => {
                failed = Some(e);
                continue;
            }
        };
        // Zoom 22, column and row 0: far from any district, so every statement runs and finds nothing.
        for (layer, z) in [
            (Layer::Farmhouses, 22),
            (Layer::Farmhouses, *layers::DRAWN_CLUSTER_ZOOMS.start()),
            (Layer::Farmhouses, *layers::CLUSTER_ZOOMS.start()),
            (Layer::Parcels, 22),
            (Layer::Townships, 22),
            (Layer::Villages, 22),
        ] {
            let key =
                TileKey { layer, audience: crate::domain::roles::Audience::Public, tile: TileId { z, x: 0, y: 0 } };
            if let Err(e) = render(&mut *conn, &key).await {
                tracing::warn!(error = %e, "cannot prepare the tile statements at start");
                break;
            }
        }
        ready += 1;
    }
    // One warning for the server, not one per connection it refused.
    if let Some(e) = failed {
        tracing::warn!(error = %e, opened = ready, wanted = connections, "cannot open database connections at start");
    }
    tracing::debug!(connections = ready, "database connections ready for tiles");
}
