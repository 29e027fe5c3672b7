//! Lossless removal of metadata (EXIF, XMP, IPTC, text chunks) from JPEG, PNG and WebP
//! files, for originals that are kept as they are. Image data is copied byte for byte.

pub use crate::media::Format;

/// The file without its metadata, or None if it is not well-formed enough to walk.
pub fn strip(format: Format, bytes: &[u8]) -> Option<Vec<u8>> {
    match format {
        Format::Jpeg => strip_jpeg(bytes),
        Format::Png => strip_png(bytes),
        Format::WebP => strip_webp(bytes),
    }
}

fn strip_jpeg(b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..2]);
    let mut i = 2;
    loop {
        if i + 4 > b.len() || b[i] != 0xFF {
            return None;
        }
        let marker = b[i + 1];
        if marker == 0xFF {
            i += 1; // fill byte
            continue;
        }
        let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
        let end = i + 2 + len;
        if len < 2 || end > b.len() {
            return None;
        }
        // APP1 (EXIF, XMP), APP3..APP13 (IPTC and vendor data), APP15, COM go; APP0 (JFIF),
        // APP2 (ICC colour profile) and APP14 (Adobe colour transform) stay.
        let drop = matches!(marker, 0xE1 | 0xE3..=0xED | 0xEF | 0xFE);
        if !drop {
            out.extend_from_slice(&b[i..end]);
        }
        i = end;
        if marker == 0xDA {
            // Start of scan: the rest is entropy-coded data up to EOI.
            out.extend_from_slice(&b[i..]);
            return Some(out);
        }
    }
}

fn strip_png(b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..8]);
    let mut i = 8;
    while i + 12 <= b.len() {
        let len = u32::from_be_bytes(b[i..i + 4].try_into().ok()?) as usize;
        let end = i.checked_add(12)?.checked_add(len)?;
        if end > b.len() {
            return None;
        }
        let kind = &b[i + 4..i + 8];
        if !matches!(kind, b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" | b"tIME") {
            out.extend_from_slice(&b[i..end]);
        }
        i = end;
        if kind == b"IEND" {
            return Some(out);
        }
    }
    None
}

fn strip_webp(b: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::with_capacity(b.len());
    body.extend_from_slice(b"WEBP");
    let mut i = 12;
    while i + 8 <= b.len() {
        let kind = &b[i..i + 4];
        let len = u32::from_le_bytes(b[i + 4..i + 8].try_into().ok()?) as usize;
        let padded = len + (len & 1);
        let end = (i + 8).checked_add(padded)?.min(b.len());
        if i + 8 + len > b.len() {
            return None;
        }
        match kind {
            b"EXIF" | b"XMP " => {}
            b"VP8X" => {
                let start = body.len();
                body.extend_from_slice(&b[i..end]);
                // Clear the "has EXIF" and "has XMP" flags.
                if len >= 1 {
                    body[start + 8] &= !(0x08 | 0x04);
                }
            }
            _ => body.extend_from_slice(&b[i..end]),
        }
        i = end;
    }
    let mut out = Vec::with_capacity(body.len() + 8);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpeg_app1_and_comments_go_the_image_stays() {
        let mut f = vec![0xFF, 0xD8];
        f.extend_from_slice(&[0xFF, 0xE0, 0, 4, b'J', b'F']); // APP0
        f.extend_from_slice(&[0xFF, 0xE1, 0, 6, b'E', b'x', b'i', b'f']); // APP1
        f.extend_from_slice(&[0xFF, 0xFE, 0, 4, b'h', b'i']); // COM
        f.extend_from_slice(&[0xFF, 0xDA, 0, 2, 1, 2, 3, 0xFF, 0xD9]); // SOS + data + EOI
        let s = strip(Format::Jpeg, &f).unwrap();
        assert_eq!(s, vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 4, b'J', b'F', 0xFF, 0xDA, 0, 2, 1, 2, 3, 0xFF, 0xD9]);
    }

    #[test]
    fn truncated_files_are_refused() {
        assert!(strip(Format::Jpeg, &[0xFF, 0xD8, 0xFF, 0xE1, 0x10]).is_none());
        assert!(strip(Format::Png, b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR").is_none());
    }

    #[test]
    fn sniffing_ignores_names() {
        assert_eq!(Format::sniff(b"\x89PNG\r\n\x1a\n...."), Some(Format::Png));
        assert_eq!(Format::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Format::WebP));
        assert_eq!(Format::sniff(b"\0\0\0\x18ftypheic"), None);
    }
}
