//! The case loop end to end: a real server process and four device cores (the reporting
//! grid worker, the admin, the handling officer, a verifier), each stage done offline and
//! synced after; the server's clock moved on so a case goes overdue by itself; every device
//! ends with the same timeline; the reporter sees the reply; the figures endpoint gives the
//! hand-computed values.

use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc, Weekday};
use gridwork_core::cases::{Assignee, Case, CaseSource, StepAction};
use gridwork_core::model::{PhotoStage, Record, RecordBody, Status};
use gridwork_core::photos::sample::sample_jpeg;
use gridwork_core::protocol::{RecordPatch, RejectReason, paths};
use gridwork_core::worktime::{WorkCalendar, china};
use gridwork_core::{CaseDraft, Device, Error};
use gridwork_e2e::*;
use uuid::Uuid;

fn case(r: &Record) -> &Case {
    match &r.body {
        RecordBody::Case(c) => c,
        other => panic!("not a case: {other:?}"),
    }
}

fn shown(d: &Device, id: Uuid) -> Record {
    d.get(id).unwrap().unwrap_or_else(|| panic!("{id} is on the device")).record.record
}

/// A Monday at least two weeks ahead, 09:00 in Weifang, that is a working day: far enough
/// that no demo case falls due around it.
fn next_working_monday(calendar: &WorkCalendar) -> DateTime<Utc> {
    let mut day = (Utc::now() + Duration::days(14)).with_timezone(&china()).date_naive();
    while day.weekday() != Weekday::Mon || !calendar.is_workday(day) {
        day += Duration::days(1);
    }
    day.and_time(NaiveTime::from_hms_opt(9, 0, 0).unwrap()).and_local_timezone(china()).single().unwrap().with_timezone(&Utc)
}

