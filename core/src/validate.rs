//! Validation rules for records: one place, run by the device before it stores a change
//! and by the server before it accepts one. Messages are in Chinese for the user, with the
//! English field code in `field`; they never repeat the value (it may be personal data).

use crate::model::{Location, OrgRef, PhotoRef, Record, RecordBody};
use crate::protocol::{DEFAULT_MAX_PHOTO_BYTES, RejectReason, Rejection};
use crate::reference::{CategoryKind, NOTICE_EXTRA_CATEGORIES, RefIndex};
use chrono::Days;

pub const MAX_PHOTOS: usize = 9;
pub const MAX_DESCRIPTION_CHARS: usize = 500;
pub const MAX_TEXT_CHARS: usize = 1000;
pub const MAX_LIST_ITEMS: usize = 50;
/// The photo types a record may list (and the server takes as uploads).
pub const PHOTO_MIME_TYPES: [&str; 3] = ["image/jpeg", "image/png", "image/webp"];
/// Largest width and height of a listed photo, in pixels.
pub const MAX_PHOTO_SIDE_PX: u32 = 30_000;
/// Largest `location.accuracy_m`, in metres.
pub const MAX_ACCURACY_M: f64 = 100_000.0;
pub const MAX_ADDRESS_CHARS: usize = 200;
pub const MAX_PARTY_NAME_CHARS: usize = 50;
pub const MAX_SHOP_NAME_CHARS: usize = 100;
pub const MAX_LEGAL_BASIS_CHARS: usize = 500;
/// Digits of a party's phone (after dropping `-` and spaces).
pub const PHONE_DIGITS: std::ops::RangeInclusive<usize> = 7..=12;
/// A notice's deadline is at most this many days after the day it is issued.
pub const MAX_DEADLINE_DAYS: u64 = 366;
/// A service log's date is at most this many days after its `created_at` day.
pub const MAX_LOG_DAYS_AHEAD: u64 = 1;
pub const MAX_PARTICIPANTS: u32 = 100_000;

fn invalid(field: &str, message: &str) -> Rejection {
    Rejection::new(RejectReason::Invalid, Some(field), format!("{message} ({field})"))
}

fn text(field: &str, value: &str, required: bool, max_chars: usize) -> Result<(), Rejection> {
    if required && value.trim().is_empty() {
        return Err(invalid(field, "不能为空"));
    }
    if value.chars().count() > max_chars {
        return Err(invalid(field, &format!("不能超过{max_chars}个字")));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(invalid(field, "含有不可见控制字符"));
    }
    Ok(())
}

fn text_list(field: &str, items: &[String]) -> Result<(), Rejection> {
    if items.len() > MAX_LIST_ITEMS {
        return Err(invalid(field, &format!("最多{MAX_LIST_ITEMS}条")));
    }
    items.iter().try_for_each(|i| text(field, i, true, MAX_DESCRIPTION_CHARS))
}

pub fn validate_photos(field: &str, photos: &[PhotoRef]) -> Result<(), Rejection> {
    if photos.len() > MAX_PHOTOS {
        return Err(invalid(field, &format!("每条记录最多{MAX_PHOTOS}张照片")));
    }
    for (i, p) in photos.iter().enumerate() {
        if p.sha256.len() != 64 || !p.sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(invalid(field, "照片编号应为SHA-256十六进制"));
        }
        if photos[..i].iter().any(|q| q.sha256 == p.sha256) {
            return Err(invalid(field, "同一张照片重复添加"));
        }
        if !PHOTO_MIME_TYPES.contains(&p.mime.as_str()) {
            return Err(invalid(field, "照片只能是JPEG、PNG或WebP"));
        }
        if p.bytes == 0
            || p.bytes > DEFAULT_MAX_PHOTO_BYTES
            || !(1..=MAX_PHOTO_SIDE_PX).contains(&p.width)
            || !(1..=MAX_PHOTO_SIDE_PX).contains(&p.height)
        {
            return Err(invalid(field, "照片大小或尺寸不合理"));
        }
        let lat_ok = p.lat.is_none_or(|v| v.is_finite() && (-90.0..=90.0).contains(&v));
        let lon_ok = p.lon.is_none_or(|v| v.is_finite() && (-180.0..=180.0).contains(&v));
        if !lat_ok || !lon_ok {
            return Err(invalid(field, "照片的拍摄位置超出范围"));
        }
    }
    Ok(())
}

