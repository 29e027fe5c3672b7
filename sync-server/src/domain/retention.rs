//! The retention of personal data on officers' devices: a notice closed (已整改 or 已撤销)
//! longer ago than the city's setting (`--party-retention-days`, 30 by default, 0: at the
//! closure) reaches devices without its party (name, shop, phone): the marker
//! `{"name": "已清除", "purged": true}` instead, so a later pull never brings it back to a
//! phone that has removed it. The server keeps the party; the admin console still shows it
//! (masked until revealed). The rule itself is the core's, shared with the devices'
//! purge ([`gridwork_core::privacy::party_expired`]).

use chrono::{DateTime, Utc};
use gridwork_core::model::Record;
use gridwork_core::privacy::{self, DEFAULT_PARTY_RETENTION_DAYS};
use std::sync::atomic::{AtomicU32, Ordering};

/// Days a closed notice's party stays on devices (set once at start-up).
#[derive(Debug)]
pub struct PartyRetention {
    days: AtomicU32,
}

impl Default for PartyRetention {
    fn default() -> Self {
        PartyRetention::new(DEFAULT_PARTY_RETENTION_DAYS)
    }
}

impl PartyRetention {
    pub fn new(days: u32) -> Self {
        PartyRetention { days: AtomicU32::new(days) }
    }

    pub fn days(&self) -> u32 {
        self.days.load(Ordering::Relaxed)
    }

    pub fn set_days(&self, days: u32) {
        self.days.store(days, Ordering::Relaxed)
    }

    /// `records` as a device may receive them at `now`: the parties of notices past the
    /// retention removed. Returns how many were.
    pub fn for_devices(&self, records: &mut [Record], now: DateTime<Utc>) -> usize {
        let days = self.days();
        records.iter_mut().filter(|r| privacy::party_expired(r, days, now)).map(privacy::purge_party).filter(|p| *p).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use gridwork_core::model::{Party, RecordBody, RecordKind, Status};

    fn party(r: &Record) -> &Party {
        match &r.body {
            RecordBody::Notice(n) => &n.party,
            _ => unreachable!(),
        }
    }

    #[test]
    fn devices_get_closed_notices_past_the_retention_without_their_party() {
        let notice = gridwork_core::fixtures::records().into_iter().find(|r| r.kind() == RecordKind::Notice).unwrap();
        let now = Utc::now();
        let at = |status, days_ago: i64| {
            let mut r = notice.clone();
            r.status = status;
            r.updated_at = now - Duration::days(days_ago);
            r
        };
        let mut page = vec![
            at(Status::Rectified, 31),
            at(Status::Cancelled, 30),
            at(Status::Rectified, 29),
            at(Status::Escalated, 400),
            at(Status::Issued, 400),
        ];
        let retention = PartyRetention::default();
        assert_eq!(retention.days(), 30);
        assert_eq!(retention.for_devices(&mut page, now), 2);
        let purged: Vec<bool> = page.iter().map(|r| party(r).purged).collect();
        assert_eq!(purged, [true, true, false, false, false]);
        assert_eq!(party(&page[0]), &Party::removed());
        assert_eq!(party(&page[2]).name, "张某");
        // 0: at the closure.
        retention.set_days(0);
        let mut page = vec![at(Status::Rectified, 0)];
        assert_eq!(retention.for_devices(&mut page, now), 1);
    }
}
