//! Property tests (proptest) of the rules every device and the server share:
//! - the merge converges: the same set of edits applied in any order, with any of them
//!   repeated, gives the same record (each field is the value of its highest stamp);
//! - the hybrid logical clock never goes backwards: whatever the wall clock does, whatever
//!   remote stamps arrive, and across a restart that resumes from the stamps kept;
//! - the wire decoders (push, pull, login, clocks, notice numbers) and validation accept or
//!   refuse arbitrary input without panicking.
//!
//! Failing cases are shrunk and printed with the seed that reproduces them
//! (`PROPTEST_CASES` sets how many cases run; the default here is 256).

use chrono::{TimeZone, Utc};
use gridwork_core::fixtures;
use gridwork_core::hlc::{Hlc, HlcClock};
use gridwork_core::merge::{Actor, StoredRecord, apply_op};
use gridwork_core::model::{Activity, Location, Role, Status};
use gridwork_core::protocol::{
    BodyPatch, LoginRequest, Op, OpAction, PullResponse, PushRequest, RecordPatch, ReportPatch, ServiceLogPatch,
};
use gridwork_core::validate::validate_record;
use proptest::prelude::*;
use std::collections::BTreeMap;
use uuid::Uuid;

const NODES: [&str; 3] = ["phonea", "phoneb", "server"];
const CATEGORIES: [&str; 3] = ["09006", "06036", "01002"];

fn actor() -> Actor<'static> {
    Actor { user_id: "u1", device_id: "d1", role: Role::GridWorker, scope: Some(fixtures::GRID), home: fixtures::GRID }
}

/// One edit of a report or a service log: some of its fields, or its place.
#[derive(Clone, Debug)]
enum Edit {
    Report { category: Option<usize>, description: Option<String> },
    Log { participants: Option<u32>, summary: Option<String>, activity: Option<usize> },
    Move { dlat: i32, dlon: i32 },
}

fn text() -> impl Strategy<Value = String> + Clone {
    "[巡查整改已清理a-z0-9 ]{1,30}".prop_map(|s| format!("记录{s}"))
}

fn report_edit() -> impl Strategy<Value = Edit> + Clone {
    prop_oneof![
        (proptest::option::of(0..CATEGORIES.len()), proptest::option::of(text()))
            .prop_map(|(category, description)| Edit::Report { category, description }),
        (-500i32..500, -500i32..500).prop_map(|(dlat, dlon)| Edit::Move { dlat, dlon }),
    ]
}

fn log_edit() -> impl Strategy<Value = Edit> + Clone {
    prop_oneof![
        (proptest::option::of(0u32..500), proptest::option::of(text()), proptest::option::of(0..Activity::ALL.len()))
            .prop_map(|(participants, summary, activity)| Edit::Log { participants, summary, activity }),
        (-500i32..500, -500i32..500).prop_map(|(dlat, dlon)| Edit::Move { dlat, dlon }),
    ]
}

fn op_of(record_id: Uuid, hlc: Hlc, edit: &Edit) -> Op {
    let patch = match edit {
        Edit::Report { category, description } => RecordPatch {
            body: Some(BodyPatch::Report(ReportPatch {
                category: category.map(|i| CATEGORIES[i].to_owned()),
                description: description.clone(),
                photos: None,
            })),
            ..Default::default()
        },
        Edit::Log { participants, summary, activity } => RecordPatch {
            body: Some(BodyPatch::ServiceLog(ServiceLogPatch {
                participants: *participants,
                summary: summary.clone(),
                activity: activity.map(|i| Activity::ALL[i]),
                ..Default::default()
            })),
            ..Default::default()
        },
        Edit::Move { dlat, dlon } => {
            let base = fixtures::location();
            RecordPatch {
                location: Some(Location {
                    lat: base.lat + f64::from(*dlat) * 1e-5,
                    lon: base.lon + f64::from(*dlon) * 1e-5,
                    ..base
                }),
                ..Default::default()
            }
        }
    };
    Op { op_id: Uuid::now_v7(), record_id, hlc, action: OpAction::Update(patch) }
}

