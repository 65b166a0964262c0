//! Activation projects (激活项目): houses grouped under one operator and brand, such as a 民宿 cluster. The
//! public reads them as JSON (`/api/v1/projects`) and as pages (`/projects`, the showcase, and
//! `/projects/{id}`); officers record them and their houses and pictures.
//!
//! Everything a project shows is public: its name, story, figures and pictures, its houses' public facts,
//! and its operator — an organisation — by name with the contact it publishes. Nothing of a household (an
//! owner's name, ID number or phone) is selected for any of it.

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::auth::Caller;
use super::json::Json;
use super::photos::{self as house_photos, UploadQuery};
use super::query::Query;
use super::routes::{Allow, Endpoint, route};
use super::shapes::{List, page};
use super::web::{HEAD_START, escape, html_response};
use super::{AppState, Error, Problem, Result};
use crate::domain::money::Yuan;
pub use crate::domain::project::{ProjectHousesIn, ProjectIn, check_project, check_project_houses};
use crate::store::photos::{self, Subject};
use crate::store::projects::{self, MemberHouse, ProjectRow};
use crate::store::{self, Page};
use utoipa_axum::routes;

/// A project as the public list shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectSummary {
    pub id: i64,
    pub name: String,
    /// The brand it trades under ("" when its name is its brand).
    pub brand: String,
    pub township_code: String,
    pub township_name: String,
    /// How many houses it groups.
    pub houses: i64,
    /// Their floor area together (m²).
    pub floor_area_m2: f64,
    #[schema(value_type = f64)]
    pub investment_yuan: Yuan,
    pub opened_on: Option<chrono::NaiveDate>,
    /// Its first picture, if it has any.
    pub cover_photo_url: Option<String>,
    /// The area its houses cover (a GeoJSON Polygon, lon/lat): the hull of their footprints widened by 15 m;
    /// absent while it has no house.
    #[schema(value_type = Option<Object>)]
    pub outline: Option<Value>,
    /// Its public page.
    pub page_url: String,
}

/// The operator as the public sees it: an organisation's registered name and the contact it publishes.
#[derive(Debug, Serialize, ToSchema)]
pub struct Operator {
    pub name: String,
    pub contact_phone: Option<String>,
    pub contact_url: Option<String>,
}

/// A house of a project: the public facts the map shows, and a link to the map at it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectHouse {
    #[serde(flatten)]
    pub house: MemberHouse,
    /// The web map at the house.
    pub map_url: String,
}

/// A project whole: its summary, story, operator, pictures and houses.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectView {
    #[serde(flatten)]
    pub summary: ProjectSummary,
    pub story: String,
    pub operator: Operator,
    /// Its pictures, the cover first.
    pub photo_urls: Vec<String>,
    pub member_houses: Vec<ProjectHouse>,
    pub version: i32,
}

fn photo_url(project: i64, photo: i64) -> String {
    format!("/api/v1/projects/{project}/photos/{photo}")
}

impl From<&ProjectRow> for ProjectSummary {
    fn from(r: &ProjectRow) -> Self {
        Self {
            id: r.id,
            name: r.name.clone(),
            brand: r.brand.clone(),
            township_code: r.township_code.clone(),
            township_name: r.township_name.clone(),
            houses: r.houses,
            floor_area_m2: r.floor_area_m2,
            investment_yuan: Yuan::from_fen(r.investment_fen),
            opened_on: r.opened_on,
            cover_photo_url: r.photo_ids.first().map(|p| photo_url(r.id, *p)),
            outline: r.outline.as_ref().map(|o| o.0.clone()),
            page_url: format!("/projects/{}", r.id),
        }
    }
}

impl ProjectView {
    fn of(r: &ProjectRow, houses: &[MemberHouse]) -> Self {
        Self {
            summary: r.into(),
            story: r.story.clone(),
            operator: Operator {
                name: r.operator_name.clone(),
                contact_phone: r.contact_phone.clone(),
                contact_url: r.contact_url.clone(),
            },
            photo_urls: r.photo_ids.iter().map(|p| photo_url(r.id, *p)).collect(),
            member_houses: houses
                .iter()
                .map(|h| ProjectHouse { house: h.clone(), map_url: format!("/?house={}", h.id) })
                .collect(),
            version: r.version,
        }
    }
}

