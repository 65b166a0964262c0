//! The web map and the public pages: the page at `/` (for browsers; GIS clients get the OGC landing
//! JSON from [`super::features::landing`]), its files under `/assets/…`, the npm packages it loads
//! (MapLibre GL JS under `/vendor/maplibre-gl/…`, uPlot under `/vendor/uplot/…`), the map's settings at
//! `/api/v1/site`, and the certificate verification page `/verify/{certificate_no}`.
//!
//! Files come from the web folder (`serve --web-dir`, default `web`); nothing is fetched from elsewhere.
//! A request path is checked component by component before it touches the file system: no `..`, no
//! hidden files, only the kinds of file a page loads, and never the npm folder or the browser tests.

use std::path::{Path as FsPath, PathBuf};

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tower::{Layer, ServiceExt};
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeFile;
use utoipa::ToSchema;

use super::activation::{self, VerifyQuery};
use super::auth::PeerAddr;
use super::problem::FieldError;
use super::query::LinkQuery;
use super::routes::{Allow, Endpoint, route};
use super::{AppState, Error, Problem, Result};
use crate::domain::lifecycle::{self, CertificateState};
use utoipa_axum::routes;

/// Where the page's files are and what the map draws under its own layers.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The web folder: `index.html`, `style.css`, `app/`, and `node_modules/` after `npm ci`.
    pub dir: PathBuf,
    /// A raster basemap as a `{z}/{x}/{y}` URL template (e.g. Tianditu); `None`: the map needs no network.
    pub basemap_url: Option<String>,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self { dir: PathBuf::from("web"), basemap_url: None }
    }
}

/// An npm package the page loads, served from its build folder under `/vendor/{name}/…`.
struct Vendored {
    /// The package's name, the path segment after `/vendor/`.
    name: &'static str,
    /// Its build inside the web folder (`npm ci` installs it as `web/package.json` pins it).
    dist: &'static str,
    /// What is served of the build, by extension.
    kinds: &'static [&'static str],
    /// What it is, for the message when it is not installed.
    title: &'static str,
}

/// The packages the page loads: MapLibre GL JS (its modules, worker, style sheet and their source maps)
/// and uPlot, the charts of the officials' analysis (its ES module and style sheet).
const VENDORED: &[Vendored] = &[
    Vendored {
        name: "maplibre-gl",
        dist: "node_modules/maplibre-gl/dist",
        kinds: &["mjs", "css", "map"],
        title: "MapLibre GL JS",
    },
    Vendored { name: "uplot", dist: "node_modules/uplot/dist", kinds: &["js", "css"], title: "uPlot" },
];

/// What the page is allowed to load from the web folder, by extension.
const ASSET_KINDS: &[&str] = &["js", "mjs", "css", "svg", "png", "ico", "webmanifest"];
/// Folders of the web folder that are never served.
const PRIVATE_DIRS: &[&str] = &["node_modules", "tests"];

/// The page's own files change with the checkout: browsers revalidate them (304 when unchanged).
const ASSET_CACHE: &str = "no-cache";
/// A vendored build changes only when `web/package.json` pins another version.
const VENDOR_CACHE: &str = "public, max-age=86400";

/// The relative file a request path names, if it is one the page may load.
fn safe_relative(path: &str, kinds: &[&str], private_dirs: &[&str]) -> Option<PathBuf> {
    if path.is_empty() || path.len() > 200 || path.contains('\\') || path.contains('\0') {
        return None;
    }
    let parts: Vec<&str> = path.split('/').collect();
    let plain = |p: &&str| !p.is_empty() && !p.starts_with('.') && p.chars().all(|c| c.is_ascii_graphic());
    if !parts.iter().all(plain) || private_dirs.contains(&parts[0]) {
        return None;
    }
    let extension = FsPath::new(parts[parts.len() - 1]).extension()?.to_str()?;
    kinds.contains(&extension).then(|| parts.iter().collect())
}

fn no_such_file(field: &str, path: &str) -> Error {
    Error::NoSuch(FieldError::new(field, format!("no file {path:?} here")))
}

/// Serves `file` (conditional requests, ranges, content type by extension), compressed as the client
/// accepts, with `cache`.
async fn send_file(file: PathBuf, cache: &'static str, req: Request) -> Result<Response> {
    let service = CompressionLayer::new().gzip(true).br(false).layer(ServeFile::new(file));
    let res = service.oneshot(req).await.map_err(|e| Error::Internal(anyhow::anyhow!("reading a web file: {e}")))?;
    let mut res = res.map(Body::new);
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    res.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(res)
}

