//! ESC/POS for 58 mm thermal printers (384 dots at 203 dpi): text in GB18030 in the
//! printer's Chinese mode, 32 columns a line (an ASCII character one column, a Chinese one
//! two; 16 at double width), the QR code by the printer's own `GS ( k` (model 2), then a feed
//! and a cut (ignored by printers without a cutter).

use super::{NoticeSheet, PrintError, QR_CAPTION, RECEIPT, TITLE, WARNING, qr::QrMatrix};

/// Columns of a line at normal size (12 × 24 dots per column).
pub const LINE_COLUMNS: usize = 32;

pub const ESC: u8 = 0x1b;
pub const FS: u8 = 0x1c;
pub const GS: u8 = 0x1d;
/// `ESC @`: initialise.
pub const INIT: [u8; 2] = [ESC, b'@'];
/// `FS &`: Chinese character mode (two-byte GB18030 text).
pub const CHINESE_ON: [u8; 2] = [FS, b'&'];
/// `GS V 66 n`: feed n and cut (partial).
pub const CUT: [u8; 4] = [GS, b'V', 66, 0];

/// The columns `c` takes on the paper.
pub fn columns(c: char) -> usize {
    if c.is_ascii() { 1 } else { 2 }
}

/// Break `text` into lines of at most `max` columns (Chinese text breaks anywhere; a Latin
/// word longer than a line is broken too).
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.lines() {
        let mut line = String::new();
        let mut used = 0;
        for c in para.chars() {
            let c = if c == '\t' { ' ' } else { c };
            if c.is_control() {
                continue;
            }
            let w = columns(c);
            if used + w > max {
                lines.push(std::mem::take(&mut line).trim_end().to_owned());
                used = 0;
                if c == ' ' {
                    continue;
                }
            }
            line.push(c);
            used += w;
        }
        lines.push(line.trim_end().to_owned());
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

/// An ESC/POS byte stream under construction.
struct Stream(Vec<u8>);

impl Stream {
    fn cmd(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.extend_from_slice(bytes);
        self
    }

    /// `ESC a n`: 0 left, 1 centre.
    fn align(&mut self, n: u8) -> &mut Self {
        self.cmd(&[ESC, b'a', n])
    }

    /// `GS ! n`: character size; 0x11 is double width and height.
    fn size(&mut self, n: u8) -> &mut Self {
        self.cmd(&[GS, b'!', n])
    }

    /// `ESC E n`: bold on or off.
    fn bold(&mut self, on: bool) -> &mut Self {
        self.cmd(&[ESC, b'E', u8::from(on)])
    }

    /// One line of text (already short enough), GB18030, then LF.
    fn line(&mut self, text: &str) -> &mut Self {
        let (bytes, _, _) = encoding_rs::GB18030.encode(text);
        self.0.extend_from_slice(&bytes);
        self.0.push(b'\n');
        self
    }

    fn wrapped(&mut self, text: &str, max: usize) -> &mut Self {
        for l in wrap(text, max) {
            self.line(&l);
        }
        self
    }

    fn rule(&mut self) -> &mut Self {
        self.line(&"-".repeat(LINE_COLUMNS))
    }

    /// The printer's native QR code: model 2, module size, error correction M, store, print.
    fn qr(&mut self, data: &str, module: u8) -> Result<&mut Self, PrintError> {
        let store_len = u16::try_from(data.len() + 3).map_err(|_| PrintError::Render("QR data too long".into()))?;
        let [pl, ph] = store_len.to_le_bytes();
        self.cmd(&[GS, b'(', b'k', 4, 0, 49, 65, 50, 0]) // fn 165: model 2
            .cmd(&[GS, b'(', b'k', 3, 0, 49, 67, module]) // fn 167: module size in dots
            .cmd(&[GS, b'(', b'k', 3, 0, 49, 69, 49]) // fn 169: error correction M
            .cmd(&[GS, b'(', b'k', pl, ph, 49, 80, 48]) // fn 180: store
            .cmd(data.as_bytes())
            .cmd(&[GS, b'(', b'k', 3, 0, 49, 81, 48]); // fn 181: print
        Ok(self)
    }
}

/// Dots across the print head of a 58 mm printer at 203 dpi.
pub const DOTS: usize = 384;

/// How the QR code is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum QrMode {
    /// The printer draws it (`GS ( k`, model 2): small, sharp; most 58 mm printers have it.
    #[default]
    Native,
    /// A bitmap (`GS v 0`), for printers without a QR command.
    Raster,
}

