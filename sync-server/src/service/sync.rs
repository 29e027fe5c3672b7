//! Push and pull. A push is one unit of work on the record store: read the op log and the
//! current records, apply the core merge rules (`gridwork_core::merge::apply_op`) for the
//! caller, write the new versions and the op log, commit. Each op id is applied at most
//! once; a repeat gets the first answer.

use crate::domain::DomainError;
use crate::domain::access::Caller;
use crate::domain::access::Visibility;
use crate::domain::clock::ServerClock;
use crate::domain::error::{InvalidKind, TooLarge};
use crate::domain::retention::PartyRetention;
use crate::service::audit::AuditService;
use crate::service::cases;
use crate::service::reference::ReferenceService;
use crate::storage::numbers::{NumberKey, NumberState, NumberUse};
use crate::storage::{Change, LoggedOp, LostField, NewAudit, NewVersion, PhotoSight, PhotoStore, RecordStore};
use chrono::{DateTime, Utc};
use gridwork_core::evidence::{self, SignedOp};
use gridwork_core::hlc::Hlc;
use gridwork_core::merge::{Actor, StoredRecord, apply_op};
use gridwork_core::model::{Record, RecordBody, RecordKind, Role, Status};
use gridwork_core::numbering::parse_number;
use gridwork_core::protocol::{
    DEFAULT_PULL_LIMIT, MAX_PULL_LIMIT, MAX_PUSH_OPS, Op, OpAction, OpResult, Outcome, OwnRecord, PullQuery, PullResponse,
    PushResponse, RecordPatch, RejectReason, Rejection, record_digest,
};
use gridwork_core::reference::RefIndex;
use gridwork_core::validate::validate_location;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

pub struct SyncService {
    records: Arc<dyn RecordStore>,
    photos: Arc<dyn PhotoStore>,
    reference: Arc<ReferenceService>,
    clock: Arc<ServerClock>,
    audit: Arc<AuditService>,
    /// How long closed notices' parties reach devices ([`PartyRetention`]).
    retention: PartyRetention,
}

/// An op's answer while the batch is planned: known now, or the sequence number of a
/// version still to be numbered.
enum Answer {
    Known(OpResult),
    Version { op_id: Uuid, index: usize },
}

impl SyncService {
    pub fn new(
        records: Arc<dyn RecordStore>,
        photos: Arc<dyn PhotoStore>,
        reference: Arc<ReferenceService>,
        clock: Arc<ServerClock>,
        audit: Arc<AuditService>,
    ) -> Self {
        SyncService { records, photos, reference, clock, audit, retention: PartyRetention::default() }
    }

    /// Days a closed notice's party still reaches devices (`--party-retention-days`).
    pub fn set_party_retention_days(&self, days: u32) {
        self.retention.set_days(days)
    }

    /// Apply `ops` for `caller`, in order, in one transaction: ops the server makes itself
    /// (the console, its jobs, Open311), which no device signs.
    pub async fn push(&self, caller: &Caller, ops: Vec<Op>) -> Result<PushResponse, DomainError> {
        self.push_signed(caller, None, ops, Vec::new()).await
    }

    /// Apply a device's push. When its session registered a key (`device_key`), every op
    /// must come with its signature (`sigs`, in order): an op whose signature does not hold
    /// is rejected `bad_signature`; each accepted op is kept with its signature as evidence.
    pub async fn push_signed(
        &self,
        caller: &Caller,
        device_key: Option<&str>,
        mut ops: Vec<Op>,
        sigs: Vec<String>,
    ) -> Result<PushResponse, DomainError> {
        precheck(&ops)?;
        let signed = match device_key {
            Some(key) if sigs.len() == ops.len() => {
                // Checked before the transaction, off the async threads, over the cores: a
                // full push is otherwise mostly signature checks on one core.
                let (owned_key, device) = (key.to_owned(), caller.device_id.clone());
                let threads = if ops.len() < PARALLEL_CHECKS_FROM { 1 } else { *CHECK_THREADS.get_or_init(cores) };
                let (back, sigs, verdicts) = tokio::task::spawn_blocking(move || {
                    let verdicts = evidence::verify_each(&owned_key, &device, &ops, &sigs, threads);
                    (ops, sigs, verdicts)
                })
                .await
                .map_err(DomainError::internal)?;
                ops = back;
                Some(Signed { key, holds: verdicts.iter().map(Result::is_ok).collect(), sigs })
            }
            Some(_) => {
                return Err(DomainError::invalid_input("sigs", "sigs: 每个修改都应附设备签名，且顺序与 ops 一致 (sigs)"));
            }
            // A session without a key signs nothing: what it sent is kept unsigned.
            None => None,
        };
        let results = if ops.is_empty() {
            Vec::new()
        } else {
            let refs = self.reference.current().await?;
            self.apply(caller, &refs.index, ops, signed.as_ref()).await?
        };
        Ok(PushResponse { results, server_hlc: self.clock.peek() })
    }

