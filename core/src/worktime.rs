//! Working time: the calendar cases are timed by (working hours of a working day, weekends,
//! public holidays and the weekend days worked in their place, 调休), and the one pure
//! function that turns "N working minutes from now" into an instant and back. The server
//! computes due times with it; a phone computes "remaining" with it offline, from the same
//! data (both come with the reference data).
//!
//! All of it is in the city's local time, China Standard Time (UTC+8, no daylight saving).

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday};
use serde::{Deserialize, Serialize};

/// UTC+8.
pub fn china() -> FixedOffset {
    const CST: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
        Some(o) => o,
        None => panic!("UTC+8 is a valid offset"),
    };
    CST
}

/// The local date of an instant in China.
pub fn local_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&china()).date_naive()
}

/// The first instant of a local date in China.
pub fn start_of_day(d: NaiveDate) -> DateTime<Utc> {
    WorkCalendar::at(d, NaiveTime::MIN)
}

/// One working period of a working day, local time, `[start, end)`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WorkPeriod {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// The working calendar of a city.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WorkCalendar {
    /// The working periods of a working day, in order, not overlapping.
    pub periods: Vec<WorkPeriod>,
    /// Public holidays (法定节假日): no work, even on a weekday.
    #[serde(default)]
    pub holidays: Vec<NaiveDate>,
    /// Saturdays and Sundays that are working days (调休上班).
    #[serde(default)]
    pub extra_workdays: Vec<NaiveDate>,
}

impl Default for WorkCalendar {
    /// 08:30–12:00 and 13:30–17:30, Monday to Friday, no holidays.
    fn default() -> Self {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default();
        WorkCalendar {
            periods: vec![WorkPeriod { start: t(8, 30), end: t(12, 0) }, WorkPeriod { start: t(13, 30), end: t(17, 30) }],
            holidays: Vec::new(),
            extra_workdays: Vec::new(),
        }
    }
}

/// How far a search for working time may run before it gives up (a calendar with no
/// working time at all would otherwise loop for ever).
const MAX_DAYS: i64 = 3 * 366;

impl WorkCalendar {
    /// A calendar is usable if its periods are ordered, non-empty and do not overlap.
    pub fn is_valid(&self) -> bool {
        !self.periods.is_empty()
            && self.periods.iter().all(|p| p.start < p.end)
            && self.periods.windows(2).all(|w| w[0].end <= w[1].start)
    }

    pub fn is_workday(&self, d: NaiveDate) -> bool {
        if self.holidays.contains(&d) {
            return false;
        }
        matches!(d.weekday(), Weekday::Sat | Weekday::Sun) == self.extra_workdays.contains(&d)
    }

    /// Working minutes in one working day.
    pub fn minutes_per_day(&self) -> i64 {
        self.periods.iter().map(|p| (p.end - p.start).num_minutes()).sum()
    }

    fn at(d: NaiveDate, t: NaiveTime) -> DateTime<Utc> {
        china().from_local_datetime(&NaiveDateTime::new(d, t)).single().map(|x| x.with_timezone(&Utc)).unwrap_or_default()
    }

