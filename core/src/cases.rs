//! 案件: the case loop 立案 → 派遣 → 处置 → 核查 → 结案, with its side exits (回退, 延期,
//! 缓办, 挂账, 督办, 作废), as pure rules shared by the server and the phones.
//!
//! A case is a record of its own kind. It is opened (立案) by an admin from a 随手拍 report,
//! an escalated notice, a complaint in a service log, or a hotline call; after that it
//! changes only through steps ([`CaseStep`]), each an op pushed like any other edit. A step
//! names the stage its device saw: a stage-changing step applies only from that stage, so
//! of two phones that act on the same case offline the first accepted wins and the other is
//! refused (`stale_step`) and stays visible on its phone with the reason.
//!
//! Deadlines are counted in working time ([`crate::worktime`]) from the limits of the case's
//! category ([`TimeLimit`]), both part of the reference data, so a phone shows "remaining"
//! offline with the server's own function.

use crate::model::{PhotoRef, Role, Status};
use crate::protocol::{RejectReason, Rejection};
use crate::reference::RefIndex;
use crate::validate::{MAX_PHOTOS, validate_photos};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The account id the server's own changes (overdue marks) are made by.
pub const SYSTEM_USER: &str = "system";

/// Most photos a case holds over all its steps (each step adds at most [`MAX_PHOTOS`]).
pub const MAX_CASE_PHOTOS: usize = 36;
/// Longest extension a unit may ask for at once: ten working days of 7.5 h.
pub const MAX_EXTENSION_MINUTES: u32 = 10 * 450;

/// Where a case came from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum CaseSource {
    /// A 随手拍 report (it becomes 已立案 with the case).
    Report { id: Uuid },
    /// A notice escalated to a case (it becomes 已移交立案).
    Notice { id: Uuid },
    /// A complaint recorded in a service log (`complaint` indexes its complaints).
    ServiceLog { id: Uuid, complaint: u32 },
    /// A 12345 hotline or other call, filed directly by an admin.
    Hotline,
}

impl CaseSource {
    /// The record the case was opened from, if any.
    pub fn record(&self) -> Option<Uuid> {
        match self {
            CaseSource::Report { id } | CaseSource::Notice { id } | CaseSource::ServiceLog { id, .. } => Some(*id),
            CaseSource::Hotline => None,
        }
    }
}

/// Who a case is dispatched to: a responsible unit (a brigade: its district's org code) or
/// one officer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Assignee {
    Unit { code: String },
    Officer { user_id: String },
}

impl Assignee {
    /// The key the server indexes assignments by (`unit:<code>`, `officer:<user id>`).
    pub fn key(&self) -> String {
        match self {
            Assignee::Unit { code } => format!("unit:{code}"),
            Assignee::Officer { user_id } => format!("officer:{user_id}"),
        }
    }
}

/// How long each stage of a case of one category may take, in working minutes.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TimeLimit {
    /// A GB/T 47678.5 小类 code, or `*` for every category without its own limit.
    pub category: String,
    /// 立案 to 派遣.
    pub dispatch_minutes: u32,
    /// 派遣 to 处置完成 (the case's deadline; extended by approved 延期).
    pub handle_minutes: u32,
    /// 处置完成 to 核查.
    pub verify_minutes: u32,
}

/// What a step does.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum StepAction {
    /// 派遣: send a registered (or suspended) case to a unit or an officer; its clock starts.
    Dispatch { to: Assignee },
    /// 回退: the unit sends a wrong dispatch back, to be dispatched again.
    SendBack,
    /// 处置完成 / 处理反馈: the handler reports the work done, with "after" photos.
    Handle,
    /// 核查: the verifier checks on site: passed → 结案; failed → 返工, back to the handler.
    Verify { passed: bool },
    /// 申请延期: the unit asks for more working time.
    RequestExtension { working_minutes: u32 },
    /// 审批延期: an admin grants or refuses the request.
    DecideExtension { approved: bool },
    /// 缓办: the clock pauses.
    Pause,
    /// The clock runs again; the deadline moves by the working time paused.
    Resume,
    /// 挂账: cannot be solved now; into the register, out of the due set.
    Suspend,
    /// 督办: a flag raised on an overdue case.
    Supervise,
    /// 答复: the public reply to the reporter (件件有回音). Never internal notes.
    Reply { text: String },
    /// An internal note, nothing else.
    Note,
    /// 作废: not a case after all (registered, or suspended for good).
    Void,
    /// The server's own mark when the deadline passes.
    MarkOverdue,
}

impl StepAction {
    /// What the timeline records this step as.
    pub fn event(&self) -> CaseEventKind {
        use CaseEventKind as E;
        match self {
            StepAction::Dispatch { .. } => E::Dispatch,
            StepAction::SendBack => E::SendBack,
            StepAction::Handle => E::Handle,
            StepAction::Verify { .. } => E::Verify,
            StepAction::RequestExtension { .. } => E::RequestExtension,
            StepAction::DecideExtension { .. } => E::DecideExtension,
            StepAction::Pause => E::Pause,
            StepAction::Resume => E::Resume,
            StepAction::Suspend => E::Suspend,
            StepAction::Supervise => E::Supervise,
            StepAction::Reply { .. } => E::Reply,
            StepAction::Note => E::Note,
            StepAction::Void => E::Void,
            StepAction::MarkOverdue => E::MarkOverdue,
        }
    }

