//! Made-up but well-formed parties: households with 18-digit ID-card numbers whose check digit follows
//! GB 11643, and investor organisations with unified social credit codes whose check character follows
//! GB 32100. Numbers are drawn from a counter through a bijection, so every number of a run is unique
//! and runs that start their counter past the previous run's never collide.

use rand::Rng;
use rand::seq::SliceRandom;

use crate::domain::identity::{credit_check_char, id_check_char, organisation_code_check_char};

const SURNAMES: &[&str] = &[
    "王", "陈", "张", "李", "徐", "金", "俞", "杜", "胡", "顾", "钱", "沈", "朱", "何", "吴", "周", "赵", "孙", "丁",
    "章", "魏", "谢", "范", "叶", "严", "夏", "倪", "冯", "潘", "罗", "杭", "宋", "施", "袁", "阮", "茹", "裘", "娄",
];
const GIVEN: &[&str] = &[
    "建国", "国良", "金水", "阿根", "志强", "海明", "伟", "芳", "丽娟", "美华", "桂英", "秀英", "永康", "水根", "雪琴",
    "春燕", "立新", "国平", "建华", "伯荣", "海燕", "小龙", "杰", "敏", "婷", "晓东", "文斌", "卫东", "林峰", "月娥",
    "玲", "红梅", "庆丰", "荣华", "宏伟", "秋菊", "彩英", "德明", "国庆", "爱华",
];
const COMPANY_PLACES: &[&str] = &["绍兴", "上虞", "浙江", "杭州", "宁波", "舜耕", "曹娥江", "四明"];
const COMPANY_WORDS: &[&str] =
    &["青禾", "山居", "溪语", "竹韵", "云栖", "归园", "乡野", "拾光", "田园", "慢谷", "岭上", "映山", "野趣", "悦享"];
const COMPANY_TRADES: &[&str] = &[
    "民宿管理有限公司",
    "文化创意有限公司",
    "健康养老服务有限公司",
    "电子商务有限公司",
    "农业开发有限公司",
    "旅游发展有限公司",
    "工艺品加工厂",
];

/// As many as [`COMPANY_TRADES`], so that choosing one draws the same.
const COOPERATIVE_TRADES: &[&str] = &[
    "民宿专业合作社",
    "茶叶专业合作社",
    "果蔬专业合作社",
    "竹笋专业合作社",
    "休闲农业专业合作社",
    "花木专业合作社",
    "农产品专业合作社",
];

/// Birth places of ID-card numbers: Shangyu's codes before (330682) and after (330604) it became a
/// district, and Shaoxing's other counties for investors from elsewhere.
const ID_REGIONS: &[&str] = &["330682", "330604", "330621", "330681", "330683", "330624"];
/// Birth dates span this many days from 1940-01-01.
const ID_DAYS: u64 = 18_000;
/// A multiplier coprime with the size of the number space, which makes `n ↦ n·M mod size` a bijection.
const SCATTER: u64 = 7_777_777;

/// A person's or household head's ID-card number (身份证号) for counter `n`: unique per `n`.
pub fn id_number(n: u64) -> String {
    let size = ID_REGIONS.len() as u64 * ID_DAYS * 1000;
    let k = (n % size).wrapping_mul(SCATTER) % size;
    let region = ID_REGIONS[(k / (ID_DAYS * 1000)) as usize];
    let day = (k / 1000) % ID_DAYS;
    let birth = chrono::NaiveDate::from_ymd_opt(1940, 1, 1).expect("a date") + chrono::Days::new(day);
    let body = format!("{region}{}{:03}", birth.format("%Y%m%d"), k % 1000);
    let check = id_check_char(&body);
    format!("{body}{check}")
}

/// An organisation's unified social credit code (统一社会信用代码) for counter `n`: registered by the
/// market regulator (9) as an enterprise (1) in Shangyu, with a GB 11714 organisation code and the GB 32100
/// check character.
pub fn credit_code(n: u64) -> String {
    credit_code_of('1', n)
}

/// The same for a farmers' specialised cooperative (农民专业合作社: 9 and 3).
pub fn cooperative_credit_code(n: u64) -> String {
    credit_code_of('3', n)
}

fn credit_code_of(body_kind: char, n: u64) -> String {
    let body = (n % 100_000_000).wrapping_mul(SCATTER) % 100_000_000;
    let org = format!("{body:08}");
    let org = format!("{org}{}", organisation_code_check_char(&org));
    let code17 = format!("9{body_kind}330604{org}");
    format!("{code17}{}", credit_check_char(&code17))
}

pub fn person_name(rng: &mut impl Rng) -> String {
    format!("{}{}", SURNAMES.choose(rng).expect("names"), GIVEN.choose(rng).expect("names"))
}

pub fn company_name(rng: &mut impl Rng, n: u64) -> String {
    organisation_name(rng, n, COMPANY_TRADES)
}

/// A farmers' specialised cooperative's name; it draws as many random numbers as [`company_name`], so a
/// run's other draws do not move.
pub fn cooperative_name(rng: &mut impl Rng, n: u64) -> String {
    organisation_name(rng, n, COOPERATIVE_TRADES)
}

fn organisation_name(rng: &mut impl Rng, n: u64, trades: &[&str]) -> String {
    format!(
        "{}{}{}{}",
        COMPANY_PLACES.choose(rng).expect("names"),
        COMPANY_WORDS.choose(rng).expect("names"),
        // Keeps names of one run apart without looking like a counter.
        ["", "一品", "和美", "德馨", "乡约", "同心", "远山", "一禾"][(n % 8) as usize],
        trades.choose(rng).expect("names")
    )
}

/// A mobile number (11 digits).
pub fn phone(rng: &mut impl Rng) -> String {
    let prefix = ["133", "135", "136", "137", "138", "139", "150", "151", "158", "159", "187", "188", "189"];
    format!("{}{:08}", prefix.choose(rng).expect("prefixes"), rng.gen_range(0..100_000_000u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_numbers_carry_the_gb_11643_check_digit() {
        // The example number of GB 11643-1999.
        assert_eq!(id_check_char("11010519491231002"), 'X');
        for n in 0..1000 {
            let id = id_number(n);
            assert_eq!(id.len(), 18);
            assert_eq!(id.chars().last(), Some(id_check_char(&id[..17])));
        }
    }

    #[test]
    fn id_numbers_of_different_counters_differ() {
        let ids: std::collections::HashSet<String> = (0..200_000).map(id_number).collect();
        assert_eq!(ids.len(), 200_000);
    }

    #[test]
    fn credit_codes_carry_the_gb_32100_check_character() {
        // A published code (深圳市腾讯计算机系统有限公司).
        assert_eq!(credit_check_char("91440300708461136"), 'T');
        let code = credit_code(42);
        assert_eq!(code.len(), 18);
        assert!(code.starts_with("91330604"));
        assert_eq!(code.chars().last(), Some(credit_check_char(&code[..17])));
        let cooperative = cooperative_credit_code(42);
        assert!(cooperative.starts_with("93330604"));
        assert_eq!(cooperative[8..17], code[8..17]);
        assert_eq!(cooperative.chars().last(), Some(credit_check_char(&cooperative[..17])));
        assert_eq!(COOPERATIVE_TRADES.len(), COMPANY_TRADES.len());
    }
}
