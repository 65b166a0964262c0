//! The history's chains per county (docs/DESIGN.md §2.7): each county's entries in a chain of their own,
//! numbered without gaps and linked by hashes; `audit verify` walking every chain and naming the first
//! break with its chain; a registry of the single chain keeping it as the legacy chain that the county
//! chains start from; and writers of different counties not waiting on each other.

use std::borrow::Cow;

use farmhouse::store::audit::{self, Break, Chain};
use farmhouse::store::{self, history};
use sqlx::PgPool;
use sqlx::migrate::Migrator;

use crate::common::{TestDb, fixtures};

/// A second county, Keqiao (330603), with one township covering the same ground as Shangyu's fixture.
async fn second_county(pool: &PgPool) {
    sqlx::query(
        "insert into districts (county_code, name, certificate_prefix, outline)
         select '330603', '柯桥区', 'KQ', outline from districts where county_code = '330604'",
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into townships (code, name, kind, boundary)
         select '330603001', '柯桥街道', '街道', outline from districts where county_code = '330603'",
    )
    .execute(pool)
    .await
    .unwrap();
}

/// A parcel and a house on it in township `<county>001`, numbered `n`; returns the house's id.
async fn house_in(pool: &PgPool, county: &str, n: u32) -> i64 {
    let code = format!("{county}001001JC{n:05}");
    let east = f64::from(n) * 100.0;
    sqlx::query(
        "insert into parcels (parcel_code, township_code, village, land_use, boundary)
         values ($1, $2, '测试村', '0702', st_geomfromtext($3, 4326))",
    )
    .bind(&code)
    .bind(format!("{county}001"))
    .bind(fixtures::square(east, 0.0, 40.0))
    .execute(pool)
    .await
    .unwrap();
    fixtures::farmhouse(pool, &format!("{code}F00010001"), east).await
}

/// Two counties: houses 1 and 2 of Shangyu, house 1 of Keqiao, and a person (of no county).
async fn two_counties() -> (TestDb, [i64; 3]) {
    let db = TestDb::with_district().await;
    second_county(&db.pool).await;
    let a1 = house_in(&db.pool, "330604", 1).await;
    let b1 = house_in(&db.pool, "330603", 1).await;
    let a2 = house_in(&db.pool, "330604", 2).await;
    fixtures::person(&db.pool, &fixtures::id_number(1)).await;
    (db, [a1, b1, a2])
}

/// Runs `sql` as the database owner with the history's guard switched off: what someone with the files or
/// the superuser could do.
async fn tamper(db: &TestDb, sql: &str) {
    sqlx::raw_sql(&format!(
        "alter table history disable trigger history_append_only; {sql};
         alter table history enable trigger history_append_only;"
    ))
    .execute(&db.admin)
    .await
    .unwrap();
}

async fn verify(db: &TestDb) -> Result<Vec<Chain>, Break> {
    audit::verify_chains(&db.pool).await.unwrap()
}

fn chain(code: &str, entries: u64) -> Chain {
    Chain { chain: code.to_string(), entries }
}

/// Removes entry `seq` of `chain`, expects verify to name it with `reason`, and puts it back intact.
async fn removal_is_found(db: &TestDb, chain: &str, seq: i64, reason: &str) {
    tamper(
        db,
        &format!(
            "create table removed as select * from history where chain = '{chain}' and seq = {seq};
             delete from history where chain = '{chain}' and seq = {seq}"
        ),
    )
    .await;
    let b = verify(db).await.expect_err("a removed entry is found");
    assert_eq!((b.chain.as_str(), b.seq), (chain, seq), "{b:?}");
    assert!(b.reason.contains(reason), "{b:?}");
    tamper(db, "insert into history select * from removed; drop table removed").await;
    assert!(verify(db).await.is_ok(), "put back as it was");
}

#[tokio::test]
async fn each_county_writes_its_own_chain_and_a_person_the_province_s() {
    let (db, _) = two_counties().await;
    let entries: Vec<(String, i64, String)> =
        sqlx::query_as("select chain, seq, table_name from history order by id").fetch_all(&db.pool).await.unwrap();
    let expected = [
        ("330604", 1, "parcels"),
        ("330604", 2, "farmhouses"),
        ("330603", 1, "parcels"),
        ("330603", 2, "farmhouses"),
        ("330604", 3, "parcels"),
        ("330604", 4, "farmhouses"),
        ("000000", 1, "parties"),
    ];
    let entries: Vec<(&str, i64, &str)> = entries.iter().map(|(c, s, t)| (c.as_str(), *s, t.as_str())).collect();
    assert_eq!(entries, expected);

    // A registry that began with chains per county has an empty legacy chain: each chain starts from nothing.
    let starts: Vec<Vec<u8>> =
        sqlx::query_scalar("select prev_hash from history where seq = 1").fetch_all(&db.pool).await.unwrap();
    assert!(starts.len() == 3 && starts.iter().all(Vec::is_empty), "{starts:?}");
    let anchor: (i64, Vec<u8>) =
        sqlx::query_as("select legacy_seq, legacy_hash from history_anchor").fetch_one(&db.pool).await.unwrap();
    assert_eq!(anchor, (0, Vec::new()));

    assert_eq!(verify(&db).await, Ok(vec![chain("000000", 1), chain("330603", 2), chain("330604", 4)]));
    assert_eq!(audit::describe(&verify(&db).await.unwrap()), "7 entries in 3 chains (000000: 1, 330603: 2, 330604: 4)");
}

