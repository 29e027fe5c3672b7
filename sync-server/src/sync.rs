//! Push and pull, independent of the storage engine: who may do what, which clock stamps
//! an op, and the core merge rules (`gridwork_core::merge::apply_op`) handed to storage as
//! a [`Merger`].

use crate::auth::Session;
use crate::error::AppError;
use crate::state::{AppState, RefCache};
use crate::storage::{Merger, PushAuthor, Visibility};
use chrono::Utc;
use gridwork_core::hlc::HlcClock;
use gridwork_core::merge::{Actor, StoredRecord, apply_op, effective_hlc};
use gridwork_core::model::Role;
use gridwork_core::protocol::{
    DEFAULT_PULL_LIMIT, MAX_PULL_LIMIT, MAX_PUSH_OPS, Op, OpAction, OpResult, PullQuery, PullResponse, PushResponse,
    RejectReason, Rejection,
};
use gridwork_core::reference::{GridPlace, OrgLevel, RefIndex};
use gridwork_core::validate::validate_location;
use std::sync::Arc;

/// Who pushes or pulls, as the merge rules need it.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user_id: String,
    pub device_id: String,
    pub role: Role,
    pub scope: String,
}

impl From<&Session> for Caller {
    fn from(s: &Session) -> Self {
        Caller { user_id: s.user.id.clone(), device_id: s.device_id.to_string(), role: s.user.role, scope: s.user.scope.clone() }
    }
}

/// The core merge rules for one caller, with the server's clock and reference data.
pub struct SyncMerger {
    caller: Caller,
    refs: Arc<RefCache>,
    clock: Arc<HlcClock>,
}

impl Merger for SyncMerger {
    fn apply(&self, current: Option<&StoredRecord>, op: &Op) -> Result<(StoredRecord, GridPlace), Rejection> {
        let now = Utc::now();
        let now_ms = u64::try_from(now.timestamp_millis()).unwrap_or(0);
        let stamp = effective_hlc(&op.hlc, &self.clock, now_ms);
        let actor = Actor {
            user_id: &self.caller.user_id,
            device_id: &self.caller.device_id,
            role: self.caller.role,
            scope: Some(&self.caller.scope),
        };
        let next = apply_op(current, op, &stamp, &actor, &self.refs.index, now)?;
        let place = self
            .refs
            .index
            .grid_place(&next.record.org.grid)
            .ok_or_else(|| Rejection::new(RejectReason::Invalid, Some("org.grid"), "网格不存在 (org.grid)"))?;
        Ok((next, place))
    }
}

/// Checks made on the whole batch before anything is applied.
fn precheck(ops: &[Op]) -> Result<(), AppError> {
    if ops.len() > MAX_PUSH_OPS {
        return Err(AppError::BatchTooLarge);
    }
    for (i, op) in ops.iter().enumerate() {
        let loc = match &op.action {
            OpAction::Create(new) => Some(&new.location),
            OpAction::Update(patch) => patch.location.as_ref(),
        };
        if let Some(loc) = loc {
            validate_location(loc).map_err(|r| {
                let field = r.field.as_deref().unwrap_or("location");
                AppError::InvalidOp(format!("ops[{i}].{field}: {}", r.message))
            })?;
        }
    }
    Ok(())
}

/// Apply `ops` for `caller`, all in one storage transaction.
pub async fn push(state: &AppState, caller: &Caller, ops: Vec<Op>) -> Result<PushResponse, AppError> {
    precheck(&ops)?;
    let results: Vec<OpResult> = if ops.is_empty() {
        Vec::new()
    } else {
        let merger =
            Arc::new(SyncMerger { caller: caller.clone(), refs: state.reference().await?, clock: state.clock().clone() });
        state.storage().push(&PushAuthor { user_id: caller.user_id.clone() }, ops, merger).await?
    };
    Ok(PushResponse { results, server_hlc: state.clock().peek() })
}

/// What `caller` may pull: grid workers their grid (or community), officers their
/// district, admins everything.
pub fn visibility(caller: &Caller, refs: &RefIndex) -> Visibility {
    match caller.role {
        Role::Admin => Visibility::All,
        Role::Officer => Visibility::District(caller.scope.clone()),
        Role::GridWorker => match refs.org(&caller.scope).map(|o| o.level) {
            Some(OrgLevel::Community) => Visibility::Community(caller.scope.clone()),
            _ => Visibility::Grid(caller.scope.clone()),
        },
    }
}

pub async fn pull(state: &AppState, caller: &Caller, query: PullQuery) -> Result<PullResponse, AppError> {
    let limit = match query.limit {
        Some(0) => return Err(AppError::InvalidRequest("limit: 应为1到2000之间的整数".into())),
        Some(n) => n.min(MAX_PULL_LIMIT),
        None => DEFAULT_PULL_LIMIT,
    };
    let refs = state.reference().await?;
    let page = state.storage().pull(&visibility(caller, &refs.index), query.since, limit).await?;
    let next = page.records.last().and_then(|r| r.seq).unwrap_or(query.since);
    Ok(PullResponse {
        records: page.records,
        next,
        has_more: page.has_more,
        reference_version: refs.data.version.clone(),
        server_hlc: state.clock().peek(),
    })
}
