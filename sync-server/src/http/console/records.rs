//! The records and cases: the table (filters that combine, free text, sort, keyset
//! paging, bulk actions), one record (every field, personal data masked until revealed,
//! photos, the timeline, the case actions, replies, notes), photos. Bulk actions are in
//! `bulk.rs`, moderation in `moderation.rs`, the timeline in `timeline.rs`, the audit
//! trail's page in `audit.rs`.

use super::error::ConsoleError;
use super::form::{Form, FormData, QueryData};
use super::session::Console;
use super::timeline::{TimelineEntry, change_entries, merge_by_time, moderation_entries, short_hash};
use super::view::{
    Choice, FilterChoices, Nav, Row, TableQuery, assignee_name, category_name, local_time, number_of, place_name, short,
    user_name, valid_assignee,
};
use crate::service::console::{MAX_BULK, PersonalField, mask};
use crate::service::moderation::{MAX_REASON, RecordModeration, photos_may_be_public, public_photo_path};
use crate::service::photos::{MAX_REGIONS, Variant};
use crate::state::AppState;
use askama::Template;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use gridwork_core::cases::{Case, CaseSource, StepAction};
use gridwork_core::model::{PhotoRef, PhotoStage, Record, RecordBody, RecordKind, Status};
use gridwork_core::protocol::{RejectReason, Rejection};
use gridwork_core::reference::{OrgLevel, RefIndex, ReferenceData};
use uuid::Uuid;

// ---------------------------------------------------------------------------------------
// The table.

