//! The figures of the case loop (数字城管考核指标), computed by one pure function from the
//! facts of each case, for a period and a grouping. The definitions, over the period
//! `[from, to)`:
//!
//! - **立案数** (`registered`): cases registered (立案) in the period.
//! - The **due set**: cases whose handling deadline (after approved extensions) falls in the
//!   period, leaving out 挂账 (suspended: out of the due set) and 作废 (voided) cases.
//! - **应结案数** (`due`): cases in the due set; **缓办数** (`paused`): those paused (缓办).
//! - **结案数** (`closed`): cases of the due set closed by the end of the period;
//!   **按期结案数** (`closed_on_time`): closed no later than their deadline.
//! - **按期处置数** (`handled_on_time`): cases of the due set whose handling was reported
//!   back (处置完成, the last time) no later than the deadline; **处置数** (`handled`): whose
//!   handling was reported back by the end of the period.
//! - **返工数** (`reworked`): cases of the due set sent back by a failed 核查 at least once;
//!   **延期数** (`extended`): with at least one approved 延期.
//! - **超期未结数** (`overdue_open`): cases of the due set whose deadline had passed and
//!   which were not closed, as of the end of the period (or now, if that is earlier).
//!
//! Rates: 结案率 = 结案数 / (应结案数 − 缓办数); 按期结案率 = 按期结案数 / (应结案数 − 缓办数);
//! 按期处置率 = 按期处置数 / (应结案数 − 缓办数); 返工率 = 返工数 / 处置数; 延期率 = 延期数 /
//! 应结案数. A rate with a zero denominator is `None` (shown as "—"), never 0 or 100 %.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the figures need of one case.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseFacts {
    /// District (区) the case is in.
    pub district: String,
    /// The brigade (大队: the district org) of the unit or officer it is dispatched to.
    pub brigade: Option<String>,
    /// Who it is dispatched to: `unit:<org code>` or `officer:<user id>`.
    pub unit: Option<String>,
    pub category: String,
    pub registered_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub handled_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub paused: bool,
    pub suspended: bool,
    pub voided: bool,
    pub reworks: u32,
    pub extensions: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// One row for everything.
    Total,
    District,
    Brigade,
    Unit,
    Category,
}

impl GroupBy {
    pub fn parse(s: &str) -> Option<GroupBy> {
        [GroupBy::Total, GroupBy::District, GroupBy::Brigade, GroupBy::Unit, GroupBy::Category]
            .into_iter()
            .find(|g| serde_json::to_value(g).ok().and_then(|v| v.as_str().map(|s| s.to_owned())).as_deref() == Some(s))
    }

    fn key(self, c: &CaseFacts) -> String {
        match self {
            GroupBy::Total => String::new(),
            GroupBy::District => c.district.clone(),
            GroupBy::Brigade => c.brigade.clone().unwrap_or_default(),
            GroupBy::Unit => c.unit.clone().unwrap_or_default(),
            GroupBy::Category => c.category.clone(),
        }
    }
}

/// The counts and rates of one group.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// The group's key (org code, `unit:`/`officer:` key or category code; empty for the total).
    pub key: String,
    pub registered: u64,
    pub due: u64,
    pub paused: u64,
    pub closed: u64,
    pub closed_on_time: u64,
    pub handled: u64,
    pub handled_on_time: u64,
    pub reworked: u64,
    pub extended: u64,
    pub overdue_open: u64,
    /// 结案率
    pub close_rate: Option<f64>,
    /// 按期结案率
    pub on_time_close_rate: Option<f64>,
    /// 按期处置率
    pub on_time_handle_rate: Option<f64>,
    /// 返工率
    pub rework_rate: Option<f64>,
    /// 延期率
    pub extension_rate: Option<f64>,
}

