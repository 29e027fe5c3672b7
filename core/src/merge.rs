//! How one op changes one record: the rules the server applies to every pushed op and the
//! device applies to its own changes. Field by field, last writer wins by hybrid logical
//! clock; status changes must follow the state machine; the result must validate.
//! Pure functions: storage and transport live elsewhere.

use crate::cases::{self, Case, StepContext};
use crate::hlc::{Hlc, HlcClock, MAX_FUTURE_MS};
use crate::model::{Record, RecordBody, RecordKind, Role, mergeable_fields};
use crate::protocol::{BodyPatch, Op, OpAction, RejectReason, Rejection};
use crate::reference::RefIndex;
use crate::rights;
use crate::validate::validate_record;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A record with the clock of the last accepted write of each field.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredRecord {
    pub record: Record,
    pub clocks: BTreeMap<String, Hlc>,
}

/// Who applies an op. `scope` is checked when present (the server); devices pass `None`
/// and leave authorisation to the server. `home` is the actor's own scope (an org code),
/// which case steps read either way (an officer's unit, a grid worker's grid).
#[derive(Clone, Copy, Debug)]
pub struct Actor<'a> {
    pub user_id: &'a str,
    pub device_id: &'a str,
    pub role: Role,
    pub scope: Option<&'a str>,
    pub home: &'a str,
}

/// The stamp the server orders an op by: the op's own, unless it runs more than
/// [`MAX_FUTURE_MS`] ahead of the server's clock, when the server's clock stands in for it.
/// This keeps a phone whose clock is set in the future from winning every later edit.
pub fn effective_hlc(op_hlc: &Hlc, server: &HlcClock, now_ms: u64) -> Hlc {
    if op_hlc.wall_ms > now_ms.saturating_add(MAX_FUTURE_MS) {
        server.tick_at(now_ms)
    } else {
        server.observe_at(op_hlc, now_ms);
        op_hlc.clone()
    }
}

fn internal(message: &str) -> Rejection {
    Rejection::new(RejectReason::Invalid, None, message.to_owned())
}

/// The kind-specific fields of a body or a body patch as a JSON map: the one value under
/// the kind tag (`{"notice": {...}}` → `{...}`).
fn inner_fields<T: serde::Serialize>(tagged: &T) -> Result<Map<String, Value>, Rejection> {
    match serde_json::to_value(tagged) {
        Ok(Value::Object(mut outer)) => match outer.values_mut().next().map(Value::take) {
            Some(Value::Object(inner)) => Ok(inner),
            _ => Err(internal("记录内容无法解析")),
        },
        _ => Err(internal("记录内容无法解析")),
    }
}

fn body_fields(body: &RecordBody) -> Result<Map<String, Value>, Rejection> {
    inner_fields(body)
}

fn patch_fields(patch: &BodyPatch) -> Result<Map<String, Value>, Rejection> {
    inner_fields(patch)
}

fn rebuild_body(kind_tag: &str, fields: Map<String, Value>) -> Result<RecordBody, Rejection> {
    let mut outer = Map::new();
    outer.insert(kind_tag.to_owned(), Value::Object(fields));
    serde_json::from_value(Value::Object(outer)).map_err(|_| internal("合并后的记录无法解析"))
}

/// Only the server and a device's own purge remove a party; nobody sends the marker.
fn purged_party() -> Rejection {
    Rejection::new(RejectReason::Invalid, Some("party.purged"), "不能提交已清除的当事人信息")
}

