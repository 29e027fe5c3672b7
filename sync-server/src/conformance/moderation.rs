//! Moderation: a record is hidden once and shown again once, each change with its event in
//! order; the public version of a photo is stored per record, replaced and removed, and a
//! redacted copy counts as in use while any record's photo has it.

use crate::storage::Stores;
use crate::storage::moderation::{HiddenRecord, ModerationAction, Redaction, Region};
use chrono::{Duration, TimeZone, Utc};
use uuid::Uuid;

pub async fn hiding_and_redactions_roundtrip_with_their_history(s: Stores) {
    let m = s.moderation.clone();
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).single().expect("date");
    let (r1, r2, r3) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());

    // Hiding.
    assert_eq!(m.hidden(r1).await.expect("hidden"), None);
    assert!(m.hidden_among(&[r1, r2]).await.expect("among").is_empty());
    let h = HiddenRecord { record_id: r1, reason: "照片含有人脸".into(), by: "admin-1".into(), at };
    assert!(m.hide(h.clone()).await.expect("hide"));
    assert!(
        !m.hide(HiddenRecord { reason: "again".into(), at: at + Duration::minutes(1), ..h.clone() }).await.expect("hide again"),
        "hidden once"
    );
    assert_eq!(m.hidden(r1).await.expect("hidden"), Some(h.clone()), "the first hiding stays");
    m.hide(HiddenRecord { record_id: r2, ..h.clone() }).await.expect("hide r2");
    let among = m.hidden_among(&[r1, r2, r3]).await.expect("among");
    assert_eq!(among.len(), 2);
    assert!(among.contains(&r1) && among.contains(&r2));
    assert!(m.hidden_among(&[]).await.expect("none").is_empty());
    assert!(m.unhide(r1, "admin-2", at + Duration::hours(1)).await.expect("unhide"));
    assert!(!m.unhide(r1, "admin-2", at + Duration::hours(2)).await.expect("unhide again"));
    assert!(!m.unhide(r3, "admin-2", at).await.expect("unhide unknown"));
    assert_eq!(m.hidden(r1).await.expect("hidden"), None);
    assert!(m.hide(HiddenRecord { at: at + Duration::hours(3), ..h.clone() }).await.expect("hide again after unhide"));

    // Redactions.
    let (p1, p2) = ("a".repeat(64), "b".repeat(64));
    let regions = vec![Region { x: 1, y: 2, w: 30, h: 40 }, Region { x: 100, y: 0, w: 5, h: 5 }];
    let red = Redaction {
        record_id: r1,
        photo: p1.clone(),
        redacted: "c".repeat(64),
        regions: regions.clone(),
        by: "admin-1".into(),
        at: at + Duration::hours(4),
    };
    assert_eq!(m.redaction(r1, &p1).await.expect("redaction"), None);
    assert_eq!(m.put_redaction(red.clone()).await.expect("put"), None);
    assert_eq!(m.redaction(r1, &p1).await.expect("redaction"), Some(red.clone()));
    assert_eq!(m.redaction(r2, &p1).await.expect("per record"), None, "per record");
    assert!(m.redacted_in_use(&"c".repeat(64)).await.expect("in use"));
    let replaced = Redaction {
        redacted: "d".repeat(64),
        regions: vec![Region { x: 0, y: 0, w: 1, h: 1 }],
        at: at + Duration::hours(5),
        ..red.clone()
    };
    assert_eq!(m.put_redaction(replaced.clone()).await.expect("replace"), Some(red.clone()), "the one replaced");
    assert!(!m.redacted_in_use(&"c".repeat(64)).await.expect("no longer"));
    let other = Redaction { photo: p2.clone(), redacted: "e".repeat(64), ..red.clone() };
    m.put_redaction(other.clone()).await.expect("second photo");
    assert_eq!(m.redactions(r1).await.expect("all"), [replaced.clone(), other.clone()], "by photo");
    assert!(m.redactions(r3).await.expect("none").is_empty());
    assert_eq!(m.remove_redaction(r1, &p1, "admin-2", at + Duration::hours(6)).await.expect("remove"), Some(replaced.clone()));
    assert_eq!(m.remove_redaction(r1, &p1, "admin-2", at + Duration::hours(7)).await.expect("remove again"), None);
    assert_eq!(m.redactions(r1).await.expect("left"), std::slice::from_ref(&other));

    // The history, in order, with nothing for refused changes.
    let events = m.events(r1).await.expect("events");
    let actions: Vec<ModerationAction> = events.iter().map(|e| e.action).collect();
    use ModerationAction::*;
    assert_eq!(actions, [Hide, Unhide, Hide, Redact, Redact, Redact, Unredact]);
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!((events[0].reason.as_deref(), events[0].actor.as_str(), events[0].at), (Some("照片含有人脸"), "admin-1", at));
    assert_eq!((events[1].actor.as_str(), events[1].reason.as_deref()), ("admin-2", None));
    assert_eq!((events[3].photo.as_deref(), events[3].regions), (Some(p1.as_str()), 2));
    assert_eq!((events[5].photo.as_deref(), events[5].regions), (Some(p2.as_str()), 2));
    assert_eq!((events[6].photo.as_deref(), events[6].actor.as_str()), (Some(p1.as_str()), "admin-2"));
    assert!(events.iter().all(|e| e.record_id == r1));
    assert_eq!(m.events(r2).await.expect("r2").len(), 1);
    assert!(m.events(r3).await.expect("r3").is_empty());
}
