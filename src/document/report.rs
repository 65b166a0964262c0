//! The activation report 闲置农房激活情况报告 (docs/DESIGN.md §4) as an A4 PDF that officials bring to
//! meetings: the headline figures, a table by township, and the certificates issued in each month of the
//! period as a bar chart with its numbers in a table below.
//!
//! The figures arrive summed and named as the caller read them; this module only lays them out, with the
//! fonts, text runs and shapes of the certificate. Sections follow one another down the page, and one that
//! does not fit in what is left starts the next page, so the district's twenty townships and the chart
//! take two pages and one township's report one.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use krilla::Document;
use krilla::metadata::Metadata;
use krilla::surface::Surface;

use super::{
    Align, CONTENT_W, DocumentError, EM_MID, FRAME, Fonts, GREY, INK, LABEL_BG, LEFT, PAGE_H, PAGE_W, RIGHT, RULE,
    Style, a4, beijing_date, body_and_heavy, draw_line, draw_rect, faces, fit, hundredths, pdf_date, stroke, thousands,
    wrap, ymd,
};

/// What the report shows.
#[derive(Debug, Clone)]
pub struct Report {
    /// Whose figures: 上虞区, or one township's name (e.g. 丰惠镇); the title begins with it.
    pub area: String,
    /// The first and the last day of the period (Beijing).
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// When the report was made; its Beijing date is printed.
    pub made_at: DateTime<Utc>,
    /// Who makes it, printed at the foot of each page (e.g. 绍兴市上虞区农村产权交易中心).
    pub office: String,
    /// The area's figures: certificates in force on `to`, and the houses on the register.
    pub total: Line,
    /// Rent received by households (农户租金) up to the month of `to`, in fen.
    pub household_income_fen: i64,
    /// Rent received by village collectives (集体收益) up to the month of `to`, in fen.
    pub collective_income_fen: i64,
    /// One line per township; a township's report has its own alone and no total line.
    pub townships: Vec<Line>,
    /// Certificates issued in each month of the period, from the month of `from` to that of `to`, every
    /// month present (a month without any has zero), so the chart's axis runs on without gaps.
    pub months: Vec<Month>,
}

/// The figures of the area or of one township.
#[derive(Debug, Clone)]
pub struct Line {
    /// The township's name (or the area's).
    pub name: String,
    /// Certificates in force on the last day of the period.
    pub certified: i64,
    /// The floor area and the transaction amount those certificates state.
    pub floor_area_m2: f64,
    pub amount_fen: i64,
    /// Houses on the register.
    pub houses: i64,
}

/// Certificates issued in one month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    /// The month's first day.
    pub start: NaiveDate,
    pub certified: i64,
}

impl Report {
    fn title(&self) -> String {
        format!("{}闲置农房激活情况报告", self.area)
    }

    /// Whether this is one township's report, whose table has no total line.
    fn one_township(&self) -> bool {
        self.townships.len() == 1
    }
}

// Where sections may stand on a page: below the top margin, above the footer.
const TOP: f32 = 52.0;
const BOTTOM: f32 = PAGE_H - 66.0;
const FOOTER_RULE: f32 = PAGE_H - 50.0;

/// The chart: bars in a lighter shade of the frame's red, on gridlines faint enough not to compete with
/// them; its height, and the room left of it for the axis' numbers.
const BAR: (u8, u8, u8) = (178, 58, 52);
const GRID: (u8, u8, u8) = (214, 208, 200);
const PLOT_H: f32 = 150.0;
const AXIS_W: f32 = 34.0;
/// The tables: every other township's row shaded, so a line is easy to follow across; a heading row
/// holds two lines (the name, then its unit), the other rows one.
const STRIPE: (u8, u8, u8) = (251, 249, 245);
const HEAD_ROW: f32 = 32.0;
const ROW: f32 = 17.0;
/// A headline figure's card, and the gap between cards: two rows of three fill the width.
const CARD_H: f32 = 58.0;
const GAP: f32 = 10.0;

