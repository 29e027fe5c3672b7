//! What the server adds to the case loop beyond the shared rules (`gridwork_core::cases`,
//! applied by the push path like every op): the case number at 立案, one sequence per
//! district and year (`370705-2026-000123`); and the source record following its case
//! (a report becomes 已立案 when its case opens, 已结案 or 已作废 with it; a notice becomes
//! 已移交立案). Those changes are written in the same unit of work as the case, so the two
//! never disagree, and they sync to every device like any other version.

use chrono::{DateTime, Datelike, Utc};
use gridwork_core::cases::{Case, CaseSource};
use gridwork_core::merge::StoredRecord;
use gridwork_core::model::{RecordBody, Status};
use gridwork_core::protocol::{OpAction, RejectReason, Rejection};
use gridwork_core::reference::RefIndex;
use gridwork_core::worktime::local_date;
use uuid::Uuid;

/// The counter a case number is drawn from, and how the number reads.
pub fn number_counter(district: &str, now: DateTime<Utc>) -> (String, i32) {
    let year = local_date(now).year();
    (format!("case:{district}:{year}"), year)
}

pub fn format_number(district: &str, year: i32, n: u64) -> String {
    format!("{district}-{year}-{n:06}")
}

fn case_of(state: &StoredRecord) -> Option<&Case> {
    match &state.record.body {
        RecordBody::Case(c) => Some(c),
        _ => None,
    }
}

/// The source record a case op moves, and where to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceChange {
    pub id: Uuid,
    pub to: Status,
}

/// The source a case op needs loaded (the record a new case is opened from).
pub fn source_of(action: &OpAction, current: Option<&StoredRecord>) -> Option<Uuid> {
    match action {
        OpAction::Create(new) => match &new.body {
            RecordBody::Case(c) => c.source.record(),
            _ => None,
        },
        _ => current.and_then(case_of).and_then(|c| c.source.record()),
    }
}

/// Check a case op against its source, and say what happens to the source. `before` is the
/// case before the op (None for 立案), `after` after it.
pub fn source_change(
    before: Option<&StoredRecord>,
    after: &StoredRecord,
    source: Option<&StoredRecord>,
    refs: &RefIndex,
) -> Result<Option<SourceChange>, Rejection> {
    let Some(case) = case_of(after) else { return Ok(None) };
    let Some(id) = case.source.record() else { return Ok(None) };
    let invalid = |message: &str| Rejection::new(RejectReason::Invalid, Some("source"), message.to_owned());
    if before.is_none() {
        // 立案: the source exists, is where the case is, and has no case yet.
        let source = source.ok_or_else(|| Rejection::new(RejectReason::NotFound, Some("source"), "来源记录不存在或尚未同步"))?;
        let same_place = refs.district_of(&source.record.org.grid) == refs.district_of(&after.record.org.grid);
        if !same_place {
            return Err(invalid("案件应与来源记录在同一辖区 (source)"));
        }
        return match (&case.source, &source.record.body, source.record.status) {
            (CaseSource::Report { .. }, RecordBody::Report(_), Status::Submitted) => {
                Ok(Some(SourceChange { id, to: Status::Accepted }))
            }
            (CaseSource::Report { .. }, RecordBody::Report(_), _) => {
                Err(Rejection::new(RejectReason::InvalidTransition, Some("source"), "该随手拍已立案或已作废"))
            }
            (CaseSource::Notice { .. }, RecordBody::Notice(_), Status::Issued | Status::Overdue) => {
                Ok(Some(SourceChange { id, to: Status::Escalated }))
            }
            (CaseSource::Notice { .. }, RecordBody::Notice(_), Status::Escalated) => Ok(None),
            (CaseSource::Notice { .. }, RecordBody::Notice(_), _) => {
                Err(Rejection::new(RejectReason::InvalidTransition, Some("source"), "该告知单已整改或已撤销"))
            }
            (CaseSource::ServiceLog { complaint, .. }, RecordBody::ServiceLog(log), _)
                if (*complaint as usize) < log.complaints.len() =>
            {
                Ok(None)
            }
            (CaseSource::ServiceLog { .. }, RecordBody::ServiceLog(_), _) => {
                Err(invalid("服务日志中没有这条意见 (source.complaint)"))
            }
            _ => Err(Rejection::new(RejectReason::KindMismatch, Some("source"), "来源记录的类型不符")),
        };
    }
    // The report follows its case to the end.
    let report = source.filter(|s| matches!(s.record.body, RecordBody::Report(_)) && s.record.status == Status::Accepted);
    let moved = before.is_some_and(|b| b.record.status != after.record.status);
    Ok(match (report, after.record.status) {
        (Some(_), Status::Closed) if moved => Some(SourceChange { id, to: Status::Closed }),
        (Some(_), Status::Voided) if moved => Some(SourceChange { id, to: Status::Voided }),
        _ => None,
    })
}
