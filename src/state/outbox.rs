//! The outbox: notifications are written here (in the same transaction as
//! the state change that caused them) before any send, and removed only
//! after the channel confirms. A crash loses none; the only duplicate window
//! is a crash between a channel's confirmation and the removal.

use jiff::Timestamp;
use rusqlite::{params, Connection};

use super::{from_millis, to_millis, Result, Store, StoreError};
use crate::notify::Delivery;

#[derive(Clone, Debug)]
pub struct OutboxItem {
    pub id: i64,
    pub channel: String,
    pub delivery: Delivery,
    pub created_at: Timestamp,
    pub attempts: u32,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct OutboxStats {
    /// Waiting to be sent (not given up on).
    pub depth: i64,
    pub oldest_created_at: Option<Timestamp>,
    /// Permanently failed, kept for inspection.
    pub failed: i64,
}

pub(super) fn enqueue(tx: &Connection, channel: &str, d: &Delivery, now: Timestamp) -> Result<()> {
    let json = serde_json::to_string(d).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    // The same key queued twice (a retried commit) is one notification.
    tx.prepare_cached(
        "INSERT OR IGNORE INTO outbox (dedup_key, channel, delivery, created_at, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?4)",
    )?
    .execute(params![d.dedup_key, channel, json, to_millis(now)])?;
    Ok(())
}

impl Store {
    /// Queues deliveries outside an evaluation (acknowledgements, fallbacks).
    pub fn enqueue(&self, items: &[(&str, Delivery)], now: Timestamp) -> Result<()> {
        let conn = self.conn();
        super::in_transaction(&conn, |tx| {
            for (channel, d) in items {
                enqueue(tx, channel, d, now)?;
            }
            Ok(())
        })
    }

    /// Items of one channel due at `now`, oldest first.
    pub fn due(&self, channel: &str, now: Timestamp, limit: usize) -> Result<Vec<OutboxItem>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id, channel, delivery, created_at, attempts FROM outbox
             WHERE channel = ?1 AND failed = 0 AND next_attempt_at <= ?2
             ORDER BY id LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![channel, to_millis(now), limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?;
        let mut items = Vec::new();
        for row in rows {
            let (id, channel, json, created, attempts) = row?;
            let delivery: Delivery = serde_json::from_str(&json)
                .map_err(|e| StoreError::Corrupt(format!("outbox item {id}: {e}")))?;
            items.push(OutboxItem {
                id,
                channel,
                delivery,
                created_at: from_millis(created)?,
                attempts: attempts as u32,
            });
        }
        Ok(items)
    }

    /// When the next item of a channel becomes due, if any is waiting.
    pub fn next_due_at(&self, channel: &str) -> Result<Option<Timestamp>> {
        let ms: Option<i64> = self.conn().query_row(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE channel = ?1 AND failed = 0",
            [channel],
            |r| r.get(0),
        )?;
        ms.map(from_millis).transpose()
    }

    pub fn mark_sent(&self, id: i64) -> Result<()> {
        self.conn()
            .execute("DELETE FROM outbox WHERE id = ?1", [id])?;
        Ok(())
    }

    pub fn mark_retry(&self, id: i64, next_attempt_at: Timestamp, error: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3 WHERE id = ?1",
            params![id, to_millis(next_attempt_at), error],
        )?;
        Ok(())
    }

    /// Gives up on an item; it stays in the table, counted as failed.
    pub fn mark_failed(&self, id: i64, error: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE outbox SET attempts = attempts + 1, failed = 1, last_error = ?2 WHERE id = ?1",
            params![id, error],
        )?;
        Ok(())
    }

    pub fn outbox_stats(&self) -> Result<OutboxStats> {
        let (depth, oldest, failed): (i64, Option<i64>, i64) = self.conn().query_row(
            "SELECT COALESCE(SUM(failed = 0), 0), MIN(CASE WHEN failed = 0 THEN created_at END), COALESCE(SUM(failed = 1), 0) FROM outbox",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        Ok(OutboxStats {
            depth,
            oldest_created_at: oldest.map(from_millis).transpose()?,
            failed,
        })
    }
}
