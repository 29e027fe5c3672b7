//! Open311 client applications: stored with their key hash, found by it, listed, revoked
//! once; the requests they filed noted once per report.

use super::user;
use crate::storage::Stores;
use crate::storage::clients::{ClientRow, FiledRequest};
use chrono::{Duration, TimeZone, Utc};
use gridwork_core::fixtures;
use gridwork_core::model::Role;
use uuid::Uuid;

pub async fn clients_roundtrip_revoke_and_filed_requests(s: Stores) {
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).single().expect("date");
    s.accounts.insert_user(user("svc1", "open311.app1", Role::GridWorker, fixtures::GRID)).await.expect("user");
    s.accounts.insert_user(user("svc2", "open311.app2", Role::GridWorker, fixtures::GRID)).await.expect("user");
    let client = |n: u8, user_id: &str, created: chrono::DateTime<Utc>| ClientRow {
        id: Uuid::now_v7(),
        name: format!("市民App{n}"),
        key_hash: format!("{n:064x}"),
        user_id: user_id.into(),
        grid: fixtures::GRID.into(),
        lat: 36.7069,
        lon: 119.1617,
        created_at: created,
        created_by: "admin-1".into(),
        revoked_at: None,
    };
    let (a, b) = (client(1, "svc1", at), client(2, "svc2", at + Duration::minutes(1)));
    assert!(s.clients.list_clients().await.expect("list").is_empty());
    s.clients.insert_client(a.clone()).await.expect("insert a");
    s.clients.insert_client(b.clone()).await.expect("insert b");
    assert!(s.clients.insert_client(ClientRow { id: Uuid::now_v7(), ..a.clone() }).await.is_err(), "key hashes are unique");

    assert_eq!(s.clients.client_by_key_hash(&a.key_hash).await.expect("by key"), Some(a.clone()));
    assert_eq!(s.clients.client_by_key_hash(&format!("{:064x}", 9)).await.expect("by key"), None);
    assert_eq!(s.clients.client(b.id).await.expect("by id"), Some(b.clone()));
    assert_eq!(s.clients.client(Uuid::now_v7()).await.expect("by id"), None);
    assert_eq!(s.clients.list_clients().await.expect("list"), [a.clone(), b.clone()], "oldest first");

    let revoked_at = at + Duration::hours(1);
    assert!(s.clients.revoke_client(a.id, revoked_at).await.expect("revoke"));
    assert!(!s.clients.revoke_client(a.id, revoked_at + Duration::hours(1)).await.expect("revoke again"), "revoked once");
    assert!(!s.clients.revoke_client(Uuid::now_v7(), revoked_at).await.expect("revoke unknown"));
    let stored = s.clients.client_by_key_hash(&a.key_hash).await.expect("by key").expect("still there");
    assert_eq!(stored.revoked_at, Some(revoked_at), "the first revocation's time stays");

    let (r1, r2, other) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let filed =
        FiledRequest { report_id: r1, client_id: b.id, media_url: Some("https://example.org/p/1.jpg".into()), filed_at: at };
    s.clients.put_filed_request(filed.clone()).await.expect("filed");
    s.clients.put_filed_request(FiledRequest { media_url: None, ..filed.clone() }).await.expect("repeat ignored");
    let plain = FiledRequest { report_id: r2, client_id: b.id, media_url: None, filed_at: at };
    s.clients.put_filed_request(plain.clone()).await.expect("filed");
    let got = s.clients.filed_requests(&[r1, r2, other]).await.expect("filed requests");
    assert_eq!(got.len(), 2);
    assert_eq!(got[&r1], filed, "the first note of a report stays");
    assert_eq!(got[&r2], plain);
    assert!(s.clients.filed_requests(&[]).await.expect("none").is_empty());

    let (case1, case2) = (Uuid::now_v7(), Uuid::now_v7());
    assert_eq!(s.clients.case_link(r1).await.expect("link"), None);
    s.clients.put_case_link(r1, case1).await.expect("link");
    s.clients.put_case_link(r1, case2).await.expect("second link ignored");
    assert_eq!(s.clients.case_link(r1).await.expect("link"), Some(case1), "a report's first link stays");
    assert_eq!(s.clients.case_link(r2).await.expect("link"), None);
}
