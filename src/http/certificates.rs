//! The certificate as a document and as signed facts (docs/DESIGN.md §2.4): the A4 PDF
//! (`/api/v1/certifications/{no}/document`), the facts as a JWS signed with the district's Ed25519 key
//! (`/api/v1/certifications/{no}/signed`) and the public keys (`/.well-known/jwks.json`). Both certificate
//! routes need the verification code printed on the certificate, checked (and throttled) as verification
//! checks it.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::activation::{checked_certificate, required_code};
use super::auth::{Caller, PeerAddr};
use super::features::BaseUrl;
use super::query::Query;
use super::routes::{Allow, Endpoint, route};
use super::{AppState, Error, Problem, Result};
use crate::document::{self, Copy, DocumentError, Fonts, Sheet};
use crate::domain::lifecycle::{self, CertificateState};
use crate::domain::roles::Role;
use crate::signing::Keyring;
use crate::store::activation::CertificationRow;
use crate::store::parties;
use utoipa_axum::routes;

/// What certificates are signed and printed with.
pub struct Issuing {
    /// The district's keys: the newest signs, all are published.
    pub keys: Keyring,
    /// The issuing office printed on the document (e.g. 绍兴市上虞区农村产权交易中心).
    pub office: String,
    /// Where the document's fonts are (a Chinese font, regular and optionally bold).
    pub font: PathBuf,
    pub bold_font: Option<PathBuf>,
    /// The fonts, read on the first document.
    fonts: OnceLock<std::result::Result<Fonts, String>>,
}

/// The office printed when none is configured.
pub const DEFAULT_OFFICE: &str = "绍兴市上虞区农村产权交易中心";
/// Debian's `fonts-noto-cjk` (installed by `make run`).
pub const DEFAULT_FONT: &str = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc";
pub const DEFAULT_BOLD_FONT: &str = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc";

impl Issuing {
    pub fn new(keys: Keyring, office: String, font: PathBuf, bold_font: Option<PathBuf>) -> Self {
        Self { keys, office, font, bold_font, fonts: OnceLock::new() }
    }

    /// An in-memory key and the default office and fonts: what a service built without `serve`'s
    /// configuration (tests) signs and prints with.
    pub fn ephemeral() -> Self {
        let bold = PathBuf::from(DEFAULT_BOLD_FONT);
        Self::new(Keyring::ephemeral(), DEFAULT_OFFICE.into(), DEFAULT_FONT.into(), bold.exists().then_some(bold))
    }

    fn fonts(&self) -> Result<&Fonts> {
        self.fonts
            .get_or_init(|| Fonts::load(&self.font, self.bold_font.as_deref()).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| Error::Unavailable(format!("documents cannot be printed: {e}")))
    }

    /// Renders a document with the fonts, off the async threads: a page's layout and font subsetting are
    /// milliseconds of CPU that would otherwise hold up other requests.
    pub(super) async fn print(
        self: Arc<Self>,
        render: impl FnOnce(&Fonts) -> std::result::Result<Vec<u8>, DocumentError> + Send + 'static,
    ) -> Result<Vec<u8>> {
        tokio::task::spawn_blocking(move || render(self.fonts()?).map_err(|e| Error::Internal(e.into())))
            .await
            .map_err(|e| Error::Internal(e.into()))?
    }
}

/// A PDF answered to be shown in the browser under `filename` (ASCII), and not kept by caches: a
/// document states the records as they stand when it is asked for.
pub(super) fn pdf(bytes: Vec<u8>, filename: &str) -> Response {
    let mut res = bytes.into_response();
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("inline; filename=\"{filename}\"")).expect("a document's file name is ASCII"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DocumentQuery {
    /// The verification code printed on the certificate (required).
    pub code: Option<String>,
    /// `public` (default): the parties' names masked, as verification shows them; `officer`: full names,
    /// for officers and admins.
    pub copy: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignedQuery {
    /// The verification code printed on the certificate (required).
    pub code: Option<String>,
}

/// The certificate as an A4 PDF in Chinese (农房使用权流转鉴证书): its frozen facts, the parties (masked
/// in the public copy), the issuing office, officer and date, the signing key's id, and a QR code of the
/// verification URL with the code. A certificate no longer in force says so on the page.
#[utoipa::path(get, path = "/api/v1/certifications/{certificate_no}/document", tag = "certifications",
    params(("certificate_no" = String, Path), DocumentQuery),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 400, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 429, body = Problem),
              (status = 503, body = Problem)))]
