//! The QR code of a notice's status URL, as a module matrix (for the PDF) and as the
//! payload of the printer's native QR command (ESC/POS `GS ( k`).

use super::PrintError;
use qrcode::{Color, EcLevel, QrCode};

/// Dark modules of a QR code, row by row, without the quiet zone.
pub struct QrMatrix {
    pub width: usize,
    dark: Vec<bool>,
}

impl QrMatrix {
    /// Error correction M: survives a crease or a smudge on thermal paper.
    pub fn encode(text: &str) -> Result<Self, PrintError> {
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
            .map_err(|e| PrintError::Render(format!("QR: {e}")))?;
        let width = code.width();
        let dark = code.to_colors().into_iter().map(|c| c == Color::Dark).collect();
        Ok(QrMatrix { width, dark })
    }

    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        self.dark[y * self.width + x]
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_status_url_fits_a_small_code() {
        let m =
            super::QrMatrix::encode("https://gridwork.example.cn/public/notices/019abcde-0000-7000-8000-000000000002").unwrap();
        // Version 5 at most (37 modules): large modules on a 58 mm roll.
        assert!(m.width <= 37, "{}", m.width);
        // The finder pattern's corner.
        assert!(m.is_dark(0, 0) && m.is_dark(6, 6) && !m.is_dark(7, 7));
    }
}
