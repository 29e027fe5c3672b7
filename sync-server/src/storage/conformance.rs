//! The storage conformance suite: every [`Storage`] implementation must pass it.
//! Written against `Arc<dyn Storage>` only. An implementation runs it with
//! `run_all(open)`, where `open(key)` opens the store identified by `key` (for SQLite a
//! directory): the same key must reopen the same data, a new key gives an empty store.

use super::{Merger, PhotoRow, PushAuthor, SessionRow, Storage, StorageError, User, Visibility};
use chrono::{TimeZone, Utc};
use gridwork_core::fixtures;
use gridwork_core::hlc::Hlc;
use gridwork_core::merge::{Actor, StoredRecord, apply_op};
use gridwork_core::model::{OrgRef, PhotoRef, Record, RecordBody, Role};
use gridwork_core::protocol::{BodyPatch, Op, OpAction, Outcome, RecordPatch, RejectReason, Rejection, ReportPatch};
use gridwork_core::reference::{GridPlace, OrgLevel, OrgUnit, RefIndex, ReferenceData};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use uuid::Uuid;

/// A second grid in the fixture community, and a second community in the fixture district.
pub const GRID2: &str = "370705001001-02";
pub const COMMUNITY2: &str = "370705001002";
pub const GRID3: &str = "370705001002-01";

pub fn reference() -> ReferenceData {
    let mut data = fixtures::reference_data();
    let org =
        |code: &str, level, parent: &str| OrgUnit { code: code.into(), name: code.into(), level, parent: Some(parent.into()) };
    data.orgs.push(org(GRID2, OrgLevel::Grid, fixtures::COMMUNITY));
    data.orgs.push(org(COMMUNITY2, OrgLevel::Community, "370705001"));
    data.orgs.push(org(GRID3, OrgLevel::Grid, COMMUNITY2));
    data
}

/// The core merge rules with the fixture reference data and an all-seeing actor.
pub struct TestMerger {
    refs: RefIndex,
    user: String,
}

impl TestMerger {
    pub fn for_user(user: &str) -> Arc<dyn Merger> {
        Arc::new(TestMerger { refs: RefIndex::new(&reference()), user: user.into() })
    }
}

impl Merger for TestMerger {
    fn apply(&self, current: Option<&StoredRecord>, op: &Op) -> Result<(StoredRecord, GridPlace), Rejection> {
        let actor = Actor { user_id: &self.user, device_id: "d1", role: Role::Admin, scope: None };
        let next = apply_op(current, op, &op.hlc, &actor, &self.refs, Utc::now())?;
        let place = self
            .refs
            .grid_place(&next.record.org.grid)
            .ok_or_else(|| Rejection::new(RejectReason::Invalid, Some("org.grid"), "网格不存在"))?;
        Ok((next, place))
    }
}

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

fn user(id: &str, username: &str, role: Role, scope: &str) -> User {
    User {
        id: id.into(),
        username: username.into(),
        display_name: format!("用户{id}"),
        role,
        scope: scope.into(),
        password_hash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into(),
        created_at: Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).single().expect("valid date"),
    }
}

fn author(id: &str) -> PushAuthor {
    PushAuthor { user_id: id.into() }
}

pub async fn seeded<F, Fut>(open: &F, key: PathBuf) -> Arc<dyn Storage>
where
    F: Fn(PathBuf) -> Fut,
    Fut: Future<Output = Arc<dyn Storage>>,
{
    let s = open(key).await;
    let data = reference();
    s.put_orgs(data.orgs).await.expect("put orgs");
    s.put_categories(data.categories).await.expect("put categories");
    s
}