/// The pieces of the report, in the order they stand.
enum Block {
    Title,
    Heading(&'static str),
    Figures,
    Townships,
    Chart,
    Months,
}

const BLOCKS: [Block; 8] = [
    Block::Title,
    Block::Heading("一、主要指标"),
    Block::Figures,
    Block::Heading("二、分乡镇（街道）情况"),
    Block::Townships,
    Block::Heading("三、每月鉴证书签发情况"),
    Block::Chart,
    Block::Months,
];

/// The A4 PDF of `report`: one page or more, each with its number at the foot.
pub fn render(report: &Report, fonts: &Fonts) -> Result<Vec<u8>, DocumentError> {
    let (regular, bold) = faces(fonts)?;
    let (body, heavy) = body_and_heavy(&regular, bold.as_ref());
    let layout = Layout { report, body, heavy };
    let pages = layout.paginate();

    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(report.title())
            .language("zh-CN".to_string())
            .creator(report.office.clone())
            .creation_date(pdf_date(report.made_at)),
    );
    for (n, blocks) in pages.iter().enumerate() {
        let mut page = document.start_page_with(a4()?);
        let mut surface = page.surface();
        for (block, y) in blocks {
            layout.draw(&mut surface, block, *y);
        }
        layout.footer(&mut surface, n + 1, pages.len());
        surface.finish();
        page.finish();
    }
    document.finish().map_err(|e| DocumentError::Render(e.to_string()))
}

/// The report with the styles it is drawn in: what every block measures and draws with.
struct Layout<'r, 'm, 'a> {
    report: &'r Report,
    body: Style<'m, 'a>,
    heavy: Style<'m, 'a>,
}

