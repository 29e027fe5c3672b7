//! Ad-hoc throughput check (ignored by default):
//! `cargo test --release -p gridwork-server --test perf -- --ignored --nocapture`

use gridwork_core::fixtures;
use gridwork_core::hlc::Hlc;
use gridwork_core::model::Role;
use gridwork_core::protocol::{Op, Outcome, PullQuery};
use gridwork_server::AppState;
use gridwork_server::domain::access::Caller;
use std::time::Instant;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn push_and_pull_10k() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = AppState::sqlite_for_tests(dir.path()).await;
    let data = fixtures::reference_data();
    state.stores().reference.put_orgs(data.orgs).await.expect("orgs");
    state.stores().reference.put_categories(data.categories).await.expect("categories");
    state.reference().reload().await.expect("reload");
    let sync = state.sync();
    let caller = Caller {
        user_id: "u1".into(),
        device_id: Uuid::now_v7().to_string(),
        role: Role::GridWorker,
        scope: fixtures::GRID.into(),
    };
    let template = fixtures::records();
    let ops: Vec<Op> = (0..10_000u64)
        .map(|i| {
            let mut r = template[(i % 3) as usize].clone();
            if r.kind() == gridwork_core::model::RecordKind::Notice {
                r = template[0].clone();
            }
            r.id = Uuid::now_v7();
            fixtures::create_op(r, Hlc::new(1_700_000_000_000 + i, 0, "dev1"))
        })
        .collect();

    let t = Instant::now();
    for chunk in ops.chunks(1000) {
        let resp = sync.push(&caller, chunk.to_vec()).await.expect("push");
        assert!(resp.results.iter().all(|r| r.outcome == Outcome::Accepted));
    }
    let push_time = t.elapsed();

    let t = Instant::now();
    let mut since = 0;
    let mut n = 0;
    loop {
        let page = sync
            .pull(&caller, PullQuery { since, limit: Some(1000), epoch: None, pending: None, own_digests: None })
            .await
            .expect("pull");
        n += page.records.len();
        since = page.next;
        if !page.has_more {
            break;
        }
    }
    let pull_time = t.elapsed();
    assert_eq!(n, 10_000);

    // Retrying everything: each op id answered from applied_ops.
    let t = Instant::now();
    for chunk in ops.chunks(1000) {
        sync.push(&caller, chunk.to_vec()).await.expect("push");
    }
    let retry_time = t.elapsed();
    // A pull when nothing changed.
    let t = Instant::now();
    for _ in 0..1000 {
        let page = sync
            .pull(&caller, PullQuery { since, limit: None, epoch: None, pending: None, own_digests: None })
            .await
            .expect("pull");
        assert!(page.records.is_empty());
    }
    let idle = t.elapsed();
    println!("push 10000 ops in batches of 1000: {push_time:?}");
    println!("pull 10000 records in pages of 1000: {pull_time:?}");
    println!("retry 10000 already-applied ops: {retry_time:?}");
    println!("1000 empty pulls: {idle:?}");
}
