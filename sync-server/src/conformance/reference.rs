//! The org tree and the category table, and the revision that tells changes apart.

use super::{reference, user};
use crate::storage::Stores;
use gridwork_core::fixtures;
use gridwork_core::model::Role;

pub async fn reference_roundtrip_and_revision(s: Stores) {
    let rev0 = s.reference.reference_revision().await.expect("rev");
    let mut orgs = s.reference.orgs().await.expect("orgs");
    orgs.sort_by(|a, b| a.code.cmp(&b.code));
    let mut want = reference().orgs;
    want.sort_by(|a, b| a.code.cmp(&b.code));
    assert_eq!(orgs, want);
    assert_eq!(s.reference.categories().await.expect("categories").len(), reference().categories.len());
    let mut renamed = want[0].clone();
    renamed.name = "改名".into();
    s.reference.put_orgs(vec![renamed.clone()]).await.expect("put");
    assert!(s.reference.orgs().await.expect("orgs").contains(&renamed));
    assert_eq!(s.reference.orgs().await.expect("orgs").len(), want.len(), "upsert, not duplicate");
    let rev1 = s.reference.reference_revision().await.expect("rev");
    assert_ne!(rev0, rev1);
    s.accounts.insert_user(user("u1", "a", Role::Admin, fixtures::CITY)).await.expect("insert");
    assert_ne!(s.reference.reference_revision().await.expect("rev"), rev1, "users are reference data too");
}

pub async fn stalls_roundtrip_and_bump_the_revision(s: Stores) {
    use gridwork_core::stalls::{Operator, Stall, Trade};
    assert!(s.reference.stalls().await.expect("stalls").is_empty(), "none until put");
    let rev0 = s.reference.reference_revision().await.expect("rev");
    let stall = |code: &str, operator| Stall {
        code: code.into(),
        trade: Trade::ShoeRepair,
        name: "胜利东街社区东门小蓝棚".into(),
        community: gridwork_core::fixtures::COMMUNITY.into(),
        address: "胜利东街88号".into(),
        lat: 36.7069,
        lon: 119.1617,
        qr: format!("https://x/public/stalls/{code}"),
        hours: "08:00-18:00".into(),
        operator,
    };
    let first = vec![
        stall("KW-XLP-001", Some(Operator { name: "王建国".into(), phone: "13805361234".into() })),
        stall("KW-BMSC-01", None),
    ];
    s.reference.put_stalls(first.clone()).await.expect("put");
    assert_eq!(s.reference.stalls().await.expect("stalls"), first);
    let rev1 = s.reference.reference_revision().await.expect("rev");
    assert!(rev1 > rev0);
    // A put replaces the registry.
    let second = vec![stall("KW-XLP-002", None)];
    s.reference.put_stalls(second.clone()).await.expect("put");
    assert_eq!(s.reference.stalls().await.expect("stalls"), second);
    assert!(s.reference.reference_revision().await.expect("rev") > rev1);
}