/// A project and its houses, or 404.
async fn fetch(state: &AppState, id: i64) -> Result<(ProjectRow, Vec<MemberHouse>)> {
    let row = projects::get(&state.pool, id).await?.ok_or_else(|| Error::NotFound(format!("project {id}")))?;
    let houses = projects::houses(&state.pool, id).await?;
    Ok((row, houses))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProjectQuery {
    /// Rows per page (1..=1000, default 100).
    pub limit: Option<i64>,
    /// Show rows after this id (the `next` link carries it).
    pub after: Option<i64>,
}

/// Activation projects: name, houses, figures, cover and outline (public).
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", params(ProjectQuery),
    responses((status = 200, body = List<ProjectSummary>), (status = 400, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Query(q): Query<ProjectQuery>,
) -> Result<axum::Json<List<ProjectSummary>>> {
    let page: Page = page(q.limit, q.after)?;
    let rows = projects::list(&state.pool, page).await?;
    let (rows, next) = page.split(rows, |r| r.id);
    Ok(axum::Json(List::new(rows.iter().map(Into::into).collect(), &uri, next)))
}

/// One project: its story, operator's public contact, pictures and houses (public).
#[utoipa::path(get, path = "/api/v1/projects/{id}", tag = "projects", params(("id" = i64, Path)),
    responses((status = 200, body = ProjectView), (status = 404, body = Problem)))]
pub async fn get(State(state): State<AppState>, Path(id): Path<i64>) -> Result<axum::Json<ProjectView>> {
    let (row, houses) = fetch(&state, id).await?;
    Ok(axum::Json(ProjectView::of(&row, &houses)))
}

/// Record a project (with its houses, if given).
#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", request_body = ProjectIn,
    responses((status = 201, body = ProjectView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(State(state): State<AppState>, caller: Caller, Json(input): Json<ProjectIn>) -> Result<Response> {
    let project = check_project(&input)?;
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    let id = projects::insert(&mut tx, &project).await?;
    tx.commit().await?;
    let (row, houses) = fetch(&state, id).await?;
    let location = format!("/api/v1/projects/{id}");
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], axum::Json(ProjectView::of(&row, &houses)))
        .into_response())
}

/// Set a project's houses: houses left out leave it; a house of another project is refused (409).
#[utoipa::path(put, path = "/api/v1/projects/{id}/houses", tag = "projects", request_body = ProjectHousesIn,
    params(("id" = i64, Path)),
    responses((status = 200, body = ProjectView), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn set_houses(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(input): Json<ProjectHousesIn>,
) -> Result<axum::Json<ProjectView>> {
    let houses = check_project_houses(&input)?;
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    projects::set_houses(&mut tx, id, &houses).await?;
    tx.commit().await?;
    let (row, houses) = fetch(&state, id).await?;
    Ok(axum::Json(ProjectView::of(&row, &houses)))
}

/// Add a picture to a project: the body is the image (JPEG or PNG, at most 10 MiB); the first is its cover.
#[utoipa::path(post, path = "/api/v1/projects/{id}/photos", tag = "projects",
    params(("id" = i64, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses((status = 201, description = "stored; `Location` is its URL"), (status = 404, body = Problem),
              (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn upload_photo(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<UploadQuery>,
    body: Bytes,
) -> Result<Response> {
    let received = house_photos::receive(q, body).await?;
    let mut tx = store::begin_as(&state.pool, &caller.actor()).await?;
    let photo = photos::insert(&mut tx, Subject::Project(id), &received.photo()).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, [(header::LOCATION, photo_url(id, photo))]).into_response())
}

/// A project's picture. Its ETag is the SHA-256 of the bytes; it may be cached for a year.
#[utoipa::path(get, path = "/api/v1/projects/{id}/photos/{photo}", tag = "projects",
    params(("id" = i64, Path), ("photo" = i64, Path)),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>), (status = 304), (status = 404, body = Problem)))]
pub async fn photo(
    State(state): State<AppState>,
    Path((id, photo)): Path<(i64, i64)>,
    headers: HeaderMap,
) -> Result<Response> {
    let (media_type, sha, content) = photos::content(&state.pool, Subject::Project(id), photo)
        .await?
        .ok_or_else(|| Error::NotFound(format!("picture {photo} of project {id}")))?;
    Ok(house_photos::answer(&headers, &media_type, &sha, content))
}

// ---------------------------------------------------------------------------------------------------
// Pages

fn page_html(title: &str, main: &str) -> String {
    format!(
        "{HEAD_START}<title>{title}</title>\n<style>{PAGE_STYLE}</style></head>\n<body class=\"verify projects\">\n\
         <header class=\"bar\"><a class=\"brand\" href=\"/\">上虞区闲置农房激活 · Shangyu idle-farmhouse map</a></header>\n\
         <main class=\"verify-card project-card\">\n{main}</main></body></html>\n",
        title = escape(title)
    )
}

