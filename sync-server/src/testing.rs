//! Helpers for tests that start real server processes or servers in-process (feature
//! `test-support`): a data directory with the Weifang reference data and some accounts.

use crate::bootstrap::ensure_reference;
use crate::service::accounts::NewUser;
use crate::state::AppState;
use std::path::Path;

/// Put the Weifang reference data and `users` (cheaply hashed passwords) into the SQLite
/// store under `data_dir`, and close it again.
pub async fn add_users(data_dir: &Path, users: Vec<NewUser>) {
    let state = AppState::sqlite_for_tests(data_dir).await;
    ensure_reference(state.stores().reference.as_ref()).await.expect("reference data");
    state.reference().reload().await.expect("reload");
    for new in users {
        state.accounts().add_user(new).await.expect("add user");
    }
    state.stores().close().await.expect("close");
}
