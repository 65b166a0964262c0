//! Read scaling: PostgreSQL streaming-replication standbys that answer the map's reads — vector tiles,
//! OGC API – Features and the stats summary — while every write, every login, session and token lookup,
//! and every other read stays on the primary.
//!
//! Reads take the standbys in turn, each through a small pool of its own. A standby that cannot give a
//! connection (stopped, unreachable, refusing) rests for [`REST`]: the read that found it so, and the
//! reads meanwhile, are served by the primary (or the other standbys), so losing a standby costs
//! capacity and a warning in the log, never an error answer.
//!
//! A standby lags the primary by the time it takes to ship and replay the WAL (milliseconds on a healthy
//! network). What is read from it may therefore be a moment old; the tile cache must not keep such a
//! tile past the change that made it stale, so a read tells how far its standby had replayed
//! ([`Read::replayed`]; see [`crate::map::TileCache::insert_replayed`]).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use sqlx::pool::PoolConnection;
use sqlx::{PgExecutor, PgPool, Postgres};

use super::{PoolConfig, StoreResult, redact};

/// How long a standby that failed to give a connection is left out of the rotation.
pub const REST: Duration = Duration::from_secs(5);

/// Most connections held to each standby.
pub const CONNECTIONS_PER_STANDBY: u32 = 8;

/// How long a read waits for a standby's connection before it goes to the primary instead. Short: a
/// stopped standby keeps refusing until then.
const STANDBY_ACQUIRE_TIMEOUT: Duration = Duration::from_millis(500);

/// A position in the primary's write-ahead log, as bytes from its start (a `pg_lsn` as a number).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lsn(pub u64);

impl std::fmt::Display for Lsn {
    /// PostgreSQL's own notation, e.g. `0/3000148`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xffff_ffff)
    }
}

/// How far the primary has written its WAL: read after a commit, at least the end of that commit.
///
/// It is the insert position, not the write or flush position, so a commit made with
/// `synchronous_commit` off is covered too. When the last record ended on a page boundary, PostgreSQL
/// reports the insert position past the next page's header (24 bytes, or 40 at the start of a segment),
/// while a standby that replayed that record reports the boundary itself; the header is taken off here
/// so the two compare, or an idle primary would look ahead of a standby that has caught up.
pub async fn primary_position(db: impl PgExecutor<'_>) -> StoreResult<Lsn> {
    let n: i64 = sqlx::query_scalar(
        "select p - case when p % segment = 40 then 40 when p % block = 24 then 24 else 0 end
         from (select pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::int8 as p,
                      current_setting('wal_block_size')::int8 as block,
                      (select setting::int8 from pg_settings where name = 'wal_segment_size') as segment) s",
    )
    .fetch_one(db)
    .await?;
    Ok(Lsn(n as u64))
}

/// How far a standby has replayed the primary's WAL: every transaction committed up to there is visible
/// to the statements that follow on the same connection. A server that is not in recovery (a primary
/// given as a standby by mistake, or a promoted one) answers 0: its data cannot be placed on the
/// primary's WAL.
pub async fn replayed_position(db: impl PgExecutor<'_>) -> StoreResult<Lsn> {
    let n: i64 = sqlx::query_scalar("select coalesce(pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0'), 0)::int8")
        .fetch_one(db)
        .await?;
    Ok(Lsn(n as u64))
}

/// Where a read is served from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Primary,
    /// The standby of this index in [`ReadPools::standbys`].
    Standby(usize),
}

/// The primary and the standbys that share its reads.
pub struct ReadPools {
    primary: PgPool,
    standbys: Vec<Standby>,
    turn: AtomicUsize,
}

/// One standby and its pool.
pub struct Standby {
    /// Its URL without the password, for logs and `/health`.
    pub name: String,
    pub pool: PgPool,
    /// Until when reads leave it alone, after it failed to give a connection.
    resting_until: Mutex<Option<Instant>>,
}

/// A connection to read from, and where it leads.
pub struct Read {
    pub conn: PoolConnection<Postgres>,
    pub source: Source,
}

impl Read {
    /// How far the server of this read has replayed the primary's WAL: `None` on the primary, which is
    /// always current. Ask before reading what must be placed on the WAL, on this same connection.
    pub async fn replayed(&mut self) -> StoreResult<Option<Lsn>> {
        match self.source {
            Source::Primary => Ok(None),
            Source::Standby(_) => Ok(Some(replayed_position(&mut *self.conn).await?)),
        }
    }
}

