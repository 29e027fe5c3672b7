//! What the pages show: the navigation bar, names for codes, times in China time, the
//! table's filters (parsed from and written back to the URL, so every view is a
//! bookmarkable link), and rows.

use super::error::ConsoleError;
use super::form::{FormData, encode};
use crate::domain::query::{BBox, PageAfter, RecordFilter, SortKey};
use crate::service::console_sessions::ConsoleSession;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use gridwork_core::cases::Assignee;
use gridwork_core::model::{Record, RecordBody, RecordKind, Role, Status};
use gridwork_core::reference::{NOTICE_EXTRA_CATEGORIES, OrgLevel, RefIndex, ReferenceData};
use gridwork_core::worktime::{china, start_of_day};
use uuid::Uuid;

/// The navigation bar and what every page needs of the session.
pub struct Nav {
    pub user_name: String,
    pub role_label: &'static str,
    pub role_code: &'static str,
    pub csrf: String,
    pub may_act: bool,
    pub section: &'static str,
}

impl Nav {
    pub fn new(s: &ConsoleSession, refs: &RefIndex, section: &'static str) -> Nav {
        let caller = &s.session.caller;
        Nav {
            user_name: refs
                .user(&caller.user_id)
                .map(|u| u.display_name.clone())
                .unwrap_or_else(|| s.session.user.display_name.clone()),
            role_label: if caller.role == Role::Admin { "管理员" } else { "执法队员（只读）" },
            role_code: if caller.role == Role::Admin { "admin" } else { "officer · read-only" },
            csrf: s.csrf.clone(),
            may_act: s.may_act(),
            section,
        }
    }

    /// The class of a navigation link.
    pub fn on(&self, section: &str) -> &'static str {
        if self.section == section { "on" } else { "" }
    }
}

/// `2026-11-26 09:30` in China time.
pub fn local_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&china()).format("%Y-%m-%d %H:%M").to_string()
}

pub fn local_date(t: DateTime<Utc>) -> NaiveDate {
    gridwork_core::worktime::local_date(t)
}

pub fn org_name(refs: &RefIndex, code: &str) -> String {
    refs.org(code).map(|o| o.name.clone()).unwrap_or_else(|| code.to_owned())
}

/// `奎文区 东关街道 胜利东街社区 第1网格`.
pub fn place_name(refs: &RefIndex, grid: &str) -> String {
    match refs.grid_place(grid) {
        Some(p) => [p.district, p.street, p.community, p.grid].iter().map(|c| org_name(refs, c)).collect::<Vec<_>>().join(" "),
        None => grid.to_owned(),
    }
}

pub fn user_name(refs: &RefIndex, id: &str) -> String {
    if id == gridwork_core::cases::SYSTEM_USER {
        return "系统".into();
    }
    refs.user(id).map(|u| u.display_name.clone()).unwrap_or_else(|| "（未知账号）".into())
}

pub fn category_name(refs: &RefIndex, code: &str) -> String {
    if let Some((_, name)) = NOTICE_EXTRA_CATEGORIES.iter().find(|(c, _)| *c == code) {
        return (*name).to_owned();
    }
    refs.category(code).map(|c| c.name.clone()).unwrap_or_else(|| code.to_owned())
}

/// `奎文区执法中队` / an officer's name.
pub fn assignee_name(refs: &RefIndex, a: &Assignee) -> String {
    match a {
        Assignee::Unit { code } => format!("{}执法中队", org_name(refs, code)),
        Assignee::Officer { user_id } => user_name(refs, user_id),
    }
}

pub fn assignee_key_name(refs: &RefIndex, key: &str) -> String {
    match parse_assignee(key) {
        Some(a) => assignee_name(refs, &a),
        None if key.is_empty() => "（未派遣）".into(),
        None => key.to_owned(),
    }
}

pub fn parse_assignee(key: &str) -> Option<Assignee> {
    if let Some(code) = key.strip_prefix("unit:") {
        return Some(Assignee::Unit { code: code.to_owned() });
    }
    key.strip_prefix("officer:").map(|id| Assignee::Officer { user_id: id.to_owned() })
}

