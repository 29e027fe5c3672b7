//! Field work around the loop, with a real server: the duplicate hint a grid worker sees
//! while filing (the near open report of the same category, not the far one, nor a closed
//! one, from the phone's own data, offline), and a service log whose complaints open cases
//! and show their progress on the phone that recorded them.

use gridwork_core::cases::{Assignee, CaseSource, StepAction};
use gridwork_core::model::{Location, RecordBody, Status};
use gridwork_core::{CaseDraft, Error};
use gridwork_e2e::*;

fn at(lat: f64, lon: f64) -> Location {
    Location { lat, lon, accuracy_m: 5.0, address: None }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_duplicate_hint_finds_the_near_open_report_and_not_the_far_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&dir.path().join("server"));
    server.add_user("grid.kw01b", "赵敏", "grid_worker", "370705001001");
    let first = logged_in(dir.path(), "first", &server.url, "grid.kw01").await;
    let second = logged_in(dir.path(), "second", &server.url, "grid.kw01b").await;
    // A point with no demo record of 06036 near it.
    let (lat, lon) = (36.71234, 119.17321);
    assert!(second.duplicate_hints("06036", lat, lon).unwrap().is_empty());

    // The first worker files a pile of rubbish and, 200 m on, another; syncs.
    let mut near = report(&first, KW_GRID, "路边暴露垃圾，未清运");
    near.location = at(lat + 0.0002, lon); // ~22 m
    if let RecordBody::Report(r) = &mut near.body {
        r.category = "06036".into();
    }
    let mut far = near.clone();
    far.location = at(lat + 0.0018, lon); // ~200 m
    let near = first.create(near).unwrap();
    let far = first.create(far).unwrap();
    first.sync().await.unwrap();

    // The second worker, next day in the same street, with no signal.
    second.sync().await.unwrap();
    server.crash();
    let hints = second.duplicate_hints("06036", lat, lon).unwrap();
    assert_eq!(hints.iter().map(|h| h.record.record.id).collect::<Vec<_>>(), vec![near.id], "near, not {}", far.id);
    assert!((hints[0].distance_m - 22.2).abs() < 1.0, "{}", hints[0].distance_m);
    assert!(second.duplicate_hints("09006", lat, lon).unwrap().iter().all(|h| h.record.record.id != near.id), "other category");
    assert!(matches!(second.duplicate_hints("06036", 91.0, lon), Err(Error::Argument(_))));
    assert!(matches!(second.duplicate_hints("06036", f64::NAN, lon), Err(Error::Argument(_))));

    // The worker adds to it: a report of its own (photos, words) linked to the first, an
    // ordinary create, queued offline; the hint still shows the one problem once.
    let mut more = report(&second, KW_GRID, "垃圾越堆越多，已有异味");
    more.location = at(lat + 0.0001, lon);
    if let RecordBody::Report(r) = &mut more.body {
        r.category = "06036".into();
        r.duplicate_of = Some(near.id);
    }
    let more = second.create(more).unwrap();
    let hints: Vec<_> = second.duplicate_hints("06036", lat, lon).unwrap().into_iter().map(|h| h.record.record.id).collect();
    assert_eq!(hints, vec![near.id]);
    server.restart();
    assert_eq!(second.sync().await.unwrap().rejected, 0, "{:?}", second.rejected().unwrap());
    first.sync().await.unwrap();
    let seen = first.get(more.id).unwrap().expect("synced to the first worker").record.record;
    assert!(matches!(seen.body, RecordBody::Report(r) if r.duplicate_of == Some(near.id)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complaints_in_a_service_log_open_cases_and_the_log_shows_their_progress() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let worker = logged_in(dir.path(), "worker", &server.url, "grid.kw01").await;
    let admin = logged_in(dir.path(), "admin", &server.url, "admin").await;
    let officer = logged_in(dir.path(), "officer", &server.url, "officer.kuiwen").await;

    // 入户走访: two complaints recorded, offline, synced later.
    let mut draft = service_log(&worker, KW_GRID);
    if let RecordBody::ServiceLog(l) = &mut draft.body {
        l.complaints = vec!["夜间烧烤油烟扰民".into(), "小区门口共享单车乱停".into()];
    }
    let log = worker.create(draft).unwrap();
    assert!(worker.cases_from(log.id).unwrap().is_empty());
    worker.sync().await.unwrap();

    // The admin takes both complaints up as cases; one of a complaint that is not there is refused.
    admin.sync().await.unwrap();
    let open = |complaint: u32, category: &str, desc: &str| CaseDraft {
        source: CaseSource::ServiceLog { id: log.id, complaint },
        place: None,
        category: category.into(),
        description: desc.into(),
    };
    let smoke = admin.open_case(open(0, "09006", "夜间烧烤油烟扰民")).unwrap();
    let bikes = admin.open_case(open(1, "06036", "共享单车乱停")).unwrap();
    let officer_id = officer.current_user().unwrap().id;
    admin.case_step(smoke.id, StepAction::Dispatch { to: Assignee::Officer { user_id: officer_id } }, None, vec![]).unwrap();
    assert_eq!(admin.sync().await.unwrap().rejected, 0, "{:?}", admin.rejected().unwrap());
    let missing = admin.open_case(open(7, "06036", "不存在的意见"));
    let refused = match missing {
        Err(_) => true,
        Ok(_) => admin.sync().await.unwrap().rejected == 1,
    };
    assert!(refused, "a complaint the log does not have opens no case");

    // The log on the worker's phone lists its cases with their stages.
    worker.sync().await.unwrap();
    let cases = worker.cases_from(log.id).unwrap();
    assert_eq!(cases.iter().map(|c| c.record.id).collect::<Vec<_>>(), vec![smoke.id, bikes.id]);
    assert_eq!(cases.iter().map(|c| c.record.status).collect::<Vec<_>>(), vec![Status::Dispatched, Status::Registered]);
    // The officer handles the first; the log shows it.
    officer.sync().await.unwrap();
    officer.case_step(smoke.id, StepAction::Handle, Some("已约谈店主，加装油烟净化器".into()), vec![]).unwrap();
    officer.sync().await.unwrap();
    worker.sync().await.unwrap();
    assert_eq!(worker.cases_from(log.id).unwrap()[0].record.status, Status::Handled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_found_by_its_qr_offline_lists_its_inspections_and_its_public_page_shows_no_operator() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&dir.path().join("server"));
    let officer = logged_in(dir.path(), "officer", &server.url, "officer.kuiwen").await;
    let colleague = logged_in(dir.path(), "colleague", &server.url, "officer.kuiwen2").await;
    let worker = logged_in(dir.path(), "worker", &server.url, "grid.kw01").await;
    let client = reqwest::Client::new();

    // The public page first (a citizen's phone, no sign-in).
    let page = client.get(format!("{}/public/stalls/KW-XLP-002", server.url)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = page.text().await.unwrap();
    let full = officer.stall_by_qr("KW-XLP-002").unwrap().expect("in the registry");
    let operator = full.operator.clone().expect("officers see the operator");
    assert!(html.contains(&full.name) && html.contains("附近的其他摊点和市场"), "{html}");
    assert!(!html.contains(&operator.phone) && !html.contains(&operator.name), "no personal data on the public page");
    let near = client.get(format!("{}/public/stalls?lat={}&lon={}", server.url, full.lat, full.lon)).send().await.unwrap();
    assert_eq!(near.status(), 200);
    assert!(near.text().await.unwrap().contains("KW-XLP-002"));
    for (path, status) in
        [("/public/stalls/NO-SUCH-1", 404), ("/public/stalls?lat=abc&lon=1", 400), ("/public/stalls?lat=1", 400)]
    {
        let r = client.get(format!("{}{path}", server.url)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{path}");
        assert!(r.text().await.unwrap().contains("<html"), "HTML errors: {path}");
    }

    // No signal on patrol: the officer scans the stall's code.
    server.stop();
    let stall = officer.stall_by_qr(&full.qr).unwrap().expect("found offline");
    assert_eq!(stall, full);
    assert!(officer.stall_by_qr("https://cg.weifang.example/public/stalls/NO-SUCH-1").unwrap().is_none());
    assert!(matches!(officer.stall_by_qr("https://evil.example/x"), Err(Error::Argument(_))));
    // Grid workers see who runs it masked.
    let masked = worker.stall_by_qr(&full.qr).unwrap().unwrap().operator.unwrap();
    assert!(masked.phone.contains("****") && masked.phone != operator.phone, "{masked:?}");
    assert!(officer.stalls_near(stall.lat, stall.lon, 500.0).unwrap().iter().any(|(s, d)| s.code == stall.code && *d < 1.0));

    // An inspection: a notice and a service log linked to the stall, offline.
    let grid = format!("{}-01", stall.community);
    let mut n = notice(&officer, &grid);
    if let RecordBody::Notice(b) = &mut n.body {
        b.stall = Some(stall.code.clone());
    }
    let issued = officer.create(n).unwrap();
    let mut log = service_log(&officer, &grid);
    if let RecordBody::ServiceLog(l) = &mut log.body {
        l.stall = Some(stall.code.clone());
    }
    let visited = officer.create(log).unwrap();
    let mut unknown = notice(&officer, &grid);
    if let RecordBody::Notice(b) = &mut unknown.body {
        b.stall = Some("KW-XLP-999".into());
    }
    assert!(matches!(officer.create(unknown), Err(Error::Invalid(r)) if r.field.as_deref() == Some("stall")));
    let listed: Vec<_> = officer.stall_inspections(&stall.code).unwrap().into_iter().map(|r| r.record.id).collect();
    assert_eq!(listed.len(), 2);
    assert!(listed.contains(&issued.id) && listed.contains(&visited.id));

    // Synced: the colleague's phone lists them too.
    server.restart();
    assert_eq!(officer.sync().await.unwrap().rejected, 0);
    colleague.sync().await.unwrap();
    let theirs: Vec<_> = colleague.stall_inspections(&stall.code).unwrap().into_iter().map(|r| r.record.id).collect();
    assert!(theirs.contains(&issued.id) && theirs.contains(&visited.id), "{theirs:?}");
}
