//! Notice numbers end to end: a real server process and five officers' phones that number
//! their notices offline from the blocks the server handed them, sync after, and run dry;
//! no number is used twice, every number handed out is accounted for (used, cancelled,
//! given back, lost, still on a phone), a forged or reused number is refused, and a phone
//! that changes hands gives up what it held.

use gridwork_core::model::{RecordBody, RecordKind, Status};
use gridwork_core::numbering::{BLOCK_SIZE, LOW_WATER, format_number, parse_number};
use gridwork_core::protocol::{Op, PushRequest, PushResponse, RecordPatch, RejectReason, paths};
use gridwork_core::store::records::RecordQuery;
use gridwork_core::{Device, Error};
use gridwork_e2e::*;
use std::collections::{HashMap, HashSet};

/// The numbers of every notice a device holds.
fn notice_numbers(d: &Device) -> Vec<String> {
    let q = RecordQuery { kind: Some(RecordKind::Notice), limit: Some(10_000), ..Default::default() };
    d.list(&q)
        .unwrap()
        .into_iter()
        .map(|r| match r.record.body {
            RecordBody::Notice(n) => n.number,
            other => panic!("not a notice: {other:?}"),
        })
        .collect()
}

async fn admin_get(server: &Server, admin: &Device, path: &str) -> serde_json::Value {
    let session = admin.context().session().unwrap();
    let resp = reqwest::Client::new()
        .get(format!("{}{path}", server.url))
        .bearer_auth(&session.token)
        .header(gridwork_core::protocol::DEVICE_HEADER, admin.device_id().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// Push a notice numbered `number` as `device` would, bypassing its own check (a forged or
/// copied number); why the server refused it, if it did.
async fn push_raw(server: &Server, device: &Device, number: &str) -> Option<RejectReason> {
    let mut rec = gridwork_core::fixtures::records().remove(1);
    rec.id = uuid::Uuid::now_v7();
    let RecordBody::Notice(n) = &mut rec.body else { unreachable!() };
    n.number = number.into();
    let op: Op = gridwork_core::fixtures::create_op(rec, gridwork_core::hlc::Hlc::new(1_800_000_000_000, 0, "forger"));
    let session = device.context().session().unwrap();
    // Signed with the device's own key, as its sync would: only the number is forged.
    let sig = gridwork_core::signer::sign_op(&*device.context().key_store(), &device.device_id().to_string(), &op).unwrap();
    let resp = reqwest::Client::new()
        .post(format!("{}{}", server.url, paths::PUSH))
        .bearer_auth(&session.token)
        .header(gridwork_core::protocol::DEVICE_HEADER, device.device_id().to_string())
        .json(&PushRequest { ops: vec![op], sigs: vec![sig] })
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: PushResponse = resp.json().await.unwrap();
    body.results[0].rejection.as_ref().map(|r| r.reason)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phones_number_notices_offline_without_a_collision_and_every_number_is_accounted() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&dir.path().join("server"));
    server.add_user("officer.kuiwen3", "孙立", "officer", "370705");
    server.add_user("officer.weicheng9", "周强", "officer", "370702");
    let admin = logged_in(dir.path(), "admin", &server.url, "admin").await;
    // Two phones of one account, two more officers of the brigade, one of another.
    let phones = [
        logged_in(dir.path(), "a", &server.url, "officer.kuiwen").await,
        logged_in(dir.path(), "b", &server.url, "officer.kuiwen").await,
        logged_in(dir.path(), "c", &server.url, "officer.kuiwen2").await,
        logged_in(dir.path(), "d", &server.url, "officer.kuiwen3").await,
        logged_in(dir.path(), "e", &server.url, "officer.weicheng").await,
    ];
    // Signing in took a block each: they are ready to number offline.
    for p in &phones {
        assert_eq!(p.numbers_left().unwrap(), u64::from(BLOCK_SIZE));
    }
    let grid_worker = logged_in(dir.path(), "w", &server.url, "grid.kw01").await;
    assert_eq!(grid_worker.numbers_left().unwrap(), 0, "grid workers issue no notices");
    assert!(matches!(grid_worker.next_notice_number(), Err(Error::NoNumbers)));

    // No signal: every phone issues notices; phone a runs its block dry.
    server.stop();
    let per_phone = [BLOCK_SIZE as usize, 85, 40, 7, 60];
    let mut issued: Vec<String> = Vec::new();
    for (i, (p, count)) in phones.iter().zip(per_phone).enumerate() {
        let grid = if i == 4 { WC_GRID } else { KW_GRID };
        for _ in 0..count {
            let rec = p.create(notice(p, grid)).unwrap();
            let RecordBody::Notice(n) = rec.body else { unreachable!() };
            issued.push(n.number);
        }
    }
    assert!(matches!(phones[0].next_notice_number(), Err(Error::NoNumbers)), "a dry phone says so, never repeats");
    assert!(phones[0].sync().await.is_err(), "still offline");
    // A phone's own check refuses a number it does not hold, or one it used.
    let mut copied = notice(&phones[1], KW_GRID);
    let RecordBody::Notice(n) = &mut copied.body else { unreachable!() };
    n.number = issued[0].clone();
    assert!(phones[1].create(copied).is_err(), "phone b does not hold phone a's numbers");

    // Back in signal: everything syncs, nothing is refused, and the low phones top up.
    server.restart();
    for p in &phones {
        let report = p.sync().await.unwrap();
        assert_eq!(report.rejected, 0, "{report:?}");
    }
    assert_eq!(phones[0].numbers_left().unwrap(), u64::from(BLOCK_SIZE), "the dry phone got a new block");
    assert_eq!(phones[1].numbers_left().unwrap(), 15 + u64::from(BLOCK_SIZE), "fewer than {LOW_WATER} left: topped up");
    assert_eq!(phones[2].numbers_left().unwrap(), 60, "enough left: no new block");
    let unique: HashSet<&String> = issued.iter().collect();
    assert_eq!(unique.len(), issued.len(), "no number used twice");
    for n in &issued {
        assert!(parse_number(n).is_some(), "{n}");
    }
    assert!(issued[..100].iter().all(|n| n.starts_with("奎文城管告字〔")));
    assert!(issued.last().unwrap().starts_with("潍城城管告字〔"));

    // On the server: every notice, the demo city's and these, has a number of its own.
    admin.sync().await.unwrap();
    let all = notice_numbers(&admin);
    let all_unique: HashSet<&String> = all.iter().collect();
    assert_eq!(all_unique.len(), all.len());
    assert!(issued.iter().all(|n| all_unique.contains(n)));

    // A forged number (another phone's), a used one, one never handed out: refused.
    let year = parse_number(&issued[0]).unwrap().1;
    let b_unused = format_number("奎文", year, parse_number(&issued[100 + 84]).unwrap().2 + 1);
    assert_eq!(push_raw(&server, &phones[0], &b_unused).await, Some(RejectReason::NumberNotIssued));
    assert_eq!(push_raw(&server, &phones[2], &issued[150]).await, Some(RejectReason::NumberUsed));
    assert_eq!(push_raw(&server, &phones[2], &format_number("奎文", year, 999_999)).await, Some(RejectReason::NumberNotIssued));

    // A notice cancelled (作废) keeps its number.
    let cancelled = phones[3].list(&RecordQuery { kind: Some(RecordKind::Notice), ..Default::default() }).unwrap()[0].record.id;
    phones[3].update(cancelled, RecordPatch { status: Some(Status::Cancelled), ..Default::default() }).unwrap();
    phones[3].sync().await.unwrap();

    // Phone c signs out: its unused numbers go back. Phone d is handed to another officer
    // without signing out: the server gives up what it held.
    let c_left = phones[2].numbers_left().unwrap();
    phones[2].logout().await.unwrap();
    assert_eq!(phones[2].numbers_left().unwrap(), 0);
    let d_left = phones[3].numbers_left().unwrap();
    phones[3].login("officer.weicheng9", PASSWORD).await.unwrap();

    // The account: per block used + returned + lost + open = its length, and the totals
    // match what the phones did.
    let accounts = admin_get(&server, &admin, paths::NUMBER_ACCOUNTS).await;
    let accounts = accounts.as_array().unwrap();
    let mut by_device: HashMap<String, (u64, u64, u64, u64, u64)> = HashMap::new();
    let mut used_total = 0;
    for a in accounts {
        let n = |k: &str| a[k].as_u64().unwrap();
        let len = a["block"]["last"].as_u64().unwrap() + 1 - a["block"]["first"].as_u64().unwrap();
        assert_eq!(n("used") + n("returned") + n("lost") + n("open"), len, "{a}");
        used_total += n("used");
        let e = by_device.entry(a["device_id"].as_str().unwrap().to_owned()).or_default();
        *e = (e.0 + n("used"), e.1 + n("cancelled"), e.2 + n("returned"), e.3 + n("lost"), e.4 + n("open"));
    }
    assert_eq!(used_total as usize, all.len(), "every notice on the server used one number");
    let of = |p: &Device| by_device[&p.device_id().to_string()];
    assert_eq!(of(&phones[0]), (100, 0, 0, 0, 100));
    assert_eq!(of(&phones[1]), (85, 0, 0, 0, 115));
    assert_eq!(of(&phones[2]), (40, 0, c_left, 0, 0));
    let d = of(&phones[3]);
    assert_eq!((d.0, d.1, d.2, d.3), (7, 1, 0, d_left), "{d:?}");
    // The new officer on phone d has its own block of its own brigade.
    assert!(phones[3].next_notice_number().unwrap().starts_with("潍城城管告字〔"));
    assert_eq!(d.4, u64::from(BLOCK_SIZE), "{d:?}");

    // The command line's report adds up too.
    server.stop();
    let out = server.command(&["numbers", "report"]).env("GRIDWORK_LOG", "warn").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text} {}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("奎文〔") && text.contains("潍城〔"), "{text}");
}
