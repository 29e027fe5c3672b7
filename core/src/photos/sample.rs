//! Photo-like sample images with EXIF, for tests and benchmarks (no camera here).

use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};
use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};
use std::io::Cursor;

/// EXIF facts to put into a sample.
#[derive(Clone, Debug)]
pub struct SampleExif {
    /// `YYYY:MM:DD HH:MM:SS`, local time as cameras write it.
    pub taken: &'static str,
    pub lat: f64,
    pub lon: f64,
    pub orientation: u16,
}

impl Default for SampleExif {
    fn default() -> Self {
        // 潍坊 风筝广场, a November morning.
        SampleExif { taken: "2026:11:20 09:30:15", lat: 36.7069, lon: 119.1617, orientation: 1 }
    }
}

/// Pixels with gradients and noise, so that JPEG sizes resemble real photos.
pub fn sample_image(width: u32, height: u32, seed: u32) -> RgbImage {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    RgbImage::from_fn(width, height, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let n = (state & 0x3f) as i32 - 32;
        let r = ((x * 255 / width.max(1)) as i32 + n).clamp(0, 255) as u8;
        let g = ((y * 255 / height.max(1)) as i32 + n).clamp(0, 255) as u8;
        let b = (((x + y) * 127 / (width + height).max(1)) as i32 + 64 + n).clamp(0, 255) as u8;
        Rgb([r, g, b])
    })
}

fn degrees(v: f64) -> Vec<Rational> {
    let v = v.abs();
    let d = v.floor();
    let m = ((v - d) * 60.0).floor();
    let s = ((v - d) * 60.0 - m) * 60.0;
    vec![Rational::from((d as u32, 1)), Rational::from((m as u32, 1)), Rational::from(((s * 10000.0).round() as u32, 10000))]
}

/// The EXIF block (TIFF bytes) of `e`.
pub fn exif_block(e: &SampleExif) -> Vec<u8> {
    let fields = [
        Field { tag: Tag::DateTimeOriginal, ifd_num: In::PRIMARY, value: Value::Ascii(vec![e.taken.as_bytes().to_vec()]) },
        Field { tag: Tag::Orientation, ifd_num: In::PRIMARY, value: Value::Short(vec![e.orientation]) },
        Field {
            tag: Tag::GPSLatitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![if e.lat < 0.0 { b"S".to_vec() } else { b"N".to_vec() }]),
        },
        Field { tag: Tag::GPSLatitude, ifd_num: In::PRIMARY, value: Value::Rational(degrees(e.lat)) },
        Field {
            tag: Tag::GPSLongitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![if e.lon < 0.0 { b"W".to_vec() } else { b"E".to_vec() }]),
        },
        Field { tag: Tag::GPSLongitude, ifd_num: In::PRIMARY, value: Value::Rational(degrees(e.lon)) },
        Field { tag: Tag::Make, ifd_num: In::PRIMARY, value: Value::Ascii(vec![b"gridwork-sample".to_vec()]) },
    ];
    let mut w = Writer::new();
    for f in &fields {
        w.push_field(f);
    }
    let mut out = Cursor::new(Vec::new());
    w.write(&mut out, false).expect("EXIF of a sample");
    out.into_inner()
}

/// A JPEG of `width`×`height` at `quality`, with an EXIF APP1 segment when `exif` is given.
pub fn sample_jpeg(width: u32, height: u32, quality: u8, seed: u32, exif: Option<&SampleExif>) -> Vec<u8> {
    let img = sample_image(width, height, seed);
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, quality).encode_image(&img).expect("encode a sample");
    match exif {
        None => jpeg,
        Some(e) => {
            let tiff = exif_block(e);
            let mut out = Vec::with_capacity(jpeg.len() + tiff.len() + 10);
            out.extend_from_slice(&jpeg[..2]);
            out.extend_from_slice(&[0xFF, 0xE1]);
            out.extend_from_slice(&((tiff.len() + 8) as u16).to_be_bytes());
            out.extend_from_slice(b"Exif\0\0");
            out.extend_from_slice(&tiff);
            out.extend_from_slice(&jpeg[2..]);
            out
        }
    }
}

/// A JPEG of full-range noise: the largest a photo of that size gets (for upload tests).
pub fn noise_jpeg(width: u32, height: u32, quality: u8, seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    let img = RgbImage::from_fn(width, height, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let [r, g, b, _] = state.to_le_bytes();
        Rgb([r, g, b])
    });
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, quality).encode_image(&img).expect("encode a sample");
    jpeg
}

/// A PNG of flat colour blocks (like a screenshot), where PNG beats JPEG.
pub fn sample_png(width: u32, height: u32) -> Vec<u8> {
    let img =
        RgbImage::from_fn(
            width,
            height,
            |x, y| if (x / 64 + y / 64) % 2 == 0 { Rgb([230, 230, 230]) } else { Rgb([40, 90, 160]) },
        );
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("encode a sample");
    out.into_inner()
}
