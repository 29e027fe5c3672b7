//! Arbitrary input at every front door of the device API and Open311, through the whole
//! router on a real store (proptest): push and login bodies, pull and export queries, the
//! upload's headers and bodies, Open311 forms and paths. Each answer is a client error
//! (4xx, in the typed shape) or a success, never a 5xx, and the server stays up: after each
//! property the same session still pushes and pulls.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{Harness, Login, Resp, authed, harness, login, send};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

const CASES: u32 = 128;

fn runner() -> TestRunner {
    TestRunner::new(Config { cases: CASES, failure_persistence: None, ..Config::default() })
}

fn assert_client_or_ok(r: &Resp, what: &str) -> Result<(), TestCaseError> {
    let body = String::from_utf8_lossy(&r.body);
    prop_assert!(!r.status.is_server_error(), "{what}: {} {body}", r.status);
    if r.status.is_client_error() && r.status != StatusCode::METHOD_NOT_ALLOWED {
        let ct = r.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        prop_assert!(
            ct.starts_with("application/json") || ct.starts_with("text/xml"),
            "{what}: a typed error body, got {ct}: {body}"
        );
    }
    Ok(())
}

/// Strings a hostile or broken client sends: JSON fragments, huge numbers, control and
/// non-BMP characters, SQL and path tricks.
fn nasty() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        "[\\[\\]{}\":,0-9a-z-]{0,60}",
        Just("' OR 1=1 --".to_owned()),
        Just("../../etc/passwd".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("-1".to_owned()),
        Just("\u{0}\u{1f}\u{fffe}😀".to_owned()),
        Just("9".repeat(400)),
    ]
}

/// A JSON value of any shape, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|n| json!(n)),
        nasty().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("ops".to_owned()),
                    Just("op_id".to_owned()),
                    Just("record_id".to_owned()),
                    Just("hlc".to_owned()),
                    Just("action".to_owned()),
                    Just("create".to_owned()),
                    Just("update".to_owned()),
                    Just("step".to_owned()),
                    Just("body".to_owned()),
                    Just("username".to_owned()),
                    Just("password".to_owned()),
                    Just("device_id".to_owned()),
                    "[a-z_]{1,10}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

