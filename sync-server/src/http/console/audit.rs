//! 审计日志, the audit trail (admins only): newest first or oldest first, keyset-paged by
//! seq, filtered by action and by target; each entry's time, actor, action, target and
//! detail (ids and codes: entries never hold personal data); and 校验链, which walks the
//! whole hash chain and names the first broken link.

use super::error::ConsoleError;
use super::form::{FormData, QueryData, encode};
use super::session::Console;
use super::view::{Choice, Nav, user_name};
use crate::service::audit::ChainReport;
use crate::state::AppState;
use crate::storage::{AuditCursor, AuditEntry, AuditQuery};
use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use gridwork_core::reference::RefIndex;
use gridwork_core::worktime::china;

/// Entries per page.
pub const PAGE: u32 = 100;

/// The actions the server writes, with their Chinese labels.
pub const ACTIONS: &[(&str, &str)] = &[
    ("sign_in", "登录"),
    ("sign_in_failed", "登录失败"),
    ("revoke", "注销设备会话"),
    ("enrol_code", "生成扫码登录码"),
    ("user_add", "新增账号"),
    ("user_enable", "启用账号"),
    ("user_disable", "停用账号"),
    ("user_role_scope", "变更角色或管辖范围"),
    ("case_open", "立案"),
    ("case_step", "案件流转"),
    ("status_change", "更改状态"),
    ("reveal", "查看个人信息"),
    ("export_personal", "导出含个人信息的数据"),
    ("export_evidence", "下载证据包"),
    ("numbers_issued", "发放告知单编号"),
    ("numbers_returned", "退回告知单编号"),
    ("numbers_lost", "告知单编号随设备遗失"),
    ("public_hide", "对公众隐藏"),
    ("public_unhide", "取消对公众隐藏"),
    ("photo_redact", "照片打码后公开"),
    ("photo_publish", "照片公开"),
    ("photo_unredact", "撤回公开照片"),
    ("open311_client_add", "新增 Open311 应用"),
    ("open311_client_revoke", "停用 Open311 应用"),
];

/// The Chinese label of an action code (an unknown code is shown as itself).
pub fn action_label(code: &str) -> &str {
    ACTIONS.iter().find(|(c, _)| *c == code).map(|(_, l)| *l).unwrap_or("其他事件")
}

/// The page's filters and place, as the URL says them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditView {
    pub action: String,
    pub target: String,
    pub oldest_first: bool,
    /// Newest first: entries below this seq; oldest first: above it.
    pub from: Option<u64>,
    pub verify: bool,
}

fn code_like(v: &str, max: usize, extra: u8) -> bool {
    !v.is_empty() && v.len() <= max && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == extra)
}

impl AuditView {
    pub fn parse(q: &FormData) -> Result<AuditView, ConsoleError> {
        let mut v = AuditView::default();
        if let Some(a) = q.get("action") {
            let a = a.trim();
            if !(code_like(a, 40, b'_') && a.bytes().all(|b| !b.is_ascii_uppercase())) {
                return Err(ConsoleError::bad("action", "不是有效的事件代码"));
            }
            v.action = a.to_owned();
        }
        if let Some(t) = q.get("target") {
            let t = t.trim();
            if !code_like(t, 64, b'-') {
                return Err(ConsoleError::bad("target", "不是有效的记录或账号编号"));
            }
            v.target = t.to_owned();
        }
        v.oldest_first = match q.get("order") {
            None | Some("newest") => false,
            Some("oldest") => true,
            Some(_) => return Err(ConsoleError::bad("order", "应为 newest 或 oldest")),
        };
        let seq = |name: &str| -> Result<Option<u64>, ConsoleError> {
            q.get(name).map(|s| s.trim().parse::<u64>().map_err(|_| ConsoleError::bad(name, "应为数字"))).transpose()
        };
        let (before, after) = (seq("before")?, seq("after")?);
        match (before, after) {
            (Some(_), Some(_)) => return Err(ConsoleError::bad("after", "翻页位置只能有一个")),
            (Some(_), None) if v.oldest_first => return Err(ConsoleError::bad("before", "从早到晚时应使用 after")),
            (Some(b), None) => v.from = Some(b),
            // `after` is a page of the oldest-first order.
            (None, Some(a)) => (v.oldest_first, v.from) = (true, Some(a)),
            (None, None) => {}
        }
        v.verify = matches!(q.get("verify"), Some("1" | "on" | "true"));
        Ok(v)
    }

