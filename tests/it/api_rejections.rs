//! Bad input gets a 4xx problem+json that names the field, and changes nothing: a corpus of bad
//! requests, each checked against the row counts of every table before and after.

use crate::common;

use crate::common::TestDb;
use crate::common::api::{Api, geometry, house_feature, listing_body, parcel_feature, transaction_body};
use crate::common::fixtures;
use farmhouse::domain::roles::Role;
use serde_json::{Value, json};
use sqlx::PgPool;

const TABLES: [&str; 10] = [
    "parcels",
    "farmhouses",
    "parties",
    "appraisals",
    "listings",
    "transactions",
    "certifications",
    "farmhouse_photos",
    "certificate_counters",
    "history",
];

async fn counts(pool: &PgPool) -> Vec<i64> {
    let mut out = Vec::new();
    for t in TABLES {
        out.push(sqlx::query_scalar(&format!("select count(*) from {t}")).fetch_one(pool).await.unwrap());
    }
    out
}

/// One bad request: what it is, how it is sent, the status it must get, and the field it must name
/// (`None` when the whole body is at fault).
struct Case {
    what: &'static str,
    method: &'static str,
    path: String,
    content_type: &'static str,
    body: Vec<u8>,
    status: u16,
    field: Option<&'static str>,
}

fn json_case(what: &'static str, path: String, body: Value, status: u16, field: &'static str) -> Case {
    Case {
        what,
        method: "POST",
        path,
        content_type: "application/json",
        body: body.to_string().into_bytes(),
        status,
        field: Some(field),
    }
}

/// `v` with the value at `pointer` set (added, if its parent is an object without it).
fn with(mut v: Value, pointer: &str, value: Value) -> Value {
    if let Some(slot) = v.pointer_mut(pointer) {
        *slot = value;
        return v;
    }
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    v.pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("no {parent}"))
        .insert(key.into(), value);
    v
}

/// `feature` with a height added to every position of its polygon.
fn with_heights(mut feature: Value) -> Value {
    for ring in feature["geometry"]["coordinates"].as_array_mut().unwrap() {
        for position in ring.as_array_mut().unwrap() {
            position.as_array_mut().unwrap().push(json!(12.5));
        }
    }
    feature
}

fn without(mut v: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    v.pointer_mut(parent).unwrap().as_object_mut().unwrap().remove(key);
    v
}

