//! Accounts and device sessions in PostgreSQL. Adding a user, or changing one's role or
//! scope, bumps the reference revision: devices show users' names from the reference data.
//!
//! Writes that read before they write (a session replacing the device's earlier ones,
//! disabling or rescoping an account) take the writer lock, so that two of them never
//! interleave: SQLite gets that from its one writer connection.

use super::{PgStorage, corrupt, from_sql_int, parse_ts, to_sql_int, ts};
use crate::storage::{Account, AccountStore, DeviceSession, LastSync, Result, SessionRow, StorageError, User};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gridwork_core::model::Role;
use tokio_postgres::GenericClient;
use tokio_postgres::Row;

const USER_COLS: &str = "id, username, display_name, role, scope, password_hash, created_at";

/// The unique constraint on `users.username` (PostgreSQL's default name for it).
const USERNAME_KEY: &str = "users_username_key";

/// The user in the columns `USER_COLS` from column `at` on.
fn user_from_row(r: &Row, at: usize) -> Result<User> {
    let role: String = r.try_get(at + 3)?;
    let created_at: String = r.try_get(at + 6)?;
    Ok(User {
        id: r.try_get(at)?,
        username: r.try_get(at + 1)?,
        display_name: r.try_get(at + 2)?,
        role: Role::parse(&role).ok_or_else(|| corrupt("users.role"))?,
        scope: r.try_get(at + 4)?,
        password_hash: r.try_get(at + 5)?,
        created_at: parse_ts(&created_at, "users.created_at")?,
    })
}

fn account_from_row(r: &Row) -> Result<Account> {
    let disabled: Option<String> = r.try_get(7)?;
    let disabled_at = disabled.map(|d| parse_ts(&d, "users.disabled_at")).transpose()?;
    Ok(Account { user: user_from_row(r, 0)?, disabled_at })
}

/// Revoke every live session of `user_id` at `at`; how many.
async fn revoke_all(client: &impl GenericClient, user_id: &str, at: DateTime<Utc>) -> Result<u64> {
    Ok(client
        .execute("UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL", &[&user_id, &ts(at)])
        .await?)
}

fn failures_from(n: i64) -> Result<u32> {
    u32::try_from(n).map_err(|_| corrupt("login_failures.failures"))
}

impl PgStorage {
    async fn user_row_where(&self, sql: &str, value: &str) -> Result<Option<User>> {
        let c = self.client().await?;
        let stmt = c.prepare_cached(sql).await?;
        c.query_opt(&stmt, &[&value]).await?.map(|r| user_from_row(&r, 0)).transpose()
    }

    async fn count_rows(&self, sql: &str) -> Result<u64> {
        let c = self.client().await?;
        let stmt = c.prepare_cached(sql).await?;
        from_sql_int(c.query_one(&stmt, &[]).await?.try_get(0)?, "count")
    }
}

