//! End-to-end: device cores on their own SQLite files against a real gridwork-server
//! process on a loopback port. One server per test, each with its own data directory.

use gridwork_core::Error;
use gridwork_core::model::{RecordBody, RecordKind, Status};
use gridwork_core::protocol::{BodyPatch, NoticePatch, RecordPatch, RejectReason};
use gridwork_core::store::records::SyncState;
use gridwork_e2e::proxy::Proxy;
use gridwork_e2e::*;
use std::collections::HashSet;
use uuid::Uuid;

fn ids(device: &gridwork_core::Device) -> HashSet<Uuid> {
    let mut q = gridwork_core::store::records::RecordQuery { limit: Some(1000), ..Default::default() };
    let mut all = HashSet::new();
    loop {
        let page = device.list(&q).unwrap();
        if page.is_empty() {
            return all;
        }
        q.offset += page.len() as u32;
        all.extend(page.into_iter().map(|r| r.record.id));
    }
}

fn seq_of(device: &gridwork_core::Device, id: Uuid) -> Option<u64> {
    device.get(id).unwrap().and_then(|d| d.record.record.seq)
}

/// 1. A grid worker files a report and a service log, an officer a notice, with the
/// server down; they sync later; an admin device pulls all three, field for field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_records_of_each_kind_reach_the_admin() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&dir.path().join("server"));
    let worker = logged_in(dir.path(), "worker", &server.url, "grid.kw01").await;
    let officer = logged_in(dir.path(), "officer", &server.url, "officer.kuiwen").await;

    server.stop(); // no network from here on
    let made = vec![
        worker.create(report(&worker, KW_GRID, "胜利东街早市占道经营")).unwrap(),
        officer.create(notice(&officer, KW_GRID)).unwrap(),
        worker.create(service_log(&worker, KW_GRID)).unwrap(),
    ];
    // A grid worker's phone refuses a notice at once, offline, with the reason.
    match worker.create(notice(&worker, KW_GRID)) {
        Err(Error::Invalid(r)) => assert_eq!(r.reason, gridwork_core::protocol::RejectReason::WrongRole),
        other => panic!("{other:?}"),
    }
    assert_eq!(worker.pending_count().unwrap(), 2);
    assert!(matches!(worker.sync().await, Err(Error::Network(_))));
    assert_eq!(worker.pending_count().unwrap(), 2, "a failed sync keeps everything pending");
    for r in &made {
        let device = if r.kind() == RecordKind::Notice { &officer } else { &worker };
        assert_eq!(device.get(r.id).unwrap().unwrap().record.sync_state, SyncState::Pending);
    }

    server.restart();
    let rep = worker.sync().await.unwrap();
    assert_eq!((rep.pushed, rep.accepted, rep.rejected), (2, 2, 0));
    assert_eq!(worker.pending_count().unwrap(), 0);
    let rep = officer.sync().await.unwrap();
    assert_eq!((rep.pushed, rep.accepted, rep.rejected), (1, 1, 0));

    let admin = logged_in(dir.path(), "admin", &server.url, "admin").await;
    admin.sync().await.unwrap();
    for mine in &made {
        let theirs = admin.get(mine.id).unwrap().expect("admin holds the record").record;
        assert_eq!(theirs.sync_state, SyncState::Synced);
        let t = theirs.record;
        assert!(t.seq.is_some());
        assert_eq!(
            (t.kind(), &t.body, &t.org, &t.location, t.status),
            (mine.kind(), &mine.body, &mine.org, &mine.location, mine.status)
        );
        let by = if t.kind() == RecordKind::Notice { &officer } else { &worker };
        assert_eq!(t.author, by.current_user().unwrap().id);
    }
    let kinds: HashSet<RecordKind> = made.iter().map(|r| r.kind()).collect();
    assert_eq!(kinds.len(), 3);
}

