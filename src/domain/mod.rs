//! The registry's own rules as plain Rust: unit numbers, money, lifecycle transitions, lease terms and the
//! messages that name a bad field. No SQL, no HTTP, no async.

pub mod accounts;
pub mod checks;
pub mod credentials;
pub mod house;
pub mod identity;
pub mod lifecycle;
pub mod money;
pub mod party;
pub mod project;
pub mod records;
pub mod rent;
pub mod roles;
pub mod sets;
pub mod totp;
pub mod township;
pub mod unit_number;

use serde::Serialize;

/// One broken rule of an input: the field it concerns (a JSON path such as `properties.unit_number`) and
/// what is wrong, in words a clerk can act on.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }

    /// The same error for a field nested under `prefix` (`unit_number` under `properties`).
    pub fn under(mut self, prefix: &str) -> Self {
        if !prefix.is_empty() {
            self.field = format!("{prefix}.{}", self.field);
        }
        self
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}