    pub fn code(&self) -> &'static str {
        self.event().as_str()
    }

    pub fn label_zh(&self) -> &'static str {
        match self {
            StepAction::Dispatch { .. } => "派遣",
            StepAction::SendBack => "回退",
            StepAction::Handle => "处置完成",
            StepAction::Verify { passed: true } => "核查通过",
            StepAction::Verify { passed: false } => "核查不通过（返工）",
            StepAction::RequestExtension { .. } => "申请延期",
            StepAction::DecideExtension { approved: true } => "同意延期",
            StepAction::DecideExtension { approved: false } => "不同意延期",
            StepAction::Pause => "缓办",
            StepAction::Resume => "恢复办理",
            StepAction::Suspend => "挂账",
            StepAction::Supervise => "督办",
            StepAction::Reply { .. } => "答复",
            StepAction::Note => "备注",
            StepAction::Void => "作废",
            StepAction::MarkOverdue => "超期",
        }
    }

    /// The case fields a step of this kind may write (besides `status` and `timeline`).
    pub fn fields(&self) -> &'static [&'static str] {
        match self {
            StepAction::Dispatch { .. } => &["assignee", "dispatched_at", "due_at", "overdue"],
            StepAction::SendBack => &["assignee", "dispatched_at", "due_at", "overdue", "paused_since", "extension_request"],
            StepAction::Handle => &["handled_at"],
            StepAction::Verify { .. } => &["closed_at", "reworks"],
            StepAction::RequestExtension { .. } => &["extension_request"],
            StepAction::DecideExtension { .. } => &["extension_request", "due_at", "extensions", "overdue"],
            StepAction::Pause => &["paused_since"],
            StepAction::Resume => &["paused_since", "due_at"],
            StepAction::Supervise => &["supervised"],
            StepAction::Reply { .. } => &["reply"],
            StepAction::MarkOverdue => &["overdue"],
            StepAction::Suspend | StepAction::Note | StepAction::Void => &[],
        }
    }

    /// Steps that move the case to another stage (and so must start from the stage the
    /// device saw).
    fn changes_stage(&self) -> bool {
        matches!(
            self,
            StepAction::Dispatch { .. }
                | StepAction::SendBack
                | StepAction::Handle
                | StepAction::Verify { .. }
                | StepAction::Suspend
                | StepAction::Void
        )
    }
}

/// What a timeline entry records: 立案, or the kind of step taken.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum CaseEventKind {
    Register,
    Dispatch,
    SendBack,
    Handle,
    Verify,
    RequestExtension,
    DecideExtension,
    Pause,
    Resume,
    Suspend,
    Supervise,
    Reply,
    Note,
    Void,
    MarkOverdue,
}

impl CaseEventKind {
    pub const ALL: [CaseEventKind; 15] = {
        use CaseEventKind as E;
        [
            E::Register,
            E::Dispatch,
            E::SendBack,
            E::Handle,
            E::Verify,
            E::RequestExtension,
            E::DecideExtension,
            E::Pause,
            E::Resume,
            E::Suspend,
            E::Supervise,
            E::Reply,
            E::Note,
            E::Void,
            E::MarkOverdue,
        ]
    };

    pub fn as_str(self) -> &'static str {
        use CaseEventKind as E;
        match self {
            E::Register => "register",
            E::Dispatch => "dispatch",
            E::SendBack => "send_back",
            E::Handle => "handle",
            E::Verify => "verify",
            E::RequestExtension => "request_extension",
            E::DecideExtension => "decide_extension",
            E::Pause => "pause",
            E::Resume => "resume",
            E::Suspend => "suspend",
            E::Supervise => "supervise",
            E::Reply => "reply",
            E::Note => "note",
            E::Void => "void",
            E::MarkOverdue => "mark_overdue",
        }
    }

    /// The timeline's word for it (a 核查's outcome is in the entry's stage after).
    pub fn label_zh(self) -> &'static str {
        use CaseEventKind as E;
        match self {
            E::Register => "立案",
            E::Dispatch => "派遣",
            E::SendBack => "回退",
            E::Handle => "处置完成",
            E::Verify => "核查",
            E::RequestExtension => "申请延期",
            E::DecideExtension => "审批延期",
            E::Pause => "缓办",
            E::Resume => "恢复办理",
            E::Suspend => "挂账",
            E::Supervise => "督办",
            E::Reply => "答复",
            E::Note => "备注",
            E::Void => "作废",
            E::MarkOverdue => "超期",
        }
    }
}

impl std::fmt::Display for CaseEventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step of a case, as a device sends it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CaseStep {
    /// The stage the device saw the case in.
    pub from: Status,
    pub action: StepAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Photos taken with this step (e.g. 整改后 after 处置, on site at 核查).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<PhotoRef>,
}

/// An entry of a case's timeline.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CaseEvent {
    /// 立案, or the kind of step.
    pub action: CaseEventKind,
    pub at: DateTime<Utc>,
    /// Account id (or [`SYSTEM_USER`]).
    pub by: String,
    /// Device id the step came from (empty for the server's own).
    pub device: String,
    pub from: Status,
    pub to: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The photos added with this step (SHA-256 names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<Assignee>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
}

/// A unit's request for more time, waiting for an admin.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExtensionRequest {
    pub working_minutes: u32,
    pub by: String,
    pub at: DateTime<Utc>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// 案件.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Assigned by the server at 立案: `<district>-<year>-<6 digits>` (one sequence per
    /// district and year). `None` on a phone until the server has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    pub source: CaseSource,
    /// GB/T 47678.5 小类 code; the time limits follow it.
    pub category: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<Assignee>,
    /// The deadline of the handling (派遣 + the category's limit, plus approved 延期 and the
    /// time paused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    /// 缓办 since then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_since: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub overdue: bool,
    /// 督办.
    #[serde(default, skip_serializing_if = "is_false")]
    pub supervised: bool,
    /// 返工: failed 核查 so far.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reworks: u32,
    /// Approved 延期 so far.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub extensions: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_request: Option<ExtensionRequest>,
    /// The public reply to the reporter (Open311 `status_notes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatched_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handled_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<CaseEvent>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<PhotoRef>,
}

