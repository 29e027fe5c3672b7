//! Turning a camera file into what gridwork keeps: capture time and GPS read from EXIF,
//! orientation applied, long edge at most 2048 px, re-encoded as JPEG unless keeping the
//! original (stripped of metadata) is smaller, all EXIF gone, a small thumbnail beside it.

use super::PhotoFiles;
use super::strip::{self, Format};
use crate::error::{Error, Result};
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
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

fn encode_jpeg(img: &DynamicImage, quality: u8) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(&img.to_rgb8())
        .map_err(|_| photo_err("photo_encode", "照片编码失败"))?;
    Ok(out)
}

fn fit(img: &DynamicImage, long_edge: u32) -> Option<DynamicImage> {
    (img.width().max(img.height()) > long_edge).then(|| img.resize(long_edge, long_edge, FilterType::Triangle))
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
    let mut reader = ImageReader::with_format(Cursor::new(original), image_format);
    reader.limits(limits);
    let mut img = reader.decode().map_err(|_| corrupt())?;
    if let Some(o) = image::metadata::Orientation::from_exif(facts.orientation) {
        img.apply_orientation(o);
    }
    let resized = fit(&img, opts.max_long_edge);
    let shown = resized.as_ref().unwrap_or(&img);

    // Candidates: the re-encoded JPEG, and the original without metadata when it needs
    // neither downscaling nor rotation. Keep the smaller; never grow the photo.
    let upright_and_small = resized.is_none() && facts.orientation == 1;
    // A file cut short (a camera that stopped writing) decodes leniently but would be
    // refused by the server as it is: re-encode what decoded instead.
    let stripped =
        if upright_and_small { strip::strip(format, original) } else { None }.filter(|s| crate::media::is_whole(format, s));
    let mut encoded = encode_jpeg(shown, opts.jpeg_quality)?;
    let mut quality = opts.jpeg_quality;
    // A photo that must be re-encoded (downscaled or rotated) but came in heavily
    // compressed: step the quality down until it is no bigger than what came in.
    while stripped.is_none() && encoded.len() > original.len() && quality > 15 {
        quality = quality.saturating_sub(10).max(15);
        encoded = encode_jpeg(shown, quality)?;
    }
    let (bytes, mime, kept_original) = match stripped {
        Some(s) if s.len() <= encoded.len() => (s, format.mime(), true),
        _ => (encoded, "image/jpeg", false),
    };
    let thumb = encode_jpeg(fit(shown, opts.thumb_long_edge).as_ref().unwrap_or(shown), 75)?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    store.put(&sha256, &bytes, Some(&thumb))?;
    Ok(Ingested {
        sha256,
        bytes: bytes.len() as u64,
        mime,
        width: shown.width(),
        height: shown.height(),
        taken_at: facts.taken_at,
        lat: facts.lat,
        lon: facts.lon,
        kept_original,
        input_bytes: original.len() as u64,
    })
}
