//! The demo city's history: the last four weeks of the demo accounts' work, as the ops
//! their devices would have pushed, each at its own time. Grid workers file reports and
//! service logs, officers issue notices, and about forty cases run through every stage of
//! the loop: closed on time and late, one sent back by a failed 核查 (返工), one 挂账, one
//! 作废, one extended, one paused, some still being handled, some overdue and 督办, some
//! waiting for 核查 or for dispatch. `seed_demo` replays the events in time order on the
//! server's wall clock moved to each event's time, with the deadline job running before
//! each, so the overdue marks come from the server itself, as they would have.

use super::demo_city;
use crate::domain::access::Caller;
use crate::storage::User;
use anyhow::Context;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use gridwork_core::cases::{Assignee, Case, CaseSource, CaseStep, StepAction};
use gridwork_core::hlc::Hlc;
use gridwork_core::model::{Activity, Location, Notice, OrgRef, Party, RecordBody, Report, Role, ServiceLog, Status};
use gridwork_core::numbering::{NumberBlock, format_number};
use gridwork_core::protocol::{NewRecord, Op, OpAction, RecordPatch};
use gridwork_core::reference::RefIndex;
use gridwork_core::worktime::{china, local_date};
use std::collections::HashMap;
use uuid::Uuid;

const REPORTS: &[(&str, &str)] = &[
    ("09006", "早市摊贩占道经营，影响行人通行"),
    ("06036", "单元楼道口乱堆放杂物，堵塞消防通道"),
    ("06010", "路边暴露垃圾未及时清运"),
    ("09010", "非机动车乱停放，占用盲道"),
    ("06007", "临街窗外沿街晾挂衣物"),
    ("01002", "污水井盖破损，存在安全隐患"),
    ("06029", "夜间露天烧烤，油烟扰民"),
    ("06042", "垃圾箱满溢，周边异味明显"),
    ("09005", "商户店外经营，占用人行道"),
    ("06013", "人行道地砖破损，雨后积水"),
    ("06040", "私设地锁占用公共停车位"),
    ("06051", "盲道缺损，需修复"),
    ("06001", "小区楼顶私搭乱建彩钢房"),
    ("07001", "电线杆上张贴非法小广告"),
];

/// Reports each grid worker filed over the four weeks.
const REPORTS_PER_WORKER: usize = 6;

const LOGS: &[(Activity, u32, &str, &str, &str)] = &[
    (Activity::HomeVisit, 6, "入户走访沿街商户，宣传门前五包责任", "夜间烧烤油烟扰民", "已告知执法中队，三日内现场查看"),
    (Activity::Forum, 18, "社区居民座谈会，听取市容环境意见", "小区周边非机动车停放混乱", "协调物业增设非机动车停车区"),
    (Activity::SiteVisit, 4, "现场查看背街小巷卫生状况", "垃圾清运不及时", "已反馈环卫所增加清运频次"),
    (Activity::ContactCard, 12, "发放城管联系卡，公开网格员电话", "希望早市规范经营时间", "已记录，将与市场监管沟通"),
];

struct NoticeTpl {
    category: &'static str,
    party: &'static str,
    shop: &'static str,
    phone: &'static str,
    facts: &'static str,
    basis: &'static str,
}

const NOTICES: &[NoticeTpl] = &[
    NoticeTpl {
        category: "QL-STALL",
        party: "张某",
        shop: "鲜果坊水果店",
        phone: "13805361234",
        facts: "店外占用人行道摆放水果筐，占道经营",
        basis: "《潍坊市城市市容和环境卫生管理办法》第十六条",
    },
    NoticeTpl {
        category: "QL-PILE",
        party: "李某",
        shop: "顺达五金店",
        phone: "0536-8231234",
        facts: "店门口乱堆放建材杂物",
        basis: "《城市市容和环境卫生管理条例》第十四条",
    },
    NoticeTpl {
        category: "MQWB",
        party: "刘某",
        shop: "好再来餐馆",
        phone: "13905367788",
        facts: "门前责任区油污未清理，未落实门前五包",
        basis: "《潍坊市城市市容和环境卫生管理办法》第九条",
    },
    NoticeTpl {
        category: "09005",
        party: "陈某",
        shop: "便民超市",
        phone: "15953661122",
        facts: "超出门窗摆放货架，店外经营",
        basis: "《潍坊市城市市容和环境卫生管理办法》第十六条",
    },
];

