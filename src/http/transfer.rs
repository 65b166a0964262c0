//! Survey files over HTTP: `POST /api/v1/import/{parcels|farmhouses}` (multipart upload, officers) and
//! `GET /api/v1/export/{parcels|farmhouses}.{csv|geojson}` (officials, officers, admins). Both go through
//! the same code as the command line; exports hold no party data at all.

use axum::body::Body;
use axum::extract::{Multipart, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::auth::Caller;
use super::query::Query;
use super::routes::{Allow, Endpoint, route};
use super::{AppState, Error, Result};
use crate::domain::township::TownshipCode;
use crate::export;
use crate::geo::crs::Crs;
use crate::import::{self, Failure, Format, Kind, Source};
use utoipa_axum::routes;

/// Uploads may be large survey files.
const UPLOAD_LIMIT: usize = 256 * 1024 * 1024;

/// The routes of this module, with who may call them.
pub fn routes() -> Vec<Endpoint> {
    vec![
        route(routes!(upload_parcels), Allow::OFFICERS).body_limit(UPLOAD_LIMIT),
        route(routes!(upload_farmhouses), Allow::OFFICERS).body_limit(UPLOAD_LIMIT),
        route(routes!(parcels_csv), Allow::OFFICIALS),
        route(routes!(parcels_geojson), Allow::OFFICIALS),
        route(routes!(farmhouses_csv), Allow::OFFICIALS),
        route(routes!(farmhouses_geojson), Allow::OFFICIALS),
    ]
}

/// Imports a survey file of parcels: multipart with the file (a .geojson/.json or .csv, or a .shp with its
/// .dbf, .prj and .cpg as parts with file names) and an optional `crs` field. All or nothing.
#[utoipa::path(post, path = "/api/v1/import/parcels", tag = "import-export",
    request_body(content = Object, content_type = "multipart/form-data"),
    responses((status = 200, description = "the import's report", body = Object),
              (status = 409, body = super::Problem), (status = 422, body = super::Problem)))]
pub async fn upload_parcels(state: State<AppState>, caller: Caller, multipart: Multipart) -> Result<Response> {
    upload(Kind::Parcels, state, caller, multipart).await
}

/// Imports a survey file of farmhouses (their parcels must be registered): as for parcels.
#[utoipa::path(post, path = "/api/v1/import/farmhouses", tag = "import-export",
    request_body(content = Object, content_type = "multipart/form-data"),
    responses((status = 200, description = "the import's report", body = Object),
              (status = 409, body = super::Problem), (status = 422, body = super::Problem)))]
pub async fn upload_farmhouses(state: State<AppState>, caller: Caller, multipart: Multipart) -> Result<Response> {
    upload(Kind::Farmhouses, state, caller, multipart).await
}

/// One export route per kind and format.
macro_rules! export_routes {
    ($($name:ident => $path:literal, $kind:expr, $format:expr, $content:literal, $body:ty, $summary:literal;)*) => {$(
        #[doc = $summary]
        #[utoipa::path(get, path = $path, tag = "import-export", params(ExportQuery),
            responses((status = 200, description = "the export, streamed", content_type = $content, body = $body)))]
        pub async fn $name(state: State<AppState>, q: Query<ExportQuery>) -> Result<Response> {
            download($kind, $format, state, q).await
        }
    )*};
}

export_routes! {
    parcels_csv => "/api/v1/export/parcels.csv", Kind::Parcels, export::Format::Csv, "text/csv", String,
        "Parcels as CSV with WKT.";
    parcels_geojson => "/api/v1/export/parcels.geojson", Kind::Parcels, export::Format::GeoJson,
        "application/geo+json", Object, "Parcels as GeoJSON.";
    farmhouses_csv => "/api/v1/export/farmhouses.csv", Kind::Farmhouses, export::Format::Csv, "text/csv", String,
        "Farmhouses as CSV with WKT (no owner data).";
    farmhouses_geojson => "/api/v1/export/farmhouses.geojson", Kind::Farmhouses, export::Format::GeoJson,
        "application/geo+json", Object, "Farmhouses as GeoJSON (no owner data).";
}

