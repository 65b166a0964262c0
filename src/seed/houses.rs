//! The generator: villages of houses on homestead parcels, with their owners and, by lifecycle status,
//! their appraisal, listing, lease and certificate. Deterministic for a given seed, database state and
//! day; the same code makes the demo district and the scale data.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, Days, Months, NaiveDate, NaiveDateTime, NaiveTime};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::district::{COUNTY_CODE, Township};
use super::layout::{self, Area, Blocks};
use super::people;
use crate::domain::house::{Condition, Structure};
use crate::domain::identity::PartyKind;
use crate::domain::lifecycle::Status;

/// A party: a household (owners) or an investor person or organisation (lessees).
#[derive(Debug, Clone)]
pub struct Party {
    pub kind: PartyKind,
    pub name: String,
    pub id_number: Option<String>,
    pub credit_code: Option<String>,
    pub phone: String,
    pub address: String,
}

#[derive(Debug, Clone)]
pub struct Village {
    pub township_code: String,
    pub name: String,
    pub lon: f64,
    pub lat: f64,
}

/// Where a house stands and how it is laid out in its cell.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub centre: (f64, f64),
    pub angle: f64,
    /// Depth / width of the footprint.
    pub aspect: f64,
    /// Share of a floor's area the footprint covers (walls, stairs, eaves).
    pub coverage: f64,
    /// Yard around the footprint, across and along, in metres.
    pub margin: (f64, f64),
}

#[derive(Debug, Clone)]
pub struct House {
    pub township_code: String,
    pub village: String,
    pub parcel_code: String,
    pub unit_number: String,
    pub shape: Shape,
    /// Floor area in hundredths of a square metre (exact).
    pub floor_area_centi: i64,
    pub floors: i16,
    pub year_built: i16,
    pub structure: Structure,
    pub condition: Condition,
    pub status: Status,
    pub description: String,
    pub owner: Party,
    pub deal: Option<Deal>,
}

impl House {
    /// The footprint and the parcel as closed rings of lon/lat positions.
    pub fn rings(&self) -> (layout::Ring, layout::Ring) {
        let s = &self.shape;
        let area = self.floor_area_centi as f64 / 100.0 / f64::from(self.floors) * s.coverage;
        let width = (area / s.aspect).sqrt();
        let depth = width * s.aspect;
        let footprint = layout::rectangle(s.centre, width, depth, s.angle);
        let parcel = layout::rectangle(s.centre, width + 2.0 * s.margin.0, depth + 2.0 * s.margin.1, s.angle);
        (footprint, parcel)
    }
}

#[derive(Debug, Clone)]
pub struct Deal {
    pub appraisal: Appraisal,
    pub listing: Listing,
    pub lease: Option<Lease>,
    pub certificate: Option<Certificate>,
}

#[derive(Debug, Clone)]
pub struct Appraisal {
    pub report_no: String,
    pub firm: &'static str,
    pub appraiser: String,
    pub method: &'static str,
    pub valuation_date: NaiveDate,
    pub value_fen: i64,
    pub annual_rent_fen: i64,
    pub valid_until: NaiveDate,
}

#[derive(Debug, Clone)]
pub struct Listing {
    pub title: String,
    pub asking_rent_fen: i64,
    pub min_term_months: i16,
    pub max_term_months: i16,
    pub allowed_uses: Vec<&'static str>,
    pub notice_start: NaiveDate,
    pub notice_end: NaiveDate,
    pub status: &'static str,
}

#[derive(Debug, Clone)]
pub struct Lease {
    /// Index into the run's investors.
    pub lessee: usize,
    pub mode: &'static str,
    pub contract_no: String,
    pub signed_on: NaiveDate,
    pub lease_start: NaiveDate,
    pub years: u32,
    pub annual_rent_yuan: i64,
    pub intended_use: &'static str,
}

impl Lease {
    pub fn lease_end(&self) -> NaiveDate {
        self.lease_start + Months::new(12 * self.years)
    }

