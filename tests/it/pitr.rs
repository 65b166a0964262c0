//! Recovery to a point in time, step by step as the README's "Recovery to a point in time" tells an
//! office: the service runs on its embedded cluster (archiving its WAL), a base backup is taken, a
//! certificate is issued, the time is noted, the certificate is revoked by mistake; the service is
//! stopped, `farmhouse restore --until` the noted time rebuilds the cluster, and after a start the
//! certificate is in force again, the history's hash chain verifies, and nothing after the moment exists.

use std::process::Command;

use crate::common::{self, fixtures, map_fixtures};
use crate::embedded::{start, terminate, wait_healthy};

/// `farmhouse ARGS` on the test's data folder; panics with its output unless it succeeds.
fn farmhouse(data: &std::path::Path, pg_port: u16, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_farmhouse"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .args(["--pg-port", &pg_port.to_string()])
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "farmhouse {args:?} failed:\n{text}");
    text
}

#[tokio::test]
async fn a_revocation_by_mistake_is_undone_by_restoring_to_the_moment_before_it() {
    let dir = common::cluster_tempdir();
    let data = dir.path().join("data");
    let (http_port, pg_port) = (common::free_port(), common::free_port());
    let db_url = format!("postgres://postgres@127.0.0.1:{pg_port}/farmhouse");

    // 1. The service runs on its own cluster, which archives its WAL beside it.
    let service = start(&data, http_port, pg_port);
    wait_healthy(http_port).await;
    // 2. A base backup (the README: nightly, from cron).
    let said = farmhouse(&data, pg_port, &["backup", "--base"]);
    assert!(said.contains("base backup in"), "{said}");

    // 3. A certificate is issued; the time is noted; the certificate is revoked by mistake.
    let pool = sqlx::PgPool::connect(&db_url).await.unwrap();
    fixtures::district(&pool).await;
    let (house, _) = map_fixtures::leased_house(&pool).await;
    let deal: i64 = sqlx::query_scalar("select id from transactions where farmhouse_id = $1")
        .bind(house)
        .fetch_one(&pool)
        .await
        .unwrap();
    fixtures::certification(&pool, deal, "SY-JZ-2026-000001").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (noted, history_then): (String, i64) = sqlx::query_as(
        "select to_char(now() at time zone 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS.US') || '+08', (select count(*) from history)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    sqlx::query("update certifications set revoked_at = now(), revoke_reason = '误操作' where certificate_no = 'SY-JZ-2026-000001'")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    // 4. Stop the service; 5. restore to the noted time.
    terminate(service);
    let said = farmhouse(&data, pg_port, &["restore", "--until", &noted]);
    assert!(said.contains("the history is intact"), "{said}");
    let kept: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("pg.before-restore-"))
        .collect();
    assert_eq!(kept.len(), 1, "the cluster that was there is kept aside");

    // 6. Start the service again: the certificate is in force, nothing after the moment exists.
    let service = start(&data, http_port, pg_port);
    wait_healthy(http_port).await;
    let pool = sqlx::PgPool::connect(&db_url).await.unwrap();
    let revoked: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("select revoked_at from certifications where certificate_no = 'SY-JZ-2026-000001'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(revoked, None, "the certificate is in force again");
    let history_now: i64 = sqlx::query_scalar("select count(*) from history").fetch_one(&pool).await.unwrap();
    assert_eq!(history_now, history_then, "the revocation's history entry is gone with it");
    let verify = reqwest::get(format!("http://127.0.0.1:{http_port}/api/v1/verify/SY-JZ-2026-000001?code=ABCD1234"))
        .await
        .unwrap();
    assert_eq!(verify.status(), 200);
    let facts: serde_json::Value = verify.json().await.unwrap();
    assert_eq!(facts["state"], "in_force", "{facts}");
    // A new write goes on from there, and the archive keeps it (a new timeline).
    sqlx::query("insert into parties (kind, name, id_number) values ('person', '王五', '330604198001010012')")
        .execute(&pool)
        .await
        .unwrap();
    let timeline: i32 =
        sqlx::query_scalar("select timeline_id from pg_control_checkpoint()").fetch_one(&pool).await.unwrap();
    assert_eq!(timeline, 2);
    pool.close().await;
    terminate(service);
    let said = farmhouse(&data, pg_port, &["audit", "verify"]);
    assert!(said.contains("the history is intact"), "{said}");
}
