//! End-to-end photos: device ingest and upload queue against a real server process.

use gridwork_core::Error;
use gridwork_core::model::{PhotoStage, RecordBody};
use gridwork_core::photos::ingest::read_exif;
use gridwork_core::photos::sample::{SampleExif, sample_jpeg};
use gridwork_core::photos::{Network, PhotoPolicy};
use gridwork_e2e::proxy::Proxy;
use gridwork_e2e::*;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

fn write_sample(dir: &Path, name: &str, w: u32, h: u32, seed: u32) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, sample_jpeg(w, h, 92, seed, Some(&SampleExif::default()))).unwrap();
    p
}

fn sha256_of(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

/// A report with three photos, filed offline, reaches the admin; the photos match by hash;
/// GPS is in the record, not in the files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_with_three_photos_reaches_the_admin() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&dir.path().join("server"));
    let worker = logged_in(dir.path(), "worker", &server.url, "grid.kw01").await;
    server.stop();

    let r = worker.create(report(&worker, KW_GRID, "人行道井盖破损")).unwrap();
    let refs: Vec<_> = (0..3)
        .map(|i| {
            let f = write_sample(dir.path(), &format!("IMG_{i}.jpg"), 3000 + i * 100, 2000, i + 1);
            worker.attach_photo(r.id, &f, None).unwrap()
        })
        .collect();
    assert_eq!(worker.photo_queue().unwrap().0, 3);
    server.restart();
    let rep = worker.sync().await.unwrap();
    assert_eq!(rep.photos_uploaded, 3);
    assert_eq!(worker.photo_queue().unwrap(), (0, 0));

    let admin = logged_in(dir.path(), "admin", &server.url, "admin").await;
    admin.sync().await.unwrap();
    let seen = admin.get(r.id).unwrap().unwrap().record.record;
    let RecordBody::Report(body) = &seen.body else { panic!() };
    assert_eq!(body.photos, refs, "photo metadata reached the admin");
    for p in &body.photos {
        assert!(p.lat.is_some() && p.lon.is_some() && p.taken_at.is_some(), "EXIF facts kept in the record");
        assert!(p.width.max(p.height) <= 2048);
        let file = admin.fetch_photo(&p.sha256, false).await.unwrap();
        assert_eq!(sha256_of(&file), p.sha256);
        assert_eq!(std::fs::read(&file).unwrap(), std::fs::read(worker.photo_file(&p.sha256, false).unwrap()).unwrap());
        let facts = read_exif(&std::fs::read(&file).unwrap());
        assert!(facts.lat.is_none() && facts.taken_at.is_none(), "EXIF left in the served file");
        let thumb = admin.fetch_photo(&p.sha256, true).await.unwrap();
        let t = image::load_from_memory(&std::fs::read(&thumb).unwrap()).unwrap();
        assert_eq!(t.width().max(t.height()), 320);
    }
}

/// Records go at once; photos wait for an unmetered network when the policy says so, and
/// until then the admin sees them as still uploading.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_wait_for_wifi_but_the_record_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let officer = logged_in(dir.path(), "officer", &server.url, "officer.kuiwen").await;
    officer.set_photo_policy(PhotoPolicy::UnmeteredOnly).unwrap();
    officer.set_network(Network::Metered);
    let n = officer.create(notice(&officer, KW_GRID)).unwrap();
    let before =
        officer.attach_photo(n.id, &write_sample(dir.path(), "before.jpg", 2400, 1800, 7), Some(PhotoStage::Before)).unwrap();
    let rep = officer.sync().await.unwrap();
    assert_eq!((rep.accepted, rep.photos_uploaded), (2, 0), "create and attach pushed, photo held back");

    let admin = logged_in(dir.path(), "admin", &server.url, "admin").await;
    admin.sync().await.unwrap();
    assert!(admin.get(n.id).unwrap().is_some(), "the notice is visible at once");
    assert!(matches!(admin.fetch_photo(&before.sha256, false).await, Err(Error::PhotoPending)));

    let events = std::sync::Mutex::new(Vec::new());
    let listen = |p: &gridwork_core::events::SyncProgress| events.lock().unwrap().push(p.clone());
    officer.set_network(Network::Unmetered);
    let rep = officer.sync_with(Some(&listen)).await.unwrap();
    assert_eq!(rep.photos_uploaded, 1);
    let events = events.into_inner().unwrap();
    let last_photo = events.iter().rev().find(|p| p.photos_total > 0).expect("photo progress reported");
    assert_eq!((last_photo.photo_bytes_done, last_photo.photo_bytes_total), (before.bytes, before.bytes));
    assert!(events.iter().any(|p| p.current_photo.as_deref() == Some(before.sha256.as_str())));
    let file = admin.fetch_photo(&before.sha256, false).await.unwrap();
    assert_eq!(sha256_of(&file), before.sha256);
}

