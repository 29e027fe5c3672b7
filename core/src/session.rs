//! Signing in and out. The data on a device belongs to one account (it survives a
//! logout): another account may sign in only when nothing of the owner waits to be sent or
//! looked at, and then starts clean; the same account with a changed scope pulls afresh.
//!
//! A device signs in with a password ([`login`]) or by scanning the QR code of a one-time
//! enrolment code an admin made (扫码登录, [`enrol`]; the text is
//! `gridwork://enrol?server=<url>&code=<code>`, see [`parse_enrol_link`]). Both end the
//! same way: the session is kept, the reference data fetched, numbers taken up.

use crate::context::DeviceContext;
use crate::error::{Error, Result};
use crate::protocol::{EnrolRequest, LoginRequest, LoginResponse};
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
        device_key: Some(crate::signer::public_key_hex(&*ctx.key_store())?),
    };
    let (resp, _) = match ctx.transport.login(&req).await {
        Err(Error::Server { status: 401, .. }) => return Err(Error::InvalidCredentials),
        other => other?,
    };
    sign_in(ctx, resp).await
}

/// Sign in with the text of an enrolment QR code (扫码登录): the code goes to the server the
/// link names, which must be this device's server; the session is then kept exactly as a
/// login's. Plain `http://` is accepted for a loopback server, or for the server this
/// device was set up with over plain HTTP (the app chose it).
pub async fn enrol(ctx: &DeviceContext, qr_text: &str) -> Result<UserInfo> {
    let base = ctx.transport.base_url();
    let configured_plain = reqwest::Url::parse(base).is_ok_and(|u| u.scheme() == "http");
    let link = parse_enrol_link(qr_text, configured_plain).map_err(Error::EnrolLink)?;
    if !same_server(&link.server, base) {
        return Err(Error::EnrolLink(EnrolLinkError::OtherServer));
    }
    let req = EnrolRequest {
        code: link.code,
        device_id: ctx.device_id,
        device_name: None,
        device_key: Some(crate::signer::public_key_hex(&*ctx.key_store())?),
    };
    let (resp, _) = match ctx.transport.enrol(&req).await {
        Err(Error::Server { status: 401, .. }) => return Err(Error::InvalidEnrolCode),
        other => other?,
    };
    sign_in(ctx, resp).await
}

/// What the server's sign-in answer does on the device (a login's or an enrolment's).
async fn sign_in(ctx: &DeviceContext, resp: LoginResponse) -> Result<UserInfo> {
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

/// The scheme and host of an enrolment QR code's text.
pub const ENROL_LINK_PREFIX: &str = "gridwork://enrol";
/// The longest code a link may carry (a typed code with separators).
const MAX_ENROL_CODE: usize = 64;

/// What an enrolment QR code says: the server to sign in at and the one-time code.
#[derive(Clone, PartialEq, Eq)]
pub struct EnrolLink {
    /// `http(s)://host[:port][/path]`, without a trailing `/`.
    pub server: String,
    pub code: String,
}

impl std::fmt::Debug for EnrolLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrolLink").field("server", &self.server).finish_non_exhaustive()
    }
}

/// Why the text of a scanned QR code cannot be used to enrol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnrolLinkError {
    /// Not a `gridwork://enrol?…` link (another QR code).
    #[error("不是 gridwork 扫码登录二维码 (not an enrolment QR code)")]
    NotEnrolLink,
    /// No `code` in the link, or one that cannot be a code.
    #[error("二维码中没有有效的登录码 (code)")]
    BadCode,
    /// No `server`, or one that is not an `http(s)://` address.
    #[error("二维码中的服务器地址无效 (server)")]
    BadServer,
    /// `http://` to a server that is not on this machine: the code would travel in clear.
    #[error("二维码中的服务器未使用 HTTPS 加密 (server: plain http)")]
    InsecureServer,
    /// The link names another server than the one this device is set up for.
    #[error("二维码中的服务器与本机设置的服务器不同 (server)")]
    OtherServer,
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or("").trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Read the text of an enrolment QR code, `gridwork://enrol?server=<url>&code=<code>`
/// (other parameters are ignored). The server must be `https://`, or `http://` to a loopback
/// address, or any `http://` if `allow_insecure`.
pub fn parse_enrol_link(text: &str, allow_insecure: bool) -> Result<EnrolLink, EnrolLinkError> {
    use EnrolLinkError::*;
    let url = reqwest::Url::parse(text.trim()).map_err(|_| NotEnrolLink)?;
    let path_ok = url.path().is_empty() || url.path() == "/";
    if !url.scheme().eq_ignore_ascii_case("gridwork")
        || !url.host_str().is_some_and(|h| h.eq_ignore_ascii_case("enrol"))
        || !path_ok
    {
        return Err(NotEnrolLink);
    }
    let (mut server, mut code) = (None, None);
    for (k, v) in url.query_pairs() {
        match &*k {
            "server" if server.is_none() => server = Some(v.into_owned()),
            "code" if code.is_none() => code = Some(v.into_owned()),
            _ => {}
        }
    }
    let code = code.map(|c| c.trim().to_owned()).unwrap_or_default();
    if code.is_empty()
        || code.chars().count() > MAX_ENROL_CODE
        || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ' ')
    {
        return Err(BadCode);
    }
    let server = reqwest::Url::parse(server.as_deref().unwrap_or("").trim()).map_err(|_| BadServer)?;
    let plain_ok = allow_insecure || is_loopback(&server);
    match server.scheme() {
        "https" => {}
        "http" if plain_ok => {}
        "http" => return Err(InsecureServer),
        _ => return Err(BadServer),
    }
    if server.host_str().is_none_or(str::is_empty)
        || !server.username().is_empty()
        || server.password().is_some()
        || server.query().is_some()
        || server.fragment().is_some()
    {
        return Err(BadServer);
    }
    Ok(EnrolLink { server: server.as_str().trim_end_matches('/').to_owned(), code })
}