/// Apply `op` to `current` (None if the record does not exist yet), stamped `hlc`, at time
/// `now`. Returns the new state, or why the op is refused.
pub fn apply_op(
    current: Option<&StoredRecord>,
    op: &Op,
    hlc: &Hlc,
    actor: &Actor<'_>,
    refs: &RefIndex,
    now: DateTime<Utc>,
) -> Result<StoredRecord, Rejection> {
    match &op.action {
        OpAction::Create(new) => {
            if current.is_some() {
                return Err(Rejection::new(RejectReason::AlreadyExists, None, "该记录已存在"));
            }
            let kind = new.body.kind();
            if !rights::may_create(kind, actor.role) {
                return Err(Rejection::new(RejectReason::WrongRole, None, rights::create_refusal(kind)));
            }
            if let RecordBody::Notice(n) = &new.body
                && n.party.purged
            {
                return Err(purged_party());
            }
            if new.status != kind.initial_status() {
                return Err(Rejection::new(RejectReason::InvalidTransition, Some("status"), "新记录的状态应为初始状态"));
            }
            // 立案: only admins open cases, and only with what the opener may say; the
            // number, the timeline and the clock are the rules'.
            let body = match &new.body {
                RecordBody::Case(c) => {
                    let mut case = Case::opened(c.source.clone(), c.category.clone(), c.description.clone(), c.photos.clone());
                    case.timeline.push(cases::opening_event(actor.user_id, actor.device_id, now));
                    RecordBody::Case(case)
                }
                other => other.clone(),
            };
            let record = Record {
                id: op.record_id,
                author: actor.user_id.to_owned(),
                device: actor.device_id.to_owned(),
                org: new.org.clone(),
                // A phone clock ahead of ours must not date a record in the future.
                created_at: new.created_at.min(now),
                updated_at: now,
                updated_by: actor.user_id.to_owned(),
                location: new.location.clone(),
                status: new.status,
                body,
                seq: None,
            };
            check_scope(&record, actor, refs)?;
            validate_record(&record, refs)?;
            let clocks = mergeable_fields(kind).iter().map(|f| ((*f).to_owned(), hlc.clone())).collect();
            Ok(StoredRecord { record, clocks })
        }
        OpAction::Step(step) => {
            let cur = current.ok_or_else(|| Rejection::new(RejectReason::NotFound, None, "记录不存在或尚未同步"))?;
            let RecordBody::Case(case) = &cur.record.body else {
                return Err(Rejection::new(RejectReason::KindMismatch, None, "只有案件可以办理"));
            };
            let ctx = StepContext {
                user_id: actor.user_id,
                device_id: actor.device_id,
                role: actor.role,
                scope: actor.home,
                grid: &cur.record.org.grid,
                refs,
                now,
            };
            let (case, stage) = cases::apply_step(case, cur.record.status, step, &ctx)?;
            let mut next = cur.clone();
            for field in step.action.fields().iter().chain(["status", "timeline"].iter()) {
                next.clocks.insert((*field).to_owned(), hlc.clone());
            }
            if !step.photos.is_empty() {
                next.clocks.insert("photos".into(), hlc.clone());
            }
            next.record.body = RecordBody::Case(case);
            next.record.status = stage;
            next.record.updated_at = now;
            next.record.updated_by = actor.user_id.to_owned();
            validate_record(&next.record, refs)?;
            Ok(next)
        }
        OpAction::Update(patch) => {
            let cur = current.ok_or_else(|| Rejection::new(RejectReason::NotFound, None, "记录不存在或尚未同步"))?;
            let kind = cur.record.kind();
            if kind == RecordKind::Case {
                return Err(Rejection::new(RejectReason::InvalidTransition, None, "案件只能通过办理步骤修改"));
            }
            if patch.body.as_ref().is_some_and(|b| b.kind() != kind) {
                return Err(Rejection::new(RejectReason::KindMismatch, Some("body"), "修改内容与记录类型不符"));
            }
            if let Some(BodyPatch::Notice(n)) = &patch.body
                && n.party.as_ref().is_some_and(|p| p.purged)
            {
                return Err(purged_party());
            }
            check_scope(&cur.record, actor, refs)?;
            let body_names = match &patch.body {
                Some(b) => patch_fields(b)?.into_iter().map(|(name, _)| name).collect(),
                None => Vec::new(),
            };
            for field in patch.location.iter().map(|_| "location").chain(body_names.iter().map(String::as_str)) {
                if !rights::may_change(&cur.record, field, actor.user_id, actor.role) {
                    return Err(Rejection::new(RejectReason::WrongRole, Some(field), rights::change_refusal(kind, field)));
                }
            }
            let mut next = cur.clone();
            let wins = |clocks: &BTreeMap<String, Hlc>, field: &str| clocks.get(field).is_none_or(|c| hlc > c);
            let mut changed = false;
            if let Some(loc) = &patch.location
                && wins(&next.clocks, "location")
            {
                next.record.location = loc.clone();
                next.clocks.insert("location".into(), hlc.clone());
                changed = true;
            }
            if let Some(status) = patch.status
                && wins(&next.clocks, "status")
            {
                if !cur.record.status.may_follow(status, kind, actor.role) {
                    return Err(Rejection::new(
                        RejectReason::InvalidTransition,
                        Some("status"),
                        format!("不能从“{}”变更为“{}”", cur.record.status.label_zh(), status.label_zh()),
                    ));
                }
                next.record.status = status;
                next.clocks.insert("status".into(), hlc.clone());
                changed = true;
            }
            if let Some(body_patch) = &patch.body {
                let incoming = patch_fields(body_patch)?;
                let mut fields = body_fields(&next.record.body)?;
                for (name, value) in incoming {
                    if wins(&next.clocks, &name) {
                        fields.insert(name.clone(), value);
                        next.clocks.insert(name, hlc.clone());
                        changed = true;
                    }
                }
                next.record.body = rebuild_body(kind.as_str(), fields)?;
            }
            if changed {
                next.record.updated_at = now;
                next.record.updated_by = actor.user_id.to_owned();
                validate_record(&next.record, refs)?;
            }
            Ok(next)
        }
    }
}

