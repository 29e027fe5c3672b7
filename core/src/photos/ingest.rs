//! Turning a camera file into what gridwork keeps: capture time and GPS read from EXIF,
//! orientation applied, long edge at most 2048 px, re-encoded as JPEG unless keeping the
//! original (stripped of metadata) is smaller, all EXIF gone, a small thumbnail beside it.
//!
//! Speed (benches/photos.rs): a JPEG at least twice the bound is decoded at a reduced DCT
//! scale (the smallest of 1/2, 1/4, 1/8 still covering the bound, then resized to it
//! exactly, so the result is the same size as a full decode would give); the resize is
//! SIMD (`fast_image_resize`, the same triangle filter as before), done before the photo
//! is turned upright; the encoder is `jpeg-encoder` (4:4:4 as before, Huffman tables fitted
//! to the photo: a few per cent smaller); the thumbnail comes from the downscaled photo.

use super::PhotoFiles;
use super::strip::{self, Format};
use crate::error::{Error, Result};
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use image::{DynamicImage, ImageReader, Limits};
use sha2::{Digest, Sha256};
use std::io::Cursor;
use std::path::Path;

#[derive(Clone, Debug)]
pub struct IngestOptions {
    pub max_long_edge: u32,
    pub jpeg_quality: u8,
    pub thumb_long_edge: u32,
    /// Input files above this are refused before reading them.
    pub max_input_bytes: u64,
    /// Images above this many pixels are refused (decompression bombs).
    pub max_pixels: u64,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            max_long_edge: 2048,
            jpeg_quality: 85,
            thumb_long_edge: 320,
            max_input_bytes: 64 * 1024 * 1024,
            max_pixels: 100_000_000,
        }
    }
}

/// What ingest produced and stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Ingested {
    pub sha256: String,
    pub bytes: u64,
    pub mime: &'static str,
    pub width: u32,
    pub height: u32,
    pub taken_at: Option<DateTime<Utc>>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// The original bytes (without metadata) were kept: re-encoding would not be smaller.
    pub kept_original: bool,
    pub input_bytes: u64,
}

fn photo_err(code: &'static str, message: &str) -> Error {
    Error::Photo { code, message: message.to_owned() }
}

/// Metadata read from EXIF.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExifFacts {
    pub taken_at: Option<DateTime<Utc>>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// EXIF orientation 1..=8; 1 (or none) is upright.
    pub orientation: u8,
}

fn rational_degrees(f: &exif::Field) -> Option<f64> {
    match &f.value {
        exif::Value::Rational(v) if v.len() == 3 => {
            let d = v[0].to_f64() + v[1].to_f64() / 60.0 + v[2].to_f64() / 3600.0;
            d.is_finite().then_some(d)
        }
        _ => None,
    }
}

/// Capture time, GPS position and orientation from the file's EXIF, if it has any.
/// A capture time without a zone is taken as China Standard Time (UTC+8).
pub fn read_exif(bytes: &[u8]) -> ExifFacts {
    let Ok(exif) = exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) else {
        return ExifFacts { orientation: 1, ..Default::default() };
    };
    let field = |tag| exif.get_field(tag, exif::In::PRIMARY);
    let taken_at = field(exif::Tag::DateTimeOriginal).or_else(|| field(exif::Tag::DateTime)).and_then(|f| {
        let exif::Value::Ascii(v) = &f.value else { return None };
        let mut dt = exif::DateTime::from_ascii(v.first()?).ok()?;
        if let Some(off) = field(exif::Tag::OffsetTimeOriginal)
            && let exif::Value::Ascii(o) = &off.value
            && let Some(o) = o.first()
        {
            let _ = dt.parse_offset(o);
        }
        let offset = FixedOffset::east_opt(dt.offset.map(i32::from).unwrap_or(8 * 60) * 60)?;
        let naive = NaiveDate::from_ymd_opt(dt.year.into(), dt.month.into(), dt.day.into())?.and_hms_opt(
            dt.hour.into(),
            dt.minute.into(),
            dt.second.into(),
        )?;
        offset.from_local_datetime(&naive).single().map(|t| t.with_timezone(&Utc))
    });
    let signed = |value: Option<f64>, reference: exif::Tag, negative: u8| -> Option<f64> {
        let v = value?;
        let r = field(reference).and_then(|f| match &f.value {
            exif::Value::Ascii(a) => a.first().and_then(|s| s.first().copied()),
            _ => None,
        });
        Some(if r == Some(negative) { -v } else { v })
    };
    let lat = signed(field(exif::Tag::GPSLatitude).and_then(rational_degrees), exif::Tag::GPSLatitudeRef, b'S')
        .filter(|v| (-90.0..=90.0).contains(v));
    let lon = signed(field(exif::Tag::GPSLongitude).and_then(rational_degrees), exif::Tag::GPSLongitudeRef, b'W')
        .filter(|v| (-180.0..=180.0).contains(v));
    let orientation =
        field(exif::Tag::Orientation).and_then(|f| f.value.get_uint(0)).filter(|o| (1..=8).contains(o)).unwrap_or(1) as u8;
    ExifFacts { taken_at, lat, lon, orientation }
}

