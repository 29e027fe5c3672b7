//! The device engines on their own (`gridwork_core::sync` over a `DeviceContext`), against
//! the real server code in this process (its router, no socket, no mock): the push's batch
//! split, the re-application of pending edits over what a pull brings, and the history
//! filter that keeps a device's own changes out of "changed by others".

use chrono::Utc;
use gridwork_core::model::{Location, RecordBody, RecordKind, Role, Status};
use gridwork_core::protocol::{BodyPatch, NewRecord, Op, OpAction, RecordPatch, RejectReason, ReportPatch};
use gridwork_core::store::history::HistoryEntry;
use gridwork_core::store::outbox;
use gridwork_core::sync;
use gridwork_e2e::in_process::InProcess;
use gridwork_e2e::{KW_GRID, report};
use uuid::Uuid;

const PASSWORD: &str = "engine-test-密码";
const USERS: &[(&str, Role, &str)] =
    &[("grid.kw01", Role::GridWorker, KW_GRID), ("officer.kw", Role::Officer, "370705"), ("admin", Role::Admin, "370700")];

/// A server with the phone of grid worker grid.kw01 and the admin's device, signed in.
async fn phone_and_admin(dir: &std::path::Path) -> (std::sync::Arc<InProcess>, gridwork_core::Device, gridwork_core::Device) {
    let server = InProcess::start(&dir.join("server"), USERS, PASSWORD).await;
    let phone = server.device(dir, "phone");
    phone.login("grid.kw01", PASSWORD).await.unwrap();
    let admin = server.device(dir, "admin");
    admin.login("admin", PASSWORD).await.unwrap();
    (server, phone, admin)
}

fn pushes(server: &InProcess) -> usize {
    server.requests.lock().unwrap().iter().filter(|r| r.as_str() == "POST /v1/sync/push").count()
}

