//! Listens for the database's `map_tiles` notifications (`migrations/0032_map_notify.sql`) and drops the
//! tiles they name, so writes by other processes (imports, seeding, another service) reach the map too.

use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;

use super::cache::TileCache;
use super::grid::Bbox;
use super::layers::Layer;

/// The channel the triggers notify on.
pub const CHANNEL: &str = "map_tiles";

/// Starts the listener on the current Tokio runtime. It holds the cache weakly and stops when the cache
/// is gone. While it is not connected (at start, after the connection drops) nothing can tell it of
/// changes, so each time it (re)connects it drops the whole cache.
pub fn spawn(pool: PgPool, cache: &Arc<TileCache>) {
    let cache = Arc::downgrade(cache);
    tokio::spawn(async move { listen(pool, cache).await });
}

async fn listen(pool: PgPool, cache: Weak<TileCache>) {
    let mut pause = Duration::from_millis(200);
    loop {
        let mut listener = match connect(&pool).await {
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
            match listener.try_recv().await {
                Ok(Some(n)) => {
                    let Some(cache) = cache.upgrade() else { return };
                    apply(&cache, n.payload());
                }
                // The connection dropped; notifications sent meanwhile are lost.
                Ok(None) | Err(_) => {
                    // The service is shutting down: the pool was closed on purpose.
                    if pool.is_closed() {
                        return;
                    }
                    tracing::warn!("tile invalidation: lost the notification connection; reconnecting");
                    if let Some(c) = cache.upgrade() {
                        c.set_listening(false);
                    }
                    break;
                }
            }
        }
    }
}

async fn connect(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
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
        match Bbox::parse(text) {
            Some(bbox) => cache.invalidate_bbox(layer, bbox),
            None => {
                tracing::warn!(payload, "tile invalidation: unreadable box; dropping the layer");
                cache.invalidate_layer(layer);
                return;
            }
        }
    }
}
