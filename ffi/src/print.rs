//! Printing a notice on patrol, offline: the PDF (A5/A4) for a phone's print dialog or a
//! portable printer, and the ESC/POS bytes the app writes as they are to a 58 mm Bluetooth
//! thermal printer. Both carry a QR code of the notice's public status page.

use crate::client::GridworkClient;
use crate::error::GridworkError;
use crate::types::parse_id;
use gridwork_core::print::escpos::QrMode;
use gridwork_core::print::{self, Paper};

type Result<T> = std::result::Result<T, GridworkError>;

/// The paper a notice's PDF is laid out for.
#[uniffi::remote(Enum)]
pub enum Paper {
    A5,
    A4,
}

/// How a thermal printer gets the QR code: its own QR command (`NATIVE`, most 58 mm
/// printers) or a bitmap (`RASTER`, for printers without one).
#[uniffi::remote(Enum)]
pub enum QrMode {
    Native,
    Raster,
}

#[uniffi::export]
impl GridworkClient {
    /// Notice `id` as a PDF on `paper`. `font_path`: a TrueType/OpenType font or collection
    /// with Chinese glyphs (the system's CJK font, e.g. Android's
    /// `/system/fonts/NotoSansCJK-Regular.ttc` with `font_index` 2 for Simplified Chinese;
    /// 0 for a single-face file), embedded as a subset. Offline. Errors: `NotFound`,
    /// `NoReferenceData`, `Argument` (not a notice, unreadable font, no Chinese glyphs).
    pub fn notice_pdf(&self, id: String, paper: Paper, font_path: String, font_index: i32) -> Result<Vec<u8>> {
        let id = parse_id(&id, "id")?;
        // Signed at the boundary (Kotlin and Swift have no plain unsigned ints); a negative
        // face index is the caller's mistake.
        let font_index = u32::try_from(font_index)
            .map_err(|_| GridworkError::Argument { msg: "字体序号不能为负 (font_index)".into() })?;
        Ok(self.inner.notice_pdf(id, paper, std::path::Path::new(&font_path), font_index)?)
    }

    /// Notice `id` as ESC/POS bytes for a 58 mm (384 dots) thermal printer: GB18030 text in
    /// Chinese mode, the QR code (`qr`), feed and cut. Send them unchanged over the printer's
    /// Bluetooth serial (SPP) or BLE characteristic. Offline.
    pub fn notice_escpos(&self, id: String, qr: QrMode) -> Result<Vec<u8>> {
        Ok(self.inner.notice_escpos(parse_id(&id, "id")?, qr)?)
    }

    /// The public status page the notice's QR code opens (`<server>/public/notices/<id>`),
    /// e.g. to show the code on screen.
    pub fn notice_status_url(&self, id: String) -> Result<String> {
        Ok(print::status_url(self.inner.server_url(), parse_id(&id, "id")?))
    }
}
