//! Demo data for a Weifang (潍坊市) deployment: the org tree (市 → 区 → 街道 → 社区 → 网格),
//! the GB/T 47678.5 category table, demo accounts and plausible map positions for grids.
//!
//! Everything here is deterministic: the same calls always return the same data, with no
//! randomness and no clock. Street names follow the real ones as far as known; community
//! names are plausible Weifang names, not an authoritative list. Positions are rough.

use gridwork_core::model::Role;
use gridwork_core::reference::{Category, OrgLevel, OrgUnit};
use std::collections::HashSet;
use std::sync::OnceLock;

/// Password of every demo account.
const DEMO_PASSWORD: &str = "gridwork-demo";

/// GB/T 2260 code of 潍坊市.
const CITY_CODE: &str = "370700";
const CITY_NAME: &str = "潍坊市";

/// The GB/T 47678.5 category table (260 entries of `{code, name, parent, kind}`).
const CATEGORIES_JSON: &str = include_str!("../../data/categories.json");
/// The working calendar (2026 holidays, 调休) and the 处置时限 table, demo values.
const WORKTIME_JSON: &str = include_str!("../../data/worktime.json");

/// The demo working calendar and case time limits.
pub fn worktime() -> (gridwork_core::worktime::WorkCalendar, Vec<gridwork_core::cases::TimeLimit>) {
    #[derive(serde::Deserialize)]
    struct Doc {
        calendar: gridwork_core::worktime::WorkCalendar,
        time_limits: Vec<gridwork_core::cases::TimeLimit>,
    }
    // Checked by a test: the shipped file parses.
    let doc: Doc =
        serde_json::from_str(WORKTIME_JSON).unwrap_or_else(|_| Doc { calendar: Default::default(), time_limits: Vec::new() });
    (doc.calendar, doc.time_limits)
}

/// One demo account.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// Org code of the account's scope: the city, a district or a grid.
    pub scope: String,
    pub password: &'static str,
}

/// A brigade district and its streets.
struct District {
    /// Org code. 370791 (高新区) and 370792 (经济区) are local codes, not GB/T 2260.
    code: &'static str,
    name: &'static str,
    /// Used in usernames: `officer.<slug>`.
    slug: &'static str,
    /// Used in grid-worker usernames: `grid.<short>NN`.
    short: &'static str,
    /// Rough centre of the district's built-up area, WGS-84 (lat, lon).
    centre: (f64, f64),
    /// Streets in code order: the first is `<code>001`.
    streets: &'static [Street],
}

/// A street (街道) and its communities, in code order (the first is `<street code>001`).
struct Street {
    name: &'static str,
    communities: &'static [&'static str],
}

// ---------------------------------------------------------------------------------------
// 奎文区 (370705): 7 streets, 56 communities.

const KUIWEN_STREETS: &[Street] = &[
    Street {
        name: "东关街道",
        communities: &[
            "胜利东街社区",
            "东关社区",
            "南苑社区",
            "卧龙东街社区",
            "东风东街社区",
            "福寿东街社区",
            "虞河社区",
            "李家街社区",
            "育华社区",
        ],
    },
    Street {
        name: "大虞街道",
        communities: &[
            "大虞社区",
            "健康东街社区",
            "樱园社区",
            "新华路社区",
            "金宝社区",
            "北宫东街社区",
            "和平社区",
            "宝通东街社区",
        ],
    },
    Street {
        name: "梨园街道",
        communities: &[
            "梨园社区",
            "四平路社区",
            "北王社区",
            "文化路社区",
            "民生东街社区",
            "玉清东街社区",
            "友爱社区",
            "东方社区",
        ],
    },
    Street {
        name: "廿里堡街道",
        communities: &["廿里堡社区", "杨家社区", "颐园社区", "崇文社区", "北海社区", "永安社区", "宝通社区", "青年路社区"],
    },
    Street {
        name: "潍州路街道",
        communities: &["潍州路社区", "北宫社区", "鸢飞社区", "月河社区", "向阳社区", "幸福社区", "银河社区", "东苑社区"],
    },
    Street {
        name: "北苑街道",
        communities: &["北苑社区", "北辰社区", "金马社区", "清平社区", "长松社区", "丰华社区", "鸢都社区", "河东社区"],
    },
    Street {
        name: "广文街道",
        communities: &["广文社区", "风筝广场社区", "南胡社区", "文华社区", "樱前社区", "志远社区", "怡园社区"],
    },
];