/// An assignee key the reference data knows: a district's brigade or an officer.
pub fn valid_assignee(refs: &RefIndex, key: &str) -> Option<Assignee> {
    match parse_assignee(key)? {
        Assignee::Unit { code } if refs.org(&code).is_some_and(|o| o.level == OrgLevel::District) => {
            Some(Assignee::Unit { code })
        }
        Assignee::Officer { user_id } if refs.user(&user_id).is_some_and(|u| u.role == Role::Officer) => {
            Some(Assignee::Officer { user_id })
        }
        _ => None,
    }
}

/// The number shown for a record: a case's or a notice's, else the end of its id (a
/// UUIDv7 starts with its time: records made the same minute share a start, not an end).
pub fn number_of(rec: &Record) -> String {
    match &rec.body {
        RecordBody::Case(c) => c.number.clone().unwrap_or_else(|| "（待编号）".into()),
        RecordBody::Notice(n) => n.number.clone(),
        _ => {
            let id = rec.id.simple().to_string();
            id[id.len() - 8..].to_owned()
        }
    }
}

pub fn category_of(rec: &Record) -> &str {
    match &rec.body {
        RecordBody::Report(r) => &r.category,
        RecordBody::Notice(n) => &n.category,
        RecordBody::Case(c) => &c.category,
        RecordBody::ServiceLog(l) => l.activity.as_str(),
    }
}

pub fn text_of(rec: &Record) -> String {
    match &rec.body {
        RecordBody::Report(r) => r.description.clone(),
        RecordBody::Notice(n) => n.facts.clone(),
        RecordBody::Case(c) => c.description.clone(),
        RecordBody::ServiceLog(l) => format!("{}：{}", l.activity.label_zh(), l.summary),
    }
}

pub fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_owned() } else { format!("{}…", s.chars().take(max).collect::<String>()) }
}

/// The deadline a record runs against: a case's, a notice's rectification day.
pub fn due_of(rec: &Record) -> Option<DateTime<Utc>> {
    match &rec.body {
        RecordBody::Case(c) => c.due_at,
        RecordBody::Notice(n) => n.deadline.succ_opt().map(start_of_day),
        _ => None,
    }
}

pub fn is_overdue(rec: &Record) -> bool {
    match &rec.body {
        RecordBody::Case(c) => c.overdue,
        RecordBody::Notice(_) => rec.status == Status::Overdue,
        _ => false,
    }
}

/// One row of the table.
pub struct Row {
    pub id: String,
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub number: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub category: String,
    pub category_name: String,
    pub text: String,
    pub place: String,
    pub author: String,
    pub created: String,
    pub due: String,
    pub assignee: String,
    pub overdue: bool,
    pub supervised: bool,
}

impl Row {
    pub fn of(rec: &Record, refs: &RefIndex) -> Row {
        let (assignee, supervised) = match &rec.body {
            RecordBody::Case(c) => (c.assignee.as_ref().map(|a| assignee_name(refs, a)).unwrap_or_default(), c.supervised),
            _ => (String::new(), false),
        };
        let category = category_of(rec).to_owned();
        let category_name = match &rec.body {
            RecordBody::ServiceLog(l) => l.activity.label_zh().to_owned(),
            _ => category_name(refs, &category),
        };
        let place = match refs.grid_place(&rec.org.grid) {
            Some(p) => format!("{} {} {}", org_name(refs, &p.district), org_name(refs, &p.community), org_name(refs, &p.grid)),
            None => rec.org.grid.clone(),
        };
        Row {
            id: rec.id.to_string(),
            kind: rec.kind().as_str(),
            kind_label: rec.kind().label_zh(),
            number: number_of(rec),
            status: rec.status.as_str(),
            status_label: rec.status.label_zh(),
            category,
            category_name,
            text: short(&text_of(rec), 40),
            place,
            author: user_name(refs, &rec.author),
            created: local_time(rec.created_at),
            due: due_of(rec).map(local_time).unwrap_or_default(),
            assignee,
            overdue: is_overdue(rec),
            supervised,
        }
    }
}

/// A choice of a select box.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn choice(value: impl Into<String>, label: impl Into<String>, current: &[String]) -> Choice {
    let value = value.into();
    let selected = current.contains(&value);
    Choice { value, label: label.into(), selected }
}

pub const SORTS: [(&str, &str, SortKey); 4] = [
    ("newest", "最新上报", SortKey::NewestFirst),
    ("oldest", "最早上报", SortKey::OldestFirst),
    ("updated", "最近更新", SortKey::UpdatedFirst),
    ("due", "最近到期", SortKey::DueFirst),
];

