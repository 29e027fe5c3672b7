//! The queue of the signed-in person: what waits for them, oldest and nearest-to-due
//! first, with the count on each tab. Each tab is a filter of the table (and links to it).

use super::error::ConsoleError;
use super::form::QueryData;
use super::session::Console;
use super::view::{Nav, Row, TableQuery};
use crate::domain::access::Caller;
use crate::domain::query::{RecordFilter, SortKey};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use gridwork_core::model::{RecordBody, RecordKind, Role, Status};

struct Tab {
    code: &'static str,
    label: &'static str,
    count: u64,
    on: bool,
}

#[derive(Template)]
#[template(path = "console/queue.html")]
struct QueuePage {
    nav: Nav,
    tabs: Vec<Tab>,
    label: &'static str,
    rows: Vec<Row>,
    table_link: String,
    more: bool,
}

/// A tab: its code, label, the table's view of it, and whether it needs a look inside
/// each record (extension requests are not a filter of the store).
struct TabDef {
    code: &'static str,
    label: &'static str,
    query: TableQuery,
    extension_requests: bool,
}

fn tq(kinds: &[RecordKind], statuses: &[Status], sort: SortKey) -> TableQuery {
    TableQuery {
        kinds: kinds.to_vec(),
        statuses: statuses.to_vec(),
        sort,
        limit: super::view::DEFAULT_LIMIT,
        ..Default::default()
    }
}

fn tabs_for(caller: &Caller) -> Vec<TabDef> {
    use RecordKind::*;
    match caller.role {
        Role::Admin => vec![
            TabDef {
                code: "accept",
                label: "待立案",
                query: tq(&[Report], &[Status::Submitted], SortKey::OldestFirst),
                extension_requests: false,
            },
            TabDef {
                code: "notices",
                label: "逾期告知单",
                query: tq(&[Notice], &[Status::Overdue], SortKey::OldestFirst),
                extension_requests: false,
            },
            TabDef {
                code: "dispatch",
                label: "待派遣",
                query: tq(&[Case], &[Status::Registered], SortKey::OldestFirst),
                extension_requests: false,
            },
            TabDef {
                code: "verify",
                label: "待核查",
                query: tq(&[Case], &[Status::Handled], SortKey::OldestFirst),
                extension_requests: false,
            },
            TabDef {
                code: "extension",
                label: "待审批延期",
                query: tq(&[Case], &[Status::Dispatched], SortKey::DueFirst),
                extension_requests: true,
            },
            TabDef {
                code: "overdue",
                label: "超期未结",
                query: TableQuery { overdue: true, ..tq(&[Case], &[Status::Dispatched, Status::Handled], SortKey::DueFirst) },
                extension_requests: false,
            },
        ],
        _ => vec![
            TabDef {
                code: "mine",
                label: "派给我的",
                query: TableQuery {
                    assignee: format!("officer:{}", caller.user_id),
                    ..tq(&[Case], &[Status::Dispatched], SortKey::DueFirst)
                },
                extension_requests: false,
            },
            TabDef {
                code: "unit",
                label: "派给本中队的",
                query: TableQuery {
                    assignee: format!("unit:{}", caller.scope),
                    ..tq(&[Case], &[Status::Dispatched], SortKey::DueFirst)
                },
                extension_requests: false,
            },
            TabDef {
                code: "overdue",
                label: "本辖区超期",
                query: TableQuery { overdue: true, ..tq(&[Case], &[Status::Dispatched, Status::Handled], SortKey::DueFirst) },
                extension_requests: false,
            },
            TabDef {
                code: "notices",
                label: "逾期告知单",
                query: tq(&[Notice], &[Status::Overdue], SortKey::OldestFirst),
                extension_requests: false,
            },
        ],
    }
}

/// Cases looked through for extension requests (the store has no filter for them).
const EXTENSION_SCAN: usize = 2000;

fn has_extension_request(r: &gridwork_core::model::Record) -> bool {
    matches!(&r.body, RecordBody::Case(c) if c.extension_request.is_some())
}

pub async fn queue(State(state): State<AppState>, console: Console, QueryData(q): QueryData) -> Result<Response, ConsoleError> {
    let refs = state.reference().current().await?;
    let caller = &console.0.session.caller;
    let defs = tabs_for(caller);
    let current = match q.get("tab") {
        Some(t) => defs.iter().position(|d| d.code == t).ok_or_else(|| ConsoleError::bad("tab", "不是有效的待办分类"))?,
        None => 0,
    };
    // Every tab's count at once (each is one query on a reader of the store).
    let work = defs.iter().enumerate().map(|(i, d)| {
        let (state, refs) = (&state, &refs);
        async move {
            let filter: RecordFilter = d.query.filter();
            let mut rows = Vec::new();
            let mut more = false;
            let count = if d.extension_requests {
                let found = state.console().collect(caller, &filter, d.query.sort, EXTENSION_SCAN).await?;
                let with: Vec<_> = found.into_iter().filter(has_extension_request).collect();
                if i == current {
                    rows = with.iter().take(d.query.limit as usize).map(|r| Row::of(r, &refs.index)).collect();
                    more = with.len() > d.query.limit as usize;
                }
                with.len() as u64
            } else if i == current {
                let (count, page) = tokio::try_join!(
                    state.console().count(caller, &filter),
                    state.console().search(caller, &filter, d.query.sort, None, d.query.limit)
                )?;
                more = page.next.is_some();
                rows = page.records.iter().map(|r| Row::of(r, &refs.index)).collect();
                count
            } else {
                state.console().count(caller, &filter).await?
            };
            Ok::<_, crate::domain::DomainError>((Tab { code: d.code, label: d.label, count, on: i == current }, rows, more))
        }
    });
    let mut tabs = Vec::new();
    let (mut rows, mut more) = (Vec::new(), false);
    for (tab, tab_rows, tab_more) in futures::future::try_join_all(work).await? {
        if tab.on {
            (rows, more) = (tab_rows, tab_more);
        }
        tabs.push(tab);
    }
    let def = &defs[current];
    let page = QueuePage {
        nav: Nav::new(&console.0, &refs.index, "queue"),
        tabs,
        label: def.label,
        rows,
        table_link: format!("/admin/records?{}", def.query.query()),
        more,
    };
    Ok(Html(page.render()?).into_response())
}
