//! The printed activation report on the demo district: an A4 PDF of a page or two whose figures are the
//! summary's on the same day (totals, townships, months), for officials, officers and admins only, and
//! its parameters' refusals naming them.

use chrono::{Datelike, Months};
use serde_json::Value;

use crate::certificates::{bytes, run, stdout};
use crate::common::api::Api;
use crate::common::{TestDb, spawn_app, spawn_app_as};
use farmhouse::domain::lifecycle;
use farmhouse::domain::roles::Role;

const PATH: &str = "/api/v1/reports/activation.pdf";

/// The report's text as laid out, and its pages as `pdftoppm -r 60` renders them (width, height in
/// pixels). With `REPORT_KEEP_PDF` set, the PDF is kept there too.
async fn report(api: &Api, query: &str) -> (String, Vec<(u32, u32)>) {
    let (status, kind, pdf) = bytes(api, &format!("{PATH}{query}")).await;
    assert_eq!((status, kind.as_str()), (200, "application/pdf"), "{}", String::from_utf8_lossy(&pdf));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.pdf");
    std::fs::write(&file, &pdf).unwrap();
    if let Ok(keep) = std::env::var("REPORT_KEEP_PDF") {
        std::fs::copy(&file, keep).unwrap();
    }
    let file = file.to_str().unwrap();
    let fonts = stdout(&run("pdffonts", &[file], "poppler-utils"));
    assert!(fonts.lines().skip(2).all(|l| l.contains(" yes ")), "every font embedded:\n{fonts}");
    let text = stdout(&run("pdftotext", &["-layout", file, "-"], "poppler-utils"));
    let prefix = dir.path().join("page");
    stdout(&run("pdftoppm", &["-r", "60", "-png", file, prefix.to_str().unwrap()], "poppler-utils"));
    let mut pngs: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .collect();
    pngs.sort();
    let pages = pngs
        .iter()
        .map(|p| {
            // A PNG's width and height are the big-endian words at bytes 16 and 20 (its IHDR chunk).
            let b = std::fs::read(p).unwrap();
            (u32::from_be_bytes(b[16..20].try_into().unwrap()), u32::from_be_bytes(b[20..24].try_into().unwrap()))
        })
        .collect();
    (text, pages)
}

/// A4 (595.28 × 841.89 points) as `pdftoppm -r 60` renders it, rounding up.
const A4_AT_60: (u32, u32) = (497, 702);

/// An amount of the summary in 万 with two decimals, as the report prints it but for the commas between
/// thousands (compare it with [`plain`] text).
fn wan(x: f64) -> String {
    let hundredths = (x / 100.0).round() as i64;
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

/// The report's text without the commas between thousands.
fn plain(text: &str) -> String {
    text.replace(',', "")
}

/// The demo district, an official's service over it, and the summary that service answers `query` with.
async fn official(query: &str) -> (TestDb, Api, Value) {
    let db = TestDb::demo().await;
    let official = Api::new(spawn_app_as(db.pool.clone(), Role::Official).await);
    let summary = official.get(&format!("/api/v1/stats/summary{query}")).await.expect(200).body;
    (db, official, summary)
}

/// The numbers of the month table's row of `year`: its twelve months and its sum.
fn year_row(text: &str, year: i32) -> Vec<i64> {
    let label = format!("{year}年");
    let row = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|words| words.first() == Some(&label.as_str()) && words.len() == 14)
        .unwrap_or_else(|| panic!("no row of {year} in:\n{text}"));
    row[1..].iter().map(|n| n.replace(',', "").parse().unwrap()).collect()
}

