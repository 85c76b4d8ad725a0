//! Per-rollout memory: stage, breach starts, last verdict said, and the one
//! transaction that records an evaluation.

use crate::domain::Channel;
use jiff::Timestamp;
use rusqlite::{params, OptionalExtension};

use super::{from_millis, to_millis, Incident, Result, Store, StoreError};
use crate::domain::Delivery;
use crate::domain::{BreachMemory, RolloutMemory};
use crate::domain::{Hold, StagePosition, Verdict};

/// A rollout's state as one transition reads it: what was said, the open
/// incident, and the version both belong to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RolloutState {
    pub memory: Option<RolloutMemory>,
    pub incident: Option<Incident>,
    /// A NO-GO in force: the evaluation holds with its reason.
    pub hold: Option<Hold>,
    /// 0 before the first commit.
    pub version: i64,
}

/// Everything one state change writes, atomically, provided the rollout is
/// still at `expected_version` (else [`StoreError::Conflict`]).
pub struct EvaluationCommit<'a> {
    pub rollout: &'a str,
    /// The version the change was computed from.
    pub expected_version: i64,
    pub at: Timestamp,
    /// One JSON record for the decision journal.
    pub journal: Option<String>,
    /// Only when it changed, to keep the hot path to one small write.
    pub breaches: Option<&'a BreachMemory>,
    pub memory: Option<&'a RolloutMemory>,
    pub incident: Option<&'a Incident>,
    pub outbox: &'a [(Channel, Delivery)],
    /// A stage Sena started from memory while the store failed, to record.
    pub stage: Option<StagePosition>,
}

impl Store {
    pub fn stage(&self, rollout: &str) -> Result<Option<StagePosition>> {
        let row: Option<(i64, i64)> = self
            .conn()
            .prepare_cached("SELECT idx, started_at FROM stage WHERE rollout = ?1")?
            .query_row([rollout], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        row.map(|(idx, at)| {
            Ok(StagePosition {
                index: usize::try_from(idx).map_err(|_| StoreError::Corrupt("stage".into()))?,
                started_at: from_millis(at)?,
            })
        })
        .transpose()
    }

    /// Moves a rollout to a stage (from the CLI or API). Breach memory is kept:
    /// a breach does not end because traffic moved.
    /// A NO-GO hold ends here too: setting the stage by hand is a decision.
    pub fn set_stage(&self, rollout: &str, index: usize, at: Timestamp, by: &str) -> Result<()> {
        let conn = self.conn();
        super::in_transaction(&conn, |tx| {
            set_stage_in(tx, rollout, index, at, by)?;
            tx.execute("DELETE FROM rollout_hold WHERE rollout = ?1", [rollout])?;
            Ok(())
        })
    }

    /// The stored stage, or stage 0 starting `now` (recorded) when none is stored.
    pub fn stage_or_start(&self, rollout: &str, now: Timestamp) -> Result<StagePosition> {
        if let Some(s) = self.stage(rollout)? {
            return Ok(s);
        }
        self.conn().execute(
            "INSERT OR IGNORE INTO stage (rollout, idx, started_at, changed_by) VALUES (?1, 0, ?2, 'sena')",
            params![rollout, to_millis(now)],
        )?;
        Ok(self.stage(rollout)?.unwrap_or(StagePosition {
            index: 0,
            started_at: now,
        }))
    }

    pub fn breaches(&self, rollout: &str) -> Result<BreachMemory> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT check_name, started_at FROM breach WHERE rollout = ?1")?;
        let rows = stmt.query_map([rollout], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        let mut memory = BreachMemory::new();
        for row in rows {
            let (name, at) = row?;
            memory.insert(name, from_millis(at)?);
        }
        Ok(memory)
    }

    /// Memory, open incident and version, read under one hold of the
    /// daemon's only connection; no other process writes these rows (one
    /// daemon per state directory), so nothing commits in between and they
    /// belong together without the cost of a transaction.
    pub fn rollout_state(&self, rollout: &str) -> Result<RolloutState> {
        let conn = self.conn();
        let version: Option<i64> = conn
            .prepare_cached("SELECT version FROM rollout_version WHERE rollout = ?1")?
            .query_row([rollout], |r| r.get(0))
            .optional()?;
        Ok(RolloutState {
            memory: memory_in(&conn, rollout)?,
            incident: super::incidents::open_in(&conn, rollout)?,
            hold: super::decisions::hold_in(&conn, rollout)?,
            version: version.unwrap_or(0),
        })
    }

    pub fn memory(&self, rollout: &str) -> Result<Option<RolloutMemory>> {
        memory_in(&self.conn(), rollout)
    }

    /// Records one state change: version, journal, breach memory, verdict
    /// memory, incident and queued notifications, all or nothing; nothing
    /// when the rollout moved past `expected_version` meanwhile.
    pub fn commit_evaluation(&self, c: &EvaluationCommit<'_>) -> Result<()> {
        let conn = self.conn();
        super::in_transaction(&conn, |tx| {
            bump_version(tx, c.rollout, c.expected_version)?;
            if let Some(stage) = c.stage {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO stage (rollout, idx, started_at, changed_by) VALUES (?1, ?2, ?3, 'sena')",
                )?
                .execute(params![c.rollout, stage.index as i64, to_millis(stage.started_at)])?;
            }
            if let Some(record) = &c.journal {
                tx.prepare_cached("INSERT INTO journal (at, rollout, record) VALUES (?1, ?2, ?3)")?
                    .execute(params![to_millis(c.at), c.rollout, record])?;
            }
            if let Some(breaches) = c.breaches {
                tx.prepare_cached("DELETE FROM breach WHERE rollout = ?1")?
                    .execute([c.rollout])?;
                let mut insert = tx.prepare_cached(
                    "INSERT INTO breach (rollout, check_name, started_at) VALUES (?1, ?2, ?3)",
                )?;
                for (name, at) in breaches {
                    insert.execute(params![c.rollout, name, to_millis(*at)])?;
                }
            }
            if let Some(m) = c.memory {
                tx.prepare_cached(
                    "INSERT INTO rollout_memory (rollout, verdict, since, last_notified_at, ready_notified_stage)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (rollout) DO UPDATE SET verdict = ?2, since = ?3,
                         last_notified_at = ?4, ready_notified_stage = ?5",
                )?
                .execute(params![
                    c.rollout,
                    m.verdict.as_str(),
                    to_millis(m.since),
                    m.last_notified_at.map(to_millis),
                    m.ready_notified_stage.map(|s| s as i64)
                ])?;
            }
            if let Some(incident) = c.incident {
                super::incidents::upsert(tx, incident)?;
            }
            for (channel, delivery) in c.outbox {
                super::outbox::enqueue(tx, *channel, delivery, c.at)?;
            }
            Ok(())
        })
    }
}

