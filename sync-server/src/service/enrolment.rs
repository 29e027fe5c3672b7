//! Provisioning a phone by QR code (扫码登录). An admin makes a one-time code for an account
//! (random, 160 bits, valid for [`CODE_TTL`]; only its SHA-256 is stored, the making is
//! audited without the code); the console shows it as a QR code of
//! `gridwork://enrol?server=<url>&code=<code>` ([`enrol_link`]) and as text. A device that
//! sends the code (`POST /v1/auth/enrol`) signs in exactly as a login would: a new token
//! bound to it, the device's earlier sessions ended, another account's notice numbers on
//! it given up, `sign_in` in the trail. A code is used once; an unknown, used or expired
//! code is refused like a wrong password, and a device that keeps sending bad codes backs
//! off like a login.

use crate::domain::DomainError;
use crate::domain::access::Caller;
use crate::domain::clock::ServerClock;
use crate::service::accounts::{login_backoff, new_token, token_hash};
use crate::service::audit::AuditService;
use crate::service::numbers::NumberService;
use crate::storage::enrolments::{EnrolmentRow, EnrolmentStore};
use crate::storage::numbers::Whose;
use crate::storage::{AccountStore, SessionRow, User};
use chrono::{DateTime, Duration, Utc};
use gridwork_core::protocol::{EnrolRequest, LoginResponse};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// How long a code may be used after it is made.
pub const CODE_TTL: Duration = Duration::minutes(10);
/// Random bytes of a code (160 bits: 32 characters of Crockford base32).
const CODE_BYTES: usize = 20;
/// Characters of a code.
pub const CODE_CHARS: usize = 32;
/// The longest code text a device may send (a typed code with separators).
pub const MAX_CODE_TEXT: usize = 64;
/// The scheme and host of an enrolment QR code.
pub const LINK_PREFIX: &str = "gridwork://enrol";
const MAX_DEVICE_NAME_CHARS: usize = 100;
/// Devices whose bad codes are remembered (a flood beyond this starts the count again).
const MAX_TRACKED_DEVICES: usize = 10_000;
/// Crockford's base32: no I, L, O, U (read as 1, 1, 0 and never written).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A code just made: the only time the code itself exists on the server.
pub struct NewEnrolment {
    /// 32 characters of Crockford base32.
    pub code: String,
    pub user: User,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for NewEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewEnrolment").field("user", &self.user.id).field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

impl NewEnrolment {
    /// The code in groups of four, for typing: `7K3M-9QXR-…`.
    pub fn grouped(&self) -> String {
        grouped(&self.code)
    }
}

/// A code in groups of four separated by `-`.
pub fn grouped(code: &str) -> String {
    code.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("-")
}

/// A new random code.
fn new_code() -> String {
    let mut bytes = [0u8; CODE_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    // 160 bits, 5 at a time.
    let mut out = String::with_capacity(CODE_CHARS);
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((acc >> bits) & 31) as usize]));
        }
        acc &= (1 << bits) - 1;
    }
    out
}

/// A code as a device sent it (any case, with `-` or spaces between groups, `O` for 0 and
/// `I`/`L` for 1), in its one stored spelling; None if it cannot be a code.
pub fn normalise_code(text: &str) -> Option<String> {
    let mut out = String::with_capacity(CODE_CHARS);
    for c in text.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
            return None;
        }
        out.push(c);
    }
    (out.len() == CODE_CHARS).then_some(out)
}

/// What is stored for a code: the SHA-256 (hex) of its normalised spelling.
pub fn code_hash(normalised: &str) -> String {
    hex::encode(Sha256::digest(normalised.as_bytes()))
}

/// The QR code's text: `gridwork://enrol?server=<server, percent-encoded>&code=<code>`.
pub fn enrol_link(server: &str, code: &str) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("server", server.trim_end_matches('/'))
        .append_pair("code", code)
        .finish();
    format!("{LINK_PREFIX}?{query}")
}

