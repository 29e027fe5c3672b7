//! Two server processes on one PostgreSQL database and one S3-compatible store (s3s-fs),
//! behind one address: a proxy sends each connection to either server at random (no
//! sticky sessions) and drops, cuts, resets, delays, duplicates and replays some, so that
//! devices switch servers mid-push, mid-pull and mid-upload. Nothing is lost or doubled,
//! every device ends with what the servers hold, an upload started on one server resumes
//! on the other, one server's clock running behind changes no order, and the deadline job
//! runs in one process at a time.
//!
//! Always on PostgreSQL (SQLite cannot be shared by two processes): the test cluster is
//! the one the other suites use (`GRIDWORK_TEST_POSTGRES`, else started here). It runs in
//! the default pass of the suite; the pass with `GRIDWORK_TEST_BACKEND=postgres` skips it
//! (it would run the same thing again).

use gridwork_core::Device;
use gridwork_core::model::{PhotoStage, Record, RecordBody};
use gridwork_core::photos::sample::{SampleExif, sample_jpeg};
use gridwork_core::protocol::{BodyPatch, RecordPatch, ReportPatch};
use gridwork_core::store::records::RecordQuery;
use gridwork_e2e::faults::{FaultProxy, Rng};
use gridwork_e2e::proxy::Proxy;
use gridwork_e2e::*;
use gridwork_server::blobs::conformance::{S3_ACCESS_KEY, S3_SECRET_KEY, S3sFs};
use gridwork_server::storage::leases::LeaseStore;
use gridwork_server::storage::postgres::PgStorage;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;
use uuid::Uuid;

const TAG: &str = "双实例";

struct Shared {
    db: String,
    s3: S3sFs,
}

impl Shared {
    fn server(&self, data: &Path, sub: &str) -> Server {
        let args = ["--blob-store", "s3", "--s3-endpoint", &self.s3.endpoint, "--s3-bucket", &self.s3.bucket];
        let envs = [("GRIDWORK_S3_ACCESS_KEY", S3_ACCESS_KEY), ("GRIDWORK_S3_SECRET_KEY", S3_SECRET_KEY)];
        Server::start_custom(data, sub, Some(self.db.clone()), &args, &envs)
    }

    /// Files staged for unfinished uploads in the shared store.
    fn staged(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut stack = vec![self.s3.bucket_dir().join("staging")];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                if e.path().is_dir() { stack.push(e.path()) } else { out.push(e.path()) }
            }
        }
        out
    }
}

/// True (after saying so) in the suite's PostgreSQL pass: these tests are on PostgreSQL in
/// every pass, and ran already.
fn once_only() -> bool {
    if on_postgres() {
        eprintln!("skipped in the PostgreSQL pass: the two-server tests always run on PostgreSQL, in the default pass");
    }
    on_postgres()
}

async fn shared() -> Shared {
    let db = gridwork_server::storage::postgres::testing::cluster().fresh_database().await;
    Shared { db, s3: S3sFs::start() }
}

fn text_of(r: &Record) -> Option<&str> {
    match &r.body {
        RecordBody::Report(x) => Some(&x.description),
        _ => None,
    }
}

fn photos_of(r: &Record) -> Vec<String> {
    match &r.body {
        RecordBody::Report(x) => x.photos.iter().map(|p| p.sha256.clone()).collect(),
        _ => vec![],
    }
}

/// Sign in through the flaky link (a replayed sign-in ends the token: sign in again).
async fn login(d: &Device, user: &str) {
    for _ in 0..80 {
        if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(20), d.login(user, PASSWORD)).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{user} could not sign in through the flaky link");
}

/// Sync until nothing is left to send, whatever the link does meanwhile; how many syncs
/// failed on the way.
async fn sync_until_done(d: &Device, user: &str) -> u32 {
    let mut failed = 0;
    for _ in 0..200 {
        match tokio::time::timeout(Duration::from_secs(30), d.sync()).await {
            Ok(Ok(_)) if d.pending_count().unwrap() == 0 && d.photo_queue().unwrap().0 == 0 => return failed,
            Ok(Ok(_)) => {}
            Ok(Err(gridwork_core::Error::Unauthorized)) => {
                failed += 1;
                login(d, user).await;
            }
            _ => failed += 1,
        }
    }
    panic!("{user}: still pending after 200 syncs");
}

/// What one phone made, as it last left it.
#[derive(Default)]
struct Made {
    texts: BTreeMap<Uuid, String>,
    photos: HashMap<Uuid, Vec<String>>,
}