pub async fn users_roundtrip_and_unique_username(s: Arc<dyn Storage>) {
    let a = user("u1", "grid.a", Role::GridWorker, fixtures::GRID);
    s.insert_user(a.clone()).await.expect("insert");
    s.insert_user(user("u2", "officer.b", Role::Officer, fixtures::DISTRICT)).await.expect("insert");
    assert_eq!(s.user_by_username("grid.a").await.expect("get"), Some(a.clone()));
    assert_eq!(s.user_by_id("u1").await.expect("get"), Some(a.clone()));
    assert_eq!(s.user_by_username("nobody").await.expect("get"), None);
    let dup = s.insert_user(user("u3", "grid.a", Role::Admin, fixtures::CITY)).await;
    assert!(matches!(dup, Err(StorageError::DuplicateUsername)), "{dup:?}");
    let names: Vec<String> = s.list_users().await.expect("list").into_iter().map(|u| u.username).collect();
    assert_eq!(names, ["grid.a", "officer.b"]);
    assert_eq!(s.counts().await.expect("counts").users, 2);
}

pub async fn reference_roundtrip_and_revision(s: Arc<dyn Storage>) {
    let rev0 = s.reference_revision().await.expect("rev");
    let mut orgs = s.orgs().await.expect("orgs");
    orgs.sort_by(|a, b| a.code.cmp(&b.code));
    let mut want = reference().orgs;
    want.sort_by(|a, b| a.code.cmp(&b.code));
    assert_eq!(orgs, want);
    assert_eq!(s.categories().await.expect("categories").len(), reference().categories.len());
    let mut renamed = want[0].clone();
    renamed.name = "改名".into();
    s.put_orgs(vec![renamed.clone()]).await.expect("put");
    assert!(s.orgs().await.expect("orgs").contains(&renamed));
    assert_eq!(s.orgs().await.expect("orgs").len(), want.len(), "upsert, not duplicate");
    let rev1 = s.reference_revision().await.expect("rev");
    assert_ne!(rev0, rev1);
    s.insert_user(user("u1", "a", Role::Admin, fixtures::CITY)).await.expect("insert");
    assert_ne!(s.reference_revision().await.expect("rev"), rev1, "users are reference data too");
}

pub async fn sessions_create_find_revoke(s: Arc<dyn Storage>) {
    let u = user("u1", "grid.a", Role::GridWorker, fixtures::GRID);
    s.insert_user(u.clone()).await.expect("insert");
    let at = Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).single().expect("date");
    let sess = |hash: &str, device: &str| SessionRow {
        token_hash: hash.into(),
        user_id: "u1".into(),
        device_id: device.into(),
        device_name: Some("测试手机".into()),
        created_at: at,
        revoked_at: None,
    };
    for (h, d) in [("h1", "dev1"), ("h2", "dev1"), ("h3", "dev2"), ("h4", "dev3")] {
        s.create_session(sess(h, d)).await.expect("create");
    }
    let (found, who) = s.find_live_session("h1").await.expect("find").expect("live");
    assert_eq!(found, sess("h1", "dev1"));
    assert_eq!(who, u);
    assert!(s.find_live_session("nope").await.expect("find").is_none());

    assert!(s.revoke_session("h1").await.expect("revoke"));
    assert!(!s.revoke_session("h1").await.expect("revoke again"), "already revoked");
    assert!(s.find_live_session("h1").await.expect("find").is_none());

    assert_eq!(s.revoke_user_sessions("u1", Some("dev1")).await.expect("revoke"), 1);
    assert!(s.find_live_session("h2").await.expect("find").is_none());
    assert!(s.find_live_session("h3").await.expect("find").is_some());
    assert_eq!(s.revoke_user_sessions("u1", None).await.expect("revoke"), 2);
    assert!(s.find_live_session("h3").await.expect("find").is_none());
    assert!(s.find_live_session("h4").await.expect("find").is_none());
    assert_eq!(s.counts().await.expect("counts").live_sessions, 0);
}

