//! The periodic bulletin (城市管理工作通报): a week's or a month's figures for the city, a
//! district or a brigade, against the period before; the ranking of the streets, units,
//! districts or brigades under it, best praised (表扬) and worst criticised (通报批评); the
//! cases overdue and still open; and the community work of the service logs.
//!
//! Built once, as a [`Bulletin`] with every figure already in its printed form, and then
//! rendered twice by the console (an HTML page and a PDF), so the two cannot differ. The
//! figures are those of [`crate::domain::figures`] over the facts
//! [`crate::service::figures::facts`] reads from each case, as the figures page computes
//! them, narrowed to the bulletin's district or brigade.
//!
//! Nothing personal: no party, no phone, no address; cases by number and category only.

use crate::domain::DomainError;
use crate::domain::access::Caller;
use crate::domain::clock::ServerClock;
use crate::domain::figures::{CaseFacts, Figures, GroupBy, figures};
use crate::domain::query::{RecordFilter, SortKey};
use crate::service::ConsoleService;
use crate::service::figures::facts;
use crate::service::reference::ReferenceService;
use crate::storage::RecordStore;
use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Utc};
use gridwork_core::cases::CaseSource;
use gridwork_core::model::{Activity, Record, RecordBody, RecordKind, Role};
use gridwork_core::reference::{NOTICE_EXTRA_CATEGORIES, OrgLevel, RefIndex};
use gridwork_core::worktime::{local_date, start_of_day};
use std::sync::Arc;

/// Service logs (and cases) read for the community work, at most.
pub const LOG_SCAN: usize = 5000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    /// An ISO week, Monday to Sunday.
    Week,
    /// A calendar month.
    Month,
}

impl Period {
    pub fn parse(s: &str) -> Option<Period> {
        match s {
            "week" => Some(Period::Week),
            "month" => Some(Period::Month),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Period::Week => "week",
            Period::Month => "month",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Period::Week => "周报",
            Period::Month => "月报",
        }
    }

    /// The period holding `date`.
    pub fn span(self, date: NaiveDate) -> Span {
        match self {
            Period::Week => {
                let from = date - Duration::days(i64::from(date.weekday().num_days_from_monday()));
                let iso = from.iso_week();
                Span { from, to: from + Duration::days(7), label: format!("{}年第{}周", iso.year(), iso.week()) }
            }
            Period::Month => {
                let from = date.with_day(1).unwrap_or(date);
                let to = from.checked_add_months(Months::new(1)).unwrap_or(from + Duration::days(31));
                Span { from, to, label: format!("{}年{}月", from.year(), from.month()) }
            }
        }
    }

    /// The period before `span`.
    pub fn previous(self, span: &Span) -> Span {
        self.span(span.from - Duration::days(1))
    }
}

/// Local dates `[from, to)` and their name: `2026年第47周`, `2026年11月`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub label: String,
}

impl Span {
    /// The last day, inclusive.
    pub fn last(&self) -> NaiveDate {
        self.to - Duration::days(1)
    }

    /// `2026年11月16日至11月22日`.
    pub fn dates_zh(&self) -> String {
        let (f, l) = (self.from, self.last());
        if f.year() == l.year() {
            format!("{}年{}月{}日至{}月{}日", f.year(), f.month(), f.day(), l.month(), l.day())
        } else {
            format!("{}年{}月{}日至{}年{}月{}日", f.year(), f.month(), f.day(), l.year(), l.month(), l.day())
        }
    }
}

/// What a bulletin covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulletinQuery {
    pub period: Period,
    pub date: NaiveDate,
    /// A district's code: the cases in it.
    pub district: Option<String>,
    /// A brigade's code (its district's): the cases dispatched to it or its officers.
    pub brigade: Option<String>,
}

/// Why a bulletin cannot be made as asked.
#[derive(Debug)]
pub enum BulletinError {
    /// A parameter is wrong: the message (Chinese) names it, never its value.
    BadParam(String),
    /// An officer asked for a district not theirs.
    Forbidden,
    Domain(DomainError),
}

impl From<DomainError> for BulletinError {
    fn from(e: DomainError) -> Self {
        BulletinError::Domain(e)
    }
}

/// A rate as printed, with its change against the previous period.
#[derive(Clone, Debug, PartialEq)]
pub struct RateLine {
    pub value: Option<f64>,
    /// `85.7%`, `—` without a denominator.
    pub text: String,
    pub prev_text: String,
    /// `上升 5.0 个百分点`, `下降 …`, `持平`, `上期无数据`.
    pub change: String,
    /// +1 better, -1 worse, 0 same or not comparable.
    pub trend: i8,
}

