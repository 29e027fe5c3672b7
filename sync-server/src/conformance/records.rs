//! Records, the op log and the pull sequence. Pushes go through the real sync service, so
//! the op log's rules (at most once, the first answer repeated, op ids bound to their
//! first use) hold on every backend; the concurrency cases pin down the pull cursor.

use super::{COMMUNITY2, GRID2, GRID3, admin, push, reference, seeded, sync_service, user};
use crate::domain::access::Visibility;
use crate::storage::{NewVersion, SessionRow, Stores};
use chrono::Utc;
use gridwork_core::fixtures;
use gridwork_core::hlc::Hlc;
use gridwork_core::merge::{Actor, apply_op};
use gridwork_core::model::{OrgRef, Record, RecordBody, Role};
use gridwork_core::protocol::{BodyPatch, Op, OpAction, Outcome, RecordPatch, RejectReason, ReportPatch};
use gridwork_core::reference::RefIndex;
use std::collections::HashSet;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use uuid::Uuid;

/// A report in `grid`, with a fresh id.
pub fn report_in(grid: &str, community: &str, n: u128) -> Record {
    let mut r = fixtures::records().remove(0);
    r.id = Uuid::from_u128(0x1000_0000 + n);
    r.org = OrgRef { community: community.into(), grid: grid.into() };
    r
}

pub fn create(rec: Record, wall: u64) -> Op {
    fixtures::create_op(rec, Hlc::new(wall, 0, "d1"))
}

pub fn describe(record_id: Uuid, text: &str, wall: u64) -> Op {
    Op {
        op_id: Uuid::now_v7(),
        record_id,
        hlc: Hlc::new(wall, 0, "d1"),
        action: OpAction::Update(RecordPatch {
            body: Some(BodyPatch::Report(ReportPatch { description: Some(text.into()), ..Default::default() })),
            ..Default::default()
        }),
    }
}

pub async fn push_applies_in_order_with_increasing_seqs(s: Stores) {
    let recs = fixtures::records();
    let id = recs[0].id;
    let mut ops: Vec<Op> = recs.into_iter().map(|r| create(r, 100)).collect();
    ops.push(describe(id, "已清理一半", 200));
    ops.push(describe(id, "已全部清理", 300));
    let results = push(&s, "u1", ops.clone()).await;
    assert_eq!(results.len(), 5);
    for (op, r) in ops.iter().zip(&results) {
        assert_eq!(r.op_id, op.op_id);
        assert_eq!(r.outcome, Outcome::Accepted, "{r:?}");
    }
    let seqs: Vec<u64> = results.iter().map(|r| r.seq.expect("seq")).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");

    // A later batch continues the sequence.
    let more = push(&s, "u1", vec![describe(id, "复查无反弹", 400)]).await;
    assert!(more[0].seq.expect("seq") > seqs[4]);

    let page = s.records.pull(&Visibility::All, 0, 100).await.expect("pull");
    assert_eq!(page.records.len(), 3, "one row per record, latest state");
    let report = page.records.iter().find(|r| r.id == id).expect("report");
    assert_eq!(report.seq, more[0].seq);
    let RecordBody::Report(body) = &report.body else { panic!("kind") };
    assert_eq!(body.description, "复查无反弹");
    let page_seqs: Vec<u64> = page.records.iter().map(|r| r.seq.expect("seq")).collect();
    assert!(page_seqs.windows(2).all(|w| w[0] < w[1]));
    let counts = s.records.counts().await.expect("counts");
    assert_eq!((counts.records, counts.logged_ops), (3, 6));
}

