//! The periodic bulletin (通报) through the whole router on a real SQLite store: cases
//! seeded through the push path at their own times (the server's wall clock moved to each
//! step, the deadline job running before each, as the demo city's history is seeded), then
//! the page's figures against what the seed says they must be, the comparison with the
//! week before, the ranking's best and worst, the overdue list, the community work, the
//! links behind the figures, the PDF's text (`pdftotext`), bad parameters and officers.

mod common;

use axum::http::StatusCode;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use common::browser::{Browser, html_error};
use common::{Harness, harness};
use gridwork_core::cases::{Assignee, Case, CaseSource, CaseStep, StepAction};
use gridwork_core::fixtures;
use gridwork_core::hlc::Hlc;
use gridwork_core::model::{Activity, OrgRef, RecordBody, ServiceLog, Status};
use gridwork_core::protocol::{NewRecord, Op, OpAction, Outcome};
use gridwork_core::reference::UserInfo;
use gridwork_core::worktime::{china, local_date, start_of_day};
use gridwork_server::app;
use gridwork_server::config::PdfFont;
use gridwork_server::domain::access::Caller;
use std::collections::HashMap;
use uuid::Uuid;

fn unescape(s: &str) -> String {
    s.replace("&#38;", "&").replace("&amp;", "&").replace("&#x2f;", "/").replace("&#x27;", "'").replace("&quot;", "\"")
}

/// How a seeded case goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Story {
    /// Handled and verified before its deadline.
    OnTime,
    /// Handled and closed after its deadline, within the week it was due.
    Late,
    /// Never handled: overdue.
    Open,
    /// The first 核查 fails; handled again and closed, before the deadline.
    Rework,
}

struct Seed {
    name: &'static str,
    /// Monday of the week before the one it is due in: opened and dispatched then.
    opened_week: NaiveDate,
    grid: &'static str,
    /// `unit` (the district's brigade) or `officer` (the district's officer).
    to: &'static str,
    story: Story,
    category: &'static str,
}

/// `day` at `h:m` China time.
fn at(day: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    day.and_hms_opt(h, m, 0).expect("time").and_local_timezone(china()).single().expect("local").with_timezone(&Utc)
}

struct Event {
    at: DateTime<Utc>,
    who: String,
    record: Uuid,
    action: OpAction,
}

