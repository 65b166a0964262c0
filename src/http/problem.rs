//! Errors at the HTTP edge, answered as `application/problem+json` (RFC 9457).
//!
//! Every failure a handler can meet is one [`Error`]; database constraint violations are turned into
//! 409/422 by constraint name, so a rule enforced only by the database still gets a message that names
//! the field. Server faults are logged with their detail and answered without it.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use crate::store::Fault;
use crate::store::constraints::Breach;

pub use crate::domain::FieldError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is well-formed but its content breaks a rule (422).
    #[error("invalid {}", .0.first().map_or("request", |e| e.field.as_str()))]
    Invalid(Vec<FieldError>),
    /// The request cannot be read at all: malformed JSON, bad query string (400).
    #[error("{0}")]
    BadRequest(String),
    /// A part of the request cannot be read (400), e.g. a query parameter that is not a number.
    #[error("malformed {}", .0.first().map_or("request", |e| e.field.as_str()))]
    Malformed(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(String),
    /// A query or path parameter cannot be read (400), naming it.
    #[error("{0}")]
    BadParameter(FieldError),
    /// A path parameter names nothing that exists (404), naming it.
    #[error("{0}")]
    NoSuch(FieldError),
    /// The action does not fit the record's current state (409), which is included in the answer.
    #[error("{detail}")]
    Conflict { detail: String, current: Option<Value> },
    /// A conditional write found the record changed since it was read (412).
    #[error("{0}")]
    PreconditionFailed(String),
    /// A write that must be conditional came without a condition (428).
    #[error("{0}")]
    PreconditionRequired(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Too many attempts; the answer carries Retry-After (429).
    #[error("{0}")]
    TooManyRequests(String),
    /// Too many failed attempts from one address: try again in this many seconds (429 with Retry-After).
    #[error("{0}")]
    Throttled(String, i64),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The database cannot be reached or is overloaded (503).
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Database(Fault),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
    /// Another error answered with its own stable [`Problem::code`] (`login_failed`) instead of its status's.
    #[error("{1}")]
    Coded(&'static str, Box<Error>),
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }

    pub fn conflict(detail: impl Into<String>, current: Option<Value>) -> Self {
        Self::Conflict { detail: detail.into(), current }
    }

    /// This error, answered with `code` as its problem's code.
    pub fn with_code(self, code: &'static str) -> Self {
        Self::Coded(code, Box::new(self))
    }
}

/// The body of a problem response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The first bad field, for clients that show one message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The record's current state, for a 409.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub current: Option<Value>,
    /// A stable name of the refusal for clients to act on and translate: a named refusal
    /// (`second_factor_required`, `login_failed`), the database rule broken (`interests_once`), or else the
    /// status's reason in snake case (`unprocessable_entity`, `not_found`). Every problem has one.
    pub code: String,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
            errors: Vec::new(),
            current: None,
            code: status_code(status),
        }
    }

    pub fn with_code(mut self, code: &str) -> Self {
        self.code = code.to_string();
        self
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.field = errors.first().map(|e| e.field.clone());
        self.errors = errors;
        self
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut res = Response::new(Body::from(body));
        *res.status_mut() = status;
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid(errors) => {
                let detail =
                    errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, detail).with_errors(errors)
            }
            Error::BadRequest(d) => Problem::new(StatusCode::BAD_REQUEST, d),
            Error::Malformed(errors) => Problem::new(StatusCode::BAD_REQUEST, join(&errors)).with_errors(errors),
            Error::NotFound(what) => Problem::new(StatusCode::NOT_FOUND, format!("{what} not found")),
            Error::BadParameter(e) => Problem::new(StatusCode::BAD_REQUEST, e.to_string()).with_errors(vec![e]),
            Error::NoSuch(e) => Problem::new(StatusCode::NOT_FOUND, e.to_string()).with_errors(vec![e]),
            Error::Conflict { detail, current } => {
                let mut p = Problem::new(StatusCode::CONFLICT, detail);
                p.current = current;
                p
            }
            Error::PreconditionFailed(d) => Problem::new(StatusCode::PRECONDITION_FAILED, d),
            Error::PreconditionRequired(d) => Problem::new(StatusCode::PRECONDITION_REQUIRED, d),
            Error::Unauthorized(d) => Problem::new(StatusCode::UNAUTHORIZED, d),
            Error::Forbidden(d) => Problem::new(StatusCode::FORBIDDEN, d),
            Error::UnsupportedMediaType(d) => Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, d),
            Error::TooManyRequests(d) | Error::Throttled(d, _) => Problem::new(StatusCode::TOO_MANY_REQUESTS, d),
            Error::PayloadTooLarge(d) => Problem::new(StatusCode::PAYLOAD_TOO_LARGE, d),
            Error::Unavailable(d) => {
                tracing::warn!(detail = %d, "service unavailable");
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, d)
            }
            Error::Database(e) => from_database(e),
            Error::Internal(e) => internal(&e),
            Error::Coded(code, e) => Problem::from(*e).with_code(code),
        }
    }
}