pub(super) fn set_stage_in(
    tx: &rusqlite::Connection,
    rollout: &str,
    index: usize,
    at: Timestamp,
    by: &str,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO stage (rollout, idx, started_at, changed_by) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (rollout) DO UPDATE SET idx = ?2, started_at = ?3, changed_by = ?4",
    )?
    .execute(params![rollout, index as i64, to_millis(at), by])?;
    Ok(())
}

/// Moves the rollout's version from `expected` to the next, or fails with
/// [`StoreError::Conflict`] when another change committed first.
pub(super) fn bump_version(tx: &rusqlite::Connection, rollout: &str, expected: i64) -> Result<()> {
    let bumped = if expected == 0 {
        tx.prepare_cached(
            "INSERT INTO rollout_version (rollout, version) VALUES (?1, 1)
             ON CONFLICT (rollout) DO NOTHING",
        )?
        .execute([rollout])?
    } else {
        tx.prepare_cached(
            "UPDATE rollout_version SET version = version + 1
             WHERE rollout = ?1 AND version = ?2",
        )?
        .execute(params![rollout, expected])?
    };
    if bumped != 1 {
        return Err(StoreError::Conflict {
            rollout: rollout.to_string(),
        });
    }
    Ok(())
}

fn memory_in(conn: &rusqlite::Connection, rollout: &str) -> Result<Option<RolloutMemory>> {
    let row: Option<(String, i64, Option<i64>, Option<i64>)> = conn
        .prepare_cached(
            "SELECT verdict, since, last_notified_at, ready_notified_stage
                 FROM rollout_memory WHERE rollout = ?1",
        )?
        .query_row([rollout], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    row.map(|(verdict, since, last, ready)| {
        Ok(RolloutMemory {
            verdict: Verdict::parse(&verdict)
                .ok_or_else(|| StoreError::Corrupt(format!("verdict `{verdict}`")))?,
            since: from_millis(since)?,
            last_notified_at: last.map(from_millis).transpose()?,
            ready_notified_stage: ready.map(|r| r as usize),
        })
    })
    .transpose()
}
