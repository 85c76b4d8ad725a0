//! Incidents: open when a rollout leaves `continue`, resolved when it stays
//! back long enough. Escalation state (slot, level, acknowledgement) lives
//! here so a restart continues the timers instead of re-paging.

use jiff::Timestamp;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{from_millis, to_millis, Result, Store, StoreError};
use crate::domain::{Incident, Verdict};

/// The incident columns in `from_row`'s order; a macro so queries can be
/// `concat!`ed into static text and prepared once (cached).
macro_rules! columns {
    () => {
        "id, rollout, opened_at, verdict, slot, slot_since, level, acked_by, acked_at, calm_since, resolved_at, thread"
    };
}

/// An incident row as stored; [`finish`] checks what SQLite cannot.
pub(super) struct RawIncident {
    incident: Incident,
    verdict: String,
    /// opened_at, slot_since
    times: [i64; 2],
    /// acked_at, calm_since, resolved_at
    optional_times: [Option<i64>; 3],
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<RawIncident> {
    Ok(RawIncident {
        incident: Incident {
            id: r.get(0)?,
            rollout: r.get(1)?,
            opened_at: Timestamp::UNIX_EPOCH,
            verdict: Verdict::Hold,
            slot: r.get(4)?,
            slot_since: Timestamp::UNIX_EPOCH,
            level: usize::try_from(r.get::<_, i64>(6)?).unwrap_or(usize::MAX),
            acked_by: r.get(7)?,
            acked_at: None,
            calm_since: None,
            resolved_at: None,
            thread: r.get(11)?,
        },
        verdict: r.get(3)?,
        times: [r.get(2)?, r.get(5)?],
        optional_times: [r.get(8)?, r.get(9)?, r.get(10)?],
    })
}

/// A bad timestamp or verdict is `Corrupt`, as everywhere else in the
/// store, never quietly 1970 or `hold`.
fn finish(raw: RawIncident) -> Result<Incident> {
    let RawIncident {
        mut incident,
        verdict,
        times: [opened_at, slot_since],
        optional_times: [acked_at, calm_since, resolved_at],
    } = raw;
    let id = incident.id;
    let at =
        |ms: i64| from_millis(ms).map_err(|e| StoreError::Corrupt(format!("incident {id}: {e}")));
    incident.verdict = Verdict::parse(&verdict)
        .ok_or_else(|| StoreError::Corrupt(format!("incident {id}: verdict `{verdict}`")))?;
    incident.opened_at = at(opened_at)?;
    incident.slot_since = at(slot_since)?;
    incident.acked_at = acked_at.map(at).transpose()?;
    incident.calm_since = calm_since.map(at).transpose()?;
    incident.resolved_at = resolved_at.map(at).transpose()?;
    Ok(incident)
}

pub(super) fn upsert(tx: &Connection, i: &Incident) -> Result<()> {
    let written = tx.prepare_cached(
        "INSERT INTO incident (id, rollout, opened_at, verdict, slot, slot_since, level, acked_by, acked_at, calm_since, resolved_at, thread)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (id) DO UPDATE SET verdict = ?4, slot = ?5, slot_since = ?6, level = ?7,
             acked_by = ?8, acked_at = ?9, calm_since = ?10, resolved_at = ?11
         WHERE incident.rollout = excluded.rollout",
    )?
    .execute(params![
        i.id,
        i.rollout,
        to_millis(i.opened_at),
        i.verdict.as_str(),
        i.slot,
        to_millis(i.slot_since),
        i.level as i64,
        i.acked_by,
        i.acked_at.map(to_millis),
        i.calm_since.map(to_millis),
        i.resolved_at.map(to_millis),
        i.thread,
    ])?;
    if written == 0 {
        // Never write over another rollout's incident; say so instead.
        return Err(StoreError::Corrupt(format!(
            "incident {} of {} already belongs to another rollout",
            i.id, i.rollout
        )));
    }
    // An id handed out from memory (store failing at the time) is recorded
    // only now: keep the counter past it so it is never handed out again.
    tx.prepare_cached(
        "INSERT INTO counter (name, value) VALUES ('incident', ?1)
         ON CONFLICT (name) DO UPDATE SET value = MAX(value, ?1)",
    )?
    .execute([i.id])?;
    Ok(())
}

/// The rollout's open incident, if any.
pub(super) fn open_in(conn: &Connection, rollout: &str) -> Result<Option<Incident>> {
    let row = conn
        .prepare_cached(concat!(
            "SELECT ",
            columns!(),
            " FROM incident WHERE rollout = ?1 AND resolved_at IS NULL ORDER BY id DESC LIMIT 1"
        ))?
        .query_row([rollout], from_row)
        .optional()?;
    row.map(finish).transpose()
}

impl Store {
    /// Reserves the id for an incident about to open. Atomic (one statement
    /// under the connection lock), so rollouts opening incidents at the same
    /// instant never share an id; an id reserved by an evaluation that then
    /// fails to commit is simply skipped.
    ///
    /// `floor`: ids up to it were handed out from memory while the store
    /// could not reserve any (see [`Store::peek_incident_id`]); the next id
    /// comes after them even before they are committed.
    pub fn next_incident_id(&self, floor: i64) -> Result<i64> {
        Ok(self.conn().query_row(
            "INSERT INTO counter (name, value)
                 VALUES ('incident', MAX((SELECT COALESCE(MAX(id), 0) FROM incident), ?1) + 1)
             ON CONFLICT (name) DO UPDATE SET value = MAX(value, ?1) + 1
             RETURNING value",
            [floor],
            |r| r.get(0),
        )?)
    }

    /// The highest incident id reserved or used, read only: what a failing
    /// store still allows, to hand out ids from memory above it.
    pub fn peek_incident_id(&self) -> Result<i64> {
        Ok(self.conn().query_row(
            "SELECT MAX(COALESCE((SELECT value FROM counter WHERE name = 'incident'), 0),
                        COALESCE((SELECT MAX(id) FROM incident), 0))",
            [],
            |r| r.get(0),
        )?)
    }

    pub fn open_incident(&self, rollout: &str) -> Result<Option<Incident>> {
        open_in(&self.conn(), rollout)
    }

    pub fn incident(&self, id: i64) -> Result<Option<Incident>> {
        let row = self
            .conn()
            .prepare_cached(concat!(
                "SELECT ",
                columns!(),
                " FROM incident WHERE id = ?1"
            ))?
            .query_row([id], from_row)
            .optional()?;
        row.map(finish).transpose()
    }

    /// Most recent first.
    pub fn incidents(&self, limit: usize) -> Result<Vec<Incident>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(concat!(
            "SELECT ",
            columns!(),
            " FROM incident ORDER BY id DESC LIMIT ?1"
        ))?;
        let rows = stmt.query_map([limit as i64], from_row)?;
        rows.map(|r| finish(r?)).collect()
    }

    /// Remembers the Slack thread of an incident's first message.
    pub fn set_incident_thread(&self, id: i64, thread: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE incident SET thread = ?2 WHERE id = ?1 AND thread IS NULL",
            params![id, thread],
        )?;
        Ok(())
    }

    pub fn open_incident_count(&self) -> Result<i64> {
        Ok(self.conn().query_row(
            "SELECT COUNT(*) FROM incident WHERE resolved_at IS NULL",
            [],
            |r| r.get(0),
        )?)
    }
}
