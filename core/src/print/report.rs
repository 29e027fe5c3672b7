//! A plain A4 report as a PDF: a centred title, headings, paragraphs and simple ruled
//! tables, with the caller's CJK font embedded as a subset (as [`super::pdf`] does for a
//! notice). Lines break by the printed width of each character (Chinese text breaks between
//! any two characters); table cells wrap inside their columns, and a table running over a
//! page repeats its header row.
//!
//! Generic: the caller decides what goes in (the server's 通报 uses it); nothing here knows
//! about records.

use super::measure::Measure;
use super::{FontSource, PrintError};
use krilla::Document;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::text::{Font, TextDirection};

/// One part of a report, top to bottom.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    /// A section heading.
    Heading(String),
    /// A paragraph (its `\n`s start new lines).
    Paragraph(String),
    /// A smaller, centred line (a subtitle, the issuing office and date).
    Centred(String),
    Table(Table),
}

/// A ruled table: a header row, then rows of the same number of cells.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Relative widths of the columns; empty: all equal.
    pub widths: Vec<f32>,
}

/// A report: its title (also the PDF's metadata title, so it must hold nothing personal)
/// and its blocks.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Report {
    pub title: String,
    pub blocks: Vec<Block>,
}

/// A4, in points.
/// Characters every bulletin prints: a font without them is not a Chinese font.
const PROBE: &str = "城市管理工作通报";
const WIDTH: f32 = 595.28;
const HEIGHT: f32 = 841.89;
const MARGIN: f32 = 56.0;
const BODY: f32 = 10.5;
const TITLE: f32 = 18.0;
const HEADING: f32 = 13.0;
const CELL: f32 = 9.0;
const PAD: f32 = 3.0;

enum Item {
    Text { x: f32, y: f32, size: f32, text: String },
    Rect { x: f32, y: f32, w: f32, h: f32 },
}

struct Pages {
    pages: Vec<Vec<Item>>,
    y: f32,
}

impl Pages {
    const BOTTOM: f32 = HEIGHT - MARGIN;

    /// Room for `h` more points on this page, else a new page; true if a page was started.
    fn need(&mut self, h: f32) -> bool {
        if self.y + h > Self::BOTTOM && self.y > MARGIN {
            self.pages.push(Vec::new());
            self.y = MARGIN;
            return true;
        }
        false
    }

    fn push(&mut self, item: Item) {
        if let Some(p) = self.pages.last_mut() {
            p.push(item);
        }
    }

    fn rule(&mut self, x: f32, y: f32, w: f32, h: f32) {
        self.push(Item::Rect { x, y, w, h });
    }
}

const TEXT_WIDTH: f32 = WIDTH - 2.0 * MARGIN;

fn lines(p: &mut Pages, m: &Measure, text: &str, size: f32, centred: bool) {
    let lh = size * 1.6;
    for line in m.wrap(text, size, TEXT_WIDTH) {
        p.need(lh);
        p.y += lh;
        let x = if centred { (WIDTH - m.width(&line, size)) / 2.0 } else { MARGIN };
        p.push(Item::Text { x, y: p.y - lh * 0.3, size, text: line });
    }
}

/// One table row: its cells wrapped in their columns, ruled around.
fn row(p: &mut Pages, m: &Measure, cells: &[String], cols: &[f32], header: bool) -> f32 {
    let lh = CELL * 1.45;
    let wrapped: Vec<Vec<String>> =
        cols.iter().enumerate().map(|(i, w)| m.wrap(cells.get(i).map_or("", String::as_str), CELL, w - 2.0 * PAD)).collect();
    let n = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let h = n as f32 * lh + 2.0 * PAD;
    let top = p.y;
    let mut x = MARGIN;
    for (i, w) in cols.iter().enumerate() {
        for (k, line) in wrapped[i].iter().enumerate() {
            let y = top + PAD + (k + 1) as f32 * lh - lh * 0.28;
            p.push(Item::Text { x: x + PAD, y, size: CELL, text: line.clone() });
        }
        p.rule(x, top, 0.5, h);
        x += w;
    }
    p.rule(x, top, 0.5, h);
    p.rule(MARGIN, top, x - MARGIN, if header { 0.9 } else { 0.5 });
    p.rule(MARGIN, top + h, x - MARGIN + 0.5, 0.5);
    p.y = top + h;
    h
}

