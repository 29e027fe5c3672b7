//! Accounts and sessions: argon2id password hashes, random bearer tokens of which only the
//! SHA-256 is stored (each bound to one device), sign-in, sign-out, revocation and new
//! accounts. Unknown user and wrong password look the same and take the same time; so does
//! a disabled account. An admin lists accounts with their devices, disables and enables
//! them, changes role and scope (their sessions end) and revokes devices.

use crate::domain::DomainError;
use crate::domain::access::{Caller, scope_levels};
use crate::domain::clock::ServerClock;
use crate::service::audit::AuditService;
use crate::service::numbers::NumberService;
use crate::service::reference::ReferenceService;
use crate::storage::numbers::Whose;
use crate::storage::{Account, AccountStore, DeviceSession, SessionRow, User};
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use gridwork_core::model::Role;
use gridwork_core::protocol::{LoginRequest, LoginResponse};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

const MAX_DEVICE_NAME_CHARS: usize = 100;
/// The shortest password a new account may have.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// A session's last-seen time is written at most this often.
pub const LAST_SEEN_EVERY: chrono::Duration = chrono::Duration::minutes(1);
/// Of each account's ended device sessions, the accounts page lists the newest this many.
pub const ENDED_SESSIONS_LISTED: usize = 5;

/// Wrong passwords in a row for a username before sign-in backs off.
pub const FREE_LOGIN_FAILURES: u32 = 5;
/// The longest wait between attempts.
pub const MAX_LOGIN_BACKOFF: chrono::Duration = chrono::Duration::minutes(15);

/// Wrong passwords from one client address (any usernames) before its sign-ins back off:
/// high, as an office's phones share one address behind its NAT.
pub const FREE_ADDRESS_FAILURES: u32 = 30;
/// An address's count of wrong passwords starts again after this long without one.
pub const ADDRESS_FAILURES_FORGOTTEN: chrono::Duration = chrono::Duration::minutes(15);
/// Addresses with wrong passwords remembered at once, at most.
const MAX_ADDRESSES_KEPT: usize = 10_000;

/// How long after the last of `failures` wrong passwords from one address the next sign-in
/// from it waits: nothing up to [`FREE_ADDRESS_FAILURES`], then as [`login_backoff`].
pub fn address_backoff(failures: u32) -> Option<chrono::Duration> {
    login_backoff(failures.checked_sub(FREE_ADDRESS_FAILURES - FREE_LOGIN_FAILURES)?)
}

/// How long after the last of `failures` wrong passwords in a row the next attempt waits:
/// nothing for the first few, then 30 s doubling with each further one, up to 15 minutes.
pub fn login_backoff(failures: u32) -> Option<chrono::Duration> {
    let over = failures.checked_sub(FREE_LOGIN_FAILURES)?;
    let wait = chrono::Duration::seconds(30).checked_mul(1i32 << over.min(10)).unwrap_or(MAX_LOGIN_BACKOFF);
    Some(wait.min(MAX_LOGIN_BACKOFF))
}

/// Password hashing settings, and a hash of a throwaway password made with them so that a
/// login for an unknown username costs the same time as a wrong password.
pub struct Passwords {
    params: Params,
    dummy_hash: String,
}

impl Passwords {
    pub fn new(params: Params) -> Result<Self, DomainError> {
        let mut p = Passwords { params, dummy_hash: String::new() };
        p.dummy_hash = p.hash("gridwork-timing-equaliser")?;
        Ok(p)
    }

    /// argon2id with the crate's recommended defaults (19 MiB, t=2, p=1).
    pub fn production() -> Result<Self, DomainError> {
        Self::new(Params::default())
    }

    /// Cheap settings for tests only: never use for real accounts.
    pub fn insecure_fast_for_tests() -> Self {
        let params = Params::new(Params::MIN_M_COST, Params::MIN_T_COST, 1, None).unwrap_or_default();
        let dummy = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
            .hash_password(b"gridwork-timing-equaliser")
            .map(|h| h.to_string())
            .unwrap_or_default();
        Passwords { params, dummy_hash: dummy }
    }

