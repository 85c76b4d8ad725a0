//! Signed Slack requests already used. Slack signs `v0:{timestamp}:{body}`
//! and Sena accepts a timestamp within 300 s of its clock, so a captured
//! request verifies for that whole window: a GO that was refused ("baked
//! 2 s of 6 s") would succeed if sent again ten seconds later. Every
//! verified interaction, acted on or refused, is remembered here by the
//! SHA-256 of its signature until its timestamp leaves the window, and a
//! second use is refused. In the store, not in memory, so a restart does
//! not reopen the window.

use jiff::Timestamp;
use rusqlite::params;

use super::{to_millis, Result, Store};

impl Store {
    /// Records the first use of the request whose signature hashes to
    /// `digest`, signed at `signed_at`; `false` when it was used before.
    /// Entries signed before `now - window` are dropped on the way: such a
    /// request is refused as stale before it gets here.
    pub fn first_use_of_signature(
        &self,
        digest: &[u8; 32],
        signed_at: Timestamp,
        now: Timestamp,
        window: std::time::Duration,
    ) -> Result<bool> {
        let conn = self.conn();
        let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        let oldest = to_millis(now).saturating_sub(window_ms);
        conn.prepare_cached("DELETE FROM slack_seen WHERE signed_at < ?1")?
            .execute([oldest])?;
        let inserted = conn
            .prepare_cached("INSERT OR IGNORE INTO slack_seen (digest, signed_at) VALUES (?1, ?2)")?
            .execute(params![&digest[..], to_millis(signed_at)])?;
        Ok(inserted == 1)
    }

    /// How many signatures are remembered (tests, pruning).
    #[cfg(test)]
    pub(crate) fn remembered_signatures(&self) -> Result<i64> {
        Ok(self
            .conn()
            .query_row("SELECT COUNT(*) FROM slack_seen", [], |r| r.get(0))?)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const WINDOW: Duration = Duration::from_secs(300);

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    #[test]
    fn a_signature_is_used_once_and_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let first = [7u8; 32];
        {
            let store = Store::open(dir.path()).unwrap();
            assert!(store
                .first_use_of_signature(&first, at(0), at(0), WINDOW)
                .unwrap());
            assert!(!store
                .first_use_of_signature(&first, at(0), at(10), WINDOW)
                .unwrap());
            assert!(store
                .first_use_of_signature(&[8u8; 32], at(0), at(10), WINDOW)
                .unwrap());
        }
        let reopened = Store::open(dir.path()).unwrap();
        assert!(
            !reopened
                .first_use_of_signature(&first, at(0), at(299), WINDOW)
                .unwrap(),
            "a restart must not reopen the window"
        );
    }

    #[test]
    fn entries_are_pruned_once_their_timestamp_leaves_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .first_use_of_signature(&[1u8; 32], at(0), at(0), WINDOW)
            .unwrap();
        // Signed 300 s in the future (allowed skew): kept until then + 300 s.
        store
            .first_use_of_signature(&[2u8; 32], at(300), at(0), WINDOW)
            .unwrap();
        store
            .first_use_of_signature(&[3u8; 32], at(300), at(300), WINDOW)
            .unwrap();
        assert_eq!(store.remembered_signatures().unwrap(), 3);
        store
            .first_use_of_signature(&[4u8; 32], at(301), at(301), WINDOW)
            .unwrap();
        assert_eq!(
            store.remembered_signatures().unwrap(),
            3,
            "only the entry signed at 0 left the window"
        );
        assert!(!store
            .first_use_of_signature(&[2u8; 32], at(300), at(600), WINDOW)
            .unwrap());
    }
}