#[async_trait]
impl AccountStore for PgStorage {
    async fn insert_user(&self, user: User) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let stmt = tx
            .prepare_cached(
                "INSERT INTO users (id, username, display_name, role, scope, password_hash, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .await?;
        let inserted = tx
            .execute(
                &stmt,
                &[
                    &user.id,
                    &user.username,
                    &user.display_name,
                    &user.role.as_str(),
                    &user.scope,
                    &user.password_hash,
                    &ts(user.created_at),
                ],
            )
            .await;
        match inserted {
            Err(e) if super::is_unique_violation(&e) && e.as_db_error().and_then(|db| db.constraint()) == Some(USERNAME_KEY) => {
                return Err(StorageError::DuplicateUsername);
            }
            other => other?,
        };
        super::reference::bump_reference_rev(&*tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        self.user_row_where(
            "SELECT id, username, display_name, role, scope, password_hash, created_at FROM users WHERE username = $1",
            username,
        )
        .await
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        self.user_row_where(
            "SELECT id, username, display_name, role, scope, password_hash, created_at FROM users WHERE id = $1",
            id,
        )
        .await
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        let c = self.client().await?;
        let stmt = c.prepare_cached(&format!("SELECT {USER_COLS} FROM users ORDER BY username")).await?;
        c.query(&stmt, &[]).await?.iter().map(|r| user_from_row(r, 0)).collect()
    }

    async fn count_users(&self) -> Result<u64> {
        self.count_rows("SELECT COUNT(*) FROM users").await
    }

    async fn create_session(&self, s: SessionRow) -> Result<()> {
        let mut c = self.writer().await?;
        let tx = c.transaction().await?;
        // Two sign-ins on one device at once: the later one sees (and ends) the earlier.
        super::lock_writer(&*tx).await?;
        let end = tx.prepare_cached("UPDATE sessions SET revoked_at = $2 WHERE device_id = $1 AND revoked_at IS NULL").await?;
        let created_at = ts(s.created_at);
        tx.execute(&end, &[&s.device_id, &created_at]).await?;
        let insert = tx
            .prepare_cached(
                "INSERT INTO sessions (token_hash, user_id, device_id, device_name, created_at, revoked_at, device_key)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .await?;
        tx.execute(
            &insert,
            &[&s.token_hash, &s.user_id, &s.device_id, &s.device_name, &created_at, &s.revoked_at.map(ts), &s.device_key],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_live_session(&self, token_hash: &str) -> Result<Option<(SessionRow, User)>> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "SELECT s.token_hash, s.user_id, s.device_id, s.device_name, s.created_at, s.device_key,
                        u.id, u.username, u.display_name, u.role, u.scope, u.password_hash, u.created_at
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND u.disabled_at IS NULL",
            )
            .await?;
        let Some(r) = c.query_opt(&stmt, &[&token_hash]).await? else { return Ok(None) };
        let created_at: String = r.try_get(4)?;
        let session = SessionRow {
            token_hash: r.try_get(0)?,
            user_id: r.try_get(1)?,
            device_id: r.try_get(2)?,
            device_name: r.try_get(3)?,
            created_at: parse_ts(&created_at, "sessions.created_at")?,
            revoked_at: None,
            device_key: r.try_get(5)?,
        };
        Ok(Some((session, user_from_row(&r, 6)?)))
    }

    async fn revoke_session(&self, token_hash: &str) -> Result<bool> {
        let c = self.client().await?;
        let stmt = c.prepare_cached("UPDATE sessions SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL").await?;
        Ok(c.execute(&stmt, &[&token_hash, &ts(Utc::now())]).await? > 0)
    }

    async fn revoke_user_sessions(&self, user_id: &str, device_id: Option<&str>) -> Result<u64> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "UPDATE sessions SET revoked_at = $3
                 WHERE user_id = $1 AND ($2::text IS NULL OR device_id = $2) AND revoked_at IS NULL",
            )
            .await?;
        Ok(c.execute(&stmt, &[&user_id, &device_id, &ts(Utc::now())]).await?)
    }

    async fn count_live_sessions(&self) -> Result<u64> {
        self.count_rows("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL").await
    }

    async fn list_accounts(&self) -> Result<Vec<Account>> {
        let c = self.client().await?;
        let stmt = c.prepare_cached(&format!("SELECT {USER_COLS}, disabled_at FROM users ORDER BY username")).await?;
        c.query(&stmt, &[]).await?.iter().map(account_from_row).collect()
    }

    async fn account_by_username(&self, username: &str) -> Result<Option<Account>> {
        let c = self.client().await?;
        let stmt = c.prepare_cached(&format!("SELECT {USER_COLS}, disabled_at FROM users WHERE username = $1")).await?;
        c.query_opt(&stmt, &[&username]).await?.as_ref().map(account_from_row).transpose()
    }

    async fn set_disabled(&self, user_id: &str, at: Option<DateTime<Utc>>) -> Result<Option<u64>> {
        let mut c = self.writer().await?;
        let tx = c.transaction().await?;
        super::lock_writer(&*tx).await?;
        if tx.query_opt("SELECT 1 FROM users WHERE id = $1", &[&user_id]).await?.is_none() {
            return Ok(None);
        }
        let revoked = match at {
            Some(at) => {
                // An account disabled earlier keeps the time it was first disabled.
                tx.execute("UPDATE users SET disabled_at = COALESCE(disabled_at, $2) WHERE id = $1", &[&user_id, &ts(at)])
                    .await?;
                revoke_all(&*tx, user_id, at).await?
            }
            None => {
                // A session stored while it was disabled (a sign-in racing with the
                // disabling) was never live, and does not come alive now.
                let racing = revoke_all(&*tx, user_id, Utc::now()).await?;
                tx.execute("UPDATE users SET disabled_at = NULL WHERE id = $1", &[&user_id]).await?;
                racing
            }
        };
        tx.commit().await?;
        Ok(Some(revoked))
    }

    async fn set_role_scope(&self, user_id: &str, role: Role, scope: &str, at: DateTime<Utc>) -> Result<Option<u64>> {
        let mut c = self.writer().await?;
        let tx = c.transaction().await?;
        super::lock_writer(&*tx).await?;
        let n = tx.execute("UPDATE users SET role = $2, scope = $3 WHERE id = $1", &[&user_id, &role.as_str(), &scope]).await?;
        if n == 0 {
            return Ok(None);
        }
        let revoked = revoke_all(&*tx, user_id, at).await?;
        super::reference::bump_reference_rev(&*tx).await?;
        tx.commit().await?;
        Ok(Some(revoked))
    }