/// One phone's day: a few rounds of reports (every other with a photo large enough to
/// be cut mid-upload), an edit of an earlier one, and a sync through the flaky link.
async fn phone_day(dir: PathBuf, url: String, user: &'static str, grid: &'static str, seed: u64) -> (Device, Made, u32) {
    let d = device(&dir, user, &url);
    login(&d, user).await;
    let mut made = Made::default();
    let mut rng = Rng::new(seed);
    let mut failed = 0;
    for round in 0..4u32 {
        for i in 0..5u32 {
            let text = format!("{TAG} {user} 第{round}轮 第{i}件");
            let r = d.create(report(&d, grid, &text)).expect("create");
            made.texts.insert(r.id, text);
            if i % 2 == 0 {
                let file = dir.join(format!("{user}-{round}-{i}.jpg"));
                let seed = u32::try_from(seed % 1000).unwrap_or(0) * 100 + round * 10 + i;
                std::fs::write(&file, sample_jpeg(3000, 2000, 92, seed, Some(&SampleExif::default()))).expect("photo");
                let p = d.attach_photo(r.id, &file, Some(PhotoStage::Before)).expect("attach");
                made.photos.entry(r.id).or_default().push(p.sha256);
            }
        }
        // An edit of a record made earlier (pushed already, or not yet).
        let ids: Vec<Uuid> = made.texts.keys().copied().collect();
        let id = ids[rng.below(ids.len() as u64) as usize];
        let text = format!("{TAG} {user} 第{round}轮 改过 {}", rng.below(1000));
        let body = ReportPatch { description: Some(text.clone()), ..Default::default() };
        let patch = RecordPatch { body: Some(BodyPatch::Report(body)), ..Default::default() };
        d.update(id, patch).expect("edit");
        made.texts.insert(id, text);
        failed += sync_until_done(&d, user).await;
    }
    (d, made, failed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_behind_one_address_lose_and_double_nothing() {
    if once_only() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let shared = shared().await;
    let mut a = shared.server(&dir.path().join("a"), "demo");
    let mut b = shared.server(&dir.path().join("b"), "serve");
    // Server b's clock runs two minutes behind a's: its stamps must still order after
    // what a accepted (the clock moves past what it reads).
    b.set_clock_offset(-120);
    let proxy = FaultProxy::start_over(vec![a.addr, b.addr], 0x1257, 30).await;

    // A sign-in on one server is valid on the other: every later request may go to either.
    let phones = [("grid.kw01", KW_GRID, 11u64), ("grid.wc01", WC_GRID, 12), ("grid.kw02", "370705002003-01", 13)];
    let days = phones.iter().map(|&(user, grid, seed)| {
        let (dir, url) = (dir.path().to_path_buf(), proxy.url.clone());
        tokio::spawn(phone_day(dir, url, user, grid, seed))
    });
    let mut devices = Vec::new();
    let mut made = Made::default();
    let mut failed = 0;
    for day in days {
        let (d, m, f) = day.await.expect("phone");
        made.texts.extend(m.texts);
        made.photos.extend(m.photos);
        failed += f;
        devices.push(d);
    }
    eprintln!("{}; {failed} syncs failed on the way", proxy.counts().summary());
    assert!(failed > 0, "the link must have failed some syncs, or this proves nothing");

    // One last clean sync of every phone, then an admin on each server reads everything.
    proxy.set_rate(0);
    for (d, (user, ..)) in devices.iter().zip(phones) {
        sync_until_done(d, user).await;
    }
    let query = RecordQuery { limit: Some(5000), ..Default::default() };
    let mut views = Vec::new();
    for (name, server) in [("admin-a", &a), ("admin-b", &b)] {
        let admin = logged_in(dir.path(), name, &server.url, "admin").await;
        admin.sync().await.expect("admin sync");
        let mine: BTreeMap<Uuid, Record> = admin
            .list(&query)
            .expect("list")
            .into_iter()
            .map(|l| (l.record.id, l.record))
            .filter(|(_, r)| text_of(r).is_some_and(|t| t.starts_with(TAG)))
            .collect();
        views.push((name, admin, mine));
    }
    let (_, _, on_server) = &views[0];
    let mut problems = Vec::new();
    if on_server.len() != made.texts.len() {
        problems.push(format!("{} records on the servers for {} made", on_server.len(), made.texts.len()));
    }
    for (id, text) in &made.texts {
        match on_server.get(id) {
            None => problems.push(format!("record {id} ({text}) is lost")),
            Some(r) if text_of(r) != Some(text) => problems.push(format!("record {id}: {:?}, last edit {text:?}", text_of(r))),
            Some(_) => {}
        }
    }
    for (id, shas) in &made.photos {
        let listed = on_server.get(id).map(photos_of).unwrap_or_default();
        if &listed != shas {
            problems.push(format!("record {id}: photos {listed:?}, expected {shas:?}"));
        }
        for sha in shas {
            // Fetched from both servers: the store is one.
            for (name, viewer, _) in &views {
                match viewer.fetch_photo(sha, false).await {
                    Ok(f) if hex::encode(Sha256::digest(std::fs::read(&f).expect("read"))) == *sha => {}
                    Ok(_) => problems.push(format!("photo {sha} corrupt through {name}")),
                    Err(e) => problems.push(format!("photo {sha} not served through {name}: {e}")),
                }
            }
        }
    }
    // Both servers' pulls give the same records; every phone shows what they hold.
    let (_, _, other) = &views[1];
    if other != on_server {
        problems.push("the admins of the two servers pulled different records".into());
    }
    for d in &devices {
        for (id, r) in on_server {
            if let Some(local) = d.get(*id).expect("get") {
                let l = &local.record.record;
                if text_of(l) != text_of(r) || photos_of(l) != photos_of(r) {
                    problems.push(format!("a phone shows {id} as {:?}, the servers {:?}", text_of(l), text_of(r)));
                }
            }
        }
        for rc in d.rejected().expect("rejected") {
            problems.push(format!("a change was refused: {rc:?}"));
        }
    }
    let staged = shared.staged();
    if !staged.is_empty() {
        problems.push(format!("{} staged upload files left in the store: {staged:?}", staged.len()));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The deadline job: one process holds its lease; when it stops, the other takes over;
    // with both stopped, it is free.
    let probe = PgStorage::open(&shared.db).await.expect("open the database");
    let taken = || probe.take_lease("deadlines", "probe", Duration::from_secs(1));
    assert!(!taken().await.expect("lease"), "a server holds the deadline lease");
    a.stop();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(!taken().await.expect("lease"), "server b holds it (it took it over, or held it all along)");
    b.stop();
    assert!(taken().await.expect("lease"), "both stopped: the lease was given up");
}

/// An upload cut half-way through one server resumes through the other, sending only
/// the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_cut_on_one_server_resumes_on_the_other() {
    if once_only() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let shared = shared().await;
    let a = shared.server(&dir.path().join("a"), "demo");
    let b = shared.server(&dir.path().join("b"), "serve");
    let link = Proxy::start(a.addr).await;
    let worker = device(dir.path(), "worker", &link.url);
    worker.login("grid.kw01", PASSWORD).await.expect("login");
    let r = worker.create(report(&worker, KW_GRID, &format!("{TAG} 断点续传"))).expect("create");
    let file = dir.path().join("big.jpg");
    std::fs::write(&file, gridwork_core::photos::sample::noise_jpeg(2048, 1536, 95, 11)).expect("photo");
    let photo = worker.attach_photo(r.id, &file, None).expect("attach");
    assert!(photo.bytes > 2_000_000, "a photo of several pieces: {} bytes", photo.bytes);
    worker.push().await.expect("push the record");

    let start = link.up();
    link.cut_up_at(start + photo.bytes / 2);
    assert!(worker.upload_photos().await.is_err(), "the link to server a died mid-upload");
    assert_eq!(worker.photo_queue().expect("queue").0, 1);

    // The phone's next connections land on server b (same database, same store).
    link.switch_to(b.addr);
    link.cut_up_at(0);
    // (A request on a connection the switch closed may fail once: the app tries again.)
    let mut uploaded = 0;
    for _ in 0..3 {
        if let Ok(rep) = worker.upload_photos().await {
            uploaded += rep.photos_uploaded;
            break;
        }
    }
    assert_eq!(uploaded, 1, "resumed on b");
    let total = link.up() - start;
    assert!(total as f64 <= photo.bytes as f64 * 1.05, "resumed where a stopped: {total} bytes sent for {}", photo.bytes);
    let admin = logged_in(dir.path(), "admin", &a.url, "admin").await;
    admin.sync().await.expect("admin");
    let got = admin.fetch_photo(&photo.sha256, false).await.expect("served by a");
    assert_eq!(hex::encode(Sha256::digest(std::fs::read(got).expect("read"))), photo.sha256);
    assert!(shared.staged().is_empty(), "nothing staged is left: {:?}", shared.staged());
}
