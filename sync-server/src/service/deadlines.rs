//! The server's own hand in the loop: when a running case's deadline passes it is marked
//! overdue (超期), and a notice still 已告知 at the end of its rectification day becomes
//! 逾期未整改. The changes are ops of the system actor through the ordinary push path, so
//! they are checked by the same rules and sync to every device like any other edit.
//!
//! Several server processes may share one database: the job runs in whichever holds the
//! `deadlines` lease (renewed at each run; taken over by another process once its holder
//! has missed [`LEASE_RUNS`] runs), so a deadline is marked once, not once per process.

use crate::domain::DomainError;
use crate::domain::access::Caller;
use crate::domain::clock::ServerClock;
use crate::service::reference::ReferenceService;
use crate::service::sync::SyncService;
use crate::storage::RecordStore;
use crate::storage::leases::LeaseStore;
use gridwork_core::cases::{CaseStep, SYSTEM_USER, StepAction};
use gridwork_core::model::{RecordBody, Role, Status};
use gridwork_core::protocol::{Op, OpAction, Outcome, RecordPatch};
use gridwork_core::reference::OrgLevel;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Records looked at per run (the rest wait for the next run).
const PER_RUN: u32 = 500;
/// The lease's name.
pub const LEASE: &str = "deadlines";
/// A lease lasts this many runs: a holder that stops (killed, cut off from the database)
/// is replaced after about this many intervals.
pub const LEASE_RUNS: u32 = 3;

/// What one run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeadlineRun {
    pub cases: u64,
    pub notices: u64,
}

pub struct DeadlineService {
    records: Arc<dyn RecordStore>,
    sync: Arc<SyncService>,
    reference: Arc<ReferenceService>,
    clock: Arc<ServerClock>,
    leases: Arc<dyn LeaseStore>,
    /// This process's name as a lease holder (unique per start).
    holder: String,
}

impl DeadlineService {
    pub fn new(
        records: Arc<dyn RecordStore>,
        sync: Arc<SyncService>,
        reference: Arc<ReferenceService>,
        clock: Arc<ServerClock>,
        leases: Arc<dyn LeaseStore>,
    ) -> Self {
        let holder = format!("{}-{}", std::process::id(), Uuid::now_v7().simple());
        DeadlineService { records, sync, reference, clock, leases, holder }
    }

    /// Take or renew the job's lease for `LEASE_RUNS` runs of `every`: true if this
    /// process is the one to run it now.
    pub async fn lead(&self, every: Duration) -> Result<bool, DomainError> {
        Ok(self.leases.take_lease(LEASE, &self.holder, every.saturating_mul(LEASE_RUNS)).await?)
    }

    /// Give the lease up (at shutdown), so another process takes over at its next run.
    pub async fn step_down(&self) {
        if let Err(e) = self.leases.release_lease(LEASE, &self.holder).await {
            tracing::warn!(error = %e, "releasing the deadline lease failed");
        }
    }

    /// The system actor: an admin's rights over the whole city, its own name.
    async fn system(&self) -> Result<Caller, DomainError> {
        let refs = self.reference.current().await?;
        let city = refs.data.orgs.iter().find(|o| o.level == OrgLevel::City).map(|o| o.code.clone()).unwrap_or_default();
        Ok(Caller { user_id: SYSTEM_USER.into(), device_id: String::new(), role: Role::Admin, scope: city })
    }

    /// Mark what went overdue by now.
    pub async fn run_once(&self) -> Result<DeadlineRun, DomainError> {
        let now = self.clock.now();
        let mut ops = Vec::new();
        let mut kinds = Vec::new();
        for id in self.records.due_before(now, PER_RUN).await? {
            let Some(rec) = self.records.get(id).await? else { continue };
            let action = match (&rec.body, rec.status) {
                (RecordBody::Case(_), stage) => {
                    OpAction::Step(CaseStep { from: stage, action: StepAction::MarkOverdue, note: None, photos: vec![] })
                }
                (RecordBody::Notice(_), Status::Issued) => {
                    OpAction::Update(RecordPatch { status: Some(Status::Overdue), ..Default::default() })
                }
                _ => continue,
            };
            kinds.push(matches!(rec.body, RecordBody::Case(_)));
            ops.push(Op { op_id: Uuid::now_v7(), record_id: id, hlc: self.clock.tick(), action });
        }
        if ops.is_empty() {
            return Ok(DeadlineRun::default());
        }
        let resp = self.sync.push(&self.system().await?, ops).await?;
        let mut run = DeadlineRun::default();
        for (r, is_case) in resp.results.iter().zip(kinds) {
            match (r.outcome, is_case) {
                (Outcome::Accepted, true) => run.cases += 1,
                (Outcome::Accepted, false) => run.notices += 1,
                // Changed meanwhile (handled, rectified): nothing to mark.
                (Outcome::Rejected, _) => {}
            }
        }
        if run != DeadlineRun::default() {
            tracing::info!(cases = run.cases, notices = run.notices, "marked overdue");
        }
        Ok(run)
    }

    /// Run every `every` while this process holds the lease, until the task is dropped.
    pub fn spawn(self: Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut leading = false;
            loop {
                match self.lead(every).await {
                    Ok(lead) => {
                        if lead != leading {
                            tracing::info!(holder = %self.holder, lead, "deadline job lease");
                            leading = lead;
                        }
                        if lead && let Err(e) = self.run_once().await {
                            tracing::error!(error = %e, "deadline run failed");
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "taking the deadline lease failed"),
                }
                tokio::time::sleep(every).await;
            }
        })
    }
}