    /// The store's query for this view (one more than a page, to know whether another follows).
    pub fn query(&self) -> AuditQuery {
        AuditQuery {
            cursor: if self.oldest_first { AuditCursor::After(self.from.unwrap_or(0)) } else { AuditCursor::Before(self.from) },
            limit: PAGE + 1,
            action: Some(self.action.clone()).filter(|a| !a.is_empty()),
            target: Some(self.target.clone()).filter(|t| !t.is_empty()),
        }
    }

    /// The filters and order as query pairs (not the page).
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut p = vec![("action", self.action.clone()), ("target", self.target.clone())];
        if self.oldest_first {
            p.push(("order", "oldest".into()));
        }
        p
    }

    /// The link of this view's first page.
    pub fn first_link(&self) -> String {
        encode(&self.pairs())
    }

    /// The link of the page after the one ending at `last`.
    pub fn next_link(&self, last: u64) -> String {
        let mut p = self.pairs();
        p.push(if self.oldest_first { ("after", last.to_string()) } else { ("before", last.to_string()) });
        encode(&p)
    }

    /// The link of this view in the other order.
    pub fn flipped_link(&self) -> String {
        AuditView { oldest_first: !self.oldest_first, from: None, verify: false, ..self.clone() }.first_link()
    }

    pub fn is_filtered(&self) -> bool {
        !self.action.is_empty() || !self.target.is_empty()
    }
}

/// One entry as the page shows it.
pub struct AuditRow {
    pub seq: u64,
    pub at: String,
    pub actor: String,
    pub actor_code: String,
    pub action: String,
    pub action_label: String,
    pub target: String,
    /// The account's name when the target is an account.
    pub target_name: Option<String>,
    /// The record's page when the target is a record.
    pub target_link: Option<String>,
    /// This page's query for entries about the target only.
    pub target_filter: String,
    pub detail: String,
    pub broken: bool,
}

/// `2026-11-26 09:30:05` in China time (the stored text if it is not a time).
fn entry_time(at: &str) -> String {
    gridwork_core::time::parse_ts(at)
        .map(|t| t.with_timezone(&china()).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| at.to_owned())
}