/// A create op for a report at `lat` (the device's own check would refuse lat 91; this is
/// what an old app version or a damaged queue could hold).
fn report_op(device: &gridwork_core::Device, lat: f64, n: usize) -> Op {
    let draft = report(device, KW_GRID, &format!("第{n}条上报"));
    Op {
        op_id: Uuid::now_v7(),
        record_id: Uuid::now_v7(),
        hlc: device.context().clock.tick(),
        action: OpAction::Create(NewRecord {
            org: draft.org,
            created_at: Utc::now(),
            location: Location { lat, ..draft.location },
            status: Status::Submitted,
            body: draft.body,
        }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_the_server_refuses_as_a_whole_is_split_until_the_bad_op_stands_alone() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(&dir.path().join("server"), USERS, PASSWORD).await;
    let phone = server.device(dir.path(), "phone");
    phone.login("grid.kw01", PASSWORD).await.unwrap();
    let ops: Vec<Op> = (0..8).map(|n| report_op(&phone, if n == 5 { 91.0 } else { 36.7069 }, n)).collect();
    let bad = ops[5].op_id;
    phone
        .context()
        .store
        .write(|tx| {
            for op in &ops {
                outbox::enqueue(tx, op, RecordKind::Report, Utc::now())?;
            }
            Ok(())
        })
        .unwrap();

    let before = pushes(&server);
    let report = sync::push(phone.context(), None).await.unwrap();
    assert_eq!((report.pushed, report.accepted, report.rejected), (8, 7, 1), "{report:?}");
    let rejected = phone.rejected().unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].op_id, bad);
    assert_eq!(rejected[0].reason, RejectReason::Invalid);
    assert!(rejected[0].message.contains("invalid_op"), "{}", rejected[0].message);
    // 8 → 4 + 4 → 2 + 2 → 1 + 1: the refused halves are split, the accepted ones go whole.
    let requests = pushes(&server) - before;
    assert!((4..=7).contains(&requests), "{requests} push requests");
    assert_eq!(phone.pending_count().unwrap(), 0, "nothing left blocking the queue");
    assert_eq!(server.state.stores().records.counts().await.unwrap().records, 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_shows_the_servers_state_with_pending_edits_on_top() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, phone, admin) = phone_and_admin(dir.path()).await;

    let rec = phone.create(report(&phone, KW_GRID, "路边暴露垃圾")).unwrap();
    sync::push(phone.context(), None).await.unwrap();
    // The admin accepts it; meanwhile the phone rewrites the description, offline.
    sync::pull(admin.context(), None).await.unwrap();
    admin.update(rec.id, RecordPatch { status: Some(Status::Accepted), ..Default::default() }).unwrap();
    sync::push(admin.context(), None).await.unwrap();
    let edit = RecordPatch {
        body: Some(BodyPatch::Report(ReportPatch {
            description: Some("路边暴露垃圾，约两立方米".into()), ..Default::default()
        })),
        ..Default::default()
    };
    phone.update(rec.id, edit).unwrap();

    let pulled = sync::pull(phone.context(), None).await.unwrap();
    assert!(pulled.pulled >= 1);
    let shown = phone.get(rec.id).unwrap().unwrap().record.record;
    assert_eq!(shown.status, Status::Accepted, "the server's change arrived");
    let RecordBody::Report(body) = &shown.body else { panic!("kind") };
    assert_eq!(body.description, "路边暴露垃圾，约两立方米", "the pending edit stays on screen");
    assert_eq!(phone.pending_count().unwrap(), 1, "and still waits to be pushed");
    let server_copy = phone.context().store.read(|c| gridwork_core::store::records::get(c, rec.id)).unwrap().unwrap().1.unwrap();
    let RecordBody::Report(server_body) = &server_copy.body else { panic!("kind") };
    assert_eq!(server_body.description, "路边暴露垃圾", "the server's own state is kept apart");

    // Once pushed, the edit is the server's too, and nothing is pending.
    sync::push(phone.context(), None).await.unwrap();
    sync::pull(admin.context(), None).await.unwrap();
    let RecordBody::Report(theirs) = admin.get(rec.id).unwrap().unwrap().record.record.body else { panic!("kind") };
    assert_eq!(theirs.description, "路边暴露垃圾，约两立方米");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_lists_only_what_others_changed() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, phone, admin) = phone_and_admin(dir.path()).await;

    let rec = phone.create(report(&phone, KW_GRID, "井盖破损")).unwrap();
    sync::push(phone.context(), None).await.unwrap();
    // The phone's first copy from the server: all of it written here.
    sync::pull(phone.context(), None).await.unwrap();
    assert!(phone.get(rec.id).unwrap().unwrap().history.iter().all(|h| matches!(h, HistoryEntry::Local(_))));

    // Between two pulls of the phone: its own edit of the description reaches the server,
    // then the admin's change of the status. The pull brings both in one version.
    let edit = RecordPatch {
        body: Some(BodyPatch::Report(ReportPatch {
            description: Some("污水井盖破损，存在安全隐患".into()),
            ..Default::default()
        })),
        ..Default::default()
    };
    phone.update(rec.id, edit).unwrap();
    sync::push(phone.context(), None).await.unwrap();
    sync::pull(admin.context(), None).await.unwrap();
    admin.update(rec.id, RecordPatch { status: Some(Status::Accepted), ..Default::default() }).unwrap();
    sync::push(admin.context(), None).await.unwrap();

    sync::pull(phone.context(), None).await.unwrap();
    let history = phone.get(rec.id).unwrap().unwrap().history;
    let from_server: Vec<&Vec<String>> = history
        .iter()
        .filter_map(|h| match h {
            HistoryEntry::Server(c) => Some(&c.fields),
            HistoryEntry::Local(_) => None,
        })
        .collect();
    assert_eq!(
        from_server,
        [&vec!["status".to_string()]],
        "the phone's own create and edit are not listed as others': {history:?}"
    );
    let admin_id = admin.current_user().unwrap().id;
    assert!(history.iter().any(|h| matches!(h, HistoryEntry::Server(c) if c.actor == admin_id)), "named by who changed it");
    let local = history.iter().filter(|h| matches!(h, HistoryEntry::Local(_))).count();
    assert_eq!(local, 2, "the create and the edit, as local changes");
}