#[tokio::test]
async fn bad_requests_are_refused_naming_the_field_and_change_nothing() {
    let db = TestDb::with_district().await;
    let api = Api::new(common::spawn_app_as(db.pool.clone(), Role::Officer).await);
    // What exists: house 1 (registered), house 2 with an open listing, house 3 contracted.
    let house1 = api.house(1).await;
    let house2 = api.house(2).await;
    let open_listing = api.list(house2).await;
    let (_, deal) = api.contracted(3).await;
    let lessee = api.investor(9).await;

    let houses = "/api/v1/farmhouses".to_string();
    let parcels = "/api/v1/parcels".to_string();
    let parties = "/api/v1/parties".to_string();
    let list_house1 = format!("/api/v1/farmhouses/{house1}/listings");
    let sign = format!("/api/v1/listings/{open_listing}/transactions");
    let appraise = format!("/api/v1/farmhouses/{house1}/appraisals");
    // House 4's parcel exists, so only the fault under test is wrong.
    api.parcel(4).await;
    let h = house_feature(4);
    let tx = transaction_body(lessee, "HT-BAD-0001");
    let appraisal = json!({"report_no": "SYPG-2019-0042", "firm": "评估公司", "appraiser": "李四", "method": "收益法",
                           "valuation_date": "2019-12-01", "value_yuan": 350000, "annual_rent_yuan": 11800,
                           "valid_until": "2020-12-01"});
    let (lon, lat) = fixtures::CENTRE;
    let (x, y) = (lon + 400.0 / 96_490.0, lat);
    let bowtie = json!({"type": "Polygon", "coordinates": [[[x, y], [x + 1e-4, y + 1e-4], [x + 1e-4, y], [x, y + 1e-4], [x, y]]]});
    let beijing = json!({"type": "Polygon", "coordinates": [[[116.4, 39.9], [116.4001, 39.9], [116.4001, 39.9001], [116.4, 39.9]]]});

    let mut corpus = vec![
        Case {
            what: "malformed JSON",
            method: "POST",
            path: houses.clone(),
            content_type: "application/json",
            body: b"{\"type\": \"Feature\", ".to_vec(),
            status: 400,
            field: Some("body"),
        },
        Case {
            what: "not JSON at all",
            method: "POST",
            path: houses.clone(),
            content_type: "application/json",
            body: b"unit_number=330604001001JC00004F00010001".to_vec(),
            status: 400,
            field: Some("body"),
        },
        Case {
            what: "wrong content type",
            method: "POST",
            path: houses.clone(),
            content_type: "text/plain",
            body: h.to_string().into_bytes(),
            status: 415,
            field: None,
        },
        Case {
            what: "oversized body",
            method: "POST",
            path: houses.clone(),
            content_type: "application/json",
            body: with(h.clone(), "/properties/description", json!("字".repeat(700_000))).to_string().into_bytes(),
            status: 413,
            field: None,
        },
        json_case("a JSON array for a feature", houses.clone(), json!([h.clone()]), 422, "body"),
        json_case(
            "type is not Feature",
            houses.clone(),
            with(h.clone(), "/type", json!("FeatureCollection")),
            422,
            "type",
        ),
        json_case(
            "unit number too short",
            houses.clone(),
            with(h.clone(), "/properties/unit_number", json!("330604001001JC00004F0001")),
            422,
            "properties.unit_number",
        ),
        json_case(
            "unit number on state construction land",
            houses.clone(),
            with(h.clone(), "/properties/unit_number", json!("330604001001GB00004F00010001")),
            422,
            "properties.unit_number.land_right",
        ),
        json_case(
            "unit number without a building",
            houses.clone(),
            with(h.clone(), "/properties/unit_number", json!("330604001001JC00004W00000000")),
            422,
            "properties.unit_number.fixture_code",
        ),
        json_case(
            "unit number with letters in the county",
            houses.clone(),
            with(h.clone(), "/properties/unit_number", json!("33O604001001JC00004F00010001")),
            422,
            "properties.unit_number.county_code",
        ),
        json_case(
            "unit number with zero building number",
            houses.clone(),
            with(h.clone(), "/properties/unit_number", json!("330604001001JC00004F00000001")),
            422,
            "properties.unit_number.building",
        ),
        json_case(
            "SQL in the unit number",
            houses.clone(),
            with(h.clone(), "/properties/unit_number", json!("330604001001JC00004F'; drop table farmhouses; --")),
            422,
            "properties.unit_number",
        ),
        json_case(
            "unit number of a parcel not registered",
            houses.clone(),
            with(h.clone(), "/properties/unit_number", json!("330604001001JC00777F00010001")),
            422,
            "properties.unit_number",
        ),
        json_case("unit number already registered", houses.clone(), house_feature(1), 409, "properties.unit_number"),
        json_case(
            "self-intersecting footprint",
            houses.clone(),
            with(h.clone(), "/geometry", bowtie.clone()),
            422,
            "geometry",
        ),
        json_case(
            "footprint outside the district",
            houses.clone(),
            with(h.clone(), "/geometry", beijing.clone()),
            422,
            "geometry",
        ),
        json_case(
            "footprint outside its parcel",
            houses.clone(),
            with(h.clone(), "/geometry", geometry(&fixtures::square(430.0, 0.0, 12.0))),
            422,
            "geometry",
        ),
        json_case(
            "footprint is a point",
            houses.clone(),
            with(h.clone(), "/geometry", json!({"type": "Point", "coordinates": [lon, lat]})),
            422,
            "geometry",
        ),
        json_case(
            "footprint in projected metres",
            houses.clone(),
            with(
                h.clone(),
                "/geometry",
                json!({"type": "Polygon", "coordinates": [[[587000, 3325000], [587010, 3325000], [587010, 3325010], [587000, 3325000]]]}),
            ),
            422,
            "geometry",
        ),
        json_case(
            "footprint ring not closed",
            houses.clone(),
            with(h.clone(), "/geometry/coordinates/0/4", json!([x, y + 1e-5])),
            422,
            "geometry",
        ),
        json_case("no footprint", houses.clone(), without(h.clone(), "/geometry"), 422, "geometry"),
        json_case(
            "zero floors",
            houses.clone(),
            with(h.clone(), "/properties/floors", json!(0)),
            422,
            "properties.floors",
        ),
        json_case(
            "floors as words",
            houses.clone(),
            with(h.clone(), "/properties/floors", json!("two")),
            422,
            "properties.floors",
        ),
        json_case(
            "negative floor area",
            houses.clone(),
            with(h.clone(), "/properties/floor_area_m2", json!(-288)),
            422,
            "properties.floor_area_m2",
        ),
        json_case(
            "floor area with three decimals",
            houses.clone(),
            with(h.clone(), "/properties/floor_area_m2", json!(288.125)),
            422,
            "properties.floor_area_m2",
        ),
        json_case(
            "built in 1800",
            houses.clone(),
            with(h.clone(), "/properties/year_built", json!(1800)),
            422,
            "properties.year_built",
        ),
        json_case(
            "unknown structure",
            houses.clone(),
            with(h.clone(), "/properties/structure", json!("茅草")),
            422,
            "properties.structure",
        ),
        json_case(
            "unknown condition",
            houses.clone(),
            with(h.clone(), "/properties/condition", json!("<script>alert(1)</script>")),
            422,
            "properties.condition",
        ),
        json_case(
            "unknown property",
            houses.clone(),
            with(h.clone(), "/properties/owner_name", json!("王五")),
            422,
            "properties",
        ),
        json_case(
            "description too long",
            houses.clone(),
            with(h.clone(), "/properties/description", json!("长".repeat(2001))),
            422,
            "properties.description",
        ),
        json_case(
            "homestead code on undetermined land",
            parcels.clone(),
            with(parcel_feature(5), "/properties/parcel_code", json!("330604001001ZC00005")),
            422,
            "properties.parcel_code.land_right",
        ),
        json_case(
            "land-use code with a letter",
            parcels.clone(),
            with(parcel_feature(5), "/properties/land_use", json!("07A2")),
            422,
            "properties.land_use",
        ),
        json_case(
            "parcel overlapping another",
            parcels.clone(),
            with(parcel_feature(5), "/geometry", geometry(&fixtures::square(110.0, 0.0, 40.0))),
            409,
            "geometry",
        ),
        json_case(
            "parcel of an unknown township",
            parcels.clone(),
            with(parcel_feature(5), "/properties/township_code", json!("330604999")),
            422,
            "properties.township_code",
        ),
        json_case(
            "notice period of six days",
            list_house1.clone(),
            with(listing_body(), "/notice_end", json!("2020-01-07")),
            422,
            "notice_end",
        ),
        json_case(
            "unknown use",
            list_house1.clone(),
            with(listing_body(), "/allowed_uses/1", json!("赌场")),
            422,
            "allowed_uses[1]",
        ),
        json_case(
            "maximum term of 25 years",
            list_house1.clone(),
            with(listing_body(), "/max_term_months", json!(300)),
            422,
            "max_term_months",
        ),
        json_case(
            "negative asking rent",
            list_house1.clone(),
            with(listing_body(), "/asking_rent_yuan", json!(-12000)),
            422,
            "asking_rent_yuan",
        ),
        json_case(
            "asking rent with a fraction of a fen",
            list_house1.clone(),
            with(listing_body(), "/asking_rent_yuan", json!(12000.005)),
            422,
            "asking_rent_yuan",
        ),
        json_case(
            "a 21-year lease",
            sign.clone(),
            with(tx.clone(), "/lease_end", json!("2041-02-01")),
            422,
            "lease_end",
        ),
        json_case(
            "a lease that ends before it starts",
            sign.clone(),
            with(tx.clone(), "/lease_end", json!("2019-02-01")),
            422,
            "lease_end",
        ),
        json_case(
            "negative total amount",
            sign.clone(),
            with(tx.clone(), "/total_amount_yuan", json!(-1)),
            422,
            "total_amount_yuan",
        ),
        json_case(
            "annual rent with a fraction of a fen",
            sign.clone(),
            with(tx.clone(), "/annual_rent_yuan", json!("12000.001")),
            422,
            "annual_rent_yuan",
        ),
        json_case("unknown transaction mode", sign.clone(), with(tx.clone(), "/mode", json!("拍卖")), 422, "mode"),
        json_case(
            "a use the listing does not allow",
            sign.clone(),
            with(tx.clone(), "/intended_use", json!("电商")),
            422,
            "intended_use",
        ),
        json_case(
            "a date that does not exist",
            sign.clone(),
            with(tx.clone(), "/lease_start", json!("2020-13-01")),
            422,
            "lease_start",
        ),
        json_case(
            "signed after the lease starts",
            sign.clone(),
            with(tx.clone(), "/signed_on", json!("2020-03-01")),
            422,
            "signed_on",
        ),
        json_case(
            "script in the contract number",
            sign.clone(),
            with(tx.clone(), "/contract_no", json!("<script>alert(1)</script>")),
            422,
            "contract_no",
        ),
        json_case(
            "an unknown lessee",
            sign.clone(),
            with(tx.clone(), "/lessee_party_id", json!(987654)),
            422,
            "lessee_party_id",
        ),
        json_case(
            "a lease for a listing that is not open",
            format!("/api/v1/listings/{}/transactions", open_listing + 1000),
            tx.clone(),
            404,
            "listing",
        ),
        json_case(
            "appraisal valid before it was made",
            appraise.clone(),
            with(appraisal.clone(), "/valid_until", json!("2019-01-01")),
            422,
            "valid_until",
        ),
        json_case(
            "unknown appraisal method",
            appraise.clone(),
            with(appraisal.clone(), "/method", json!("拍脑袋法")),
            422,
            "method",
        ),
        json_case(
            "ID-card number with a wrong check digit",
            parties.clone(),
            json!({"kind": "person", "name": "赵六", "id_number": "110105194912310021"}),
            422,
            "id_number",
        ),
        json_case(
            "a household with a credit code",
            parties.clone(),
            json!({"kind": "household", "name": "赵六", "id_number": fixtures::id_number(77), "credit_code": fixtures::credit_code(77)}),
            422,
            "credit_code",
        ),
        json_case(
            "an empty name",
            parties.clone(),
            json!({"kind": "person", "name": "  ", "id_number": fixtures::id_number(78)}),
            422,
            "name",
        ),
        json_case(
            "a revocation without a reason",
            "/api/v1/certifications/1/revoke".into(),
            json!({"reason": ""}),
            422,
            "reason",
        ),
        json_case("a footprint with heights", houses.clone(), with_heights(h.clone()), 422, "geometry"),
        json_case("a parcel boundary with heights", parcels.clone(), with_heights(parcel_feature(5)), 422, "geometry"),
        json_case(
            "an organisation as a house's owner",
            houses.clone(),
            with(h.clone(), "/properties/owner_party_id", json!(lessee)),
            422,
            "properties.owner_party_id",
        ),
        json_case(
            "a look-alike village with a zero-width space",
            parcels.clone(),
            with(parcel_feature(5), "/properties/village", json!("长溪\u{200b}村")),
            422,
            "properties.village",
        ),
        json_case(
            "a village with a right-to-left override",
            parcels.clone(),
            with(parcel_feature(5), "/properties/village", json!("\u{202e}村溪长")),
            422,
            "properties.village",
        ),
        json_case(
            "a description with a bell",
            houses.clone(),
            with(h.clone(), "/properties/description", json!("两层\u{7}砖混")),
            422,
            "properties.description",
        ),
        json_case(
            "a name with a zero-width joiner",
            parties.clone(),
            json!({"kind": "person", "name": "赵\u{200d}六", "id_number": fixtures::id_number(79)}),
            422,
            "name",
        ),
        json_case(
            "a name over two lines",
            parties.clone(),
            json!({"kind": "person", "name": "赵六\n王五", "id_number": fixtures::id_number(80)}),
            422,
            "name",
        ),
        json_case(
            "an address with a byte-order mark",
            parties.clone(),
            json!({"kind": "person", "name": "赵六", "id_number": fixtures::id_number(81), "address": "\u{feff}青山村8号"}),
            422,
            "address",
        ),
        json_case(
            "an appraisal firm with a left-to-right mark",
            appraise.clone(),
            with(appraisal.clone(), "/firm", json!("评估\u{200e}公司")),
            422,
            "firm",
        ),
        json_case(
            "a listing title with an escape character",
            list_house1.clone(),
            with(listing_body(), "/title", json!("\u{1b}[31m芋艿湾")),
            422,
            "title",
        ),
    ];
    corpus.push(Case {
        what: "If-Match that is not our ETag",
        method: "PATCH",
        path: format!("/api/v1/farmhouses/{house1}"),
        content_type: "application/json",
        body: json!({"properties": {"floors": 3}}).to_string().into_bytes(),
        status: 400,
        field: Some("If-Match"),
    });
    corpus.push(json_case(
        "certifying a deal that does not exist",
        "/api/v1/transactions/987654/certify".into(),
        json!({}),
        404,
        "transaction",
    ));
    // Certify the contracted deal, then try again: the second is a conflict.
    api.post(&format!("/api/v1/transactions/{deal}/certify"), &json!({})).await.expect(201);
    corpus.push(json_case(
        "certifying a deal twice",
        format!("/api/v1/transactions/{deal}/certify"),
        json!({}),
        409,
        "status",
    ));
    assert!(corpus.len() >= 40, "{} cases", corpus.len());

    for case in &corpus {
        let before = counts(&db.pool).await;
        let url = format!("{}{}", api.base, case.path);
        let mut req = match case.method {
            "POST" => api.client.post(url),
            "PATCH" => api.client.patch(url).header("if-match", "not-a-tag"),
            other => panic!("{other}"),
        };
        req = req.header("content-type", case.content_type).body(case.body.clone());
        let reply = api.send(req).await;
        assert_eq!(reply.status, case.status, "{}: {}", case.what, reply.body);
        assert_eq!(reply.header("content-type"), "application/problem+json", "{}", case.what);
        if let Some(field) = case.field {
            let named = reply.body["field"].as_str().unwrap_or("");
            let detail = reply.body["detail"].as_str().unwrap_or("");
            let current = &reply.body["current"];
            let names_it = named == field
                || named.starts_with(&format!("{field}."))
                || detail.contains(field)
                || current.get(field).is_some();
            assert!(names_it, "{}: should name {field}: {}", case.what, reply.body);
        }
        assert_eq!(counts(&db.pool).await, before, "{} changed rows", case.what);
    }
}

