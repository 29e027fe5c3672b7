//! The periodic bulletin (通报), `/admin/bulletin` and `/admin/bulletin.pdf`: one
//! [`Bulletin`] built by [`BulletinService`], rendered as a printable page (every figure a
//! link to the records table behind it, a GET form choosing period, date, district and
//! brigade, so every bulletin has its URL) and as an A4 PDF with the same text.
//!
//! Errors of the query (a period, date or code that is not one) answer 400 with the
//! console's error page; an officer asking for another district 403; the PDF without a
//! usable CJK font 503 with "未配置中文字体（GRIDWORK_FONT）".

use super::error::ConsoleError;
use super::form::{FormData, QueryData, encode};
use super::session::Console;
use super::view::{DEFAULT_LIMIT, Nav, TableQuery, local_date};
use crate::domain::query::SortKey;
use crate::service::bulletin::{Bulletin, BulletinError, BulletinQuery, BulletinService, Period, RankBy};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{Datelike, NaiveDate};
use gridwork_core::model::{RecordKind, Role, Status};
use gridwork_core::print::report::{Block, Report, Table};
use gridwork_core::reference::OrgLevel;

/// The answer of a refused bulletin: the console's error page, with the status of its own.
pub enum Refusal {
    /// 400: a parameter of the query is wrong.
    BadParam(String),
    /// 503: no CJK font for the PDF.
    NoFont,
    Console(ConsoleError),
}

impl From<ConsoleError> for Refusal {
    fn from(e: ConsoleError) -> Self {
        Refusal::Console(e)
    }
}

impl From<BulletinError> for Refusal {
    fn from(e: BulletinError) -> Self {
        match e {
            BulletinError::BadParam(m) => Refusal::BadParam(m),
            BulletinError::Forbidden => Refusal::Console(ConsoleError::Forbidden),
            BulletinError::Domain(e) => Refusal::Console(e.into()),
        }
    }
}

impl From<askama::Error> for Refusal {
    fn from(e: askama::Error) -> Self {
        Refusal::Console(e.into())
    }
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct RefusalPage<'a> {
    status: u16,
    code: &'a str,
    title: &'a str,
    message: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, code, title, message) = match self {
            Refusal::Console(e) => return e.into_response(),
            Refusal::BadParam(m) => (StatusCode::BAD_REQUEST, "invalid_request", "请求参数不符合要求", m),
            Refusal::NoFont => (
                StatusCode::SERVICE_UNAVAILABLE,
                "no_font",
                "无法生成 PDF",
                "未配置中文字体（GRIDWORK_FONT）：请用 --font 或环境变量 GRIDWORK_FONT 指定含中文字形的字体文件，\
                 或安装 fonts-wqy-microhei；网页版通报不受影响。"
                    .to_owned(),
            ),
        };
        let page = RefusalPage { status: status.as_u16(), code, title, message };
        let body = page.render().unwrap_or_else(|_| format!("{} {}", page.status, page.code));
        (status, Html(body)).into_response()
    }
}

fn parse_query(q: &FormData, today: NaiveDate) -> Result<BulletinQuery, Refusal> {
    let period = match q.get("period") {
        None => Period::Week,
        Some(p) => Period::parse(p.trim())
            .ok_or_else(|| Refusal::BadParam("统计周期应为 week（周报）或 month（月报）（period）".into()))?,
    };
    let date = match q.get("date") {
        None => today,
        Some(d) => NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
            .ok()
            .filter(|d| (2000..=2099).contains(&d.year()))
            .ok_or_else(|| Refusal::BadParam("日期应为 YYYY-MM-DD，2000–2099 年（date）".into()))?,
    };
    let code = |name: &str| q.get(name).map(|v| v.trim().to_owned());
    Ok(BulletinQuery { period, date, district: code("district"), brigade: code("brigade") })
}

async fn build(state: &AppState, console: &Console, q: &FormData) -> Result<Bulletin, Refusal> {
    let today = local_date(state.clock().now());
    let query = parse_query(q, today)?;
    let service = BulletinService::new(
        state.stores().records.clone(),
        state.reference().clone(),
        state.clock().clone(),
        state.console().clone(),
    );
    Ok(service.bulletin(&console.0.session.caller, query).await?)
}

