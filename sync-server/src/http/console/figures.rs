//! The figures (数字城管考核指标) for a period and a grouping, as tables and bars, each
//! count linking to the filtered table behind it; the ranking of units; the overdue list;
//! and beside them the community work reported in the service logs.

use super::error::ConsoleError;
use super::form::{QueryData, encode};
use super::session::Console;
use super::view::{Nav, Row, TableQuery, assignee_key_name, category_name, local_date, org_name};
use crate::domain::figures::{Figures, GroupBy};
use crate::domain::query::{RecordFilter, SortKey};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use chrono::{Datelike, Duration, NaiveDate};
use gridwork_core::cases::CaseSource;
use gridwork_core::model::{Activity, RecordBody, RecordKind, Status};
use gridwork_core::reference::RefIndex;
use gridwork_core::worktime::start_of_day;

const GROUPS: [(&str, &str, GroupBy); 4] = [
    ("district", "按区", GroupBy::District),
    ("brigade", "按执法大队", GroupBy::Brigade),
    ("unit", "按承办单位", GroupBy::Unit),
    ("category", "按分类", GroupBy::Category),
];

/// A rate as the page shows it, with its bar.
struct Rate {
    text: String,
    width: u32,
}

fn rate(r: Option<f64>) -> Rate {
    match r {
        Some(v) => Rate { text: format!("{:.1}%", v * 100.0), width: (v * 100.0).round().clamp(0.0, 100.0) as u32 },
        None => Rate { text: "—".into(), width: 0 },
    }
}

struct FigRow {
    key: String,
    name: String,
    registered: u64,
    due: u64,
    closed: u64,
    overdue_open: u64,
    close_rate: Rate,
    on_time_close_rate: Rate,
    on_time_handle_rate: Rate,
    rework_rate: Rate,
    extension_rate: Rate,
    link_registered: String,
    link_closed: String,
    link_overdue: String,
    link_all: String,
}

struct Ranked {
    rank: usize,
    name: String,
    rate: Rate,
    due: u64,
    link: String,
}

struct Activity6 {
    label: &'static str,
    code: &'static str,
    count: u64,
    participants: u64,
}