    pub fn total_amount_yuan(&self) -> i64 {
        self.annual_rent_yuan * i64::from(self.years)
    }
}

#[derive(Debug, Clone)]
pub struct Certificate {
    /// Local time (Asia/Shanghai) of issue.
    pub issued_at: NaiveDateTime,
    pub verification_code: String,
}

/// What a run makes, and the figures the demo must reach exactly.
#[derive(Debug, Clone)]
pub struct Plan {
    pub houses: u64,
    pub seed: u64,
    /// The day the data is made for: open listings and deals awaiting certification are recent.
    pub today: NaiveDate,
    pub targets: Option<Targets>,
    /// Name showcase villages and listings (the demo).
    pub showcases: bool,
}

/// Figures of the certified houses, reached exactly by [`Generator::reach`].
#[derive(Debug, Clone, Copy)]
pub struct Targets {
    pub certified: u64,
    pub floor_area_centi: i64,
    pub amount_yuan: i64,
}

/// Shares of the lifecycle statuses, from the demo: 3,535 certified of 6,000.
const SHARES: [(Status, u64); 3] = [(Status::Certified, 3535), (Status::Contracted, 180), (Status::Listed, 420)];
const SHARE_BASE: u64 = 6000;

/// The demo's named listings (article: 芋艿湾, 沐格山居 at 青山村, 墨隐居): township, the village's place
/// in its township, the village name (if it is named after the showcase), the listing title and use.
const SHOWCASES: &[(&str, usize, Option<&str>, &str, &str)] = &[
    ("丁宅乡", 0, Some("芋艿湾村"), "芋艿湾", "民宿"),
    ("岭南乡", 0, Some("青山村"), "沐格山居", "民宿"),
    ("岭南乡", 1, None, "墨隐居", "文创"),
];

const VILLAGE_FIRST: &[&str] = &[
    "东", "西", "南", "北", "上", "下", "大", "小", "新", "前", "后", "高", "长", "石", "青", "竹", "梅", "杨", "桥",
    "塘", "金", "白", "红", "黄", "沙", "龙", "凤", "双", "横", "陶", "孙", "谢", "祝", "严", "潘", "丰",
];
const VILLAGE_SECOND: &[&str] = &[
    "山", "溪", "湖", "塘", "岙", "坞", "桥", "湾", "岭", "浦", "家", "庄", "头", "埠", "墩", "港", "林", "园", "岗",
    "堰",
];
const FIRMS: &[&str] = &[
    "绍兴求是房地产土地评估有限公司",
    "浙江中联耀信资产评估有限公司",
    "上虞天恒房地产估价有限公司",
    "绍兴中兴资产评估有限公司",
    "浙江坤元资产评估有限公司",
];
const USES: &[(&str, u32)] = &[("民宿", 45), ("康养", 15), ("文创", 15), ("电商", 15), ("来料加工", 10)];

/// Deals were certified from 2018 until the article's report at the end of 2020.
fn first_deal_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2018, 1, 1).expect("a date")
}
fn last_deal_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 11, 15).expect("a date")
}
fn last_certificate_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 12, 20).expect("a date")
}

/// Numbers already used in the database, so a run adds to it without collisions.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    /// Counter of the next party's ID or credit code.
    pub parties: u64,
    /// Counter of the next contract and appraisal report number.
    pub deals: u64,
    /// Highest cadastral sub-district used per cadastral district.
    pub subdistricts: HashMap<u32, u32>,
    /// Village names used per township.
    pub villages: HashMap<String, HashSet<String>>,
    /// Cells holding a parcel already.
    pub taken: HashSet<(i64, i64)>,
}

/// A township with its free cells by block (shuffled) and the number of houses still to make there.
type Room = (Township, Vec<layout::Block>, u64);

