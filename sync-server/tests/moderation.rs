//! Moderation of what the public sees, through the whole router on a real SQLite store:
//! a report's photo is public only once an admin reviewed it: blacked out rectangles on the
//! console or approved it as it is (the public link and Open311's `media_url` then serve
//! the server's copy, without metadata; devices and staff still get the original), or
//! withdrawn again; an admin hides a record (Open311 and the notice status
//! page answer 404 as if it were unknown; devices and the console still see it) and shows
//! it again. Officers are refused, bad rectangles and reasons answer 400 with a Chinese
//! message, and every change is audited and on the record's timeline.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::browser::{Browser, text};
use common::{Harness, Login, Resp, authed, harness, login, send, take_block};
use gridwork_core::fixtures;
use gridwork_core::hlc::Hlc;
use gridwork_core::model::{PhotoRef, Record, RecordBody};
use gridwork_core::numbering::format_number;
use gridwork_core::protocol::{Outcome, PullResponse, PushRequest, PushResponse, UploadStart, paths};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::Cursor;
use uuid::Uuid;

const HOST: &str = "console.test";
const WIDTH: u32 = 400;
const HEIGHT: u32 = 300;

/// A smooth picture (JPEG keeps it faithfully), with an EXIF block and a comment in it that
/// the public copy must not carry.
fn photo_bytes() -> Vec<u8> {
    photo_with_orientation(1)
}

/// The picture, with this EXIF orientation (6: shown turned 90° clockwise).
fn photo_with_orientation(orientation: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(WIDTH, HEIGHT, |x, y| {
        image::Rgb([(55 + x * 200 / WIDTH) as u8, (55 + y * 200 / HEIGHT) as u8, 180])
    });
    let mut out = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95).encode_image(&img).expect("encode");
    let jpeg = out.into_inner();
    // APP1 Exif: a little-endian TIFF with one entry (Orientation = 1), then a COM segment.
    let mut tiff = b"II*\0\x08\0\0\0".to_vec();
    tiff.extend_from_slice(&[1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, orientation, 0, 0, 0, 0, 0, 0, 0]);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let comment = b"SECRET-GPS 36.7069,119.1617".to_vec();
    let mut bytes = jpeg[..2].to_vec();
    for (marker, payload) in [(0xE1u8, app1), (0xFE, comment)] {
        bytes.extend_from_slice(&[0xFF, marker]);
        bytes.extend_from_slice(&u16::try_from(payload.len() + 2).expect("short").to_be_bytes());
        bytes.extend_from_slice(&payload);
    }
    bytes.extend_from_slice(&jpeg[2..]);
    bytes
}

fn sha_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn hlc() -> Hlc {
    Hlc::new(chrono::Utc::now().timestamp_millis().max(0) as u64, 0, "testdevice")
}

