//! A query-string extractor whose rejections are problem+json naming the parameter (400). A NUL
//! character is refused in any parameter: PostgreSQL text cannot hold one, so it could only fail later.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::problem::{Error, FieldError};

pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        if let Some((name, _)) = form_urlencoded_parse(query).find(|(k, v)| k.contains('\0') || v.contains('\0')) {
            let field = name.replace('\0', "\\0");
            return Err(Error::Malformed(vec![FieldError::new(field, "must not contain a NUL character")]));
        }
        let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
        serde_path_to_error::deserialize(de).map(Query).map_err(|e| {
            let field = e.path().to_string();
            let field = if field == "." { "query".to_string() } else { field };
            Error::Malformed(vec![FieldError::new(field, format!("bad query parameter: {}", e.into_inner()))])
        })
    }
}

fn form_urlencoded_parse(q: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(q.as_bytes())
}