/// How a demo case goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Story {
    /// Handled within the limit, verified, closed, answered.
    OnTime,
    /// Handled after the deadline (the server marks it overdue first), then closed.
    Late,
    /// The first 核查 fails (返工); handled again, closed.
    Rework,
    /// 挂账.
    Suspended,
    /// 作废 right after 立案.
    Voided,
    /// An extension asked for and granted; handled within the new deadline.
    Extended,
    /// 缓办: the clock stopped, still paused.
    Paused,
    /// Dispatched lately, being handled within the limit.
    Handling,
    /// Dispatched days ago and not handled: overdue; the even ones 督办.
    Overdue,
    /// Handled, waiting for 核查.
    Handled,
    /// Registered, waiting for dispatch.
    Registered,
}

/// The stories of the cases opened from reports, in report order (the rest of the reports
/// stay 已上报).
const REPORT_STORIES: &[Story] = {
    use Story::*;
    &[
        OnTime, OnTime, Late, OnTime, Handling, OnTime, Overdue, OnTime, Rework, OnTime, Handled, OnTime, Suspended, OnTime,
        Overdue, Voided, OnTime, Extended, OnTime, Handling, Late, OnTime, Paused, OnTime, Handled, Overdue, Handling,
        Registered, OnTime, Handling, Late, Handled, OnTime, Overdue, Registered, Handling, OnTime,
    ]
};

/// One moment of the demo's history: who pushed what, when.
pub(super) struct DemoEvent {
    pub(super) at: DateTime<Utc>,
    pub(super) caller: Caller,
    pub(super) ops: Vec<Op>,
}

/// The demo's history, in time order.
pub(super) struct DemoPlan {
    pub(super) events: Vec<DemoEvent>,
}

struct Place {
    org: OrgRef,
    address: String,
    lat: f64,
    lon: f64,
}

/// No demo event is older than this (four weeks, moved back past weekends and holidays).
pub(super) const HISTORY_DAYS: i64 = 35;

fn ms(t: DateTime<Utc>) -> u64 {
    u64::try_from(t.timestamp_millis()).unwrap_or(0)
}

/// A stable device id per demo account, so the demo records show one device per person.
fn demo_device(name: &str) -> String {
    // FNV-1a of the name fills the 128 bits: stable across runs.
    let h = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3));
    Uuid::from_u64_pair(h, h.rotate_left(29) ^ 0x6772_6964_776f_726b).to_string()
}

/// A demo account signed in on its demo device.
pub(super) fn demo_caller(u: &User) -> Caller {
    Caller { user_id: u.id.clone(), device_id: demo_device(&u.username), role: u.role, scope: u.scope.clone() }
}

/// Builds the events; each op gets a clock stamp at its event's time.
struct Builder<'a> {
    refs: &'a RefIndex,
    users: &'a [User],
    now: DateTime<Utc>,
    events: Vec<DemoEvent>,
    counter: u32,
    /// Each officer's block of notice numbers (by user id) and how many it has drawn.
    numbers: &'a HashMap<String, NumberBlock>,
    drawn: HashMap<String, u64>,
}