/// The page's own files: scripts, style sheet, images.
#[utoipa::path(get, path = "/assets/{path}", tag = "web",
    params(("path" = String, Path, description = "a file of the page, e.g. app/main.js")),
    responses((status = 200, description = "the file", content_type = "text/javascript", body = String),
              (status = 304, description = "not modified"), (status = 404, body = Problem)))]
pub async fn assets(State(state): State<AppState>, Path(path): Path<String>, req: Request) -> Result<Response> {
    let relative = safe_relative(&path, ASSET_KINDS, PRIVATE_DIRS).ok_or_else(|| no_such_file("path", &path))?;
    let file = state.web.dir.join(relative);
    if !tokio::fs::metadata(&file).await.is_ok_and(|m| m.is_file()) {
        return Err(no_such_file("path", &path));
    }
    send_file(file, ASSET_CACHE, req).await
}

/// A file of an npm package the page loads (MapLibre GL JS, uPlot), from the versions pinned in
/// `web/package.json` (`npm ci` installs them).
#[utoipa::path(get, path = "/vendor/{package}/{path}", tag = "web",
    params(("package" = String, Path, description = "the package: maplibre-gl or uplot"),
           ("path" = String, Path, description = "a file of its build, e.g. maplibre-gl.mjs or uPlot.esm.js")),
    responses((status = 200, description = "the file", content_type = "text/javascript", body = String),
              (status = 304, description = "not modified"), (status = 404, body = Problem)))]
pub async fn vendor(
    State(state): State<AppState>,
    Path((package, path)): Path<(String, String)>,
    req: Request,
) -> Result<Response> {
    let vendored = VENDORED.iter().find(|v| v.name == package).ok_or_else(|| no_such_file("package", &package))?;
    let relative = safe_relative(&path, vendored.kinds, &[]).ok_or_else(|| no_such_file("path", &path))?;
    let dist = state.web.dir.join(vendored.dist);
    let file = dist.join(relative);
    if !tokio::fs::metadata(&file).await.is_ok_and(|m| m.is_file()) {
        if !dist.is_dir() {
            let missing =
                format!("{} is not installed in {}: run `npm ci` in the web folder", vendored.title, dist.display());
            return Err(Error::NoSuch(FieldError::new("path", missing)));
        }
        return Err(no_such_file("path", &path));
    }
    send_file(file, VENDOR_CACHE, req).await
}

/// The web map's page, for `GET /` from a browser.
pub async fn page(state: &AppState) -> Response {
    let file = state.web.dir.join("index.html");
    match tokio::fs::read_to_string(&file).await {
        Ok(html) => html_response(StatusCode::OK, html, state.web.basemap_url.as_deref()),
        Err(e) => {
            tracing::error!(file = %file.display(), error = %e, "the web map's page cannot be read");
            let body = format!(
                "{HEAD_START}<title>上虞区闲置农房激活</title></head><body><main class=\"notice\">\
                 <h1>地图页面缺失 · The web map is missing</h1><p>{} — <code>serve --web-dir</code></p>\
                 <p><a href=\"/?f=json\">OGC API – Features (JSON)</a></p></main></body></html>\n",
                escape(&file.display().to_string())
            );
            html_response(StatusCode::SERVICE_UNAVAILABLE, body, None)
        }
    }
}

pub(super) const HEAD_START: &str = "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
    <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
    <link rel=\"stylesheet\" href=\"/assets/style.css\">";

/// An HTML answer with the page's security headers: only this origin (and the basemap's, if one is
/// configured) may be loaded from, nothing may frame it.
pub(super) fn html_response(status: StatusCode, html: String, basemap: Option<&str>) -> Response {
    let extra = basemap.and_then(origin).map(|o| format!(" {o}")).unwrap_or_default();
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:{extra}; \
         connect-src 'self'{extra}; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    );
    let mut res = (status, html).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

/// `scheme://host[:port]` of a URL template, for the page's security policy.
fn origin(template: &str) -> Option<String> {
    let (scheme, rest) = template.split_once("://")?;
    let host = rest.split('/').next()?;
    let fine = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    (matches!(scheme, "http" | "https") && !host.is_empty() && host.chars().all(fine))
        .then(|| format!("{scheme}://{host}"))
}

/// What the map needs to start: where the district is, and the optional raster basemap.
#[derive(Debug, Serialize, ToSchema)]
pub struct Site {
    /// The district's name (上虞区), if one is loaded.
    pub district: Option<String>,
    /// Its county code (330604).
    pub county_code: Option<String>,
    /// min lon, min lat, max lon, max lat of the district (EPSG:4326), if one is loaded.
    pub bounds: Option<[f64; 4]>,
    /// A raster basemap as a `{z}/{x}/{y}` URL template; absent: the map draws only its own layers.
    pub basemap_url: Option<String>,
}

/// The map's settings: district, bounds, optional raster basemap.
#[utoipa::path(get, path = "/api/v1/site", tag = "web",
    responses((status = 200, description = "the map's settings", body = Site)))]
