//! The baseline migrations (`migrations/`) against the legacy set they replaced
//! (tests/it/legacy_migrations/): the same schema, and databases made with the legacy set adopted, or
//! refused without a change, by `store::migrate`.

use std::borrow::Cow;
use std::path::Path;

use farmhouse::store::{self, legacy};
use sqlx::PgPool;
use sqlx::migrate::Migrator;

use crate::common::{TestDb, fixtures};

const LEGACY_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/legacy_migrations");

/// The legacy set, read from its files as sqlx reads a folder (checksums included).
async fn legacy_migrator() -> Migrator {
    Migrator::new(Path::new(LEGACY_DIR)).await.expect("read the legacy migrations")
}

/// The legacy set without its last `skip` migrations.
async fn legacy_migrator_but_last(skip: usize) -> Migrator {
    let mut m = legacy_migrator().await;
    let kept = m.migrations.len() - skip;
    m.migrations = Cow::Owned(m.migrations[..kept].to_vec());
    m
}

/// The embedded migrations of the baseline only (not those numbered after it), which must build what the
/// whole legacy set built.
fn baseline_migrator() -> Migrator {
    let migrations = store::MIGRATOR.iter().filter(|m| legacy::BASELINE.contains(&m.version)).cloned().collect();
    Migrator { migrations: Cow::Owned(migrations), ignore_missing: false, locking: true, no_tx: false }
}