/// The bulletin's own URL (with `path`: the page or the PDF).
fn bulletin_url(path: &str, q: &BulletinQuery, date: NaiveDate) -> String {
    let pairs = [
        ("period", q.period.code().to_owned()),
        ("date", date.to_string()),
        ("district", q.district.clone().unwrap_or_default()),
        ("brigade", q.brigade.clone().unwrap_or_default()),
    ];
    format!("{path}?{}", encode(&pairs))
}

/// The records table behind the bulletin's figures.
struct Links<'a> {
    b: &'a Bulletin,
}

impl Links<'_> {
    /// The bulletin's cases: its district, its brigade's unit.
    fn base(&self) -> TableQuery {
        let q = &self.b.query;
        TableQuery {
            kinds: vec![RecordKind::Case],
            org: q.district.clone().unwrap_or_default(),
            assignee: q.brigade.as_ref().map(|b| format!("unit:{b}")).unwrap_or_default(),
            limit: DEFAULT_LIMIT,
            ..Default::default()
        }
    }

    fn registered(base: TableQuery, b: &Bulletin) -> TableQuery {
        TableQuery { from: Some(b.span.from), to: Some(b.span.last()), ..base }
    }

    fn closed(base: TableQuery) -> TableQuery {
        TableQuery { statuses: vec![Status::Closed], ..base }
    }

    fn overdue(base: TableQuery) -> TableQuery {
        TableQuery { statuses: vec![Status::Dispatched, Status::Handled], overdue: true, sort: SortKey::DueFirst, ..base }
    }

    fn of_kpi(&self, code: &str) -> String {
        let base = self.base();
        link(&match code {
            "registered" => Self::registered(base, self.b),
            "closed" => Self::closed(base),
            "overdue_open" => Self::overdue(base),
            _ => base,
        })
    }

    fn group(&self, by: RankBy, key: &str) -> TableQuery {
        let mut q = self.base();
        match by {
            RankBy::District | RankBy::Street => q.org = key.to_owned(),
            RankBy::Brigade if !key.is_empty() => q.assignee = format!("unit:{key}"),
            RankBy::Unit if !key.is_empty() => q.assignee = key.to_owned(),
            _ => {}
        }
        q
    }

    fn logs(&self) -> String {
        let q = &self.b.query;
        link(&TableQuery {
            kinds: vec![RecordKind::ServiceLog],
            org: q.district.clone().or(q.brigade.clone()).unwrap_or_default(),
            from: Some(self.b.span.from),
            to: Some(self.b.span.last()),
            limit: DEFAULT_LIMIT,
            ..Default::default()
        })
    }
}

fn link(q: &TableQuery) -> String {
    format!("/admin/records?{}", q.query())
}

/// One headline figure, in the order both renderings show them.
struct Kpi {
    code: &'static str,
    label: &'static str,
    value: String,
    prev: String,
    change: String,
    trend: i8,
}

fn kpis(b: &Bulletin) -> Vec<Kpi> {
    let h = &b.headline;
    let count = |code, label, c: &crate::service::bulletin::CountLine| Kpi {
        code,
        label,
        value: format!("{} 件", c.value),
        prev: format!("{} 件", c.prev),
        change: c.change.clone(),
        trend: c.trend,
    };
    let rate = |code, label, r: &crate::service::bulletin::RateLine| Kpi {
        code,
        label,
        value: r.text.clone(),
        prev: r.prev_text.clone(),
        change: r.change.clone(),
        trend: r.trend,
    };
    vec![
        count("registered", "受理（立案）", &h.registered),
        count("due", "应结案", &h.due),
        count("closed", "结案", &h.closed),
        rate("close_rate", "结案率", &h.close_rate),
        rate("on_time_close_rate", "按期结案率", &h.on_time_close_rate),
        rate("rework_rate", "返工率", &h.rework_rate),
        count("overdue_open", "超期未结", &h.overdue_open),
    ]
}

const NUMERALS: [&str; 6] = ["一", "二", "三", "四", "五", "六"];

/// Section headings, numbered as a 通报 numbers them.
fn headings(b: &Bulletin) -> Vec<String> {
    let mut h = vec!["总体情况".to_owned()];
    h.extend(b.rankings.iter().map(|r| r.by.title().to_owned()));
    h.push("超期未结案件".into());
    h.push("社区工作".into());
    h.into_iter().enumerate().map(|(i, t)| format!("{}、{t}", NUMERALS.get(i).copied().unwrap_or("　"))).collect()
}

