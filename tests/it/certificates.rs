//! Certificates as a bank checks them: nothing about a certificate without the code printed on it, a
//! wrong code answered as an unknown number and throttled, and a state computed from the records on the
//! day asked (in force, ended, expired, revoked), whatever the house's state now.

use base64::Engine as _;
use serde_json::{Value, json};

use crate::common::api::Api;
use crate::common::{TestDb, spawn_app, spawn_app_as};
use farmhouse::domain::roles::Role;

/// An officer's service and the public's, over one database with a district.
async fn services() -> (TestDb, Api, Api) {
    let db = TestDb::with_district().await;
    let officer = Api::new(spawn_app_as(db.pool.clone(), Role::Officer).await);
    let public = Api::new(spawn_app(db.pool.clone()).await);
    (db, officer, public)
}

/// Certifies the lease of house `n`; returns (transaction id, the certificate as issued).
async fn certified(api: &Api, n: u32) -> (i64, Value) {
    let (_, t) = api.contracted(n).await;
    let cert = api.post(&format!("/api/v1/transactions/{t}/certify"), &json!({})).await.expect(201).body;
    (t, cert)
}

fn no_and_code(cert: &Value) -> (String, String) {
    (cert["certificate_no"].as_str().unwrap().to_string(), cert["verification_code"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn nothing_about_a_certificate_is_told_without_its_code() {
    fn values(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) if s.chars().count() >= 3 => out.push(s.clone()),
            Value::Number(n) if n.to_string().len() >= 3 => out.push(n.to_string()),
            Value::Object(o) => o.values().for_each(|v| values(v, out)),
            _ => {}
        }
    }
    let (_db, officer, public) = services().await;
    let (_, cert) = certified(&officer, 1).await;
    let (no, code) = no_and_code(&cert);
    let facts = public.get(&format!("/api/v1/verify/{no}?code={code}")).await.expect(200).body;
    assert_eq!(facts["state"], "in_force");
    // Every fact the certificate states (its frozen snapshot, as staff see it) and every fact the right
    // code shows, down to the parties' masked names.
    let mut shown = Vec::new();
    values(&cert["facts"], &mut shown);
    let snapshot = shown.len();
    values(&facts, &mut shown);
    shown.retain(|s| s != &no && s != "in_force");
    assert!(snapshot >= 12, "{}", cert["facts"]);
    let without = public.get(&format!("/api/v1/verify/{no}")).await;
    assert_eq!(without.status, 400);
    assert_eq!(without.body["errors"][0]["field"], "code", "{}", without.body);
    let wrong = public.get(&format!("/api/v1/verify/{no}?code=WRONGONE")).await;
    // The document and the signed facts are as silent without the right code.
    let mut others = Vec::new();
    for route in ["document", "signed"] {
        let path = format!("/api/v1/certifications/{no}/{route}");
        let r = public.get(&path).await;
        assert_eq!((r.status, r.body["errors"][0]["field"].as_str()), (400, Some("code")), "{}", r.body);
        others.push(r);
        others.push(public.get(&format!("{path}?code=WRONGONE")).await.expect(404));
    }
    for answer in [&without, &wrong].into_iter().chain(&others) {
        let text = answer.body.to_string();
        for fact in &shown {
            // The date part of an issue time is enough to leak it.
            let fact = fact.split('T').next().unwrap();
            assert!(!text.contains(fact), "{fact:?} leaked in {text}");
        }
        assert!(!text.contains("in_force"), "{text}");
    }
    // A wrong code reads exactly as a number that does not exist.
    let unknown = public.get("/api/v1/verify/SY-JZ-2019-999999?code=WRONGONE").await;
    assert_eq!((wrong.status, unknown.status), (404, 404));
    assert_eq!(
        wrong.body["detail"].as_str().unwrap().replace(&no, "N"),
        unknown.body["detail"].as_str().unwrap().replace("SY-JZ-2019-999999", "N")
    );
    // The page is as silent.
    let page = public.client.get(format!("{}/verify/{no}", public.base)).send().await.unwrap();
    let html = page.text().await.unwrap();
    for fact in &shown {
        assert!(!html.contains(fact.split('T').next().unwrap()), "{fact:?} leaked in the page");
    }
}

#[tokio::test]
async fn twenty_wrong_codes_from_one_address_must_wait() {
    let (_db, officer, public) = services().await;
    let (_, cert) = certified(&officer, 1).await;
    let (no, code) = no_and_code(&cert);
    let mut statuses = Vec::new();
    for k in 0..20 {
        statuses.push(public.get(&format!("/api/v1/verify/{no}?code=WRONG{k:03}")).await.status);
    }
    let first_wait = statuses.iter().position(|s| *s == 429).expect("no wrong code was throttled");
    assert!(statuses[..first_wait].iter().all(|s| *s == 404), "{statuses:?}");
    let r = public.get(&format!("/api/v1/verify/{no}?code={code}")).await;
    assert_eq!(r.status, 429, "while it waits, even the right code is not checked: {}", r.body);
    assert!(r.header("retry-after").parse::<u64>().unwrap() >= 1);
}

#[tokio::test]
async fn a_certificate_is_in_force_then_ended_when_its_lease_ends_early() {
    let (_db, officer, public) = services().await;
    let (t, cert) = certified(&officer, 1).await;
    let (no, code) = no_and_code(&cert);
    let path = format!("/api/v1/verify/{no}?code={code}");
    assert_eq!(public.get(&path).await.expect(200).body["state"], "in_force");
    officer.post(&format!("/api/v1/transactions/{t}/end"), &json!({"on": "2023-06-30"})).await.expect(200);
    let v = public.get(&path).await.expect(200).body;
    assert_eq!((v["state"].as_str(), v["ended_on"].as_str()), (Some("ended"), Some("2023-06-30")), "{v}");

    // Its house is registered again; the certificate can still be revoked, and the house stays registered.
    let id = cert["id"].as_i64().unwrap();
    officer
        .post_as_admin(&format!("/api/v1/certifications/{id}/revoke"), &json!({"reason": "合同解除"}))
        .await
        .expect(200);
    let v = public.get(&path).await.expect(200).body;
    assert_eq!((v["state"].as_str(), v["revoke_reason"].as_str()), (Some("revoked"), Some("合同解除")), "{v}");
    assert!(v["revoked_at"].is_string(), "{v}");
    let house = cert["farmhouse_id"].as_i64().unwrap();
    assert_eq!(officer.get(&format!("/api/v1/farmhouses/{house}")).await.body["properties"]["status"], "registered");
}

#[tokio::test]
async fn a_certificate_whose_term_ran_out_is_expired_and_an_expired_lease_is_not_certified() {
    let (db, officer, public) = services().await;
    let (t, cert) = certified(&officer, 1).await;
    let (no, code) = no_and_code(&cert);
    // The term ran out (as if years had passed): the records say so, no flag is stored.
    sqlx::query("alter table transactions disable trigger user").execute(&db.admin).await.unwrap();
    sqlx::query("update transactions set lease_end = '2024-02-01' where id = $1")
        .bind(t)
        .execute(&db.admin)
        .await
        .unwrap();
    sqlx::query("alter table transactions enable trigger user").execute(&db.admin).await.unwrap();
    let v = public.get(&format!("/api/v1/verify/{no}?code={code}")).await.expect(200).body;
    assert_eq!(v["state"], "expired", "{v}");

    // A lease over before it is certified is refused, and nothing is issued.
    let (_, t2) = officer.contracted(2).await;
    sqlx::query("alter table transactions disable trigger user").execute(&db.admin).await.unwrap();
    sqlx::query("update transactions set lease_end = '2024-02-01' where id = $1")
        .bind(t2)
        .execute(&db.admin)
        .await
        .unwrap();
    sqlx::query("alter table transactions enable trigger user").execute(&db.admin).await.unwrap();
    let r = officer.post(&format!("/api/v1/transactions/{t2}/certify"), &json!({})).await.expect(409);
    assert!(r.body["detail"].as_str().unwrap().contains("ran to its end"), "{}", r.body);
    let issued: i64 = sqlx::query_scalar("select count(*) from certifications").fetch_one(&db.pool).await.unwrap();
    assert_eq!(issued, 1);
}

#[tokio::test]
async fn a_certificate_carries_the_year_of_its_issue_in_beijing() {
    let (_db, officer, _public) = services().await;
    let (_, cert) = certified(&officer, 1).await;
    let year = farmhouse::domain::lifecycle::beijing_today().format("%Y").to_string();
    let no = cert["certificate_no"].as_str().unwrap();
    assert!(no.starts_with(&format!("SY-JZ-{year}-")), "{no}");
}

#[tokio::test]
async fn a_certified_fact_is_not_changed_in_place_but_corrected_with_a_new_certificate() {
    let (db, officer, public) = services().await;
    let (_, cert) = certified(&officer, 1).await;
    let (no, code) = no_and_code(&cert);
    let house = cert["farmhouse_id"].as_i64().unwrap();
    let id = cert["id"].as_i64().unwrap();
    let before = officer.get(&format!("/api/v1/farmhouses/{house}")).await.expect(200);
    let summary = public.get("/api/v1/stats/summary").await.expect(200).body;

    // A PATCH of what the certificate states: 409 naming the certificate, and nothing changes.
    let tag = before.header("etag").to_string();
    let r = officer
        .patch(&format!("/api/v1/farmhouses/{house}"), &json!({"properties": {"floor_area_m2": 300.0}}), Some(&tag))
        .await
        .expect(409);
    assert!(r.body["detail"].as_str().unwrap().contains(&no), "{}", r.body);
    assert_eq!(r.body["current"]["certificate_no"], no.as_str());
    let after = officer.get(&format!("/api/v1/farmhouses/{house}")).await.expect(200);
    assert_eq!(after.body["properties"], before.body["properties"]);
    // A fact it does not state may still be corrected in place.
    officer
        .patch(&format!("/api/v1/farmhouses/{house}"), &json!({"properties": {"floors": 3}}), Some(&tag))
        .await
        .expect(200);

    // A correction of the structure: the old certificate revoked with the reason, a new one issued.
    let body = json!({"reason": "结构登记有误", "structure": "钢混"});
    let new = officer.post_as_admin(&format!("/api/v1/certifications/{id}/correction"), &body).await.expect(201).body;
    assert_ne!(new["certificate_no"], cert["certificate_no"]);
    assert_eq!((new["facts"]["structure"].as_str(), new["state"].as_str()), (Some("钢混"), Some("in_force")));
    let old = public.get(&format!("/api/v1/verify/{no}?code={code}")).await.expect(200).body;
    assert_eq!((old["state"].as_str(), old["revoke_reason"].as_str()), (Some("revoked"), Some("结构登记有误")));
    let old_facts = officer.get(&format!("/api/v1/certifications/{id}")).await.expect(200).body;
    assert_eq!(old_facts["facts"]["structure"], "砖混", "the revoked certificate still says what it said");
    // The area is unchanged, so are the figures.
    let now = public.get("/api/v1/stats/summary").await.expect(200).body;
    for key in ["certified_houses", "certified_floor_area_m2", "transaction_amount_yuan"] {
        assert_eq!(now[key], summary[key], "{key}");
    }
    // Both steps are in the history.
    let entries: i64 = sqlx::query_scalar(
        "select count(*) from history where table_name = 'certifications' and record_id in ($1, $2)",
    )
    .bind(id)
    .bind(new["id"].as_i64().unwrap())
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(entries >= 3, "issue, revocation and the new issue: {entries}");
}

#[tokio::test]
async fn the_facts_are_frozen_in_the_database_too() {
    let (db, officer, _public) = services().await;
    let (_, cert) = certified(&officer, 1).await;
    let id = cert["id"].as_i64().unwrap();
    let r = sqlx::query("update certifications set facts = jsonb_set(facts, '{floor_area_m2}', '1') where id = $1")
        .bind(id)
        .execute(&db.pool)
        .await;
    assert!(r.unwrap_err().to_string().contains("can only be revoked"));
    let house = cert["farmhouse_id"].as_i64().unwrap();
    let r = sqlx::query("update farmhouses set floor_area_m2 = 1 where id = $1").bind(house).execute(&db.pool).await;
    assert!(r.unwrap_err().to_string().contains("certified by"));
}

/// Runs `program` (from Debian package `package`, which `make test` installs), panicking if it is missing.
pub(crate) fn run(program: &str, args: &[&str], package: &str) -> std::process::Output {
    std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} (Debian package {package}) cannot run: {e}"))
}

