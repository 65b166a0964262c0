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
//!
//! # Tiles read from a standby
//! A streaming-replication standby ([`crate::store::standbys`]) shows a change only once it has replayed
//! the WAL that holds its commit, a moment after the primary committed and the change was recorded here.
//! A tile rendered from a standby in that moment is stale although its ticket is newer than the change,
//! and nothing would drop it again: the change was recorded already. So every change is stamped with
//! the primary's WAL position at the time it was recorded, and [`TileCache::insert_replayed`] keeps a
//! standby's tile only when the standby had replayed every change known here that alters the tile.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use super::encoding::Tile;
use super::grid::{Bbox, TileId};
use super::layers::Layer;
use crate::domain::roles::Audience;
use crate::store::standbys::Lsn;

/// What a cached tile is kept under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileKey {
    pub layer: Layer,
    pub audience: Audience,
    pub tile: TileId,
}

/// What the cache holds a tile under: its key and, for a tile drawn under a filter, the filter's normal
/// form ([`super::cql::Where::key`]). A change drops a tile under every filter alike.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Entry {
    key: TileKey,
    filter: Option<Arc<str>>,
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
    /// The newest primary WAL position the cache had been told of when the change was recorded: the
    /// change is committed at or before it.
    wal: Lsn,
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
    /// The newest primary WAL position the cache was told of ([`TileCache::primary_reached`]).
    primary_wal: Lsn,
    /// The newest position among the changes no longer remembered.
    forgotten_wal: Lsn,
}

impl Changes {
    /// Whether a change recorded after `ticket` may have altered `key` (or such a change is forgotten).
    fn altered_since(&self, ticket: Ticket, key: &TileKey) -> bool {
        if self.generation == ticket.0 {
            return false;
        }
        let oldest_known = self.recent.front().map_or(u64::MAX, |c| c.generation);
        let forgotten = oldest_known > ticket.0 + 1;
        forgotten || self.recent.iter().rev().take_while(|c| c.generation > ticket.0).any(|c| c.alters(key))
    }

    /// Whether a server that replayed the primary's WAL up to `replayed` shows every change known here
    /// that alters `key`, forgotten ones included.
    fn replayed_all(&self, replayed: Lsn, key: &TileKey) -> bool {
        self.forgotten_wal <= replayed && !self.recent.iter().any(|c| c.wal > replayed && c.alters(key))
    }
}

pub struct TileCache {
    tiles: moka::sync::Cache<Entry, Arc<Tile>>,
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
            .weigher(|e: &Entry, tile: &Arc<Tile>| {
                tile.weight().saturating_add(e.filter.as_ref().map_or(0, |f| f.len() as u32))
            })
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

    /// The cached tile of `key`, counted as a hit or a miss for `/metrics`.
    pub fn get(&self, key: &TileKey) -> Option<Arc<Tile>> {
        self.get_filtered(key, None)
    }

    /// The cached tile of `key` drawn under `filter` (a normal form), counted as [`TileCache::get`] does.
    pub fn get_filtered(&self, key: &TileKey, filter: Option<&Arc<str>>) -> Option<Arc<Tile>> {
        let tile = self.tiles.get(&Entry { key: *key, filter: filter.cloned() });
        if tile.is_some() {
            metrics::counter!("farmhouse_tile_cache_hits_total").increment(1);
        } else {
            metrics::counter!("farmhouse_tile_cache_misses_total").increment(1);
        }
        tile
    }

    /// Keeps `tile`, read from the primary, unless a change recorded since `ticket` may have altered it.
    /// Returns whether it was kept.
    pub fn insert(&self, ticket: Ticket, key: TileKey, tile: Arc<Tile>) -> bool {
        self.insert_filtered(ticket, key, None, tile, None)
    }

