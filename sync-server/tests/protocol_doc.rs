//! `docs/protocol.md` cannot drift from the server: its error table lists exactly the
//! codes the device API's error type can send, with their statuses.

use axum::http::{Method, StatusCode};
use gridwork_server::http::error::AppError;
use std::collections::BTreeSet;

/// One of every error the device API can answer with. The match below has no wildcard:
/// a new variant does not compile until it is listed here (and so checked against the doc).
fn every_error() -> Vec<AppError> {
    use AppError::*;
    let statuses = [400u16, 401, 403, 404, 405, 413, 415, 500];
    let mut all = vec![
        MalformedJson,
        MalformedBody,
        InvalidRequest(String::new()),
        UnsupportedMediaType,
        PayloadTooLarge,
        Unauthorized,
        InvalidCredentials,
        TooManyAttempts(30),
        Forbidden,
        NotFound,
        MethodNotAllowed,
        BatchTooLarge,
        InvalidOp(String::new()),
        PhotoTooLarge(1),
        OffsetMismatch,
        UploadTooLong,
        HashMismatch,
        UnsupportedPhotoType,
        UnsupportedUploadType,
        UploadInterrupted,
        PhotoPending,
        UsernameTaken,
        Internal(String::new()),
    ];
    all.extend(statuses.iter().map(|s| Status(StatusCode::from_u16(*s).expect("status"))));
    for e in &all {
        match e {
            MalformedJson
            | MalformedBody
            | InvalidRequest(_)
            | UnsupportedMediaType
            | PayloadTooLarge
            | Unauthorized
            | InvalidCredentials
            | TooManyAttempts(_)
            | Forbidden
            | NotFound
            | MethodNotAllowed
            | BatchTooLarge
            | InvalidOp(_)
            | PhotoTooLarge(_)
            | OffsetMismatch
            | UploadTooLong
            | HashMismatch
            | UnsupportedPhotoType
            | UnsupportedUploadType
            | UploadInterrupted
            | PhotoPending
            | UsernameTaken
            | Status(_)
            | Internal(_) => {}
        }
    }
    all
}

/// `(status, code)` pairs of the doc's error table (a row may name two codes).
fn documented() -> BTreeSet<(u16, String)> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md")).expect("docs/protocol.md");
    let start = doc.find("| status | code | when |").expect("the error table");
    let mut out = BTreeSet::new();
    for line in doc[start..].lines().skip(2) {
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let status: u16 = cells[1].parse().unwrap_or_else(|_| panic!("status of {line}"));
        for code in cells[2].split('/').map(|c| c.trim().trim_matches('`')) {
            out.insert((status, code.to_owned()));
        }
    }
    out
}

#[test]
fn the_error_table_lists_every_code_the_server_sends_and_nothing_else() {
    let sent: BTreeSet<(u16, String)> = every_error().iter().map(|e| (e.status().as_u16(), e.code().to_owned())).collect();
    let doc = documented();
    let undocumented: Vec<_> = sent.difference(&doc).collect();
    let never_sent: Vec<_> = doc.difference(&sent).collect();
    assert!(undocumented.is_empty(), "sent but not in docs/protocol.md: {undocumented:?}");
    assert!(never_sent.is_empty(), "in docs/protocol.md but never sent: {never_sent:?}");
}

mod common;

#[tokio::test]
async fn a_path_the_router_cannot_decode_is_bad_request() {
    use axum::body::Body;
    let h = common::harness().await;
    let l = common::login(&h, "grid.kw01").await;
    let req = common::authed(Method::GET, "/v1/photos/%FF", &l);
    common::send(&h.app, req, Body::empty()).await.error(StatusCode::BAD_REQUEST, "bad_request");
}
