//! The demo city's records: about forty reports, notices and service logs of the demo
//! accounts, spread over their grids and the last days, with a few status changes, as
//! the ops their devices would have pushed.

use super::demo_city;
use crate::domain::access::Caller;
use crate::storage::User;
use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use gridwork_core::hlc::Hlc;
use gridwork_core::model::{Activity, Location, Notice, OrgRef, Party, RecordBody, RecordKind, Report, Role, ServiceLog, Status};
use gridwork_core::protocol::{NewRecord, Op, OpAction, RecordPatch};
use gridwork_core::reference::RefIndex;
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
];

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

/// The demo ops, grouped per author, in the order they are pushed.
pub(super) struct DemoPlan {
    pub(super) batches: Vec<(Caller, Vec<Op>)>,
}

struct Place {
    org: OrgRef,
    address: String,
    lat: f64,
    lon: f64,
}

impl DemoPlan {
    pub(super) fn new(refs: &RefIndex, users: &[User], now: DateTime<Utc>) -> anyhow::Result<Self> {
        let caller = |u: &User| Caller {
            user_id: u.id.clone(),
            device_id: demo_device(&u.username),
            role: u.role,
            scope: u.scope.clone(),
        };
        let node = |u: &User| format!("demo-{}", u.username.replace('.', "_"));
        let place = |grid: &str, i: usize| -> anyhow::Result<Place> {
            let gp = refs.grid_place(grid).with_context(|| format!("demo grid {grid} is not in the org tree"))?;
            let name = |c: &str| refs.org(c).map(|o| o.name.clone()).unwrap_or_default();
            let (lat, lon) = demo_city::grid_position(grid).unwrap_or((36.7069, 119.1617));
            // Spread records of one grid over a few hundred metres.
            let jitter = |k: usize| ((k * 37 + i * 11) % 17) as f64 * 0.00012 - 0.001;
            Ok(Place {
                address: format!("潍坊市{}{}{}", name(&gp.district), name(&gp.street), name(&gp.community)),
                org: OrgRef { community: gp.community, grid: gp.grid },
                lat: lat + jitter(1),
                lon: lon + jitter(2),
            })
        };
        let mut batches = Vec::new();
        let mut created: Vec<(Uuid, RecordKind, String)> = Vec::new(); // (id, kind, author username)
        let mut k = 0usize;
        let stamp = |hours_ago: i64, k: usize| -> DateTime<Utc> {
            now - Duration::hours(hours_ago) - Duration::minutes((7 * k as i64) % 50)
        };

        // Grid workers: three reports and a service log each.
        let workers: Vec<&User> = users.iter().filter(|u| u.role == Role::GridWorker).collect();
        for (wi, u) in workers.iter().enumerate() {
            let mut ops = Vec::new();
            for j in 0..3 {
                k += 1;
                let (category, text) = REPORTS[(wi * 3 + j) % REPORTS.len()];
                let mut p = place(&u.scope, k)?;
                let mut description = text.to_owned();
                if wi == 0 && j == 0 {
                    // The classic: 占道经营 on 胜利东街.
                    p.address = "潍坊市奎文区胜利东街与和平路路口".into();
                    description = "胜利东街早市摊贩占道经营，影响行人通行".into();
                }
                let at = stamp(((wi * 3 + j) * 5 % 200) as i64 + 2, k);
                let id = Uuid::now_v7();
                ops.push(create_op(
                    id,
                    &p,
                    at,
                    RecordBody::Report(Report { category: category.into(), description, photos: vec![] }),
                    Hlc::new(ms(at), 0, node(u)),
                ));
                created.push((id, RecordKind::Report, u.username.clone()));
            }
            k += 1;
            let (activity, participants, summary, complaint, reply) = LOGS[wi % LOGS.len()];
            let at = stamp((wi * 7 % 120) as i64 + 1, k);
            let id = Uuid::now_v7();
            ops.push(create_op(
                id,
                &place(&u.scope, k)?,
                at,
                RecordBody::ServiceLog(ServiceLog {
                    date: at.date_naive(),
                    activity,
                    participants,
                    summary: summary.into(),
                    complaints: vec![complaint.into()],
                    replies: vec![reply.into()],
                    linked_reports: vec![],
                    photos: vec![],
                }),
                Hlc::new(ms(at), 0, node(u)),
            ));
            created.push((id, RecordKind::ServiceLog, u.username.clone()));
            batches.push((caller(u), ops));
        }

        // Officers: notices in the grids of their district's grid workers.
        let officers: Vec<&User> = users.iter().filter(|u| u.role == Role::Officer).collect();
        for (oi, u) in officers.iter().enumerate() {
            let grids: Vec<&str> = workers
                .iter()
                .map(|w| w.scope.as_str())
                .filter(|g| refs.grid_place(g).is_some_and(|p| p.district == u.scope))
                .collect();
            let Some(first) = grids.first() else { continue };
            let count = if oi == 0 { 3 } else { 1 };
            let mut ops = Vec::new();
            for j in 0..count {
                k += 1;
                let tpl = &NOTICES[(oi + j) % NOTICES.len()];
                let grid = grids.get(j).unwrap_or(first);
                let mut p = place(grid, k)?;
                if oi == 0 && j == 0 {
                    p.address = "潍坊市奎文区胜利东街88号".into();
                }
                let at = stamp((oi * 9 + j * 4) as i64 + 3, k);
                let id = Uuid::now_v7();
                let number = format!("GZ{}-{}-{:04}", u.scope, at.format("%Y%m%d"), j + 1);
                ops.push(create_op(
                    id,
                    &p,
                    at,
                    RecordBody::Notice(Notice {
                        number,
                        category: tpl.category.into(),
                        party: Party { name: tpl.party.into(), shop_name: Some(tpl.shop.into()), phone: Some(tpl.phone.into()) },
                        facts: tpl.facts.into(),
                        legal_basis: tpl.basis.into(),
                        deadline: at.date_naive() + Duration::days(3),
                        photos: vec![],
                    }),
                    Hlc::new(ms(at), 0, node(u)),
                ));
                created.push((id, RecordKind::Notice, u.username.clone()));
            }
            // The first notice was put right.
            if oi == 0
                && let Some((id, _, _)) =
                    created.iter().rev().find(|(_, kind, by)| *kind == RecordKind::Notice && *by == u.username)
            {
                ops.push(status_op(*id, Status::Rectified, Hlc::new(ms(now) - 60_000, 0, node(u))));
            }
            batches.push((caller(u), ops));
        }

        // The admin turns some reports into cases and closes one; a grid worker closes a log.
        if let Some(admin) = users.iter().find(|u| u.role == Role::Admin) {
            let reports: Vec<Uuid> =
                created.iter().filter(|(_, kind, _)| *kind == RecordKind::Report).map(|(id, _, _)| *id).collect();
            let mut ops = Vec::new();
            for (n, id) in reports.iter().step_by(4).enumerate() {
                let t = ms(now) - 30_000 + n as u64;
                ops.push(status_op(*id, Status::Accepted, Hlc::new(t, 0, node(admin))));
                if n == 0 {
                    ops.push(status_op(*id, Status::Closed, Hlc::new(t + 1_000, 0, node(admin))));
                }
            }
            if let Some(id) = reports.get(1) {
                ops.push(status_op(*id, Status::Voided, Hlc::new(ms(now) - 20_000, 0, node(admin))));
            }
            batches.push((caller(admin), ops));
        }
        if let Some(w) = workers.first()
            && let Some((id, _, _)) = created.iter().find(|(_, kind, by)| *kind == RecordKind::ServiceLog && *by == w.username)
        {
            let ops = vec![status_op(*id, Status::Done, Hlc::new(ms(now) - 10_000, 0, node(w)))];
            batches.push((caller(w), ops));
        }
        Ok(DemoPlan { batches })
    }
}

fn ms(t: DateTime<Utc>) -> u64 {
    u64::try_from(t.timestamp_millis()).unwrap_or(0)
}

fn create_op(id: Uuid, p: &Place, at: DateTime<Utc>, body: RecordBody, hlc: Hlc) -> Op {
    let status = body.kind().initial_status();
    Op {
        op_id: Uuid::now_v7(),
        record_id: id,
        hlc,
        action: OpAction::Create(NewRecord {
            org: p.org.clone(),
            created_at: at,
            location: Location { lat: p.lat, lon: p.lon, accuracy_m: 8.0, address: Some(p.address.clone()) },
            status,
            body,
        }),
    }
}

fn status_op(id: Uuid, status: Status, hlc: Hlc) -> Op {
    Op {
        op_id: Uuid::now_v7(),
        record_id: id,
        hlc,
        action: OpAction::Update(RecordPatch { status: Some(status), ..Default::default() }),
    }
}

/// A stable device id per demo account, so the demo records show one device per person.
fn demo_device(name: &str) -> String {
    // FNV-1a of the name fills the 128 bits: stable across runs.
    let h = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3));
    Uuid::from_u64_pair(h, h.rotate_left(29) ^ 0x6772_6964_776f_726b).to_string()
}
