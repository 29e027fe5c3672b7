//! The console's 审计日志 through the whole router on a real SQLite store: admins see the
//! entries newest first (keyset pages by seq, either order), filter them by action and
//! target, and 校验链 walks the hash chain: intact, or, after a row of the SQLite file was
//! changed behind the server's back, the seq of the first broken link, highlighted.
//! Anyone else is refused.

mod common;

use axum::http::StatusCode;
use common::browser::{Browser, html_error};
use common::{harness, login};
use serde_json::json;

/// The seqs of the page's rows, in order.
fn seqs(page: &str) -> Vec<u64> {
    page.split("<tr id=\"audit-").skip(1).map(|s| s.split('"').next().expect("seq").parse().expect("number")).collect()
}

/// The query of the page's "next" link.
fn next_of(page: &str) -> Option<String> {
    let at = page.find("id=\"audit-next\"")?;
    let href = page[..at].rfind("href=\"/admin/audit?")? + "href=\"/admin/audit?".len();
    Some(page[href..].split('"').next().expect("href").replace("&#38;", "&"))
}

async fn entries(h: &common::Harness) -> u64 {
    let admin = h.state.reference().current().await.expect("refs");
    let caller = gridwork_server::domain::access::Caller {
        user_id: admin.data.users.iter().find(|u| u.username == "admin").expect("admin").id.clone(),
        device_id: "test".into(),
        role: gridwork_core::model::Role::Admin,
        scope: gridwork_core::fixtures::CITY.into(),
    };
    h.state.audit().page(&caller, 0, 1000, None).await.expect("page").len() as u64
}

#[tokio::test]
async fn an_admin_sees_the_entries_newest_first_filters_them_and_the_chain_is_intact() {
    let h = harness().await;
    login(&h, "grid.kw01").await;
    // Some entries about an account, and enough to need a second page.
    for i in 0..120 {
        let action = if i % 10 == 0 { "revoke" } else { "numbers_issued" };
        let target = (i % 10 == 0).then_some("acct-7");
        h.state.audit().record("system", action, target, json!({ "i": i })).await.expect("record");
    }
    let mut b = Browser::signed_in(&h, "admin").await;
    let total = entries(&h).await;
    assert!(total > 120, "{total}");

    let page = b.page("/admin/audit").await;
    assert!(page.contains("href=\"/admin/audit\">审计日志"), "the navigation links the page");
    let first = seqs(&page);
    assert_eq!(first.len(), 100, "a page");
    assert_eq!(first[0], total, "newest first");
    assert!(first.windows(2).all(|w| w[0] == w[1] + 1), "one after another, newest first");
    // Each entry: time, actor, the action in Chinese with its code, target, detail.
    assert!(page.contains("登录<span class=\"code\">sign_in</span>"), "{page}");
    assert!(page.contains("注销设备会话<span class=\"code\">revoke</span>"));
    assert!(page.contains(">系统<span class=\"code\">system</span>"), "the actor");
    assert!(page.contains(">i=119<"), "the detail as codes");
    assert!(!page.contains("chain-verdict"), "no verdict until asked");
    // The next page starts below the last seq shown (keyset, never an offset).
    let next = next_of(&page).expect("a next page");
    assert_eq!(next, format!("before={}", first[99]));
    let rest = seqs(&b.page(&format!("/admin/audit?{next}")).await);
    assert_eq!(rest, (1..first[99]).rev().collect::<Vec<_>>(), "the rest, no overlap");
    // Oldest first.
    let oldest = b.page("/admin/audit?order=oldest").await;
    assert_eq!(seqs(&oldest)[..3], [1, 2, 3]);
    assert_eq!(next_of(&oldest).as_deref(), Some("order=oldest&after=100"));
    assert_eq!(seqs(&b.page("/admin/audit?order=oldest&after=100").await)[0], 101);

    // By action, by target, by both.
    let revokes = seqs(&b.page("/admin/audit?action=revoke").await);
    assert_eq!(revokes.len(), 12);
    let sign_ins = b.page("/admin/audit?action=sign_in").await;
    assert!(!seqs(&sign_ins).is_empty() && !sign_ins.contains("<span class=\"code\">revoke</span></td>"));
    assert!(sign_ins.contains("<option value=\"sign_in\" selected>"), "the filter stays chosen");
    assert_eq!(seqs(&b.page("/admin/audit?target=acct-7").await), revokes);
    let both = b.page("/admin/audit?target=acct-7&action=numbers_issued").await;
    assert!(seqs(&both).is_empty() && both.contains("没有符合条件的记录"));
    for bad in ["action=Sign%20in", "target=%27%20or%201", "before=x", "order=sideways"] {
        html_error(&b.get(&format!("/admin/audit?{bad}")).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    }

    // 校验链: the whole chain, whatever the filter.
    let page = b.page("/admin/audit?action=revoke&verify=1").await;
    assert!(page.contains("id=\"verify-chain\""));
    assert!(
        page.contains(&format!("id=\"chain-verdict\" data-broken=\"\">链完整（共 {total} 条）")),
        "{}",
        &page[page.find("id=\"chain\"").unwrap_or(0)..][..600]
    );
    assert!(!page.contains("class=\"late broken\""));
    assert_eq!(seqs(&page).len(), 12, "the filter kept");
}

#[tokio::test]
async fn only_admins_see_the_audit_trail() {
    let h = harness().await;
    let mut officer = Browser::signed_in(&h, "officer.kw").await;
    assert!(!officer.page("/admin/queue").await.contains("href=\"/admin/audit\""), "no link");
    for path in ["/admin/audit", "/admin/audit?verify=1", "/admin/audit?action=sign_in&order=oldest"] {
        html_error(&officer.get(path).await, StatusCode::FORBIDDEN, "forbidden");
    }
    let mut anon = Browser::new(&h);
    let r = anon.get("/admin/audit?verify=1").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.header("location").starts_with("/admin/login"), "{}", r.header("location"));
}

