//! The route table: every route the service answers, with who may call it. Each resource module
//! declares its own routes once, in a `routes()` function of [`route`]s; the router, the OpenAPI
//! document, `farmhouse routes` and the test that calls every route as every role are all built from
//! them. A route cannot be served without a declaration.

use axum::Router;
use axum::extract::Request;
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use utoipa::openapi::path::Paths;
use utoipa::openapi::{OpenApi, RefOr, Schema};
use utoipa_axum::router::UtoipaMethodRouter;

use super::auth::Caller;
use super::{AppState, Error};
use crate::domain::roles::Role;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allow {
    /// Everyone, logged in or not. What they see may still depend on their role.
    Everyone,
    /// Only callers logged in with one of these roles.
    Roles(&'static [Role]),
    /// Callers logged in with any role, and sign-ins still waiting for their second factor (the routes
    /// that pass or enrol it: see `two_factor`).
    SigningIn,
}

impl Allow {
    pub const OFFICERS: Allow = Allow::Roles(&[Role::Officer]);
    pub const OFFICERS_AND_ADMINS: Allow = Allow::Roles(&[Role::Officer, Role::Admin]);
    pub const STAFF: Allow = Allow::Roles(&[Role::Officer, Role::Official, Role::Admin]);
    pub const OFFICIALS: Allow = Allow::Roles(&[Role::Official, Role::Officer, Role::Admin]);
    pub const INVESTORS: Allow = Allow::Roles(&[Role::Investor]);
    pub const INVESTORS_AND_OFFICERS: Allow = Allow::Roles(&[Role::Investor, Role::Officer]);
    pub const SIGNED_IN: Allow =
        Allow::Roles(&[Role::Investor, Role::Officer, Role::Official, Role::Admin, Role::Bank]);
    pub const BANKS: Allow = Allow::Roles(&[Role::Bank]);
    pub const BANKS_AND_ADMINS: Allow = Allow::Roles(&[Role::Bank, Role::Admin]);
    pub const BANKS_AND_STAFF: Allow = Allow::Roles(&[Role::Bank, Role::Officer, Role::Official, Role::Admin]);
    pub const ADMINS: Allow = Allow::Roles(&[Role::Admin]);

    pub fn admits(self, role: Role) -> bool {
        match self {
            Allow::Everyone => true,
            Allow::Roles(roles) => roles.contains(&role),
            Allow::SigningIn => role != Role::Public,
        }
    }

    /// The roles admitted, for the printed table.
    pub fn describe(self) -> String {
        match self {
            Allow::Everyone => "everyone".into(),
            Allow::Roles(roles) => roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "),
            Allow::SigningIn => "signed in (also before the second factor)".into(),
        }
    }
}

/// One route: method, path (axum syntax, `{id}` for parameters), who may call it, and its handler, with
/// its OpenAPI operation and the schemas that operation refers to.
pub struct Endpoint {
    pub method: Method,
    pub path: String,
    pub allow: Allow,
    /// What it does: the first line of the handler's doc comment.
    pub summary: String,
    handler: MethodRouter<AppState>,
    paths: Paths,
    schemas: Vec<(String, RefOr<Schema>)>,
}

/// Declares a route once. `routes!(handler)` (utoipa-axum) reads the method, the path and the
/// documentation from the handler's `#[utoipa::path]`; `allow` says who may call it. The router, the
/// OpenAPI document, `farmhouse routes` and the route × role test are all made from these.
pub fn route((schemas, paths, handler): UtoipaMethodRouter<AppState>, allow: Allow) -> Endpoint {
    let (method, path, summary) = {
        let (path, item) = paths.paths.iter().next().expect("routes! documents one path");
        let operations = [
            (Method::GET, &item.get),
            (Method::POST, &item.post),
            (Method::PUT, &item.put),
            (Method::PATCH, &item.patch),
            (Method::DELETE, &item.delete),
        ];
        let mut documented = operations.into_iter().filter_map(|(m, op)| op.as_ref().map(|op| (m, op)));
        let (method, operation) = documented.next().expect("the handler's #[utoipa::path] names its method");
        assert!(documented.next().is_none(), "declare one method per route: {path}");
        let summary = operation.summary.clone().or_else(|| operation.description.clone()).unwrap_or_default();
        (method, path.clone(), summary)
    };
    Endpoint { method, path, allow, summary, handler, paths, schemas }
}

impl Endpoint {
    /// Accepts request bodies up to `bytes` on this route (the service's default is smaller).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.handler = self.handler.layer(axum::extract::DefaultBodyLimit::max(bytes));
        self
    }

    /// The route's last parameter takes the rest of the path (`/assets/{path}` serves
    /// `/assets/a/b.js`); the document keeps the plain parameter, as OpenAPI has no wildcards.
    pub fn rest_of_path(mut self) -> Self {
        if let Some(open) = self.path.rfind('{') {
            self.path.insert(open + 1, '*');
        }
        self
    }

    /// The path as the OpenAPI document writes it.
    pub fn documented_path(&self) -> String {
        self.path.replace("{*", "{")
    }
}

/// The OpenAPI paths and schemas of `endpoints`, merged into `doc`.
pub fn document(mut doc: OpenApi, endpoints: Vec<Endpoint>) -> OpenApi {
    let components = doc.components.get_or_insert_with(Default::default);
    for e in endpoints {
        components.schemas.extend(e.schemas);
        doc.paths.merge(e.paths);
    }
    doc
}

/// The router of `endpoints`, each behind its permission check.
pub fn router(endpoints: Vec<Endpoint>) -> Router<AppState> {
    let mut router = Router::new();
    for e in endpoints {
        let allow = e.allow;
        let guarded =
            e.handler.route_layer(middleware::from_fn(move |req: Request, next: Next| permit(allow, req, next)));
        router = router.route(&e.path, guarded);
    }
    router
}

async fn permit(allow: Allow, req: Request, next: Next) -> Response {
    let caller = req.extensions().get::<Caller>().cloned().unwrap_or_default();
    if allow.admits(caller.role) {
        return next.run(req).await;
    }
    if let Some(pending) = req.extensions().get::<super::two_factor::Pending>() {
        if allow == Allow::SigningIn {
            return next.run(req).await;
        }
        return pending.refusal();
    }
    let error = if caller.role == Role::Public {
        Error::Unauthorized(format!("log in as {} to do this", allow.describe()))
    } else {
        Error::Forbidden(format!("a {} may not do this; it needs {}", caller.role, allow.describe()))
    };
    error.into_response()
}

/// The table as Markdown: method, path, who may call it, and what it does.
pub fn markdown(endpoints: &[Endpoint]) -> String {
    let mut out = String::from("| method | path | allowed | what |\n|---|---|---|---|\n");
    for e in endpoints {
        out.push_str(&format!("| {} | `{}` | {} | {} |\n", e.method, e.path, e.allow.describe(), e.summary));
    }
    out
}
