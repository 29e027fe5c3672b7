//! Signing in and out. The data on a device belongs to one account (it survives a
//! logout): another account may sign in only when nothing of the owner waits to be sent or
//! looked at, and then starts clean; the same account with a changed scope pulls afresh.

use crate::context::DeviceContext;
use crate::error::{Error, Result};
use crate::protocol::LoginRequest;
use crate::reference::UserInfo;
use crate::store::meta::{self, StoredSession};
use crate::store::{self, outbox, photos};

/// What a sign-in does to the data already on the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reset {
    /// Another account: wipe the previous one's records, changes and photos.
    Wipe,
    /// The same account with another role or scope: pull everything again.
    RestartPull,
}

/// Sign in online; the token is bound to this device. Fetches the reference data.
pub async fn login(ctx: &DeviceContext, username: &str, password: &str) -> Result<UserInfo> {
    if username.trim().is_empty() || password.is_empty() {
        return Err(Error::Argument("用户名和密码不能为空 (username, password)".into()));
    }
    let req = LoginRequest {
        username: username.trim().to_owned(),
        password: password.to_owned(),
        device_id: ctx.device_id,
        device_name: None,
    };
    let (resp, _) = match ctx.transport.login(&req).await {
        Err(Error::Server { status: 401, .. }) => return Err(Error::InvalidCredentials),
        other => other?,
    };
    let (owner, waiting) = ctx
        .store
        .read_async(|c| {
            let owner = meta::get_json::<UserInfo>(c, meta::DATA_OWNER)?
                .or(meta::get_json::<StoredSession>(c, meta::SESSION)?.map(|s| s.user));
            let waiting = outbox::pending_count(c)? + photos::queue_size(c)?.0 + outbox::rejected(c)?.len() as u64;
            Ok((owner, waiting))
        })
        .await?;
    let new = &resp.user;
    let reset = match &owner {
        Some(o) if o.id != new.id => {
            if waiting > 0 {
                let device_id = ctx.device_id.to_string();
                let _ = ctx.transport.logout(crate::transport::Auth { token: &resp.token, device_id: &device_id }).await;
                return Err(Error::OtherUsersData);
            }
            Some(Reset::Wipe)
        }
        Some(o) if o.role != new.role || o.scope != new.scope => Some(Reset::RestartPull),
        _ => None,
    };
    ctx.clock.observe(&resp.server_hlc);
    let session = StoredSession { token: resp.token, user: resp.user.clone() };
    let stored = session.clone();
    ctx.store
        .write_async(move |tx| {
            match reset {
                Some(Reset::Wipe) => store::wipe_user_data(tx)?,
                Some(Reset::RestartPull) => store::restart_pull(tx)?,
                None => {}
            }
            meta::set_json(tx, meta::DATA_OWNER, &stored.user)?;
            meta::set_json(tx, meta::SESSION, &stored)
        })
        .await?;
    if reset == Some(Reset::Wipe) {
        let files = ctx.photo_files.clone();
        tokio::task::spawn_blocking(move || files.clear()).await.map_err(|e| Error::Io(format!("worker: {e}")))??;
    }
    ctx.set_session(Some(session.clone()));
    let device_id = ctx.device_id.to_string();
    let (data, _) = ctx.transport.reference(ctx.auth(&session, &device_id)).await?;
    ctx.set_reference(data).await?;
    // An officer leaves signed in with notice numbers, so the first notice can be offline.
    crate::numbers::take_up(ctx).await?;
    Ok(resp.user)
}

/// Sign out: the server revokes the token (if reachable) and the device forgets it.
/// Records and pending changes stay on the device.
pub async fn logout(ctx: &DeviceContext) -> Result<()> {
    let Some(session) = ctx.session() else { return Ok(()) };
    let device_id = ctx.device_id.to_string();
    // Unused notice numbers go back first (offline they stay here, and the server gives
    // them up when another account signs in on this device).
    let given = crate::numbers::give_back(ctx).await;
    let remote = ctx.transport.logout(ctx.auth(&session, &device_id)).await;
    ctx.store.write_async(|tx| meta::delete(tx, meta::SESSION)).await?;
    ctx.set_session(None);
    match (remote, given) {
        (Ok(_) | Err(Error::Unauthorized), Ok(()) | Err(Error::Unauthorized)) => Ok(()),
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}
