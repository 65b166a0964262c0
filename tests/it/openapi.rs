//! The OpenAPI document is valid OpenAPI 3 and lists exactly the routes the router serves.

use crate::common;

use std::collections::BTreeSet;

use crate::common::TestDb;
use crate::common::api::Api;

/// `doc` passes openapi-spec-validator (`scripts/install-deps.sh test` installs it), in the OpenAPI
/// version it declares.
pub(crate) fn assert_valid_openapi(doc: &serde_json::Value) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_vec(doc).unwrap()).unwrap();
    let out = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(file.path())
        .output()
        .expect("python3 with openapi-spec-validator (scripts/install-deps.sh test installs it)");
    assert!(
        out.status.success(),
        "not valid OpenAPI {}:\n{}{}",
        doc["openapi"],
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn the_openapi_document_is_valid_and_lists_every_route() {
    let db = TestDb::new().await;
    let api = Api::new(common::spawn_app(db.pool.clone()).await);
    let doc = api.get("/api/v1/openapi.json").await.expect(200).body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));

    assert_valid_openapi(&doc);

    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object().unwrap().keys().map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    // axum's catch-all `{*path}` is an ordinary `{path}` parameter in OpenAPI.
    let served: BTreeSet<(String, String)> =
        farmhouse::http::endpoints().iter().map(|e| (e.method.to_string(), e.path.replace("{*", "{"))).collect();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(undocumented.is_empty(), "served but not in the document: {undocumented:?}");
    assert!(unserved.is_empty(), "in the document but not served: {unserved:?}");

    // Every operation says what it answers, with a schema for its successful body.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            let ok = responses.iter().find(|(code, _)| code.starts_with('2')).map(|(_, r)| r);
            let ok = ok.unwrap_or_else(|| panic!("{method} {path} documents no success"));
            if ok.get("content").is_some() {
                let has_schema = ok["content"].as_object().unwrap().values().all(|c| c.get("schema").is_some());
                assert!(has_schema, "{method} {path}: a success body without a schema");
            }
        }
    }
}
