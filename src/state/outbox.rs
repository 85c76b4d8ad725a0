//! The outbox: notifications are written here (in the same transaction as
//! the state change that caused them) before any send, and removed only
//! after the channel confirms. A crash loses none; the only duplicate window
//! is a crash between a channel's confirmation and the removal.
//!
//! Order: a channel's rows are read oldest first (by id) whatever their
//! retry history; backing off after a failure is the dispatcher's, per
//! channel, so a channel that answers again delivers in the order queued.

use crate::domain::Channel;
use jiff::Timestamp;
use rusqlite::{params, Connection};

use super::{from_millis, to_millis, Result, Store, StoreError};
use crate::domain::{Delivery, RecipientProgress};

#[derive(Clone, Debug)]
pub struct OutboxItem {
    pub id: i64,
    pub channel: Channel,
    pub delivery: Delivery,
    pub created_at: Timestamp,
    pub attempts: u32,
    /// Recipients already reached or refused by earlier attempts.
    pub progress: RecipientProgress,
}

/// A queued row that cannot be turned back into a delivery (written by an
/// older Sena, or damaged). It must not block the rows behind it: the
/// dispatcher quarantines it and says so.
#[derive(Clone, Debug, PartialEq)]
pub struct Unreadable {
    pub id: i64,
    pub channel: Channel,
    /// Why it cannot be read.
    pub reason: String,
    /// Whatever could still be read of it, for the message that says it was
    /// lost: rollout, kind, verdict, traffic.
    pub salvage: Salvage,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Salvage {
    pub rollout: Option<String>,
    pub kind: Option<String>,
    pub verdict: Option<String>,
    pub traffic: Option<String>,
}

impl Salvage {
    /// Reads what it can: from the parsed JSON when it parses, else by
    /// looking for `"field":"text"` in what is left of a damaged row.
    fn from_json(json: &str) -> Salvage {
        let parsed = serde_json::from_str::<serde_json::Value>(json).ok();
        let field = |name: &str| {
            let text = match &parsed {
                Some(v) => v
                    .get("advisory")
                    .and_then(|a| a.get(name))
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                None => scan_string_field(json, name),
            };
            text.map(|s| s.chars().take(200).collect::<String>())
        };
        Salvage {
            rollout: field("rollout"),
            kind: field("kind"),
            verdict: field("verdict"),
            traffic: field("traffic"),
        }
    }
}

/// The first `"name":"value"` in damaged JSON text (no escapes in value).
fn scan_string_field(json: &str, name: &str) -> Option<String> {
    let key = format!("\"{name}\":\"");
    let start = json.find(&key)? + key.len();
    let rest = &json[start..];
    let end = rest.find(['"', '\\'])?;
    Some(rest[..end].to_string())
}

fn read_progress(json: Option<&str>) -> std::result::Result<RecipientProgress, String> {
    json.map(serde_json::from_str)
        .transpose()
        .map(Option::unwrap_or_default)
        .map_err(|e| format!("its per-recipient progress is not readable JSON: {e}"))
}

/// One read of a channel's due rows: the readable ones in order, and the
/// ones to quarantine.
#[derive(Debug, Default)]
pub struct Due {
    pub items: Vec<OutboxItem>,
    pub unreadable: Vec<Unreadable>,
}

/// What waits on one channel.
#[derive(Clone, Debug, PartialEq)]
pub struct Waiting {
    pub oldest_id: i64,
    pub oldest_created_at: Timestamp,
    pub depth: i64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct OutboxStats {
    /// Waiting to be sent (not given up on).
    pub depth: i64,
    pub oldest_created_at: Option<Timestamp>,
    /// Permanently failed, kept for inspection.
    pub failed: i64,
}

pub(super) fn enqueue(
    tx: &Connection,
    channel: Channel,
    d: &Delivery,
    now: Timestamp,
) -> Result<()> {
    let json = serde_json::to_string(d).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    // The same key queued twice (a retried commit) is one notification.
    tx.prepare_cached(
        "INSERT OR IGNORE INTO outbox (dedup_key, channel, delivery, created_at, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?4)",
    )?
    .execute(params![
        d.dedup_key.as_str(),
        channel.as_str(),
        json,
        to_millis(now)
    ])?;
    Ok(())
}

impl Store {
    /// Queues deliveries outside an evaluation (acknowledgements, fallbacks).
    pub fn enqueue(&self, items: &[(Channel, Delivery)], now: Timestamp) -> Result<()> {
        let conn = self.conn();
        super::in_transaction(&conn, |tx| {
            for (channel, d) in items {
                enqueue(tx, *channel, d, now)?;
            }
            Ok(())
        })
    }

    /// The oldest `limit` waiting items of one channel, by id. A row that
    /// cannot be read is returned apart (see [`Unreadable`]), never as an
    /// error for the whole batch: one bad row must not stop the queue.
    pub fn due(&self, channel: Channel, limit: usize) -> Result<Due> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id, channel, delivery, created_at, attempts, progress FROM outbox
             WHERE channel = ?1 AND failed = 0
             ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![channel.as_str(), limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })?;
        let mut due = Due::default();
        for row in rows {
            // Rows are read by channel: the column says what we asked for.
            let (id, _, json, created, attempts, progress) = row?;
            let parsed = serde_json::from_str::<Delivery>(&json)
                .map_err(|e| format!("the queued message is not readable JSON: {e}"))
                .and_then(|d| {
                    from_millis(created)
                        .map(|t| (d, t))
                        .map_err(|e| e.to_string())
                })
                .and_then(|(d, t)| {
                    // Unreadable progress cannot say who already has the
                    // message: quarantine (and say so) rather than guess.
                    read_progress(progress.as_deref()).map(|p| (d, t, p))
                });
            match parsed {
                Ok((delivery, created_at, progress)) => due.items.push(OutboxItem {
                    id,
                    channel,
                    delivery,
                    created_at,
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                    progress,
                }),
                Err(reason) => due.unreadable.push(Unreadable {
                    id,
                    channel,
                    reason,
                    salvage: Salvage::from_json(&json),
                }),
            }
        }
        Ok(due)
    }

    pub fn mark_sent(&self, id: i64) -> Result<()> {
        self.conn()
            .execute("DELETE FROM outbox WHERE id = ?1", [id])?;
        Ok(())
    }

    /// One more failed attempt: `next_attempt_at` says when the channel
    /// tries again (for people reading the table), `progress` who already
    /// has the message, so the retry, even after a restart, skips them.
    pub fn mark_retry(
        &self,
        id: i64,
        next_attempt_at: Timestamp,
        error: &str,
        progress: &RecipientProgress,
    ) -> Result<()> {
        let progress = (!progress.is_empty())
            .then(|| serde_json::to_string(progress))
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.conn().execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3, progress = ?4 WHERE id = ?1",
            params![id, to_millis(next_attempt_at), error, progress],
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

    /// A channel's oldest waiting row (id and when it was queued) and how
    /// many wait, for telling a stuck channel from a busy one.
    pub fn oldest_waiting(&self, channel: Channel) -> Result<Option<Waiting>> {
        let (oldest, created_at, depth): (Option<i64>, Option<i64>, i64) = self.conn().query_row(
            "SELECT MIN(id), MIN(created_at), COUNT(*) FROM outbox WHERE channel = ?1 AND failed = 0",
            [channel.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        match (oldest, created_at) {
            (Some(id), Some(at)) => Ok(Some(Waiting {
                oldest_id: id,
                oldest_created_at: from_millis(at)?,
                depth,
            })),
            _ => Ok(None),
        }
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
