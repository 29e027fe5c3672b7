//! Photo ingest: EXIF into metadata and out of the file, downscale, never bigger.

use gridwork_core::Error;
use gridwork_core::photos::PhotoFiles;
use gridwork_core::photos::ingest::{self, IngestOptions};
use gridwork_core::photos::sample::{SampleExif, sample_jpeg, sample_png};

fn store() -> (tempfile::TempDir, PhotoFiles) {
    let dir = tempfile::tempdir().unwrap();
    let s = PhotoFiles::open(dir.path().join("photos")).unwrap();
    (dir, s)
}

fn stored(store: &PhotoFiles, sha: &str) -> Vec<u8> {
    std::fs::read(store.path(sha)).unwrap()
}

#[test]
fn a_large_camera_photo_is_downscaled_and_loses_its_exif_but_the_record_keeps_it() {
    let (_d, store) = store();
    let input = sample_jpeg(4000, 3000, 92, 1, Some(&SampleExif::default()));
    let got = ingest::process(&input, &store, &IngestOptions::default()).unwrap();
    assert_eq!((got.width, got.height), (2048, 1536));
    assert!(!got.kept_original);
    assert!(got.bytes < input.len() as u64);
    let t = got.taken_at.expect("capture time from EXIF");
    assert_eq!(t.to_rfc3339(), "2026-11-20T01:30:15+00:00", "09:30:15 China time");
    assert!((got.lat.unwrap() - 36.7069).abs() < 1e-5 && (got.lon.unwrap() - 119.1617).abs() < 1e-5);

    let kept = stored(&store, &got.sha256);
    let facts = ingest::read_exif(&kept);
    assert!(facts.lat.is_none() && facts.lon.is_none() && facts.taken_at.is_none(), "EXIF left in the stored file");
    assert!(!kept.windows(6).any(|w| w == b"Exif\0\0"));
    assert!(store.thumb_path(&got.sha256).is_file());
    let thumb = image::load_from_memory(&std::fs::read(store.thumb_path(&got.sha256)).unwrap()).unwrap();
    assert_eq!(thumb.width().max(thumb.height()), 320);
}

#[test]
fn a_photo_twice_the_bound_is_decoded_at_half_scale_and_fitted_like_a_full_decode() {
    let (_d, store) = store();
    // A quarter turn: stored portrait, 2048 px long, as a full decode fitted would give.
    let input = sample_jpeg(4200, 2800, 90, 12, Some(&SampleExif { orientation: 6, ..Default::default() }));
    let got = ingest::process(&input, &store, &IngestOptions::default()).unwrap();
    assert_eq!((got.width, got.height), (1365, 2048));
    assert!(got.bytes < input.len() as u64);
    let kept = image::load_from_memory(&stored(&store, &got.sha256)).unwrap();
    assert_eq!((kept.width(), kept.height()), (1365, 2048));
    let thumb = image::load_from_memory(&std::fs::read(store.thumb_path(&got.sha256)).unwrap()).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (213, 320));
}

#[test]
fn a_small_well_compressed_photo_is_kept_as_it_was_minus_exif() {
    let (_d, store) = store();
    let input = sample_jpeg(800, 600, 50, 2, Some(&SampleExif::default()));
    let got = ingest::process(&input, &store, &IngestOptions::default()).unwrap();
    assert!(got.kept_original, "re-encoding at 85 would have grown it");
    let kept = stored(&store, &got.sha256);
    assert!(kept.len() < input.len());
    assert!(ingest::read_exif(&kept).lat.is_none());
    assert!(got.lat.is_some());
    // Image data is untouched: it decodes to the same pixels as the input.
    assert_eq!(image::load_from_memory(&kept).unwrap().to_rgb8(), image::load_from_memory(&input).unwrap().to_rgb8());
}

#[test]
fn re_encoding_never_makes_a_photo_bigger() {
    let (_d, store) = store();
    let opts = IngestOptions::default();
    let inputs = [
        sample_jpeg(3000, 2000, 40, 3, None), // needs downscaling, already small
        sample_jpeg(1200, 900, 95, 4, None),  // fits, re-encode is smaller
        sample_jpeg(1200, 900, 30, 5, Some(&SampleExif { orientation: 6, ..Default::default() })), // must rotate
        sample_png(1024, 768),                // flat colours: PNG beats JPEG
    ];
    for input in inputs {
        let got = ingest::process(&input, &store, &opts).unwrap();
        assert!(got.bytes <= input.len() as u64, "{} > {}", got.bytes, input.len());
    }
}

#[test]
fn orientation_is_applied_before_exif_is_dropped() {
    let (_d, store) = store();
    let input = sample_jpeg(1200, 800, 90, 6, Some(&SampleExif { orientation: 6, ..Default::default() }));
    let got = ingest::process(&input, &store, &IngestOptions::default()).unwrap();
    assert_eq!((got.width, got.height), (800, 1200), "portrait after rotating by 90°");
}

#[test]
fn the_same_photo_is_stored_once() {
    let (_d, store) = store();
    let input = sample_jpeg(1600, 1200, 90, 7, None);
    let a = ingest::process(&input, &store, &IngestOptions::default()).unwrap();
    let b = ingest::process(&input, &store, &IngestOptions::default()).unwrap();
    assert_eq!(a.sha256, b.sha256);
    let files = std::fs::read_dir(store.path(&a.sha256).parent().unwrap()).unwrap().count();
    assert_eq!(files, 2, "the photo and its thumbnail");
}

#[test]
fn a_photo_cut_short_is_re_encoded_whole_never_kept_as_it_was() {
    let (_d, store) = store();
    // Small and well compressed (its original would be kept), but the camera stopped
    // writing three quarters in: it still decodes, leniently.
    let mut input = sample_jpeg(800, 600, 50, 2, Some(&SampleExif::default()));
    input.truncate(input.len() * 3 / 4);
    assert!(!gridwork_core::media::is_whole(gridwork_core::media::Format::Jpeg, &input));
    let got = ingest::process(&input, &store, &IngestOptions::default()).unwrap();
    assert!(!got.kept_original, "a cut-short original is not sent as it is");
    let kept = stored(&store, &got.sha256);
    assert!(gridwork_core::media::is_whole(gridwork_core::media::Format::Jpeg, &kept), "what goes to the server is whole");
}

#[test]
fn unsupported_oversized_and_broken_inputs_get_clear_errors() {
    let (dir, store) = store();
    let code = |r: Result<_, Error>| match r {
        Err(Error::Photo { code, .. }) => code,
        other => panic!("{other:?}"),
    };
    let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    assert_eq!(code(ingest::process(&heic, &store, &IngestOptions::default())), "photo_unsupported");
    let mut truncated = sample_jpeg(640, 480, 80, 8, None);
    truncated.truncate(300);
    assert_eq!(code(ingest::process(&truncated, &store, &IngestOptions::default())), "photo_corrupt");
    let big = dir.path().join("big.jpg");
    std::fs::write(&big, sample_jpeg(640, 480, 80, 9, None)).unwrap();
    let tiny_limit = IngestOptions { max_input_bytes: 1000, ..Default::default() };
    assert_eq!(code(ingest::ingest(&big, &store, &tiny_limit)), "photo_too_large");
    let few_pixels = IngestOptions { max_pixels: 1000, ..Default::default() };
    assert_eq!(code(ingest::ingest(&big, &store, &few_pixels)), "photo_too_large");
}