struct World {
    /// Monday of the bulletin's week (three weeks back).
    monday: NaiveDate,
    seeds: Vec<Seed>,
    ids: HashMap<&'static str, Uuid>,
    logs: Vec<(&'static str, u32, u32, u32)>,
}

fn users(refs: &gridwork_core::reference::ReferenceData) -> HashMap<String, UserInfo> {
    refs.users.iter().map(|u| (u.username.clone(), u.clone())).collect()
}

fn district_of(grid: &str) -> (&'static str, &'static str, &'static str) {
    // (district, officer, grid worker)
    if grid == fixtures::GRID {
        (fixtures::DISTRICT, "officer.kw", "grid.kw01")
    } else {
        (fixtures::OTHER_DISTRICT, "officer.wc", "grid.wc01")
    }
}

/// The seeded weeks: the bulletin's week W (cases due on its Monday) and the week before,
/// P (cases due on its Monday); service logs and a case opened from one in W.
async fn seed(h: &Harness) -> World {
    let today = local_date(Utc::now());
    let this_monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let monday = this_monday - Duration::days(21);
    let (w_1, w_2) = (monday - Duration::days(7), monday - Duration::days(14));
    use Story::*;
    let seeds = vec![
        Seed { name: "P1", opened_week: w_2, grid: fixtures::GRID, to: "unit", story: OnTime, category: "09006" },
        Seed { name: "P2", opened_week: w_2, grid: fixtures::GRID, to: "unit", story: Late, category: "09006" },
        Seed { name: "K1", opened_week: w_1, grid: fixtures::GRID, to: "unit", story: OnTime, category: "09006" },
        Seed { name: "K2", opened_week: w_1, grid: fixtures::GRID, to: "officer", story: Late, category: "06036" },
        Seed { name: "K3", opened_week: w_1, grid: fixtures::GRID, to: "unit", story: Open, category: "06036" },
        Seed { name: "K4", opened_week: w_1, grid: fixtures::GRID, to: "unit", story: Rework, category: "09006" },
        Seed { name: "C1", opened_week: w_1, grid: fixtures::OTHER_GRID, to: "unit", story: OnTime, category: "09006" },
        Seed { name: "C2", opened_week: w_1, grid: fixtures::OTHER_GRID, to: "unit", story: OnTime, category: "06036" },
    ];
    let refs = h.state.reference().current().await.expect("refs");
    let people = users(&refs.data);
    let org = |grid: &str| {
        let place = refs.index.grid_place(grid).expect("grid");
        OrgRef { community: place.community, grid: place.grid }
    };
    let new = |grid: &str, at: DateTime<Utc>, body: RecordBody| {
        let status = body.kind().initial_status();
        OpAction::Create(NewRecord { org: org(grid), created_at: at, location: fixtures::location(), status, body })
    };
    let step = |from: Status, action: StepAction| OpAction::Step(CaseStep { from, action, note: None, photos: vec![] });
    let mut events = Vec::new();
    let mut ids = HashMap::new();
    for s in &seeds {
        let id = Uuid::now_v7();
        ids.insert(s.name, id);
        let (district, officer, worker) = district_of(s.grid);
        let d = s.opened_week;
        let case = Case::opened(CaseSource::Hotline, s.category.into(), format!("测试案件{}", s.name), vec![]);
        events.push(Event {
            at: at(d, 9, 30),
            who: "admin".into(),
            record: id,
            action: new(s.grid, at(d, 9, 30), RecordBody::Case(case)),
        });
        let to = match s.to {
            "unit" => Assignee::Unit { code: district.into() },
            _ => Assignee::Officer { user_id: people[officer].id.clone() },
        };
        events.push(Event {
            at: at(d, 10, 0),
            who: "admin".into(),
            record: id,
            action: step(Status::Registered, StepAction::Dispatch { to }),
        });
        let due_monday = d + Duration::days(7);
        let mut ev = |day: NaiveDate, h: u32, who: &str, action: OpAction| {
            events.push(Event { at: at(day, h, 0), who: who.into(), record: id, action });
        };
        match s.story {
            OnTime => {
                ev(d + Duration::days(2), 10, officer, step(Status::Dispatched, StepAction::Handle));
                ev(d + Duration::days(2), 14, worker, step(Status::Handled, StepAction::Verify { passed: true }));
            }
            Late => {
                ev(due_monday + Duration::days(1), 10, officer, step(Status::Dispatched, StepAction::Handle));
                ev(due_monday + Duration::days(2), 10, worker, step(Status::Handled, StepAction::Verify { passed: true }));
            }
            Rework => {
                ev(d + Duration::days(1), 10, officer, step(Status::Dispatched, StepAction::Handle));
                ev(d + Duration::days(2), 10, worker, step(Status::Handled, StepAction::Verify { passed: false }));
                ev(d + Duration::days(3), 10, officer, step(Status::Dispatched, StepAction::Handle));
                ev(d + Duration::days(3), 11, worker, step(Status::Handled, StepAction::Verify { passed: true }));
            }
            Open => {}
        }
    }
    // Community work in W: (grid worker, participants, complaints, replies).
    let logs = vec![("grid.kw01", 6, 2, 1), ("grid.wc01", 10, 1, 1)];
    let mut first_log = None;
    for (i, (worker, participants, complaints, replies)) in logs.iter().enumerate() {
        let id = Uuid::now_v7();
        first_log.get_or_insert(id);
        let grid = people[*worker].scope.clone();
        let t = at(monday + Duration::days(1 + i as i64), 15, 0);
        let log = ServiceLog {
            date: local_date(t),
            activity: if i == 0 { Activity::HomeVisit } else { Activity::Forum },
            participants: *participants,
            summary: "入户走访，宣传门前五包".into(),
            complaints: (0..*complaints).map(|k| format!("意见{k}")).collect(),
            replies: (0..*replies).map(|k| format!("答复{k}")).collect(),
            linked_reports: vec![],
            photos: vec![],
            stall: None,
        };
        events.push(Event { at: t, who: (*worker).into(), record: id, action: new(&grid, t, RecordBody::ServiceLog(log)) });
    }
    // A complaint of the first log became a case in W (registered in W, due the week after).
    let k5 = Uuid::now_v7();
    ids.insert("K5", k5);
    let source = CaseSource::ServiceLog { id: first_log.expect("log"), complaint: 0 };
    let t = at(monday + Duration::days(1), 16, 0);
    let case = Case::opened(source, "06036".into(), "走访中群众反映堆物".into(), vec![]);
    events.push(Event { at: t, who: "admin".into(), record: k5, action: new(fixtures::GRID, t, RecordBody::Case(case)) });
    events.push(Event {
        at: t + Duration::minutes(10),
        who: "admin".into(),
        record: k5,
        action: step(Status::Registered, StepAction::Dispatch { to: Assignee::Unit { code: fixtures::DISTRICT.into() } }),
    });

    // Replay in time order on the server's clock, the deadline job running before each.
    events.sort_by_key(|e| e.at);
    let wall = h.state.clock().wall().clone();
    for (n, e) in events.into_iter().enumerate() {
        let u = &people[&e.who];
        let caller =
            Caller { user_id: u.id.clone(), device_id: format!("device-{}", u.username), role: u.role, scope: u.scope.clone() };
        wall.shift(e.at - Utc::now());
        h.state.deadlines().run_once().await.expect("deadlines");
        let millis = u64::try_from(e.at.timestamp_millis()).expect("ms");
        let op = Op {
            op_id: Uuid::now_v7(),
            record_id: e.record,
            hlc: Hlc::new(millis, n as u32, format!("dev{}", n % 5)),
            action: e.action,
        };
        let answer = h.state.sync().push(&caller, vec![op]).await.expect("push");
        assert!(answer.results.iter().all(|r| r.outcome == Outcome::Accepted), "{:?}", answer.results);
    }
    wall.shift(Duration::zero());
    h.state.deadlines().run_once().await.expect("deadlines");
    World { monday, seeds, ids, logs }
}

/// The figures the seed says a set of cases due in one week has.
struct Expected {
    due: u64,
    closed: u64,
    on_time: u64,
    reworked: u64,
    overdue: u64,
}

impl Expected {
    fn of<'a>(seeds: impl Iterator<Item = &'a Seed>) -> Expected {
        let mut e = Expected { due: 0, closed: 0, on_time: 0, reworked: 0, overdue: 0 };
        for s in seeds {
            e.due += 1;
            match s.story {
                Story::OnTime => (e.closed, e.on_time) = (e.closed + 1, e.on_time + 1),
                Story::Rework => (e.closed, e.on_time, e.reworked) = (e.closed + 1, e.on_time + 1, e.reworked + 1),
                Story::Late => e.closed += 1,
                Story::Open => e.overdue += 1,
            }
        }
        e
    }