/// Who takes a step, and what they and the case are.
#[derive(Clone, Copy, Debug)]
pub struct StepContext<'a> {
    pub user_id: &'a str,
    pub device_id: &'a str,
    pub role: Role,
    /// The actor's org scope (a grid worker's grid or community, an officer's district).
    pub scope: &'a str,
    /// The grid the case is in.
    pub grid: &'a str,
    pub refs: &'a RefIndex,
    pub now: DateTime<Utc>,
}

fn reject(reason: RejectReason, field: Option<&str>, message: &str) -> Rejection {
    Rejection::new(reason, field, message.to_owned())
}

fn wrong_role(message: &str) -> Rejection {
    reject(RejectReason::WrongRole, None, message)
}

impl Case {
    /// A new case as 立案 makes it: only what the opener says; the rest is the rules'.
    pub fn opened(source: CaseSource, category: String, description: String, photos: Vec<PhotoRef>) -> Case {
        Case {
            number: None,
            source,
            category,
            description,
            assignee: None,
            due_at: None,
            paused_since: None,
            overdue: false,
            supervised: false,
            reworks: 0,
            extensions: 0,
            extension_request: None,
            reply: None,
            dispatched_at: None,
            handled_at: None,
            closed_at: None,
            timeline: Vec::new(),
            photos,
        }
    }

    /// Is the actor the case's assignee (the officer, or an officer of the unit)?
    pub fn is_assignee(&self, user_id: &str, role: Role, scope: &str) -> bool {
        match &self.assignee {
            Some(Assignee::Officer { user_id: id }) => id == user_id,
            Some(Assignee::Unit { code }) => role == Role::Officer && code == scope,
            None => false,
        }
    }

    /// The deadline the server watches: running (dispatched or handled, not paused) and not
    /// yet marked overdue.
    pub fn watched_due(&self, stage: Status) -> Option<DateTime<Utc>> {
        let running = matches!(stage, Status::Dispatched | Status::Handled) && self.paused_since.is_none() && !self.overdue;
        self.due_at.filter(|_| running)
    }

    /// Working minutes left to the deadline at `now` (negative: overdue), if it runs.
    pub fn remaining_minutes(&self, stage: Status, now: DateTime<Utc>, refs: &RefIndex) -> Option<i64> {
        let due = self.due_at.filter(|_| matches!(stage, Status::Dispatched | Status::Handled))?;
        let at = self.paused_since.unwrap_or(now);
        Some(refs.calendar().remaining(at, due))
    }
}

/// Check a case's own fields (text lengths, the category, photos).
pub fn validate_case(case: &Case, refs: &RefIndex) -> Result<(), Rejection> {
    let invalid = |field: &str, message: &str| reject(RejectReason::Invalid, Some(field), &format!("{message} ({field})"));
    if !(case.category.len() == 5 && refs.category(&case.category).is_some()) {
        return Err(invalid("category", "不是国标（GB/T 47678.5）小类代码"));
    }
    let text_ok = |s: &str, max: usize| s.chars().count() <= max && !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t');
    if case.description.trim().is_empty() || !text_ok(&case.description, 500) {
        return Err(invalid("description", "不能为空，不能超过500个字"));
    }
    if case.reply.as_deref().is_some_and(|r| r.trim().is_empty() || !text_ok(r, 500)) {
        return Err(invalid("reply", "不能为空，不能超过500个字"));
    }
    if let CaseSource::ServiceLog { complaint, .. } = case.source
        && complaint >= crate::validate::MAX_LIST_ITEMS as u32
    {
        return Err(invalid("source.complaint", "意见序号超出范围"));
    }
    if case.photos.len() > MAX_CASE_PHOTOS {
        return Err(invalid("photos", "案件照片过多"));
    }
    if case.timeline.iter().any(|e| e.note.as_deref().is_some_and(|n| !text_ok(n, 500))) {
        return Err(invalid("note", "不能超过500个字"));
    }
    Ok(())
}