/// The pages' own layout, beside the map's style sheet (which the pages share).
const PAGE_STYLE: &str = ".project-card { max-width: 56rem; } \
    .showcase { display: grid; grid-template-columns: repeat(auto-fill, minmax(15rem, 1fr)); gap: 1rem; padding: 0; } \
    .showcase li { list-style: none; border: 1px solid #ddd; border-radius: 8px; overflow: hidden; } \
    .showcase a { color: inherit; text-decoration: none; display: block; } \
    .showcase h2 { font-size: 1.1rem; margin: 0.5rem 0.7rem 0.2rem; } .showcase p { margin: 0.2rem 0.7rem 0.6rem; } \
    .project-card img { width: 100%; height: auto; display: block; border-radius: 6px; } \
    .story p { line-height: 1.7; } .gallery { display: flex; gap: 0.5rem; overflow-x: auto; } \
    .gallery img { width: 12rem; }";

/// A project's figures, in the words of both pages.
fn figures(s: &ProjectSummary) -> String {
    let opened = s.opened_on.map_or_else(|| "筹备中 · in preparation".to_string(), |d| d.to_string());
    format!(
        "{} 栋农房 · {} houses · {:.0} m² · 投资 {} 万元 · invested {} yuan · 开业 · opened {}",
        s.houses,
        s.houses,
        s.floor_area_m2,
        s.investment_yuan.fen() / 1_000_000,
        s.investment_yuan,
        opened
    )
}

/// The showcase (乡路网-style): every project with its cover, name, township and figures.
#[utoipa::path(get, path = "/projects", tag = "web",
    responses((status = 200, description = "the showcase page", content_type = "text/html", body = String)))]
pub async fn showcase(State(state): State<AppState>) -> Result<Response> {
    // The pages read no query string, so a shared link opens whatever a messenger adds to it (`?from=…`).
    let mut cards = String::new();
    let mut after = 0;
    loop {
        let page = Page { after, limit: 1000 };
        let rows = projects::list(&state.pool, page).await?;
        let (rows, next) = page.split(rows, |r| r.id);
        for r in &rows {
            let s = ProjectSummary::from(r);
            let cover = s.cover_photo_url.as_deref().map_or_else(String::new, |u| {
                format!("<img src=\"{}\" alt=\"{} 封面 · cover\" loading=\"lazy\">", escape(u), escape(&s.name))
            });
            cards.push_str(&format!(
                "<li><a href=\"{}\">{cover}<h2>{}</h2><p class=\"brand-line\">{} · {}</p><p>{}</p></a></li>\n",
                escape(&s.page_url),
                escape(&s.name),
                escape(if s.brand.is_empty() { &s.name } else { &s.brand }),
                escape(&s.township_name),
                escape(&figures(&s)),
            ));
        }
        match next {
            Some(n) => after = n,
            None => break,
        }
    }
    let list = if cards.is_empty() {
        "<p class=\"none\">暂无项目 · No projects yet.</p>\n".to_string()
    } else {
        format!("<ul class=\"showcase\">\n{cards}</ul>\n")
    };
    let main = format!(
        "<h1>激活项目 · Activation projects</h1>\n<p>闲置农房经整体运营焕发新生的项目。 Idle farmhouses brought back \
         to life by one operator each.</p>\n{list}"
    );
    Ok(html_response(StatusCode::OK, page_html("激活项目 · Activation projects", &main), None))
}

/// A project's public page: its cover, story, figures, operator's contact and houses, each linked to the map.
#[utoipa::path(get, path = "/projects/{id}", tag = "web", params(("id" = i64, Path)),
    responses((status = 200, description = "the project's page", content_type = "text/html", body = String),
              (status = 404, description = "no such project (a page saying so)", content_type = "text/html",
               body = String)))]