/// 2. The server applies a push but the answer is lost; the device retries; nothing is
/// applied twice, and the retry gets the same answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_whose_response_is_lost_is_applied_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let proxy = Proxy::start(server.addr).await;
    let worker = logged_in(dir.path(), "worker", &proxy.url, "grid.kw01").await;
    let admin = logged_in(dir.path(), "admin", &server.url, "admin").await;
    admin.sync().await.unwrap();

    let a = worker.create(report(&worker, KW_GRID, "井盖缺失")).unwrap();
    let b = worker.create(service_log(&worker, KW_GRID)).unwrap();
    let patch = RecordPatch {
        body: Some(BodyPatch::Report(gridwork_core::protocol::ReportPatch {
            description: Some("井盖缺失，已设置警示".into()),
            ..Default::default()
        })),
        ..Default::default()
    };
    worker.update(a.id, patch).unwrap();
    assert_eq!(worker.pending_count().unwrap(), 3);

    proxy.drop_responses(true);
    assert!(worker.sync().await.is_err(), "the device never hears the answer");
    proxy.drop_responses(false);
    assert!(proxy.counters.dropped.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    assert_eq!(worker.pending_count().unwrap(), 3, "unconfirmed ops stay pending");

    // The server did apply them.
    let first = admin.sync().await.unwrap();
    assert_eq!(first.pulled, 2);
    let (seq_a, seq_b) = (seq_of(&admin, a.id).unwrap(), seq_of(&admin, b.id).unwrap());

    // The retry: same ops, same answers, no new server changes.
    let retry = worker.sync().await.unwrap();
    assert_eq!((retry.pushed, retry.accepted, retry.rejected), (3, 3, 0));
    assert_eq!(worker.pending_count().unwrap(), 0);
    let after = admin.sync().await.unwrap();
    assert_eq!(after.pulled, 0, "a retried push changes nothing on the server");
    assert_eq!((seq_of(&admin, a.id).unwrap(), seq_of(&admin, b.id).unwrap()), (seq_a, seq_b));
    let RecordBody::Report(r) = admin.get(a.id).unwrap().unwrap().record.record.body else { panic!() };
    assert_eq!(r.description, "井盖缺失，已设置警示");
    // And a third, clean sync of the worker is a no-op.
    assert_eq!(worker.sync().await.unwrap().pushed, 0);
}

/// 3. Two officers edit different fields of one notice offline; both edits end up on
/// every device.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_offline_edits_of_different_fields_merge() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&dir.path().join("server"));
    let a = logged_in(dir.path(), "officer-a", &server.url, "officer.kuiwen").await;
    let b = logged_in(dir.path(), "officer-b", &server.url, "officer.kuiwen2").await;
    let n = a.create(notice(&a, KW_GRID)).unwrap();
    a.sync().await.unwrap();
    b.sync().await.unwrap();
    assert!(b.get(n.id).unwrap().is_some());

    server.stop();
    let facts = RecordPatch {
        body: Some(BodyPatch::Notice(NoticePatch {
            facts: Some("店外占用人行道摆放水果约6平方米".into()),
            ..Default::default()
        })),
        ..Default::default()
    };
    let basis = RecordPatch {
        body: Some(BodyPatch::Notice(NoticePatch {
            legal_basis: Some("《山东省城市市容和环境卫生管理条例》第二十条".into()),
            ..Default::default()
        })),
        ..Default::default()
    };
    b.update(n.id, basis).unwrap(); // b edits first on its clock ...
    a.update(n.id, facts).unwrap(); // ... a later; different fields, both must survive
    server.restart();

    a.sync().await.unwrap();
    b.sync().await.unwrap();
    a.sync().await.unwrap();
    let admin = logged_in(dir.path(), "admin", &server.url, "admin").await;
    admin.sync().await.unwrap();
    for d in [&a, &b, &admin] {
        let rec = d.get(n.id).unwrap().unwrap();
        assert_eq!(rec.record.sync_state, SyncState::Synced);
        let RecordBody::Notice(x) = rec.record.record.body else { panic!() };
        assert_eq!(x.facts, "店外占用人行道摆放水果约6平方米");
        assert_eq!(x.legal_basis, "《山东省城市市容和环境卫生管理条例》第二十条");
    }
    // b sees a's edit in the record's history, as a change that came from the server.
    let hist = b.get(n.id).unwrap().unwrap().history;
    assert!(
        hist.iter().any(
            |h| matches!(h, gridwork_core::store::history::HistoryEntry::Server(c) if c.fields == vec!["facts".to_string()])
        )
    );
}

