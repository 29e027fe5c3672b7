//! The admin console's use cases, over the same services a device uses: reading records
//! the caller may see (the record store's filtered search), revealing personal data (each
//! reveal written to the audit trail, never the value), and acting on records by building
//! the very ops a device would push (立案 as a `create` of a case, case actions as
//! `step`s, a report's 作废 as a status `update`) through [`SyncService::push`], so every
//! rule and rejection of the push path applies unchanged.

use crate::domain::DomainError;
use crate::domain::access::{Caller, Visibility};
use crate::domain::clock::ServerClock;
use crate::domain::query::{MAX_PAGE, PageAfter, RecordFilter, RecordPage, SortKey};
use crate::service::audit::AuditService;
use crate::service::reference::ReferenceService;
use crate::service::sync::SyncService;
use crate::storage::RecordStore;
use gridwork_core::cases::{Case, CaseSource, CaseStep, StepAction};
use gridwork_core::model::{Record, RecordBody, RecordKind, Role, Status};
use gridwork_core::protocol::{MAX_PUSH_OPS, NewRecord, Op, OpAction, Outcome, RecordPatch, RejectReason, Rejection};
use gridwork_core::reference::RefIndex;
use std::sync::Arc;
use uuid::Uuid;

/// A field of personal data the console masks until it is revealed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PersonalField {
    /// A notice's party name (当事人).
    PartyName,
    /// A notice's party phone.
    PartyPhone,
}

impl PersonalField {
    pub const ALL: [PersonalField; 2] = [PersonalField::PartyName, PersonalField::PartyPhone];

    pub fn code(self) -> &'static str {
        match self {
            PersonalField::PartyName => "party_name",
            PersonalField::PartyPhone => "party_phone",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.code() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            PersonalField::PartyName => "当事人姓名",
            PersonalField::PartyPhone => "联系电话",
        }
    }

    /// The field's value in a record, if it has one.
    pub fn value_in(self, rec: &Record) -> Option<&str> {
        let RecordBody::Notice(n) = &rec.body else { return None };
        match self {
            PersonalField::PartyName => Some(n.party.name.as_str()),
            PersonalField::PartyPhone => n.party.phone.as_deref(),
        }
    }
}

/// `138****1234`: the first three and last four characters of a phone or ID number, the
/// rest starred; a name keeps its first character (`张*`).
pub fn mask(field: PersonalField, value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    match field {
        PersonalField::PartyName => match chars.first() {
            Some(first) => format!("{first}{}", "*".repeat(chars.len().saturating_sub(1).max(1))),
            None => String::new(),
        },
        PersonalField::PartyPhone => {
            if chars.len() <= 7 {
                "*".repeat(chars.len().max(4))
            } else {
                let head: String = chars[..3].iter().collect();
                let tail: String = chars[chars.len() - 4..].iter().collect();
                format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
            }
        }
    }
}

/// What one console action did to each record it was applied to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ActionOutcome {
    pub accepted: Vec<Uuid>,
    /// Refused by the rules, with the rejection the push answered.
    pub rejected: Vec<(Uuid, Rejection)>,
    /// The records the action made (a case opened by 立案).
    pub created: Vec<Uuid>,
}

/// An action on many records at once.
#[derive(Clone, Debug, PartialEq)]
pub enum BulkAction {
    /// 立案 each report (its category and description become the case's).
    OpenCase,
    /// 派遣 each registered or suspended case to a unit or officer.
    Dispatch(gridwork_core::cases::Assignee),
    /// 作废 with a reason: a case by its void step (the reason is the step's note), a
    /// report by its status (the reason goes to the audit trail).
    Void { reason: String },
}

/// Most records one bulk action applies to.
pub const MAX_BULK: usize = MAX_PUSH_OPS;

pub struct ConsoleService {
    records: Arc<dyn RecordStore>,
    reference: Arc<ReferenceService>,
    sync: Arc<SyncService>,
    clock: Arc<ServerClock>,
    audit: Arc<AuditService>,
}

/// Does `vis` cover `rec`? (The same areas and assignments the store's pull and search use.)
pub fn covers(vis: &Visibility, rec: &Record, refs: &RefIndex) -> bool {
    match vis {
        Visibility::All => true,
        Visibility::District(d) => refs.is_within(&rec.org.grid, d),
        Visibility::Community(c) => rec.org.community == *c,
        Visibility::Grid(g) => rec.org.grid == *g,
        Visibility::Officer { district, .. } => {
            refs.is_within(&rec.org.grid, district) || rec.assignee_key().is_some_and(|k| vis.assignments().contains(&k))
        }
    }
}

