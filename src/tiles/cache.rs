//! The in-memory tile cache: bounded by bytes, emptied tile by tile as records change.
//!
//! A tile is kept under its layer, attribute set ([`Audience`]) and address, with the encodings asked
//! for so far (identity, gzip, br), so a warm request costs a lookup and a copy of a reference.
//!
//! Writes drop exactly the tiles they can alter, at every zoom: [`TileCache::invalidate_bbox`] drops
//! every cached tile of a layer whose extent (with its buffer) meets a Web Mercator box. A request that
//! read the database before a change and finishes after it must not put its old tile back: each request
//! takes a [`Ticket`] before it reads, and [`TileCache::insert`] refuses a tile if a change to that tile was
//! recorded after the ticket was taken.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use super::encoding::Tile;
use super::grid::{Bbox, TileId};
use super::layers::Layer;
use crate::domain::roles::Audience;

/// What a cached tile is kept under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileKey {
    pub layer: Layer,
    pub audience: Audience,
    pub tile: TileId,
}

/// The moment a request started reading; see [`TileCache::insert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket(u64);

/// How many recent changes are remembered to judge late inserts. A request older than that many changes
/// does not cache its tile (it is still served).
const REMEMBERED_CHANGES: usize = 1024;

/// The default budget: enough for every tile of a district at the zooms people look at.
pub const DEFAULT_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone, Copy)]
struct Change {
    generation: u64,
    /// `None`: every layer.
    layer: Option<Layer>,
    bbox: Bbox,
}

impl Change {
    fn alters(&self, key: &TileKey) -> bool {
        self.layer.is_none_or(|l| l == key.layer) && key.tile.touches(&self.bbox)
    }
}

#[derive(Debug, Default)]
struct Changes {
    generation: u64,
    recent: VecDeque<Change>,
}

pub struct TileCache {
    tiles: moka::sync::Cache<TileKey, Arc<Tile>>,
    /// Held while recording a change and while inserting, so the two are ordered.
    changes: Mutex<Changes>,
    /// Whether the change listener is connected (until it is, changes by other processes go unseen).
    listening: tokio::sync::watch::Sender<bool>,
}

