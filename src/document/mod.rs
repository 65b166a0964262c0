//! The certificate document 农房使用权流转鉴证书 rendered as a one-page A4 PDF; the activation report
//! for officials is [`report`], drawn with the same fonts, text runs and shapes.
//!
//! PDF writing (font subsetting, ToUnicode maps so the text extracts) is left to `krilla`, and the QR
//! matrix to `qrcode`. Text layout is done here: every text run is mapped to glyphs with the font's own
//! cmap and advances, so the widths used for centring, wrapping and shrinking are exactly the widths
//! drawn. CJK needs no shaping beyond that, which spares a shaping engine.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Datelike, FixedOffset, NaiveDate};
use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::{DateTime as PdfDateTime, Metadata};
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, GlyphId, KrillaGlyph};
use skrifa::charmap::Charmap;
use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::raw::FileRef;
use skrifa::string::StringId;
use skrifa::{FontRef, MetadataProvider};

pub mod report;

/// Which copy: the public one (names masked as given) or the officer's (full names as given).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copy {
    /// 公众副本: handed out or shown publicly, names masked by the caller.
    Public,
    /// 经办人副本: the issuing officer's copy, with full names.
    Officer,
}

/// What one certificate document shows. Names arrive already masked or full, as the caller decides.
#[derive(Debug, Clone)]
pub struct Sheet {
    /// Certificate number, e.g. "SY-JZ-2026-000123".
    pub certificate_no: String,
    /// 19-character real-estate unit number, e.g. "330604101001JC00004".
    pub unit_number: String,
    /// 宗地代码.
    pub parcel_code: String,
    /// Township, e.g. "丰惠镇".
    pub township_name: String,
    /// Village, e.g. "上街村".
    pub village: String,
    /// Floor area in square metres, printed with two decimals.
    pub floor_area_m2: f64,
    /// Building structure, e.g. "砖混".
    pub structure: String,
    /// Lessor's name as it should be shown; `None` prints （未登记）.
    pub lessor: Option<String>,
    /// Lessee's name as it should be shown.
    pub lessee: String,
    /// Lease contract number.
    pub contract_no: String,
    /// First day of the lease.
    pub lease_start: NaiveDate,
    /// The day after the last day of the lease (exclusive end).
    pub lease_end: NaiveDate,
    /// Annual rent in fen (1/100 yuan).
    pub annual_rent_fen: i64,
    /// Total transaction amount in fen.
    pub total_amount_fen: i64,
    /// Intended use, e.g. "民宿".
    pub intended_use: String,
    /// Issuing officer's name.
    pub officer: Option<String>,
    /// Issuing office, e.g. "绍兴市上虞区农村产权交易中心".
    pub office: String,
    /// Issue instant; its Beijing (UTC+8) calendar date is printed.
    pub issued_at: chrono::DateTime<chrono::Utc>,
    /// The QR code's exact content.
    pub verify_url: String,
    /// Verification code printed under the QR code.
    pub code: String,
    /// Signing key id, printed small in the footer.
    pub key_id: String,
    /// Which copy this is.
    pub copy: Copy,
    /// If set, printed prominently in red under the title (e.g. a revocation notice).
    pub notice: Option<String>,
}

/// Errors of loading fonts or rendering a document.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The font file could not be read.
    #[error("cannot read font {path}: {source}")]
    FontRead {
        /// The font file.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The file was read but holds no usable font face.
    #[error("not a usable font: {path}")]
    FontInvalid {
        /// The font file.
        path: PathBuf,
    },
    /// The PDF or the QR code could not be produced.
    #[error("rendering failed: {0}")]
    Render(String),
}

/// One font face, kept with its raw bytes so the layout can measure with the same data krilla embeds.
struct Face {
    data: Arc<Vec<u8>>,
    index: u32,
    font: Font,
}

impl Face {
    fn load(path: &Path) -> Result<Face, DocumentError> {
        let invalid = || DocumentError::FontInvalid { path: path.to_path_buf() };
        let bytes =
            std::fs::read(path).map_err(|source| DocumentError::FontRead { path: path.to_path_buf(), source })?;
        let index = match FileRef::new(&bytes).map_err(|_| invalid())? {
            FileRef::Font(_) => 0,
            // Noto CJK collections put the Japanese face first; its glyph variants are wrong for Chinese text.
            FileRef::Collection(collection) => (0..collection.len())
                .find(|&i| {
                    collection.get(i).is_ok_and(|face| {
                        face.localized_strings(StringId::FAMILY_NAME)
                            .english_or_first()
                            .is_some_and(|name| name.chars().collect::<String>().split_whitespace().any(|w| w == "SC"))
                    })
                })
                .unwrap_or(0),
        };
        let data = Arc::new(bytes);
        let font = Font::new(data.clone().into(), index).ok_or_else(invalid)?;
        // Fail at load time, not at the first render, if the face cannot be measured.
        let face = Face { data, index, font };
        face.metrics().ok_or_else(invalid)?;
        Ok(face)
    }

