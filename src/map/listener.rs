//! Listens for the database's `map_tiles` notifications (`migrations/0108_map.sql`) and drops the
//! tiles they name, so writes by other processes (imports, seeding, another service) reach the map too.

use crate::store::StoreResult;
use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;

use super::cache::TileCache;
use super::grid::Bbox;
use super::layers::Layer;
use crate::store::standbys::primary_position;

/// The channel the triggers notify on.
pub const CHANNEL: &str = "map_tiles";

/// Starts the listener on the current Tokio runtime. It holds the cache weakly and stops when the cache
/// is gone. While it is not connected (at start, after the connection drops) nothing can tell it of
/// changes, so each time it (re)connects it drops the whole cache.
///
/// With `standbys` (tiles are also read from streaming-replication standbys), it tells the cache the
/// primary's WAL position before it applies what it heard, so the changes are stamped with a position
/// at or past their commits (see [`TileCache::insert_replayed`]).
pub fn spawn(pool: PgPool, cache: &Arc<TileCache>, standbys: bool) {
    let cache = Arc::downgrade(cache);
    tokio::spawn(async move { listen(pool, cache, standbys).await });
}

async fn listen(pool: PgPool, cache: Weak<TileCache>, standbys: bool) {
    let mut pause = Duration::from_millis(200);
    loop {
        let mut listener = match connect(&pool, &cache, standbys).await {
            Ok(l) => l,
            Err(e) => {
                if cache.strong_count() == 0 {
                    return;
                }
                tracing::debug!(error = %e, "tile invalidation: cannot listen yet");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        pause = Duration::from_millis(200);
        match cache.upgrade() {
            Some(c) => {
                c.invalidate_all();
                c.set_listening(true);
            }
            None => return,
        }
        loop {
            // On Ok(None) or Err the connection dropped; notifications sent meanwhile are lost.
            let Ok(Some(heard)) = listener.try_recv().await else { break };
            let mut payloads = vec![heard.payload().to_owned()];
            while let Some(n) = listener.next_buffered() {
                payloads.push(n.payload().to_owned());
            }
            // Read after the notifications arrived, so after the commits that sent them.
            let position = if standbys { Some(primary_position(&mut listener).await) } else { None };
            let Some(cache) = cache.upgrade() else { return };
            if let Some(Ok(wal)) = position {
                cache.primary_reached(wal);
            }
            for payload in &payloads {
                apply(&cache, payload);
            }
            if let Some(Err(e)) = position {
                // The connection is likely gone; reconnecting drops every tile, standbys' included.
                tracing::warn!(error = %e, "tile invalidation: cannot read the primary's WAL position");
                break;
            }
        }
        // The service is shutting down: the pool was closed on purpose.
        if pool.is_closed() {
            return;
        }
        tracing::warn!("tile invalidation: lost the notification connection; reconnecting");
        if let Some(c) = cache.upgrade() {
            c.set_listening(false);
        }
    }
}

async fn connect(pool: &PgPool, cache: &Weak<TileCache>, standbys: bool) -> StoreResult<PgListener> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    if standbys {
        let wal = primary_position(&mut listener).await?;
        if let Some(c) = cache.upgrade() {
            c.primary_reached(wal);
        }
    }
    Ok(listener)
}

/// Applies one notification: `layer *` or `layer x0,y0,x1,y1;x0,y0,x1,y1…`. Anything unreadable drops
/// the layer (or, with an unknown layer, everything): a tile too many is rebuilt, a stale one would stay.
pub fn apply(cache: &TileCache, payload: &str) {
    let (name, boxes) = payload.split_once(' ').unwrap_or((payload, "*"));
    let Some(layer) = Layer::from_name(name) else {
        tracing::warn!(payload, "tile invalidation: unknown layer; dropping every tile");
        cache.invalidate_all();
        return;
    };
    if boxes.trim() == "*" {
        cache.invalidate_layer(layer);
        return;
    }
    for text in boxes.split(';') {
        if let Some(bbox) = Bbox::parse(text) {
            cache.invalidate_bbox(layer, bbox);
        } else {
            tracing::warn!(payload, "tile invalidation: unreadable box; dropping the layer");
            cache.invalidate_layer(layer);
            return;
        }
    }
}