/// Makes houses village by village.
pub struct Generator {
    rng: ChaCha8Rng,
    plan: Plan,
    counters: Counters,
    townships: Vec<Room>,
    statuses: Vec<Status>,
    made: u64,
    cursor: (usize, usize),
    village_in_township: usize,
    pub investors: Vec<Party>,
}

impl Generator {
    pub fn new(plan: Plan, townships: Vec<Township>, mut counters: Counters) -> anyhow::Result<Self> {
        let mut rng = ChaCha8Rng::seed_from_u64(plan.seed);
        let mut with_blocks = Vec::new();
        for t in townships {
            let area = Area::new(&t.rings);
            let mut blocks = Blocks::new(&area, &counters.taken).blocks;
            blocks.retain(|b| b.len() >= 8);
            blocks.shuffle(&mut rng);
            with_blocks.push((t, blocks, 0u64));
        }
        // Houses per township: in proportion to free room, varied so townships differ.
        let weights: Vec<f64> = with_blocks
            .iter()
            .map(|(_, b, _)| b.iter().map(Vec::len).sum::<usize>() as f64 * rng.gen_range(0.6..1.4))
            .collect();
        let capacity: Vec<u64> =
            with_blocks.iter().map(|(_, b, _)| (b.iter().map(Vec::len).sum::<usize>() as f64 * 0.9) as u64).collect();
        let total_capacity: u64 = capacity.iter().sum();
        if plan.houses > total_capacity {
            anyhow::bail!(
                "the district has room for about {total_capacity} more houses on free 30 m cells, not {}",
                plan.houses
            );
        }
        let counts = apportion(plan.houses, &weights, &capacity);
        for ((_, _, n), c) in with_blocks.iter_mut().zip(counts) {
            *n = c;
        }
        // Statuses in the demo's shares, shuffled over the run.
        let mut statuses = Vec::with_capacity(plan.houses as usize);
        for (status, share) in SHARES {
            let n = match (status, plan.targets) {
                (Status::Certified, Some(t)) => t.certified,
                _ => (plan.houses * share + SHARE_BASE / 2) / SHARE_BASE,
            };
            statuses.extend(std::iter::repeat_n(status, n.min(plan.houses - statuses.len() as u64) as usize));
        }
        statuses.resize(plan.houses as usize, Status::Registered);
        statuses.shuffle(&mut rng);
        let investors = Self::investors(&mut rng, &mut counters, (plan.houses / 15).max(40));
        Ok(Self {
            rng,
            plan,
            counters,
            townships: with_blocks,
            statuses,
            made: 0,
            cursor: (0, 0),
            village_in_township: 0,
            investors,
        })
    }

    fn investors(rng: &mut ChaCha8Rng, counters: &mut Counters, n: u64) -> Vec<Party> {
        (0..n)
            .map(|i| {
                counters.parties += 1;
                let c = counters.parties;
                // Of five investors two are companies, one a farmers' cooperative, two persons.
                if i % 5 < 3 {
                    let cooperative = i % 5 == 2;
                    Party {
                        kind: PartyKind::Organisation,
                        name: if cooperative { people::cooperative_name(rng, c) } else { people::company_name(rng, c) },
                        id_number: None,
                        credit_code: Some(if cooperative {
                            people::cooperative_credit_code(c)
                        } else {
                            people::credit_code(c)
                        }),
                        phone: people::phone(rng),
                        address: format!("浙江省绍兴市上虞区{}号", rng.gen_range(1..800)),
                    }
                } else {
                    Party {
                        kind: PartyKind::Person,
                        name: people::person_name(rng),
                        id_number: Some(people::id_number(c)),
                        credit_code: None,
                        phone: people::phone(rng),
                        address: format!(
                            "浙江省杭州市{}路{}号",
                            ["文三", "延安", "解放", "凤起"][i as usize % 4],
                            i + 1
                        ),
                    }
                }
            })
            .collect()
    }