    fn metrics(&self) -> Option<Metrics<'_>> {
        let font_ref = FontRef::from_index(self.data.as_slice(), self.index).ok()?;
        let upem = f32::from(font_ref.metrics(Size::unscaled(), LocationRef::default()).units_per_em);
        Some(Metrics {
            charmap: font_ref.charmap(),
            advances: font_ref.glyph_metrics(Size::unscaled(), LocationRef::default()),
            upem,
            font: self.font.clone(),
        })
    }
}

/// Fonts loaded once and reused for every document.
pub struct Fonts {
    regular: Face,
    bold: Option<Face>,
}

impl Fonts {
    /// Loads a TrueType/OpenType font or a collection (.ttc); from a collection, the face whose family
    /// name contains "SC" (Simplified Chinese) is chosen, else face 0. `bold` optional for the title.
    pub fn load(regular: &Path, bold: Option<&Path>) -> Result<Fonts, DocumentError> {
        Ok(Fonts { regular: Face::load(regular)?, bold: bold.map(Face::load).transpose()? })
    }
}

/// A face ready for measuring: parsed tables borrowed from the font bytes for one render.
struct Metrics<'a> {
    charmap: Charmap<'a>,
    advances: GlyphMetrics<'a>,
    upem: f32,
    font: Font,
}

impl Metrics<'_> {
    /// Glyphs with advances normalised to the em, as krilla expects; `spacing` is extra tracking in em.
    fn glyphs(&self, text: &str, spacing: f32) -> Vec<KrillaGlyph> {
        text.char_indices()
            .map(|(at, ch)| {
                let gid = self.charmap.map(ch).unwrap_or_default();
                let advance = self.advances.advance_width(gid).unwrap_or(0.0) / self.upem;
                let range: Range<usize> = at..at + ch.len_utf8();
                KrillaGlyph::new(GlyphId::new(gid.to_u32()), advance + spacing, 0.0, 0.0, 0.0, range, None)
            })
            .collect()
    }

    fn width(&self, text: &str, size: f32) -> f32 {
        text.chars()
            .map(|ch| self.advances.advance_width(self.charmap.map(ch).unwrap_or_default()).unwrap_or(0.0))
            .sum::<f32>()
            / self.upem
            * size
    }
}

// A4 in points.
const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const LEFT: f32 = 64.0;
const RIGHT: f32 = PAGE_W - 64.0;
const CONTENT_W: f32 = RIGHT - LEFT;
const LABEL_W: f32 = 112.0;
const CELL_PAD: f32 = 10.0;
const LINE_GAP: f32 = 1.4;
const QR_SIZE: f32 = 100.0;
const MIN_SIZE: f32 = 7.5;
// The CJK em box runs from 0.12 em below the baseline to 0.88 em above; its middle is what looks centred.
const EM_MID: f32 = 0.38;

const INK: (u8, u8, u8) = (26, 26, 26);
const GREY: (u8, u8, u8) = (90, 90, 90);
const FRAME: (u8, u8, u8) = (140, 28, 32);
const ALERT: (u8, u8, u8) = (200, 16, 32);
const LABEL_BG: (u8, u8, u8) = (246, 241, 232);
const ALERT_BG: (u8, u8, u8) = (253, 236, 236);
const RULE: (u8, u8, u8) = (120, 110, 100);

fn color((r, g, b): (u8, u8, u8)) -> rgb::Color {
    rgb::Color::new(r, g, b)
}

fn fill(c: (u8, u8, u8)) -> Fill {
    Fill { paint: color(c).into(), ..Fill::default() }
}

fn stroke(c: (u8, u8, u8), width: f32) -> Stroke {
    Stroke { paint: color(c).into(), width, ..Stroke::default() }
}

fn rect_path(x: f32, y: f32, w: f32, h: f32) -> Option<krilla::geom::Path> {
    let mut pb = PathBuilder::new();
    pb.push_rect(Rect::from_xywh(x, y, w, h)?);
    pb.finish()
}

