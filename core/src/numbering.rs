//! Notice numbers (告知单编号): `<brigade>城管告字〔<year>〕第<6 digits>号`, e.g.
//! `潍城城管告字〔2026〕第000101号`, one sequence per brigade and year. The server hands each
//! officer's device blocks of the sequence; the device draws from its blocks offline, so
//! numbers never collide across devices and a printed notice is numbered on the spot.
//! The same rules check a number on the phone and on the server: it must come from a block
//! issued to that device, and be used once.

use crate::reference::{OrgLevel, RefIndex};
use serde::{Deserialize, Serialize};

/// Numbers per block a device asks for.
pub const BLOCK_SIZE: u32 = 100;
/// A device asks for another block in its sync when it has fewer left than this.
pub const LOW_WATER: u32 = 20;
/// The most numbers one request may ask for.
pub const MAX_BLOCK: u32 = 1000;
/// Digits of the number within its year.
const DIGITS: usize = 6;
/// The highest number a sequence reaches in a year.
pub const MAX_NUMBER: u64 = 999_999;

/// A range of a brigade's yearly sequence, handed to one device.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NumberBlock {
    /// The server's id of the block.
    pub id: u64,
    /// The brigade's short name as printed (`潍城`).
    pub prefix: String,
    pub year: i32,
    /// First and last number, inclusive.
    pub first: u64,
    pub last: u64,
}

impl NumberBlock {
    pub fn contains(&self, prefix: &str, year: i32, n: u64) -> bool {
        self.prefix == prefix && self.year == year && (self.first..=self.last).contains(&n)
    }

    pub fn len(&self) -> u64 {
        self.last + 1 - self.first
    }

    pub fn is_empty(&self) -> bool {
        self.last < self.first
    }
}

/// The printed form.
pub fn format_number(prefix: &str, year: i32, n: u64) -> String {
    format!("{prefix}城管告字〔{year}〕第{n:0DIGITS$}号")
}

/// The prefix, year and number of a printed form; None if it is not one.
pub fn parse_number(s: &str) -> Option<(String, i32, u64)> {
    let (prefix, rest) = s.split_once("城管告字〔")?;
    let (year, rest) = rest.split_once("〕第")?;
    let digits = rest.strip_suffix('号')?;
    let plausible_prefix = !prefix.is_empty() && prefix.chars().count() <= 8 && prefix.chars().all(|c| !c.is_whitespace());
    if !plausible_prefix || year.len() != 4 || digits.len() != DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i32 = year.parse().ok().filter(|y| (2000..=2099).contains(y))?;
    let n: u64 = digits.parse().ok().filter(|n| (1..=MAX_NUMBER).contains(n))?;
    Some((prefix.to_owned(), year, n))
}

/// The brigade prefix of an officer's scope: the district's name without its 区/县/市
/// (`潍城区` → `潍城`); for the city itself (an admin), the city's.
pub fn prefix_of(scope: &str, refs: &RefIndex) -> Option<String> {
    let org = refs.org(scope)?;
    if !matches!(org.level, OrgLevel::District | OrgLevel::City) {
        return None;
    }
    let name = org.name.trim();
    let short = ["区", "县", "市"].iter().find_map(|s| name.strip_suffix(s)).unwrap_or(name);
    (!short.is_empty()).then(|| short.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn printed_numbers_round_trip_and_odd_ones_are_not_numbers() {
        let s = format_number("潍城", 2026, 101);
        assert_eq!(s, "潍城城管告字〔2026〕第000101号");
        assert_eq!(parse_number(&s), Some(("潍城".into(), 2026, 101)));
        for bad in [
            "",
            "GZ20261126-3F2A01-0001",
            "潍城城管告字〔2026〕第101号",
            "潍城城管告字〔2026〕第0001010号",
            "潍城城管告字〔26〕第000101号",
            "潍城城管告字〔2026〕第000000号",
            "潍城城管告字〔1999〕第000001号",
            "城管告字〔2026〕第000101号",
            "潍 城城管告字〔2026〕第000101号",
            "潍城城管告字〔2026〕第00010a号",
            "潍城城管告字〔2026〕第000101号x",
        ] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_prefix_is_the_brigades_district() {
        let refs = fixtures::refs();
        assert_eq!(prefix_of(fixtures::DISTRICT, &refs).as_deref(), Some("奎文"));
        assert_eq!(prefix_of(fixtures::OTHER_DISTRICT, &refs).as_deref(), Some("潍城"));
        assert_eq!(prefix_of(fixtures::CITY, &refs).as_deref(), Some("潍坊"));
        assert_eq!(prefix_of(fixtures::GRID, &refs), None, "a grid is no brigade");
        assert_eq!(prefix_of("nowhere", &refs), None);
    }

    #[test]
    fn a_block_holds_its_range() {
        let b = NumberBlock { id: 1, prefix: "奎文".into(), year: 2026, first: 101, last: 200 };
        assert_eq!(b.len(), 100);
        assert!(b.contains("奎文", 2026, 101) && b.contains("奎文", 2026, 200));
        assert!(!b.contains("奎文", 2026, 201) && !b.contains("潍城", 2026, 150) && !b.contains("奎文", 2027, 150));
    }
}