fn table(p: &mut Pages, m: &Measure, t: &Table) {
    let ncols = t.header.len().max(t.rows.iter().map(Vec::len).max().unwrap_or(0)).max(1);
    let weights: Vec<f32> = (0..ncols).map(|i| t.widths.get(i).copied().filter(|w| *w > 0.0).unwrap_or(1.0)).collect();
    let sum: f32 = weights.iter().sum();
    let cols: Vec<f32> = weights.iter().map(|w| w / sum * TEXT_WIDTH).collect();
    let est = |cells: &[String]| {
        let n = cols
            .iter()
            .enumerate()
            .map(|(i, w)| m.wrap(cells.get(i).map_or("", String::as_str), CELL, w - 2.0 * PAD).len())
            .max()
            .unwrap_or(1);
        n as f32 * CELL * 1.45 + 2.0 * PAD
    };
    p.y += CELL * 0.5;
    let first = t.rows.first().map(|r| est(r)).unwrap_or(0.0);
    p.need(est(&t.header) + first);
    row(p, m, &t.header, &cols, true);
    for r in &t.rows {
        if p.need(est(r)) && !t.header.is_empty() {
            row(p, m, &t.header, &cols, true);
        }
        row(p, m, r, &cols, false);
    }
    p.y += CELL;
}

fn lay_out(r: &Report, m: &Measure) -> Vec<Vec<Item>> {
    let mut p = Pages { pages: vec![Vec::new()], y: MARGIN };
    lines(&mut p, m, &r.title, TITLE, true);
    p.y += BODY * 0.5;
    for b in &r.blocks {
        match b {
            Block::Heading(h) => {
                p.need(HEADING * 1.6 + BODY * 3.0);
                p.y += HEADING * 0.5;
                lines(&mut p, m, h, HEADING, false);
            }
            Block::Paragraph(t) => lines(&mut p, m, t, BODY, false),
            Block::Centred(t) => lines(&mut p, m, t, BODY, true),
            Block::Table(t) => table(&mut p, m, t),
        }
    }
    p.pages
}

/// Can `font` print a report (a font, with Chinese glyphs)?
pub fn check_font(font: &FontSource) -> Result<(), PrintError> {
    Measure::new(font, PROBE).map(|_| ())
}

/// The report as an A4 PDF with `font` embedded (subset), page numbers at the foot.
pub fn render(report: &Report, font: &FontSource) -> Result<Vec<u8>, PrintError> {
    let measure = Measure::new(font, PROBE)?;
    let pages = lay_out(report, &measure);
    let kfont = Font::new(font.data.clone().into(), font.index).ok_or(PrintError::BadFont)?;
    let mut doc = Document::new();
    doc.set_metadata(Metadata::new().title(report.title.clone()).language("zh-CN".into()).creator("gridwork".into()));
    let total = pages.len();
    for (n, items) in pages.into_iter().enumerate() {
        let settings = PageSettings::from_wh(WIDTH, HEIGHT).ok_or_else(|| PrintError::Render("page size".into()))?;
        let mut page = doc.start_page_with(settings);
        let mut s = page.surface();
        s.set_fill(Some(Fill::default()));
        let foot = format!("第 {} 页 共 {total} 页", n + 1);
        let foot_x = (WIDTH - measure.width(&foot, CELL)) / 2.0;
        let footer = Item::Text { x: foot_x, y: HEIGHT - MARGIN / 2.0, size: CELL, text: foot };
        for item in items.into_iter().chain(std::iter::once(footer)) {
            match item {
                Item::Text { x, y, size, text } => {
                    s.draw_text(Point::from_xy(x, y), kfont.clone(), size, &text, false, TextDirection::Auto);
                }
                Item::Rect { x, y, w, h } => {
                    let mut pb = PathBuilder::new();
                    if let Some(r) = Rect::from_xywh(x, y, w, h) {
                        pb.push_rect(r);
                    }
                    if let Some(path) = pb.finish() {
                        s.draw_path(&path);
                    }
                }
            }
        }
        s.finish();
        page.finish();
    }
    doc.finish().map_err(|e| PrintError::Render(format!("PDF: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_font_without_chinese_is_refused_and_garbage_is_not_a_font() {
        assert_eq!(render(&Report::default(), &FontSource::new(vec![1, 2, 3])).unwrap_err(), PrintError::BadFont);
    }

    #[test]
    fn renders_with_the_system_cjk_font_if_there_is_one() {
        let Ok(data) = std::fs::read("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc") else { return };
        let rows = (0..80).map(|i| vec![format!("{i}"), "奎文区执法中队".repeat(i % 4 + 1), "85.0%".into()]).collect();
        let report = Report {
            title: "潍坊市城市管理工作通报（2026年第47周）".into(),
            blocks: vec![
                Block::Centred("潍坊市城市管理局 2026年11月23日".into()),
                Block::Heading("一、总体情况".into()),
                Block::Paragraph("本周共受理案件 12 件，结案 9 件。".repeat(8)),
                Block::Table(Table {
                    header: vec!["序号".into(), "单位".into(), "按期结案率".into()], rows, widths: vec![]
                }),
            ],
        };
        let pdf = render(&report, &FontSource::new(data)).expect("pdf");
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.len() < 400_000, "a subset, not the whole font: {}", pdf.len());
    }
}