fn draw_rect(surface: &mut Surface, x: f32, y: f32, w: f32, h: f32, bg: Option<(u8, u8, u8)>, line: Option<Stroke>) {
    if let Some(path) = rect_path(x, y, w, h) {
        surface.set_fill(bg.map(fill));
        surface.set_stroke(line);
        surface.draw_path(&path);
    }
}

fn draw_line(surface: &mut Surface, from: (f32, f32), to: (f32, f32), line: Stroke) {
    let mut pb = PathBuilder::new();
    pb.move_to(from.0, from.1);
    pb.line_to(to.0, to.1);
    if let Some(path) = pb.finish() {
        surface.set_fill(None);
        surface.set_stroke(Some(line));
        surface.draw_path(&path);
    }
}

#[derive(Clone, Copy)]
enum Align {
    Left,
    Centre,
    Right,
}

/// A run of text in one face, size and colour.
#[derive(Clone, Copy)]
struct Style<'m, 'a> {
    face: &'m Metrics<'a>,
    size: f32,
    ink: (u8, u8, u8),
    /// Extra tracking in points between characters.
    tracking: f32,
    /// Draw with a hairline stroke too: a stand-in for bold when no bold face was given.
    embolden: bool,
}

impl Style<'_, '_> {
    fn width(&self, text: &str) -> f32 {
        let n = text.chars().count() as f32;
        self.face.width(text, self.size) + self.tracking * (n - 1.0).max(0.0)
    }

    fn draw(&self, surface: &mut Surface, text: &str, x: f32, baseline: f32, align: Align) {
        if text.is_empty() {
            return;
        }
        let w = self.width(text);
        let start = match align {
            Align::Left => x,
            Align::Centre => x - w / 2.0,
            Align::Right => x - w,
        };
        let glyphs = self.face.glyphs(text, self.tracking / self.size);
        surface.set_fill(Some(fill(self.ink)));
        surface.set_stroke(self.embolden.then(|| stroke(self.ink, self.size * 0.03)));
        surface.draw_glyphs(Point::from_xy(start, baseline), &glyphs, self.face.font.clone(), text, self.size, false);
        surface.set_stroke(None);
    }

    fn with_size(self, size: f32) -> Self {
        Style { size, ..self }
    }

    fn leading(&self) -> f32 {
        self.size * LINE_GAP
    }
}

/// Characters that must not start a line (Chinese line-breaking rules).
fn no_line_start(ch: char) -> bool {
    "，。、；：！？）》」』】〉”’,.;:!?)]}%…·".contains(ch)
}

/// Characters that must not end a line.
fn no_line_end(ch: char) -> bool {
    "（《「『【〈“‘([{".contains(ch)
}

/// Latin letters, digits and URL punctuation stay together as one word so codes and numbers don't split.
fn is_word_char(ch: char) -> bool {
    ch.is_ascii_graphic() && !no_line_start(ch) && !no_line_end(ch)
}

/// Splits text into unbreakable pieces: single CJK characters, Latin words, spaces, with punctuation
/// glued to its neighbour.
fn tokens(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut glue_next = false;
    for ch in text.chars() {
        let extend_word = is_word_char(ch) && out.last().is_some_and(|t| t.chars().last().is_some_and(is_word_char));
        let attach = glue_next || extend_word || (no_line_start(ch) && !out.is_empty());
        match out.last_mut() {
            Some(last) if attach => last.push(ch),
            _ => out.push(ch.to_string()),
        }
        glue_next = no_line_end(ch);
    }
    out
}

/// Greedy line breaking at `width`; a piece wider than a whole line is broken between characters.
fn wrap(style: &Style, text: &str, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for token in tokens(text) {
        let candidate = format!("{line}{token}");
        if style.width(candidate.trim_end()) <= width {
            line = candidate;
            continue;
        }
        if !line.trim().is_empty() {
            lines.push(line.trim_end().to_string());
        }
        line = token.trim_start().to_string();
        while style.width(&line) > width && line.chars().count() > 1 {
            let mut head = String::new();
            for ch in line.chars() {
                head.push(ch);
                if style.width(&head) > width && head.chars().count() > 1 {
                    head.pop();
                    break;
                }
            }
            line = line[head.len()..].to_string();
            lines.push(head);
        }
    }
    if !line.trim().is_empty() || lines.is_empty() {
        lines.push(line.trim_end().to_string());
    }
    lines
}

