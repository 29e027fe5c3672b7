//! Notice-number blocks: ranges that follow each other per brigade and year and never
//! overlap, a number used once and only from its own device's block (checked through the
//! real push path), returns and losses that close a block, and an account of every number.

use super::{admin, sync_service};
use crate::domain::access::Caller;
use crate::storage::Stores;
use crate::storage::numbers::Whose;
use chrono::Utc;
use gridwork_core::fixtures;
use gridwork_core::hlc::Hlc;
use gridwork_core::model::{Record, RecordBody, Status};
use gridwork_core::numbering::{MAX_NUMBER, format_number};
use gridwork_core::protocol::{BlockReturn, Op, OpAction, OpResult, Outcome, RecordPatch, RejectReason};
use std::collections::HashSet;
use uuid::Uuid;

/// The fixture notice with `number` and a fresh id.
fn notice(number: &str, n: u128) -> Record {
    let mut r = fixtures::records().remove(1);
    r.id = Uuid::from_u128(0x7000_0000 + n);
    let RecordBody::Notice(body) = &mut r.body else { unreachable!("the fixture's second record is a notice") };
    body.number = number.into();
    r
}

fn kw(n: u64) -> String {
    format_number("奎文", 2026, n)
}

async fn push_as(s: &Stores, caller: &Caller, ops: Vec<Op>) -> Vec<OpResult> {
    sync_service(s).await.push(caller, ops).await.expect("push").results
}

fn create(rec: Record) -> Op {
    fixtures::create_op(rec, Hlc::new(100, 0, "d1"))
}

fn reason(r: &OpResult) -> Option<RejectReason> {
    r.rejection.as_ref().map(|j| j.reason)
}

pub async fn blocks_follow_each_other_and_never_overlap(s: Stores) {
    // `seeded` issued 奎文 2026 1-100 to d1.
    let now = Utc::now();
    let a = s.numbers.issue_block("奎文", 2026, 50, "d2", "u2", now).await.expect("issue").expect("room");
    let b = s.numbers.issue_block("奎文", 2026, 10, "d1", "u1", now).await.expect("issue").expect("room");
    let other = s.numbers.issue_block("潍城", 2026, 10, "d3", "u3", now).await.expect("issue").expect("room");
    let next_year = s.numbers.issue_block("奎文", 2027, 10, "d2", "u2", now).await.expect("issue").expect("room");
    assert_eq!((a.first, a.last), (101, 150));
    assert_eq!((b.first, b.last), (151, 160));
    assert_eq!((other.first, other.last, next_year.first), (1, 10, 1));
    assert!(a.id != b.id && b.id != other.id);
    // A sequence ends at MAX_NUMBER: a block that would pass it is refused, and nothing moves.
    assert!(s.numbers.issue_block("奎文", 2026, (MAX_NUMBER - 160) as u32 + 1, "d2", "u2", now).await.expect("issue").is_none());
    let tail =
        s.numbers.issue_block("奎文", 2026, (MAX_NUMBER - 160) as u32, "d2", "u2", now).await.expect("issue").expect("room");
    assert_eq!((tail.first, tail.last), (161, MAX_NUMBER));
    assert!(s.numbers.issue_block("奎文", 2026, 1, "d2", "u2", now).await.expect("issue").is_none());
    // Concurrent requests never overlap.
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move { s.numbers.issue_block("昌乐", 2026, 7, &format!("c{i}"), "u", Utc::now()).await })
        })
        .collect();
    let mut seen = HashSet::new();
    for t in tasks {
        let block = t.await.expect("join").expect("issue").expect("room");
        for n in block.first..=block.last {
            assert!(seen.insert(n), "number {n} handed out twice");
        }
    }
    assert_eq!(seen.len(), 16 * 7);
    assert_eq!(seen.iter().max(), Some(&(16 * 7)));
}

pub async fn a_number_is_used_once_and_only_from_its_device_block(s: Stores) {
    let d1 = admin("u1");
    let d2 = Caller { device_id: "d2".into(), ..admin("u2") };
    s.numbers.issue_block("奎文", 2026, 10, "d2", "u2", Utc::now()).await.expect("issue").expect("room");
    let first = create(notice(&kw(1), 1));
    let results = push_as(&s, &d1, vec![first.clone()]).await;
    assert_eq!(results[0].outcome, Outcome::Accepted, "{results:?}");
    // The same op again (a retry) gives the first answer and uses nothing more.
    let again = push_as(&s, &d1, vec![first.clone()]).await;
    assert_eq!(again[0].outcome, Outcome::Accepted, "{again:?}");
    // Another notice with a used number; a number of d2's block from d1; one never handed
    // out; the same number from the device it was handed to but another account.
    let used = push_as(&s, &d1, vec![create(notice(&kw(1), 2))]).await;
    assert_eq!(reason(&used[0]), Some(RejectReason::NumberUsed), "{used:?}");
    let foreign = push_as(&s, &d1, vec![create(notice(&kw(101), 3))]).await;
    assert_eq!(reason(&foreign[0]), Some(RejectReason::NumberNotIssued), "{foreign:?}");
    let unissued = push_as(&s, &d1, vec![create(notice(&kw(500), 4))]).await;
    assert_eq!(reason(&unissued[0]), Some(RejectReason::NumberNotIssued), "{unissued:?}");
    let other_account = Caller { user_id: "u9".into(), ..admin("u9") };
    let borrowed = push_as(&s, &other_account, vec![create(notice(&kw(2), 5))]).await;
    assert_eq!(reason(&borrowed[0]), Some(RejectReason::NumberNotIssued), "{borrowed:?}");
    // d2 uses its own; a refused notice left no mark: its number is still free.
    assert_eq!(push_as(&s, &d2, vec![create(notice(&kw(101), 6))]).await[0].outcome, Outcome::Accepted);
    assert_eq!(push_as(&s, &d1, vec![create(notice(&kw(2), 7))]).await[0].outcome, Outcome::Accepted);
    // Two new notices with one number in one push: the first has it.
    let pair = push_as(&s, &d1, vec![create(notice(&kw(3), 8)), create(notice(&kw(3), 9))]).await;
    assert_eq!((pair[0].outcome, reason(&pair[1])), (Outcome::Accepted, Some(RejectReason::NumberUsed)), "{pair:?}");
    // An update never touches the number check.
    let cancel = Op {
        op_id: Uuid::now_v7(),
        record_id: Uuid::from_u128(0x7000_0007),
        hlc: Hlc::new(200, 0, "d1"),
        action: OpAction::Update(RecordPatch { status: Some(Status::Cancelled), ..Default::default() }),
    };
    assert_eq!(push_as(&s, &d1, vec![cancel]).await[0].outcome, Outcome::Accepted);
    let accounts = s.numbers.number_accounts(Some("奎文"), Some(2026)).await.expect("accounts");
    let d1_block = accounts.iter().find(|a| a.device_id == "d1").expect("d1's block");
    assert_eq!((d1_block.used, d1_block.cancelled, d1_block.open, d1_block.returned, d1_block.lost), (3, 1, 97, 0, 0));
    let d2_block = accounts.iter().find(|a| a.device_id == "d2").expect("d2's block");
    assert_eq!((d2_block.used, d2_block.open), (1, 9));
}