    /// The next village and its houses, or `None` when the run is complete.
    pub fn next_village(&mut self) -> anyhow::Result<Option<(Village, Vec<House>)>> {
        loop {
            let (ti, bi) = self.cursor;
            let Some((township, blocks, target)) = self.townships.get(ti) else { return Ok(None) };
            if *target == 0 || bi >= blocks.len() {
                if *target > 0 {
                    anyhow::bail!("township {} ran out of room", township.code);
                }
                self.cursor = (ti + 1, 0);
                self.village_in_township = 0;
                continue;
            }
            // Enough per village to fill the township in its remaining blocks, and never so few that the
            // blocks after this one could not hold the rest.
            let later: u64 = blocks[bi + 1..].iter().map(|b| b.len() as u64).sum();
            let left_blocks = (blocks.len() - bi) as f64;
            let even = (*target as f64 * self.rng.gen_range(0.8..1.2) / left_blocks).ceil() as u64;
            let size = even.max(30).max(target.saturating_sub(later)).min(*target).min(blocks[bi].len() as u64);
            let cells: Vec<(i64, i64)> = blocks[bi].iter().take(size as usize).copied().collect();
            let township = township.clone();
            self.townships[ti].2 -= cells.len() as u64;
            self.cursor = (ti, bi + 1);
            let village = self.village(&township, &cells)?;
            self.village_in_township += 1;
            return Ok(Some(village));
        }
    }

    fn village(&mut self, township: &Township, cells: &[(i64, i64)]) -> anyhow::Result<(Village, Vec<House>)> {
        let showcases: Vec<_> = SHOWCASES
            .iter()
            .filter(|s| self.plan.showcases && s.0 == township.name && s.1 == self.village_in_township)
            .collect();
        let name = match showcases.iter().find_map(|s| s.2) {
            Some(n) => n.to_string(),
            None => self.village_name(&township.code),
        };
        self.counters.villages.entry(township.code.clone()).or_default().insert(name.clone());
        let sub = self.counters.subdistricts.entry(township.cadastral_district).or_insert(0);
        *sub += 1;
        if *sub > 999 {
            anyhow::bail!("cadastral district {:03} has used all 999 sub-districts", township.cadastral_district);
        }
        let sub = *sub;
        let (lon, lat) = layout::to_lonlat(layout::cell_centre(cells[0]).0, layout::cell_centre(cells[0]).1);
        let village = Village { township_code: township.code.clone(), name: name.clone(), lon, lat };
        let mut houses = Vec::with_capacity(cells.len());
        for (k, &cell) in cells.iter().enumerate() {
            self.counters.taken.insert(cell);
            let index = self.made as usize;
            self.made += 1;
            if k < showcases.len() && self.statuses[index] != Status::Certified {
                // Showcases are certified: trade statuses with a house still to be made.
                if let Some(j) = (index + 1..self.statuses.len()).find(|&j| self.statuses[j] == Status::Certified) {
                    self.statuses.swap(index, j);
                }
            }
            let status = self.statuses[index];
            let mut house = self.house(township, &name, sub, k as u32 + 1, cell, status);
            if let Some(s) = showcases.get(k)
                && let Some(deal) = house.deal.as_mut()
            {
                deal.listing.title = s.3.to_string();
                if let Some(lease) = deal.lease.as_mut() {
                    lease.intended_use = s.4;
                }
            }
            houses.push(house);
        }
        Ok((village, houses))
    }

    fn village_name(&mut self, township: &str) -> String {
        let used = self.counters.villages.entry(township.to_string()).or_default();
        for attempt in 0.. {
            let base = format!(
                "{}{}",
                VILLAGE_FIRST.choose(&mut self.rng).expect("names"),
                VILLAGE_SECOND.choose(&mut self.rng).expect("names")
            );
            let name = if attempt < 40 { format!("{base}村") } else { format!("{base}{attempt}村") };
            if !used.contains(&name) {
                return name;
            }
        }
        unreachable!("the loop returns")
    }