impl Layout<'_, '_, '_> {
    /// Each page's blocks with where they start; a heading moves on with the block it heads.
    fn paginate(&self) -> Vec<Vec<(&'static Block, f32)>> {
        let mut pages: Vec<Vec<(&Block, f32)>> = vec![Vec::new()];
        let mut y = TOP;
        for (i, block) in BLOCKS.iter().enumerate() {
            let h = self.height(block);
            let kept = match block {
                Block::Heading(_) => BLOCKS.get(i + 1).map_or(0.0, |next| self.height(next)),
                _ => 0.0,
            };
            if y + h + kept > BOTTOM && pages.last().is_some_and(|p| !p.is_empty()) {
                pages.push(Vec::new());
                y = TOP;
            }
            if let Some(page) = pages.last_mut() {
                page.push((block, y));
            }
            y += h;
        }
        pages
    }

    fn height(&self, block: &Block) -> f32 {
        match block {
            Block::Title => 82.0,
            Block::Heading(_) => 30.0,
            Block::Figures => {
                let (style, lines) = self.note();
                2.0 * CARD_H + GAP + 8.0 + lines.len() as f32 * style.leading() + 12.0
            }
            Block::Townships => {
                let total = if self.report.one_township() { 0.0 } else { ROW + 2.0 };
                HEAD_ROW + self.report.townships.len() as f32 * ROW + total + 16.0
            }
            Block::Chart => 16.0 + PLOT_H + 40.0,
            Block::Months => 20.0 + years(&self.report.months).len() as f32 * ROW + 28.0,
        }
    }

    fn draw(&self, surface: &mut Surface, block: &Block, y: f32) {
        match block {
            Block::Title => self.title(surface, y),
            Block::Heading(text) => self.heading(surface, text, y),
            Block::Figures => self.figures(surface, y),
            Block::Townships => self.townships(surface, y),
            Block::Chart => self.chart(surface, y),
            Block::Months => self.months(surface, y),
        }
    }

    /// The title, the period and the day the report was made, over a double rule.
    fn title(&self, surface: &mut Surface, y: f32) {
        let r = self.report;
        let (title, lines) = fit(Style { size: 22.0, tracking: 1.5, ..self.heavy }, &r.title(), CONTENT_W, 1);
        title.draw(surface, &lines[0], PAGE_W / 2.0, y + 26.0, Align::Centre);
        let period =
            format!("统计期间：{} 至 {}　　制表日期：{}", ymd(r.from), ymd(r.to), ymd(beijing_date(r.made_at)));
        let (line, lines) = fit(Style { ink: GREY, ..self.body.with_size(10.5) }, &period, CONTENT_W, 1);
        line.draw(surface, &lines[0], PAGE_W / 2.0, y + 50.0, Align::Centre);
        draw_line(surface, (LEFT, y + 62.0), (RIGHT, y + 62.0), stroke(FRAME, 1.6));
        draw_line(surface, (LEFT, y + 65.5), (RIGHT, y + 65.5), stroke(FRAME, 0.5));
    }

    /// A section's heading, marked by a short bar in the frame's red.
    fn heading(&self, surface: &mut Surface, text: &str, y: f32) {
        draw_rect(surface, LEFT, y + 6.0, 3.5, 15.0, Some(FRAME), None);
        self.heavy.with_size(13.0).draw(surface, text, LEFT + 10.0, y + 13.5 + EM_MID * 13.0, Align::Left);
    }

    /// The headline figures as six cards, and a note of what each counts.
    fn figures(&self, surface: &mut Surface, y: f32) {
        let r = self.report;
        let t = &r.total;
        let cards = [
            ("鉴证农房", thousands(t.certified.unsigned_abs()), "宗"),
            ("鉴证建筑面积", wan_m2(t.floor_area_m2), "万m²"),
            ("成交金额", wan_yuan(t.amount_fen), "万元"),
            ("激活率", rate(t.certified, t.houses), ""),
            ("农户租金收入", wan_yuan(r.household_income_fen), "万元"),
            ("村集体收益", wan_yuan(r.collective_income_fen), "万元"),
        ];
        let w = (CONTENT_W - 2.0 * GAP) / 3.0;
        let label = Style { ink: GREY, ..self.body.with_size(10.0) };
        let value = Style { ink: INK, ..self.heavy.with_size(19.0) };
        let unit = self.body.with_size(10.0);
        for (i, (name, number, unit_text)) in cards.iter().enumerate() {
            let x = LEFT + (i % 3) as f32 * (w + GAP);
            let top = y + (i / 3) as f32 * (CARD_H + GAP);
            draw_rect(surface, x, top, w, CARD_H, Some(LABEL_BG), Some(stroke(RULE, 0.5)));
            draw_rect(surface, x, top, 3.0, CARD_H, Some(FRAME), None);
            label.draw(surface, name, x + 12.0, top + 18.0, Align::Left);
            let (value, numbers) = fit(value, number, w - 24.0 - unit.width(unit_text) - 4.0, 1);
            value.draw(surface, &numbers[0], x + 12.0, top + 45.0, Align::Left);
            unit.draw(surface, unit_text, x + 12.0 + value.width(&numbers[0]) + 4.0, top + 45.0, Align::Left);
        }
        let (note, lines) = self.note();
        let mut baseline = y + 2.0 * CARD_H + GAP + 8.0 + note.size;
        for line in &lines {
            note.draw(surface, line, LEFT, baseline, Align::Left);
            baseline += note.leading();
        }
    }

    /// What the headline figures count, in small print under them.
    fn note(&self) -> (Style<'_, '_>, Vec<String>) {
        let r = self.report;
        let text = format!(
            "注：鉴证农房及其建筑面积、成交金额为 {} 有效的鉴证书所载；激活率为鉴证农房占登记农房（{} 宗）的比例；\
             租金收入为截至 {}年{}月 已收取的农户租金与村集体收益。",
            ymd(r.to),
            thousands(r.total.houses.unsigned_abs()),
            r.to.year(),
            r.to.month()
        );
        let style = Style { ink: GREY, ..self.body.with_size(8.5) };
        let lines = wrap(&style, &text, CONTENT_W);
        (style, lines)
    }

    /// One line per township (and the total), with the rate of each.
    fn townships(&self, surface: &mut Surface, y: f32) {
        let r = self.report;
        let name_w = 104.0;
        let w = (CONTENT_W - name_w) / 5.0;
        let head = [
            ("乡镇（街道）", ""),
            ("鉴证农房", "（宗）"),
            ("建筑面积", "（万m²）"),
            ("成交金额", "（万元）"),
            ("登记农房", "（宗）"),
            ("激活率", ""),
        ];
        let centre = |col: usize| if col == 0 { LEFT + name_w / 2.0 } else { LEFT + name_w + (col as f32 - 0.5) * w };
        draw_rect(surface, LEFT, y, CONTENT_W, HEAD_ROW, Some(LABEL_BG), None);
        let label = Style { ink: (60, 50, 40), ..self.heavy.with_size(9.5) };
        for (col, (first, second)) in head.iter().enumerate() {
            let mid = y + HEAD_ROW / 2.0 + EM_MID * label.size;
            if second.is_empty() {
                label.draw(surface, first, centre(col), mid, Align::Centre);
            } else {
                label.draw(surface, first, centre(col), mid - 6.0, Align::Centre);
                label.with_size(8.5).draw(surface, second, centre(col), mid + 6.5, Align::Centre);
            }
        }
        let mut top = y + HEAD_ROW;
        let cell = self.body.with_size(9.5);
        for (i, line) in r.townships.iter().enumerate() {
            if i % 2 == 1 {
                draw_rect(surface, LEFT, top, CONTENT_W, ROW, Some(STRIPE), None);
            }
            township_row(surface, line, top, cell, name_w, w);
            top += ROW;
        }
        if !r.one_township() {
            draw_line(surface, (LEFT, top), (RIGHT, top), stroke(INK, 0.8));
            top += 2.0;
            township_row(
                surface,
                &Line { name: "合计".into(), ..r.total.clone() },
                top,
                self.heavy.with_size(9.5),
                name_w,
                w,
            );
            top += ROW;
        }
        for col in 0..5 {
            let x = LEFT + name_w + col as f32 * w;
            draw_line(surface, (x, y), (x, top), stroke(RULE, 0.4));
        }
        draw_line(surface, (LEFT, y + HEAD_ROW), (RIGHT, y + HEAD_ROW), stroke(RULE, 0.6));
        draw_rect(surface, LEFT, y, CONTENT_W, top - y, None, Some(stroke(INK, 1.0)));
    }

    /// Certificates issued per month as bars over a continuous axis: month numbers under the bars when
    /// there is room, the year under its first month, a tick where a year begins.
    fn chart(&self, surface: &mut Surface, y: f32) {
        let months = &self.report.months;
        let small = Style { ink: GREY, ..self.body.with_size(7.5) };
        small.draw(surface, "单位：件", LEFT, y + 8.0, Align::Left);
        let (x0, x1) = (LEFT + AXIS_W, RIGHT);
        let (top, base) = (y + 16.0, y + 16.0 + PLOT_H);
        let (step, max) = axis(months.iter().map(|m| m.certified).max().unwrap_or(0));
        let mut tick = 0;
        while tick <= max {
            let at = base - PLOT_H * tick as f32 / max as f32;
            if tick > 0 {
                draw_line(surface, (x0, at), (x1, at), stroke(GRID, 0.4));
            }
            small.draw(surface, &thousands(tick.unsigned_abs()), x0 - 5.0, at + EM_MID * small.size, Align::Right);
            tick += step;
        }
        let slot = (x1 - x0) / months.len().max(1) as f32;
        let numbers = Style { ink: INK, ..small.with_size(6.5) };
        for (i, m) in months.iter().enumerate() {
            let x = x0 + i as f32 * slot;
            let h = PLOT_H * m.certified as f32 / max as f32;
            if h > 0.0 {
                draw_rect(surface, x + slot * 0.19, base - h, slot * 0.62, h, Some(BAR), None);
            }
            let count = thousands(m.certified.unsigned_abs());
            if numbers.width(&count) <= slot - 2.0 {
                numbers.draw(surface, &count, x + slot / 2.0, base - h - 3.0, Align::Centre);
            }
            if slot >= 11.0 {
                small.draw(surface, &m.start.month().to_string(), x + slot / 2.0, base + 11.0, Align::Centre);
            }
        }
        let year_line = if slot >= 11.0 { base + 25.0 } else { base + 12.0 };
        for (year, first, count) in years(months) {
            let x = x0 + first as f32 * slot;
            if first > 0 {
                draw_line(surface, (x, base), (x, year_line + 3.0), stroke(RULE, 0.5));
            }
            let label = format!("{year}年");
            if small.width(&label) <= count as f32 * slot || count == months.len() {
                small.draw(surface, &label, x + count as f32 * slot / 2.0, year_line, Align::Centre);
            }
        }
        draw_line(surface, (x0, base), (x1, base), stroke(INK, 0.8));
        draw_line(surface, (x0, top - 4.0), (x0, base), stroke(INK, 0.6));
    }

    /// The chart's numbers: a row per year, a column per month (blank outside the period), the year's sum.
    fn months(&self, surface: &mut Surface, y: f32) {
        let months = &self.report.months;
        let (year_w, sum_w) = (50.0, 46.0);
        let w = (CONTENT_W - year_w - sum_w) / 12.0;
        let head_h = 20.0;
        let label = Style { ink: (60, 50, 40), ..self.heavy.with_size(8.5) };
        let cell = self.body.with_size(8.5);
        let column = |col: f32| LEFT + year_w + (col + 0.5) * w;
        draw_rect(surface, LEFT, y, CONTENT_W, head_h, Some(LABEL_BG), None);
        let mid = y + head_h / 2.0 + EM_MID * label.size;
        label.draw(surface, "年份", LEFT + year_w / 2.0, mid, Align::Centre);
        for month in 1..=12 {
            label.draw(surface, &format!("{month}月"), column(month as f32 - 1.0), mid, Align::Centre);
        }
        label.draw(surface, "合计", RIGHT - sum_w / 2.0, mid, Align::Centre);
        let mut top = y + head_h;
        draw_line(surface, (LEFT, top), (RIGHT, top), stroke(RULE, 0.6));
        for (year, first, count) in years(months) {
            let baseline = top + ROW / 2.0 + EM_MID * cell.size;
            cell.draw(surface, &format!("{year}年"), LEFT + year_w / 2.0, baseline, Align::Centre);
            let of_year = &months[first..first + count];
            for m in of_year {
                let text = thousands(m.certified.unsigned_abs());
                cell.draw(surface, &text, column(m.start.month0() as f32), baseline, Align::Centre);
            }
            let sum: i64 = of_year.iter().map(|m| m.certified).sum();
            cell.draw(surface, &thousands(sum.unsigned_abs()), RIGHT - sum_w / 2.0, baseline, Align::Centre);
            top += ROW;
            draw_line(surface, (LEFT, top), (RIGHT, top), stroke(RULE, 0.3));
        }
        for x in [LEFT + year_w, RIGHT - sum_w] {
            draw_line(surface, (x, y), (x, top), stroke(RULE, 0.4));
        }
        draw_rect(surface, LEFT, y, CONTENT_W, top - y, None, Some(stroke(INK, 1.0)));
        let total: i64 = months.iter().map(|m| m.certified).sum();
        let note = format!(
            "期间合计签发鉴证书 {} 件（按签发月份整月统计，不含已撤销的鉴证书）。",
            thousands(total.unsigned_abs())
        );
        let (style, lines) = fit(Style { ink: GREY, ..self.body.with_size(8.5) }, &note, CONTENT_W, 1);
        style.draw(surface, &lines[0], LEFT, top + 16.0, Align::Left);
    }

    /// The office and the page's number, small and grey under a hairline.
    fn footer(&self, surface: &mut Surface, page: usize, pages: usize) {
        draw_line(surface, (LEFT, FOOTER_RULE), (RIGHT, FOOTER_RULE), stroke(RULE, 0.4));
        let small = Style { ink: GREY, ..self.body.with_size(8.5) };
        let (office, lines) = fit(small, &format!("{}　制", self.report.office), CONTENT_W * 0.7, 1);
        office.draw(surface, &lines[0], LEFT, FOOTER_RULE + 15.0, Align::Left);
        small.draw(surface, &format!("第{page}页　共{pages}页"), RIGHT, FOOTER_RULE + 15.0, Align::Right);
    }
}

