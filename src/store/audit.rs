//! Verifying the hash chains of the history (docs/DESIGN.md §2.7). The hashes are recomputed here, in
//! Rust, from each entry's content — not by the database function that made them — so a changed function
//! cannot hide a changed entry.
//!
//! The history is one chain per county (`history.chain`, the county code; '000000' for entries of no
//! county) after the legacy chain '' of the entries written before chains per county. The legacy chain
//! is walked first and must end at the entry `history_anchor` names; each county chain then starts from
//! that entry's hash, numbered from 1. Every entry's hash is that of its content and the hash before it,
//! legacy or not (the chain key is not part of it: an entry moved to another chain breaks the links of
//! both).

use super::StoreResult;
use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::{FromRow, PgPool};

/// The first place a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// The chain at fault: a county code, or '' for the legacy chain.
    pub chain: String,
    /// The entry at fault.
    pub seq: i64,
    pub reason: String,
}

impl Break {
    /// "the legacy chain" or "chain 330604", as messages name it.
    pub fn chain_name(&self) -> String {
        chain_name(&self.chain)
    }
}

/// One chain found intact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// A county code, or '' for the legacy chain.
    pub chain: String,
    pub entries: u64,
}

/// "the legacy chain" for '', "chain <code>" otherwise.
pub fn chain_name(chain: &str) -> String {
    if chain.is_empty() { "the legacy chain".to_string() } else { format!("chain {chain}") }
}

#[derive(FromRow)]
struct Row {
    chain: String,
    seq: i64,
    at: String,
    actor: String,
    table_name: String,
    record_id: i64,
    action: String,
    before: Option<String>,
    after: Option<String>,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
}

const COLUMNS: &str = "seq, to_char(at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') as at, actor, \
                       table_name, record_id, action, before::text as before, after::text as after, prev_hash, hash";

/// Where the county chains start: the legacy chain's last entry (seq 0 and no hash if there was none).
struct Anchor {
    seq: i64,
    hash: Vec<u8>,
}

/// The walk of one chain: the entry expected next.
struct Walk {
    chain: String,
    next_seq: i64,
    prev_hash: Vec<u8>,
    entries: u64,
}

impl Walk {
    fn new(chain: String, anchor: &Anchor) -> Self {
        // The legacy chain starts from nothing; a county chain from the legacy chain's last entry.
        let prev_hash = if chain.is_empty() { Vec::new() } else { anchor.hash.clone() };
        Self { chain, next_seq: 1, prev_hash, entries: 0 }
    }

    fn fail(&self, seq: i64, reason: String) -> Break {
        Break { chain: self.chain.clone(), seq, reason }
    }

    /// Checks `row` as the next entry and moves on past it.
    fn step(&mut self, row: Row) -> Result<(), Break> {
        let describe = format!(
            "entry {} of {} ({} {} {} at {})",
            row.seq,
            chain_name(&self.chain),
            row.table_name,
            row.record_id,
            row.action,
            row.at
        );
        if row.seq != self.next_seq {
            let expected = self.next_seq;
            let missing = if row.seq < expected {
                format!("entry {} appears twice or out of order", row.seq)
            } else if row.seq - expected == 1 {
                format!("entry {expected} was removed")
            } else {
                format!("entries {expected}..{} were removed", row.seq - 1)
            };
            return Err(self.fail(expected, format!("{missing}: the chain jumps to {describe}")));
        }
        if row.prev_hash != self.prev_hash {
            let previous = row.seq - 1;
            let reason = if previous == 0 && self.chain.is_empty() {
                format!("{describe} does not start the chain")
            } else if previous == 0 {
                format!(
                    "the legacy chain's last entry was altered or replaced: {describe} does not link to the \
                     entry the county chains start from"
                )
            } else {
                format!("entry {previous} was altered or replaced: {describe} does not link to it")
            };
            return Err(self.fail(previous, reason));
        }
        let fields = [
            row.seq.to_string(),
            row.at.clone(),
            row.actor.clone(),
            row.table_name.clone(),
            row.record_id.to_string(),
            row.action.clone(),
            row.before.clone().unwrap_or_else(|| "null".into()),
            row.after.clone().unwrap_or_else(|| "null".into()),
        ];
        let mut digest = Sha256::new();
        digest.update(&row.prev_hash);
        digest.update(fields.join("\u{1f}").as_bytes());
        if digest.finalize().as_slice() != row.hash.as_slice() {
            return Err(self.fail(row.seq, format!("{describe} was altered: its content does not match its hash")));
        }
        self.next_seq = row.seq + 1;
        self.prev_hash = row.hash;
        self.entries += 1;
        Ok(())
    }
}