    fn argon(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// A PHC string with a fresh random salt. CPU-heavy: call from a blocking task.
    pub fn hash(&self, password: &str) -> Result<String, DomainError> {
        self.argon().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(DomainError::internal)
    }

    /// Check `password` against `stored` (None: unknown user; the dummy hash is checked
    /// so the time taken does not tell). CPU-heavy: call from a blocking task.
    pub fn verify(&self, password: &str, stored: Option<&str>) -> bool {
        let ok = self.argon().verify_password(password.as_bytes(), stored.unwrap_or(&self.dummy_hash)).is_ok();
        ok && stored.is_some()
    }
}

/// A new random bearer token (32 bytes, hex).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What is stored for a token: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn plausible_token(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A caller with a live session.
#[derive(Clone, Debug)]
pub struct Session {
    pub caller: Caller,
    pub user: User,
    pub token_hash: String,
    /// The public key (hex) the device registered at sign-in: its pushes must be signed.
    pub device_key: Option<String>,
}

/// A device key given at sign-in must be an Ed25519 public key (64 hex digits).
pub(crate) fn check_device_key(key: Option<&str>) -> Result<(), DomainError> {
    match key.map(gridwork_core::evidence::parse_key) {
        Some(Err(_)) => Err(DomainError::invalid_input("device_key", "device_key: 应为64位十六进制的 Ed25519 公钥")),
        _ => Ok(()),
    }
}

/// A new account as an admin (or the command line) asks for it.
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub scope: String,
    pub password: String,
}

/// One account as the admin's accounts page shows it.
#[derive(Clone, Debug)]
pub struct AccountOverview {
    pub account: Account,
    /// Live sessions, and the newest [`ENDED_SESSIONS_LISTED`] ended ones; newest first.
    pub devices: Vec<DeviceSession>,
    /// Older ended sessions not listed.
    pub ended_not_listed: usize,
}

pub struct AccountsService {
    store: Arc<dyn AccountStore>,
    reference: Arc<ReferenceService>,
    clock: Arc<ServerClock>,
    passwords: Arc<Passwords>,
    audit: Arc<AuditService>,
    numbers: Arc<NumberService>,
    /// When this process last wrote each session's last-seen time (by token hash).
    seen: Mutex<HashMap<String, chrono::DateTime<chrono::Utc>>>,
    /// What this process last wrote of each session's last pull: when, and the count.
    synced: Mutex<HashMap<String, (chrono::DateTime<chrono::Utc>, u64)>>,
    /// Wrong passwords by client address: how many, and when the last was (this process's
    /// memory: a guesser spreading over usernames meets it; each username has its own, stored).
    addresses: Mutex<HashMap<std::net::IpAddr, (u32, chrono::DateTime<chrono::Utc>)>>,
}

/// Is `scope` an org where an account of `role` may be scoped?
fn check_scope(refs: &gridwork_core::reference::RefIndex, role: Role, scope: &str) -> Result<(), DomainError> {
    let org = refs.org(scope).ok_or_else(|| DomainError::invalid_input("scope", "管辖范围不存在 (scope)"))?;
    if !scope_levels(role).contains(&org.level) {
        let allowed: Vec<&str> = scope_levels(role).iter().map(|l| l.as_str()).collect();
        return Err(DomainError::invalid_input(
            "scope",
            format!("{}的管辖范围应为 {}，而该机构是 {} (scope)", role.label_zh(), allowed.join(" / "), org.level.as_str()),
        ));
    }
    Ok(())
}

impl AccountsService {
    pub fn new(
        store: Arc<dyn AccountStore>,
        reference: Arc<ReferenceService>,
        clock: Arc<ServerClock>,
        passwords: Arc<Passwords>,
        audit: Arc<AuditService>,
        numbers: Arc<NumberService>,
    ) -> Self {
        AccountsService {
            store,
            reference,
            clock,
            passwords,
            audit,
            numbers,
            seen: Mutex::new(HashMap::new()),
            synced: Mutex::new(HashMap::new()),
            addresses: Mutex::new(HashMap::new()),
        }
    }