impl<'a> Builder<'a> {
    fn user(&self, username: &str) -> anyhow::Result<&'a User> {
        self.users.iter().find(|u| u.username == username).with_context(|| format!("demo account {username}"))
    }

    /// The next number of `u`'s block, as an officer's device draws it.
    fn next_number(&mut self, u: &User) -> anyhow::Result<String> {
        let block = self.numbers.get(&u.id).with_context(|| format!("no number block for {}", u.username))?;
        let drawn = self.drawn.entry(u.id.clone()).or_default();
        let n = block.first + *drawn;
        anyhow::ensure!(n <= block.last, "the demo block of {} is used up", u.username);
        *drawn += 1;
        Ok(format_number(&block.prefix, block.year, n))
    }

    fn caller(u: &User) -> Caller {
        demo_caller(u)
    }

    /// An op by `u` at `at`.
    fn op(&mut self, u: &User, at: DateTime<Utc>, record_id: Uuid, action: OpAction) -> Op {
        self.counter += 1;
        let node = format!("demo-{}", u.username.replace('.', "_"));
        Op { op_id: Uuid::now_v7(), record_id, hlc: Hlc::new(ms(at), self.counter, node), action }
    }

    fn push(&mut self, u: &User, at: DateTime<Utc>, record_id: Uuid, action: OpAction) {
        let op = self.op(u, at.min(self.now), record_id, action);
        self.events.push(DemoEvent { at: at.min(self.now), caller: Self::caller(u), ops: vec![op] });
    }

    fn place(&self, grid: &str, i: usize) -> anyhow::Result<Place> {
        let gp = self.refs.grid_place(grid).with_context(|| format!("demo grid {grid} is not in the org tree"))?;
        let name = |c: &str| self.refs.org(c).map(|o| o.name.clone()).unwrap_or_default();
        let (lat, lon) = demo_city::grid_position(grid).unwrap_or((36.7069, 119.1617));
        // Spread records of one grid over a few hundred metres.
        let jitter = |k: usize| ((k * 37 + i * 11) % 17) as f64 * 0.00012 - 0.001;
        Ok(Place {
            address: format!("潍坊市{}{}{}", name(&gp.district), name(&gp.street), name(&gp.community)),
            org: OrgRef { community: gp.community, grid: gp.grid },
            lat: lat + jitter(1),
            lon: lon + jitter(2),
        })
    }

    fn create(&mut self, u: &User, at: DateTime<Utc>, p: &Place, body: RecordBody) -> Uuid {
        let id = Uuid::now_v7();
        let status = body.kind().initial_status();
        let location = Location { lat: p.lat, lon: p.lon, accuracy_m: 8.0, address: Some(p.address.clone()) };
        let new = NewRecord { org: p.org.clone(), created_at: at.min(self.now), location, status, body };
        self.push(u, at, id, OpAction::Create(new));
        id
    }

    fn status(&mut self, u: &User, at: DateTime<Utc>, id: Uuid, status: Status) {
        self.push(u, at, id, OpAction::Update(RecordPatch { status: Some(status), ..Default::default() }));
    }

    fn step(&mut self, u: &User, at: DateTime<Utc>, id: Uuid, from: Status, action: StepAction, note: Option<&str>) {
        let step = CaseStep { from, action, note: note.map(str::to_owned), photos: vec![] };
        self.push(u, at, id, OpAction::Step(step));
    }

    /// A working moment `days_ago` working days back, at a time of day that varies with `i`.
    fn working_moment(&self, days_ago: i64, i: usize) -> DateTime<Utc> {
        let calendar = self.refs.calendar();
        let mut day = local_date(self.now) - Duration::days(days_ago);
        while !calendar.is_workday(day) {
            day -= Duration::days(1);
        }
        let minutes = 9 * 60 + (i * 47 % 390) as u32;
        let t = NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0).unwrap_or_default();
        day.and_time(t).and_local_timezone(china()).single().map(|t| t.with_timezone(&Utc)).unwrap_or(self.now).min(self.now)
    }

    fn after(&self, t: DateTime<Utc>, working_minutes: i64) -> DateTime<Utc> {
        self.refs.calendar().add_working_minutes(t, working_minutes)
    }

    /// A case opened by the admin from `source` at `at`, then the rest of its story.
    #[allow(clippy::too_many_arguments)]
    fn case(
        &mut self,
        story: Story,
        source: CaseSource,
        p: &Place,
        category: &str,
        description: &str,
        opened: DateTime<Utc>,
        handler: &User,
        verifier: &User,
        n: usize,
    ) -> anyhow::Result<()> {
        let admin = self.user("admin")?;
        let case = Case::opened(source, category.into(), description.into(), vec![]);
        let id = self.create(admin, opened, p, RecordBody::Case(case));
        if story == Story::Registered {
            return Ok(());
        }
        if story == Story::Voided {
            self.step(
                admin,
                opened + Duration::minutes(20),
                id,
                Status::Registered,
                StepAction::Void,
                Some("经核实为重复上报，作废"),
            );
            return Ok(());
        }
        let to = if n.is_multiple_of(2) {
            Assignee::Officer { user_id: handler.id.clone() }
        } else {
            Assignee::Unit { code: handler.scope.clone() }
        };
        let limit = i64::from(self.refs.time_limit(category).handle_minutes);
        let dispatched = self.after(opened, 15).max(opened + Duration::minutes(15));
        self.step(admin, dispatched, id, Status::Registered, StepAction::Dispatch { to }, None);
        let due = self.after(dispatched, limit);
        let verify = |b: &Self, handled: DateTime<Utc>| b.after(handled, 60);
        match story {
            Story::OnTime | Story::Late | Story::Extended | Story::Rework => {
                if story == Story::Extended {
                    self.step(
                        handler,
                        self.after(dispatched, 30),
                        id,
                        Status::Dispatched,
                        StepAction::RequestExtension { working_minutes: 450 },
                        Some("需协调物业配合，申请延期一个工作日"),
                    );
                    self.step(
                        admin,
                        self.after(dispatched, 40),
                        id,
                        Status::Dispatched,
                        StepAction::DecideExtension { approved: true },
                        None,
                    );
                }
                let mut handled = match story {
                    Story::Late | Story::Extended => self.after(due, 60),
                    _ => self.after(dispatched, limit / 2),
                };
                self.step(handler, handled, id, Status::Dispatched, StepAction::Handle, Some("已现场处置完毕"));
                if story == Story::Rework {
                    self.step(
                        verifier,
                        verify(self, handled),
                        id,
                        Status::Handled,
                        StepAction::Verify { passed: false },
                        Some("现场复查仍有残留，返工"),
                    );
                    handled = self.after(verify(self, handled), 30);
                    self.step(handler, handled, id, Status::Dispatched, StepAction::Handle, Some("已彻底清理"));
                }
                let closed = verify(self, handled);
                self.step(verifier, closed, id, Status::Handled, StepAction::Verify { passed: true }, Some("现场核查已整改"));
                self.step(
                    admin,
                    closed + Duration::minutes(10),
                    id,
                    Status::Closed,
                    StepAction::Reply { text: "您反映的问题已处理完毕，感谢您的监督！".into() },
                    None,
                );
            }
            Story::Suspended => {
                self.step(
                    admin,
                    self.after(dispatched, 60),
                    id,
                    Status::Dispatched,
                    StepAction::Suspend,
                    Some("涉及历史遗留问题，暂挂账"),
                );
            }
            Story::Paused => {
                self.step(
                    admin,
                    self.after(dispatched, 60),
                    id,
                    Status::Dispatched,
                    StepAction::Pause,
                    Some("待规划部门认定，暂缓办理"),
                );
            }
            Story::Handled => {
                self.step(
                    handler,
                    self.after(dispatched, limit / 3),
                    id,
                    Status::Dispatched,
                    StepAction::Handle,
                    Some("已处置，待核查"),
                );
            }
            Story::Overdue => {
                let supervised = self.after(due, 30);
                if n.is_multiple_of(2) && supervised < self.now {
                    self.step(admin, supervised, id, Status::Dispatched, StepAction::Supervise, Some("超期未处置，督办"));
                }
            }
            Story::Handling | Story::Registered | Story::Voided => {}
        }
        Ok(())
    }
}

