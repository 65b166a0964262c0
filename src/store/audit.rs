//! Verifying the hash chain of the history. The hashes are recomputed here, in Rust, from each entry's
//! content — not by the database function that made them — so a changed function cannot hide a
//! changed entry.

use super::StoreResult;
use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::{FromRow, PgPool};

/// The first place the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// The entry at fault.
    pub seq: i64,
    pub reason: String,
}

#[derive(FromRow)]
struct Row {
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

/// Walks the chain from the first entry. `Ok(n)`: all `n` entries are intact; `Err`: the first break.
pub async fn verify(pool: &PgPool) -> StoreResult<Result<u64, Break>> {
    let mut rows = sqlx::query_as::<_, Row>(
        "select seq, to_char(at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') as at, actor, table_name,
                record_id, action, before::text as before, after::text as after, prev_hash, hash
         from history order by seq",
    )
    .fetch(pool);
    let mut last: Option<(i64, Vec<u8>)> = None;
    let mut count = 0u64;
    while let Some(row) = rows.try_next().await? {
        let describe = format!("entry {} ({} {} {} at {})", row.seq, row.table_name, row.record_id, row.action, row.at);
        let (expected_seq, expected_prev) = match &last {
            Some((seq, hash)) => (seq + 1, hash.clone()),
            None => (1, Vec::new()),
        };
        if row.seq != expected_seq {
            let missing = if row.seq - expected_seq == 1 {
                format!("entry {expected_seq} was removed")
            } else {
                format!("entries {expected_seq}..{} were removed", row.seq - 1)
            };
            return Ok(Err(Break { seq: expected_seq, reason: format!("{missing}: the chain jumps to {describe}") }));
        }
        if row.prev_hash != expected_prev {
            let previous = row.seq - 1;
            return Ok(Err(Break {
                seq: previous,
                reason: format!("entry {previous} was altered or replaced: {describe} does not link to it"),
            }));
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
            return Ok(Err(Break {
                seq: row.seq,
                reason: format!("{describe} was altered: its content does not match its hash"),
            }));
        }
        last = Some((row.seq, row.hash));
        count += 1;
    }
    Ok(Ok(count))
}