pub struct EnrolmentService {
    store: Arc<dyn EnrolmentStore>,
    accounts: Arc<dyn AccountStore>,
    numbers: Arc<NumberService>,
    audit: Arc<AuditService>,
    clock: Arc<ServerClock>,
    /// Bad codes in a row per device, and when the last came.
    failures: Mutex<HashMap<Uuid, (u32, DateTime<Utc>)>>,
}

impl EnrolmentService {
    pub fn new(
        store: Arc<dyn EnrolmentStore>,
        accounts: Arc<dyn AccountStore>,
        numbers: Arc<NumberService>,
        audit: Arc<AuditService>,
        clock: Arc<ServerClock>,
    ) -> Self {
        EnrolmentService { store, accounts, numbers, audit, clock, failures: Mutex::new(HashMap::new()) }
    }

    /// An admin makes a code for the account `username`.
    pub async fn create(&self, by: &Caller, username: &str) -> Result<NewEnrolment, DomainError> {
        by.require_admin()?;
        self.create_by(&by.user_id, username).await
    }

    /// A code made outside any session (the command line): the trail names `system`.
    pub async fn create_by_system(&self, username: &str) -> Result<NewEnrolment, DomainError> {
        self.create_by(gridwork_core::cases::SYSTEM_USER, username).await
    }

    async fn create_by(&self, actor: &str, username: &str) -> Result<NewEnrolment, DomainError> {
        let account = self.accounts.account_by_username(username).await?.ok_or(DomainError::NotFound)?;
        if account.disabled_at.is_some() {
            return Err(DomainError::invalid_input("user", "该账号已停用，不能生成扫码登录码 (account disabled)"));
        }
        let now = self.clock.now();
        // Codes long expired are of no use to anyone (kept a day for the record).
        self.store.purge_enrolments(now - Duration::days(1)).await?;
        let code = new_code();
        let expires_at = now + CODE_TTL;
        self.store
            .insert_enrolment(EnrolmentRow {
                code_hash: code_hash(&code),
                user_id: account.user.id.clone(),
                created_by: actor.to_owned(),
                created_at: now,
                expires_at,
                used_at: None,
                used_by_device: None,
            })
            .await?;
        let detail = serde_json::json!({ "expires_at": gridwork_core::time::format_ts(expires_at) });
        self.audit.record(actor, "enrol_code", Some(&account.user.id), detail).await?;
        tracing::info!(user = %account.user.id, "enrolment code made");
        Ok(NewEnrolment { code, user: account.user, expires_at })
    }

