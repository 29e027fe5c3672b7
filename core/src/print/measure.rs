//! Glyph advances of the caller's font, to break Chinese text into lines by its printed
//! width (between any two characters, as Chinese typesetting does; closing punctuation
//! stays at the end of its line). Shared by the notice and the bulletin PDFs.

use super::{FontSource, PrintError};
use skrifa::prelude::{FontRef, LocationRef, MetadataProvider, Size};

/// Punctuation that never starts a line.
const CLOSING: &str = "，。、；：？！）》」』〕】”’%";

pub(super) struct Measure<'a> {
    font: FontRef<'a>,
}

impl<'a> Measure<'a> {
    /// The font of `source`, which must have glyphs for every character of `probe`.
    pub(super) fn new(source: &'a FontSource, probe: &str) -> Result<Self, PrintError> {
        let font = FontRef::from_index(&source.data, source.index).map_err(|_| PrintError::BadFont)?;
        let charmap = font.charmap();
        if !probe.chars().all(|c| charmap.map(c).is_some()) {
            return Err(PrintError::FontLacksCjk);
        }
        Ok(Measure { font })
    }

    /// Width of `text` at `size` points.
    pub(super) fn width(&self, text: &str, size: f32) -> f32 {
        let charmap = self.font.charmap();
        let metrics = self.font.glyph_metrics(Size::new(size), LocationRef::default());
        text.chars().map(|c| metrics.advance_width(charmap.map(c).unwrap_or_default()).unwrap_or(size)).sum()
    }

    /// Lines of at most `max` points, one paragraph per `\n`.
    pub(super) fn wrap(&self, text: &str, size: f32, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for para in text.split('\n') {
            let mut line = String::new();
            let mut used = 0.0;
            for c in para.chars().filter(|c| !c.is_control()) {
                let w = self.width(c.encode_utf8(&mut [0; 4]), size);
                let closing = CLOSING.contains(c);
                if used + w > max && !line.is_empty() && !(closing && used + w <= max + size) {
                    lines.push(std::mem::take(&mut line).trim_end().to_owned());
                    used = 0.0;
                    if c == ' ' {
                        continue;
                    }
                }
                line.push(c);
                used += w;
            }
            lines.push(line.trim_end().to_owned());
        }
        lines
    }
}
