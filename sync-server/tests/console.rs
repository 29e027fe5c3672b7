//! The admin console through the whole router on a real SQLite store: the cookie session
//! (flags, CSRF, idle expiry, sign-out, the device API's answer to a wrong password), the
//! table (combined filters, free text, sort, keyset paging, URLs carrying the filters),
//! one record (masked personal data, the audited reveal, 立案 + 派遣 through the push
//! path), bulk actions, read-only officers, HTML errors, the other pages and assets.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::browser::{Browser, csrf_of, html_error, text};
use common::{Harness, Login, Resp, authed, harness, login, send};
use gridwork_core::fixtures;
use gridwork_core::hlc::Hlc;
use gridwork_core::model::{Record, RecordBody, Report};
use serde_json::{Value, json};
use uuid::Uuid;

const PASSWORD: &str = common::PASSWORD;

fn hlc() -> Hlc {
    Hlc::new(chrono::Utc::now().timestamp_millis().max(0) as u64, 0, "testdevice")
}

async fn push(h: &Harness, who: &Login, ops: Vec<Value>) {
    let b = authed(Method::POST, "/v1/sync/push", who).header("content-type", "application/json");
    let r = send(&h.app, b, Body::from(json!({ "ops": ops }).to_string())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", text(&r));
    let v: Value = r.json();
    for res in v["results"].as_array().expect("results") {
        assert_eq!(res["outcome"], "accepted", "{res}");
    }
}

/// A report by grid.kw01 in the fixture grid, now.
fn report(description: &str, category: &str) -> Record {
    let mut rec = fixtures::records().remove(0);
    rec.id = Uuid::now_v7();
    rec.created_at = chrono::Utc::now();
    rec.body = RecordBody::Report(Report {
        category: category.into(),
        description: description.into(),
        photos: vec![],
        duplicate_of: None,
    });
    rec
}

async fn file_reports(h: &Harness, reports: &[Record]) {
    let grid = login(h, "grid.kw01").await;
    let ops = reports.iter().map(|r| serde_json::to_value(fixtures::create_op(r.clone(), hlc())).expect("op")).collect();
    push(h, &grid, ops).await;
}

/// A notice with the fixture's party (张某, 13805361234) issued by officer.kw.
async fn file_notice(h: &Harness) -> Uuid {
    let officer = login(h, "officer.kw").await;
    let notice = fixtures::records().remove(1);
    let mut op = serde_json::to_value(fixtures::create_op(notice.clone(), hlc())).expect("op");
    op["action"]["create"]["created_at"] = json!(chrono::Utc::now());
    op["action"]["create"]["body"]["notice"]["deadline"] = json!((chrono::Utc::now() + chrono::Duration::days(3)).date_naive());
    let b = authed(Method::POST, "/v1/numbers/blocks", &officer).header("content-type", "application/json");
    let block = send(&h.app, b, Body::from(json!({"count": 1}).to_string())).await;
    assert_eq!(block.status, StatusCode::OK, "{}", text(&block));
    let block: gridwork_core::numbering::NumberBlock = block.json();
    op["action"]["create"]["body"]["notice"]["number"] =
        json!(gridwork_core::numbering::format_number(&block.prefix, block.year, block.first));
    push(h, &officer, vec![op]).await;
    notice.id
}

async fn user_id(h: &Harness, username: &str) -> String {
    let refs = h.state.reference().current().await.expect("refs");
    refs.data.users.iter().find(|u| u.username == username).expect("user").id.clone()
}

/// The record ids of the table's rows, in order.
fn row_ids(page: &str) -> Vec<String> {
    page.split("<tr data-id=\"").skip(1).map(|s| s.split('"').next().expect("id").to_owned()).collect()
}

fn total_of(page: &str) -> u64 {
    let at = page.find("id=\"total\">共 ").expect("total") + "id=\"total\">共 ".len();
    page[at..].split(' ').next().expect("n").parse().expect("number")
}

#[tokio::test]
async fn sign_in_sets_a_strict_http_only_cookie_and_signs_out() {
    let h = harness().await;
    let mut b = Browser::new(&h);
    // No session: to the sign-in page (and htmx is told to load it).
    let r = b.get("/admin/records?kind=report").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // The page asked for (filters included) is where the sign-in returns to.
    let back = "/admin/login?next=%2Fadmin%2Frecords%3Fkind%3Dreport";
    assert_eq!(r.header("location"), back);
    assert_eq!(r.header("hx-redirect"), back);
    let form = b.page(back).await;
    assert!(form.contains("name=\"next\" value=\"/admin/records?kind=report\""), "{form}");
    // Form posts never become a return address.
    let r = b.post("/admin/logout", &[]).await;
    assert_eq!(r.header("location"), "/admin/login");

    // The sign-in form carries a token of its own cookie.
    let page = b.get("/admin/login").await;
    let login_cookie = page.header("set-cookie").to_owned();
    assert!(
        login_cookie.starts_with("gw_login=") && login_cookie.contains("HttpOnly") && login_cookie.contains("SameSite=Strict")
    );
    assert!(!login_cookie.contains("Secure"), "not over plain HTTP");
    let token = csrf_of(&text(&page));
    let r = b.post("/admin/login", &[("username", "admin"), ("password", PASSWORD)]).await;
    html_error(&r, StatusCode::FORBIDDEN, "csrf");
    let r = b.post("/admin/login", &[("_csrf", "0".repeat(64).as_str()), ("username", "admin"), ("password", PASSWORD)]).await;
    html_error(&r, StatusCode::FORBIDDEN, "csrf");

    // Right: a session cookie, HttpOnly and SameSite=Strict, to the page asked for.
    let r = b
        .post("/admin/login", &[("_csrf", &token), ("username", "admin"), ("password", PASSWORD), ("next", "/admin/figures")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", text(&r));
    assert_eq!(r.header("location"), "/admin/figures");
    let set: Vec<&str> = r.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).collect();
    let session = set.iter().find(|c| c.starts_with("gw_console=")).expect("session cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict") && session.contains("Path=/admin"), "{session}");
    assert!(!session.contains("Secure"));
    let page = b.page("/admin/figures").await;
    assert!(page.contains("测试admin"), "the signed-in name is shown");
    // Pages may show personal data: never cached, never framed.
    let r = b.get("/admin/records").await;
    assert_eq!(r.header("cache-control"), "no-store");
    assert_eq!(r.header("x-frame-options"), "DENY");
    assert!(r.header("content-security-policy").contains("script-src 'self'"));

    // Sign-out needs the token too; then the cookie is worth nothing.
    let old = b.cookies.clone();
    let r = b.post("/admin/logout", &[]).await;
    html_error(&r, StatusCode::FORBIDDEN, "csrf");
    let token = b.csrf().await;
    let r = b.post("/admin/logout", &[("_csrf", &token)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), "/admin/login?out=1");
    assert!(!b.cookies.contains_key("gw_console"), "the cookie is cleared");
    b.cookies = old;
    let r = b.get("/admin/records").await;
    assert_eq!(
        (r.status, r.header("location")),
        (StatusCode::SEE_OTHER, "/admin/login?next=%2Fadmin%2Frecords"),
        "the session is revoked"
    );
}

#[tokio::test]
async fn the_cookie_is_secure_behind_tls_and_an_open_redirect_is_refused() {
    let h = harness().await;
    let mut b = Browser::new(&h);
    b.tls = true;
    let page = b.get("/admin/login").await;
    assert!(page.header("set-cookie").contains("; Secure"));
    let token = csrf_of(&text(&page));
    let r = b
        .post(
            "/admin/login",
            &[("_csrf", &token), ("username", "admin"), ("password", PASSWORD), ("next", "https://evil.example/")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), "/admin/queue", "never an absolute URL");
    let set: Vec<&str> = r.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).collect();
    assert!(set.iter().any(|c| c.starts_with("gw_console=") && c.contains("; Secure")), "{set:?}");
}

