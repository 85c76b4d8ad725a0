//! One daemon per state directory. Two daemons on one store both escalate
//! the same incidents and page twice; SQLite's own locking keeps the file
//! consistent but cannot stop that. `sena run` holds an exclusive `flock` on
//! `<state.path>/sena.lock` for its whole life (the kernel drops it when the
//! process dies, even by kill -9, so a stale lock never blocks a restart);
//! read-only verbs never take it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::{Result, StoreError};

/// Held for the daemon's life; dropping it releases the lock.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

impl StateLock {
    /// Takes the lock or says which process holds it.
    pub fn acquire(dir: &Path) -> Result<StateLock> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let lock_err = |source| StoreError::Lock {
            dir: dir.to_path_buf(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join("sena.lock"))
            .map_err(lock_err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let pid = pid.trim();
                return Err(StoreError::Locked {
                    dir: dir.to_path_buf(),
                    pid: if pid.is_empty() {
                        "unknown".into()
                    } else {
                        pid.chars().take(20).collect()
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(lock_err(e)),
        }
        // The pid is for the message above only; the lock is the flock.
        file.set_len(0).map_err(lock_err)?;
        file.seek(SeekFrom::Start(0)).map_err(lock_err)?;
        writeln!(file, "{}", std::process::id()).map_err(lock_err)?;
        file.sync_all().map_err(lock_err)?;
        Ok(StateLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_pid_and_a_drop_releases() {
        let dir = tempfile::tempdir().unwrap();
        let first = StateLock::acquire(dir.path()).unwrap();
        // flock locks belong to the open file description: a second open in
        // the same process conflicts just as another process would.
        let err = StateLock::acquire(dir.path()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("another sena (pid {})", std::process::id())),
            "{text}"
        );
        assert!(text.contains(&dir.path().display().to_string()), "{text}");
        drop(first);
        StateLock::acquire(dir.path()).expect("free again once dropped");
    }
}