    async fn device_sessions(&self, user_id: Option<&str>) -> Result<Vec<DeviceSession>> {
        let c = self.client().await?;
        // The newest session of each (account, device); a live one first among equals.
        let stmt = c
            .prepare_cached(
                "SELECT token_hash, user_id, device_id, device_name, created_at, revoked_at, last_seen_at, device_key,
                        last_sync_at, pending
                 FROM (
                     SELECT *, ROW_NUMBER() OVER (
                         PARTITION BY user_id, device_id
                         ORDER BY created_at DESC, revoked_at IS NULL DESC, token_hash
                     ) AS n
                     FROM sessions WHERE $1::text IS NULL OR user_id = $1
                 ) AS newest
                 WHERE n = 1
                 ORDER BY created_at DESC, user_id, device_id",
            )
            .await?;
        c.query(&stmt, &[&user_id])
            .await?
            .iter()
            .map(|r| -> Result<DeviceSession> {
                let created_at: String = r.try_get(4)?;
                let revoked_at: Option<String> = r.try_get(5)?;
                let last_seen_at: Option<String> = r.try_get(6)?;
                let last_sync = match (r.try_get::<_, Option<String>>(8)?, r.try_get::<_, Option<i64>>(9)?) {
                    (Some(at), Some(pending)) => Some(LastSync {
                        at: parse_ts(&at, "sessions.last_sync_at")?,
                        pending: from_sql_int(pending, "sessions.pending")?,
                    }),
                    _ => None,
                };
                Ok(DeviceSession {
                    session: SessionRow {
                        token_hash: r.try_get(0)?,
                        user_id: r.try_get(1)?,
                        device_id: r.try_get(2)?,
                        device_name: r.try_get(3)?,
                        created_at: parse_ts(&created_at, "sessions.created_at")?,
                        revoked_at: revoked_at.map(|t| parse_ts(&t, "sessions.revoked_at")).transpose()?,
                        device_key: r.try_get(7)?,
                    },
                    last_seen_at: last_seen_at.map(|t| parse_ts(&t, "sessions.last_seen_at")).transpose()?,
                    last_sync,
                })
            })
            .collect()
    }

    async fn record_sync(&self, token_hash: &str, sync: LastSync) -> Result<()> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "UPDATE sessions SET last_sync_at = $2, pending = $3
                 WHERE token_hash = $1 AND (last_sync_at IS NULL OR last_sync_at <= $2)",
            )
            .await?;
        c.execute(&stmt, &[&token_hash, &ts(sync.at), &to_sql_int(sync.pending, "sessions.pending")?]).await?;
        Ok(())
    }

    async fn touch_session(&self, token_hash: &str, at: DateTime<Utc>) -> Result<()> {
        let c = self.client().await?;
        // Never backwards (two touches may land out of order).
        let stmt = c
            .prepare_cached(
                "UPDATE sessions SET last_seen_at = $2
                 WHERE token_hash = $1 AND (last_seen_at IS NULL OR last_seen_at < $2)",
            )
            .await?;
        c.execute(&stmt, &[&token_hash, &ts(at)]).await?;
        Ok(())
    }

    async fn login_failures(&self, username: &str) -> Result<Option<(u32, DateTime<Utc>)>> {
        let c = self.client().await?;
        let stmt = c.prepare_cached("SELECT failures, last_failure_at FROM login_failures WHERE username = $1").await?;
        let Some(r) = c.query_opt(&stmt, &[&username]).await? else { return Ok(None) };
        let at: String = r.try_get(1)?;
        Ok(Some((failures_from(r.try_get(0)?)?, parse_ts(&at, "login_failures.at")?)))
    }

    async fn record_login_failure(&self, username: &str, at: DateTime<Utc>) -> Result<u32> {
        let c = self.client().await?;
        // One statement: concurrent failures each count.
        let stmt = c
            .prepare_cached(
                "INSERT INTO login_failures (username, failures, last_failure_at) VALUES ($1, 1, $2)
                 ON CONFLICT (username) DO UPDATE
                 SET failures = login_failures.failures + 1, last_failure_at = excluded.last_failure_at
                 RETURNING failures",
            )
            .await?;
        failures_from(c.query_one(&stmt, &[&username, &ts(at)]).await?.try_get(0)?)
    }

    async fn clear_login_failures(&self, username: &str) -> Result<()> {
        let c = self.client().await?;
        let stmt = c.prepare_cached("DELETE FROM login_failures WHERE username = $1").await?;
        c.execute(&stmt, &[&username]).await?;
        Ok(())
    }
}