pub async fn push_applies_in_order_with_increasing_seqs(s: Arc<dyn Storage>) {
    let recs = fixtures::records();
    let id = recs[0].id;
    let mut ops: Vec<Op> = recs.into_iter().map(|r| create(r, 100)).collect();
    ops.push(describe(id, "已清理一半", 200));
    ops.push(describe(id, "已全部清理", 300));
    let results = s.push(&author("u1"), ops.clone(), TestMerger::for_user("u1")).await.expect("push");
    assert_eq!(results.len(), 5);
    for (op, r) in ops.iter().zip(&results) {
        assert_eq!(r.op_id, op.op_id);
        assert_eq!(r.outcome, Outcome::Accepted, "{r:?}");
    }
    let seqs: Vec<u64> = results.iter().map(|r| r.seq.expect("seq")).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");

    // A later batch continues the sequence.
    let more = s.push(&author("u1"), vec![describe(id, "复查无反弹", 400)], TestMerger::for_user("u1")).await.expect("push");
    assert!(more[0].seq.expect("seq") > seqs[4]);

    let page = s.pull(&Visibility::All, 0, 100).await.expect("pull");
    assert_eq!(page.records.len(), 3, "one row per record, latest state");
    let report = page.records.iter().find(|r| r.id == id).expect("report");
    assert_eq!(report.seq, more[0].seq);
    let RecordBody::Report(body) = &report.body else { panic!("kind") };
    assert_eq!(body.description, "复查无反弹");
    let page_seqs: Vec<u64> = page.records.iter().map(|r| r.seq.expect("seq")).collect();
    assert!(page_seqs.windows(2).all(|w| w[0] < w[1]));
    let counts = s.counts().await.expect("counts");
    assert_eq!((counts.records, counts.applied_ops), (3, 6));
}

pub async fn repeated_op_id_returns_the_first_result(s: Arc<dyn Storage>) {
    let rec = fixtures::records().remove(0);
    let id = rec.id;
    let op = create(rec, 100);
    let first = s.push(&author("u1"), vec![op.clone()], TestMerger::for_user("u1")).await.expect("push");
    let before = s.counts().await.expect("counts");
    let again = s.push(&author("u1"), vec![op.clone()], TestMerger::for_user("u1")).await.expect("push");
    assert_eq!(first, again);
    assert_eq!(s.counts().await.expect("counts"), before);
    let page = s.pull(&Visibility::All, 0, 10).await.expect("pull");
    assert_eq!(page.records[0].seq, first[0].seq, "seq unchanged");

    // Same op id from another account, or for another record: conflict, nothing stored.
    let other_user = s.push(&author("u2"), vec![op.clone()], TestMerger::for_user("u2")).await.expect("push");
    assert_eq!(other_user[0].outcome, Outcome::Rejected);
    assert_eq!(other_user[0].rejection.as_ref().map(|r| r.reason), Some(RejectReason::OpIdConflict));
    let mut other_record = describe(Uuid::from_u128(99), "x", 500);
    other_record.op_id = op.op_id;
    let conflict = s.push(&author("u1"), vec![other_record], TestMerger::for_user("u1")).await.expect("push");
    assert_eq!(conflict[0].rejection.as_ref().map(|r| r.reason), Some(RejectReason::OpIdConflict));
    assert_eq!(s.counts().await.expect("counts"), before);
    // The first answer still stands.
    assert_eq!(s.push(&author("u1"), vec![op], TestMerger::for_user("u1")).await.expect("push"), first);

    // An accepted update repeated in the same batch is applied once.
    let upd = describe(id, "新描述", 200);
    let both = s.push(&author("u1"), vec![upd.clone(), upd], TestMerger::for_user("u1")).await.expect("push");
    assert_eq!(both[0], both[1]);
    assert_eq!(s.counts().await.expect("counts").applied_ops, before.applied_ops + 1);
}

