//! Accounts and device sessions in SQLite. Adding a user bumps the reference revision:
//! devices show users' names from the reference data.

use super::{SqliteStorage, corrupt, from_sql_int, parse_ts, ts};
use crate::storage::{AccountStore, Result, SessionRow, StorageError, User};
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
                "INSERT INTO sessions (token_hash, user_id, device_id, device_name, created_at, revoked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                s.token_hash,
                s.user_id,
                s.device_id,
                s.device_name,
                ts(s.created_at),
                s.revoked_at.map(ts)
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
                "SELECT s.token_hash, s.user_id, s.device_id, s.device_name, s.created_at, u.{}
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = ?1 AND s.revoked_at IS NULL",
                USER_COLS.replace(", ", ", u.")
            );
            let row = conn
                .prepare_cached(&sql)?
                .query_row([&token_hash], |r| {
                    let session: (String, String, String, Option<String>, String) =
                        (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
                    Ok((session, user_from_row(r, 5)?))
                })
                .optional()?;
            let Some(((token_hash, user_id, device_id, device_name, created_at), user)) = row else { return Ok(None) };
            let created_at = parse_ts(&created_at, "sessions.created_at")?;
            let session = SessionRow { token_hash, user_id, device_id, device_name, created_at, revoked_at: None };
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