/// Pixels as the encoder and the resizer take them: 8-bit RGB, row by row.
struct Rgb {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Rgb {
    fn from_image(img: DynamicImage) -> Rgb {
        let rgb = img.into_rgb8();
        Rgb { width: rgb.width(), height: rgb.height(), pixels: rgb.into_raw() }
    }

    fn into_image(self) -> Option<DynamicImage> {
        image::RgbImage::from_raw(self.width, self.height, self.pixels).map(DynamicImage::ImageRgb8)
    }
}

/// JPEG at `quality`, 4:4:4 as image's encoder wrote it, with Huffman tables fitted to the
/// photo (a few per cent smaller at the same quality).
fn encode_jpeg(img: &Rgb, quality: u8) -> Result<Vec<u8>> {
    let fail = |_| photo_err("photo_encode", "照片编码失败");
    let (w, h) = (u16::try_from(img.width).map_err(fail)?, u16::try_from(img.height).map_err(fail)?);
    let mut out = Vec::with_capacity(img.pixels.len() / 8);
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, quality);
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::F_1_1);
    encoder.set_optimized_huffman_tables(true);
    encoder.encode(&img.pixels, w, h, jpeg_encoder::ColorType::Rgb).map_err(|_| photo_err("photo_encode", "照片编码失败"))?;
    Ok(out)
}

/// The size of a `width`×`height` image fitted into `long_edge`×`long_edge`, aspect kept
/// (the rounding of image's `resize`).
fn fitted(width: u32, height: u32, long_edge: u32) -> (u32, u32) {
    let ratio = f64::min(f64::from(long_edge) / f64::from(width), f64::from(long_edge) / f64::from(height));
    let side = |v: u32| ((f64::from(v) * ratio).round() as u32).max(1);
    (side(width), side(height))
}

/// `img` fitted into `long_edge` (triangle filter, as image's `resize` with
/// `FilterType::Triangle`), or `None` when it already fits.
fn fit(img: &Rgb, long_edge: u32) -> Result<Option<Rgb>> {
    if img.width.max(img.height) <= long_edge {
        return Ok(None);
    }
    resize(img, fitted(img.width, img.height, long_edge)).map(Some)
}

/// `img` resized to `w`×`h` (triangle filter).
fn resize(img: &Rgb, (w, h): (u32, u32)) -> Result<Rgb> {
    let fail = |_| photo_err("photo_encode", "照片缩放失败");
    let src = fast_image_resize::images::ImageRef::new(img.width, img.height, &img.pixels, fast_image_resize::PixelType::U8x3)
        .map_err(fail)?;
    let mut dst = fast_image_resize::images::Image::new(w, h, fast_image_resize::PixelType::U8x3);
    let options = fast_image_resize::ResizeOptions::new()
        .resize_alg(fast_image_resize::ResizeAlg::Convolution(fast_image_resize::FilterType::Bilinear));
    fast_image_resize::Resizer::new().resize(&src, &mut dst, &options).map_err(|_| photo_err("photo_encode", "照片缩放失败"))?;
    Ok(Rgb { width: w, height: h, pixels: dst.into_vec() })
}

/// A JPEG at least twice too large decoded at a reduced DCT scale (1/2, 1/4 or 1/8: the
/// smallest that still covers `long_edge`): the inverse transform, colour conversion and
/// memory only for the pixels kept (every byte is still entropy-decoded); `None`
/// when no reduction applies or this decoder cannot read the file (the full decode then
/// runs as before, so what is accepted does not change).
fn decode_jpeg_reduced(original: &[u8], width: u32, height: u32, long_edge: u32, max_alloc: u64) -> Option<Rgb> {
    if width.max(height) < long_edge.saturating_mul(2) {
        return None;
    }
    let (tw, th) = fitted(width, height, long_edge);
    let mut decoder = jpeg_decoder::Decoder::new(original);
    decoder.set_max_decoding_buffer_size(usize::try_from(max_alloc).unwrap_or(usize::MAX));
    let (w, h) = decoder.scale(u16::try_from(tw).ok()?, u16::try_from(th).ok()?).ok()?;
    let (w, h) = (u32::from(w), u32::from(h));
    // No reduction, or one whose rounding fell a pixel short of the bound.
    if w.max(h) >= width.max(height) || w.max(h) < long_edge {
        return None;
    }
    let info = decoder.info()?;
    let pixels = decoder.decode().ok()?;
    let pixels = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => pixels,
        jpeg_decoder::PixelFormat::L8 => pixels.iter().flat_map(|&l| [l, l, l]).collect(),
        // CMYK and 16-bit: rare in photos; image's decoder handles them.
        _ => return None,
    };
    (pixels.len() as u64 == u64::from(w) * u64::from(h) * 3).then_some(Rgb { width: w, height: h, pixels })
}

