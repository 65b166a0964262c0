//! `farmhouse backup` and `farmhouse restore` round-trip the registry — the demo district with a few
//! changes made through the API on top: the same records, the same statistics, the same hash-chained
//! history.

use crate::common;

use crate::common::TestDb;
use crate::common::api::Api;
use farmhouse::domain::roles::Role;
use serde_json::json;
use sqlx::PgPool;

/// What must survive: counts, money, areas and the whole history chain.
async fn fingerprint(pool: &PgPool) -> (Vec<i64>, String, Vec<(i64, Vec<u8>)>) {
    let mut counts = Vec::new();
    for t in ["parcels", "farmhouses", "parties", "listings", "transactions", "certifications", "farmhouse_photos"] {
        counts.push(sqlx::query_scalar(&format!("select count(*) from {t}")).fetch_one(pool).await.unwrap());
    }
    let figures: String = sqlx::query_scalar(
        "select concat_ws('|', (select sum(total_amount_fen) from transactions),
                              (select sum(floor_area_m2) from farmhouses where status = 'certified'),
                              (select string_agg(certificate_no, ',' order by id) from certifications))",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let chain: Vec<(i64, Vec<u8>)> =
        sqlx::query_as("select seq, hash from history order by seq").fetch_all(pool).await.unwrap();
    (counts, figures, chain)
}

fn farmhouse(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_farmhouse")).args(args).env("RUST_LOG", "warn").output().unwrap()
}

#[tokio::test]
async fn a_backup_restores_the_same_registry_and_history() {
    let db = TestDb::demo().await;
    let api = Api::new(common::spawn_app_as(db.pool.clone(), Role::Officer).await);
    let queue = api.get("/api/v1/transactions?awaiting_certification=true&limit=3").await.expect(200);
    for deal in queue.body["items"].as_array().unwrap() {
        api.post(&format!("/api/v1/transactions/{}/certify", deal["id"]), &json!({})).await.expect(201);
    }
    let original = fingerprint(&db.pool).await;
    let public = Api::new(common::spawn_app(db.pool.clone()).await);
    let summary = public.get("/api/v1/stats/summary").await.expect(200).body;
    assert_eq!(summary["certified_houses"], 3538);
    assert!(original.2.len() > 10_000);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("registry.dump");
    let file = file.to_str().unwrap();
    let out = farmhouse(&["backup", "--output", file, "--database-url", &db.url]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let target = db.empty_sibling().await;
    let out = farmhouse(&["restore", file, "--database-url", &target]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let restored = farmhouse::store::pool(&target, &farmhouse::store::PoolConfig::default()).unwrap();
    assert_eq!(fingerprint(&restored).await, original);
    let served = Api::new(common::spawn_app(restored.clone()).await);
    assert_eq!(served.get("/api/v1/stats/summary").await.expect(200).body, summary);
    let verify = farmhouse(&["audit", "verify", "--database-url", &target]);
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));

    // A second restore into the same database is refused and changes nothing.
    let again = farmhouse(&["restore", file, "--database-url", &target]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds a registry"));
    assert_eq!(fingerprint(&restored).await, original);
}
