//! Who may file and change what, per kind of record and per field, beside the state
//! machine (`Status::may_follow`, for status) and the case steps (`cases::apply_step`).
//! The merge rules check these on the phone, before an edit is queued, and on the server.
//!
//! | kind        | files                           | changes its content             |
//! |-------------|---------------------------------|---------------------------------|
//! | report      | grid workers, officers, admins  | its author, admins              |
//! | notice      | officers, admins                | officers in scope, admins; its number nobody |
//! | service log | grid workers, officers, admins  | its author, admins              |
//! | case        | admins                          | nobody: steps only              |

use crate::model::{Record, RecordKind, Role};

/// May an account of `role` file a record of `kind`?
pub fn may_create(kind: RecordKind, role: Role) -> bool {
    match kind {
        RecordKind::Report | RecordKind::ServiceLog => true,
        RecordKind::Notice => matches!(role, Role::Officer | Role::Admin),
        RecordKind::Case => role == Role::Admin,
    }
}

/// May `user_id` of `role` (already checked to be in the record's scope) change `field`
/// (`location` or a body field) of `record`?
pub fn may_change(record: &Record, field: &str, user_id: &str, role: Role) -> bool {
    // The number printed on the paper handed over, drawn from the device's block, never
    // changes (a cancelled notice keeps it too).
    if record.kind() == RecordKind::Notice && field == "number" {
        return false;
    }
    if role == Role::Admin {
        return true;
    }
    match record.kind() {
        RecordKind::Report | RecordKind::ServiceLog => record.author == user_id,
        // A colleague of the brigade may complete an officer's notice.
        RecordKind::Notice => role == Role::Officer,
        RecordKind::Case => false,
    }
}

/// Why [`may_create`] said no, for the rejection's message.
pub fn create_refusal(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Notice => "只有执法队员和管理员可以开具告知单",
        RecordKind::Case => "只有管理员可以立案",
        RecordKind::Report | RecordKind::ServiceLog => "无权新建该类记录",
    }
}

/// Why [`may_change`] said no.
pub fn change_refusal(kind: RecordKind, field: &str) -> &'static str {
    match kind {
        RecordKind::Notice if field == "number" => "告知单编号开具后不能修改",
        RecordKind::Notice => "只有执法队员和管理员可以修改告知单",
        RecordKind::Report | RecordKind::ServiceLog => "只有记录的填报人和管理员可以修改内容",
        RecordKind::Case => "案件只能通过办理步骤修改",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn the_table() {
        use RecordKind::*;
        use Role::*;
        for (kind, roles) in [
            (Report, [true, true, true]),
            (Notice, [false, true, true]),
            (ServiceLog, [true, true, true]),
            (Case, [false, false, true]),
        ] {
            for (role, want) in [GridWorker, Officer, Admin].into_iter().zip(roles) {
                assert_eq!(may_create(kind, role), want, "{kind:?} by {role:?}");
            }
        }
        let recs = fixtures::records();
        let report = recs.iter().find(|r| r.kind() == Report).expect("report");
        let notice = recs.iter().find(|r| r.kind() == Notice).expect("notice");
        assert!(may_change(report, "description", &report.author, GridWorker));
        assert!(!may_change(report, "description", "someone-else", GridWorker));
        assert!(!may_change(report, "description", "someone-else", Officer));
        assert!(may_change(report, "description", "someone-else", Admin));
        assert!(!may_change(notice, "facts", &notice.author, GridWorker), "a grid worker never changes a notice");
        assert!(may_change(notice, "facts", "a-colleague", Officer));
        assert!(!may_change(notice, "number", &notice.author, Officer), "the printed number stays");
        assert!(!may_change(notice, "number", "admin", Admin), "for everyone");
    }
}