#[tokio::test]
async fn audit_verify_names_an_altered_removed_or_moved_entry_with_its_chain() {
    let (db, _) = two_counties().await;
    assert!(verify(&db).await.is_ok());

    // Altered: house 1 of Shangyu (entry 2 of 330604).
    tamper(&db, "update history set after = jsonb_set(after, '{floors}', '3') where chain = '330604' and seq = 2")
        .await;
    let b = verify(&db).await.expect_err("an altered entry is found");
    assert_eq!((b.chain.as_str(), b.seq), ("330604", 2), "{b:?}");
    assert!(b.reason.contains("altered") && b.reason.contains("chain 330604"), "{b:?}");
    tamper(&db, "update history set after = jsonb_set(after, '{floors}', '2') where chain = '330604' and seq = 2")
        .await;
    assert!(verify(&db).await.is_ok(), "put back as it was");

    // Removed: entry 3 of 330604 (kept aside, then put back).
    removal_is_found(&db, "330604", 3, "entry 3 was removed").await;

    // Moved: entry 2 of 330604 made the third entry of 330603. Both chains are broken; the walk, in the
    // order of the codes, meets 330603's first.
    tamper(&db, "update history set chain = '330603', seq = 3 where chain = '330604' and seq = 2").await;
    let b = verify(&db).await.expect_err("a moved entry is found");
    assert_eq!((b.chain.as_str(), b.seq), ("330603", 2), "{b:?}");
    assert!(b.reason.contains("does not link"), "{b:?}");
    // Without 330603's view of it, 330604 misses it.
    tamper(&db, "update history set chain = '330699' where chain = '330603' and seq = 3").await;
    let b = verify(&db).await.expect_err("a moved entry is found");
    assert_eq!((b.chain.as_str(), b.seq), ("330604", 2), "{b:?}");
    assert!(b.reason.contains("entry 2 was removed"), "{b:?}");
}

/// The embedded migrations before chains per county: a registry as the releases before 0124 left it.
fn migrator_before_chains() -> Migrator {
    let migrations = store::MIGRATOR.iter().filter(|m| m.version < 124).cloned().collect();
    Migrator { migrations: Cow::Owned(migrations), ignore_missing: false, locking: true, no_tx: false }
}

#[tokio::test]
async fn a_registry_of_one_chain_keeps_it_as_the_legacy_chain_the_county_chains_start_from() {
    let db = TestDb::empty().await;
    migrator_before_chains().run(&db.admin).await.expect("the migrations before 0124 run");
    fixtures::district(&db.pool).await;
    fixtures::house(&db.pool, 1).await;
    fixtures::person(&db.pool, &fixtures::id_number(1)).await;
    let before: Vec<(i64, Vec<u8>)> =
        sqlx::query_as("select seq, hash from history order by seq").fetch_all(&db.pool).await.unwrap();
    assert_eq!(before.len(), 3);

    store::migrate(&db.url).await.expect("migrates to chains per county");
    let kept: Vec<(String, i64, Vec<u8>)> =
        sqlx::query_as("select chain, seq, hash from history order by seq").fetch_all(&db.pool).await.unwrap();
    let legacy: Vec<(i64, Vec<u8>)> = kept.iter().map(|(_, s, h)| (*s, h.clone())).collect();
    assert_eq!(legacy, before, "the entries stay as they were");
    assert!(kept.iter().all(|(c, _, _)| c.is_empty()), "{kept:?}");
    let last = before.last().unwrap().clone();
    let anchor: (i64, Vec<u8>) =
        sqlx::query_as("select legacy_seq, legacy_hash from history_anchor").fetch_one(&db.pool).await.unwrap();
    assert_eq!(anchor, last);

    // New writes start each county's chain from the legacy chain's last entry.
    fixtures::house(&db.pool, 2).await;
    fixtures::person(&db.pool, &fixtures::id_number(2)).await;
    let starts: Vec<(String, i64, Vec<u8>)> =
        sqlx::query_as("select chain, seq, prev_hash from history where chain <> '' and seq = 1 order by chain")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(starts, [("000000".into(), 1, last.1.clone()), ("330604".into(), 1, last.1.clone())]);
    assert_eq!(verify(&db).await, Ok(vec![chain("", 3), chain("000000", 1), chain("330604", 2)]));
    assert_eq!(audit::describe(&verify(&db).await.unwrap()), "6 entries in 3 chains (legacy: 3, 000000: 1, 330604: 2)");
    // The history of a record reads across the legacy and the county chain, in the order written.
    let house = history::of_record(&db.pool, "farmhouses", 1).await.unwrap();
    assert_eq!(house.len(), 1);
    assert_eq!((house[0].chain.as_str(), house[0].seq), ("", 2));

    // Removing the legacy chain's last entry is found: the county chains start from it.
    removal_is_found(&db, "", 3, "entry 3 was removed from the legacy chain").await;
    // ... and so is removing its first.
    tamper(&db, "delete from history where chain = '' and seq = 1").await;
    let b = verify(&db).await.expect_err("a removed legacy entry is found");
    assert_eq!((b.chain.as_str(), b.seq), ("", 1), "{b:?}");
    assert!(b.reason.contains("entry 1 was removed"), "{b:?}");
}

