//! Accounts and sessions: every backend keeps them alike.
//!
//! The cases of the accounts page (disable and enable, role and scope, the device list
//! with last-seen times) run inside the listed cases
//! ([`users_roundtrip_and_unique_username`] and [`sessions_create_find_revoke`]), on
//! accounts of their own, so the suite's list needs no new entries.

use super::user;
use crate::storage::{SessionRow, StorageError, Stores};
use chrono::{DateTime, Duration, TimeZone, Utc};
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
    let accounts = s.accounts.list_accounts().await.expect("accounts");
    assert_eq!(accounts.iter().map(|a| a.user.clone()).collect::<Vec<_>>(), s.accounts.list_users().await.expect("list"));
    assert!(accounts.iter().all(|a| a.disabled_at.is_none()), "accounts start enabled");
    assert_eq!(s.accounts.account_by_username("grid.a").await.expect("get").map(|a| a.user), Some(a));
    assert_eq!(s.accounts.account_by_username("nobody").await.expect("get"), None);

    accounts_are_disabled_enabled_and_rescoped(s).await;
}

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).single().expect("date") + Duration::minutes(minute)
}

fn session_of(user_id: &str, hash: &str, device: &str, minute: i64) -> SessionRow {
    SessionRow {
        token_hash: hash.into(),
        user_id: user_id.into(),
        device_id: device.into(),
        device_name: Some(format!("设备{device}")),
        created_at: at(minute),
        revoked_at: None,
        device_key: None,
    }
}

/// Disabling ends every live session in the same write, and a session made later (a
/// sign-in racing with it) is never live; enabling lets sessions live again. A new role
/// and scope are stored, end the sessions and change the reference revision.
pub async fn accounts_are_disabled_enabled_and_rescoped(s: Stores) {
    let (id, other) = ("acc-1", "acc-2");
    s.accounts.insert_user(user(id, "acc.worker", Role::GridWorker, fixtures::GRID)).await.expect("insert");
    s.accounts.insert_user(user(other, "acc.other", Role::GridWorker, fixtures::GRID)).await.expect("insert");
    for (h, d) in [("acc-h1", "acc-d1"), ("acc-h2", "acc-d2")] {
        s.accounts.create_session(session_of(id, h, d, 0)).await.expect("session");
    }
    s.accounts.create_session(session_of(other, "acc-h9", "acc-d9", 0)).await.expect("session");

    assert_eq!(s.accounts.set_disabled(id, Some(at(5))).await.expect("disable"), Some(2));
    let account = s.accounts.account_by_username("acc.worker").await.expect("get").expect("account");
    assert_eq!(account.disabled_at, Some(at(5)));
    assert!(s.accounts.find_live_session("acc-h1").await.expect("find").is_none());
    assert!(s.accounts.find_live_session("acc-h2").await.expect("find").is_none());
    assert!(s.accounts.find_live_session("acc-h9").await.expect("find").is_some(), "another account keeps its session");
    let listed = s.accounts.list_accounts().await.expect("accounts");
    assert_eq!(listed.iter().find(|a| a.user.id == id).and_then(|a| a.disabled_at), Some(at(5)));
    assert_eq!(listed.iter().find(|a| a.user.id == other).and_then(|a| a.disabled_at), None);
    // Disabled again: nothing more to end, and it stays disabled since the first time.
    assert_eq!(s.accounts.set_disabled(id, Some(at(6))).await.expect("disable"), Some(0));
    assert_eq!(s.accounts.account_by_username("acc.worker").await.expect("get").and_then(|a| a.disabled_at), Some(at(5)));
    // A session stored while disabled is not live.
    s.accounts.create_session(session_of(id, "acc-h3", "acc-d3", 7)).await.expect("session");
    assert!(s.accounts.find_live_session("acc-h3").await.expect("find").is_none(), "never live while disabled");

    assert_eq!(s.accounts.set_disabled(id, None).await.expect("enable"), Some(1), "the racing session ends");
    assert!(s.accounts.find_live_session("acc-h3").await.expect("find").is_none(), "and does not come alive");
    assert_eq!(s.accounts.account_by_username("acc.worker").await.expect("get").and_then(|a| a.disabled_at), None);
    s.accounts.create_session(session_of(id, "acc-h4", "acc-d1", 8)).await.expect("session");
    assert!(s.accounts.find_live_session("acc-h4").await.expect("find").is_some(), "enabled: signs in again");
    assert!(s.accounts.find_live_session("acc-h1").await.expect("find").is_none(), "the old sessions stay ended");
    assert_eq!(s.accounts.set_disabled("acc-none", Some(at(9))).await.expect("unknown"), None);
    assert_eq!(s.accounts.set_disabled("acc-none", None).await.expect("unknown"), None);

    let rev = s.reference.reference_revision().await.expect("revision");
    assert_eq!(s.accounts.set_role_scope(id, Role::Officer, fixtures::DISTRICT, at(10)).await.expect("rescope"), Some(1));
    let u = s.accounts.user_by_id(id).await.expect("get").expect("user");
    assert_eq!((u.role, u.scope.as_str(), u.username.as_str()), (Role::Officer, fixtures::DISTRICT, "acc.worker"));
    assert!(s.accounts.find_live_session("acc-h4").await.expect("find").is_none(), "its sessions ended");
    assert!(s.accounts.find_live_session("acc-h9").await.expect("find").is_some());
    assert_ne!(s.reference.reference_revision().await.expect("revision"), rev, "users are reference data");
    assert_eq!(s.accounts.set_role_scope("acc-none", Role::Admin, fixtures::CITY, at(11)).await.expect("unknown"), None);
    let ended = s.accounts.device_sessions(Some(id)).await.expect("sessions");
    let h4 = ended.iter().find(|d| d.session.token_hash == "acc-h4").expect("h4");
    assert_eq!(h4.session.revoked_at, Some(at(10)), "ended at the time given");
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
        // The registered key comes back with the session.
        device_key: Some(format!("{:0>64}", hash)),
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

    devices_list_their_newest_session_and_last_seen(s).await;
}

