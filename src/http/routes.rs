//! The route table: every route the service answers, with who may call it, declared in one place.
//!
//! The router is built from this table, and the same table prints as `farmhouse routes` and drives the
//! test that calls every route as every role. A route cannot be served without a declaration.

use axum::Router;
use axum::extract::Request;
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};

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
}

impl Allow {
    pub const OFFICERS: Allow = Allow::Roles(&[Role::Officer]);
    pub const STAFF: Allow = Allow::Roles(&[Role::Officer, Role::Official, Role::Admin]);
    pub const OFFICIALS: Allow = Allow::Roles(&[Role::Official, Role::Officer, Role::Admin]);
    pub const INVESTORS: Allow = Allow::Roles(&[Role::Investor]);
    pub const SIGNED_IN: Allow = Allow::Roles(&[Role::Investor, Role::Officer, Role::Official, Role::Admin]);
    pub const ADMINS: Allow = Allow::Roles(&[Role::Admin]);

    pub fn admits(self, role: Role) -> bool {
        match self {
            Allow::Everyone => true,
            Allow::Roles(roles) => roles.contains(&role),
        }
    }

    /// The roles admitted, for the printed table.
    pub fn describe(self) -> String {
        match self {
            Allow::Everyone => "everyone".into(),
            Allow::Roles(roles) => roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "),
        }
    }
}

/// One route: method, path (axum syntax, `{id}` for parameters), who may call it, and its handler.
pub struct Endpoint {
    pub method: Method,
    pub path: &'static str,
    pub allow: Allow,
    pub summary: &'static str,
    handler: MethodRouter<AppState>,
}

impl Endpoint {
    pub fn new<H, T>(method: Method, path: &'static str, allow: Allow, summary: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("a routable method");
        Self { method, path, allow, summary, handler: on(filter, handler) }
    }
}

macro_rules! endpoint_constructors {
    ($($name:ident => $method:ident),*) => {$(
        pub fn $name<H, T>(path: &'static str, allow: Allow, summary: &'static str, handler: H) -> Endpoint
        where
            H: Handler<T, AppState>,
            T: 'static,
        {
            Endpoint::new(Method::$method, path, allow, summary, handler)
        }
    )*};
}

endpoint_constructors!(get => GET, post => POST, put => PUT, patch => PATCH, delete => DELETE);

impl Endpoint {
    /// Accepts request bodies up to `bytes` on this route (the service's default is smaller).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.handler = self.handler.layer(axum::extract::DefaultBodyLimit::max(bytes));
        self
    }
}

/// The router of `endpoints`, each behind its permission check.
pub fn router(endpoints: Vec<Endpoint>) -> Router<AppState> {
    let mut router = Router::new();
    for e in endpoints {
        let allow = e.allow;
        let guarded =
            e.handler.route_layer(middleware::from_fn(move |req: Request, next: Next| permit(allow, req, next)));
        router = router.route(e.path, guarded);
    }
    router
}

async fn permit(allow: Allow, req: Request, next: Next) -> Response {
    let caller = req.extensions().get::<Caller>().cloned().unwrap_or_default();
    if allow.admits(caller.role) {
        return next.run(req).await;
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
