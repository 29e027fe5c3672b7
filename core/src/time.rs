//! The one text form of instants in gridwork's databases and on the wire: RFC 3339 in UTC
//! with milliseconds (`2026-11-26T09:30:00.123Z`). Fixed width, so text order is time order.
//! Reading a stored value that is not in this form is an error for the caller to report as
//! corrupt data, never a silent default.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn format_ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The instant of a stored timestamp; `None` if it is not RFC 3339.
pub fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn round_trips_and_sorts_as_text() {
        let a = Utc.with_ymd_and_hms(2026, 11, 26, 9, 30, 0).single().expect("date");
        let b = a + chrono::Duration::milliseconds(5);
        assert_eq!(format_ts(a), "2026-11-26T09:30:00.000Z");
        assert_eq!(parse_ts(&format_ts(b)), Some(b));
        assert!(format_ts(a) < format_ts(b));
        assert_eq!(parse_ts("yesterday"), None);
    }
}