#[derive(Template)]
#[template(path = "console/records.html")]
struct TablePage {
    nav: Nav,
    filter_action: &'static str,
    q: TableQuery,
    query: String,
    choices: FilterChoices,
    rows: Vec<Row>,
    total: u64,
    next: Option<String>,
    first_page: bool,
    sort_links: Vec<(String, &'static str, bool)>,
    officers: Vec<Choice>,
    units: Vec<Choice>,
    max_bulk: usize,
}

fn dispatch_targets(data: &ReferenceData, refs: &RefIndex) -> (Vec<Choice>, Vec<Choice>) {
    let units = data
        .orgs
        .iter()
        .filter(|o| o.level == OrgLevel::District)
        .map(|o| Choice { value: format!("unit:{}", o.code), label: format!("{}执法中队", o.name), selected: false })
        .collect();
    let officers = data
        .users
        .iter()
        .filter(|u| u.role == gridwork_core::model::Role::Officer)
        .map(|u| Choice {
            value: format!("officer:{}", u.id),
            label: format!("{}（{}）", u.display_name, super::view::org_name(refs, &u.scope)),
            selected: false,
        })
        .collect();
    (units, officers)
}

pub async fn table(
    State(state): State<AppState>,
    console: Console,
    QueryData(form): QueryData,
) -> Result<Response, ConsoleError> {
    let refs = state.reference().current().await?;
    let q = TableQuery::parse(&form, &refs.index)?;
    let caller = &console.0.session.caller;
    let filter = q.filter();
    let (page, total) = tokio::try_join!(
        state.console().search(caller, &filter, q.sort, q.after.as_ref(), q.limit),
        state.console().count(caller, &filter)
    )?;
    let rows = page.records.iter().map(|r| Row::of(r, &refs.index)).collect();
    let sort_links = super::view::SORTS.iter().map(|(_, label, key)| (q.with_sort(*key), *label, *key == q.sort)).collect();
    let (units, officers) = dispatch_targets(&refs.data, &refs.index);
    let page = TablePage {
        nav: Nav::new(&console.0, &refs.index, "records"),
        filter_action: "/admin/records",
        query: q.query(),
        choices: FilterChoices::new(&q, &refs.data, &refs.index),
        rows,
        total,
        next: page.next.as_ref().map(|n| q.next_query(n)),
        first_page: q.after.is_none(),
        sort_links,
        officers,
        units,
        max_bulk: MAX_BULK,
        q,
    };
    Ok(Html(page.render()?).into_response())
}

// ---------------------------------------------------------------------------------------
// One record.

/// A field and its value.
struct Field {
    label: &'static str,
    code: &'static str,
    value: String,
}

fn field(label: &'static str, code: &'static str, value: impl Into<String>) -> Field {
    Field { label, code, value: value.into() }
}

/// Personal data: masked, or revealed for this one answer.
struct Personal {
    label: &'static str,
    code: &'static str,
    shown: String,
    revealed: bool,
}

struct Photo {
    sha256: String,
    label: String,
    ready: bool,
    /// The record that lists it (a case page shows its source's photos too).
    owner: String,
    /// Its owner is public (a 随手拍 report): the photo may be moderated.
    public: bool,
    /// The public version is a redacted copy: how many rectangles.
    redacted_regions: Option<usize>,
    /// The public link (`/public/photos/…`).
    public_path: String,
    /// The first characters of the hash, for labels.
    short: String,
}

/// A record hidden from the public, as the page shows it.
struct HiddenView {
    reason: String,
    by: String,
    at: String,
}

struct AuditRow {
    seq: u64,
    at: String,
    actor: String,
    action: String,
    detail: String,
}

/// A reply template for the case's category and stage.
struct ReplyTemplate {
    label: String,
    text: String,
}

/// The case actions available now (to an admin).
#[derive(Default)]
struct CaseActions {
    dispatch: bool,
    send_back: bool,
    handle: bool,
    verify: bool,
    pause: bool,
    resume: bool,
    suspend: bool,
    supervise: bool,
    decide_extension: bool,
    void: bool,
}

struct Complaint {
    index: usize,
    text: String,
    reply: String,
}

#[derive(Template)]
#[template(path = "console/record.html")]
pub(super) struct RecordPage {
    nav: Nav,
    id: String,
    kind: &'static str,
    kind_label: &'static str,
    number: String,
    status: &'static str,
    status_label: &'static str,
    overdue: bool,
    supervised: bool,
    fields: Vec<Field>,
    personal: Vec<Personal>,
    before: Vec<Photo>,
    after: Vec<Photo>,
    timeline: Vec<TimelineEntry>,
    audit: Vec<AuditRow>,
    hidden: Option<HiddenView>,
    /// The photos that may be public (a report's), ready, for the moderation forms.
    moderated: Vec<Photo>,
    /// What the public sees of this kind of record, for the moderation section.
    public_note: &'static str,
    max_regions: usize,
    max_reason: usize,
    source_link: Option<(String, String)>,
    actions: CaseActions,
    is_case: bool,
    can_open: bool,
    can_void_report: bool,
    open_category: String,
    open_description: String,
    complaints: Vec<Complaint>,
    units: Vec<Choice>,
    officers: Vec<Choice>,
    templates: Vec<ReplyTemplate>,
    current_reply: String,
    extension: String,
    flash: Option<String>,
    error: Option<String>,
}

fn photo_label(p: &PhotoRef) -> String {
    let mut s = format!("{}×{}", p.width, p.height);
    if let Some(t) = p.taken_at {
        s = format!("{s} · {}", local_time(t));
    }
    s
}

fn reply_templates(case: &Case, stage: Status, refs: &RefIndex) -> Vec<ReplyTemplate> {
    let cat = category_name(refs, &case.category);
    let group =
        refs.category(&case.category).and_then(|c| c.parent.as_deref()).map(|p| category_name(refs, p)).unwrap_or_default();
    let assignee = case.assignee.as_ref().map(|a| assignee_name(refs, a)).unwrap_or_else(|| "承办单位".into());
    let mut all = vec![
        (Status::Registered, "已受理", format!("您反映的“{cat}”问题已受理立案，我们将尽快安排处置。")),
        (Status::Dispatched, "已派遣", format!("您反映的“{cat}”问题已派遣至{assignee}办理，将在规定时限内处置完毕。")),
        (Status::Handled, "已处置待核查", format!("您反映的“{cat}”问题已处置完毕，网格员将到现场核查。")),
        (Status::Closed, "已办结", format!("您反映的“{cat}”问题已处理完毕，经现场核查已整改到位，感谢您的监督！")),
        (Status::Suspended, "挂账说明", format!("您反映的“{cat}”问题涉及历史遗留等情况，暂时无法解决，已登记挂账并持续跟进。")),
        (
            Status::Voided,
            "不予立案说明",
            "经核实，您反映的问题已由其他渠道受理或不属于城市管理职责范围，感谢您的支持。".to_owned(),
        ),
    ];
    if !group.is_empty() {
        all.push((stage, "分类提示", format!("{group}问题我们将长效管理，欢迎继续通过随手拍反映。")));
    }
    // The templates of this stage first.
    all.sort_by_key(|(s, _, _)| *s != stage);
    all.into_iter().map(|(s, label, text)| ReplyTemplate { label: format!("{}（{}）", label, s.label_zh()), text }).collect()
}

fn case_actions(case: &Case, stage: Status) -> CaseActions {
    let running = stage == Status::Dispatched;
    CaseActions {
        dispatch: matches!(stage, Status::Registered | Status::Suspended),
        send_back: running,
        handle: running && case.paused_since.is_none(),
        verify: stage == Status::Handled,
        pause: running && case.paused_since.is_none(),
        resume: case.paused_since.is_some(),
        suspend: matches!(stage, Status::Registered | Status::Dispatched | Status::Handled),
        supervise: case.overdue && !case.supervised && !matches!(stage, Status::Closed | Status::Voided),
        decide_extension: case.extension_request.is_some(),
        void: matches!(stage, Status::Registered | Status::Suspended),
    }
}

async fn photos_of(
    state: &AppState,
    console: &Console,
    owner: &Record,
    moderation: &RecordModeration,
) -> Vec<(Photo, Option<PhotoStage>)> {
    let mut out = Vec::new();
    let public = photos_may_be_public(owner);
    for p in owner.body.photos() {
        // Checked here so the page never asks for a photo it would be refused.
        let ready = state.photos().visible_photo(&console.0.session.caller, &p.sha256).await.is_ok();
        let photo = Photo {
            sha256: p.sha256.clone(),
            label: photo_label(p),
            ready,
            owner: owner.id.to_string(),
            public,
            redacted_regions: moderation.redaction(&p.sha256).map(|r| r.regions.len()),
            public_path: public_photo_path(owner.id, &p.sha256),
            short: short_hash(&p.sha256),
        };
        out.push((photo, p.stage));
    }
    out
}

pub(super) async fn render_record(
    state: &AppState,
    console: &Console,
    rec: Record,
    revealed: Option<(PersonalField, String)>,
    flash: Option<String>,
    error: Option<String>,
) -> Result<RecordPage, ConsoleError> {
    let refs = state.reference().current().await?;
    let refs_index = &refs.index;
    let caller = &console.0.session.caller;
    let moderation = state.moderation().of_record(rec.id).await?;
    let mut fields = vec![
        field("类型", "kind", rec.kind().label_zh()),
        field("编号", "number", number_of(&rec)),
        field("状态", "status", format!("{}（{}）", rec.status.label_zh(), rec.status.as_str())),
        field("网格", "grid", format!("{}（{}）", place_name(refs_index, &rec.org.grid), rec.org.grid)),
        field("地址", "address", rec.location.address.clone().unwrap_or_default()),
        field(
            "位置",
            "location",
            format!("{:.5}, {:.5}（±{:.0} 米，WGS-84）", rec.location.lat, rec.location.lon, rec.location.accuracy_m),
        ),
        field("上报人", "author", user_name(refs_index, &rec.author)),
        field("设备", "device", short(&rec.device, 13)),
        field("创建时间", "created_at", local_time(rec.created_at)),
        field("最后修改", "updated_at", format!("{} · {}", local_time(rec.updated_at), user_name(refs_index, &rec.updated_by))),
    ];
    let mut personal = Vec::new();
    let (mut before, mut after) = (Vec::new(), Vec::new());
    let mut timeline = Vec::new();
    let mut source_link = None;
    let mut actions = CaseActions::default();
    let mut templates = Vec::new();
    let mut current_reply = String::new();
    let mut extension = String::new();
    let mut complaints = Vec::new();
    let (mut open_category, mut open_description) = (String::new(), String::new());
    match &rec.body {
        RecordBody::Report(r) => {
            fields.push(field("分类", "category", format!("{} {}", r.category, category_name(refs_index, &r.category))));
            fields.push(field("问题描述", "description", r.description.clone()));
            for (p, _) in photos_of(state, console, &rec, &moderation).await {
                before.push(p);
            }
            open_category = r.category.clone();
            open_description = r.description.clone();
        }
        RecordBody::Notice(n) => {
            fields.push(field("分类", "category", format!("{} {}", n.category, category_name(refs_index, &n.category))));
            fields.push(field("商户名称", "shop_name", n.party.shop_name.clone().unwrap_or_default()));
            fields.push(field("违法（不文明）事实", "facts", n.facts.clone()));
            fields.push(field("依据", "legal_basis", n.legal_basis.clone()));
            fields.push(field("整改期限", "deadline", n.deadline.to_string()));
            for f in PersonalField::ALL {
                if let Some(v) = f.value_in(&rec) {
                    let shown = match &revealed {
                        Some((rf, value)) if *rf == f => value.clone(),
                        _ => mask(f, v),
                    };
                    let is_revealed = revealed.as_ref().is_some_and(|(rf, _)| *rf == f);
                    personal.push(Personal { label: f.label_zh(), code: f.code(), shown, revealed: is_revealed });
                }
            }
            for (p, stage) in photos_of(state, console, &rec, &moderation).await {
                if stage == Some(PhotoStage::After) { after.push(p) } else { before.push(p) }
            }
            open_category = if n.category.len() == 5 { n.category.clone() } else { String::new() };
            open_description = n.facts.clone();
        }
        RecordBody::ServiceLog(l) => {
            fields.push(field("日期", "date", l.date.to_string()));
            fields.push(field("活动类型", "activity", format!("{}（{}）", l.activity.label_zh(), l.activity.as_str())));
            fields.push(field("参与人数", "participants", l.participants.to_string()));
            fields.push(field("活动内容", "summary", l.summary.clone()));
            complaints = l
                .complaints
                .iter()
                .enumerate()
                .map(|(i, c)| Complaint { index: i, text: c.clone(), reply: l.replies.get(i).cloned().unwrap_or_default() })
                .collect();
            for (p, _) in photos_of(state, console, &rec, &moderation).await {
                before.push(p);
            }
        }
        RecordBody::Case(c) => {
            fields.push(field("分类", "category", format!("{} {}", c.category, category_name(refs_index, &c.category))));
            fields.push(field("案件描述", "description", c.description.clone()));
            let source = match &c.source {
                CaseSource::Report { .. } => "随手拍",
                CaseSource::Notice { .. } => "不文明行为告知单",
                CaseSource::ServiceLog { .. } => "服务日志（意见建议）",
                CaseSource::Hotline => "12345 热线",
            };
            fields.push(field("案件来源", "source", source));
            fields.push(field(
                "承办单位",
                "assignee",
                c.assignee.as_ref().map(|a| assignee_name(refs_index, a)).unwrap_or_else(|| "（未派遣）".into()),
            ));
            if let Some(d) = c.dispatched_at {
                fields.push(field("派遣时间", "dispatched_at", local_time(d)));
            }
            if let Some(d) = c.due_at {
                let remaining = c.remaining_minutes(rec.status, state.clock().now(), refs_index);
                let left = match remaining {
                    Some(m) if m < 0 => format!("（已超期 {} 工作分钟）", -m),
                    Some(m) => format!("（剩余 {} 工作小时 {} 分钟）", m / 60, m % 60),
                    None => String::new(),
                };
                fields.push(field("处置期限", "due_at", format!("{}{left}", local_time(d))));
            }
            if let Some(d) = c.paused_since {
                fields.push(field("缓办开始", "paused_since", local_time(d)));
            }
            if let Some(d) = c.handled_at {
                fields.push(field("处置完成", "handled_at", local_time(d)));
            }
            if let Some(d) = c.closed_at {
                fields.push(field("结案时间", "closed_at", local_time(d)));
            }
            fields.push(field("返工次数", "reworks", c.reworks.to_string()));
            fields.push(field("延期次数", "extensions", c.extensions.to_string()));
            if let Some(x) = &c.extension_request {
                extension =
                    format!("{} 于 {} 申请延期 {} 工作分钟", user_name(refs_index, &x.by), local_time(x.at), x.working_minutes);
                fields.push(field("延期申请", "extension_request", extension.clone()));
            }
            fields.push(field("答复上报人", "reply", c.reply.clone().unwrap_or_else(|| "（尚未答复）".into())));
            current_reply = c.reply.clone().unwrap_or_default();
            if let Some(src) = c.source.record() {
                source_link = Some((src.to_string(), source.to_owned()));
                // The source's photos are the "before" side.
                if let Ok(src_rec) = state.console().record(caller, src).await {
                    let src_moderation = state.moderation().of_record(src_rec.id).await?;
                    for (p, stage) in photos_of(state, console, &src_rec, &src_moderation).await {
                        if stage == Some(PhotoStage::After) { after.push(p) } else { before.push(p) }
                    }
                }
            }
            for (p, stage) in photos_of(state, console, &rec, &moderation).await {
                if stage == Some(PhotoStage::Before) { before.push(p) } else { after.push(p) }
            }
            timeline = c
                .timeline
                .iter()
                .map(|e| TimelineEntry {
                    sort_at: e.at,
                    at: local_time(e.at),
                    action: e.action.label_zh(),
                    action_code: e.action.as_str(),
                    by: user_name(refs_index, &e.by),
                    device: if e.device.is_empty() { "服务器".into() } else { short(&e.device, 8) },
                    from: e.from.label_zh(),
                    to: e.to.label_zh(),
                    note: e.note.clone().unwrap_or_default(),
                    extra: [
                        e.assignee.as_ref().map(|a| format!("派遣至 {}", assignee_name(refs_index, a))),
                        e.due_at.map(|d| format!("期限 {}", local_time(d))),
                        (!e.photos.is_empty()).then(|| format!("照片 {} 张", e.photos.len())),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join("；"),
                })
                .collect();
            actions = case_actions(c, rec.status);
            templates = reply_templates(c, rec.status, refs_index);
        }
    }
    let audit = if caller.role == gridwork_core::model::Role::Admin {
        state
            .audit()
            .page(caller, 0, 200, Some(&rec.id.to_string()))
            .await?
            .into_iter()
            .map(|e| AuditRow {
                seq: e.seq,
                at: gridwork_core::time::parse_ts(&e.at).map(local_time).unwrap_or(e.at),
                actor: user_name(refs_index, &e.actor),
                action: e.action,
                detail: e.detail,
            })
            .collect()
    } else {
        Vec::new()
    };
    // The edits (every kind but a case, whose steps are its timeline), then moderation, in
    // time order.
    if rec.kind() != RecordKind::Case {
        let changes = state.console().changes(caller, rec.id).await?;
        timeline = merge_by_time(timeline, change_entries(&changes, &rec, refs_index));
    }
    timeline = merge_by_time(timeline, moderation_entries(&moderation, refs_index));
    let hidden = moderation.hidden.as_ref().map(|h| HiddenView {
        reason: h.reason.clone(),
        by: user_name(refs_index, &h.by),
        at: local_time(h.at),
    });
    let moderated: Vec<Photo> = before
        .iter()
        .chain(after.iter())
        .filter(|p| p.public && p.ready)
        .map(|p| Photo {
            sha256: p.sha256.clone(),
            label: p.label.clone(),
            ready: p.ready,
            owner: p.owner.clone(),
            public: p.public,
            redacted_regions: p.redacted_regions,
            public_path: p.public_path.clone(),
            short: p.short.clone(),
        })
        .collect();
    let public_note = match &rec.body {
        RecordBody::Report(_) => "随手拍上报在 Open311 公开查询中可见，其照片经公开链接提供（已遮挡的照片提供遮挡后的版本）。",
        RecordBody::Notice(_) => "告知单的办理状态可经二维码公开查看（不含当事人信息和照片）。",
        RecordBody::Case(c) if c.source == CaseSource::Hotline => "12345 热线案件在 Open311 公开查询中可见（不含照片）。",
        RecordBody::Case(c) if matches!(c.source, CaseSource::Report { .. }) => {
            "此案件随来源上报在 Open311 中公开；如需不公开，请隐藏来源上报。来源上报的照片可在下方遮挡。"
        }
        _ => "此类记录不对外公开。",
    };
    let (units, officers) = dispatch_targets(&refs.data, refs_index);
    let can_open = match &rec.body {
        RecordBody::Report(_) => rec.status == Status::Submitted,
        RecordBody::Notice(_) => matches!(rec.status, Status::Issued | Status::Overdue),
        RecordBody::ServiceLog(_) => true,
        RecordBody::Case(_) => false,
    };
    let (overdue, supervised) = match &rec.body {
        RecordBody::Case(c) => (c.overdue, c.supervised),
        _ => (rec.status == Status::Overdue, false),
    };
    Ok(RecordPage {
        nav: Nav::new(&console.0, refs_index, "records"),
        id: rec.id.to_string(),
        kind: rec.kind().as_str(),
        kind_label: rec.kind().label_zh(),
        number: number_of(&rec),
        status: rec.status.as_str(),
        status_label: rec.status.label_zh(),
        overdue,
        supervised,
        fields,
        personal,
        before,
        after,
        timeline,
        audit,
        hidden,
        moderated,
        public_note,
        max_regions: MAX_REGIONS,
        max_reason: MAX_REASON,
        source_link,
        actions,
        is_case: rec.kind() == RecordKind::Case,
        can_open,
        can_void_report: rec.kind() == RecordKind::Report && rec.status == Status::Submitted,
        open_category,
        open_description,
        complaints,
        units,
        officers,
        templates,
        current_reply,
        extension,
        flash,
        error,
    })
}

pub(super) fn record_id(id: &str) -> Result<Uuid, ConsoleError> {
    // A malformed id looks like an unknown one.
    Uuid::parse_str(id).map_err(|_| ConsoleError::NotFound)
}

const FLASHES: &[(&str, &str)] = &[
    ("open_case", "已立案"),
    ("dispatch", "已派遣"),
    ("send_back", "已回退"),
    ("handle", "已标记处置完成"),
    ("verify", "已核查"),
    ("decide_extension", "已审批延期"),
    ("pause", "已缓办"),
    ("resume", "已恢复办理"),
    ("suspend", "已挂账"),
    ("supervise", "已督办"),
    ("reply", "已答复上报人"),
    ("note", "已添加备注"),
    ("void", "已作废"),
    ("status", "状态已更新"),
    ("hide", "已隐藏，此记录不再公开"),
    ("unhide", "已取消隐藏，此记录重新公开"),
    ("redact", "已遮挡，公开版本已更新"),
    ("publish", "已审核通过，照片已公开"),
    ("unredact", "已撤回公开版本，照片不再公开"),
];

pub async fn record(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    QueryData(q): QueryData,
) -> Result<Response, ConsoleError> {
    let rec = state.console().record(&console.0.session.caller, record_id(&id)?).await?;
    let flash = q.get("done").and_then(|d| FLASHES.iter().find(|(c, _)| *c == d)).map(|(_, l)| (*l).to_owned());
    let page = render_record(&state, &console, rec, None, flash, None).await?;
    Ok(Html(page.render()?).into_response())
}

/// A page showing the rejection of an action (the record as it is now, the message above).
async fn rejected_page(state: &AppState, console: &Console, id: Uuid, rejection: Rejection) -> Result<Response, ConsoleError> {
    let rec = state.console().record(&console.0.session.caller, id).await?;
    let status = match rejection.reason {
        RejectReason::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        RejectReason::WrongRole | RejectReason::NotAssignee | RejectReason::OutOfScope => StatusCode::FORBIDDEN,
        _ => StatusCode::CONFLICT,
    };
    let message = format!("{}：{}（{}）", rejection.reason.label_zh(), rejection.message, rejection.reason.as_str());
    let page = render_record(state, console, rec, None, None, Some(message)).await?;
    Ok((status, Html(page.render()?)).into_response())
}

pub(super) fn done(id: Uuid, what: &str) -> Response {
    Redirect::to(&format!("/admin/records/{id}?done={what}")).into_response()
}

pub async fn reveal(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    Form(form): Form,
) -> Result<Response, ConsoleError> {
    console.acting(&form)?;
    let id = record_id(&id)?;
    let field =
        form.get("field").and_then(PersonalField::parse).ok_or_else(|| ConsoleError::bad("field", "不是可查看的个人信息字段"))?;
    let value = state.console().reveal(&console.0.session.caller, id, field).await?.ok_or(ConsoleError::NotFound)?;
    let rec = state.console().record(&console.0.session.caller, id).await?;
    // The value is in this answer only: never in a URL, never cached.
    let page = render_record(
        &state,
        &console,
        rec,
        Some((field, value)),
        Some(format!("已显示{}，本次查看已记入审计日志", field.label_zh())),
        None,
    )
    .await?;
    Ok(Html(page.render()?).into_response())
}

pub async fn open_case(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    Form(form): Form,
) -> Result<Response, ConsoleError> {
    console.acting(&form)?;
    let id = record_id(&id)?;
    let refs = state.reference().current().await?;
    let category = form.required("category", "案件分类")?.trim().to_owned();
    let description =
        form.text("description", "案件描述", 500)?.ok_or_else(|| ConsoleError::bad("description", "请填写案件描述"))?;
    let complaint = match form.get("complaint") {
        Some(c) => Some(c.parse::<u32>().map_err(|_| ConsoleError::bad("complaint", "意见序号应为数字"))?),
        None => None,
    };
    let dispatch = match form.get("to") {
        Some(to) => Some(valid_assignee(&refs.index, to).ok_or_else(|| ConsoleError::bad("to", "不是有效的派遣对象"))?),
        None => None,
    };
    match state.console().open_case(&console.0.session.caller, id, &category, &description, complaint, dispatch).await? {
        Ok(case_id) => Ok(done(case_id, "open_case")),
        Err(rejection) => rejected_page(&state, &console, id, rejection).await,
    }
}

/// The step a form asks for.
fn step_of(form: &FormData, refs: &RefIndex) -> Result<(StepAction, Option<String>), ConsoleError> {
    let note = form.text("note", "备注", 500)?;
    let action = match form.required("action", "操作")? {
        "dispatch" => {
            let to = form.required("to", "派遣对象")?;
            StepAction::Dispatch {
                to: valid_assignee(refs, to).ok_or_else(|| ConsoleError::bad("to", "不是有效的派遣对象"))?
            }
        }
        "send_back" => StepAction::SendBack,
        "handle" => StepAction::Handle,
        "verify" => match form.get("passed") {
            Some("true") => StepAction::Verify { passed: true },
            Some("false") => StepAction::Verify { passed: false },
            _ => return Err(ConsoleError::bad("passed", "请选择核查结果")),
        },
        "decide_extension" => match form.get("approved") {
            Some("true") => StepAction::DecideExtension { approved: true },
            Some("false") => StepAction::DecideExtension { approved: false },
            _ => return Err(ConsoleError::bad("approved", "请选择是否同意延期")),
        },
        "pause" => StepAction::Pause,
        "resume" => StepAction::Resume,
        "suspend" => StepAction::Suspend,
        "supervise" => StepAction::Supervise,
        "reply" => StepAction::Reply {
            text: form.text("text", "答复内容", 500)?.ok_or_else(|| ConsoleError::bad("text", "请填写答复内容"))?,
        },
        "note" => {
            if note.is_none() {
                return Err(ConsoleError::bad("note", "请填写备注"));
            }
            StepAction::Note
        }
        "void" => {
            if note.is_none() {
                return Err(ConsoleError::bad("note", "作废须填写原因"));
            }
            StepAction::Void
        }
        _ => return Err(ConsoleError::bad("action", "不是有效的案件操作")),
    };
    Ok((action, note))
}

pub async fn step(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    Form(form): Form,
) -> Result<Response, ConsoleError> {
    console.acting(&form)?;
    let id = record_id(&id)?;
    let refs = state.reference().current().await?;
    let from = form
        .get("from")
        .and_then(Status::parse)
        .filter(|s| s.belongs_to(RecordKind::Case))
        .ok_or_else(|| ConsoleError::bad("from", "不是有效的案件阶段"))?;
    let (action, note) = step_of(&form, &refs.index)?;
    let code = action.code();
    match state.console().step(&console.0.session.caller, id, from, action, note).await? {
        Ok(()) => Ok(done(id, code)),
        Err(rejection) => rejected_page(&state, &console, id, rejection).await,
    }
}

/// A report's or notice's status (作废 a report, with the reason for the trail).
pub async fn set_status(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    Form(form): Form,
) -> Result<Response, ConsoleError> {
    console.acting(&form)?;
    let id = record_id(&id)?;
    let status = form.get("status").and_then(Status::parse).ok_or_else(|| ConsoleError::bad("status", "不是有效的状态"))?;
    let reason = form.text("reason", "原因", 200)?.ok_or_else(|| ConsoleError::bad("reason", "请填写原因"))?;
    match state.console().set_status(&console.0.session.caller, id, status, &reason).await? {
        Ok(()) => Ok(done(id, "status")),
        Err(rejection) => rejected_page(&state, &console, id, rejection).await,
    }
}

// ---------------------------------------------------------------------------------------
// Photos.

async fn serve_photo(state: &AppState, console: &Console, sha256: &str, variant: Variant) -> Result<Response, ConsoleError> {
    let row = state.photos().visible_photo(&console.0.session.caller, sha256).await?;
    let (blob, mime) = state.photos().open(&row, variant).await?;
    let mut resp = Body::from_stream(blob.stream).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(blob.len));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    Ok(resp)
}

pub async fn photo(
    State(state): State<AppState>,
    console: Console,
    Path(sha256): Path<String>,
) -> Result<Response, ConsoleError> {
    serve_photo(&state, &console, &sha256, Variant::Original).await
}

pub async fn thumb(
    State(state): State<AppState>,
    console: Console,
    Path(sha256): Path<String>,
) -> Result<Response, ConsoleError> {
    serve_photo(&state, &console, &sha256, Variant::Thumb).await
}