/// The largest size from `style.size` down to `MIN_SIZE` at which `text` fits in `max_lines` lines of
/// `width`; at the smallest size the overflow is cut with an ellipsis rather than drawn outside its box.
fn fit<'m, 'a>(style: Style<'m, 'a>, text: &str, width: f32, max_lines: usize) -> (Style<'m, 'a>, Vec<String>) {
    let mut size = style.size;
    loop {
        let s = style.with_size(size);
        let lines = wrap(&s, text, width);
        if lines.len() <= max_lines {
            return (s, lines);
        }
        if size <= MIN_SIZE {
            let mut kept: Vec<String> = lines.into_iter().take(max_lines).collect();
            if let Some(last) = kept.last_mut() {
                while !last.is_empty() && s.width(&format!("{last}…")) > width {
                    last.pop();
                }
                last.push('…');
            }
            return (s, kept);
        }
        size = (size - 0.5).max(MIN_SIZE);
    }
}

/// `n` with its thousands set apart by commas, as amounts are printed on Chinese forms and tables.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    grouped
}

/// A count of hundredths as a number with two decimals and thousands apart, e.g. 1234560 → "12,345.60".
fn hundredths(n: i64) -> String {
    let sign = if n < 0 { "-" } else { "" };
    let abs = n.unsigned_abs();
    format!("{sign}{}.{:02}", thousands(abs / 100), abs % 100)
}

fn yuan(fen: i64) -> String {
    format!("{} 元", hundredths(fen))
}

fn ymd(date: NaiveDate) -> String {
    format!("{}年{:02}月{:02}日", date.year(), date.month(), date.day())
}

fn beijing_date(at: chrono::DateTime<chrono::Utc>) -> NaiveDate {
    let beijing = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    at.with_timezone(&beijing).date_naive()
}

fn facts(sheet: &Sheet) -> Vec<(&'static str, String)> {
    let last_day = sheet.lease_end.pred_opt().unwrap_or(sheet.lease_end);
    vec![
        ("不动产单元号", sheet.unit_number.clone()),
        ("宗地代码", sheet.parcel_code.clone()),
        ("坐落", format!("{}{}", sheet.township_name, sheet.village)),
        ("建筑面积", format!("{:.2} 平方米", sheet.floor_area_m2)),
        ("结构", sheet.structure.clone()),
        ("出租方", sheet.lessor.clone().unwrap_or_else(|| "（未登记）".to_string())),
        ("承租方", sheet.lessee.clone()),
        ("合同编号", sheet.contract_no.clone()),
        ("租赁期限", format!("{} 至 {}", ymd(sheet.lease_start), ymd(last_day))),
        ("年租金", yuan(sheet.annual_rent_fen)),
        ("成交总额", yuan(sheet.total_amount_fen)),
        ("用途", sheet.intended_use.clone()),
    ]
}

struct Row<'m, 'a> {
    style: Style<'m, 'a>,
    lines: Vec<String>,
    height: f32,
}

/// Lays out the table's value cells with at most `max_lines` lines each, starting from `base.size`.
fn table_rows<'m, 'a>(
    base: Style<'m, 'a>,
    facts: &[(&str, String)],
    max_lines: usize,
    min_row: f32,
) -> Vec<Row<'m, 'a>> {
    let value_w = CONTENT_W - LABEL_W - 2.0 * CELL_PAD;
    facts
        .iter()
        .map(|(_, value)| {
            let (style, lines) = fit(base, value, value_w, max_lines);
            let text_h = (lines.len() as f32 - 1.0) * style.leading() + style.size;
            Row { height: (text_h + 12.0).max(min_row), style, lines }
        })
        .collect()
}

/// The PDF document's metadata date, taken from the issue instant so identical input gives identical bytes.
fn pdf_date(at: chrono::DateTime<chrono::Utc>) -> PdfDateTime {
    use chrono::Timelike;
    PdfDateTime::new(at.year().clamp(0, 9999) as u16)
        .month(at.month() as u8)
        .day(at.day() as u8)
        .hour(at.hour() as u8)
        .minute(at.minute() as u8)
        .second(at.second() as u8)
        .utc_offset_hour(0)
        .utc_offset_minute(0)
}

/// The regular face and the bold one (when given), ready for measuring.
fn faces(fonts: &Fonts) -> Result<(Metrics<'_>, Option<Metrics<'_>>), DocumentError> {
    let unusable = || DocumentError::Render("font face cannot be measured".to_string());
    let regular = fonts.regular.metrics().ok_or_else(unusable)?;
    let bold = match &fonts.bold {
        Some(face) => Some(face.metrics().ok_or_else(unusable)?),
        None => None,
    };
    Ok((regular, bold))
}