/// The names of the fields that differ between two states of a record (all of them when
/// there is no old state), for a record's history.
pub fn changed_fields(old: Option<&Record>, new: &Record) -> Vec<String> {
    let Some(old) = old else {
        return mergeable_fields(new.kind()).iter().map(|f| (*f).to_owned()).collect();
    };
    let mut out = Vec::new();
    if old.location != new.location {
        out.push("location".to_owned());
    }
    if old.status != new.status {
        out.push("status".to_owned());
    }
    if let (Ok(a), Ok(b)) = (body_fields(&old.body), body_fields(&new.body)) {
        for name in mergeable_fields(new.kind()).iter().skip(2) {
            if a.get(*name) != b.get(*name) {
                out.push((*name).to_owned());
            }
        }
    }
    out
}

/// The fields an op writes.
pub fn op_fields(op: &Op) -> Vec<String> {
    match &op.action {
        OpAction::Create(new) => mergeable_fields(new.body.kind()).iter().map(|f| (*f).to_owned()).collect(),
        OpAction::Update(patch) => {
            let mut out = Vec::new();
            if patch.location.is_some() {
                out.push("location".to_owned());
            }
            if patch.status.is_some() {
                out.push("status".to_owned());
            }
            if let Some(Ok(fields)) = patch.body.as_ref().map(patch_fields) {
                out.extend(fields.keys().cloned());
            }
            out
        }
        OpAction::Step(step) => {
            let mut out: Vec<String> =
                ["status", "timeline"].iter().chain(step.action.fields()).map(|f| (*f).to_owned()).collect();
            if !step.photos.is_empty() {
                out.push("photos".into());
            }
            out
        }
    }
}