/// One line of the townships' table: the name left, the numbers right-aligned in their columns.
fn township_row(surface: &mut Surface, line: &Line, top: f32, cell: Style, name_w: f32, w: f32) {
    let baseline = top + ROW / 2.0 + EM_MID * cell.size;
    let (name, names) = fit(cell, &line.name, name_w - 14.0, 1);
    name.draw(surface, &names[0], LEFT + 8.0, baseline, Align::Left);
    let values = [
        thousands(line.certified.unsigned_abs()),
        wan_m2(line.floor_area_m2),
        wan_yuan(line.amount_fen),
        thousands(line.houses.unsigned_abs()),
        rate(line.certified, line.houses),
    ];
    for (col, value) in values.iter().enumerate() {
        cell.draw(surface, value, LEFT + name_w + (col as f32 + 1.0) * w - 8.0, baseline, Align::Right);
    }
}

/// The years of `months`: each with the index of its first month and how many of its months there are.
fn years(months: &[Month]) -> Vec<(i32, usize, usize)> {
    let mut out: Vec<(i32, usize, usize)> = Vec::new();
    for (i, m) in months.iter().enumerate() {
        match out.last_mut() {
            Some((year, _, count)) if *year == m.start.year() => *count += 1,
            _ => out.push((m.start.year(), i, 1)),
        }
    }
    out
}