pub async fn repeated_op_id_returns_the_first_result(s: Stores) {
    let rec = fixtures::records().remove(0);
    let id = rec.id;
    let op = create(rec, 100);
    let first = push(&s, "u1", vec![op.clone()]).await;
    let before = s.records.counts().await.expect("counts");
    let again = push(&s, "u1", vec![op.clone()]).await;
    assert_eq!(first, again);
    assert_eq!(s.records.counts().await.expect("counts"), before);
    let page = s.records.pull(&Visibility::All, 0, 10).await.expect("pull");
    assert_eq!(page.records[0].seq, first[0].seq, "seq unchanged");

    // Same op id from another account, or for another record: conflict, nothing stored.
    let other_user = push(&s, "u2", vec![op.clone()]).await;
    assert_eq!(other_user[0].outcome, Outcome::Rejected);
    assert_eq!(other_user[0].rejection.as_ref().map(|r| r.reason), Some(RejectReason::OpIdConflict));
    let mut other_record = describe(Uuid::from_u128(99), "x", 500);
    other_record.op_id = op.op_id;
    let conflict = push(&s, "u1", vec![other_record]).await;
    assert_eq!(conflict[0].rejection.as_ref().map(|r| r.reason), Some(RejectReason::OpIdConflict));
    assert_eq!(s.records.counts().await.expect("counts"), before);
    // The first answer still stands.
    assert_eq!(push(&s, "u1", vec![op]).await, first);

    // An accepted update repeated in the same batch is applied once.
    let upd = describe(id, "新描述", 200);
    let both = push(&s, "u1", vec![upd.clone(), upd]).await;
    assert_eq!(both[0], both[1]);
    assert_eq!(s.records.counts().await.expect("counts").logged_ops, before.logged_ops + 1);
}

pub async fn rejected_result_is_stored_and_repeated(s: Stores) {
    let rec = fixtures::records().remove(0);
    let early_update = describe(rec.id, "先到的修改", 200);
    let r1 = push(&s, "u1", vec![early_update.clone()]).await;
    assert_eq!(r1[0].outcome, Outcome::Rejected);
    assert_eq!(r1[0].rejection.as_ref().map(|r| r.reason), Some(RejectReason::NotFound));
    assert_eq!(r1[0].seq, None);
    // The record arrives; the retried op still gets its first answer.
    push(&s, "u1", vec![create(rec, 100)]).await;
    let r2 = push(&s, "u1", vec![early_update]).await;
    assert_eq!(r1, r2);
    let counts = s.records.counts().await.expect("counts");
    assert_eq!((counts.records, counts.logged_ops), (1, 2));

    // A mixed batch: accepted and rejected results side by side, in order.
    let mut dup = fixtures::records().remove(0);
    if let RecordBody::Report(r) = &mut dup.body {
        r.description = "重复创建".into();
    }
    let mixed = vec![create(dup, 300), create(report_in(fixtures::GRID, fixtures::COMMUNITY, 7), 300)];
    let res = push(&s, "u1", mixed).await;
    assert_eq!(res[0].rejection.as_ref().map(|r| r.reason), Some(RejectReason::AlreadyExists));
    assert_eq!(res[1].outcome, Outcome::Accepted);
}

pub async fn pull_pages_with_limit_next_and_has_more(s: Stores) {
    let ops: Vec<Op> = (0..7).map(|n| create(report_in(fixtures::GRID, fixtures::COMMUNITY, n), 100)).collect();
    push(&s, "u1", ops).await;
    let mut since = 0;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = s.records.pull(&Visibility::All, since, 3).await.expect("pull");
        pages += 1;
        assert!(page.records.len() <= 3);
        seen.extend(page.records.iter().map(|r| r.id));
        if let Some(last) = page.records.last() {
            since = last.seq.expect("seq");
        }
        if !page.has_more {
            break;
        }
        assert!(pages < 10);
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 7);
    let empty = s.records.pull(&Visibility::All, since, 3).await.expect("pull");
    assert!(empty.records.is_empty() && !empty.has_more);
    let exact = s.records.pull(&Visibility::All, 0, 7).await.expect("pull");
    assert_eq!((exact.records.len(), exact.has_more), (7, false));
}

