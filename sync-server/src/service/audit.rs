//! The audit trail of security-relevant events: sign-ins and failures, revocations,
//! accounts added, cases opened and their steps (and, as the console and exports arrive,
//! reveals of personal data and exports with it). Appended in order, chained by hash,
//! readable by admins, verifiable end to end. Entries hold ids and codes, never personal
//! data.

use crate::domain::DomainError;
use crate::domain::access::Caller;
use crate::domain::audit::ChainCheck;
use crate::domain::clock::ServerClock;
use crate::storage::{AuditEntry, AuditQuery, AuditStore, NewAudit};
use serde_json::Value;
use std::sync::Arc;

/// Entries read per page when the chain is verified.
const VERIFY_PAGE: u32 = 1000;

/// The outcome of a verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainReport {
    /// Entries whose links held.
    pub checked: u64,
    /// The seq of the first broken link, if any.
    pub first_broken: Option<u64>,
}

pub struct AuditService {
    store: Arc<dyn AuditStore>,
    clock: Arc<ServerClock>,
}

impl AuditService {
    pub fn new(store: Arc<dyn AuditStore>, clock: Arc<ServerClock>) -> Self {
        AuditService { store, clock }
    }

    /// The entry for an event now (for a unit of work that appends it itself).
    pub fn entry(&self, actor: &str, action: &str, target: Option<&str>, detail: Value) -> NewAudit {
        NewAudit {
            at: self.clock.now(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: target.map(str::to_owned),
            detail,
        }
    }

    /// Append an event.
    pub async fn record(&self, actor: &str, action: &str, target: Option<&str>, detail: Value) -> Result<u64, DomainError> {
        Ok(self.store.append_audit(self.entry(actor, action, target, detail)).await?)
    }

    /// Entries after `after` (admins only), at most `limit`, about `target` if given.
    pub async fn page(
        &self,
        caller: &Caller,
        after: u64,
        limit: u32,
        target: Option<&str>,
    ) -> Result<Vec<AuditEntry>, DomainError> {
        caller.require_admin()?;
        Ok(self.store.audit_page(after, limit.clamp(1, VERIFY_PAGE), target).await?)
    }

    /// Entries as `query` asks (admins only): newest or oldest first, keyset-paged by seq,
    /// by action and target; at most [`VERIFY_PAGE`] at once.
    pub async fn find(&self, caller: &Caller, mut query: AuditQuery) -> Result<Vec<AuditEntry>, DomainError> {
        caller.require_admin()?;
        query.limit = query.limit.clamp(1, VERIFY_PAGE);
        Ok(self.store.audit_find(query).await?)
    }

    /// Walk the whole chain; where it first breaks.
    pub async fn verify(&self) -> Result<ChainReport, DomainError> {
        let mut check = ChainCheck::default();
        let mut after = 0;
        loop {
            let page = self.store.audit_page(after, VERIFY_PAGE, None).await?;
            let Some(last) = page.last().map(|e| e.seq) else { break };
            for e in &page {
                if !check.push(&e.link(), &e.prev_hash, &e.hash) {
                    return Ok(ChainReport { checked: check.checked, first_broken: check.broken });
                }
            }
            after = last;
        }
        Ok(ChainReport { checked: check.checked, first_broken: None })
    }
}
