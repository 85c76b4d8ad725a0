//! GO / NO-GO in the store: the append-only `decision` table (every
//! decision and refusal, with its evidence), the NO-GO hold in force, and
//! the one transaction that commits an accepted decision with the rollout's
//! version, its stage move, its hold change and its outbox rows.

use jiff::Timestamp;
use rusqlite::{params, OptionalExtension};

use super::rollouts::{bump_version, set_stage_in};
use super::{to_millis, Result, Store, StoreError};
use crate::domain::{Channel, DecisionRecord, Delivery, Hold, Outcome, StagePosition};

/// What a decision reads, under one hold of the connection.
#[derive(Clone, Debug)]
pub struct DecisionState {
    pub stage: Option<StagePosition>,
    pub hold: Option<Hold>,
    pub last_accepted: Option<DecisionRecord>,
    pub version: i64,
}

/// An accepted decision, committed whole or not at all.
pub struct DecisionCommit<'a> {
    pub expected_version: i64,
    pub record: &'a DecisionRecord,
    /// A GO: the new stage, `changed_by` the decider.
    pub stage: Option<StagePosition>,
    /// `None`: keep the hold; `Some(None)`: clear it; `Some(Some(h))`: set it.
    pub hold: Option<Option<&'a Hold>>,
    pub outbox: &'a [(Channel, Delivery)],
}

impl Store {
    /// Stage, hold, last decision and version under one hold of the only
    /// connection, so they belong together: a stage read before another
    /// GO committed must not pair with the version after it.
    pub fn decision_state(&self, rollout: &str) -> Result<DecisionState> {
        let conn = self.conn();
        let stage: Option<(i64, i64)> = conn
            .prepare_cached("SELECT idx, started_at FROM stage WHERE rollout = ?1")?
            .query_row([rollout], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let stage = stage
            .map(|(idx, at)| {
                Ok::<_, StoreError>(StagePosition {
                    index: usize::try_from(idx)
                        .map_err(|_| StoreError::Corrupt(format!("stage {idx}")))?,
                    started_at: super::from_millis(at)?,
                })
            })
            .transpose()?;
        let version: Option<i64> = conn
            .prepare_cached("SELECT version FROM rollout_version WHERE rollout = ?1")?
            .query_row([rollout], |r| r.get(0))
            .optional()?;
        let last: Option<String> = conn
            .prepare_cached(
                "SELECT record FROM decision WHERE rollout = ?1 AND accepted = 1
                 ORDER BY id DESC LIMIT 1",
            )?
            .query_row([rollout], |r| r.get(0))
            .optional()?;
        Ok(DecisionState {
            stage,
            hold: hold_in(&conn, rollout)?,
            last_accepted: last.as_deref().map(parse_record).transpose()?,
            version: version.unwrap_or(0),
        })
    }

    /// Appends a refusal: it changes no state, so it needs no version.
    pub fn append_refusal(&self, record: &DecisionRecord) -> Result<DecisionRecord> {
        let conn = self.conn();
        super::in_transaction(&conn, |tx| insert(tx, record))
    }

    /// Commits an accepted decision; [`StoreError::Conflict`] when the
    /// rollout changed since `expected_version` (recompute and retry).
    pub fn commit_decision(&self, c: &DecisionCommit<'_>) -> Result<DecisionRecord> {
        let conn = self.conn();
        let rollout = c.record.rollout.as_str();
        super::in_transaction(&conn, |tx| {
            bump_version(tx, rollout, c.expected_version)?;
            if let Some(stage) = c.stage {
                set_stage_in(tx, rollout, stage.index, stage.started_at, &c.record.by)?;
            }
            match c.hold {
                None => {}
                Some(None) => {
                    tx.prepare_cached("DELETE FROM rollout_hold WHERE rollout = ?1")?
                        .execute([rollout])?;
                }
                Some(Some(h)) => {
                    let json = serde_json::to_string(h)
                        .map_err(|e| StoreError::Corrupt(format!("hold: {e}")))?;
                    tx.prepare_cached(
                        "INSERT INTO rollout_hold (rollout, hold) VALUES (?1, ?2)
                         ON CONFLICT (rollout) DO UPDATE SET hold = ?2",
                    )?
                    .execute(params![rollout, json])?;
                }
            }
            for (channel, delivery) in c.outbox {
                super::outbox::enqueue(tx, *channel, delivery, c.record.at)?;
            }
            insert(tx, c.record)
        })
    }

    /// Decisions, oldest first: of one rollout or all, since a time, at
    /// most `limit` (the newest ones).
    pub fn decisions(
        &self,
        rollout: Option<&str>,
        since: Option<Timestamp>,
        limit: usize,
    ) -> Result<Vec<DecisionRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT record FROM decision WHERE (?1 IS NULL OR rollout = ?1) AND at >= ?2
             ORDER BY id DESC LIMIT ?3",
        )?;
        let since = since.map_or(i64::MIN, to_millis);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![rollout, since, limit], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(parse_record(&row?)?);
        }
        out.reverse();
        Ok(out)
    }

    /// Incidents of `rollout` opened at or after `since`: the evidence's
    /// "incidents during the stage".
    pub fn incidents_since(&self, rollout: &str, since: Timestamp) -> Result<u64> {
        let n: i64 = self
            .conn()
            .prepare_cached("SELECT COUNT(*) FROM incident WHERE rollout = ?1 AND opened_at >= ?2")?
            .query_row(params![rollout, to_millis(since)], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }
}

fn insert(tx: &rusqlite::Connection, record: &DecisionRecord) -> Result<DecisionRecord> {
    let accepted = record.outcome == Outcome::Accepted;
    tx.prepare_cached(
        "INSERT INTO decision (at, rollout, accepted, record) VALUES (?1, ?2, ?3, '')",
    )?
    .execute(params![to_millis(record.at), record.rollout, accepted])?;
    // The id is part of the record, so it is written after it is known.
    let mut stored = record.clone();
    stored.id = tx.last_insert_rowid();
    let json = serde_json::to_string(&stored)
        .map_err(|e| StoreError::Corrupt(format!("decision record: {e}")))?;
    tx.prepare_cached("UPDATE decision SET record = ?1 WHERE id = ?2")?
        .execute(params![json, stored.id])?;
    Ok(stored)
}

pub(super) fn parse_record(json: &str) -> Result<DecisionRecord> {
    serde_json::from_str::<DecisionRecord>(json)
        .map(DecisionRecord::upgrade)
        .map_err(|e| StoreError::Corrupt(format!("decision record: {e}")))
}

pub(super) fn hold_in(conn: &rusqlite::Connection, rollout: &str) -> Result<Option<Hold>> {
    let json: Option<String> = conn
        .prepare_cached("SELECT hold FROM rollout_hold WHERE rollout = ?1")?
        .query_row([rollout], |r| r.get(0))
        .optional()?;
    json.map(|j| {
        serde_json::from_str(&j).map_err(|e| StoreError::Corrupt(format!("NO-GO hold: {e}")))
    })
    .transpose()
}

#[cfg(test)]
#[path = "decisions_tests.rs"]
mod tests;
