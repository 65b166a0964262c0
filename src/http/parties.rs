//! `/api/v1/parties`: owners and lessees. Their identity is private: this module's [`PartyView`] is the
//! one place that decides what of it a caller sees (officers all; officials names and masked ID
//! numbers; nobody else anything).

use axum::extract::{OriginalUri, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::json::Json;
use super::query::Query;
use super::routes::{Allow, Endpoint, route};
use super::shapes::{IfMatch, List, etag, page};
use super::{AppState, Error, Problem, Result};
use crate::domain::checks::{Checks, nfc, one_of, text};
use crate::domain::identity;
use crate::domain::roles::{Privacy, Role, mask_id_number};
use crate::store::parties::{self, IdNumberMatch, PartyFields, PartyFilter, PartyRow};
use crate::store::{self, Page};
use utoipa_axum::routes;

/// A party as the caller may see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartyView {
    pub id: i64,
    /// person, household or organisation.
    pub kind: String,
    pub name: String,
    /// Officers see it whole, officials masked (`3306**********1234`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit_code: Option<String>,
    /// Officers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Officers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
}

/// What of a party's identity `role` may see; `None` when nothing at all.
pub struct Identity<'a> {
    pub id: i64,
    pub kind: &'a str,
    pub name: &'a str,
    pub id_number: Option<&'a str>,
    pub credit_code: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub address: Option<&'a str>,
}

impl PartyView {
    pub fn for_role(p: Identity<'_>, role: Role) -> Option<PartyView> {
        let full = match role.privacy() {
            Privacy::None => return None,
            Privacy::Masked => false,
            Privacy::Full => true,
        };
        Some(PartyView {
            id: p.id,
            kind: p.kind.to_string(),
            name: p.name.to_string(),
            id_number: p.id_number.map(|n| if full { n.to_string() } else { mask_id_number(n) }),
            credit_code: p.credit_code.map(str::to_string),
            phone: if full { p.phone.map(str::to_string) } else { None },
            address: if full { p.address.map(str::to_string) } else { None },
            version: None,
        })
    }