impl ReadPools {
    /// Every read on the primary.
    pub fn primary_only(primary: PgPool) -> Self {
        Self { primary, standbys: Vec::new(), turn: AtomicUsize::new(0) }
    }

    /// Reads shared by the standbys at `urls`, each with a pool of [`CONNECTIONS_PER_STANDBY`] opened
    /// when first needed (so the service starts while a standby is down). `config` is the primary's:
    /// the same role and statement timeout apply.
    pub fn new(primary: PgPool, urls: &[String], config: &PoolConfig) -> Result<Self> {
        let config = PoolConfig {
            max_connections: CONNECTIONS_PER_STANDBY,
            acquire_timeout: STANDBY_ACQUIRE_TIMEOUT,
            ..config.clone()
        };
        let standbys = urls
            .iter()
            .map(|url| {
                Ok(Standby { name: redact(url), pool: super::pool(url, &config)?, resting_until: Mutex::new(None) })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { primary, standbys, turn: AtomicUsize::new(0) })
    }

    pub fn primary(&self) -> &PgPool {
        &self.primary
    }

    pub fn standbys(&self) -> &[Standby] {
        &self.standbys
    }

    pub fn has_standbys(&self) -> bool {
        !self.standbys.is_empty()
    }

    /// A connection for a read: from the next standby in turn that is not resting, or from the primary
    /// when there is none or it cannot give one (it then rests for [`REST`]).
    pub async fn acquire(&self) -> StoreResult<Read> {
        if let Some((index, standby)) = self.next_standby() {
            match standby.pool.acquire().await {
                Ok(conn) => return Ok(Read { conn, source: Source::Standby(index) }),
                Err(e) => {
                    tracing::warn!(standby = %standby.name, error = %e,
                        "standby unavailable: this read goes to the primary, and so do its reads for {} s", REST.as_secs());
                    standby.rest();
                }
            }
        }
        let conn = self.primary.acquire().await?;
        Ok(Read { conn, source: Source::Primary })
    }

    fn next_standby(&self) -> Option<(usize, &Standby)> {
        let n = self.standbys.len();
        if n == 0 {
            return None;
        }
        let start = self.turn.fetch_add(1, Ordering::Relaxed);
        (0..n).map(|i| (start + i) % n).map(|i| (i, &self.standbys[i])).find(|(_, s)| !s.is_resting())
    }

    /// Closes every pool.
    pub async fn close(&self) {
        for s in &self.standbys {
            s.pool.close().await;
        }
    }
}

impl Standby {
    /// Whether reads leave it alone at the moment.
    pub fn is_resting(&self) -> bool {
        let mut until = self.resting_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match *until {
            Some(t) if Instant::now() < t => true,
            Some(_) => {
                *until = None;
                false
            }
            None => false,
        }
    }

    /// Leaves it out of the rotation for [`REST`].
    pub fn rest(&self) {
        *self.resting_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now() + REST);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lazy(url: &str) -> PgPool {
        super::super::pool(url, &PoolConfig::default()).unwrap()
    }

    #[tokio::test]
    async fn reads_take_the_standbys_in_turn_and_skip_a_resting_one() {
        let urls: Vec<String> = (1..=3).map(|p| format!("postgres://u:secret@127.0.0.1:{p}/db")).collect();
        let reads = ReadPools::new(lazy("postgres://127.0.0.1:9/db"), &urls, &PoolConfig::default()).unwrap();
        assert_eq!(reads.standbys()[0].name, "postgres://u:***@127.0.0.1:1/db", "passwords stay out of logs");
        let order: Vec<usize> = (0..4).map(|_| reads.next_standby().unwrap().0).collect();
        assert_eq!(order, [0, 1, 2, 0]);
        reads.standbys[1].rest();
        let order: Vec<usize> = (0..6).map(|_| reads.next_standby().unwrap().0).collect();
        assert!(!order.contains(&1) && order.contains(&0) && order.contains(&2), "{order:?}");
        assert!(ReadPools::primary_only(lazy("postgres://127.0.0.1:9/db")).next_standby().is_none());
    }

    #[test]
    fn a_position_prints_as_postgresql_writes_it() {
        assert_eq!(Lsn(0x1_0300_0148).to_string(), "1/3000148");
    }
}