/// 4 and 5. A grid worker receives only their grid's records and cannot push outside it;
/// the refused op stays on the device with its reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grid_worker_stays_inside_their_grid() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let officer = logged_in(dir.path(), "officer", &server.url, "officer.kuiwen").await;
    let other_officer = logged_in(dir.path(), "officer-wc", &server.url, "officer.weicheng").await;
    let inside = officer.create(report(&officer, KW_GRID, "绿化带内堆放杂物")).unwrap();
    let next_grid = officer.create(report(&officer, KW_GRID_2, "隔壁网格的问题")).unwrap();
    let elsewhere = other_officer.create(report(&other_officer, WC_GRID, "十笏园门口占道")).unwrap();
    officer.sync().await.unwrap();
    other_officer.sync().await.unwrap();

    let worker = logged_in(dir.path(), "worker", &server.url, "grid.kw01").await;
    worker.sync().await.unwrap();
    let seen = ids(&worker);
    assert!(seen.contains(&inside.id));
    assert!(!seen.contains(&next_grid.id) && !seen.contains(&elsewhere.id));
    for r in worker.list(&Default::default()).unwrap() {
        assert_eq!(r.record.org.grid, KW_GRID, "a record from outside the grid reached the device");
    }

    // Filing into another district's grid: stored locally, refused by the server.
    let outside = worker.create(report(&worker, WC_GRID, "越界上报")).unwrap();
    let rep = worker.sync().await.unwrap();
    assert_eq!((rep.accepted, rep.rejected), (0, 1));
    let rejected = worker.rejected().unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!((rejected[0].record_id, rejected[0].reason, rejected[0].is_create), (outside.id, RejectReason::OutOfScope, true));
    assert!(!rejected[0].message.is_empty());
    let kept = worker.get(outside.id).unwrap().expect("the refused record stays on the device");
    assert_eq!(kept.record.sync_state, SyncState::Rejected);
    assert_eq!(worker.pending_count().unwrap(), 0);
    // Nobody else ever sees it.
    let admin = logged_in(dir.path(), "admin", &server.url, "admin").await;
    admin.sync().await.unwrap();
    assert!(admin.get(outside.id).unwrap().is_none());
    // It stays through later syncs until the user discards it.
    worker.sync().await.unwrap();
    assert_eq!(worker.rejected().unwrap().len(), 1);
    worker.discard_rejected(rejected[0].op_id).unwrap();
    assert!(worker.rejected().unwrap().is_empty());
}

/// 5. A status change that conflicts with one already on the server (a cancelled notice
/// cannot be rectified) is refused with its reason; the device then shows the server's state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_status_change_stays_visible_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let a = logged_in(dir.path(), "officer-a", &server.url, "officer.kuiwen").await;
    let b = logged_in(dir.path(), "officer-b", &server.url, "officer.kuiwen2").await;
    let n = a.create(notice(&a, KW_GRID)).unwrap();
    a.sync().await.unwrap();
    b.sync().await.unwrap();

    a.update(n.id, RecordPatch { status: Some(Status::Cancelled), ..Default::default() }).unwrap();
    a.sync().await.unwrap();
    // b, still offline with the old state, marks it rectified and syncs later.
    let shown = b.update(n.id, RecordPatch { status: Some(Status::Rectified), ..Default::default() }).unwrap();
    assert_eq!(shown.status, Status::Rectified);
    let rep = b.sync().await.unwrap();
    assert_eq!(rep.rejected, 1);
    let rejected = b.rejected().unwrap();
    assert_eq!(rejected[0].reason, RejectReason::InvalidTransition);
    assert_eq!(rejected[0].field.as_deref(), Some("status"));
    let now = b.get(n.id).unwrap().unwrap().record;
    assert_eq!((now.record.status, now.sync_state), (Status::Cancelled, SyncState::Rejected));
}

