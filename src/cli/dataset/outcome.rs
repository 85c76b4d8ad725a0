//! What happened after a decision, decided from what the store found: the
//! "were they right?" half of the dataset. Pure, so every case is a unit
//! test; the lookups that feed it are in `mod.rs`.

use jiff::Timestamp;

use crate::domain::{Choice, DecisionRecord, Outcome};
use crate::state::NextGo;

/// How a decision turned out, as far as the store knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterKind {
    /// The stage the decision opened (GO) or held (NO-GO) later got a
    /// `rollback` verdict before anyone approved it onward.
    Rollback,
    /// A GO whose stage was later approved onward by another GO.
    ApprovedOnward,
    /// A GO with neither yet.
    Open,
    /// A NO-GO that a later GO released.
    Released,
    /// A NO-GO still in force (no GO since, no rollback).
    Held,
    /// A refused decision changed nothing, so it has no outcome.
    NotApplicable,
}

impl AfterKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AfterKind::Rollback => "rollback",
            AfterKind::ApprovedOnward => "approved_onward",
            AfterKind::Open => "open",
            AfterKind::Released => "released",
            AfterKind::Held => "held",
            AfterKind::NotApplicable => "",
        }
    }
}

/// The outcome columns of one row.
#[derive(Clone, Debug, PartialEq)]
pub struct After {
    pub kind: AfterKind,
    /// When the outcome happened (the rollback, or the next GO).
    pub at: Option<Timestamp>,
    /// Seconds from the decision to `at`.
    pub after_seconds: Option<i64>,
    pub next_go_id: Option<i64>,
    /// Incidents opened between the decision and the next GO (or now).
    pub incidents_after: Option<u64>,
}

/// The stage whose fate the decision chose: the one a GO opened, the one a
/// NO-GO held. `None` for refusals, which need no lookups.
pub fn watched_stage(record: &DecisionRecord) -> Option<usize> {
    match (&record.outcome, record.decision) {
        (Outcome::Refused { .. }, _) => None,
        (Outcome::Accepted, Choice::Go) => Some(record.to_stage),
        (Outcome::Accepted, Choice::NoGo) => Some(record.from_stage),
    }
}

/// Combines the lookups. `first_rollback` must already be limited to
/// before `next_go` (the stage's watch ends when it is approved onward).
pub fn after(
    record: &DecisionRecord,
    next_go: Option<&NextGo>,
    first_rollback: Option<Timestamp>,
    incidents_after: u64,
) -> After {
    if watched_stage(record).is_none() {
        return After {
            kind: AfterKind::NotApplicable,
            at: None,
            after_seconds: None,
            next_go_id: None,
            incidents_after: None,
        };
    }
    let go = record.decision == Choice::Go;
    let (kind, at) = match (first_rollback, next_go) {
        (Some(at), _) => (AfterKind::Rollback, Some(at)),
        (None, Some(next)) if go => (AfterKind::ApprovedOnward, Some(next.at)),
        (None, Some(next)) => (AfterKind::Released, Some(next.at)),
        (None, None) if go => (AfterKind::Open, None),
        (None, None) => (AfterKind::Held, None),
    };
    After {
        kind,
        at,
        // A clock stepped back can put the outcome before the decision;
        // the negative number is kept, it is what the store says.
        after_seconds: at.map(|t| t.as_second().saturating_sub(record.at.as_second())),
        next_go_id: next_go.map(|n| n.id),
        incidents_after: Some(incidents_after),
    }
}

#[cfg(test)]
#[path = "outcome_tests.rs"]
pub(crate) mod tests;
