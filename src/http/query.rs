//! Query-string extractors whose rejections are problem+json naming the parameter (400).
//!
//! A NUL character is refused in any parameter: PostgreSQL text cannot hold one, so it could only fail
//! later. A parameter the request does not take is refused too: a misspelt filter (`?villag=`) or one
//! this service does not have (`?sort=`) silently ignored would answer a different question than the one
//! asked. Requests without parameters of their own say so with [`NoQuery`].

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::problem::{Error, FieldError};

pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        read(parts.uri.query().unwrap_or(""), Unknown::Refused).map(Query)
    }
}

/// The query string of a page people open from a link they were given (a certificate's QR code): what a
/// messenger or a campaign adds to a shared link (`?from=singlemessage`) is ignored rather than refused,
/// so the link still opens. Only for HTML pages; the JSON API refuses unknown parameters.
pub struct LinkQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for LinkQuery<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        read(parts.uri.query().unwrap_or(""), Unknown::Ignored).map(LinkQuery)
    }
}

/// The query string of a request that takes no parameters: any parameter is refused, naming it.
pub struct NoQuery;

/// Deserialises from any query string, leaving every parameter unknown.
#[derive(Debug, Deserialize)]
struct Nothing {}

impl<S: Send + Sync> FromRequestParts<S> for NoQuery {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        read::<Nothing>(parts.uri.query().unwrap_or(""), Unknown::Refused).map(|_| NoQuery)
    }
}

/// What becomes of parameters a request does not take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unknown {
    Refused,
    Ignored,
}

fn read<T: DeserializeOwned>(query: &str, unknown_parameters: Unknown) -> Result<T, Error> {
    if let Some((name, _)) = form_urlencoded_parse(query).find(|(k, v)| k.contains('\0') || v.contains('\0')) {
        let field = name.replace('\0', "\\0");
        return Err(Error::Malformed(vec![FieldError::new(field, "must not contain a NUL character")]));
    }
    let mut unknown = Vec::new();
    let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
    let mut note = |path: serde_ignored::Path<'_>| unknown.push(path.to_string());
    let de = serde_ignored::Deserializer::new(de, &mut note);
    let value = serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." { "query".to_string() } else { field };
        Error::Malformed(vec![FieldError::new(field, format!("bad query parameter: {}", e.into_inner()))])
    })?;
    if unknown_parameters == Unknown::Refused && !unknown.is_empty() {
        let errors = unknown
            .into_iter()
            .map(|name| FieldError::new(name, "is not a parameter of this request (see /api/v1/openapi.json)"))
            .collect();
        return Err(Error::Malformed(errors));
    }
    Ok(value)
}

fn form_urlencoded_parse(q: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(q.as_bytes())
}

/// Reads a `bbox` parameter: west,south,east,north in degrees of longitude and latitude (or the six
/// numbers of a 3D box, whose heights are not used), with west ≤ east and south ≤ north — the one reading
/// of the JSON API's lists and of OGC API – Features.
pub fn bbox(text: &str) -> Result<[f64; 4], Error> {
    let bad = |message: &str| Error::BadParameter(FieldError::new("bbox", message));
    let numbers: Result<Vec<f64>, _> = text.split(',').map(|s| s.trim().parse::<f64>()).collect();
    let b = match numbers.as_deref() {
        Ok([w, s, e, n] | [w, s, _, e, n, _]) => [*w, *s, *e, *n],
        _ => return Err(bad("must be four numbers: west,south,east,north (degrees)")),
    };
    if !b.iter().all(|v| v.is_finite()) {
        return Err(bad("must be finite numbers"));
    }
    if !(-180.0..=180.0).contains(&b[0]) || !(-180.0..=180.0).contains(&b[2]) {
        return Err(bad("west and east must be longitudes, -180 to 180"));
    }
    if !(-90.0..=90.0).contains(&b[1]) || !(-90.0..=90.0).contains(&b[3]) {
        return Err(bad("south and north must be latitudes, -90 to 90"));
    }
    if b[0] > b[2] || b[1] > b[3] {
        return Err(bad("must be west,south,east,north with west <= east and south <= north"));
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Filters {
        village: Option<String>,
        limit: Option<i64>,
    }

    fn field(e: Error) -> String {
        match e {
            Error::Malformed(errors) => errors[0].field.clone(),
            Error::BadParameter(e) => e.field,
            other => panic!("{other:?}"),
        }
    }

    fn parse<T: DeserializeOwned>(query: &str) -> Result<T, Error> {
        read(query, Unknown::Refused)
    }

    #[test]
    fn known_parameters_are_read_and_unknown_ones_named() {
        let f: Filters = parse("village=%E9%9D%92&limit=5").unwrap();
        assert_eq!(f, Filters { village: Some("青".into()), limit: Some(5) });
        assert_eq!(field(parse::<Filters>("limit=5&sort=name").unwrap_err()), "sort");
        assert_eq!(field(parse::<Filters>("limit=five").unwrap_err()), "limit");
        assert_eq!(field(parse::<Filters>("village=a%00").unwrap_err()), "village");
        assert!(parse::<Nothing>("").is_ok());
        assert_eq!(field(parse::<Nothing>("v=2").unwrap_err()), "v");
        let shared: Filters = read("village=a&from=singlemessage", Unknown::Ignored).unwrap();
        assert_eq!(shared.village.as_deref(), Some("a"));
    }

    #[test]
    #[allow(clippy::float_cmp, reason = "the numbers are read from text, exactly")]
    fn a_bbox_is_lon_lat_and_the_right_way_up() {
        assert_eq!(bbox("120.8, 29.9,121,30.1").unwrap(), [120.8, 29.9, 121.0, 30.1]);
        assert_eq!(bbox("-180,-90,0,180,90,10").unwrap(), [-180.0, -90.0, 180.0, 90.0]);
        for bad in ["-181,-91,181,91", "120,29,181,31", "120,-91,121,30", "121,30,120,31", "1,2,3", "NaN,1,2,3"] {
            assert_eq!(field(bbox(bad).unwrap_err()), "bbox", "{bad}");
        }
    }
}
