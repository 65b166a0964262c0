//! Activation projects (激活项目) as the registry accepts them: houses grouped under one operator and brand,
//! with a story, the investment, the opening day and the operator's public business contact. Everything
//! here is shown to the public, so it holds nothing of a household: the operator is an organisation
//! (the database holds that), and its contact is the one it publishes.

use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;

use super::FieldError;
use super::checks::{Checks, paragraphs, text};
use super::identity::check_phone;
use super::money::Yuan;
use super::records::date;
use super::township::TownshipCode;

/// The most houses one project groups: a cluster of a village, not a township.
pub const MAX_HOUSES: usize = 50;

/// A project as an officer records it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectIn {
    /// The project's public name (unique), e.g. 芋艿湾.
    pub name: String,
    /// The brand it trades under, if other than its name.
    pub brand: Option<String>,
    /// The operator (运营主体): an organisation party.
    pub operator_party_id: i64,
    /// The story told on its page (several paragraphs).
    pub story: Option<String>,
    /// What the operator invested, in yuan.
    #[schema(value_type = Option<f64>)]
    pub investment_yuan: Option<Yuan>,
    /// The day it opened to guests, if it has.
    pub opened_on: Option<NaiveDate>,
    /// The operator's public business telephone (never a household's).
    pub contact_phone: Option<String>,
    /// The operator's public web address (http or https).
    pub contact_url: Option<String>,
    /// The township (9 digits) it is shown under.
    pub township_code: String,
    /// Its houses; none when left out (`PUT …/houses` sets them later).
    pub farmhouse_ids: Option<Vec<i64>>,
}

/// A project's houses, replacing those it had.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectHousesIn {
    pub farmhouse_ids: Vec<i64>,
}

/// A checked project, ready to store.
#[derive(Debug, Clone)]
pub struct NewProject {
    pub name: String,
    pub brand: String,
    pub operator_party_id: i64,
    pub story: String,
    pub investment_fen: i64,
    pub opened_on: Option<NaiveDate>,
    pub contact_phone: Option<String>,
    pub contact_url: Option<String>,
    pub township_code: String,
    pub farmhouse_ids: Vec<i64>,
}

/// Checks a project with every field's rule; errors name the field.
pub fn check_project(p: &ProjectIn) -> Result<NewProject, Vec<FieldError>> {
    let mut c = Checks::default();
    let name = c.check("name", text(&p.name, 1, 100));
    let brand = c.check("brand", text(p.brand.as_deref().unwrap_or(""), 0, 100));
    if p.operator_party_id < 1 {
        c.fail("operator_party_id", "must name a party (a positive id)");
    }
    let story = c.check("story", paragraphs(p.story.as_deref().unwrap_or(""), 0, 5000));
    let opened_on = p.opened_on.and_then(|d| c.check("opened_on", date(d)));
    let contact_phone = p
        .contact_phone
        .as_deref()
        .and_then(|v| c.check("contact_phone", check_phone(v).map(|()| v.trim().to_string())));
    let contact_url = p.contact_url.as_deref().and_then(|v| c.check("contact_url", check_url(v)));
    let township_code = c.check("township_code", TownshipCode::parse(&p.township_code));
    let farmhouse_ids = match &p.farmhouse_ids {
        Some(ids) => check_houses(&mut c, ids),
        None => Some(Vec::new()),
    };
    c.finish(|| NewProject {
        name: name.expect("checked"),
        brand: brand.expect("checked"),
        operator_party_id: p.operator_party_id,
        story: story.expect("checked"),
        investment_fen: p.investment_yuan.map_or(0, Yuan::fen),
        opened_on,
        contact_phone,
        contact_url,
        township_code: township_code.expect("checked").as_str().to_string(),
        farmhouse_ids: farmhouse_ids.expect("checked"),
    })
}

/// Checks the houses of a project: ids of houses, each once, at most [`MAX_HOUSES`].
pub fn check_project_houses(p: &ProjectHousesIn) -> Result<Vec<i64>, Vec<FieldError>> {
    let mut c = Checks::default();
    let ids = check_houses(&mut c, &p.farmhouse_ids);
    c.finish(|| ids.expect("checked"))
}

