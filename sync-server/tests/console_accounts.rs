//! 账号与设备 through the whole router on a real SQLite store: an admin creates an account,
//! which signs in on a phone; disabling it ends its sessions at once and its sign-in then
//! answers like a wrong password (device API and console alike); enabling lets it in
//! again; role and scope changes end its sessions; one device is revoked alone; officers
//! get 403 on the page and on every post; bad input comes back on the page with 400/409,
//! the values kept but never the password; everything is in the audit trail.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::browser::{Browser, csrf_of, html_error, text};
use common::{Harness, Login, PASSWORD, Resp, authed, harness, login, send};
use gridwork_core::fixtures;
use gridwork_core::protocol::paths;
use serde_json::json;
use uuid::Uuid;

const NEW_PASSWORD: &str = "初始密码 long enough";

/// A form post that must succeed: 303 back to the accounts page; the page it leads to.
async fn act(b: &mut Browser<'_>, path: &str, form: &[(&str, &str)]) -> String {
    let r = b.post(path, form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}: {}", text(&r));
    let to = r.header("location").to_owned();
    assert!(to.starts_with("/admin/accounts?done="), "{to}");
    b.page(to.split('#').next().expect("path")).await
}

async fn user_id(h: &Harness, username: &str) -> String {
    let refs = h.state.reference().current().await.expect("refs");
    refs.data.users.iter().find(|u| u.username == username).expect("user").id.clone()
}

/// The row of one account (up to the next account's row).
fn row<'p>(page: &'p str, id: &str) -> &'p str {
    let at = page.find(&format!("<tr id=\"u-{id}\"")).unwrap_or_else(|| panic!("row of {id}"));
    let rest = &page[at..];
    let end = rest[1..].find("<tr id=\"u-").map(|e| e + 1).unwrap_or(rest.len());
    &rest[..end]
}

/// One device API sign-in attempt.
async fn attempt(h: &Harness, username: &str, password: &str) -> Resp {
    let body = json!({"username": username, "password": password, "device_id": Uuid::now_v7(), "device_name": "测试手机"});
    let req = Request::builder().method(Method::POST).uri(paths::LOGIN).header("content-type", "application/json");
    send(&h.app, req, Body::from(body.to_string())).await
}

async fn reference_status(h: &Harness, who: &Login) -> StatusCode {
    send(&h.app, authed(Method::GET, paths::REFERENCE, who), Body::empty()).await.status
}