    fn house(
        &mut self,
        township: &Township,
        village: &str,
        sub: u32,
        seq: u32,
        cell: (i64, i64),
        status: Status,
    ) -> House {
        let rng = &mut self.rng;
        let parcel_code = format!("{COUNTY_CODE}{:03}{sub:03}JC{seq:05}", township.cadastral_district);
        let floors: i16 = match rng.gen_range(0..100) {
            0..12 => 1,
            12..55 => 2,
            _ => 3,
        };
        let per_floor: f64 = (140.0 + 20.0 * normal(rng)).clamp(70.0, 165.0);
        let floor_area_centi = (per_floor * f64::from(floors) * 100.0).round() as i64;
        let centre = layout::cell_centre(cell);
        let jitter = (rng.gen_range(-1.5..1.5), rng.gen_range(-1.5..1.5));
        let shape = Shape {
            centre: (centre.0 + jitter.0, centre.1 + jitter.1),
            angle: rng.gen_range(-0.2..0.2),
            aspect: rng.gen_range(1.1..1.5),
            coverage: rng.gen_range(0.92..1.0),
            margin: (rng.gen_range(1.5..3.0), rng.gen_range(1.5..3.0)),
        };
        self.counters.parties += 1;
        let owner = Party {
            kind: PartyKind::Household,
            name: people::person_name(rng),
            id_number: Some(people::id_number(self.counters.parties)),
            credit_code: None,
            phone: people::phone(rng),
            address: format!("浙江省绍兴市上虞区{}{}{}号", township.name, village, seq),
        };
        let structure = pick(
            rng,
            &[
                (Structure::BrickConcrete, 60),
                (Structure::BrickWood, 25),
                (Structure::ReinforcedConcrete, 8),
                (Structure::Wood, 7),
            ],
        );
        let mut house = House {
            township_code: township.code.clone(),
            village: village.to_string(),
            unit_number: format!("{parcel_code}F00010001"),
            parcel_code,
            shape,
            floor_area_centi,
            floors,
            year_built: rng.gen_range(1965..2008),
            structure,
            condition: pick(
                rng,
                &[
                    (Condition::Intact, 15),
                    (Condition::MostlyIntact, 50),
                    (Condition::Fair, 28),
                    (Condition::Damaged, 7),
                ],
            ),
            status,
            description: String::new(),
            owner,
            deal: None,
        };
        house.description = format!(
            "{}{}，{}层{}结构农房，建筑面积约{}平方米。",
            township.name,
            village,
            floors,
            structure,
            floor_area_centi / 100
        );
        house.deal = self.deal(&house);
        house
    }

