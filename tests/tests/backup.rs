//! An online backup restored: `gridwork-server backup` while the server serves; the phones
//! go on working; the server is then restored from the backup. A phone that synced after the
//! backup is told its cursor belongs to another history, pushes again what the server lost
//! (records, an edit, a photo) and pulls afresh; a fresh phone then sees every record once.

use gridwork_core::photos::sample::sample_jpeg;
use gridwork_core::protocol::{BodyPatch, RecordPatch, ReportPatch};
use gridwork_core::store::records::RecordQuery;
use gridwork_e2e::*;
use std::collections::HashMap;
use std::process::Command;

fn backup(data: &std::path::Path, to: &std::path::Path) {
    let out = Command::new(server_bin())
        .args(["backup", "--data"])
        .arg(data)
        .arg("--to")
        .arg(to)
        .env("GRIDWORK_LOG", "warn")
        .output()
        .expect("run gridwork-server backup");
    assert!(out.status.success(), "backup: {}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_backup_gets_back_what_it_lost_from_the_phones() {
    if skipped_on_postgres("the SQLite backup command") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let mut server = Server::start(&data);
    let worker = logged_in(dir.path(), "worker", &server.url, "grid.kw01").await;
    let mut before = Vec::new();
    for i in 0..3 {
        before.push(worker.create(report(&worker, KW_GRID, &format!("备份前的上报 {i}"))).unwrap().id);
    }
    worker.sync().await.unwrap();

    // The backup, taken while the server serves.
    let saved = dir.path().join("backup");
    backup(&data, &saved);

    // After it: two more reports (one with a photo), an edit of an old one; all accepted.
    let mut after = Vec::new();
    for i in 0..2 {
        after.push(worker.create(report(&worker, KW_GRID, &format!("备份后的上报 {i}"))).unwrap().id);
    }
    let photo = dir.path().join("IMG_0002.jpg");
    std::fs::write(&photo, sample_jpeg(1200, 900, 90, 3, None)).unwrap();
    let photo_ref = worker.attach_photo(after[0], &photo, None).unwrap();
    let edit = RecordPatch {
        body: Some(BodyPatch::Report(ReportPatch { description: Some("备份后改过的描述".into()), ..Default::default() })),
        ..Default::default()
    };
    worker.update(before[0], edit).unwrap();
    let report = worker.sync().await.unwrap();
    assert_eq!((report.accepted, report.rejected, report.restarted), (4, 0, false), "two reports, the photo, the edit");
    assert_eq!(worker.photo_queue().unwrap().0, 0);

    // Restore: stop, put the backup in place, start on the same port.
    server.stop();
    let lost = dir.path().join("lost");
    std::fs::rename(&data, &lost).unwrap();
    std::fs::rename(&saved, &data).unwrap();
    server.restart();
    let admin = logged_in(dir.path(), "admin-early", &server.url, "admin").await;
    admin.sync().await.unwrap();
    let has = |d: &gridwork_core::Device, id: &uuid::Uuid| d.get(*id).unwrap().is_some();
    let state: Vec<(bool, bool)> = before.iter().zip(&after).map(|(b, a)| (has(&admin, b), has(&admin, a))).collect();
    assert!(before.iter().all(|id| has(&admin, id)) && after.iter().all(|id| !has(&admin, id)), "the backup's state: {state:?}");

    // The phone's next sync: told, it pushes again what was lost.
    let report = worker.sync().await.unwrap();
    assert!(report.restarted, "{report:?}");
    assert_eq!((report.accepted, report.rejected), (4, 0), "{:?}", worker.rejected().unwrap());
    assert_eq!(worker.pending_count().unwrap(), 0);
    assert_eq!(worker.photo_queue().unwrap().0, 0, "the photo went again");
    let again = worker.sync().await.unwrap();
    assert!(!again.restarted && again.pushed == 0, "once: {again:?}");

    // A fresh phone sees every record once, the edit and the photo included.
    let fresh = logged_in(dir.path(), "admin", &server.url, "admin").await;
    fresh.sync().await.unwrap();
    let all = fresh.list(&RecordQuery { limit: Some(100_000), ..Default::default() }).unwrap();
    let mut count: HashMap<_, usize> = HashMap::new();
    for r in &all {
        *count.entry(r.record.id).or_default() += 1;
    }
    assert!(count.values().all(|n| *n == 1), "no record twice");
    for id in before.iter().chain(&after) {
        assert_eq!(count.get(id), Some(&1), "{id} is back, once");
    }
    let server_records = {
        let db = rusqlite::Connection::open(data.join("gridwork.db")).unwrap();
        db.query_row("SELECT COUNT(*) FROM records", [], |r| r.get::<_, i64>(0)).unwrap() as usize
    };
    assert_eq!(all.len(), server_records, "the fresh admin phone holds exactly the server's records");
    let edited = fresh.get(before[0]).unwrap().expect("the edited report").record.record;
    assert!(matches!(edited.body, gridwork_core::model::RecordBody::Report(r) if r.description == "备份后改过的描述"));
    assert!(data.join("blobs").join("photos").join(&photo_ref.sha256[..2]).join(&photo_ref.sha256).is_file(), "photo file back");
    // A phone that pulled the restored state before the re-push gets what came back, once.
    let early = admin.sync().await.unwrap();
    assert_eq!(early.rejected, 0);
    assert!(after.iter().all(|id| has(&admin, id)));
    assert_eq!(admin.list(&RecordQuery { limit: Some(100_000), ..Default::default() }).unwrap().len(), all.len());
}
