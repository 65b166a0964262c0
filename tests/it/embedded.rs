//! `farmhouse serve` with no database configured starts a private PostGIS cluster under its data folder,
//! answers `/health`, stops the cluster on SIGTERM, and finds its data again on the next start.

use crate::common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn start(data_dir: &std::path::Path, http_port: u16, pg_port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_farmhouse"))
        .args(["serve", "--bind", &format!("127.0.0.1:{http_port}")])
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--pg-port", &pg_port.to_string()])
        .env_remove("DATABASE_URL")
        // The data this test keeps is its own, not the demo district that a first start loads.
        .env("FARMHOUSE_NO_DEMO", "true")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .spawn()
        .expect("start farmhouse serve")
}

pub async fn wait_healthy(http_port: u16) {
    let deadline = Instant::now() + Duration::from_mins(2);
    loop {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{http_port}/health")).await
            && r.status() == 200
        {
            return;
        }
        assert!(Instant::now() < deadline, "the service did not become healthy");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub fn terminate(mut child: Child) {
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "farmhouse serve exited with {status} on SIGTERM");
}

#[tokio::test]
async fn serve_without_a_database_url_runs_its_own_cluster_and_keeps_its_data() {
    let dir = common::cluster_tempdir();
    let data = dir.path().join("data");
    let (http_port, pg_port) = (common::free_port(), common::free_port());
    let db_url = format!("postgres://postgres@127.0.0.1:{pg_port}/farmhouse");

    let service = start(&data, http_port, pg_port);
    wait_healthy(http_port).await;
    let pool = sqlx::PgPool::connect(&db_url).await.unwrap();
    sqlx::query("insert into parties (kind, name, id_number) values ('person', '王五', '330604198001010012')")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    terminate(service);
    let stopped = <sqlx::PgConnection as sqlx::Connection>::connect(&db_url).await.is_err();
    assert!(stopped, "the cluster stops with the service");

    let service = start(&data, http_port, pg_port);
    wait_healthy(http_port).await;
    let pool = sqlx::PgPool::connect(&db_url).await.unwrap();
    let names: Vec<String> = sqlx::query_scalar("select name from parties").fetch_all(&pool).await.unwrap();
    assert_eq!(names, ["王五"]);
    pool.close().await;
    terminate(service);
}
