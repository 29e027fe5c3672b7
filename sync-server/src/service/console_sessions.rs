//! The admin console's browser sessions, over the accounts' own device sessions.
//!
//! A console sign-in is an ordinary [`AccountsService::login`] for a fresh device id of
//! its own (the browser), so it backs off after wrong passwords, is written to the audit
//! trail and is ended by a revocation exactly like a phone's. What a device session lacks
//! for a browser is kept here, in memory: the CSRF token of the session and when it was
//! last used (idle expiry). A server restart therefore ends every console session (the
//! browser signs in again); the device session behind it is revoked when it expires idle
//! or signs out.

use crate::domain::DomainError;
use crate::domain::clock::ServerClock;
use crate::service::accounts::{AccountsService, Session, token_hash};
use chrono::{DateTime, Duration, Utc};
use gridwork_core::model::Role;
use gridwork_core::protocol::LoginRequest;
use rand::RngCore;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// A console session ends after this long without a request.
pub const DEFAULT_IDLE: Duration = Duration::minutes(30);
/// What the accounts' session list calls a console sign-in.
pub const CONSOLE_DEVICE_NAME: &str = "管理后台（浏览器）";

/// The secrets a browser holds for one console session (in its cookie).
#[derive(Clone, PartialEq, Eq)]
pub struct ConsoleCredentials {
    pub device_id: Uuid,
    pub token: String,
}

impl std::fmt::Debug for ConsoleCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConsoleCredentials { <redacted> }")
    }
}

impl ConsoleCredentials {
    /// The cookie value: `<device id>.<token>`.
    pub fn cookie_value(&self) -> String {
        format!("{}.{}", self.device_id, self.token)
    }

    pub fn parse(value: &str) -> Option<ConsoleCredentials> {
        let (device, token) = value.split_once('.')?;
        Some(ConsoleCredentials { device_id: Uuid::parse_str(device).ok()?, token: token.to_owned() })
    }
}

/// A live console session.
#[derive(Clone, Debug)]
pub struct ConsoleSession {
    pub session: Session,
    /// The token every form of this session carries.
    pub csrf: String,
}

impl ConsoleSession {
    /// Admins act; officers (brigade leaders and officers) only read, within what they may see.
    pub fn may_act(&self) -> bool {
        self.session.caller.role == Role::Admin
    }
}

/// Why a cookie gave no session.
#[derive(Debug)]
pub enum SessionEnd {
    /// No cookie, an unknown or revoked one.
    None,
    /// It was left unused for longer than the idle limit (and is now ended).
    Idle,
}

struct Entry {
    csrf: String,
    last_seen: DateTime<Utc>,
}

pub struct ConsoleSessions {
    accounts: Arc<AccountsService>,
    clock: Arc<ServerClock>,
    idle: Duration,
    live: Mutex<HashMap<String, Entry>>,
}

/// 32 random bytes, hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Compare two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl ConsoleSessions {
    pub fn new(accounts: Arc<AccountsService>, clock: Arc<ServerClock>) -> Self {
        Self::with_idle(accounts, clock, DEFAULT_IDLE)
    }

    pub fn with_idle(accounts: Arc<AccountsService>, clock: Arc<ServerClock>, idle: Duration) -> Self {
        ConsoleSessions { accounts, clock, idle, live: Mutex::new(HashMap::new()) }
    }

    pub fn idle_limit(&self) -> Duration {
        self.idle
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sign in to the console. Wrong username and wrong password answer alike and back off
    /// as on a device ([`AccountsService::login`]); grid workers have no console
    /// (`Forbidden`, and the session just made is ended at once).
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
        from: Option<std::net::IpAddr>,
    ) -> Result<(ConsoleCredentials, ConsoleSession), DomainError> {
        let device_id = Uuid::now_v7();
        let request = LoginRequest {
            username: username.to_owned(),
            password: password.to_owned(),
            device_id,
            device_name: Some(CONSOLE_DEVICE_NAME.to_owned()),
            device_key: None,
        };
        let login = self.accounts.login_from(request, from).await?;
        let creds = ConsoleCredentials { device_id, token: login.token };
        let session = self.accounts.authenticate(&creds.token, device_id).await?;
        if !matches!(session.caller.role, Role::Admin | Role::Officer) {
            self.accounts.logout(&session).await?;
            return Err(DomainError::Forbidden);
        }
        let csrf = random_token();
        let mut live = self.entries();
        let now = self.clock.now();
        // Forget sessions long idle (their device sessions end at their next use, or stay
        // revocable from the accounts page).
        live.retain(|_, e| now - e.last_seen <= self.idle);
        live.insert(session.token_hash.clone(), Entry { csrf: csrf.clone(), last_seen: now });
        drop(live);
        Ok((creds, ConsoleSession { session, csrf }))
    }

    /// The live session of a browser's credentials, touched (its idle clock restarts).
    pub async fn resume(&self, creds: &ConsoleCredentials) -> Result<Result<ConsoleSession, SessionEnd>, DomainError> {
        let session = match self.accounts.authenticate(&creds.token, creds.device_id).await {
            Ok(s) => s,
            Err(DomainError::Unauthenticated) => {
                self.entries().remove(&token_hash(&creds.token));
                return Ok(Err(SessionEnd::None));
            }
            Err(e) => return Err(e),
        };
        let now = self.clock.now();
        let csrf = {
            let mut live = self.entries();
            match live.get_mut(&session.token_hash) {
                Some(e) if now - e.last_seen <= self.idle => {
                    e.last_seen = now;
                    Some(e.csrf.clone())
                }
                Some(_) => {
                    live.remove(&session.token_hash);
                    None
                }
                // Not made by this process (it restarted): signed out.
                None => None,
            }
        };
        match csrf {
            Some(csrf) => Ok(Ok(ConsoleSession { session, csrf })),
            None => {
                self.accounts.logout(&session).await?;
                Ok(Err(SessionEnd::Idle))
            }
        }
    }

    /// Sign out: the device session is revoked and the browser's token forgotten.
    pub async fn sign_out(&self, session: &ConsoleSession) -> Result<(), DomainError> {
        self.entries().remove(&session.session.token_hash);
        self.accounts.logout(&session.session).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_round_trip_and_never_print() {
        let c = ConsoleCredentials { device_id: Uuid::now_v7(), token: random_token() };
        assert_eq!(ConsoleCredentials::parse(&c.cookie_value()), Some(c.clone()));
        assert!(!format!("{c:?}").contains(&c.token));
        assert_eq!(ConsoleCredentials::parse("nonsense"), None);
        assert_eq!(ConsoleCredentials::parse("x.y"), None);
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }
}