/// What `out` printed, panicking with its errors if it failed.
pub(crate) fn stdout(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A house let to a person (whose name the public copy masks); returns the certificate and the name.
async fn certified_to_a_person(officer: &Api) -> (Value, String) {
    let house = officer.house(1).await;
    let listing = officer.list(house).await;
    let name = "王小明";
    let person = officer
        .post(
            "/api/v1/parties",
            &json!({"kind": "person", "name": name, "id_number": crate::common::fixtures::id_number(7)}),
        )
        .await
        .expect(201)
        .body["id"]
        .as_i64()
        .unwrap();
    let t = officer.sign(listing, person, "HT-2026-0007").await;
    let cert = officer.post(&format!("/api/v1/transactions/{t}/certify"), &json!({})).await.expect(201).body;
    (cert, name.to_string())
}

/// A GET's status, content type and body as bytes.
pub(crate) async fn bytes(api: &Api, path: &str) -> (u16, String, Vec<u8>) {
    let res = api.client.get(format!("{}{path}", api.base)).send().await.unwrap();
    let status = res.status().as_u16();
    let kind = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, kind, res.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn the_document_is_an_a4_pdf_whose_text_a_reader_extracts_and_whose_qr_code_a_scanner_reads() {
    let (_db, officer, public) = services().await;
    let (cert, full_name) = certified_to_a_person(&officer).await;
    let (no, code) = no_and_code(&cert);
    let facts = &cert["facts"];
    let path = format!("/api/v1/certifications/{no}/document");

    // No code, a wrong code: nothing printed.
    let without = public.get(&path).await;
    assert_eq!((without.status, without.body["errors"][0]["field"].as_str()), (400, Some("code")), "{}", without.body);
    assert_eq!(public.get(&format!("{path}?code=WRONGONE")).await.status, 404);

    let (status, kind, pdf) = bytes(&public, &format!("{path}?code={code}")).await;
    assert_eq!((status, kind.as_str()), (200, "application/pdf"));
    assert!(pdf.starts_with(b"%PDF-"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("certificate.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let file = file.to_str().unwrap();

    let info = stdout(&run("pdfinfo", &[file], "poppler-utils"));
    assert!(info.contains("595.") && info.contains("841.") && info.contains("(A4)"), "{info}");
    let fonts = stdout(&run("pdffonts", &[file], "poppler-utils"));
    assert!(fonts.lines().skip(2).all(|l| l.contains(" yes ")), "every font embedded:\n{fonts}");

    let text = stdout(&run("pdftotext", &["-layout", file, "-"], "poppler-utils"));
    let masked = facts["lessee"]["name"].as_str().unwrap();
    assert_eq!(masked, "王**");
    for expected in [
        "农房使用权流转鉴证书",
        no.as_str(),
        facts["unit_number"].as_str().unwrap(),
        facts["village"].as_str().unwrap(),
        facts["contract_no"].as_str().unwrap(),
        masked,
        code.as_str(),
        "公众副本",
    ] {
        assert!(text.contains(expected), "{expected:?} is not in the document's text:\n{text}");
    }
    assert!(!text.contains(&full_name), "the public copy names the lessee in full:\n{text}");

    // The QR code, read off the page as a scanner would, is the verification URL with the code.
    let page = dir.path().join("page");
    stdout(&run("pdftoppm", &["-r", "150", "-png", "-singlefile", file, page.to_str().unwrap()], "poppler-utils"));
    let png = format!("{}.png", page.display());
    let qr = stdout(&run("zbarimg", &["--raw", "-q", &png], "zbar-tools"));
    assert_eq!(qr.trim(), format!("{}/verify/{no}?code={code}", public.base));
    // …which the verification page answers with the certificate in force.
    let html = public.client.get(qr.trim()).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(&no) && html.contains("有效"), "{html}");

    // The officer's copy names the parties in full; the public cannot ask for it.
    let (status, _, pdf) = bytes(&officer, &format!("{path}?code={code}&copy=officer")).await;
    assert_eq!(status, 200);
    std::fs::write(dir.path().join("officer.pdf"), &pdf).unwrap();
    let text = stdout(&run("pdftotext", &[dir.path().join("officer.pdf").to_str().unwrap(), "-"], "poppler-utils"));
    assert!(text.contains(&full_name) && text.contains("经办人副本"), "{text}");
    assert_eq!(public.get(&format!("{path}?code={code}&copy=officer")).await.status, 403);
    let bad = public.get(&format!("{path}?code={code}&copy=bank")).await;
    assert_eq!((bad.status, bad.body["errors"][0]["field"].as_str()), (422, Some("copy")), "{}", bad.body);
}

#[tokio::test]
async fn a_revoked_certificate_s_document_says_so() {
    let (_db, officer, public) = services().await;
    let (_, cert) = certified(&officer, 1).await;
    let (no, code) = no_and_code(&cert);
    let id = cert["id"].as_i64().unwrap();
    officer
        .post_as_admin(&format!("/api/v1/certifications/{id}/revoke"), &json!({"reason": "合同无效"}))
        .await
        .expect(200);
    let (status, _, pdf) = bytes(&public, &format!("/api/v1/certifications/{no}/document?code={code}")).await;
    assert_eq!(status, 200);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("revoked.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let text = stdout(&run("pdftotext", &[file.to_str().unwrap(), "-"], "poppler-utils"));
    assert!(text.contains("撤销") && text.contains("合同无效"), "{text}");
}

/// Checks compact JWS `token` against JWK Set `jwks` with joserfc (Python), a JOSE implementation of
/// its own; returns the payload, or None if it refuses.
fn joserfc_verify(dir: &std::path::Path, token: &str, jwks: &str) -> Option<Value> {
    let (t, k) = (dir.join("token.jws"), dir.join("jwks.json"));
    std::fs::write(&t, token).unwrap();
    std::fs::write(&k, jwks).unwrap();
    let script = "import json, sys, warnings\n\
                  warnings.simplefilter('ignore')\n\
                  from joserfc import jws\n\
                  from joserfc.jwk import KeySet\n\
                  keys = KeySet.import_key_set(json.load(open(sys.argv[2])))\n\
                  obj = jws.deserialize_compact(open(sys.argv[1]).read().strip(), keys, algorithms=['EdDSA'])\n\
                  print(obj.payload.decode())\n";
    let out = run("python3", &["-c", script, t.to_str().unwrap(), k.to_str().unwrap()], "python3 (pip: joserfc)");
    if out.status.success() {
        Some(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("ModuleNotFoundError"), "joserfc is not installed: {err}");
        None
    }
}

/// `farmhouse certificate verify` of `token` offline against the JWK Set file `jwks`.
fn cli_verify(dir: &std::path::Path, token: &str, jwks: &str) -> std::process::Output {
    let (t, k) = (dir.join("cli.jws"), dir.join("cli-jwks.json"));
    std::fs::write(&t, token).unwrap();
    std::fs::write(&k, jwks).unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_farmhouse"))
        .args(["certificate", "verify", t.to_str().unwrap(), "--jwks", k.to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

#[tokio::test]
async fn the_signed_facts_verify_with_another_jose_implementation_and_offline_and_one_changed_digit_fails() {
    let (_db, officer, public) = services().await;
    let (_, cert) = certified(&officer, 1).await;
    let (no, code) = no_and_code(&cert);
    assert_eq!(public.get(&format!("/api/v1/certifications/{no}/signed")).await.status, 400);
    assert_eq!(public.get(&format!("/api/v1/certifications/{no}/signed?code=WRONGONE")).await.status, 404);
    let (status, kind, token) = bytes(&public, &format!("/api/v1/certifications/{no}/signed?code={code}")).await;
    assert_eq!((status, kind.as_str()), (200, "application/jose"));
    let token = String::from_utf8(token).unwrap();
    let (status, kind, jwks) = bytes(&public, "/.well-known/jwks.json").await;
    assert_eq!((status, kind.as_str()), (200, "application/jwk-set+json"));
    let jwks = String::from_utf8(jwks).unwrap();
    let set: Value = serde_json::from_str(&jwks).unwrap();
    assert_eq!((set["keys"][0]["kty"].as_str(), set["keys"][0]["crv"].as_str()), (Some("OKP"), Some("Ed25519")));
    assert!(set["keys"][0].get("d").is_none(), "the private half is never published: {set}");

    let dir = tempfile::tempdir().unwrap();
    let payload = joserfc_verify(dir.path(), &token, &jwks).expect("joserfc accepts the signature");
    assert_eq!(payload, cert["facts"], "the payload is the frozen facts");
    let cli = cli_verify(dir.path(), &token, &jwks);
    assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));
    assert_eq!(serde_json::from_slice::<Value>(&cli.stdout).unwrap(), cert["facts"]);

    // One digit of the floor area changed in the payload: both refuse it.
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    let text = String::from_utf8(b64.decode(parts[1]).unwrap()).unwrap();
    let area = cert["facts"]["floor_area_m2"].to_string();
    let changed_area = area.replacen('8', "9", 1);
    assert_ne!(area, changed_area);
    let forged = text.replacen(&format!("\"floor_area_m2\":{area}"), &format!("\"floor_area_m2\":{changed_area}"), 1);
    assert_ne!(forged, text, "{text}");
    let forged = format!("{}.{}.{}", parts[0], b64.encode(forged), parts[2]);
    assert_eq!(joserfc_verify(dir.path(), &forged, &jwks), None, "joserfc refuses a changed digit");
    let cli = cli_verify(dir.path(), &forged, &jwks);
    assert!(!cli.status.success(), "farmhouse certificate verify refuses a changed digit");
    assert!(String::from_utf8_lossy(&cli.stderr).contains("signature"), "{}", String::from_utf8_lossy(&cli.stderr));
}

#[tokio::test]
async fn each_county_numbers_its_certificates_with_its_own_letters() {
    use farmhouse::seed::district::certificate_prefix;
    assert_eq!(certificate_prefix("330604").unwrap(), "SY");
    assert_eq!(certificate_prefix("330603").unwrap(), "KQ");
    assert!(certificate_prefix("110101").is_err(), "a county outside the list has no letters");
    // A district without its letters is refused, rather than numbered as Shangyu's.
    let db = TestDb::with_district().await;
    let r = sqlx::query(
        "insert into districts (county_code, name, outline) select '330603', '柯桥区', outline from districts",
    )
    .execute(&db.pool)
    .await;
    assert!(r.is_err(), "a district without a certificate prefix was stored");
}
