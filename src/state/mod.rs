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

mod dataset;
mod decisions;
mod handle;
mod incidents;
mod journal;
mod lock;
mod outbox;
mod replay;
mod rollouts;
mod schema;

pub use crate::domain::{Incident, RolloutMemory};
pub use dataset::{NextGo, DECISION_PAGE};
pub use decisions::{DecisionCommit, DecisionState};
pub use handle::StoreHandle;
pub use journal::JournalQuery;
pub use lock::StateLock;
pub use outbox::{Due, OutboxItem, OutboxStats, Salvage, Unreadable, Waiting};
pub use rollouts::{EvaluationCommit, RolloutState};

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
    #[error("the state store's thread has stopped")]
    Stopped,
    /// Another state change of the rollout committed first; recompute.
    #[error("rollout {rollout} changed meanwhile")]
    Conflict { rollout: String },
    #[error("state store {p} is damaged ({detail}). Sena will not run on it. Stop every sena that uses it, move the file aside with its -wal and -shm files (`mv {p} {p}.damaged`, likewise `{p}-wal` and `{p}-shm`) and start again: Sena then starts with an empty store, so every rollout starts again at its first stage, and open incidents, breach start times, queued notifications and the decision journal stay only in the moved file (readable with sqlite3)", p = path.display())]
    Damaged { path: PathBuf, detail: String },
    #[error("another sena (pid {pid}) is running on {}; one state directory takes one daemon (read-only verbs such as `sena eval`, `journal` and `roster` still work)", dir.display())]
    Locked { dir: PathBuf, pid: String },
    #[error("cannot lock the state directory {}: {source}", dir.display())]
    Lock {
        dir: PathBuf,
        source: std::io::Error,
    },
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
        schema::prepare(&conn).map_err(|source| match source.sqlite_error_code() {
            // Not a database, or its first pages torn: the same advice as
            // a failed integrity check.
            Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => {
                StoreError::Damaged {
                    path,
                    detail: source.to_string(),
                }
            }
            _ => StoreError::Open { path, source },
        })?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    /// Moves the write-ahead log into the database file, as closing the
    /// last connection would; called at a clean shutdown, since the store's
    /// thread may outlive the daemon's tasks until the process exits.
    pub fn checkpoint(&self) -> Result<()> {
        self.conn()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// `PRAGMA quick_check`: a daemon refuses to start on a damaged file
    /// rather than run blind on what it can still read.
    pub fn check_integrity(&self, dir: &Path) -> Result<()> {
        let path = dir.join("sena.db");
        let damaged = |detail: String| StoreError::Damaged {
            path: path.clone(),
            detail,
        };
        let conn = self.conn();
        let mut stmt = conn
            .prepare("PRAGMA quick_check(5)")
            .map_err(|e| damaged(e.to_string()))?;
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect())
            .map_err(|e| damaged(e.to_string()))?;
        if rows.len() == 1 && rows[0] == "ok" {
            return Ok(());
        }
        Err(damaged(format!("quick_check: {}", rows.join("; "))))
    }

    /// Fault injection for tests: every write fails (`SQLITE_READONLY`)
    /// while on, as on a full disk; reads keep working.
    #[cfg(test)]
    pub(crate) fn fail_writes(&self, on: bool) {
        self.conn()
            .pragma_update(None, "query_only", on)
            .expect("set query_only");
    }

    /// Raw SQL for tests that damage rows by hand.
    #[cfg(test)]
    pub(crate) fn execute_for_tests(&self, sql: &str) {
        self.conn().execute_batch(sql).expect("test SQL");
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