/// A QR code as a `GS v 0` raster image the width of the paper, the code centred with its
/// quiet zone, `module` dots a module.
fn raster(qr: &QrMatrix, module: usize) -> Vec<u8> {
    let side = (qr.width + 8) * module;
    let row_bytes = DOTS / 8;
    let left = (DOTS.saturating_sub(side)) / 2;
    let mut out = Vec::with_capacity(8 + row_bytes * side);
    let [xl, xh] = u16::try_from(row_bytes).unwrap_or(48).to_le_bytes();
    let [yl, yh] = u16::try_from(side).unwrap_or(0).to_le_bytes();
    out.extend_from_slice(&[GS, b'v', b'0', 0, xl, xh, yl, yh]);
    for y in 0..side {
        let mut row = vec![0u8; row_bytes];
        for x in 0..side {
            let (mx, my) = (x / module, y / module);
            let dark = (4..qr.width + 4).contains(&mx) && (4..qr.width + 4).contains(&my) && qr.is_dark(mx - 4, my - 4);
            if dark {
                let dot = left + x;
                row[dot / 8] |= 0x80 >> (dot % 8);
            }
        }
        out.extend_from_slice(&row);
    }
    out
}

/// The notice as ESC/POS bytes for a 58 mm printer, the QR code drawn by the printer.
pub fn render(sheet: &NoticeSheet) -> Result<Vec<u8>, PrintError> {
    render_with(sheet, QrMode::Native)
}

/// The notice as ESC/POS bytes for a 58 mm printer.
pub fn render_with(sheet: &NoticeSheet, qr_mode: QrMode) -> Result<Vec<u8>, PrintError> {
    // The module size that keeps the code within about 250 of the 384 dots.
    let matrix = QrMatrix::encode(&sheet.status_url)?;
    let modules = matrix.width + 8;
    let module = u8::try_from((250 / modules).clamp(3, 8)).unwrap_or(4);

    let mut s = Stream(Vec::with_capacity(2048));
    s.cmd(&INIT).cmd(&CHINESE_ON);
    s.align(1).size(0x11).bold(true).wrapped(TITLE, LINE_COLUMNS / 2);
    s.size(0).bold(false).wrapped(&sheet.number, LINE_COLUMNS);
    s.align(0).rule();
    for (label, value) in sheet.fields() {
        let one_line = format!("{label}：{value}");
        if one_line.chars().map(columns).sum::<usize>() <= LINE_COLUMNS {
            s.line(&one_line);
        } else {
            s.bold(true).line(&format!("{label}：")).bold(false);
            s.wrapped(&value, LINE_COLUMNS);
        }
    }
    s.rule().wrapped(WARNING, LINE_COLUMNS);
    s.wrapped(&sheet.officer_line(), LINE_COLUMNS).wrapped(&sheet.issued_line(), LINE_COLUMNS);
    s.line(RECEIPT).line("").line("");
    s.rule().align(1).wrapped(QR_CAPTION, LINE_COLUMNS);
    match qr_mode {
        QrMode::Native => {
            s.qr(&sheet.status_url, module)?;
        }
        QrMode::Raster => {
            s.cmd(&raster(&matrix, usize::from(module)));
        }
    }
    s.line("").align(0);
    // Feed past the tear bar, then cut.
    s.cmd(&[ESC, b'd', 4]).cmd(&CUT);
    Ok(s.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_by_columns() {
        assert_eq!(wrap("一二三四五", 4), vec!["一二", "三四", "五"]);
        assert_eq!(wrap("ab一cd", 4), vec!["ab一", "cd"]);
        assert_eq!(wrap("", 32), vec![""]);
        for l in wrap(&"《潍坊市城市市容和环境卫生管理办法》第十六条 Article 16".repeat(3), 32) {
            assert!(l.chars().map(columns).sum::<usize>() <= 32, "{l}");
        }
    }
}
