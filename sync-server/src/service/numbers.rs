//! Notice numbers: blocks of a brigade's yearly sequence handed to officers' devices, given
//! back when a device signs out, given up when it changes hands or is revoked, and an
//! account of every number handed out. A pushed notice's number is checked by the sync
//! service in the push's own unit of work (`RecordTx::number_states`).

use crate::domain::DomainError;
use crate::domain::access::Caller;
use crate::domain::clock::ServerClock;
use crate::service::audit::AuditService;
use crate::service::reference::ReferenceService;
use crate::storage::numbers::{BlockAccount, NumberStore, Whose};
use chrono::Datelike;
use gridwork_core::model::Role;
use gridwork_core::numbering::{self, MAX_BLOCK, NumberBlock};
use gridwork_core::protocol::{BlockReturn, ReturnRequest};
use gridwork_core::worktime::china;
use std::sync::Arc;

/// Returns per request, at most.
const MAX_RETURNS: usize = 100;

pub struct NumberService {
    store: Arc<dyn NumberStore>,
    reference: Arc<ReferenceService>,
    clock: Arc<ServerClock>,
    audit: Arc<AuditService>,
}

impl NumberService {
    pub fn new(
        store: Arc<dyn NumberStore>,
        reference: Arc<ReferenceService>,
        clock: Arc<ServerClock>,
        audit: Arc<AuditService>,
    ) -> Self {
        NumberService { store, reference, clock, audit }
    }

    /// A block of `count` numbers of the caller's brigade for the caller's device (officers
    /// and admins: those who issue notices).
    pub async fn issue(&self, caller: &Caller, count: u32) -> Result<NumberBlock, DomainError> {
        if !matches!(caller.role, Role::Officer | Role::Admin) {
            return Err(DomainError::Forbidden);
        }
        if !(1..=MAX_BLOCK).contains(&count) {
            return Err(DomainError::invalid_input("count", format!("count: 应为1到{MAX_BLOCK}")));
        }
        let refs = self.reference.current().await?;
        let prefix = numbering::prefix_of(&caller.scope, &refs.index).ok_or(DomainError::Forbidden)?;
        let now = self.clock.now();
        let year = now.with_timezone(&china()).year();
        let block = self
            .store
            .issue_block(&prefix, year, count, &caller.device_id, &caller.user_id, now)
            .await?
            .ok_or_else(|| DomainError::invalid_input("count", "本年度告知单编号已用尽 (count)"))?;
        let detail = serde_json::json!({ "block": block.id, "prefix": block.prefix, "year": block.year,
                                         "first": block.first, "last": block.last, "device": caller.device_id });
        self.audit.record(&caller.user_id, "numbers_issued", None, detail).await?;
        Ok(block)
    }

    /// What is left of the blocks the caller's device holds (after a reinstall of the app's
    /// data, the device takes them up again).
    pub async fn open(&self, caller: &Caller) -> Result<Vec<NumberBlock>, DomainError> {
        Ok(self.store.open_blocks(&caller.device_id, &caller.user_id).await?)
    }

    /// The caller's device gives back the unused ends of its blocks; how many numbers.
    pub async fn give_back(&self, caller: &Caller, req: &ReturnRequest) -> Result<u64, DomainError> {
        if req.blocks.len() > MAX_RETURNS {
            return Err(DomainError::invalid_input("blocks", format!("blocks: 最多{MAX_RETURNS}个")));
        }
        let returned = self.store.return_numbers(&caller.device_id, &caller.user_id, &req.blocks, self.clock.now()).await?;
        if returned > 0 {
            let blocks: Vec<u64> = req.blocks.iter().map(|b: &BlockReturn| b.block).collect();
            let detail = serde_json::json!({ "blocks": blocks, "returned": returned, "device": caller.device_id });
            self.audit.record(&caller.user_id, "numbers_returned", None, detail).await?;
        }
        Ok(returned)
    }

    /// The open numbers `whose` are given up (the device changed hands, or its sessions
    /// were revoked); how many.
    pub async fn give_up(&self, actor: &str, whose: Whose<'_>) -> Result<u64, DomainError> {
        let lost = self.store.lose_numbers(whose, self.clock.now()).await?;
        if lost > 0 {
            let detail = match whose {
                Whose::Device { device_id, .. } => serde_json::json!({ "device": device_id, "lost": lost }),
                Whose::User { user_id, device_id } => {
                    serde_json::json!({ "user": user_id, "device": device_id, "lost": lost })
                }
            };
            self.audit.record(actor, "numbers_lost", None, detail).await?;
        }
        Ok(lost)
    }

    /// Every block handed out and what became of its numbers (admins).
    pub async fn accounts(&self, caller: &Caller) -> Result<Vec<BlockAccount>, DomainError> {
        caller.require_admin()?;
        Ok(self.store.number_accounts(None, None).await?)
    }

    /// The same, without a session (the command line).
    pub async fn all_accounts(&self) -> Result<Vec<BlockAccount>, DomainError> {
        Ok(self.store.number_accounts(None, None).await?)
    }
}