/// The code of a problem nothing names more closely: its status's reason in snake case
/// (422 → `unprocessable_entity`, 404 → `not_found`), `status_NNN` for a status without one.
pub fn status_code(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => reason
            .chars()
            .filter_map(|c| match c {
                ' ' | '-' => Some('_'),
                c if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
                _ => None,
            })
            .collect(),
        None => format!("status_{}", status.as_u16()),
    }
}

impl From<crate::store::StoreError> for Error {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError as S;
        match e {
            S::NotFound(what) => Error::NotFound(what),
            S::Conflict { detail, current } => Error::Conflict { detail, current: serde_json::to_value(current).ok() },
            S::Stale(detail) => Error::PreconditionFailed(detail),
            S::Invalid(errors) => Error::Invalid(errors),
            S::Database(e) => Error::Database(Fault::of(&e)),
        }
    }
}

impl From<Vec<FieldError>> for Error {
    fn from(errors: Vec<FieldError>) -> Self {
        Error::Invalid(errors)
    }
}

/// Marks an answer given because no database connection came free in time (sqlx's `PoolTimedOut`).
/// That happens when every connection is in use and when the database is down; the answer says the
/// latter, and [`super::capacity::busy_or_down`] corrects it when the database turns out to answer.
#[derive(Debug, Clone, Copy)]
pub struct WaitedForConnection;

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let waited = matches!(self, Error::Database(Fault::Waited));
        let retry_after = match &self {
            Error::Throttled(_, seconds) => Some(*seconds),
            Error::Coded(_, e) => match **e {
                Error::Throttled(_, seconds) => Some(seconds),
                _ => None,
            },
            _ => None,
        };
        let mut res = Problem::from(self).into_response();
        if let Some(seconds) = retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if waited {
            res.extensions_mut().insert(WaitedForConnection);
        }
        res
    }
}

fn join(errors: &[FieldError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

fn internal(e: &dyn std::fmt::Debug) -> Problem {
    tracing::error!(error = ?e, "internal error");
    Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "the server failed to answer; the fault is logged")
}

/// Database faults: unreachable → 503 (or busy: see [`WaitedForConnection`]), a broken rule → 409/422
/// naming the field, anything else → 500.
fn from_database(fault: Fault) -> Problem {
    match fault {
        Fault::Waited => {
            tracing::warn!("no database connection came free in time: the service is busy or the database is down");
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "the database is unavailable; try again shortly")
        }
        Fault::Unavailable(e) => {
            tracing::warn!(error = %e, "database unavailable");
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "the database is unavailable; try again shortly")
        }
        Fault::Overloaded(e) => {
            tracing::warn!(error = %e, "database unavailable");
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "the database is busy or unavailable")
        }
        Fault::Unstorable => {
            Problem::new(StatusCode::BAD_REQUEST, "a value contains a character that cannot be stored (NUL)")
        }
        Fault::Broke(rule) => {
            let status = match rule.breach {
                Breach::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
                Breach::Conflict => StatusCode::CONFLICT,
                Breach::Forbidden => StatusCode::FORBIDDEN,
            };
            Problem::new(status, format!("{}: {}", rule.field, rule.message))
                .with_errors(vec![FieldError::new(rule.field, rule.message)])
                .with_code(rule.name)
        }
        Fault::Other(e) => internal(&e),
    }
}
