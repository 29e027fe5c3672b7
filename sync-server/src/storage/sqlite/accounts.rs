//! Accounts and device sessions in SQLite. Adding a user, or changing one's role or scope,
//! bumps the reference revision: devices show users' names from the reference data.

use super::{SqliteStorage, corrupt, from_sql_int, parse_ts, to_sql_int, ts};
use crate::storage::{Account, AccountStore, DeviceSession, LastSync, Result, SessionRow, StorageError, User};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gridwork_core::model::Role;
use rusqlite::{Connection, OptionalExtension, params};

const USER_COLS: &str = "id, username, display_name, role, scope, password_hash, created_at";

type UserTuple = (String, String, String, String, String, String, String);

fn user_from_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<UserTuple> {
    Ok((r.get(at)?, r.get(at + 1)?, r.get(at + 2)?, r.get(at + 3)?, r.get(at + 4)?, r.get(at + 5)?, r.get(at + 6)?))
}

fn user_from_tuple(t: UserTuple) -> Result<User> {
    let (id, username, display_name, role, scope, password_hash, created_at) = t;
    Ok(User {
        id,
        username,
        display_name,
        role: Role::parse(&role).ok_or_else(|| corrupt("users.role"))?,
        scope,
        password_hash,
        created_at: parse_ts(&created_at, "users.created_at")?,
    })
}

fn user_where(conn: &Connection, column: &str, value: &str) -> Result<Option<User>> {
    let sql = format!("SELECT {USER_COLS} FROM users WHERE {column} = ?1");
    let t = conn.prepare_cached(&sql)?.query_row([value], |r| user_from_row(r, 0)).optional()?;
    t.map(user_from_tuple).transpose()
}

fn accounts_where(conn: &Connection, filter: &str, value: Option<&str>) -> Result<Vec<Account>> {
    let sql = format!("SELECT {USER_COLS}, disabled_at FROM users {filter} ORDER BY username");
    let mut stmt = conn.prepare_cached(&sql)?;
    let map = |r: &rusqlite::Row<'_>| Ok((user_from_row(r, 0)?, r.get::<_, Option<String>>(7)?));
    let rows = match value {
        Some(v) => stmt.query_map([v], map)?.collect::<rusqlite::Result<Vec<_>>>()?,
        None => stmt.query_map([], map)?.collect::<rusqlite::Result<Vec<_>>>()?,
    };
    rows.into_iter()
        .map(|(u, disabled)| {
            let disabled_at = disabled.map(|d| parse_ts(&d, "users.disabled_at")).transpose()?;
            Ok(Account { user: user_from_tuple(u)?, disabled_at })
        })
        .collect()
}

fn user_exists(conn: &Connection, user_id: &str) -> Result<bool> {
    Ok(conn.prepare_cached("SELECT 1 FROM users WHERE id = ?1")?.query_row([user_id], |_| Ok(())).optional()?.is_some())
}

