//! What a deal needs before its certificate (docs/DESIGN.md §2.5): its parties, the consent of the
//! household, the village committee and (for collective property) the members' meeting, the papers seen,
//! and the checklist that derives from them. Officers record them; staff read them, an official limited to
//! townships only within them. Copies of ID cards are for officers and admins alone.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::auth::Caller;
use super::json::Json;
use super::query::{NoQuery, Query};
use super::routes::{Allow, Endpoint, route};
use super::{AppState, Error, Problem, Result};
use crate::domain::records::{ConsentIn, ConsentKind, MAX_PAPER_BYTES, PaperKind, check_consent, check_paper};
use crate::domain::roles::{Privacy, Role};
use crate::store::deals::{self, ChecklistItem, ConsentRow, NewPaper, PaperMeta, PaperOf};
use crate::store::{self, farmhouses};
use utoipa_axum::routes;

/// The township of deal `id`, refusing a caller who may not see its private records (404 if no deal).
pub(super) async fn deal_in_scope(state: &AppState, caller: &Caller, id: i64) -> Result<String> {
    let township =
        deals::township_of(&state.pool, id).await?.ok_or_else(|| Error::NotFound(format!("transaction {id}")))?;
    caller.in_scope(&township)?;
    Ok(township)
}

async fn house_in_scope(state: &AppState, caller: &Caller, id: i64) -> Result<()> {
    let house = farmhouses::get(&state.pool, id).await?.ok_or_else(|| Error::NotFound(format!("farmhouse {id}")))?;
    caller.in_scope(&house.township_code)
}

// ---------------------------------------------------------------------------------------------------
// Parties

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DealPartiesIn {
    /// The household or person that lets the house: its owner of record (which it is when left out).
    pub lessor_party_id: Option<i64>,
    /// The village collective economic organisation (a party of kind collective).
    pub collective_party_id: Option<i64>,
}

