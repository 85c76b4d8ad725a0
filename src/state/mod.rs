//! The embedded state store: stages, breach start times, verdict memory,
//! incidents, the notification outbox and the decision journal, in one
//! SQLite file (`<state.path>/sena.db`).
//!
//! Why SQLite: WAL mode with `synchronous=NORMAL` survives kill -9 at any
//! moment without corruption (a power cut may drop the last commits, never
//! tear the file), and one transaction can hold an evaluation's journal
//! record, its breach memory, its incident change and the notifications it
//! queued, so a crash can never leave a page queued for a change that was
//! not recorded, or the reverse.

mod incidents;
mod journal;
mod outbox;
mod rollouts;
mod schema;

pub use incidents::Incident;
pub use journal::JournalQuery;
pub use outbox::{OutboxItem, OutboxStats};
pub use rollouts::{EvaluationCommit, RolloutMemory};

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use jiff::Timestamp;
use rusqlite::Connection;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state store {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot create state directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state store: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("state store holds a bad record: {0}")]
    Corrupt(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// One SQLite connection behind a mutex: `Connection` is `!Sync`, writes are
/// short, and a single writer is what SQLite wants anyway.
pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (creating if missing) `<dir>/sena.db`.
    pub fn open(dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join("sena.db");
        let conn = Connection::open(&path).map_err(|source| StoreError::Open {
            path: path.clone(),
            source,
        })?;
        schema::prepare(&conn).map_err(|source| StoreError::Open { path, source })?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (the
        // transaction rolls back on drop), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Runs `f` in a transaction. `BEGIN` and `COMMIT` are cached statements:
/// `Connection::transaction()` parses them anew on every call, which the
/// benchmark's profile showed as 6% of Sena's CPU at 100 commits a second.
fn in_transaction<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    conn.prepare_cached("BEGIN")?.execute([])?;
    let outcome = f(conn).and_then(|value| {
        conn.prepare_cached("COMMIT")?.execute([])?;
        Ok(value)
    });
    if outcome.is_err() && !conn.is_autocommit() {
        // Leave nothing half-written; the error that matters is the first.
        let _ = conn.execute_batch("ROLLBACK");
    }
    outcome
}

pub(crate) fn to_millis(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub(crate) fn from_millis(ms: i64) -> Result<Timestamp> {
    Timestamp::from_millisecond(ms).map_err(|e| StoreError::Corrupt(format!("timestamp {ms}: {e}")))
}

#[cfg(test)]
mod tests;