async fn still_works(h: &Harness, who: &Login) {
    let b = authed(Method::POST, "/v1/sync/push", who).header("content-type", "application/json");
    let r = send(&h.app, b, Body::from(json!({"ops": []}).to_string())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let r = send(&h.app, authed(Method::GET, "/v1/sync/pull?since=0", who), Body::empty()).await;
    assert_eq!(r.status, StatusCode::OK);
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

#[test]
fn arbitrary_push_bodies_are_refused_cleanly() {
    let rt = rt();
    let h = rt.block_on(harness());
    let grid = rt.block_on(login(&h, "grid.kw01"));
    let strategy = prop_oneof![
        any_json().prop_map(|v| v.to_string().into_bytes()),
        any_json().prop_map(|v| json!({ "ops": [v] }).to_string().into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..300),
    ];
    runner()
        .run(&strategy, |body| {
            rt.block_on(async {
                let b = authed(Method::POST, "/v1/sync/push", &grid).header("content-type", "application/json");
                let r = send(&h.app, b, Body::from(body)).await;
                assert_client_or_ok(&r, "push")
            })
        })
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(still_works(&h, &grid));
}

#[test]
fn arbitrary_logins_are_refused_cleanly() {
    let rt = rt();
    let h = rt.block_on(harness());
    let strategy = prop_oneof![
        any_json().prop_map(|v| v.to_string().into_bytes()),
        (nasty(), nasty(), nasty())
            .prop_map(|(u, p, d)| { json!({"username": u, "password": p, "device_id": d}).to_string().into_bytes() }),
        proptest::collection::vec(any::<u8>(), 0..200),
    ];
    runner()
        .run(&strategy, |body| {
            rt.block_on(async {
                let b = Request::builder()
                    .method(Method::POST)
                    .uri(gridwork_core::protocol::paths::LOGIN)
                    .header("content-type", "application/json");
                let r = send(&h.app, b, Body::from(body)).await;
                prop_assert_ne!(r.status, StatusCode::OK, "no arbitrary input signs in");
                assert_client_or_ok(&r, "login")
            })
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let grid = rt.block_on(login(&h, "grid.kw01"));
    rt.block_on(still_works(&h, &grid));
}

#[test]
fn arbitrary_queries_of_pull_and_exports_are_refused_cleanly() {
    let rt = rt();
    let h = rt.block_on(harness());
    let admin = rt.block_on(login(&h, "admin"));
    let pair = (
        prop_oneof![
            Just("since"),
            Just("limit"),
            Just("kind"),
            Just("status"),
            Just("from"),
            Just("to"),
            Just("overdue"),
            Just("sort"),
            Just("personal"),
            Just("x")
        ],
        nasty(),
    );
    let strategy = (
        prop_oneof![Just("/v1/sync/pull"), Just("/v1/exports/records.csv"), Just("/v1/exports/records.geojson")],
        proptest::collection::vec(pair, 0..4),
    );
    runner()
        .run(&strategy, |(path, pairs)| {
            rt.block_on(async {
                let q: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
                let r = send(&h.app, authed(Method::GET, &format!("{path}?{q}"), &admin), Body::empty()).await;
                assert_client_or_ok(&r, path)
            })
        })
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(still_works(&h, &admin));
}

#[test]
fn arbitrary_upload_headers_and_bodies_are_refused_cleanly() {
    let rt = rt();
    let h = rt.block_on(harness());
    let grid = rt.block_on(login(&h, "grid.kw01"));
    let strategy = (
        any_json(),
        "[0-9a-f]{64}",
        prop_oneof![Just("0".to_owned()), "[0-9-]{0,22}".prop_map(|s| s), nasty()],
        prop_oneof![Just("application/offset+octet-stream".to_owned()), Just("application/json".to_owned()), nasty()],
        proptest::collection::vec(any::<u8>(), 0..200),
    );
    runner()
        .run(&strategy, |(start, sha, offset, ct, bytes)| {
            rt.block_on(async {
                let b = authed(Method::POST, "/v1/photos/uploads", &grid).header("content-type", "application/json");
                let r = send(&h.app, b, Body::from(start.to_string())).await;
                assert_client_or_ok(&r, "upload start")?;
                let mut b = authed(Method::PATCH, &format!("/v1/photos/uploads/{sha}"), &grid);
                if let Ok(v) = axum::http::HeaderValue::from_str(&offset) {
                    b = b.header("upload-offset", v);
                }
                if let Ok(v) = axum::http::HeaderValue::from_str(&ct) {
                    b = b.header("content-type", v);
                }
                let r = send(&h.app, b, Body::from(bytes)).await;
                assert_client_or_ok(&r, "upload append")
            })
        })
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(still_works(&h, &grid));
}

#[test]
fn arbitrary_open311_forms_and_paths_are_refused_cleanly() {
    let rt = rt();
    let h = rt.block_on(harness());
    let admin = rt.block_on(login(&h, "admin"));
    // A real key, so generated forms reach past the key check.
    let key = rt.block_on(async {
        let body = json!({"name": "性质测试", "grid": gridwork_core::fixtures::GRID, "lat": 36.7069, "lon": 119.1617});
        let b = authed(Method::POST, "/v1/open311/clients", &admin).header("content-type", "application/json");
        let r = send(&h.app, b, Body::from(body.to_string())).await;
        assert_eq!(r.status, StatusCode::CREATED);
        r.json::<Value>()["api_key"].as_str().expect("key").to_owned()
    });
    let field = prop_oneof![
        Just("service_code"),
        Just("lat"),
        Just("long"),
        Just("address_string"),
        Just("description"),
        Just("media_url"),
        Just("attribute[x]"),
        Just("jurisdiction_id"),
        Just("email")
    ];
    let strategy = (
        proptest::collection::vec((field, nasty()), 0..6),
        prop_oneof![Just("json"), Just("xml"), Just("yaml"), Just("")],
        nasty(),
        any::<bool>(),
    );
    runner()
        .run(&strategy, |(form, fmt, id, with_key)| {
            rt.block_on(async {
                let mut s = form_urlencoded::Serializer::new(String::new());
                if with_key {
                    s.append_pair("api_key", &key);
                }
                let body = s.extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str()))).finish();
                let b = Request::builder()
                    .method(Method::POST)
                    .uri(format!("/open311/v2/requests.{fmt}"))
                    .header("content-type", "application/x-www-form-urlencoded");
                let r = send(&h.app, b, Body::from(body.clone())).await;
                assert_client_or_ok(&r, "open311 post")?;
                let id: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
                for path in [format!("/open311/v2/requests/{id}.{fmt}"), format!("/open311/v2/requests.{fmt}?{body}")] {
                    let r = send(&h.app, Request::builder().uri(path.as_str()), Body::empty()).await;
                    assert_client_or_ok(&r, &path)?;
                }
                Ok(())
            })
        })
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(still_works(&h, &admin));
}