async fn push(h: &Harness, who: &Login, rec: Record) {
    let body = serde_json::to_vec(&PushRequest { ops: vec![fixtures::create_op(rec, hlc())], sigs: vec![] }).expect("json");
    let r =
        send(&h.app, authed(Method::POST, paths::PUSH, who).header("content-type", "application/json"), Body::from(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", text(&r));
    let pushed: PushResponse = r.json();
    assert_eq!(pushed.results[0].outcome, Outcome::Accepted, "{pushed:?}");
}

async fn upload(h: &Harness, who: &Login, bytes: &[u8]) {
    let sha = sha_hex(bytes);
    let start = serde_json::to_vec(&UploadStart { sha256: sha.clone(), size: bytes.len() as u64 }).expect("json");
    let r = send(&h.app, authed(Method::POST, paths::UPLOADS, who).header("content-type", "application/json"), Body::from(start))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", text(&r));
    let b = authed(Method::PATCH, &format!("{}{sha}", paths::UPLOAD_PREFIX), who)
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", "0")
        .header("content-length", bytes.len().to_string());
    let r = send(&h.app, b, Body::from(bytes.to_vec())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", text(&r));
    assert!(r.json::<Value>()["complete"].as_bool().expect("complete"), "{}", text(&r));
}

/// A 随手拍 report by grid.kw01, now, with the photo uploaded. Its id and the photo's hash.
async fn report_with_photo(h: &Harness) -> (Uuid, String, Vec<u8>) {
    report_with(h, photo_bytes()).await
}

async fn report_with(h: &Harness, bytes: Vec<u8>) -> (Uuid, String, Vec<u8>) {
    let worker = login(h, "grid.kw01").await;
    let sha = sha_hex(&bytes);
    let mut rec = fixtures::records().remove(0);
    rec.id = Uuid::now_v7();
    rec.created_at = chrono::Utc::now();
    let RecordBody::Report(r) = &mut rec.body else { unreachable!("the fixture's first record is a report") };
    r.photos = vec![PhotoRef {
        sha256: sha.clone(),
        mime: "image/jpeg".into(),
        bytes: bytes.len() as u64,
        width: WIDTH,
        height: HEIGHT,
        taken_at: None,
        lat: None,
        lon: None,
        stage: None,
    }];
    push(h, &worker, rec.clone()).await;
    upload(h, &worker, &bytes).await;
    (rec.id, sha, bytes)
}

/// A notice by officer.kw with a number of its device's block. Its id.
async fn notice(h: &Harness) -> Uuid {
    let officer = login(h, "officer.kw").await;
    let block = take_block(h, &officer, 5).await;
    let mut rec = fixtures::records().remove(1);
    rec.id = Uuid::now_v7();
    let RecordBody::Notice(n) = &mut rec.body else { unreachable!("the fixture's second record is a notice") };
    n.number = format_number("奎文", 2026, block.first);
    push(h, &officer, rec.clone()).await;
    rec.id
}

/// Anyone, without signing in.
async fn public(h: &Harness, path: &str) -> Resp {
    send(&h.app, Request::builder().method(Method::GET).uri(path).header("host", HOST), Body::empty()).await
}

fn decode(bytes: &[u8]) -> image::RgbImage {
    image::load_from_memory(bytes).expect("an image").to_rgb8()
}

/// The rectangles posted below, in pixels of the 400×300 photo: (x0, y0, x1, y1).
const RECTS: [(u32, u32, u32, u32); 2] = [(40, 30, 120, 90), (240, 150, 360, 270)];

fn inside(x: u32, y: u32, margin: u32) -> bool {
    RECTS.iter().any(|&(x0, y0, x1, y1)| x + margin >= x0 && x < x1 + margin && y + margin >= y0 && y < y1 + margin)
}

#[tokio::test]
async fn a_redacted_photo_is_what_the_public_gets_and_the_original_stays() {
    let h = harness().await;
    let (id, sha, original) = report_with_photo(&h).await;
    let public_path = format!("/public/photos/{id}/{sha}");

    // Before review nothing of the photo is public: no link from Open311, 404 on the path.
    let r = public(&h, &public_path).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "an unreviewed photo is not public");
    let one: Value = public(&h, &format!("/open311/v2/requests/{id}.json")).await.json();
    assert!(one[0].get("media_url").is_none_or(Value::is_null), "{one}");

    // An admin draws two rectangles (as the script posts them: fractions).
    let mut admin = Browser::signed_in(&h, "admin").await;
    let page = admin.page(&format!("/admin/records/{id}")).await;
    assert!(page.contains(&format!("id=\"moderate-{sha}\"")) && page.contains("/admin/static/moderate.js"), "{page}");
    assert!(page.contains("未公开（待审核）"));
    let redact = format!("/admin/records/{id}/photos/{sha}/redact");
    admin.done(&redact, &[("unit", "fraction"), ("rect", "0.1,0.1,0.2,0.2"), ("rect", "0.6,0.5,0.3,0.4")], id, "redact").await;

    let r = public(&h, &public_path).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!((r.header("content-type"), r.header("x-gridwork-redacted")), ("image/jpeg", "1"));
    assert!(r.header("cache-control").contains("no-cache"));
    let one: Value = public(&h, &format!("/open311/v2/requests/{id}.json")).await.json();
    assert_eq!(one[0]["media_url"], format!("http://{HOST}{public_path}"));
    let redacted = r.body.clone();
    assert!(redacted != original);
    for secret in [&b"Exif"[..], b"SECRET-GPS"] {
        assert!(!redacted.windows(secret.len()).any(|w| w == secret), "metadata left in the public copy");
    }
    let (before, after) = (decode(&original), decode(&redacted));
    assert_eq!(after.dimensions(), (WIDTH, HEIGHT));
    let (mut diff, mut n) = (0u64, 0u64);
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            let (a, b) = (before.get_pixel(x, y).0, after.get_pixel(x, y).0);
            if inside_shrunk(x, y) {
                assert!(b.iter().all(|c| *c <= 24), "({x},{y}) inside is {b:?}");
            } else if !inside(x, y, 8) {
                let d: u64 = a.iter().zip(b.iter()).map(|(p, q)| u64::from(p.abs_diff(*q))).sum();
                assert!(d < 60, "({x},{y}) outside changed: {a:?} → {b:?}");
                diff += d;
                n += 1;
            }
        }
    }
    assert!(diff / n < 6, "outside the rectangles the photo is the same (mean difference {})", diff / n);
    // The ETag revalidates.
    let etag = r.header("etag").to_owned();
    let again =
        send(&h.app, Request::builder().uri(&public_path).header("host", HOST).header("if-none-match", &etag), Body::empty())
            .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);

    // Officers, devices and the console still get the original.
    let officer = login(&h, "officer.kw").await;
    let r = send(&h.app, authed(Method::GET, &format!("{}{sha}", paths::PHOTO_PREFIX), &officer), Body::empty()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body == original, "the device API serves the original");
    assert!(admin.get(&format!("/admin/photos/{sha}")).await.body == original, "the console serves the original");
    let mut officer_browser = Browser::signed_in(&h, "officer.kw").await;
    assert!(officer_browser.get(&format!("/admin/photos/{sha}")).await.body == original);
    // The console previews the public version.
    let preview = admin.get(&format!("/admin/records/{id}/photos/{sha}/public")).await;
    assert_eq!(preview.status, StatusCode::OK);
    assert!(preview.body == redacted);

    // The record page, its timeline and audit trail.
    let page = admin.page(&format!("/admin/records/{id}?done=redact")).await;
    assert!(page.contains("已遮挡，公开版本已更新"));
    assert!(page.contains("已公开（遮挡 2 处）"), "{page}");
    assert!(page.contains(&format!("测试admin 遮挡了照片 {}… 的 2 处并公开", &sha[..8])), "{page}");
    assert!(page.contains("photo_redact"));

    // Without the script: one rectangle typed in pixels replaces the two.
    admin.done(&redact, &[("unit", "px"), ("x", "0"), ("y", "0"), ("w", "100"), ("h", "50")], id, "redact").await;
    let third = decode(&public(&h, &public_path).await.body);
    assert!(third.get_pixel(10, 10).0.iter().all(|c| *c <= 24));
    assert!(third.get_pixel(80, 80).0.iter().any(|c| *c > 60), "the earlier rectangles are gone");
    assert!(third.get_pixel(300, 200).0.iter().any(|c| *c > 60));

    // Withdrawn: the public no longer sees the photo at all.
    admin.done(&format!("/admin/records/{id}/photos/{sha}/unredact"), &[("back", &id.to_string())], id, "unredact").await;
    assert_eq!(public(&h, &public_path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(admin.get(&format!("/admin/records/{id}/photos/{sha}/public")).await.status, StatusCode::NOT_FOUND);
    let page = admin.page(&format!("/admin/records/{id}")).await;
    assert!(page.contains(&format!("撤回了照片 {}… 的公开版本", &sha[..8])), "{page}");
    assert!(page.contains("photo_unredact"));
    // Withdrawing twice is refused, not an error of the server.
    let r = admin.act(&format!("/admin/records/{id}/photos/{sha}/unredact"), &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", text(&r));
    assert!(text(&r).contains("尚未公开"));

    // Approved as it is: the public gets the photo upright and without its metadata.
    admin.done(&format!("/admin/records/{id}/photos/{sha}/publish"), &[("back", &id.to_string())], id, "publish").await;
    let r = public(&h, &public_path).await;
    assert_eq!((r.status, r.header("x-gridwork-redacted")), (StatusCode::OK, "0"));
    for secret in [&b"Exif"[..], b"SECRET-GPS"] {
        assert!(!r.body.windows(secret.len()).any(|w| w == secret), "metadata left in the approved copy");
    }
    let (before, approved) = (decode(&original), decode(&r.body));
    let d: u64 = before
        .pixels()
        .zip(approved.pixels())
        .map(|(p, q)| p.0.iter().zip(q.0.iter()).map(|(a, b)| u64::from(a.abs_diff(*b))).sum::<u64>())
        .sum();
    assert!(d / u64::from(WIDTH * HEIGHT) < 6, "nothing blacked out");
    let page = admin.page(&format!("/admin/records/{id}")).await;
    assert!(page.contains("已公开（无需遮挡）"), "{page}");
    assert!(page.contains(&format!("审核通过并公开了照片 {}…（无需遮挡）", &sha[..8])), "{page}");
    assert!(page.contains("photo_publish"));
}

/// Pixels well inside a rectangle (JPEG blurs the edges a little).
fn inside_shrunk(x: u32, y: u32) -> bool {
    RECTS.iter().any(|&(x0, y0, x1, y1)| x >= x0 + 3 && x + 3 < x1 && y >= y0 + 3 && y + 3 < y1)
}

#[tokio::test]
async fn a_hidden_record_is_unknown_to_the_public_until_shown_again() {
    let h = harness().await;
    let (report, sha, _) = report_with_photo(&h).await;
    let notice = notice(&h).await;
    let request = format!("/open311/v2/requests/{report}.json");
    let notice_page = format!("{}{notice}", paths::PUBLIC_NOTICE_PREFIX);
    let photo = format!("/public/photos/{report}/{sha}");
    let listed = |v: &Value| v.as_array().expect("list").iter().any(|r| r["service_request_id"] == report.to_string());
    assert_eq!(public(&h, &request).await.status, StatusCode::OK);
    assert!(listed(&public(&h, "/open311/v2/requests.json").await.json()));
    assert_eq!(public(&h, &notice_page).await.status, StatusCode::OK);

    let mut admin = Browser::signed_in(&h, "admin").await;
    admin.done(&format!("/admin/records/{report}/photos/{sha}/publish"), &[], report, "publish").await;
    assert_eq!(public(&h, &photo).await.status, StatusCode::OK);
    // A reason is required, and bounded.
    for bad in ["", "   ", &"长".repeat(201)] {
        let r = admin.act(&format!("/admin/records/{report}/hide"), &[("reason", bad)]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad:?}: {}", text(&r));
        assert!(text(&r).contains("隐藏原因"), "{}", text(&r));
    }
    admin.done(&format!("/admin/records/{report}/hide"), &[("reason", "照片含有人脸")], report, "hide").await;
    admin.done(&format!("/admin/records/{notice}/hide"), &[("reason", "当事人申请")], notice, "hide").await;

    // Open311: as if unknown, by id, in lists and by id lists; the photo link too.
    let r = public(&h, &request).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json::<Value>()[0]["code"], 404);
    assert_eq!(public(&h, &format!("/open311/v2/requests/{report}.xml")).await.status, StatusCode::NOT_FOUND);
    assert!(!listed(&public(&h, "/open311/v2/requests.json").await.json()));
    let by_id: Value = public(&h, &format!("/open311/v2/requests.json?service_request_id={report}")).await.json();
    assert_eq!(by_id, serde_json::json!([]));
    assert_eq!(public(&h, &format!("/open311/v2/tokens/{report}.json")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(public(&h, &photo).await.status, StatusCode::NOT_FOUND);
    // The notice's status page: the same 404 page as an unknown id.
    let r = public(&h, &notice_page).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(text(&r).contains("未找到"));

    // Staff and devices still see them.
    let page = admin.page(&format!("/admin/records/{report}?done=hide")).await;
    assert!(page.contains("已隐藏，此记录不再公开"));
    assert!(page.contains("id=\"hidden-badge\">已隐藏（不公开）"), "{page}");
    assert!(page.contains("照片含有人脸"));
    assert!(page.contains("测试admin 隐藏了此记录：照片含有人脸"), "{page}");
    assert!(page.contains("public_hide"));
    let mut officer = Browser::signed_in(&h, "officer.kw").await;
    let seen = officer.page(&format!("/admin/records/{notice}")).await;
    assert!(seen.contains("已隐藏（不公开）") && seen.contains("隐藏了此记录：当事人申请"), "{seen}");
    assert!(!seen.contains("id=\"unhide-form\""), "officers only read");
    let worker = login(&h, "grid.kw01").await;
    let pulled = send(&h.app, authed(Method::GET, &format!("{}?since=0", paths::PULL), &worker), Body::empty()).await;
    let pulled: PullResponse = pulled.json();
    assert!(pulled.records.iter().any(|r| r.id == report), "the device still pulls it");
    // Hiding twice is refused.
    let r = admin.act(&format!("/admin/records/{report}/hide"), &[("reason", "再次")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(text(&r).contains("已隐藏"));

    // Shown again: back everywhere.
    admin.done(&format!("/admin/records/{report}/unhide"), &[], report, "unhide").await;
    admin.done(&format!("/admin/records/{notice}/unhide"), &[], notice, "unhide").await;
    assert_eq!(public(&h, &request).await.status, StatusCode::OK);
    assert!(listed(&public(&h, "/open311/v2/requests.json").await.json()));
    assert_eq!(public(&h, &photo).await.status, StatusCode::OK);
    assert_eq!(public(&h, &notice_page).await.status, StatusCode::OK);
    let page = admin.page(&format!("/admin/records/{report}")).await;
    assert!(!page.contains("id=\"hidden-badge\""));
    assert!(page.contains("取消隐藏，此记录重新公开") && page.contains("public_unhide"), "{page}");
    let r = admin.act(&format!("/admin/records/{report}/unhide"), &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(text(&r).contains("未隐藏"));
}

#[tokio::test]
async fn officers_are_refused_and_bad_rectangles_answer_400_in_chinese() {
    let h = harness().await;
    let (id, sha, _) = report_with_photo(&h).await;
    let redact = format!("/admin/records/{id}/photos/{sha}/redact");

    // An officer's forged posts (with a valid token of their own session): 403.
    let mut officer = Browser::signed_in(&h, "officer.kw").await;
    let page = officer.page(&format!("/admin/records/{id}")).await;
    assert!(!page.contains("id=\"hide-form\"") && !page.contains("data-moderate"), "no moderation forms for officers");
    for (path, form) in [
        (format!("/admin/records/{id}/hide"), vec![("reason", "x")]),
        (format!("/admin/records/{id}/unhide"), vec![]),
        (redact.clone(), vec![("rect", "0.1,0.1,0.2,0.2")]),
        (format!("/admin/records/{id}/photos/{sha}/unredact"), vec![]),
    ] {
        let r = officer.act(&path, &form).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", text(&r));
        assert!(text(&r).contains("forbidden"));
    }
    // An admin's post without the token: 403 too.
    let mut admin = Browser::signed_in(&h, "admin").await;
    let r = admin.post(&redact, &[("rect", "0.1,0.1,0.2,0.2")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let too_many: Vec<(&str, &str)> = std::iter::repeat_n(("rect", "0.1,0.1,0.1,0.1"), 21).collect();
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("nothing", vec![]),
        ("outside (fraction)", vec![("rect", "0.95,0.1,0.2,0.2")]),
        ("outside (start)", vec![("rect", "1.2,0,0.1,0.1")]),
        ("negative", vec![("rect", "-0.1,0,0.2,0.2")]),
        ("zero width", vec![("rect", "0.1,0.1,0,0.2")]),
        ("zero height", vec![("rect", "0.1,0.1,0.2,0")]),
        ("too many", too_many),
        ("not numbers", vec![("rect", "a,b,c,d")]),
        ("three numbers", vec![("rect", "0.1,0.1,0.2")]),
        ("five numbers", vec![("rect", "0.1,0.1,0.2,0.2,0.3")]),
        ("NaN", vec![("rect", "NaN,0,0.1,0.1")]),
        ("infinite", vec![("rect", "0,0,inf,0.1")]),
        ("huge", vec![("rect", "0,0,1e999,0.1")]),
        ("outside (pixels)", vec![("unit", "px"), ("rect", "350,0,100,10")]),
        ("below (pixels)", vec![("unit", "px"), ("x", "0"), ("y", "290"), ("w", "10"), ("h", "11")]),
        ("half typed", vec![("unit", "px"), ("x", "10"), ("y", "10")]),
        ("bad unit", vec![("unit", "cm"), ("rect", "1,1,1,1")]),
    ];
    for (what, form) in cases {
        let r = admin.act(&redact, &form).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{what}: {}", text(&r));
        assert!(r.header("content-type").starts_with("text/html"));
        let body = text(&r);
        let at = body.find("id=\"action-error\">").unwrap_or_else(|| panic!("{what}: no message in {body}"));
        let message = &body[at..body[at..].find("</p>").map_or(body.len(), |e| at + e)];
        assert!(message.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{what}: {message}");
    }
    // A photo the record does not list, a malformed hash: not found.
    let other = "f".repeat(64);
    assert_eq!(
        admin.act(&format!("/admin/records/{id}/photos/{other}/redact"), &[("rect", "0,0,1,1")]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        admin.act(&format!("/admin/records/{id}/photos/xyz/redact"), &[("rect", "0,0,1,1")]).await.status,
        StatusCode::NOT_FOUND
    );
    // Nothing was changed by any of them: the photo is still not public.
    let r = public(&h, &format!("/public/photos/{id}/{sha}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let page = admin.page(&format!("/admin/records/{id}")).await;
    assert!(!page.contains("遮挡了照片") && !page.contains("photo_redact"), "no event, no audit");
    // The whole photo is a rectangle too.
    admin.done(&redact, &[("rect", "0,0,1,1")], id, "redact").await;
    let all_black = decode(&public(&h, &format!("/public/photos/{id}/{sha}")).await.body);
    assert!(all_black.pixels().all(|p| p.0.iter().all(|c| *c <= 8)));
}

#[tokio::test]
async fn only_a_public_reports_own_photos_are_ever_public() {
    let h = harness().await;
    let (id, sha, _) = report_with_photo(&h).await;
    let notice = notice(&h).await;
    for path in [
        format!("/public/photos/{notice}/{sha}"),
        format!("/public/photos/{}/{sha}", Uuid::now_v7()),
        format!("/public/photos/{id}/{}", "e".repeat(64)),
        format!("/public/photos/{id}/not-a-hash"),
        format!("/public/photos/not-an-id/{sha}"),
    ] {
        let r = public(&h, &path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(r.header("content-type").starts_with("text/html"));
    }
    // Static assets: the drawing script is served from the console itself.
    let mut admin = Browser::signed_in(&h, "admin").await;
    let js = admin.get("/admin/static/moderate.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.header("content-type").starts_with("text/javascript"));
    assert!(text(&js).contains("data-moderate"));
}

#[tokio::test]
async fn rectangles_are_drawn_on_the_photo_as_it_is_shown_upright() {
    let h = harness().await;
    // Stored 400×300, shown (and drawn on) turned: 300×400.
    let (id, sha, _) = report_with(&h, photo_with_orientation(6)).await;
    let mut admin = Browser::signed_in(&h, "admin").await;
    let redact = format!("/admin/records/{id}/photos/{sha}/redact");
    admin.done(&redact, &[("rect", "0,0,0.5,0.25")], id, "redact").await;
    let public_copy = decode(&public(&h, &format!("/public/photos/{id}/{sha}")).await.body);
    assert_eq!(public_copy.dimensions(), (HEIGHT, WIDTH), "the public copy is upright");
    assert!(public_copy.get_pixel(140, 90).0.iter().all(|c| *c <= 24), "the top left quarter-strip is black");
    assert!(public_copy.get_pixel(160, 110).0.iter().any(|c| *c > 60));
    assert!(public_copy.get_pixel(10, 300).0.iter().any(|c| *c > 60));
    // In pixels of the upright photo: 300 wide, so x + w = 301 is outside.
    let r = admin.act(&redact, &[("unit", "px"), ("rect", "200,0,101,10")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(text(&r).contains("300×400"), "{}", text(&r));
    admin.done(&redact, &[("unit", "px"), ("rect", "200,390,100,10")], id, "redact").await;
}
