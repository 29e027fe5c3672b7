//! A record's timeline on its page: a case's steps, every create and edit with who sent
//! it from which device (and the fields an edit lost to a later concurrent write), and the
//! moderation events, merged in time order.

use super::view::{local_time, short, user_name};
use crate::service::moderation::RecordModeration;
use crate::storage::moderation::ModerationAction;
use gridwork_core::model::Record;
use gridwork_core::reference::RefIndex;

pub(super) struct TimelineEntry {
    /// For merging moderation events into a case's timeline.
    pub(super) sort_at: chrono::DateTime<chrono::Utc>,
    pub(super) at: String,
    pub(super) action: &'static str,
    pub(super) action_code: &'static str,
    pub(super) by: String,
    pub(super) device: String,
    pub(super) from: &'static str,
    pub(super) to: &'static str,
    pub(super) note: String,
    pub(super) extra: String,
}

pub(super) fn short_hash(sha256: &str) -> String {
    format!("{}…", &sha256[..8.min(sha256.len())])
}

/// Two timelines as one: each keeps its own order (a case's steps are never reordered), an
/// entry of `b` goes before the first entry of `a` that is later.
pub(super) fn merge_by_time(a: Vec<TimelineEntry>, b: Vec<TimelineEntry>) -> Vec<TimelineEntry> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let mut b = b.into_iter().peekable();
    for e in a {
        while let Some(m) = b.next_if(|m| m.sort_at < e.sort_at) {
            out.push(m);
        }
        out.push(e);
    }
    out.extend(b);
    out
}

/// A field's name on the page.
pub(super) fn field_label(field: &str) -> &'static str {
    match field {
        "location" => "位置",
        "status" => "状态",
        "category" => "分类",
        "description" => "问题描述",
        "photos" => "照片",
        "duplicate_of" => "重复上报",
        "number" => "编号",
        "party" => "当事人",
        "facts" => "事实",
        "legal_basis" => "依据",
        "deadline" => "整改期限",
        "stall" => "小蓝棚",
        "date" => "日期",
        "activity" => "活动类型",
        "participants" => "参与人数",
        "summary" => "摘要",
        "complaints" => "意见建议",
        "replies" => "答复",
        "linked_reports" => "关联上报",
        _ => "其他",
    }
}

pub(super) fn labels(fields: &[String]) -> String {
    fields.iter().map(|f| field_label(f)).collect::<Vec<_>>().join("、")
}

/// The creates and edits of a record as timeline entries: who, when, from which device,
/// what changed, and what an edit wrote that kept another device's later value.
pub(super) fn change_entries(changes: &[(String, crate::storage::Change)], rec: &Record, refs: &RefIndex) -> Vec<TimelineEntry> {
    let device_of = |node: &str| {
        changes
            .iter()
            .find(|(_, c)| c.hlc.node == node || c.device_id.replace('-', "") == node)
            .map(|(u, c)| (user_name(refs, u), short(&c.device_id, 13)))
    };
    let mut out: Vec<TimelineEntry> = changes
        .iter()
        .map(|(user, c)| {
            let by = user_name(refs, user);
            let (action, code, mut note) = match c.action.as_str() {
                "create" => ("创建", "create", format!("{by} 新建了此{}", rec.kind().label_zh())),
                _ if c.changed.is_empty() => ("修改未生效", "update_lost", format!("{by} 的修改未生效")),
                _ => ("修改", "update", format!("{by} 修改了{}", labels(&c.changed))),
            };
            if !c.lost.is_empty() {
                let lost: Vec<String> = c.lost.iter().map(|l| l.field.clone()).collect();
                let winners: Vec<String> = c
                    .lost
                    .iter()
                    .filter_map(|l| device_of(&l.kept.node).map(|(u, d)| format!("{u}（设备 {d}）")))
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let by_whom = if winners.is_empty() { "另一台设备".to_owned() } else { winners.join("、") };
                note.push_str(&format!("；{} 保留了 {by_whom} 更晚的修改（并发修改，此次未采用）", labels(&lost)));
            }
            TimelineEntry {
                sort_at: c.at,
                at: local_time(c.at),
                action,
                action_code: code,
                by,
                device: short(&c.device_id, 13),
                from: "",
                to: "",
                note,
                extra: String::new(),
            }
        })
        .collect();
    out.sort_by_key(|e| e.sort_at);
    out
}

/// The moderation events of a record as timeline entries.
pub(super) fn moderation_entries(m: &RecordModeration, refs: &RefIndex) -> Vec<TimelineEntry> {
    m.events
        .iter()
        .map(|e| {
            let by = user_name(refs, &e.actor);
            let what = match e.action {
                ModerationAction::Hide => format!("隐藏了此记录：{}", e.reason.clone().unwrap_or_default()),
                ModerationAction::Unhide => "取消隐藏，此记录重新公开".to_owned(),
                ModerationAction::Redact if e.regions == 0 => {
                    format!("审核通过并公开了照片 {}（无需遮挡）", e.photo.as_deref().map(short_hash).unwrap_or_default())
                }
                ModerationAction::Redact => {
                    format!("遮挡了照片 {} 的 {} 处并公开", e.photo.as_deref().map(short_hash).unwrap_or_default(), e.regions)
                }
                ModerationAction::Unredact => {
                    format!("撤回了照片 {} 的公开版本", e.photo.as_deref().map(short_hash).unwrap_or_default())
                }
            };
            TimelineEntry {
                sort_at: e.at,
                at: local_time(e.at),
                action: e.action.label_zh(),
                action_code: e.action.as_str(),
                note: format!("{by} {what}"),
                by,
                device: "管理后台".into(),
                from: "",
                to: "",
                extra: "公开内容审核".into(),
            }
        })
        .collect()
}
