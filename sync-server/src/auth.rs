//! Accounts and sessions: argon2id password hashes, random bearer tokens of which only the
//! SHA-256 is stored, and the [`Session`] extractor that every authenticated route uses.

use crate::error::AppError;
use crate::state::AppState;
use crate::storage::{SessionRow, User};
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chrono::Utc;
use gridwork_core::model::Role;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use gridwork_core::protocol::DEVICE_HEADER;

/// Password hashing settings, and a hash of a throwaway password made with them so that a
/// login for an unknown username costs the same time as a wrong password.
pub struct Passwords {
    params: Params,
    dummy_hash: String,
}

impl Passwords {
    pub fn new(params: Params) -> Result<Self, AppError> {
        let mut p = Passwords { params, dummy_hash: String::new() };
        p.dummy_hash = p.hash("gridwork-timing-equaliser")?;
        Ok(p)
    }

    /// argon2id with the crate's recommended defaults (19 MiB, t=2, p=1).
    pub fn production() -> Result<Self, AppError> {
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
    pub fn hash(&self, password: &str) -> Result<String, AppError> {
        self.argon().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(AppError::internal)
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

/// Check a username and password; the user on success. Unknown user and wrong password
/// are the same error and take the same time.
pub async fn check_login(state: &AppState, username: &str, password: &str) -> Result<User, AppError> {
    let user = state.storage().user_by_username(username).await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let password = password.to_owned();
    let st = state.clone();
    // Each check takes ~19 MiB and a core for a while: a flood of logins must queue, not
    // exhaust memory.
    static CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);
    let _checking = CHECKS.acquire().await.map_err(AppError::internal)?;
    let ok = tokio::task::spawn_blocking(move || st.passwords().verify(&password, stored.as_deref()))
        .await
        .map_err(AppError::internal)?;
    match user {
        Some(u) if ok => Ok(u),
        _ => Err(AppError::InvalidCredentials),
    }
}

/// Start a session for `user` on `device_id`; returns the bearer token (shown once).
pub async fn open_session(
    state: &AppState,
    user: &User,
    device_id: Uuid,
    device_name: Option<String>,
) -> Result<String, AppError> {
    let token = new_token();
    state
        .storage()
        .create_session(SessionRow {
            token_hash: token_hash(&token),
            user_id: user.id.clone(),
            device_id: device_id.to_string(),
            device_name,
            created_at: Utc::now(),
            revoked_at: None,
        })
        .await?;
    Ok(token)
}

/// An authenticated caller: a live session whose device matches the request's device header.
#[derive(Clone, Debug)]
pub struct Session {
    pub user: User,
    pub device_id: Uuid,
    pub token_hash: String,
}

impl Session {
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| plausible_token(t))
            .ok_or(AppError::Unauthorized)?;
        let device_id = parts
            .headers
            .get(DEVICE_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Uuid::parse_str(v.trim()).ok())
            .ok_or(AppError::Unauthorized)?;
        let hash = token_hash(token);
        let (session, user) = state.storage().find_live_session(&hash).await?.ok_or(AppError::Unauthorized)?;
        if Uuid::parse_str(&session.device_id).ok() != Some(device_id) {
            return Err(AppError::Unauthorized);
        }
        Ok(Session { user, device_id, token_hash: hash })
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

    #[test]
    fn tokens_are_random_hex_and_stored_hashed() {
        let t = new_token();
        assert!(plausible_token(&t));
        assert_ne!(t, new_token());
        assert_eq!(token_hash(&t).len(), 64);
        assert_ne!(token_hash(&t), t);
    }
}