    fn deal(&mut self, house: &House) -> Option<Deal> {
        let rng = &mut self.rng;
        let today = self.plan.today;
        let withdrawn = house.status == Status::Registered && rng.gen_range(0..10) == 0;
        if house.status == Status::Registered && !withdrawn {
            return None;
        }
        let floor_area = house.floor_area_centi as f64 / 100.0;
        let rent_yuan = ((floor_area * rng.gen_range(13.0..22.0) / 10.0).round() as i64 * 10).max(100);
        let (signed_on, years) = match house.status {
            Status::Certified => {
                // Deals grew in number as the programme went on.
                let span = (last_deal_day() - first_deal_day()).num_days() as f64;
                let day = (rng.gen_range(0.0f64..1.0).sqrt() * span) as u64;
                (first_deal_day() + Days::new(day), rng.gen_range(10..=20))
            }
            Status::Contracted => (today - Days::new(rng.gen_range(3..75)), rng.gen_range(5..=20)),
            _ => (today, 0),
        };
        let notice_end = match house.status {
            Status::Certified | Status::Contracted => signed_on - Days::new(rng.gen_range(0..30)),
            Status::Listed if rng.gen_bool(0.5) => today + Days::new(rng.gen_range(1..14)),
            Status::Listed => today - Days::new(rng.gen_range(1..120)),
            Status::Registered => first_deal_day() + Days::new(rng.gen_range(30..1000)),
        };
        let notice_start = notice_end - Days::new(rng.gen_range(7..21));
        let valuation_date = notice_start - Days::new(rng.gen_range(5..40));
        self.counters.deals += 1;
        let n = self.counters.deals;
        let appraisal = Appraisal {
            report_no: format!("SYPG-{}-{n:07}", valuation_date.year()),
            firm: FIRMS.choose(rng).expect("firms"),
            appraiser: people::person_name(rng),
            method: pick(rng, &[("收益法", 50), ("市场比较法", 35), ("成本法", 15)]),
            valuation_date,
            value_fen: rent_yuan * 100 * rng.gen_range(12..19),
            annual_rent_fen: rent_yuan * rng.gen_range(90..105),
            valid_until: valuation_date + Months::new(12),
        };
        let first_use = pick(rng, USES);
        let mut allowed_uses = vec![first_use];
        for (u, _) in USES {
            if *u != first_use && rng.gen_range(0..3) == 0 {
                allowed_uses.push(u);
            }
        }
        let listing = Listing {
            title: String::new(),
            asking_rent_fen: rent_yuan * rng.gen_range(95..110),
            min_term_months: 60,
            max_term_months: 240,
            allowed_uses,
            notice_start,
            notice_end,
            status: match house.status {
                Status::Registered => "withdrawn",
                Status::Listed => "open",
                _ => "closed",
            },
        };
        let lease = matches!(house.status, Status::Certified | Status::Contracted).then(|| Lease {
            lessee: rng.gen_range(0..self.investors.len()),
            mode: pick(rng, &[("协议", 70), ("竞价", 25), ("招标", 5)]),
            contract_no: format!("SYCQ-{}-{n:07}", signed_on.year()),
            signed_on,
            lease_start: signed_on + Days::new(rng.gen_range(0..21)),
            years,
            annual_rent_yuan: rent_yuan,
            intended_use: first_use,
        });
        let certificate = (house.status == Status::Certified).then(|| {
            let day = (signed_on + Days::new(rng.gen_range(3..31))).min(last_certificate_day());
            let time = NaiveTime::from_hms_opt(rng.gen_range(8..17), rng.gen_range(0..60), rng.gen_range(0..60))
                .expect("a time");
            let code: String =
                (0..8).map(|_| b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[rng.gen_range(0..36)] as char).collect();
            Certificate { issued_at: day.and_time(time), verification_code: code }
        });
        Some(Deal { appraisal, listing, lease, certificate })
    }