/// Whether `r` failed waiting for a lock of the history's chains (lock_timeout).
fn waited_for_the_chain(r: Result<sqlx::postgres::PgQueryResult, sqlx::Error>) -> bool {
    match r {
        Err(sqlx::Error::Database(e)) => {
            let pg = e.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().expect("a PostgreSQL error");
            assert_eq!(pg.code(), "55P03", "{pg:?}");
            pg.r#where().is_some_and(|w| w.contains("history_chain_lock"))
        }
        other => panic!("expected a lock timeout, got {other:?}"),
    }
}

/// An appraisal of `house` numbered `n`: a write that touches no row another house's write touches (a
/// change of the house itself also updates the map's cluster cells, which houses near each other share).
async fn appraise(
    conn: &mut sqlx::PgConnection,
    house: i64,
    n: u32,
) -> Result<sqlx::postgres::PgQueryResult, sqlx::Error> {
    sqlx::query(
        "insert into appraisals (farmhouse_id, report_no, firm, appraiser, method, valuation_date, value_fen,
                                 annual_rent_fen, valid_until)
         values ($1, $2, '评估所', '李四', '收益法', '2020-01-01', 100000000, 1000000, '2021-01-01')",
    )
    .bind(house)
    .bind(format!("PG-2020-{n:03}"))
    .execute(conn)
    .await
}

#[tokio::test]
async fn a_write_in_one_county_does_not_wait_for_an_open_transaction_of_another() {
    let (db, [a1, b1, a2]) = two_counties().await;

    // A transaction of Shangyu has written history and stays open.
    let mut shangyu = db.pool.begin().await.unwrap();
    appraise(&mut shangyu, a1, 1).await.unwrap();

    // A write in Keqiao commits meanwhile: it would fail after 5 s of waiting on any lock.
    let mut keqiao = db.pool.begin().await.unwrap();
    sqlx::query("set local lock_timeout = '5s'").execute(&mut *keqiao).await.unwrap();
    appraise(&mut keqiao, b1, 2).await.expect("Keqiao's write does not wait for Shangyu's");
    keqiao.commit().await.unwrap();

    // Another write in Shangyu waits for the open one (here: gives up after 300 ms).
    let mut second = db.pool.begin().await.unwrap();
    sqlx::query("set local lock_timeout = '300ms'").execute(&mut *second).await.unwrap();
    let r = appraise(&mut second, a2, 3).await;
    assert!(waited_for_the_chain(r), "the second Shangyu write waits on Shangyu's chain");
    second.rollback().await.unwrap();

    // Once the first commits, it goes through, and each chain is whole.
    shangyu.commit().await.unwrap();
    appraise(&mut db.pool.acquire().await.unwrap(), a2, 3).await.unwrap();
    assert_eq!(verify(&db).await, Ok(vec![chain("000000", 1), chain("330603", 3), chain("330604", 6)]));
}

#[tokio::test]
async fn entries_of_no_county_join_the_chain_their_transaction_writes_or_declares() {
    let (db, [_, b1, _]) = two_counties().await;
    for n in 2..=4 {
        fixtures::person(&db.pool, &fixtures::id_number(n)).await;
    }
    let person = fixtures::person(&db.pool, &fixtures::id_number(5)).await;
    let phone = "update parties set phone = $2 where id = $1";

    // In a transaction that writes Keqiao's chain, the person's change joins it.
    let mut tx = db.pool.begin().await.unwrap();
    sqlx::query("update farmhouses set floors = 3 where id = $1").bind(b1).execute(&mut *tx).await.unwrap();
    sqlx::query(phone).bind(person).bind("13900000001").execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    // A transaction that declares its county writes that county's chain.
    let mut tx = db.pool.begin().await.unwrap();
    sqlx::query("select set_config('farmhouse.county', '330604', true)").execute(&mut *tx).await.unwrap();
    sqlx::query(phone).bind(person).bind("13900000002").execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();

    // The person's history spans three chains and reads in the order written, not by seq (5, 4, 5).
    let entries = history::of_record(&db.pool, "parties", person).await.unwrap();
    let read: Vec<(&str, i64, &str)> = entries.iter().map(|e| (e.chain.as_str(), e.seq, e.action.as_str())).collect();
    assert_eq!(read, [("000000", 5, "insert"), ("330603", 4, "update"), ("330604", 5, "update")]);
    assert_eq!(entries[2].after.as_ref().unwrap().0["phone"], "13900000002");
    assert!(verify(&db).await.is_ok());
}