/// The chart's step and top: a step of 1, 2 or 5 times a power of ten, at most five of them to the top.
fn axis(max: i64) -> (i64, i64) {
    let mut magnitude = 1;
    loop {
        for step in [magnitude, 2 * magnitude, 5 * magnitude] {
            if step * 5 >= max {
                return (step, ((max + step - 1) / step * step).max(step));
            }
        }
        magnitude *= 10;
    }
}

/// `n / d` rounded half away from zero, in whole numbers so large amounts lose nothing on the way.
fn div_round(n: i64, d: i64) -> i64 {
    let q = (n.abs() + d / 2) / d;
    if n < 0 { -q } else { q }
}

/// Square metres in 万 m² (ten thousands) with two decimals: how floor areas are told at meetings.
fn wan_m2(m2: f64) -> String {
    hundredths((m2 / 100.0).round() as i64)
}

/// Fen in 万元 (ten thousand yuan) with two decimals.
fn wan_yuan(fen: i64) -> String {
    hundredths(div_round(fen, 10_000))
}

/// `certified` of `houses` as a percentage with two decimals; a dash when there are no houses.
fn rate(certified: i64, houses: i64) -> String {
    if houses <= 0 { "—".into() } else { format!("{}%", hundredths(div_round(certified * 10_000, houses))) }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{fonts, scratch, tool};
    use super::*;
    use chrono::TimeZone;

    fn month(year: i32, month: u32, certified: i64) -> Month {
        Month { start: NaiveDate::from_ymd_opt(year, month, 1).unwrap(), certified }
    }

    fn line(name: &str, certified: i64, houses: i64) -> Line {
        Line {
            name: name.into(),
            certified,
            floor_area_m2: certified as f64 * 326.7,
            amount_fen: certified * 7_541_000,
            houses,
        }
    }

    fn sample(townships: usize, months: Vec<Month>) -> Report {
        let townships: Vec<Line> =
            (0..townships).map(|i| line(&format!("第{}镇", i + 1), 100 + i as i64 * 7, 900 + i as i64 * 13)).collect();
        let total = Line {
            name: "上虞区".into(),
            certified: townships.iter().map(|t| t.certified).sum(),
            floor_area_m2: townships.iter().map(|t| t.floor_area_m2).sum(),
            amount_fen: townships.iter().map(|t| t.amount_fen).sum(),
            houses: townships.iter().map(|t| t.houses).sum(),
        };
        Report {
            area: "上虞区".into(),
            from: months[0].start,
            to: NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
            made_at: Utc.with_ymd_and_hms(2026, 12, 3, 1, 0, 0).unwrap(),
            office: "绍兴市上虞区农村产权交易中心".into(),
            total,
            household_income_fen: 1_234_567_800,
            collective_income_fen: 98_765_400,
            townships,
            months,
        }
    }

    /// The PDF of `report`: its text (as laid out) and its number of pages.
    fn rendered(report: &Report, name: &str) -> (String, usize) {
        let pdf = render(report, &fonts()).unwrap();
        let dir = scratch(name);
        let file = dir.join("report.pdf");
        std::fs::write(&file, &pdf).unwrap();
        let file = file.to_str().unwrap();
        let text = tool("pdftotext", "poppler-utils", &["-layout", file, "-"]);
        let info = tool("pdfinfo", "poppler-utils", &[file]);
        let pages = info.lines().find_map(|l| l.strip_prefix("Pages:")).unwrap().trim().parse().unwrap();
        std::fs::remove_dir_all(&dir).ok();
        (text, pages)
    }

    #[test]
    fn figures_are_told_in_ten_thousands() {
        assert_eq!(wan_m2(1_154_900.0), "115.49");
        assert_eq!(wan_yuan(26_657_910_000), "26,657.91");
        assert_eq!(wan_yuan(5_000), "0.01");
        assert_eq!(wan_yuan(4_999), "0.00");
        assert_eq!(wan_yuan(-5_000), "-0.01");
        assert_eq!(rate(3535, 10_000), "35.35%");
        assert_eq!(rate(1, 3), "33.33%");
        assert_eq!(rate(0, 0), "—");
    }

    #[test]
    fn the_axis_steps_by_one_two_or_five() {
        assert_eq!(axis(0), (1, 1));
        assert_eq!(axis(7), (2, 8));
        assert_eq!(axis(120), (50, 150));
        assert_eq!(axis(1000), (200, 1000));
    }

    #[test]
    fn years_group_the_months() {
        let months = [month(2025, 11, 0), month(2025, 12, 1), month(2026, 1, 2)];
        assert_eq!(years(&months), vec![(2025, 0, 2), (2026, 2, 1)]);
    }

    #[test]
    fn the_district_takes_two_pages_and_a_township_one() {
        let months: Vec<Month> =
            (0..13u32).map(|i| month(2025 + (11 + i as i32) / 12, (11 + i) % 12 + 1, i64::from(i) * 3)).collect();
        let (text, pages) = rendered(&sample(20, months.clone()), "district");
        assert_eq!(pages, 2, "{text}");
        for expected in [
            "上虞区闲置农房激活情况报告",
            "2025年12月01日 至 2026年12月03日",
            "第20镇",
            "合计",
            "2025年",
            "2026年",
            "第2页",
        ] {
            assert!(text.contains(expected), "{expected:?} not in:\n{text}");
        }
        let mut one = sample(1, months);
        one.area = "丰惠镇".into();
        let (text, pages) = rendered(&one, "township");
        assert_eq!(pages, 1, "{text}");
        assert!(text.contains("丰惠镇闲置农房激活情况报告"), "{text}");
    }

    #[test]
    fn ten_years_of_months_still_fit() {
        let months: Vec<Month> =
            (0..121u32).map(|i| month(2016 + (i / 12) as i32, i % 12 + 1, i64::from(i) * 37 % 250)).collect();
        let (text, pages) = rendered(&sample(20, months), "decade");
        assert!(pages <= 2, "{pages} pages");
        for year in 2016..=2026 {
            assert!(text.contains(&format!("{year}年")), "{year} not in:\n{text}");
        }
    }
}
