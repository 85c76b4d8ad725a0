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
    pub fn prune_journal(&self, before: Timestamp, keep: usize) -> Result<usize> {
        let conn = self.conn();
        let mut n = conn.execute("DELETE FROM journal WHERE at < ?1", [to_millis(before)])?;
        n += conn.execute(
            "DELETE FROM journal WHERE id <= (SELECT MAX(id) FROM journal) - ?1",
            [keep as i64],
        )?;
        Ok(n)
    }
}
