//! A JSON body extractor whose every rejection is problem+json naming what is wrong: wrong content type
//! (415), unreadable JSON (400, with line and column), a value of the wrong shape (422, with the path of
//! the field).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use super::problem::{Error, FieldError};

/// Like `axum::Json`, but rejections are [`Error`]s. Accepts `application/json`,
/// `application/geo+json` and any other `+json` type.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type =
            req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
        let essence = content_type.split(';').next().unwrap_or("").trim();
        let is_json =
            essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"));
        if !is_json {
            return Err(Error::UnsupportedMediaType(format!(
                "the body must be application/json (or application/geo+json), not {}",
                if essence.is_empty() { "unlabelled" } else { essence }
            )));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Error::PayloadTooLarge(e.body_text())
            } else {
                Error::BadRequest(e.body_text())
            }
        })?;
        parse(&bytes).map(Json)
    }
}

/// Reads `bytes` as a `T`, with the errors of [`Json`]. Every body this service takes is a JSON object.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| malformed(&e))?;
    if !value.is_object() {
        return Err(Error::Invalid(vec![FieldError::new("body", "must be a JSON object")]));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "body".to_string() } else { path };
        Error::Invalid(vec![FieldError::new(field, strip_position(&e.into_inner().to_string()))])
    })
}

/// serde_json's data errors end in " at line 1 column 42", which means nothing to a client that sent a
/// field name.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

fn malformed(e: &serde_json::Error) -> Error {
    Error::Malformed(vec![FieldError::new("body", format!("the body is not valid JSON: {e}"))])
}
