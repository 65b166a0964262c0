//! The demo's activation projects: 芋艿湾, 沐格山居 and 墨隐居, each its showcase house and the nearest
//! houses of its village, under an operator (an organisation of its own), with a story, the investment,
//! the opening day, the operator's public contact and pictures drawn as the houses' are.
//!
//! Written through the store's own functions and the API's checks, so the demo's projects meet every rule a
//! project recorded by an officer meets. The houses keep their records: the demo's figures do not change.

use anyhow::{Context, Result};
use chrono::NaiveDate;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::{people, pictures};
use crate::domain::money::Yuan;
use crate::domain::party::{PartyIn, check_party};
use crate::domain::project::{ProjectIn, check_project};
use crate::store::photos::{self, NewPhoto, Subject};
use crate::store::{parties, projects};

/// One demo project.
struct Demo {
    /// The showcase listing's title, which is the project's name.
    name: &'static str,
    brand: &'static str,
    operator: &'static str,
    story: &'static str,
    investment_yuan: i64,
    opened_on: (i32, u32, u32),
    phone: &'static str,
    url: &'static str,
    houses: i64,
}

const DEMOS: [Demo; 3] = [
    Demo {
        name: "芋艿湾",
        brand: "芋艿湾·山野民宿",
        operator: "绍兴芋艿湾文旅发展有限公司",
        story: "芋艿湾村藏在丁宅乡的山坳里，村民外出务工后，一排排泥墙老屋空了下来。\n\
                2019 年，运营公司与农户、村集体签下二十年租约，按原样修缮粉墙黛瓦，保留老灶台与石板路，\
                改成五栋可以住宿、喝茶、看山的民宿。\n\
                租金每年按时付给农户，村集体按宅基地面积分得收益；村里的阿姨在民宿做早餐，种的芋艿成了招牌菜。",
        investment_yuan: 12_000_000,
        opened_on: (2019, 10, 1),
        phone: "0575-82100101",
        url: "https://yuaiwan.example",
        houses: 5,
    },
    Demo {
        name: "沐格山居",
        brand: "沐格山居",
        operator: "绍兴沐格文化旅游有限公司",
        story: "青山村在岭南乡的竹海深处。沐格山居把村口四栋闲置农房连成一个院落群：\
                一栋作接待与餐厅，三栋作客房，中间是老晒场改成的草坪。\n\
                设计保留了木构梁架与夯土墙，新加的玻璃与钢只做减法。\n\
                开业以来，周末客房常满，带动村里的笋干、茶叶卖到了城里。",
        investment_yuan: 8_000_000,
        opened_on: (2020, 6, 18),
        phone: "0575-82100202",
        url: "https://mugeshanju.example",
        houses: 4,
    },
    Demo {
        name: "墨隐居",
        brand: "墨隐居·乡村文创",
        operator: "绍兴墨隐文化创意有限公司",
        story: "墨隐居是岭南乡的一处乡村文创空间：三栋相邻的老屋，一栋作书画工作室，\
                一栋作展厅与茶室，一栋供驻村艺术家居住。\n\
                每到春秋，这里办写生营和手作市集，城里的孩子跟着老篾匠学编竹篮。",
        investment_yuan: 5_000_000,
        opened_on: (2021, 9, 9),
        phone: "0575-82100303",
        url: "https://moyinju.example",
        houses: 3,
    },
];

/// Pictures per project and their captions; the first is the cover.
const CAPTIONS: [&str; 3] = ["全景", "院落", "客房"];

/// Where the operators' credit codes are numbered, far beyond the investors' counter.
const OPERATOR_CODES: u64 = 99_990_000;

/// Adds the three projects to the demo district; returns how many were written (none without the showcases).
pub async fn add(pool: &PgPool) -> Result<u64> {
    let drawn = tokio::task::spawn_blocking(|| -> Result<Vec<Vec<Vec<u8>>>> {
        (0..DEMOS.len() as u64)
            .map(|k| {
                (0..CAPTIONS.len() as u64).map(|i| pictures::jpeg(&pictures::draw(900_000 + k * 10 + i, 2))).collect()
            })
            .collect()
    })
    .await
    .context("drawing the projects' pictures")??;
    let mut tx = crate::store::begin_as(pool, "seed").await?;
    let mut written = 0;
    for ((k, demo), drawings) in DEMOS.iter().enumerate().zip(drawn) {
        let Some((house, township)) = projects::house_titled(&mut *tx, demo.name).await? else { continue };
        let operator = check_party(&PartyIn {
            kind: "organisation".into(),
            name: demo.operator.into(),
            id_number: None,
            credit_code: Some(people::credit_code(OPERATOR_CODES + k as u64)),
            phone: None,
            address: None,
            members: None,
            township_code: None,
            village: None,
            version: None,
        })
        .map_err(|e| anyhow::anyhow!("the operator of {}: {e:?}", demo.name))?;
        let operator = parties::insert(&mut tx, &operator).await?;
        let (y, m, d) = demo.opened_on;
        let project = check_project(&ProjectIn {
            name: demo.name.into(),
            brand: Some(demo.brand.into()),
            operator_party_id: operator,
            story: Some(demo.story.into()),
            investment_yuan: Some(Yuan::from_fen(demo.investment_yuan * 100)),
            opened_on: NaiveDate::from_ymd_opt(y, m, d),
            contact_phone: Some(demo.phone.into()),
            contact_url: Some(demo.url.into()),
            township_code: township,
            farmhouse_ids: Some(projects::neighbours(&mut *tx, house, demo.houses).await?),
        })
        .map_err(|e| anyhow::anyhow!("the project {}: {e:?}", demo.name))?;
        let id = projects::insert(&mut tx, &project).await?;
        for (content, caption) in drawings.iter().zip(CAPTIONS) {
            let sha = Sha256::digest(content);
            let caption = format!("{} {caption}", demo.name);
            let photo = NewPhoto {
                media_type: "image/jpeg",
                width: pictures::WIDTH,
                height: pictures::HEIGHT,
                sha256: &sha,
                content,
                caption: &caption,
            };
            photos::insert(&mut tx, Subject::Project(id), &photo).await?;
        }
        written += 1;
    }
    tx.commit().await?;
    Ok(written)
}