    /// Every closed case was handled (handled = closed here).
    fn rates(&self) -> (String, String, String) {
        let pct = |n: u64, d: u64| if d == 0 { "—".to_owned() } else { format!("{:.1}%", n as f64 * 100.0 / d as f64) };
        (pct(self.closed, self.due), pct(self.on_time, self.due), pct(self.reworked, self.closed))
    }
}

/// The text of the element with this id (up to its closing tag).
fn by_id<'a>(page: &'a str, id: &str) -> &'a str {
    let at = page.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in {page}"));
    let rest = &page[at..];
    let start = rest.find('>').expect(">") + 1;
    let end = rest[start..].find('<').expect("<") + start;
    &rest[start..end]
}

fn section<'a>(page: &'a str, id: &str) -> &'a str {
    let at = page.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id}"));
    let end = page[at..].find("</section>").expect("section end") + at;
    &page[at..end]
}

/// The row of a table section marked `class`.
fn marked_row<'a>(section: &'a str, class: &str) -> &'a str {
    let at = section.find(&format!("<tr class=\"{class}\">")).unwrap_or_else(|| panic!("no {class} row in {section}"));
    let end = section[at..].find("</tr>").expect("row end") + at;
    &section[at..end]
}

fn week_label(monday: NaiveDate) -> String {
    let w = monday.iso_week();
    format!("{}年第{}周", w.year(), w.week())
}