#[tokio::test]
async fn a_nul_character_in_a_query_is_refused_naming_the_parameter() {
    let db = TestDb::with_district().await;
    let api = Api::new(common::spawn_app(db.pool.clone()).await);
    for (path, field) in [
        ("/api/v1/parcels?village=a%00b&after=106998", "village"),
        ("/api/v1/farmhouses?q=%00", "q"),
        ("/api/v1/listings?township=330604001%00", "township"),
        ("/collections/parcels/items?village=a%00b", "village"),
    ] {
        let reply = api.get(path).await.expect(400);
        assert_eq!(reply.body["field"], field, "{path}: {}", reply.body);
    }
}

// ---------------------------------------------------------------------------------------------------
// Geometry cost and the rules of parcels and listings (issue 13, rows 2, 5 and 6).

/// An officer's service over a district with house 1 (on parcel 1) registered.
async fn officer_with_a_house() -> (TestDb, Api, i64) {
    let db = TestDb::with_district().await;
    let api = Api::new(common::spawn_app_as(db.pool.clone(), Role::Officer).await);
    let house = api.house(1).await;
    (db, api, house)
}

/// Asserts a problem+json of `status` naming `field` whose detail says `says`, and that no table changed.
async fn assert_refused(db: &TestDb, reply: common::api::Reply, status: u16, field: &str, says: &str, before: &[i64]) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.header("content-type"), "application/problem+json");
    assert_eq!(reply.body["field"], field, "{}", reply.body);
    assert_eq!(reply.body["errors"][0]["field"], field, "{}", reply.body);
    let detail = reply.body["detail"].as_str().unwrap_or("");
    assert!(detail.contains(says), "{detail}");
    assert_eq!(counts(&db.pool).await, before, "a refused request changes nothing");
}