const NOTE: &str = "说明：受理为本期立案数；应结案为处置期限在本期内的案件（不含挂账、作废）；结案率 = 结案数 /（应结案数 − 缓办数），\
按期结案率 = 按期结案数 /（应结案数 − 缓办数），返工率 = 返工数 / 处置数；超期未结为应结案中截至期末已超期仍未结案的案件；\
分母为 0 时显示“—”。排名按按期结案率，相同时按应结案数。";

fn issued_line(b: &Bulletin) -> String {
    // The last moment counted: the period's last day, or today while it runs.
    let d = local_date(b.as_of - chrono::Duration::seconds(1));
    format!("{}　统计期间：{}　数据截至 {}年{}月{}日", b.issuer, b.span.dates_zh(), d.year(), d.month(), d.day())
}

struct KpiView {
    kpi: Kpi,
    link: String,
    trend_class: &'static str,
}

struct RankRowView {
    rank: String,
    name: String,
    due: u64,
    closed: u64,
    on_time: String,
    close_rate: String,
    rework: String,
    overdue_open: u64,
    mark_label: &'static str,
    mark_code: &'static str,
    link: String,
    link_overdue: String,
}

struct RankingView {
    heading: String,
    code: &'static str,
    rows: Vec<RankRowView>,
    verdict: String,
}