// 潍城区 (370702): 6 streets, 44 communities.

const WEICHENG_STREETS: &[Street] = &[
    Street {
        name: "城关街道",
        communities: &[
            "十笏园社区",
            "白浪河社区",
            "大英巷社区",
            "芙蓉社区",
            "通亭社区",
            "大有社区",
            "东门社区",
            "三里庄社区",
            "奎星社区",
        ],
    },
    Street {
        name: "南关街道",
        communities: &["南关社区", "福寿社区", "健康街社区", "曹家巷社区", "东风社区", "胜利西街社区", "仓南社区", "南下河社区"],
    },
    Street {
        name: "西关街道",
        communities: &["西关社区", "西园社区", "向阳路社区", "双羊社区", "和平路社区", "樱桃园社区", "梨花社区"],
    },
    Street {
        name: "北关街道",
        communities: &[
            "北关社区",
            "北门社区",
            "玄武社区",
            "浮烟山社区",
            "福寿西街社区",
            "十里堡社区",
            "北宫西街社区",
            "育新社区",
        ],
    },
    Street {
        name: "于河街道", communities: &["于河社区", "坡子社区", "河滩社区", "双庙社区", "吕家社区", "东王社区"]
    },
    Street {
        name: "望留街道", communities: &["望留社区", "八里社区", "南屯社区", "刘家社区", "张氏社区", "北流社区"]
    },
];

// 坊子区 (370704): 5 streets, 25 communities.

const FANGZI_STREETS: &[Street] = &[
    Street {
        name: "坊安街道", communities: &["坊安社区", "坊茨社区", "兴国路社区", "龙泉社区", "车站社区"]
    },
    Street {
        name: "坊城街道", communities: &["坊城社区", "泰山路社区", "联盟社区", "煤城社区", "坊泉社区"]
    },
    Street {
        name: "凤凰街道", communities: &["凤凰社区", "凤鸣社区", "凤翔社区", "龙山社区", "郑公社区", "福安社区"]
    },
    Street {
        name: "九龙街道", communities: &["九龙社区", "九龙涧社区", "穆村社区", "眉村社区", "庙后社区"]
    },
    Street { name: "黄旗堡街道", communities: &["黄旗堡社区", "柳沟社区", "孙家社区", "岭西社区"] },
];

// 寒亭区 (370703): 4 streets, 22 communities.

const HANTING_STREETS: &[Street] = &[
    Street {
        name: "寒亭街道",
        communities: &["寒亭社区", "民主街社区", "通亭街社区", "寒亭东社区", "友谊社区", "朱里社区", "杨家埠社区"],
    },
    Street {
        name: "开元街道", communities: &["开元社区", "海龙社区", "前阳社区", "泊子社区", "民生社区", "新民社区"]
    },
    Street {
        name: "固堤街道", communities: &["固堤社区", "王家社区", "河口社区", "大店社区", "西南社区"]
    },
    Street { name: "高里街道", communities: &["高里社区", "孙家埠社区", "郭家社区", "南渠社区"] },
];

// 高新区 (370791, local code): 4 streets, 24 communities.

const GAOXIN_STREETS: &[Street] = &[
    Street {
        name: "新城街道",
        communities: &["新城社区", "志远东社区", "玉清社区", "惠贤社区", "银枫社区", "桐荫社区", "蓉花社区"],
    },
    Street {
        name: "清池街道", communities: &["清池社区", "张面河社区", "前宁社区", "北屯社区", "乐川社区", "仓上社区"]
    },
    Street {
        name: "北海路街道", communities: &["北海路社区", "健康东社区", "北海花园社区", "海悦社区", "光明社区", "东盛社区"]
    },
    Street {
        name: "东明街道", communities: &["东明社区", "东兴社区", "樱花社区", "星光社区", "华安社区"]
    },
];