async fn login_as(h: &Harness, username: &str, password: &str) -> Login {
    let device = Uuid::now_v7();
    let body = json!({"username": username, "password": password, "device_id": device, "device_name": "新手机"});
    let req = Request::builder().method(Method::POST).uri(paths::LOGIN).header("content-type", "application/json");
    let r = send(&h.app, req, Body::from(body.to_string())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", text(&r));
    let body: gridwork_core::protocol::LoginResponse = r.json();
    Login { token: body.token, device }
}

/// (actor, action, detail) of the trail's entries about `target`.
async fn audit_actions(h: &Harness, target: &str) -> Vec<(String, String, String)> {
    let entries = h.state.stores().audit.audit_page(0, 1000, Some(target)).await.expect("audit");
    entries.into_iter().map(|e| (e.actor, e.action, e.detail)).collect()
}

#[tokio::test]
async fn a_new_account_signs_in_is_disabled_and_refused_then_enabled() {
    let h = harness().await;
    let mut admin = Browser::signed_in(&h, "admin").await;
    let page = admin.page("/admin/accounts").await;
    assert!(page.contains("账号与设备") && page.contains("id=\"nav-accounts\""));
    for (username, _, _) in common::USERS {
        assert!(page.contains(&format!("<td class=\"mono\">{username}</td>")), "{username}");
    }
    let csrf = csrf_of(&page);

    // Create.
    let form = [
        ("_csrf", csrf.as_str()),
        ("username", "grid.new"),
        ("display_name", "新网格员"),
        ("role", "grid_worker"),
        ("scope", fixtures::GRID),
        ("password", NEW_PASSWORD),
    ];
    let r = admin.post("/admin/accounts", &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", text(&r));
    let id = user_id(&h, "grid.new").await;
    assert_eq!(r.header("location"), format!("/admin/accounts?done=created#u-{id}"));
    assert!(!r.header("location").contains("grid.new") && !r.header("location").contains("password"));
    let page = admin.page("/admin/accounts?done=created").await;
    assert!(page.contains("账号已创建"));
    let mine = row(&page, &id);
    assert!(mine.contains("新网格员") && mine.contains("网格员<span class=\"code\">grid_worker</span>"), "{mine}");
    assert!(mine.contains(fixtures::GRID) && mine.contains("data-status=\"enabled\""), "{mine}");
    assert!(mine.contains("没有登录过的设备"));
    assert!(mine.contains("/admin/enrol?user=grid.new"), "the QR sign-in link");

    // It signs in on a phone, which then shows on the page, live.
    let phone = login_as(&h, "grid.new", NEW_PASSWORD).await;
    assert_eq!(reference_status(&h, &phone).await, StatusCode::OK);
    let page = admin.page("/admin/accounts").await;
    let mine = row(&page, &id);
    assert!(mine.contains(&format!("data-device=\"{}\"", phone.device)), "{mine}");
    assert!(mine.contains("新手机") && mine.contains("data-session=\"live\""), "{mine}");

    // Disable: the phone is refused at once, and its sign-in answers like a wrong password.
    let page = act(&mut admin, &format!("/admin/accounts/{id}/disable"), &[("_csrf", &csrf)]).await;
    assert!(page.contains("账号已停用"));
    let mine = row(&page, &id);
    assert!(mine.contains("data-status=\"disabled\"") && mine.contains("data-session=\"revoked\""), "{mine}");
    assert!(!mine.contains("data-session=\"live\""));
    assert_eq!(reference_status(&h, &phone).await, StatusCode::UNAUTHORIZED);
    let right = attempt(&h, "grid.new", NEW_PASSWORD).await;
    let wrong = attempt(&h, "grid.new", "not the password").await;
    let unknown = attempt(&h, "nobody.here", "not the password").await;
    let right_body = right.error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let wrong_body = wrong.error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    unknown.error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(right.body, wrong.body, "a disabled account's right password answers exactly like a wrong one");
    assert_eq!(right_body.error.message, wrong_body.error.message);

    // Enable: it signs in again.
    let page = act(&mut admin, &format!("/admin/accounts/{id}/enable"), &[("_csrf", &csrf)]).await;
    assert!(page.contains("账号已启用") && row(&page, &id).contains("data-status=\"enabled\""));
    let phone = login_as(&h, "grid.new", NEW_PASSWORD).await;
    assert_eq!(reference_status(&h, &phone).await, StatusCode::OK);

    // The trail names the admin for each action, and never holds the password.
    let admin_id = user_id(&h, "admin").await;
    let trail = audit_actions(&h, &id).await;
    for action in ["user_add", "user_disable", "user_enable"] {
        assert!(trail.iter().any(|(actor, a, _)| a == action && *actor == admin_id), "{action} by admin in {trail:?}");
    }
    assert!(trail.iter().any(|(_, a, d)| a == "sign_in_failed" && d.contains("\"disabled\":true")), "{trail:?}");
    let all = h.state.stores().audit.audit_page(0, 10_000, None).await.expect("audit");
    assert!(all.iter().all(|e| !e.detail.contains(NEW_PASSWORD)));
}

#[tokio::test]
async fn a_disabled_admin_cannot_sign_in_to_the_console_and_its_session_ends() {
    let h = harness().await;
    let mut admin = Browser::signed_in(&h, "admin").await;
    let csrf = admin.csrf().await;
    let form = [
        ("_csrf", csrf.as_str()),
        ("username", "admin.two"),
        ("display_name", "第二管理员"),
        ("role", "admin"),
        ("scope", fixtures::CITY),
        ("password", NEW_PASSWORD),
    ];
    act(&mut admin, "/admin/accounts", &form).await;
    let id = user_id(&h, "admin.two").await;
    let mut second = Browser::new(&h);
    let r = second.sign_in("admin.two", NEW_PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", text(&r));
    assert_eq!(second.get("/admin/accounts").await.status, StatusCode::OK);

    act(&mut admin, &format!("/admin/accounts/{id}/disable"), &[("_csrf", &csrf)]).await;
    // The open console session is gone: back to the sign-in page.
    let r = second.get("/admin/accounts").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.header("location").starts_with("/admin/login"), "{}", r.header("location"));
    // And signing in answers like a wrong password.
    let mut fresh = Browser::new(&h);
    let r = fresh.sign_in("admin.two", NEW_PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(text(&r).contains("用户名或密码错误 (invalid_credentials)"));
    assert!(!text(&r).contains(NEW_PASSWORD));

    // Nobody disables or re-roles themselves.
    let me = user_id(&h, "admin").await;
    let r = admin.post(&format!("/admin/accounts/{me}/disable"), &[("_csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", text(&r));
    assert!(text(&r).contains("不能停用自己的账号"));
    let r = admin
        .post(&format!("/admin/accounts/{me}/role"), &[("_csrf", &csrf), ("role", "officer"), ("scope", fixtures::DISTRICT)])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", text(&r));
    assert!(text(&r).contains("不能修改自己的角色或管辖范围"));
}

#[tokio::test]
async fn changing_scope_ends_the_sessions_and_the_next_sign_in_has_the_new_scope() {
    let h = harness().await;
    let mut admin = Browser::signed_in(&h, "admin").await;
    let csrf = admin.csrf().await;
    let phone = login(&h, "grid.kw01").await;
    let id = user_id(&h, "grid.kw01").await;

    // A scope that does not fit the role, and one that does not exist: 400, the message
    // on the page, nothing changed.
    for (role, scope, message) in [
        ("officer", fixtures::GRID, "执法队员的管辖范围应为 district"),
        ("grid_worker", "999999999", "管辖范围不存在"),
        ("grid_worker", fixtures::DISTRICT, "网格员的管辖范围应为 grid / community"),
        ("boss", fixtures::GRID, "不是有效的角色"),
    ] {
        let r = admin.post(&format!("/admin/accounts/{id}/role"), &[("_csrf", &csrf), ("role", role), ("scope", scope)]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{role} {scope}: {}", text(&r));
        assert!(r.header("content-type").starts_with("text/html"));
        assert!(text(&r).contains(message), "{message} in {}", text(&r));
        assert!(text(&r).contains(&format!("data-for=\"{id}\"")));
    }
    assert_eq!(reference_status(&h, &phone).await, StatusCode::OK, "unchanged: still signed in");

    let page = act(
        &mut admin,
        &format!("/admin/accounts/{id}/role"),
        &[("_csrf", &csrf), ("role", "grid_worker"), ("scope", fixtures::OTHER_GRID)],
    )
    .await;
    assert!(page.contains("角色与管辖范围已修改"));
    assert!(row(&page, &id).contains(&format!("<span class=\"code\">{}</span>", fixtures::OTHER_GRID)));
    assert_eq!(reference_status(&h, &phone).await, StatusCode::UNAUTHORIZED, "its devices sign in again");
    let refs = h.state.reference().current().await.expect("refs");
    assert_eq!(refs.data.users.iter().find(|u| u.id == id).expect("user").scope, fixtures::OTHER_GRID);
    let body = json!({"username": "grid.kw01", "password": PASSWORD, "device_id": Uuid::now_v7()});
    let req = Request::builder().method(Method::POST).uri(paths::LOGIN).header("content-type", "application/json");
    let r = send(&h.app, req, Body::from(body.to_string())).await;
    let r: gridwork_core::protocol::LoginResponse = r.json();
    assert_eq!(r.user.scope, fixtures::OTHER_GRID);

    // The same again: nothing changes, and the page says so.
    let page = act(
        &mut admin,
        &format!("/admin/accounts/{id}/role"),
        &[("_csrf", &csrf), ("role", "grid_worker"), ("scope", fixtures::OTHER_GRID)],
    )
    .await;
    assert!(page.contains("角色与管辖范围没有变化"));
    // An officer made of a grid worker, at district level.
    act(
        &mut admin,
        &format!("/admin/accounts/{id}/role"),
        &[("_csrf", &csrf), ("role", "officer"), ("scope", fixtures::OTHER_DISTRICT)],
    )
    .await;
    let trail = audit_actions(&h, &id).await;
    let changes: Vec<&String> = trail.iter().filter(|(_, a, _)| a == "user_role_scope").map(|(_, _, d)| d).collect();
    assert_eq!(changes.len(), 2, "{trail:?}");
    assert!(changes[1].contains("\"officer\"") && changes[1].contains(fixtures::OTHER_DISTRICT), "{}", changes[1]);
}

#[tokio::test]
async fn one_device_is_revoked_alone_and_last_seen_is_kept() {
    let h = harness().await;
    let mut admin = Browser::signed_in(&h, "admin").await;
    let csrf = admin.csrf().await;
    let first = login(&h, "grid.kw01").await;
    let second = login(&h, "grid.kw01").await;
    let id = user_id(&h, "grid.kw01").await;
    assert_eq!(reference_status(&h, &first).await, StatusCode::OK);

    // The request above wrote the session's last-seen time (off the request's path).
    let mut seen = false;
    for _ in 0..50 {
        let sessions = h.state.stores().accounts.device_sessions(Some(&id)).await.expect("sessions");
        if sessions.iter().any(|s| s.session.device_id == first.device.to_string() && s.last_seen_at.is_some()) {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(seen, "last seen written");

    let page = admin.page("/admin/accounts").await;
    let mine = row(&page, &id);
    assert_eq!(mine.matches("data-session=\"live\"").count(), 2, "{mine}");
    assert_eq!(mine.matches("data-pending=\"—\"").count(), 2, "no pull reported yet: {mine}");
    // A pull says how much the phone still has to send: the page shows it by the device.
    let pull = |pending: &str| format!("{}?since=0&pending={pending}", paths::PULL);
    assert_eq!(send(&h.app, authed(Method::GET, &pull("3"), &first), Body::empty()).await.status, StatusCode::OK);
    let page = admin.page("/admin/accounts").await;
    let mine = row(&page, &id);
    assert_eq!(mine.matches("data-pending=\"3\"").count(), 1, "{mine}");
    assert_eq!(send(&h.app, authed(Method::GET, &pull("0"), &first), Body::empty()).await.status, StatusCode::OK);
    let page = admin.page("/admin/accounts").await;
    let mine = row(&page, &id);
    assert_eq!(mine.matches("data-pending=\"0\"").count(), 1, "all sent: {mine}");
    assert_eq!(
        send(&h.app, authed(Method::GET, &pull("-1"), &first), Body::empty()).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let device = first.device.to_string();
    let page = act(&mut admin, &format!("/admin/accounts/{id}/revoke"), &[("_csrf", &csrf), ("device", &device)]).await;
    assert!(page.contains("该设备已退出登录"));
    let mine = row(&page, &id);
    assert_eq!(mine.matches("data-session=\"live\"").count(), 1, "{mine}");
    assert_eq!(mine.matches("data-session=\"revoked\"").count(), 1, "{mine}");
    assert_eq!(reference_status(&h, &first).await, StatusCode::UNAUTHORIZED);
    assert_eq!(reference_status(&h, &second).await, StatusCode::OK, "the other device stays signed in");

    // Again: it is no longer live. A device id that is not one: the form is refused.
    let r = admin.post(&format!("/admin/accounts/{id}/revoke"), &[("_csrf", &csrf), ("device", &device)]).await;
    html_error(&r, StatusCode::CONFLICT, "conflict");
    let r = admin.post(&format!("/admin/accounts/{id}/revoke"), &[("_csrf", &csrf), ("device", "not-a-uuid")]).await;
    assert!(r.status.is_client_error(), "{}", r.status);
    assert!(text(&r).contains("不是有效的设备编号"));
    let r = admin.post(&format!("/admin/accounts/{id}/revoke"), &[("_csrf", &csrf)]).await;
    assert!(r.status.is_client_error() && text(&r).contains("请填写设备"), "{}", r.status);
    let trail = audit_actions(&h, &id).await;
    assert!(trail.iter().any(|(_, a, d)| a == "revoke" && d.contains(&device)), "{trail:?}");
}

#[tokio::test]
async fn officers_get_403_on_the_page_and_on_every_post() {
    let h = harness().await;
    let mut officer = Browser::signed_in(&h, "officer.kw").await;
    let queue = officer.page("/admin/queue").await;
    assert!(!queue.contains("/admin/accounts"), "no link for officers");
    html_error(&officer.get("/admin/accounts").await, StatusCode::FORBIDDEN, "forbidden");
    let csrf = csrf_of(&queue);
    let id = user_id(&h, "grid.kw01").await;
    let phone = login(&h, "grid.kw01").await;
    let device = phone.device.to_string();
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            "/admin/accounts".into(),
            vec![
                ("username", "grid.evil"),
                ("display_name", "x"),
                ("role", "admin"),
                ("scope", fixtures::CITY),
                ("password", NEW_PASSWORD),
            ],
        ),
        (format!("/admin/accounts/{id}/disable"), vec![]),
        (format!("/admin/accounts/{id}/enable"), vec![]),
        (format!("/admin/accounts/{id}/role"), vec![("role", "admin"), ("scope", fixtures::CITY)]),
        (format!("/admin/accounts/{id}/revoke"), vec![("device", device.as_str())]),
    ];
    for (path, fields) in &posts {
        let mut with_token = vec![("_csrf", csrf.as_str())];
        with_token.extend(fields.iter().copied());
        html_error(&officer.post(path, &with_token).await, StatusCode::FORBIDDEN, "forbidden");
        html_error(&officer.post(path, fields).await, StatusCode::FORBIDDEN, "csrf");
    }
    // Nothing happened.
    assert_eq!(reference_status(&h, &phone).await, StatusCode::OK);
    let refs = h.state.reference().current().await.expect("refs");
    assert!(refs.data.users.iter().all(|u| u.username != "grid.evil"));
    let u = refs.data.users.iter().find(|u| u.id == id).expect("user");
    assert_eq!((u.role, u.scope.as_str()), (gridwork_core::model::Role::GridWorker, fixtures::GRID));

    // An admin's forms without the token, or from another site, are refused too.
    let mut admin = Browser::signed_in(&h, "admin").await;
    let admin_csrf = admin.csrf().await;
    html_error(&admin.post(&format!("/admin/accounts/{id}/disable"), &[]).await, StatusCode::FORBIDDEN, "csrf");
    let r =
        admin.post_with(&format!("/admin/accounts/{id}/disable"), &[("_csrf", &admin_csrf)], Some("https://evil.example")).await;
    html_error(&r, StatusCode::FORBIDDEN, "cross_origin");
    assert_eq!(reference_status(&h, &phone).await, StatusCode::OK);
    // An account that does not exist.
    let r = admin.post(&format!("/admin/accounts/{}/disable", Uuid::now_v7()), &[("_csrf", &admin_csrf)]).await;
    html_error(&r, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn bad_new_accounts_come_back_with_the_message_and_the_values_but_not_the_password() {
    let h = harness().await;
    let mut admin = Browser::signed_in(&h, "admin").await;
    let csrf = admin.csrf().await;
    let secret = "short7!";
    let cases: [(&str, &str, &str, &str, &str, StatusCode, &str); 8] = [
        ("grid.kw01", "重名", "grid_worker", fixtures::GRID, NEW_PASSWORD, StatusCode::CONFLICT, "用户名已存在"),
        ("grid.x1", "未知范围", "grid_worker", "370799999999-99", NEW_PASSWORD, StatusCode::BAD_REQUEST, "管辖范围不存在"),
        ("grid.x2", "密码太短", "grid_worker", fixtures::GRID, secret, StatusCode::BAD_REQUEST, "密码至少8位"),
        ("Grid X", "坏用户名", "grid_worker", fixtures::GRID, NEW_PASSWORD, StatusCode::BAD_REQUEST, "用户名只能含小写字母"),
        ("grid.x3", "层级不对", "admin", fixtures::GRID, NEW_PASSWORD, StatusCode::BAD_REQUEST, "管理员的管辖范围应为 city"),
        ("grid.x4", "坏角色", "root", fixtures::GRID, NEW_PASSWORD, StatusCode::BAD_REQUEST, "不是有效的角色"),
        ("grid.x5", "无密码", "grid_worker", fixtures::GRID, "", StatusCode::BAD_REQUEST, "请填写初始密码"),
        ("grid.x6", "", "grid_worker", fixtures::GRID, NEW_PASSWORD, StatusCode::BAD_REQUEST, "请填写姓名"),
    ];
    for (username, name, role, scope, password, status, message) in cases {
        let form = [
            ("_csrf", csrf.as_str()),
            ("username", username),
            ("display_name", name),
            ("role", role),
            ("scope", scope),
            ("password", password),
        ];
        let r = admin.post("/admin/accounts", &form).await;
        let t = text(&r);
        assert_eq!(r.status, status, "{username}: {t}");
        assert!(r.header("content-type").starts_with("text/html"));
        assert!(t.contains("id=\"form-error\"") && t.contains(message), "{message} in {t}");
        assert!(t.contains("data-for=\"create\""));
        if !name.is_empty() {
            assert!(t.contains(&format!("value=\"{name}\"")), "the name typed is kept: {name}");
        }
        assert!(t.contains(&format!("id=\"new-scope\" value=\"{scope}\"")), "the scope typed is kept");
        if !password.is_empty() {
            assert!(!t.contains(password), "the password is never sent back");
        }
    }
    let r = admin.post("/admin/accounts", &[("_csrf", csrf.as_str())]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", text(&r));
    assert!(text(&r).contains("请填写用户名"));
    // Not a form at all.
    let b = admin
        .builder(Method::POST, "/admin/accounts")
        .header("content-type", "application/json")
        .header("origin", "http://console.test");
    let r = send(&h.app, b, Body::from("{}")).await;
    assert!(r.status.is_client_error(), "{}", r.status);
    // None of these made an account, nor wrote a password anywhere.
    let refs = h.state.reference().current().await.expect("refs");
    assert_eq!(refs.data.users.len(), common::USERS.len());
    let all = h.state.stores().audit.audit_page(0, 10_000, None).await.expect("audit");
    assert!(all.iter().all(|e| !e.detail.contains(secret) && !e.detail.contains(NEW_PASSWORD)));
}