/// 6. The server stops (gracefully, then by a crash) between a push and a pull; nothing
/// acknowledged is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_restarts_between_push_and_pull_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&dir.path().join("server"));
    let worker = logged_in(dir.path(), "worker", &server.url, "grid.kw01").await;
    let admin = logged_in(dir.path(), "admin", &server.url, "admin").await;
    admin.sync().await.unwrap();

    let first: Vec<_> = (0..5).map(|i| worker.create(report(&worker, KW_GRID, &format!("第{i}处乱堆放"))).unwrap().id).collect();
    assert_eq!(worker.sync().await.unwrap().accepted, 5);
    server.stop();
    server.restart();
    let second: Vec<_> = (0..5).map(|i| worker.create(report(&worker, KW_GRID, &format!("第{i}处乱贴画"))).unwrap().id).collect();
    assert_eq!(worker.sync().await.unwrap().accepted, 5);
    server.crash(); // SIGKILL right after the acknowledgement
    server.restart();

    let rep = admin.sync().await.unwrap();
    assert_eq!(rep.pulled, 10);
    for id in first.iter().chain(&second) {
        assert!(admin.get(*id).unwrap().is_some());
    }
    // Tokens survive restarts too.
    assert_eq!(worker.sync().await.unwrap().pushed, 0);
}

/// A sync with nothing to do is one small round trip.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_sync_is_one_small_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let admin = logged_in(dir.path(), "admin", &server.url, "admin").await;
    let full = admin.sync().await.unwrap();
    assert!(full.pulled > 0, "the demo city has records");
    let idle = admin.sync().await.unwrap();
    assert_eq!((idle.round_trips, idle.pushed, idle.pulled), (1, 0, 0));
    assert!(idle.bytes_received < 400, "idle sync answer was {} bytes", idle.bytes_received);
}

/// A revoked token stops a device from syncing; its pending work stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_device_keeps_its_work_and_can_log_in_again() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let worker = logged_in(dir.path(), "worker", &server.url, "grid.kw01").await;
    let admin_http = reqwest::Client::new();
    worker.create(report(&worker, KW_GRID, "共享单车乱停放")).unwrap();
    // Revoke through the API as an admin device would.
    let admin_dev = Uuid::now_v7();
    let login: gridwork_core::protocol::LoginResponse = admin_http
        .post(format!("{}/v1/auth/login", server.url))
        .json(&serde_json::json!({"username": "admin", "password": PASSWORD, "device_id": admin_dev}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let resp = admin_http
        .post(format!("{}/v1/auth/revoke", server.url))
        .bearer_auth(&login.token)
        .header("x-gridwork-device", admin_dev.to_string())
        .json(&serde_json::json!({"username": "grid.kw01"}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "revoke: {}", resp.status());
    assert!(matches!(worker.sync().await, Err(Error::Unauthorized)));
    assert_eq!(worker.pending_count().unwrap(), 1);
    worker.login("grid.kw01", PASSWORD).await.unwrap();
    assert_eq!(worker.sync().await.unwrap().accepted, 1);
}

/// A sync cancelled mid-way keeps what the server confirmed, and the next sync finishes
/// the rest without duplicating anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_sync_is_completed_by_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let worker = logged_in(dir.path(), "worker", &server.url, "grid.kw01").await;
    let admin = logged_in(dir.path(), "admin", &server.url, "admin").await;
    admin.sync().await.unwrap();
    let n = 1200; // three push batches
    let made: HashSet<Uuid> =
        (0..n).map(|i| worker.create(report(&worker, KW_GRID, &format!("巡查发现问题{i}"))).unwrap().id).collect();

    let cancel_after_first_batch = |p: &gridwork_core::events::SyncProgress| {
        if p.pushed > 0 {
            worker.cancel_sync();
        }
    };
    let out = worker.sync_with(Some(&cancel_after_first_batch)).await;
    assert!(matches!(out, Err(Error::Cancelled)), "{out:?}");
    let left = worker.pending_count().unwrap();
    assert!(left > 0 && left < n as u64, "{left} pending after the cancel");

    let rep = worker.sync().await.unwrap();
    assert_eq!(rep.pushed, left);
    assert_eq!(worker.pending_count().unwrap(), 0);
    let pulled = admin.sync().await.unwrap();
    assert_eq!(pulled.pulled, n as u64, "each record reached the server exactly once");
    assert!(made.is_subset(&ids(&admin)));
}

/// A pull cancelled after its first page (the next page already asked for while the first
/// was stored) keeps that page, and the next pull brings the rest exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_pull_is_completed_by_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let worker = logged_in(dir.path(), "worker", &server.url, "grid.kw01").await;
    let made: HashSet<Uuid> =
        (0..2500).map(|i| worker.create(report(&worker, KW_GRID, &format!("巡查发现问题{i}"))).unwrap().id).collect();
    assert_eq!(worker.sync().await.unwrap().accepted, 2500);

    let whole = logged_in(dir.path(), "whole", &server.url, "admin").await;
    let all = whole.sync().await.unwrap().pulled;
    assert!(all > 2 * u64::from(gridwork_core::sync::PULL_PAGE), "{all} records: three pages or more");
    assert_eq!(whole.record_count().unwrap(), all, "a whole pull brings each record once");

    let admin = logged_in(dir.path(), "admin", &server.url, "admin").await;
    let cancel_after_first_page = |p: &gridwork_core::events::SyncProgress| {
        if p.pulled > 0 {
            admin.cancel_sync();
        }
    };
    let out = admin.sync_with(Some(&cancel_after_first_page)).await;
    assert!(matches!(out, Err(Error::Cancelled)), "{out:?}");
    let kept = admin.record_count().unwrap();
    assert!(kept > 0 && kept < all, "{kept} of {all} kept after the cancel");
    // Nothing the cancelled pull began lands after the cancel was answered.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(admin.record_count().unwrap(), kept, "a page stored after the cancel returned");

    let rep = admin.sync().await.unwrap();
    assert_eq!(kept + rep.pulled, all, "every record pulled exactly once");
    assert_eq!(ids(&admin), ids(&whole));
    assert!(made.is_subset(&ids(&admin)));
}