pub async fn pull_filters_by_visibility(s: Stores) {
    let places = [
        (fixtures::GRID, fixtures::COMMUNITY),
        (GRID2, fixtures::COMMUNITY),
        (GRID3, COMMUNITY2),
        (fixtures::OTHER_GRID, fixtures::OTHER_COMMUNITY),
    ];
    let ops: Vec<Op> = places.iter().enumerate().map(|(n, (g, c))| create(report_in(g, c, n as u128), 100)).collect();
    let res = push(&s, "u1", ops).await;
    assert!(res.iter().all(|r| r.outcome == Outcome::Accepted), "{res:?}");
    let grids = |v: Visibility| {
        let s = s.clone();
        async move {
            let mut g: Vec<String> =
                s.records.pull(&v, 0, 100).await.expect("pull").records.into_iter().map(|r| r.org.grid).collect();
            g.sort();
            g
        }
    };
    assert_eq!(grids(Visibility::Grid(fixtures::GRID.into())).await, [fixtures::GRID]);
    assert_eq!(grids(Visibility::Community(fixtures::COMMUNITY.into())).await, [fixtures::GRID, GRID2]);
    assert_eq!(grids(Visibility::District(fixtures::DISTRICT.into())).await, [fixtures::GRID, GRID2, GRID3]);
    assert_eq!(grids(Visibility::District(fixtures::OTHER_DISTRICT.into())).await, [fixtures::OTHER_GRID]);
    assert_eq!(grids(Visibility::All).await.len(), 4);
    assert!(grids(Visibility::Grid("370799999999-01".into())).await.is_empty());
    // Paging within a filtered view: `has_more` counts only visible records.
    let page = s.records.pull(&Visibility::District(fixtures::DISTRICT.into()), 0, 3).await.expect("pull");
    assert_eq!((page.records.len(), page.has_more), (3, false));
}

pub async fn data_survives_reopen<F, Fut>(open: &F, key: PathBuf)
where
    F: Fn(PathBuf) -> Fut,
    Fut: Future<Output = Stores>,
{
    let rec = fixtures::records().remove(1);
    let op = create(rec.clone(), 100);
    let first = {
        let s = seeded(open, key.clone()).await;
        s.accounts.insert_user(user("u1", "officer.a", Role::Officer, fixtures::DISTRICT)).await.expect("insert");
        s.accounts
            .create_session(SessionRow {
                token_hash: "h1".into(),
                user_id: "u1".into(),
                device_id: "dev".into(),
                device_name: None,
                created_at: Utc::now(),
                revoked_at: None,
                device_key: None,
            })
            .await
            .expect("session");
        let r = push(&s, "u1", vec![op.clone()]).await;
        s.close().await.expect("close");
        r
    };
    let s = open(key).await;
    assert!(s.accounts.user_by_username("officer.a").await.expect("get").is_some());
    assert!(s.accounts.find_live_session("h1").await.expect("find").is_some());
    assert_eq!(s.reference.orgs().await.expect("orgs").len(), reference().orgs.len());
    let page = s.records.pull(&Visibility::All, 0, 10).await.expect("pull");
    assert_eq!(page.records.len(), 1);
    let got = &page.records[0];
    assert_eq!((got.id, &got.body, got.seq), (rec.id, &rec.body, first[0].seq));
    // The highest stored field clock is known after a restart (the server clock starts there).
    assert_eq!(s.records.max_clock().await.expect("clock"), Some(op.hlc.to_string()));
    // The op id is still remembered, and the sequence continues.
    assert_eq!(push(&s, "u1", vec![op]).await, first);
    let next = push(&s, "u1", vec![create(report_in(fixtures::GRID, fixtures::COMMUNITY, 1), 200)]).await;
    assert!(next[0].seq > first[0].seq);
    assert_eq!(s.records.max_clock().await.expect("clock"), Some(Hlc::new(200, 0, "d1").to_string()));
    s.close().await.expect("close");
}

/// The first version of `rec` as the sync service would store it (for unit-of-work cases).
pub fn first_version(rec: Record, wall: u64) -> NewVersion {
    let refs = RefIndex::new(&super::reference());
    let op = create(rec, wall);
    let actor = Actor { user_id: "u1", device_id: "d1", role: Role::Admin, scope: None, home: "" };
    let state = apply_op(None, &op, &op.hlc, &actor, &refs, Utc::now()).expect("valid fixture");
    let place = refs.grid_place(&state.record.org.grid).expect("fixture grid");
    NewVersion::new(state, place)
}