pub async fn rejected_result_is_stored_and_repeated(s: Arc<dyn Storage>) {
    let rec = fixtures::records().remove(0);
    let early_update = describe(rec.id, "先到的修改", 200);
    let r1 = s.push(&author("u1"), vec![early_update.clone()], TestMerger::for_user("u1")).await.expect("push");
    assert_eq!(r1[0].outcome, Outcome::Rejected);
    assert_eq!(r1[0].rejection.as_ref().map(|r| r.reason), Some(RejectReason::NotFound));
    assert_eq!(r1[0].seq, None);
    // The record arrives; the retried op still gets its first answer.
    s.push(&author("u1"), vec![create(rec, 100)], TestMerger::for_user("u1")).await.expect("push");
    let r2 = s.push(&author("u1"), vec![early_update], TestMerger::for_user("u1")).await.expect("push");
    assert_eq!(r1, r2);
    let counts = s.counts().await.expect("counts");
    assert_eq!((counts.records, counts.applied_ops), (1, 2));

    // A mixed batch: accepted and rejected results side by side, in order.
    let mut dup = fixtures::records().remove(0);
    if let RecordBody::Report(r) = &mut dup.body {
        r.description = "重复创建".into();
    }
    let mixed = vec![create(dup, 300), create(report_in(fixtures::GRID, fixtures::COMMUNITY, 7), 300)];
    let res = s.push(&author("u1"), mixed, TestMerger::for_user("u1")).await.expect("push");
    assert_eq!(res[0].rejection.as_ref().map(|r| r.reason), Some(RejectReason::AlreadyExists));
    assert_eq!(res[1].outcome, Outcome::Accepted);
}

pub async fn pull_pages_with_limit_next_and_has_more(s: Arc<dyn Storage>) {
    let ops: Vec<Op> = (0..7).map(|n| create(report_in(fixtures::GRID, fixtures::COMMUNITY, n), 100)).collect();
    s.push(&author("u1"), ops, TestMerger::for_user("u1")).await.expect("push");
    let mut since = 0;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = s.pull(&Visibility::All, since, 3).await.expect("pull");
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
    let empty = s.pull(&Visibility::All, since, 3).await.expect("pull");
    assert!(empty.records.is_empty() && !empty.has_more);
    let exact = s.pull(&Visibility::All, 0, 7).await.expect("pull");
    assert_eq!((exact.records.len(), exact.has_more), (7, false));
}