/// A page whose own records do not rebuild is taken again in full while the next page was
/// already asked for as digests: that early answer is dropped, not stored, and every record
/// arrives once, the other phone's edit included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_does_not_rebuild_drops_the_page_asked_for_early() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let phone = logged_in(dir.path(), "phone-a", &server.url, "grid.kw01").await;
    let other = logged_in(dir.path(), "phone-b", &server.url, "grid.kw01").await;
    phone.sync().await.unwrap();
    let first: Vec<Uuid> = (0..10).map(|i| phone.create(report(&phone, KW_GRID, &format!("楼道堆物{i}"))).unwrap().id).collect();
    assert_eq!(phone.push().await.unwrap().accepted, 10);
    // The same account on another phone edits one of them: the server still counts it as
    // this phone's record, and its digest will not match what this phone rebuilds.
    other.sync().await.unwrap();
    let patch = RecordPatch {
        body: Some(BodyPatch::Report(gridwork_core::protocol::ReportPatch {
            description: Some("楼道堆物（物业已清理）".into()),
            ..Default::default()
        })),
        ..Default::default()
    };
    other.update(first[0], patch).unwrap();
    other.sync().await.unwrap();
    // Enough own records after the edit for a second page.
    let page = gridwork_core::sync::PULL_PAGE as usize;
    let later: Vec<Uuid> =
        (0..page + 500).map(|i| phone.create(report(&phone, KW_GRID, &format!("巡查发现{i}"))).unwrap().id).collect();
    assert_eq!(phone.push().await.unwrap().accepted, (page + 500) as u64);

    let rep = phone.pull().await.unwrap();
    assert_eq!(rep.pulled, (page + 510) as u64, "each record once");
    // Page one as digests (a miss), page two asked for early (dropped), page one in full,
    // page two again while page one is stored.
    assert_eq!(rep.round_trips, 4);
    let RecordBody::Report(r) = phone.get(first[0]).unwrap().unwrap().record.record.body else { panic!("a report") };
    assert_eq!(r.description, "楼道堆物（物业已清理）");
    for id in first.iter().chain(&later) {
        assert_eq!(phone.get(*id).unwrap().unwrap().record.sync_state, SyncState::Synced, "{id}");
    }
    assert_eq!(phone.pending_count().unwrap(), 0);
    assert_eq!(phone.sync().await.unwrap().round_trips, 1, "then an idle sync");
}