/// Read `input`, process it and store the result (and its thumbnail) in `store`.
pub fn ingest(input: &Path, store: &PhotoFiles, opts: &IngestOptions) -> Result<Ingested> {
    let io = |e: std::io::Error| Error::Io(format!("reading the photo: {}", e.kind()));
    let size = std::fs::metadata(input).map_err(io)?.len();
    if size > opts.max_input_bytes {
        return Err(photo_err("photo_too_large", &format!("照片文件超过{}MB", opts.max_input_bytes / (1024 * 1024))));
    }
    let original = std::fs::read(input).map_err(io)?;
    process(&original, store, opts)
}

/// [`ingest`] on bytes already in memory.
pub fn process(original: &[u8], store: &PhotoFiles, opts: &IngestOptions) -> Result<Ingested> {
    let format = Format::sniff(original)
        .ok_or_else(|| photo_err("photo_unsupported", "只支持JPEG、PNG或WebP格式的照片（HEIC请先转换）"))?;
    let facts = read_exif(original);
    let image_format = match format {
        Format::Jpeg => image::ImageFormat::Jpeg,
        Format::Png => image::ImageFormat::Png,
        Format::WebP => image::ImageFormat::WebP,
    };
    let mut limits = Limits::default();
    limits.max_image_width = Some(30_000);
    limits.max_image_height = Some(30_000);
    limits.max_alloc = Some(opts.max_pixels * 4);
    let corrupt = || photo_err("photo_corrupt", "照片文件已损坏或无法识别");
    let mut reader = ImageReader::with_format(Cursor::new(original), image_format);
    reader.limits(limits.clone());
    let (w, h) = reader.into_dimensions().map_err(|_| corrupt())?;
    if u64::from(w) * u64::from(h) > opts.max_pixels {
        return Err(photo_err("photo_too_large", "照片像素过多"));
    }
    let reduced = match format {
        Format::Jpeg => decode_jpeg_reduced(original, w, h, opts.max_long_edge, opts.max_pixels * 4),
        _ => None,
    };
    let full = match reduced {
        Some(r) => r,
        None => {
            let mut reader = ImageReader::with_format(Cursor::new(original), image_format);
            reader.limits(limits);
            Rgb::from_image(reader.decode().map_err(|_| corrupt())?)
        }
    };
    // Downscaled before it is turned upright: fewer pixels to move, and the same result
    // (the bound is a square, so a quarter turn fits the same way).
    // The size a full decode would be fitted to, whatever scale the decode was at.
    let target = fitted(w, h, opts.max_long_edge);
    let mut shown =
        if w.max(h) > opts.max_long_edge && (full.width, full.height) != target { resize(&full, target)? } else { full };
    if let Some(o) = image::metadata::Orientation::from_exif(facts.orientation)
        && o != image::metadata::Orientation::NoTransforms
    {
        let mut img = shown.into_image().ok_or_else(corrupt)?;
        img.apply_orientation(o);
        shown = Rgb::from_image(img);
    }
    let downscaled = w.max(h) > opts.max_long_edge;

    // Candidates: the re-encoded JPEG, and the original without metadata when it needs
    // neither downscaling nor rotation. Keep the smaller; never grow the photo.
    let upright_and_small = !downscaled && facts.orientation == 1;
    // A file cut short (a camera that stopped writing) decodes leniently but would be
    // refused by the server as it is: re-encode what decoded instead.
    let stripped =
        if upright_and_small { strip::strip(format, original) } else { None }.filter(|s| crate::media::is_whole(format, s));
    let mut encoded = encode_jpeg(&shown, opts.jpeg_quality)?;
    let mut quality = opts.jpeg_quality;
    // A photo that must be re-encoded (downscaled or rotated) but came in heavily
    // compressed: step the quality down until it is no bigger than what came in.
    while stripped.is_none() && encoded.len() > original.len() && quality > 15 {
        quality = quality.saturating_sub(10).max(15);
        encoded = encode_jpeg(&shown, quality)?;
    }
    let (bytes, mime, kept_original) = match stripped {
        Some(s) if s.len() <= encoded.len() => (s, format.mime(), true),
        _ => (encoded, "image/jpeg", false),
    };
    // The thumbnail from the downscaled photo, not from the camera's pixels.
    let thumb = match fit(&shown, opts.thumb_long_edge)? {
        Some(t) => encode_jpeg(&t, 75)?,
        None => encode_jpeg(&shown, 75)?,
    };
    let sha256 = hex::encode(Sha256::digest(&bytes));
    store.put(&sha256, &bytes, Some(&thumb))?;
    Ok(Ingested {
        sha256,
        bytes: bytes.len() as u64,
        mime,
        width: shown.width,
        height: shown.height,
        taken_at: facts.taken_at,
        lat: facts.lat,
        lon: facts.lon,
        kept_original,
        input_bytes: original.len() as u64,
    })
}