pub async fn site(State(state): State<AppState>) -> Result<axum::Json<Site>> {
    let district = crate::store::townships::district(&state.pool).await?;
    let bounds = crate::map::items::extent(&state.pool).await?;
    let (district, county_code) = district.unzip();
    Ok(axum::Json(Site { district, county_code, bounds, basemap_url: state.web.basemap_url.clone() }))
}

/// The public verification page of a certificate: whether it is in force and the facts it states
/// (the same as `GET /api/v1/verify/{certificate_no}`), never who the parties are.
#[utoipa::path(get, path = "/verify/{certificate_no}", tag = "web",
    params(("certificate_no" = String, Path, description = "e.g. SY-JZ-2020-000123"), VerifyQuery),
    responses((status = 200, description = "the verification page", content_type = "text/html", body = String),
              (status = 404, description = "no such certificate (a page saying so)", content_type = "text/html",
               body = String)))]
pub async fn verify_page(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    Path(no): Path<String>,
    LinkQuery(q): LinkQuery<VerifyQuery>,
) -> Result<Response> {
    let code = q.code.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let (status, main) = match code {
        // Nothing about the number, not even whether it exists, before the code is given.
        None => (StatusCode::OK, code_needed_html()),
        Some(code) => match activation::verification(&state, peer, &no, code).await {
            Ok(v) => (StatusCode::OK, verification_html(&v, code)),
            Err(Error::NotFound(_)) => (StatusCode::NOT_FOUND, not_found_html(&no)),
            Err(e) => return Err(e),
        },
    };
    let body = format!(
        "{HEAD_START}<title>鉴证书核验 · Certificate check — {}</title></head>\n<body class=\"verify\">\n\
         <header class=\"bar\"><a class=\"brand\" href=\"/\">上虞区闲置农房激活 · Shangyu idle-farmhouse map</a></header>\n\
         <main class=\"verify-card\">\n{main}\n{form}</main></body></html>\n",
        escape(&no),
        form = code_form(&no, code),
    );
    Ok(html_response(status, body, None))
}

fn code_needed_html() -> String {
    "<h1>鉴证书核验 · Certificate check</h1>\n<p class=\"verdict\" role=\"status\">\
     请输入证书上印制的核验码。 Enter the verification code printed on the certificate beside its number.</p>"
        .to_string()
}

fn verification_html(v: &activation::Verification, code: &str) -> String {
    let date = |d: chrono::DateTime<chrono::Utc>| d.format("%Y-%m-%d").to_string();
    let (class, verdict) = match v.state {
        CertificateState::InForce => ("valid", "有效 · Valid: this certificate is in force".to_string()),
        CertificateState::Ended => (
            "revoked",
            format!(
                "已终止 · Ended: the lease ended early{}",
                v.ended_on.map(|d| format!(" on {d}")).unwrap_or_default()
            ),
        ),
        CertificateState::Expired => {
            let last = lifecycle::last_day(v.lease_end);
            ("revoked", format!("已到期 · Expired: the lease ran to its end (its last day was {last})"))
        }
        CertificateState::Revoked => (
            "revoked",
            format!(
                "已撤销 · Revoked{}: this certificate is no longer in force",
                v.revoked_at.map(|d| format!(" on {}", date(d))).unwrap_or_default()
            ),
        ),
    };
    let mut rows = vec![
        ("证书编号 · Certificate", v.certificate_no.clone()),
        ("签发日期 · Issued", date(v.issued_at)),
        ("不动产单元号 · Unit number", v.unit_number.clone()),
        ("乡镇街道 · Township", v.township_name.clone()),
        ("村 · Village", v.village.clone()),
        ("建筑面积 · Floor area", format!("{:.2} m²", v.floor_area_m2)),
        // The last day of the lease, as the document prints it (`lease_end` is the day after).
        ("租期 · Lease", format!("{} – {}", v.lease_start, lifecycle::last_day(v.lease_end))),
        ("用途 · Use", v.intended_use.clone()),
    ];
    if let Some(d) = v.ended_on {
        rows.push(("终止日期 · Ended", d.to_string()));
    }
    if let Some(at) = v.revoked_at {
        rows.push(("撤销日期 · Revoked", date(at)));
    }
    if let Some(reason) = &v.revoke_reason {
        rows.push(("撤销原因 · Reason", reason.clone()));
    }
    let table: String =
        rows.iter().map(|(k, val)| format!("<tr><th scope=\"row\">{k}</th><td>{}</td></tr>\n", escape(val))).collect();
    format!(
        "<h1>鉴证书核验 · Certificate check</h1>\n<p class=\"verdict {class}\" role=\"status\">{}</p>\n\
         <p class=\"code valid\">核验码正确 · The verification code matches.</p>\n<table class=\"facts\">\n{table}</table>\n{encumbrances}\
         <p class=\"note\">本页只显示证书所载的公开信息，不含当事人信息。 This page shows the public facts the \
         certificate states, never who the parties are.</p>\n\
         <p class=\"documents\"><a id=\"document\" href=\"/api/v1/certifications/{no}/document?code={code}\">\
         鉴证书（PDF） · The certificate (PDF)</a> · <a id=\"signed\" href=\"/api/v1/certifications/{no}/signed?code={code}\">\
         签名数据（JWS） · Signed facts (JWS)</a> · <a href=\"/.well-known/jwks.json\">公钥 · Public keys</a></p>",
        escape(&verdict),
        no = escape(&v.certificate_no),
        code = escape(code),
        encumbrances = encumbrances_html(&v.encumbrances),
    )
}