/// The detail's fields as `key=value` (strings unquoted), by key; any other JSON as stored.
pub fn detail_text(detail: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(detail) {
        Ok(serde_json::Value::Object(map)) if map.is_empty() => String::new(),
        Ok(serde_json::Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(" · "),
        _ => detail.to_owned(),
    }
}

fn row_of(e: AuditEntry, refs: &RefIndex, broken: Option<u64>) -> AuditRow {
    let (actor, actor_code) = match e.actor.as_str() {
        "-" => ("（未知）".to_owned(), "-".to_owned()),
        id => (user_name(refs, id), refs.user(id).map(|u| u.username.clone()).unwrap_or_else(|| id.to_owned())),
    };
    let target = e.target.unwrap_or_default();
    let target_name = refs.user(&target).map(|u| format!("{}（{}）", u.display_name, u.username));
    let target_link =
        (target_name.is_none() && uuid::Uuid::parse_str(&target).is_ok()).then(|| format!("/admin/records/{target}"));
    AuditRow {
        seq: e.seq,
        at: entry_time(&e.at),
        actor,
        actor_code,
        action_label: action_label(&e.action).to_owned(),
        action: e.action,
        target_filter: encode(&[("target", target.clone())]),
        target,
        target_name,
        target_link,
        detail: detail_text(&e.detail),
        broken: broken == Some(e.seq),
    }
}

/// What 校验链 found.
pub struct Verdict {
    pub checked: u64,
    pub first_broken: Option<u64>,
    /// The newest-first page that holds the broken entry.
    pub broken_link: Option<String>,
}

impl Verdict {
    fn of(r: ChainReport) -> Verdict {
        Verdict {
            checked: r.checked,
            first_broken: r.first_broken,
            broken_link: r.first_broken.map(|s| encode(&[("before", (s + 1).to_string()), ("verify", "1".into())])),
        }
    }
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    nav: Nav,
    view: AuditView,
    actions: Vec<Choice>,
    rows: Vec<AuditRow>,
    next: Option<String>,
    first: Option<String>,
    flipped: String,
    verdict: Option<Verdict>,
    /// The filters and place of this page, for the verify form.
    here: Vec<(&'static str, String)>,
}

pub async fn page(State(state): State<AppState>, console: Console, QueryData(q): QueryData) -> Result<Response, ConsoleError> {
    let caller = &console.0.session.caller;
    caller.require_admin()?;
    let view = AuditView::parse(&q)?;
    let refs = state.reference().current().await?;
    let verdict = if view.verify { Some(Verdict::of(state.audit().verify().await?)) } else { None };
    let mut entries = state.audit().find(caller, view.query()).await?;
    let more = entries.len() > PAGE as usize;
    entries.truncate(PAGE as usize);
    let next = more.then(|| entries.last().map(|e| view.next_link(e.seq))).flatten();
    let broken = verdict.as_ref().and_then(|v| v.first_broken);
    let rows = entries.into_iter().map(|e| row_of(e, &refs.index, broken)).collect();
    let mut actions: Vec<Choice> = ACTIONS
        .iter()
        .map(|(c, l)| Choice { value: (*c).into(), label: format!("{l}（{c}）"), selected: view.action == *c })
        .collect();
    if !view.action.is_empty() && !ACTIONS.iter().any(|(c, _)| *c == view.action) {
        actions.push(Choice { value: view.action.clone(), label: view.action.clone(), selected: true });
    }
    let mut here = view.pairs();
    if let Some(from) = view.from {
        here.push((if view.oldest_first { "after" } else { "before" }, from.to_string()));
    }
    here.retain(|(_, v)| !v.is_empty());
    let page = AuditPage {
        nav: Nav::new(&console.0, &refs.index, "audit"),
        first: view.from.map(|_| view.first_link()),
        flipped: view.flipped_link(),
        view,
        actions,
        rows,
        next,
        verdict,
        here,
    };
    Ok(Html(page.render()?).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(q: &str) -> Result<AuditView, ConsoleError> {
        AuditView::parse(&FormData::parse(q.as_bytes()))
    }

    #[test]
    fn the_url_says_the_filters_and_the_page() {
        let v = view("action=revoke&target=u-1&before=40").expect("view");
        assert_eq!(v.query().cursor, AuditCursor::Before(Some(40)));
        assert_eq!((v.query().action.as_deref(), v.query().target.as_deref()), (Some("revoke"), Some("u-1")));
        assert_eq!(v.next_link(12), "action=revoke&target=u-1&before=12");
        assert_eq!(v.flipped_link(), "action=revoke&target=u-1&order=oldest");
        let v = view("after=7").expect("view");
        assert_eq!((v.oldest_first, v.query().cursor), (true, AuditCursor::After(7)));
        assert_eq!(v.next_link(9), "order=oldest&after=9");
        assert_eq!(view("").expect("view").query().cursor, AuditCursor::Before(None));
        assert_eq!(view("order=oldest").expect("view").query().cursor, AuditCursor::After(0));
        for bad in ["action=Sign_in", "action=a%20b", "target=x%27--", "before=-1", "before=1&after=2", "order=up"] {
            assert!(view(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn details_read_as_codes() {
        assert_eq!(detail_text(r#"{"device":"d1","revoked":2}"#), "device=d1 · revoked=2");
        assert_eq!(detail_text("{}"), "");
        assert_eq!(detail_text("not json"), "not json");
        assert_eq!(action_label("reveal"), "查看个人信息");
        assert_eq!(action_label("new_thing"), "其他事件");
    }
}
