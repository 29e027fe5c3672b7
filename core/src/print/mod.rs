//! A notice (不文明行为告知单) printed on patrol, offline: a PDF for A5 or A4 paper
//! ([`pdf`]) and ESC/POS bytes for a 58 mm thermal printer ([`escpos`]), both with a QR
//! code that opens the notice's public status page ([`status_url`]).
//!
//! No I/O: the caller passes the font (a TrueType/OpenType file or collection with CJK
//! glyphs; the phones have one, the library does not embed 10 MB of it). The party's name is
//! printed (it is the party's own notice), the phone only masked ([`mask_phone`]); neither
//! ever goes into an error, a log line, the PDF's metadata or the QR code.

pub mod escpos;
mod measure;
pub mod pdf;
pub mod qr;
pub mod report;

use crate::model::{Record, RecordBody};
use crate::protocol::paths;
use crate::reference::{NOTICE_EXTRA_CATEGORIES, RefIndex};
use crate::worktime::china;
use chrono::{Datelike, NaiveDate};
use uuid::Uuid;

/// The paper a PDF is laid out for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Paper {
    /// 148 × 210 mm, the usual size of a 告知单 book.
    A5,
    /// 210 × 297 mm.
    A4,
}

/// Why a notice could not be printed. Messages are Chinese and never contain the notice's
/// content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrintError {
    #[error("这条记录不是告知单，不能打印")]
    NotANotice,
    #[error("字体文件无法识别")]
    BadFont,
    /// The font has no glyphs for Chinese text (e.g. a Latin-only font).
    #[error("字体文件缺少中文字形")]
    FontLacksCjk,
    /// The PDF or the QR code could not be made (a bug; the detail is technical).
    #[error("生成打印文件失败：{0}")]
    Render(String),
}

/// A font for the PDF: the file's bytes and, for a collection (`.ttc`), the face index.
#[derive(Clone)]
pub struct FontSource {
    pub data: Vec<u8>,
    pub index: u32,
}

impl FontSource {
    pub fn new(data: Vec<u8>) -> Self {
        FontSource { data, index: 0 }
    }
}

impl std::fmt::Debug for FontSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FontSource {{ {} bytes, index {} }}", self.data.len(), self.index)
    }
}

/// The public status page of a notice: `<server_url>/public/notices/<record id>`. Only the
/// record id, never the number or anything personal.
pub fn status_url(server_url: &str, id: Uuid) -> String {
    format!("{}{}{}", server_url.trim_end_matches('/'), paths::PUBLIC_NOTICE_PREFIX, id)
}

/// A phone number as printed: `138****1234` (the one masking rule of [`crate::privacy`]).
pub use crate::privacy::mask_phone;

/// A date as printed: `2026年11月23日`.
pub fn date_zh(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// The name of a notice category: a 七乱 / 门前五包 code or a GB/T 47678.5 matter.
pub fn category_name(code: &str, refs: &RefIndex) -> String {
    NOTICE_EXTRA_CATEGORIES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, n)| (*n).to_owned())
        .or_else(|| refs.category(code).map(|c| c.name.clone()))
        .unwrap_or_else(|| code.to_owned())
}

/// Everything printed on a notice, in print form. Built from the record as the device shows
/// it; holds personal data, so its `Debug` shows the number only.
#[derive(Clone)]
pub struct NoticeSheet {
    pub number: String,
    pub category: String,
    pub party_name: String,
    pub shop_name: Option<String>,
    /// Already masked.
    pub phone_masked: Option<String>,
    pub facts: String,
    pub legal_basis: String,
    pub deadline: NaiveDate,
    /// The issuing officer's display name (the record's author), if the reference data has it.
    pub officer: Option<String>,
    /// The local (China) date the notice was issued.
    pub issued_on: NaiveDate,
    /// Where the QR code points.
    pub status_url: String,
}

impl std::fmt::Debug for NoticeSheet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NoticeSheet {{ number: {:?}, <redacted> }}", self.number)
    }
}

impl NoticeSheet {
    pub fn new(record: &Record, refs: &RefIndex, server_url: &str) -> Result<Self, PrintError> {
        let RecordBody::Notice(n) = &record.body else { return Err(PrintError::NotANotice) };
        let nonempty = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        Ok(NoticeSheet {
            number: n.number.clone(),
            category: category_name(&n.category, refs),
            party_name: n.party.name.trim().to_owned(),
            shop_name: nonempty(&n.party.shop_name),
            phone_masked: nonempty(&n.party.phone).map(|p| mask_phone(p.trim())),
            facts: n.facts.trim().to_owned(),
            legal_basis: n.legal_basis.trim().to_owned(),
            deadline: n.deadline,
            officer: refs.user(&record.author).map(|u| u.display_name.clone()),
            issued_on: record.created_at.with_timezone(&china()).date_naive(),
            status_url: status_url(server_url, record.id),
        })
    }

    /// The labelled fields, in print order (label, value).
    pub(crate) fn fields(&self) -> Vec<(&'static str, String)> {
        let mut f = vec![("当事人", self.party_name.clone())];
        if let Some(s) = &self.shop_name {
            f.push(("店铺名称", s.clone()));
        }
        if let Some(p) = &self.phone_masked {
            f.push(("联系电话", p.clone()));
        }
        f.push(("类别", self.category.clone()));
        f.push(("违法（不文明）事实", self.facts.clone()));
        f.push(("依据", self.legal_basis.clone()));
        f.push(("整改期限", format!("请于{}前整改完毕", date_zh(self.deadline))));
        f
    }

    pub(crate) fn officer_line(&self) -> String {
        format!("执法人员：{}", self.officer.as_deref().unwrap_or("＿＿＿＿"))
    }

    pub(crate) fn issued_line(&self) -> String {
        format!("告知日期：{}", date_zh(self.issued_on))
    }
}

pub(crate) const TITLE: &str = "不文明行为告知单";
pub(crate) const WARNING: &str = "请在整改期限内自行改正。逾期未整改的，将依法予以处理。";
pub(crate) const QR_CAPTION: &str = "扫码查看告知单办理状态";
pub(crate) const RECEIPT: &str = "当事人签收：";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_phones() {
        assert_eq!(mask_phone("13805361234"), "138****1234");
        assert_eq!(mask_phone("0536-1234567"), "053*****4567");
        assert_eq!(mask_phone("12345"), "*****");
        assert_eq!(mask_phone("12"), "****");
    }

    #[test]
    fn status_url_has_the_id_only() {
        let id = Uuid::from_u128(2);
        assert_eq!(
            status_url("https://gw.example.cn/", id),
            "https://gw.example.cn/public/notices/00000000-0000-0000-0000-000000000002"
        );
    }

    #[test]
    fn sheet_of_the_fixture_notice() {
        let rec = crate::fixtures::records().remove(1);
        let sheet = NoticeSheet::new(&rec, &crate::fixtures::refs(), "http://h").unwrap();
        assert_eq!(sheet.category, "乱摆摊");
        assert_eq!(sheet.phone_masked.as_deref(), Some("138****1234"));
        assert_eq!(sheet.issued_on, NaiveDate::from_ymd_opt(2026, 11, 20).unwrap());
        assert!(!format!("{sheet:?}").contains("张某"));
        let report = crate::fixtures::records().remove(0);
        assert_eq!(NoticeSheet::new(&report, &crate::fixtures::refs(), "http://h").unwrap_err(), PrintError::NotANotice);
    }
}