impl TileCache {
    /// A cache holding at most about `max_bytes` of tiles (all their encodings counted).
    pub fn new(max_bytes: u64) -> Self {
        let tiles = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_: &TileKey, tile: &Arc<Tile>| tile.weight())
            .support_invalidation_closures()
            .build();
        Self { tiles, changes: Mutex::new(Changes::default()), listening: tokio::sync::watch::Sender::new(false) }
    }

    /// Completes once the change listener is connected (at once if it is).
    pub async fn listening(&self) {
        let mut rx = self.listening.subscribe();
        let _ = rx.wait_for(|connected| *connected).await;
    }

    /// The listener says whether it is connected.
    pub(crate) fn set_listening(&self, connected: bool) {
        self.listening.send_replace(connected);
    }

    /// Take before reading the database for a tile; give to [`TileCache::insert`].
    pub fn ticket(&self) -> Ticket {
        Ticket(self.lock().generation)
    }

    pub fn get(&self, key: &TileKey) -> Option<Arc<Tile>> {
        self.tiles.get(key)
    }

    /// Keeps `tile` unless a change recorded since `ticket` may have altered it. Returns whether it was
    /// kept.
    pub fn insert(&self, ticket: Ticket, key: TileKey, tile: Arc<Tile>) -> bool {
        let changes = self.lock();
        if changes.generation != ticket.0 {
            let oldest_known = changes.recent.front().map_or(u64::MAX, |c| c.generation);
            let forgotten = oldest_known > ticket.0 + 1;
            if forgotten || changes.recent.iter().rev().take_while(|c| c.generation > ticket.0).any(|c| c.alters(&key))
            {
                return false;
            }
        }
        self.tiles.insert(key, tile);
        true
    }

    /// Drops every cached tile of `layer`, at every zoom and for every audience, that a change inside
    /// `bbox` (Web Mercator metres) can alter. Call it after the change is committed.
    pub fn invalidate_bbox(&self, layer: Layer, bbox: Bbox) {
        self.record(Some(layer), bbox);
    }

    /// [`TileCache::invalidate_bbox`] for a longitude/latitude box (EPSG:4326 degrees).
    pub fn invalidate_lonlat(&self, layer: Layer, min_lon: f64, min_lat: f64, max_lon: f64, max_lat: f64) {
        self.record(Some(layer), Bbox::from_lonlat(min_lon, min_lat, max_lon, max_lat));
    }

    /// Drops every tile of `layer`.
    pub fn invalidate_layer(&self, layer: Layer) {
        self.record(Some(layer), Bbox::WORLD);
    }

    /// Drops everything: for when changes may have been missed (the notification connection was lost).
    pub fn invalidate_all(&self) {
        self.record(None, Bbox::WORLD);
    }

    /// Tiles held and their bytes (after pending maintenance).
    pub fn usage(&self) -> (u64, u64) {
        self.tiles.run_pending_tasks();
        (self.tiles.entry_count(), self.tiles.weighted_size())
    }

    fn record(&self, layer: Option<Layer>, bbox: Bbox) {
        let mut changes = self.lock();
        changes.generation += 1;
        let change = Change { generation: changes.generation, layer, bbox };
        changes.recent.push_back(change);
        if changes.recent.len() > REMEMBERED_CHANGES {
            changes.recent.pop_front();
        }
        if layer.is_none() {
            self.tiles.invalidate_all();
        } else if let Err(e) = self.tiles.invalidate_entries_if(move |key, _| change.alters(key)) {
            // Cannot happen: the cache is built with invalidation closures.
            tracing::error!(error = %e, "tile cache cannot invalidate by predicate; dropping everything");
            self.tiles.invalidate_all();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Changes> {
        self.changes.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tiles::grid::to_mercator;

    fn key(z: u8, lon: f64, lat: f64) -> TileKey {
        let (x, y) = to_mercator(lon, lat);
        TileKey { layer: Layer::Farmhouses, audience: Audience::Public, tile: TileId::containing(z, x, y) }
    }

    fn tile() -> Arc<Tile> {
        Arc::new(Tile::new(bytes::Bytes::from_static(b"tile")))
    }

    fn around(lon: f64, lat: f64) -> Bbox {
        Bbox::from_lonlat(lon - 0.0001, lat - 0.0001, lon + 0.0001, lat + 0.0001)
    }

    #[test]
    fn a_change_drops_the_tiles_under_it_at_every_zoom_and_no_others() {
        let cache = TileCache::new(1 << 20);
        let here = (120.90, 30.00);
        let there = (120.70, 29.80);
        for z in [5, 11, 15, 22] {
            assert!(cache.insert(cache.ticket(), key(z, here.0, here.1), tile()));
            assert!(cache.insert(cache.ticket(), key(z, there.0, there.1), tile()));
        }
        cache.invalidate_bbox(Layer::Farmhouses, around(here.0, here.1));
        for z in [5, 11, 15, 22] {
            if z > 5 {
                assert!(cache.get(&key(z, here.0, here.1)).is_none(), "z{z} tile under the change");
                assert!(cache.get(&key(z, there.0, there.1)).is_some(), "z{z} tile elsewhere");
            } else {
                assert!(cache.get(&key(z, here.0, here.1)).is_none(), "z5 tile covers both");
            }
        }
    }

    #[test]
    fn a_change_to_another_layer_keeps_the_tile() {
        let cache = TileCache::new(1 << 20);
        cache.insert(cache.ticket(), key(15, 120.9, 30.0), tile());
        cache.invalidate_bbox(Layer::Parcels, around(120.9, 30.0));
        assert!(cache.get(&key(15, 120.9, 30.0)).is_some());
    }

    #[test]
    fn a_tile_read_before_a_change_to_it_is_not_kept() {
        let cache = TileCache::new(1 << 20);
        let ticket = cache.ticket();
        cache.invalidate_bbox(Layer::Farmhouses, around(120.9, 30.0));
        assert!(!cache.insert(ticket, key(15, 120.9, 30.0), tile()), "the old tile would be stale");
        assert!(cache.insert(ticket, key(15, 120.7, 29.8), tile()), "a change elsewhere does not matter");
        assert!(cache.insert(cache.ticket(), key(15, 120.9, 30.0), tile()), "a tile read after the change is kept");
    }

    #[test]
    fn a_tile_older_than_the_remembered_changes_is_not_kept() {
        let cache = TileCache::new(1 << 20);
        let ticket = cache.ticket();
        for _ in 0..=REMEMBERED_CHANGES {
            cache.invalidate_bbox(Layer::Parcels, around(0.0, 0.0));
        }
        assert!(!cache.insert(ticket, key(15, 120.9, 30.0), tile()));
    }

    #[test]
    fn the_cache_keeps_to_its_byte_budget() {
        let cache = TileCache::new(64 * 1024);
        let big = Arc::new(Tile::new(bytes::Bytes::from(vec![7u8; 10 * 1024])));
        for x in 0..50 {
            let k = TileKey { layer: Layer::Parcels, audience: Audience::Public, tile: TileId { z: 16, x, y: 0 } };
            cache.insert(cache.ticket(), k, big.clone());
        }
        let (_, bytes) = cache.usage();
        assert!(bytes <= 64 * 1024, "{bytes} bytes held");
    }
}
