//! What the case loop asks of a backend: a record dispatched beyond a caller's area reaches
//! the assignee and leaves them with a departure; the deadline index the server watches;
//! number counters that roll back with their unit of work; the working-time documents.

use super::records::{first_version, report_in};
use super::{COMMUNITY2, GRID3};
use crate::domain::access::Visibility;
use crate::storage::{NewVersion, Stores};
use chrono::{DateTime, TimeZone, Utc};
use gridwork_core::cases::{Case, CaseSource, TimeLimit};
use gridwork_core::fixtures;
use gridwork_core::model::{Record, RecordBody, Status};
use gridwork_core::protocol::Removed;
use gridwork_core::worktime::WorkCalendar;
use std::collections::HashSet;
use uuid::Uuid;

/// Store `versions` in one unit of work; their seqs.
async fn put(s: &Stores, versions: Vec<NewVersion>) -> Vec<u64> {
    let mut tx = s.records.begin().await.expect("begin");
    let seqs = tx.put_versions(versions).await.expect("put");
    tx.commit().await.expect("commit");
    seqs
}

/// The case `n` in [`GRID3`] (from a hotline call, just opened).
fn case_in(n: u128) -> Record {
    let mut r = report_in(GRID3, COMMUNITY2, n);
    r.body = RecordBody::Case(Case::opened(CaseSource::Hotline, "06036".into(), "楼道堆放杂物".into(), vec![]));
    r.status = Status::Registered;
    r
}

/// A version of the case `n`, dispatched to `assignee`, watched until `due`.
fn version(n: u128, wall: u64, assignee: Option<&str>, due: Option<DateTime<Utc>>) -> NewVersion {
    let mut v = first_version(case_in(n), wall);
    v.assignee = assignee.map(Into::into);
    v.due_at = due;
    v
}

fn ids(page: &crate::storage::PullPage) -> Vec<Uuid> {
    page.records.iter().map(|r| r.id).collect()
}

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, h, m, 0).single().expect("valid time")
}