// 经济区 (370792, local code): 2 streets, 14 communities.

const JINGJI_STREETS: &[Street] = &[
    Street {
        name: "双杨街道",
        communities: &["双杨社区", "杨家店社区", "东许社区", "西许社区", "平原社区", "福临社区", "安顺社区"],
    },
    Street {
        name: "古亭街道",
        communities: &["古亭社区", "蓝天社区", "阳光社区", "锦绣社区", "丰收社区", "新华社区", "大成社区"],
    },
];

/// The six brigade districts, in brigade order.
///
/// 370791 (高新区) and 370792 (经济区) are local codes, not GB/T 2260: the two development
/// zones have no division code of their own.
const DISTRICTS: &[District] = &[
    District {
        code: "370705", name: "奎文区", slug: "kuiwen", short: "kw", centre: (36.707, 119.135), streets: KUIWEN_STREETS
    },
    District {
        code: "370702",
        name: "潍城区",
        slug: "weicheng",
        short: "wc",
        centre: (36.712, 119.065),
        streets: WEICHENG_STREETS,
    },
    District {
        code: "370704", name: "坊子区", slug: "fangzi", short: "fz", centre: (36.655, 119.166), streets: FANGZI_STREETS
    },
    District {
        code: "370703",
        name: "寒亭区",
        slug: "hanting",
        short: "ht",
        centre: (36.772, 119.216),
        streets: HANTING_STREETS,
    },
    District {
        code: "370791", name: "高新区", slug: "gaoxin", short: "gx", centre: (36.718, 119.215), streets: GAOXIN_STREETS
    },
    District {
        code: "370792", name: "经济区", slug: "jingji", short: "jj", centre: (36.775, 119.058), streets: JINGJI_STREETS
    },
];

/// Officer display names, one per district in [`DISTRICTS`] order.
const OFFICER_NAMES: &[&str] = &["王建国", "李志强", "张海涛", "刘洪波", "陈立军", "赵明远"];

/// Demo grid workers: (community code, display name). Each works in the first grid (`-01`)
/// of the community and is named `grid.<district short><NN>`, numbered within the district
/// in this order (grid.kw01, grid.kw02, grid.wc01, ...).
const GRID_WORKERS: &[(&str, &str)] = &[
    ("370705001001", "孙丽娜"), // grid.kw01: 奎文区 东关街道 胜利东街社区
    ("370705002003", "周红梅"), // grid.kw02: 奎文区 大虞街道 樱园社区
    ("370702001001", "吴秀英"), // grid.wc01: 潍城区 城关街道 十笏园社区
    ("370702002003", "郑海燕"), // grid.wc02: 潍城区 南关街道 健康街社区
    ("370704001002", "马文静"), // grid.fz01: 坊子区 坊安街道 坊茨社区
    ("370703001001", "胡晓燕"), // grid.ht01: 寒亭区 寒亭街道 寒亭社区
    ("370791001001", "高玉兰"), // grid.gx01: 高新区 新城街道 新城社区
    ("370792001001", "林芳"),   // grid.jj01: 经济区 双杨街道 双杨社区
];

/// How many grids a community has (2 to 4), from its position in the whole city's list.
fn grid_count(community_index: usize) -> usize {
    2 + community_index % 3
}

/// The org tree of the demo city: 1 city (code "370700", 潍坊市), the six brigade districts,
/// their streets (街道), exactly 185 communities (社区) in total, and 2 to 4 grids (网格) per
/// community. Every unit comes after its parent.
///
/// District codes 370791 (高新区) and 370792 (经济区) are local codes, not GB/T 2260.
pub fn orgs() -> Vec<OrgUnit> {
    fn unit(code: String, name: &str, level: OrgLevel, parent: &str) -> OrgUnit {
        OrgUnit { code, name: name.to_string(), level, parent: Some(parent.to_string()) }
    }

    let mut out = vec![OrgUnit { code: CITY_CODE.to_string(), name: CITY_NAME.to_string(), level: OrgLevel::City, parent: None }];
    for d in DISTRICTS {
        out.push(unit(d.code.to_string(), d.name, OrgLevel::District, CITY_CODE));
    }
    let mut community_index = 0;
    for d in DISTRICTS {
        for (si, s) in d.streets.iter().enumerate() {
            let street_code = format!("{}{:03}", d.code, si + 1);
            out.push(unit(street_code.clone(), s.name, OrgLevel::Street, d.code));
            for (ci, c) in s.communities.iter().enumerate() {
                let community_code = format!("{street_code}{:03}", ci + 1);
                out.push(unit(community_code.clone(), c, OrgLevel::Community, &street_code));
                for g in 1..=grid_count(community_index) {
                    out.push(unit(format!("{community_code}-{g:02}"), &format!("第{g}网格"), OrgLevel::Grid, &community_code));
                }
                community_index += 1;
            }
        }
    }
    out
}