#[derive(Template)]
#[template(path = "console/figures.html")]
struct FiguresPage {
    nav: Nav,
    from: String,
    to: String,
    to_inclusive: String,
    by: &'static str,
    groups: Vec<(&'static str, &'static str, bool)>,
    presets: Vec<(String, &'static str)>,
    total: FigRow,
    rows: Vec<FigRow>,
    max_registered: u64,
    best: Vec<Ranked>,
    worst: Vec<Ranked>,
    overdue: Vec<Row>,
    overdue_link: String,
    overdue_count: u64,
    activities: Vec<Activity6>,
    logs: u64,
    participants: u64,
    complaints: u64,
    replies: u64,
    via_case: u64,
    capped: bool,
    logs_link: String,
}

/// Local dates `[from, to)`; the table's `to` is inclusive.
fn period_query(from: NaiveDate, to: NaiveDate) -> TableQuery {
    TableQuery { from: Some(from), to: Some(to - Duration::days(1)), limit: super::view::DEFAULT_LIMIT, ..Default::default() }
}

fn group_query(by: GroupBy, key: &str, refs: &RefIndex) -> TableQuery {
    let mut q = TableQuery { kinds: vec![RecordKind::Case], limit: super::view::DEFAULT_LIMIT, ..Default::default() };
    match by {
        GroupBy::Total => {}
        GroupBy::District => q.org = key.to_owned(),
        GroupBy::Brigade if refs.org(key).is_some() => q.assignee = format!("unit:{key}"),
        GroupBy::Unit if super::view::valid_assignee(refs, key).is_some() => q.assignee = key.to_owned(),
        GroupBy::Category if refs.category(key).is_some() => q.sub = key.to_owned(),
        _ => {}
    }
    q
}

fn link(q: &TableQuery) -> String {
    format!("/admin/records?{}", q.query())
}

fn group_name(by: GroupBy, key: &str, refs: &RefIndex) -> String {
    if key.is_empty() {
        return match by {
            GroupBy::Total => "合计".into(),
            _ => "（未派遣）".into(),
        };
    }
    match by {
        GroupBy::Total => "合计".into(),
        GroupBy::District => org_name(refs, key),
        GroupBy::Brigade => format!("{}执法大队", org_name(refs, key)),
        GroupBy::Unit => assignee_key_name(refs, key),
        GroupBy::Category => format!("{} {}", key, category_name(refs, key)),
    }
}

fn fig_row(f: &Figures, by: GroupBy, refs: &RefIndex, from: NaiveDate, to: NaiveDate) -> FigRow {
    let base = group_query(by, &f.key, refs);
    let registered = TableQuery { from: Some(from), to: Some(to - Duration::days(1)), ..base.clone() };
    let closed = TableQuery { statuses: vec![Status::Closed], ..base.clone() };
    let overdue = TableQuery {
        overdue: true,
        statuses: vec![Status::Dispatched, Status::Handled],
        sort: SortKey::DueFirst,
        ..base.clone()
    };
    FigRow {
        key: f.key.clone(),
        name: group_name(by, &f.key, refs),
        registered: f.registered,
        due: f.due,
        closed: f.closed,
        overdue_open: f.overdue_open,
        close_rate: rate(f.close_rate),
        on_time_close_rate: rate(f.on_time_close_rate),
        on_time_handle_rate: rate(f.on_time_handle_rate),
        rework_rate: rate(f.rework_rate),
        extension_rate: rate(f.extension_rate),
        link_registered: link(&registered),
        link_closed: link(&closed),
        link_overdue: link(&overdue),
        link_all: link(&base),
    }
}

fn parse_day(q: &super::form::FormData, name: &str) -> Result<Option<NaiveDate>, ConsoleError> {
    match q.get(name) {
        None => Ok(None),
        Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d").map(Some).map_err(|_| ConsoleError::bad(name, "日期应为 YYYY-MM-DD")),
    }
}

/// Service logs looked at for the community work.
const LOG_SCAN: usize = 5000;

pub async fn figures(State(state): State<AppState>, console: Console, QueryData(q): QueryData) -> Result<Response, ConsoleError> {
    let refs = state.reference().current().await?;
    let caller = &console.0.session.caller;
    let today = local_date(state.clock().now());
    let from = parse_day(&q, "from")?.unwrap_or(today - Duration::days(29));
    let to = parse_day(&q, "to")?.unwrap_or(today + Duration::days(1));
    let (by_code, _, by) = match q.get("by") {
        Some(b) => *GROUPS.iter().find(|(c, _, _)| *c == b).ok_or_else(|| ConsoleError::bad("by", "不是有效的分组"))?,
        None => GROUPS[0],
    };
    // Every read of the page at once: the figures, the overdue list, the period's logs and cases.
    let overdue_q = TableQuery {
        kinds: vec![RecordKind::Case],
        statuses: vec![Status::Dispatched, Status::Handled],
        overdue: true,
        sort: SortKey::DueFirst,
        limit: super::view::DEFAULT_LIMIT,
        ..Default::default()
    };
    let overdue_filter = overdue_q.filter();
    let in_period = RecordFilter { from: Some(start_of_day(from)), to: Some(start_of_day(to)), ..Default::default() };
    let logs_filter = RecordFilter { kinds: vec![RecordKind::ServiceLog], ..in_period.clone() };
    let cases_filter = RecordFilter { kinds: vec![RecordKind::Case], ..in_period };
    let groupings = [GroupBy::Total, by, GroupBy::Unit];
    let (grouped, overdue_page, overdue_count, logs, cases) = tokio::try_join!(
        state.figures().figures_by(caller, from, to, &groupings),
        state.console().search(caller, &overdue_filter, SortKey::DueFirst, None, 20),
        state.console().count(caller, &overdue_filter),
        state.console().collect(caller, &logs_filter, SortKey::OldestFirst, LOG_SCAN),
        state.console().collect(caller, &cases_filter, SortKey::OldestFirst, LOG_SCAN),
    )?;
    let mut grouped = grouped.into_iter();
    let (total, rows, units) =
        (grouped.next().unwrap_or_default(), grouped.next().unwrap_or_default(), grouped.next().unwrap_or_default());
    let total = total.first().cloned().unwrap_or_default();
    let total = fig_row(&total, GroupBy::Total, &refs.index, from, to);
    let rows: Vec<FigRow> = rows.iter().map(|f| fig_row(f, by, &refs.index, from, to)).collect();
    let max_registered = rows.iter().map(|r| r.registered).max().unwrap_or(0).max(1);

    // The ranking of units by 按期结案率 (those with cases due).
    let mut ranked: Vec<&Figures> = units.iter().filter(|f| !f.key.is_empty() && f.on_time_close_rate.is_some()).collect();
    ranked.sort_by(|a, b| {
        b.on_time_close_rate.partial_cmp(&a.on_time_close_rate).unwrap_or(std::cmp::Ordering::Equal).then(b.due.cmp(&a.due))
    });
    let rank = |i: usize, f: &Figures| Ranked {
        rank: i + 1,
        name: group_name(GroupBy::Unit, &f.key, &refs.index),
        rate: rate(f.on_time_close_rate),
        due: f.due,
        link: link(&group_query(GroupBy::Unit, &f.key, &refs.index)),
    };
    let best: Vec<Ranked> = ranked.iter().take(3).enumerate().map(|(i, f)| rank(i, f)).collect();
    let n = ranked.len();
    let worst: Vec<Ranked> =
        ranked.iter().enumerate().rev().take(3.min(n.saturating_sub(best.len()))).map(|(i, f)| rank(i, f)).collect();

    // The overdue list.
    let overdue = overdue_page.records.iter().map(|r| Row::of(r, &refs.index)).collect();

    // Community work of the period: the service logs, and the cases opened from them.
    let period = period_query(from, to);
    let logs_q = TableQuery { kinds: vec![RecordKind::ServiceLog], ..period.clone() };
    let capped = logs.len() >= LOG_SCAN || cases.len() >= LOG_SCAN;
    let mut activities: Vec<Activity6> =
        Activity::ALL.iter().map(|a| Activity6 { label: a.label_zh(), code: a.as_str(), count: 0, participants: 0 }).collect();
    let (mut participants, mut complaints, mut replies) = (0u64, 0u64, 0u64);
    for r in &logs {
        if let RecordBody::ServiceLog(l) = &r.body {
            if let Some(a) = activities.iter_mut().find(|a| a.code == l.activity.as_str()) {
                a.count += 1;
                a.participants += u64::from(l.participants);
            }
            participants += u64::from(l.participants);
            complaints += l.complaints.len() as u64;
            replies += l.replies.len() as u64;
        }
    }
    let via_case = cases
        .iter()
        .filter(|r| matches!(&r.body, RecordBody::Case(c) if matches!(c.source, CaseSource::ServiceLog { .. })))
        .count() as u64;

    let presets = {
        let month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
        let next_month = month.checked_add_months(chrono::Months::new(1)).unwrap_or(today);
        let last_month = month.checked_sub_months(chrono::Months::new(1)).unwrap_or(today);
        let week = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
        let year = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
        let q = |f: NaiveDate, t: NaiveDate| {
            format!("/admin/figures?{}", encode(&[("from", f.to_string()), ("to", t.to_string()), ("by", by_code.to_owned())]))
        };
        vec![
            (q(today - Duration::days(29), today + Duration::days(1)), "近30天"),
            (q(week, week + Duration::days(7)), "本周"),
            (q(month, next_month), "本月"),
            (q(last_month, month), "上月"),
            (q(year, NaiveDate::from_ymd_opt(today.year() + 1, 1, 1).unwrap_or(today)), "本年"),
        ]
    };
    let page = FiguresPage {
        nav: Nav::new(&console.0, &refs.index, "figures"),
        from: from.to_string(),
        to: to.to_string(),
        to_inclusive: (to - Duration::days(1)).to_string(),
        by: by_code,
        groups: GROUPS.iter().map(|(c, l, _)| (*c, *l, *c == by_code)).collect(),
        presets,
        total,
        rows,
        max_registered,
        best,
        worst,
        overdue,
        overdue_link: link(&overdue_q),
        overdue_count,
        activities,
        logs: logs.len() as u64,
        participants,
        complaints,
        replies,
        via_case,
        capped,
        logs_link: link(&logs_q),
    };
    Ok(Html(page.render()?).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_show_a_dash_without_a_denominator() {
        assert_eq!(rate(None).text, "—");
        assert_eq!(rate(Some(0.756)).text, "75.6%");
        assert_eq!(rate(Some(1.0)).width, 100);
    }
}
