//! `/api/v1/parties`: owners and lessees. Their identity is private: this module's [`PartyView`] is the
//! one place that decides what of it a caller sees (officers all; officials names and masked ID
//! numbers; nobody else anything).

use axum::extract::{OriginalUri, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Caller;
use super::json::Json;
use super::query::Query;
use super::routes::{Allow, Endpoint, route};
use super::shapes::{IfMatch, List, etag, page};
use super::{AppState, Error, Problem, Result};
use crate::domain::checks::nfc;
use crate::domain::identity::PartyKind;
pub use crate::domain::party::{PartyIn, check_party};
use crate::domain::roles::{Privacy, Role, mask_id_number};
use crate::store::parties::{self, IdNumberMatch, PartyFilter, PartyRow};
use crate::store::{self, Page};
use utoipa_axum::routes;

/// A party as the caller may see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartyView {
    pub id: i64,
    /// person, household, organisation or collective.
    pub kind: PartyKind,
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
    /// A household's adult members whose consent a lease needs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<i16>,
    /// A village collective's township and village.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub township_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub village: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
}

/// What of a party's identity `role` may see; `None` when nothing at all.
pub struct Identity<'a> {
    pub id: i64,
    pub kind: PartyKind,
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
            kind: p.kind,
            name: p.name.to_string(),
            id_number: p.id_number.map(|n| if full { n.to_string() } else { mask_id_number(n) }),
            credit_code: p.credit_code.map(str::to_string),
            phone: if full { p.phone.map(str::to_string) } else { None },
            address: if full { p.address.map(str::to_string) } else { None },
            members: None,
            township_code: None,
            village: None,
            version: None,
        })
    }

    fn of_row(p: &PartyRow, role: Role) -> Option<PartyView> {
        let mut view = Self::for_role(
            Identity {
                id: p.id,
                kind: p.kind,
                name: &p.name,
                id_number: p.id_number.as_deref(),
                credit_code: p.credit_code.as_deref(),
                phone: p.phone.as_deref(),
                address: p.address.as_deref(),
            },
            role,
        )?;
        view.version = Some(p.version);
        view.members = p.members;
        view.township_code.clone_from(&p.township_code);
        view.village.clone_from(&p.village);
        Some(view)
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
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
    let kind = q.kind.as_deref().filter(|k| !k.is_empty()).map(str::parse::<PartyKind>).transpose();
    let kind = kind.map_err(|e| Error::Malformed(vec![crate::domain::FieldError::new("kind", e)]))?;
    let filter = PartyFilter { kind, q: text, id_numbers };
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
    let fields = check_party(&input)?;
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
    let fields = check_party(&input)?;
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