pub fn sort_code(s: SortKey) -> &'static str {
    SORTS.iter().find(|(_, _, k)| *k == s).map(|(c, _, _)| *c).unwrap_or("newest")
}

/// The table's filters, as the URL says them.
#[derive(Clone, Debug, Default)]
pub struct TableQuery {
    pub kinds: Vec<RecordKind>,
    pub statuses: Vec<Status>,
    /// 大类 (2 digits) or a notice category.
    pub cat: String,
    /// 小类 (5 digits).
    pub sub: String,
    pub org: String,
    pub from: Option<NaiveDate>,
    /// Inclusive (the filter runs to the start of the next day).
    pub to: Option<NaiveDate>,
    pub overdue: bool,
    pub assignee: String,
    pub author: String,
    pub q: String,
    /// The map's viewport the table follows (`south,west,north,east`, WGS-84).
    pub bbox: Option<BBox>,
    pub sort: SortKey,
    pub limit: u32,
    pub after: Option<PageAfter>,
}

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_TEXT_QUERY: usize = 100;

fn parse_date(form: &FormData, name: &str) -> Result<Option<NaiveDate>, ConsoleError> {
    match form.get(name) {
        None => Ok(None),
        Some(v) => match NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d") {
            Ok(d) if (2000..=2099).contains(&d.year()) => Ok(Some(d)),
            _ => Err(ConsoleError::bad(name, "日期应为 YYYY-MM-DD，2000–2099 年")),
        },
    }
}

/// Is `code` a category a filter may name: a GB/T 47678.5 code of any level, or a notice's.
pub fn known_category(refs: &RefIndex, code: &str) -> bool {
    refs.category(code).is_some() || NOTICE_EXTRA_CATEGORIES.iter().any(|(c, _)| *c == code) || code == "QL"
}

impl TableQuery {
    pub fn parse(form: &FormData, refs: &RefIndex) -> Result<TableQuery, ConsoleError> {
        let mut q = TableQuery { limit: DEFAULT_LIMIT, ..Default::default() };
        for k in form.all("kind") {
            let kind = RecordKind::parse(k).ok_or_else(|| ConsoleError::bad("kind", "不是有效的记录类型"))?;
            if !q.kinds.contains(&kind) {
                q.kinds.push(kind);
            }
        }
        for s in form.all("status") {
            let st = Status::parse(s).ok_or_else(|| ConsoleError::bad("status", "不是有效的状态"))?;
            if !q.statuses.contains(&st) {
                q.statuses.push(st);
            }
        }
        for (name, field) in [("cat", &mut q.cat), ("sub", &mut q.sub)] {
            if let Some(v) = form.get(name) {
                let v = v.trim();
                if !known_category(refs, v) {
                    return Err(ConsoleError::bad(name, "不是有效的分类代码"));
                }
                *field = v.to_owned();
            }
        }
        if !q.cat.is_empty() && !q.sub.is_empty() && !q.sub.starts_with(&q.cat) {
            return Err(ConsoleError::bad("sub", "小类不属于所选大类"));
        }
        if let Some(org) = form.get("org") {
            if refs.org(org.trim()).is_none() {
                return Err(ConsoleError::bad("org", "不是有效的区、街道、社区或网格代码"));
            }
            q.org = org.trim().to_owned();
        }
        q.from = parse_date(form, "from")?;
        q.to = parse_date(form, "to")?;
        if let (Some(f), Some(t)) = (q.from, q.to)
            && t < f
        {
            return Err(ConsoleError::bad("to", "截止日期不能早于开始日期"));
        }
        q.overdue = match form.get("overdue") {
            None => false,
            Some("1" | "on" | "true") => true,
            Some(_) => return Err(ConsoleError::bad("overdue", "应为 1")),
        };
        if let Some(a) = form.get("assignee") {
            if valid_assignee(refs, a.trim()).is_none() {
                return Err(ConsoleError::bad("assignee", "不是有效的承办单位或执法队员"));
            }
            q.assignee = a.trim().to_owned();
        }
        if let Some(a) = form.get("author") {
            if refs.user(a.trim()).is_none() {
                return Err(ConsoleError::bad("author", "不是有效的账号"));
            }
            q.author = a.trim().to_owned();
        }
        if let Some(text) = form.text("q", "搜索内容", MAX_TEXT_QUERY)? {
            q.q = text.replace('\n', " ");
        }
        if let Some(b) = form.get("bbox") {
            q.bbox = Some(BBox::parse(b).ok_or_else(|| ConsoleError::bad("bbox", "地图范围应为 南,西,北,东 四个经纬度"))?);
        }
        if let Some(s) = form.get("sort") {
            q.sort = SORTS
                .iter()
                .find(|(c, _, _)| *c == s)
                .map(|(_, _, k)| *k)
                .ok_or_else(|| ConsoleError::bad("sort", "不是有效的排序"))?;
        }
        if let Some(l) = form.get("limit") {
            q.limit = l
                .parse::<u32>()
                .ok()
                .filter(|l| (10..=200).contains(l))
                .ok_or_else(|| ConsoleError::bad("limit", "每页条数应为10–200"))?;
        }
        match (form.get("after"), form.get("after_id")) {
            (Some(key), Some(id)) => {
                let id = Uuid::parse_str(id).map_err(|_| ConsoleError::bad("after_id", "不是有效的翻页位置"))?;
                if key.len() > 200 {
                    return Err(ConsoleError::bad("after", "不是有效的翻页位置"));
                }
                q.after = Some(PageAfter { key: key.to_owned(), id });
            }
            (None, None) => {}
            _ => return Err(ConsoleError::bad("after", "翻页位置不完整")),
        }
        Ok(q)
    }