#[tokio::test]
async fn polygons_beyond_the_vertex_cap_are_refused_naming_geometry() {
    let (db, api, _) = officer_with_a_house().await;
    api.parcel(2).await;
    let before = counts(&db.pool).await;
    // The review's polygon: 40,000 vertices for one house, in under 1 MB (coordinates to about 1 cm).
    let mut house = house_feature(2);
    let rings: Vec<Vec<[f64; 2]>> =
        serde_json::from_value(fixtures::round_polygon(200.0, 5.0, 40_000, 0, 0)["coordinates"].clone()).unwrap();
    let cm = |x: f64| (x * 1e7).round() / 1e7;
    let rings: Vec<Vec<[f64; 2]>> = rings.iter().map(|r| r.iter().map(|p| [cm(p[0]), cm(p[1])]).collect()).collect();
    house["geometry"] = json!({"type": "Polygon", "coordinates": rings});
    assert!(house.to_string().len() < 1_000_000, "{} bytes", house.to_string().len());
    let reply = api.post("/api/v1/farmhouses", &house).await;
    assert_refused(&db, reply, 422, "geometry", "5000 positions", &before).await;
    // One position over the cap, for a parcel.
    let mut parcel = parcel_feature(3);
    parcel["geometry"] = fixtures::round_polygon(300.0, 15.0, 5_001, 0, 0);
    let reply = api.post("/api/v1/parcels", &parcel).await;
    assert_refused(&db, reply, 422, "geometry", "5000 positions", &before).await;
    // 101 holes (few positions in all), as a correction of parcel 2.
    let read = api.get("/api/v1/parcels?code=330604001001JC00002").await.expect(200);
    let (id, version) =
        (read.body["features"][0]["id"].as_i64().unwrap(), &read.body["features"][0]["properties"]["version"]);
    let patch =
        json!({"geometry": fixtures::round_polygon(200.0, 19.0, 40, 101, 4), "properties": {"version": version}});
    let reply = api.patch(&format!("/api/v1/parcels/{id}"), &patch, None).await;
    assert_refused(&db, reply, 422, "geometry", "100 holes", &before).await;
    // At the cap (4,000 positions in the outer ring and 100 holes of 10) a house is registered.
    house["geometry"] = fixtures::round_polygon(200.0, 5.0, 4_000, 100, 10);
    api.post("/api/v1/farmhouses", &house).await.expect(201);
}