/// A count as printed, with its change.
#[derive(Clone, Debug, PartialEq)]
pub struct CountLine {
    pub value: u64,
    pub prev: u64,
    /// `增加 3 件`, `减少 …`, `持平`.
    pub change: String,
    pub trend: i8,
}

pub fn rate_text(r: Option<f64>) -> String {
    match r {
        Some(v) => format!("{:.1}%", v * 100.0),
        None => "—".into(),
    }
}

/// `higher_is_better`: 结案率 yes, 返工率 no.
fn rate_line(now: Option<f64>, prev: Option<f64>, higher_is_better: bool) -> RateLine {
    let (change, trend) = match (now, prev) {
        (Some(n), Some(p)) => {
            // Compare the printed values, so that the change agrees with what is shown.
            let points = ((n - p) * 1000.0).round() / 10.0;
            if points.abs() < 0.05 {
                ("持平".to_owned(), 0)
            } else {
                let up = points > 0.0;
                let word = if up { "上升" } else { "下降" };
                (format!("{word} {:.1} 个百分点", points.abs()), if up == higher_is_better { 1 } else { -1 })
            }
        }
        (Some(_), None) => ("上期无数据".to_owned(), 0),
        (None, _) => ("—".to_owned(), 0),
    };
    RateLine { value: now, text: rate_text(now), prev_text: rate_text(prev), change, trend }
}

fn count_line(now: u64, prev: u64, more_is_better: Option<bool>) -> CountLine {
    let (change, up) = match now.cmp(&prev) {
        std::cmp::Ordering::Equal => ("持平".to_owned(), None),
        std::cmp::Ordering::Greater => (format!("增加 {} 件", now - prev), Some(true)),
        std::cmp::Ordering::Less => (format!("减少 {} 件", prev - now), Some(false)),
    };
    let trend = match (up, more_is_better) {
        (Some(u), Some(b)) if u == b => 1,
        (Some(_), Some(_)) => -1,
        _ => 0,
    };
    CountLine { value: now, prev, change, trend }
}

/// The headline figures of the period.
#[derive(Clone, Debug, PartialEq)]
pub struct Headline {
    pub now: Figures,
    pub prev: Figures,
    /// 受理 (立案) in the period.
    pub registered: CountLine,
    /// 应结案.
    pub due: CountLine,
    /// 结案 (of the due set).
    pub closed: CountLine,
    /// 超期未结.
    pub overdue_open: CountLine,
    pub close_rate: RateLine,
    pub on_time_close_rate: RateLine,
    pub rework_rate: RateLine,
}

impl Headline {
    fn new(now: Figures, prev: Figures) -> Headline {
        Headline {
            registered: count_line(now.registered, prev.registered, None),
            due: count_line(now.due, prev.due, None),
            closed: count_line(now.closed, prev.closed, Some(true)),
            overdue_open: count_line(now.overdue_open, prev.overdue_open, Some(false)),
            close_rate: rate_line(now.close_rate, prev.close_rate, true),
            on_time_close_rate: rate_line(now.on_time_close_rate, prev.on_time_close_rate, true),
            rework_rate: rate_line(now.rework_rate, prev.rework_rate, false),
            now,
            prev,
        }
    }
}

/// What a ranking ranks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RankBy {
    District,
    Brigade,
    Street,
    Unit,
}

