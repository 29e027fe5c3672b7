//! Putting data into a new store: the reference data (the Weifang org tree and the
//! GB/T 47678.5 table) and the demo city (accounts and records). Everything goes through
//! the services, as a real deployment's data would: accounts through `add_user`, records
//! as ops through the push path, authored by the demo accounts.

mod demo_city;
mod demo_records;
mod demo_stalls;

pub use demo_city::{DemoUser, categories, grid_position, orgs, users};
pub use demo_stalls::stalls;

use crate::domain::DomainError;
use crate::service::accounts::NewUser;
use crate::state::AppState;
use crate::storage::ReferenceStore;
use anyhow::bail;
use chrono::Utc;
use gridwork_core::model::Role;
use gridwork_core::numbering::BLOCK_SIZE;
use gridwork_core::protocol::Outcome;
use gridwork_core::reference::{OrgLevel, RefIndex, ReferenceData};
use std::collections::HashMap;

/// Load the Weifang org tree and the category table if the store has no orgs yet, the
/// working calendar and time limits if it has none (a store from before cases), and the
/// 小蓝棚 registry if it has none. Returns true if it loaded anything.
pub async fn ensure_reference(store: &dyn ReferenceStore) -> Result<bool, DomainError> {
    let mut loaded = false;
    if store.orgs().await?.is_empty() {
        store.put_orgs(orgs()).await?;
        store.put_categories(categories()).await?;
        loaded = true;
    }
    if store.worktime().await?.is_none() {
        let (calendar, limits) = demo_city::worktime();
        store.put_worktime(calendar, limits).await?;
        loaded = true;
    }
    if store.stalls().await?.is_empty() {
        store.put_stalls(stalls()).await?;
        loaded = true;
    }
    Ok(loaded)
}

/// One line of the demo login table.
pub struct DemoLogin {
    pub username: String,
    pub password: &'static str,
    pub role: Role,
    pub scope_name: String,
}

/// A readable name for an org: a grid with its community, others as they are.
pub fn scope_name(refs: &RefIndex, code: &str) -> String {
    match refs.org(code) {
        Some(o) if o.level == OrgLevel::Grid => {
            let parent = o.parent.as_deref().and_then(|p| refs.org(p)).map(|p| p.name.as_str()).unwrap_or("");
            format!("{parent}{}", o.name)
        }
        Some(o) => o.name.clone(),
        None => code.to_owned(),
    }
}

/// The demo accounts and their scopes, for the login table.
pub fn demo_logins() -> Vec<DemoLogin> {
    let refs = RefIndex::new(&ReferenceData { orgs: orgs(), ..Default::default() });
    users()
        .into_iter()
        .map(|u| DemoLogin { scope_name: scope_name(&refs, &u.scope), username: u.username, password: u.password, role: u.role })
        .collect()
}