/// Pushers on several tasks and a puller running all along: the puller sees every
/// record exactly once, in strictly increasing sequence order.
pub async fn concurrent_pushers_and_a_puller_never_skip_or_repeat(s: Stores) {
    const PUSHERS: u128 = 4;
    const BATCHES: u128 = 8;
    const PER_BATCH: u128 = 5;
    let done = Arc::new(AtomicBool::new(false));
    let puller = {
        let (s, done) = (s.clone(), done.clone());
        tokio::spawn(async move {
            let (mut cursor, mut seen) = (0u64, Vec::<(u64, Uuid)>::new());
            loop {
                let finished = done.load(Ordering::Acquire);
                let page = s.records.pull(&Visibility::All, cursor, 7).await.expect("pull");
                for r in &page.records {
                    seen.push((r.seq.expect("seq"), r.id));
                }
                assert!(page.next >= cursor, "the cursor never goes back");
                cursor = page.next;
                if finished && !page.has_more {
                    return seen;
                }
                if page.records.is_empty() {
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    let pushers: Vec<_> = (0..PUSHERS)
        .map(|p| {
            let s = s.clone();
            tokio::spawn(async move {
                let sync = super::sync_service(&s).await;
                let caller = super::admin(&format!("u{p}"));
                for b in 0..BATCHES {
                    let ops = (0..PER_BATCH)
                        .map(|i| create(report_in(fixtures::GRID, fixtures::COMMUNITY, p * 1000 + b * 10 + i), 100))
                        .collect();
                    let res = sync.push(&caller, ops).await.expect("push").results;
                    assert!(res.iter().all(|r| r.outcome == Outcome::Accepted), "{res:?}");
                }
            })
        })
        .collect();
    for p in pushers {
        p.await.expect("pusher");
    }
    done.store(true, Ordering::Release);
    let seen = puller.await.expect("puller");
    let seqs: Vec<u64> = seen.iter().map(|(seq, _)| *seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "no seq seen twice, none out of order: {seqs:?}");
    let ids: HashSet<Uuid> = seen.iter().map(|(_, id)| *id).collect();
    assert_eq!(ids.len(), seen.len(), "no record seen twice");
    assert_eq!(ids.len() as u128, PUSHERS * BATCHES * PER_BATCH, "no record skipped");
}

/// A pull while writes are uncommitted hands out a cursor below all of them: after they
/// commit, a pull from that cursor returns every one. Holds when a later unit of work
/// commits before an earlier one (as a database sequence allows).
pub async fn a_pull_cursor_stays_below_uncommitted_writes(s: Stores) {
    let first = push(&s, "u1", vec![create(report_in(fixtures::GRID, fixtures::COMMUNITY, 1), 100)]).await;
    let committed = first[0].seq.expect("seq");

    let mut early = s.records.begin().await.expect("begin");
    let early_seq =
        early.put_versions(vec![first_version(report_in(fixtures::GRID, fixtures::COMMUNITY, 2), 200)]).await.expect("put")[0];
    assert!(early_seq > committed);
    // A second writer, on its own task: it may commit first, or wait for the first.
    let late = {
        let s = s.clone();
        tokio::spawn(async move {
            let mut tx = s.records.begin().await.expect("begin");
            let seq =
                tx.put_versions(vec![first_version(report_in(fixtures::GRID, fixtures::COMMUNITY, 3), 300)]).await.expect("put")
                    [0];
            tx.commit().await.expect("commit");
            seq
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let during = s.records.pull(&Visibility::All, 0, 100).await.expect("pull");
    assert!(during.next < early_seq, "cursor {} handed out at or above an uncommitted write ({early_seq})", during.next);
    assert!(during.records.iter().all(|r| r.seq.expect("seq") < early_seq), "nothing at or above an uncommitted write is served");
    assert!(during.records.iter().any(|r| r.seq == Some(committed)));

    early.commit().await.expect("commit");
    let late_seq = late.await.expect("late writer");
    assert_ne!(late_seq, early_seq);
    let after = s.records.pull(&Visibility::All, during.next, 100).await.expect("pull");
    let got: HashSet<u64> = after.records.iter().map(|r| r.seq.expect("seq")).collect();
    assert!(
        got.contains(&early_seq) && got.contains(&late_seq),
        "both writes reach a puller that continued from its cursor: {got:?}"
    );
}

/// A unit of work dropped without `commit` leaves no trace, and the next one can start.
pub async fn a_dropped_unit_of_work_changes_nothing(s: Stores) {
    let before = s.records.counts().await.expect("counts");
    {
        let mut tx = s.records.begin().await.expect("begin");
        let version = first_version(report_in(fixtures::GRID, fixtures::COMMUNITY, 9), 100);
        let record_id = version.state.record.id;
        let seq = tx.put_versions(vec![version]).await.expect("put")[0];
        let result = gridwork_core::protocol::OpResult {
            op_id: Uuid::now_v7(),
            outcome: Outcome::Accepted,
            seq: Some(seq),
            rejection: None,
        };
        let entry = crate::storage::LoggedOp { user_id: "u1".into(), record_id, result, change: None, evidence: None };
        tx.log_ops(vec![entry]).await.expect("log");
    }
    assert_eq!(s.records.counts().await.expect("counts"), before);
    assert!(s.records.pull(&Visibility::All, 0, 10).await.expect("pull").records.is_empty());
    let res = push(&s, "u1", vec![create(report_in(fixtures::GRID, fixtures::COMMUNITY, 9), 100)]).await;
    assert_eq!(res[0].outcome, Outcome::Accepted, "the record id was never taken: {res:?}");
}

/// A signed push keeps each accepted op with its signature, key and stamp; the record's
/// fields then check out against them. A signature that does not hold is refused, and a
/// push without a key keeps nothing.
pub async fn signed_ops_are_kept_as_evidence(s: Stores) {
    use gridwork_core::evidence;
    let sync = sync_service(&s).await;
    let caller = admin("u1");
    let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let public = evidence::encode_key(&key.verifying_key());
    let rec = report_in(fixtures::GRID, fixtures::COMMUNITY, 41);
    let ops = vec![create(rec.clone(), 100), describe(rec.id, "楼道堆放杂物已清理", 200)];
    let sigs = ops.iter().map(|op| evidence::sign(&key, &caller.device_id, op)).collect();
    let res = sync.push_signed(&caller, Some(&public), ops.clone(), sigs).await.expect("push").results;
    assert!(res.iter().all(|r| r.outcome == Outcome::Accepted), "{res:?}");

    let (stored, kept) = s.records.evidence(rec.id).await.expect("evidence").expect("the record");
    assert_eq!(kept.iter().map(|k| k.op.op_id).collect::<Vec<_>>(), ops.iter().map(|o| o.op_id).collect::<Vec<_>>());
    assert!(kept.iter().all(|k| k.public_key == public && k.user_id == "u1" && k.device_id == caller.device_id));
    let report = evidence::check(&stored, &kept);
    assert!(report.intact(), "{report:?}");
    assert_eq!(
        report.verdict("description"),
        Some(&evidence::FieldVerdict::Signed { op_id: ops[1].op_id, user_id: "u1".into(), device_id: caller.device_id.clone() })
    );

    // Signed by another key: refused, nothing kept.
    let other = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let forged = describe(rec.id, "被篡改的描述", 300);
    let sig = evidence::sign(&other, &caller.device_id, &forged);
    let res = sync.push_signed(&caller, Some(&public), vec![forged], vec![sig]).await.expect("push").results;
    assert_eq!(res[0].rejection.as_ref().map(|r| r.reason), Some(RejectReason::BadSignature), "{res:?}");
    // Unsigned (a session without a key, or the console): applied, kept without evidence.
    let plain = describe(rec.id, "管理员补充说明", 400);
    assert_eq!(push(&s, "u1", vec![plain]).await[0].outcome, Outcome::Accepted);
    let (stored, kept) = s.records.evidence(rec.id).await.expect("evidence").expect("the record");
    assert_eq!(kept.len(), 2, "neither the forged nor the unsigned edit is evidence");
    let report = evidence::check(&stored, &kept);
    assert_eq!(report.verdict("description"), Some(&evidence::FieldVerdict::Unsigned));
    assert!(report.intact(), "an unsigned edit is not a broken one: {report:?}");
    assert!(s.records.evidence(Uuid::from_u128(1)).await.expect("evidence").is_none());
}

/// The timeline: an epoch of its own, base 0 on a new store, the high water following the
/// sequence.
pub async fn the_timeline_follows_the_sequence(s: Stores) {
    let first = s.records.timeline().await.expect("timeline");
    assert_eq!((first.base, first.high_water), (0, 0));
    let res = push(&s, "u1", vec![create(report_in(fixtures::GRID, fixtures::COMMUNITY, 51), 100)]).await;
    let seq = res[0].seq.expect("seq");
    let now = s.records.timeline().await.expect("timeline");
    assert_eq!((now.epoch, now.base, now.high_water), (first.epoch, 0, seq));
}