fn href_of(page: &str, id: &str) -> String {
    let at = page.find(&format!("id=\"{id}\"")).expect("id");
    let before = &page[..at];
    let h = before.rfind("href=\"").expect("href") + "href=\"".len();
    unescape(before[h..].split('"').next().expect("href"))
}

fn pdf_text(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("b.pdf");
    std::fs::write(&path, bytes).expect("write");
    let out = std::process::Command::new("pdftotext").arg("-enc").arg("UTF-8").arg(&path).arg("-").output().expect("pdftotext");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

#[tokio::test]
async fn the_week_bulletin_shows_the_seeded_figures_against_the_week_before_and_prints_the_same() {
    let h = harness().await;
    let w = seed(&h).await;
    let (monday, prev_monday) = (w.monday, w.monday - Duration::days(7));
    // The seed did what it says: the deadlines fall on the Mondays of W and P.
    for s in &w.seeds {
        let rec = h.state.stores().records.get(w.ids[s.name]).await.expect("get").expect("record");
        let RecordBody::Case(c) = &rec.body else { panic!("a case") };
        assert_eq!(local_date(c.due_at.expect("due")), s.opened_week + Duration::days(7), "{}", s.name);
    }
    let this_week: Vec<&Seed> = w.seeds.iter().filter(|s| s.opened_week + Duration::days(7) == monday).collect();
    let last_week: Vec<&Seed> = w.seeds.iter().filter(|s| s.opened_week + Duration::days(7) == prev_monday).collect();
    let now = Expected::of(this_week.iter().copied());
    let prev = Expected::of(last_week.iter().copied());
    let (close, on_time, rework) = now.rates();
    let (_, prev_on_time, _) = prev.rates();
    // Registered in W: only the case from the service log; in P: the cases due in W.
    let registered_now = 1;
    let registered_prev = this_week.len();

    let mut b = Browser::signed_in(&h, "admin").await;
    let url = format!("/admin/bulletin?period=week&date={}", monday + Duration::days(2));
    let page = b.page(&url).await;
    let title = format!("潍坊市城市管理工作通报（{}）", week_label(monday));
    assert_eq!(by_id(&page, "bulletin-title"), title);
    assert!(page.contains("href=\"/admin/bulletin\""), "the nav link 通报");
    assert_eq!(by_id(&page, "kpi-registered"), format!("{registered_now} 件"));
    assert_eq!(by_id(&page, "prev-registered"), format!("{registered_prev} 件"));
    assert_eq!(by_id(&page, "kpi-due"), format!("{} 件", now.due));
    assert_eq!(by_id(&page, "kpi-closed"), format!("{} 件", now.closed));
    assert_eq!(by_id(&page, "kpi-close_rate"), close);
    assert_eq!(by_id(&page, "kpi-on_time_close_rate"), on_time);
    assert_eq!(by_id(&page, "kpi-rework_rate"), rework);
    assert_eq!(by_id(&page, "kpi-overdue_open"), format!("{} 件", now.overdue));
    // Against P.
    assert_eq!(by_id(&page, "prev-on_time_close_rate"), prev_on_time);
    let points = ((now.on_time as f64 / now.due as f64 - prev.on_time as f64 / prev.due as f64) * 1000.0).round() / 10.0;
    assert!(points > 0.0);
    assert_eq!(by_id(&page, "change-on_time_close_rate"), format!("上升 {points:.1} 个百分点"));
    assert_eq!(by_id(&page, "change-registered"), format!("减少 {} 件", registered_prev - registered_now));
    assert!(page.contains("class=\"trend better\" id=\"change-on_time_close_rate\""));

    // The same figures as the figures page's service.
    let refs = h.state.reference().current().await.expect("refs");
    let admin = refs.data.users.iter().find(|u| u.username == "admin").expect("admin");
    let caller = Caller { user_id: admin.id.clone(), device_id: "d".into(), role: admin.role, scope: admin.scope.clone() };
    let total = h
        .state
        .figures()
        .figures(&caller, monday, monday + Duration::days(7), gridwork_server::domain::figures::GroupBy::Total)
        .await
        .expect("figures")
        .remove(0);
    assert_eq!(
        (total.due, total.closed, total.overdue_open, total.registered),
        (now.due, now.closed, now.overdue, registered_now as u64)
    );
    assert_eq!(by_id(&page, "kpi-on_time_close_rate"), format!("{:.1}%", total.on_time_close_rate.expect("rate") * 100.0));

    // The districts: 潍城区 all on time (best, 表扬), 奎文区 not (worst, 通报批评).
    let kw = Expected::of(this_week.iter().copied().filter(|s| s.grid == fixtures::GRID));
    let wc = Expected::of(this_week.iter().copied().filter(|s| s.grid == fixtures::OTHER_GRID));
    let (kw_on_time, wc_on_time) = (kw.rates().1, wc.rates().1);
    assert!(wc.on_time * kw.due > kw.on_time * wc.due, "the seed makes 潍城区 better");
    let districts = section(&page, "ranking-district");
    let best = marked_row(districts, "best");
    assert!(best.contains("潍城区") && best.contains(&wc_on_time) && best.contains("表扬"), "{best}");
    let worst = marked_row(districts, "worst");
    assert!(worst.contains("奎文区") && worst.contains(&kw_on_time) && worst.contains("通报批评"), "{worst}");
    assert!(districts.contains("排名末位，予以通报批评"));
    let brigades = section(&page, "ranking-brigade");
    assert!(marked_row(brigades, "worst").contains("奎文区执法中队"));

    // The overdue case, by number, category, unit and days past its deadline (to the end of W).
    let k3 = h.state.stores().records.get(w.ids["K3"]).await.expect("get").expect("K3");
    let RecordBody::Case(c3) = &k3.body else { panic!("case") };
    let number = c3.number.clone().expect("numbered");
    let end = start_of_day(monday + Duration::days(7));
    let days = ((end - c3.due_at.expect("due")).num_minutes() + 1439) / 1440;
    let overdue = section(&page, "overdue");
    assert!(overdue.contains(&number), "{overdue}");
    assert!(overdue.contains("06036 堆物堆料") && overdue.contains("奎文区执法中队") && overdue.contains(&format!("{days} 天")));
    assert_eq!(overdue.matches("/admin/records/").count() as u64, now.overdue, "the headline's 超期未结, one row each");
    assert!(!page.contains(&w.ids["K1"].to_string()), "closed cases are not listed");

    // Community work.
    let participants: u32 = w.logs.iter().map(|l| l.1).sum();
    let complaints: u32 = w.logs.iter().map(|l| l.2).sum();
    let replies: u32 = w.logs.iter().map(|l| l.3).sum();
    let community = section(&page, "community");
    let line =
        format!("参与群众 {participants} 人次；收到意见建议 {complaints} 条，现场答复 {replies} 条，转立案件协调解决 1 件");
    assert!(community.contains(&line), "{community}");
    assert!(community.contains(&format!(">{}</a> 次", w.logs.len())));

    // Links behind the figures: the overdue count opens the table with K3 in it; the
    // registered count the cases registered in W (only K5).
    let overdue_table = b.page(&href_of(&page, "kpi-overdue_open")).await;
    assert!(overdue_table.contains(&format!("data-id=\"{}\"", w.ids["K3"])), "K3 behind 超期未结");
    let registered = href_of(&page, "kpi-registered");
    assert!(registered.starts_with("/admin/records?") && registered.contains("kind=case"), "{registered}");
    let registered_table = b.page(&registered).await;
    assert!(registered_table.contains(&format!("data-id=\"{}\"", w.ids["K5"])));
    assert!(
        !registered_table.contains(&format!("data-id=\"{}\"", w.ids["K1"])),
        "{registered}: {:?} K1 {}",
        registered_table.split("<tr data-id=\"").skip(1).map(|s| s.split('"').next().unwrap()).collect::<Vec<_>>(),
        w.ids["K1"]
    );
    // The form keeps the query, and the PDF link has the same one.
    assert!(page.contains("<option value=\"week\" selected>"));
    let pdf_url = href_of(&page, "bulletin-pdf");
    assert!(pdf_url.starts_with("/admin/bulletin.pdf?period=week&date="), "{pdf_url}");
    // Nothing personal: no party data (the fixtures' 张某 / phone) — the cases have none anyway.
    assert!(!page.contains("1380536"));

    // The PDF: the title and the same headline figures.
    let r = b.get(&pdf_url).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), "application/pdf");
    let cd = r.header("content-disposition").to_owned();
    assert!(cd.starts_with("attachment; filename=\"bulletin-week-") && cd.contains(".pdf\"; filename*=UTF-8''"), "{cd}");
    assert!(cd.is_ascii());
    assert!(r.body.starts_with(b"%PDF-"));
    if let Some(dir) = std::env::var_os("BULLETIN_DUMP") {
        std::fs::write(std::path::Path::new(&dir).join("bulletin.pdf"), &r.body).expect("dump");
        std::fs::write(std::path::Path::new(&dir).join("bulletin.html"), &page).expect("dump");
    }
    let pdf = squash(&pdf_text(&r.body));
    assert!(pdf.contains(&squash(&title)), "{pdf}");
    for id in [
        "kpi-registered",
        "kpi-due",
        "kpi-closed",
        "kpi-close_rate",
        "kpi-on_time_close_rate",
        "kpi-rework_rate",
        "kpi-overdue_open",
    ] {
        assert!(pdf.contains(&squash(by_id(&page, id))), "{id} {} in {pdf}", by_id(&page, id));
    }
    assert!(pdf.contains(&squash(by_id(&page, "summary"))), "the same overview");
    assert!(pdf.contains(&number) && pdf.contains("通报批评") && pdf.contains("表扬"));
}