/// The device list: the newest session of each (account, device), newest first, with when
/// it was last used; touching never moves that time back.
pub async fn devices_list_their_newest_session_and_last_seen(s: Stores) {
    let (a, b) = ("dev-u1", "dev-u2");
    s.accounts.insert_user(user(a, "dev.a", Role::GridWorker, fixtures::GRID)).await.expect("insert");
    s.accounts.insert_user(user(b, "dev.b", Role::Officer, fixtures::DISTRICT)).await.expect("insert");
    s.accounts.create_session(session_of(a, "dev-h1", "dev-p1", 1)).await.expect("session");
    s.accounts.create_session(session_of(a, "dev-h2", "dev-p2", 2)).await.expect("session");
    s.accounts.create_session(session_of(a, "dev-h3", "dev-p1", 3)).await.expect("session"); // p1 again
    s.accounts.create_session(session_of(b, "dev-h4", "dev-p4", 4)).await.expect("session");
    assert!(s.accounts.revoke_session("dev-h2").await.expect("revoke"));

    let of_a = s.accounts.device_sessions(Some(a)).await.expect("sessions");
    let hashes: Vec<&str> = of_a.iter().map(|d| d.session.token_hash.as_str()).collect();
    assert_eq!(hashes, ["dev-h3", "dev-h2"], "newest per device, newest first");
    assert_eq!(of_a[0].session, session_of(a, "dev-h3", "dev-p1", 3));
    assert!(of_a[1].session.revoked_at.is_some());
    assert!(of_a.iter().all(|d| d.last_seen_at.is_none()), "never used yet");

    s.accounts.touch_session("dev-h3", at(20)).await.expect("touch");
    s.accounts.touch_session("dev-h3", at(15)).await.expect("touch late");
    s.accounts.touch_session("dev-none", at(20)).await.expect("touching an unknown session is nothing");
    let of_a = s.accounts.device_sessions(Some(a)).await.expect("sessions");
    assert_eq!(of_a[0].last_seen_at, Some(at(20)), "never backwards");
    assert!(s.accounts.find_live_session("dev-h3").await.expect("find").is_some(), "touching keeps it live");
    assert_eq!(of_a[0].last_sync, None, "no pull reported yet");

    // A device's pulls: the latest one counts, a late write of an earlier one does not.
    use crate::storage::LastSync;
    s.accounts.record_sync("dev-h3", LastSync { at: at(30), pending: 7 }).await.expect("sync");
    s.accounts.record_sync("dev-h3", LastSync { at: at(25), pending: 9 }).await.expect("late sync");
    s.accounts.record_sync("dev-none", LastSync { at: at(30), pending: 1 }).await.expect("unknown: nothing");
    let of_a = s.accounts.device_sessions(Some(a)).await.expect("sessions");
    assert_eq!(of_a[0].last_sync, Some(LastSync { at: at(30), pending: 7 }));
    s.accounts.record_sync("dev-h3", LastSync { at: at(31), pending: 0 }).await.expect("sync");
    let of_a = s.accounts.device_sessions(Some(a)).await.expect("sessions");
    assert_eq!(of_a[0].last_sync, Some(LastSync { at: at(31), pending: 0 }), "all sent");
    assert_eq!(of_a[1].last_sync, None, "another device's session is untouched");

    let all = s.accounts.device_sessions(None).await.expect("sessions");
    let mine: Vec<&str> =
        all.iter().filter(|d| d.session.user_id.starts_with("dev-")).map(|d| d.session.token_hash.as_str()).collect();
    assert_eq!(mine, ["dev-h4", "dev-h3", "dev-h2"]);
    assert!(s.accounts.device_sessions(Some("dev-none")).await.expect("sessions").is_empty());
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
