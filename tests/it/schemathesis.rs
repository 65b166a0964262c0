//! Hostile input: Schemathesis generates requests from the OpenAPI document (as an officer, who may call
//! nearly everything) and checks that no answer is a server error or breaks its documented schema.

use crate::common;

use crate::common::TestDb;
use crate::common::api::Api;
use farmhouse::domain::roles::Role;

/// Examples per operation: bounded so the suite stays quick; raise it by hand for a deeper run.
const EXAMPLES: &str = "25";

#[tokio::test]
async fn generated_requests_find_no_server_error_and_no_schema_break() {
    let db = TestDb::with_district().await;
    let setup = Api::new(common::spawn_app_as(db.pool.clone(), Role::Officer).await);
    for n in 1..=3 {
        setup.contracted(n).await;
    }
    let token = common::account(&db.pool, "fuzz.officer", Role::Officer).await;
    let api = Api::new(common::spawn_app(db.pool.clone()).await);
    let out = tokio::process::Command::new("st")
        .args(["run", &format!("{}/api/v1/openapi.json", api.base), "--url", &api.base])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .args(["--checks", "not_a_server_error,response_schema_conformance,content_type_conformance"])
        .args(["--max-examples", EXAMPLES, "--seed", "20261128", "--workers", "2", "--no-color"])
        .output()
        .await
        .expect("schemathesis (`st`; scripts/install-deps.sh test installs it)");
    let report = String::from_utf8_lossy(&out.stdout);
    let summary: Vec<&str> = report.lines().filter(|l| l.contains("generated")).collect();
    assert!(out.status.success(), "schemathesis found failures:\n{report}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(!summary.is_empty(), "no summary in:\n{report}");
    eprintln!("{}", summary.join("\n"));
}