pub async fn pull_filters_by_visibility(s: Arc<dyn Storage>) {
    let places = [
        (fixtures::GRID, fixtures::COMMUNITY),
        (GRID2, fixtures::COMMUNITY),
        (GRID3, COMMUNITY2),
        (fixtures::OTHER_GRID, fixtures::OTHER_COMMUNITY),
    ];
    let ops: Vec<Op> = places.iter().enumerate().map(|(n, (g, c))| create(report_in(g, c, n as u128), 100)).collect();
    let res = s.push(&author("u1"), ops, TestMerger::for_user("u1")).await.expect("push");
    assert!(res.iter().all(|r| r.outcome == Outcome::Accepted), "{res:?}");
    let grids = |v: Visibility| {
        let s = s.clone();
        async move {
            let mut g: Vec<String> = s.pull(&v, 0, 100).await.expect("pull").records.into_iter().map(|r| r.org.grid).collect();
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
    let page = s.pull(&Visibility::District(fixtures::DISTRICT.into()), 0, 3).await.expect("pull");
    assert_eq!((page.records.len(), page.has_more), (3, false));
}

/// A photo reference with plausible facts.
pub fn photo(sha256: &str) -> PhotoRef {
    PhotoRef {
        sha256: sha256.into(),
        mime: "image/jpeg".into(),
        bytes: 123_456,
        width: 1600,
        height: 1200,
        taken_at: None,
        lat: None,
        lon: None,
        stage: None,
    }
}

pub fn sha(c: char) -> String {
    c.to_string().repeat(64)
}

/// A report in `grid` listing `photos`.
pub fn report_with_photos(grid: &str, community: &str, n: u128, photos: &[String]) -> Record {
    let mut r = report_in(grid, community, n);
    if let RecordBody::Report(body) = &mut r.body {
        body.photos = photos.iter().map(|s| photo(s)).collect();
    }
    r
}

fn set_photos(record_id: Uuid, photos: &[String], wall: u64) -> Op {
    Op {
        op_id: Uuid::now_v7(),
        record_id,
        hlc: Hlc::new(wall, 0, "d1"),
        action: OpAction::Update(RecordPatch {
            body: Some(BodyPatch::Report(ReportPatch {
                photos: Some(photos.iter().map(|s| photo(s)).collect()),
                ..Default::default()
            })),
            ..Default::default()
        }),
    }
}

pub async fn photo_index_follows_the_current_record(s: Arc<dyn Storage>) {
    let (a, b, c, d) = (sha('a'), sha('b'), sha('c'), sha('d'));
    let rec = report_with_photos(fixtures::GRID, fixtures::COMMUNITY, 1, &[a.clone(), b.clone()]);
    let id = rec.id;
    let other = report_with_photos(fixtures::OTHER_GRID, fixtures::OTHER_COMMUNITY, 2, std::slice::from_ref(&d));
    let res = s.push(&author("u1"), vec![create(rec, 100), create(other, 100)], TestMerger::for_user("u1")).await.expect("push");
    assert!(res.iter().all(|r| r.outcome == Outcome::Accepted), "{res:?}");
    assert_eq!(s.photos_of_record(id).await.expect("photos"), [a.clone(), b.clone()]);

    let grid = Visibility::Grid(fixtures::GRID.into());
    let visible = |sha: String, v: Visibility| {
        let s = s.clone();
        async move { s.photo_visible(&sha, &v).await.expect("visible") }
    };
    assert!(visible(a.clone(), grid.clone()).await);
    assert!(visible(a.clone(), Visibility::Community(fixtures::COMMUNITY.into())).await);
    assert!(visible(a.clone(), Visibility::District(fixtures::DISTRICT.into())).await);
    assert!(visible(a.clone(), Visibility::All).await);
    assert!(!visible(a.clone(), Visibility::Grid(GRID2.into())).await);
    assert!(!visible(a.clone(), Visibility::Community(COMMUNITY2.into())).await);
    assert!(!visible(a.clone(), Visibility::District(fixtures::OTHER_DISTRICT.into())).await);
    assert!(visible(d.clone(), Visibility::District(fixtures::OTHER_DISTRICT.into())).await);
    assert!(!visible(d.clone(), grid.clone()).await);
    assert!(!visible(sha('e'), Visibility::All).await, "a photo no record lists");

    // An update replaces the list: a photo dropped from the record is no longer visible
    // through it; a rejected op changes nothing.
    let upd = s
        .push(&author("u1"), vec![set_photos(id, &[b.clone(), c.clone()], 200)], TestMerger::for_user("u1"))
        .await
        .expect("push");
    assert_eq!(upd[0].outcome, Outcome::Accepted, "{upd:?}");
    assert_eq!(s.photos_of_record(id).await.expect("photos"), [b.clone(), c.clone()]);
    assert!(!visible(a.clone(), Visibility::All).await);
    assert!(visible(c.clone(), grid.clone()).await);
    let late = s
        .push(&author("u1"), vec![set_photos(Uuid::from_u128(77), std::slice::from_ref(&a), 300)], TestMerger::for_user("u1"))
        .await
        .expect("push");
    assert_eq!(late[0].outcome, Outcome::Rejected);
    assert!(!visible(a.clone(), Visibility::All).await);

    // Two records listing one photo: visible while either does.
    let twin = report_with_photos(GRID3, COMMUNITY2, 3, std::slice::from_ref(&b));
    s.push(&author("u1"), vec![create(twin, 400)], TestMerger::for_user("u1")).await.expect("push");
    s.push(&author("u1"), vec![set_photos(id, &[], 500)], TestMerger::for_user("u1")).await.expect("push");
    assert!(s.photos_of_record(id).await.expect("photos").is_empty());
    assert!(!visible(b.clone(), grid).await);
    assert!(visible(b.clone(), Visibility::Community(COMMUNITY2.into())).await);
}

pub async fn uploaded_photos_are_recorded_once(s: Arc<dyn Storage>) {
    let a = sha('a');
    assert_eq!(s.photo_uploaded(&a).await.expect("get"), None);
    let at = Utc.with_ymd_and_hms(2026, 11, 26, 9, 30, 0).single().expect("date");
    let row =
        PhotoRow { sha256: a.clone(), size: 2_345_678, mime: "image/jpeg".into(), uploaded_by: "u1".into(), uploaded_at: at };
    s.record_photo_uploaded(row.clone()).await.expect("record");
    assert_eq!(s.photo_uploaded(&a).await.expect("get"), Some(row.clone()));
    let again = PhotoRow { uploaded_by: "u2".into(), ..row.clone() };
    s.record_photo_uploaded(again).await.expect("record again");
    assert_eq!(s.photo_uploaded(&a).await.expect("get"), Some(row), "the first row stays");
    assert_eq!(s.photo_uploaded(&sha('b')).await.expect("get"), None);
}

pub async fn data_survives_reopen<F, Fut>(open: &F, key: PathBuf)
where
    F: Fn(PathBuf) -> Fut,
    Fut: Future<Output = Arc<dyn Storage>>,
{
    let rec = fixtures::records().remove(1);
    let op = create(rec.clone(), 100);
    let first = {
        let s = seeded(open, key.clone()).await;
        s.insert_user(user("u1", "officer.a", Role::Officer, fixtures::DISTRICT)).await.expect("insert");
        s.create_session(SessionRow {
            token_hash: "h1".into(),
            user_id: "u1".into(),
            device_id: "dev".into(),
            device_name: None,
            created_at: Utc::now(),
            revoked_at: None,
        })
        .await
        .expect("session");
        let r = s.push(&author("u1"), vec![op.clone()], TestMerger::for_user("u1")).await.expect("push");
        s.close().await.expect("close");
        r
    };
    let s = open(key).await;
    assert!(s.user_by_username("officer.a").await.expect("get").is_some());
    assert!(s.find_live_session("h1").await.expect("find").is_some());
    assert_eq!(s.orgs().await.expect("orgs").len(), reference().orgs.len());
    let page = s.pull(&Visibility::All, 0, 10).await.expect("pull");
    assert_eq!(page.records.len(), 1);
    let got = &page.records[0];
    assert_eq!((got.id, &got.body, got.seq), (rec.id, &rec.body, first[0].seq));
    // The highest stored field clock is known after a restart (the server clock starts there).
    assert_eq!(s.max_clock().await.expect("clock"), Some(op.hlc.to_string()));
    // The op id is still remembered, and the sequence continues.
    assert_eq!(s.push(&author("u1"), vec![op], TestMerger::for_user("u1")).await.expect("push"), first);
    let next = s
        .push(&author("u1"), vec![create(report_in(fixtures::GRID, fixtures::COMMUNITY, 1), 200)], TestMerger::for_user("u1"))
        .await
        .expect("push");
    assert!(next[0].seq > first[0].seq);
    assert_eq!(s.max_clock().await.expect("clock"), Some(Hlc::new(200, 0, "d1").to_string()));
    s.close().await.expect("close");
}

/// Generates one `#[tokio::test]` per conformance case for the implementation opened by
/// `$open` (a `Fn(PathBuf) -> impl Future<Output = Arc<dyn Storage>>`).
macro_rules! storage_conformance {
    ($open:expr) => {
        $crate::storage::conformance::storage_conformance!(@cases $open;
            users_roundtrip_and_unique_username,
            reference_roundtrip_and_revision,
            sessions_create_find_revoke,
            push_applies_in_order_with_increasing_seqs,
            repeated_op_id_returns_the_first_result,
            rejected_result_is_stored_and_repeated,
            pull_pages_with_limit_next_and_has_more,
            pull_filters_by_visibility,
            photo_index_follows_the_current_record,
            uploaded_photos_are_recorded_once
        );
        #[tokio::test]
        async fn data_survives_reopen() {
            let dir = tempfile::tempdir().expect("tempdir");
            $crate::storage::conformance::data_survives_reopen(&$open, dir.path().join("store")).await;
        }
    };
    (@cases $open:expr; $($case:ident),*) => {
        $(
            #[tokio::test]
            async fn $case() {
                let dir = tempfile::tempdir().expect("tempdir");
                let s = $crate::storage::conformance::seeded(&$open, dir.path().join("store")).await;
                $crate::storage::conformance::$case(s).await;
            }
        )*
    };
}
pub(crate) use storage_conformance;