/// Apply one step to a case in `stage`: the next case and stage, or why the step is refused.
pub fn apply_step(case: &Case, stage: Status, step: &CaseStep, ctx: &StepContext<'_>) -> Result<(Case, Status), Rejection> {
    use StepAction as A;
    let admin = ctx.role == Role::Admin;
    let system = ctx.user_id == SYSTEM_USER;
    let assignee = case.is_assignee(ctx.user_id, ctx.role, ctx.scope);
    // The reporting grid worker, or another of the case's grid or community.
    let verifier = admin || (ctx.role == Role::GridWorker && ctx.refs.is_within(ctx.grid, ctx.scope));
    if step.action.changes_stage() && step.from != stage {
        return Err(reject(
            RejectReason::StaleStep,
            Some("from"),
            &format!("案件已是“{}”，不再是“{}”：他人已先办理", stage.label_zh(), step.from.label_zh()),
        ));
    }
    if matches!(stage, Status::Closed | Status::Voided) && !matches!(step.action, A::Note | A::Reply { .. }) {
        return Err(reject(RejectReason::InvalidTransition, None, "案件已办结，不能再办理"));
    }
    if let Some(note) = &step.note
        && (note.trim().is_empty() || note.chars().count() > 500)
    {
        return Err(reject(RejectReason::Invalid, Some("note"), "备注不能为空，不能超过500个字 (note)"));
    }
    if step.photos.len() > MAX_PHOTOS {
        return Err(reject(RejectReason::Invalid, Some("photos"), &format!("每步最多{MAX_PHOTOS}张照片 (photos)")));
    }
    validate_photos("photos", &step.photos)?;

    let limits = ctx.refs.time_limit(&case.category);
    let calendar = ctx.refs.calendar();
    let now = ctx.now;
    let mut next = case.clone();
    let transition = |want: &[Status]| -> Result<(), Rejection> {
        if want.contains(&stage) {
            Ok(())
        } else {
            Err(reject(
                RejectReason::InvalidTransition,
                None,
                &format!("“{}”的案件不能{}", stage.label_zh(), step.action.label_zh()),
            ))
        }
    };
    let to = match &step.action {
        A::Dispatch { to } => {
            if !admin {
                return Err(wrong_role("只有管理员可以派遣"));
            }
            // From the register (挂账) too: when it can be solved after all, it is dispatched again.
            transition(&[Status::Registered, Status::Suspended])?;
            match to {
                Assignee::Unit { code }
                    if ctx.refs.org(code).is_some_and(|o| o.level == crate::reference::OrgLevel::District) => {}
                Assignee::Officer { user_id } if ctx.refs.user(user_id).is_some_and(|u| u.role == Role::Officer) => {}
                _ => return Err(reject(RejectReason::Invalid, Some("to"), "派遣对象应为执法中队（区）或执法队员 (to)")),
            }
            next.assignee = Some(to.clone());
            next.dispatched_at = Some(now);
            next.due_at = Some(calendar.add_working_minutes(now, i64::from(limits.handle_minutes)));
            next.overdue = false;
            Status::Dispatched
        }
        A::SendBack => {
            if !(assignee || admin) {
                return Err(reject(RejectReason::NotAssignee, None, "只有承办单位可以回退"));
            }
            transition(&[Status::Dispatched])?;
            (next.assignee, next.due_at, next.dispatched_at, next.extension_request) = (None, None, None, None);
            (next.overdue, next.paused_since) = (false, None);
            Status::Registered
        }
        A::Handle => {
            if !(assignee || admin) {
                return Err(reject(RejectReason::NotAssignee, None, "只有承办单位可以反馈处置结果"));
            }
            transition(&[Status::Dispatched])?;
            if next.paused_since.is_some() {
                return Err(reject(RejectReason::InvalidTransition, None, "案件缓办中，请先恢复办理"));
            }
            next.handled_at = Some(now);
            Status::Handled
        }
        A::Verify { passed } => {
            if !verifier {
                return Err(wrong_role("只有本网格的网格员或管理员可以核查"));
            }
            transition(&[Status::Handled])?;
            if *passed {
                next.closed_at = Some(now);
                Status::Closed
            } else {
                next.reworks += 1;
                Status::Dispatched
            }
        }
        A::RequestExtension { working_minutes } => {
            if !assignee {
                return Err(reject(RejectReason::NotAssignee, None, "只有承办单位可以申请延期"));
            }
            transition(&[Status::Dispatched])?;
            if !(1..=MAX_EXTENSION_MINUTES).contains(working_minutes) {
                return Err(reject(
                    RejectReason::Invalid,
                    Some("working_minutes"),
                    "延期时长应为1分钟到10个工作日 (working_minutes)",
                ));
            }
            next.extension_request =
                Some(ExtensionRequest { working_minutes: *working_minutes, by: ctx.user_id.to_owned(), at: now });
            stage
        }
        A::DecideExtension { approved } => {
            if !admin {
                return Err(wrong_role("只有管理员可以审批延期"));
            }
            let Some(request) = next.extension_request.take() else {
                return Err(reject(RejectReason::InvalidTransition, None, "没有待审批的延期申请"));
            };
            if *approved && let Some(due) = next.due_at {
                let due = calendar.add_working_minutes(due, i64::from(request.working_minutes));
                next.due_at = Some(due);
                next.extensions += 1;
                next.overdue = next.overdue && due <= now;
            }
            stage
        }
        A::Pause => {
            if !admin {
                return Err(wrong_role("只有管理员可以缓办"));
            }
            transition(&[Status::Dispatched])?;
            if next.paused_since.is_some() {
                return Err(reject(RejectReason::InvalidTransition, None, "案件已在缓办中"));
            }
            next.paused_since = Some(now);
            stage
        }
        A::Resume => {
            if !admin {
                return Err(wrong_role("只有管理员可以恢复办理"));
            }
            let Some(since) = next.paused_since.take() else {
                return Err(reject(RejectReason::InvalidTransition, None, "案件不在缓办中"));
            };
            if let Some(due) = next.due_at {
                next.due_at = Some(calendar.add_working_minutes(due, calendar.working_minutes_between(since, now)));
            }
            stage
        }
        A::Suspend => {
            if !admin {
                return Err(wrong_role("只有管理员可以挂账"));
            }
            transition(&[Status::Registered, Status::Dispatched, Status::Handled])?;
            Status::Suspended
        }
        A::Supervise => {
            if !admin {
                return Err(wrong_role("只有管理员可以督办"));
            }
            if !next.overdue {
                return Err(reject(RejectReason::InvalidTransition, None, "只能督办超期的案件"));
            }
            next.supervised = true;
            stage
        }
        A::Reply { text } => {
            if !admin {
                return Err(wrong_role("只有管理员可以答复上报人"));
            }
            next.reply = Some(text.trim().to_owned());
            stage
        }
        A::Note => {
            if !(admin || assignee || verifier || system) {
                return Err(wrong_role("无权为该案件添加备注"));
            }
            if step.note.is_none() {
                return Err(reject(RejectReason::Invalid, Some("note"), "备注不能为空 (note)"));
            }
            stage
        }
        A::Void => {
            if !admin {
                return Err(wrong_role("只有管理员可以作废案件"));
            }
            transition(&[Status::Registered, Status::Suspended])?;
            Status::Voided
        }
        A::MarkOverdue => {
            if !system {
                return Err(wrong_role("超期由系统自动标记"));
            }
            if next.overdue || case.watched_due(stage).is_none_or(|due| due > now) {
                return Err(reject(RejectReason::InvalidTransition, None, "案件未到期"));
            }
            next.overdue = true;
            stage
        }
    };
    next.photos.extend(step.photos.iter().cloned());
    next.timeline.push(CaseEvent {
        action: step.action.event(),
        at: now,
        by: ctx.user_id.to_owned(),
        device: ctx.device_id.to_owned(),
        from: stage,
        to,
        note: step.note.clone(),
        photos: step.photos.iter().map(|p| p.sha256.clone()).collect(),
        assignee: match &step.action {
            A::Dispatch { to } => Some(to.clone()),
            _ => None,
        },
        due_at: (next.due_at != case.due_at).then_some(next.due_at).flatten(),
    });
    validate_case(&next, ctx.refs)?;
    Ok((next, to))
}

