//! Photos of houses: officers upload JPEG or PNG (the type is read from the bytes, not trusted from the
//! header); each is resized to a display size and stored as JPEG; anyone may fetch them, with caching
//! headers (a photo never changes under its URL).

use std::io::Cursor;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use image::{ImageFormat, ImageReader, Limits};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::auth::Caller;
use super::query::{NoQuery, Query};
use super::routes::{Allow, Endpoint, route};
use super::{AppState, Error, Problem, Result};
use crate::domain::checks::text;
use crate::store::photos::{self, NewPhoto, PhotoMeta, Subject};
use crate::store::{self};
use utoipa_axum::routes;

/// The largest upload accepted.
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;
/// Photos are kept at most this many pixels on their longer side.
pub const DISPLAY_SIZE: u32 = 1600;

#[derive(Debug, Serialize, ToSchema)]
pub struct PhotoView {
    pub id: i64,
    pub url: String,
    pub width: i32,
    pub height: i32,
    pub caption: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<PhotoMeta> for PhotoView {
    fn from(p: PhotoMeta) -> Self {
        Self {
            url: format!("/api/v1/farmhouses/{}/photos/{}", p.farmhouse_id, p.id),
            id: p.id,
            width: p.width,
            height: p.height,
            caption: p.caption,
            created_at: p.created_at,
        }
    }
}

/// Photos of a house.
#[utoipa::path(get, path = "/api/v1/farmhouses/{id}/photos", tag = "photos", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<PhotoView>)))]
pub async fn list(
    State(state): State<AppState>,
    Path(house): Path<i64>,
    _: NoQuery,
) -> Result<axum::Json<Vec<PhotoView>>> {
    Ok(axum::Json(photos::list(&state.pool, house).await?.into_iter().map(Into::into).collect()))
}

/// A photo's bytes. Its ETag is the SHA-256 of the bytes; it may be cached for a year.
#[utoipa::path(get, path = "/api/v1/farmhouses/{id}/photos/{photo}", tag = "photos",
    params(("id" = i64, Path), ("photo" = i64, Path)),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>), (status = 304), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    Path((house, photo)): Path<(i64, i64)>,
    headers: HeaderMap,
) -> Result<Response> {
    let (media_type, sha, content) = photos::content(&state.pool, Subject::House(house), photo)
        .await?
        .ok_or_else(|| Error::NotFound(format!("photo {photo} of farmhouse {house}")))?;
    Ok(answer(&headers, &media_type, &sha, content))
}

/// A stored picture's answer: its bytes with the SHA-256 as ETag, cacheable for a year, or 304 when the
/// client has it (`If-None-Match`). Pictures of houses and of projects never change under their URL.
pub fn answer(headers: &HeaderMap, media_type: &str, sha: &[u8], content: Vec<u8>) -> Response {
    let tag = HeaderValue::from_str(&format!("\"{}\"", hex::encode(sha))).expect("hex");
    let cache = HeaderValue::from_static("public, max-age=31536000, immutable");
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes().split(|b| *b == b',').any(|t| t.trim_ascii() == tag.as_bytes()))
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, tag), (header::CACHE_CONTROL, cache)]).into_response();
    }
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_str(media_type).expect("a media type")),
            (header::ETAG, tag),
            (header::CACHE_CONTROL, cache),
        ],
        content,
    )
        .into_response()
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// A caption for the photo (at most 200 characters).
    pub caption: Option<String>,
}

/// Adds a photo: the body is the image itself (`Content-Type: image/jpeg` or `image/png`, at most 10 MiB).
#[utoipa::path(post, path = "/api/v1/farmhouses/{id}/photos", tag = "photos",
    params(("id" = i64, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses((status = 201, body = PhotoView), (status = 404, body = Problem), (status = 413, body = Problem),
              (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    Path(house): Path<i64>,
    Query(q): Query<UploadQuery>,
    body: Bytes,
) -> Result<Response> {
    let received = receive(q, body).await?;
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    let id = photos::insert(&mut tx, Subject::House(house), &received.photo()).await?;
    tx.commit().await?;
    state.changed_house(house).await;
    let meta = photos::list(&state.pool, house).await?.into_iter().find(|p| p.id == id).expect("just stored");
    let view = PhotoView::from(meta);
    Ok((StatusCode::CREATED, [(header::LOCATION, view.url.clone())], axum::Json(view)).into_response())
}

/// Remove a photo.
#[utoipa::path(delete, path = "/api/v1/farmhouses/{id}/photos/{photo}", tag = "photos",
    params(("id" = i64, Path), ("photo" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((house, photo)): Path<(i64, i64)>,
) -> Result<StatusCode> {
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    photos::delete(&mut tx, house, photo).await?;
    tx.commit().await?;
    state.changed_house(house).await;
    Ok(StatusCode::NO_CONTENT)
}

/// An uploaded photo, checked and resized, with its caption and SHA-256.
pub struct Received {
    pub prepared: Prepared,
    pub caption: String,
    pub sha256: Vec<u8>,
}

impl Received {
    /// The photo as the store keeps it.
    pub fn photo(&self) -> NewPhoto<'_> {
        NewPhoto {
            media_type: "image/jpeg",
            width: self.prepared.width,
            height: self.prepared.height,
            sha256: &self.sha256,
            content: &self.prepared.jpeg,
            caption: &self.caption,
        }
    }
}

/// Reads an upload of a house's or a project's photo: its caption, then the image (decoded and resized
/// off the async threads).
pub async fn receive(q: UploadQuery, body: Bytes) -> Result<Received> {
    let caption = text(q.caption.as_deref().unwrap_or(""), 0, 200).map_err(|e| Error::invalid("caption", e))?;
    let prepared = tokio::task::spawn_blocking(move || prepare(&body))
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("photo task failed: {e}")))??;
    let sha256 = Sha256::digest(&prepared.jpeg).to_vec();
    Ok(Received { prepared, caption, sha256 })
}

/// A photo ready to store.
pub struct Prepared {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// Reads `bytes` as a JPEG or PNG (by their content), shrinks it to [`DISPLAY_SIZE`] and encodes JPEG.
pub fn prepare(bytes: &[u8]) -> Result<Prepared> {
    if bytes.is_empty() {
        return Err(Error::invalid("body", "the photo is empty"));
    }
    let format = image::guess_format(bytes).ok().filter(|f| matches!(f, ImageFormat::Jpeg | ImageFormat::Png));
    let Some(format) = format else {
        return Err(Error::UnsupportedMediaType("a photo must be a JPEG or PNG image (judged by its bytes)".into()));
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(10_000);
    limits.max_image_height = Some(10_000);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| Error::invalid("body", format!("the image cannot be read: {e}")))?;
    let image = if image.width().max(image.height()) > DISPLAY_SIZE {
        image.resize(DISPLAY_SIZE, DISPLAY_SIZE, image::imageops::FilterType::Triangle)
    } else {
        image
    };
    let rgb = image.to_rgb8();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
        .encode(rgb.as_raw(), rgb.width(), rgb.height(), image::ExtendedColorType::Rgb8)
        .map_err(|e| Error::Internal(anyhow::anyhow!("encoding a photo failed: {e}")))?;
    Ok(Prepared { jpeg, width: rgb.width(), height: rgb.height() })
}

/// The routes of this module, with who may call them.
pub fn routes() -> Vec<Endpoint> {
    vec![
        route(routes!(list), Allow::Everyone),
        route(routes!(upload), Allow::OFFICERS).body_limit(MAX_UPLOAD_BYTES),
        route(routes!(get), Allow::Everyone),
        route(routes!(delete), Allow::OFFICERS),
    ]
}