/// Body text, and the heavy text of titles: the bold face, or the regular one stroked when none was given.
fn body_and_heavy<'m, 'a>(regular: &'m Metrics<'a>, bold: Option<&'m Metrics<'a>>) -> (Style<'m, 'a>, Style<'m, 'a>) {
    let body = Style { face: regular, size: 12.0, ink: INK, tracking: 0.0, embolden: false };
    (body, Style { face: bold.unwrap_or(regular), embolden: bold.is_none(), ..body })
}

fn a4() -> Result<PageSettings, DocumentError> {
    PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| DocumentError::Render("page size".into()))
}

/// The A4 PDF (one page) of `sheet`.
pub fn render(sheet: &Sheet, fonts: &Fonts) -> Result<Vec<u8>, DocumentError> {
    let (regular, bold) = faces(fonts)?;
    let qr = qrcode::QrCode::with_error_correction_level(sheet.verify_url.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| DocumentError::Render(format!("QR code: {e}")))?;

    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(format!("农房使用权流转鉴证书 {}", sheet.certificate_no))
            .language("zh-CN".to_string())
            .creator(sheet.office.clone())
            .creation_date(pdf_date(sheet.issued_at)),
    );
    let mut page = document.start_page_with(a4()?);
    let mut surface = page.surface();
    draw_page(&mut surface, sheet, &regular, bold.as_ref(), &qr);
    surface.finish();
    page.finish();
    document.finish().map_err(|e| DocumentError::Render(e.to_string()))
}

