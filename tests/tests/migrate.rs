//! A SQLite deployment moved to PostgreSQL with `gridwork-server migrate`: the phones that
//! synced before carry on afterwards with the same session and cursor (no sign-in, no
//! restart, nothing pushed twice), a fresh phone pulls every record once, photos still
//! load, and the audit trail still verifies. A second migrate into the filled database is
//! refused and changes nothing.

use gridwork_core::photos::sample::sample_jpeg;
use gridwork_core::store::records::RecordQuery;
use gridwork_e2e::*;
use std::collections::HashSet;

fn migrate(server: &Server, url: &str) -> std::process::Output {
    std::process::Command::new(server_bin())
        .args(["migrate", "--data"])
        .arg(server.data_dir())
        .env("GRIDWORK_DATABASE", url)
        .env("GRIDWORK_LOG", "warn")
        .output()
        .expect("run gridwork-server migrate")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_deployment_moves_to_postgres_and_the_phones_carry_on() {
    if skipped_on_postgres("moving a SQLite deployment") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_on_sqlite(&dir.path().join("server"));
    let worker = logged_in(dir.path(), "worker", &server.url, "grid.kw01").await;
    let officer = logged_in(dir.path(), "officer", &server.url, "officer.kuiwen").await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(worker.create(report(&worker, KW_GRID, &format!("迁移前的上报 {i}"))).unwrap().id);
    }
    let photo = dir.path().join("IMG_0001.jpg");
    std::fs::write(&photo, sample_jpeg(1200, 900, 90, 5, None)).unwrap();
    let photo_ref = worker.attach_photo(ids[0], &photo, None).unwrap();
    worker.sync().await.unwrap();
    take_numbers(&server.url, &officer, 5).await;
    ids.push(officer.create(notice(&officer, KW_GRID)).unwrap().id);
    let pushed = officer.sync().await.unwrap();
    assert_eq!(pushed.rejected, 0, "{:?}", officer.rejected().unwrap());
    assert_eq!(worker.photo_queue().unwrap().0, 0);
    server.stop();

    let url = gridwork_server::storage::postgres::testing::cluster().fresh_database().await;
    let out = migrate(&server, &url);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "migrate: {}{}", stdout, String::from_utf8_lossy(&out.stderr));
    // The demo city's records and the four made here, each table with its count.
    let records: u64 =
        stdout.lines().find_map(|l| l.strip_prefix("records\t")).and_then(|n| n.parse().ok()).expect("records count");
    assert!(records >= 4, "{stdout}");
    assert!(stdout.contains(&format!("已迁移 {records} 条记录")), "{stdout}");
    assert!(!stdout.contains("gridwork-demo"), "no password in the output");

    // Refused a second time: the database is no longer empty.
    let again = migrate(&server, &url);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"), "{}", String::from_utf8_lossy(&again.stderr));

    // The same phones, the same sessions, on the same port: they carry on.
    server.restart_on(Some(url.clone()));
    let first = worker.sync().await.expect("the session is still valid");
    assert_eq!((first.pushed, first.restarted), (0, false), "{first:?}");
    ids.push(worker.create(report(&worker, KW_GRID, "迁移后的上报")).unwrap().id);
    let after = worker.sync().await.unwrap();
    assert_eq!((after.accepted, after.rejected), (1, 0), "{:?}", worker.rejected().unwrap());
    let officer_report = officer.sync().await.unwrap();
    assert!(!officer_report.restarted);
    // The notice numbers carried over: the officer's block is still his.
    ids.push(officer.create(notice(&officer, KW_GRID)).unwrap().id);
    let after = officer.sync().await.unwrap();
    assert_eq!((after.accepted, after.rejected), (1, 0), "{:?}", officer.rejected().unwrap());

    // A fresh phone of the admin pulls every record once, with the photo.
    let admin = logged_in(dir.path(), "admin", &server.url, "admin").await;
    admin.sync().await.unwrap();
    let seen: Vec<uuid::Uuid> = admin.list(&RecordQuery::default()).unwrap().into_iter().map(|r| r.record.id).collect();
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no record twice");
    for id in &ids {
        assert!(unique.contains(id), "{id} is on the fresh phone");
    }
    let file = admin.fetch_photo(&photo_ref.sha256, false).await.expect("the photo loads after the move");
    assert_eq!(std::fs::read(file).unwrap().len() as u64, photo_ref.bytes);

    // The audit trail moved link for link.
    server.stop();
    let out = server.command(&["audit", "verify"]).env("GRIDWORK_DATABASE", &url).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("审计记录完整"));
}
