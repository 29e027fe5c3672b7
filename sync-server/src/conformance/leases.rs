//! Leases: one holder at a time, renewed by its holder, taken over once run out, given up
//! at release; of many processes taking a free lease at once exactly one gets it.

use crate::storage::Stores;
use std::time::Duration;

pub async fn a_lease_has_one_holder_until_it_runs_out(s: Stores) {
    let (long, short) = (Duration::from_secs(60), Duration::from_millis(300));
    let l = &s.leases;
    assert!(l.take_lease("deadlines", "a", long).await.expect("take"), "free");
    assert!(!l.take_lease("deadlines", "b", long).await.expect("take"), "held by a");
    assert!(l.take_lease("deadlines", "a", short).await.expect("renew"), "a renews (for a short while)");
    assert!(!l.take_lease("deadlines", "b", long).await.expect("take"), "renewed: not run out");
    assert!(l.take_lease("other", "b", long).await.expect("take"), "leases are by name");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(l.take_lease("deadlines", "b", long).await.expect("take"), "run out: b takes over");
    assert!(!l.take_lease("deadlines", "a", long).await.expect("take"), "a lost it");
    l.release_lease("deadlines", "a").await.expect("release by a non-holder");
    assert!(!l.take_lease("deadlines", "a", long).await.expect("take"), "still b's");
    l.release_lease("deadlines", "b").await.expect("release");
    assert!(l.take_lease("deadlines", "a", long).await.expect("take"), "released: free");

    // Many takers of a free lease at once (separate connections where the backend has them).
    let takers = (0..8).map(|i| {
        let l = s.leases.clone();
        tokio::spawn(async move { l.take_lease("race", &format!("p{i}"), long).await.expect("take") })
    });
    let mut won = 0;
    for t in takers {
        won += usize::from(t.await.expect("join"));
    }
    assert_eq!(won, 1, "exactly one holder");
}