/// The GB/T 47678.5 category table, parsed from the embedded `data/categories.json`.
pub fn categories() -> Vec<Category> {
    serde_json::from_str(CATEGORIES_JSON).expect("embedded data/categories.json is a valid category table")
}

/// Demo accounts: one admin (scope the city), one officer per brigade district (scope the
/// district) and a grid worker for the first grid of a handful of communities, at least one
/// in each district (scope the grid). All share the password "gridwork-demo".
pub fn users() -> Vec<DemoUser> {
    let mut out = vec![DemoUser {
        username: "admin".to_string(),
        display_name: "市城管局管理员".to_string(),
        role: Role::Admin,
        scope: CITY_CODE.to_string(),
        password: DEMO_PASSWORD,
    }];
    for (d, name) in DISTRICTS.iter().zip(OFFICER_NAMES) {
        out.push(DemoUser {
            username: format!("officer.{}", d.slug),
            display_name: name.to_string(),
            role: Role::Officer,
            scope: d.code.to_string(),
            password: DEMO_PASSWORD,
        });
    }
    // A second officer of the 奎文区 brigade: patrols are done in pairs.
    out.push(DemoUser {
        username: "officer.kuiwen2".to_string(),
        display_name: "陈晓东".to_string(),
        role: Role::Officer,
        scope: DISTRICTS[0].code.to_string(),
        password: DEMO_PASSWORD,
    });
    let mut per_district = [0usize; DISTRICTS.len()];
    for (community, name) in GRID_WORKERS {
        let di = DISTRICTS
            .iter()
            .position(|d| community.starts_with(d.code))
            .expect("demo grid worker's community lies in a brigade district");
        per_district[di] += 1;
        out.push(DemoUser {
            username: format!("grid.{}{:02}", DISTRICTS[di].short, per_district[di]),
            display_name: name.to_string(),
            role: Role::GridWorker,
            scope: format!("{community}-01"),
            password: DEMO_PASSWORD,
        });
    }
    out
}

/// Codes of all grids in [`orgs`], built once.
fn grid_codes() -> &'static HashSet<String> {
    static GRIDS: OnceLock<HashSet<String>> = OnceLock::new();
    GRIDS.get_or_init(|| orgs().into_iter().filter(|o| o.level == OrgLevel::Grid).map(|o| o.code).collect())
}

/// FNV-1a, 64 bit: a stable hash (std's hasher may change between releases).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// A stable pair of offsets in [-1, 1] derived from `s`.
fn unit_offsets(s: &str) -> (f64, f64) {
    let h = fnv1a(s);
    let a = (h & 0xffff_ffff) as f64 / f64::from(u32::MAX);
    let b = (h >> 32) as f64 / f64::from(u32::MAX);
    (a * 2.0 - 1.0, b * 2.0 - 1.0)
}

