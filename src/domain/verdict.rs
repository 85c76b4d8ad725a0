//! Verdicts and the decision record that explains one.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Continue,
    Hold,
    Rollback,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Continue => "continue",
            Verdict::Hold => "hold",
            Verdict::Rollback => "rollback",
        }
    }

    /// `sena eval` exit codes, so a pipeline can gate on them.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Continue => 0,
            Verdict::Hold => 3,
            Verdict::Rollback => 4,
        }
    }

    /// Gauge value on /metrics: 0 continue, 1 hold, 2 rollback.
    pub fn gauge(self) -> i64 {
        match self {
            Verdict::Continue => 0,
            Verdict::Hold => 1,
            Verdict::Rollback => 2,
        }
    }

    pub fn parse(s: &str) -> Option<Verdict> {
        match s {
            "continue" => Some(Verdict::Continue),
            "hold" => Some(Verdict::Hold),
            "rollback" => Some(Verdict::Rollback),
            _ => None,
        }
    }
}

/// The next stage a clean, fully baked stage may expand to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Expansion {
    pub next_index: usize,
    pub next_traffic: String,
    pub approver: String,
    /// When the stage that is ready began: with the rollout and the stage
    /// index it names the one request for approval posted during that
    /// stage, which a Slack button carries back, so a press on a message
    /// from an earlier time at this stage is refused. `None` in messages
    /// queued before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_started_at: Option<jiff::Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub verdict: Verdict,
    pub reason: String,
    /// Set when the stage has baked with every check passing.
    pub ready_to_expand: Option<Expansion>,
}

/// Where a rollout is: which stage, and since when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StagePosition {
    pub index: usize,
    pub started_at: Timestamp,
}
