//! The schema migration runner shared by the device store and the server's SQLite store:
//! numbered migrations applied over `PRAGMA user_version`, all pending ones in one
//! transaction (a failed upgrade leaves the file as it was). Never edit a released
//! migration; add the next one.

use rusqlite::{Connection, TransactionBehavior};

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("database schema version {found} is newer than this program supports ({supported})")]
    TooNew { found: u32, supported: u32 },
    #[error("migration failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// Bring `conn` up to `migrations.len()`; entry `i` moves the schema from version `i` to `i + 1`.
pub fn migrate(conn: &mut Connection, migrations: &[&str]) -> Result<(), MigrateError> {
    let supported = u32::try_from(migrations.len()).unwrap_or(u32::MAX);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: u32 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > supported {
        return Err(MigrateError::TooNew { found, supported });
    }
    for sql in &migrations[found as usize..] {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", supported)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEPS: &[&str] = &["CREATE TABLE a (x INTEGER);", "ALTER TABLE a ADD COLUMN y TEXT;"];

    fn version(c: &Connection) -> u32 {
        c.pragma_query_value(None, "user_version", |r| r.get(0)).expect("version")
    }

    #[test]
    fn applies_pending_steps_once_and_refuses_newer_files() {
        let mut c = Connection::open_in_memory().expect("open");
        migrate(&mut c, &STEPS[..1]).expect("v1");
        assert_eq!(version(&c), 1);
        migrate(&mut c, STEPS).expect("v2");
        migrate(&mut c, STEPS).expect("again: nothing to do");
        assert_eq!(version(&c), 2);
        c.execute("INSERT INTO a (x, y) VALUES (1, 'y')", []).expect("v2 schema");
        assert!(matches!(migrate(&mut c, &STEPS[..1]), Err(MigrateError::TooNew { found: 2, supported: 1 })));
    }

    #[test]
    fn a_failing_step_leaves_the_file_as_it_was() {
        let mut c = Connection::open_in_memory().expect("open");
        migrate(&mut c, &STEPS[..1]).expect("v1");
        assert!(migrate(&mut c, &[STEPS[0], "ALTER TABLE a ADD COLUMN y TEXT;", "NOT SQL"]).is_err());
        assert_eq!(version(&c), 1);
        assert!(c.execute("INSERT INTO a (x, y) VALUES (1, 'y')", []).is_err(), "step 2 rolled back too");
    }
}