/// A phone handed from one grid worker to another: the second cannot push the first's
/// pending changes under their own name, and does not see the first's records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_changing_hands_keeps_accounts_apart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let phone = logged_in(dir.path(), "phone", &server.url, "grid.kw01").await;
    let mine = phone.create(report(&phone, KW_GRID, "孙丽娜的上报")).unwrap();
    phone.logout().await.unwrap();

    let refused = phone.login("grid.wc01", PASSWORD).await;
    assert!(matches!(refused, Err(Error::OtherUsersData)), "{refused:?}");
    assert!(phone.current_user().is_none());
    assert_eq!(phone.pending_count().unwrap(), 1, "the first worker's change is kept");

    phone.login("grid.kw01", PASSWORD).await.unwrap();
    phone.sync().await.unwrap();
    phone.logout().await.unwrap();
    phone.login("grid.wc01", PASSWORD).await.unwrap();
    assert!(phone.get(mine.id).unwrap().is_none(), "the first worker's records are gone");
    phone.sync().await.unwrap();
    for r in phone.list(&Default::default()).unwrap() {
        assert_eq!(r.record.org.grid, WC_GRID);
    }
    let admin = logged_in(dir.path(), "admin", &server.url, "admin").await;
    admin.sync().await.unwrap();
    let theirs = admin.get(mine.id).unwrap().unwrap().record.record;
    assert_eq!(theirs.author, {
        let kw = logged_in(dir.path(), "kw", &server.url, "grid.kw01").await;
        kw.current_user().unwrap().id
    });
}

/// A refused create stays visible until discarded, then goes; a refused edit shows the
/// server's state again at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_changes_leave_the_screen_when_let_go() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let worker = logged_in(dir.path(), "worker", &server.url, "grid.kw01").await;
    let outside = worker.create(report(&worker, WC_GRID, "越界上报")).unwrap();
    worker.sync().await.unwrap();
    assert_eq!(worker.get(outside.id).unwrap().unwrap().record.sync_state, SyncState::Rejected);
    let op = worker.rejected().unwrap()[0].op_id;
    worker.discard_rejected(op).unwrap();
    assert!(worker.get(outside.id).unwrap().is_none(), "a record the server never had goes with its last change");
    assert!(matches!(worker.discard_rejected(op), Err(Error::NotFound)));
}

/// A push batch too large for the server (413) is split, not retried for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_push_batch_is_split() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let worker = logged_in(dir.path(), "worker", &server.url, "grid.kw01").await;
    // Long service logs: about 140 KB of JSON each; 70 of them are over the 8 MiB limit.
    let long = "居民反映夜间施工噪音扰民，希望协调施工单位调整作业时间。".repeat(17);
    for _ in 0..70 {
        let mut d = service_log(&worker, KW_GRID);
        if let RecordBody::ServiceLog(l) = &mut d.body {
            l.complaints = vec![long.clone(); 50];
            l.replies = vec![long.clone(); 50];
        }
        worker.create(d).unwrap();
    }
    let rep = worker.sync().await.unwrap();
    assert_eq!((rep.accepted, rep.rejected), (70, 0));
    assert!(rep.round_trips > 2, "the batch was split ({} round trips)", rep.round_trips);
    assert_eq!(worker.pending_count().unwrap(), 0);
}

/// A raw pull of `device`'s session after `since` (no compression), for what crossed the
/// wire: the answer and its length.
async fn raw_pull(
    url: &str,
    device: &gridwork_core::Device,
    since: u64,
    own: bool,
) -> (gridwork_core::protocol::PullResponse, usize) {
    let session = device.context().session().expect("signed in");
    let own = if own { "&own_digests=true" } else { "" };
    let body = reqwest::Client::new()
        .get(format!("{url}{}?since={since}&limit=1000{own}", gridwork_core::protocol::paths::PULL))
        .bearer_auth(&session.token)
        .header(gridwork_core::protocol::DEVICE_HEADER, device.device_id().to_string())
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .bytes()
        .await
        .unwrap();
    (serde_json::from_slice(&body).unwrap(), body.len())
}

fn cursor_of(device: &gridwork_core::Device) -> u64 {
    device.context().store.read(gridwork_core::store::meta::cursor).unwrap()
}