    fn of_row(p: &PartyRow, role: Role) -> Option<PartyView> {
        let mut view = Self::for_role(
            Identity {
                id: p.id,
                kind: &p.kind,
                name: &p.name,
                id_number: p.id_number.as_deref(),
                credit_code: p.credit_code.as_deref(),
                phone: p.phone.as_deref(),
                address: p.address.as_deref(),
            },
            role,
        )?;
        view.version = Some(p.version);
        Some(view)
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PartyQuery {
    /// person, household or organisation.
    pub kind: Option<String>,
    /// Part of a name, or the start of a credit code or of an ID number (officers; officials, who see ID
    /// numbers masked, find one only by the whole number). `%` and `_` are characters, not patterns.
    pub q: Option<String>,
    /// Rows per page (1..=1000, default 100).
    pub limit: Option<i64>,
    /// Show rows after this id (the `next` link carries it).
    pub after: Option<i64>,
}

/// A party as an officer records it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartyIn {
    /// person, household or organisation.
    pub kind: String,
    pub name: String,
    /// 身份证号 of the person or head of household (not for organisations).
    pub id_number: Option<String>,
    /// 统一社会信用代码 of an organisation.
    pub credit_code: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    /// The version being replaced (for PUT, unless If-Match is sent).
    pub version: Option<i32>,
}

/// Checks a party with every field's rule; errors name the field.
fn check(p: &PartyIn) -> std::result::Result<PartyFields, Vec<crate::domain::FieldError>> {
    let mut c = Checks::default();
    let kind = c.check("kind", one_of(&p.kind, &["person", "household", "organisation"]));
    let name = c.check("name", text(&p.name, 1, 200));
    let organisation = p.kind == "organisation";
    match (&p.id_number, organisation) {
        (Some(n), false) => {
            c.check("id_number", identity::check_id_number(n));
        }
        (Some(_), true) => c.fail("id_number", "an organisation has a credit code, not an ID-card number"),
        (None, false) => c.fail("id_number", "a person or household needs the ID-card number (身份证号)"),
        (None, true) => {}
    }
    match (&p.credit_code, organisation) {
        (Some(code), true) => {
            c.check("credit_code", identity::check_credit_code(code));
        }
        (Some(_), false) => c.fail("credit_code", "only an organisation has a credit code"),
        (None, true) => c.fail("credit_code", "an organisation needs its unified social credit code"),
        (None, false) => {}
    }
    if let Some(phone) = &p.phone {
        c.check("phone", identity::check_phone(phone));
    }
    let address = p.address.as_deref().map(|a| c.check("address", text(a, 1, 300))).unwrap_or(None);
    c.finish(|| PartyFields {
        kind: kind.unwrap_or_default(),
        name: name.unwrap_or_default(),
        id_number: p.id_number.clone(),
        credit_code: p.credit_code.clone(),
        phone: p.phone.clone(),
        address,
    })
}

/// Whether `q` has the shape of an ID-card number (17 digits and a check character).
fn looks_like_id_number(q: &str) -> bool {
    let b = q.as_bytes();
    b.len() == 18 && b[..17].iter().all(u8::is_ascii_digit) && (b[17].is_ascii_digit() || b[17] == b'X')
}

fn respond(status: StatusCode, row: &PartyRow, role: Role) -> Response {
    let view = PartyView::of_row(row, role).expect("only staff reach party routes");
    (status, [(header::ETAG, etag("party", row.id, row.version))], axum::Json(view)).into_response()
}

async fn fetch(state: &AppState, id: i64) -> Result<PartyRow> {
    parties::get(&state.pool, id).await?.ok_or_else(|| Error::NotFound(format!("party {id}")))
}

/// Parties, newest last; private fields as the caller's role allows.
#[utoipa::path(get, path = "/api/v1/parties", tag = "parties", params(PartyQuery),
    responses((status = 200, body = List<PartyView>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    OriginalUri(uri): OriginalUri,
    Query(q): Query<PartyQuery>,
) -> Result<axum::Json<List<PartyView>>> {
    let page: Page = page(q.limit, q.after)?;
    let id_numbers = match caller.role.privacy() {
        Privacy::Full => IdNumberMatch::Prefix,
        Privacy::Masked | Privacy::None => IdNumberMatch::Whole,
    };
    let text = q.q.as_deref().filter(|s| !s.is_empty()).map(nfc);
    if let Some(t) = &text
        && id_numbers == IdNumberMatch::Whole
        && looks_like_id_number(t)
    {
        // Who looked a person up by a number they are not shown. Never the number; and no parent span,
        // because the request's span holds the URI, query string included.
        tracing::info!(
            parent: None,
            user = caller.username.as_deref().unwrap_or("-"),
            user_id = caller.user_id,
            role = %caller.role,
            "party search by a whole ID-card number",
        );
    }
    let filter = PartyFilter { kind: q.kind, q: text, id_numbers };
    let rows = parties::list(&state.pool, &filter, page).await?;
    let (rows, next) = page.split(rows, |r| r.id);
    let items = rows.iter().filter_map(|r| PartyView::of_row(r, caller.role)).collect();
    Ok(axum::Json(List::new(items, &uri, next)))
}

/// One party.
#[utoipa::path(get, path = "/api/v1/parties/{id}", tag = "parties", params(("id" = i64, Path)),
    responses((status = 200, body = PartyView), (status = 404, body = Problem)))]
pub async fn get(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>) -> Result<Response> {
    Ok(respond(StatusCode::OK, &fetch(&state, id).await?, caller.role))
}

/// Register a party.
#[utoipa::path(post, path = "/api/v1/parties", tag = "parties", request_body = PartyIn,
    responses((status = 201, body = PartyView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(State(state): State<AppState>, caller: Caller, Json(input): Json<PartyIn>) -> Result<Response> {
    let fields = check(&input)?;
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    let id = parties::insert(&mut tx, &fields).await?;
    tx.commit().await?;
    let mut res = respond(StatusCode::CREATED, &fetch(&state, id).await?, caller.role);
    res.headers_mut().insert(header::LOCATION, format!("/api/v1/parties/{id}").parse().expect("a path"));
    Ok(res)
}

/// Replace a party's details (If-Match).
#[utoipa::path(put, path = "/api/v1/parties/{id}", tag = "parties", request_body = PartyIn,
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "the ETag read")),
    responses((status = 200, body = PartyView), (status = 412, body = Problem), (status = 422, body = Problem),
              (status = 428, body = Problem)))]
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    if_match: IfMatch,
    Json(input): Json<PartyIn>,
) -> Result<Response> {
    let version = if_match.expected(input.version)?;
    let fields = check(&input)?;
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    parties::update(&mut tx, id, version, &fields).await?;
    tx.commit().await?;
    Ok(respond(StatusCode::OK, &fetch(&state, id).await?, caller.role))
}

/// The routes of this module, with who may call them.
pub fn routes() -> Vec<Endpoint> {
    vec![
        route(routes!(list), Allow::STAFF),
        route(routes!(create), Allow::OFFICERS),
        route(routes!(get), Allow::STAFF),
        route(routes!(replace), Allow::OFFICERS),
    ]
}