/// Edits with distinct stamps (two devices never share one: the node differs), in the order
/// they were made, then the order and the repeats they arrive in.
fn history(edit: impl Strategy<Value = Edit> + Clone) -> impl Strategy<Value = (Vec<(Hlc, Edit)>, Vec<usize>)> {
    proptest::collection::btree_set((1u64..40, 0u32..3, 0..NODES.len()), 1..12)
        .prop_flat_map(move |stamps| {
            let n = stamps.len();
            let edits = proptest::collection::vec(edit.clone(), n);
            (Just(stamps), edits)
        })
        .prop_flat_map(|(stamps, edits)| {
            let made: Vec<(Hlc, Edit)> =
                stamps.into_iter().map(|(w, c, node)| Hlc::new(1_764_000_000_000 + w, c, NODES[node])).zip(edits).collect();
            let n = made.len();
            // Every edit at least once, some twice or three times, shuffled.
            let arrivals = proptest::collection::vec(0..n, 0..n * 2)
                .prop_map(move |extra| (0..n).chain(extra).collect::<Vec<_>>())
                .prop_shuffle();
            (Just(made), arrivals)
        })
}

fn apply_all(start: &StoredRecord, ops: &[&Op]) -> StoredRecord {
    let refs = fixtures::refs();
    let now = Utc.with_ymd_and_hms(2026, 11, 21, 8, 0, 0).unwrap();
    let mut state = start.clone();
    for op in ops {
        state = apply_op(Some(&state), op, &op.hlc, &actor(), &refs, now).expect("a valid edit applies");
    }
    state
}

/// What must agree between replicas: every field and each field's clock (not who applied
/// the last op nor when, which are the receiving side's own facts).
type Converged = (serde_json::Value, serde_json::Value, Status, BTreeMap<String, Hlc>);

fn converged(s: &StoredRecord) -> Converged {
    let r = &s.record;
    (
        serde_json::to_value(&r.body).expect("body"),
        serde_json::to_value(&r.location).expect("location"),
        r.status,
        s.clocks.clone(),
    )
}

fn created(index: usize) -> StoredRecord {
    let refs = fixtures::refs();
    let rec = fixtures::records().remove(index);
    let op = fixtures::create_op(rec, Hlc::new(1_764_000_000_000, 0, "phonea"));
    apply_op(None, &op, &op.hlc, &actor(), &refs, Utc.with_ymd_and_hms(2026, 11, 20, 9, 30, 0).unwrap()).expect("create")
}

fn check_convergence(start: StoredRecord, made: Vec<(Hlc, Edit)>, arrivals: Vec<usize>) -> Result<(), TestCaseError> {
    let ops: Vec<Op> = made.iter().map(|(h, e)| op_of(start.record.id, h.clone(), e)).collect();
    // The reference: each op once, in stamp order (stamps are distinct and made ascending).
    let in_order: Vec<&Op> = ops.iter().collect();
    let expected = apply_all(&start, &in_order);
    let arrived: Vec<&Op> = arrivals.iter().map(|&i| &ops[i]).collect();
    let got = apply_all(&start, &arrived);
    prop_assert_eq!(converged(&got), converged(&expected));
    // Applying everything again changes nothing (idempotence).
    let again = apply_all(&got, &arrived);
    prop_assert_eq!(converged(&again), converged(&got));
    Ok(())
}