fn draw_page(surface: &mut Surface, sheet: &Sheet, regular: &Metrics, bold: Option<&Metrics>, qr: &qrcode::QrCode) {
    let (body, heavy) = body_and_heavy(regular, bold);
    let copy_label = match sheet.copy {
        Copy::Public => "公众副本",
        Copy::Officer => "经办人副本",
    };

    // Double frame: a heavy outer rule and a thin inner one, as on printed certificates.
    draw_rect(surface, 26.0, 26.0, PAGE_W - 52.0, PAGE_H - 52.0, None, Some(stroke(FRAME, 2.4)));
    draw_rect(surface, 32.0, 32.0, PAGE_W - 64.0, PAGE_H - 64.0, None, Some(stroke(FRAME, 0.8)));

    // Copy kind as a small tag in the top right corner, so a glance tells which copy is in hand.
    let tag = body.with_size(9.0);
    let tag_w = tag.width(copy_label) + 12.0;
    draw_rect(surface, RIGHT - tag_w, 46.0, tag_w, 17.0, None, Some(stroke(FRAME, 0.6)));
    Style { ink: FRAME, ..tag }.draw(
        surface,
        copy_label,
        RIGHT - tag_w / 2.0,
        46.0 + 8.5 + EM_MID * 9.0,
        Align::Centre,
    );

    let title = Style { size: 27.0, tracking: 2.0, ..heavy };
    title.draw(surface, "农房使用权流转鉴证书", PAGE_W / 2.0, 104.0, Align::Centre);
    let (number, number_lines) = fit(body.with_size(11.5), &format!("编号：{}", sheet.certificate_no), CONTENT_W, 1);
    number.draw(surface, &number_lines[0], PAGE_W / 2.0, 130.0, Align::Centre);

    let mut y = 146.0;
    if let Some(notice) = sheet.notice.as_deref().filter(|n| !n.trim().is_empty()) {
        let (style, lines) = fit(Style { ink: ALERT, ..heavy.with_size(12.5) }, notice, CONTENT_W - 24.0, 3);
        let h = (lines.len() as f32 - 1.0) * style.leading() + style.size + 16.0;
        draw_rect(surface, LEFT, y, CONTENT_W, h, Some(ALERT_BG), Some(stroke(ALERT, 1.0)));
        let mut baseline = y + 8.0 + style.size * (1.0 - 0.12);
        for line in &lines {
            let (x, align) = if lines.len() == 1 { (PAGE_W / 2.0, Align::Centre) } else { (LEFT + 12.0, Align::Left) };
            style.draw(surface, line, x, baseline, align);
            baseline += style.leading();
        }
        y += h + 12.0;
    }

    // The bottom block is anchored to the page bottom; the table and statement must end above it.
    let footer_rule = PAGE_H - 76.0;
    let code_baseline = footer_rule - 16.0;
    let qr_top = code_baseline - 16.0 - QR_SIZE;
    let bottom_top = qr_top - 18.0;

    let statement = "经审查，上述农房使用权流转符合有关规定，予以鉴证。";
    let statement_style = body.with_size(12.5);
    let indent = statement_style.size * 2.0;
    let statement_lines = wrap(&statement_style, statement, CONTENT_W - indent);
    let statement_h = statement_lines.len() as f32 * statement_style.leading() + 24.0;

    let facts = facts(sheet);
    let mut rows = Vec::new();
    // Roomy rows first; tighter ones only when long values or a notice would push into the bottom block.
    for (size, max_lines, min_row) in [
        (12.0, 2, 30.0),
        (12.0, 2, 26.0),
        (11.0, 2, 24.0),
        (10.0, 3, 22.0),
        (9.0, 3, 20.0),
        (8.0, 3, 18.0),
        (MIN_SIZE, 2, 18.0),
    ] {
        rows = table_rows(body.with_size(size), &facts, max_lines, min_row);
        let table_h: f32 = rows.iter().map(|r| r.height).sum();
        if y + table_h + statement_h <= bottom_top {
            break;
        }
    }

    // Table: shaded label column, hairline grid, a firmer outer rule.
    let table_top = y;
    let table_h: f32 = rows.iter().map(|r| r.height).sum();
    draw_rect(surface, LEFT, table_top, LABEL_W, table_h, Some(LABEL_BG), None);
    let label = Style { ink: (60, 50, 40), ..body.with_size(11.5) };
    // Labels are justified to the longest one's width (分散对齐), the usual look of Chinese forms.
    let label_w = facts.iter().map(|(name, _)| label.width(name)).fold(0.0, f32::max);
    for ((name, _), row) in facts.iter().zip(&rows) {
        let mid = y + row.height / 2.0;
        let n = name.chars().count() as f32;
        let spread = if n > 1.0 { (label_w - label.width(name)) / (n - 1.0) } else { 0.0 };
        let label_style = Style { tracking: spread, ..label };
        label_style.draw(surface, name, LEFT + LABEL_W / 2.0, mid + EM_MID * label.size, Align::Centre);

        let s = row.style;
        let block = (row.lines.len() as f32 - 1.0) * s.leading();
        let mut baseline = mid - block / 2.0 + EM_MID * s.size;
        for line in &row.lines {
            s.draw(surface, line, LEFT + LABEL_W + CELL_PAD, baseline, Align::Left);
            baseline += s.leading();
        }
        y += row.height;
        if y < table_top + table_h - 0.1 {
            draw_line(surface, (LEFT, y), (RIGHT, y), stroke(RULE, 0.5));
        }
    }
    draw_line(surface, (LEFT + LABEL_W, table_top), (LEFT + LABEL_W, y), stroke(RULE, 0.5));
    draw_rect(surface, LEFT, table_top, CONTENT_W, table_h, None, Some(stroke(INK, 1.1)));

    let mut baseline = y + 14.0 + statement_style.size;
    for (i, line) in statement_lines.iter().enumerate() {
        let x = if i == 0 { LEFT + indent } else { LEFT };
        statement_style.draw(surface, line, x, baseline, Align::Left);
        baseline += statement_style.leading();
    }

    draw_qr(surface, qr, LEFT, qr_top, QR_SIZE);
    let code = body.with_size(10.0);
    let code_text = format!("验证码：{}", sheet.code);
    let (code, code_lines) = fit(code, &code_text, QR_SIZE + 30.0, 1);
    code.draw(surface, &code_lines[0], LEFT + QR_SIZE / 2.0, code_baseline, Align::Centre);

    // Issuer block, bottom right, lines centred on one axis as on a sealed signature block.
    let block_left = LEFT + QR_SIZE + 40.0;
    let block_w = RIGHT - block_left;
    let (issuer, issuer_lines) = fit(body.with_size(13.0), &sheet.office, block_w, 2);
    let date = ymd(beijing_date(sheet.issued_at));
    let officer = sheet.officer.as_deref().map(|name| format!("经办人：{name}"));
    let (officer_style, officer_lines) = match &officer {
        Some(text) => fit(body.with_size(12.0), text, block_w, 1),
        None => (body, Vec::new()),
    };
    let date_style = body.with_size(12.5);
    let axis_w = issuer_lines
        .iter()
        .map(|l| issuer.width(l))
        .chain(officer_lines.iter().map(|l| officer_style.width(l)))
        .fold(date_style.width(&date), f32::max);
    let axis = RIGHT - axis_w / 2.0;
    let mut baseline = code_baseline - 6.0;
    date_style.draw(surface, &date, axis, baseline, Align::Centre);
    for line in issuer_lines.iter().rev() {
        baseline -= issuer.leading() + 2.0;
        issuer.draw(surface, line, axis, baseline, Align::Centre);
    }
    if let Some(line) = officer_lines.first() {
        baseline -= officer_style.leading() + 10.0;
        officer_style.draw(surface, line, axis, baseline, Align::Centre);
    }

    // Footer: copy kind, key id and how to verify, small and grey so it reads as fine print.
    draw_line(surface, (LEFT, footer_rule), (RIGHT, footer_rule), stroke(RULE, 0.4));
    let small = Style { ink: GREY, ..body.with_size(8.5) };
    let first = format!("{copy_label}　·　签名密钥：{}", sheet.key_id);
    let second = format!("扫描二维码或访问 {} 核验", sheet.verify_url);
    let (first_style, first_lines) = fit(small, &first, CONTENT_W, 1);
    first_style.draw(surface, &first_lines[0], PAGE_W / 2.0, footer_rule + 16.0, Align::Centre);
    let (second_style, second_lines) = fit(small, &second, CONTENT_W, 2);
    let mut baseline = footer_rule + 30.0;
    for line in &second_lines {
        second_style.draw(surface, line, PAGE_W / 2.0, baseline, Align::Centre);
        baseline += second_style.leading();
    }
}