#[tokio::test]
async fn a_listing_whose_notice_began_before_today_is_refused_naming_notice_start() {
    let (db, api, house) = officer_with_a_house().await;
    let before = counts(&db.pool).await;
    let listings = format!("/api/v1/farmhouses/{house}/listings");
    // The review's listing: notice 2026-09-01..2026-09-10, sent after it had ended.
    let body = with(with(listing_body(), "/notice_start", json!("2026-09-01")), "/notice_end", json!("2026-09-10"));
    let reply = api.post(&listings, &body).await;
    assert_refused(&db, reply, 422, "notice_start", "no earlier than the day it is recorded", &before).await;
    // Yesterday in Shangyu is past as well.
    let yesterday = fixtures::shanghai_today() - chrono::Duration::days(1);
    let body = with(
        with(listing_body(), "/notice_start", json!(yesterday)),
        "/notice_end",
        json!(yesterday + chrono::Duration::days(10)),
    );
    let reply = api.post(&listings, &body).await;
    assert_refused(&db, reply, 422, "notice_start", "no earlier than the day it is recorded", &before).await;
    assert_eq!(api.get(&format!("/api/v1/farmhouses/{house}")).await.body["properties"]["status"], "registered");
    // From tomorrow on, it is listed.
    let tomorrow = fixtures::shanghai_today() + chrono::Duration::days(1);
    let body = with(
        with(listing_body(), "/notice_start", json!(tomorrow)),
        "/notice_end",
        json!(tomorrow + chrono::Duration::days(14)),
    );
    api.post(&listings, &body).await.expect(201);
}