impl RankBy {
    pub fn code(self) -> &'static str {
        match self {
            RankBy::District => "district",
            RankBy::Brigade => "brigade",
            RankBy::Street => "street",
            RankBy::Unit => "unit",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            RankBy::District => "各区（县、市）排名",
            RankBy::Brigade => "各执法中队排名",
            RankBy::Street => "各街道排名",
            RankBy::Unit => "各承办单位排名",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// 表扬: first, and better than the last.
    Praise,
    /// 通报批评: last, and worse than the first.
    Criticise,
}

impl Mark {
    pub fn label_zh(self) -> &'static str {
        match self {
            Mark::Praise => "表扬",
            Mark::Criticise => "通报批评",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Mark::Praise => "best",
            Mark::Criticise => "worst",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RankRow {
    pub rank: usize,
    /// The group's key: an org code, or an assignee key (`unit:…`, `officer:…`).
    pub key: String,
    pub name: String,
    pub figures: Figures,
    pub on_time_close_rate: String,
    pub close_rate: String,
    pub rework_rate: String,
    pub mark: Option<Mark>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Ranking {
    pub by: RankBy,
    /// Ranked by 按期结案率 (then by cases due); groups without cases due follow, unranked.
    pub rows: Vec<RankRow>,
    /// The sentence of praise and criticism, if any.
    pub verdict: Option<String>,
}

/// One case overdue and still open at the end of the period.
#[derive(Clone, Debug, PartialEq)]
pub struct OverdueCase {
    pub id: String,
    pub number: String,
    pub category: String,
    pub category_name: String,
    /// The unit (or officer) it is dispatched to.
    pub unit: String,
    /// The deadline, local date.
    pub due: NaiveDate,
    /// Whole days past the deadline (a part of a day counts as one).
    pub days_overdue: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ActivityLine {
    pub code: &'static str,
    pub label: &'static str,
    pub count: u64,
    pub participants: u64,
}

/// The community work of the service logs.
#[derive(Clone, Debug, PartialEq)]
pub struct Community {
    pub activities: Vec<ActivityLine>,
    pub logs: u64,
    pub participants: u64,
    pub complaints: u64,
    /// Answered on the spot.
    pub replies: u64,
    /// Cases opened from a complaint of a service log in the period.
    pub via_case: u64,
    /// More logs than [`LOG_SCAN`]: the counts are of the first ones only.
    pub capped: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Bulletin {
    pub query: BulletinQuery,
    /// `潍坊市奎文区城市管理工作通报（2026年第47周）`.
    pub title: String,
    /// `潍坊市奎文区`, `潍坊市奎文区执法中队`.
    pub scope_name: String,
    /// `潍坊市城市管理局`.
    pub issuer: String,
    pub span: Span,
    pub prev: Span,
    /// The figures count up to this moment (the end of the period, or now if earlier).
    pub as_of: DateTime<Utc>,
    pub headline: Headline,
    pub rankings: Vec<Ranking>,
    pub overdue: Vec<OverdueCase>,
    pub community: Community,
    /// The overview paragraph (一、总体情况).
    pub summary: String,
}

fn org_name(refs: &RefIndex, code: &str) -> String {
    refs.org(code).map(|o| o.name.clone()).unwrap_or_else(|| code.to_owned())
}

fn category_name(refs: &RefIndex, code: &str) -> String {
    if let Some((_, name)) = NOTICE_EXTRA_CATEGORIES.iter().find(|(c, _)| *c == code) {
        return (*name).to_owned();
    }
    refs.category(code).map(|c| c.name.clone()).unwrap_or_else(|| code.to_owned())
}

/// `奎文区执法中队`, an officer's display name (staff, not a party).
pub fn unit_name(refs: &RefIndex, key: &str) -> String {
    if let Some(code) = key.strip_prefix("unit:") {
        return format!("{}执法中队", org_name(refs, code));
    }
    if let Some(id) = key.strip_prefix("officer:") {
        return refs.user(id).map(|u| u.display_name.clone()).unwrap_or_else(|| "（未知账号）".into());
    }
    if key.is_empty() { "（未派遣）".into() } else { key.to_owned() }
}

fn is_district(refs: &RefIndex, code: &str) -> bool {
    refs.org(code).is_some_and(|o| o.level == OrgLevel::District)
}

/// One case: its facts and its street.
struct CaseRow<'a> {
    rec: &'a Record,
    facts: CaseFacts,
    street: String,
}

pub struct BulletinService {
    records: Arc<dyn RecordStore>,
    reference: Arc<ReferenceService>,
    clock: Arc<ServerClock>,
    console: Arc<ConsoleService>,
}

impl BulletinService {
    pub fn new(
        records: Arc<dyn RecordStore>,
        reference: Arc<ReferenceService>,
        clock: Arc<ServerClock>,
        console: Arc<ConsoleService>,
    ) -> Self {
        BulletinService { records, reference, clock, console }
    }

    /// The query an officer may ask: always within their own district (none named: theirs);
    /// admins anything. Unknown codes are refused.
    pub fn scope(&self, caller: &Caller, refs: &RefIndex, mut q: BulletinQuery) -> Result<BulletinQuery, BulletinError> {
        if !(2000..=2099).contains(&q.date.year()) {
            return Err(BulletinError::BadParam("日期应在 2000–2099 年之间（date）".into()));
        }
        if let Some(d) = &q.district
            && !is_district(refs, d)
        {
            return Err(BulletinError::BadParam("不是本市的区（县、市）代码（district）".into()));
        }
        if let Some(b) = &q.brigade
            && !is_district(refs, b)
        {
            return Err(BulletinError::BadParam("不是有效的执法中队代码（brigade）".into()));
        }
        match caller.role {
            Role::Admin => {}
            Role::Officer => match &q.district {
                Some(d) if *d != caller.scope => return Err(BulletinError::Forbidden),
                Some(_) => {}
                None => q.district = Some(caller.scope.clone()),
            },
            Role::GridWorker => return Err(BulletinError::Forbidden),
        }
        Ok(q)
    }

    /// The bulletin of `q` (already [`BulletinService::scope`]d) for `caller`.
    pub async fn bulletin(&self, caller: &Caller, q: BulletinQuery) -> Result<Bulletin, BulletinError> {
        let cache = self.reference.current().await?;
        let refs = &cache.index;
        let q = self.scope(caller, refs, q)?;
        let span = q.period.span(q.date);
        let prev = q.period.previous(&span);
        let now = self.clock.now();
        let (from, to) = (start_of_day(span.from), start_of_day(span.to));
        let as_of = to.min(now);

        // The cases the caller may see, narrowed to the bulletin's district and brigade.
        let cases = self.records.cases(&caller.visibility(refs)).await.map_err(DomainError::from)?;
        let rows: Vec<CaseRow> = cases
            .iter()
            .filter_map(|rec| {
                let f = facts(rec, refs)?;
                let street = refs.grid_place(&rec.org.grid).map(|p| p.street).unwrap_or_default();
                Some(CaseRow { rec, facts: f, street })
            })
            .filter(|r| q.district.as_ref().is_none_or(|d| r.facts.district == *d))
            .filter(|r| q.brigade.as_ref().is_none_or(|b| r.facts.brigade.as_ref() == Some(b)))
            .collect();
        let all: Vec<CaseFacts> = rows.iter().map(|r| r.facts.clone()).collect();
        let total = |from: DateTime<Utc>, to: DateTime<Utc>| figures(&all, from, to, now, GroupBy::Total).remove(0);
        let headline = Headline::new(total(from, to), total(start_of_day(prev.from), start_of_day(prev.to)));

        // Rankings: under the city its districts and brigades; under a district its streets
        // and units; under a brigade its units.
        let mut rankings = Vec::new();
        let wanted: &[RankBy] = match (&q.district, &q.brigade) {
            (None, None) => &[RankBy::District, RankBy::Brigade],
            (Some(_), None) => &[RankBy::Street, RankBy::Unit],
            (_, Some(_)) => &[RankBy::Unit],
        };
        for by in wanted {
            let groups = match by {
                RankBy::District => figures(&all, from, to, now, GroupBy::District),
                RankBy::Brigade => figures(&all, from, to, now, GroupBy::Brigade),
                RankBy::Unit => figures(&all, from, to, now, GroupBy::Unit),
                RankBy::Street => {
                    // The district's figures keyed by street instead.
                    let by_street: Vec<CaseFacts> =
                        rows.iter().map(|r| CaseFacts { district: r.street.clone(), ..r.facts.clone() }).collect();
                    figures(&by_street, from, to, now, GroupBy::District)
                }
            };
            rankings.push(ranking(*by, groups, refs));
        }

        // The cases of the due set still open past their deadline at the end of the period
        // (those the headline's 超期未结 counts).
        let mut overdue: Vec<OverdueCase> = rows
            .iter()
            .filter_map(|r| {
                let f = &r.facts;
                let due = f.due_at?;
                let counted = !f.suspended && !f.voided && due >= from && due < to;
                let open = f.closed_at.is_none_or(|t| t >= as_of);
                if !(counted && open && due < as_of) {
                    return None;
                }
                let RecordBody::Case(c) = &r.rec.body else { return None };
                let minutes = (as_of - due).num_minutes().max(1);
                Some(OverdueCase {
                    id: r.rec.id.to_string(),
                    number: c.number.clone().unwrap_or_else(|| "（待编号）".into()),
                    category: c.category.clone(),
                    category_name: category_name(refs, &c.category),
                    unit: unit_name(refs, &f.unit.clone().unwrap_or_default()),
                    due: local_date(due),
                    days_overdue: (minutes + 1439) / 1440,
                })
            })
            .collect();
        overdue.sort_by(|a, b| b.days_overdue.cmp(&a.days_overdue).then(a.number.cmp(&b.number)));

        let community = self.community(caller, &q, &rows, from, to).await?;
        let city =
            cache.data.orgs.iter().find(|o| o.level == OrgLevel::City).map(|o| o.name.clone()).unwrap_or_else(|| "本市".into());
        let scope_name = match (&q.district, &q.brigade) {
            (None, None) => city.clone(),
            (Some(d), None) => format!("{city}{}", org_name(refs, d)),
            (None, Some(b)) => format!("{city}{}", unit_name(refs, &format!("unit:{b}"))),
            (Some(d), Some(b)) => format!("{city}{}（{}）", org_name(refs, d), unit_name(refs, &format!("unit:{b}"))),
        };
        let title = format!("{scope_name}城市管理工作通报（{}）", span.label);
        let h = &headline;
        let summary = format!(
            "{}（{}），共受理（立案）案件 {} 件，{}；应结案 {} 件，结案 {} 件，结案率 {}，按期结案率 {}（{}）；\
             返工率 {}；截至期末超期未结 {} 件，{}。",
            span.label,
            span.dates_zh(),
            h.registered.value,
            with_prev(&h.registered.change),
            h.due.value,
            h.closed.value,
            h.close_rate.text,
            h.on_time_close_rate.text,
            with_prev(&h.on_time_close_rate.change),
            h.rework_rate.text,
            h.overdue_open.value,
            with_prev(&h.overdue_open.change),
        );
        Ok(Bulletin {
            title,
            scope_name,
            issuer: format!("{city}城市管理局"),
            span,
            prev,
            as_of,
            headline,
            rankings,
            overdue,
            community,
            summary,
            query: q,
        })
    }

    async fn community(
        &self,
        caller: &Caller,
        q: &BulletinQuery,
        rows: &[CaseRow<'_>],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Community, DomainError> {
        // Service logs are by grid workers: a brigade's are those of its district.
        let org = q.district.clone().or(q.brigade.clone());
        let filter =
            RecordFilter { kinds: vec![RecordKind::ServiceLog], org, from: Some(from), to: Some(to), ..Default::default() };
        let logs = self.console.collect(caller, &filter, SortKey::OldestFirst, LOG_SCAN).await?;
        let mut c = Community {
            activities: Activity::ALL
                .iter()
                .map(|a| ActivityLine { code: a.as_str(), label: a.label_zh(), count: 0, participants: 0 })
                .collect(),
            logs: logs.len() as u64,
            participants: 0,
            complaints: 0,
            replies: 0,
            via_case: 0,
            capped: logs.len() >= LOG_SCAN,
        };
        for r in &logs {
            if let RecordBody::ServiceLog(l) = &r.body {
                if let Some(a) = c.activities.iter_mut().find(|a| a.code == l.activity.as_str()) {
                    a.count += 1;
                    a.participants += u64::from(l.participants);
                }
                c.participants += u64::from(l.participants);
                c.complaints += l.complaints.len() as u64;
                c.replies += l.replies.len() as u64;
            }
        }
        c.via_case = rows
            .iter()
            .filter(|r| r.rec.created_at >= from && r.rec.created_at < to)
            .filter(|r| matches!(&r.rec.body, RecordBody::Case(k) if matches!(k.source, CaseSource::ServiceLog { .. })))
            .count() as u64;
        Ok(c)
    }
}

fn with_prev(change: &str) -> String {
    match change {
        "持平" => "与上期持平".into(),
        "—" | "上期无数据" => "上期无可比数据".into(),
        c => format!("较上期{c}"),
    }
}

fn ranking(by: RankBy, groups: Vec<Figures>, refs: &RefIndex) -> Ranking {
    let name = |key: &str| match by {
        RankBy::District | RankBy::Street => {
            if key.is_empty() {
                "（未知）".into()
            } else {
                org_name(refs, key)
            }
        }
        RankBy::Brigade => {
            if key.is_empty() {
                "（未派遣）".into()
            } else {
                unit_name(refs, &format!("unit:{key}"))
            }
        }
        RankBy::Unit => unit_name(refs, key),
    };
    // Cases not dispatched to anyone are no unit's.
    let groups: Vec<Figures> =
        groups.into_iter().filter(|f| !(f.key.is_empty() && matches!(by, RankBy::Brigade | RankBy::Unit))).collect();
    let (mut ranked, unranked): (Vec<Figures>, Vec<Figures>) = groups.into_iter().partition(|f| f.on_time_close_rate.is_some());
    ranked.sort_by(|a, b| {
        b.on_time_close_rate
            .partial_cmp(&a.on_time_close_rate)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(b.due.cmp(&a.due))
            .then(a.key.cmp(&b.key))
    });
    let n = ranked.len();
    let spread = n >= 2 && ranked[0].on_time_close_rate > ranked[n - 1].on_time_close_rate;
    let row = |rank: usize, f: Figures, mark: Option<Mark>| RankRow {
        rank,
        name: name(&f.key),
        key: f.key.clone(),
        on_time_close_rate: rate_text(f.on_time_close_rate),
        close_rate: rate_text(f.close_rate),
        rework_rate: rate_text(f.rework_rate),
        figures: f,
        mark,
    };
    let mut rows: Vec<RankRow> = ranked
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            let mark = match i {
                0 if spread => Some(Mark::Praise),
                i if spread && i == n - 1 => Some(Mark::Criticise),
                _ => None,
            };
            row(i + 1, f, mark)
        })
        .collect();
    let verdict = if spread {
        let best = &rows[0];
        let worst = &rows[n - 1];
        Some(format!(
            "{}按期结案率 {}，排名第一，予以表扬；{}按期结案率 {}，排名末位，予以通报批评，请认真分析原因，限期整改。",
            best.name, best.on_time_close_rate, worst.name, worst.on_time_close_rate
        ))
    } else {
        None
    };
    rows.extend(unranked.into_iter().map(|f| row(0, f, None)));
    Ranking { by, rows, verdict }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn weeks_and_months() {
        let w = Period::Week.span(d(2026, 11, 18));
        assert_eq!((w.from, w.to, w.label.as_str()), (d(2026, 11, 16), d(2026, 11, 23), "2026年第47周"));
        let p = Period::Week.previous(&w);
        assert_eq!((p.from, p.label.as_str()), (d(2026, 11, 9), "2026年第46周"));
        let m = Period::Month.span(d(2026, 11, 30));
        assert_eq!((m.from, m.to, m.label.as_str()), (d(2026, 11, 1), d(2026, 12, 1), "2026年11月"));
        assert_eq!(Period::Month.previous(&Period::Month.span(d(2026, 1, 5))).label, "2025年12月");
        // ISO: 2027-01-01 is a Friday of 2026's week 53.
        assert_eq!(Period::Week.span(d(2027, 1, 1)).label, "2026年第53周");
        assert_eq!(m.dates_zh(), "2026年11月1日至11月30日");
    }

    #[test]
    fn changes_read_as_better_or_worse() {
        let r = rate_line(Some(0.9), Some(0.8), true);
        assert_eq!((r.text.as_str(), r.change.as_str(), r.trend), ("90.0%", "上升 10.0 个百分点", 1));
        let r = rate_line(Some(0.2), Some(0.1), false);
        assert_eq!((r.change.as_str(), r.trend), ("上升 10.0 个百分点", -1));
        assert_eq!(rate_line(Some(0.5), None, true).change, "上期无数据");
        assert_eq!(rate_line(None, Some(0.5), true).text, "—");
        let c = count_line(2, 5, Some(false));
        assert_eq!((c.change.as_str(), c.trend), ("减少 3 件", 1));
        assert_eq!(count_line(4, 4, None).change, "持平");
    }

    #[test]
    fn best_and_worst_are_marked_only_when_they_differ() {
        let f = |key: &str, due: u64, ok: u64| Figures {
            key: key.into(),
            due,
            closed_on_time: ok,
            on_time_close_rate: (due > 0).then(|| ok as f64 / due as f64),
            ..Default::default()
        };
        let refs = gridwork_core::fixtures::refs();
        let r = ranking(RankBy::District, vec![f("370702", 2, 1), f("370705", 4, 4), f("370799", 0, 0)], &refs);
        assert_eq!(r.rows.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(), ["370705", "370702", "370799"]);
        assert_eq!(r.rows[0].mark, Some(Mark::Praise));
        assert_eq!(r.rows[1].mark, Some(Mark::Criticise));
        assert_eq!((r.rows[2].rank, r.rows[2].mark), (0, None), "no cases due: not ranked");
        assert!(r.verdict.as_deref().is_some_and(|v| v.contains("奎文区") && v.contains("通报批评")));
        let tie = ranking(RankBy::District, vec![f("370702", 2, 2), f("370705", 4, 4)], &refs);
        assert!(tie.rows.iter().all(|r| r.mark.is_none()) && tie.verdict.is_none());
    }
}