/// A deterministic plausible WGS-84 (lat, lon) inside the given grid: the district's rough
/// centre plus small offsets derived from the street, community and grid codes, so grids of
/// one community lie close together and demo records land in the right district.
/// `None` if `grid_code` is not a grid of [`orgs`].
pub fn grid_position(grid_code: &str) -> Option<(f64, f64)> {
    if !grid_codes().contains(grid_code) {
        return None;
    }
    // "370705001001-01": district 6 digits, street +3, community +3, then "-NN".
    let district = DISTRICTS.iter().find(|d| d.code == &grid_code[..6])?;
    let (street_code, community_code) = (&grid_code[..9], &grid_code[..12]);
    let (mut lat, mut lon) = district.centre;
    for (code, lat_span, lon_span) in [(street_code, 0.022, 0.028), (community_code, 0.006, 0.007), (grid_code, 0.0015, 0.0018)] {
        let (a, b) = unit_offsets(code);
        lat += a * lat_span;
        lon += b * lon_span;
    }
    Some((lat, lon))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridwork_core::reference::{CategoryKind, RefIndex, ReferenceData};
    use std::collections::HashMap;

    fn index() -> RefIndex {
        RefIndex::new(&ReferenceData { orgs: orgs(), ..Default::default() })
    }

    fn count(level: OrgLevel) -> usize {
        orgs().iter().filter(|o| o.level == level).count()
    }

    #[test]
    fn has_185_communities_and_expected_levels() {
        assert_eq!(count(OrgLevel::Community), 185);
        assert_eq!(count(OrgLevel::City), 1);
        assert_eq!(count(OrgLevel::District), 6);
        assert!(count(OrgLevel::Street) >= 6);
    }

    #[test]
    fn codes_are_unique_and_well_formed() {
        let all = orgs();
        let codes: HashSet<&str> = all.iter().map(|o| o.code.as_str()).collect();
        assert_eq!(codes.len(), all.len(), "duplicate org codes");
        for o in &all {
            let expected_len = match o.level {
                OrgLevel::City | OrgLevel::District => 6,
                OrgLevel::Street => 9,
                OrgLevel::Community => 12,
                OrgLevel::Grid => 15,
            };
            assert_eq!(o.code.len(), expected_len, "{}", o.code);
            if let Some(p) = &o.parent {
                assert!(codes.contains(p.as_str()), "{} has unknown parent {p}", o.code);
                if o.level != OrgLevel::District {
                    assert!(o.code.starts_with(p.as_str()), "{} not below {p}", o.code);
                }
            }
        }
    }

    #[test]
    fn fixed_codes_relied_upon_elsewhere() {
        let idx = index();
        let city = idx.org("370700").unwrap();
        assert_eq!((city.name.as_str(), city.level, city.parent.as_deref()), ("潍坊市", OrgLevel::City, None));
        for (code, name) in [
            ("370705", "奎文区"),
            ("370702", "潍城区"),
            ("370704", "坊子区"),
            ("370703", "寒亭区"),
            ("370791", "高新区"),
            ("370792", "经济区"),
        ] {
            let d = idx.org(code).unwrap();
            assert_eq!((d.name.as_str(), d.level, d.parent.as_deref()), (name, OrgLevel::District, Some("370700")));
        }
        assert_eq!(idx.org("370705001").unwrap().name, "东关街道");
        assert_eq!(idx.org("370705001001").unwrap().name, "胜利东街社区");
        assert_eq!(idx.org("370702001").unwrap().name, "城关街道");
        assert_eq!(idx.org("370702001001").unwrap().name, "十笏园社区");
        let g = idx.org("370705001001-01").unwrap();
        assert_eq!((g.name.as_str(), g.level), ("第1网格", OrgLevel::Grid));
    }

    #[test]
    fn every_grid_reaches_a_district_and_the_city() {
        let idx = index();
        let all = orgs();
        for g in all.iter().filter(|o| o.level == OrgLevel::Grid) {
            let place = idx.grid_place(&g.code).unwrap_or_else(|| panic!("{} has no place", g.code));
            assert!(DISTRICTS.iter().any(|d| d.code == place.district), "{}", g.code);
            assert!(idx.is_within(&g.code, &place.district));
            assert!(idx.is_within(&g.code, "370700"));
        }
    }

    #[test]
    fn communities_have_2_to_4_grids_and_unique_names_per_street() {
        let all = orgs();
        let mut grids: HashMap<&str, Vec<&str>> = HashMap::new();
        for g in all.iter().filter(|o| o.level == OrgLevel::Grid) {
            grids.entry(g.parent.as_deref().unwrap()).or_default().push(&g.name);
        }
        let mut names_by_street: HashMap<&str, HashSet<&str>> = HashMap::new();
        for c in all.iter().filter(|o| o.level == OrgLevel::Community) {
            let names = grids.get(c.code.as_str()).map(Vec::as_slice).unwrap_or_default();
            assert!((2..=4).contains(&names.len()), "{} has {} grids", c.code, names.len());
            for (i, n) in names.iter().enumerate() {
                assert_eq!(*n, format!("第{}网格", i + 1));
            }
            assert!(c.name.ends_with("社区"), "{}", c.name);
            let street = names_by_street.entry(c.parent.as_deref().unwrap()).or_default();
            assert!(street.insert(&c.name), "duplicate name {} in street", c.name);
        }
        for s in all.iter().filter(|o| o.level == OrgLevel::Street) {
            assert!(s.name.ends_with("街道"), "{}", s.name);
            assert!(names_by_street.contains_key(s.code.as_str()), "street {} has no community", s.code);
        }
    }

    #[test]
    fn the_worktime_file_parses_and_times_the_demo_categories() {
        let (calendar, limits) = worktime();
        assert!(calendar.is_valid());
        assert!(calendar.holidays.contains(&chrono::NaiveDate::from_ymd_opt(2026, 10, 1).expect("date")));
        assert!(limits.iter().any(|l| l.category == "*"));
        let cats: HashSet<String> = categories().into_iter().map(|c| c.code).collect();
        for l in limits.iter().filter(|l| l.category != "*") {
            assert!(cats.contains(&l.category), "{} is a category", l.category);
            assert!(l.handle_minutes > 0);
        }
    }

    #[test]
    fn categories_has_260_entries() {
        let cats = categories();
        assert_eq!(cats.len(), 260);
        assert!(cats.iter().any(|c| c.code == "09006" && c.kind == CategoryKind::Matter));
        assert!(cats.iter().any(|c| c.code == "01001" && c.kind == CategoryKind::Component));
    }

    #[test]
    fn user_scopes_exist_and_fit_roles() {
        let idx = index();
        let us = users();
        let names: HashSet<&str> = us.iter().map(|u| u.username.as_str()).collect();
        assert_eq!(names.len(), us.len(), "duplicate usernames");
        for u in &us {
            let scope = idx.org(&u.scope).unwrap_or_else(|| panic!("{}: unknown scope {}", u.username, u.scope));
            let level = match u.role {
                Role::Admin => OrgLevel::City,
                Role::Officer => OrgLevel::District,
                Role::GridWorker => OrgLevel::Grid,
            };
            assert_eq!(scope.level, level, "{}", u.username);
            assert_eq!(u.password, "gridwork-demo");
        }
        assert_eq!(us.iter().filter(|u| u.role == Role::Admin).count(), 1);
        for d in DISTRICTS {
            let officer = us.iter().find(|u| u.username == format!("officer.{}", d.slug)).unwrap();
            assert_eq!(officer.scope, d.code);
            assert!(
                us.iter().any(|u| u.role == Role::GridWorker && idx.is_within(&u.scope, d.code)),
                "no grid worker in {}",
                d.name
            );
        }
        let kw01 = us.iter().find(|u| u.username == "grid.kw01").unwrap();
        assert_eq!(kw01.scope, "370705001001-01");
        let wc01 = us.iter().find(|u| u.username == "grid.wc01").unwrap();
        assert_eq!(wc01.scope, "370702001001-01");
    }

    #[test]
    fn grid_positions_are_in_weifang() {
        for g in orgs().iter().filter(|o| o.level == OrgLevel::Grid) {
            let (lat, lon) = grid_position(&g.code).unwrap_or_else(|| panic!("no position for {}", g.code));
            assert!((36.3..37.3).contains(&lat), "{}: lat {lat}", g.code);
            assert!((118.9..119.6).contains(&lon), "{}: lon {lon}", g.code);
        }
        assert_eq!(grid_position("370705001001-01"), grid_position("370705001001-01"));
        assert_eq!(grid_position("370705001001"), None);
        assert_eq!(grid_position("370705999001-01"), None);
        assert_eq!(grid_position(""), None);
    }
}