impl ConsoleService {
    pub fn new(
        records: Arc<dyn RecordStore>,
        reference: Arc<ReferenceService>,
        sync: Arc<SyncService>,
        clock: Arc<ServerClock>,
        audit: Arc<AuditService>,
    ) -> Self {
        ConsoleService { records, reference, sync, clock, audit }
    }

    fn require_console(caller: &Caller) -> Result<(), DomainError> {
        if matches!(caller.role, Role::Admin | Role::Officer) { Ok(()) } else { Err(DomainError::Forbidden) }
    }

    /// One page of what `caller` may see that matches `filter`.
    pub async fn search(
        &self,
        caller: &Caller,
        filter: &RecordFilter,
        sort: SortKey,
        after: Option<&PageAfter>,
        limit: u32,
    ) -> Result<RecordPage, DomainError> {
        Self::require_console(caller)?;
        let refs = self.reference.current().await?;
        let limit = limit.clamp(1, MAX_PAGE);
        Ok(self.records.search(&caller.visibility(&refs.index), filter, sort, after, limit).await?)
    }

    /// How many records `caller` may see match `filter`.
    pub async fn count(&self, caller: &Caller, filter: &RecordFilter) -> Result<u64, DomainError> {
        Self::require_console(caller)?;
        let refs = self.reference.current().await?;
        Ok(self.records.count(&caller.visibility(&refs.index), filter).await?)
    }

