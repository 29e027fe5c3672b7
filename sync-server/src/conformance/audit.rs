//! The audit trail: appended in order, chained, paged, filtered by target; the chain
//! verifies; case steps pushed through the sync service leave their entries in the same
//! unit of work.

use super::push;
use crate::domain::audit::first_broken;
use crate::storage::{AuditCursor, AuditQuery, NewAudit, Stores};
use chrono::{TimeZone, Utc};
use gridwork_core::fixtures;
use gridwork_core::protocol::Outcome;
use serde_json::json;

fn entry(n: u32, target: Option<&str>) -> NewAudit {
    NewAudit {
        at: Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, n).single().expect("date"),
        actor: "u1".into(),
        action: "sign_in".into(),
        target: target.map(Into::into),
        detail: json!({ "n": n }),
    }
}

pub async fn the_audit_trail_is_a_chain_in_order(s: Stores) {
    assert!(s.audit.audit_page(0, 10, None).await.expect("page").is_empty());
    for n in 1..=5 {
        let target = if n % 2 == 0 { Some("rec-a") } else { None };
        assert_eq!(s.audit.append_audit(entry(n, target)).await.expect("append"), u64::from(n));
    }
    let all = s.audit.audit_page(0, 10, None).await.expect("page");
    assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    assert_eq!(all[1].detail, r#"{"n":2}"#);
    assert_eq!(all[1].target.as_deref(), Some("rec-a"));
    assert!(all.windows(2).all(|w| w[1].prev_hash == w[0].hash), "each entry names the one before");
    assert_eq!(first_broken(all.iter().map(|e| (e.link(), e.prev_hash.as_str(), e.hash.as_str()))), None);
    let page = s.audit.audit_page(2, 2, None).await.expect("page");
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4]);
    let about = s.audit.audit_page(0, 10, Some("rec-a")).await.expect("page");
    assert_eq!(about.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 4]);

    // Concurrent appends never fork the chain.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move { s.audit.append_audit(entry(10 + i, None)).await.expect("append") })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    let all = s.audit.audit_page(0, 100, None).await.expect("page");
    assert_eq!(all.len(), 13);
    assert_eq!(first_broken(all.iter().map(|e| (e.link(), e.prev_hash.as_str(), e.hash.as_str()))), None);
}

pub async fn case_steps_are_audited_with_their_push(s: Stores) {
    use gridwork_core::cases::{Case, CaseSource, CaseStep, StepAction};
    use gridwork_core::hlc::Hlc;
    use gridwork_core::model::{RecordBody, Status};
    use gridwork_core::protocol::{NewRecord, Op, OpAction};
    let report = fixtures::records().remove(0);
    let id = uuid::Uuid::from_u128(4242);
    let open = Op {
        op_id: uuid::Uuid::now_v7(),
        record_id: id,
        hlc: Hlc::new(100, 0, "d1"),
        action: OpAction::Create(NewRecord {
            org: report.org,
            created_at: report.created_at,
            location: report.location,
            status: Status::Registered,
            body: RecordBody::Case(Case::opened(CaseSource::Hotline, "06036".into(), "楼道堆放杂物".into(), vec![])),
        }),
    };
    let void = Op {
        op_id: uuid::Uuid::now_v7(),
        record_id: id,
        hlc: Hlc::new(200, 0, "d1"),
        action: OpAction::Step(CaseStep { from: Status::Registered, action: StepAction::Void, note: None, photos: vec![] }),
    };
    let res = push(&s, "u1", vec![open, void]).await;
    assert!(res.iter().all(|r| r.outcome == Outcome::Accepted), "{res:?}");
    let about = s.audit.audit_page(0, 10, Some(&id.to_string())).await.expect("page");
    let actions: Vec<&str> = about.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["case_open", "case_step"]);
    assert!(about.iter().all(|e| e.actor == "u1"));
    assert!(about[1].detail.contains(r#""step":"void""#) && about[1].detail.contains(r#""to":"voided""#), "{}", about[1].detail);
    // A rejected step leaves no entry.
    let again = Op {
        op_id: uuid::Uuid::now_v7(),
        record_id: id,
        hlc: Hlc::new(300, 0, "d1"),
        action: OpAction::Step(CaseStep { from: Status::Registered, action: StepAction::Void, note: None, photos: vec![] }),
    };
    assert_eq!(push(&s, "u1", vec![again]).await[0].outcome, Outcome::Rejected);
    assert_eq!(s.audit.audit_page(0, 10, Some(&id.to_string())).await.expect("page").len(), 2);
}

pub async fn the_audit_trail_pages_both_ways_by_action_and_target(s: Stores) {
    let q = |cursor, limit, action: Option<&str>, target: Option<&str>| AuditQuery {
        cursor,
        limit,
        action: action.map(Into::into),
        target: target.map(Into::into),
    };
    assert!(s.audit.audit_find(q(AuditCursor::Before(None), 10, None, None)).await.expect("find").is_empty());
    // 1..=9: every third a `revoke` (3, 6, 9); the even ones about rec-a.
    for n in 1..=9 {
        let mut e = entry(n, if n % 2 == 0 { Some("rec-a") } else { None });
        if n % 3 == 0 {
            e.action = "revoke".into();
        }
        s.audit.append_audit(e).await.expect("append");
    }
    let seqs = |v: Vec<crate::storage::AuditEntry>| v.iter().map(|e| e.seq).collect::<Vec<_>>();
    let find = |query| {
        let s = s.clone();
        async move { seqs(s.audit.audit_find(query).await.expect("find")) }
    };
    assert_eq!(find(q(AuditCursor::Before(None), 4, None, None)).await, [9, 8, 7, 6], "newest first");
    assert_eq!(find(q(AuditCursor::Before(Some(6)), 4, None, None)).await, [5, 4, 3, 2], "the next page");
    assert_eq!(find(q(AuditCursor::Before(Some(2)), 4, None, None)).await, [1]);
    assert!(find(q(AuditCursor::Before(Some(1)), 4, None, None)).await.is_empty());
    assert_eq!(find(q(AuditCursor::After(0), 4, None, None)).await, [1, 2, 3, 4], "oldest first");
    assert_eq!(find(q(AuditCursor::After(7), 4, None, None)).await, [8, 9]);
    assert_eq!(find(q(AuditCursor::Before(None), 10, Some("revoke"), None)).await, [9, 6, 3], "by action");
    assert_eq!(find(q(AuditCursor::Before(Some(9)), 1, Some("revoke"), None)).await, [6]);
    assert_eq!(find(q(AuditCursor::After(0), 10, None, Some("rec-a"))).await, [2, 4, 6, 8], "by target");
    assert_eq!(find(q(AuditCursor::Before(None), 10, Some("revoke"), Some("rec-a"))).await, [6], "both");
    assert!(find(q(AuditCursor::Before(None), 10, Some("nothing"), None)).await.is_empty());
    // The entries are those the chain covers, whole.
    let found = s.audit.audit_find(q(AuditCursor::After(0), 100, None, None)).await.expect("find");
    assert_eq!(found, s.audit.audit_page(0, 100, None).await.expect("page"));
}
