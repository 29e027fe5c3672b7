//! Who calls, and what they may see and do: the access policy every use case and every
//! front door applies in the same way.

use crate::domain::DomainError;
use gridwork_core::merge::Actor;
use gridwork_core::model::Role;
use gridwork_core::reference::{OrgLevel, RefIndex};

/// An authenticated account acting from one device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub device_id: String,
    pub role: Role,
    /// Org code of the account's scope.
    pub scope: String,
}

/// Which records a caller may read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Visibility {
    All,
    District(String),
    Community(String),
    Grid(String),
    /// An officer: their brigade's district, and what is dispatched to them or their unit
    /// wherever it is.
    Officer {
        district: String,
        user_id: String,
    },
}

impl Visibility {
    /// The assignment keys (`unit:<code>`, `officer:<user id>`) it covers beyond its area.
    pub fn assignments(&self) -> Vec<String> {
        match self {
            Visibility::Officer { district, user_id } => vec![format!("unit:{district}"), format!("officer:{user_id}")],
            _ => Vec::new(),
        }
    }
}

impl Caller {
    /// Grid workers see their grid (or community), officers their brigade's district,
    /// admins everything.
    pub fn visibility(&self, refs: &RefIndex) -> Visibility {
        match self.role {
            Role::Admin => Visibility::All,
            Role::Officer => Visibility::Officer { district: self.scope.clone(), user_id: self.user_id.clone() },
            Role::GridWorker => match refs.org(&self.scope).map(|o| o.level) {
                Some(OrgLevel::Community) => Visibility::Community(self.scope.clone()),
                _ => Visibility::Grid(self.scope.clone()),
            },
        }
    }

    /// The merge rules' view of the caller, scope checked.
    pub fn actor(&self) -> Actor<'_> {
        Actor { user_id: &self.user_id, device_id: &self.device_id, role: self.role, scope: Some(&self.scope), home: &self.scope }
    }

    pub fn require_admin(&self) -> Result<(), DomainError> {
        if self.role == Role::Admin { Ok(()) } else { Err(DomainError::Forbidden) }
    }
}

/// The org levels an account of `role` may be scoped to.
pub fn scope_levels(role: Role) -> &'static [OrgLevel] {
    match role {
        Role::GridWorker => &[OrgLevel::Grid, OrgLevel::Community],
        Role::Officer => &[OrgLevel::District],
        Role::Admin => &[OrgLevel::City],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridwork_core::fixtures;

    fn caller(role: Role, scope: &str) -> Caller {
        Caller { user_id: "u".into(), device_id: "d".into(), role, scope: scope.into() }
    }

    #[test]
    fn visibility_follows_role_and_scope_level() {
        let refs = fixtures::refs();
        assert_eq!(caller(Role::Admin, fixtures::CITY).visibility(&refs), Visibility::All);
        let officer = caller(Role::Officer, fixtures::DISTRICT).visibility(&refs);
        assert_eq!(officer, Visibility::Officer { district: fixtures::DISTRICT.into(), user_id: "u".into() });
        assert_eq!(officer.assignments(), ["unit:370705", "officer:u"]);
        assert_eq!(caller(Role::GridWorker, fixtures::GRID).visibility(&refs), Visibility::Grid(fixtures::GRID.into()));
        assert_eq!(
            caller(Role::GridWorker, fixtures::COMMUNITY).visibility(&refs),
            Visibility::Community(fixtures::COMMUNITY.into())
        );
        assert!(caller(Role::Officer, fixtures::DISTRICT).require_admin().is_err());
        assert!(caller(Role::Admin, fixtures::CITY).require_admin().is_ok());
    }
}
