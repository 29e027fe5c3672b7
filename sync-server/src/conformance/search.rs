//! The record search shared by the console, the exports and Open311: every filter narrows
//! as it says, they combine, each order holds, keyset pages cover a selection exactly once,
//! the count agrees, and a caller's visibility bounds it all.

use super::records::{first_version, report_in};
use super::{COMMUNITY2, GRID2, GRID3};
use crate::domain::access::Visibility;
use crate::domain::query::{PageAfter, RecordFilter, SortKey};
use crate::storage::{NewVersion, Stores};
use chrono::{Duration, TimeZone, Utc};
use gridwork_core::cases::{Case, CaseSource};
use gridwork_core::fixtures;
use gridwork_core::model::{Record, RecordBody, RecordKind, Status};
use std::collections::HashSet;
use uuid::Uuid;

fn at(day: u32, hour: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).single().expect("date")
}

/// A varied city: reports, notices, service logs and cases in three grids of two
/// communities, made at different times by two authors.
fn city() -> Vec<NewVersion> {
    let mut out = Vec::new();
    let grids = [(fixtures::GRID, fixtures::COMMUNITY), (GRID2, fixtures::COMMUNITY), (GRID3, COMMUNITY2)];
    for i in 0..30u32 {
        let (grid, community) = grids[i as usize % 3];
        let mut rec: Record = match i % 4 {
            0 => report_in(grid, community, u128::from(i)),
            1 => {
                let mut n = fixtures::records().remove(1);
                n.org = report_in(grid, community, 0).org;
                n
            }
            2 => {
                let mut l = fixtures::records().remove(2);
                l.org = report_in(grid, community, 0).org;
                l
            }
            _ => {
                let mut c = report_in(grid, community, 0);
                let category = if i % 8 == 3 { "06036" } else { "09006" };
                c.body = RecordBody::Case(Case::opened(CaseSource::Hotline, category.into(), format!("案件{i}号楼道"), vec![]));
                c.status = Status::Registered;
                c
            }
        };
        rec.id = Uuid::from_u128(0x5000 + u128::from(i));
        // Spread along a street, 0.001° (about 110 m) apart.
        rec.location.lat = 36.70 + f64::from(i) * 0.001;
        rec.location.lon = 119.16 + f64::from(i % 5) * 0.001;
        rec.created_at = at(1 + i / 3, 8 + i % 3);
        rec.updated_at = rec.created_at + Duration::hours(i64::from(30 - i));
        rec.author = if i % 2 == 0 { "w1".into() } else { "w2".into() };
        if let RecordBody::Report(r) = &mut rec.body {
            r.description = format!("第{i}号 暴露垃圾");
        }
        if let RecordBody::ServiceLog(l) = &mut rec.body {
            l.date = rec.created_at.date_naive();
        }
        let mut v = first_version(rec.clone(), 100);
        // first_version stamps the author as the pusher: keep the one above.
        v.state.record.author = rec.author.clone();
        v.state.record.created_at = rec.created_at;
        v.state.record.updated_at = rec.updated_at;
        if let RecordBody::Case(c) = &mut v.state.record.body {
            c.overdue = i % 8 == 7;
            c.due_at = Some(at(20, 0) + Duration::hours(i64::from(i)));
        }
        if let RecordBody::Case(c) = &v.state.record.body {
            // As if dispatched: the deadline the server watches, the assignee of some.
            let due = c.due_at;
            v = NewVersion::new(v.state, v.place);
            v.due_at = due;
            v.assignee = (i % 8 == 7).then(|| "officer:o1".to_owned());
        }
        out.push(v);
    }
    out
}

async fn all_pages(s: &Stores, vis: &Visibility, f: &RecordFilter, sort: SortKey, size: u32) -> Vec<Record> {
    let mut out = Vec::new();
    let mut after: Option<PageAfter> = None;
    loop {
        let page = s.records.search(vis, f, sort, after.as_ref(), size).await.expect("search");
        assert!(page.records.len() <= size as usize);
        out.extend(page.records);
        match page.next {
            Some(n) => after = Some(n),
            None => return out,
        }
    }
}