/// Names the lessor and the village collective of a deal recorded before the registry kept them (or
/// corrects them before it is certified).
#[utoipa::path(put, path = "/api/v1/transactions/{id}/parties", tag = "transactions", request_body = DealPartiesIn,
    params(("id" = i64, Path)),
    responses((status = 200, body = super::activation::TransactionView), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn set_parties(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(input): Json<DealPartiesIn>,
) -> Result<Response> {
    deal_in_scope(&state, &caller, id).await?;
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    deals::set_parties(&mut tx, id, input.lessor_party_id, input.collective_party_id).await?;
    tx.commit().await?;
    super::activation::transaction(State(state), caller, Path(id)).await.map(IntoResponse::into_response)
}

// ---------------------------------------------------------------------------------------------------
// Checklist

/// What a deal needs before its certificate, item by item.
#[derive(Debug, Serialize, ToSchema)]
pub struct Checklist {
    pub transaction_id: i64,
    /// Every item satisfied: a second officer may certify.
    pub complete: bool,
    pub items: Vec<ChecklistItem>,
}

/// The checklist of a deal: its lessor, title, consent and papers (from the registry's rules), and
/// `officers`: whether the caller may certify it (not the officer who recorded it).
#[utoipa::path(get, path = "/api/v1/transactions/{id}/checklist", tag = "transactions", params(("id" = i64, Path)),
    responses((status = 200, body = Checklist), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn checklist(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    _: NoQuery,
) -> Result<axum::Json<Checklist>> {
    deal_in_scope(&state, &caller, id).await?;
    let mut items = deals::checklist(&state.pool, id).await?;
    let deal = store::activation::transaction(&state.pool, id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("transaction {id}")))?;
    let recorder = deal.recorded_by.as_deref().unwrap_or("an account no longer known");
    let by_caller = deal.recorded_by_user_id.is_some() && deal.recorded_by_user_id == caller.user_id;
    items.push(ChecklistItem {
        item: "officers".into(),
        satisfied: !by_caller,
        detail: match (deal.recorded_by_user_id, by_caller) {
            (_, true) => format!("you recorded the deal ({recorder}); a second officer certifies it"),
            (Some(_), false) => format!("recorded by {recorder}; certified by another officer"),
            (None, false) => "recorded without an account (imported or seeded)".into(),
        },
    });
    Ok(axum::Json(Checklist { transaction_id: id, complete: items.iter().all(|i| i.satisfied), items }))
}

// ---------------------------------------------------------------------------------------------------
// Consent

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentView {
    pub id: i64,
    pub transaction_id: i64,
    pub kind: ConsentKind,
    /// The household member (officers and officials).
    pub member_name: Option<String>,
    pub agrees: Option<bool>,
    pub opinion: Option<String>,
    pub votes_for: Option<i32>,
    pub votes_against: Option<i32>,
    pub votes_total: Option<i32>,
    pub given_on: NaiveDate,
    pub recorded_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<ConsentRow> for ConsentView {
    fn from(c: ConsentRow) -> Self {
        Self {
            id: c.id,
            transaction_id: c.transaction_id,
            kind: c.kind,
            member_name: c.member_name,
            agrees: c.agrees,
            opinion: c.opinion,
            votes_for: c.votes_for,
            votes_against: c.votes_against,
            votes_total: c.votes_total,
            given_on: c.given_on,
            recorded_by: c.recorded_by,
            created_at: c.created_at,
        }
    }
}

/// The consent recorded for a deal.
#[utoipa::path(get, path = "/api/v1/transactions/{id}/consents", tag = "transactions", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<ConsentView>), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn consents(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    _: NoQuery,
) -> Result<axum::Json<Vec<ConsentView>>> {
    deal_in_scope(&state, &caller, id).await?;
    Ok(axum::Json(deals::consents(&state.pool, id).await?.into_iter().map(Into::into).collect()))
}

/// Records consent to a deal: a household member's agreement, the village committee's opinion or the
/// members' meeting resolution (two thirds of all members for).
#[utoipa::path(post, path = "/api/v1/transactions/{id}/consents", tag = "transactions", request_body = ConsentIn,
    params(("id" = i64, Path)),
    responses((status = 201, body = ConsentView), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn add_consent(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(input): Json<ConsentIn>,
) -> Result<Response> {
    let new = check_consent(&input)?;
    deal_in_scope(&state, &caller, id).await?;
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    let consent = deals::add_consent(&mut tx, id, &new).await?;
    tx.commit().await?;
    let view: ConsentView = deals::consent(&state.pool, consent).await?.expect("just recorded").into();
    Ok((StatusCode::CREATED, [(header::LOCATION, format!("/api/v1/transactions/{id}/consents"))], axum::Json(view))
        .into_response())
}

// ---------------------------------------------------------------------------------------------------
// Papers

#[derive(Debug, Serialize, ToSchema)]
pub struct PaperView {
    pub id: i64,
    pub farmhouse_id: Option<i64>,
    pub transaction_id: Option<i64>,
    pub kind: PaperKind,
    /// A safety appraisal's grade, A–D.
    pub grade: Option<String>,
    pub media_type: String,
    pub bytes: i32,
    /// SHA-256 of the bytes, hex (the history keeps it too).
    pub sha256: String,
    pub url: String,
    pub recorded_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<PaperMeta> for PaperView {
    fn from(p: PaperMeta) -> Self {
        Self {
            url: format!("/api/v1/papers/{}", p.id),
            id: p.id,
            farmhouse_id: p.farmhouse_id,
            transaction_id: p.transaction_id,
            kind: p.kind,
            grade: p.safety_grade,
            media_type: p.media_type,
            bytes: p.bytes,
            sha256: hex::encode(&p.sha256),
            recorded_by: p.recorded_by,
            created_at: p.created_at,
        }
    }
}

/// Whether `role` may see paper kind `kind`: ID copies only with full privacy (officers, admins).
fn sees(role: Role, kind: PaperKind) -> bool {
    !kind.identity() || role.privacy() == Privacy::Full
}

fn visible(papers: Vec<PaperMeta>, role: Role) -> Vec<PaperView> {
    papers.into_iter().filter(|p| sees(role, p.kind)).map(Into::into).collect()
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PaperQuery {
    /// lease_contract, listing_entrustment, id_copy, appraisal_report or safety_appraisal.
    pub kind: Option<String>,
    /// A safety appraisal's grade: A, B, C or D.
    pub grade: Option<String>,
}

async fn keep_paper(state: &AppState, caller: &Caller, of: PaperOf, q: &PaperQuery, body: &[u8]) -> Result<Response> {
    let (kind, grade, media_type) = check_paper(q.kind.as_deref(), q.grade.as_deref(), body)?;
    let sha = Sha256::digest(body);
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    let id = deals::add_paper(&mut tx, of, &NewPaper { kind, grade, media_type, sha256: &sha, content: body }).await?;
    tx.commit().await?;
    let view: PaperView = deals::paper(&state.pool, id).await?.expect("just kept").into();
    Ok((StatusCode::CREATED, [(header::LOCATION, view.url.clone())], axum::Json(view)).into_response())
}

/// Attaches a paper to a deal: the body is the file (PDF, JPEG or PNG, told by its bytes; at most 10 MiB).
#[utoipa::path(post, path = "/api/v1/transactions/{id}/papers", tag = "papers", params(("id" = i64, Path), PaperQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "the file: PDF, JPEG or PNG, told by its bytes (send application/pdf, image/jpeg, image/png \
                       or application/octet-stream)"),
    responses((status = 201, body = PaperView), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn add_deal_paper(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<PaperQuery>,
    body: Bytes,
) -> Result<Response> {
    deal_in_scope(&state, &caller, id).await?;
    keep_paper(&state, &caller, PaperOf::Deal(id), &q, &body).await
}

/// Attaches a paper to a house (an entrustment to list, an appraisal report, a safety appraisal).
#[utoipa::path(post, path = "/api/v1/farmhouses/{id}/papers", tag = "papers", params(("id" = i64, Path), PaperQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "the file: PDF, JPEG or PNG, told by its bytes (send application/pdf, image/jpeg, image/png \
                       or application/octet-stream)"),
    responses((status = 201, body = PaperView), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn add_house_paper(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<PaperQuery>,
    body: Bytes,
) -> Result<Response> {
    house_in_scope(&state, &caller, id).await?;
    keep_paper(&state, &caller, PaperOf::House(id), &q, &body).await
}

/// The papers of a deal (ID copies for officers and admins only).
#[utoipa::path(get, path = "/api/v1/transactions/{id}/papers", tag = "papers", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<PaperView>), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn deal_papers(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    _: NoQuery,
) -> Result<axum::Json<Vec<PaperView>>> {
    deal_in_scope(&state, &caller, id).await?;
    Ok(axum::Json(visible(deals::papers(&state.pool, PaperOf::Deal(id)).await?, caller.role)))
}

/// The papers of a house: its own and those of its deals (ID copies for officers and admins only).
#[utoipa::path(get, path = "/api/v1/farmhouses/{id}/papers", tag = "papers", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<PaperView>), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn house_papers(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    _: NoQuery,
) -> Result<axum::Json<Vec<PaperView>>> {
    house_in_scope(&state, &caller, id).await?;
    Ok(axum::Json(visible(deals::papers(&state.pool, PaperOf::House(id)).await?, caller.role)))
}

/// A paper's file, as it was attached (never cached by a shared cache).
#[utoipa::path(get, path = "/api/v1/papers/{id}", tag = "papers", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
pub async fn paper(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>, _: NoQuery) -> Result<Response> {
    let meta = deals::paper(&state.pool, id).await?.ok_or_else(|| Error::NotFound(format!("paper {id}")))?;
    if !sees(caller.role, meta.kind) {
        return Err(Error::Forbidden("copies of ID cards are shown to officers and admins only".into()));
    }
    match (meta.transaction_id, meta.farmhouse_id) {
        (Some(t), _) => {
            deal_in_scope(&state, &caller, t).await?;
        }
        (None, Some(h)) => house_in_scope(&state, &caller, h).await?,
        (None, None) => {}
    }
    let content = deals::paper_content(&state.pool, id).await?.ok_or_else(|| Error::NotFound(format!("paper {id}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_str(&meta.media_type).expect("a media type")),
            (header::ETAG, HeaderValue::from_str(&format!("\"{}\"", hex::encode(&meta.sha256))).expect("hex")),
            (header::CACHE_CONTROL, HeaderValue::from_static("private, no-store")),
        ],
        content,
    )
        .into_response())
}

/// The routes of this module, with who may call them.
pub fn routes() -> Vec<Endpoint> {
    vec![
        route(routes!(set_parties), Allow::OFFICERS),
        route(routes!(checklist), Allow::STAFF),
        route(routes!(consents), Allow::STAFF),
        route(routes!(add_consent), Allow::OFFICERS),
        route(routes!(deal_papers), Allow::STAFF),
        route(routes!(add_deal_paper), Allow::OFFICERS).body_limit(MAX_PAPER_BYTES + 1),
        route(routes!(house_papers), Allow::STAFF),
        route(routes!(add_house_paper), Allow::OFFICERS).body_limit(MAX_PAPER_BYTES + 1),
        route(routes!(paper), Allow::STAFF),
    ]
}