/// Draws the dark modules as one filled path so abutting modules rasterise without hairline seams.
fn draw_qr(surface: &mut Surface, qr: &qrcode::QrCode, x: f32, y: f32, size: f32) {
    let n = qr.width();
    let module = size / n as f32;
    let colors = qr.to_colors();
    let mut pb = PathBuilder::new();
    for row in 0..n {
        let mut col = 0;
        while col < n {
            if colors[row * n + col] == qrcode::Color::Dark {
                let start = col;
                while col < n && colors[row * n + col] == qrcode::Color::Dark {
                    col += 1;
                }
                if let Some(r) = Rect::from_xywh(
                    x + start as f32 * module,
                    y + row as f32 * module,
                    (col - start) as f32 * module,
                    module,
                ) {
                    pb.push_rect(r);
                }
            } else {
                col += 1;
            }
        }
    }
    if let Some(path) = pb.finish() {
        surface.set_stroke(None);
        surface.set_fill(Some(Fill { rule: FillRule::NonZero, ..fill((0, 0, 0)) }));
        surface.draw_path(&path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::process::Command;

    const REGULAR: &str = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc";
    const BOLD: &str = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc";

    pub(super) fn fonts() -> Fonts {
        assert!(Path::new(REGULAR).exists(), "{REGULAR} missing: apt-get install -y fonts-noto-cjk");
        Fonts::load(Path::new(REGULAR), Some(Path::new(BOLD))).expect("Noto CJK fonts load")
    }

    fn sample() -> Sheet {
        Sheet {
            certificate_no: "SY-JZ-2026-000123".into(),
            unit_number: "330604101001JC00004".into(),
            parcel_code: "330604101001JC00004".into(),
            township_name: "丰惠镇".into(),
            village: "上街村".into(),
            floor_area_m2: 326.5,
            structure: "砖混".into(),
            lessor: Some("王**".into()),
            lessee: "绍兴市上虞区乡村振兴文化旅游发展有限公司".into(),
            contract_no: "SYNF-2026-0456".into(),
            lease_start: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            lease_end: NaiveDate::from_ymd_opt(2036, 1, 1).unwrap(),
            annual_rent_fen: 1_234_560,
            total_amount_fen: 12_345_600,
            intended_use: "民宿".into(),
            officer: Some("李明".into()),
            office: "绍兴市上虞区农村产权交易中心".into(),
            issued_at: chrono::Utc.with_ymd_and_hms(2026, 12, 1, 17, 30, 0).unwrap(),
            verify_url: "http://127.0.0.1:8080/verify/SY-JZ-2026-000123?code=AB12CD34".into(),
            code: "AB12CD34".into(),
            key_id: "k-2026-01".into(),
            copy: Copy::Public,
            notice: Some("本证已于 2026-12-01 撤销：租赁合同经双方协商解除。".into()),
        }
    }

    /// Runs a poppler / zbar tool; they are required, so a missing one fails with the package to install.
    pub(super) fn tool(name: &str, package: &str, args: &[&str]) -> String {
        let out = Command::new(name)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{name} not runnable ({e}): apt-get install -y {package}"));
        assert!(out.status.success(), "{name} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("tool output is UTF-8")
    }

    pub(super) fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("certificate-test-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn formats_money_and_dates() {
        assert_eq!(yuan(1_234_560), "12,345.60 元");
        assert_eq!(yuan(5), "0.05 元");
        assert_eq!(yuan(100_000_000), "1,000,000.00 元");
        assert_eq!(yuan(-123_456), "-1,234.56 元");
        let late = chrono::Utc.with_ymd_and_hms(2026, 12, 1, 17, 30, 0).unwrap();
        assert_eq!(ymd(beijing_date(late)), "2026年12月02日");
    }

    #[test]
    fn picks_simplified_chinese_face() {
        let fonts = fonts();
        let name = FontRef::from_index(fonts.regular.data.as_slice(), fonts.regular.index)
            .unwrap()
            .localized_strings(StringId::FAMILY_NAME)
            .english_or_first()
            .unwrap()
            .chars()
            .collect::<String>();
        assert!(name.contains("SC"), "chose {name}");
    }

    #[test]
    fn unreadable_font_names_its_path() {
        let err = Fonts::load(Path::new("/nonexistent/font.ttc"), None).err().unwrap();
        assert!(err.to_string().contains("/nonexistent/font.ttc"), "{err}");
    }

    #[test]
    fn text_extracts_and_qr_decodes() {
        let sheet = sample();
        let pdf = render(&sheet, &fonts()).unwrap();
        let dir = scratch("sample");
        let file = dir.join("sheet.pdf");
        std::fs::write(&file, &pdf).unwrap();
        let file = file.to_str().unwrap();

        let fonts_list = tool("pdffonts", "poppler-utils", &[file]);
        assert!(fonts_list.lines().skip(2).all(|l| l.contains(" yes ")), "fonts not embedded:\n{fonts_list}");

        let text = tool("pdftotext", "poppler-utils", &["-layout", file, "-"]);
        for expected in [
            "农房使用权流转鉴证书",
            "编号：SY-JZ-2026-000123",
            "丰惠镇上街村",
            "绍兴市上虞区乡村振兴文化旅游发展有限公司",
            "验证码：AB12CD34",
            "326.50 平方米",
            "12,345.60 元",
            "123,456.00 元",
            "2026年01月01日 至 2035年12月31日",
            "2026年12月02日",
            "经办人：李明",
            "本证已于 2026-12-01 撤销",
            "公众副本",
            "签名密钥：k-2026-01",
            "王**",
        ] {
            assert!(text.contains(expected), "{expected:?} not in extracted text:\n{text}");
        }

        let prefix = dir.join("page");
        tool("pdftoppm", "poppler-utils", &["-r", "150", "-png", "-singlefile", file, prefix.to_str().unwrap()]);
        let png = dir.join("page.png");
        let decoded = tool("zbarimg", "zbar-tools", &["--raw", "-q", png.to_str().unwrap()]);
        assert_eq!(decoded.trim_end_matches('\n'), sheet.verify_url);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn long_values_stay_inside_and_unregistered_lessor() {
        let mut sheet = sample();
        sheet.village = "上街村第三村民小组东山自然村下宅里".repeat(3);
        sheet.lessee = "绍兴市上虞区乡村振兴文化旅游发展有限公司暨浙江省农村综合产权交易服务联合体".repeat(2);
        sheet.office = "绍兴市上虞区农业农村局农村产权交易中心丰惠镇服务站".into();
        sheet.lessor = None;
        sheet.copy = Copy::Officer;
        sheet.notice = Some("本证已于 2026-12-01 撤销：".to_string() + &"原因说明文字较长，".repeat(12));
        let pdf = render(&sheet, &fonts()).unwrap();
        let dir = scratch("long");
        let file = dir.join("long.pdf");
        std::fs::write(&file, &pdf).unwrap();
        let file = file.to_str().unwrap();
        let text = tool("pdftotext", "poppler-utils", &[file, "-"]);
        for expected in ["（未登记）", "经办人副本", "农房使用权流转鉴证书", "验证码：AB12CD34"]
        {
            assert!(text.contains(expected), "{expected:?} not in extracted text:\n{text}");
        }
        let prefix = dir.join("page");
        tool("pdftoppm", "poppler-utils", &["-r", "150", "-png", "-singlefile", file, prefix.to_str().unwrap()]);
        let decoded = tool("zbarimg", "zbar-tools", &["--raw", "-q", dir.join("page.png").to_str().unwrap()]);
        assert_eq!(decoded.trim_end_matches('\n'), sheet.verify_url);
        if let Ok(keep) = std::env::var("CERTIFICATE_KEEP_PDF") {
            std::fs::copy(file, keep).unwrap();
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
