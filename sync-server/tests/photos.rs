//! Photo uploads and serving through the whole router (`oneshot`): resumable appends,
//! every refusal, deduplication, visibility and thumbnails.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use gridwork_core::fixtures;
use gridwork_core::hlc::Hlc;
use gridwork_core::model::{PhotoRef, RecordBody};
use gridwork_core::protocol::{DEFAULT_MAX_PHOTO_BYTES, Outcome, PushRequest, PushResponse, UploadStart, paths};
use gridwork_server::blobs::{photo_key, thumb_key};
use sha2::{Digest, Sha256};
use std::io::Cursor;
use uuid::Uuid;

mod common;
use common::{Harness, Login, Resp, authed, harness, login, send};

const UPLOAD_TYPE: &str = "application/offset+octet-stream";

async fn start(h: &Harness, who: &Login, sha256: &str, size: u64) -> Resp {
    let body = serde_json::to_vec(&UploadStart { sha256: sha256.into(), size }).expect("json");
    send(&h.app, authed(Method::POST, paths::UPLOADS, who).header("content-type", "application/json"), Body::from(body)).await
}

async fn patch(h: &Harness, who: &Login, sha256: &str, offset: u64, bytes: &[u8]) -> Resp {
    let b = authed(Method::PATCH, &format!("{}{sha256}", paths::UPLOAD_PREFIX), who)
        .header("content-type", UPLOAD_TYPE)
        .header("upload-offset", offset.to_string())
        .header("content-length", bytes.len().to_string());
    send(&h.app, b, Body::from(bytes.to_vec())).await
}

async fn get(h: &Harness, who: &Login, sha256: &str, thumb: bool) -> Resp {
    let path = format!("{}{sha256}{}", paths::PHOTO_PREFIX, if thumb { "/thumb" } else { "" });
    send(&h.app, authed(Method::GET, &path, who), Body::empty()).await
}