/// The first timeline entry of a case, written when it is opened (立案).
pub fn opening_event(user_id: &str, device_id: &str, now: DateTime<Utc>) -> CaseEvent {
    CaseEvent {
        action: CaseEventKind::Register,
        at: now,
        by: user_id.to_owned(),
        device: device_id.to_owned(),
        from: Status::Registered,
        to: Status::Registered,
        note: None,
        photos: Vec::new(),
        assignee: None,
        due_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use crate::hlc::Hlc;
    use crate::merge::{Actor, StoredRecord, apply_op};
    use crate::model::{Record, RecordBody};
    use crate::protocol::{NewRecord, Op, OpAction};
    use crate::reference::{ReferenceData, UserInfo};
    use crate::worktime::china;
    use chrono::TimeZone;

    const ADMIN: &str = "admin";
    const OFFICER: &str = "officer-kw";
    const OTHER_OFFICER: &str = "officer-wc";
    const WORKER: &str = "worker-kw";

    fn refs() -> RefIndex {
        let mut data: ReferenceData = fixtures::reference_data();
        let user = |id: &str, role, scope: &str| UserInfo {
            id: id.into(),
            username: id.into(),
            display_name: id.into(),
            role,
            scope: scope.into(),
        };
        data.users = vec![
            user(ADMIN, Role::Admin, fixtures::CITY),
            user(OFFICER, Role::Officer, fixtures::DISTRICT),
            user(OTHER_OFFICER, Role::Officer, fixtures::OTHER_DISTRICT),
            user(WORKER, Role::GridWorker, fixtures::GRID),
        ];
        // 暴露垃圾-like: four working hours to handle.
        data.time_limits = vec![
            TimeLimit { category: "06036".into(), dispatch_minutes: 60, handle_minutes: 240, verify_minutes: 120 },
            TimeLimit { category: "*".into(), dispatch_minutes: 450, handle_minutes: 450, verify_minutes: 450 },
        ];
        RefIndex::new(&data)
    }

    fn cst(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        china().with_ymd_and_hms(2026, 12, d, h, m, 0).single().expect("time").with_timezone(&Utc)
    }

    fn actor(user: &'static str) -> Actor<'static> {
        let (role, home) = match user {
            ADMIN => (Role::Admin, fixtures::CITY),
            OFFICER => (Role::Officer, fixtures::DISTRICT),
            OTHER_OFFICER => (Role::Officer, fixtures::OTHER_DISTRICT),
            SYSTEM_USER => (Role::Admin, fixtures::CITY),
            _ => (Role::GridWorker, fixtures::GRID),
        };
        Actor { user_id: user, device_id: "dev", role, scope: Some(home), home }
    }

    fn open(by: &'static str, at: DateTime<Utc>) -> Result<StoredRecord, Rejection> {
        let report = fixtures::records().remove(0);
        let body =
            RecordBody::Case(Case::opened(CaseSource::Report { id: report.id }, "06036".into(), "楼道堆物".into(), vec![]));
        let op = Op {
            op_id: Uuid::now_v7(),
            record_id: Uuid::from_u128(77),
            hlc: Hlc::new(1, 0, "dev"),
            action: OpAction::Create(NewRecord {
                org: report.org,
                created_at: at,
                location: report.location,
                status: Status::Registered,
                body,
            }),
        };
        apply_op(None, &op, &op.hlc, &actor(by), &refs(), at)
    }

    fn step(cur: &StoredRecord, by: &'static str, action: StepAction, at: DateTime<Utc>) -> Result<StoredRecord, Rejection> {
        let st = CaseStep { from: cur.record.status, action, note: None, photos: vec![] };
        step_as(cur, by, st, at)
    }

    fn step_as(cur: &StoredRecord, by: &'static str, st: CaseStep, at: DateTime<Utc>) -> Result<StoredRecord, Rejection> {
        let op = Op { op_id: Uuid::now_v7(), record_id: cur.record.id, hlc: Hlc::new(2, 0, "dev"), action: OpAction::Step(st) };
        apply_op(Some(cur), &op, &op.hlc, &actor(by), &refs(), at)
    }

    fn case_of(r: &Record) -> &Case {
        match &r.body {
            RecordBody::Case(c) => c,
            other => panic!("not a case: {other:?}"),
        }
    }

    fn to_officer() -> StepAction {
        StepAction::Dispatch { to: Assignee::Officer { user_id: OFFICER.into() } }
    }

    #[test]
    fn the_whole_loop_with_one_rework() {
        // Monday 09:00: registered, dispatched at 09:10 (due four working hours later: 14:40).
        let c = open(ADMIN, cst(7, 9, 0)).expect("open");
        assert_eq!(c.record.status, Status::Registered);
        assert_eq!(case_of(&c.record).timeline.len(), 1);
        let c = step(&c, ADMIN, to_officer(), cst(7, 9, 10)).expect("dispatch");
        assert_eq!(c.record.status, Status::Dispatched);
        assert_eq!(case_of(&c.record).due_at, Some(cst(7, 14, 40)));
        assert_eq!(c.record.assignee_key().as_deref(), Some("officer:officer-kw"));
        let c = step(&c, OFFICER, StepAction::Handle, cst(7, 11, 0)).expect("handle");
        assert_eq!(c.record.status, Status::Handled);
        // The grid worker checks on site: not done. Back to the officer, counted.
        let c = step(&c, WORKER, StepAction::Verify { passed: false }, cst(7, 11, 30)).expect("verify");
        assert_eq!((c.record.status, case_of(&c.record).reworks), (Status::Dispatched, 1));
        let c = step(&c, OFFICER, StepAction::Handle, cst(7, 13, 45)).expect("handle again");
        let c = step(&c, WORKER, StepAction::Verify { passed: true }, cst(7, 14, 0)).expect("verify");
        let case = case_of(&c.record);
        assert_eq!(c.record.status, Status::Closed);
        assert_eq!(case.closed_at, Some(cst(7, 14, 0)));
        let actions: Vec<&str> = case.timeline.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["register", "dispatch", "handle", "verify", "handle", "verify"]);
        assert!(case.timeline.iter().all(|e| e.device == "dev"));
        assert_eq!(case.timeline[3].to, Status::Dispatched, "the failed 核查 sent it back");
        // Closed: nothing but notes and replies.
        let err = step(&c, ADMIN, StepAction::Suspend, cst(7, 15, 0)).unwrap_err();
        assert_eq!(err.reason, RejectReason::InvalidTransition);
        let c = step(&c, ADMIN, StepAction::Reply { text: "已清理完毕，感谢您的反映".into() }, cst(7, 15, 0)).expect("reply");
        assert_eq!(case_of(&c.record).reply.as_deref(), Some("已清理完毕，感谢您的反映"));
    }

    #[test]
    fn each_wrong_person_or_stage_has_its_reason() {
        let at = cst(7, 9, 0);
        assert_eq!(open(WORKER, at).unwrap_err().reason, RejectReason::WrongRole, "only admins open cases");
        let c = open(ADMIN, at).expect("open");
        assert_eq!(step(&c, WORKER, to_officer(), at).unwrap_err().reason, RejectReason::WrongRole);
        assert_eq!(step(&c, OFFICER, StepAction::Handle, at).unwrap_err().reason, RejectReason::NotAssignee);
        let c = step(&c, ADMIN, to_officer(), at).expect("dispatch");
        assert_eq!(step(&c, OTHER_OFFICER, StepAction::Handle, at).unwrap_err().reason, RejectReason::NotAssignee);
        assert_eq!(step(&c, OFFICER, StepAction::Verify { passed: true }, at).unwrap_err().reason, RejectReason::WrongRole);
        assert_eq!(
            step(&c, WORKER, StepAction::Verify { passed: true }, at).unwrap_err().reason,
            RejectReason::InvalidTransition
        );
        assert_eq!(step(&c, OFFICER, StepAction::Supervise, at).unwrap_err().reason, RejectReason::WrongRole);
        assert_eq!(
            step(&c, ADMIN, StepAction::Supervise, at).unwrap_err().reason,
            RejectReason::InvalidTransition,
            "not overdue"
        );
        assert_eq!(step(&c, ADMIN, StepAction::MarkOverdue, cst(8, 9, 0)).unwrap_err().reason, RejectReason::WrongRole);
        let to_unknown = StepAction::Dispatch { to: Assignee::Officer { user_id: WORKER.into() } };
        let c2 = open(ADMIN, at).expect("open");
        assert_eq!(step(&c2, ADMIN, to_unknown, at).unwrap_err().reason, RejectReason::Invalid, "a grid worker is no unit");
        // A unit: any officer of the brigade's district may act.
        let c3 = step(&c2, ADMIN, StepAction::Dispatch { to: Assignee::Unit { code: fixtures::DISTRICT.into() } }, at)
            .expect("dispatch");
        assert!(step(&c3, OFFICER, StepAction::Handle, at).is_ok());
        assert_eq!(step(&c3, OTHER_OFFICER, StepAction::Handle, at).unwrap_err().reason, RejectReason::NotAssignee);
    }

    #[test]
    fn two_phones_acting_offline_on_the_same_stage_the_first_accepted_wins() {
        let at = cst(7, 9, 0);
        let c = step(&open(ADMIN, at).expect("open"), ADMIN, to_officer(), at).expect("dispatch");
        // Both phones saw 处置中: the officer reports back, the admin suspends.
        let handle =
            CaseStep { from: Status::Dispatched, action: StepAction::Handle, note: Some("已清理".into()), photos: vec![] };
        let suspend = CaseStep { from: Status::Dispatched, action: StepAction::Suspend, note: None, photos: vec![] };
        let after_handle = step_as(&c, OFFICER, handle.clone(), at).expect("first");
        assert_eq!(step_as(&after_handle, ADMIN, suspend.clone(), at).unwrap_err().reason, RejectReason::StaleStep);
        // In the other order the other one wins: deterministic by arrival.
        let after_suspend = step_as(&c, ADMIN, suspend, at).expect("first");
        assert_eq!(step_as(&after_suspend, OFFICER, handle, at).unwrap_err().reason, RejectReason::StaleStep);
        // Notes never conflict.
        let note =
            CaseStep { from: Status::Registered, action: StepAction::Note, note: Some("现场已拍照".into()), photos: vec![] };
        assert!(step_as(&after_suspend, ADMIN, note, at).is_ok());
    }

    #[test]
    fn deadlines_in_working_time_extensions_pauses_and_the_overdue_mark() {
        // Dispatched Friday 16:30 with four working hours: due Monday 11:30.
        let c = step(&open(ADMIN, cst(4, 16, 0)).expect("open"), ADMIN, to_officer(), cst(4, 16, 30)).expect("dispatch");
        assert_eq!(case_of(&c.record).due_at, Some(cst(7, 11, 30)));
        assert_eq!(
            case_of(&c.record).remaining_minutes(c.record.status, cst(5, 12, 0), &refs()),
            Some(180),
            "Saturday counts nothing"
        );
        // An extension of two hours, approved: 11:30–12:00, then 13:30 + 90 min = 15:00.
        let c = step(&c, OFFICER, StepAction::RequestExtension { working_minutes: 120 }, cst(7, 9, 0)).expect("request");
        assert_eq!(
            step(&c, OFFICER, StepAction::DecideExtension { approved: true }, cst(7, 9, 5)).unwrap_err().reason,
            RejectReason::WrongRole
        );
        let c = step(&c, ADMIN, StepAction::DecideExtension { approved: true }, cst(7, 9, 5)).expect("approve");
        assert_eq!((case_of(&c.record).due_at, case_of(&c.record).extensions), (Some(cst(7, 15, 0)), 1));
        // 缓办 from 10:00 to 11:00 (one working hour): the deadline moves by an hour.
        let c = step(&c, ADMIN, StepAction::Pause, cst(7, 10, 0)).expect("pause");
        assert!(c.record.watched_due().is_none(), "a paused clock is not watched");
        let c = step(&c, ADMIN, StepAction::Resume, cst(7, 11, 0)).expect("resume");
        assert_eq!(case_of(&c.record).due_at, Some(cst(7, 16, 0)));
        // Only the system marks it overdue, and only once the deadline has passed.
        assert_eq!(c.record.watched_due(), Some(cst(7, 16, 0)));
        let system = |at| {
            let st = CaseStep { from: Status::Dispatched, action: StepAction::MarkOverdue, note: None, photos: vec![] };
            let op =
                Op { op_id: Uuid::now_v7(), record_id: c.record.id, hlc: Hlc::new(3, 0, "server"), action: OpAction::Step(st) };
            let sys = Actor { user_id: SYSTEM_USER, device_id: "", role: Role::Admin, scope: None, home: fixtures::CITY };
            apply_op(Some(&c), &op, &op.hlc, &sys, &refs(), at)
        };
        assert_eq!(system(cst(7, 15, 59)).unwrap_err().reason, RejectReason::InvalidTransition);
        let late = system(cst(7, 16, 1)).expect("overdue");
        assert!(case_of(&late.record).overdue);
        assert!(late.record.watched_due().is_none(), "marked once");
        let late = step(&late, ADMIN, StepAction::Supervise, cst(7, 16, 2)).expect("督办");
        assert!(case_of(&late.record).supervised);
        // Tuesday 09:00: overdue by 16:00–17:30 and 08:30–09:00.
        assert_eq!(case_of(&late.record).remaining_minutes(late.record.status, cst(8, 9, 0), &refs()), Some(-(90 + 30)));
    }

    #[test]
    fn a_case_changes_only_by_its_steps() {
        let c = open(ADMIN, cst(7, 9, 0)).expect("open");
        let patch = crate::protocol::RecordPatch { status: Some(Status::Closed), ..Default::default() };
        let op =
            Op { op_id: Uuid::now_v7(), record_id: c.record.id, hlc: Hlc::new(5, 0, "dev"), action: OpAction::Update(patch) };
        assert_eq!(
            apply_op(Some(&c), &op, &op.hlc, &actor(ADMIN), &refs(), cst(7, 9, 0)).unwrap_err().reason,
            RejectReason::InvalidTransition
        );
        // And a step on a report is a kind mismatch.
        let report = fixtures::create_op(fixtures::records().remove(0), Hlc::new(1, 0, "dev"));
        let r = apply_op(None, &report, &report.hlc, &actor(WORKER), &refs(), cst(7, 9, 0)).expect("report");
        assert_eq!(step(&r, ADMIN, StepAction::Handle, cst(7, 9, 0)).unwrap_err().reason, RejectReason::KindMismatch);
    }

    /// Every step, by every kind of actor, in every stage: allowed exactly where the rules
    /// of the loop say, and otherwise refused with the reason the rules name. The table
    /// below is the specification, written apart from `apply_step`.
    #[test]
    fn every_step_by_every_actor_in_every_stage() {
        use RejectReason::{InvalidTransition as Stage, NotAssignee, WrongRole};
        let at = cst(7, 9, 0);
        let registered = open(ADMIN, at).expect("open");
        let dispatched = step(&registered, ADMIN, to_officer(), at).expect("dispatch");
        let handled = step(&dispatched, OFFICER, StepAction::Handle, at).expect("handle");
        let suspended = step(&dispatched, ADMIN, StepAction::Suspend, at).expect("suspend");
        let closed = step(&handled, WORKER, StepAction::Verify { passed: true }, at).expect("close");
        let voided = step(&registered, ADMIN, StepAction::Void, at).expect("void");
        let stages = [&registered, &dispatched, &handled, &suspended, &closed, &voided];
        let actions = [
            to_officer(),
            StepAction::SendBack,
            StepAction::Handle,
            StepAction::Verify { passed: true },
            StepAction::Verify { passed: false },
            StepAction::RequestExtension { working_minutes: 60 },
            StepAction::DecideExtension { approved: true },
            StepAction::Pause,
            StepAction::Resume,
            StepAction::Suspend,
            StepAction::Supervise,
            StepAction::Reply { text: "已处理".into() },
            StepAction::Note,
            StepAction::Void,
            StepAction::MarkOverdue,
        ];
        use Status as S;
        let mut checked = 0;
        for cur in stages {
            let stage = cur.record.status;
            // The officer is the assignee from 派遣 on (挂账 keeps the assignee).
            let assigned = stage != S::Registered && stage != S::Voided;
            for action in &actions {
                for who in [ADMIN, OFFICER, OTHER_OFFICER, WORKER, SYSTEM_USER] {
                    let admin = matches!(who, ADMIN | SYSTEM_USER);
                    let assignee = who == OFFICER && assigned;
                    let verifier = admin || who == WORKER;
                    let (may, refusal) = match action {
                        StepAction::Dispatch { .. } => (admin, WrongRole),
                        StepAction::SendBack | StepAction::Handle => (admin || assignee, NotAssignee),
                        StepAction::Verify { .. } => (verifier, WrongRole),
                        StepAction::RequestExtension { .. } => (assignee, NotAssignee),
                        StepAction::Note => (admin || assignee || verifier, WrongRole),
                        StepAction::MarkOverdue => (who == SYSTEM_USER, WrongRole),
                        _ => (admin, WrongRole),
                    };
                    let stages_of: &[S] = match action {
                        StepAction::Dispatch { .. } | StepAction::Void => &[S::Registered, S::Suspended],
                        StepAction::SendBack | StepAction::Handle | StepAction::RequestExtension { .. } | StepAction::Pause => {
                            &[S::Dispatched]
                        }
                        StepAction::Verify { .. } => &[S::Handled],
                        StepAction::Suspend => &[S::Registered, S::Dispatched, S::Handled],
                        StepAction::Reply { .. } | StepAction::Note => &S::ALL,
                        // No request pending, not paused, not overdue, not due yet: never here.
                        StepAction::DecideExtension { .. }
                        | StepAction::Resume
                        | StepAction::Supervise
                        | StepAction::MarkOverdue => &[],
                    };
                    let done = matches!(stage, S::Closed | S::Voided);
                    let want = if done && !matches!(action, StepAction::Reply { .. } | StepAction::Note) {
                        Err(Stage)
                    } else if !may {
                        Err(refusal)
                    } else if !stages_of.contains(&stage) {
                        Err(Stage)
                    } else {
                        Ok(())
                    };
                    let st = CaseStep { from: stage, action: action.clone(), note: Some("现场情况".into()), photos: vec![] };
                    let got = step_as(cur, who, st, at).map(|_| ()).map_err(|e| e.reason);
                    assert_eq!(got, want, "{} by {who} in {stage:?}", action.code());
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 6 * 15 * 5);

        // The preconditions the table leaves out: a pending request, a pause, an overdue mark.
        let asked = step(&dispatched, OFFICER, StepAction::RequestExtension { working_minutes: 60 }, at).expect("ask");
        assert!(step(&asked, ADMIN, StepAction::DecideExtension { approved: true }, at).is_ok());
        for who in [OFFICER, WORKER] {
            let e = step(&asked, who, StepAction::DecideExtension { approved: true }, at).unwrap_err();
            assert_eq!(e.reason, WrongRole);
        }
        let paused = step(&dispatched, ADMIN, StepAction::Pause, at).expect("pause");
        assert_eq!(step(&paused, ADMIN, StepAction::Pause, at).unwrap_err().reason, Stage, "paused already");
        assert_eq!(step(&paused, OFFICER, StepAction::Handle, at).unwrap_err().reason, Stage, "resume first");
        assert_eq!(step(&paused, OFFICER, StepAction::Resume, at).unwrap_err().reason, WrongRole);
        assert!(step(&paused, ADMIN, StepAction::Resume, at).is_ok());
        let late = cst(9, 9, 0);
        let overdue = step(&dispatched, SYSTEM_USER, StepAction::MarkOverdue, late).expect("overdue");
        assert_eq!(step(&overdue, SYSTEM_USER, StepAction::MarkOverdue, late).unwrap_err().reason, Stage, "once");
        assert_eq!(step(&overdue, OFFICER, StepAction::Supervise, late).unwrap_err().reason, WrongRole);
        assert!(step(&overdue, ADMIN, StepAction::Supervise, late).is_ok());
        // Out of the register: dispatched again, the clock starting anew.
        let again = step(&suspended, ADMIN, to_officer(), late).expect("dispatch from the register");
        assert_eq!(again.record.status, S::Dispatched);
        assert!(case_of(&again.record).due_at.is_some_and(|d| d > late));
    }
}
