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