/// An officer of another district sees only what is dispatched to them or their unit; a
/// re-dispatch leaves them a departure (with the seq of the change), the new assignee the
/// record; a record that leaves an assignment but stays in the caller's area is no departure.
pub async fn an_assigned_record_reaches_its_assignee_and_leaves_with_a_departure(s: Stores) {
    let o9 = Visibility::Officer { district: fixtures::OTHER_DISTRICT.into(), user_id: "o9".into() };
    let o8 = Visibility::Officer { district: fixtures::OTHER_DISTRICT.into(), user_id: "o8".into() };
    let unit = format!("unit:{}", fixtures::OTHER_DISTRICT);
    let (r1, r2, r3) =
        (report_in(GRID3, COMMUNITY2, 1).id, report_in(GRID3, COMMUNITY2, 2).id, report_in(GRID3, COMMUNITY2, 3).id);
    put(&s, vec![version(1, 100, Some("officer:o9"), None), version(2, 100, None, None), version(3, 100, Some(&unit), None)])
        .await;

    let first = s.records.pull(&o9, 0, 100).await.expect("pull");
    assert_eq!(ids(&first), [r1, r3], "dispatched to the officer and to their unit, nothing else of another district");
    assert!(first.removed.is_empty());
    assert!(!first.has_more);
    assert!(!ids(&s.records.pull(&o8, 0, 100).await.expect("pull")).contains(&r1));
    assert!(!ids(&first).contains(&r2));

    // Dispatched elsewhere: a departure for o9, the record for o8.
    let moved = put(&s, vec![version(1, 200, Some("officer:o8"), None)]).await[0];
    let after = s.records.pull(&o9, first.next, 100).await.expect("pull");
    assert!(after.records.is_empty(), "{:?}", ids(&after));
    assert_eq!(after.removed, [Removed { id: r1, seq: moved }]);
    assert_eq!(after.next, moved, "the cursor moves past the departure");
    assert!(s.records.pull(&o9, after.next, 100).await.expect("pull").removed.is_empty(), "each departure once");
    assert_eq!(ids(&s.records.pull(&o8, 0, 100).await.expect("pull")), [r3, r1]);
    let fresh = s.records.pull(&o9, 0, 100).await.expect("pull");
    assert_eq!(ids(&fresh), [r3], "a device starting over does not get the record back");

    // Pages stay in order across records and departures.
    let mut cursor = 0;
    let mut seqs = Vec::new();
    loop {
        let page = s.records.pull(&o9, cursor, 1).await.expect("pull");
        assert!(page.records.len() + page.removed.len() <= 1);
        seqs.extend(page.records.iter().map(|r| r.seq.expect("seq")));
        seqs.extend(page.removed.iter().map(|r| r.seq));
        cursor = page.next;
        if !page.has_more {
            break;
        }
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert!(seqs.contains(&moved));

    // Back to o9: the record returns, o8 gets the departure.
    let back = put(&s, vec![version(1, 300, Some("officer:o9"), None)]).await[0];
    let o9_back = s.records.pull(&o9, after.next, 100).await.expect("pull");
    assert_eq!(ids(&o9_back), [r1]);
    assert!(o9_back.removed.is_empty());
    let o8_left = s.records.pull(&o8, moved, 100).await.expect("pull");
    assert_eq!(o8_left.removed, [Removed { id: r1, seq: back }]);

    // An officer of the record's own district keeps seeing it when it is re-dispatched.
    let home = Visibility::Officer { district: fixtures::DISTRICT.into(), user_id: "o9".into() };
    let cursor = s.records.pull(&home, 0, 100).await.expect("pull").next;
    put(&s, vec![version(1, 400, Some("officer:o7"), None)]).await;
    let page = s.records.pull(&home, cursor, 100).await.expect("pull");
    assert_eq!(ids(&page), [r1], "the new version, through the area");
    assert!(page.removed.is_empty(), "no departure for a record still in sight");
}

/// The deadline index: what is watched and due by a time, earliest first; a version
/// without a deadline leaves it.
pub async fn due_before_lists_what_is_watched_in_due_order(s: Stores) {
    put(&s, vec![version(1, 100, None, Some(at(10, 0))), version(2, 100, None, Some(at(9, 0))), version(3, 100, None, None)])
        .await;
    let (r1, r2) = (case_in(1).id, case_in(2).id);
    assert!(s.records.due_before(at(8, 59), 10).await.expect("due").is_empty());
    assert_eq!(s.records.due_before(at(9, 30), 10).await.expect("due"), [r2]);
    assert_eq!(s.records.due_before(at(10, 0), 10).await.expect("due"), [r2, r1], "due at the time counts");
    assert_eq!(s.records.due_before(at(23, 0), 1).await.expect("due"), [r2], "the limit keeps the earliest");
    put(&s, vec![version(2, 200, None, None)]).await;
    assert_eq!(s.records.due_before(at(23, 0), 10).await.expect("due"), [r1]);
}

/// Numbers count up per key, from 1; a unit of work dropped without commit gives its
/// numbers back; concurrent units of work never share one.
pub async fn numbers_count_per_key_and_roll_back_with_their_unit_of_work(s: Stores) {
    let mut tx = s.records.begin().await.expect("begin");
    assert_eq!(tx.next_number("case:370705:2026").await.expect("n"), 1);
    assert_eq!(tx.next_number("case:370705:2026").await.expect("n"), 2);
    assert_eq!(tx.next_number("case:370702:2026").await.expect("n"), 1, "each key its own sequence");
    tx.commit().await.expect("commit");
    {
        let mut dropped = s.records.begin().await.expect("begin");
        assert_eq!(dropped.next_number("case:370705:2026").await.expect("n"), 3);
    }
    let mut tx = s.records.begin().await.expect("begin");
    assert_eq!(tx.next_number("case:370705:2026").await.expect("n"), 3, "the dropped unit of work used none");
    tx.commit().await.expect("commit");

    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                for _ in 0..5 {
                    let mut tx = s.records.begin().await.expect("begin");
                    got.push(tx.next_number("case:370705:2027").await.expect("n"));
                    tx.commit().await.expect("commit");
                }
                got
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    let unique: HashSet<u64> = all.iter().copied().collect();
    assert_eq!(unique.len(), 30, "no number handed out twice: {all:?}");
    assert_eq!(unique, (1..=30).collect::<HashSet<u64>>(), "no gaps");
}

/// The working calendar and the time limits: none at first, then what was put, replaced
/// whole; a change is a new reference revision.
pub async fn worktime_roundtrip_and_revision(s: Stores) {
    assert_eq!(s.reference.worktime().await.expect("worktime"), None);
    let rev0 = s.reference.reference_revision().await.expect("rev");
    let mut calendar = WorkCalendar::default();
    calendar.holidays.push(chrono::NaiveDate::from_ymd_opt(2027, 1, 1).expect("date"));
    let limits = vec![
        TimeLimit { category: "*".into(), dispatch_minutes: 60, handle_minutes: 480, verify_minutes: 240 },
        TimeLimit { category: "09006".into(), dispatch_minutes: 30, handle_minutes: 480, verify_minutes: 120 },
    ];
    s.reference.put_worktime(calendar.clone(), limits.clone()).await.expect("put");
    assert_eq!(s.reference.worktime().await.expect("worktime"), Some((calendar.clone(), limits.clone())));
    let rev1 = s.reference.reference_revision().await.expect("rev");
    assert_ne!(rev0, rev1);
    s.reference.put_worktime(WorkCalendar::default(), limits[..1].to_vec()).await.expect("put");
    assert_eq!(s.reference.worktime().await.expect("worktime"), Some((WorkCalendar::default(), limits[..1].to_vec())));
    assert_ne!(s.reference.reference_revision().await.expect("rev"), rev1);
}
