//! The sync never blocks the thread that polls it. Through the bindings, an app's own
//! executor (Android's main dispatcher, a Swift `@MainActor` task) may poll `sync_now()`:
//! the store's work (SQLCipher, fsync, JSON) must run elsewhere. Here a single-threaded
//! executor pulls 10,000 records while a 1 ms ticker runs beside it on the same thread.

use gridwork_core::protocol::{Op, Outcome, PushRequest, PushResponse, paths};
use gridwork_e2e::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const RECORDS: usize = 10_000;
const MAX_STALL: Duration = Duration::from_millis(50);

/// Put `RECORDS` reports into the server with raw pushes of 1,000 ops (fast to seed).
async fn seed(server: &Server, dir: &std::path::Path) {
    let officer = logged_in(dir, "seeder", &server.url, "officer.kuiwen").await;
    let session = officer.context().session().expect("session");
    let http = reqwest::Client::new();
    for batch in 0..RECORDS / 1000 {
        let ops: Vec<Op> = (0..1000)
            .map(|i| {
                let draft = report(&officer, KW_GRID, &format!("第{}条：路边暴露垃圾", batch * 1000 + i));
                gridwork_core::fixtures::create_op(
                    gridwork_core::model::Record {
                        id: uuid::Uuid::now_v7(),
                        author: String::new(),
                        device: String::new(),
                        org: draft.org,
                        created_at: chrono::Utc::now(),
                        updated_at: chrono::Utc::now(),
                        updated_by: String::new(),
                        location: draft.location,
                        status: gridwork_core::model::Status::Submitted,
                        body: draft.body,
                        seq: None,
                    },
                    officer.context().clock.tick(),
                )
            })
            .collect();
        let keys = officer.context().key_store();
        let device_id = officer.device_id().to_string();
        let sigs = ops.iter().map(|op| gridwork_core::signer::sign_op(&*keys, &device_id, op).expect("sign")).collect();
        let resp = http
            .post(format!("{}{}", server.url, paths::PUSH))
            .bearer_auth(&session.token)
            .header(paths_device_header(), officer.device_id().to_string())
            .json(&PushRequest { ops, sigs })
            .send()
            .await
            .expect("push");
        assert_eq!(resp.status(), 200);
        let pushed: PushResponse = resp.json().await.expect("push body");
        assert!(pushed.results.iter().all(|r| r.outcome == Outcome::Accepted));
    }
}

fn paths_device_header() -> &'static str {
    gridwork_core::protocol::DEVICE_HEADER
}

#[test]
fn a_sync_of_10000_records_never_stalls_the_executor_that_polls_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(seed(&server, dir.path()));

    // The app's thread: one executor, the sync and a ticker on it.
    let single = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (pulled, worst, ticks, longest_poll) = single.block_on(async {
        let device = logged_in(dir.path(), "phone", &server.url, "admin").await;
        let done = Arc::new(AtomicBool::new(false));
        let ticker = {
            let done = done.clone();
            tokio::spawn(async move {
                let (mut worst, mut ticks, mut last) = (Duration::ZERO, 0u64, Instant::now());
                while !done.load(Ordering::Acquire) {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    let now = Instant::now();
                    worst = worst.max(now - last);
                    last = now;
                    ticks += 1;
                }
                (worst, ticks)
            })
        };
        let longest_poll = Arc::new(std::sync::Mutex::new(Duration::ZERO));
        let report = PollTimer { inner: Box::pin(device.sync()), longest: longest_poll.clone() }.await.expect("sync");
        done.store(true, Ordering::Release);
        let (worst, ticks) = ticker.await.expect("ticker");
        let longest_poll = *longest_poll.lock().unwrap_or_else(|p| p.into_inner());
        (report.pulled, worst, ticks, longest_poll)
    });
    assert!(pulled >= RECORDS as u64, "pulled {pulled}");
    assert!(ticks > 10, "the ticker ran alongside the sync ({ticks} ticks)");
    println!(
        "pulled {pulled} records; longest gap between 1 ms ticks {worst:?} over {ticks} ticks; longest poll of the sync {longest_poll:?}"
    );
    // The work the sync itself does on the polling thread, and what the app sees of it.
    assert!(longest_poll < MAX_STALL, "one poll of the sync took {longest_poll:?} (aim: under {MAX_STALL:?})");
    assert!(worst < MAX_STALL, "the polling thread stalled for {worst:?} (aim: under {MAX_STALL:?})");
}

/// Times each poll of the inner future: the work it does on the polling thread.
struct PollTimer<F> {
    inner: std::pin::Pin<Box<F>>,
    longest: Arc<std::sync::Mutex<Duration>>,
}

impl<F: std::future::Future> std::future::Future for PollTimer<F> {
    type Output = F::Output;
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<F::Output> {
        let t = Instant::now();
        let out = self.inner.as_mut().poll(cx);
        let took = t.elapsed();
        let mut l = self.longest.lock().unwrap_or_else(|p| p.into_inner());
        *l = (*l).max(took);
        out
    }
}