#[tokio::test]
async fn a_district_ranks_its_units_and_officers_stay_in_their_district() {
    let h = harness().await;
    let w = seed(&h).await;
    let date = w.monday + Duration::days(3);
    let this_week: Vec<&Seed> = w.seeds.iter().filter(|s| s.opened_week + Duration::days(7) == w.monday).collect();
    let kw = Expected::of(this_week.iter().copied().filter(|s| s.grid == fixtures::GRID));

    let mut admin = Browser::signed_in(&h, "admin").await;
    let page = admin.page(&format!("/admin/bulletin?period=week&date={date}&district={}", fixtures::DISTRICT)).await;
    assert_eq!(by_id(&page, "bulletin-title"), format!("潍坊市奎文区城市管理工作通报（{}）", week_label(w.monday)));
    assert_eq!(by_id(&page, "kpi-due"), format!("{} 件", kw.due));
    assert_eq!(by_id(&page, "kpi-on_time_close_rate"), kw.rates().1);
    // Units: the brigade's unit beats the officer whose case was closed late.
    let unit = Expected::of(this_week.iter().copied().filter(|s| s.grid == fixtures::GRID && s.to == "unit"));
    let units = section(&page, "ranking-unit");
    let best = marked_row(units, "best");
    assert!(best.contains("奎文区执法中队") && best.contains(&unit.rates().1), "{best}");
    assert!(marked_row(units, "worst").contains("测试officer.kw"));
    assert!(page.contains("id=\"ranking-street\"") && page.contains("东关街道"));
    // Links carry the district.
    assert!(href_of(&page, "kpi-due").contains(&format!("org={}", fixtures::DISTRICT)));

    // A brigade's bulletin.
    let page = admin.page(&format!("/admin/bulletin?date={date}&brigade={}", fixtures::OTHER_DISTRICT)).await;
    assert!(by_id(&page, "bulletin-title").starts_with("潍坊市潍城区执法中队城市管理工作通报"));

    // A month's bulletin.
    let page = admin.page(&format!("/admin/bulletin?period=month&date={date}")).await;
    let month = w.monday + Duration::days(3);
    assert!(by_id(&page, "bulletin-title").ends_with(&format!("（{}年{}月）", month.year(), month.month())));

    // An officer of 潍城区: their own district by default; 奎文区 refused, page and PDF.
    let mut wc = Browser::signed_in(&h, "officer.wc").await;
    let page = wc.page(&format!("/admin/bulletin?period=week&date={date}")).await;
    assert!(by_id(&page, "bulletin-title").starts_with("潍坊市潍城区城市管理工作通报"), "scoped to their district");
    let wc_due = this_week.iter().filter(|s| s.grid == fixtures::OTHER_GRID).count();
    assert_eq!(by_id(&page, "kpi-due"), format!("{wc_due} 件"));
    let article = &page[page.find("id=\"bulletin\"").expect("article")..];
    assert!(!article.contains("奎文区"), "nothing of 奎文区: {article}");
    let select = &page[page.find("id=\"bulletin-district\"").expect("select")..];
    let select = &select[..select.find("</select>").expect("end")];
    assert!(!select.contains(fixtures::DISTRICT) && select.contains(fixtures::OTHER_DISTRICT), "only their district: {select}");
    for path in ["/admin/bulletin", "/admin/bulletin.pdf"] {
        let r = wc.get(&format!("{path}?period=week&date={date}&district={}", fixtures::DISTRICT)).await;
        html_error(&r, StatusCode::FORBIDDEN, "forbidden");
    }
    let r = wc.get(&format!("/admin/bulletin?district={}", fixtures::OTHER_DISTRICT)).await;
    assert_eq!(r.status, StatusCode::OK);
    // Grid workers have no console at all.
    let anon = Browser::new(&h).get("/admin/bulletin").await;
    assert_eq!(anon.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn bad_parameters_are_400_pages_and_no_font_is_a_503_page() {
    let h = harness().await;
    let mut b = Browser::signed_in(&h, "admin").await;
    for (query, word) in [
        ("period=year", "period"),
        ("date=2026-13-40", "date"),
        ("date=yesterday", "date"),
        ("date=1999-12-31", "date"),
        ("district=999999", "district"),
        ("district=370705001", "district"),
        ("brigade=nope", "brigade"),
    ] {
        for path in ["/admin/bulletin", "/admin/bulletin.pdf"] {
            let r = b.get(&format!("{path}?{query}")).await;
            let t = html_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
            let msg = by_id(&t, "error-message");
            assert!(msg.contains(word) && msg.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{query}: {msg}");
        }
    }
    // An empty store still has a bulletin (rates "—").
    let page = b.page("/admin/bulletin").await;
    assert_eq!(by_id(&page, "kpi-close_rate"), "—");

    // Without a usable CJK font the PDF is refused with a clear page; the HTML still works.
    let dir = tempfile::tempdir().expect("tempdir");
    let not_a_font = dir.path().join("font.ttf");
    std::fs::write(&not_a_font, b"not a font").expect("write");
    for font in [PdfFont::none(), PdfFont::at(Some(not_a_font.clone())), PdfFont::at(Some(dir.path().join("missing.ttf")))] {
        let app = app(h.state.clone().with_font(font));
        let h2 = Harness { dir: tempfile::tempdir().expect("tempdir"), state: h.state.clone(), app };
        let mut b2 = Browser { cookies: b.cookies.clone(), ..Browser::new(&h2) };
        let r = b2.get("/admin/bulletin.pdf?period=month").await;
        let t = html_error(&r, StatusCode::SERVICE_UNAVAILABLE, "no_font");
        assert!(t.contains("未配置中文字体（GRIDWORK_FONT）"), "{t}");
        assert_eq!(b2.get("/admin/bulletin?period=month").await.status, StatusCode::OK);
    }
}