pub async fn search_filters_combine_sort_and_page(s: Stores) {
    let city = city();
    let mut tx = s.records.begin().await.expect("begin");
    tx.put_versions(city.clone()).await.expect("put");
    tx.commit().await.expect("commit");
    let recs: Vec<Record> = city.iter().map(|v| v.state.record.clone()).collect();
    let ids = |rs: &[Record]| rs.iter().map(|r| r.id).collect::<Vec<_>>();
    let want = |pred: &dyn Fn(&Record) -> bool| {
        let mut w: Vec<&Record> = recs.iter().filter(|r| pred(r)).collect();
        w.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        w.into_iter().map(|r| r.id).collect::<Vec<_>>()
    };
    let all = Visibility::All;
    let check = |f: RecordFilter, pred: Box<dyn Fn(&Record) -> bool>| {
        let s = s.clone();
        let expected = want(&*pred);
        async move {
            let got = all_pages(&s, &Visibility::All, &f, SortKey::NewestFirst, 4).await;
            assert_eq!(ids(&got), expected, "{f:?}");
            assert_eq!(s.records.count(&Visibility::All, &f).await.expect("count"), expected.len() as u64, "{f:?}");
        }
    };

    check(RecordFilter::default(), Box::new(|_| true)).await;
    check(RecordFilter { kinds: vec![RecordKind::Case], ..Default::default() }, Box::new(|r| r.kind() == RecordKind::Case)).await;
    check(
        RecordFilter { kinds: vec![RecordKind::Report, RecordKind::Notice], ..Default::default() },
        Box::new(|r| matches!(r.kind(), RecordKind::Report | RecordKind::Notice)),
    )
    .await;
    check(RecordFilter { statuses: vec![Status::Issued], ..Default::default() }, Box::new(|r| r.status == Status::Issued)).await;
    // A 大类 matches its 小类; a notice's own code by prefix.
    check(
        RecordFilter { category: Some("06".into()), ..Default::default() },
        Box::new(|r| crate::domain::query::category_of(r).is_some_and(|c| c.starts_with("06"))),
    )
    .await;
    check(RecordFilter { category: Some("QL-".into()), ..Default::default() }, Box::new(|r| r.kind() == RecordKind::Notice))
        .await;
    check(RecordFilter { category: Some("0_".into()), ..Default::default() }, Box::new(|_| false)).await;
    // Any org level.
    check(RecordFilter { org: Some(GRID2.into()), ..Default::default() }, Box::new(|r| r.org.grid == GRID2)).await;
    check(
        RecordFilter { org: Some(fixtures::COMMUNITY.into()), ..Default::default() },
        Box::new(|r| r.org.community == fixtures::COMMUNITY),
    )
    .await;
    check(RecordFilter { org: Some(fixtures::DISTRICT.into()), ..Default::default() }, Box::new(|_| true)).await;
    check(
        RecordFilter { from: Some(at(3, 0)), to: Some(at(6, 0)), ..Default::default() },
        Box::new(|r| r.created_at >= at(3, 0) && r.created_at < at(6, 0)),
    )
    .await;
    check(RecordFilter { overdue: Some(true), ..Default::default() }, Box::new(crate::domain::query::is_overdue)).await;
    check(
        RecordFilter { assignee: Some("officer:o1".into()), ..Default::default() },
        Box::new(|r| crate::domain::query::is_overdue(r) && r.kind() == RecordKind::Case),
    )
    .await;
    check(RecordFilter { author: Some("w2".into()), ..Default::default() }, Box::new(|r| r.author == "w2")).await;
    // Free text: description, a case's words, the address; never the party's name.
    check(RecordFilter { text: Some("第12号".into()), ..Default::default() }, Box::new(|r| r.id == Uuid::from_u128(0x5000 + 12)))
        .await;
    check(RecordFilter { text: Some(" 楼道 ".into()), ..Default::default() }, Box::new(|r| r.kind() == RecordKind::Case)).await;
    check(RecordFilter { text: Some("胜利东街".into()), ..Default::default() }, Box::new(|_| true)).await;
    check(RecordFilter { text: Some("张某".into()), ..Default::default() }, Box::new(|_| false)).await;
    check(RecordFilter { text: Some("告字〔2026〕".into()), ..Default::default() }, Box::new(|r| r.kind() == RecordKind::Notice))
        .await;
    // A map's viewport: edges included, both coordinates.
    let b = crate::domain::query::BBox { south: 36.7045, west: 119.1605, north: 36.7150, east: 119.1625 };
    check(RecordFilter { bbox: Some(b), ..Default::default() }, Box::new(move |r| b.contains(r.location.lat, r.location.lon)))
        .await;
    let lat5 = 36.70 + 5.0 * 0.001;
    let edge = crate::domain::query::BBox { south: lat5, west: 119.16, north: lat5, east: 119.17 };
    check(RecordFilter { bbox: Some(edge), ..Default::default() }, Box::new(|r| r.id == Uuid::from_u128(0x5000 + 5))).await;
    // Combined.
    check(
        RecordFilter {
            kinds: vec![RecordKind::Case],
            org: Some(fixtures::COMMUNITY.into()),
            category: Some("09".into()),
            ..Default::default()
        },
        Box::new(|r| {
            r.kind() == RecordKind::Case
                && r.org.community == fixtures::COMMUNITY
                && crate::domain::query::category_of(r).is_some_and(|c| c.starts_with("09"))
        }),
    )
    .await;

    // Each order, paged in any size, covers the selection exactly once.
    for sort in [SortKey::NewestFirst, SortKey::OldestFirst, SortKey::UpdatedFirst, SortKey::DueFirst] {
        for size in [1, 7, 1000] {
            let got = all_pages(&s, &all, &RecordFilter::default(), sort, size).await;
            let unique: HashSet<Uuid> = got.iter().map(|r| r.id).collect();
            assert_eq!((got.len(), unique.len()), (30, 30), "{sort:?} by {size}");
            let ordered = got.windows(2).all(|w| match sort {
                SortKey::NewestFirst => w[0].created_at >= w[1].created_at,
                SortKey::OldestFirst => w[0].created_at <= w[1].created_at,
                SortKey::UpdatedFirst => w[0].updated_at >= w[1].updated_at,
                SortKey::DueFirst => true,
            });
            assert!(ordered, "{sort:?}");
        }
    }
    let due = all_pages(&s, &all, &RecordFilter::default(), SortKey::DueFirst, 5).await;
    let first_cases: Vec<RecordKind> = due.iter().take(7).map(Record::kind).collect();
    assert!(first_cases.iter().all(|k| *k == RecordKind::Case), "deadlines first: {first_cases:?}");

    // Visibility bounds the search: a grid, and an officer elsewhere who sees only what is theirs.
    let grid = Visibility::Grid(GRID3.into());
    let got = all_pages(&s, &grid, &RecordFilter::default(), SortKey::NewestFirst, 10).await;
    assert!(!got.is_empty() && got.iter().all(|r| r.org.grid == GRID3));
    let stranger = Visibility::Officer { district: fixtures::OTHER_DISTRICT.into(), user_id: "o1".into() };
    let got = all_pages(&s, &stranger, &RecordFilter::default(), SortKey::NewestFirst, 10).await;
    assert!(!got.is_empty());
    assert!(
        got.iter().all(|r| r.kind() == RecordKind::Case && crate::domain::query::is_overdue(r)),
        "only what is dispatched to them"
    );
    assert_eq!(s.records.count(&stranger, &RecordFilter::default()).await.expect("count"), got.len() as u64);
}