impl DemoPlan {
    /// `numbers`: the block of notice numbers each officer's device holds (by user id).
    pub(super) fn new(
        refs: &RefIndex,
        users: &[User],
        numbers: &HashMap<String, NumberBlock>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Self> {
        let mut b = Builder { refs, users, now, events: Vec::new(), counter: 0, numbers, drawn: HashMap::new() };
        let workers: Vec<&User> = users.iter().filter(|u| u.role == Role::GridWorker).collect();
        let officer_of = |district: &str| -> anyhow::Result<&User> {
            users
                .iter()
                .find(|u| u.role == Role::Officer && u.scope == district)
                .with_context(|| format!("demo officer of {district}"))
        };

        // Grid workers: reports over the four weeks, and a service log each.
        let mut reports = Vec::new();
        for (wi, u) in workers.iter().enumerate() {
            for j in 0..REPORTS_PER_WORKER {
                let n = wi * REPORTS_PER_WORKER + j;
                let (category, text) = REPORTS[n % REPORTS.len()];
                let mut p = b.place(&u.scope, n)?;
                let mut description = text.to_owned();
                if wi == 0 && j == 0 {
                    // The classic: 占道经营 on 胜利东街.
                    p.address = "潍坊市奎文区胜利东街与和平路路口".into();
                    description = "胜利东街早市摊贩占道经营，影响行人通行".into();
                }
                reports.push((n, *u, p, category, description));
            }
            let (activity, participants, summary, complaint, reply) = LOGS[wi % LOGS.len()];
            let at = b.working_moment((wi * 3 % 20) as i64 + 1, wi);
            let log = ServiceLog {
                date: local_date(at),
                activity,
                participants,
                summary: summary.into(),
                complaints: vec![complaint.into()],
                replies: vec![reply.into()],
                linked_reports: vec![],
                photos: vec![],
                stall: None,
            };
            let p = b.place(&u.scope, 100 + wi)?;
            let log_id = b.create(u, at, &p, RecordBody::ServiceLog(log));
            if wi == 0 {
                b.status(u, at + Duration::hours(2), log_id, Status::Done);
                // The complaint of the first log opened a case, being handled.
                let handler = officer_of(refs.district_of(&u.scope).unwrap_or_default())?;
                let source = CaseSource::ServiceLog { id: log_id, complaint: 0 };
                let opened = b.after(at, 30);
                b.case(Story::Handled, source, &p, "06029", complaint, opened, handler, u, 0)?;
            }
        }

        // Cases from the reports, by story; the others stay 已上报, and one is voided.
        for (k, (n, u, p, category, description)) in reports.into_iter().enumerate() {
            let story = REPORT_STORIES.get(k).copied();
            // Recent stories are recent; the closed ones spread over the weeks.
            let days_ago = match story {
                Some(Story::Handling | Story::Registered) => 0,
                Some(Story::Handled) => 1,
                Some(Story::Overdue) => 12 + (k % 5) as i64,
                _ => 2 + (k * 5 % 24) as i64,
            };
            let filed = match story {
                Some(Story::Handling | Story::Registered) => now - Duration::minutes(90 + (k % 7) as i64 * 10),
                _ => b.working_moment(days_ago, n),
            };
            let id = b.create(
                u,
                filed,
                &p,
                RecordBody::Report(Report {
                    category: category.into(),
                    description: description.clone(),
                    photos: vec![],
                    duplicate_of: None,
                }),
            );
            match story {
                Some(story) => {
                    let handler = officer_of(refs.district_of(&u.scope).unwrap_or_default())?;
                    let opened = if filed + Duration::minutes(30) < now {
                        filed + Duration::minutes(30)
                    } else {
                        filed + Duration::minutes(1)
                    };
                    b.case(story, CaseSource::Report { id }, &p, category, &description, opened, handler, u, k)?;
                }
                None if k == REPORT_STORIES.len() + 1 => {
                    let admin = b.user("admin")?;
                    b.status(admin, filed + Duration::hours(1), id, Status::Voided);
                }
                None => {}
            }
        }

        // Officers: notices in the grids of their district's grid workers; the first put
        // right, two not, which went to cases.
        let officers: Vec<&User> = users.iter().filter(|u| u.role == Role::Officer && u.username != "officer.kuiwen2").collect();
        for (oi, u) in officers.iter().enumerate() {
            let grids: Vec<&str> = workers
                .iter()
                .map(|w| w.scope.as_str())
                .filter(|g| refs.grid_place(g).is_some_and(|p| p.district == u.scope))
                .collect();
            let Some(first) = grids.first() else { continue };
            let count = if oi == 0 { 3 } else { 1 };
            for j in 0..count {
                let tpl = &NOTICES[(oi + j) % NOTICES.len()];
                let grid = grids.get(j).unwrap_or(first);
                let mut p = b.place(grid, 200 + oi * 5 + j)?;
                if oi == 0 && j == 0 {
                    p.address = "潍坊市奎文区胜利东街88号".into();
                }
                let at = b.working_moment((oi * 2 + j * 4) as i64 + 3, oi + j);
                let number = b.next_number(u)?;
                let notice = Notice {
                    number,
                    category: tpl.category.into(),
                    party: Party::new(tpl.party, Some(tpl.shop.into()), Some(tpl.phone.into())),
                    facts: tpl.facts.into(),
                    legal_basis: tpl.basis.into(),
                    deadline: local_date(at) + Duration::days(if j == 2 { 1 } else { 3 }),
                    photos: vec![],
                    // One inspection of a 小蓝棚 (its page lists it).
                    stall: (oi == 0 && j == 1).then(|| "KW-XLP-001".to_owned()).filter(|c| b.refs.stall(c).is_some()),
                };
                let id = b.create(u, at, &p, RecordBody::Notice(notice));
                match (oi, j) {
                    (0, 0) => b.status(u, at + Duration::days(1), id, Status::Rectified),
                    // Not put right: escalated to a case (the deadline passed first).
                    (0, 2) | (1, 0) => {
                        let opened = b.after(at, 3 * 450);
                        let story = if oi == 0 { Story::OnTime } else { Story::Overdue };
                        let admin = b.user("admin")?;
                        b.case(story, CaseSource::Notice { id }, &p, "09006", tpl.facts, opened, u, admin, oi)?;
                    }
                    _ => {}
                }
            }
        }

        // Two 12345 hotline calls, filed by the admin directly.
        for (i, (grid_of, category, text, story)) in [
            (0usize, "06042", "市民来电：小区垃圾箱满溢多日无人清运", Story::OnTime),
            (2, "07001", "市民来电：公交站台张贴大量小广告", Story::Handling),
        ]
        .into_iter()
        .enumerate()
        {
            let w = workers.get(grid_of).copied().context("demo grid worker")?;
            let p = b.place(&w.scope, 300 + i)?;
            let handler = officer_of(refs.district_of(&w.scope).unwrap_or_default())?;
            let admin = b.user("admin")?;
            let opened = if story == Story::Handling { now - Duration::minutes(40) } else { b.working_moment(8, i) };
            b.case(story, CaseSource::Hotline, &p, category, text, opened, handler, admin, i)?;
        }

        let mut events = b.events;
        // Stable: events of one moment keep the order they were planned in.
        events.sort_by_key(|e| e.at);
        Ok(DemoPlan { events })
    }
}
