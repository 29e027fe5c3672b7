//! Photo file types, recognised from their first bytes (never from a name), and photo names
//! (SHA-256, lowercase hex). Shared by the device (ingest, downloads) and the server
//! (upload checks, record validation).

/// Image formats gridwork keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    WebP,
}

impl Format {
    /// The format from the first bytes, never from a file name.
    pub fn sniff(bytes: &[u8]) -> Option<Format> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Format::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Format::Png)
        } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Format::WebP)
        } else {
            None
        }
    }

    /// Whether a PNG or WebP of `len` bytes starting with `head` and ending with `tail` (its
    /// first and last 16 bytes, or fewer) ends where its own framing says: a PNG with its
    /// IEND chunk, a WebP at the length its RIFF header gives. A JPEG's end is found by
    /// walking its segments ([`JpegEnd`]): this answers false for it. A camera or a copy
    /// that stopped early fails the check, even when a lenient decoder would still show
    /// most of the picture.
    pub fn ends_whole(self, head: &[u8], tail: &[u8], len: u64) -> bool {
        match self {
            Format::Png => tail.ends_with(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82]),
            Format::WebP => head.len() >= 8 && u64::from(u32::from_le_bytes([head[4], head[5], head[6], head[7]])) + 8 == len,
            Format::Jpeg => false,
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::WebP => "image/webp",
        }
    }
}

/// Whether `bytes`, a whole file of `format`, ends where its framing says (see
/// [`Format::ends_whole`] and [`JpegEnd`]).
pub fn is_whole(format: Format, bytes: &[u8]) -> bool {
    match format {
        Format::Jpeg => {
            let mut end = JpegEnd::default();
            end.feed(bytes);
            end.found()
        }
        other => {
            let (head, tail) = (&bytes[..bytes.len().min(16)], &bytes[bytes.len().saturating_sub(16)..]);
            other.ends_whole(head, tail, bytes.len() as u64)
        }
    }
}

/// Finds a JPEG's end-of-image marker by walking its segments, fed a chunk at a time (so a
/// file is checked while it is hashed). Segment payloads are skipped by their lengths, so
/// an EOI inside an embedded EXIF thumbnail does not count; in entropy-coded data `FF` is
/// followed by `00` (stuffing) or a restart marker, anything else is the next marker.
/// Bytes after the EOI (vendor trailers) are ignored.
#[derive(Clone, Debug)]
pub struct JpegEnd {
    state: JpegState,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JpegState {
    /// How many bytes of the SOI marker have been seen.
    Start(u8),
    /// At a segment boundary: expecting `FF`.
    Boundary,
    /// After `FF` at a boundary (more `FF`s are fill).
    Marker,
    /// The first length byte of a segment; whether it is a start of scan.
    Len1(bool),
    Len2(bool, u8),
    /// Payload bytes left to skip; whether entropy-coded data follows.
    Skip(u32, bool),
    Entropy,
    EntropyFf,
    Done,
    Bad,
}

impl Default for JpegEnd {
    fn default() -> Self {
        JpegEnd { state: JpegState::Start(0) }
    }
}

impl JpegEnd {
    pub fn feed(&mut self, mut bytes: &[u8]) {
        use JpegState as S;
        while let Some((&b, rest)) = bytes.split_first() {
            self.state = match self.state {
                S::Done | S::Bad => return,
                S::Start(0) if b == 0xFF => S::Start(1),
                S::Start(1) if b == 0xD8 => S::Boundary,
                S::Start(_) => S::Bad,
                S::Boundary if b == 0xFF => S::Marker,
                S::Boundary => S::Bad,
                S::Marker => match b {
                    0xFF => S::Marker,
                    0xD9 => S::Done,
                    // Standalone markers: TEM, RSTn.
                    0x01 | 0xD0..=0xD7 => S::Boundary,
                    0x00 | 0xD8 => S::Bad,
                    m => S::Len1(m == 0xDA),
                },
                S::Len1(sos) => S::Len2(sos, b),
                S::Len2(sos, hi) => {
                    let len = u16::from_be_bytes([hi, b]);
                    match len {
                        0 | 1 => S::Bad,
                        2 if sos => S::Entropy,
                        2 => S::Boundary,
                        n => S::Skip(u32::from(n) - 2, sos),
                    }
                }
                S::Skip(n, sos) => {
                    // Skip as much of the payload as this chunk holds at once.
                    let take = (n as usize).min(bytes.len());
                    bytes = &bytes[take..];
                    let left = n - take as u32;
                    self.state = match (left, sos) {
                        (0, true) => S::Entropy,
                        (0, false) => S::Boundary,
                        (l, _) => S::Skip(l, sos),
                    };
                    continue;
                }
                S::Entropy => {
                    // Scan to the next FF at once.
                    match bytes.iter().position(|&x| x == 0xFF) {
                        Some(i) => {
                            bytes = &bytes[i + 1..];
                            self.state = S::EntropyFf;
                        }
                        None => bytes = &[],
                    }
                    continue;
                }
                S::EntropyFf => match b {
                    0x00 | 0xD0..=0xD7 => S::Entropy,
                    0xFF => S::EntropyFf,
                    0xD9 => S::Done,
                    m => S::Len1(m == 0xDA),
                },
            };
            bytes = rest;
        }
    }

