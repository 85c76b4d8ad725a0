//! Reads for `sena dataset`: decisions page by page, and for one decision
//! what happened after it (the next accepted GO, the first rollback of the
//! stage, incidents opened). Every query is keyed and limited, so a year of
//! journal is never loaded at once: the verb's memory is one page of
//! decisions plus one row per lookup.

use jiff::Timestamp;
use rusqlite::{params, OptionalExtension};

use super::decisions::parse_record;
use super::{from_millis, to_millis, Result, Store};
use crate::domain::DecisionRecord;

/// Decisions read per query while streaming.
pub const DECISION_PAGE: usize = 256;

/// The next accepted GO of a rollout after a decision.
#[derive(Clone, Debug, PartialEq)]
pub struct NextGo {
    pub id: i64,
    pub at: Timestamp,
    pub from_stage: usize,
}

impl Store {
    /// Up to `limit` decisions with `id > after_id`, oldest first: a keyset
    /// page, so the caller streams without an offset scan.
    pub fn decisions_page(
        &self,
        rollout: Option<&str>,
        since: Option<Timestamp>,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<DecisionRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT record FROM decision
             WHERE id > ?1 AND at >= ?2 AND (?3 IS NULL OR rollout = ?3)
             ORDER BY id LIMIT ?4",
        )?;
        let since = since.map_or(i64::MIN, to_millis);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![after_id, since, rollout, limit], |r| {
            r.get::<_, String>(0)
        })?;
        let mut out = Vec::new();
        for row in rows {
            out.push(parse_record(&row?)?);
        }
        Ok(out)
    }

    /// The first accepted GO of `rollout` recorded after decision `after_id`.
    pub fn next_accepted_go(&self, rollout: &str, after_id: i64) -> Result<Option<NextGo>> {
        let conn = self.conn();
        // `accepted` and the rollout come from columns; the choice is only
        // in the record, so walk accepted rows in id order until a GO.
        let mut stmt = conn.prepare_cached(
            "SELECT record FROM decision
             WHERE rollout = ?1 AND id > ?2 AND accepted = 1
               AND json_extract(record, '$.decision') = 'go'
             ORDER BY id LIMIT 1",
        )?;
        let json: Option<String> = stmt
            .query_row(params![rollout, after_id], |r| r.get(0))
            .optional()?;
        Ok(json
            .as_deref()
            .map(parse_record)
            .transpose()?
            .map(|r| NextGo {
                id: r.id,
                at: r.at,
                from_stage: r.from_stage,
            }))
    }

    /// When the journal first said `rollback` for `rollout` at `stage`, in
    /// `[from, until)`; `until = None` is open-ended.
    pub fn first_rollback(
        &self,
        rollout: &str,
        stage: usize,
        from: Timestamp,
        until: Option<Timestamp>,
    ) -> Result<Option<Timestamp>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT at FROM journal
             WHERE rollout = ?1 AND at >= ?2 AND at < ?3
               AND json_extract(record, '$.verdict') = 'rollback'
               AND json_extract(record, '$.stage') = ?4
             ORDER BY at, id LIMIT 1",
        )?;
        let until = until.map_or(i64::MAX, to_millis);
        let stage = i64::try_from(stage).unwrap_or(i64::MAX);
        let at: Option<i64> = stmt
            .query_row(params![rollout, to_millis(from), until, stage], |r| {
                r.get(0)
            })
            .optional()?;
        at.map(from_millis).transpose()
    }

    /// Incidents of `rollout` opened in `[from, until)`.
    pub fn incidents_between(
        &self,
        rollout: &str,
        from: Timestamp,
        until: Option<Timestamp>,
    ) -> Result<u64> {
        let n: i64 = self
            .conn()
            .prepare_cached(
                "SELECT COUNT(*) FROM incident
                 WHERE rollout = ?1 AND opened_at >= ?2 AND opened_at < ?3",
            )?
            .query_row(
                params![rollout, to_millis(from), until.map_or(i64::MAX, to_millis)],
                |r| r.get(0),
            )?;
        Ok(n.max(0) as u64)
    }

    /// Adds a journal record as an evaluation would, for tests elsewhere in
    /// the crate that need a journal without running one.
    #[cfg(test)]
    pub(crate) fn append_journal_for_tests(&self, rollout: &str, at: Timestamp, record: &str) {
        self.conn()
            .execute(
                "INSERT INTO journal (at, rollout, record) VALUES (?1, ?2, ?3)",
                params![to_millis(at), rollout, record],
            )
            .expect("journal row");
    }
}