/// Seed the demo city into an empty store: reference data, demo accounts and about forty
/// records. Returns false (and does nothing) if the store already has accounts.
pub async fn seed_demo(state: &AppState) -> anyhow::Result<bool> {
    let stores = state.stores();
    if stores.accounts.count_users().await? > 0 {
        return Ok(false);
    }
    ensure_reference(stores.reference.as_ref()).await?;
    state.reference().reload().await?;

    // Concurrently: argon2 is deliberately slow. The order of `users()` is kept.
    let adds = users().into_iter().map(|u| {
        let new = NewUser {
            username: u.username,
            display_name: u.display_name,
            role: u.role,
            scope: u.scope,
            password: u.password.into(),
        };
        state.accounts().add_user(new)
    });
    let accounts = futures::future::try_join_all(adds).await?;
    // Afresh: every account just added is in it (the plan dispatches to the officers).
    let refs = state.reference().reload().await?;

    // The history, each event at its own time on the server's clock, the deadline job
    // running before each as it would have.
    let now = Utc::now();
    let wall = state.clock().wall().clone();
    // Each officer's device took a block of notice numbers before the history began.
    wall.shift(-chrono::Duration::days(demo_records::HISTORY_DAYS + 1));
    let mut numbers = HashMap::new();
    let issued = async {
        for u in accounts.iter().filter(|u| u.role == Role::Officer) {
            let block = state.numbers().issue(&demo_records::demo_caller(u), BLOCK_SIZE).await?;
            numbers.insert(u.id.clone(), block);
        }
        anyhow::Ok(())
    };
    let issued = issued.await;
    wall.shift(chrono::Duration::zero());
    issued?;
    let plan = demo_records::DemoPlan::new(&refs.index, &accounts, &numbers, now)?;
    let replay = async {
        for event in plan.events {
            wall.shift(event.at - now);
            state.deadlines().run_once().await?;
            let resp = state.sync().push(&event.caller, event.ops).await?;
            if let Some(r) = resp.results.iter().find(|r| r.outcome != Outcome::Accepted) {
                bail!("demo op rejected: {:?}", r.rejection);
            }
        }
        anyhow::Ok(())
    };
    let replayed = replay.await;
    wall.shift(chrono::Duration::zero());
    replayed?;
    state.deadlines().run_once().await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::Visibility;
    use gridwork_core::model::{RecordBody, RecordKind, Status};

    #[tokio::test]
    async fn demo_city_seeds_once_through_the_push_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = AppState::sqlite_for_tests(dir.path()).await;
        let stores = state.stores().clone();
        assert!(seed_demo(&state).await.expect("seed"));
        let users = stores.accounts.count_users().await.expect("count");
        let counts = stores.records.counts().await.expect("counts");
        assert_eq!(users as usize, super::users().len());
        assert!((100..=115).contains(&counts.records), "{counts:?}");
        let all = stores.records.pull(&Visibility::All, 0, 1000).await.expect("pull").records;
        for kind in RecordKind::ALL {
            assert!(all.iter().any(|r| r.kind() == kind), "{kind:?}");
        }
        let districts: std::collections::HashSet<&str> = all.iter().map(|r| &r.org.grid[..6]).collect();
        assert!(districts.len() >= 5, "{districts:?}");
        assert!(all.iter().any(|r| r.status == Status::Accepted));
        // Several dozen cases through every stage.
        let cases: Vec<&gridwork_core::cases::Case> = all
            .iter()
            .filter_map(|r| match &r.body {
                RecordBody::Case(c) => Some(c),
                _ => None,
            })
            .collect();
        assert!(cases.len() >= 36, "{} cases", cases.len());
        for stage in [Status::Registered, Status::Dispatched, Status::Handled, Status::Closed, Status::Voided, Status::Suspended]
        {
            assert!(all.iter().any(|r| r.kind() == RecordKind::Case && r.status == stage), "a case {stage:?}");
        }
        assert!(cases.iter().any(|c| c.reworks == 1), "one 返工");
        assert!(cases.iter().any(|c| c.extensions == 1), "one 延期");
        assert!(cases.iter().any(|c| c.paused_since.is_some()), "one 缓办");
        assert!(cases.iter().filter(|c| c.overdue).count() >= 3, "overdue cases, marked by the server");
        assert!(cases.iter().any(|c| c.supervised), "督办");
        let late = cases.iter().filter(|c| c.closed_at.is_some() && c.handled_at > c.due_at).count();
        let on_time = cases.iter().filter(|c| c.closed_at.is_some() && c.handled_at <= c.due_at).count();
        assert!(late >= 1 && on_time >= 10, "closed late {late}, on time {on_time}");
        assert!(cases.iter().all(|c| c.number.as_deref().is_some_and(|n| n.len() == 18)), "numbered like 370705-2026-000001");
        assert!(cases.iter().filter(|c| c.closed_at.is_some()).all(|c| c.reply.is_some()), "件件有回音");
        let reports_of_cases = all.iter().filter(|r| r.kind() == RecordKind::Report && r.status == Status::Closed).count();
        assert!(reports_of_cases >= 10, "the reports follow their closed cases");
        // The history happened in the past, on the server's clock.
        assert!(all.iter().any(|r| r.created_at < Utc::now() - chrono::Duration::days(14)));
        assert!(all.iter().all(|r| r.updated_at <= Utc::now()));
        assert!(all.iter().any(|r| matches!(&r.body, RecordBody::Report(rep) if rep.description.contains("胜利东街"))));
        // Not twice.
        assert!(!seed_demo(&state).await.expect("seed again"));
        assert_eq!(stores.records.counts().await.expect("counts"), counts);
        assert_eq!(stores.accounts.count_users().await.expect("count"), users);
        assert_eq!(demo_logins().len(), super::users().len());
        assert!(demo_logins().iter().any(|l| l.scope_name.contains("胜利东街社区")));
    }
}
