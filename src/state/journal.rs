//! The decision journal: one JSON record per evaluation, the raw material for
//! studying monitoring data against GO/NO-GO decisions later. Bounded by age
//! and by count so it cannot fill the disk.

use jiff::Timestamp;
use rusqlite::params;

use super::{to_millis, Result, Store};

#[derive(Clone, Debug, Default)]
pub struct JournalQuery {
    pub since: Option<Timestamp>,
    pub rollout: Option<String>,
    pub limit: Option<usize>,
}

/// Journal rows deleted per statement when pruning.
pub const PRUNE_BATCH: usize = 500;

impl Store {
    /// Records in time order, as the JSON text they were stored as.
    pub fn journal(&self, q: &JournalQuery) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT record FROM journal
             WHERE at >= ?1 AND (?2 IS NULL OR rollout = ?2)
             ORDER BY id LIMIT ?3",
        )?;
        let since = q.since.map(to_millis).unwrap_or(i64::MIN);
        let limit = q.limit.map(|l| l as i64).unwrap_or(-1);
        let rows = stmt.query_map(params![since, q.rollout, limit], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Deletes records older than `before` and beyond the newest `keep`.
    ///
    /// Deletes in batches of [`PRUNE_BATCH`], taking the connection anew for
    /// each: a first prune of a year of records must not hold every
    /// evaluation's commit behind one long `DELETE`.
    pub fn prune_journal(&self, before: Timestamp, keep: usize) -> Result<usize> {
        let mut deleted = self.delete_journal_batches(
            "DELETE FROM journal WHERE id IN
                 (SELECT id FROM journal WHERE at < ?1 ORDER BY id LIMIT ?2)",
            to_millis(before),
        )?;
        let newest: Option<i64> =
            self.conn()
                .query_row("SELECT MAX(id) FROM journal", [], |r| r.get(0))?;
        if let Some(newest) = newest {
            let cutoff = newest.saturating_sub(i64::try_from(keep).unwrap_or(i64::MAX));
            deleted += self.delete_journal_batches(
                "DELETE FROM journal WHERE id IN
                     (SELECT id FROM journal WHERE id <= ?1 ORDER BY id LIMIT ?2)",
                cutoff,
            )?;
        }
        Ok(deleted)
    }

    fn delete_journal_batches(&self, sql: &str, bound: i64) -> Result<usize> {
        let mut total = 0;
        loop {
            let n = self
                .conn()
                .prepare_cached(sql)?
                .execute(rusqlite::params![bound, PRUNE_BATCH as i64])?;
            total += n;
            if n < PRUNE_BATCH {
                return Ok(total);
            }
        }
    }
}