/// The pledges in force on a certificate (docs/DESIGN.md §2.6): the bank, the amount, the loan's term.
fn encumbrances_html(list: &[activation::Encumbrance]) -> String {
    let items: String = list
        .iter()
        .map(|e| {
            format!(
                "<li class=\"encumbrance\"><span class=\"bank\">{}</span> · <span class=\"amount\">{} 元</span> · \
                 {} – {}（登记于 · registered {}）</li>\n",
                escape(&e.bank),
                e.amount_yuan,
                e.loan_start,
                e.loan_end,
                e.registered_on
            )
        })
        .collect();
    let body = if list.is_empty() {
        "<p class=\"none\">无 · None: the use right is not pledged.</p>\n".to_string()
    } else {
        format!("<ul>\n{items}</ul>\n")
    };
    format!("<section id=\"encumbrances\"><h2>抵押登记 · Encumbrances</h2>\n{body}</section>\n")
}

fn not_found_html(no: &str) -> String {
    format!(
        "<h1>鉴证书核验 · Certificate check</h1>\n<p class=\"verdict revoked\" role=\"status\">\
         查无此证书 · No certificate numbered <strong>{}</strong> with this verification code.</p>\n\
         <p>请核对证书编号（如 SY-JZ-2020-000123）与核验码。 Check the number and the code as printed.</p>",
        escape(no)
    )
}

fn code_form(no: &str, code: Option<&str>) -> String {
    format!(
        "<form class=\"code-form\" method=\"get\" action=\"/verify/{}\">\
         <label for=\"code\">核验码 · Verification code</label>\
         <input id=\"code\" name=\"code\" autocomplete=\"off\" maxlength=\"32\" value=\"{}\">\
         <button type=\"submit\">核验 · Check</button></form>\n",
        escape(&url_path_segment(no)),
        escape(code.unwrap_or(""))
    )
}

/// `s` as one percent-encoded path segment.
fn url_path_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Text for HTML content or a quoted attribute.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The routes of this module, with who may call them.
pub fn routes() -> Vec<Endpoint> {
    vec![
        route(routes!(assets), Allow::Everyone).rest_of_path(),
        route(routes!(vendor), Allow::Everyone).rest_of_path(),
        route(routes!(site), Allow::Everyone),
        route(routes!(verify_page), Allow::Everyone),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_files_of_the_allowed_kinds_are_served() {
        let ok = |p: &str| safe_relative(p, ASSET_KINDS, PRIVATE_DIRS);
        assert_eq!(ok("app/main.js"), Some(PathBuf::from("app/main.js")));
        assert_eq!(ok("style.css"), Some(PathBuf::from("style.css")));
        for bad in [
            "",
            "../Cargo.toml",
            "app/../../etc/passwd.js",
            "/etc/x.js",
            "app//main.js",
            ".env.js",
            "app/.hidden.js",
            "node_modules/maplibre-gl/dist/maplibre-gl.mjs",
            "tests/map.test.mjs",
            "package.json",
            "index.html",
            "app\\main.js",
            "app/main",
            "app/ma in.js",
        ] {
            assert_eq!(ok(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn html_is_escaped_and_origins_are_plain() {
        assert_eq!(escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert_eq!(origin("https://t0.tianditu.gov.cn/img_w/wmts?x={x}"), Some("https://t0.tianditu.gov.cn".into()));
        assert_eq!(origin("http://127.0.0.1:9000/{z}/{x}/{y}.png"), Some("http://127.0.0.1:9000".into()));
        assert_eq!(origin("javascript:alert(1)"), None);
        assert_eq!(origin("https://a.example; script-src *"), None);
        assert_eq!(url_path_segment("SY-JZ-2020-000001"), "SY-JZ-2020-000001");
        assert_eq!(url_path_segment("a/b?c"), "a%2Fb%3Fc");
    }
}
