//! Enrolment codes: stored by their hash, used once and only before they expire (of two
//! concurrent uses exactly one wins), listed while live, purged once expired.

use super::user;
use crate::storage::Stores;
use crate::storage::enrolments::EnrolmentRow;
use chrono::{Duration, TimeZone, Utc};
use gridwork_core::fixtures;
use gridwork_core::model::Role;

fn row(n: u8, user_id: &str, created: chrono::DateTime<Utc>) -> EnrolmentRow {
    EnrolmentRow {
        code_hash: format!("{n:064x}"),
        user_id: user_id.into(),
        created_by: "admin-1".into(),
        created_at: created,
        expires_at: created + Duration::minutes(10),
        used_at: None,
        used_by_device: None,
    }
}

pub async fn codes_are_used_once_before_they_expire(s: Stores) {
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).single().expect("date");
    s.accounts.insert_user(user("u1", "grid.a", Role::GridWorker, fixtures::GRID)).await.expect("user");
    s.accounts.insert_user(user("u2", "grid.b", Role::GridWorker, fixtures::GRID)).await.expect("user");
    let (a, b, c) = (row(1, "u1", at), row(2, "u1", at + Duration::minutes(1)), row(3, "u2", at));
    for r in [&a, &b, &c] {
        s.enrolments.insert_enrolment(r.clone()).await.expect("insert");
    }
    assert!(s.enrolments.insert_enrolment(row(1, "u2", at)).await.is_err(), "code hashes are unique");
    assert_eq!(s.enrolments.enrolment(&a.code_hash).await.expect("get"), Some(a.clone()));
    assert_eq!(s.enrolments.enrolment(&format!("{:064x}", 9)).await.expect("get"), None);
    assert_eq!(s.enrolments.live_enrolments("u1", at + Duration::minutes(2)).await.expect("live"), [a.clone(), b.clone()]);

    // Used once, from one device; a second use finds nothing, whoever asks.
    let used_at = at + Duration::minutes(3);
    let used = s.enrolments.use_enrolment(&a.code_hash, "dev-1", used_at).await.expect("use").expect("usable");
    assert_eq!(used, EnrolmentRow { used_at: Some(used_at), used_by_device: Some("dev-1".into()), ..a.clone() });
    assert_eq!(s.enrolments.use_enrolment(&a.code_hash, "dev-1", used_at).await.expect("use"), None, "used before");
    assert_eq!(s.enrolments.use_enrolment(&a.code_hash, "dev-2", used_at).await.expect("use"), None, "used before");
    assert_eq!(s.enrolments.enrolment(&a.code_hash).await.expect("get"), Some(used), "the first use stays");
    assert_eq!(s.enrolments.use_enrolment(&format!("{:064x}", 9), "dev-1", at).await.expect("use"), None, "unknown");
    assert_eq!(s.enrolments.live_enrolments("u1", used_at).await.expect("live"), vec![b.clone()], "a used code is not live");

    // Expired: refused from its expiry on, and no longer live.
    assert_eq!(s.enrolments.use_enrolment(&c.code_hash, "dev-3", c.expires_at).await.expect("use"), None, "expired");
    assert!(s.enrolments.live_enrolments("u2", c.expires_at).await.expect("live").is_empty());
    let just_before = c.expires_at - Duration::milliseconds(1);
    assert!(s.enrolments.use_enrolment(&c.code_hash, "dev-3", just_before).await.expect("use").is_some(), "still valid");

    // Concurrent uses of one code: exactly one wins.
    let d = row(4, "u2", at);
    s.enrolments.insert_enrolment(d.clone()).await.expect("insert");
    let uses = (0..8).map(|i| {
        let (store, hash) = (s.enrolments.clone(), d.code_hash.clone());
        tokio::spawn(async move { store.use_enrolment(&hash, &format!("dev-{i}"), at).await.expect("use").is_some() })
    });
    let mut won = 0;
    for u in uses {
        won += u32::from(u.await.expect("task"));
    }
    assert_eq!(won, 1, "one use of a code wins");

    // Expired codes are purged; live ones stay.
    assert_eq!(s.enrolments.purge_enrolments(b.expires_at).await.expect("purge"), 3, "a, c and d expired before b");
    assert_eq!(s.enrolments.enrolment(&a.code_hash).await.expect("get"), None);
    assert_eq!(s.enrolments.enrolment(&b.code_hash).await.expect("get"), Some(b));
}
