//! Record status as the apps see it: one enum per record kind, and `RecordStatus` with one
//! variant per kind holding that kind's status. The core keeps one flat `Status`; the
//! conversions here are the only place the two meet.
//!
//! A new record kind (案件 cases are next) adds its `XxxStatus` enum, a `RecordStatus`
//! variant and the matching arms below; the other kinds' enums do not change.

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

/// The status of a record of any kind: the variant names the kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum RecordStatus {
    Report { status: ReportStatus },
    Notice { status: NoticeStatus },
    ServiceLog { status: ServiceLogStatus },
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

impl From<RecordStatus> for Status {
    fn from(s: RecordStatus) -> Self {
        match s {
            RecordStatus::Report { status } => status.into(),
            RecordStatus::Notice { status } => status.into(),
            RecordStatus::ServiceLog { status } => status.into(),
        }
    }
}

/// Each core status belongs to exactly one kind, so this is total.
impl From<Status> for RecordStatus {
    fn from(s: Status) -> Self {
        use RecordStatus as R;
        match s {
            Status::Submitted => R::Report { status: ReportStatus::Submitted },
            Status::Accepted => R::Report { status: ReportStatus::Accepted },
            Status::Voided => R::Report { status: ReportStatus::Voided },
            Status::Closed => R::Report { status: ReportStatus::Closed },
            Status::Issued => R::Notice { status: NoticeStatus::Issued },
            Status::Rectified => R::Notice { status: NoticeStatus::Rectified },
            Status::Overdue => R::Notice { status: NoticeStatus::Overdue },
            Status::Escalated => R::Notice { status: NoticeStatus::Escalated },
            Status::Cancelled => R::Notice { status: NoticeStatus::Cancelled },
            Status::Open => R::ServiceLog { status: ServiceLogStatus::Open },
            Status::Done => R::ServiceLog { status: ServiceLogStatus::Done },
        }
    }
}

impl RecordStatus {
    /// The kind of record this status belongs to.
    pub fn kind(self) -> RecordKind {
        match self {
            RecordStatus::Report { .. } => RecordKind::Report,
            RecordStatus::Notice { .. } => RecordKind::Notice,
            RecordStatus::ServiceLog { .. } => RecordKind::ServiceLog,
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

    const ALL: [Status; 11] = [
        Status::Submitted,
        Status::Accepted,
        Status::Voided,
        Status::Closed,
        Status::Issued,
        Status::Rectified,
        Status::Overdue,
        Status::Escalated,
        Status::Cancelled,
        Status::Open,
        Status::Done,
    ];

    #[test]
    fn every_core_status_round_trips_and_keeps_its_kind() {
        for s in ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s), "ALL is the core's list");
            let app = RecordStatus::from(s);
            assert_eq!(Status::from(app), s);
            assert!(s.belongs_to(app.kind()), "{s:?} is not a {:?} status", app.kind());
            assert_eq!(app.label_zh(), s.label_zh());
        }
        // Every kind's initial status is one of its own.
        for kind in RecordKind::ALL {
            assert_eq!(RecordStatus::from(kind.initial_status()).kind(), kind);
        }
    }
}