    /// A device signs in with a code: answered like a login.
    pub async fn enrol(&self, req: EnrolRequest) -> Result<LoginResponse, DomainError> {
        crate::service::accounts::check_device_key(req.device_key.as_deref())?;
        if req.device_name.as_ref().is_some_and(|n| n.chars().count() > MAX_DEVICE_NAME_CHARS || n.chars().any(char::is_control))
        {
            return Err(DomainError::invalid_input(
                "device_name",
                format!("device_name: 最多{MAX_DEVICE_NAME_CHARS}个字，不能含控制字符"),
            ));
        }
        if req.code.trim().is_empty() || req.code.chars().count() > MAX_CODE_TEXT {
            return Err(DomainError::invalid_input("code", format!("code: 不能为空，最多{MAX_CODE_TEXT}个字符")));
        }
        let now = self.clock.now();
        self.check_backoff(req.device_id, now)?;
        let used = match normalise_code(&req.code) {
            Some(code) => self.store.use_enrolment(&code_hash(&code), &req.device_id.to_string(), now).await?,
            None => None,
        };
        let user = match used {
            Some(row) => match self.accounts.user_by_id(&row.user_id).await? {
                Some(u) => match self.accounts.account_by_username(&u.username).await? {
                    Some(a) if a.disabled_at.is_none() => Some(a.user),
                    _ => None,
                },
                None => None,
            },
            None => None,
        };
        let Some(user) = user else {
            let failures = self.fail(req.device_id, now);
            let detail = serde_json::json!({ "device": req.device_id.to_string(), "failures": failures, "via": "enrol" });
            self.audit.record("-", "sign_in_failed", None, detail).await?;
            return Err(DomainError::InvalidCredentials);
        };
        self.lock_failures().remove(&req.device_id);
        let token = new_token();
        let device = req.device_id.to_string();
        self.accounts
            .create_session(SessionRow {
                token_hash: token_hash(&token),
                user_id: user.id.clone(),
                device_id: device.clone(),
                device_name: req.device_name,
                created_at: self.clock.now(),
                revoked_at: None,
                device_key: req.device_key.clone(),
            })
            .await?;
        tracing::info!(user = %user.id, "enrolled");
        // As a login: the device changed hands, another account's notice numbers on it end.
        self.numbers.give_up(&user.id, Whose::Device { device_id: &device, keep_user: Some(&user.id) }).await?;
        let detail = serde_json::json!({ "device": device, "via": "enrol", "device_key": req.device_key });
        self.audit.record(&user.id, "sign_in", Some(&user.id), detail).await?;
        Ok(LoginResponse { token, user: user.info(), server_hlc: self.clock.tick() })
    }

    fn lock_failures(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, (u32, DateTime<Utc>)>> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Refused before the code is even looked at while the device must wait.
    fn check_backoff(&self, device: Uuid, now: DateTime<Utc>) -> Result<(), DomainError> {
        let Some((failures, last)) = self.lock_failures().get(&device).copied() else { return Ok(()) };
        if let Some(wait) = login_backoff(failures)
            && now < last + wait
        {
            let ms = u64::try_from((last + wait - now).num_milliseconds()).unwrap_or(0);
            return Err(DomainError::TooManyAttempts { retry_after_secs: ms.div_ceil(1000).max(1) });
        }
        Ok(())
    }

    /// One more bad code from `device`; the count in a row now.
    fn fail(&self, device: Uuid, now: DateTime<Utc>) -> u32 {
        let mut failures = self.lock_failures();
        if failures.len() >= MAX_TRACKED_DEVICES && !failures.contains_key(&device) {
            failures.clear();
        }
        let entry = failures.entry(device).or_insert((0, now));
        *entry = (entry.0 + 1, now);
        entry.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_random_base32_and_normalise_as_typed() {
        let a = new_code();
        assert_eq!(a.len(), CODE_CHARS);
        assert!(a.bytes().all(|b| ALPHABET.contains(&b)), "{a}");
        assert_ne!(a, new_code());
        assert_eq!(normalise_code(&a).as_deref(), Some(a.as_str()));
        let typed = grouped(&a).to_lowercase().replace('0', "o").replace('1', "l");
        assert_eq!(normalise_code(&typed).as_deref(), Some(a.as_str()), "{typed}");
        assert_eq!(normalise_code(&a[1..]), None, "too short");
        assert_eq!(normalise_code(&format!("{a}0")), None, "too long");
        assert_eq!(normalise_code(&a.replacen(&a[..1], "U", 1)), None, "not of the alphabet");
        assert_eq!(normalise_code(&a.replacen(&a[..1], "码", 1)), None);
        assert_eq!(code_hash(&a).len(), 64);
        assert_ne!(code_hash(&a), a);
    }

    #[test]
    fn the_link_percent_encodes_the_server() {
        assert_eq!(
            enrol_link("https://cg.weifang.example:8443/gw/", "ABCD"),
            "gridwork://enrol?server=https%3A%2F%2Fcg.weifang.example%3A8443%2Fgw&code=ABCD"
        );
        assert_eq!(grouped("ABCDEFGHJK"), "ABCD-EFGH-JK");
    }
}