struct OverdueView {
    href: String,
    number: String,
    category: String,
    category_name: String,
    unit: String,
    due: String,
    days: i64,
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "console/bulletin.html")]
struct BulletinPage {
    nav: Nav,
    title: String,
    issued: String,
    summary: String,
    note: &'static str,
    date: String,
    periods: Vec<Choice>,
    districts: Vec<Choice>,
    brigades: Vec<Choice>,
    officer: bool,
    pdf_url: String,
    prev_url: String,
    next_url: String,
    prev_label: String,
    headings: Vec<String>,
    kpis: Vec<KpiView>,
    rankings: Vec<RankingView>,
    overdue: Vec<OverdueView>,
    overdue_link: String,
    activities: Vec<(String, &'static str, u64, u64)>,
    logs: u64,
    participants: u64,
    complaints: u64,
    replies: u64,
    via_case: u64,
    capped: bool,
    logs_link: String,
}

pub async fn page(State(state): State<AppState>, console: Console, QueryData(q): QueryData) -> Result<Response, Refusal> {
    let b = build(&state, &console, &q).await?;
    let refs = state.reference().current().await.map_err(ConsoleError::from)?;
    let links = Links { b: &b };
    let officer = console.0.session.caller.role == Role::Officer;
    let districts: Vec<(String, String)> =
        refs.data.orgs.iter().filter(|o| o.level == OrgLevel::District).map(|o| (o.code.clone(), o.name.clone())).collect();
    let choose = |current: &Option<String>, all_label: &str, suffix: &str, only_own: bool| {
        let mut v = Vec::new();
        if !only_own {
            v.push(Choice { value: String::new(), label: all_label.to_owned(), selected: current.is_none() });
        }
        for (code, name) in &districts {
            if only_own && *code != console.0.session.caller.scope {
                continue;
            }
            v.push(Choice {
                value: code.clone(),
                label: format!("{name}{suffix}"),
                selected: current.as_deref() == Some(code.as_str()),
            });
        }
        v
    };
    let rankings = b
        .rankings
        .iter()
        .zip(headings(&b).into_iter().skip(1))
        .map(|(r, heading)| RankingView {
            heading,
            code: r.by.code(),
            verdict: r.verdict.clone().unwrap_or_default(),
            rows: r
                .rows
                .iter()
                .map(|row| {
                    let q = links.group(r.by, &row.key);
                    RankRowView {
                        rank: if row.rank == 0 { "—".into() } else { row.rank.to_string() },
                        name: row.name.clone(),
                        due: row.figures.due,
                        closed: row.figures.closed,
                        on_time: row.on_time_close_rate.clone(),
                        close_rate: row.close_rate.clone(),
                        rework: row.rework_rate.clone(),
                        overdue_open: row.figures.overdue_open,
                        mark_label: row.mark.map(|m| m.label_zh()).unwrap_or(""),
                        mark_code: row.mark.map(|m| m.code()).unwrap_or(""),
                        link_overdue: link(&Links::overdue(q.clone())),
                        link: link(&q),
                    }
                })
                .collect(),
        })
        .collect();
    let c = &b.community;
    let period = b.query.period;
    let page = BulletinPage {
        nav: Nav::new(&console.0, &refs.index, "bulletin"),
        title: b.title.clone(),
        issued: issued_line(&b),
        summary: b.summary.clone(),
        note: NOTE,
        date: b.query.date.to_string(),
        periods: [Period::Week, Period::Month]
            .iter()
            .map(|p| Choice { value: p.code().into(), label: p.label_zh().into(), selected: *p == period })
            .collect(),
        districts: choose(&b.query.district, "全市", "", officer),
        brigades: choose(&b.query.brigade, "全部执法中队", "执法中队", false),
        officer,
        pdf_url: bulletin_url("/admin/bulletin.pdf", &b.query, b.query.date),
        prev_url: bulletin_url("/admin/bulletin", &b.query, b.prev.from),
        next_url: bulletin_url("/admin/bulletin", &b.query, b.span.to),
        prev_label: b.prev.label.clone(),
        headings: headings(&b),
        kpis: kpis(&b)
            .into_iter()
            .map(|kpi| KpiView {
                link: links.of_kpi(kpi.code),
                trend_class: match kpi.trend {
                    1 => "better",
                    -1 => "worse",
                    _ => "same",
                },
                kpi,
            })
            .collect(),
        rankings,
        overdue: b
            .overdue
            .iter()
            .map(|o| OverdueView {
                href: format!("/admin/records/{}", o.id),
                number: o.number.clone(),
                category: o.category.clone(),
                category_name: o.category_name.clone(),
                unit: o.unit.clone(),
                due: o.due.to_string(),
                days: o.days_overdue,
            })
            .collect(),
        overdue_link: link(&Links::overdue(links.base())),
        activities: c.activities.iter().map(|a| (a.label.to_owned(), a.code, a.count, a.participants)).collect(),
        logs: c.logs,
        participants: c.participants,
        complaints: c.complaints,
        replies: c.replies,
        via_case: c.via_case,
        capped: c.capped,
        logs_link: links.logs(),
    };
    Ok(Html(page.render()?).into_response())
}

/// The community work in one sentence (both renderings).
fn community_line(b: &Bulletin) -> String {
    let c = &b.community;
    format!(
        "本期开展社区服务活动 {} 次，参与群众 {} 人次；收到意见建议 {} 条，现场答复 {} 条，转立案件协调解决 {} 件。",
        c.logs, c.participants, c.complaints, c.replies, c.via_case
    )
}

/// The bulletin as a report for the PDF: the same text as the page.
pub fn report(b: &Bulletin) -> Report {
    let heads = headings(b);
    let mut blocks = vec![Block::Centred(issued_line(b)), Block::Heading(heads[0].clone()), Block::Paragraph(b.summary.clone())];
    blocks.push(Block::Table(Table {
        header: vec!["指标".into(), "本期".into(), format!("上期（{}）", b.prev.label), "变化".into()],
        rows: kpis(b).into_iter().map(|k| vec![k.label.to_owned(), k.value, k.prev, k.change]).collect(),
        widths: vec![2.0, 1.5, 1.8, 2.2],
    }));
    for (r, heading) in b.rankings.iter().zip(heads.iter().skip(1)) {
        blocks.push(Block::Heading(heading.clone()));
        if r.rows.is_empty() {
            blocks.push(Block::Paragraph("本期没有案件。".into()));
            continue;
        }
        blocks.push(Block::Table(Table {
            header: ["名次", "名称", "应结案", "结案", "按期结案率", "结案率", "返工率", "超期未结", "评价"]
                .map(String::from)
                .to_vec(),
            rows: r
                .rows
                .iter()
                .map(|row| {
                    vec![
                        if row.rank == 0 { "—".into() } else { row.rank.to_string() },
                        row.name.clone(),
                        row.figures.due.to_string(),
                        row.figures.closed.to_string(),
                        row.on_time_close_rate.clone(),
                        row.close_rate.clone(),
                        row.rework_rate.clone(),
                        row.figures.overdue_open.to_string(),
                        row.mark.map(|m| m.label_zh()).unwrap_or("").to_owned(),
                    ]
                })
                .collect(),
            widths: vec![0.8, 3.0, 1.0, 1.0, 1.4, 1.2, 1.2, 1.1, 1.4],
        }));
        if let Some(v) = &r.verdict {
            blocks.push(Block::Paragraph(v.clone()));
        }
    }
    blocks.push(Block::Heading(heads[heads.len() - 2].clone()));
    if b.overdue.is_empty() {
        blocks.push(Block::Paragraph("本期没有超期未结案件。".into()));
    } else {
        blocks.push(Block::Paragraph(format!("截至期末超期未结案件 {} 件：", b.overdue.len())));
        blocks.push(Block::Table(Table {
            header: ["案件编号", "类别", "承办单位", "处置期限", "超期天数"].map(String::from).to_vec(),
            rows: b
                .overdue
                .iter()
                .map(|o| {
                    vec![
                        o.number.clone(),
                        format!("{} {}", o.category, o.category_name),
                        o.unit.clone(),
                        o.due.to_string(),
                        format!("{} 天", o.days_overdue),
                    ]
                })
                .collect(),
            widths: vec![2.6, 2.2, 2.2, 1.4, 1.0],
        }));
    }
    blocks.push(Block::Heading(heads[heads.len() - 1].clone()));
    blocks.push(Block::Paragraph(community_line(b)));
    let c = &b.community;
    blocks.push(Block::Table(Table {
        header: ["活动", "次数", "参与人数"].map(String::from).to_vec(),
        rows: c
            .activities
            .iter()
            .map(|a| vec![a.label.to_owned(), a.count.to_string(), a.participants.to_string()])
            .chain(std::iter::once(vec!["合计".into(), c.logs.to_string(), c.participants.to_string()]))
            .collect(),
        widths: vec![3.0, 1.0, 1.0],
    }));
    if c.capped {
        blocks.push(Block::Paragraph(format!("（服务日志仅统计前 {} 条）", crate::service::bulletin::LOG_SCAN)));
    }
    blocks.push(Block::Paragraph(NOTE.into()));
    Report { title: b.title.clone(), blocks }
}

/// `attachment; filename="bulletin-week-2026-11-16-370705.pdf"; filename*=UTF-8''…`.
fn disposition(b: &Bulletin) -> String {
    let q = &b.query;
    let mut ascii = format!("bulletin-{}-{}", q.period.code(), b.span.from);
    for code in [&q.district, &q.brigade].into_iter().flatten() {
        ascii.push('-');
        ascii.extend(code.chars().filter(|c| c.is_ascii_alphanumeric()));
    }
    let utf8: String = format!("{}.pdf", b.title)
        .bytes()
        .map(|c| match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (c as char).to_string(),
            _ => format!("%{c:02X}"),
        })
        .collect();
    format!("attachment; filename=\"{ascii}.pdf\"; filename*=UTF-8''{utf8}")
}