proptest! {
    // Failures are printed (with the shrunk input), not written next to the source.
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn report_edits_converge_in_any_order_with_repeats((made, arrivals) in history(report_edit())) {
        check_convergence(created(0), made, arrivals)?;
    }

    #[test]
    fn service_log_edits_converge_in_any_order_with_repeats((made, arrivals) in history(log_edit())) {
        check_convergence(created(2), made, arrivals)?;
    }

    /// Two replicas that each received a different part of the edits, then the rest, agree.
    #[test]
    fn replicas_that_saw_parts_first_agree((made, _) in history(report_edit()), split in 0usize..12) {
        let start = created(0);
        let ops: Vec<Op> = made.iter().map(|(h, e)| op_of(start.record.id, h.clone(), e)).collect();
        let k = split.min(ops.len());
        let a: Vec<&Op> = ops[..k].iter().chain(ops[k..].iter()).collect();
        let b: Vec<&Op> = ops[k..].iter().rev().chain(ops[..k].iter().rev()).collect();
        prop_assert_eq!(converged(&apply_all(&start, &a)), converged(&apply_all(&start, &b)));
    }

    /// Local events at any wall time, remote stamps from anywhere, and restarts that resume
    /// from the highest stamp kept (as `DeviceContext::open` does): every stamp issued is
    /// above every stamp issued or observed before it.
    #[test]
    fn the_clock_never_goes_backwards_across_restarts(
        events in proptest::collection::vec((0u8..3, 0u64..2_000_000, 0u32..5), 1..200)
    ) {
        let mut clock = HlcClock::new("dev");
        let mut highest: Option<Hlc> = None;
        let mut kept: Option<Hlc> = None;
        for (what, wall, counter) in events {
            let wall = 1_764_000_000_000 + wall;
            match what {
                0 => {
                    let h = clock.tick_at(wall);
                    if let Some(prev) = &highest { prop_assert!(h > *prev, "{h} after {prev}"); }
                    kept = Some(h.clone());
                    highest = Some(h);
                }
                1 => {
                    let remote = Hlc::new(wall, counter, "server");
                    clock.observe_at(&remote, wall.saturating_sub(1_000_000));
                    kept = Some(clock.peek());
                    if highest.as_ref().is_none_or(|h| remote.wall_ms > h.wall_ms || (remote.wall_ms == h.wall_ms && remote.counter >= h.counter)) {
                        highest = Some(Hlc::new(remote.wall_ms, remote.counter, "dev"));
                    }
                }
                _ => {
                    // A restart: a fresh clock that has seen what the store kept.
                    clock = HlcClock::new("dev");
                    if let Some(k) = &kept { clock.observe_at(k, wall); }
                }
            }
        }
    }

    #[test]
    fn wire_decoders_and_parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), s in ".{0,80}") {
        let _ = serde_json::from_slice::<PushRequest>(&bytes);
        let _ = serde_json::from_slice::<PullResponse>(&bytes);
        let _ = serde_json::from_slice::<LoginRequest>(&bytes);
        let _ = serde_json::from_str::<PushRequest>(&s);
        let _ = s.parse::<Hlc>();
        let _ = gridwork_core::numbering::parse_number(&s);
    }

    /// JSON that is well formed and close to a real push (the shapes a buggy or hostile
    /// client sends): decoding and then validating never panics.
    #[test]
    fn near_miss_pushes_decode_or_refuse_cleanly(
        lat in prop_oneof![Just(f64::NAN), Just(f64::INFINITY), -1000.0f64..1000.0],
        description in ".{0,3000}",
        category in "[0-9A-Z-]{0,8}",
        status in "[a-z_]{0,12}",
        kind in prop_oneof![Just("report"), Just("notice"), Just("service_log"), Just("case"), Just("x")],
    ) {
        let refs = fixtures::refs();
        let mut rec = fixtures::records().remove(0);
        rec.location.lat = lat;
        if let gridwork_core::model::RecordBody::Report(r) = &mut rec.body {
            r.description = description.clone();
            r.category = category.clone();
        }
        let _ = validate_record(&rec, &refs);
        let op = fixtures::create_op(rec, Hlc::new(1, 0, "dev"));
        let mut v = serde_json::json!({ "ops": [op] });
        v["ops"][0]["action"]["create"]["status"] = serde_json::json!(status);
        let body = v["ops"][0]["action"]["create"]["body"].as_object_mut().expect("body").remove("report");
        v["ops"][0]["action"]["create"]["body"] = serde_json::json!({ kind: body });
        if let Ok(push) = serde_json::from_value::<PushRequest>(v) {
            for op in &push.ops {
                let _ = apply_op(None, op, &op.hlc, &actor(), &refs, Utc::now());
            }
        }
    }
}