    /// Every record matching `filter`, at most `cap` (for bulk actions and summaries).
    pub async fn collect(
        &self,
        caller: &Caller,
        filter: &RecordFilter,
        sort: SortKey,
        cap: usize,
    ) -> Result<Vec<Record>, DomainError> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let want = u32::try_from((cap - out.len()).min(MAX_PAGE as usize)).unwrap_or(MAX_PAGE);
            if want == 0 {
                break;
            }
            let page = self.search(caller, filter, sort, after.as_ref(), want).await?;
            out.extend(page.records);
            match page.next {
                Some(next) if out.len() < cap => after = Some(next),
                _ => break,
            }
        }
        Ok(out)
    }

    /// The accepted creates and edits of a record `caller` may see, in stamp order, with
    /// who sent each (the record's timeline).
    pub async fn changes(&self, caller: &Caller, id: Uuid) -> Result<Vec<(String, crate::storage::Change)>, DomainError> {
        self.record(caller, id).await?;
        Ok(self.records.changes(id).await?)
    }

    /// One record, if `caller` may see it (unknown and not visible look the same).
    pub async fn record(&self, caller: &Caller, id: Uuid) -> Result<Record, DomainError> {
        Self::require_console(caller)?;
        let refs = self.reference.current().await?;
        let rec = self.records.get(id).await?.ok_or(DomainError::NotFound)?;
        if covers(&caller.visibility(&refs.index), &rec, &refs.index) { Ok(rec) } else { Err(DomainError::NotFound) }
    }

    /// The value of one personal field, for an admin who asked to see it: the reveal is
    /// written to the audit trail (the field, never the value).
    pub async fn reveal(&self, caller: &Caller, id: Uuid, field: PersonalField) -> Result<Option<String>, DomainError> {
        caller.require_admin()?;
        let rec = self.record(caller, id).await?;
        let Some(value) = field.value_in(&rec).map(str::to_owned) else { return Ok(None) };
        let detail = serde_json::json!({ "field": field.code(), "kind": rec.kind().as_str() });
        self.audit.record(&caller.user_id, "reveal", Some(&id.to_string()), detail).await?;
        Ok(Some(value))
    }

    fn op(&self, record_id: Uuid, action: OpAction) -> Op {
        Op { op_id: Uuid::now_v7(), record_id, hlc: self.clock.tick(), action }
    }

    /// Push ops as the caller's browser would, as a device does; what each did.
    async fn push(&self, caller: &Caller, ops: Vec<(Uuid, Op)>, created: Vec<Uuid>) -> Result<ActionOutcome, DomainError> {
        let mut outcome = ActionOutcome::default();
        for chunk in ops.chunks(MAX_PUSH_OPS) {
            let (targets, ops): (Vec<Uuid>, Vec<Op>) = chunk.iter().cloned().unzip();
            let answer = self.sync.push(caller, ops).await?;
            for (target, result) in targets.into_iter().zip(answer.results) {
                match (result.outcome, result.rejection) {
                    (Outcome::Accepted, _) => {
                        if !outcome.accepted.contains(&target) {
                            outcome.accepted.push(target)
                        }
                    }
                    (Outcome::Rejected, rejection) => {
                        let rejection = rejection.unwrap_or_else(|| Rejection::new(RejectReason::Invalid, None, "操作被拒绝"));
                        outcome.accepted.retain(|t| *t != target);
                        if !outcome.rejected.iter().any(|(t, _)| *t == target) {
                            outcome.rejected.push((target, rejection));
                        }
                    }
                }
            }
        }
        outcome.created = created.into_iter().filter(|c| outcome.accepted.contains(c)).collect();
        Ok(outcome)
    }

    /// The op that opens a case (立案) from `source`, with the case's id.
    fn open_op(
        &self,
        source: &Record,
        category: &str,
        description: &str,
        complaint: Option<u32>,
    ) -> Result<(Uuid, Op), Rejection> {
        let case_source = match (&source.body, complaint) {
            (RecordBody::Report(_), _) => CaseSource::Report { id: source.id },
            (RecordBody::Notice(_), _) => CaseSource::Notice { id: source.id },
            (RecordBody::ServiceLog(_), Some(i)) => CaseSource::ServiceLog { id: source.id, complaint: i },
            (RecordBody::ServiceLog(_), None) => {
                return Err(Rejection::new(RejectReason::Invalid, Some("complaint"), "请选择要立案的意见建议 (complaint)"));
            }
            (RecordBody::Case(_), _) => {
                return Err(Rejection::new(RejectReason::InvalidTransition, Some("source"), "案件不能再立案"));
            }
        };
        let case = Case::opened(case_source, category.trim().to_owned(), description.trim().to_owned(), Vec::new());
        let new = NewRecord {
            org: source.org.clone(),
            created_at: self.clock.now(),
            location: source.location.clone(),
            status: Status::Registered,
            body: RecordBody::Case(case),
        };
        let id = Uuid::now_v7();
        Ok((id, self.op(id, OpAction::Create(new))))
    }

    /// 立案 from a record (and 派遣 at once if `dispatch` names where to): the case's id, or
    /// the rejection of the push.
    pub async fn open_case(
        &self,
        caller: &Caller,
        source_id: Uuid,
        category: &str,
        description: &str,
        complaint: Option<u32>,
        dispatch: Option<gridwork_core::cases::Assignee>,
    ) -> Result<Result<Uuid, Rejection>, DomainError> {
        caller.require_admin()?;
        let source = self.record(caller, source_id).await?;
        let (id, op) = match self.open_op(&source, category, description, complaint) {
            Ok(x) => x,
            Err(r) => return Ok(Err(r)),
        };
        let mut ops = vec![(id, op)];
        if let Some(to) = dispatch {
            let step = CaseStep { from: Status::Registered, action: StepAction::Dispatch { to }, note: None, photos: vec![] };
            ops.push((id, self.op(id, OpAction::Step(step))));
        }
        let outcome = self.push(caller, ops, vec![id]).await?;
        Ok(match outcome.rejected.into_iter().next() {
            Some((_, rejection)) => Err(rejection),
            None => Ok(id),
        })
    }

    /// One case step, from the stage the console showed (`from`): refused `stale_step` if
    /// someone acted first, like on a phone.
    pub async fn step(
        &self,
        caller: &Caller,
        id: Uuid,
        from: Status,
        action: StepAction,
        note: Option<String>,
    ) -> Result<Result<(), Rejection>, DomainError> {
        caller.require_admin()?;
        self.record(caller, id).await?;
        let step = CaseStep { from, action, note, photos: vec![] };
        let outcome = self.push(caller, vec![(id, self.op(id, OpAction::Step(step)))], vec![]).await?;
        Ok(match outcome.rejected.into_iter().next() {
            Some((_, rejection)) => Err(rejection),
            None => Ok(()),
        })
    }

    /// A status change of a report or notice (作废 a report, …), with the reason written to
    /// the audit trail.
    pub async fn set_status(
        &self,
        caller: &Caller,
        id: Uuid,
        status: Status,
        reason: &str,
    ) -> Result<Result<(), Rejection>, DomainError> {
        caller.require_admin()?;
        self.record(caller, id).await?;
        let outcome = self.status_ops(caller, vec![id], status, reason).await?;
        Ok(match outcome.rejected.into_iter().next() {
            Some((_, rejection)) => Err(rejection),
            None => Ok(()),
        })
    }

    async fn status_ops(
        &self,
        caller: &Caller,
        ids: Vec<Uuid>,
        status: Status,
        reason: &str,
    ) -> Result<ActionOutcome, DomainError> {
        let ops = ids
            .iter()
            .map(|id| (*id, self.op(*id, OpAction::Update(RecordPatch { status: Some(status), ..Default::default() }))))
            .collect();
        let outcome = self.push(caller, ops, vec![]).await?;
        for id in &outcome.accepted {
            let detail = serde_json::json!({ "status": status.as_str(), "reason": reason });
            self.audit.record(&caller.user_id, "status_change", Some(&id.to_string()), detail).await?;
        }
        Ok(outcome)
    }

    /// Apply one action to each of `targets` (records the caller saw, at most [`MAX_BULK`]).
    pub async fn bulk(&self, caller: &Caller, action: &BulkAction, targets: &[Record]) -> Result<ActionOutcome, DomainError> {
        caller.require_admin()?;
        if targets.len() > MAX_BULK {
            return Err(DomainError::invalid_input("ids", format!("一次最多批量处理{MAX_BULK}条 (ids)")));
        }
        let mut ops: Vec<(Uuid, Op)> = Vec::new();
        let mut created = Vec::new();
        let mut refused: Vec<(Uuid, Rejection)> = Vec::new();
        let mut report_voids = Vec::new();
        let wrong_kind = |what: &str| Rejection::new(RejectReason::KindMismatch, None, format!("该记录不能{what}"));
        for rec in targets {
            match (action, &rec.body) {
                (BulkAction::OpenCase, RecordBody::Report(r)) => {
                    match self.open_op(rec, &r.category, &r.description, None) {
                        Ok((case_id, op)) => {
                            created.push((rec.id, case_id));
                            // Answers are reported against the report the case was opened from.
                            ops.push((rec.id, op));
                        }
                        Err(r) => refused.push((rec.id, r)),
                    }
                }
                (BulkAction::OpenCase, _) => refused.push((rec.id, wrong_kind("批量立案（仅随手拍）"))),
                (BulkAction::Dispatch(to), RecordBody::Case(_)) => {
                    let step = CaseStep {
                        from: rec.status,
                        action: StepAction::Dispatch { to: to.clone() },
                        note: None,
                        photos: vec![],
                    };
                    ops.push((rec.id, self.op(rec.id, OpAction::Step(step))));
                }
                (BulkAction::Dispatch(_), _) => refused.push((rec.id, wrong_kind("派遣（仅案件）"))),
                (BulkAction::Void { reason }, RecordBody::Case(_)) => {
                    let step =
                        CaseStep { from: rec.status, action: StepAction::Void, note: Some(reason.clone()), photos: vec![] };
                    ops.push((rec.id, self.op(rec.id, OpAction::Step(step))));
                }
                (BulkAction::Void { .. }, RecordBody::Report(_)) => report_voids.push(rec.id),
                (BulkAction::Void { .. }, _) => refused.push((rec.id, wrong_kind("作废（仅随手拍和案件）"))),
            }
        }
        let mut outcome = if ops.is_empty() { ActionOutcome::default() } else { self.push(caller, ops, vec![]).await? };
        if let BulkAction::Void { reason } = action
            && !report_voids.is_empty()
        {
            let more = self.status_ops(caller, report_voids, Status::Voided, reason).await?;
            outcome.accepted.extend(more.accepted);
            outcome.rejected.extend(more.rejected);
        }
        if matches!(action, BulkAction::OpenCase) {
            // Only the cases whose 立案 was accepted exist.
            outcome.created =
                created.into_iter().filter(|(source, _)| outcome.accepted.contains(source)).map(|(_, case)| case).collect();
        }
        outcome.rejected.extend(refused);
        Ok(outcome)
    }
}

/// Does this kind of record carry personal data the console masks?
pub fn has_personal_data(kind: RecordKind) -> bool {
    kind == RecordKind::Notice
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_only_the_ends() {
        assert_eq!(mask(PersonalField::PartyPhone, "13805361234"), "138****1234");
        assert_eq!(mask(PersonalField::PartyPhone, "0536-8231234"), "053*****1234");
        assert_eq!(mask(PersonalField::PartyPhone, "12345"), "*****");
        assert_eq!(mask(PersonalField::PartyName, "张某"), "张*");
        assert_eq!(mask(PersonalField::PartyName, "欧阳小明"), "欧***");
        assert_eq!(mask(PersonalField::PartyName, "李"), "李*");
    }
}