    /// The store's filter.
    pub fn filter(&self) -> RecordFilter {
        let category =
            if !self.sub.is_empty() { Some(self.sub.clone()) } else { Some(self.cat.clone()).filter(|c| !c.is_empty()) };
        RecordFilter {
            kinds: self.kinds.clone(),
            statuses: self.statuses.clone(),
            category,
            org: Some(self.org.clone()).filter(|o| !o.is_empty()),
            from: self.from.map(start_of_day),
            to: self.to.map(|t| start_of_day(t + Duration::days(1))),
            overdue: self.overdue.then_some(true),
            assignee: Some(self.assignee.clone()).filter(|a| !a.is_empty()),
            author: Some(self.author.clone()).filter(|a| !a.is_empty()),
            text: Some(self.q.clone()).filter(|q| !q.trim().is_empty()),
            bbox: self.bbox,
        }
    }

    /// The filters as query pairs (without paging).
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut p: Vec<(&'static str, String)> = Vec::new();
        p.extend(self.kinds.iter().map(|k| ("kind", k.as_str().to_owned())));
        p.extend(self.statuses.iter().map(|s| ("status", s.as_str().to_owned())));
        p.push(("cat", self.cat.clone()));
        p.push(("sub", self.sub.clone()));
        p.push(("org", self.org.clone()));
        p.push(("from", self.from.map(|d| d.to_string()).unwrap_or_default()));
        p.push(("to", self.to.map(|d| d.to_string()).unwrap_or_default()));
        if self.overdue {
            p.push(("overdue", "1".into()));
        }
        p.push(("assignee", self.assignee.clone()));
        p.push(("author", self.author.clone()));
        p.push(("q", self.q.clone()));
        p.push(("bbox", self.bbox.map(|b| b.to_string()).unwrap_or_default()));
        p
    }

    /// The query without the map's viewport (the table's "whole area" link).
    pub fn without_bbox(&self) -> String {
        TableQuery { bbox: None, after: None, ..self.clone() }.query()
    }

    /// The query string of this view (filters, sort and page size; not the page).
    pub fn query(&self) -> String {
        let mut p = self.pairs();
        if self.sort != SortKey::NewestFirst {
            p.push(("sort", sort_code(self.sort).into()));
        }
        if self.limit != DEFAULT_LIMIT {
            p.push(("limit", self.limit.to_string()));
        }
        encode(&p)
    }

    /// The query of the page after `next`.
    pub fn next_query(&self, next: &PageAfter) -> String {
        let base = self.query();
        let page = encode(&[("after", next.key.clone()), ("after_id", next.id.to_string())]);
        if base.is_empty() { page } else { format!("{base}&{page}") }
    }

