//! Personal data: masking it for screens and lists where the viewer has no right to it,
//! and the retention rule that removes a closed notice's party from officers' devices.

use crate::model::{Party, Record, RecordBody, Status};
use chrono::{DateTime, Duration, Utc};

/// A phone number with its middle hidden: the first 3 and the last 4 characters kept
/// (`138****1234`); short ones hidden whole.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len().max(4));
    }
    let (head, tail) = (&chars[..3], &chars[chars.len() - 4..]);
    format!("{}{}{}", head.iter().collect::<String>(), "*".repeat(chars.len() - 7), tail.iter().collect::<String>())
}

/// A person's name with all but the family name hidden (`王建国` → `王**`).
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => format!("{first}{}", "*".repeat(chars.count().max(1))),
        None => String::new(),
    }
}

/// How long after a notice is closed its party stays on officers' devices, unless the
/// server says otherwise (`--party-retention-days`; [`crate::protocol::PullResponse`]).
pub const DEFAULT_PARTY_RETENTION_DAYS: u32 = 30;

/// When a notice was closed, for the retention of its party: a notice 已整改 (rectified)
/// or 已撤销 (cancelled), the two statuses no notice leaves, at its last accepted change
/// (`updated_at`, never before the status change). 已移交立案 (escalated) is not closed:
/// its case is still being handled and it may still be rectified or cancelled.
pub fn notice_closed_at(rec: &Record) -> Option<DateTime<Utc>> {
    match (&rec.body, rec.status) {
        (RecordBody::Notice(_), Status::Rectified | Status::Cancelled) => Some(rec.updated_at),
        _ => None,
    }
}

/// Has the party of this notice outlived the retention at `now`? True from
/// `closed_at + retention_days` on (0: from the closure itself).
pub fn party_expired(rec: &Record, retention_days: u32, now: DateTime<Utc>) -> bool {
    notice_closed_at(rec).is_some_and(|closed| now >= closed + Duration::days(i64::from(retention_days)))
}

/// Remove a notice's party (name, shop, phone), leaving the marker. Returns whether
/// anything was left to remove.
pub fn purge_party(rec: &mut Record) -> bool {
    match &mut rec.body {
        RecordBody::Notice(n) if n.party != Party::removed() => {
            n.party = Party::removed();
            true
        }
        _ => false,
    }
}

/// A notice's party as a list shows it: name and phone masked (the shop, a business's
/// sign, stays); a removed party as it is.
pub fn mask_party(party: &Party) -> Party {
    if party.purged {
        return party.clone();
    }
    Party {
        name: mask_name(&party.name),
        shop_name: party.shop_name.clone(),
        phone: party.phone.as_deref().map(mask_phone),
        purged: false,
    }
}

/// The record with its party masked for a list ([`mask_party`]); other kinds unchanged.
pub fn masked_for_list(mut rec: Record) -> Record {
    if let RecordBody::Notice(n) = &mut rec.body {
        n.party = mask_party(&n.party);
    }
    rec
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(status: Status, updated_at: DateTime<Utc>) -> Record {
        let mut rec = crate::fixtures::records().into_iter().find(|r| r.kind() == crate::model::RecordKind::Notice).unwrap();
        rec.status = status;
        rec.updated_at = updated_at;
        rec
    }

    #[test]
    fn closed_notices_expire_at_the_retention_boundary() {
        let closed = Utc::now();
        let day = Duration::days(1);
        for status in [Status::Rectified, Status::Cancelled] {
            let rec = notice(status, closed);
            assert_eq!(notice_closed_at(&rec), Some(closed));
            assert!(!party_expired(&rec, 30, closed + day * 30 - Duration::milliseconds(1)));
            assert!(party_expired(&rec, 30, closed + day * 30));
            assert!(party_expired(&rec, 0, closed), "0: at the closure");
        }
        for status in [Status::Issued, Status::Overdue, Status::Escalated] {
            let rec = notice(status, closed);
            assert_eq!(notice_closed_at(&rec), None, "{status:?} is not closed");
            assert!(!party_expired(&rec, 0, closed + day * 3650));
        }
    }

    #[test]
    fn a_purge_leaves_only_the_marker_and_lists_mask() {
        let mut rec = notice(Status::Rectified, Utc::now());
        let RecordBody::Notice(n) = &rec.body else { unreachable!() };
        let masked = mask_party(&n.party);
        assert_eq!((masked.name.as_str(), masked.phone.as_deref()), ("张*", Some("138****1234")));
        assert!(purge_party(&mut rec));
        assert!(!purge_party(&mut rec), "once");
        let RecordBody::Notice(n) = &rec.body else { unreachable!() };
        assert_eq!(n.party, Party::removed());
        assert_eq!(n.party.name, "已清除");
        assert_eq!(mask_party(&n.party), Party::removed());
        let json = serde_json::to_string(&n.party).unwrap();
        assert_eq!(json, r#"{"name":"已清除","purged":true}"#);
    }

    #[test]
    fn masks() {
        assert_eq!(mask_phone("13805361234"), "138****1234");
        assert_eq!(mask_phone("12345"), "*****");
        assert_eq!(mask_name("王建国"), "王**");
        assert_eq!(mask_name("李"), "李*");
        assert_eq!(mask_name(""), "");
    }
}