/// Walks every chain from its first entry: the legacy chain, then each county's in the order of the codes.
/// `Ok(chains)`: every chain is intact, with its entries counted (the legacy chain listed only if it holds
/// entries); `Err`: the first break.
pub async fn verify_chains(pool: &PgPool) -> StoreResult<Result<Vec<Chain>, Break>> {
    let per_county: bool = sqlx::query_scalar(
        "select exists (select 1 from pg_attribute
                        where attrelid = 'history'::regclass and attname = 'chain' and not attisdropped)",
    )
    .fetch_one(pool)
    .await?;
    if !per_county {
        // A registry not yet migrated to chains per county (a point-in-time restore of an older one).
        let sql = format!("select ''::text as chain, {COLUMNS} from history order by seq");
        let mut rows = sqlx::query_as::<_, Row>(&sql).fetch(pool);
        let anchor = Anchor { seq: 0, hash: Vec::new() };
        let mut walk = Walk::new(String::new(), &anchor);
        while let Some(row) = rows.try_next().await? {
            if let Err(b) = walk.step(row) {
                return Ok(Err(b));
            }
        }
        return Ok(Ok(vec![Chain { chain: String::new(), entries: walk.entries }]));
    }

    let anchor: Option<(i64, Vec<u8>)> =
        sqlx::query_as("select legacy_seq, legacy_hash from history_anchor where one").fetch_optional(pool).await?;
    let anchor = anchor.map_or(Anchor { seq: 0, hash: Vec::new() }, |(seq, hash)| Anchor { seq, hash });
    let mut chains = Vec::new();

    // The legacy chain, which must end exactly at the anchor.
    let mut legacy = Walk::new(String::new(), &anchor);
    {
        let sql = format!("select chain, {COLUMNS} from history where chain = '' order by seq");
        let mut rows = sqlx::query_as::<_, Row>(&sql).fetch(pool);
        while let Some(row) = rows.try_next().await? {
            if row.seq > anchor.seq {
                return Ok(Err(legacy.fail(
                    row.seq,
                    format!(
                        "entry {} of the legacy chain was added: the legacy chain ends at entry {}",
                        row.seq, anchor.seq
                    ),
                )));
            }
            if let Err(b) = legacy.step(row) {
                return Ok(Err(b));
            }
        }
    }
    let last = legacy.next_seq - 1;
    if last < anchor.seq {
        let missing = if anchor.seq - last == 1 {
            format!("entry {} was removed", anchor.seq)
        } else {
            format!("entries {}..{} were removed", last + 1, anchor.seq)
        };
        return Ok(Err(legacy.fail(
            last + 1,
            format!(
                "{missing} from the legacy chain: it ends at entry {last}, the county chains start from entry {}",
                anchor.seq
            ),
        )));
    }
    if legacy.prev_hash != anchor.hash {
        return Ok(Err(legacy.fail(
            last,
            format!(
                "entry {last} of the legacy chain was altered or replaced: it is not the entry the county chains \
                 start from"
            ),
        )));
    }
    if legacy.entries > 0 {
        chains.push(Chain { chain: String::new(), entries: legacy.entries });
    }

    // Each county's chain, read in the order of the primary key (chain, seq).
    let sql = format!("select chain, {COLUMNS} from history where chain <> '' order by chain, seq");
    let mut rows = sqlx::query_as::<_, Row>(&sql).fetch(pool);
    let mut walk: Option<Walk> = None;
    while let Some(row) = rows.try_next().await? {
        if walk.as_ref().is_none_or(|w| w.chain != row.chain) {
            if let Some(done) = walk.take() {
                chains.push(Chain { chain: done.chain, entries: done.entries });
            }
            walk = Some(Walk::new(row.chain.clone(), &anchor));
        }
        let current = walk.as_mut().expect("a chain is being walked");
        if let Err(b) = current.step(row) {
            return Ok(Err(b));
        }
    }
    if let Some(done) = walk {
        chains.push(Chain { chain: done.chain, entries: done.entries });
    }
    Ok(Ok(chains))
}

/// Walks every chain (see [`verify_chains`]). `Ok(n)`: all `n` entries are intact; `Err`: the first break.
pub async fn verify(pool: &PgPool) -> StoreResult<Result<u64, Break>> {
    Ok(verify_chains(pool).await?.map(|chains| chains.iter().map(|c| c.entries).sum()))
}

/// "9 entries in 2 chains (000000: 3, 330604: 6)": what an intact history holds, as `audit verify` says it.
pub fn describe(chains: &[Chain]) -> String {
    let total: u64 = chains.iter().map(|c| c.entries).sum();
    let each: Vec<String> = chains
        .iter()
        .map(|c| format!("{}: {}", if c.chain.is_empty() { "legacy" } else { c.chain.as_str() }, c.entries))
        .collect();
    let count = match chains.len() {
        1 => "1 chain".to_string(),
        n => format!("{n} chains"),
    };
    if each.is_empty() {
        format!("{total} entries")
    } else {
        format!("{total} entries in {count} ({})", each.join(", "))
    }
}
