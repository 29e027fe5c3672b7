//! Reference data the server hands to devices and both sides validate against:
//! the org tree (市/区/街道/社区/网格), the GB/T 47678.5 category table, and the users a
//! device needs to show names. Devices keep a copy so that everything works offline.

use crate::cases::TimeLimit;
use crate::model::Role;
use crate::worktime::WorkCalendar;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum OrgLevel {
    City,
    District,
    Street,
    Community,
    Grid,
}

impl OrgLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgLevel::City => "city",
            OrgLevel::District => "district",
            OrgLevel::Street => "street",
            OrgLevel::Community => "community",
            OrgLevel::Grid => "grid",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        use OrgLevel::*;
        [City, District, Street, Community, Grid].into_iter().find(|l| l.as_str() == s)
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OrgUnit {
    pub code: String,
    pub name: String,
    pub level: OrgLevel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CategoryKind {
    Component,
    Matter,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub code: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub kind: CategoryKind,
}

/// An account as other devices see it: enough to show a name.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UserInfo {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// Org code of the user's scope: a grid, a district or the city.
    pub scope: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct ReferenceData {
    /// Changes whenever any of the lists change; devices refetch when it differs.
    pub version: String,
    pub orgs: Vec<OrgUnit>,
    pub categories: Vec<Category>,
    pub users: Vec<UserInfo>,
    /// The working calendar cases are timed by.
    #[serde(default)]
    pub calendar: WorkCalendar,
    /// The time limits of cases per category (`*`: the default).
    #[serde(default)]
    pub time_limits: Vec<TimeLimit>,
    /// The 小蓝棚 and 便民市场 registry (operators masked for those without the right).
    #[serde(default)]
    pub stalls: Vec<crate::stalls::Stall>,
}

/// Notice categories besides the standard matter codes: the 七乱 and 门前五包.
pub const NOTICE_EXTRA_CATEGORIES: &[(&str, &str)] = &[
    ("QL-BUILD", "乱搭建"),
    ("QL-ENCLOSE", "乱圈占"),
    ("QL-STALL", "乱摆摊"),
    ("QL-PILE", "乱堆放"),
    ("QL-POST", "乱贴画"),
    ("QL-HANG", "乱扯挂"),
    ("QL-DISCHARGE", "乱排放"),
    ("MQWB", "门前五包"),
];

/// Where a grid sits in the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GridPlace {
    pub grid: String,
    pub community: String,
    pub street: String,
    pub district: String,
}

/// The time limit used when neither the category nor `*` has one: a working day to
/// dispatch, five to handle, one to verify.
pub static FALLBACK_TIME_LIMIT: TimeLimit =
    TimeLimit { category: String::new(), dispatch_minutes: 450, handle_minutes: 5 * 450, verify_minutes: 450 };

/// Fast look-ups over [`ReferenceData`].
#[derive(Debug, Default)]
pub struct RefIndex {
    orgs: HashMap<String, OrgUnit>,
    categories: HashMap<String, Category>,
    users: HashMap<String, UserInfo>,
    calendar: WorkCalendar,
    time_limits: HashMap<String, TimeLimit>,
    stalls: HashMap<String, crate::stalls::Stall>,
}

impl RefIndex {
    pub fn new(data: &ReferenceData) -> Self {
        RefIndex {
            orgs: data.orgs.iter().map(|o| (o.code.clone(), o.clone())).collect(),
            categories: data.categories.iter().map(|c| (c.code.clone(), c.clone())).collect(),
            users: data.users.iter().map(|u| (u.id.clone(), u.clone())).collect(),
            calendar: data.calendar.clone(),
            time_limits: data.time_limits.iter().map(|t| (t.category.clone(), t.clone())).collect(),
            stalls: data.stalls.iter().map(|s| (s.code.clone(), s.clone())).collect(),
        }
    }

    /// Every stall and market of the registry, in no order.
    pub fn stalls(&self) -> impl Iterator<Item = &crate::stalls::Stall> {
        self.stalls.values()
    }

    /// A stall or market of the registry by its code.
    pub fn stall(&self, code: &str) -> Option<&crate::stalls::Stall> {
        self.stalls.get(code)
    }

    /// An account by id (names and roles only).
    pub fn user(&self, id: &str) -> Option<&UserInfo> {
        self.users.get(id)
    }

    pub fn calendar(&self) -> &WorkCalendar {
        &self.calendar
    }

    /// The time limits of cases of `category` (its own, else `*`, else the fallback).
    pub fn time_limit(&self, category: &str) -> &TimeLimit {
        self.time_limits.get(category).or_else(|| self.time_limits.get("*")).unwrap_or(&FALLBACK_TIME_LIMIT)
    }

    /// The district (区) an org is in, walking up the tree.
    pub fn district_of(&self, code: &str) -> Option<&str> {
        let mut cur = self.orgs.get(code);
        while let Some(o) = cur {
            if o.level == OrgLevel::District {
                return Some(&o.code);
            }
            cur = o.parent.as_deref().and_then(|p| self.orgs.get(p));
        }
        None
    }

    pub fn org(&self, code: &str) -> Option<&OrgUnit> {
        self.orgs.get(code)
    }

    pub fn category(&self, code: &str) -> Option<&Category> {
        self.categories.get(code)
    }

    /// The chain from a grid up to its district, if `grid` is a grid.
    pub fn grid_place(&self, grid: &str) -> Option<GridPlace> {
        let g = self.orgs.get(grid).filter(|o| o.level == OrgLevel::Grid)?;
        let c = self.orgs.get(g.parent.as_deref()?).filter(|o| o.level == OrgLevel::Community)?;
        let s = self.orgs.get(c.parent.as_deref()?).filter(|o| o.level == OrgLevel::Street)?;
        let d = self.orgs.get(s.parent.as_deref()?).filter(|o| o.level == OrgLevel::District)?;
        Some(GridPlace { grid: g.code.clone(), community: c.code.clone(), street: s.code.clone(), district: d.code.clone() })
    }

    /// Is `code` the org unit `scope` or below it?
    pub fn is_within(&self, code: &str, scope: &str) -> bool {
        let mut cur = Some(code);
        while let Some(c) = cur {
            if c == scope {
                return true;
            }
            cur = self.orgs.get(c).and_then(|o| o.parent.as_deref());
        }
        false
    }
}