#[tokio::test]
async fn the_district_s_report_prints_the_summary_s_figures_on_a_page_or_two() {
    let to = lifecycle::beijing_today();
    let (_db, official, summary) = official(&format!("?on={to}")).await;
    assert_eq!(summary["certified_houses"], 3535);
    assert_eq!(summary["certified_floor_area_m2"], 1_154_900.0);
    assert_eq!(summary["transaction_amount_yuan"], 266_579_100);

    let (text, pages) = report(&official, "").await;
    assert!((1..=2).contains(&pages.len()) && pages.iter().all(|&p| p == A4_AT_60), "{pages:?}");
    let from = to.with_day(1).unwrap() - Months::new(12);
    let period = format!("{} 至 {}", from.format("%Y年%m月%d日"), to.format("%Y年%m月%d日"));
    for expected in ["上虞区闲置农房激活情况报告", &period, "3,535 宗", "115.49", "26,657.91"] {
        assert!(text.contains(expected), "{expected:?} is not in the report:\n{text}");
    }
    let income =
        [&summary["household_income_yuan"], &summary["collective_income_yuan"]].map(|v| wan(v.as_f64().unwrap()));
    assert!(income.iter().all(|x| plain(&text).contains(x)), "{income:?} are not in the report:\n{text}");
    for township in summary["by_township"].as_array().unwrap() {
        let name = township["name"].as_str().unwrap();
        assert!(text.contains(name), "{name} is not in the report:\n{text}");
    }
    // The months of the range: a year's row for each year it touches, every month's column.
    for year in [from.year(), to.year()] {
        assert!(text.contains(&format!("{year}年")), "{year} is not in the report:\n{text}");
    }
    for month in 1..=12 {
        assert!(text.contains(&format!("{month}月")), "{month}月 is not in the report:\n{text}");
    }
}

#[tokio::test]
async fn a_year_s_months_are_the_summary_s_and_in_force_means_on_its_last_day() {
    let (_db, official, summary) = official("?on=2019-12-31").await;
    let (text, _) = report(&official, "?from=2019-01-01&to=2019-12-31").await;

    let mut want = vec![0; 12];
    for m in summary["by_month"].as_array().unwrap() {
        if let Some(month) = m["month"].as_str().unwrap().strip_prefix("2019-") {
            want[month.parse::<usize>().unwrap() - 1] = m["certified"].as_i64().unwrap();
        }
    }
    assert!(want.iter().sum::<i64>() > 0, "the demo certifies in 2019: {summary}");
    want.push(want.iter().sum());
    assert_eq!(year_row(&text, 2019), want, "{text}");
    let certified = summary["certified_houses"].as_i64().unwrap();
    assert!(text.contains("2019年01月01日 至 2019年12月31日"), "{text}");
    assert!(plain(&text).contains(&format!("{certified} 宗")), "{certified} in force on 2019-12-31:\n{text}");
}

#[tokio::test]
async fn a_township_s_report_is_its_line_alone_on_one_page() {
    let (_db, official, all) = official("").await;
    let townships = all["by_township"].as_array().unwrap();
    let (code, name) = (townships[0]["code"].as_str().unwrap(), townships[0]["name"].as_str().unwrap());
    let one: Value = official.get(&format!("/api/v1/stats/summary?township={code}")).await.expect(200).body;

    let (text, pages) = report(&official, &format!("?township={code}")).await;
    assert_eq!(pages, vec![A4_AT_60]);
    let area = wan(one["certified_floor_area_m2"].as_f64().unwrap());
    let amount = wan(one["transaction_amount_yuan"].as_f64().unwrap());
    for expected in [format!("{name}闲置农房激活情况报告"), area, amount] {
        assert!(plain(&text).contains(&expected), "{expected:?} is not in the report:\n{text}");
    }
    let other = townships[1]["name"].as_str().unwrap();
    assert!(!text.contains(other), "{other} is in {name}'s report:\n{text}");
}

#[tokio::test]
async fn the_public_is_refused_and_bad_parameters_are_named() {
    let db = TestDb::demo().await;
    let public = Api::new(spawn_app(db.pool.clone()).await);
    assert_eq!(public.get(PATH).await.status, 401);
    let bank = Api::new(spawn_app_as(db.pool.clone(), Role::Bank).await);
    assert_eq!(bank.get(PATH).await.status, 403);

    let official = Api::new(spawn_app_as(db.pool.clone(), Role::Official).await);
    official
        .assert_refusals(
            PATH,
            &[
                ("from=2026-13-01", 400, "from"),
                ("to=tomorrow", 400, "to"),
                ("on=2026-01-01", 400, "on"),
                ("from=2020-02-01&to=2020-01-31", 422, "from"),
                ("from=2009-12-31&to=2020-01-01", 422, "from"),
                ("to=1980-01-01", 422, "to"),
                ("township=fenghui", 422, "township"),
            ],
        )
        .await;
    assert_eq!(official.get(&format!("{PATH}?township=330604999")).await.status, 404);
    // Ten years to the day is the longest period.
    let (_, pages) = report(&official, "?from=2010-01-01&to=2020-01-01").await;
    assert!((1..=2).contains(&pages.len()), "{pages:?}");
}
