//! The notice as a PDF for A5 or A4 paper: the caller's CJK font embedded as a subset (only
//! the glyphs used, so a notice is tens of kilobytes, not the font's megabytes), text that
//! `pdftotext` and screen readers can extract, the QR code drawn as vector squares.
//!
//! Layout is done first into pages of [`Item`]s (positions in points from the top left),
//! then drawn with krilla.

use super::measure::Measure;
use super::{FontSource, NoticeSheet, Paper, PrintError, QR_CAPTION, RECEIPT, TITLE, WARNING, qr::QrMatrix};
use krilla::Document;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::text::{Font, TextDirection};

/// Sizes of a paper, in points.
struct Layout {
    width: f32,
    height: f32,
    margin: f32,
    body: f32,
    title: f32,
    qr: f32,
}

impl Layout {
    fn of(paper: Paper) -> Self {
        match paper {
            Paper::A5 => Layout { width: 419.53, height: 595.28, margin: 40.0, body: 10.5, title: 20.0, qr: 96.0 },
            Paper::A4 => Layout { width: 595.28, height: 841.89, margin: 64.0, body: 13.0, title: 26.0, qr: 128.0 },
        }
    }

    fn line_height(&self) -> f32 {
        self.body * 1.7
    }

    fn text_width(&self) -> f32 {
        self.width - 2.0 * self.margin
    }
}

enum Item {
    /// Text with its baseline's left end at (x, y).
    Text {
        x: f32,
        y: f32,
        size: f32,
        text: String,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
    Qr {
        x: f32,
        y: f32,
        size: f32,
    },
}

/// Pages of items, flowing text down and starting a new page when one is full.
struct Pages {
    pages: Vec<Vec<Item>>,
    y: f32,
    top: f32,
    bottom: f32,
}

impl Pages {
    fn new(l: &Layout) -> Self {
        Pages { pages: vec![Vec::new()], y: l.margin, top: l.margin, bottom: l.height - l.margin }
    }

    /// Room for `h` more points on this page, else a new page.
    fn need(&mut self, h: f32) {
        if self.y + h > self.bottom && self.y > self.top {
            self.pages.push(Vec::new());
            self.y = self.top;
        }
    }

    fn push(&mut self, item: Item) {
        if let Some(p) = self.pages.last_mut() {
            p.push(item);
        }
    }
}

fn lay_out(sheet: &NoticeSheet, l: &Layout, m: &Measure) -> Vec<Vec<Item>> {
    let mut p = Pages::new(l);
    let lh = l.line_height();
    let centred = |p: &mut Pages, text: &str, size: f32| {
        for line in m.wrap(text, size, l.text_width()) {
            p.need(size * 1.5);
            p.y += size * 1.2;
            let x = (l.width - m.width(&line, size)) / 2.0;
            p.push(Item::Text { x, y: p.y, size, text: line });
            p.y += size * 0.3;
        }
    };
    let left = |p: &mut Pages, text: &str, indent: f32| {
        for line in m.wrap(text, l.body, l.text_width() - indent) {
            p.need(lh);
            p.y += lh;
            p.push(Item::Text { x: l.margin + indent, y: p.y - lh * 0.3, size: l.body, text: line });
        }
    };

    centred(&mut p, TITLE, l.title);
    p.y += l.body * 0.3;
    centred(&mut p, &sheet.number, l.body);
    p.y += l.body * 0.5;
    p.push(Item::Rect { x: l.margin, y: p.y, w: l.text_width(), h: 0.8 });
    p.y += l.body * 0.5;

    for (label, value) in sheet.fields() {
        left(&mut p, &format!("{label}：{value}"), 0.0);
    }
    p.y += lh * 0.5;
    left(&mut p, WARNING, 0.0);
    p.y += lh * 0.5;

    // The closing block: officer, date and receipt on the left, the QR code on the right.
    let caption = l.body * 0.8;
    let block = l.qr + caption * 2.0;
    p.need(block);
    let top = p.y;
    let qr_x = l.width - l.margin - l.qr;
    p.push(Item::Qr { x: qr_x, y: top, size: l.qr });
    let cap_x = qr_x + (l.qr - m.width(QR_CAPTION, caption)) / 2.0;
    p.push(Item::Text { x: cap_x, y: top + l.qr + caption * 1.3, size: caption, text: QR_CAPTION.into() });
    let mut y = top;
    for line in [sheet.officer_line(), sheet.issued_line(), String::new(), format!("{RECEIPT}＿＿＿＿＿＿")] {
        y += lh;
        if !line.is_empty() {
            p.push(Item::Text { x: l.margin, y: y - lh * 0.3, size: l.body, text: line });
        }
    }
    p.y = top + block;
    p.pages
}

/// The notice as a PDF on `paper`, with `font` embedded (subset).
pub fn render(sheet: &NoticeSheet, paper: Paper, font: &FontSource) -> Result<Vec<u8>, PrintError> {
    let l = Layout::of(paper);
    let measure = Measure::new(font, TITLE)?;
    let pages = lay_out(sheet, &l, &measure);
    let qr = QrMatrix::encode(&sheet.status_url)?;
    let kfont = Font::new(font.data.clone().into(), font.index).ok_or(PrintError::BadFont)?;

    let mut doc = Document::new();
    // The number only: metadata is read by anything that indexes files.
    doc.set_metadata(
        Metadata::new().title(format!("{TITLE} {}", sheet.number)).language("zh-CN".into()).creator("gridwork".into()),
    );
    let settings = || PageSettings::from_wh(l.width, l.height).ok_or_else(|| PrintError::Render("page size".into()));
    for items in pages {
        let mut page = doc.start_page_with(settings()?);
        let mut s = page.surface();
        s.set_fill(Some(Fill::default()));
        for item in items {
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
                Item::Qr { x, y, size } => {
                    // A quiet zone of 4 modules inside the square.
                    let module = size / (qr.width + 8) as f32;
                    let (x, y) = (x + 4.0 * module, y + 4.0 * module);
                    let mut pb = PathBuilder::new();
                    for row in 0..qr.width {
                        for col in 0..qr.width {
                            if qr.is_dark(col, row) {
                                let r = Rect::from_xywh(x + col as f32 * module, y + row as f32 * module, module, module);
                                if let Some(r) = r {
                                    pb.push_rect(r);
                                }
                            }
                        }
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