/// The schema of database `url` as `pg_dump --schema-only --no-owner` writes it: tables with their columns
/// in order, types, defaults, constraints, indexes, functions and procedures with their bodies and
/// settings, triggers, views, grants and default privileges. Comment lines and blank lines are left out
/// (they hold object ids and the dump's random `\restrict` key, nothing of the schema).
fn schema(url: &str) -> Vec<String> {
    let pg_dump = store::cluster::postgres_program("pg_dump").expect("pg_dump");
    let out = std::process::Command::new(pg_dump)
        .args(["--schema-only", "--no-owner", "--dbname", url])
        .output()
        .expect("run pg_dump");
    assert!(out.status.success(), "pg_dump failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .expect("UTF-8 dump")
        .lines()
        .filter(|l| {
            !l.is_empty() && !l.starts_with("--") && !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict")
        })
        .map(str::to_owned)
        .collect()
}

/// The lines only one of two schemas has, marked `-` (only in `a`) or `+` (only in `b`), in order.
fn differences(a: &[String], b: &[String]) -> Vec<String> {
    let only = |x: &[String], y: &[String], mark: char| -> Vec<String> {
        let mut rest: Vec<&String> = y.iter().collect();
        x.iter()
            .filter(|l| match rest.iter().position(|r| r == l) {
                Some(i) => {
                    rest.remove(i);
                    false
                }
                None => true,
            })
            .map(|l| format!("{mark} {l}"))
            .collect()
    };
    let mut d = only(a, b, '-');
    d.extend(only(b, a, '+'));
    d
}

/// The rows of `_sqlx_migrations`, all columns, as text.
async fn migration_rows(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "select concat_ws(' | ', version, description, installed_on, success, encode(checksum, 'hex'), execution_time)
         from _sqlx_migrations order by version",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// A database migrated with the legacy set, as the releases before the baseline left it.
async fn legacy_db(skip: usize) -> TestDb {
    let db = TestDb::empty().await;
    legacy_migrator_but_last(skip).await.run(&db.admin).await.expect("the legacy migrations run");
    db
}

#[tokio::test]
async fn the_table_of_legacy_checksums_matches_the_legacy_files() {
    let files: Vec<(i64, String, String)> = legacy_migrator()
        .await
        .iter()
        .map(|m| (m.version, m.description.to_string(), hex::encode(&*m.checksum)))
        .collect();
    let table: Vec<(i64, String, String)> =
        legacy::LEGACY.iter().map(|(v, d, c)| (*v, d.to_string(), c.to_string())).collect();
    assert_eq!(
        files, table,
        "store::legacy::LEGACY differs from tests/it/legacy_migrations/ (scripts/legacy-checksums.sh prints the table); \
         the legacy files are never to change"
    );

    // The baseline is exactly the versions `legacy::BASELINE` names, and nothing is numbered below it.
    let embedded: Vec<i64> = store::MIGRATOR.iter().map(|m| m.version).collect();
    let baseline: Vec<i64> = embedded.iter().copied().filter(|v| legacy::BASELINE.contains(v)).collect();
    assert_eq!(baseline, legacy::BASELINE.collect::<Vec<_>>());
    assert!(embedded.iter().all(|v| v >= legacy::BASELINE.start()), "{embedded:?}");
}

#[tokio::test]
async fn the_baseline_builds_the_schema_the_legacy_set_built() {
    let old = legacy_db(0).await;
    let new = TestDb::empty().await;
    baseline_migrator().run(&new.admin).await.expect("the baseline runs");

    let (a, b) = (schema(&old.url), schema(&new.url));
    assert!(a.len() > 1000, "a dump of the whole schema, not {} lines", a.len());
    let d = differences(&a, &b);
    assert!(d.is_empty(), "the schemas differ (- legacy, + baseline):\n{}", d.join("\n"));
    assert_eq!(a, b, "the same lines in another order");

    // The comparison sees a changed constraint, a changed function body, and a column order.
    sqlx::raw_sql(
        "alter table listings drop constraint listings_notice_period,
             add constraint listings_notice_period check (notice_end >= notice_start + 6)",
    )
    .execute(&new.admin)
    .await
    .unwrap();
    let d = differences(&a, &schema(&new.url));
    assert!(d.iter().any(|l| l.contains("notice_start + 6")), "{d:?}");

    let other = TestDb::empty().await;
    baseline_migrator().run(&other.admin).await.unwrap();
    sqlx::raw_sql(
        "create or replace function footprint_tolerance() returns double precision language sql immutable
         parallel safe as 'select 0.000006::double precision'",
    )
    .execute(&other.admin)
    .await
    .unwrap();
    let d = differences(&a, &schema(&other.url));
    assert!(d.iter().any(|l| l.contains("0.000006")), "{d:?}");

    let reordered: Vec<String> = a
        .iter()
        .map(|l| match l.trim() {
            "notice_start date NOT NULL," => l.replace("notice_start", "notice_end"),
            "notice_end date NOT NULL," => l.replace("notice_end", "notice_start"),
            _ => l.clone(),
        })
        .collect();
    assert_ne!(a, reordered, "the dump lists the listings' columns");
    assert!(differences(&a, &reordered).is_empty(), "the same lines in another order");
}

#[tokio::test]
async fn a_legacy_database_is_adopted_keeps_its_rows_and_takes_writes() {
    let db = legacy_db(0).await;
    fixtures::district(&db.pool).await;
    let house = fixtures::house(&db.pool, 1).await;
    fixtures::person(&db.pool, &fixtures::id_number(1)).await;
    let count = "select (select count(*) from farmhouses) || ' ' || (select count(*) from parties) || ' ' ||
                        (select count(*) from history) || ' ' || (select sum(features) from map_feature_counts)";
    let before: String = sqlx::query_scalar(count).fetch_one(&db.pool).await.unwrap();
    assert_eq!(before.split(' ').next(), Some("1"));

    store::migrate(&db.url).await.expect("the legacy database is adopted");

    let rows = migration_rows(&db.admin).await;
    let expected: Vec<String> =
        store::MIGRATOR.iter().map(|m| format!("{} | {} | ", m.version, m.description)).collect();
    assert_eq!(rows.len(), expected.len(), "{rows:#?}");
    for (row, (m, prefix)) in rows.iter().zip(store::MIGRATOR.iter().zip(&expected)) {
        assert!(row.starts_with(prefix), "{row} is not migration {prefix}");
        assert!(row.contains(&format!(" | t | {} | ", hex::encode(&*m.checksum))), "{row}");
    }
    let after: String = sqlx::query_scalar(count).fetch_one(&db.pool).await.unwrap();
    assert_eq!(after, before);

    // The service works on it as before: a new party, a new house, the history's chain intact.
    fixtures::person(&db.pool, &fixtures::id_number(2)).await;
    let second = fixtures::house(&db.pool, 2).await;
    assert_ne!(second, house);
    let houses: i64 = sqlx::query_scalar("select count(*) from farmhouses").fetch_one(&db.pool).await.unwrap();
    assert_eq!(houses, 2);
    let counted: i64 =
        sqlx::query_scalar("select sum(features)::bigint from map_feature_counts where collection = 'farmhouses'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(counted, 2);
    let entries = store::audit::verify(&db.pool).await.unwrap().expect("the history is intact");
    assert!(entries > 4, "{entries}");

    // Migrating again changes nothing.
    let (rows, dump) = (migration_rows(&db.admin).await, schema(&db.url));
    store::migrate(&db.url).await.expect("migrating again");
    assert_eq!(migration_rows(&db.admin).await, rows);
    assert_eq!(schema(&db.url), dump);
}

#[tokio::test]
async fn a_partly_migrated_legacy_database_is_refused_and_left_as_it_was() {
    let db = legacy_db(2).await;
    let (rows, dump) = (migration_rows(&db.admin).await, schema(&db.url));
    assert_eq!(rows.len(), legacy::LEGACY.len() - 2);

    let e = format!("{:#}", store::migrate(&db.url).await.expect_err("a partly migrated database is refused"));
    for needed in
        ["legacy migration 0038 (parcel township and houses) is not applied", "0040", "Nothing was changed", "data/"]
    {
        assert!(e.contains(needed), "{needed:?} not in: {e}");
    }
    assert_eq!(migration_rows(&db.admin).await, rows);
    assert_eq!(schema(&db.url), dump);
}

#[tokio::test]
async fn a_legacy_database_with_an_edited_migration_is_refused_and_left_as_it_was() {
    let db = legacy_db(0).await;
    sqlx::query("update _sqlx_migrations set checksum = sha384('edited') where version = 22")
        .execute(&db.admin)
        .await
        .unwrap();
    let (rows, dump) = (migration_rows(&db.admin).await, schema(&db.url));

    let e = format!("{:#}", store::migrate(&db.url).await.expect_err("an edited legacy migration is refused"));
    assert!(
        e.contains("legacy migration 0022 (parcel lookup) was applied from a file other than the released one"),
        "{e}"
    );
    assert!(!e.contains("0021"), "only the edited migration is named: {e}");
    assert_eq!(migration_rows(&db.admin).await, rows);
    assert_eq!(schema(&db.url), dump);
}

#[tokio::test]
async fn migrating_a_new_database_twice_is_a_no_op() {
    let db = TestDb::empty().await;
    store::migrate(&db.url).await.expect("migrate");
    let (rows, dump) = (migration_rows(&db.admin).await, schema(&db.url));
    assert_eq!(rows.len(), store::MIGRATOR.iter().count());
    store::migrate(&db.url).await.expect("migrate again");
    assert_eq!(migration_rows(&db.admin).await, rows);
    assert_eq!(schema(&db.url), dump);
}
