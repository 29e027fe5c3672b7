//! Record status as the apps see it: one enum per record kind, and `RecordStatus` with one
//! variant per kind holding that kind's status. The core keeps one flat `Status`; the
//! conversions here are the only place the two meet.
//!
//! A new record kind adds its `XxxStatus` enum, a `RecordStatus` variant and the matching
//! arms below; the other kinds' enums do not change. Cases share `Closed` and `Voided` with
//! reports, so a core status alone does not name its kind: [`RecordStatus::of`] takes the
//! record's kind too.

use gridwork_core::model::{RecordKind, Status};

/// 随手拍 statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ReportStatus {
    /// 已上报
    Submitted,
    /// 已立案
    Accepted,
    /// 已作废
    Voided,
    /// 已结案
    Closed,
}

/// 不文明行为告知单 statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum NoticeStatus {
    /// 已告知
    Issued,
    /// 已整改
    Rectified,
    /// 逾期未整改
    Overdue,
    /// 已移交立案
    Escalated,
    /// 已撤销
    Cancelled,
}

/// 服务日志 statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ServiceLogStatus {
    /// 待答复
    Open,
    /// 已办结
    Done,
}

/// 案件 statuses: the stages of the loop 立案 → 派遣 → 处置 → 核查 → 结案, and its exits. A case
/// moves only through its steps (`case_step`), never by `set_status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum CaseStatus {
    /// 已立案: opened, waiting to be dispatched.
    Registered,
    /// 处置中: dispatched, the handling clock runs.
    Dispatched,
    /// 待核查: handled, waiting for the on-site check.
    Handled,
    /// 已挂账: cannot be solved now.
    Suspended,
    /// 已结案
    Closed,
    /// 已作废
    Voided,
}

/// The status of a record of any kind: the variant names the kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum RecordStatus {
    Report { status: ReportStatus },
    Notice { status: NoticeStatus },
    ServiceLog { status: ServiceLogStatus },
    Case { status: CaseStatus },
}

impl From<ReportStatus> for Status {
    fn from(s: ReportStatus) -> Self {
        match s {
            ReportStatus::Submitted => Status::Submitted,
            ReportStatus::Accepted => Status::Accepted,
            ReportStatus::Voided => Status::Voided,
            ReportStatus::Closed => Status::Closed,
        }
    }
}

impl From<NoticeStatus> for Status {
    fn from(s: NoticeStatus) -> Self {
        match s {
            NoticeStatus::Issued => Status::Issued,
            NoticeStatus::Rectified => Status::Rectified,
            NoticeStatus::Overdue => Status::Overdue,
            NoticeStatus::Escalated => Status::Escalated,
            NoticeStatus::Cancelled => Status::Cancelled,
        }
    }
}

impl From<ServiceLogStatus> for Status {
    fn from(s: ServiceLogStatus) -> Self {
        match s {
            ServiceLogStatus::Open => Status::Open,
            ServiceLogStatus::Done => Status::Done,
        }
    }
}

impl From<CaseStatus> for Status {
    fn from(s: CaseStatus) -> Self {
        match s {
            CaseStatus::Registered => Status::Registered,
            CaseStatus::Dispatched => Status::Dispatched,
            CaseStatus::Handled => Status::Handled,
            CaseStatus::Suspended => Status::Suspended,
            CaseStatus::Closed => Status::Closed,
            CaseStatus::Voided => Status::Voided,
        }
    }
}

impl From<RecordStatus> for Status {
    fn from(s: RecordStatus) -> Self {
        match s {
            RecordStatus::Report { status } => status.into(),
            RecordStatus::Notice { status } => status.into(),
            RecordStatus::ServiceLog { status } => status.into(),
            RecordStatus::Case { status } => status.into(),
        }
    }
}

impl RecordStatus {
    /// The status `s` of a record of `kind`. Total: the kind decides only for the statuses
    /// two kinds share (`Closed`, `Voided`: reports and cases); every other status names its
    /// one kind. (A status that does not belong to the record's kind is never stored: the
    /// core validates every record.)
    pub fn of(kind: RecordKind, s: Status) -> Self {
        use RecordStatus as R;
        match (kind, s) {
            (RecordKind::Case, Status::Closed) => R::Case { status: CaseStatus::Closed },
            (RecordKind::Case, Status::Voided) => R::Case { status: CaseStatus::Voided },
            (_, Status::Submitted) => R::Report { status: ReportStatus::Submitted },
            (_, Status::Accepted) => R::Report { status: ReportStatus::Accepted },
            (_, Status::Voided) => R::Report { status: ReportStatus::Voided },
            (_, Status::Closed) => R::Report { status: ReportStatus::Closed },
            (_, Status::Issued) => R::Notice { status: NoticeStatus::Issued },
            (_, Status::Rectified) => R::Notice { status: NoticeStatus::Rectified },
            (_, Status::Overdue) => R::Notice { status: NoticeStatus::Overdue },
            (_, Status::Escalated) => R::Notice { status: NoticeStatus::Escalated },
            (_, Status::Cancelled) => R::Notice { status: NoticeStatus::Cancelled },
            (_, Status::Open) => R::ServiceLog { status: ServiceLogStatus::Open },
            (_, Status::Done) => R::ServiceLog { status: ServiceLogStatus::Done },
            (_, Status::Registered) => R::Case { status: CaseStatus::Registered },
            (_, Status::Dispatched) => R::Case { status: CaseStatus::Dispatched },
            (_, Status::Handled) => R::Case { status: CaseStatus::Handled },
            (_, Status::Suspended) => R::Case { status: CaseStatus::Suspended },
        }
    }

    /// The kind of record this status belongs to.
    pub fn kind(self) -> RecordKind {
        match self {
            RecordStatus::Report { .. } => RecordKind::Report,
            RecordStatus::Notice { .. } => RecordKind::Notice,
            RecordStatus::ServiceLog { .. } => RecordKind::ServiceLog,
            RecordStatus::Case { .. } => RecordKind::Case,
        }
    }

    /// 已整改, ...
    pub fn label_zh(self) -> &'static str {
        Status::from(self).label_zh()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_status_of_every_kind_round_trips_and_keeps_its_kind() {
        for kind in RecordKind::ALL {
            for s in Status::ALL.into_iter().filter(|s| s.belongs_to(kind)) {
                let app = RecordStatus::of(kind, s);
                assert_eq!(app.kind(), kind, "{s:?} of a {kind:?}");
                assert_eq!(Status::from(app), s);
                assert_eq!(app.label_zh(), s.label_zh());
            }
            // Every kind's initial status is one of its own.
            assert_eq!(RecordStatus::of(kind, kind.initial_status()).kind(), kind);
        }
        // Every core status belongs to some kind, so the loop above saw each of them.
        for s in Status::ALL {
            assert!(RecordKind::ALL.iter().any(|k| s.belongs_to(*k)), "{s:?} belongs to no kind");
        }
        let shared = [(Status::Closed, CaseStatus::Closed), (Status::Voided, CaseStatus::Voided)];
        for (s, case) in shared {
            assert_eq!(RecordStatus::of(RecordKind::Case, s), RecordStatus::Case { status: case });
            assert_eq!(RecordStatus::of(RecordKind::Report, s).kind(), RecordKind::Report);
        }
    }
}