#[tokio::test]
async fn a_parcel_change_that_leaves_its_houses_outside_or_a_township_that_does_not_hold_it_is_refused() {
    let (db, api, _) = officer_with_a_house().await;
    let read = api.get("/api/v1/parcels?code=330604001001JC00001").await.expect(200);
    let parcel = read.body["features"][0].clone();
    let id = parcel["id"].as_i64().unwrap();
    let tag = api.get(&format!("/api/v1/parcels/{id}")).await.header("etag").to_string();
    let before = counts(&db.pool).await;
    // The review's case: shrunk to a 4 m square, which leaves its house outside.
    let shrunk = json!({"geometry": geometry(&fixtures::square(100.0, 0.0, 4.0))});
    let reply = api.patch(&format!("/api/v1/parcels/{id}"), &shrunk, Some(&tag)).await;
    assert_refused(&db, reply, 409, "geometry", "house", &before).await;
    let after = api.get(&format!("/api/v1/parcels/{id}")).await.expect(200);
    assert_eq!(after.body["geometry"], parcel["geometry"], "the boundary is unchanged");

    // A parcel of the district's north, 4 km from township 330604202's square: not under that code.
    sqlx::query(
        "insert into townships (code, name, kind, boundary)
         values ('330604202', '岭南乡', '乡', st_multi(st_makeenvelope(120.89, 30.04, 120.91, 30.06, 4326)))",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let before = counts(&db.pool).await;
    let elsewhere = with(parcel_feature(5), "/properties/township_code", json!("330604202"));
    let reply = api.post("/api/v1/parcels", &elsewhere).await;
    assert_refused(&db, reply, 422, "properties.township_code", "township", &before).await;
}

/// The lists of the JSON API: every GET under `/api/v1` that answers a collection (not one record, not
/// the session, the site or the OpenAPI document).
fn api_lists() -> Vec<farmhouse::http::routes::Endpoint> {
    farmhouse::http::endpoints()
        .into_iter()
        .filter(|e| e.method == axum::http::Method::GET && e.path.starts_with("/api/v1/"))
        .filter(|e| !e.path.ends_with('}'))
        .filter(|e| !["/api/v1/openapi.json", "/api/v1/session", "/api/v1/site"].contains(&e.path.as_str()))
        .collect()
}

#[tokio::test]
async fn an_unknown_query_parameter_on_a_list_is_refused_naming_it() {
    let db = TestDb::with_district().await;
    let mut apps = Vec::new();
    for role in [Role::Public, Role::Investor, Role::Officer, Role::Official, Role::Admin] {
        apps.push((role, Api::new(common::spawn_app_as(db.pool.clone(), role).await)));
    }
    let lists = api_lists();
    assert!(lists.len() >= 20, "{} lists", lists.len());
    for e in &lists {
        let (role, api) = apps.iter().find(|(role, _)| e.allow.admits(*role)).unwrap();
        let path = e.path.replace("{id}", "1");
        let reply = api.get(&format!("{path}?sort=name")).await;
        assert_eq!(reply.status, 400, "{path} as {role}: {}", reply.body);
        assert_eq!(reply.header("content-type"), "application/problem+json", "{path}");
        assert_eq!(reply.body["field"], "sort", "{path}: {}", reply.body);
        // A parameter the list takes is still taken, next to the unknown one or alone.
        if e.path == "/api/v1/farmhouses" {
            assert_eq!(api.get(&format!("{path}?limit=5&colour=red")).await.body["field"], "colour");
            api.get(&format!("{path}?limit=5")).await.expect(200);
        }
    }
    // OGC API – Features items refuse them too (the clients' own `f` is known).
    let public = &apps[0].1;
    assert_eq!(public.get("/collections/farmhouses/items?sort=name").await.expect(400).body["field"], "sort");
    public.get("/collections/farmhouses/items?f=json&limit=1").await.expect(200);
}

#[tokio::test]
async fn a_bbox_outside_longitude_and_latitude_or_upside_down_is_refused() {
    let db = TestDb::with_district().await;
    let api = Api::new(common::spawn_app(db.pool.clone()).await);
    for bbox in
        ["-181,-91,181,91", "120,29,181,31", "120,-91,121,31", "121,30,120,31", "120,31,121,30", "1,2,3", "a,b,c,d"]
    {
        for list in ["/api/v1/farmhouses", "/collections/farmhouses/items"] {
            let reply = api.get(&format!("{list}?bbox={bbox}")).await;
            assert_eq!(reply.status, 400, "{list} {bbox}: {}", reply.body);
            assert_eq!(reply.body["field"], "bbox", "{list} {bbox}");
        }
    }
    for list in ["/api/v1/farmhouses", "/collections/farmhouses/items"] {
        api.get(&format!("{list}?bbox=-180,-90,180,90")).await.expect(200);
        api.get(&format!("{list}?bbox=120.8,29.9,121.0,30.1")).await.expect(200);
    }
}

#[tokio::test]
async fn free_text_is_stored_nfc_normalised_so_filters_find_it() {
    let db = TestDb::with_district().await;
    let api = Api::new(common::spawn_app_as(db.pool.clone(), Role::Officer).await);
    // "Café" with a combining accent (NFD), and a CJK compatibility ideograph (U+F9B1, which NFC maps to
    // U+9234 鈴): each has one NFC form, the one stored.
    let decomposed = "青山村Cafe\u{301}\u{F9B1}";
    let composed = "青山村Caf\u{e9}\u{9234}";
    api.post("/api/v1/parcels", &with(parcel_feature(1), "/properties/village", json!(decomposed))).await.expect(201);
    let stored: String = sqlx::query_scalar("select village from parcels").fetch_one(&db.pool).await.unwrap();
    assert_eq!(stored, composed);
    for village in [composed, decomposed] {
        let reply = api
            .send(api.client.get(format!(
                "{}/api/v1/parcels?village={}",
                api.base,
                form_urlencoded::byte_serialize(village.as_bytes()).collect::<String>()
            )))
            .await
            .expect(200);
        assert_eq!(reply.body["features"].as_array().unwrap().len(), 1, "{village:?}");
    }
}

#[tokio::test]
async fn a_house_owner_is_a_person_or_a_household() {
    let db = TestDb::with_district().await;
    let api = Api::new(common::spawn_app_as(db.pool.clone(), Role::Officer).await);
    let house = api.house(1).await;
    let household = api.owner(1).await;
    let company = api.investor(2).await;
    let etag = api.get(&format!("/api/v1/farmhouses/{house}")).await.header("etag").to_string();

    // Made an organisation's by a correction: refused, naming the field, and nothing changes.
    let reply = api
        .patch(&format!("/api/v1/farmhouses/{house}"), &json!({"properties": {"owner_party_id": company}}), Some(&etag))
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert_eq!(reply.body["field"], "properties.owner_party_id");
    let reply = api
        .patch(
            &format!("/api/v1/farmhouses/{house}"),
            &json!({"properties": {"owner_party_id": household}}),
            Some(&etag),
        )
        .await
        .expect(200);
    assert_eq!(reply.body["properties"]["owner"]["id"], household);

    // The owner cannot become an organisation afterwards either, by any path into the database.
    let party_etag = api.get(&format!("/api/v1/parties/{household}")).await.header("etag").to_string();
    let reply = api
        .send(
            api.client
                .put(format!("{}/api/v1/parties/{household}", api.base))
                .header("if-match", party_etag)
                .json(&json!({"kind": "organisation", "name": "户主1", "credit_code": fixtures::credit_code(3)})),
        )
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert_eq!(reply.body["field"], "kind");
    let direct = sqlx::query("update farmhouses set owner_party_id = $1 where id = $2")
        .bind(company)
        .bind(house)
        .execute(&db.pool)
        .await;
    assert_eq!(fixtures::broken_constraint(direct), "farmhouses_owner_kind");
}
