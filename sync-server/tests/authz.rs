//! The authorization matrix: every route of the device API, Open311's client management,
//! the console and the public pages, asked by each kind of caller (nobody, a grid worker,
//! an officer, an admin), through the whole router on a real store. Each cell is either
//! refused (401 for nobody, 403 for a role without the right; the console sends nobody to
//! its sign-in page) or let through to the handler (any other answer: the handler's own
//! 200, 400, 404 or 422 for the placeholder input). The matrix is printed, and a cell that
//! differs from the table below fails the test.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::browser::Browser;
use common::{Harness, Login, authed, harness, login, send};
use serde_json::json;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Nobody,
    Grid,
    Officer,
    Admin,
}

const ALL: [Who; 4] = [Who::Nobody, Who::Grid, Who::Officer, Who::Admin];

/// Who is let through.
#[derive(Clone, Copy, Debug)]
enum Rule {
    /// Anyone, signed in or not (public).
    Public,
    /// Any signed-in account.
    SignedIn,
    /// Officers and admins.
    Staff,
    /// Admins only.
    Admins,
}

impl Rule {
    fn allows(self, who: Who) -> bool {
        match self {
            Rule::Public => true,
            Rule::SignedIn => who != Who::Nobody,
            Rule::Staff => matches!(who, Who::Officer | Who::Admin),
            Rule::Admins => who == Who::Admin,
        }
    }
}