pub async fn project_page(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Response> {
    let (row, houses) = match fetch(&state, id).await {
        Ok(found) => found,
        Err(Error::NotFound(_)) => {
            let main = format!(
                "<h1>查无此项目 · No such project</h1>\n<p>项目 {id} 不存在。 There is no project {id}.</p>\n\
                 <p><a href=\"/projects\">全部项目 · All projects</a></p>\n"
            );
            return Ok(html_response(StatusCode::NOT_FOUND, page_html("查无此项目 · No such project", &main), None));
        }
        Err(e) => return Err(e),
    };
    let v = ProjectView::of(&row, &houses);
    Ok(html_response(StatusCode::OK, page_html(&v.summary.name, &project_html(&v)), None))
}

fn project_html(v: &ProjectView) -> String {
    let s = &v.summary;
    let cover = v.photo_urls.first().map_or_else(String::new, |u| {
        format!("<img id=\"cover\" src=\"{}\" alt=\"{} 封面 · cover\">\n", escape(u), escape(&s.name))
    });
    let gallery: String = v
        .photo_urls
        .iter()
        .skip(1)
        .map(|u| format!("<img src=\"{}\" alt=\"{}\" loading=\"lazy\">", escape(u), escape(&s.name)))
        .collect();
    let story: String =
        v.story.split('\n').filter(|p| !p.trim().is_empty()).map(|p| format!("<p>{}</p>\n", escape(p))).collect();
    let mut rows = vec![
        ("品牌 · Brand", if s.brand.is_empty() { s.name.clone() } else { s.brand.clone() }),
        ("乡镇街道 · Township", s.township_name.clone()),
        ("农房 · Houses", format!("{} 栋 · {}", s.houses, s.houses)),
        ("建筑面积 · Floor area", format!("{:.2} m²", s.floor_area_m2)),
        ("投资 · Investment", format!("{} 元 · yuan", s.investment_yuan)),
        ("开业 · Opened", s.opened_on.map_or_else(|| "筹备中 · in preparation".to_string(), |d| d.to_string())),
        ("运营主体 · Operator", v.operator.name.clone()),
    ];
    if let Some(phone) = &v.operator.contact_phone {
        rows.push(("联系电话 · Telephone", phone.clone()));
    }
    let mut table: String =
        rows.iter().map(|(k, val)| format!("<tr><th scope=\"row\">{k}</th><td>{}</td></tr>\n", escape(val))).collect();
    if let Some(url) = &v.operator.contact_url {
        table.push_str(&format!(
            "<tr><th scope=\"row\">网站 · Website</th><td><a href=\"{0}\" rel=\"noopener nofollow\">{0}</a></td></tr>\n",
            escape(url)
        ));
    }
    let houses: String = v
        .member_houses
        .iter()
        .map(|h| {
            format!(
                "<li><a href=\"{}\">{} · {}</a> — {:.2} m², {} 层 · floors, {} 年建 · built, {}</li>\n",
                escape(&h.map_url),
                escape(&h.house.village),
                escape(&h.house.unit_number),
                h.house.floor_area_m2,
                h.house.floors,
                h.house.year_built,
                h.house.status
            )
        })
        .collect();
    format!(
        "<h1>{name}</h1>\n{cover}<section class=\"story\"><h2>项目故事 · Story</h2>\n{story}</section>\n\
         <table class=\"facts\">\n{table}</table>\n<div class=\"gallery\">{gallery}</div>\n\
         <section id=\"houses\"><h2>项目农房 · Houses (在地图上查看 · on the map)</h2>\n<ul>\n{houses}</ul></section>\n\
         <p class=\"note\">本页只显示项目与运营主体公开的信息，不含农户信息。 This page shows what the project and its \
         operator publish, never a household's data.</p>\n\
         <p><a href=\"/projects\">全部项目 · All projects</a> · <a href=\"/api/v1/projects/{id}\">JSON</a></p>\n",
        name = escape(&s.name),
        id = s.id,
    )
}

/// The routes of this module, with who may call them.
pub fn routes() -> Vec<Endpoint> {
    vec![
        route(routes!(list), Allow::Everyone),
        route(routes!(create), Allow::OFFICERS),
        route(routes!(get), Allow::Everyone),
        route(routes!(set_houses), Allow::OFFICERS),
        route(routes!(upload_photo), Allow::OFFICERS).body_limit(house_photos::MAX_UPLOAD_BYTES),
        route(routes!(photo), Allow::Everyone),
        route(routes!(showcase), Allow::Everyone),
        route(routes!(project_page), Allow::Everyone),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_in_both_languages() {
        let s = ProjectSummary {
            id: 1,
            name: "芋艿湾".into(),
            brand: String::new(),
            township_code: "330604203".into(),
            township_name: "丁宅乡".into(),
            houses: 5,
            floor_area_m2: 1234.4,
            investment_yuan: Yuan::from_fen(1_200_000_000),
            opened_on: chrono::NaiveDate::from_ymd_opt(2019, 5, 1),
            cover_photo_url: None,
            outline: None,
            page_url: "/projects/1".into(),
        };
        assert_eq!(
            figures(&s),
            "5 栋农房 · 5 houses · 1234 m² · 投资 1200 万元 · invested 12000000.00 yuan · 开业 · opened 2019-05-01"
        );
    }
}
