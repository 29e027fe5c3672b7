//! The storage conformance suites: every backend runs every case, so the backends cannot
//! drift. Exported behind the `test-support` feature so that a backend in any crate runs
//! them with `gridwork_server::storage_conformance!(open)`, where `open(key)` opens the
//! stores identified by `key` (for SQLite a directory): the same key must reopen the same
//! data, a new key gives empty stores.
//!
//! One module per aggregate: [`accounts`], [`reference`], [`records`] (pushes go through
//! the real sync service, so the op log's rules are checked against each backend too),
//! [`photos`], [`cases`] (assignments, departures, deadlines, numbers), [`audit`], [`search`],
//! [`numbers`] (notice-number blocks), [`clients`] (Open311 client applications),
//! [`enrolments`] (enrolment codes), [`leases`] (jobs run by one process at a time).

pub mod accounts;
pub mod audit;
pub mod cases;
pub mod clients;
pub mod enrolments;
pub mod leases;
pub mod moderation;
pub mod numbers;
pub mod photos;
pub mod records;
pub mod reference;
pub mod search;

use crate::domain::access::Caller;
use crate::service::{ReferenceService, SyncService};
use crate::storage::{Stores, User};
use chrono::{TimeZone, Utc};
use gridwork_core::fixtures;
use gridwork_core::model::Role;
use gridwork_core::protocol::{Op, OpResult};
use gridwork_core::reference::{OrgLevel, OrgUnit, ReferenceData};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

/// A second grid in the fixture community, and a second community in the fixture district.
pub const GRID2: &str = "370705001001-02";
pub const COMMUNITY2: &str = "370705001002";
pub const GRID3: &str = "370705001002-01";

/// The fixture piece of Weifang with [`GRID2`], [`COMMUNITY2`] and [`GRID3`].
pub fn reference() -> ReferenceData {
    let mut data = fixtures::reference_data();
    let org =
        |code: &str, level, parent: &str| OrgUnit { code: code.into(), name: code.into(), level, parent: Some(parent.into()) };
    data.orgs.push(org(GRID2, OrgLevel::Grid, fixtures::COMMUNITY));
    data.orgs.push(org(COMMUNITY2, OrgLevel::Community, "370705001"));
    data.orgs.push(org(GRID3, OrgLevel::Grid, COMMUNITY2));
    data
}

/// A fresh directory for a case (removed when dropped).
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Stores opened by `open(key)` with the fixture reference data in them.
pub async fn seeded<F, Fut>(open: &F, key: PathBuf) -> Stores
where
    F: Fn(PathBuf) -> Fut,
    Fut: Future<Output = Stores>,
{
    let s = open(key).await;
    let data = reference();
    s.reference.put_orgs(data.orgs).await.expect("put orgs");
    s.reference.put_categories(data.categories).await.expect("put categories");
    // The fixture notice's number (奎文, 2026, No. 1) is from a block of the device `push`
    // uses, for the account most tests push as.
    s.numbers.issue_block("奎文", 2026, 100, "d1", "u1", Utc::now()).await.expect("issue block");
    s
}

pub fn user(id: &str, username: &str, role: Role, scope: &str) -> User {
    User {
        id: id.into(),
        username: username.into(),
        display_name: format!("用户{id}"),
        role,
        scope: scope.into(),
        password_hash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into(),
        created_at: Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).single().expect("valid date"),
    }
}

/// The sync service over `stores`, as the server builds it.
pub async fn sync_service(stores: &Stores) -> SyncService {
    let reference = Arc::new(ReferenceService::new(stores.reference.clone(), stores.accounts.clone()).await.expect("reference"));
    let clock = Arc::new(crate::domain::clock::ServerClock::new(Arc::new(crate::domain::clock::WallClock::system()), None));
    let audit = Arc::new(crate::service::AuditService::new(stores.audit.clone(), clock.clone()));
    SyncService::new(stores.records.clone(), stores.photos.clone(), reference, clock, audit)
}

/// An all-seeing caller (an admin of the fixture city) with this account id.
pub fn admin(user_id: &str) -> Caller {
    Caller { user_id: user_id.into(), device_id: "d1".into(), role: Role::Admin, scope: fixtures::CITY.into() }
}

/// Push `ops` as the admin `user_id` through the real push path; the results.
pub async fn push(stores: &Stores, user_id: &str, ops: Vec<Op>) -> Vec<OpResult> {
    sync_service(stores).await.push(&admin(user_id), ops).await.expect("push").results
}

/// Generates one `#[tokio::test]` per conformance case for the stores opened by `$open`
/// (a `Fn(PathBuf) -> impl Future<Output = Stores>`).
#[macro_export]
macro_rules! storage_conformance {
    ($open:expr) => {
        $crate::storage_conformance!(@cases $open;
            accounts::users_roundtrip_and_unique_username,
            accounts::sessions_create_find_revoke,
            accounts::login_failures_count_in_a_row_per_username,
            reference::reference_roundtrip_and_revision,
            reference::stalls_roundtrip_and_bump_the_revision,
            records::push_applies_in_order_with_increasing_seqs,
            records::repeated_op_id_returns_the_first_result,
            records::rejected_result_is_stored_and_repeated,
            records::pull_pages_with_limit_next_and_has_more,
            records::pull_filters_by_visibility,
            records::concurrent_pushers_and_a_puller_never_skip_or_repeat,
            records::a_pull_cursor_stays_below_uncommitted_writes,
            records::a_dropped_unit_of_work_changes_nothing,
            records::signed_ops_are_kept_as_evidence,
            records::the_timeline_follows_the_sequence,
            photos::photo_index_follows_the_current_record,
            photos::uploaded_photos_are_recorded_once,
            photos::a_listed_photo_counts_only_once_its_lister_sent_it_or_could_see_it,
            cases::an_assigned_record_reaches_its_assignee_and_leaves_with_a_departure,
            cases::due_before_lists_what_is_watched_in_due_order,
            cases::numbers_count_per_key_and_roll_back_with_their_unit_of_work,
            cases::worktime_roundtrip_and_revision,
            audit::the_audit_trail_is_a_chain_in_order,
            audit::case_steps_are_audited_with_their_push,
            audit::the_audit_trail_pages_both_ways_by_action_and_target,
            search::search_filters_combine_sort_and_page,
            clients::clients_roundtrip_revoke_and_filed_requests,
            moderation::hiding_and_redactions_roundtrip_with_their_history,
            enrolments::codes_are_used_once_before_they_expire,
            leases::a_lease_has_one_holder_until_it_runs_out,
            numbers::blocks_follow_each_other_and_never_overlap,
            numbers::a_number_is_used_once_and_only_from_its_device_block,
            numbers::returns_and_losses_close_blocks_and_every_number_is_accounted
        );
        #[tokio::test]
        async fn data_survives_reopen() {
            let dir = $crate::conformance::scratch();
            $crate::conformance::records::data_survives_reopen(&$open, dir.path().join("store")).await;
        }
    };
    (@cases $open:expr; $($module:ident :: $case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let dir = $crate::conformance::scratch();
                let s = $crate::conformance::seeded(&$open, dir.path().join("store")).await;
                $crate::conformance::$module::$case(s).await;
            }
        )*
    };
}
