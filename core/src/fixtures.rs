//! A tiny, fixed piece of Weifang and one record of each kind: for unit tests, the
//! storage conformance suite and benchmarks. The demo city lives in the server.

use crate::hlc::Hlc;
use crate::model::*;
use crate::protocol::{NewRecord, Op, OpAction};
use crate::reference::*;
use chrono::{NaiveDate, TimeZone, Utc};
use uuid::Uuid;

pub const CITY: &str = "370700";
pub const DISTRICT: &str = "370705";
pub const COMMUNITY: &str = "370705001001";
pub const GRID: &str = "370705001001-01";
pub const OTHER_DISTRICT: &str = "370702";
pub const OTHER_COMMUNITY: &str = "370702001001";
pub const OTHER_GRID: &str = "370702001001-01";

fn org(code: &str, name: &str, level: OrgLevel, parent: Option<&str>) -> OrgUnit {
    OrgUnit { code: code.into(), name: name.into(), level, parent: parent.map(Into::into) }
}

pub fn reference_data() -> ReferenceData {
    let orgs = vec![
        org(CITY, "潍坊市", OrgLevel::City, None),
        org(DISTRICT, "奎文区", OrgLevel::District, Some(CITY)),
        org("370705001", "东关街道", OrgLevel::Street, Some(DISTRICT)),
        org(COMMUNITY, "胜利东街社区", OrgLevel::Community, Some("370705001")),
        org(GRID, "第1网格", OrgLevel::Grid, Some(COMMUNITY)),
        org(OTHER_DISTRICT, "潍城区", OrgLevel::District, Some(CITY)),
        org("370702001", "城关街道", OrgLevel::Street, Some(OTHER_DISTRICT)),
        org(OTHER_COMMUNITY, "十笏园社区", OrgLevel::Community, Some("370702001")),
        org(OTHER_GRID, "第1网格", OrgLevel::Grid, Some(OTHER_COMMUNITY)),
    ];
    let cat = |code: &str, name: &str, parent: Option<&str>, kind| Category {
        code: code.into(),
        name: name.into(),
        parent: parent.map(Into::into),
        kind,
    };
    let categories = vec![
        cat("01", "市政公用设施", None, CategoryKind::Component),
        cat("01002", "污水井盖", Some("01"), CategoryKind::Component),
        cat("06", "市容环境类", None, CategoryKind::Matter),
        cat("06036", "堆物堆料", Some("06"), CategoryKind::Matter),
        cat("09", "街面秩序类", None, CategoryKind::Matter),
        cat("09006", "占道经营", Some("09"), CategoryKind::Matter),
    ];
    ReferenceData { version: "fixture-1".into(), orgs, categories, users: vec![], ..Default::default() }
}

pub fn refs() -> RefIndex {
    RefIndex::new(&reference_data())
}

pub fn location() -> Location {
    Location { lat: 36.7069, lon: 119.1617, accuracy_m: 8.0, address: Some("潍坊市奎文区胜利东街".into()) }
}

/// One report, one notice, one service log, in [`GRID`].
pub fn records() -> Vec<Record> {
    let at = Utc.with_ymd_and_hms(2026, 11, 20, 9, 30, 0).unwrap();
    let base = |id: u128, status, body| Record {
        id: Uuid::from_u128(id),
        author: "u1".into(),
        device: "d1".into(),
        org: OrgRef { community: COMMUNITY.into(), grid: GRID.into() },
        created_at: at,
        updated_at: at,
        updated_by: "u1".into(),
        location: location(),
        status,
        body,
        seq: None,
    };
    vec![
        base(
            1,
            Status::Submitted,
            RecordBody::Report(Report {
                category: "09006".into(),
                description: "胜利东街早市占道经营".into(),
                photos: vec![],
                duplicate_of: None,
            }),
        ),
        base(
            2,
            Status::Issued,
            RecordBody::Notice(Notice {
                number: "奎文城管告字〔2026〕第000001号".into(),
                category: "QL-STALL".into(),
                party: Party::new("张某", Some("老张水果店".into()), Some("13805361234".into())),
                facts: "店外占用人行道摆放水果".into(),
                legal_basis: "《潍坊市城市市容和环境卫生管理办法》第十六条".into(),
                deadline: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
                photos: vec![],
                stall: None,
            }),
        ),
        base(
            3,
            Status::Open,
            RecordBody::ServiceLog(ServiceLog {
                date: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
                activity: Activity::HomeVisit,
                participants: 6,
                summary: "走访沿街商户，宣传门前五包".into(),
                complaints: vec!["夜间烧烤油烟扰民".into()],
                replies: vec!["已告知中队，三日内现场查看".into()],
                linked_reports: vec![],
                photos: vec![],
                stall: None,
            }),
        ),
    ]
}

/// The create op a device would send for `rec`.
pub fn create_op(rec: Record, hlc: Hlc) -> Op {
    Op {
        op_id: Uuid::now_v7(),
        record_id: rec.id,
        hlc,
        action: OpAction::Create(NewRecord {
            org: rec.org,
            created_at: rec.created_at,
            location: rec.location,
            status: rec.status,
            body: rec.body,
        }),
    }
}