    /// The query with the sort changed (back to the first page).
    pub fn with_sort(&self, sort: SortKey) -> String {
        TableQuery { sort, after: None, ..self.clone() }.query()
    }

    pub fn is_filtered(&self) -> bool {
        self.filter() != RecordFilter::default()
    }
}

/// Select boxes of the filter form.
pub struct FilterChoices {
    pub kinds: Vec<Choice>,
    pub statuses: Vec<Choice>,
    pub cats: Vec<Choice>,
    pub subs: Vec<Choice>,
    pub orgs: Vec<Choice>,
    pub assignees: Vec<Choice>,
    pub authors: Vec<Choice>,
    pub sorts: Vec<Choice>,
}

impl FilterChoices {
    pub fn new(q: &TableQuery, data: &ReferenceData, refs: &RefIndex) -> FilterChoices {
        let kinds_now: Vec<String> = q.kinds.iter().map(|k| k.as_str().to_owned()).collect();
        let statuses_now: Vec<String> = q.statuses.iter().map(|s| s.as_str().to_owned()).collect();
        let kinds = RecordKind::ALL.iter().map(|k| choice(k.as_str(), k.label_zh(), &kinds_now)).collect();
        let statuses = RecordKind::ALL
            .iter()
            .flat_map(|k| {
                let now = &statuses_now;
                Status::ALL.iter().filter(move |s| s.belongs_to(*k)).map(move |s| (k, s, now))
            })
            .filter(|(k, s, _)| !(**k == RecordKind::Case && matches!(s, Status::Closed | Status::Voided)))
            .map(|(k, s, now)| choice(s.as_str(), format!("{}：{}", k.label_zh(), s.label_zh()), now))
            .collect();
        let cat_now = vec![q.cat.clone()];
        let mut cats: Vec<Choice> = data
            .categories
            .iter()
            .filter(|c| c.parent.is_none() || c.code.len() == 2)
            .map(|c| choice(c.code.clone(), format!("{} {}", c.code, c.name), &cat_now))
            .collect();
        cats.push(choice("QL", "QL 七乱（告知单）", &cat_now));
        let sub_now = vec![q.sub.clone()];
        let subs = data
            .categories
            .iter()
            .filter(|c| c.code.len() == 5 && (q.cat.is_empty() || c.code.starts_with(&q.cat)))
            .map(|c| choice(c.code.clone(), format!("{} {}", c.code, c.name), &sub_now))
            .chain(
                NOTICE_EXTRA_CATEGORIES
                    .iter()
                    .filter(|_| q.cat.is_empty() || q.cat == "QL")
                    .map(|(c, n)| choice(*c, format!("{c} {n}"), &sub_now)),
            )
            .collect();
        let org_now = vec![q.org.clone()];
        let orgs = data
            .orgs
            .iter()
            .filter(|o| o.level != OrgLevel::City)
            .map(|o| {
                let label = match o.level {
                    OrgLevel::District => o.name.clone(),
                    OrgLevel::Grid => {
                        format!("{} {}", o.parent.as_deref().map(|p| org_name(refs, p)).unwrap_or_default(), o.name)
                    }
                    _ => o.name.clone(),
                };
                choice(o.code.clone(), format!("{label}（{}）", o.code), &org_now)
            })
            .collect();
        let assignee_now = vec![q.assignee.clone()];
        let mut assignees: Vec<Choice> = data
            .orgs
            .iter()
            .filter(|o| o.level == OrgLevel::District)
            .map(|o| choice(format!("unit:{}", o.code), format!("{}执法中队", o.name), &assignee_now))
            .collect();
        assignees.extend(data.users.iter().filter(|u| u.role == Role::Officer).map(|u| {
            choice(format!("officer:{}", u.id), format!("{}（{}）", u.display_name, org_name(refs, &u.scope)), &assignee_now)
        }));
        let author_now = vec![q.author.clone()];
        let authors = data
            .users
            .iter()
            .map(|u| choice(u.id.clone(), format!("{}（{}）", u.display_name, u.role.label_zh()), &author_now))
            .collect();
        let sort_now = vec![sort_code(q.sort).to_owned()];
        let sorts = SORTS.iter().map(|(c, l, _)| choice(*c, *l, &sort_now)).collect();
        FilterChoices { kinds, statuses, cats, subs, orgs, assignees, authors, sorts }
    }
}