const SHA: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A device API row: method, path, JSON body, rule.
type ApiRoute = (Method, String, Option<serde_json::Value>, Rule);
/// A console row: method, path, form fields, rule.
type ConsoleRoute = (Method, String, Vec<(&'static str, String)>, Rule);

/// The device API and Open311's client management.
fn api_routes() -> Vec<ApiRoute> {
    let id = uuid::Uuid::now_v7();
    vec![
        (Method::POST, "/v1/auth/revoke".into(), Some(json!({"username": "nobody.here"})), Rule::Admins),
        // A body the handler would refuse: still 403 first for those without the right.
        (Method::POST, "/v1/auth/revoke".into(), Some(json!({"user": 1})), Rule::Admins),
        (Method::POST, "/v1/sync/push".into(), Some(json!({"ops": []})), Rule::SignedIn),
        (Method::GET, "/v1/sync/pull?since=0".into(), None, Rule::SignedIn),
        (Method::GET, "/v1/reference".into(), None, Rule::SignedIn),
        (Method::GET, "/v1/figures?from=2026-11-01&to=2026-12-01".into(), None, Rule::Staff),
        (Method::POST, "/v1/photos/uploads".into(), Some(json!({})), Rule::SignedIn),
        (Method::GET, format!("/v1/photos/{SHA}"), None, Rule::SignedIn),
        (Method::GET, format!("/v1/photos/{SHA}/thumb"), None, Rule::SignedIn),
        (Method::POST, "/v1/numbers/blocks".into(), Some(json!({"count": 1})), Rule::Staff),
        // Every device lists and gives back its blocks in its sync (a grid worker's: none).
        (Method::GET, "/v1/numbers/blocks".into(), None, Rule::SignedIn),
        (Method::POST, "/v1/numbers/return".into(), Some(json!({"blocks": []})), Rule::SignedIn),
        (Method::GET, "/v1/numbers/accounts".into(), None, Rule::Admins),
        (Method::GET, "/v1/exports/records.csv".into(), None, Rule::SignedIn),
        (Method::GET, "/v1/exports/records.csv?personal=true".into(), None, Rule::Staff),
        (Method::GET, "/v1/exports/records.geojson".into(), None, Rule::SignedIn),
        (Method::GET, "/v1/open311/clients".into(), None, Rule::Admins),
        (Method::POST, "/v1/open311/clients".into(), Some(json!({"name": "x"})), Rule::Admins),
        (Method::DELETE, format!("/v1/open311/clients/{id}"), None, Rule::Admins),
        (Method::POST, "/v1/auth/login".into(), Some(json!({"username": "x", "password": "y", "device_id": id})), Rule::Public),
        (Method::POST, "/v1/auth/enrol".into(), Some(json!({"code": "x", "device_id": id})), Rule::Public),
        (Method::GET, "/open311/v2/services.json".into(), None, Rule::Public),
        (Method::GET, "/openapi.json".into(), None, Rule::Public),
        (Method::GET, "/healthz".into(), None, Rule::Public),
        (Method::GET, format!("/public/notices/{id}"), None, Rule::Public),
        // Last: it ends the session the rows above used.
        (Method::POST, "/v1/auth/logout".into(), None, Rule::SignedIn),
    ]
}

/// The console. Grid workers have no console at all.
fn console_routes(record: &str, user: &str) -> Vec<ConsoleRoute> {
    let r = record.to_owned();
    let form = |pairs: &[(&'static str, &str)]| pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect::<Vec<_>>();
    vec![
        (Method::GET, "/admin/queue".into(), vec![], Rule::Staff),
        (Method::GET, "/admin/records".into(), vec![], Rule::Staff),
        (Method::GET, format!("/admin/records/{r}"), vec![], Rule::Staff),
        (Method::GET, "/admin/records.csv".into(), vec![], Rule::Staff),
        (Method::GET, "/admin/map".into(), vec![], Rule::Staff),
        (Method::GET, "/admin/map/points.geojson".into(), vec![], Rule::Staff),
        (Method::GET, "/admin/figures".into(), vec![], Rule::Staff),
        (Method::GET, "/admin/bulletin".into(), vec![], Rule::Staff),
        (Method::GET, "/admin/audit".into(), vec![], Rule::Admins),
        (Method::GET, "/admin/accounts".into(), vec![], Rule::Admins),
        (Method::GET, format!("/admin/enrol?user={user}"), vec![], Rule::Admins),
        (Method::POST, "/admin/records.csv".into(), form(&[("filter", ""), ("personal", "1")]), Rule::Staff),
        (Method::POST, format!("/admin/records/{r}/reveal"), form(&[("field", "party_phone")]), Rule::Admins),
        (Method::POST, format!("/admin/records/{r}/open"), form(&[("category", "09006")]), Rule::Admins),
        (Method::POST, format!("/admin/records/{r}/step"), form(&[("action", "note"), ("note", "x")]), Rule::Admins),
        (Method::POST, format!("/admin/records/{r}/status"), form(&[("status", "voided"), ("reason", "x")]), Rule::Admins),
        (Method::POST, format!("/admin/records/{r}/hide"), form(&[("reason", "测试")]), Rule::Admins),
        (Method::POST, format!("/admin/records/{r}/unhide"), vec![], Rule::Admins),
        (Method::POST, format!("/admin/records/{r}/photos/{SHA}/publish"), vec![], Rule::Admins),
        (Method::POST, "/admin/bulk".into(), form(&[("action", "void"), ("scope", "selected"), ("reason", "x")]), Rule::Admins),
        (Method::POST, "/admin/enrol".into(), form(&[("user", user)]), Rule::Admins),
        (Method::POST, "/admin/accounts".into(), form(&[("username", "")]), Rule::Admins),
        (Method::POST, "/admin/accounts/nobody/disable".into(), vec![], Rule::Admins),
    ]
}

async fn api_status(
    h: &Harness,
    who: Option<&Login>,
    method: &Method,
    path: &str,
    body: &Option<serde_json::Value>,
) -> StatusCode {
    let mut b = match who {
        Some(l) => authed(method.clone(), path, l),
        None => Request::builder().method(method.clone()).uri(path),
    };
    let body = match body {
        Some(v) => {
            b = b.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    send(&h.app, b, body).await.status
}

fn refused_api(who: Who, status: StatusCode) -> bool {
    status == if who == Who::Nobody { StatusCode::UNAUTHORIZED } else { StatusCode::FORBIDDEN }
}

#[tokio::test]
async fn every_route_lets_through_exactly_who_may_use_it() {
    let h = harness().await;
    let logins = [None, Some(login(&h, "grid.kw01").await), Some(login(&h, "officer.kw").await), Some(login(&h, "admin").await)];
    let mut wrong = Vec::new();
    let mut table = String::from("\nroute                                                   nobody  grid  officer  admin\n");

    for (method, path, body, rule) in api_routes() {
        let mut row = format!("{:<56}", format!("{method} {path}").chars().take(55).collect::<String>());
        for (i, who) in ALL.iter().enumerate() {
            let status = api_status(&h, logins[i].as_ref(), &method, &path, &body).await;
            let refused = refused_api(*who, status);
            // A refusal is 401/403 exactly; a pass is anything but those and never a 5xx
            // (a public route's own 401 is its answer: a wrong password, a bad code).
            let ok = if matches!(rule, Rule::Public) {
                !status.is_server_error()
            } else if rule.allows(*who) {
                !refused && status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN && !status.is_server_error()
            } else {
                refused
            };
            if !ok {
                wrong.push(format!("{method} {path} as {who:?}: {status} (rule {rule:?})"));
            }
            row.push_str(&format!("{:>7}", status.as_u16()));
        }
        table.push_str(&row);
        table.push('\n');
    }

    // The console, as each kind of caller: a grid worker's sign-in is refused like a wrong
    // password, so they browse as nobody.
    let record = {
        let rec = gridwork_core::fixtures::records().remove(0);
        let op = gridwork_core::fixtures::create_op(rec.clone(), gridwork_core::hlc::Hlc::new(1, 0, "dev"));
        let mut v = serde_json::to_value(op).unwrap();
        v["action"]["create"]["created_at"] = json!(chrono::Utc::now());
        let grid = login(&h, "grid.kw01").await;
        let b = authed(Method::POST, "/v1/sync/push", &grid).header("content-type", "application/json");
        assert_eq!(send(&h.app, b, Body::from(json!({"ops": [v]}).to_string())).await.status, StatusCode::OK);
        rec.id.to_string()
    };
    let mut grid_browser = Browser::new(&h);
    let r = grid_browser.sign_in("grid.kw01", common::PASSWORD).await;
    assert_ne!(r.status, StatusCode::SEE_OTHER, "a grid worker has no console");
    let mut browsers =
        [Browser::new(&h), grid_browser, Browser::signed_in(&h, "officer.kw").await, Browser::signed_in(&h, "admin").await];
    // The signed-in browsers' CSRF tokens (the others post without one, as a forger would).
    let mut tokens = vec![String::new(), String::new()];
    for b in browsers[2..].iter_mut() {
        tokens.push(b.csrf().await);
    }
    table.push_str("\nconsole\n");
    for (method, path, form, rule) in console_routes(&record, "grid.kw01") {
        let mut row = format!("{:<56}", format!("{method} {path}").chars().take(55).collect::<String>());
        for (i, who) in ALL.iter().enumerate() {
            let b = &mut browsers[i];
            let r = if method == Method::GET {
                b.get(&path).await
            } else {
                let mut f: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                f.push(("_csrf", tokens[i].as_str()));
                b.post(&path, &f).await
            };
            let to_sign_in = r.status == StatusCode::SEE_OTHER
                && r.headers.get("location").and_then(|v| v.to_str().ok()).is_some_and(|l| l.starts_with("/admin/login"));
            // Nobody (and a grid worker, who cannot sign in) is sent to the sign-in page or,
            // for a form, refused; a role without the right gets 403.
            let refused = to_sign_in || r.status == StatusCode::FORBIDDEN;
            let ok = if rule.allows(*who) { !refused && !r.status.is_server_error() } else { refused };
            if !ok {
                wrong.push(format!("console {method} {path} as {who:?}: {} (rule {rule:?})", r.status));
            }
            row.push_str(&format!("{:>7}", r.status.as_u16()));
        }
        table.push_str(&row);
        table.push('\n');
    }
    eprintln!("{table}");
    assert!(wrong.is_empty(), "cells that differ from the rules:\n{}", wrong.join("\n"));
}
