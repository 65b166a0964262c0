//! Who is calling: the [`Caller`] of each request, found from its session cookie or bearer token.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::domain::roles::Role;

/// The caller of a request. Anyone not logged in is a `Public` caller without a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub role: Role,
    pub user_id: Option<i64>,
    pub username: Option<String>,
    /// The party an investor acts for.
    pub party_id: Option<i64>,
}

impl Default for Caller {
    fn default() -> Self {
        Self { role: Role::Public, user_id: None, username: None, party_id: None }
    }
}

impl Caller {
    /// How the history records this caller: `officer:li.ming`, or `public`.
    pub fn actor(&self) -> String {
        match &self.username {
            Some(name) => format!("{}:{name}", self.role),
            None => self.role.to_string(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Caller>().cloned().unwrap_or_default())
    }
}