/// An upload cut at about half resumes where it stopped: the bytes sent in total stay
/// within 5 % of the photo's size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_upload_resumes_without_sending_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let proxy = Proxy::start(server.addr).await;
    let worker = logged_in(dir.path(), "worker", &proxy.url, "grid.kw01").await;
    let r = worker.create(report(&worker, KW_GRID, "围挡破损")).unwrap();
    let file = dir.path().join("big.jpg");
    std::fs::write(&file, gridwork_core::photos::sample::noise_jpeg(2048, 1536, 95, 11)).unwrap();
    let big = worker.attach_photo(r.id, &file, None).unwrap();
    assert!(big.bytes > 2_000_000, "a large photo ({} B)", big.bytes);
    worker.set_network(Network::Metered);
    worker.set_photo_policy(PhotoPolicy::UnmeteredOnly).unwrap();
    worker.sync().await.unwrap(); // the record, not the photo
    worker.set_network(Network::Unmetered);

    let start = proxy.up();
    proxy.cut_up_at(start + big.bytes / 2);
    assert!(worker.sync().await.is_err(), "the link died mid-upload");
    assert_eq!(worker.photo_queue().unwrap().0, 1);
    proxy.cut_up_at(0);
    let rep = worker.sync().await.unwrap();
    assert_eq!(rep.photos_uploaded, 1);
    let total = proxy.up() - start;
    assert!(total as f64 <= big.bytes as f64 * 1.05, "sent {total} B for a {} B photo", big.bytes);

    let admin = logged_in(dir.path(), "admin", &server.url, "admin").await;
    admin.sync().await.unwrap();
    assert_eq!(sha256_of(&admin.fetch_photo(&big.sha256, false).await.unwrap()), big.sha256);
}

/// The same photo on two records (or two devices) is stored and sent once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_photo_goes_up_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let a = logged_in(dir.path(), "officer-a", &server.url, "officer.kuiwen").await;
    let b = logged_in(dir.path(), "officer-b", &server.url, "officer.kuiwen2").await;
    let file = write_sample(dir.path(), "shop.jpg", 2600, 1900, 21);
    let r1 = a.create(report(&a, KW_GRID, "店外乱堆放")).unwrap();
    let r2 = a.create(notice(&a, KW_GRID)).unwrap();
    let p1 = a.attach_photo(r1.id, &file, None).unwrap();
    let p2 = a.attach_photo(r2.id, &file, Some(PhotoStage::Before)).unwrap();
    assert_eq!(p1.sha256, p2.sha256);
    assert_eq!(a.photo_queue().unwrap(), (1, p1.bytes));
    let rep = a.sync().await.unwrap();
    assert_eq!((rep.photos_uploaded, rep.photo_bytes_sent), (1, p1.bytes));

    // Another officer photographs the same file for their own record: nothing is sent.
    let r3 = b.create(report(&b, KW_GRID, "同一处乱堆放")).unwrap();
    b.attach_photo(r3.id, &file, None).unwrap();
    let rep = b.sync().await.unwrap();
    assert_eq!((rep.photos_uploaded, rep.photo_bytes_sent), (1, 0));
}

/// A photo file changed after it was taken in no longer matches its hash: the server
/// refuses it, and the device keeps it, marked, instead of losing it or looping.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_upload_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let worker = logged_in(dir.path(), "worker", &server.url, "grid.kw01").await;
    let r = worker.create(report(&worker, KW_GRID, "广告牌破损")).unwrap();
    let p = worker.attach_photo(r.id, &write_sample(dir.path(), "x.jpg", 1600, 1200, 31), None).unwrap();
    let path = worker.photo_file(&p.sha256, false).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xFF;
    std::fs::write(&path, &bytes).unwrap();

    let rep = worker.sync().await.unwrap();
    assert_eq!(rep.photos_uploaded, 0);
    let status = worker.photo_status(&p.sha256).unwrap().unwrap();
    assert_eq!(status.failed.as_deref(), Some("hash_mismatch"));
    assert!(path.is_file(), "never deleted");
    assert_eq!(worker.photo_queue().unwrap().0, 0, "not retried for ever");
}

/// Nothing is deleted from the phone before the server confirmed it holds the photo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photo_files_are_freed_only_after_the_server_has_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&dir.path().join("server"));
    let worker = logged_in(dir.path(), "worker", &server.url, "grid.kw01").await;
    let r = worker.create(report(&worker, KW_GRID, "路灯不亮")).unwrap();
    let p = worker.attach_photo(r.id, &write_sample(dir.path(), "lamp.jpg", 2000, 1500, 41), None).unwrap();
    server.stop();
    assert!(worker.sync().await.is_err());
    assert_eq!(worker.free_photo_space().unwrap(), 0);
    assert!(worker.photo_file(&p.sha256, false).is_some());
    server.restart();
    worker.sync().await.unwrap();
    assert_eq!(worker.free_photo_space().unwrap(), p.bytes);
    assert!(worker.photo_file(&p.sha256, false).is_none());
    assert!(worker.photo_file(&p.sha256, true).is_some(), "the thumbnail stays for lists");
}

/// Limits: at most 9 photos; unsupported files get a clear error and change nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photo_limits_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let worker = logged_in(dir.path(), "worker", &server.url, "grid.kw01").await;
    let r = worker.create(report(&worker, KW_GRID, "多处乱张贴")).unwrap();
    for i in 0..9 {
        worker.attach_photo(r.id, &write_sample(dir.path(), &format!("p{i}.jpg"), 640, 480, 100 + i), None).unwrap();
    }
    let tenth = worker.attach_photo(r.id, &write_sample(dir.path(), "p9.jpg", 640, 480, 200), None);
    assert!(matches!(tenth, Err(Error::Invalid(ref rej)) if rej.field.as_deref() == Some("photos")), "{tenth:?}");
    let heic = dir.path().join("IMG_0001.HEIC");
    std::fs::write(&heic, b"\0\0\0\x18ftypheic\0\0\0\0mif1heic").unwrap();
    let r2 = worker.create(report(&worker, KW_GRID, "另一处")).unwrap();
    assert!(matches!(worker.attach_photo(r2.id, &heic, None), Err(Error::Photo { code: "photo_unsupported", .. })));
    assert!(worker.get(r2.id).unwrap().unwrap().record.record.body.photos().is_empty());
}