pub async fn document(
    State(state): State<AppState>,
    caller: Caller,
    PeerAddr(peer): PeerAddr,
    BaseUrl(base): BaseUrl,
    Path(no): Path<String>,
    Query(q): Query<DocumentQuery>,
) -> Result<Response> {
    let code = required_code(q.code.as_deref())?.to_string();
    let copy = match q.copy.as_deref().map(str::trim) {
        None | Some("" | "public") => Copy::Public,
        Some("officer") => Copy::Officer,
        Some(_) => return Err(Error::invalid("copy", "must be public or officer")),
    };
    if copy == Copy::Officer && !matches!(caller.role, Role::Officer | Role::Admin) {
        return Err(Error::Forbidden("the officer's copy (full names) is for officers and admins".into()));
    }
    let r = checked_certificate(&state, peer, &no, &code).await?;
    let (lessor, lessee) = names(&state, &r, copy).await?;
    let issuing = state.issuing.clone();
    let verify_url = format!("{base}/verify/{}?code={}", r.certificate_no, r.verification_code);
    let filename = format!("{}.pdf", r.certificate_no);
    let sheet = sheet(&issuing, r, lessor, lessee, verify_url, copy);
    let bytes = issuing.print(move |fonts| document::render(&sheet, fonts)).await?;
    // Not cached: the page states where the certificate stands today, and the officer's copy names the parties.
    Ok(pdf(bytes, &filename))
}

/// The certificate's frozen facts (as `facts` of a certification shows them), as a compact JWS signed
/// with the district's Ed25519 key (`alg` EdDSA); the keys are at `/.well-known/jwks.json`.
#[utoipa::path(get, path = "/api/v1/certifications/{certificate_no}/signed", tag = "certifications",
    params(("certificate_no" = String, Path), SignedQuery),
    responses((status = 200, content_type = "application/jose", body = String), (status = 400, body = Problem),
              (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn signed(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    Path(no): Path<String>,
    Query(q): Query<SignedQuery>,
) -> Result<Response> {
    let code = required_code(q.code.as_deref())?;
    let r = checked_certificate(&state, peer, &no, code).await?;
    let token = state.issuing.keys.sign(&r.facts.0).map_err(|e| Error::Internal(e.into()))?;
    let mut res = token.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/jose"));
    Ok(res)
}

/// The district's public signing keys (JWK Set, RFC 7517), `kid` = the key's RFC 7638 thumbprint: the
/// newest signs, older ones stay listed so what they signed still verifies.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "certifications",
    responses((status = 200, content_type = "application/jwk-set+json", body = Object)))]
pub async fn jwks(State(state): State<AppState>) -> Response {
    let body = serde_json::to_vec(&state.issuing.keys.jwks()).expect("a JWK Set serialises");
    let mut res = body.into_response();
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/jwk-set+json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    res
}

/// The parties' names as copy `copy` shows them: masked as frozen in the facts, or in full from the
/// parties' records.
async fn names(state: &AppState, r: &CertificationRow, copy: Copy) -> Result<(Option<String>, String)> {
    let f = &r.facts.0;
    if copy == Copy::Public {
        return Ok((f.lessor.as_ref().map(|p| p.name.clone()), f.lessee.name.clone()));
    }
    let full = async |id: i64, masked: &str| -> Result<String> {
        Ok(parties::get(&state.pool, id).await?.map_or_else(|| masked.to_string(), |p| p.name))
    };
    let lessor = match &f.lessor {
        Some(p) => Some(full(p.party_id, &p.name).await?),
        None => None,
    };
    Ok((lessor, full(f.lessee.party_id, &f.lessee.name).await?))
}

fn sheet(
    issuing: &Issuing,
    r: CertificationRow,
    lessor: Option<String>,
    lessee: String,
    verify_url: String,
    copy: Copy,
) -> Sheet {
    let notice = match r.state(lifecycle::beijing_today()) {
        CertificateState::InForce => None,
        CertificateState::Revoked => Some(format!(
            "本证已于 {} 撤销，不再有效。撤销原因：{}",
            r.revoked_at.map(lifecycle::beijing_date).map(|d| d.to_string()).unwrap_or_default(),
            r.revoke_reason.as_deref().unwrap_or("")
        )),
        CertificateState::Ended => Some(format!(
            "本证所鉴证的租赁已于 {} 提前终止，本证不再有效。",
            r.terminated_on.map(|d| d.to_string()).unwrap_or_default()
        )),
        CertificateState::Expired => {
            Some(format!("本证所鉴证的租赁期限已于 {} 届满，本证不再有效。", lifecycle::last_day(r.facts.0.lease_end)))
        }
    };
    let f = r.facts.0;
    Sheet {
        certificate_no: f.certificate_no,
        unit_number: f.unit_number,
        parcel_code: f.parcel_code,
        township_name: f.township_name,
        village: f.village,
        floor_area_m2: f.floor_area_m2,
        structure: f.structure,
        lessor,
        lessee,
        contract_no: f.contract_no,
        lease_start: f.lease_start,
        lease_end: f.lease_end,
        annual_rent_fen: f.annual_rent_fen,
        total_amount_fen: f.total_amount_fen,
        intended_use: f.intended_use,
        officer: f.officer,
        office: issuing.office.clone(),
        issued_at: f.issued_at,
        verify_url,
        code: r.verification_code,
        key_id: issuing.keys.active_kid().to_string(),
        copy,
        notice,
    }
}

/// The routes of this module, with who may call them.
pub fn routes() -> Vec<Endpoint> {
    vec![
        route(routes!(document), Allow::Everyone),
        route(routes!(signed), Allow::Everyone),
        route(routes!(jwks), Allow::Everyone),
    ]
}
