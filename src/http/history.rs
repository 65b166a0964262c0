//! `GET /api/v1/<records>/{id}/history`: every change of one record — who, when, before and after —
//! as the caller's role may see it (officials get party identities masked).

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::auth::Caller;
use super::query::NoQuery;
use super::routes::{Allow, Endpoint, route};
use super::{AppState, Problem, Result};
use crate::domain::roles::{Privacy, Role, mask_id_number};
use crate::store::history;
use utoipa_axum::routes;

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    /// Position in the hash-chained history of its county (DESIGN §2.7: one chain per county, so entries of
    /// different counties may share a number).
    pub seq: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    /// Who made the change (`officer:li.ming`, `seed`, …).
    pub actor: String,
    /// The display name of the account that made it (王芳), when it has one.
    pub actor_name: Option<String>,
    /// insert, update or delete.
    pub action: String,
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
}

/// A row image with the identity fields `role` may not see masked or removed.
fn redact(table: &str, row: Option<Value>, role: Role) -> Option<Value> {
    let mut row = row?;
    if table == "parties"
        && let Some(fields) = row.as_object_mut()
    {
        match role.privacy() {
            Privacy::Full => {}
            Privacy::Masked => {
                if let Some(Value::String(id)) = fields.get("id_number") {
                    let masked = mask_id_number(id);
                    fields.insert("id_number".into(), Value::String(masked));
                }
                fields.remove("phone");
                fields.remove("address");
            }
            Privacy::None => {
                for key in ["name", "id_number", "phone", "address"] {
                    fields.remove(key);
                }
            }
        }
    }
    Some(row)
}

async fn entries(state: &AppState, table: &str, id: i64, role: Role) -> Result<Json<Vec<HistoryEntry>>> {
    let rows = history::of_record(&state.pool, table, id).await?;
    let mut actors: Vec<String> = rows.iter().map(|e| e.actor.clone()).collect();
    actors.sort();
    actors.dedup();
    let names = history::actor_names(&state.pool, &actors).await?;
    Ok(Json(
        rows.into_iter()
            .map(|e| HistoryEntry {
                seq: e.seq,
                at: e.at,
                actor_name: names.get(&e.actor).cloned(),
                actor: e.actor,
                action: e.action,
                before: redact(table, e.before.map(|j| j.0), role),
                after: redact(table, e.after.map(|j| j.0), role),
            })
            .collect(),
    ))
}

/// One history route per kind of record.
macro_rules! history_routes {
    ($($name:ident => $path:literal, $table:literal, $tag:literal, $summary:literal;)*) => {$(
        #[doc = $summary]
        #[utoipa::path(get, path = $path, tag = $tag, params(("id" = i64, Path)),
            responses((status = 200, body = Vec<HistoryEntry>), (status = 403, body = Problem)))]
        pub async fn $name(
            State(state): State<AppState>,
            caller: Caller,
            Path(id): Path<i64>,
            _: NoQuery,
        ) -> Result<Json<Vec<HistoryEntry>>> {
            entries(&state, $table, id, caller.role).await
        }
    )*};
}

history_routes! {
    farmhouse => "/api/v1/farmhouses/{id}/history", "farmhouses", "farmhouses", "Changes of a house.";
    parcel => "/api/v1/parcels/{id}/history", "parcels", "parcels", "Changes of a parcel.";
    party => "/api/v1/parties/{id}/history", "parties", "parties", "Changes of a party.";
    appraisal => "/api/v1/appraisals/{id}/history", "appraisals", "appraisals", "Changes of an appraisal.";
    listing => "/api/v1/listings/{id}/history", "listings", "listings", "Changes of a listing.";
    transaction => "/api/v1/transactions/{id}/history", "transactions", "transactions", "Changes of a transaction.";
    certification => "/api/v1/certifications/{id}/history", "certifications", "certifications", "Changes of a certification.";
}

/// The routes of this module, with who may call them.
pub fn routes() -> Vec<Endpoint> {
    vec![
        route(routes!(parcel), Allow::STAFF),
        route(routes!(farmhouse), Allow::STAFF),
        route(routes!(party), Allow::STAFF),
        route(routes!(appraisal), Allow::STAFF),
        route(routes!(listing), Allow::STAFF),
        route(routes!(transaction), Allow::STAFF),
        route(routes!(certification), Allow::STAFF),
    ]
}