/// Reads the upload: the survey file (a .geojson/.json, .csv, or a .shp with its .dbf, .prj and .cpg, each
/// a part with a file name) and an optional `crs` field; then imports it as the caller.
async fn upload(
    kind: Kind,
    State(state): State<AppState>,
    caller: Caller,
    mut multipart: Multipart,
) -> Result<Response> {
    let mut crs = None;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    while let Some(field) =
        multipart.next_field().await.map_err(|e| Error::BadRequest(format!("the upload cannot be read: {e}")))?
    {
        let name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().map(str::to_string);
        let bytes = field.bytes().await.map_err(|e| Error::BadRequest(format!("the upload cannot be read: {e}")))?;
        match file_name {
            Some(f) => files.push((f, bytes.to_vec())),
            None if name == "crs" => {
                let text = String::from_utf8_lossy(&bytes).trim().to_string();
                if !text.is_empty() {
                    crs = Some(Crs::parse(&text).map_err(|m| Error::invalid("crs", m))?);
                }
            }
            None => {}
        }
    }
    let source = source_of(files)?;
    match import::load::import(&state.pool, kind, source, crs, &caller.actor(), import::quietly()).await {
        Ok(report) => {
            super::metrics::imported(kind.as_str(), report.imported);
            Ok(axum::Json(report).into_response())
        }
        Err(Failure::Invalid(errors)) => Err(Error::Invalid(errors)),
        Err(Failure::Refused(r)) => Err(Error::invalid(r.field, r.message)),
        Err(Failure::AlreadyImported(m)) => Err(Error::conflict(m, None)),
        Err(Failure::Internal(e)) => Err(Error::Internal(e)),
    }
}

/// The survey file among the uploaded files, with the files beside a shapefile.
fn source_of(files: Vec<(String, Vec<u8>)>) -> Result<Source> {
    let ext = |n: &str| std::path::Path::new(n).extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let main = files.iter().position(|(n, _)| Format::of(n).is_some()).ok_or_else(|| {
        Error::invalid("file", "upload a .geojson, .json, .csv or .shp file (with its .dbf and .prj) as a file part")
    })?;
    let sidecar = |wanted: &str| files.iter().find(|(n, _)| ext(n) == wanted).map(|(_, b)| b.clone());
    let (dbf, prj, cpg) = (sidecar("dbf"), sidecar("prj"), sidecar("cpg"));
    let (name, bytes) = files.into_iter().nth(main).expect("found above");
    let format = Format::of(&name).expect("found above");
    let shapefile = format == Format::Shapefile;
    Ok(Source {
        name,
        format,
        main: bytes,
        dbf: if shapefile { dbf } else { None },
        prj: if shapefile { prj } else { None },
        cpg: if shapefile { cpg } else { None },
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// The CRS of the coordinates written (default EPSG:4326; EPSG:4549, 4528, 4490).
    crs: Option<String>,
    /// Only this township (9-digit code).
    township: Option<String>,
}

#[allow(clippy::unused_async, reason = "an axum handler is an async fn")]
async fn download(
    kind: Kind,
    format: export::Format,
    State(state): State<AppState>,
    Query(q): Query<ExportQuery>,
) -> Result<Response> {
    let crs = match q.crs.as_deref() {
        None | Some("") => Crs::Wgs84,
        Some(c) => Crs::parse(c).map_err(|m| Error::invalid("crs", m))?,
    };
    let township = TownshipCode::parse_optional(q.township.as_deref()).map_err(|e| Error::invalid("township", e))?;
    let (content_type, ext) = match format {
        export::Format::Csv => ("text/csv; charset=utf-8", "csv"),
        _ => ("application/geo+json", "geojson"),
    };
    let body = Body::from_stream(encode(state.pool.clone(), format, kind, crs, township.map(|t| t.to_string())));
    let mut res = Response::new(body);
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}.{ext}\"", kind.as_str())) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// The export's bytes, produced while they are sent: rows are read from the database and encoded in pieces
/// of about 64 KiB, so neither the whole file nor the whole result ever sits in memory. A failure after
/// the first piece can only cut the response short (and is logged).
fn encode(
    pool: crate::store::Pool,
    format: export::Format,
    kind: Kind,
    crs: Crs,
    township: Option<String>,
) -> impl futures_util::Stream<Item = std::io::Result<Vec<u8>>> {
    use futures_util::StreamExt;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
    tokio::spawn(async move {
        let mut features = export::features(&pool, kind, crs, township.as_deref());
        let mut encoder = export::Encoder::new(format, kind, crs);
        let mut piece = match encoder.header() {
            Ok(h) => h,
            Err(e) => return fail(&tx, e).await,
        };
        while let Some(f) = features.next().await {
            match f.and_then(|f| encoder.feature(&f)) {
                Ok(bytes) => piece.extend(bytes),
                Err(e) => return fail(&tx, e).await,
            }
            if piece.len() >= 64 * 1024 && tx.send(Ok(std::mem::take(&mut piece))).await.is_err() {
                return; // The client went away.
            }
        }
        piece.extend(encoder.footer());
        let _ = tx.send(Ok(piece)).await;
    });
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) })
}

async fn fail(tx: &tokio::sync::mpsc::Sender<std::io::Result<Vec<u8>>>, e: anyhow::Error) {
    tracing::error!(error = ?e, "export failed");
    let _ = tx.send(Err(std::io::Error::other("the export failed; the fault is logged"))).await;
}