fn rate(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

impl Figures {
    fn count(&mut self, c: &CaseFacts, from: DateTime<Utc>, to: DateTime<Utc>, as_of: DateTime<Utc>) {
        let by = |t: Option<DateTime<Utc>>, limit: DateTime<Utc>| t.is_some_and(|t| t < limit);
        if c.registered_at >= from && c.registered_at < to {
            self.registered += 1;
        }
        let counted = !c.suspended && !c.voided;
        let Some(due) = c.due_at.filter(|d| counted && *d >= from && *d < to) else { return };
        self.due += 1;
        if due < as_of && !by(c.closed_at, as_of) {
            self.overdue_open += 1;
        }
        if c.paused {
            self.paused += 1;
        }
        if by(c.closed_at, to) {
            self.closed += 1;
            if c.closed_at.is_some_and(|t| t <= due) {
                self.closed_on_time += 1;
            }
        }
        if by(c.handled_at, to) {
            self.handled += 1;
            if c.handled_at.is_some_and(|t| t <= due) {
                self.handled_on_time += 1;
            }
        }
        if c.reworks > 0 {
            self.reworked += 1;
        }
        if c.extensions > 0 {
            self.extended += 1;
        }
    }

    fn finish(mut self) -> Self {
        let base = self.due - self.paused;
        self.close_rate = rate(self.closed, base);
        self.on_time_close_rate = rate(self.closed_on_time, base);
        self.on_time_handle_rate = rate(self.handled_on_time, base);
        self.rework_rate = rate(self.reworked, self.handled);
        self.extension_rate = rate(self.extended, self.due);
        self
    }
}

/// The figures of `cases` for `[from, to)`, one row per group (ordered by key), as of
/// `now` (a period not over yet counts open overdue cases up to now).
pub fn figures(cases: &[CaseFacts], from: DateTime<Utc>, to: DateTime<Utc>, now: DateTime<Utc>, by: GroupBy) -> Vec<Figures> {
    let as_of = to.min(now);
    let mut groups: BTreeMap<String, Figures> = BTreeMap::new();
    for c in cases {
        let key = by.key(c);
        groups.entry(key.clone()).or_insert_with(|| Figures { key, ..Default::default() }).count(c, from, to, as_of);
    }
    if groups.is_empty() && by == GroupBy::Total {
        groups.insert(String::new(), Figures::default());
    }
    groups.into_values().map(Figures::finish).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).single().expect("time")
    }

    fn case(district: &str, unit: &str, category: &str) -> CaseFacts {
        CaseFacts {
            district: district.into(),
            brigade: Some(district.into()),
            unit: Some(format!("unit:{unit}")),
            category: category.into(),
            registered_at: t(2, 9),
            due_at: Some(t(5, 9)),
            handled_at: None,
            closed_at: None,
            paused: false,
            suspended: false,
            voided: false,
            reworks: 0,
            extensions: 0,
        }
    }

    /// Ten cases of November, worked by hand:
    ///
    /// | # | due      | handled  | closed   | other                  |
    /// |---|----------|----------|----------|------------------------|
    /// | 1 | 5th      | 4th      | 4th      | on time                |
    /// | 2 | 5th      | 4th      | 6th      | closed late            |
    /// | 3 | 5th      | 6th      | 7th      | handled late, 1 rework |
    /// | 4 | 5th      | —        | —        | open, overdue          |
    /// | 5 | 5th      | —        | —        | paused (缓办)           |
    /// | 6 | 5th      | —        | —        | suspended (挂账)         |
    /// | 7 | 5th      | 4th      | 4th      | extended once, on time |
    /// | 8 | Dec 2nd  | —        | —        | due after the period   |
    /// | 9 | —        | —        | —        | registered, not dispatched; voided |
    /// |10 | 5th      | 5th 08h  | 5th 08h  | another district        |
    fn november() -> Vec<CaseFacts> {
        let mut v: Vec<CaseFacts> = (0..10).map(|_| case("370705", "370705", "06010")).collect();
        (v[0].handled_at, v[0].closed_at) = (Some(t(4, 10)), Some(t(4, 15)));
        (v[1].handled_at, v[1].closed_at) = (Some(t(4, 10)), Some(t(6, 10)));
        (v[2].handled_at, v[2].closed_at, v[2].reworks) = (Some(t(6, 10)), Some(t(7, 10)), 1);
        v[4].paused = true;
        v[5].suspended = true;
        (v[6].handled_at, v[6].closed_at, v[6].extensions) = (Some(t(4, 10)), Some(t(4, 11)), 1);
        v[7].due_at = Some(Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).single().expect("time"));
        (v[8].due_at, v[8].unit, v[8].brigade, v[8].voided) = (None, None, None, true);
        v[9].district = "370702".into();
        v[9].brigade = Some("370702".into());
        v[9].unit = Some("unit:370702".into());
        (v[9].handled_at, v[9].closed_at) = (Some(t(5, 8)), Some(t(5, 8)));
        v[9].category = "09006".into();
        v
    }

    #[test]
    fn the_hand_computed_month() {
        let (from, to) = (t(1, 0), Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).single().expect("time"));
        let now = Utc.with_ymd_and_hms(2026, 12, 10, 0, 0, 0).single().expect("time");
        let rows = figures(&november(), from, to, now, GroupBy::Total);
        assert_eq!(rows.len(), 1);
        let f = &rows[0];
        // Registered in November: all ten.
        assert_eq!(f.registered, 10);
        // Due set: #1–#5, #7, #10 (not #6 suspended, #8 due in December, #9 voided).
        assert_eq!((f.due, f.paused), (7, 1));
        assert_eq!((f.closed, f.closed_on_time), (5, 3), "closed #1 #2 #3 #7 #10; on time #1 #7 #10");
        assert_eq!((f.handled, f.handled_on_time), (5, 4), "handled #1 #2 #3 #7 #10; on time all but #3");
        assert_eq!((f.reworked, f.extended), (1, 1));
        // Of the due set, open past their deadline at the end of November: #4 and #5 (paused
        // still counts as open); not #6 (suspended) nor #8 (due in December).
        assert_eq!(f.overdue_open, 2);
        assert_eq!(f.close_rate, Some(5.0 / 6.0));
        assert_eq!(f.on_time_close_rate, Some(3.0 / 6.0));
        assert_eq!(f.on_time_handle_rate, Some(4.0 / 6.0));
        assert_eq!(f.rework_rate, Some(1.0 / 5.0));
        assert_eq!(f.extension_rate, Some(1.0 / 7.0));
    }

    #[test]
    fn grouped_by_district_and_category() {
        let (from, to) = (t(1, 0), Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).single().expect("time"));
        let rows = figures(&november(), from, to, to, GroupBy::District);
        let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["370702", "370705"]);
        assert_eq!((rows[0].due, rows[0].closed_on_time, rows[0].close_rate), (1, 1, Some(1.0)));
        assert_eq!((rows[1].due, rows[1].closed, rows[1].on_time_close_rate), (6, 4, Some(2.0 / 5.0)));
        let by_cat = figures(&november(), from, to, to, GroupBy::Category);
        assert_eq!(by_cat.iter().map(|r| r.registered).sum::<u64>(), 10);
    }

    #[test]
    fn an_empty_period_has_no_rates_rather_than_zero() {
        let (from, to) = (t(20, 0), t(21, 0));
        let f = &figures(&november(), from, to, to, GroupBy::Total)[0];
        assert_eq!((f.registered, f.due), (0, 0));
        assert_eq!((f.close_rate, f.rework_rate), (None, None));
        assert_eq!(figures(&[], from, to, to, GroupBy::Total).len(), 1);
        assert!(figures(&[], from, to, to, GroupBy::District).is_empty());
        assert_eq!(GroupBy::parse("brigade"), Some(GroupBy::Brigade));
        assert_eq!(GroupBy::parse("street"), None);
    }
}