async fn figures(server: &Server, admin: &Device, from: chrono::NaiveDate, to: chrono::NaiveDate) -> serde_json::Value {
    let session = admin.context().session().unwrap();
    let resp = reqwest::Client::new()
        .get(format!("{}{}?from={from}&to={to}", server.url, paths::FIGURES))
        .bearer_auth(&session.token)
        .header(gridwork_core::protocol::DEVICE_HEADER, admin.device_id().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_through_every_stage_on_four_phones_offline() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    // A second grid worker of the community checks on site.
    server.add_user("grid.kw01b", "赵敏", "grid_worker", "370705001001");
    let reporter = logged_in(dir.path(), "reporter", &server.url, "grid.kw01").await;
    let admin = logged_in(dir.path(), "admin", &server.url, "admin").await;
    let officer = logged_in(dir.path(), "officer", &server.url, "officer.kuiwen").await;
    let verifier = logged_in(dir.path(), "verifier", &server.url, "grid.kw01b").await;

    // The server's time: a working Monday, 09:00.
    let calendar = admin.reference().unwrap().unwrap().calendar;
    let monday = next_working_monday(&calendar);
    server.set_clock_offset((monday - Utc::now()).num_seconds());

    // 上报: the grid worker files two reports in the street, offline.
    let rubbish = reporter.create(report(&reporter, KW_GRID, "路边暴露垃圾，未及时清运")).unwrap();
    let pile = reporter.create(report(&reporter, KW_GRID, "楼道口乱堆杂物")).unwrap();
    reporter.sync().await.unwrap();

    // 立案 and 派遣, on the admin's phone, offline; synced after.
    admin.sync().await.unwrap();
    let draft = |id, category: &str, desc: &str| CaseDraft {
        source: CaseSource::Report { id },
        place: None,
        category: category.into(),
        description: desc.into(),
    };
    let c1 = admin.open_case(draft(rubbish.id, "06010", "路边暴露垃圾")).unwrap();
    let c2 = admin.open_case(draft(pile.id, "06036", "楼道口乱堆杂物")).unwrap();
    assert_eq!(c1.status, Status::Registered);
    assert!(case(&c1).number.is_none(), "numbered by the server");
    let officer_id = officer.current_user().unwrap().id;
    for c in [&c1, &c2] {
        admin
            .case_step(c.id, StepAction::Dispatch { to: Assignee::Officer { user_id: officer_id.clone() } }, None, vec![])
            .unwrap();
    }
    let rep = admin.sync().await.unwrap();
    assert_eq!(rep.rejected, 0, "{:?}", admin.rejected().unwrap());
    let c1_server = shown(&admin, c1.id);
    let number = case(&c1_server).number.clone().expect("numbered");
    assert!(number.starts_with(&format!("370705-{}-", monday.with_timezone(&china()).year())), "{number}");
    // Due four working hours after the server's 派遣 (09:00 + 4 h, lunch skipped: 14:30).
    let due = case(&c1_server).due_at.expect("due");
    assert_eq!(due, calendar.add_working_minutes(case(&c1_server).dispatched_at.unwrap(), 240));
    assert!(due > monday && due < monday + Duration::hours(8), "{due}");
    assert_eq!(shown(&admin, rubbish.id).status, Status::Accepted, "the report follows its case");

    // A grid worker cannot dispatch: refused with its own reason, kept on the phone.
    verifier.sync().await.unwrap();
    let wrong = verifier.case_step(c2.id, StepAction::Handle, None, vec![]);
    assert!(matches!(wrong, Err(Error::Invalid(r)) if r.reason == RejectReason::NotAssignee), "checked on the phone first");

    // 处置 on the officer's phone, offline, with an "after" photo.
    officer.sync().await.unwrap();
    let photo_file = dir.path().join("after.jpg");
    std::fs::write(&photo_file, sample_jpeg(1600, 1200, 88, 7, None)).unwrap();
    let after = officer.take_photo(&photo_file, Some(PhotoStage::After)).unwrap();
    officer.case_step(c1.id, StepAction::Handle, Some("已清运".into()), vec![after.clone()]).unwrap();
    let rep = officer.sync().await.unwrap();
    assert_eq!((rep.rejected, rep.photos_uploaded), (0, 1));

    // 核查 fails (返工), offline on the verifier's phone; back to the officer.
    verifier.sync().await.unwrap();
    assert_eq!(shown(&verifier, c1.id).status, Status::Handled);
    verifier.case_step(c1.id, StepAction::Verify { passed: false }, Some("现场仍有垃圾".into()), vec![]).unwrap();
    verifier.sync().await.unwrap();
    officer.sync().await.unwrap();
    let back = shown(&officer, c1.id);
    assert_eq!((back.status, case(&back).reworks), (Status::Dispatched, 1));
    officer.case_step(c1.id, StepAction::Handle, Some("已彻底清理".into()), vec![]).unwrap();
    officer.sync().await.unwrap();

    // Two phones act on the same stage offline: the verifier passes the check, the admin
    // suspends the case. The first to sync wins; the other is refused and told why.
    verifier.sync().await.unwrap();
    admin.sync().await.unwrap();
    verifier.case_step(c1.id, StepAction::Verify { passed: true }, Some("已整改".into()), vec![]).unwrap();
    admin.case_step(c1.id, StepAction::Suspend, None, vec![]).unwrap();
    verifier.sync().await.unwrap();
    let rep = admin.sync().await.unwrap();
    assert_eq!(rep.rejected, 1);
    let refused = admin.rejected().unwrap();
    assert_eq!(refused[0].reason, RejectReason::StaleStep, "{refused:?}");
    assert_eq!(shown(&admin, c1.id).status, Status::Closed, "the phone shows the server's state again");
    admin.discard_rejected(refused[0].op_id).unwrap();

    // 件件有回音: the admin answers the reporter.
    admin.case_step(c1.id, StepAction::Reply { text: "您反映的暴露垃圾已清运完毕，感谢监督！".into() }, None, vec![]).unwrap();
    admin.sync().await.unwrap();

    // Two days on: the second case's working day (乱堆杂物: 450 working minutes) is long
    // gone. The server marks it overdue by itself, as the system actor.
    server.set_clock_offset((monday + Duration::days(2) - Utc::now()).num_seconds());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        admin.sync().await.unwrap();
        if case(&shown(&admin, c2.id)).overdue || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    let late = shown(&admin, c2.id);
    assert!(case(&late).overdue, "marked overdue by the server");
    assert_eq!(case(&late).timeline.last().map(|e| e.by.as_str()), Some(gridwork_core::cases::SYSTEM_USER));

    // Everyone syncs: the same timeline on every phone.
    for d in [&reporter, &admin, &officer, &verifier] {
        d.sync().await.unwrap();
    }
    let timeline = case(&shown(&admin, c1.id)).timeline.clone();
    let actions: Vec<&str> = timeline.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["register", "dispatch", "handle", "verify", "handle", "verify", "reply"]);
    for d in [&reporter, &officer, &verifier] {
        assert_eq!(case(&shown(d, c1.id)).timeline, timeline, "the same timeline on every device");
    }
    assert_eq!(timeline[2].photos, std::slice::from_ref(&after.sha256), "the after photo, in its step");
    assert_eq!(timeline[2].device, officer.device_id().to_string(), "from which device");

    // The reporter's phone: the case of their report, its reply, the report closed.
    let of_report = reporter.case_of(rubbish.id).unwrap().expect("the case of the report");
    assert_eq!(of_report.record.status, Status::Closed);
    assert_eq!(case(&of_report.record).reply.as_deref(), Some("您反映的暴露垃圾已清运完毕，感谢监督！"));
    assert_eq!(shown(&reporter, rubbish.id).status, Status::Closed);
    assert!(reporter.fetch_photo(&after.sha256, true).await.is_ok(), "the reporter sees the after photo");

    // The figures of that week, by hand: two cases due, one closed on time after one
    // 返工, one overdue and open.
    let from = monday.with_timezone(&china()).date_naive();
    let f = figures(&server, &admin, from, from + Duration::days(7)).await;
    let row = &f["rows"][0];
    assert_eq!(row["due"], 2, "{f}");
    assert_eq!((row["closed"].as_u64(), row["closed_on_time"].as_u64()), (Some(1), Some(1)), "{f}");
    assert_eq!((row["handled"].as_u64(), row["reworked"].as_u64()), (Some(1), Some(1)), "{f}");
    assert_eq!(row["overdue_open"], 1, "{f}");
    assert_eq!(row["close_rate"], 0.5, "{f}");
    assert_eq!(row["on_time_close_rate"], 0.5, "{f}");
    assert_eq!(row["rework_rate"], 1.0, "{f}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_dispatched_elsewhere_leaves_the_first_officers_phone() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let reporter = logged_in(dir.path(), "reporter", &server.url, "grid.kw01").await;
    let admin = logged_in(dir.path(), "admin", &server.url, "admin").await;
    // An officer of another brigade, sent a 奎文 case by mistake.
    let stranger = logged_in(dir.path(), "stranger", &server.url, "officer.weicheng").await;
    let rec = reporter.create(report(&reporter, KW_GRID, "占道经营")).unwrap();
    reporter.sync().await.unwrap();
    admin.sync().await.unwrap();
    let c = admin
        .open_case(CaseDraft {
            source: CaseSource::Report { id: rec.id },
            place: None,
            category: "09006".into(),
            description: "占道经营".into(),
        })
        .unwrap();
    let to = |d: &Device| Assignee::Officer { user_id: d.current_user().unwrap().id };
    admin.case_step(c.id, StepAction::Dispatch { to: to(&stranger) }, None, vec![]).unwrap();
    admin.sync().await.unwrap();
    stranger.sync().await.unwrap();
    assert!(stranger.get(c.id).unwrap().is_some(), "the assignee gets the case outside their district");
    assert!(stranger.get(rec.id).unwrap().is_none(), "but not the rest of the district");

    // 回退 from the stranger's phone: the case is no longer theirs, and the same sync's pull
    // drops it from their phone (a tombstone, not a stale copy).
    let before = stranger.record_count().unwrap();
    stranger.case_step(c.id, StepAction::SendBack, Some("不属本中队辖区".into()), vec![]).unwrap();
    let rep = stranger.sync().await.unwrap();
    assert_eq!(rep.rejected, 0);
    assert!(stranger.get(c.id).unwrap().is_none(), "gone from a device that may no longer see it");
    assert_eq!(stranger.record_count().unwrap(), before - 1);
    // The admin sends it to the district's brigade.
    admin.sync().await.unwrap();
    assert_eq!(shown(&admin, c.id).status, Status::Registered);
    assert_eq!(case(&shown(&admin, c.id)).timeline.last().and_then(|e| e.note.as_deref()), Some("不属本中队辖区"));
    admin.case_step(c.id, StepAction::Dispatch { to: Assignee::Unit { code: "370705".into() } }, None, vec![]).unwrap();
    admin.sync().await.unwrap();
    stranger.sync().await.unwrap();
    assert!(stranger.get(c.id).unwrap().is_none(), "and it does not come back");
    // And the brigade's officers have it.
    let kw = logged_in(dir.path(), "kw", &server.url, "officer.kuiwen2").await;
    kw.sync().await.unwrap();
    assert_eq!(shown(&kw, c.id).status, Status::Dispatched);
    assert!(kw.case_step(c.id, StepAction::Handle, None, vec![]).is_ok(), "an officer of the unit may handle it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_goes_overdue_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let officer = logged_in(dir.path(), "officer", &server.url, "officer.kuiwen").await;
    let colleague = logged_in(dir.path(), "colleague", &server.url, "officer.kuiwen2").await;
    // Two notices with a deadline in three days; the second shop rectifies in time.
    let late = officer.create(notice(&officer, KW_GRID)).unwrap();
    let done = officer.create(notice(&officer, KW_GRID)).unwrap();
    officer.update(done.id, RecordPatch { status: Some(Status::Rectified), ..Default::default() }).unwrap();
    officer.sync().await.unwrap();
    colleague.sync().await.unwrap();
    assert_eq!(shown(&colleague, late.id).status, Status::Issued);

    // Still 已告知 on the deadline day itself: nothing happens.
    let deadline_day = match &late.body {
        RecordBody::Notice(n) => n.deadline,
        _ => unreachable!(),
    };
    let noon = deadline_day.and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap()).and_local_timezone(china()).unwrap();
    server.set_clock_offset((noon.with_timezone(&Utc) - Utc::now()).num_seconds());
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    officer.sync().await.unwrap();
    assert_eq!(shown(&officer, late.id).status, Status::Issued, "the deadline day is not over");

    // The day after: the server marks it 逾期未整改 as the system actor; both phones see it.
    server.set_clock_offset((noon.with_timezone(&Utc) + Duration::days(1) - Utc::now()).num_seconds());
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while shown(&officer, late.id).status != Status::Overdue && std::time::Instant::now() < give_up {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        officer.sync().await.unwrap();
    }
    assert_eq!(shown(&officer, late.id).status, Status::Overdue, "marked overdue by the server");
    colleague.sync().await.unwrap();
    assert_eq!(shown(&colleague, late.id).status, Status::Overdue);
    assert_eq!(shown(&colleague, done.id).status, Status::Rectified, "a rectified notice is left alone");
    let history = officer.get(late.id).unwrap().unwrap().history;
    let by_system = history.iter().any(|h| {
        matches!(h, gridwork_core::store::history::HistoryEntry::Server(c)
            if c.actor == gridwork_core::cases::SYSTEM_USER && c.fields.iter().any(|f| f == "status"))
    });
    assert!(by_system, "the status change is the system's: {history:?}");

    // Rectified after all: the officer may still record it, and the server leaves it be.
    officer.update(late.id, RecordPatch { status: Some(Status::Rectified), ..Default::default() }).unwrap();
    let rep = officer.sync().await.unwrap();
    assert_eq!(rep.rejected, 0);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    colleague.sync().await.unwrap();
    assert_eq!(shown(&colleague, late.id).status, Status::Rectified);
}