    /// [`TileCache::insert`] (with `replayed`: [`TileCache::insert_replayed`]) of a tile drawn under
    /// `filter` (a normal form; `None`: unfiltered).
    pub fn insert_filtered(
        &self,
        ticket: Ticket,
        key: TileKey,
        filter: Option<Arc<str>>,
        tile: Arc<Tile>,
        replayed: Option<Lsn>,
    ) -> bool {
        let changes = self.lock();
        if changes.altered_since(ticket, &key) || replayed.is_some_and(|r| !changes.replayed_all(r, &key)) {
            return false;
        }
        self.tiles.insert(Entry { key, filter }, tile);
        true
    }

    /// Keeps `tile`, read from a standby that had replayed the primary's WAL up to `replayed` before
    /// the read began, unless a change since `ticket` may have altered it, or the standby had not yet
    /// replayed a change known here that alters it. Returns whether it was kept.
    ///
    /// Why: the primary commits a change, then it is recorded here (dropping the cached tiles it alters),
    /// and only then does a lagging standby replay it. A tile rendered from the standby in between is
    /// stale although it was read after the change was recorded, so the ticket cannot tell; the WAL
    /// positions can. Every change carries the primary's position at recording time, which is at or past
    /// its commit ([`TileCache::primary_reached`]), and a standby shows every commit up to the position
    /// it had replayed. A tile refused here is still served; the next request renders it again, and it
    /// is kept once the standby has caught up.
    pub fn insert_replayed(&self, ticket: Ticket, key: TileKey, tile: Arc<Tile>, replayed: Lsn) -> bool {
        self.insert_filtered(ticket, key, None, tile, Some(replayed))
    }

    /// Tells the cache the primary's WAL has reached `wal` (`pg_current_wal_insert_lsn()` read after a
    /// commit). Changes recorded from now on are stamped with the newest position told, so a writer
    /// whose tiles may be read from standbys calls this after its commit and before it drops its tiles.
    /// (One that does not leaves its change stamped too early for a moment: the database's notification
    /// of the same change is stamped by the listener and drops any tile cached meanwhile.)
    pub fn primary_reached(&self, wal: Lsn) {
        let mut changes = self.lock();
        changes.primary_wal = changes.primary_wal.max(wal);
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
        let change = Change { generation: changes.generation, layer, bbox, wal: changes.primary_wal };
        changes.recent.push_back(change);
        if changes.recent.len() > REMEMBERED_CHANGES
            && let Some(gone) = changes.recent.pop_front()
        {
            changes.forgotten_wal = changes.forgotten_wal.max(gone.wal);
        }
        if layer.is_none() {
            self.tiles.invalidate_all();
        } else if let Err(e) = self.tiles.invalidate_entries_if(move |entry, _| change.alters(&entry.key)) {
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
    use crate::map::grid::to_mercator;

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
    fn a_standby_tile_is_kept_only_once_the_standby_shows_every_change_to_it() {
        let cache = TileCache::new(1 << 20);
        cache.primary_reached(Lsn(1000));
        cache.invalidate_bbox(Layer::Farmhouses, around(120.9, 30.0));
        let ticket = cache.ticket();
        let (here, there) = (key(15, 120.9, 30.0), key(15, 120.7, 29.8));
        assert!(!cache.insert_replayed(ticket, here, tile(), Lsn(999)), "the standby has not replayed the change");
        assert!(cache.get(&here).is_none());
        assert!(cache.insert_replayed(ticket, there, tile(), Lsn(999)), "the change is elsewhere");
        assert!(cache.insert_replayed(ticket, here, tile(), Lsn(1000)), "the standby has replayed the change");
        assert!(cache.insert(ticket, here, tile()), "the primary is always current");
    }

    #[test]
    fn a_standby_tile_is_judged_against_forgotten_changes_too() {
        let cache = TileCache::new(1 << 20);
        cache.primary_reached(Lsn(500));
        for _ in 0..=REMEMBERED_CHANGES {
            cache.invalidate_bbox(Layer::Parcels, around(0.0, 0.0));
        }
        let ticket = cache.ticket();
        assert!(!cache.insert_replayed(ticket, key(15, 120.9, 30.0), tile(), Lsn(499)));
        assert!(cache.insert_replayed(ticket, key(15, 120.9, 30.0), tile(), Lsn(500)));
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
