//! Accounts and sessions: every backend keeps them alike.

use super::user;
use crate::storage::{SessionRow, StorageError, Stores};
use chrono::{TimeZone, Utc};
use gridwork_core::fixtures;
use gridwork_core::model::Role;

pub async fn users_roundtrip_and_unique_username(s: Stores) {
    let a = user("u1", "grid.a", Role::GridWorker, fixtures::GRID);
    s.accounts.insert_user(a.clone()).await.expect("insert");
    s.accounts.insert_user(user("u2", "officer.b", Role::Officer, fixtures::DISTRICT)).await.expect("insert");
    assert_eq!(s.accounts.user_by_username("grid.a").await.expect("get"), Some(a.clone()));
    assert_eq!(s.accounts.user_by_id("u1").await.expect("get"), Some(a.clone()));
    assert_eq!(s.accounts.user_by_username("nobody").await.expect("get"), None);
    let dup = s.accounts.insert_user(user("u3", "grid.a", Role::Admin, fixtures::CITY)).await;
    assert!(matches!(dup, Err(StorageError::DuplicateUsername)), "{dup:?}");
    let names: Vec<String> = s.accounts.list_users().await.expect("list").into_iter().map(|u| u.username).collect();
    assert_eq!(names, ["grid.a", "officer.b"]);
    assert_eq!(s.accounts.count_users().await.expect("counts"), 2);
}

pub async fn sessions_create_find_revoke(s: Stores) {
    let u = user("u1", "grid.a", Role::GridWorker, fixtures::GRID);
    s.accounts.insert_user(u.clone()).await.expect("insert");
    let at = Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).single().expect("date");
    let sess = |hash: &str, device: &str| SessionRow {
        token_hash: hash.into(),
        user_id: "u1".into(),
        device_id: device.into(),
        device_name: Some("测试手机".into()),
        created_at: at,
        revoked_at: None,
    };
    for (h, d) in [("h0", "dev1"), ("h1", "dev1"), ("h2", "dev4"), ("h3", "dev2"), ("h4", "dev3")] {
        s.accounts.create_session(sess(h, d)).await.expect("create");
    }
    // A new session on a device ends the device's earlier one.
    assert!(s.accounts.find_live_session("h0").await.expect("find").is_none(), "h1 replaced h0 on dev1");
    let (found, who) = s.accounts.find_live_session("h1").await.expect("find").expect("live");
    assert_eq!(found, sess("h1", "dev1"));
    assert_eq!(who, u);
    assert!(s.accounts.find_live_session("nope").await.expect("find").is_none());

    assert!(s.accounts.revoke_session("h1").await.expect("revoke"));
    assert!(!s.accounts.revoke_session("h1").await.expect("revoke again"), "already revoked");
    assert!(s.accounts.find_live_session("h1").await.expect("find").is_none());

    assert_eq!(s.accounts.revoke_user_sessions("u1", Some("dev4")).await.expect("revoke"), 1);
    assert!(s.accounts.find_live_session("h2").await.expect("find").is_none());
    assert!(s.accounts.find_live_session("h3").await.expect("find").is_some());
    assert_eq!(s.accounts.revoke_user_sessions("u1", None).await.expect("revoke"), 2);
    assert!(s.accounts.find_live_session("h3").await.expect("find").is_none());
    assert!(s.accounts.find_live_session("h4").await.expect("find").is_none());
    assert_eq!(s.accounts.count_live_sessions().await.expect("counts"), 0);
}

pub async fn login_failures_count_in_a_row_per_username(s: Stores) {
    let at = Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).single().expect("date");
    assert_eq!(s.accounts.login_failures("grid.a").await.expect("get"), None);
    for n in 1..=3 {
        assert_eq!(s.accounts.record_login_failure("grid.a", at + chrono::Duration::seconds(n)).await.expect("record"), n as u32);
    }
    assert_eq!(s.accounts.record_login_failure("nobody", at).await.expect("record"), 1, "unknown names count the same");
    assert_eq!(s.accounts.login_failures("grid.a").await.expect("get"), Some((3, at + chrono::Duration::seconds(3))));
    s.accounts.clear_login_failures("grid.a").await.expect("clear");
    assert_eq!(s.accounts.login_failures("grid.a").await.expect("get"), None);
    assert_eq!(s.accounts.login_failures("nobody").await.expect("get"), Some((1, at)));
}
