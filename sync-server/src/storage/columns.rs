//! How values are kept in stored columns, the same in every backend: UTC timestamps as
//! fixed-width text (they sort as text), counts and sequence numbers as signed 64-bit
//! integers, enums as their codes. A value that does not decode is corrupt data.

use super::{Result, StorageError};
use chrono::{DateTime, Utc};
use gridwork_core::reference::CategoryKind;

pub(crate) fn corrupt(what: &str) -> StorageError {
    StorageError::Corrupt(what.to_owned())
}

pub(crate) fn ts(t: DateTime<Utc>) -> String {
    gridwork_core::time::format_ts(t)
}

pub(crate) fn parse_ts(s: &str, what: &str) -> Result<DateTime<Utc>> {
    gridwork_core::time::parse_ts(s).ok_or_else(|| corrupt(what))
}

pub(crate) fn to_sql_int(n: u64, what: &str) -> Result<i64> {
    i64::try_from(n).map_err(|_| corrupt(what))
}

pub(crate) fn from_sql_int(n: i64, what: &str) -> Result<u64> {
    u64::try_from(n).map_err(|_| corrupt(what))
}

pub(crate) fn category_kind_str(k: CategoryKind) -> &'static str {
    match k {
        CategoryKind::Component => "component",
        CategoryKind::Matter => "matter",
    }
}

pub(crate) fn category_kind_from_str(s: &str) -> Result<CategoryKind> {
    match s {
        "component" => Ok(CategoryKind::Component),
        "matter" => Ok(CategoryKind::Matter),
        _ => Err(corrupt("categories.kind")),
    }
}