fn check_scope(record: &Record, actor: &Actor<'_>, refs: &RefIndex) -> Result<(), Rejection> {
    match actor.scope {
        Some(scope) if !refs.is_within(&record.org.grid, scope) => {
            Err(Rejection::new(RejectReason::OutOfScope, Some("org.grid"), "该网格不在您的管辖范围内"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use crate::model::Status;
    use crate::protocol::{NoticePatch, RecordPatch};

    fn actor(role: Role, scope: Option<&'static str>) -> Actor<'static> {
        Actor { user_id: "u1", device_id: "d1", role, scope, home: scope.unwrap_or("") }
    }

    fn create_notice() -> (Op, StoredRecord) {
        let refs = fixtures::refs();
        let op = fixtures::create_op(fixtures::records().remove(1), Hlc::new(100, 0, "d1"));
        let stored = apply_op(None, &op, &op.hlc, &actor(Role::Officer, Some(fixtures::DISTRICT)), &refs, Utc::now()).unwrap();
        (op, stored)
    }

    fn update(fields: RecordPatch, hlc: Hlc) -> Op {
        Op { op_id: uuid::Uuid::now_v7(), record_id: uuid::Uuid::nil(), hlc, action: OpAction::Update(fields) }
    }

    #[test]
    fn concurrent_edits_of_different_fields_both_survive_in_any_order() {
        let refs = fixtures::refs();
        let (_, base) = create_notice();
        let a = update(
            RecordPatch {
                body: Some(BodyPatch::Notice(NoticePatch { facts: Some("A".into()), ..Default::default() })),
                ..Default::default()
            },
            Hlc::new(200, 0, "dA"),
        );
        let b = update(
            RecordPatch {
                body: Some(BodyPatch::Notice(NoticePatch { legal_basis: Some("B".into()), ..Default::default() })),
                ..Default::default()
            },
            Hlc::new(150, 0, "dB"),
        );
        let who = actor(Role::Officer, Some(fixtures::DISTRICT));
        let ab = apply_op(
            Some(&apply_op(Some(&base), &a, &a.hlc, &who, &refs, Utc::now()).unwrap()),
            &b,
            &b.hlc,
            &who,
            &refs,
            Utc::now(),
        )
        .unwrap();
        let ba = apply_op(
            Some(&apply_op(Some(&base), &b, &b.hlc, &who, &refs, Utc::now()).unwrap()),
            &a,
            &a.hlc,
            &who,
            &refs,
            Utc::now(),
        )
        .unwrap();
        assert_eq!(ab.record.body, ba.record.body);
        let RecordBody::Notice(n) = &ab.record.body else { panic!() };
        assert_eq!((n.facts.as_str(), n.legal_basis.as_str()), ("A", "B"));
    }

    #[test]
    fn who_may_file_and_change_what() {
        let refs = fixtures::refs();
        let now = Utc::now();
        let worker = |user_id: &'static str| Actor {
            user_id,
            device_id: "d1",
            role: Role::GridWorker,
            scope: Some(fixtures::GRID),
            home: fixtures::GRID,
        };
        // A grid worker issues no notices, and changes none.
        let op = fixtures::create_op(fixtures::records().remove(1), Hlc::new(100, 0, "d1"));
        let e = apply_op(None, &op, &op.hlc, &worker("u1"), &refs, now).unwrap_err();
        assert_eq!(e.reason, RejectReason::WrongRole);
        let (_, notice) = create_notice();
        let facts = |t: u64| {
            update(
                RecordPatch {
                    body: Some(BodyPatch::Notice(NoticePatch { facts: Some("改写".into()), ..Default::default() })),
                    ..Default::default()
                },
                Hlc::new(t, 0, "x"),
            )
        };
        let e = apply_op(Some(&notice), &facts(200), &Hlc::new(200, 0, "x"), &worker("u1"), &refs, now).unwrap_err();
        assert_eq!((e.reason, e.field.as_deref()), (RejectReason::WrongRole, Some("facts")));
        // A colleague of the brigade completes it; nobody but an admin renumbers it.
        let colleague = Actor { user_id: "u2", ..actor(Role::Officer, Some(fixtures::DISTRICT)) };
        assert!(apply_op(Some(&notice), &facts(200), &Hlc::new(200, 0, "x"), &colleague, &refs, now).is_ok());
        let renumber = update(
            RecordPatch {
                body: Some(BodyPatch::Notice(NoticePatch { number: Some("GZ-OTHER-0001".into()), ..Default::default() })),
                ..Default::default()
            },
            Hlc::new(300, 0, "x"),
        );
        let e = apply_op(Some(&notice), &renumber, &renumber.hlc, &colleague, &refs, now).unwrap_err();
        assert_eq!((e.reason, e.field.as_deref()), (RejectReason::WrongRole, Some("number")));
        assert!(apply_op(Some(&notice), &renumber, &renumber.hlc, &actor(Role::Admin, None), &refs, now).is_err());
        // A report is its author's (and the admins') to change, not another grid worker's.
        let op = fixtures::create_op(fixtures::records().remove(0), Hlc::new(100, 0, "d1"));
        let report = apply_op(None, &op, &op.hlc, &worker("u1"), &refs, now).unwrap();
        let describe = update(
            RecordPatch {
                body: Some(BodyPatch::Report(crate::protocol::ReportPatch {
                    description: Some("改写".into()),
                    ..Default::default()
                })),
                ..Default::default()
            },
            Hlc::new(200, 0, "x"),
        );
        assert!(apply_op(Some(&report), &describe, &describe.hlc, &worker("u1"), &refs, now).is_ok());
        let e = apply_op(Some(&report), &describe, &describe.hlc, &worker("u3"), &refs, now).unwrap_err();
        assert_eq!((e.reason, e.field.as_deref()), (RejectReason::WrongRole, Some("description")));
        let moved = update(RecordPatch { location: Some(fixtures::location()), ..Default::default() }, Hlc::new(200, 0, "x"));
        let e = apply_op(Some(&report), &moved, &moved.hlc, &worker("u3"), &refs, now).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("location"));
    }

    #[test]
    fn same_field_older_clock_loses() {
        let refs = fixtures::refs();
        let (_, base) = create_notice();
        let who = actor(Role::Officer, None);
        let newer = update(
            RecordPatch {
                body: Some(BodyPatch::Notice(NoticePatch { facts: Some("new".into()), ..Default::default() })),
                ..Default::default()
            },
            Hlc::new(300, 0, "a"),
        );
        let older = update(
            RecordPatch {
                body: Some(BodyPatch::Notice(NoticePatch { facts: Some("old".into()), ..Default::default() })),
                ..Default::default()
            },
            Hlc::new(200, 0, "b"),
        );
        let s = apply_op(Some(&base), &newer, &newer.hlc, &who, &refs, Utc::now()).unwrap();
        let s = apply_op(Some(&s), &older, &older.hlc, &who, &refs, Utc::now()).unwrap();
        let RecordBody::Notice(n) = &s.record.body else { panic!() };
        assert_eq!(n.facts, "new");
    }

    #[test]
    fn nobody_sends_a_purged_party_but_a_purged_record_still_takes_edits() {
        let refs = fixtures::refs();
        let who = actor(Role::Officer, Some(fixtures::DISTRICT));
        let (mut op, mut base) = create_notice();
        if let OpAction::Create(new) = &mut op.action
            && let RecordBody::Notice(n) = &mut new.body
        {
            n.party = crate::model::Party::removed();
        }
        let refused = apply_op(None, &op, &op.hlc, &who, &refs, Utc::now()).unwrap_err();
        assert_eq!((refused.reason, refused.field.as_deref()), (RejectReason::Invalid, Some("party.purged")));
        let patch = |party| RecordPatch {
            body: Some(BodyPatch::Notice(NoticePatch { party: Some(party), ..Default::default() })),
            ..Default::default()
        };
        let edit = update(patch(crate::model::Party::removed()), Hlc::new(300, 0, "a"));
        assert_eq!(apply_op(Some(&base), &edit, &edit.hlc, &who, &refs, Utc::now()).unwrap_err().reason, RejectReason::Invalid);
        // A device's copy without its party (as pulled after the retention) takes other edits.
        crate::privacy::purge_party(&mut base.record);
        let facts = update(
            RecordPatch {
                body: Some(BodyPatch::Notice(NoticePatch { facts: Some("补充".into()), ..Default::default() })),
                ..Default::default()
            },
            Hlc::new(400, 0, "a"),
        );
        apply_op(Some(&base), &facts, &facts.hlc, &who, &refs, Utc::now()).unwrap();
    }

    #[test]
    fn status_follows_the_state_machine_and_roles() {
        let refs = fixtures::refs();
        let (_, base) = create_notice();
        let to = |s: Status, t: u64| update(RecordPatch { status: Some(s), ..Default::default() }, Hlc::new(t, 0, "x"));
        let officer = actor(Role::Officer, None);
        let rectified =
            apply_op(Some(&base), &to(Status::Rectified, 200), &Hlc::new(200, 0, "x"), &officer, &refs, Utc::now()).unwrap();
        let back = apply_op(Some(&rectified), &to(Status::Issued, 300), &Hlc::new(300, 0, "x"), &officer, &refs, Utc::now());
        assert_eq!(back.unwrap_err().reason, RejectReason::InvalidTransition);
        let wrong_kind = apply_op(Some(&base), &to(Status::Accepted, 300), &Hlc::new(300, 0, "x"), &officer, &refs, Utc::now());
        assert_eq!(wrong_kind.unwrap_err().reason, RejectReason::InvalidTransition);
        let worker = actor(Role::GridWorker, None);
        let by_worker = apply_op(Some(&base), &to(Status::Cancelled, 300), &Hlc::new(300, 0, "x"), &worker, &refs, Utc::now());
        assert_eq!(by_worker.unwrap_err().reason, RejectReason::InvalidTransition);
    }

    #[test]
    fn scope_is_checked_when_given() {
        let refs = fixtures::refs();
        let op = fixtures::create_op(fixtures::records().remove(0), Hlc::new(100, 0, "d1"));
        let outside = actor(Role::GridWorker, Some(fixtures::OTHER_GRID));
        assert_eq!(apply_op(None, &op, &op.hlc, &outside, &refs, Utc::now()).unwrap_err().reason, RejectReason::OutOfScope);
        let inside = actor(Role::GridWorker, Some(fixtures::GRID));
        assert!(apply_op(None, &op, &op.hlc, &inside, &refs, Utc::now()).is_ok());
    }

    #[test]
    fn a_clock_far_in_the_future_is_replaced_by_the_servers() {
        let server = HlcClock::new("server");
        let now = 1_000_000;
        let far = Hlc::new(now + MAX_FUTURE_MS + 1, 0, "bad");
        let eff = effective_hlc(&far, &server, now);
        assert!(eff < far && eff.wall_ms == now);
        let near = Hlc::new(now + 10, 0, "ok");
        assert_eq!(effective_hlc(&near, &server, now), near);
    }
}