fn sha_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A JPEG with some texture (so it does not compress to nothing).
fn jpeg(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        let v = x.wrapping_mul(31).wrapping_add(y.wrapping_mul(17)).wrapping_add(seed).wrapping_mul(2_654_435_761);
        image::Rgb([(v >> 24) as u8, (v >> 16) as u8, ((x + y + seed) % 256) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90).encode_image(&img).expect("encode");
    out.into_inner()
}

fn photo_ref(bytes: &[u8], width: u32, height: u32, mime: &str) -> PhotoRef {
    PhotoRef {
        sha256: sha_hex(bytes),
        mime: mime.into(),
        bytes: bytes.len() as u64,
        width,
        height,
        taken_at: None,
        lat: None,
        lon: None,
        stage: None,
    }
}

/// A report in the fixture grid listing `photos`, pushed by `who`.
async fn push_report(h: &Harness, who: &Login, photos: Vec<PhotoRef>) {
    let mut rec = fixtures::records().remove(0);
    rec.id = Uuid::now_v7();
    if let RecordBody::Report(r) = &mut rec.body {
        r.photos = photos;
    }
    let op = fixtures::create_op(rec, Hlc::new(1_700_000_000_000, 0, "dev1"));
    let body = serde_json::to_vec(&PushRequest { ops: vec![op], sigs: vec![] }).expect("json");
    let r =
        send(&h.app, authed(Method::POST, paths::PUSH, who).header("content-type", "application/json"), Body::from(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let pushed: PushResponse = r.json();
    assert_eq!(pushed.results[0].outcome, Outcome::Accepted, "{pushed:?}");
}

fn staging_files(h: &Harness) -> Vec<String> {
    std::fs::read_dir(h.dir.path().join("uploads"))
        .expect("uploads dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}

async fn in_blob_store(h: &Harness, sha256: &str) -> (bool, bool) {
    let blobs = h.state.photos().files().blobs();
    (blobs.exists(&photo_key(sha256)).await.expect("exists"), blobs.exists(&thumb_key(sha256)).await.expect("exists"))
}

#[tokio::test]
async fn upload_in_two_appends_then_serve_to_those_who_may_see_it() {
    let h = harness().await;
    let worker = login(&h, "grid.kw01").await;
    let bytes = jpeg(1200, 900, 1);
    let sha = sha_hex(&bytes);
    push_report(&h, &worker, vec![photo_ref(&bytes, 1200, 900, "image/jpeg")]).await;

    let s = start(&h, &worker, &sha, bytes.len() as u64).await.status();
    assert_eq!((s.offset, s.complete, s.size), (0, false, bytes.len() as u64));
    let half = bytes.len() / 2;
    let s = patch(&h, &worker, &sha, 0, &bytes[..half]).await.status();
    assert_eq!((s.offset, s.complete), (half as u64, false));
    // A POST in between reports the same offset (what a device does after a restart).
    assert_eq!(start(&h, &worker, &sha, bytes.len() as u64).await.status().offset, half as u64);
    let s = patch(&h, &worker, &sha, half as u64, &bytes[half..]).await.status();
    assert_eq!((s.offset, s.complete), (bytes.len() as u64, true));
    assert!(staging_files(&h).is_empty(), "{:?}", staging_files(&h));
    assert_eq!(in_blob_store(&h, &sha).await, (true, true));
    let row = h.state.stores().photos.photo_uploaded(&sha).await.expect("row").expect("recorded");
    assert_eq!((row.size, row.mime.as_str()), (bytes.len() as u64, "image/jpeg"));

    for who in ["grid.kw01", "community.kw", "officer.kw", "admin"] {
        let l = login(&h, who).await;
        let r = get(&h, &l, &sha, false).await;
        assert_eq!(r.status, StatusCode::OK, "{who}");
        assert!(r.body == bytes, "{who}: bytes differ");
        assert_eq!(r.header("content-type"), "image/jpeg");
        assert_eq!(r.header("content-length"), bytes.len().to_string());
        assert_eq!(r.header("cache-control"), "private, max-age=31536000, immutable");
        assert_eq!(r.header("etag"), format!("\"{sha}\""));
    }
    // Another grid's worker, another district's officer: as if it did not exist.
    for who in ["grid.wc01", "officer.wc"] {
        let l = login(&h, who).await;
        get(&h, &l, &sha, false).await.error(StatusCode::NOT_FOUND, "not_found");
        get(&h, &l, &sha, true).await.error(StatusCode::NOT_FOUND, "not_found");
    }
    // Revalidation.
    let r = send(
        &h.app,
        authed(Method::GET, &format!("{}{sha}", paths::PHOTO_PREFIX), &worker).header("if-none-match", format!("\"{sha}\"")),
        Body::empty(),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    assert!(r.body.is_empty());

    let t = get(&h, &worker, &sha, true).await;
    assert_eq!(t.status, StatusCode::OK);
    assert_eq!(t.header("content-type"), "image/jpeg");
    assert_eq!(t.header("content-length"), t.body.len().to_string());
    let thumb = image::load_from_memory(&t.body).expect("thumbnail decodes");
    assert_eq!((thumb.width(), thumb.height()), (320, 240));
}

#[tokio::test]
async fn small_photo_thumbnail_keeps_its_size_and_png_keeps_its_type() {
    let h = harness().await;
    let worker = login(&h, "grid.kw01").await;
    let img = image::RgbImage::from_fn(200, 120, |x, y| image::Rgb([x as u8, y as u8, 7]));
    let mut png = Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png).expect("png");
    let bytes = png.into_inner();
    let sha = sha_hex(&bytes);
    push_report(&h, &worker, vec![photo_ref(&bytes, 200, 120, "image/png")]).await;
    start(&h, &worker, &sha, bytes.len() as u64).await.status();
    assert!(patch(&h, &worker, &sha, 0, &bytes).await.status().complete);
    let r = get(&h, &worker, &sha, false).await;
    assert_eq!(r.header("content-type"), "image/png");
    let t = get(&h, &worker, &sha, true).await;
    let thumb = image::load_from_memory(&t.body).expect("thumbnail decodes");
    assert_eq!((thumb.width(), thumb.height()), (200, 120));
}

#[tokio::test]
async fn a_photo_larger_than_the_json_body_limit_uploads_in_one_append() {
    let h = harness().await;
    let worker = login(&h, "grid.kw01").await;
    // Noise does not compress: ~9.7 MB of PNG, more than the 8 MiB JSON limit.
    let mut x: u32 = 12345;
    let img = image::RgbImage::from_fn(1800, 1800, |_, _| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        image::Rgb([x as u8, (x >> 8) as u8, (x >> 16) as u8])
    });
    let mut png = Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png).expect("png");
    let bytes = png.into_inner();
    assert!(bytes.len() > 8 * 1024 * 1024, "{}", bytes.len());
    let sha = sha_hex(&bytes);
    start(&h, &worker, &sha, bytes.len() as u64).await.status();
    let s = patch(&h, &worker, &sha, 0, &bytes).await.status();
    assert!(s.complete);
    assert_eq!(in_blob_store(&h, &sha).await, (true, true));
}

#[tokio::test]
async fn wrong_offset_is_a_conflict_and_changes_nothing() {
    let h = harness().await;
    let worker = login(&h, "grid.kw01").await;
    let bytes = jpeg(300, 200, 2);
    let sha = sha_hex(&bytes);
    start(&h, &worker, &sha, bytes.len() as u64).await.status();
    patch(&h, &worker, &sha, 0, &bytes[..100]).await.status();
    patch(&h, &worker, &sha, 0, &bytes[..100]).await.error(StatusCode::CONFLICT, "offset_mismatch");
    patch(&h, &worker, &sha, 150, &bytes[150..]).await.error(StatusCode::CONFLICT, "offset_mismatch");
    assert_eq!(start(&h, &worker, &sha, bytes.len() as u64).await.status().offset, 100);
    // No upload started for this photo: the device must POST first.
    let other = sha_hex(b"other");
    patch(&h, &worker, &other, 0, b"abc").await.error(StatusCode::CONFLICT, "offset_mismatch");
}

#[tokio::test]
async fn hash_mismatch_leaves_nothing_behind() {
    let h = harness().await;
    let worker = login(&h, "grid.kw01").await;
    let bytes = jpeg(400, 300, 3);
    let sha = sha_hex(&bytes);
    push_report(&h, &worker, vec![photo_ref(&bytes, 400, 300, "image/jpeg")]).await;
    let mut wrong = bytes.clone();
    let last = wrong.len() - 10;
    wrong[last] ^= 0xFF;
    start(&h, &worker, &sha, bytes.len() as u64).await.status();
    patch(&h, &worker, &sha, 0, &wrong).await.error(StatusCode::UNPROCESSABLE_ENTITY, "hash_mismatch");
    assert!(staging_files(&h).is_empty(), "{:?}", staging_files(&h));
    assert_eq!(in_blob_store(&h, &sha).await, (false, false));
    assert!(h.state.stores().photos.photo_uploaded(&sha).await.expect("row").is_none());
    get(&h, &worker, &sha, false).await.error(StatusCode::NOT_FOUND, "photo_pending");
    // The device starts over from zero.
    assert_eq!(start(&h, &worker, &sha, bytes.len() as u64).await.status().offset, 0);
    assert!(patch(&h, &worker, &sha, 0, &bytes).await.status().complete);
}

#[tokio::test]
async fn an_incomplete_upload_is_not_served_and_cannot_overrun() {
    let h = harness().await;
    let worker = login(&h, "grid.kw01").await;
    let bytes = jpeg(320, 240, 4);
    let sha = sha_hex(&bytes);
    push_report(&h, &worker, vec![photo_ref(&bytes, 320, 240, "image/jpeg")]).await;
    let declared = bytes.len() as u64 + 100;
    start(&h, &worker, &sha, declared).await.status();
    let s = patch(&h, &worker, &sha, 0, &bytes).await.status();
    assert_eq!((s.offset, s.complete), (bytes.len() as u64, false));
    let pending = get(&h, &worker, &sha, false).await.error(StatusCode::NOT_FOUND, "photo_pending");
    assert_eq!(pending.error.message, "照片上传中");
    get(&h, &worker, &sha, true).await.error(StatusCode::NOT_FOUND, "photo_pending");
    // More bytes than declared: refused, the offset stays.
    patch(&h, &worker, &sha, bytes.len() as u64, &[0u8; 101]).await.error(StatusCode::UNPROCESSABLE_ENTITY, "upload_too_long");
    assert_eq!(start(&h, &worker, &sha, declared).await.status().offset, bytes.len() as u64);
    // Declaring the true size restarts the staging file.
    let s = start(&h, &worker, &sha, bytes.len() as u64).await.status();
    assert_eq!((s.offset, s.complete), (0, false));
    assert!(patch(&h, &worker, &sha, 0, &bytes).await.status().complete);
}

#[tokio::test]
async fn an_overrun_without_content_length_is_truncated_back() {
    let h = harness().await;
    let worker = login(&h, "grid.kw01").await;
    let bytes = jpeg(200, 200, 5);
    let sha = sha_hex(&bytes);
    start(&h, &worker, &sha, bytes.len() as u64).await.status();
    patch(&h, &worker, &sha, 0, &bytes[..50]).await.status();
    // A streamed body (no Content-Length) that runs past the declared size.
    let mut too_much = bytes[50..].to_vec();
    too_much.extend_from_slice(b"extra");
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = too_much.chunks(1000).map(|c| Ok(c.to_vec())).collect();
    let b = authed(Method::PATCH, &format!("{}{sha}", paths::UPLOAD_PREFIX), &worker)
        .header("content-type", UPLOAD_TYPE)
        .header("upload-offset", "50");
    send(&h.app, b, Body::from_stream(futures::stream::iter(chunks)))
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "upload_too_long");
    assert_eq!(start(&h, &worker, &sha, bytes.len() as u64).await.status().offset, 50);
}

#[tokio::test]
async fn refusals_before_any_byte() {
    let h = harness().await;
    let worker = login(&h, "grid.kw01").await;
    let sha = sha_hex(b"x");
    let e = start(&h, &worker, &sha, DEFAULT_MAX_PHOTO_BYTES + 1).await.error(StatusCode::PAYLOAD_TOO_LARGE, "photo_too_large");
    assert!(e.error.message.contains("20"), "{e:?}");
    start(&h, &worker, &sha, 0).await.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    start(&h, &worker, &sha.to_uppercase(), 10).await.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    start(&h, &worker, "abc", 10).await.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    start(&h, &worker, &sha, 10).await.status();
    // Wrong content type, missing offset.
    let path = format!("{}{sha}", paths::UPLOAD_PREFIX);
    let r = send(
        &h.app,
        authed(Method::PATCH, &path, &worker).header("content-type", "application/json").header("upload-offset", "0"),
        Body::from("{}"),
    )
    .await;
    r.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let r = send(&h.app, authed(Method::PATCH, &path, &worker).header("content-type", UPLOAD_TYPE), Body::from("x")).await;
    r.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    // Unauthenticated.
    let r = send(
        &h.app,
        Request::builder().method(Method::PATCH).uri(&path).header("content-type", UPLOAD_TYPE).header("upload-offset", "0"),
        Body::from("x"),
    )
    .await;
    r.error(StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(start(&h, &worker, &sha, 10).await.status().offset, 0, "nothing was written");
}

#[tokio::test]
async fn a_text_file_with_the_right_hash_is_refused_as_a_photo() {
    let h = harness().await;
    let worker = login(&h, "grid.kw01").await;
    let text = "这不是照片，只是一段文字。".repeat(20).into_bytes();
    let sha = sha_hex(&text);
    start(&h, &worker, &sha, text.len() as u64).await.status();
    patch(&h, &worker, &sha, 0, &text).await.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_photo_type");
    assert!(staging_files(&h).is_empty());
    assert_eq!(in_blob_store(&h, &sha).await, (false, false));
    // A JPEG header on garbage: recognised by its first bytes, but it does not decode.
    let mut fake = vec![0xFF, 0xD8, 0xFF, 0xE0];
    fake.extend_from_slice(&[0x42; 500]);
    let sha = sha_hex(&fake);
    start(&h, &worker, &sha, fake.len() as u64).await.status();
    patch(&h, &worker, &sha, 0, &fake).await.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_photo_type");
    assert!(staging_files(&h).is_empty());
}

/// A PNG with some texture.
fn png(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 7 + seed) as u8, (y * 13) as u8, ((x ^ y) + seed) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("encode");
    out.into_inner()
}

#[tokio::test]
async fn a_photo_cut_short_is_refused_as_a_photo_and_can_be_sent_again() {
    let h = harness().await;
    let worker = login(&h, "grid.kw01").await;
    let whole = png(200, 150, 3);
    let jpg = jpeg(320, 240, 4);
    // The signature and IHDR only; the last 12 bytes (IEND) or 200 bytes missing; a JPEG
    // cut in half: a camera file written short. Each is the photo's fault: 415, not 500.
    for short in [&whole[..33], &whole[..whole.len() - 12], &whole[..whole.len() - 200], &jpg[..jpg.len() / 2]] {
        let sha = sha_hex(short);
        start(&h, &worker, &sha, short.len() as u64).await.status();
        patch(&h, &worker, &sha, 0, short).await.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_photo_type");
        assert!(staging_files(&h).is_empty(), "the upload is discarded");
        assert_eq!(in_blob_store(&h, &sha).await, (false, false));
        // A retry starts afresh (and fails the same way), never a 500.
        assert_eq!(start(&h, &worker, &sha, short.len() as u64).await.status().offset, 0);
        patch(&h, &worker, &sha, 0, short).await.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_photo_type");
    }
    // The whole file goes through.
    let sha = sha_hex(&whole);
    start(&h, &worker, &sha, whole.len() as u64).await.status();
    assert!(patch(&h, &worker, &sha, 0, &whole).await.status().complete);
}

#[tokio::test]
async fn a_photo_the_server_holds_is_never_sent_again() {
    let h = harness().await;
    let worker = login(&h, "grid.kw01").await;
    let bytes = jpeg(640, 480, 6);
    let sha = sha_hex(&bytes);
    start(&h, &worker, &sha, bytes.len() as u64).await.status();
    assert!(patch(&h, &worker, &sha, 0, &bytes).await.status().complete);
    // Its sender, and anyone who may see it, hears "complete" before any byte is sent.
    push_report(&h, &worker, vec![photo_ref(&bytes, 640, 480, "image/jpeg")]).await;
    for who in [&worker, &login(&h, "community.kw").await, &login(&h, "admin").await] {
        let s = start(&h, who, &sha, bytes.len() as u64).await.status();
        assert_eq!((s.offset, s.complete, s.size), (bytes.len() as u64, true, bytes.len() as u64));
        assert!(staging_files(&h).is_empty());
    }
    // A late append for it is answered the same way.
    let s = patch(&h, &worker, &sha, 0, &bytes[..10]).await.status();
    assert!(s.complete);
    // Someone who may not see it is told nothing: the server seems not to have it, and
    // they send it like any photo (their bytes prove they have it).
    let stranger = login(&h, "officer.wc").await;
    let s = start(&h, &stranger, &sha, bytes.len() as u64).await.status();
    assert_eq!((s.offset, s.complete), (0, false), "no sign that the photo exists");
    assert!(patch(&h, &stranger, &sha, 0, &bytes).await.status().complete);
    assert!(staging_files(&h).is_empty());
    let row = h.state.stores().photos.photo_uploaded(&sha).await.expect("row").expect("recorded");
    assert_eq!(row.uploaded_by, h.state.stores().accounts.user_by_username("grid.kw01").await.expect("user").expect("exists").id);
}

/// A report in `grid` listing `photos`, pushed by `who`.
async fn push_report_in(h: &Harness, who: &Login, grid: &str, community: &str, photos: Vec<PhotoRef>) {
    let mut rec = fixtures::records().remove(0);
    rec.id = Uuid::now_v7();
    rec.org = gridwork_core::model::OrgRef { community: community.into(), grid: grid.into() };
    if let RecordBody::Report(r) = &mut rec.body {
        r.photos = photos;
    }
    let op = fixtures::create_op(rec, Hlc::new(1_700_000_000_000, 0, "dev1"));
    let body = serde_json::to_vec(&PushRequest { ops: vec![op], sigs: vec![] }).expect("json");
    let r =
        send(&h.app, authed(Method::POST, paths::PUSH, who).header("content-type", "application/json"), Body::from(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let pushed: PushResponse = r.json();
    assert_eq!(pushed.results[0].outcome, Outcome::Accepted, "{pushed:?}");
}

#[tokio::test]
async fn knowing_a_photos_hash_is_not_enough_to_see_it() {
    let h = harness().await;
    let owner = login(&h, "grid.wc01").await;
    let thief = login(&h, "grid.kw01").await;
    // A photo on a record of another district, uploaded by its grid worker.
    let bytes = jpeg(400, 300, 11);
    let sha = sha_hex(&bytes);
    push_report_in(&h, &owner, fixtures::OTHER_GRID, fixtures::OTHER_COMMUNITY, vec![photo_ref(&bytes, 400, 300, "image/jpeg")])
        .await;
    start(&h, &owner, &sha, bytes.len() as u64).await.status();
    assert!(patch(&h, &owner, &sha, 0, &bytes).await.status().complete);
    assert_eq!(get(&h, &owner, &sha, false).await.status, StatusCode::OK);

    // The thief lists its hash in their own grid, with made-up details and with the true
    // ones: accepted like any photo not yet sent, and never served.
    let unknown = sha_hex(b"a photo that does not exist");
    for listed in [
        PhotoRef { sha256: sha.clone(), ..photo_ref(b"x", 4000, 3000, "image/png") },
        photo_ref(&bytes, 400, 300, "image/jpeg"),
        PhotoRef { sha256: unknown.clone(), ..photo_ref(b"x", 4000, 3000, "image/png") },
    ] {
        push_report_in(&h, &thief, fixtures::GRID, fixtures::COMMUNITY, vec![listed]).await;
    }
    // The same answer as for a photo that does not exist: pending, no bytes.
    let real = get(&h, &thief, &sha, false).await;
    let fake = get(&h, &thief, &unknown, false).await;
    assert_eq!((real.status, real.body.clone()), (fake.status, fake.body.clone()), "indistinguishable from an unknown photo");
    real.error(StatusCode::NOT_FOUND, "photo_pending");
    get(&h, &thief, &sha, true).await.error(StatusCode::NOT_FOUND, "photo_pending");
    // Asking to upload it tells nothing either.
    let s = start(&h, &thief, &sha, bytes.len() as u64).await.status();
    assert_eq!((s.offset, s.complete), (0, false));
    // Nor does the community's account see it through the thief's record.
    get(&h, &login(&h, "community.kw").await, &sha, false).await.error(StatusCode::NOT_FOUND, "photo_pending");
    // Someone who has the very bytes proves it by sending them; then the photo is theirs to list.
    assert!(patch(&h, &thief, &sha, 0, &bytes).await.status().complete);
    assert_eq!(get(&h, &thief, &sha, false).await.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_invisible_and_pending_photos() {
    let h = harness().await;
    let worker = login(&h, "grid.kw01").await;
    let other = login(&h, "grid.wc01").await;
    let admin = login(&h, "admin").await;
    let bytes = jpeg(100, 100, 7);
    let sha = sha_hex(&bytes);
    // No record lists it: not found for everyone, even the admin, even once uploaded.
    get(&h, &admin, &sha, false).await.error(StatusCode::NOT_FOUND, "not_found");
    start(&h, &worker, &sha, bytes.len() as u64).await.status();
    assert!(patch(&h, &worker, &sha, 0, &bytes).await.status().complete);
    get(&h, &admin, &sha, false).await.error(StatusCode::NOT_FOUND, "not_found");
    // Listed by a record in the worker's grid: served to the worker, not to the other grid.
    push_report(&h, &worker, vec![photo_ref(&bytes, 100, 100, "image/jpeg")]).await;
    assert_eq!(get(&h, &worker, &sha, false).await.status, StatusCode::OK);
    get(&h, &other, &sha, false).await.error(StatusCode::NOT_FOUND, "not_found");
    // Listed, not uploaded: pending for those who may see it, not found for the rest.
    let later = jpeg(100, 100, 8);
    let later_sha = sha_hex(&later);
    push_report(&h, &worker, vec![photo_ref(&later, 100, 100, "image/jpeg")]).await;
    get(&h, &admin, &later_sha, false).await.error(StatusCode::NOT_FOUND, "photo_pending");
    get(&h, &other, &later_sha, false).await.error(StatusCode::NOT_FOUND, "not_found");
    // Malformed names look like unknown ones.
    get(&h, &admin, "not-a-hash", false).await.error(StatusCode::NOT_FOUND, "not_found");
    get(&h, &admin, &later_sha.to_uppercase(), false).await.error(StatusCode::NOT_FOUND, "not_found");
}

/// A flood of started uploads is bounded per account (the staging disk), with a typed 429;
/// a restart of one already open, another account, and an upload that finishes are not.
#[tokio::test]
async fn unfinished_uploads_are_bounded_per_account() {
    let h = harness().await;
    let worker = login(&h, "grid.kw01").await;
    let max = gridwork_server::service::photos::MAX_OPEN_UPLOADS;
    let fake = |i: usize| format!("{:064x}", i + 1);
    for i in 0..max {
        assert_eq!(start(&h, &worker, &fake(i), 1000).await.status, StatusCode::OK, "upload {i}");
    }
    let r = start(&h, &worker, &fake(max), 1000).await;
    let body = r.error(StatusCode::TOO_MANY_REQUESTS, "too_many_uploads");
    assert!(body.error.message.contains(&max.to_string()), "{}", body.error.message);
    // The same photo again is the same upload, not a new one.
    assert_eq!(start(&h, &worker, &fake(0), 1000).await.status, StatusCode::OK);
    // Another account has its own bound.
    let other = login(&h, "grid.wc01").await;
    assert_eq!(start(&h, &other, &fake(max), 1000).await.status, StatusCode::OK);
    // An upload whose last byte arrived (here refused: the bytes are not that hash) frees its place.
    let done = patch(&h, &worker, &fake(1), 0, &[0u8; 1000]).await;
    done.error(StatusCode::UNPROCESSABLE_ENTITY, "hash_mismatch");
    assert_eq!(start(&h, &worker, &fake(max + 1), 1000).await.status, StatusCode::OK, "the refused one freed its place");
}