pub async fn pdf(State(state): State<AppState>, console: Console, QueryData(q): QueryData) -> Result<Response, Refusal> {
    let b = build(&state, &console, &q).await?;
    let font = state.font().clone();
    let report = report(&b);
    let bytes = tokio::task::spawn_blocking(move || {
        let font = font.get().ok_or(Refusal::NoFont)?;
        gridwork_core::print::report::render(&report, font).map_err(|e| match e {
            gridwork_core::print::PrintError::BadFont | gridwork_core::print::PrintError::FontLacksCjk => Refusal::NoFont,
            e => Refusal::Console(ConsoleError::internal(e)),
        })
    })
    .await
    .map_err(|e| ConsoleError::internal(format!("pdf task: {e}")))??;
    let disposition = HeaderValue::from_str(&disposition(&b)).map_err(ConsoleError::internal)?;
    let mut resp = (StatusCode::OK, bytes).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    h.insert(header::CONTENT_DISPOSITION, disposition);
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_periods_and_dates_are_400s() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 18).unwrap();
        let q = |s: &str| parse_query(&FormData::parse(s.as_bytes()), today);
        assert!(matches!(q("period=year"), Err(Refusal::BadParam(_))));
        assert!(matches!(q("date=2026-13-40"), Err(Refusal::BadParam(_))));
        assert!(matches!(q("date=1999-01-01"), Err(Refusal::BadParam(_))));
        let ok = q("period=month&district=370705").ok().unwrap();
        assert_eq!((ok.period, ok.date, ok.district.as_deref(), ok.brigade), (Period::Month, today, Some("370705"), None));
    }
}