pub async fn returns_and_losses_close_blocks_and_every_number_is_accounted(s: Stores) {
    let d1 = admin("u1");
    let now = Utc::now();
    for n in 1..=3u64 {
        let r = push_as(&s, &d1, vec![create(notice(&kw(n), u128::from(n)))]).await;
        assert_eq!(r[0].outcome, Outcome::Accepted, "{r:?}");
    }
    let open = s.numbers.open_blocks("d1", "u1").await.expect("open");
    assert_eq!(open.len(), 1);
    assert_eq!((open[0].first, open[0].last), (4, 100));
    let id = open[0].id;
    // Returns of a used number, of another device's block, or past the block change nothing.
    for bad in [BlockReturn { block: id, from: 3 }, BlockReturn { block: id, from: 101 }, BlockReturn { block: id + 99, from: 4 }]
    {
        assert_eq!(s.numbers.return_numbers("d1", "u1", &[bad], now).await.expect("return"), 0);
    }
    assert_eq!(s.numbers.return_numbers("d2", "u1", &[BlockReturn { block: id, from: 4 }], now).await.expect("return"), 0);
    // d1 keeps 4-9 and gives back 10-100.
    assert_eq!(s.numbers.return_numbers("d1", "u1", &[BlockReturn { block: id, from: 10 }], now).await.expect("return"), 91);
    assert_eq!(s.numbers.return_numbers("d1", "u1", &[BlockReturn { block: id, from: 10 }], now).await.expect("again"), 0);
    let open = s.numbers.open_blocks("d1", "u1").await.expect("open");
    assert_eq!((open[0].first, open[0].last), (4, 9));
    let returned = push_as(&s, &d1, vec![create(notice(&kw(10), 10))]).await;
    assert_eq!(reason(&returned[0]), Some(RejectReason::NumberNotIssued), "a returned number is never used: {returned:?}");
    assert_eq!(push_as(&s, &d1, vec![create(notice(&kw(4), 4))]).await[0].outcome, Outcome::Accepted);

    // A second block, then the device changes hands: u1's open numbers are lost, u2's kept.
    let second = s.numbers.issue_block("奎文", 2026, 20, "d1", "u1", now).await.expect("issue").expect("room");
    let u2 = s.numbers.issue_block("奎文", 2026, 5, "d1", "u2", now).await.expect("issue").expect("room");
    let lost = s.numbers.lose_numbers(Whose::Device { device_id: "d1", keep_user: Some("u2") }, now).await.expect("lose");
    assert_eq!(lost, 5 + 20, "5-9 of the first block and all of the second");
    assert!(s.numbers.open_blocks("d1", "u1").await.expect("open").is_empty());
    assert_eq!(s.numbers.open_blocks("d1", "u2").await.expect("open").len(), 1);
    let late = push_as(&s, &d1, vec![create(notice(&kw(second.first), 50))]).await;
    assert_eq!(reason(&late[0]), Some(RejectReason::NumberNotIssued), "{late:?}");
    // u2's sessions revoked: its block is lost too.
    assert_eq!(s.numbers.lose_numbers(Whose::User { user_id: "u2", device_id: None }, now).await.expect("lose"), u2.len());

    // Every number handed out is used, returned, lost or still open, exactly once.
    let accounts = s.numbers.number_accounts(Some("奎文"), Some(2026)).await.expect("accounts");
    assert_eq!(accounts.len(), 3);
    let mut handed = 0;
    for a in &accounts {
        assert_eq!(a.used + a.returned + a.lost + a.open, a.block.len(), "{a:?}");
        handed += a.block.len();
    }
    assert_eq!(handed, 100 + 20 + 5);
    let first = &accounts[0];
    assert_eq!((first.used, first.returned, first.lost, first.open), (4, 91, 5, 0), "{first:?}");
    assert_eq!((accounts[1].lost, accounts[1].open), (20, 0));
    assert_eq!((accounts[2].lost, accounts[2].open), (5, 0));
}