/// Revoke every live session of `user_id` at `at`; how many.
fn revoke_all(conn: &Connection, user_id: &str, at: DateTime<Utc>) -> Result<u64> {
    let n = conn
        .prepare_cached("UPDATE sessions SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL")?
        .execute(params![user_id, ts(at)])?;
    Ok(n as u64)
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

fn count(conn: &Connection, sql: &str) -> Result<u64> {
    from_sql_int(conn.prepare_cached(sql)?.query_row([], |r| r.get(0))?, "count")
}

#[async_trait]
impl AccountStore for SqliteStorage {
    async fn insert_user(&self, user: User) -> Result<()> {
        self.write(move |conn| {
            let tx = conn.transaction()?;
            let sql = format!("INSERT INTO users ({USER_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
            let inserted = tx.prepare_cached(&sql)?.execute(params![
                user.id,
                user.username,
                user.display_name,
                user.role.as_str(),
                user.scope,
                user.password_hash,
                ts(user.created_at),
            ]);
            match inserted {
                Err(e) if is_unique_violation(&e) => return Err(StorageError::DuplicateUsername),
                other => other?,
            };
            super::reference::bump_reference_rev(&tx)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        let username = username.to_owned();
        self.read(move |conn| user_where(conn, "username", &username)).await
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        let id = id.to_owned();
        self.read(move |conn| user_where(conn, "id", &id)).await
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        self.read(|conn| {
            let sql = format!("SELECT {USER_COLS} FROM users ORDER BY username");
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map([], |r| user_from_row(r, 0))?.collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().map(user_from_tuple).collect()
        })
        .await
    }

    async fn count_users(&self) -> Result<u64> {
        self.read(|conn| count(conn, "SELECT COUNT(*) FROM users")).await
    }

    async fn create_session(&self, s: SessionRow) -> Result<()> {
        self.write(move |conn| {
            let tx = conn.transaction()?;
            tx.prepare_cached("UPDATE sessions SET revoked_at = ?2 WHERE device_id = ?1 AND revoked_at IS NULL")?
                .execute(params![s.device_id, ts(s.created_at)])?;
            tx.prepare_cached(
                "INSERT INTO sessions (token_hash, user_id, device_id, device_name, created_at, revoked_at, device_key)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                s.token_hash,
                s.user_id,
                s.device_id,
                s.device_name,
                ts(s.created_at),
                s.revoked_at.map(ts),
                s.device_key
            ])?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn find_live_session(&self, token_hash: &str) -> Result<Option<(SessionRow, User)>> {
        let token_hash = token_hash.to_owned();
        self.read(move |conn| {
            let sql = format!(
                "SELECT s.token_hash, s.user_id, s.device_id, s.device_name, s.created_at, s.device_key, u.{}
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = ?1 AND s.revoked_at IS NULL AND u.disabled_at IS NULL",
                USER_COLS.replace(", ", ", u.")
            );
            let row = conn
                .prepare_cached(&sql)?
                .query_row([&token_hash], |r| {
                    let session: (String, String, String, Option<String>, String, Option<String>) =
                        (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?);
                    Ok((session, user_from_row(r, 6)?))
                })
                .optional()?;
            let Some(((token_hash, user_id, device_id, device_name, created_at, device_key), user)) = row else {
                return Ok(None);
            };
            let created_at = parse_ts(&created_at, "sessions.created_at")?;
            let session = SessionRow { token_hash, user_id, device_id, device_name, created_at, revoked_at: None, device_key };
            Ok(Some((session, user_from_tuple(user)?)))
        })
        .await
    }

    async fn revoke_session(&self, token_hash: &str) -> Result<bool> {
        let token_hash = token_hash.to_owned();
        self.write(move |conn| {
            let n = conn
                .prepare_cached("UPDATE sessions SET revoked_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL")?
                .execute(params![token_hash, ts(Utc::now())])?;
            Ok(n > 0)
        })
        .await
    }

    async fn revoke_user_sessions(&self, user_id: &str, device_id: Option<&str>) -> Result<u64> {
        let user_id = user_id.to_owned();
        let device_id = device_id.map(str::to_owned);
        self.write(move |conn| {
            let n = conn
                .prepare_cached(
                    "UPDATE sessions SET revoked_at = ?3
                     WHERE user_id = ?1 AND (?2 IS NULL OR device_id = ?2) AND revoked_at IS NULL",
                )?
                .execute(params![user_id, device_id, ts(Utc::now())])?;
            Ok(n as u64)
        })
        .await
    }

    async fn count_live_sessions(&self) -> Result<u64> {
        self.read(|conn| count(conn, "SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL")).await
    }

    async fn list_accounts(&self) -> Result<Vec<Account>> {
        self.read(|conn| accounts_where(conn, "", None)).await
    }

    async fn account_by_username(&self, username: &str) -> Result<Option<Account>> {
        let username = username.to_owned();
        self.read(move |conn| Ok(accounts_where(conn, "WHERE username = ?1", Some(&username))?.pop())).await
    }

    async fn set_disabled(&self, user_id: &str, at: Option<DateTime<Utc>>) -> Result<Option<u64>> {
        let user_id = user_id.to_owned();
        self.write(move |conn| {
            let tx = conn.transaction()?;
            if !user_exists(&tx, &user_id)? {
                return Ok(None);
            }
            let revoked = match at {
                Some(at) => {
                    // An account disabled earlier keeps the time it was first disabled.
                    tx.prepare_cached("UPDATE users SET disabled_at = COALESCE(disabled_at, ?2) WHERE id = ?1")?
                        .execute(params![user_id, ts(at)])?;
                    revoke_all(&tx, &user_id, at)?
                }
                None => {
                    // A session stored while it was disabled (a sign-in racing with the
                    // disabling) was never live, and does not come alive now.
                    let racing = revoke_all(&tx, &user_id, Utc::now())?;
                    tx.prepare_cached("UPDATE users SET disabled_at = NULL WHERE id = ?1")?.execute([&user_id])?;
                    racing
                }
            };
            tx.commit()?;
            Ok(Some(revoked))
        })
        .await
    }

    async fn set_role_scope(&self, user_id: &str, role: Role, scope: &str, at: DateTime<Utc>) -> Result<Option<u64>> {
        let (user_id, scope) = (user_id.to_owned(), scope.to_owned());
        self.write(move |conn| {
            let tx = conn.transaction()?;
            let n = tx.prepare_cached("UPDATE users SET role = ?2, scope = ?3 WHERE id = ?1")?.execute(params![
                user_id,
                role.as_str(),
                scope
            ])?;
            if n == 0 {
                return Ok(None);
            }
            let revoked = revoke_all(&tx, &user_id, at)?;
            super::reference::bump_reference_rev(&tx)?;
            tx.commit()?;
            Ok(Some(revoked))
        })
        .await
    }

    async fn device_sessions(&self, user_id: Option<&str>) -> Result<Vec<DeviceSession>> {
        let user_id = user_id.map(str::to_owned);
        self.read(move |conn| {
            // The newest session of each (account, device); a live one first among equals.
            let mut stmt = conn.prepare_cached(
                "SELECT token_hash, user_id, device_id, device_name, created_at, revoked_at, last_seen_at, device_key,
                        last_sync_at, pending FROM (
                     SELECT *, ROW_NUMBER() OVER (
                         PARTITION BY user_id, device_id
                         ORDER BY created_at DESC, revoked_at IS NULL DESC, token_hash
                     ) AS n
                     FROM sessions WHERE ?1 IS NULL OR user_id = ?1
                 ) WHERE n = 1
                 ORDER BY created_at DESC, user_id, device_id",
            )?;
            type Tuple = (String, String, String, Option<String>, String, Option<String>, Option<String>, Option<String>);
            type Synced = (Option<String>, Option<i64>);
            let rows = stmt
                .query_map([&user_id], |r| -> rusqlite::Result<(Tuple, Synced)> {
                    Ok((
                        (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?),
                        (r.get(8)?, r.get(9)?),
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(
                    |(
                        (token_hash, user_id, device_id, device_name, created_at, revoked_at, last_seen_at, device_key),
                        synced,
                    )| {
                        let last_sync = match synced {
                            (Some(at), Some(pending)) => Some(LastSync {
                                at: parse_ts(&at, "sessions.last_sync_at")?,
                                pending: from_sql_int(pending, "sessions.pending")?,
                            }),
                            _ => None,
                        };
                        Ok(DeviceSession {
                            session: SessionRow {
                                token_hash,
                                user_id,
                                device_id,
                                device_name,
                                created_at: parse_ts(&created_at, "sessions.created_at")?,
                                revoked_at: revoked_at.map(|t| parse_ts(&t, "sessions.revoked_at")).transpose()?,
                                device_key,
                            },
                            last_seen_at: last_seen_at.map(|t| parse_ts(&t, "sessions.last_seen_at")).transpose()?,
                            last_sync,
                        })
                    },
                )
                .collect()
        })
        .await
    }

    async fn record_sync(&self, token_hash: &str, sync: LastSync) -> Result<()> {
        let token_hash = token_hash.to_owned();
        self.write(move |conn| {
            conn.prepare_cached(
                "UPDATE sessions SET last_sync_at = ?2, pending = ?3
                 WHERE token_hash = ?1 AND (last_sync_at IS NULL OR last_sync_at <= ?2)",
            )?
            .execute(params![token_hash, ts(sync.at), to_sql_int(sync.pending, "sessions.pending")?])?;
            Ok(())
        })
        .await
    }

    async fn touch_session(&self, token_hash: &str, at: DateTime<Utc>) -> Result<()> {
        let token_hash = token_hash.to_owned();
        self.write(move |conn| {
            // Never backwards (two touches may land out of order).
            conn.prepare_cached(
                "UPDATE sessions SET last_seen_at = ?2
                 WHERE token_hash = ?1 AND (last_seen_at IS NULL OR last_seen_at < ?2)",
            )?
            .execute(params![token_hash, ts(at)])?;
            Ok(())
        })
        .await
    }

    async fn login_failures(&self, username: &str) -> Result<Option<(u32, DateTime<Utc>)>> {
        let username = username.to_owned();
        self.read(move |conn| {
            let row: Option<(i64, String)> = conn
                .prepare_cached("SELECT failures, last_failure_at FROM login_failures WHERE username = ?1")?
                .query_row([&username], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            row.map(|(n, at)| {
                Ok((u32::try_from(n).map_err(|_| corrupt("login_failures.failures"))?, parse_ts(&at, "login_failures.at")?))
            })
            .transpose()
        })
        .await
    }

    async fn record_login_failure(&self, username: &str, at: DateTime<Utc>) -> Result<u32> {
        let username = username.to_owned();
        self.write(move |conn| {
            let n: i64 = conn
                .prepare_cached(
                    "INSERT INTO login_failures (username, failures, last_failure_at) VALUES (?1, 1, ?2)
                     ON CONFLICT (username) DO UPDATE SET failures = failures + 1, last_failure_at = excluded.last_failure_at
                     RETURNING failures",
                )?
                .query_row(params![username, ts(at)], |r| r.get(0))?;
            u32::try_from(n).map_err(|_| corrupt("login_failures.failures"))
        })
        .await
    }

    async fn clear_login_failures(&self, username: &str) -> Result<()> {
        let username = username.to_owned();
        self.write(move |conn| {
            conn.prepare_cached("DELETE FROM login_failures WHERE username = ?1")?.execute([&username])?;
            Ok(())
        })
        .await
    }
}
