//! The figures of the case loop for a period and a grouping, over the cases a caller may
//! see (admins: all; officers: their brigade's district and what is dispatched to them).

use crate::domain::DomainError;
use crate::domain::access::Caller;
use crate::domain::clock::ServerClock;
use crate::domain::figures::{CaseFacts, Figures, GroupBy, figures};
use crate::service::reference::ReferenceService;
use crate::storage::RecordStore;
use chrono::{Datelike, NaiveDate};
use gridwork_core::cases::Assignee;
use gridwork_core::model::{Record, RecordBody, Role, Status};
use gridwork_core::reference::RefIndex;
use gridwork_core::worktime::start_of_day;
use std::sync::Arc;

pub struct FiguresService {
    records: Arc<dyn RecordStore>,
    reference: Arc<ReferenceService>,
    clock: Arc<ServerClock>,
}

/// The facts of one case record, as the figures read them.
pub fn facts(rec: &Record, refs: &RefIndex) -> Option<CaseFacts> {
    let RecordBody::Case(c) = &rec.body else { return None };
    let brigade = c.assignee.as_ref().and_then(|a| match a {
        Assignee::Unit { code } => Some(code.clone()),
        Assignee::Officer { user_id } => refs.user(user_id).map(|u| u.scope.clone()),
    });
    Some(CaseFacts {
        district: refs.district_of(&rec.org.grid).unwrap_or_default().to_owned(),
        brigade,
        unit: c.assignee.as_ref().map(Assignee::key),
        category: c.category.clone(),
        registered_at: rec.created_at,
        due_at: c.due_at,
        handled_at: c.handled_at,
        closed_at: c.closed_at,
        paused: c.paused_since.is_some(),
        suspended: rec.status == Status::Suspended,
        voided: rec.status == Status::Voided,
        reworks: c.reworks,
        extensions: c.extensions,
    })
}

impl FiguresService {
    pub fn new(records: Arc<dyn RecordStore>, reference: Arc<ReferenceService>, clock: Arc<ServerClock>) -> Self {
        FiguresService { records, reference, clock }
    }

    /// The figures of the local dates `[from, to)` grouped `by`, for `caller`.
    pub async fn figures(
        &self,
        caller: &Caller,
        from: NaiveDate,
        to: NaiveDate,
        by: GroupBy,
    ) -> Result<Vec<Figures>, DomainError> {
        Ok(self.figures_by(caller, from, to, &[by]).await?.pop().unwrap_or_default())
    }

    /// The figures of `[from, to)` under each grouping of `groupings`, in that order, from
    /// one read of the cases (a page with a total, a breakdown and a ranking reads once).
    pub async fn figures_by(
        &self,
        caller: &Caller,
        from: NaiveDate,
        to: NaiveDate,
        groupings: &[GroupBy],
    ) -> Result<Vec<Vec<Figures>>, DomainError> {
        if !matches!(caller.role, Role::Admin | Role::Officer) {
            return Err(DomainError::Forbidden);
        }
        for (field, d) in [("from", from), ("to", to)] {
            if !(2000..=2099).contains(&d.year()) {
                return Err(DomainError::invalid_input(field, format!("{field}: 应在 2000–2099 年之间")));
            }
        }
        if to <= from {
            return Err(DomainError::invalid_input("to", "to: 应晚于 from"));
        }
        let (from, to) = (start_of_day(from), start_of_day(to));
        let refs = self.reference.current().await?;
        let cases = self.records.cases(&caller.visibility(&refs.index)).await?;
        let facts: Vec<CaseFacts> = cases.iter().filter_map(|r| facts(r, &refs.index)).collect();
        drop(cases);
        let now = self.clock.now();
        Ok(groupings.iter().map(|by| figures(&facts, from, to, now, *by)).collect())
    }
}