pub fn validate_location(loc: &Location) -> Result<(), Rejection> {
    if !loc.lat.is_finite() || !(-90.0..=90.0).contains(&loc.lat) {
        return Err(invalid("location.lat", "纬度应在-90到90之间"));
    }
    if !loc.lon.is_finite() || !(-180.0..=180.0).contains(&loc.lon) {
        return Err(invalid("location.lon", "经度应在-180到180之间"));
    }
    if !loc.accuracy_m.is_finite() || !(0.0..=MAX_ACCURACY_M).contains(&loc.accuracy_m) {
        return Err(invalid("location.accuracy_m", "定位精度应在0到100000米之间"));
    }
    if let Some(a) = &loc.address {
        text("location.address", a, false, MAX_ADDRESS_CHARS)?;
    }
    Ok(())
}

pub fn validate_org(org: &OrgRef, refs: &RefIndex) -> Result<(), Rejection> {
    let place = refs.grid_place(&org.grid).ok_or_else(|| invalid("org.grid", "网格不存在"))?;
    if place.community != org.community {
        return Err(invalid("org.community", "网格不属于该社区"));
    }
    Ok(())
}

/// A 小类 (5-digit) code of the standard table.
fn standard_category(code: &str, refs: &RefIndex, matter_only: bool) -> bool {
    code.len() == 5
        && code.bytes().all(|b| b.is_ascii_digit())
        && refs.category(code).is_some_and(|c| !matter_only || c.kind == CategoryKind::Matter)
}

fn phone(value: &str) -> Result<(), Rejection> {
    let digits: String = value.chars().filter(|c| *c != '-' && *c != ' ').collect();
    let ok = PHONE_DIGITS.contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    // 11 digits: a mobile (1xx…) or a landline with its area code (0536-8231234).
    let eleven_ok = digits.len() != 11 || digits.starts_with('1') || digits.starts_with('0');
    if !ok || !eleven_ok {
        return Err(invalid("party.phone", "手机号或固定电话格式不正确"));
    }
    Ok(())
}