    /// The working periods of day `d` as instants (none on a day off).
    fn periods_of(&self, d: NaiveDate) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        let work = self.is_workday(d);
        self.periods.iter().filter(move |_| work).map(move |p| (Self::at(d, p.start), Self::at(d, p.end)))
    }

    /// The instant `minutes` working minutes after `start`. A start outside working time
    /// counts from the next working period; zero minutes is `start` itself.
    pub fn add_working_minutes(&self, start: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
        if minutes <= 0 || !self.is_valid() {
            return start;
        }
        let mut left = minutes;
        let mut day = local_date(start);
        for _ in 0..MAX_DAYS {
            for (from, to) in self.periods_of(day) {
                if to <= start {
                    continue;
                }
                let from = from.max(start);
                let available = (to - from).num_minutes();
                if left <= available {
                    return from + Duration::minutes(left);
                }
                left -= available;
            }
            day = day.succ_opt().unwrap_or(day);
        }
        start + Duration::days(MAX_DAYS)
    }

    /// Working minutes from `a` to `b`; negative when `b` is before `a`.
    pub fn working_minutes_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
        if b < a {
            return -self.working_minutes_between(b, a);
        }
        if !self.is_valid() {
            return 0;
        }
        let (mut total, mut day, last) = (0i64, local_date(a), local_date(b));
        while day <= last {
            for (from, to) in self.periods_of(day) {
                let (from, to) = (from.max(a), to.min(b));
                if to > from {
                    total += (to - from).num_minutes();
                }
            }
            day = match day.succ_opt() {
                Some(d) => d,
                None => break,
            };
        }
        total
    }

    /// Working minutes left until `due` at `now` (negative: overdue by that much).
    pub fn remaining(&self, now: DateTime<Utc>, due: DateTime<Utc>) -> i64 {
        self.working_minutes_between(now, due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An instant given in China's local time.
    fn cst(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        china().with_ymd_and_hms(y, m, d, h, min, 0).single().expect("local time").with_timezone(&Utc)
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    /// 2026-09-25 (Fri) to 2026-10-08: 中秋 and 国庆, with 2026-10-10 (Sat) worked.
    fn autumn() -> WorkCalendar {
        WorkCalendar {
            holidays: (1..=7).map(|d| day(2026, 10, d)).chain([day(2026, 9, 25)]).collect(),
            extra_workdays: vec![day(2026, 10, 10)],
            ..Default::default()
        }
    }

    #[test]
    fn four_working_hours_within_one_day_and_across_the_lunch_break() {
        let c = WorkCalendar::default();
        // Mon 2026-11-30 09:00 + 4 h: 09:00–12:00 is 3 h, then 13:30 + 1 h.
        assert_eq!(c.add_working_minutes(cst(2026, 11, 30, 9, 0), 240), cst(2026, 11, 30, 14, 30));
        // Started at lunch: counts from 13:30.
        assert_eq!(c.add_working_minutes(cst(2026, 11, 30, 12, 40), 60), cst(2026, 11, 30, 14, 30));
        // Exactly the end of a period stays in that period.
        assert_eq!(c.add_working_minutes(cst(2026, 11, 30, 8, 30), 210), cst(2026, 11, 30, 12, 0));
        assert_eq!(c.minutes_per_day(), 450);
    }

    #[test]
    fn a_deadline_runs_over_the_weekend() {
        let c = WorkCalendar::default();
        // Fri 2026-12-04 16:30 + 4 h: 1 h on Friday, Saturday and Sunday off, 3 h on Monday.
        let due = c.add_working_minutes(cst(2026, 12, 4, 16, 30), 240);
        assert_eq!(due, cst(2026, 12, 7, 11, 30));
        assert_eq!(c.working_minutes_between(cst(2026, 12, 4, 16, 30), due), 240);
        // Filed on Saturday: the clock starts on Monday morning.
        assert_eq!(c.add_working_minutes(cst(2026, 12, 5, 10, 0), 60), cst(2026, 12, 7, 9, 30));
        // One working day (450 min) from Friday 09:00 is Monday 09:00.
        assert_eq!(c.add_working_minutes(cst(2026, 12, 4, 9, 0), 450), cst(2026, 12, 7, 9, 0));
    }

    #[test]
    fn holidays_are_skipped_and_adjusted_weekend_days_are_worked() {
        let c = autumn();
        assert!(!c.is_workday(day(2026, 10, 1)));
        assert!(c.is_workday(day(2026, 10, 10)), "调休: a Saturday worked");
        assert!(!c.is_workday(day(2026, 10, 11)));
        // Thu 09-24 17:00 + 2 h: 30 min on Thursday; Fri 25 (中秋) and the weekend off;
        // Mon 09-28 08:30 + 90 min.
        assert_eq!(c.add_working_minutes(cst(2026, 9, 24, 17, 0), 120), cst(2026, 9, 28, 10, 0));
        // Wed 09-30 17:00 + 2 h: 30 min on Wednesday; 国庆 10-01 to 10-07 off; Thu 10-08.
        assert_eq!(c.add_working_minutes(cst(2026, 9, 30, 17, 0), 120), cst(2026, 10, 8, 10, 0));
        assert_eq!(c.working_minutes_between(cst(2026, 9, 30, 17, 0), cst(2026, 10, 8, 10, 0)), 120);
        // Fri 10-09 17:00 + 1 h: 30 min on Friday, the rest on Saturday the 10th.
        assert_eq!(c.add_working_minutes(cst(2026, 10, 9, 17, 0), 60), cst(2026, 10, 10, 9, 0));
    }

    #[test]
    fn remaining_time_counts_down_and_goes_negative_when_overdue() {
        let c = WorkCalendar::default();
        let due = cst(2026, 11, 30, 14, 30);
        assert_eq!(c.remaining(cst(2026, 11, 30, 9, 0), due), 240);
        assert_eq!(c.remaining(cst(2026, 11, 30, 12, 15), due), 60, "the lunch break does not count");
        assert_eq!(c.remaining(due, due), 0);
        assert_eq!(c.remaining(cst(2026, 12, 1, 9, 30), due), -(180 + 60));
        // Over a weekend: no time passes on Saturday.
        assert_eq!(c.working_minutes_between(cst(2026, 12, 5, 8, 0), cst(2026, 12, 5, 18, 0)), 0);
    }

    #[test]
    fn a_calendar_without_working_time_never_loops() {
        let c = WorkCalendar { periods: vec![], holidays: vec![], extra_workdays: vec![] };
        assert!(!c.is_valid());
        let t = cst(2026, 11, 30, 9, 0);
        assert_eq!(c.add_working_minutes(t, 60), t);
        assert_eq!(c.working_minutes_between(t, t + Duration::days(3)), 0);
    }
}
