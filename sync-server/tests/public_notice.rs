//! The public status page of a notice (`/public/notices/{id}`) through the whole router: no
//! sign-in, the number, status, deadline and category, nothing personal, 404 pages for ids
//! that are unknown, malformed or not notices.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{Harness, Login, authed, harness, login, send, take_block};
use gridwork_core::fixtures;
use gridwork_core::hlc::Hlc;
use gridwork_core::model::RecordBody;
use gridwork_core::numbering::format_number;
use gridwork_core::protocol::{PushRequest, PushResponse, paths};
use uuid::Uuid;

async fn push(h: &Harness, who: &Login, rec: gridwork_core::model::Record) {
    let op = fixtures::create_op(rec, Hlc::new(1_700_000_000_000, 0, "dev"));
    let body = serde_json::to_string(&PushRequest { ops: vec![op], sigs: vec![] }).expect("json");
    let r =
        send(&h.app, authed(Method::POST, paths::PUSH, who).header("content-type", "application/json"), Body::from(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let resp: PushResponse = r.json();
    assert!(resp.results[0].rejection.is_none(), "{:?}", resp.results[0].rejection);
}

async fn page(h: &Harness, path: &str) -> (StatusCode, String, String) {
    let r = send(&h.app, Request::builder().method(Method::GET).uri(path), Body::empty()).await;
    let ct = r.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    (r.status, ct, String::from_utf8(r.body).expect("utf-8"))
}

#[tokio::test]
async fn the_status_page_shows_the_notice_without_sign_in_and_nothing_personal() {
    let h = harness().await;
    let officer = login(&h, "officer.kw").await;
    let block = take_block(&h, &officer, 5).await;
    let mut rec = fixtures::records().remove(1);
    rec.id = Uuid::now_v7();
    let number = format_number("奎文", 2026, block.first);
    let RecordBody::Notice(n) = &mut rec.body else { unreachable!() };
    n.number = number.clone();
    n.facts = "店外占道<b>摆放</b>水果".into();
    push(&h, &officer, rec.clone()).await;

    let (status, ct, html) = page(&h, &format!("{}{}", paths::PUBLIC_NOTICE_PREFIX, rec.id)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(ct.starts_with("text/html"), "{ct}");
    for want in [number.as_str(), "已告知", "2026年11月23日前", "乱摆摊", "奎文区"] {
        assert!(html.contains(want), "page lacks {want:?}: {html}");
    }
    for personal in ["张某", "老张水果店", "13805361234", "摆放", "胜利东街", "测试officer.kw"] {
        assert!(!html.contains(personal), "page shows {personal:?}");
    }

    // A report's id, an unknown id and a malformed one: the same HTML 404.
    let mut report = fixtures::records().remove(0);
    report.id = Uuid::now_v7();
    push(&h, &login(&h, "grid.kw01").await, report.clone()).await;
    for id in [report.id.to_string(), Uuid::now_v7().to_string(), "not-an-id".into(), "%3Cscript%3E".into()] {
        let (status, ct, html) = page(&h, &format!("{}{id}", paths::PUBLIC_NOTICE_PREFIX)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}");
        assert!(ct.starts_with("text/html") && html.contains("未找到"), "{id}: {html}");
        assert!(!html.contains("<script>"));
    }
}