#[tokio::test]
async fn a_row_changed_in_the_database_file_is_shown_as_the_first_broken_link() {
    let h = harness().await;
    for i in 0..6 {
        h.state.audit().record("system", "numbers_issued", None, json!({ "i": i })).await.expect("record");
    }
    let mut b = Browser::signed_in(&h, "admin").await;
    let total = entries(&h).await;
    let tampered = total - 3;
    // Someone with the file drops the append-only guard and edits one entry.
    let db = h.dir.path().join(gridwork_server::storage::sqlite::DB_FILE);
    let conn = rusqlite::Connection::open(&db).expect("open the file");
    conn.busy_timeout(std::time::Duration::from_secs(5)).expect("busy timeout");
    conn.execute_batch("DROP TRIGGER audit_log_no_update;").expect("drop the guard");
    let changed = conn.execute("UPDATE audit_log SET detail = '{\"i\":99}' WHERE seq = ?1", [tampered as i64]).expect("tamper");
    assert_eq!(changed, 1);
    drop(conn);

    let page = b.page("/admin/audit?verify=1").await;
    assert!(
        page.contains(&format!("id=\"chain-verdict\" data-broken=\"{tampered}\">链在第 <strong>#{tampered}</strong> 条处断开")),
        "{}",
        &page[page.find("id=\"chain\"").unwrap_or(0)..][..800]
    );
    assert!(page.contains(&format!("此前 {} 条完整", tampered - 1)));
    assert!(page.contains(&format!("<tr id=\"audit-{tampered}\" class=\"late broken\"")), "the row highlighted");
    assert_eq!(page.matches("class=\"late broken\"").count(), 1, "only that one");
    assert!(page.contains(">i=99<"), "the changed detail is what the file now says");
    // The verdict's link opens the page holding that entry, highlighted again.
    let link = format!("/admin/audit?before={}&#38;verify=1", tampered + 1);
    assert!(page.contains(&format!("href=\"{link}\" id=\"chain-broken-link\"")), "{page}");
    let there = b.page(&link.replace("&#38;", "&")).await;
    assert_eq!(seqs(&there)[0], tampered);
    assert!(there.contains(&format!("<tr id=\"audit-{tampered}\" class=\"late broken\"")));
    // Without asking, the page just lists.
    assert!(!b.page("/admin/audit").await.contains("class=\"late broken\""));
}