    /// Check a username and password; the user on success. A disabled account answers
    /// like a wrong password, after the same work.
    async fn check_password(&self, username: &str, password: &str) -> Result<User, DomainError> {
        let account = self.store.account_by_username(username).await?;
        let stored = account.as_ref().map(|a| a.user.password_hash.clone());
        let (password, passwords) = (password.to_owned(), self.passwords.clone());
        // Each check takes ~19 MiB and a core for a while: a flood of logins must queue,
        // not exhaust memory.
        static CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);
        let _checking = CHECKS.acquire().await.map_err(DomainError::internal)?;
        let ok = tokio::task::spawn_blocking(move || passwords.verify(&password, stored.as_deref()))
            .await
            .map_err(DomainError::internal)?;
        match account {
            Some(a) if ok && a.disabled_at.is_none() => Ok(a.user),
            _ => Err(DomainError::InvalidCredentials),
        }
    }

    /// Sign in on a device: a new token bound to it (shown once); the device's earlier
    /// tokens end. After [`FREE_LOGIN_FAILURES`] wrong passwords in a row for a username,
    /// each next attempt must wait ([`login_backoff`]).
    pub async fn login(&self, req: LoginRequest) -> Result<LoginResponse, DomainError> {
        self.login_from(req, None).await
    }

    /// [`login`](Self::login) from the client address `from` (when the connection tells
    /// it): after [`FREE_ADDRESS_FAILURES`] wrong passwords from one address, whatever the
    /// usernames, its next sign-ins wait too.
    pub async fn login_from(&self, req: LoginRequest, from: Option<std::net::IpAddr>) -> Result<LoginResponse, DomainError> {
        if let Some(addr) = from {
            let now = self.clock.now();
            let addresses = self.addresses.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(&(failures, last)) = addresses.get(&addr)
                && now - last < ADDRESS_FAILURES_FORGOTTEN
                && let Some(wait) = address_backoff(failures)
                && now < last + wait
            {
                let ms = u64::try_from((last + wait - now).num_milliseconds()).unwrap_or(0);
                return Err(DomainError::TooManyAttempts { retry_after_secs: ms.div_ceil(1000).max(1) });
            }
        }
        let result = self.login_checked(req).await;
        if let (Some(addr), Err(DomainError::InvalidCredentials)) = (from, &result) {
            let now = self.clock.now();
            let mut addresses = self.addresses.lock().unwrap_or_else(|p| p.into_inner());
            // Bounded: addresses quiet for long are forgotten first (a flood of new
            // addresses cannot grow this without end).
            if addresses.len() >= MAX_ADDRESSES_KEPT && !addresses.contains_key(&addr) {
                addresses.retain(|_, (_, last)| now - *last < ADDRESS_FAILURES_FORGOTTEN);
                if addresses.len() >= MAX_ADDRESSES_KEPT {
                    addresses.clear();
                }
            }
            let entry = addresses.entry(addr).or_insert((0, now));
            if now - entry.1 >= ADDRESS_FAILURES_FORGOTTEN {
                *entry = (0, now);
            }
            *entry = (entry.0 + 1, now);
            if entry.0 == FREE_ADDRESS_FAILURES {
                tracing::warn!("sign-ins from one client address backing off");
            }
        }
        result
    }

    async fn login_checked(&self, req: LoginRequest) -> Result<LoginResponse, DomainError> {
        check_device_key(req.device_key.as_deref())?;
        if req.device_name.as_ref().is_some_and(|n| n.chars().count() > MAX_DEVICE_NAME_CHARS || n.chars().any(char::is_control))
        {
            return Err(DomainError::invalid_input(
                "device_name",
                format!("device_name: 最多{MAX_DEVICE_NAME_CHARS}个字，不能含控制字符"),
            ));
        }
        let now = self.clock.now();
        if let Some((failures, last)) = self.store.login_failures(&req.username).await?
            && let Some(wait) = login_backoff(failures)
        {
            let free_at = last + wait;
            if now < free_at {
                // Refused before the password is even checked: no guess counts while locked.
                let ms = u64::try_from((free_at - now).num_milliseconds()).unwrap_or(0);
                let secs = ms.div_ceil(1000).max(1);
                return Err(DomainError::TooManyAttempts { retry_after_secs: secs });
            }
        }
        let user = match self.check_password(&req.username, &req.password).await {
            Ok(user) => user,
            Err(DomainError::InvalidCredentials) => {
                let failures = self.store.record_login_failure(&req.username, now).await?;
                if failures >= FREE_LOGIN_FAILURES {
                    tracing::warn!(failures, "sign-in attempts backing off");
                }
                // The account if it exists (never the typed name: it may be anything).
                let known = self.store.account_by_username(&req.username).await?;
                let mut detail = serde_json::json!({ "device": req.device_id.to_string(), "failures": failures });
                if known.as_ref().is_some_and(|a| a.disabled_at.is_some()) {
                    // For the trail only: the answer is the same as for a wrong password.
                    detail["disabled"] = serde_json::Value::Bool(true);
                }
                let known = known.map(|a| a.user.id);
                self.audit.record("-", "sign_in_failed", known.as_deref(), detail).await?;
                return Err(DomainError::InvalidCredentials);
            }
            Err(e) => return Err(e),
        };
        self.store.clear_login_failures(&req.username).await?;
        let token = new_token();
        self.store
            .create_session(SessionRow {
                token_hash: token_hash(&token),
                user_id: user.id.clone(),
                device_id: req.device_id.to_string(),
                device_name: req.device_name,
                created_at: self.clock.now(),
                revoked_at: None,
                device_key: req.device_key.clone(),
            })
            .await?;
        tracing::info!(user = %user.id, "login");
        // The device changed hands: another account's notice numbers on it are given up.
        let device = req.device_id.to_string();
        self.numbers.give_up(&user.id, Whose::Device { device_id: &device, keep_user: Some(&user.id) }).await?;
        // The key in the chained trail: the evidence its signatures give rests on it.
        let detail = serde_json::json!({ "device": req.device_id.to_string(), "device_key": req.device_key });
        self.audit.record(&user.id, "sign_in", Some(&user.id), detail).await?;
        Ok(LoginResponse { token, user: user.info(), server_hlc: self.clock.tick() })
    }

    /// The live session of a bearer token used from `device_id`.
    pub async fn authenticate(&self, token: &str, device_id: Uuid) -> Result<Session, DomainError> {
        if !plausible_token(token) {
            return Err(DomainError::Unauthenticated);
        }
        let hash = token_hash(token);
        let (session, user) = self.store.find_live_session(&hash).await?.ok_or(DomainError::Unauthenticated)?;
        if Uuid::parse_str(&session.device_id).ok() != Some(device_id) {
            return Err(DomainError::Unauthenticated);
        }
        self.touch(&hash);
        let caller =
            Caller { user_id: user.id.clone(), device_id: device_id.to_string(), role: user.role, scope: user.scope.clone() };
        Ok(Session { caller, user, token_hash: hash, device_key: session.device_key })
    }

    /// Note that a session was used now: written at most once per [`LAST_SEEN_EVERY`] per
    /// session, off the request's path (a failure to write is only logged).
    fn touch(&self, hash: &str) {
        let now = self.clock.now();
        {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            if seen.get(hash).is_some_and(|at| now - *at < LAST_SEEN_EVERY) {
                return;
            }
            if seen.len() >= 4096 {
                // Entries older than the interval would be written again anyway.
                seen.retain(|_, at| now - *at < LAST_SEEN_EVERY);
            }
            seen.insert(hash.to_owned(), now);
        }
        let (store, hash) = (self.store.clone(), hash.to_owned());
        let write = async move {
            if let Err(e) = store.touch_session(&hash, now).await {
                tracing::warn!(error = %e, "session last-seen not written");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn(write)),
            Err(_) => tracing::warn!("session last-seen not written: no runtime"),
        }
    }

    /// The session's device pulled, with `pending` changes and photos still to send (what
    /// the accounts page shows). Written when the count changed or at most once per
    /// [`LAST_SEEN_EVERY`] otherwise; a failure to write is only logged.
    pub async fn note_sync(&self, session: &Session, pending: u64) {
        let now = self.clock.now();
        {
            let mut synced = self.synced.lock().unwrap_or_else(|p| p.into_inner());
            if synced.get(&session.token_hash).is_some_and(|(at, n)| *n == pending && now - *at < LAST_SEEN_EVERY) {
                return;
            }
            if synced.len() >= 4096 {
                synced.retain(|_, (at, _)| now - *at < LAST_SEEN_EVERY);
            }
            synced.insert(session.token_hash.clone(), (now, pending));
        }
        if let Err(e) = self.store.record_sync(&session.token_hash, crate::storage::LastSync { at: now, pending }).await {
            tracing::warn!(error = %e, "a device's last sync not written");
        }
    }

    /// End this session.
    pub async fn logout(&self, session: &Session) -> Result<(), DomainError> {
        self.store.revoke_session(&session.token_hash).await?;
        Ok(())
    }

    /// An admin revokes all of a user's sessions, or those of one device; how many.
    pub async fn revoke(&self, by: &Session, username: &str, device_id: Option<Uuid>) -> Result<u64, DomainError> {
        by.caller.require_admin()?;
        let user = self.store.user_by_username(username).await?.ok_or(DomainError::NotFound)?;
        let device = device_id.map(|d| d.to_string());
        let revoked = self.store.revoke_user_sessions(&user.id, device.as_deref()).await?;
        // A revoked device never hands out the numbers it held.
        self.numbers.give_up(&by.user.id, Whose::User { user_id: &user.id, device_id: device.as_deref() }).await?;
        tracing::info!(by = %by.user.id, user = %user.id, revoked, "sessions revoked");
        let detail = serde_json::json!({ "device": device, "revoked": revoked });
        self.audit.record(&by.user.id, "revoke", Some(&user.id), detail).await?;
        Ok(revoked)
    }

    /// Every account with its devices (admins only), by username.
    pub async fn overview(&self, by: &Session) -> Result<Vec<AccountOverview>, DomainError> {
        by.caller.require_admin()?;
        let accounts = self.store.list_accounts().await?;
        let mut sessions: HashMap<String, Vec<DeviceSession>> = HashMap::new();
        for s in self.store.device_sessions(None).await? {
            sessions.entry(s.session.user_id.clone()).or_default().push(s);
        }
        Ok(accounts
            .into_iter()
            .map(|account| {
                let all = sessions.remove(&account.user.id).unwrap_or_default();
                let mut ended = 0;
                let mut devices = Vec::new();
                for s in all {
                    if s.session.revoked_at.is_none() {
                        devices.push(s);
                    } else {
                        ended += 1;
                        if ended <= ENDED_SESSIONS_LISTED {
                            devices.push(s);
                        }
                    }
                }
                AccountOverview { account, devices, ended_not_listed: ended.saturating_sub(ENDED_SESSIONS_LISTED) }
            })
            .collect())
    }

    /// An admin adds an account; the trail names them.
    pub async fn add_user_as(&self, by: &Session, new: NewUser) -> Result<User, DomainError> {
        by.caller.require_admin()?;
        self.add_user_by(&by.user.id, new).await
    }

    /// An admin disables an account (it cannot sign in; every live session of it ends at
    /// once, and its devices give up their notice numbers) or enables it again; how many
    /// sessions ended. Nobody disables their own account.
    pub async fn set_enabled(&self, by: &Session, username: &str, enabled: bool) -> Result<u64, DomainError> {
        by.caller.require_admin()?;
        let user = self.store.user_by_username(username).await?.ok_or(DomainError::NotFound)?;
        if !enabled && user.id == by.user.id {
            return Err(DomainError::invalid_input("username", "不能停用自己的账号 (self)"));
        }
        let now = self.clock.now();
        let revoked = self.store.set_disabled(&user.id, (!enabled).then_some(now)).await?.ok_or(DomainError::NotFound)?;
        if enabled {
            // Attempts refused while it was disabled do not hold the account back.
            self.store.clear_login_failures(&user.username).await?;
        } else {
            self.numbers.give_up(&by.user.id, Whose::User { user_id: &user.id, device_id: None }).await?;
        }
        let action = if enabled { "user_enable" } else { "user_disable" };
        tracing::info!(by = %by.user.id, user = %user.id, revoked, action);
        self.audit.record(&by.user.id, action, Some(&user.id), serde_json::json!({ "revoked": revoked })).await?;
        Ok(revoked)
    }

    /// An admin gives an account another role and scope (checked like a new account's);
    /// its live sessions end (its devices sign in again and pull what the new scope shows)
    /// and its devices give up their notice numbers; how many sessions ended (None: it had
    /// that role and scope already, nothing changed). Nobody changes their own.
    pub async fn set_role_scope(
        &self,
        by: &Session,
        username: &str,
        role: Role,
        scope: &str,
    ) -> Result<Option<u64>, DomainError> {
        by.caller.require_admin()?;
        let user = self.store.user_by_username(username).await?.ok_or(DomainError::NotFound)?;
        if user.id == by.user.id {
            return Err(DomainError::invalid_input("username", "不能修改自己的角色或管辖范围 (self)"));
        }
        let refs = self.reference.current().await?;
        check_scope(&refs.index, role, scope)?;
        if user.role == role && user.scope == scope {
            return Ok(None);
        }
        let now = self.clock.now();
        let revoked = self.store.set_role_scope(&user.id, role, scope, now).await?.ok_or(DomainError::NotFound)?;
        self.numbers.give_up(&by.user.id, Whose::User { user_id: &user.id, device_id: None }).await?;
        self.reference.reload().await?;
        tracing::info!(by = %by.user.id, user = %user.id, revoked, "role and scope changed");
        let detail = serde_json::json!({
            "from": { "role": user.role.as_str(), "scope": user.scope },
            "to": { "role": role.as_str(), "scope": scope },
            "revoked": revoked,
        });
        self.audit.record(&by.user.id, "user_role_scope", Some(&user.id), detail).await?;
        Ok(Some(revoked))
    }

    pub async fn user_count(&self) -> Result<u64, DomainError> {
        Ok(self.store.count_users().await?)
    }

    /// Validate and store a new account (argon2id hash with a random salt), added outside
    /// any session (the command line, the demo seed): the trail names `system`.
    pub async fn add_user(&self, new: NewUser) -> Result<User, DomainError> {
        self.add_user_by(gridwork_core::cases::SYSTEM_USER, new).await
    }

    /// The same, by the account `by`.
    pub async fn add_user_by(&self, by: &str, new: NewUser) -> Result<User, DomainError> {
        let username_ok = (1..=64).contains(&new.username.len())
            && new.username.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if !username_ok {
            return Err(DomainError::invalid_input("username", "用户名只能含小写字母、数字和 . _ -，最长64位 (username)"));
        }
        let name_len = new.display_name.trim().chars().count();
        if name_len == 0 || name_len > 50 || new.display_name.chars().any(char::is_control) {
            return Err(DomainError::invalid_input("display_name", "姓名不能为空，最多50个字 (display_name)"));
        }
        if new.password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(DomainError::invalid_input("password", format!("密码至少{MIN_PASSWORD_CHARS}位 (password)")));
        }
        if new.password.chars().count() > 256 {
            return Err(DomainError::invalid_input("password", "密码最多256位 (password)"));
        }
        let refs = self.reference.current().await?;
        check_scope(&refs.index, new.role, &new.scope)?;
        let (password, passwords) = (new.password, self.passwords.clone());
        let hash = tokio::task::spawn_blocking(move || passwords.hash(&password)).await.map_err(DomainError::internal)??;
        let user = User {
            id: Uuid::now_v7().to_string(),
            username: new.username,
            display_name: new.display_name.trim().to_owned(),
            role: new.role,
            scope: new.scope,
            password_hash: hash,
            created_at: self.clock.now(),
        };
        self.store.insert_user(user.clone()).await?;
        self.reference.reload().await?;
        let detail = serde_json::json!({ "role": user.role.as_str(), "scope": user.scope });
        self.audit.record(by, "user_add", Some(&user.id), detail).await?;
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_salts_differ() {
        let p = Passwords::insecure_fast_for_tests();
        let a = p.hash("秘密 password").expect("hash");
        let b = p.hash("秘密 password").expect("hash");
        assert_ne!(a, b, "random salt");
        assert!(a.starts_with("$argon2id$"));
        assert!(p.verify("秘密 password", Some(&a)));
        assert!(!p.verify("wrong", Some(&a)));
        assert!(!p.verify("gridwork-timing-equaliser", None), "the dummy hash never logs anyone in");
        assert!(!p.verify("x", Some("not a phc string")));
    }

    #[tokio::test]
    async fn add_user_checks_role_and_scope_with_typed_errors() {
        use crate::domain::error::{Conflict, InvalidKind};
        let dir = tempfile::tempdir().expect("tempdir");
        let state = crate::state::AppState::sqlite_for_tests(dir.path()).await;
        crate::bootstrap::ensure_reference(state.stores().reference.as_ref()).await.expect("reference");
        state.reference().reload().await.expect("reload");
        let accounts = state.accounts();
        let new = |username: &str, role, scope: &str| NewUser {
            username: username.into(),
            display_name: "测试".into(),
            role,
            scope: scope.into(),
            password: "long enough".into(),
        };
        let invalid = |r: Result<User, DomainError>, field: &str| match r {
            Err(DomainError::Invalid { kind: InvalidKind::Input, rejection }) => {
                assert_eq!(rejection.field.as_deref(), Some(field))
            }
            other => panic!("{field}: {other:?}"),
        };
        assert!(accounts.add_user(new("a", Role::Admin, "370700")).await.is_ok());
        assert!(matches!(
            accounts.add_user(new("a", Role::Admin, "370700")).await,
            Err(DomainError::Conflict(Conflict::UsernameTaken))
        ));
        assert!(accounts.add_user(new("o", Role::Officer, "370705")).await.is_ok());
        invalid(accounts.add_user(new("o2", Role::Officer, "370700")).await, "scope"); // officer at city level
        assert!(accounts.add_user(new("g", Role::GridWorker, "370705001001-01")).await.is_ok());
        assert!(accounts.add_user(new("c", Role::GridWorker, "370705001001")).await.is_ok());
        invalid(accounts.add_user(new("g2", Role::GridWorker, "370705")).await, "scope"); // worker at district level
        invalid(accounts.add_user(new("x", Role::Admin, "999999")).await, "scope"); // unknown org
        invalid(accounts.add_user(new("Bad Name", Role::Admin, "370700")).await, "username");
        invalid(accounts.add_user(NewUser { password: "short".into(), ..new("p", Role::Admin, "370700") }).await, "password");
        // The new accounts are reference data at once.
        assert_eq!(state.reference().current().await.expect("refs").data.users.len(), 4);
    }

    #[test]
    fn tokens_are_random_hex_and_stored_hashed() {
        let t = new_token();
        assert!(plausible_token(&t));
        assert_ne!(t, new_token());
        assert_eq!(token_hash(&t).len(), 64);
        assert_ne!(token_hash(&t), t);
    }
}