    /// The end-of-image marker was reached.
    pub fn found(&self) -> bool {
        self.state == JpegState::Done
    }
}

/// A photo's name: the SHA-256 of its file, 64 lowercase hex digits.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_cut_short_is_not_whole() {
        let iend = [0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82];
        let png_head = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert!(Format::Png.ends_whole(png_head, &iend, 100));
        assert!(!Format::Png.ends_whole(png_head, &iend[..8], 100));
        assert!(!Format::Png.ends_whole(png_head, b"IHDR", 33));
        let mut webp = b"RIFF".to_vec();
        webp.extend_from_slice(&92u32.to_le_bytes());
        webp.extend_from_slice(b"WEBPVP8 ");
        assert!(Format::WebP.ends_whole(&webp, b"", 100));
        assert!(!Format::WebP.ends_whole(&webp, b"", 99));
        assert!(!Format::WebP.ends_whole(&webp[..6], b"", 100));
    }

    fn jpeg_end(chunks: &[&[u8]]) -> bool {
        let mut j = JpegEnd::default();
        for c in chunks {
            j.feed(c);
        }
        j.found()
    }

    #[test]
    fn a_jpeg_ends_at_its_eoi_found_by_walking_its_segments() {
        // SOI, APP1 holding a whole thumbnail JPEG (its own EOI), DQT, SOS, entropy data
        // with a stuffed FF00 and a restart marker, EOI, then a vendor trailer.
        let mut f = vec![0xFF, 0xD8];
        let thumb = [0xFF, 0xD8, 0xFF, 0xD9];
        f.extend_from_slice(&[0xFF, 0xE1, 0, (2 + thumb.len()) as u8]);
        f.extend_from_slice(&thumb);
        f.extend_from_slice(&[0xFF, 0xDB, 0, 4, 1, 2]);
        f.extend_from_slice(&[0xFF, 0xDA, 0, 3, 9]);
        f.extend_from_slice(&[0x11, 0xFF, 0x00, 0x22, 0xFF, 0xD3, 0x33]);
        let body = f.len();
        f.extend_from_slice(&[0xFF, 0xD9]);
        f.extend_from_slice(b"SEFT vendor trailer \xFF\xD9");
        assert!(jpeg_end(&[&f]));
        // Any split into chunks finds the same.
        for cut in 0..f.len() {
            assert!(jpeg_end(&[&f[..cut], &f[cut..]]), "cut at {cut}");
        }
        // Cut anywhere before the EOI: not whole, even though the thumbnail's EOI is in it.
        for cut in 0..body + 1 {
            assert!(!jpeg_end(&[&f[..cut]]), "cut at {cut}");
        }
        // A progressive JPEG: a second scan after a DHT.
        let mut p = f[..body].to_vec();
        p.extend_from_slice(&[0xFF, 0xC4, 0, 3, 7, 0xFF, 0xDA, 0, 2, 0x44, 0xFF, 0xD9]);
        assert!(jpeg_end(&[&p]));
        assert!(!jpeg_end(&[&p[..p.len() - 1]]));
        assert!(!jpeg_end(&[b"not a jpeg"]));
    }

    #[test]
    fn photo_names_are_lowercase_sha256_hex() {
        assert!(is_sha256_hex(&"ab".repeat(32)));
        for bad in ["", "ab", &"AB".repeat(32), &"ag".repeat(32), &"a".repeat(65)] {
            assert!(!is_sha256_hex(bad), "{bad}");
        }
    }

    #[test]
    fn formats_are_sniffed_from_their_first_bytes() {
        assert_eq!(Format::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(Format::Jpeg));
        assert_eq!(Format::sniff(b"\x89PNG\r\n\x1a\n...."), Some(Format::Png));
        assert_eq!(Format::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Format::WebP));
        assert_eq!(Format::sniff(b"GIF89a"), None);
    }
}