/// Check a whole record state: what a create carries and what an update leaves behind.
pub fn validate_record(rec: &Record, refs: &RefIndex) -> Result<(), Rejection> {
    validate_location(&rec.location)?;
    validate_org(&rec.org, refs)?;
    if !rec.status.belongs_to(rec.kind()) {
        return Err(invalid("status", "状态与记录类型不符"));
    }
    let created = rec.created_at.date_naive();
    match &rec.body {
        RecordBody::Report(r) => {
            if !standard_category(&r.category, refs, false) {
                return Err(invalid("category", "不是国标（GB/T 47678.5）小类代码"));
            }
            text("description", &r.description, true, MAX_DESCRIPTION_CHARS)?;
            validate_photos("photos", &r.photos)?;
            if r.duplicate_of == Some(rec.id) {
                return Err(invalid("duplicate_of", "不能补充到自己"));
            }
        }
        RecordBody::Notice(n) => {
            if crate::numbering::parse_number(&n.number).is_none() {
                return Err(invalid("number", "告知单编号格式应为“××城管告字〔年份〕第六位数字号”"));
            }
            let extra = NOTICE_EXTRA_CATEGORIES.iter().any(|(c, _)| *c == n.category);
            if !extra && !standard_category(&n.category, refs, true) {
                return Err(invalid("category", "应为七乱、门前五包或国标事项小类代码"));
            }
            // A party removed after the retention period keeps nothing but the marker.
            if n.party.purged && n.party != crate::model::Party::removed() {
                return Err(invalid("party.purged", "已清除的当事人信息不应再有内容"));
            }
            text("party.name", &n.party.name, true, MAX_PARTY_NAME_CHARS)?;
            if let Some(s) = &n.party.shop_name {
                text("party.shop_name", s, false, MAX_SHOP_NAME_CHARS)?;
            }
            if let Some(p) = &n.party.phone {
                phone(p)?;
            }
            text("facts", &n.facts, true, MAX_TEXT_CHARS)?;
            text("legal_basis", &n.legal_basis, true, MAX_LEGAL_BASIS_CHARS)?;
            if n.deadline < created {
                return Err(invalid("deadline", "整改期限不能早于开单日期"));
            }
            if created.checked_add_days(Days::new(MAX_DEADLINE_DAYS)).is_some_and(|max| n.deadline > max) {
                return Err(invalid("deadline", "整改期限不能超过一年"));
            }
            validate_photos("photos", &n.photos)?;
            validate_stall(n.stall.as_deref(), refs)?;
        }
        RecordBody::Case(c) => crate::cases::validate_case(c, refs)?,
        RecordBody::ServiceLog(l) => {
            if created.checked_add_days(Days::new(MAX_LOG_DAYS_AHEAD)).is_some_and(|max| l.date > max) {
                return Err(invalid("date", "日志日期不能晚于记录时间"));
            }
            if l.participants > MAX_PARTICIPANTS {
                return Err(invalid("participants", "参与人数不合理"));
            }
            text("summary", &l.summary, false, MAX_TEXT_CHARS)?;
            text_list("complaints", &l.complaints)?;
            text_list("replies", &l.replies)?;
            if l.linked_reports.len() > MAX_LIST_ITEMS {
                return Err(invalid("linked_reports", "关联的随手拍过多"));
            }
            validate_photos("photos", &l.photos)?;
            validate_stall(l.stall.as_deref(), refs)?;
        }
    }
    Ok(())
}

/// An inspected stall must be one of the registry.
fn validate_stall(code: Option<&str>, refs: &RefIndex) -> Result<(), Rejection> {
    match code {
        Some(c) if refs.stall(c).is_none() => Err(invalid("stall", "小蓝棚编号不存在")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures as testdata;

    #[test]
    fn sample_records_are_valid() {
        let refs = testdata::refs();
        for rec in testdata::records() {
            validate_record(&rec, &refs).unwrap_or_else(|e| panic!("{:?}: {e:?}", rec.kind()));
        }
    }

    #[test]
    fn bad_fields_are_rejected_with_their_field_and_without_the_value() {
        let refs = testdata::refs();
        let mut notice = testdata::records().remove(1);
        if let RecordBody::Notice(n) = &mut notice.body {
            n.party.phone = Some("13x-secret".into());
        }
        let err = validate_record(&notice, &refs).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("party.phone"));
        assert!(!err.message.contains("secret"));
        for (phone, ok) in
            [("0536-8231234", true), ("13805361234", true), ("8231234", true), ("23805361234", false), ("123", false)]
        {
            if let RecordBody::Notice(n) = &mut notice.body {
                n.party.phone = Some(phone.into());
            }
            assert_eq!(validate_record(&notice, &refs).is_ok(), ok, "{phone}");
        }

        let mut report = testdata::records().remove(0);
        report.location.lat = 91.0;
        assert_eq!(validate_record(&report, &refs).unwrap_err().field.as_deref(), Some("location.lat"));
        report.location.lat = f64::NAN;
        assert!(validate_record(&report, &refs).is_err());

        let mut report = testdata::records().remove(0);
        report.org.grid = "nope".into();
        assert_eq!(validate_record(&report, &refs).unwrap_err().field.as_deref(), Some("org.grid"));

        let mut report = testdata::records().remove(0);
        if let RecordBody::Report(r) = &mut report.body {
            r.category = "06".into();
        }
        assert_eq!(validate_record(&report, &refs).unwrap_err().field.as_deref(), Some("category"));
    }
}
