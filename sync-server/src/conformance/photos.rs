//! The photo index kept with each record version, and the rows of arrived photos.

use super::push;
use super::records::{create, report_in};
use super::{COMMUNITY2, GRID2, GRID3};
use crate::domain::access::Visibility;
use crate::storage::{PhotoRow, Stores};
use chrono::{TimeZone, Utc};
use gridwork_core::fixtures;
use gridwork_core::hlc::Hlc;
use gridwork_core::model::{PhotoRef, Record, RecordBody};
use gridwork_core::protocol::{BodyPatch, Op, OpAction, Outcome, RecordPatch, ReportPatch};
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

pub async fn photo_index_follows_the_current_record(s: Stores) {
    let (a, b, c, d) = (sha('a'), sha('b'), sha('c'), sha('d'));
    let rec = report_with_photos(fixtures::GRID, fixtures::COMMUNITY, 1, &[a.clone(), b.clone()]);
    let id = rec.id;
    let other = report_with_photos(fixtures::OTHER_GRID, fixtures::OTHER_COMMUNITY, 2, std::slice::from_ref(&d));
    let res = push(&s, "u1", vec![create(rec, 100), create(other, 100)]).await;
    assert!(res.iter().all(|r| r.outcome == Outcome::Accepted), "{res:?}");
    assert_eq!(s.records.photos_of_record(id).await.expect("photos"), [a.clone(), b.clone()]);

    let grid = Visibility::Grid(fixtures::GRID.into());
    let visible = |sha: String, v: Visibility| {
        let s = s.clone();
        async move { s.photos.photo_visible(&sha, &v).await.expect("visible") }
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
    let at = Utc.with_ymd_and_hms(2026, 11, 26, 9, 30, 0).single().expect("date");
    let row =
        PhotoRow { sha256: a.clone(), size: 2_345_678, mime: "image/jpeg".into(), uploaded_by: "u1".into(), uploaded_at: at };
    s.photos.record_photo_uploaded(row.clone()).await.expect("record");
    assert_eq!(s.photos.photo_uploaded(&a).await.expect("get"), Some(row.clone()));
    let again = PhotoRow { uploaded_by: "u2".into(), ..row.clone() };
    s.photos.record_photo_uploaded(again).await.expect("record again");
    assert_eq!(s.photos.photo_uploaded(&a).await.expect("get"), Some(row), "the first row stays");
    assert_eq!(s.photos.photo_uploaded(&sha('b')).await.expect("get"), None);
}
