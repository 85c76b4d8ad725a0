//! An incident (a rollout away from `continue`, its escalation and who
//! took it) and what Sena last said about a rollout: the state every
//! transition reads and writes.

use jiff::Timestamp;
use serde::Serialize;

use super::verdict::Verdict;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Incident {
    pub id: i64,
    pub rollout: String,
    pub opened_at: Timestamp,
    /// The worst verdict currently held.
    pub verdict: Verdict,
    /// The roster slot whose chain is being followed.
    pub slot: Option<String>,
    /// When that slot took the incident (its escalation timers count from here).
    pub slot_since: Timestamp,
    /// Highest escalation level paged in the current slot.
    pub level: usize,
    pub acked_by: Option<String>,
    pub acked_at: Option<Timestamp>,
    /// When the rollout went back to `continue` (the anti-flap window start).
    pub calm_since: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    /// Slack Web API thread (ts of the first message).
    pub thread: Option<String>,
}

/// What Sena last said about a rollout.
#[derive(Clone, Debug, PartialEq)]
pub struct RolloutMemory {
    pub verdict: Verdict,
    pub since: Timestamp,
    pub last_notified_at: Option<Timestamp>,
    /// Stage index whose "ready to expand" was already announced.
    pub ready_notified_stage: Option<usize>,
}