#[tokio::test]
async fn a_wrong_password_answers_like_an_unknown_user_and_backs_off() {
    let h = harness().await;
    let mut b = Browser::new(&h);
    let wrong = b.sign_in("admin", "not the password").await;
    let unknown = b.sign_in("nobody.at.all", "not the password").await;
    for r in [&wrong, &unknown] {
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(text(r).contains("用户名或密码错误 (invalid_credentials)"));
        assert!(!text(r).contains("not the password"), "the password is never echoed");
    }
    // The two pages differ only in the name typed and the form's fresh token.
    let strip = |r: &Resp, name: &str| {
        let t = text(r).replace(&format!("value=\"{name}\""), "");
        let token = csrf_of(&t);
        t.replace(&token, "")
    };
    assert_eq!(strip(&wrong, "admin"), strip(&unknown, "nobody.at.all"));
    // Grid workers have no console.
    let r = b.sign_in("grid.kw01", PASSWORD).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(text(&r).contains("(forbidden)") && !b.cookies.contains_key("gw_console"));
    // Bounded attempts, as on a device: after a few wrong ones, 429 with Retry-After, even
    // for the right password.
    for _ in 0..4 {
        b.sign_in("admin", "wrong").await;
    }
    let r = b.sign_in("admin", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", text(&r));
    assert!(r.header("retry-after").parse::<u64>().unwrap() > 0);
    assert!(text(&r).contains("too_many_attempts"));
    // And the device API says the same of this account.
    let body = json!({"username": "admin", "password": PASSWORD, "device_id": Uuid::now_v7()});
    let req = Request::builder()
        .method(Method::POST)
        .uri(gridwork_core::protocol::paths::LOGIN)
        .header("content-type", "application/json");
    send(&h.app, req, Body::from(body.to_string())).await.error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
}

#[tokio::test]
async fn an_idle_session_expires() {
    let h = harness().await;
    let mut b = Browser::signed_in(&h, "admin").await;
    b.page("/admin/queue").await;
    // Used again within the limit: still signed in, and the idle clock restarts.
    h.state.clock().wall().shift(chrono::Duration::minutes(20));
    b.page("/admin/records").await;
    h.state.clock().wall().shift(chrono::Duration::minutes(40));
    b.page("/admin/records").await;
    h.state.clock().wall().shift(chrono::Duration::minutes(71));
    let r = b.get("/admin/records").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", text(&r));
    assert_eq!((r.status, r.header("location")), (StatusCode::SEE_OTHER, "/admin/login?expired=1&next=%2Fadmin%2Frecords"));
    let r = b.get("/admin/records").await;
    assert_eq!(r.header("location"), "/admin/login?next=%2Fadmin%2Frecords", "ended for good");
    let page = b.page("/admin/login?expired=1").await;
    assert!(page.contains("长时间未操作"));
}

#[tokio::test]
async fn forms_from_another_origin_or_without_the_token_are_refused() {
    let h = harness().await;
    let notice = file_notice(&h).await;
    let mut b = Browser::signed_in(&h, "admin").await;
    let token = b.csrf().await;
    let path = format!("/admin/records/{notice}/reveal");
    let form = [("_csrf", token.as_str()), ("field", "party_phone")];
    for origin in ["http://evil.example", "https://console.test", "null"] {
        let r = b.post_with(&path, &form, Some(origin)).await;
        html_error(&r, StatusCode::FORBIDDEN, "cross_origin");
        assert!(!text(&r).contains("13805361234"));
    }
    // By Referer when there is no Origin.
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    let req = b
        .builder(Method::POST, &path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("referer", "http://evil.example/page");
    html_error(&send(&h.app, req, Body::from(body)).await, StatusCode::FORBIDDEN, "cross_origin");
    // Same origin but no token, or another session's.
    html_error(&b.post(&path, &[("field", "party_phone")]).await, StatusCode::FORBIDDEN, "csrf");
    let mut other = Browser::signed_in(&h, "admin").await;
    let theirs = other.csrf().await;
    assert_ne!(theirs, token);
    html_error(&b.post(&path, &[("_csrf", &theirs), ("field", "party_phone")]).await, StatusCode::FORBIDDEN, "csrf");
    // Not a form at all.
    let req = b.builder(Method::POST, &path).header("content-type", "application/json");
    html_error(&send(&h.app, req, Body::from("{}")).await, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    // Nothing was revealed.
    let audit = b.page(&format!("/admin/audit?target={notice}")).await;
    assert!(!audit.contains(">reveal<"), "{audit}");
}

#[tokio::test]
async fn the_table_combines_filters_searches_sorts_and_pages_by_key() {
    let h = harness().await;
    let mut reports: Vec<Record> = (0..23).map(|i| report(&format!("测试占道经营第{i}处"), "09006")).collect();
    reports.push(report("楼道口乱堆杂物，影响通行", "06036"));
    file_reports(&h, &reports).await;
    let notice = file_notice(&h).await;
    let mut b = Browser::signed_in(&h, "admin").await;

    let all = b.page("/admin/records").await;
    assert_eq!(total_of(&all), 25);
    let only_reports = b.page("/admin/records?kind=report").await;
    assert_eq!(total_of(&only_reports), 24);
    assert!(!row_ids(&only_reports).contains(&notice.to_string()));
    let notices = b.page("/admin/records?kind=notice").await;
    assert_eq!(row_ids(&notices), vec![notice.to_string()]);
    // Combined: kind, category 小类, org, date range, status, author.
    let today = chrono::Utc::now().date_naive();
    let author = user_id(&h, "grid.kw01").await;
    let q = format!(
        "/admin/records?kind=report&sub=06036&org={}&from={}&to={}&status=submitted&author={}",
        fixtures::COMMUNITY,
        today - chrono::Duration::days(1),
        today + chrono::Duration::days(1),
        author
    );
    let one = b.page(&q).await;
    assert_eq!(row_ids(&one), vec![reports[23].id.to_string()], "{q}");
    // The form shows the filters it was given, and the page's links keep them.
    assert!(one.contains("<option value=\"06036\" selected>"));
    assert!(one.contains(&format!("value=\"{}\"", fixtures::COMMUNITY)));
    let map_link = one.split("id=\"to-map\"").next().unwrap().rsplit("href=\"").next().unwrap();
    let map_link = unescape(map_link);
    assert!(
        map_link.starts_with("/admin/map?kind=report&status=submitted&sub=06036&org="),
        "the map link carries the filter: {map_link}"
    );
    // Another district, another category, a future range: nothing.
    for q in [
        format!("/admin/records?org={}", fixtures::OTHER_DISTRICT),
        format!("/admin/records?from={}", today + chrono::Duration::days(2)),
        "/admin/records?overdue=1&kind=report".to_owned(),
    ] {
        let p = b.page(&q).await;
        assert_eq!(total_of(&p), 0, "{q}");
        assert!(p.contains("id=\"no-rows\""));
    }
    // Free text over descriptions and numbers.
    let found = b.page("/admin/records?q=乱堆杂物").await;
    assert_eq!(row_ids(&found), vec![reports[23].id.to_string()]);
    let by_number = b.page(&format!("/admin/records?q={}", urlencode("城管告字"))).await;
    assert_eq!(row_ids(&by_number), vec![notice.to_string()]);

    // Keyset paging, oldest first, 10 a page: three pages, every row once, in order.
    let mut seen = Vec::new();
    let mut url = "/admin/records?kind=report&sort=oldest&limit=10".to_owned();
    loop {
        let p = b.page(&url).await;
        assert_eq!(total_of(&p), 24);
        seen.extend(row_ids(&p));
        match p.split("id=\"next-page\"").next().and_then(|before| before.rsplit("href=\"").next()) {
            Some(href) if p.contains("id=\"next-page\"") => {
                url = unescape(href.split('"').next().unwrap());
                assert!(url.contains("sort=oldest") && url.contains("limit=10") && url.contains("after_id="), "{url}");
            }
            _ => break,
        }
    }
    let want: Vec<String> = reports.iter().map(|r| r.id.to_string()).collect();
    assert_eq!(seen, want, "oldest first, each once");
    let newest = row_ids(&b.page("/admin/records?kind=report&limit=10").await);
    assert_eq!(newest.first(), want.last(), "newest first by default");

    // Bad filters are typed 422 pages naming the field, never a 500.
    for (q, field) in [
        ("kind=bogus", "(kind)"),
        ("status=nope", "(status)"),
        ("sub=99999", "(sub)"),
        ("org=123", "(org)"),
        ("from=2026-13-01", "(from)"),
        ("from=2026-11-02&to=2026-11-01", "(to)"),
        ("limit=100000", "(limit)"),
        ("sort=sideways", "(sort)"),
        ("cat=09&sub=06036", "(sub)"),
        ("after=x", "(after)"),
        ("after=x&after_id=nope", "(after_id)"),
        ("assignee=unit:999999", "(assignee)"),
        ("author=nobody", "(author)"),
    ] {
        let r = b.get(&format!("/admin/records?{q}")).await;
        html_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
        assert!(text(&r).contains(field), "{q}: {}", text(&r));
    }
    let long = "长".repeat(101);
    html_error(
        &b.get(&format!("/admin/records?q={}", urlencode(&long))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
    );
}

/// An attribute value as the browser reads it (askama writes `&` as `&#38;`).
fn unescape(s: &str) -> String {
    s.replace("&#38;", "&").replace("&amp;", "&")
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn personal_data_is_masked_until_an_audited_reveal() {
    let h = harness().await;
    let notice = file_notice(&h).await;
    let mut b = Browser::signed_in(&h, "admin").await;
    let page = b.page(&format!("/admin/records/{notice}")).await;
    assert!(page.contains("id=\"personal-party_phone\" class=\"masked\">138****1234<"));
    assert!(page.contains("id=\"personal-party_name\" class=\"masked\">张*<"));
    assert!(!page.contains("13805361234") && !page.contains("张某"), "nothing personal before a reveal");
    // Not in the table either.
    let table = b.page("/admin/records?kind=notice").await;
    assert!(!table.contains("13805361234") && !table.contains("张某"));

    let token = csrf_of(&page);
    let r = b.post(&format!("/admin/records/{notice}/reveal"), &[("_csrf", &token), ("field", "party_phone")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("cache-control"), "no-store");
    let shown = text(&r);
    assert!(shown.contains("id=\"personal-party_phone\" class=\"revealed\">13805361234<"));
    assert!(!shown.contains("张某"), "only the field asked for");
    // In the trail: who, what record, which field, never the value.
    let audit = b.page(&format!("/admin/audit?target={notice}")).await;
    assert!(audit.contains(">reveal<") && audit.contains("party_phone"), "{audit}");
    assert!(!audit.contains("13805361234") && !audit.contains("1234&"));
    let all = b.page("/admin/audit").await;
    assert!(!all.contains("13805361234"));
    // Shown again masked afterwards.
    assert!(b.page(&format!("/admin/records/{notice}")).await.contains("138****1234"));
    // A field that is not personal data, or a record without it.
    let r = b.post(&format!("/admin/records/{notice}/reveal"), &[("_csrf", &token), ("field", "facts")]).await;
    html_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    let r = b.post(&format!("/admin/records/{}/reveal", Uuid::now_v7()), &[("_csrf", &token), ("field", "party_phone")]).await;
    html_error(&r, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn open_and_dispatch_a_case_from_a_report_through_the_push_path() {
    let h = harness().await;
    let rep = report("楼道口乱堆杂物", "06036");
    file_reports(&h, std::slice::from_ref(&rep)).await;
    let mut b = Browser::signed_in(&h, "admin").await;
    let page = b.page(&format!("/admin/records/{}", rep.id)).await;
    assert!(page.contains("id=\"open-form\""));
    let token = csrf_of(&page);
    let officer = user_id(&h, "officer.kw").await;
    let to = format!("officer:{officer}");

    // The case's checks apply: an unknown category is refused by the push, as on a phone.
    let r = b
        .post(
            &format!("/admin/records/{}/open", rep.id),
            &[("_csrf", &token), ("category", "99999"), ("description", "x"), ("to", &to)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", text(&r));
    assert!(text(&r).contains("id=\"action-error\""));
    let r = b
        .post(
            &format!("/admin/records/{}/open", rep.id),
            &[("_csrf", &token), ("category", "06036"), ("description", "路边暴露垃圾"), ("to", "unit:nope")],
        )
        .await;
    html_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");

    let r = b
        .post(
            &format!("/admin/records/{}/open", rep.id),
            &[("_csrf", &token), ("category", "06036"), ("description", "路边暴露垃圾"), ("to", &to)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", text(&r));
    let location = r.header("location").to_owned();
    assert!(location.ends_with("?done=open_case"), "{location}");
    let case_page = b.page(&location).await;
    assert!(case_page.contains("id=\"record-status\">处置中<"), "立案 and 派遣 in one go: {case_page}");
    assert!(case_page.contains("id=\"flash\">已立案<"));
    assert!(case_page.contains(&format!("id=\"record-number\">{}-", fixtures::DISTRICT)), "numbered by the server");
    assert!(case_page.contains("测试officer.kw"));
    assert!(case_page.contains("<td>立案") && case_page.contains("<td>派遣"), "the timeline");
    // The report followed its case, and 立案 is no longer offered on it.
    let rep_page = b.page(&format!("/admin/records/{}", rep.id)).await;
    assert!(!rep_page.contains("id=\"open-form\""));
    assert!(rep_page.contains("id=\"record-status\">已立案<"), "{rep_page}");

    // A stale step (the stage the page showed is gone) is refused like on a phone.
    let case_id = location.trim_start_matches("/admin/records/").split('?').next().unwrap().to_owned();
    let token = csrf_of(&case_page);
    let r = b
        .post(
            &format!("/admin/records/{case_id}/step"),
            &[("_csrf", &token), ("from", "registered"), ("action", "dispatch"), ("to", &to)],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", text(&r));
    assert!(text(&r).contains("stale_step"));
    // The reply to the reporter goes through the same path and shows on the case.
    let r = b
        .post(
            &format!("/admin/records/{case_id}/step"),
            &[("_csrf", &token), ("from", "dispatched"), ("action", "reply"), ("text", "已派遣至中队处理")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", text(&r));
    assert!(b.page(&format!("/admin/records/{case_id}")).await.contains("已派遣至中队处理"));
    // The officer's device pulls the case.
    let phone = login(&h, "officer.kw").await;
    let r =
        send(&h.app, authed(Method::GET, &format!("{}?since=0", gridwork_core::protocol::paths::PULL), &phone), Body::empty())
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", text(&r));
    assert!(text(&r).contains(&case_id));
}

#[tokio::test]
async fn bulk_actions_apply_to_exactly_the_selection_or_the_filter_and_say_how_many() {
    let h = harness().await;
    let reports: Vec<Record> = (0..5).map(|i| report(&format!("批量测试{i}"), "09006")).collect();
    let others: Vec<Record> = (0..3).map(|i| report(&format!("重复上报{i}"), "06036")).collect();
    file_reports(&h, &[reports.clone(), others.clone()].concat()).await;
    let mut b = Browser::signed_in(&h, "admin").await;
    let token = b.csrf().await;

    // 立案 on two selected rows.
    let (a, c) = (reports[0].id.to_string(), reports[1].id.to_string());
    let r = b
        .post("/admin/bulk", &[("_csrf", &token), ("action", "open_case"), ("scope", "selected"), ("ids", &a), ("ids", &c)])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", text(&r));
    let t = text(&r);
    assert!(t.contains("共 2 条：成功 <strong id=\"bulk-accepted\">2</strong> 条"), "{t}");
    let created = t.split("新立案件：").nth(1).expect("the new cases").split("</p>").next().unwrap();
    assert_eq!(created.matches("<a href=\"/admin/records/").count(), 2, "links to the two new cases: {t}");
    // Again: both refused now (they follow their cases), and the page says why.
    let r = b
        .post("/admin/bulk", &[("_csrf", &token), ("action", "open_case"), ("scope", "selected"), ("ids", &a), ("ids", &c)])
        .await;
    let t = text(&r);
    assert!(t.contains("成功 <strong id=\"bulk-accepted\">0</strong>") && t.contains("id=\"bulk-rejected\">2<"), "{t}");
    assert!(!t.contains("新立案件"), "no link to a case that was not made");
    let cases = b.page("/admin/records?kind=case").await;
    assert_eq!(total_of(&cases), 2);

    // 作废 over a filter: first the count to confirm, then exactly those rows.
    let filter = "kind=report&sub=06036";
    let r = b.post("/admin/bulk", &[("_csrf", &token), ("action", "void"), ("scope", "filter"), ("filter", filter)]).await;
    html_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request"); // no reason
    let r = b
        .post(
            "/admin/bulk",
            &[("_csrf", &token), ("action", "void"), ("scope", "filter"), ("filter", filter), ("reason", "重复上报")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(text(&r).contains("id=\"bulk-count\">3<"), "{}", text(&r));
    // The filter changed in between: refused.
    let r = b
        .post(
            "/admin/bulk",
            &[
                ("_csrf", &token),
                ("action", "void"),
                ("scope", "filter"),
                ("filter", filter),
                ("reason", "重复上报"),
                ("expect", "4"),
            ],
        )
        .await;
    html_error(&r, StatusCode::CONFLICT, "conflict");
    let r = b
        .post(
            "/admin/bulk",
            &[
                ("_csrf", &token),
                ("action", "void"),
                ("scope", "filter"),
                ("filter", filter),
                ("reason", "重复上报"),
                ("expect", "3"),
            ],
        )
        .await;
    assert!(text(&r).contains("共 3 条：成功 <strong id=\"bulk-accepted\">3</strong> 条"), "{}", text(&r));
    assert_eq!(total_of(&b.page("/admin/records?kind=report&status=voided").await), 3);
    assert_eq!(total_of(&b.page("/admin/records?kind=report&status=submitted").await), 3, "the others untouched");
    // The reason is in the trail.
    let audit = b.page(&format!("/admin/audit?target={}", others[0].id)).await;
    assert!(audit.contains("status_change") && audit.contains("重复上报"), "{audit}");
    // An unfiltered table cannot be bulk-acted on as a whole; bad ids are typed.
    let r = b
        .post("/admin/bulk", &[("_csrf", &token), ("action", "void"), ("scope", "filter"), ("filter", ""), ("reason", "x")])
        .await;
    html_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    let r = b.post("/admin/bulk", &[("_csrf", &token), ("action", "open_case"), ("scope", "selected"), ("ids", "nope")]).await;
    html_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    let r = b.post("/admin/bulk", &[("_csrf", &token), ("action", "open_case"), ("scope", "selected")]).await;
    html_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    let r = b.post("/admin/bulk", &[("_csrf", &token), ("action", "explode"), ("scope", "selected"), ("ids", &a)]).await;
    html_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
}

/// The text of an HTML fragment, tags dropped and the entities askama writes read back.
fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    unescape(out.trim()).replace("&#34;", "\"").replace("&lt;", "<").replace("&gt;", ">")
}

/// The cells (`td` and `th`) of the table row `<tr {attr}="{key}"…>`: each one's text and
/// its first link.
fn cells(page: &str, attr: &str, key: &str) -> Vec<(String, Option<String>)> {
    let start = page.find(&format!("<tr {attr}=\"{key}\"")).unwrap_or_else(|| panic!("no row {attr}={key} in {page}"));
    let row = &page[start..];
    let row = &row[..row.find("</tr>").expect("</tr>")];
    let row = &row[row.find('>').expect("the tr tag") + 1..];
    row.replace("<th", "<td")
        .split("<td")
        .skip(1)
        .map(|cell| {
            let inner = &cell[cell.find('>').expect("the cell tag") + 1..];
            let inner = inner.split("</td").next().expect("cell").split("</th").next().expect("cell");
            let href = inner.split("href=\"").nth(1).map(|h| unescape(h.split('"').next().expect("href")));
            (strip_tags(inner), href)
        })
        .collect()
}

/// The count on a queue tab.
fn tab_count(page: &str, code: &str) -> u64 {
    let at = page.find(&format!("id=\"tab-{code}\"")).unwrap_or_else(|| panic!("no tab {code}"));
    let rest = &page[at..];
    let c = rest.find("<span class=\"count\">").expect("a count") + "<span class=\"count\">".len();
    rest[c..].split('<').next().expect("n").parse().expect("a number")
}

/// The ids of the cases a bulk 立案 made, from the links of its answer.
fn created_cases(page: &str) -> Vec<String> {
    let Some(list) = page.split("新立案件：").nth(1) else { return Vec::new() };
    let list = list.split("</p>").next().expect("the list");
    list.split("<a href=\"/admin/records/").skip(1).map(|s| s.split('"').next().expect("id").to_owned()).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn bulk_dispatch_applies_to_exactly_the_selected_cases() {
    let h = harness().await;
    let reports: Vec<Record> = (0..5).map(|i| report(&format!("批量派遣{i}"), "09006")).collect();
    let loose = report("批量派遣 未立案", "09006");
    file_reports(&h, &[reports.clone(), vec![loose.clone()]].concat()).await;
    let mut b = Browser::signed_in(&h, "admin").await;
    let token = b.csrf().await;
    let mut form = vec![("_csrf", token.as_str()), ("action", "open_case"), ("scope", "selected")];
    let ids: Vec<String> = reports.iter().map(|r| r.id.to_string()).collect();
    form.extend(ids.iter().map(|id| ("ids", id.as_str())));
    let r = b.post("/admin/bulk", &form).await;
    assert!(text(&r).contains("id=\"bulk-accepted\">5<"), "{}", text(&r));
    let cases = created_cases(&text(&r));
    assert_eq!(cases.len(), 5, "{}", text(&r));
    let registered = b.page("/admin/records?kind=case&status=registered").await;
    assert_eq!(sorted(row_ids(&registered)), sorted(cases.clone()));

    // 派遣 three of the five to an officer.
    let officer = user_id(&h, "officer.kw").await;
    let to = format!("officer:{officer}");
    let picked = [cases[0].clone(), cases[2].clone(), cases[3].clone()];
    let rest = [cases[1].clone(), cases[4].clone()];
    let mut form = vec![("_csrf", token.as_str()), ("action", "dispatch"), ("scope", "selected"), ("to", to.as_str())];
    form.extend(picked.iter().map(|id| ("ids", id.as_str())));
    let r = b.post("/admin/bulk", &form).await;
    assert_eq!(r.status, StatusCode::OK, "{}", text(&r));
    let t = text(&r);
    assert!(t.contains("批量派遣至测试officer.kw"), "{t}");
    assert!(t.contains("共 3 条：成功 <strong id=\"bulk-accepted\">3</strong> 条"), "{t}");
    assert!(t.contains("id=\"bulk-rejected\">0<"), "{t}");
    // Exactly those three are dispatched, to that officer; the other two still wait.
    let dispatched = b.page("/admin/records?kind=case&status=dispatched").await;
    assert_eq!(sorted(row_ids(&dispatched)), sorted(picked.to_vec()));
    let mine = b.page(&format!("/admin/records?assignee={}", urlencode(&to))).await;
    assert_eq!(total_of(&mine), 3);
    assert_eq!(sorted(row_ids(&mine)), sorted(picked.to_vec()));
    for id in &picked {
        let row = cells(&dispatched, "data-id", id);
        assert_eq!(row[3].0, "处置中", "the stage of {id}: {row:?}");
        assert_eq!(row.last().unwrap().0, "测试officer.kw", "the assignee of {id}: {row:?}");
        let page = b.page(&format!("/admin/records/{id}")).await;
        assert!(page.contains("id=\"record-status\">处置中<") && page.contains("<td>派遣"), "{page}");
    }
    let waiting = b.page("/admin/records?kind=case&status=registered").await;
    assert_eq!(sorted(row_ids(&waiting)), sorted(rest.to_vec()));
    for id in &rest {
        let row = cells(&waiting, "data-id", id);
        assert_eq!(row[3].0, "已立案", "{row:?}");
        assert_eq!(row.last().unwrap().0, "", "no assignee on {id}: {row:?}");
    }

    // A mixed selection: a case already dispatched, one waiting, a report. Only the one
    // waiting is dispatched; the page says so and names the two refused.
    let unit = format!("unit:{}", fixtures::DISTRICT);
    let loose_id = loose.id.to_string();
    let r = b
        .post(
            "/admin/bulk",
            &[
                ("_csrf", &token),
                ("action", "dispatch"),
                ("scope", "selected"),
                ("to", &unit),
                ("ids", &picked[0]),
                ("ids", &rest[0]),
                ("ids", &loose_id),
            ],
        )
        .await;
    let t = text(&r);
    assert!(t.contains("共 3 条：成功 <strong id=\"bulk-accepted\">1</strong> 条"), "{t}");
    assert!(t.contains("id=\"bulk-rejected\">2<"), "{t}");
    assert!(t.contains(&format!("/admin/records/{}\"", picked[0])) && t.contains(&format!("/admin/records/{loose_id}\"")), "{t}");
    let dispatched = b.page("/admin/records?kind=case&status=dispatched").await;
    assert_eq!(total_of(&dispatched), 4);
    assert!(cells(&dispatched, "data-id", &rest[0]).last().unwrap().0.ends_with("执法中队"), "to the unit");
    assert_eq!(cells(&dispatched, "data-id", &picked[0]).last().unwrap().0, "测试officer.kw", "not moved");
    let waiting = b.page("/admin/records?kind=case&status=registered").await;
    assert_eq!(row_ids(&waiting), vec![rest[1].clone()]);
    assert!(
        b.page(&format!("/admin/records/{loose_id}")).await.contains("id=\"record-status\">已上报<"),
        "the report is as it was"
    );

    // 派遣 needs a valid assignee; refused, nothing changes.
    for bad in [vec![], vec![("to", "unit:nope")], vec![("to", "officer:nobody")]] {
        let mut form = vec![("_csrf", token.as_str()), ("action", "dispatch"), ("scope", "selected"), ("ids", rest[1].as_str())];
        form.extend(bad);
        html_error(&b.post("/admin/bulk", &form).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    }
    assert_eq!(row_ids(&b.page("/admin/records?kind=case&status=registered").await), vec![rest[1].clone()]);
}

#[tokio::test]
async fn the_queue_counts_each_tab_and_shows_the_oldest_and_nearest_to_due_first() {
    let h = harness().await;
    let now = chrono::Utc::now();
    let at = |hours: i64, what: &str| {
        let mut r = report(what, "09006");
        r.created_at = now - chrono::Duration::hours(hours);
        r
    };
    // Made (so their ids run) newest first, filed in yet another order: the queue sorts by
    // when they were reported.
    let (new, mid, old) = (at(1, "待办 最新"), at(2, "待办 居中"), at(3, "待办 最早"));
    file_reports(&h, &[mid.clone(), new.clone(), old.clone()]).await;
    let mut b = Browser::signed_in(&h, "admin").await;
    let q = b.page("/admin/queue").await;
    assert_eq!(
        ["accept", "notices", "dispatch", "verify", "extension", "overdue"].map(|t| tab_count(&q, t)),
        [3, 0, 0, 0, 0, 0],
        "{q}"
    );
    assert!(q.contains("id=\"tab-accept\" aria-current=\"page\""), "the first tab is shown");
    let want: Vec<String> = [&old, &mid, &new].iter().map(|r| r.id.to_string()).collect();
    assert_eq!(row_ids(&q), want, "oldest first");
    assert_eq!(row_ids(&b.page("/admin/queue?tab=accept").await), want, "the tab's own URL");
    // The tab's table link opens the same rows in the same order.
    let link = q.split("id=\"queue-table\"").next().unwrap().rsplit("href=\"").next().unwrap().split('"').next().unwrap();
    let table = b.page(&unescape(link)).await;
    assert_eq!((total_of(&table), row_ids(&table)), (3, want.clone()));

    // 立案 the two oldest, a minute apart: they wait for 派遣, oldest first.
    let token = b.csrf().await;
    let r = b.post("/admin/bulk", &[("_csrf", &token), ("action", "open_case"), ("scope", "selected"), ("ids", &want[0])]).await;
    let c_old = created_cases(&text(&r)).pop().expect("a case");
    h.state.clock().wall().shift(chrono::Duration::minutes(1));
    let r = b.post("/admin/bulk", &[("_csrf", &token), ("action", "open_case"), ("scope", "selected"), ("ids", &want[1])]).await;
    let c_mid = created_cases(&text(&r)).pop().expect("a case");
    let q = b.page("/admin/queue?tab=dispatch").await;
    assert_eq!((tab_count(&q, "accept"), tab_count(&q, "dispatch")), (1, 2), "{q}");
    assert_eq!(row_ids(&q), vec![c_old.clone(), c_mid.clone()], "oldest first");
    assert_eq!(row_ids(&b.page("/admin/queue?tab=accept").await), vec![want[2].clone()]);

    // 派遣 the newer case first, the older three days later: the officer sees the one due
    // first on top, though it was opened later.
    let officer = user_id(&h, "officer.kw").await;
    let to = format!("officer:{officer}");
    let r = b
        .post(
            &format!("/admin/records/{c_mid}/step"),
            &[("_csrf", &token), ("from", "registered"), ("action", "dispatch"), ("to", &to)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", text(&r));
    h.state.clock().wall().shift(chrono::Duration::days(3));
    h.state.deadlines().run_once().await.expect("deadlines");
    let mut b = Browser::signed_in(&h, "admin").await;
    let r = b.act(&format!("/admin/records/{c_old}/step"), &[("from", "registered"), ("action", "dispatch"), ("to", &to)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", text(&r));
    let q = b.page("/admin/queue").await;
    assert_eq!(
        ["accept", "notices", "dispatch", "verify", "extension", "overdue"].map(|t| tab_count(&q, t)),
        [1, 0, 0, 0, 0, 0],
        "{q}"
    );
    let mut officer_b = Browser::signed_in(&h, "officer.kw").await;
    let q = officer_b.page("/admin/queue").await;
    assert_eq!(["mine", "unit", "overdue", "notices"].map(|t| tab_count(&q, t)), [2, 0, 0, 0], "{q}");
    assert!(q.contains("id=\"tab-mine\" aria-current=\"page\""));
    assert_eq!(row_ids(&q), vec![c_mid.clone(), c_old.clone()], "nearest to due first");
    let due = |id: &str| cells(&q, "data-id", id)[8].0.clone();
    assert!(!due(&c_mid).is_empty() && due(&c_mid) < due(&c_old), "{} before {}", due(&c_mid), due(&c_old));

    // Just past the first one's deadline (the page shows China time, to the minute), it is
    // on both overdue tabs and marked in the list; the second is not.
    let due_mid =
        chrono::NaiveDateTime::parse_from_str(&due(&c_mid), "%Y-%m-%d %H:%M").expect("a due time") - chrono::Duration::hours(8);
    let past = due_mid.and_utc() + chrono::Duration::minutes(2) - chrono::Utc::now();
    h.state.clock().wall().shift(past);
    h.state.deadlines().run_once().await.expect("deadlines");
    let mut b = Browser::signed_in(&h, "admin").await;
    let q = b.page("/admin/queue?tab=overdue").await;
    assert_eq!(
        ["accept", "notices", "dispatch", "verify", "extension", "overdue"].map(|t| tab_count(&q, t)),
        [1, 0, 0, 0, 0, 1],
        "{q}"
    );
    assert_eq!(row_ids(&q), vec![c_mid.clone()], "the case past its deadline");
    let mut officer_b = Browser::signed_in(&h, "officer.kw").await;
    let q = officer_b.page("/admin/queue?tab=overdue").await;
    assert_eq!(["mine", "unit", "overdue", "notices"].map(|t| tab_count(&q, t)), [2, 0, 1, 0], "{q}");
    assert_eq!(row_ids(&q), vec![c_mid.clone()]);
    assert!(q.contains(&format!("<tr data-id=\"{c_mid}\" data-kind=\"case\" class=\"late\">")), "marked overdue");
    html_error(&officer_b.get("/admin/queue?tab=accept").await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    h.state.clock().wall().shift(chrono::Duration::zero());
}

/// The records index's `due_at` is the deadline the server *watches* (`Case::watched_due`),
/// cleared once a case is marked overdue: "nearest to due first" (the officer's 派给我的
/// tab, the table's 最近到期 sort) must still put an overdue case first.
#[tokio::test]
async fn an_overdue_case_stays_first_in_the_due_first_queue() {
    let h = harness().await;
    let (first, second) = (report("到期排序一", "09006"), report("到期排序二", "09006"));
    file_reports(&h, &[first.clone(), second.clone()]).await;
    let mut b = Browser::signed_in(&h, "admin").await;
    let officer = user_id(&h, "officer.kw").await;
    let to = format!("officer:{officer}");
    let token = b.csrf().await;
    let first_id = first.id.to_string();
    let r = b.post("/admin/bulk", &[("_csrf", &token), ("action", "open_case"), ("scope", "selected"), ("ids", &first_id)]).await;
    let early = created_cases(&text(&r)).pop().expect("a case");
    b.done(
        &format!("/admin/records/{early}/step"),
        &[("from", "registered"), ("action", "dispatch"), ("to", &to)],
        early.parse().unwrap(),
        "dispatch",
    )
    .await;
    h.state.clock().wall().shift(chrono::Duration::days(10));
    h.state.deadlines().run_once().await.expect("deadlines");
    let mut b = Browser::signed_in(&h, "admin").await;
    let second_id = second.id.to_string();
    let token = b.csrf().await;
    let r =
        b.post("/admin/bulk", &[("_csrf", &token), ("action", "open_case"), ("scope", "selected"), ("ids", &second_id)]).await;
    let later = created_cases(&text(&r)).pop().expect("a case");
    b.done(
        &format!("/admin/records/{later}/step"),
        &[("from", "registered"), ("action", "dispatch"), ("to", &to)],
        later.parse().unwrap(),
        "dispatch",
    )
    .await;
    let mut officer_b = Browser::signed_in(&h, "officer.kw").await;
    let q = officer_b.page("/admin/queue").await;
    h.state.clock().wall().shift(chrono::Duration::zero());
    assert_eq!(row_ids(&q), vec![early, later], "the overdue case, due first, comes first");
}

#[tokio::test]
async fn the_figures_count_per_group_and_link_to_the_rows_behind_them() {
    let h = harness().await;
    let (a1, a2, other) = (report("统计 占道一", "09006"), report("统计 占道二", "09006"), report("统计 堆物", "06036"));
    file_reports(&h, &[a1.clone(), a2.clone(), other.clone()]).await;
    let mut b = Browser::signed_in(&h, "admin").await;
    let token = b.csrf().await;
    let (a1_id, a2_id, other_id) = (a1.id.to_string(), a2.id.to_string(), other.id.to_string());
    let r = b
        .post(
            "/admin/bulk",
            &[("_csrf", &token), ("action", "open_case"), ("scope", "selected"), ("ids", &a1_id), ("ids", &a2_id)],
        )
        .await;
    let stalls = created_cases(&text(&r));
    assert_eq!(stalls.len(), 2, "{}", text(&r));
    let r = b.post("/admin/bulk", &[("_csrf", &token), ("action", "open_case"), ("scope", "selected"), ("ids", &other_id)]).await;
    let heap = created_cases(&text(&r)).pop().expect("a case");
    // One of the 占道经营 cases is dispatched to the brigade and then left past its deadline.
    let late = stalls[0].clone();
    let unit = format!("unit:{}", fixtures::DISTRICT);
    let r = b
        .post(
            &format!("/admin/records/{late}/step"),
            &[("_csrf", &token), ("from", "registered"), ("action", "dispatch"), ("to", &unit)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", text(&r));
    h.state.clock().wall().shift(chrono::Duration::days(10));
    h.state.deadlines().run_once().await.expect("deadlines");
    let mut b = Browser::signed_in(&h, "admin").await;

    // By category: 2 registered in 09006 (1 due, 0 closed, 1 overdue), 1 in 06036.
    let page = b.page("/admin/figures?by=category").await;
    let row = cells(&page, "data-key", "09006");
    let values: Vec<&str> = row.iter().map(|(t, _)| t.as_str()).collect();
    assert!(values[0].starts_with("09006"), "{values:?}");
    assert_eq!(
        (values[1], values[2], values[3], values[9]),
        ("2", "1", "0", "1"),
        "registered, due, closed, overdue: {values:?}"
    );
    assert_eq!(values[4], "0.0%", "结案率 of the one due: {values:?}");
    let heap_row = cells(&page, "data-key", "06036");
    assert_eq!((heap_row[1].0.as_str(), heap_row[2].0.as_str(), heap_row[9].0.as_str()), ("1", "0", "0"), "{heap_row:?}");
    assert_eq!(heap_row[4].0, "—", "nothing due: no rate");
    // Each figure links to the rows behind it.
    let registered = b.page(row[1].1.as_deref().expect("a link on 立案数")).await;
    assert_eq!(total_of(&registered), 2);
    assert_eq!(sorted(row_ids(&registered)), sorted(stalls.clone()));
    let overdue = b.page(row[9].1.as_deref().expect("a link on 超期未结")).await;
    assert_eq!(row_ids(&overdue), vec![late.clone()]);
    assert_eq!(row_ids(&b.page(heap_row[1].1.as_deref().expect("link")).await), vec![heap.clone()]);
    let closed = b.page(row[3].1.as_deref().expect("a link on 结案")).await;
    assert_eq!(total_of(&closed), 0);
    // The headline: 3 registered, 1 overdue, each a link to its rows.
    let kpi = page.split("id=\"kpi-overdue\"").next().unwrap().rsplit("href=\"").next().unwrap().split('"').next().unwrap();
    assert!(page.contains("id=\"kpi-overdue\">1<"), "{page}");
    assert_eq!(row_ids(&b.page(&unescape(kpi)).await), vec![late.clone()]);

    // By district and by unit, the same cases.
    let page = b.page("/admin/figures?by=district").await;
    let row = cells(&page, "data-key", fixtures::DISTRICT);
    assert_eq!((row[1].0.as_str(), row[9].0.as_str()), ("3", "1"), "{row:?}");
    assert_eq!(total_of(&b.page(row[1].1.as_deref().expect("link")).await), 3);
    let page = b.page("/admin/figures?by=unit").await;
    let row = cells(&page, "data-key", &unit);
    assert!(row[0].0.ends_with("执法中队"), "{row:?}");
    assert_eq!((row[1].0.as_str(), row[2].0.as_str(), row[9].0.as_str()), ("1", "1", "1"), "{row:?}");
    assert_eq!(row_ids(&b.page(row[0].1.as_deref().expect("link")).await), vec![late.clone()]);
    let undispatched = cells(&page, "data-key", "");
    assert_eq!(undispatched[1].0, "2", "{undispatched:?}");
    h.state.clock().wall().shift(chrono::Duration::zero());
}

#[tokio::test]
async fn a_read_only_officer_sees_no_action_and_a_forged_post_is_403() {
    let h = harness().await;
    let rep = report("占道经营", "09006");
    file_reports(&h, std::slice::from_ref(&rep)).await;
    let notice = file_notice(&h).await;
    let mut b = Browser::signed_in(&h, "officer.kw").await;
    let table = b.page("/admin/records").await;
    assert_eq!(total_of(&table), 2, "within the district");
    assert!(table.contains("执法队员（只读）"));
    for marker in ["id=\"bulk\"", "select-all", "class=\"pick\""] {
        assert!(!table.contains(marker), "{marker}");
    }
    for id in [rep.id, notice] {
        let page = b.page(&format!("/admin/records/{id}")).await;
        for marker in ["id=\"actions\"", "open-form", "reveal-party", "/reveal", "/step", "/open\""] {
            assert!(!page.contains(marker), "{marker} on {id}");
        }
        assert!(!page.contains("13805361234"));
    }
    assert!(!b.page("/admin/queue").await.contains("href=\"/admin/audit\""));
    // Forged posts with the officer's own valid token: 403, nothing done.
    let token = b.csrf().await;
    let forged = [
        (format!("/admin/records/{notice}/reveal"), vec![("field", "party_phone")]),
        (format!("/admin/records/{}/open", rep.id), vec![("category", "09006"), ("description", "x")]),
        (format!("/admin/records/{}/status", rep.id), vec![("status", "voided"), ("reason", "x")]),
        ("/admin/bulk".to_owned(), vec![("action", "void"), ("scope", "selected"), ("ids", "x"), ("reason", "x")]),
    ];
    for (path, fields) in forged {
        let mut form = vec![("_csrf", token.as_str())];
        form.extend(fields.iter().map(|(k, v)| (*k, *v)));
        let r = b.post(&path, &form).await;
        html_error(&r, StatusCode::FORBIDDEN, "forbidden");
        assert!(!text(&r).contains("13805361234"));
    }
    html_error(&b.get("/admin/audit").await, StatusCode::FORBIDDEN, "forbidden");
    let mut admin = Browser::signed_in(&h, "admin").await;
    assert_eq!(total_of(&admin.page("/admin/records?kind=case").await), 0, "nothing was opened");
    assert!(admin.page(&format!("/admin/records/{}", rep.id)).await.contains("id=\"record-status\">已上报<"), "nor voided");
    assert!(!admin.page(&format!("/admin/audit?target={notice}")).await.contains(">reveal<"), "nor revealed");
    // Another district's officer does not see these records at all.
    let mut wc = Browser::signed_in(&h, "officer.wc").await;
    assert_eq!(total_of(&wc.page("/admin/records").await), 0);
    html_error(&wc.get(&format!("/admin/records/{notice}")).await, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn errors_are_html_pages_and_the_other_pages_render() {
    let h = harness().await;
    file_reports(&h, &[report("地图测试", "09006")]).await;
    let mut b = Browser::signed_in(&h, "admin").await;
    html_error(&b.get("/admin/nowhere").await, StatusCode::NOT_FOUND, "not_found");
    html_error(&b.get("/admin/records/not-a-uuid").await, StatusCode::NOT_FOUND, "not_found");
    html_error(&b.get(&format!("/admin/records/{}", Uuid::now_v7())).await, StatusCode::NOT_FOUND, "not_found");
    html_error(&b.get("/admin/photos/abc").await, StatusCode::NOT_FOUND, "not_found");
    html_error(&b.get("/admin/static/../../Cargo.toml").await, StatusCode::NOT_FOUND, "not_found");
    let r = b.get("/admin/bulk").await;
    html_error(&r, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    let big = "x".repeat(300 * 1024);
    let token = b.csrf().await;
    let r = b.post("/admin/bulk", &[("_csrf", &token), ("action", &big)]).await;
    html_error(&r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    // The device API keeps its own JSON errors.
    let r = send(&h.app, Request::builder().uri("/v1/nowhere"), Body::empty()).await;
    assert!(r.header("content-type").starts_with("application/json"));

    for path in ["/admin/queue", "/admin/figures", "/admin/map", "/admin/audit", "/admin/records?kind=case&overdue=1"] {
        b.page(path).await;
    }
    let r = b.get("/admin").await;
    assert_eq!((r.status, r.header("location")), (StatusCode::SEE_OTHER, "/admin/queue"));
    // The map's layers: GeoJSON outlines of the reference area and the points of the table.
    let r = b.get("/admin/map/outlines.geojson").await;
    assert_eq!(r.status, StatusCode::OK);
    let v: Value = r.json();
    assert_eq!(v["type"], "FeatureCollection");
    assert!(
        v["features"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["properties"]["code"] == fixtures::GRID && f["geometry"]["type"] == "Polygon")
    );
    let r = b.get("/admin/map/points.geojson?kind=report").await;
    assert_eq!(r.status, StatusCode::OK, "{}", text(&r));
    let v: Value = r.json();
    assert_eq!(v["features"].as_array().unwrap().len(), 1);
    html_error(&b.get("/admin/map/points.geojson?kind=bogus").await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    // Assets are embedded and whole.
    let r = b.get("/admin/static/htmx.min.js").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.len() > 40_000 && text(&r).contains("htmx"), "the real htmx");
    let r = b.get("/admin/static/leaflet.js").await;
    assert!(r.body.len() > 100_000 && text(&r).contains("1.9.4"));
    assert!(r.header("content-type").starts_with("text/javascript"));
    // Without a session, assets still load (the sign-in page uses them) but pages do not.
    let mut anon = Browser::new(&h);
    assert_eq!(anon.get("/admin/static/console.css").await.status, StatusCode::OK);
    assert_eq!(anon.get("/admin/map/points.geojson").await.status, StatusCode::SEE_OTHER);
}

/// The console's server time with 100,000 records (ignored by default; aim: under 300 ms):
/// `cargo test --release -p gridwork-server --test console -- --ignored --nocapture`
#[tokio::test]
async fn downloads_carry_the_tables_filter_and_personal_data_only_by_an_audited_form() {
    let h = harness().await;
    let mut reports: Vec<Record> = (0..5).map(|i| report(&format!("井盖缺失 下载{i}"), "01002")).collect();
    reports.extend((0..3).map(|i| report(&format!("占道经营 下载{i}"), "09006")));
    file_reports(&h, &reports).await;
    file_notice(&h).await;
    let mut b = Browser::signed_in(&h, "admin").await;

    // The table's links carry its query; each file holds exactly the filtered rows.
    let table = b.page("/admin/records?kind=report&q=%E4%B8%8B%E8%BD%BD&cat=01").await;
    assert_eq!(total_of(&table), 5);
    let at = table.find("id=\"dl-csv\"").expect("a CSV link");
    let href = table[..at].rsplit("href=\"").next().expect("href").split('"').next().expect("end");
    let href = unescape(href);
    assert!(href.starts_with("/admin/records.csv?") && href.contains("cat=01"), "{href}");
    let csv = b.get(&href).await;
    assert_eq!(csv.status, StatusCode::OK, "{}", text(&csv));
    assert!(csv.header("content-disposition").starts_with("attachment"));
    assert_eq!(csv.header("x-gridwork-rows"), "5");
    let body = text(&csv);
    assert_eq!(body.lines().count(), 6, "a header and five rows: {body}");
    assert!(body.lines().skip(1).all(|l| l.contains("井盖缺失 下载")), "{body}");
    let geo = b.get(&href.replace("records.csv", "records.geojson")).await;
    let geo: Value = serde_json::from_slice(&geo.body).expect("geojson");
    assert_eq!(geo["features"].as_array().expect("features").len(), 5);
    let xlsx = b.get(&href.replace("records.csv", "records.xlsx")).await;
    assert_eq!(xlsx.status, StatusCode::OK);
    assert!(xlsx.body.starts_with(b"PK"), "a zip");

    // Personal data: not through a link, only by the form (CSRF) and audited.
    let notices = b.get("/admin/records.csv?kind=notice&personal=1").await;
    assert!(!text(&notices).contains("13805361234"), "a GET never adds personal data");
    let csrf = b.csrf().await;
    let forged = b.post("/admin/records.csv", &[("filter", "kind=notice"), ("personal", "1")]).await;
    html_error(&forged, StatusCode::FORBIDDEN, "csrf");
    let with = b.post("/admin/records.csv", &[("_csrf", &csrf), ("filter", "kind=notice"), ("personal", "1")]).await;
    assert_eq!(with.status, StatusCode::OK, "{}", text(&with));
    assert!(text(&with).contains("13805361234"));
    let audit = b.page("/admin/audit").await;
    assert!(audit.contains("export_personal"), "the personal export is in the audit trail");

    // A bad filter is the table's 400 page, and signed out is the sign-in.
    let bad = b.get("/admin/records.csv?from=2026-13-01").await;
    html_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    let anon = Browser::new(&h).get("/admin/records.csv").await;
    assert_eq!(anon.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_table_follows_the_maps_viewport() {
    let h = harness().await;
    let mut near = report("视野内 占道经营", "09006");
    near.location.lat = 36.7069;
    let mut far = report("视野外 占道经营", "09006");
    far.location.lat = 36.7969;
    file_reports(&h, &[near.clone(), far.clone()]).await;
    let mut b = Browser::signed_in(&h, "admin").await;

    let map = b.page("/admin/map?kind=report").await;
    assert!(map.contains("id=\"to-table-view\"") && map.contains("data-base=\"kind=report\""), "{map}");
    let view = "/admin/records?kind=report&bbox=36.70,119.15,36.71,119.17";
    let table = b.page(view).await;
    let ids = row_ids(&table);
    assert!(ids.contains(&near.id.to_string()) && !ids.contains(&far.id.to_string()), "{ids:?}");
    assert!(table.contains("id=\"bbox-chip\"") && table.contains("id=\"bbox-clear\""));
    // The points and the downloads follow the same viewport.
    let points: Value =
        serde_json::from_slice(&b.get(&view.replace("/admin/records", "/admin/map/points.geojson")).await.body).unwrap();
    let shown: Vec<&str> =
        points["features"].as_array().unwrap().iter().map(|f| f["properties"]["id"].as_str().unwrap()).collect();
    assert_eq!(shown, vec![near.id.to_string()]);
    let csv = text(&b.get(&view.replace("/admin/records", "/admin/records.csv")).await);
    assert!(csv.contains("视野内") && !csv.contains("视野外"));
    // Clearing the viewport shows both again.
    let whole = b.page("/admin/records?kind=report").await;
    assert!(row_ids(&whole).contains(&far.id.to_string()));
    for bad in ["1,2,3", "36.8,119,36.7,120", "nan,1,2,3", "91,0,92,1", "a,b,c,d"] {
        let r = b.get(&format!("/admin/records?bbox={}", urlencode(bad))).await;
        html_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    }
}

#[tokio::test]
async fn a_records_timeline_shows_each_edit_and_the_concurrent_edit_that_lost() {
    let h = harness().await;
    let rec = report("楼道堆物", "06036");
    file_reports(&h, std::slice::from_ref(&rec)).await;
    // Two phones of the same grid worker edit the description offline; the one stamped
    // later arrives first, so the other's description loses (its category still applies).
    let (phone_a, phone_b) = (login(&h, "grid.kw01").await, login(&h, "grid.kw01").await);
    let now = chrono::Utc::now().timestamp_millis().max(0) as u64;
    let edit = |hlc: Hlc, body: Value| json!({"op_id": Uuid::now_v7(), "record_id": rec.id, "hlc": hlc, "action": {"update": {"body": {"report": body}}}});
    let node = |who: &Login| who.device.simple().to_string();
    push(&h, &phone_a, vec![edit(Hlc::new(now + 2_000, 0, node(&phone_a)), json!({"description": "楼道堆物（已通知清理）"}))])
        .await;
    push(
        &h,
        &phone_b,
        vec![edit(Hlc::new(now + 1_000, 0, node(&phone_b)), json!({"description": "楼道堆物较多", "category": "09006"}))],
    )
    .await;
    let mut b = Browser::signed_in(&h, "admin").await;
    let page = b.page(&format!("/admin/records/{}", rec.id)).await;
    assert!(page.contains("id=\"timeline\""), "a report has a timeline: {page}");
    assert!(page.contains("新建了此"), "{page}");
    assert!(page.contains("修改了问题描述"), "{page}");
    assert!(page.contains("修改了分类；问题描述 保留了"), "the lost field is named: {page}");
    assert!(page.contains("并发修改，此次未采用"), "{page}");
    assert!(page.contains(&phone_a.device.to_string()[..8]), "the winning device is named: {page}");
    // The record shows the later edit's description and the earlier one's category.
    assert!(page.contains("楼道堆物（已通知清理）") && page.contains("09006"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn bench_table_and_figures_at_100k_records() {
    use gridwork_server::domain::access::Caller;
    use gridwork_server::service::console::BulkAction;
    use std::time::Instant;
    let h = harness().await;
    let refs = h.state.reference().current().await.expect("refs");
    let user = |name: &str| refs.data.users.iter().find(|u| u.username == name).expect("user").clone();
    let (grid, admin) = (user("grid.kw01"), user("admin"));
    let caller = |u: &gridwork_core::reference::UserInfo| Caller {
        user_id: u.id.clone(),
        device_id: Uuid::now_v7().to_string(),
        role: u.role,
        scope: u.scope.clone(),
    };
    let (grid_caller, admin_caller) = (caller(&grid), caller(&admin));
    let words = ["占道经营", "暴露垃圾", "乱堆杂物", "违规广告", "井盖破损"];
    let start = Instant::now();
    let mut first_reports = Vec::new();
    for batch in 0..100u64 {
        let ops: Vec<_> = (0..1000u64)
            .map(|i| {
                let n = batch * 1000 + i;
                let mut rec = report(&format!("{}第{n}处", words[(n % 5) as usize]), if n % 2 == 0 { "09006" } else { "06036" });
                rec.created_at = chrono::Utc::now() - chrono::Duration::minutes((100_000 - n) as i64);
                fixtures::create_op(rec, hlc())
            })
            .collect();
        if batch < 10 {
            first_reports.extend(ops.iter().map(|o| o.record_id));
        }
        let answer = h.state.sync().push(&grid_caller, ops).await.expect("push");
        assert!(answer.results.iter().all(|r| r.outcome == gridwork_core::protocol::Outcome::Accepted));
    }
    // 10,000 of them become cases (立案 in bulk, as the console does).
    for chunk in first_reports.chunks(1000) {
        let mut targets = Vec::new();
        for id in chunk {
            targets.push(h.state.console().record(&admin_caller, *id).await.expect("record"));
        }
        let out = h.state.console().bulk(&admin_caller, &BulkAction::OpenCase, &targets).await.expect("bulk");
        assert_eq!(out.accepted.len(), chunk.len());
    }
    eprintln!("seeded 100,000 reports and 10,000 cases in {:?}", start.elapsed());
    let mut b = Browser::signed_in(&h, "admin").await;
    let deep = {
        // Rows 10,001–10,200 of the table, by following the next links' key.
        let mut url = "/admin/records?limit=200".to_owned();
        for _ in 0..50 {
            let p = b.page(&url).await;
            let href = p.split("id=\"next-page\"").next().unwrap().rsplit("href=\"").next().unwrap();
            url = unescape(href.split('"').next().unwrap());
        }
        url
    };
    for path in [
        "/admin/records",
        "/admin/records?kind=report&sub=09006",
        "/admin/records?q=乱堆杂物",
        "/admin/records?kind=case&overdue=1",
        deep.as_str(),
        "/admin/figures",
        "/admin/queue",
    ] {
        b.page(path).await; // warm
        let t = Instant::now();
        const RUNS: u32 = 5;
        for _ in 0..RUNS {
            b.page(path).await;
        }
        eprintln!("{:>8.1} ms  {path}", t.elapsed().as_secs_f64() * 1000.0 / f64::from(RUNS));
    }
}

/// An internal note added on the console shows on the case's page (its timeline) and never
/// in what the public reads (Open311's `status_notes`).
#[tokio::test]
async fn an_internal_note_shows_on_the_case_and_never_in_public() {
    let h = harness().await;
    let rep = report("备注测试 井盖松动", "09006");
    file_reports(&h, std::slice::from_ref(&rep)).await;
    let mut b = Browser::signed_in(&h, "admin").await;
    let token = b.csrf().await;
    let rep_id = rep.id.to_string();
    let r = b.post("/admin/bulk", &[("_csrf", &token), ("action", "open_case"), ("scope", "selected"), ("ids", &rep_id)]).await;
    let case = created_cases(&text(&r)).pop().expect("a case");
    let note = "内部备注：先联系物业核实产权";
    b.done(
        &format!("/admin/records/{case}/step"),
        &[("from", "registered"), ("action", "note"), ("note", note)],
        case.parse().unwrap(),
        "note",
    )
    .await;
    let page = b.page(&format!("/admin/records/{case}")).await;
    assert!(page.contains(note), "the note is on the case's page");
    // The public sees the report, with the case opened from it (docs/open311.md).
    let req = axum::http::Request::builder().uri(format!("/open311/v2/requests/{rep_id}.json"));
    let public = send(&h.app, req, axum::body::Body::empty()).await;
    assert_eq!(public.status, StatusCode::OK, "{}", text(&public));
    assert!(text(&public).contains(&rep_id), "the report is public: {}", text(&public));
    assert!(!text(&public).contains("内部备注"), "no internal note in public: {}", text(&public));
}
