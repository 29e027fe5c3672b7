//! The photo index kept with each record version, and the rows of arrived photos.

use super::push;
use super::records::{create, report_in};
use super::{COMMUNITY2, GRID2, GRID3};
use crate::domain::access::{Caller, Visibility};
use crate::storage::{PhotoRow, PhotoSight, Stores};
use chrono::{TimeZone, Utc};
use gridwork_core::fixtures;
use gridwork_core::hlc::Hlc;
use gridwork_core::model::{PhotoRef, Record, RecordBody, Role};
use gridwork_core::protocol::{BodyPatch, Op, OpAction, Outcome, RecordPatch, RejectReason, ReportPatch};
use uuid::Uuid;

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

/// The row of `sha` uploaded by `user`, matching [`photo`].
pub fn uploaded(sha: &str, user: &str) -> PhotoRow {
    let p = photo(sha);
    PhotoRow {
        sha256: p.sha256,
        size: p.bytes,
        mime: p.mime,
        uploaded_by: user.into(),
        uploaded_at: Utc.with_ymd_and_hms(2026, 11, 26, 9, 30, 0).single().expect("date"),
        width: Some(p.width),
        height: Some(p.height),
    }
}

pub async fn photo_index_follows_the_current_record(s: Stores) {
    let (a, b, c, d) = (sha('a'), sha('b'), sha('c'), sha('d'));
    // Sent by the pusher before the records list them: each link is vouched at once.
    for x in [&a, &b, &c, &d] {
        s.photos.record_photo_uploaded(uploaded(x, "u1")).await.expect("upload");
    }
    let rec = report_with_photos(fixtures::GRID, fixtures::COMMUNITY, 1, &[a.clone(), b.clone()]);
    let id = rec.id;
    let other = report_with_photos(fixtures::OTHER_GRID, fixtures::OTHER_COMMUNITY, 2, std::slice::from_ref(&d));
    let res = push(&s, "u1", vec![create(rec, 100), create(other, 100)]).await;
    assert!(res.iter().all(|r| r.outcome == Outcome::Accepted), "{res:?}");
    assert_eq!(s.records.photos_of_record(id).await.expect("photos"), [a.clone(), b.clone()]);

    let grid = Visibility::Grid(fixtures::GRID.into());
    let visible = |sha: String, v: Visibility| {
        let s = s.clone();
        async move { s.photos.photo_sight(&sha, &v).await.expect("visible") == PhotoSight::Vouched }
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
    let upd = push(&s, "u1", vec![set_photos(id, &[b.clone(), c.clone()], 200)]).await;
    assert_eq!(upd[0].outcome, Outcome::Accepted, "{upd:?}");
    assert_eq!(s.records.photos_of_record(id).await.expect("photos"), [b.clone(), c.clone()]);
    assert!(!visible(a.clone(), Visibility::All).await);
    assert!(visible(c.clone(), grid.clone()).await);
    let late = push(&s, "u1", vec![set_photos(Uuid::from_u128(77), std::slice::from_ref(&a), 300)]).await;
    assert_eq!(late[0].outcome, Outcome::Rejected);
    assert!(!visible(a.clone(), Visibility::All).await);

    // Two records listing one photo: visible while either does.
    let twin = report_with_photos(GRID3, COMMUNITY2, 3, std::slice::from_ref(&b));
    push(&s, "u1", vec![create(twin, 400)]).await;
    push(&s, "u1", vec![set_photos(id, &[], 500)]).await;
    assert!(s.records.photos_of_record(id).await.expect("photos").is_empty());
    assert!(!visible(b.clone(), grid).await);
    assert!(visible(b.clone(), Visibility::Community(COMMUNITY2.into())).await);
}

pub async fn uploaded_photos_are_recorded_once(s: Stores) {
    let a = sha('a');
    assert_eq!(s.photos.photo_uploaded(&a).await.expect("get"), None);
    let row = uploaded(&a, "u1");
    s.photos.record_photo_uploaded(row.clone()).await.expect("record");
    assert_eq!(s.photos.photo_uploaded(&a).await.expect("get"), Some(row.clone()));
    let again = PhotoRow { uploaded_by: "u2".into(), ..row.clone() };
    s.photos.record_photo_uploaded(again).await.expect("record again");
    assert_eq!(s.photos.photo_uploaded(&a).await.expect("get"), Some(row), "the first row stays");
    assert_eq!(s.photos.photo_uploaded(&sha('b')).await.expect("get"), None);
}

/// A grid worker of the fixture grid.
fn worker(user_id: &str) -> Caller {
    Caller { user_id: user_id.into(), device_id: "d1".into(), role: Role::GridWorker, scope: fixtures::GRID.into() }
}

async fn push_as(s: &Stores, caller: &Caller, ops: Vec<Op>) -> Vec<gridwork_core::protocol::OpResult> {
    super::sync_service(s).await.push(caller, ops).await.expect("push").results
}

/// Knowing a photo's hash is not enough to see it. A photo listed before the server has it
/// is a claim of its lister that counts only once that same account uploads the bytes it
/// described; a photo the lister may not see is treated like one the server lacks; one
/// the lister may see must be listed as it is.
pub async fn a_listed_photo_counts_only_once_its_lister_sent_it_or_could_see_it(s: Stores) {
    let everyone = Visibility::All;
    let visible = |sha: String| {
        let s = s.clone();
        async move { s.photos.photo_sight(&sha, &Visibility::All).await.expect("visible") == PhotoSight::Vouched }
    };
    let (w1, w2) = (worker("w1"), worker("w2"));

    // w1 lists x before sending it: a claim.
    let x = sha('1');
    let res =
        push_as(&s, &w1, vec![create(report_with_photos(fixtures::GRID, fixtures::COMMUNITY, 1, std::slice::from_ref(&x)), 100)])
            .await;
    assert_eq!(res[0].outcome, Outcome::Accepted, "{res:?}");
    assert!(!visible(x.clone()).await, "a claim counts for nobody");
    assert_eq!(s.photos.photo_sight(&x, &Visibility::All).await.expect("sight"), PhotoSight::Claimed);
    assert_eq!(s.photos.photo_sight(&sha('3'), &Visibility::All).await.expect("sight"), PhotoSight::Unseen);
    // Someone else sends x: w1's claim still does not count.
    s.photos.record_photo_uploaded(uploaded(&x, "w2")).await.expect("upload");
    assert!(!visible(x.clone()).await);
    // w1 sends a file that is not what it listed (another size): still a claim.
    s.photos.record_photo_uploaded(PhotoRow { size: 1, ..uploaded(&x, "w1") }).await.expect("upload");
    assert!(!visible(x.clone()).await);
    // w1 sends what it listed: vouched.
    s.photos.record_photo_uploaded(uploaded(&x, "w1")).await.expect("upload");
    assert!(visible(x.clone()).await);

    // A photo held by the server but on a record of another district only: listing it is
    // accepted (nothing tells that it exists) but only as a claim.
    let secret = sha('2');
    let far = report_with_photos(fixtures::OTHER_GRID, fixtures::OTHER_COMMUNITY, 2, std::slice::from_ref(&secret));
    s.photos.record_photo_uploaded(uploaded(&secret, "u9")).await.expect("upload");
    push(&s, "u9", vec![create(far, 100)]).await;
    assert!(
        s.photos.photo_sight(&secret, &Visibility::District(fixtures::OTHER_DISTRICT.into())).await.expect("visible")
            == PhotoSight::Vouched
    );
    let mut lie = report_with_photos(fixtures::GRID, fixtures::COMMUNITY, 3, std::slice::from_ref(&secret));
    if let RecordBody::Report(r) = &mut lie.body {
        (r.photos[0].width, r.photos[0].bytes) = (4000, 9);
    }
    let res = push_as(&s, &w2, vec![create(lie, 200)]).await;
    assert_eq!(res[0].outcome, Outcome::Accepted, "the same answer as for an unknown photo: {res:?}");
    let grid = Visibility::Grid(fixtures::GRID.into());
    assert_eq!(
        s.photos.photo_sight(&secret, &grid).await.expect("sight"),
        PhotoSight::Claimed,
        "through w2's record only a claim: pending to them, as an unknown photo would be"
    );

    // A photo the lister may see (x, through w1's record in their grid) is vouched at once
    // when listed as it is, and refused when listed otherwise.
    let res =
        push_as(&s, &w2, vec![create(report_with_photos(fixtures::GRID, fixtures::COMMUNITY, 4, std::slice::from_ref(&x)), 300)])
            .await;
    assert_eq!(res[0].outcome, Outcome::Accepted, "{res:?}");
    let mut wrong = report_with_photos(fixtures::GRID, fixtures::COMMUNITY, 5, std::slice::from_ref(&x));
    if let RecordBody::Report(r) = &mut wrong.body {
        r.photos[0].mime = "image/png".into();
    }
    let res = push_as(&s, &w2, vec![create(wrong, 400)]).await;
    assert_eq!(res[0].outcome, Outcome::Rejected);
    assert_eq!(res[0].rejection.as_ref().map(|r| (r.reason, r.field.as_deref())), Some((RejectReason::Invalid, Some("photos"))));
    // Dropping w1's record leaves x visible through w2's vouched link.
    let none: Vec<String> = Vec::new();
    let id = report_in(fixtures::GRID, fixtures::COMMUNITY, 1).id;
    let res = push_as(&s, &w1, vec![set_photos(id, &none, 500)]).await;
    assert_eq!(res[0].outcome, Outcome::Accepted, "{res:?}");
    assert!(s.photos.photo_sight(&x, &everyone).await.expect("visible") == PhotoSight::Vouched);
}
