//! Bulk actions of the table: 立案, 派遣, 作废 with a reason, over exactly the selected rows
//! or the whole filter (confirmed first), answering how many were done and which failed.

use super::error::ConsoleError;
use super::form::{Form, FormData};
use super::session::Console;
use super::view::{Nav, TableQuery, assignee_name, number_of, valid_assignee};
use crate::domain::query::SortKey;
use crate::service::console::{ActionOutcome, BulkAction, MAX_BULK};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use gridwork_core::model::Record;
use uuid::Uuid;

struct BulkLine {
    id: String,
    number: String,
    message: String,
}

#[derive(Template)]
#[template(path = "console/bulk.html")]
struct BulkPage {
    nav: Nav,
    action_label: String,
    /// Waiting for confirmation of an action over the whole filter.
    confirm: bool,
    count: usize,
    accepted: usize,
    rejected: Vec<BulkLine>,
    created: Vec<String>,
    back: String,
    /// The form fields to post again on confirmation.
    hidden: Vec<(String, String)>,
}

pub async fn bulk(State(state): State<AppState>, console: Console, Form(form): Form) -> Result<Response, ConsoleError> {
    console.acting(&form)?;
    let refs = state.reference().current().await?;
    let caller = &console.0.session.caller;
    let (action, label) = match form.required("action", "批量操作")? {
        "open_case" => (BulkAction::OpenCase, "立案".to_owned()),
        "dispatch" => {
            let to = form.required("to", "派遣对象")?;
            let to = valid_assignee(&refs.index, to).ok_or_else(|| ConsoleError::bad("to", "不是有效的派遣对象"))?;
            let label = format!("派遣至{}", assignee_name(&refs.index, &to));
            (BulkAction::Dispatch(to), label)
        }
        "void" => {
            let reason =
                form.text("reason", "作废原因", 200)?.ok_or_else(|| ConsoleError::bad("reason", "批量作废须填写原因"))?;
            (BulkAction::Void { reason }, "作废".to_owned())
        }
        _ => return Err(ConsoleError::bad("action", "不是有效的批量操作")),
    };
    let filter_query = form.get("filter").unwrap_or("").to_owned();
    let back = format!("/admin/records?{filter_query}");
    let targets: Vec<Record> = match form.required("scope", "操作范围")? {
        "selected" => {
            let ids = form.all("ids");
            if ids.is_empty() {
                return Err(ConsoleError::bad("ids", "请先勾选记录"));
            }
            if ids.len() > MAX_BULK {
                return Err(ConsoleError::bad("ids", &format!("一次最多批量处理{MAX_BULK}条")));
            }
            let mut out = Vec::new();
            for id in ids {
                let id = Uuid::parse_str(id).map_err(|_| ConsoleError::bad("ids", "不是有效的记录编号"))?;
                if !out.iter().any(|r: &Record| r.id == id) {
                    out.push(state.console().record(caller, id).await?);
                }
            }
            out
        }
        "filter" => {
            let q = TableQuery::parse(&FormData::parse(filter_query.as_bytes()), &refs.index)?;
            if !q.is_filtered() {
                return Err(ConsoleError::bad("filter", "请先筛选，再对全部筛选结果批量操作"));
            }
            let found = state.console().collect(caller, &q.filter(), SortKey::OldestFirst, MAX_BULK + 1).await?;
            if found.len() > MAX_BULK {
                return Err(ConsoleError::bad("filter", &format!("筛选结果超过{MAX_BULK}条，请缩小范围")));
            }
            match form.get("expect").map(|e| e.parse::<usize>()) {
                // First the count, to confirm.
                None => {
                    let hidden = form.pairs().iter().filter(|(k, _)| k != "_csrf" && k != "expect").cloned().collect();
                    let page = BulkPage {
                        nav: Nav::new(&console.0, &refs.index, "records"),
                        action_label: label,
                        confirm: true,
                        count: found.len(),
                        accepted: 0,
                        rejected: Vec::new(),
                        created: Vec::new(),
                        back,
                        hidden,
                    };
                    return Ok(Html(page.render()?).into_response());
                }
                Some(Ok(n)) if n == found.len() => found,
                Some(Ok(n)) => {
                    return Err(ConsoleError::Conflict(format!(
                        "筛选结果已变化（确认时 {n} 条，现在 {} 条），请重新确认",
                        found.len()
                    )));
                }
                Some(Err(_)) => return Err(ConsoleError::bad("expect", "应为数字")),
            }
        }
        _ => return Err(ConsoleError::bad("scope", "不是有效的操作范围")),
    };
    let numbers: Vec<(Uuid, String)> = targets.iter().map(|r| (r.id, number_of(r))).collect();
    let ActionOutcome { accepted, rejected, created } = state.console().bulk(caller, &action, &targets).await?;
    let number = |id: &Uuid| numbers.iter().find(|(i, _)| i == id).map(|(_, n)| n.clone()).unwrap_or_default();
    let page = BulkPage {
        nav: Nav::new(&console.0, &refs.index, "records"),
        action_label: label,
        confirm: false,
        count: targets.len(),
        accepted: accepted.len(),
        rejected: rejected
            .iter()
            .map(|(id, r)| BulkLine {
                id: id.to_string(),
                number: number(id),
                message: format!("{}（{}）", r.message, r.reason.as_str()),
            })
            .collect(),
        created: created.iter().map(|c| c.to_string()).collect(),
        back,
        hidden: Vec::new(),
    };
    Ok(Html(page.render()?).into_response())
}
