//! Notice numbers through the whole router: who may take a block, bad requests, a notice
//! whose number is not its device's or is used, returns, losses when a phone changes hands,
//! and the admins' account of every number.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{Harness, Login, authed, harness, login, send, take_block};
use gridwork_core::fixtures;
use gridwork_core::hlc::Hlc;
use gridwork_core::model::RecordBody;
use gridwork_core::numbering::{NumberBlock, format_number};
use gridwork_core::protocol::{Op, PushRequest, PushResponse, RejectReason, ReturnResponse, paths};
use uuid::Uuid;

async fn call(h: &Harness, method: Method, path: &str, who: &Login, body: serde_json::Value) -> common::Resp {
    let b = authed(method, path, who).header("content-type", "application/json");
    send(&h.app, b, Body::from(body.to_string())).await
}

/// Push a new notice numbered `number`; why it was refused, if it was.
async fn issue_notice(h: &Harness, who: &Login, number: &str) -> Option<RejectReason> {
    let mut rec = fixtures::records().remove(1);
    rec.id = Uuid::now_v7();
    let RecordBody::Notice(n) = &mut rec.body else { unreachable!() };
    n.number = number.into();
    let op: Op = fixtures::create_op(rec, Hlc::new(1_700_000_000_000, 0, "dev"));
    let body = serde_json::to_value(PushRequest { ops: vec![op], sigs: vec![] }).expect("json");
    let r = call(h, Method::POST, paths::PUSH, who, body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let resp: PushResponse = r.json();
    resp.results[0].rejection.as_ref().map(|j| j.reason)
}

fn kw(n: u64) -> String {
    format_number("奎文", 2026, n)
}

#[tokio::test]
async fn only_officers_and_admins_take_blocks_and_bad_counts_are_422() {
    let h = harness().await;
    let worker = login(&h, "grid.kw01").await;
    let officer = login(&h, "officer.kw").await;
    call(&h, Method::POST, paths::NUMBER_BLOCKS, &worker, serde_json::json!({"count": 10}))
        .await
        .error(StatusCode::FORBIDDEN, "forbidden");
    for bad in [
        serde_json::json!({"count": 0}),
        serde_json::json!({"count": 1001}),
        serde_json::json!({"count": "x"}),
        serde_json::json!({}),
    ] {
        let r = call(&h, Method::POST, paths::NUMBER_BLOCKS, &officer, bad.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {}", String::from_utf8_lossy(&r.body));
    }
    let block = take_block(&h, &officer, 100).await;
    assert_eq!((block.prefix.as_str(), block.first, block.last), ("奎文", 1, 100));
    // Another brigade's sequence is its own.
    let wc = login(&h, "officer.wc").await;
    let other = take_block(&h, &wc, 5).await;
    assert_eq!((other.prefix.as_str(), other.first), ("潍城", 1));
    // What is left, after a reinstall.
    let open = call(&h, Method::GET, paths::NUMBER_BLOCKS, &officer, serde_json::json!(null)).await;
    assert_eq!(open.status, StatusCode::OK);
    assert_eq!(open.json::<Vec<NumberBlock>>(), vec![block]);
    // The account is for admins.
    call(&h, Method::GET, paths::NUMBER_ACCOUNTS, &officer, serde_json::json!(null))
        .await
        .error(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn a_notice_needs_a_number_of_its_own_device_block_once() {
    let h = harness().await;
    let officer = login(&h, "officer.kw").await;
    let second_phone = login(&h, "officer.kw").await;
    assert_eq!(issue_notice(&h, &officer, &kw(1)).await, Some(RejectReason::NumberNotIssued), "no block yet");
    let block = take_block(&h, &officer, 10).await;
    assert_eq!(issue_notice(&h, &officer, &kw(block.first)).await, None);
    assert_eq!(issue_notice(&h, &officer, &kw(block.first)).await, Some(RejectReason::NumberUsed));
    // The same account's other phone holds no block: a forged number from the first is refused.
    assert_eq!(issue_notice(&h, &second_phone, &kw(block.first + 1)).await, Some(RejectReason::NumberNotIssued));
    assert_eq!(issue_notice(&h, &officer, &kw(11)).await, Some(RejectReason::NumberNotIssued), "past the block");
    assert_eq!(issue_notice(&h, &officer, "GZ-2026-0001").await, Some(RejectReason::Invalid), "not a number");
    assert_eq!(issue_notice(&h, &officer, &format_number("潍城", 2026, 2)).await, Some(RejectReason::NumberNotIssued));
}

#[tokio::test]
async fn returns_and_a_phone_changing_hands_leave_every_number_accounted() {
    let h = harness().await;
    let officer = login(&h, "officer.kw").await;
    let admin = login(&h, "admin").await;
    let block = take_block(&h, &officer, 20).await;
    for n in 1..=3 {
        assert_eq!(issue_notice(&h, &officer, &kw(n)).await, None);
    }
    // A return below what is used, of another device's block, or malformed changes nothing.
    let r =
        call(&h, Method::POST, paths::NUMBER_RETURN, &officer, serde_json::json!({"blocks": [{"block": block.id, "from": 2}]}))
            .await;
    assert_eq!(r.json::<ReturnResponse>().returned, 0);
    let r =
        call(&h, Method::POST, paths::NUMBER_RETURN, &admin, serde_json::json!({"blocks": [{"block": block.id, "from": 10}]}))
            .await;
    assert_eq!(r.json::<ReturnResponse>().returned, 0);
    let r = call(&h, Method::POST, paths::NUMBER_RETURN, &officer, serde_json::json!({"blocks": [{"block": -1}]})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Signing out gives back 11-20; the phone keeps 4-10 until it changes hands.
    let r =
        call(&h, Method::POST, paths::NUMBER_RETURN, &officer, serde_json::json!({"blocks": [{"block": block.id, "from": 11}]}))
            .await;
    assert_eq!(r.json::<ReturnResponse>().returned, 10);
    assert_eq!(issue_notice(&h, &officer, &kw(15)).await, Some(RejectReason::NumberNotIssued), "given back");

    // Another officer signs in on the same phone: 4-10 are lost, never reused.
    let body = serde_json::json!({"username": "officer.wc", "password": common::PASSWORD, "device_id": officer.device, "device_name": "测试手机"});
    let r = send(
        &h.app,
        axum::http::Request::builder().method(Method::POST).uri(paths::LOGIN).header("content-type", "application/json"),
        Body::from(body.to_string()),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);

    let r = call(&h, Method::GET, paths::NUMBER_ACCOUNTS, &admin, serde_json::json!(null)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let accounts: Vec<serde_json::Value> = r.json();
    assert_eq!(accounts.len(), 1);
    let a = &accounts[0];
    assert_eq!(
        (a["used"].as_u64(), a["returned"].as_u64(), a["lost"].as_u64(), a["open"].as_u64()),
        (Some(3), Some(10), Some(7), Some(0)),
        "{a}"
    );
    // Written to the audit trail: issued, returned, lost.
    let events: Vec<String> =
        h.state.stores().audit.audit_page(0, 1000, None).await.expect("audit").into_iter().map(|e| e.action).collect();
    for e in ["numbers_issued", "numbers_returned", "numbers_lost"] {
        assert!(events.iter().any(|x| x == e), "{e} in {events:?}");
    }
}