/// Do two server URLs name the same server (scheme, host, port and path, as URLs compare)?
fn same_server(a: &str, b: &str) -> bool {
    match (reqwest::Url::parse(a), reqwest::Url::parse(b)) {
        (Ok(a), Ok(b)) => {
            a.scheme() == b.scheme()
                && a.host_str() == b.host_str()
                && a.port_or_known_default() == b.port_or_known_default()
                && a.path().trim_end_matches('/') == b.path().trim_end_matches('/')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::EnrolLinkError::*;
    use super::*;

    const CODE: &str = "7K3M9QXRB2C4D6F8G0HJKMNPQRSTVWXY";

    fn link(server: &str) -> String {
        format!("gridwork://enrol?server={server}&code={CODE}")
    }

    #[test]
    fn an_enrolment_link_gives_its_server_and_code() {
        let l = parse_enrol_link(&link("https%3A%2F%2Fgw.example.cn%2F"), false).expect("link");
        assert_eq!(l, EnrolLink { server: "https://gw.example.cn".into(), code: CODE.into() });
        // Unencoded, with a port, a path, other parameters and blanks around.
        let l = parse_enrol_link(&format!("  {}&v=2\n", link("https://gw.example.cn:8443/gw/")), false).expect("link");
        assert_eq!(l.server, "https://gw.example.cn:8443/gw");
        assert_eq!(l.code, CODE);
        // Grouped as typed.
        let l = parse_enrol_link("gridwork://enrol?code=7K3M-9QXR&server=https://gw.example.cn", false).expect("link");
        assert_eq!(l.code, "7K3M-9QXR");
        assert!(!format!("{l:?}").contains("7K3M"), "the code is not in Debug output");
    }

    #[test]
    fn other_texts_are_typed_errors() {
        let e = |text: &str| parse_enrol_link(text, false).expect_err(text);
        assert_eq!(e("https://gw.example.cn/public/stalls/KW-XLP-007"), NotEnrolLink);
        assert_eq!(e("KW-XLP-007"), NotEnrolLink);
        assert_eq!(e(""), NotEnrolLink);
        assert_eq!(e(&format!("gridwork://login?server=https://x&code={CODE}")), NotEnrolLink);
        assert_eq!(e(&format!("gridwork://enrol/other?server=https://x&code={CODE}")), NotEnrolLink);
        assert_eq!(e(&format!("other://enrol?server=https://x&code={CODE}")), NotEnrolLink);
        assert_eq!(e("gridwork://enrol?server=https://gw.example.cn"), BadCode);
        assert_eq!(e("gridwork://enrol?server=https://gw.example.cn&code="), BadCode);
        assert_eq!(e("gridwork://enrol?server=https://gw.example.cn&code=a%27b"), BadCode);
        assert_eq!(e(&format!("gridwork://enrol?server=https://gw.example.cn&code={}", "A".repeat(65))), BadCode);
        assert_eq!(e(&format!("gridwork://enrol?code={CODE}")), BadServer);
        assert_eq!(e(&link("gw.example.cn")), BadServer);
        assert_eq!(e(&link("ftp://gw.example.cn")), BadServer);
        assert_eq!(e(&link("https://user:pw@gw.example.cn")), BadServer);
        assert_eq!(e(&link("javascript:alert(1)")), BadServer);
    }

    #[test]
    fn plain_http_only_to_loopback_unless_allowed() {
        for ok in ["http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080", "http://127.1.2.3"] {
            assert_eq!(parse_enrol_link(&link(ok), false).expect(ok).server, ok);
        }
        assert_eq!(parse_enrol_link(&link("http://10.0.0.5:8080"), false), Err(InsecureServer));
        assert_eq!(parse_enrol_link(&link("http://gw.example.cn"), false), Err(InsecureServer));
        assert_eq!(parse_enrol_link(&link("http://localhost.evil.example"), false), Err(InsecureServer));
        assert_eq!(parse_enrol_link(&link("http://10.0.0.5:8080"), true).expect("allowed").server, "http://10.0.0.5:8080");
    }

    #[test]
    fn servers_compare_as_urls() {
        assert!(same_server("https://gw.example.cn", "https://GW.example.cn/"));
        assert!(same_server("https://gw.example.cn:443/gw/", "https://gw.example.cn/gw"));
        assert!(!same_server("https://gw.example.cn", "http://gw.example.cn"));
        assert!(!same_server("https://gw.example.cn", "https://gw.example.cn:8443"));
        assert!(!same_server("https://gw.example.cn/a", "https://gw.example.cn/b"));
    }
}