    /// Adjusts the certified houses of `houses` (the whole run) so their count, floor area and amount are
    /// exactly `targets`: floor areas and rents are scaled, then the last hundredths of a square metre
    /// and yuan are spread over single houses.
    pub fn reach(houses: &mut [House], targets: Targets) -> anyhow::Result<()> {
        let certified: Vec<usize> = (0..houses.len()).filter(|&i| houses[i].status == Status::Certified).collect();
        if certified.len() as u64 != targets.certified {
            anyhow::bail!("{} certified houses made, {} wanted", certified.len(), targets.certified);
        }
        // Floor areas.
        let sum: i64 = certified.iter().map(|&i| houses[i].floor_area_centi).sum();
        let factor = targets.floor_area_centi as f64 / sum as f64;
        for &i in &certified {
            houses[i].floor_area_centi = (houses[i].floor_area_centi as f64 * factor).round() as i64;
        }
        let mut rest = targets.floor_area_centi - certified.iter().map(|&i| houses[i].floor_area_centi).sum::<i64>();
        for &i in certified.iter().cycle() {
            if rest == 0 {
                break;
            }
            houses[i].floor_area_centi += rest.signum();
            rest -= rest.signum();
        }
        // Amounts: rent × whole years.
        let lease = |h: &House| h.deal.as_ref().and_then(|d| d.lease.as_ref()).map(|l| (l.annual_rent_yuan, l.years));
        let sum: i64 = certified.iter().filter_map(|&i| lease(&houses[i])).map(|(r, y)| r * i64::from(y)).sum();
        let factor = targets.amount_yuan as f64 / sum as f64;
        let set_rent = |h: &mut House, f: &dyn Fn(i64) -> i64| {
            if let Some(l) = h.deal.as_mut().and_then(|d| d.lease.as_mut()) {
                l.annual_rent_yuan = f(l.annual_rent_yuan);
            }
        };
        for &i in &certified {
            set_rent(&mut houses[i], &|r| (r as f64 * factor).round() as i64);
        }
        let total = |houses: &[House]| -> i64 {
            certified.iter().filter_map(|&i| lease(&houses[i])).map(|(r, y)| r * i64::from(y)).sum()
        };
        let mut rest = targets.amount_yuan - total(houses);
        // Whole multiples of each lease's years first, then the remainder through two leases whose terms
        // differ by one year: +r yuan a year on the longer, -r on the shorter adds exactly r.
        for &i in &certified {
            let (_, years) = lease(&houses[i]).expect("certified houses have leases");
            let step = rest / i64::from(years);
            if step != 0 {
                set_rent(&mut houses[i], &|r| r + step);
                rest -= step * i64::from(years);
            }
        }
        if rest != 0 {
            let by_years: HashMap<u32, usize> =
                certified.iter().map(|&i| (lease(&houses[i]).expect("a lease").1, i)).collect();
            let pair = by_years.iter().find_map(|(&y, &i)| by_years.get(&(y + 1)).map(|&j| (i, j)));
            let Some((shorter, longer)) = pair else {
                anyhow::bail!("no two certified leases whose terms differ by one year");
            };
            set_rent(&mut houses[longer], &|r| r + rest);
            set_rent(&mut houses[shorter], &|r| r - rest);
        }
        let (area, amount) = (certified.iter().map(|&i| houses[i].floor_area_centi).sum::<i64>(), total(houses));
        if area != targets.floor_area_centi || amount != targets.amount_yuan {
            anyhow::bail!("reached {area} centi-m² and {amount} yuan instead of the targets");
        }
        Ok(())
    }
}

/// Splits `total` over `weights`, each part at most its `capacity` (largest remainders).
fn apportion(total: u64, weights: &[f64], capacity: &[u64]) -> Vec<u64> {
    let mut out = vec![0u64; weights.len()];
    let mut left = total;
    let mut open: Vec<usize> = (0..weights.len()).collect();
    while left > 0 && !open.is_empty() {
        let sum: f64 = open.iter().map(|&i| weights[i]).sum();
        let mut given = 0;
        for &i in &open {
            let share = ((left as f64 * weights[i] / sum).floor() as u64).min(capacity[i] - out[i]);
            out[i] += share;
            given += share;
        }
        left -= given;
        open.retain(|&i| out[i] < capacity[i]);
        // Hand out what rounding left, one at a time.
        for &i in &open {
            if left == 0 {
                break;
            }
            if given == 0 || out[i] < capacity[i] {
                out[i] += 1;
                left -= 1;
            }
        }
        open.retain(|&i| out[i] < capacity[i]);
    }
    out
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut impl Rng) -> f64 {
    let (u, v): (f64, f64) = (rng.gen_range(f64::EPSILON..1.0), rng.gen_range(0.0..1.0));
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

/// One of `choices`, by weight.
fn pick<T: Copy>(rng: &mut impl Rng, choices: &[(T, u32)]) -> T {
    let total: u32 = choices.iter().map(|c| c.1).sum();
    let mut x = rng.gen_range(0..total);
    for &(c, w) in choices {
        if x < w {
            return c;
        }
        x -= w;
    }
    choices[0].0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportioning_respects_capacity_and_total() {
        let parts = apportion(100, &[1.0, 1.0, 8.0], &[50, 50, 30]);
        assert_eq!(parts.iter().sum::<u64>(), 100);
        assert_eq!(parts[2], 30);
    }
}