/// A device that pushed records gets them back as digests, rebuilds them from what it
/// pushed and ends with exactly the server's records; one changed by the same account on
/// another phone comes in full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_does_not_pull_back_what_it_pushed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let phone = logged_in(dir.path(), "phone-a", &server.url, "officer.kuiwen").await;
    let peer = logged_in(dir.path(), "peer", &server.url, "officer.kuiwen2").await;
    phone.sync().await.unwrap(); // the demo city, and a block of notice numbers
    peer.sync().await.unwrap();
    let before = cursor_of(&phone);

    let made: Vec<_> = (0..40).map(|_| phone.create(notice(&phone, KW_GRID)).unwrap()).collect();
    let rep = phone.sync().await.unwrap();
    assert_eq!((rep.pushed, rep.accepted, rep.pulled), (40, 40, 40), "pushed, then pulled back as digests");
    assert!(made.iter().all(|r| phone.get(r.id).unwrap().unwrap().record.sync_state == SyncState::Synced));

    // On the wire: the same page as digests, or in full for anyone else (or when asked).
    let (own, own_len) = raw_pull(&server.url, &phone, before, true).await;
    let (full, full_len) = raw_pull(&server.url, &phone, before, false).await;
    let made_ids: HashSet<Uuid> = made.iter().map(|r| r.id).collect();
    assert_eq!(own.own.iter().map(|o| o.id).collect::<HashSet<_>>(), made_ids);
    assert!(own.records.iter().all(|r| !made_ids.contains(&r.id)));
    assert_eq!(full.records.iter().filter(|r| made_ids.contains(&r.id)).count(), 40);
    assert!(full.own.is_empty());
    assert_eq!((own.next, own.has_more), (full.next, full.has_more));
    assert!(full_len >= 3 * own_len, "in full {full_len} bytes, as digests {own_len}");
    let (peers_view, _) = raw_pull(&server.url, &peer, before, true).await;
    assert!(peers_view.own.is_empty(), "another officer's device gets them in full");

    // What the phone rebuilt is the server's record, byte for byte (seq and time too).
    peer.sync().await.unwrap();
    let same = |id: Uuid| {
        let mine = phone.get(id).unwrap().unwrap().record.record;
        let theirs = peer.get(id).unwrap().unwrap().record.record;
        assert_eq!(mine, theirs, "{id}");
        assert_eq!(gridwork_core::protocol::record_digest(&mine), gridwork_core::protocol::record_digest(&theirs));
    };
    made.iter().for_each(|r| same(r.id));

    // An edit here comes back as a digest too, and rebuilds.
    let at = cursor_of(&phone);
    let facts = RecordPatch {
        body: Some(BodyPatch::Notice(NoticePatch {
            facts: Some("店外占用人行道摆放水果，已当场告知".into()),
            ..Default::default()
        })),
        ..Default::default()
    };
    phone.update(made[1].id, facts).unwrap();
    assert_eq!(phone.sync().await.unwrap().pulled, 1);
    let (own, _) = raw_pull(&server.url, &phone, at, true).await;
    assert_eq!(own.own.iter().map(|o| o.id).collect::<Vec<_>>(), vec![made[1].id]);
    peer.sync().await.unwrap();
    same(made[1].id);

    // The same account on another phone edits a record made here: the server still names
    // it this phone's, the rebuild misses, and the phone takes the page in full.
    let other = logged_in(dir.path(), "phone-b", &server.url, "officer.kuiwen").await;
    other.sync().await.unwrap();
    let at = cursor_of(&phone);
    let shop = RecordPatch {
        body: Some(BodyPatch::Notice(NoticePatch {
            legal_basis: Some("《潍坊市城市市容和环境卫生管理办法》第十七条".into()),
            ..Default::default()
        })),
        ..Default::default()
    };
    other.update(made[0].id, shop).unwrap();
    other.sync().await.unwrap();
    let (own, _) = raw_pull(&server.url, &phone, at, true).await;
    assert_eq!(own.own.iter().map(|o| o.id).collect::<Vec<_>>(), vec![made[0].id], "the server cannot tell");
    let rep = phone.sync().await.unwrap();
    assert_eq!((rep.pulled, rep.round_trips), (1, 2), "asked as digests, then in full");
    peer.sync().await.unwrap();
    same(made[0].id);
    let RecordBody::Notice(n) = phone.get(made[0].id).unwrap().unwrap().record.record.body else { panic!() };
    assert_eq!(n.legal_basis, "《潍坊市城市市容和环境卫生管理办法》第十七条");
    // And an idle sync after all this is still one round trip.
    assert_eq!(phone.sync().await.unwrap().round_trips, 1);
}