fn check_houses(c: &mut Checks, ids: &[i64]) -> Option<Vec<i64>> {
    let mut ok = true;
    if ids.len() > MAX_HOUSES {
        c.fail("farmhouse_ids", format!("has {} houses; a project groups at most {MAX_HOUSES}", ids.len()));
        ok = false;
    }
    for (i, id) in ids.iter().enumerate() {
        if *id < 1 {
            c.fail(&format!("farmhouse_ids[{i}]"), "must name a house (a positive id)");
            ok = false;
        } else if ids[..i].contains(id) {
            c.fail(&format!("farmhouse_ids[{i}]"), format!("house {id} is listed twice"));
            ok = false;
        }
    }
    ok.then(|| ids.to_vec())
}

/// A public web address: `http://` or `https://` and a host, printable ASCII, at most 300 characters.
pub fn check_url(url: &str) -> Result<String, String> {
    let u = url.trim();
    let rest = u.strip_prefix("https://").or_else(|| u.strip_prefix("http://"));
    let host = rest.and_then(|r| r.split(['/', '?', '#']).next()).unwrap_or("");
    if u.len() > 300 || host.is_empty() || !u.chars().all(|c| c.is_ascii_graphic()) {
        return Err("must be an http:// or https:// address of at most 300 characters, without spaces".into());
    }
    Ok(u.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> ProjectIn {
        ProjectIn {
            name: "芋艿湾".into(),
            brand: Some("芋艿湾民宿".into()),
            operator_party_id: 7,
            story: Some("老屋新生。\n第二段。".into()),
            investment_yuan: Some(Yuan::from_fen(1_200_000_000)),
            opened_on: NaiveDate::from_ymd_opt(2019, 5, 1),
            contact_phone: Some("0575-82000000".into()),
            contact_url: Some("https://yuaiwan.example.cn/".into()),
            township_code: "330604203".into(),
            farmhouse_ids: Some(vec![3, 4, 5]),
        }
    }

    fn fields(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_good_project_passes_with_its_houses() {
        let p = check_project(&project()).unwrap();
        assert_eq!(p.investment_fen, 1_200_000_000);
        assert_eq!(p.farmhouse_ids, [3, 4, 5]);
        assert_eq!(p.story, "老屋新生。\n第二段。");
        let bare = ProjectIn { brand: None, story: None, investment_yuan: None, farmhouse_ids: None, ..project() };
        let p = check_project(&bare).unwrap();
        assert_eq!((p.brand.as_str(), p.investment_fen, p.farmhouse_ids.len()), ("", 0, 0));
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = ProjectIn {
            name: " ".into(),
            operator_party_id: 0,
            opened_on: NaiveDate::from_ymd_opt(1980, 1, 1),
            contact_phone: Some("call us".into()),
            contact_url: Some("javascript:alert(1)".into()),
            township_code: "3306".into(),
            farmhouse_ids: Some(vec![3, 0, 3]),
            ..project()
        };
        assert_eq!(
            fields(check_project(&bad).unwrap_err()),
            [
                "name",
                "operator_party_id",
                "opened_on",
                "contact_phone",
                "contact_url",
                "township_code",
                "farmhouse_ids[1]",
                "farmhouse_ids[2]"
            ]
        );
    }

    #[test]
    fn houses_are_listed_once_and_not_too_many() {
        assert_eq!(check_project_houses(&ProjectHousesIn { farmhouse_ids: vec![] }).unwrap(), Vec::<i64>::new());
        let many = ProjectHousesIn { farmhouse_ids: (1..=51).collect() };
        assert_eq!(fields(check_project_houses(&many).unwrap_err()), ["farmhouse_ids"]);
    }

    #[test]
    fn addresses_are_web_addresses() {
        assert!(check_url("http://a.cn").is_ok());
        assert!(check_url("https://").is_err());
        assert!(check_url("https://a.cn/x y").is_err());
        assert!(check_url("ftp://a.cn").is_err());
    }
}