    async fn apply(
        &self,
        caller: &Caller,
        refs: &RefIndex,
        ops: Vec<Op>,
        signed: Option<&Signed<'_>>,
    ) -> Result<Vec<OpResult>, DomainError> {
        let mut tx = self.records.begin().await?;
        let op_ids: Vec<Uuid> = ops.iter().map(|o| o.op_id).collect();
        let logged = tx.logged_ops(&op_ids).await?;
        let mut record_ids: Vec<Uuid> = ops.iter().map(|o| o.record_id).collect();
        record_ids.sort_unstable();
        record_ids.dedup();
        let mut current = tx.load(&record_ids).await?;
        // The records cases are opened from follow their cases: load them too.
        let mut sources: Vec<Uuid> = ops
            .iter()
            .filter_map(|o| cases::source_of(&o.action, current.get(&o.record_id)))
            .filter(|id| !current.contains_key(id))
            .collect();
        sources.sort_unstable();
        sources.dedup();
        if !sources.is_empty() {
            current.extend(tx.load(&sources).await?);
        }
        let now = self.clock.now();
        let visibility = caller.visibility(refs);
        // The numbers of the new notices, checked in one read; what this push uses of them
        // is tracked here and recorded with its versions.
        let mut numbers = NumberBook::default();
        let keys: Vec<NumberKey> = ops
            .iter()
            .filter_map(|o| match &o.action {
                OpAction::Create(new) => match &new.body {
                    RecordBody::Notice(n) => parse_number(&n.number),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        let states = tx.number_states(keys.clone(), &caller.device_id, &caller.user_id).await?;
        numbers.states = keys.into_iter().zip(states).collect();

        let mut versions: Vec<NewVersion> = Vec::new();
        let mut audits: Vec<NewAudit> = Vec::new();
        // The planned version of each record changed in this batch (its seq comes later).
        let mut planned: HashMap<Uuid, usize> = HashMap::new();
        // Op ids first seen in this batch: their record and their answer.
        let mut this_batch: HashMap<Uuid, (Uuid, usize)> = HashMap::new();
        let mut answers: Vec<Answer> = Vec::with_capacity(ops.len());
        let mut new_entries: Vec<usize> = Vec::new();
        // What each accepted create or edit changed, by its answer's index.
        let mut changes: HashMap<usize, Change> = HashMap::new();
        // The stamp of each op the rules accepted, by its answer's index (for its evidence).
        let mut stamps: HashMap<usize, Hlc> = HashMap::new();
        for (i, op) in ops.iter().enumerate() {
            let first_use = logged
                .get(&op.op_id)
                .map(|l| (l.user_id == caller.user_id, l.record_id, None))
                .or_else(|| this_batch.get(&op.op_id).map(|(record, answer)| (true, *record, Some(*answer))));
            if let Some((same_user, record_id, earlier)) = first_use {
                let answer = if !same_user || record_id != op.record_id {
                    // Not logged: the op id stays bound to its first use.
                    Answer::Known(rejected(op.op_id, conflict()))
                } else {
                    match earlier {
                        Some(i) => match &answers[i] {
                            Answer::Known(r) => Answer::Known(r.clone()),
                            Answer::Version { index, .. } => Answer::Version { op_id: op.op_id, index: *index },
                        },
                        None => Answer::Known(logged[&op.op_id].result.clone()),
                    }
                };
                answers.push(answer);
                continue;
            }
            let cur = current.get(&op.record_id);
            // A signature that does not hold refuses the op like any rule (logged, repeated).
            let ruled = match signed {
                Some(s) if !s.holds[i] => {
                    Err(Rejection::new(RejectReason::BadSignature, Some("sigs"), "设备签名与修改内容不符 (sigs)"))
                }
                _ => self.rules(caller, refs, cur, op, now),
            };
            let mut stamped = None;
            let outcome = match ruled {
                Ok((next, stamp)) => {
                    stamped = Some(stamp.clone());
                    let source = cases::source_of(&op.action, cur).and_then(|id| current.get(&id));
                    cases::source_change(cur, &next.state, source, refs).and_then(|change| {
                        let moved = change.map(|c| self.follow(caller, refs, &current[&c.id], c.to, &stamp, now)).transpose()?;
                        Ok((next, moved))
                    })
                }
                Err(rejection) => Err(rejection),
            };
            // Photos listed for the first time: checked against the server's copies.
            let outcome = match outcome {
                Ok((mut next, moved)) => match self.new_photos(caller, &visibility, cur, &next.state.record).await? {
                    Ok(vouched) => {
                        next.vouched = vouched;
                        Ok((next, moved))
                    }
                    Err(rejection) => Err(rejection),
                },
                Err(rejection) => Err(rejection),
            };
            // 立案: the case's number, from the district's sequence of the year.
            let outcome = match outcome {
                Ok((mut next, moved)) if cur.is_none() && next.state.record.kind() == RecordKind::Case => {
                    let (counter, year) = cases::number_counter(&next.place.district, now);
                    let n = tx.next_number(&counter).await?;
                    if let RecordBody::Case(c) = &mut next.state.record.body {
                        c.number = Some(cases::format_number(&next.place.district, year, n));
                    }
                    Ok((next, moved))
                }
                other => other,
            };
            // A new notice's number: from a block of this device, used once. Last, so that a
            // number is recorded only for a notice that is accepted.
            let outcome = match outcome {
                Ok((next, moved)) if cur.is_none() => match &next.state.record.body {
                    RecordBody::Notice(n) => match numbers.take(&n.number, op.record_id) {
                        None => Ok((next, moved)),
                        Some(rejection) => Err(rejection),
                    },
                    _ => Ok((next, moved)),
                },
                other => other,
            };
            let cur = current.get(&op.record_id);
            if let (Ok((next, _)), Some(stamp)) = (&outcome, &stamped)
                && let Some(change) = change_of(caller, op, cur, &next.state.record, stamp, now)
            {
                changes.insert(answers.len(), change);
            }
            if let (Ok(_), Some(stamp)) = (&outcome, &stamped) {
                stamps.insert(answers.len(), stamp.clone());
            }
            let answer = match outcome {
                Ok((next, _)) if cur.is_some_and(|c| c.record == next.state.record && c.clocks == next.state.clocks) => {
                    // Nothing changed (every field lost to a later write): the record keeps its version.
                    match planned.get(&op.record_id) {
                        Some(&index) => Answer::Version { op_id: op.op_id, index },
                        None => Answer::Known(accepted(op.op_id, cur.and_then(|c| c.record.seq))),
                    }
                }
                Ok((next, moved)) => {
                    if let Some(entry) = self.case_event(caller, op, cur, &next.state.record) {
                        audits.push(entry);
                    }
                    let index = versions.len();
                    current.insert(op.record_id, next.state.clone());
                    planned.insert(op.record_id, index);
                    versions.push(next);
                    if let Some(source) = moved {
                        let id = source.state.record.id;
                        current.insert(id, source.state.clone());
                        planned.insert(id, versions.len());
                        versions.push(source);
                    }
                    Answer::Version { op_id: op.op_id, index }
                }
                Err(rejection) => Answer::Known(rejected(op.op_id, rejection)),
            };
            this_batch.insert(op.op_id, (op.record_id, answers.len()));
            new_entries.push(answers.len());
            answers.push(answer);
        }

        let seqs = tx.put_versions(versions).await?;
        tx.record_numbers(numbers.taken).await?;
        let results: Vec<OpResult> = answers
            .into_iter()
            .map(|a| match a {
                Answer::Known(r) => r,
                Answer::Version { op_id, index } => accepted(op_id, Some(seqs[index])),
            })
            .collect();
        let entries = new_entries
            .into_iter()
            .map(|i| LoggedOp {
                user_id: caller.user_id.clone(),
                record_id: ops[i].record_id,
                result: results[i].clone(),
                change: changes.remove(&i),
                evidence: match (signed, stamps.remove(&i)) {
                    (Some(s), Some(stamp)) if results[i].outcome == Outcome::Accepted => Some(SignedOp {
                        op: ops[i].clone(),
                        sig: s.sigs[i].clone(),
                        user_id: caller.user_id.clone(),
                        device_id: caller.device_id.clone(),
                        public_key: s.key.to_owned(),
                        stamp,
                    }),
                    _ => None,
                },
            })
            .collect();
        tx.log_ops(entries).await?;
        for entry in audits {
            tx.audit(entry).await?;
        }
        tx.commit().await?;
        Ok(results)
    }

    /// The audit entry of an accepted op that opened a case or took one of its steps.
    fn case_event(&self, caller: &Caller, op: &Op, cur: Option<&StoredRecord>, next: &Record) -> Option<NewAudit> {
        let RecordBody::Case(case) = &next.body else { return None };
        let id = next.id.to_string();
        let (action, detail) = match &op.action {
            OpAction::Create(_) => ("case_open", serde_json::json!({ "number": case.number })),
            OpAction::Step(step) => (
                "case_step",
                serde_json::json!({
                    "step": step.action.code(),
                    "from": cur.map(|c| c.record.status.as_str()),
                    "to": next.status.as_str(),
                }),
            ),
            OpAction::Update(_) => return None,
        };
        Some(self.audit.entry(&caller.user_id, action, Some(&id), detail))
    }

    /// The core merge rules for one op of `caller`, stamped by the server's clock; the new
    /// version and its stamp.
    fn rules(
        &self,
        caller: &Caller,
        refs: &RefIndex,
        current: Option<&StoredRecord>,
        op: &Op,
        now: DateTime<Utc>,
    ) -> Result<(NewVersion, Hlc), Rejection> {
        let stored = current.and_then(|c| c.clocks.values().max());
        let stamp = self.clock.stamp(&op.hlc, stored, now);
        let state = apply_op(current, op, &stamp, &caller.actor(), refs, now)?;
        Ok((version(state, refs)?, stamp))
    }

    /// The photos `next` lists that `cur` did not, against the server's copies. A photo the
    /// server holds that the caller sent or may see must be listed as it is (type, size,
    /// dimensions), and its link is vouched. Any other is a claim (see
    /// [`NewVersion::vouched`]): a photo the caller may not see is treated exactly like one
    /// the server lacks, so the answer tells nothing about it.
    async fn new_photos(
        &self,
        caller: &Caller,
        visibility: &Visibility,
        cur: Option<&StoredRecord>,
        next: &Record,
    ) -> Result<Result<Vec<String>, Rejection>, DomainError> {
        let before = cur.map(|c| c.record.body.photos()).unwrap_or_default();
        let mut vouched = Vec::new();
        for p in next.body.photos() {
            if before.iter().any(|b| b.sha256 == p.sha256) || vouched.contains(&p.sha256) {
                continue;
            }
            let Some(row) = self.photos.photo_uploaded(&p.sha256).await? else { continue };
            if row.uploaded_by != caller.user_id && self.photos.photo_sight(&p.sha256, visibility).await? != PhotoSight::Vouched {
                continue;
            }
            let same = row.mime == p.mime
                && row.size == p.bytes
                && row.width.is_none_or(|w| w == p.width)
                && row.height.is_none_or(|h| h == p.height);
            if !same {
                return Ok(Err(Rejection::new(
                    RejectReason::Invalid,
                    Some("photos"),
                    "照片的类型、大小或尺寸与已上传的文件不符 (photos)",
                )));
            }
            vouched.push(p.sha256.clone());
        }
        Ok(Ok(vouched))
    }

    /// A source record following its case to `to`: a status change by the rules (the
    /// state machine and validation still apply), written in the caller's name.
    fn follow(
        &self,
        caller: &Caller,
        refs: &RefIndex,
        source: &StoredRecord,
        to: Status,
        stamp: &Hlc,
        now: DateTime<Utc>,
    ) -> Result<NewVersion, Rejection> {
        let patch = RecordPatch { status: Some(to), ..Default::default() };
        let op = Op { op_id: Uuid::nil(), record_id: source.record.id, hlc: stamp.clone(), action: OpAction::Update(patch) };
        let by_the_rules = Actor { role: Role::Admin, scope: None, ..caller.actor() };
        version(apply_op(Some(source), &op, stamp, &by_the_rules, refs, now)?, refs)
    }

    /// What changed for `caller` after the cursor, a page at a time.
    pub async fn pull(&self, caller: &Caller, query: PullQuery) -> Result<PullResponse, DomainError> {
        let limit = match query.limit {
            Some(0) => return Err(DomainError::invalid_input("limit", "limit: 应为1到2000之间的整数")),
            Some(n) => n.min(MAX_PULL_LIMIT),
            None => DEFAULT_PULL_LIMIT,
        };
        let refs = self.reference.current().await?;
        // A cursor from another history (a backup was restored since), or beyond anything
        // this server ever numbered: the device must start again (see `PullResponse::restart`).
        let timeline = self.records.timeline().await?;
        let other_history = query.epoch.is_some_and(|e| e != timeline.epoch);
        if query.since > 0 && (other_history || query.since > timeline.high_water) {
            tracing::warn!(since = query.since, high_water = timeline.high_water, other_history, "a device's cursor is ahead");
            return Ok(PullResponse {
                records: Vec::new(),
                removed: Vec::new(),
                own: Vec::new(),
                next: 0,
                has_more: true,
                reference_version: refs.data.version.clone(),
                server_hlc: self.clock.peek(),
                party_retention_days: Some(self.retention.days()),
                epoch: Some(timeline.epoch),
                restart: Some(if other_history { timeline.base } else { timeline.high_water }),
            });
        }
        let mut page = self.records.pull(&caller.visibility(&refs.index), query.since, limit).await?;
        self.retention.for_devices(&mut page.records, self.clock.now());
        let (records, own) =
            if query.own_digests == Some(true) { split_own(caller, page.records) } else { (page.records, Vec::new()) };
        Ok(PullResponse {
            records,
            removed: page.removed,
            own,
            next: page.next,
            has_more: page.has_more,
            reference_version: refs.data.version.clone(),
            server_hlc: self.clock.peek(),
            party_retention_days: Some(self.retention.days()),
            epoch: Some(timeline.epoch),
            restart: None,
        })
    }
}

/// The caller's own records (created on its device, last changed by its user) as digests,
/// the rest in full. The device rebuilds its own from the changes it pushed; the digest,
/// of the record exactly as it would have been sent, tells it whether it got it right.
fn split_own(caller: &Caller, records: Vec<Record>) -> (Vec<Record>, Vec<OwnRecord>) {
    let mut own = Vec::new();
    let mut others = Vec::with_capacity(records.len());
    for r in records {
        match r.seq {
            Some(seq) if r.device == caller.device_id && r.updated_by == caller.user_id => {
                own.push(OwnRecord { id: r.id, seq, updated_at: r.updated_at, digest: record_digest(&r) })
            }
            _ => others.push(r),
        }
    }
    (others, own)
}

/// What an accepted create or edit did (case steps have their own timeline): the fields it
/// changed, and those it wrote that keep the value of a write stamped later.
fn change_of(
    caller: &Caller,
    op: &Op,
    cur: Option<&StoredRecord>,
    next: &Record,
    stamp: &Hlc,
    now: DateTime<Utc>,
) -> Option<Change> {
    let action = match &op.action {
        OpAction::Create(_) => "create",
        OpAction::Update(_) => "update",
        OpAction::Step(_) => return None,
    };
    let lost = match cur {
        Some(c) if action == "update" => gridwork_core::merge::op_fields(op)
            .into_iter()
            .filter_map(|f| c.clocks.get(&f).filter(|kept| *kept >= stamp).map(|kept| LostField { field: f, kept: kept.clone() }))
            .collect(),
        _ => Vec::new(),
    };
    Some(Change {
        device_id: caller.device_id.clone(),
        hlc: stamp.clone(),
        at: now,
        action: action.to_owned(),
        changed: gridwork_core::merge::changed_fields(cur.map(|c| &c.record), next),
        lost,
    })
}

fn version(state: StoredRecord, refs: &RefIndex) -> Result<NewVersion, Rejection> {
    let place = refs
        .grid_place(&state.record.org.grid)
        .ok_or_else(|| Rejection::new(RejectReason::Invalid, Some("org.grid"), "网格不存在 (org.grid)"))?;
    Ok(NewVersion::new(state, place))
}

fn accepted(op_id: Uuid, seq: Option<u64>) -> OpResult {
    OpResult { op_id, outcome: Outcome::Accepted, seq, rejection: None }
}

fn rejected(op_id: Uuid, rejection: Rejection) -> OpResult {
    OpResult { op_id, outcome: Outcome::Rejected, seq: None, rejection: Some(rejection) }
}

fn conflict() -> Rejection {
    Rejection::new(RejectReason::OpIdConflict, None, "操作编号已被其他账号或其他记录使用")
}

/// Checks made on the whole batch before anything is applied.
/// The key of a pushing session and the signatures its ops came with.
struct Signed<'a> {
    key: &'a str,
    sigs: Vec<String>,
    /// Whether each op's signature holds, by index.
    holds: Vec<bool>,
}

/// Pushes this large share their signature checks out over the cores; smaller ones are
/// checked on one thread (starting threads would cost more than it saves).
const PARALLEL_CHECKS_FROM: usize = 64;
static CHECK_THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn precheck(ops: &[Op]) -> Result<(), DomainError> {
    if ops.len() > MAX_PUSH_OPS {
        return Err(DomainError::TooLarge(TooLarge::Batch { max: MAX_PUSH_OPS }));
    }
    for (i, op) in ops.iter().enumerate() {
        let loc = match &op.action {
            OpAction::Create(new) => Some(&new.location),
            OpAction::Update(patch) => patch.location.as_ref(),
            OpAction::Step(_) => None,
        };
        if let Some(loc) = loc {
            validate_location(loc).map_err(|r| {
                let field = format!("ops[{i}].{}", r.field.as_deref().unwrap_or("location"));
                let message = format!("{field}: {}", r.message);
                DomainError::Invalid { kind: InvalidKind::Op, rejection: Rejection::new(r.reason, Some(&field), message) }
            })?;
        }
    }
    Ok(())
}

/// The new notices' numbers in one push: where each stood before it, and which this push
/// takes (a number taken by one notice of the push is used for the next).
#[derive(Default)]
struct NumberBook {
    states: HashMap<NumberKey, NumberState>,
    taken: Vec<(NumberKey, i64, Uuid)>,
}

impl NumberBook {
    /// Take `number` for the new notice `record_id`; why it is refused, if it is.
    fn take(&mut self, number: &str, record_id: Uuid) -> Option<Rejection> {
        let refuse = |reason, message: &str| Some(Rejection::new(reason, Some("number"), message));
        let Some(key) = parse_number(number) else {
            return refuse(RejectReason::Invalid, "告知单编号格式不对 (number)");
        };
        let Some(state) = self.states.get_mut(&key) else {
            return refuse(RejectReason::NumberNotIssued, "告知单编号不是发给本设备的号段 (number)");
        };
        let id = record_id.to_string();
        match state.use_by(&id) {
            NumberUse::Fresh => {
                if state.taken_by.is_none() {
                    let block = state.block.unwrap_or_default();
                    state.taken_by = Some(id);
                    self.taken.push((key, block, record_id));
                }
                None
            }
            NumberUse::NotIssued => refuse(RejectReason::NumberNotIssued, "告知单编号不是发给本设备的号段 (number)"),
            NumberUse::Used => refuse(RejectReason::NumberUsed, "告知单编号已被其他告知单使用 (number)"),
        }
    }
}
